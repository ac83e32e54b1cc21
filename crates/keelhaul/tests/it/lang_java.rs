//! Java archives end to end: Debian's real `lib*-java` packages installed in a dpkg
//! database, an application layer with copies of those jars, a Spring-Boot fat jar, a WAR
//! inside an EAR, shaded jars with and without `pom.properties`, a Jenkins plugin, a
//! `pom.xml` and a `gradle.lockfile`, and a layer that empties the application's lib
//! directory (opaque) and deletes a Debian jar. Scanned by the real binary and compared
//! with Syft and Trivy.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::java::{
    debian_jars, debs, manifest, pom_properties, trivy_artifacts_with_java_db, zip,
};
use keelhaul_test::{keelhaul, peers, prerequisite};
use serde_json::Value;

const OS_RELEASE: &str = "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n";

/// The dpkg database of the `.deb`s, as dpkg would have written it: each control file
/// with `Status: install ok installed`, and each file list (`info/NAME.list`).
fn dpkg_database(debs: &[std::path::PathBuf], mut layer: Layer) -> Layer {
    let mut status = String::new();
    for deb in debs {
        let control = run(Command::new("dpkg-deb").arg("-f").arg(deb));
        let mut lines = control.lines();
        let first = lines.next().unwrap();
        let name = first.strip_prefix("Package: ").unwrap().to_owned();
        status.push_str(first);
        status.push_str("\nStatus: install ok installed\n");
        for l in lines {
            status.push_str(l);
            status.push('\n');
        }
        status.push('\n');
        let mut list = String::from("/.\n");
        for l in run(Command::new("dpkg-deb").arg("-c").arg(deb)).lines() {
            // `-rw-r--r-- root/root 1825902 2022-12-22 14:49 ./usr/share/java/x.jar`
            let Some(path) = l.find(" ./").map(|i| &l[i + 3..]) else {
                continue;
            };
            let path = path.split(" -> ").next().unwrap().trim_end_matches('/');
            if !path.is_empty() {
                list.push_str(&format!("/{path}\n"));
            }
        }
        layer = layer.file(&format!("var/lib/dpkg/info/{name}.list"), list);
    }
    layer.file("var/lib/dpkg/status", status)
}

fn run(cmd: &mut Command) -> String {
    keelhaul_test::tools::run(cmd)
}

/// One package of keelhaul's report: name, version, its locations (path → evidence) and
/// the OS package that owns it.
#[derive(Debug, Clone)]
struct Pkg {
    name: String,
    version: String,
    locations: BTreeMap<String, String>,
    owned_by: Option<String>,
    layers: BTreeMap<String, String>,
}

fn maven_packages(report: &Value) -> Vec<Pkg> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["ecosystem"] == "maven")
        .map(|p| Pkg {
            name: p["name"].as_str().unwrap().to_owned(),
            version: p["version"].as_str().unwrap().to_owned(),
            locations: p["locations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["path"].as_str().unwrap().to_owned(),
                        l["evidence"].as_str().unwrap().to_owned(),
                    )
                })
                .collect(),
            layers: p["locations"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| {
                    (
                        l["path"].as_str().unwrap().to_owned(),
                        l["layer"].as_str().unwrap_or_default().to_owned(),
                    )
                })
                .collect(),
            owned_by: p["owned_by"].as_str().map(str::to_owned),
        })
        .collect()
}

/// (artifactId, version) → paths, from keelhaul's installed packages; nested members'
/// paths are written the way `style` wants (`!` kept, or Trivy's `/`, or Syft's outer file).
fn installed_set(
    packages: &[Pkg],
    style: PathStyle,
) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut out: BTreeMap<(String, String), BTreeSet<String>> = BTreeMap::new();
    for p in packages {
        let artifact = p.name.rsplit(':').next().unwrap().to_owned();
        for (path, evidence) in &p.locations {
            if evidence != "installed" {
                continue;
            }
            // A shaded artifact's pom.properties is located inside its archive; the
            // peers locate it at the archive.
            let archive = match path.rsplit_once('!') {
                Some((outer, member)) if member.starts_with("META-INF/maven/") => outer,
                _ => path.as_str(),
            };
            let shown = match style {
                PathStyle::Keelhaul => path.clone(),
                PathStyle::Trivy => archive.replace('!', "/"),
                PathStyle::Syft => archive.split('!').next().unwrap().to_owned(),
            };
            out.entry((artifact.clone(), p.version.clone()))
                .or_default()
                .insert(shown);
        }
    }
    out
}

