// Reference for Scheme::Maven: org.apache.maven.artifact.versioning.ComparableVersion from
// maven-artifact (Debian: libmaven3-core-java, /usr/share/java/maven-artifact-3.x.jar).
// Run as a single-file program: java -cp maven-artifact.jar MavenCompare.java
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import org.apache.maven.artifact.versioning.ComparableVersion;

public class MavenCompare {
    public static void main(String[] args) throws Exception {
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        PrintWriter out = new PrintWriter(System.out);
        String line;
        while ((line = in.readLine()) != null) {
            int tab = line.indexOf('\t');
            int r = new ComparableVersion(line.substring(0, tab))
                .compareTo(new ComparableVersion(line.substring(tab + 1)));
            out.println(Integer.signum(r));
        }
        out.flush();
    }
}
