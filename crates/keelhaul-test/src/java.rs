//! Real Java archives: Debian's `lib*-java` packages, and zip builders for the archives
//! real projects ship (Spring-Boot fat jars, WARs, shaded jars) and hostile ones.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::peers::PeerArtifact;
use crate::tools::{cached_artifact, run};
use crate::{have, persistent_cache};

/// Debian bookworm's Java library packages the tests use.
pub const DEBIAN_PACKAGES: [&str; 11] = [
    "liblog4j2-java",
    "liblog4j1.2-java",
    "libjackson2-databind-java",
    "libjackson2-core-java",
    "libjackson2-annotations-java",
    "libyaml-snake-java",
    "libguava-java",
    "libcommons-text-java",
    "libcommons-collections3-java",
    "libh2-java",
    "libcommons-beanutils-java",
];

const NAME: &str = "debian-java-v1";

/// `DIR/debs/*.deb` (downloaded with apt) and `DIR/root/` (all of them unpacked with
/// `dpkg-deb -x`: the jars are in `DIR/root/usr/share/java`). `None` when apt cannot
/// download them.
pub fn debian_jars() -> Option<PathBuf> {
    if !have("apt-get") || !have("dpkg-deb") {
        return None;
    }
    let path = persistent_cache().join(NAME);
    if !path.exists() {
        // Download outside the cache lock first, so a failure is not cached.
        let tmp = tempfile::tempdir().unwrap();
        let ok = Command::new("apt-get")
            .current_dir(tmp.path())
            .args(["download", "-q"])
            .args(DEBIAN_PACKAGES)
            .output()
            .is_ok_and(|o| o.status.success());
        if !ok {
            return None;
        }
        cached_artifact(NAME, |out| {
            let debs = out.join("debs");
            let root = out.join("root");
            std::fs::create_dir_all(&debs).unwrap();
            std::fs::create_dir_all(&root).unwrap();
            for e in std::fs::read_dir(tmp.path()).unwrap() {
                let p = e.unwrap().path();
                if p.extension().is_some_and(|x| x == "deb") {
                    let dst = debs.join(p.file_name().unwrap());
                    std::fs::copy(&p, &dst).unwrap();
                    run(Command::new("dpkg-deb").arg("-x").arg(&dst).arg(&root));
                }
            }
        });
    }
    Some(path)
}

/// The `.deb` files of [`debian_jars`].
pub fn debs(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir.join("debs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// One zip member: name, content, and whether it is stored (uncompressed, as Spring Boot
/// stores nested jars) rather than deflated.
pub type Member<'a> = (&'a str, &'a [u8], bool);

/// A zip (jar) with these members, in order.
pub fn zip(members: &[Member<'_>]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    for (name, data, stored) in members {
        let method = if *stored {
            zip::CompressionMethod::Stored
        } else {
            zip::CompressionMethod::Deflated
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(data.len() as u64 >= u32::MAX as u64);
        w.start_file(*name, options).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A `META-INF/MANIFEST.MF` with these main-section headers (CRLF line ends, as `jar`
/// writes them).
pub fn manifest(headers: &[(&str, &str)]) -> Vec<u8> {
    let mut m = String::from("Manifest-Version: 1.0\r\n");
    for (k, v) in headers {
        m.push_str(&format!("{k}: {v}\r\n"));
    }
    m.push_str("\r\n");
    m.into_bytes()
}

/// A `pom.properties` as Maven writes it.
pub fn pom_properties(group: &str, artifact: &str, version: &str) -> Vec<u8> {
    format!(
        "#Created by Apache Maven 3.8.7\nversion={version}\ngroupId={group}\nartifactId={artifact}\n"
    )
    .into_bytes()
}

/// Trivy's artifacts like [`crate::peers::trivy_artifacts`], with an empty Java index
/// database in its cache: Trivy refuses to analyse jars without one and cannot download
/// it here. Offline, Trivy identifies jars by their `pom.properties` and never queries the
/// index, so an empty one changes nothing else.
pub fn trivy_artifacts_with_java_db(input: &Path, rootfs: bool) -> Vec<PeerArtifact> {
    let cache = tempfile::tempdir().unwrap();
    let c = cache.path();
    let db = c.join("java-db");
    std::fs::create_dir_all(&db).unwrap();
    // The schema of trivy-java-db (version 1), created with Python's sqlite3.
    run(Command::new("python3").arg("-c").arg(
        "import sqlite3, sys\n\
         c = sqlite3.connect(sys.argv[1])\n\
         c.execute('CREATE TABLE artifacts(id INTEGER PRIMARY KEY, group_id TEXT, artifact_id TEXT)')\n\
         c.execute('CREATE TABLE indices(artifact_id INTEGER, version TEXT, sha1 BLOB, archive_type TEXT, foreign key (artifact_id) references artifacts(id))')\n\
         c.commit()\n",
    ).arg(db.join("trivy-java.db")));
    std::fs::write(
        db.join("metadata.json"),
        r#"{"Version":1,"NextUpdate":"2999-01-01T00:00:00Z","UpdatedAt":"2025-01-01T00:00:00Z","DownloadedAt":"2025-01-01T00:00:00Z"}"#,
    )
    .unwrap();
    crate::peers::trivy_artifacts_in(c, input, rootfs)
}