#[derive(Clone, Copy)]
enum PathStyle {
    Keelhaul,
    Trivy,
    Syft,
}

/// `pkg:maven/group/artifact@version` → (group, artifact, version).
fn maven_coordinates(purl: &str) -> Option<(String, String, String)> {
    let rest = purl.strip_prefix("pkg:maven/")?.split(['?', '#']).next()?;
    let (path, version) = rest.rsplit_once('@')?;
    let (group, artifact) = path.rsplit_once('/').unwrap_or(("", path));
    let decode = |s: &str| {
        s.replace("%40", "@")
            .replace("%2F", "/")
            .replace("%20", " ")
    };
    Some((decode(group), decode(artifact), decode(version)))
}

fn peer_set(
    artifacts: &[peers::PeerArtifact],
) -> BTreeMap<(String, String), (String, BTreeSet<String>)> {
    let mut out: BTreeMap<(String, String), (String, BTreeSet<String>)> = BTreeMap::new();
    for a in artifacts.iter().filter(|a| a.purl_type == "maven") {
        let (group, artifact, version) = maven_coordinates(&a.purl).unwrap();
        let e = out
            .entry((artifact, version))
            .or_insert_with(|| (group, BTreeSet::new()));
        e.1.extend(a.paths.iter().cloned());
    }
    out
}

struct Fixture {
    archive: std::path::PathBuf,
    built: keelhaul_test::builder::Built,
    _dir: tempfile::TempDir,
}

fn build_image(debian: &Path) -> Fixture {
    let java = debian.join("root/usr/share/java");
    let jar = |n: &str| std::fs::read(java.join(n)).unwrap();

    let base = dpkg_database(
        &debs(debian),
        Layer::new()
            .compression(Compression::None)
            .created_by("RUN apt-get install lib*-java")
            .file("etc/os-release", OS_RELEASE)
            .tree(&debian.join("root"), ""),
    );

    let fat = zip(&[
        (
            "META-INF/MANIFEST.MF",
            &manifest(&[
                ("Main-Class", "org.springframework.boot.loader.JarLauncher"),
                ("Start-Class", "com.example.fixture.App"),
                ("Implementation-Title", "keelhaul-fixture-app"),
                ("Implementation-Version", "0.1.0"),
            ]),
            false,
        ),
        (
            "META-INF/maven/com.example.fixture/keelhaul-fixture-app/pom.properties",
            &pom_properties("com.example.fixture", "keelhaul-fixture-app", "0.1.0"),
            false,
        ),
        (
            "BOOT-INF/classes/application.properties",
            b"server.port=8080\n",
            false,
        ),
        ("BOOT-INF/lib/log4j-core.jar", &jar("log4j-core.jar"), true),
        ("BOOT-INF/lib/snakeyaml.jar", &jar("snakeyaml.jar"), true),
        (
            "BOOT-INF/lib/commons-collections3-3.2.2.jar",
            &jar("commons-collections3-3.2.2.jar"),
            true,
        ),
    ]);
    let war = zip(&[
        ("META-INF/MANIFEST.MF", &manifest(&[]), false),
        (
            "META-INF/maven/com.example/webapp/pom.properties",
            &pom_properties("com.example", "webapp", "1.4.2"),
            false,
        ),
        ("WEB-INF/web.xml", b"<web-app/>", false),
        ("WEB-INF/lib/guava.jar", &jar("guava.jar"), false),
        (
            "WEB-INF/lib/jackson-databind.jar",
            &jar("jackson-databind.jar"),
            false,
        ),
    ]);
    let ear = zip(&[
        ("META-INF/application.xml", b"<application/>", false),
        ("webapp.war", &war, true),
    ]);
    let uber = zip(&[
        (
            "META-INF/MANIFEST.MF",
            &manifest(&[("Main-Class", "com.example.Tool")]),
            false,
        ),
        (
            "META-INF/maven/com.example/uber-tool/pom.properties",
            &pom_properties("com.example", "uber-tool", "1.0.0"),
            false,
        ),
        (
            "META-INF/maven/com.fasterxml.jackson.core/jackson-core/pom.properties",
            &pom_properties("com.fasterxml.jackson.core", "jackson-core", "2.14.1"),
            false,
        ),
        ("com/example/Tool.class", b"\xca\xfe\xba\xbe", false),
    ]);
    let shaded = zip(&[
        (
            "META-INF/MANIFEST.MF",
            &manifest(&[
                ("Implementation-Title", "Shaded Tool"),
                ("Implementation-Version", "2.3.1"),
                ("Implementation-Vendor-Id", "io.example.tools"),
            ]),
            false,
        ),
        ("io/example/tools/Main.class", b"\xca\xfe\xba\xbe", false),
    ]);
    let plugin = zip(&[
        (
            "META-INF/MANIFEST.MF",
            &manifest(&[
                ("Group-Id", "org.jenkins-ci.plugins"),
                ("Short-Name", "git-client"),
                ("Plugin-Version", "4.6.0"),
                ("Implementation-Version", "4.6.0"),
            ]),
            false,
        ),
        (
            "META-INF/maven/org.jenkins-ci.plugins/git-client/pom.properties",
            &pom_properties("org.jenkins-ci.plugins", "git-client", "4.6.0"),
            false,
        ),
        ("WEB-INF/lib/snakeyaml.jar", &jar("snakeyaml.jar"), false),
    ]);
    let pom = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>com.example.fixture</groupId>
  <artifactId>keelhaul-fixture-app</artifactId>
  <version>0.1.0</version>
  <properties><log4j2.version>2.14.1</log4j2.version></properties>
  <dependencies>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${log4j2.version}</version>
    </dependency>
    <dependency>
      <groupId>org.yaml</groupId>
      <artifactId>snakeyaml</artifactId>
      <version>1.33</version>
    </dependency>
  </dependencies>
</project>
"#;
    let gradle = "# This is a Gradle generated file for dependency locking.\n\
                  # Manual edits can break the build and are not advised.\n\
                  # This file is expected to be part of source control.\n\
                  com.google.guava:guava:31.1-jre=compileClasspath,runtimeClasspath\n\
                  org.apache.logging.log4j:log4j-api:2.19.0=runtimeClasspath\n\
                  empty=annotationProcessor\n";

    let mut app = Layer::new()
        .compression(Compression::None)
        .created_by("COPY target/ /opt/app/");
    for j in [
        "log4j-core.jar",
        "log4j-api.jar",
        "jackson-databind.jar",
        "guava.jar",
        "commons-collections3-3.2.2.jar",
        "h2-2.1.214.jar",
        "log4j-1.2-1.2.17.jar",
        "snakeyaml.jar",
    ] {
        app = app.file(&format!("opt/app/lib/{j}"), jar(j));
    }
    let app = app
        .file("opt/app/app.jar", fat)
        .file("opt/app/app.ear", ear)
        .file("opt/app/uber-tool-1.0.0.jar", uber)
        .file("opt/app/shaded-tool.jar", shaded)
        .file("var/jenkins_home/plugins/git-client.hpi", plugin)
        .file("src/app/pom.xml", pom)
        .file("src/app/gradle.lockfile", gradle);
    let cleanup = Layer::new()
        .compression(Compression::None)
        .created_by("RUN rm -rf /opt/app/lib/* /usr/share/java/h2-2.1.214.jar && cp /tmp/log4j-api.jar /opt/app/lib/")
        .opaque("opt/app/lib")
        .file("opt/app/lib/log4j-api.jar", jar("log4j-api.jar"))
        .whiteout("usr/share/java/h2-2.1.214.jar");

    let dir = tempfile::tempdir().unwrap();
    let archive = dir.path().join("java.tar");
    let built = Image::new()
        .layer(base)
        .layer(app)
        .layer(cleanup)
        .write_docker_archive(&archive, "keelhaul/java:1");
    Fixture {
        archive,
        built,
        _dir: dir,
    }
}

#[test]
fn debian_jars_fat_jar_war_ear_against_syft_and_trivy() {
    let Some(debian) = debian_jars() else {
        prerequisite(false, "apt-get download of Debian's lib*-java packages");
        return;
    };
    let fx = build_image(&debian);
    let sandbox = tempfile::tempdir().unwrap();
    let target = format!("docker-archive:{}", fx.archive.display());
    let report = keelhaul(
        sandbox.path(),
        &["scan", &target, "--format", "json", "--no-cache"],
    )
    .success()
    .json();
    assert_eq!(report["os"]["family"], "debian");
    let warnings = report["warnings"].as_array().map_or(0, Vec::len);
    assert_eq!(warnings, 0, "{}", report["warnings"]);
    let packages = maven_packages(&report);
    // Every installed record of that name, seen as one: Debian's copy (owned by its OS
    // package) and bundled copies of the same version are separate packages, and the
    // location checks below look at all of them.
    let find = |name: &str| -> Pkg {
        let records: Vec<&Pkg> = packages
            .iter()
            .filter(|p| p.name == name && p.locations.values().any(|e| e == "installed"))
            .collect();
        let mut all = (*records
            .first()
            .unwrap_or_else(|| panic!("no {name}: {packages:#?}")))
        .clone();
        for r in &records[1..] {
            all.locations.extend(r.locations.clone());
            all.layers.extend(r.layers.clone());
        }
        all
    };
    let diff_ids: Vec<String> = fx.built.layers.iter().map(|l| l.1.to_string()).collect();

    // The opaque lib directory: only log4j-api.jar, re-added by the top layer, remains.
    for p in &packages {
        for path in p.locations.keys() {
            assert!(
                !path.starts_with("opt/app/lib/") || path == "opt/app/lib/log4j-api.jar",
                "{} at {path} was deleted by the opaque directory",
                p.name
            );
        }
    }
    let api = find("org.apache.logging.log4j:log4j-api");
    assert_eq!(api.layers["opt/app/lib/log4j-api.jar"], diff_ids[2]);
    assert_eq!(api.layers["usr/share/java/log4j-api.jar"], diff_ids[0]);
    // h2 was only in the deleted places.
    assert!(
        packages.iter().all(|p| p.name != "com.h2database:h2"),
        "h2 was deleted"
    );

    // Nested archives, each at `outer!member`.
    let core = find("org.apache.logging.log4j:log4j-core");
    assert!(
        core.locations
            .contains_key("opt/app/app.jar!BOOT-INF/lib/log4j-core.jar")
    );
    assert!(core.locations.contains_key("usr/share/java/log4j-core.jar"));
    // Debian's log4j-core and the copy bundled in app.jar are the same version but not the
    // same thing to match: only Debian's belongs to liblog4j2-java.
    let core_records: Vec<&Pkg> = packages
        .iter()
        .filter(|p| p.name == "org.apache.logging.log4j:log4j-core")
        .collect();
    let owned = core_records
        .iter()
        .find(|p| p.locations.contains_key("usr/share/java/log4j-core.jar"))
        .unwrap();
    let bundled = core_records
        .iter()
        .find(|p| {
            p.locations
                .contains_key("opt/app/app.jar!BOOT-INF/lib/log4j-core.jar")
        })
        .unwrap();
    assert!(
        owned
            .owned_by
            .as_deref()
            .is_some_and(|o| o.starts_with("pkg:deb/debian/liblog4j2-java@"))
    );
    assert_eq!(bundled.owned_by, None);
    let guava = find("com.google.guava:guava");
    assert!(
        guava
            .locations
            .contains_key("opt/app/app.ear!webapp.war!WEB-INF/lib/guava.jar")
    );
    assert_eq!(
        find("com.example:webapp")
            .locations
            .keys()
            .collect::<Vec<_>>(),
        ["opt/app/app.ear!webapp.war"]
    );
    let uber_core = find("com.fasterxml.jackson.core:jackson-core");
    assert!(uber_core.locations.contains_key(
        "opt/app/uber-tool-1.0.0.jar!META-INF/maven/com.fasterxml.jackson.core/jackson-core/pom.properties"
    ));
    assert_eq!(find("io.example.tools:shaded-tool").version, "2.3.1");
    assert_eq!(find("org.jenkins-ci.plugins:git-client").version, "4.6.0");
    let snake = find("org.yaml:snakeyaml");
    assert!(
        snake
            .locations
            .contains_key("var/jenkins_home/plugins/git-client.hpi!WEB-INF/lib/snakeyaml.jar")
    );

    // Debian's jars belong to their packages (dpkg's file lists say so).
    let text = packages
        .iter()
        .find(|p| p.name == "org.apache.commons:commons-text")
        .unwrap();
    assert_eq!(
        text.owned_by.as_deref(),
        Some(
            "pkg:deb/debian/libcommons-text-java@1.10.0-1?arch=all&distro=debian-12&upstream=commons-text"
        )
    );

    // Declared: pom.xml and gradle.lockfile, merged with installed copies of the same
    // version where there are some.
    let declared = |name: &str, version: &str, path: &str| {
        let p = packages
            .iter()
            .find(|p| p.name == name && p.version == version)
            .unwrap_or_else(|| panic!("no {name} {version}"));
        assert_eq!(
            p.locations.get(path).map(String::as_str),
            Some("declared"),
            "{name}"
        );
        p.clone()
    };
    let vulnerable = declared(
        "org.apache.logging.log4j:log4j-core",
        "2.14.1",
        "src/app/pom.xml",
    );
    assert!(vulnerable.locations.values().all(|e| e == "declared"));
    declared(
        "com.example.fixture:keelhaul-fixture-app",
        "0.1.0",
        "src/app/pom.xml",
    );
    let snake = declared("org.yaml:snakeyaml", "1.33", "src/app/pom.xml");
    assert!(
        snake.locations.values().any(|e| e == "installed"),
        "also installed"
    );
    declared(
        "com.google.guava:guava",
        "31.1-jre",
        "src/app/gradle.lockfile",
    );
    declared(
        "org.apache.logging.log4j:log4j-api",
        "2.19.0",
        "src/app/gradle.lockfile",
    );

    compare_with_peers(&fx, &target, &packages);
}

/// The issue's bar: keelhaul's installed set ⊇ the union of Syft's and Trivy's (by
/// artifactId and version, at the same paths), every difference a known one.
fn compare_with_peers(fx: &Fixture, target: &str, packages: &[Pkg]) {
    if !prerequisite(
        peers::syft().is_some() && peers::trivy().is_some() && keelhaul_test::have("python3"),
        "Syft, Trivy and python3",
    ) {
        return;
    }
    let syft = peer_set(&peers::syft_artifacts(target));
    let trivy = peer_set(&trivy_artifacts_with_java_db(&fx.archive, false));
    let report = |name: &str, set: &BTreeMap<(String, String), (String, BTreeSet<String>)>| {
        let mut s = format!("{name}:\n");
        for ((a, v), (g, paths)) in set {
            s.push_str(&format!("  {g}:{a}@{v} {paths:?}\n"));
        }
        s
    };
    let dump = format!("{}{}", report("Syft", &syft), report("Trivy", &trivy));

    let key = |a: &str, v: &str| (a.to_owned(), v.to_owned());
    // What Syft reports that keelhaul does not, and the reverse:
    // * Syft names an archive after its file as well as after the pom.properties that
    //   names it: the fat jar is com.example.fixture:keelhaul-fixture-app 0.1.0 (as for
    //   keelhaul and Trivy) and also "app" 0.1.0, its groupId taken from `Main-Class`.
    // * Syft splits `log4j-1.2-1.2.17.jar` (no pom.properties) at the first `-digit`:
    //   "log4j" 1.2-1.2.17; keelhaul splits where the manifest's Implementation-Version
    //   starts: log4j-1.2 1.2.17 (Maven's own version of that jar is 1.2.17).
    let syft_only = BTreeSet::from([key("app", "0.1.0"), key("log4j", "1.2-1.2.17")]);
    let keelhaul_not_syft = BTreeSet::from([key("log4j-1.2", "1.2.17")]);
    // What Trivy does not report (it reports nothing keelhaul does not):
    // * jars that dpkg installed (Trivy skips files of OS packages; keelhaul reports them
    //   with `owned_by`, to be matched through Debian's advisories);
    // * Jenkins plugins (`.hpi`: Trivy reads .jar/.war/.ear/.par only);
    // * archives without pom.properties: offline, Trivy does not identify them by their
    //   manifest or file name (commons-collections3, log4j 1.2 and the shaded tool).
    let keelhaul_not_trivy: BTreeSet<String> = [
        "commons-beanutils",
        "commons-text",
        "jackson-annotations",
        "log4j-1.2-api",
        "log4j-couchdb",
        "log4j-jcl",
        "log4j-jul",
        "log4j-mongodb3",
        "log4j-to-jul",
        "log4j-to-slf4j",
        "log4j-web",
        "git-client",
        "commons-collections3",
        "log4j-1.2",
        "shaded-tool",
    ]
    .into_iter()
    .map(str::to_owned)
    .collect();

    for (peer, found, style) in [
        ("Syft", &syft, PathStyle::Syft),
        ("Trivy", &trivy, PathStyle::Trivy),
    ] {
        let ours = installed_set(packages, style);
        let mut only_peer = BTreeSet::new();
        for (k, (group, paths)) in found {
            let Some(our_paths) = ours.get(k) else {
                only_peer.insert(k.clone());
                continue;
            };
            assert!(
                paths.is_subset(our_paths),
                "{peer}: {k:?} at {paths:?}, keelhaul at {our_paths:?}"
            );
            // The same groupId, but where Syft uses its own table of well-known
            // artifacts: Debian's commons-collections3 jar (no pom.properties) is
            // commons-collections for Syft; keelhaul takes the manifest's
            // Bundle-SymbolicName, org.apache.commons.collections.
            let ours_named = packages
                .iter()
                .any(|p| p.version == k.1 && p.name == format!("{group}:{}", k.0));
            assert!(
                ours_named || (peer == "Syft" && k.0 == "commons-collections3"),
                "{peer} names {group}:{} {}",
                k.0,
                k.1
            );
        }
        let only_ours: BTreeSet<_> = ours
            .keys()
            .filter(|k| !found.contains_key(*k))
            .cloned()
            .collect();
        if peer == "Syft" {
            assert_eq!(only_peer, syft_only, "{peer} only\n{dump}");
            assert_eq!(only_ours, keelhaul_not_syft, "keelhaul, not {peer}\n{dump}");
        } else {
            assert!(only_peer.is_empty(), "{peer} only: {only_peer:?}\n{dump}");
            let only_ours: BTreeSet<String> = only_ours.into_iter().map(|(a, _)| a).collect();
            assert_eq!(
                only_ours,
                keelhaul_not_trivy.clone(),
                "keelhaul, not {peer}\n{dump}"
            );
        }
    }
    let ours = installed_set(packages, PathStyle::Keelhaul);
    eprintln!(
        "maven installed (artifact, version): keelhaul {}, Syft {}, Trivy {}",
        ours.len(),
        syft.len(),
        trivy.len()
    );
}
