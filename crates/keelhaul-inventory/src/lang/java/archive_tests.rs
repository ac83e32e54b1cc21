//! The archive analyzer on Debian's real jars, on the archives real projects ship (built
//! here from those jars: a Spring-Boot fat jar, a WAR in an EAR, shaded jars) and on
//! hostile ones (a 50-deep nesting, zip bombs, entry floods, garbage).

#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use keelhaul_core::{Evidence, Package};
use keelhaul_test::java::{debian_jars, manifest, pom_properties, zip};

use super::archive::{Limits, identify, read_archive};
use super::manifest::{Manifest, PomProperties};

fn names(packages: &[Package]) -> Vec<(String, String, String)> {
    packages
        .iter()
        .map(|p| {
            assert_eq!(p.locations.len(), 1);
            assert_eq!(p.locations[0].evidence, Evidence::Installed);
            (
                p.name.clone(),
                p.version.clone(),
                p.locations[0].path.clone(),
            )
        })
        .collect()
}

fn read(bytes: &[u8], path: &str) -> (Vec<(String, String, String)>, Vec<String>) {
    let (p, w) = read_archive(bytes, path, Limits::default()).unwrap();
    (names(&p), w)
}

/// Debian's upstream version of a `.deb` (`2.14.1-2~deb12u1` is 2.14.1), from dpkg-deb.
fn upstream_version(deb: &Path) -> String {
    let out = Command::new("dpkg-deb")
        .args(["-f"])
        .arg(deb)
        .arg("Version")
        .output()
        .unwrap();
    let v = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let v = v.split_once(':').map_or(v.as_str(), |(_, r)| r);
    let v = v.rsplit_once('-').map_or(v, |(u, _)| u);
    v.split(['+', '~']).next().unwrap().to_owned()
}

/// The regular `.jar` files a `.deb` ships, from `dpkg-deb -c`.
fn jars_of(deb: &Path) -> Vec<String> {
    let out = Command::new("dpkg-deb")
        .arg("-c")
        .arg(deb)
        .output()
        .unwrap();
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with('-'))
        .filter_map(|l| l.split_whitespace().last())
        .filter(|p| p.ends_with(".jar"))
        .map(|p| p.trim_start_matches('.').trim_start_matches('/').to_owned())
        .collect()
}

/// Maven Central's coordinates of the artifacts Debian packages (groupId, artifactId) by
/// jar file name; the versions come from the `.deb`.
fn maven_coordinates(jar: &str) -> Option<(&'static str, String)> {
    let stem = jar.strip_suffix(".jar")?;
    let group = match stem {
        s if s.starts_with("log4j-") && !s.starts_with("log4j-1.2-1") => "org.apache.logging.log4j",
        "jackson-databind" | "jackson-core" | "jackson-annotations" => "com.fasterxml.jackson.core",
        "snakeyaml" => "org.yaml",
        "guava" => "com.google.guava",
        "commons-text" | "commons-compress" | "commons-lang3" => "org.apache.commons",
        "commons-beanutils" => "commons-beanutils",
        _ => return None,
    };
    Some((group, stem.to_owned()))
}

#[test]
fn debian_jars_are_identified() {
    let Some(dir) = debian_jars() else {
        keelhaul_test::prerequisite(false, "apt-get download of Debian's lib*-java packages");
        return;
    };
    let mut checked = 0;
    for deb in keelhaul_test::java::debs(&dir) {
        let upstream = upstream_version(&deb);
        for jar in jars_of(&deb) {
            let bytes = std::fs::read(dir.join("root").join(&jar)).unwrap();
            let (found, warnings) = read(&bytes, &jar);
            assert!(warnings.is_empty(), "{jar}: {warnings:?}");
            let file = jar.rsplit('/').next().unwrap();
            let (name, version, path) = &found[0];
            assert_eq!(
                path, &jar,
                "the archive's own identity is located at the archive"
            );
            assert!(
                version.starts_with(&upstream),
                "{jar}: version {version}, but the package is {upstream}"
            );
            match maven_coordinates(file) {
                Some((group, artifact)) => {
                    assert_eq!(name, &format!("{group}:{artifact}"), "{jar}");
                    assert_eq!(found.len(), 1, "{jar}: {found:?}");
                }
                None => {
                    // No pom.properties: the name comes from the file name, split before
                    // the version the manifest states, and the group from the manifest.
                    let (_, artifact) = name.rsplit_once(':').unwrap_or(("", name));
                    assert!(
                        file.starts_with(&format!("{artifact}-{version}")),
                        "{jar}: {name}"
                    );
                }
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} jars");

    // The three Debian jars without pom.properties, by the rules of `identify`.
    let root = dir.join("root/usr/share/java");
    let one = |f: &str| read(&std::fs::read(root.join(f)).unwrap(), f).0.remove(0);
    assert_eq!(
        one("h2-2.1.214.jar").0,
        "com.h2database:h2",
        "Bundle-SymbolicName"
    );
    let log4j1 = one("log4j-1.2-1.2.17.jar");
    assert_eq!(
        (log4j1.0.as_str(), log4j1.1.as_str()),
        ("org.apache.log4j:log4j-1.2", "1.2.17"),
        "split where Implementation-Version starts"
    );
    assert_eq!(
        one("commons-collections3-3.2.2.jar").0,
        "org.apache.commons.collections:commons-collections3"
    );
}

fn real_jar(name: &str) -> Option<Vec<u8>> {
    let dir = debian_jars()?;
    std::fs::read(dir.join("root/usr/share/java").join(name)).ok()
}

#[test]
fn spring_boot_fat_jar_war_and_ear() {
    let (Some(core), Some(yaml), Some(cc), Some(guava), Some(databind)) = (
        real_jar("log4j-core.jar"),
        real_jar("snakeyaml.jar"),
        real_jar("commons-collections3-3.2.2.jar"),
        real_jar("guava.jar"),
        real_jar("jackson-databind.jar"),
    ) else {
        keelhaul_test::prerequisite(false, "apt-get download of Debian's lib*-java packages");
        return;
    };
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
        ("BOOT-INF/lib/log4j-core.jar", &core, true),
        ("BOOT-INF/lib/snakeyaml.jar", &yaml, true),
        ("BOOT-INF/lib/commons-collections3-3.2.2.jar", &cc, true),
    ]);
    let (found, warnings) = read(&fat, "opt/app/app.jar");
    assert!(warnings.is_empty(), "{warnings:?}");
    let expect = |n: &str, v: &str, p: &str| (n.to_owned(), v.to_owned(), p.to_owned());
    assert_eq!(
        found,
        [
            expect(
                "com.example.fixture:keelhaul-fixture-app",
                "0.1.0",
                "opt/app/app.jar"
            ),
            expect(
                "org.apache.logging.log4j:log4j-core",
                &found[1].1,
                "opt/app/app.jar!BOOT-INF/lib/log4j-core.jar"
            ),
            expect(
                "org.yaml:snakeyaml",
                &found[2].1,
                "opt/app/app.jar!BOOT-INF/lib/snakeyaml.jar"
            ),
            expect(
                "org.apache.commons.collections:commons-collections3",
                "3.2.2",
                "opt/app/app.jar!BOOT-INF/lib/commons-collections3-3.2.2.jar"
            ),
        ]
    );

    // A WAR with its libraries in WEB-INF/lib, inside an EAR.
    let war = zip(&[
        ("META-INF/MANIFEST.MF", &manifest(&[]), false),
        (
            "META-INF/maven/com.example/webapp/pom.properties",
            &pom_properties("com.example", "webapp", "1.4.2"),
            false,
        ),
        ("WEB-INF/web.xml", b"<web-app/>", false),
        ("WEB-INF/lib/guava.jar", &guava, false),
        ("WEB-INF/lib/jackson-databind.jar", &databind, false),
    ]);
    let ear = zip(&[
        ("META-INF/application.xml", b"<application/>", false),
        ("webapp.war", &war, true),
    ]);
    let (found, warnings) = read(&ear, "srv/app.ear");
    assert!(warnings.is_empty(), "{warnings:?}");
    let got: Vec<(&str, &str)> = found
        .iter()
        .map(|(n, _, p)| (n.as_str(), p.as_str()))
        .collect();
    assert_eq!(
        got,
        [
            ("com.example:webapp", "srv/app.ear!webapp.war"),
            (
                "com.google.guava:guava",
                "srv/app.ear!webapp.war!WEB-INF/lib/guava.jar"
            ),
            (
                "com.fasterxml.jackson.core:jackson-databind",
                "srv/app.ear!webapp.war!WEB-INF/lib/jackson-databind.jar"
            ),
        ],
        "an EAR without a version has no identity of its own"
    );
}

#[test]
fn shaded_jars() {
    // maven-shade-plugin keeps the shaded artifacts' pom.properties: each is reported,
    // at its own path, besides the jar's own identity (matched by file name).
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
            "META-INF/maven/com.google.guava/guava/pom.properties",
            &pom_properties("com.google.guava", "guava", "31.1-jre"),
            false,
        ),
        (
            "META-INF/maven/org.yaml/snakeyaml/pom.properties",
            &pom_properties("org.yaml", "snakeyaml", "1.33"),
            false,
        ),
        (
            "com/google/common/base/Strings.class",
            b"\xca\xfe\xba\xbe",
            false,
        ),
    ]);
    let (found, _) = read(&uber, "opt/uber-tool-1.0.0.jar");
    assert_eq!(
        found,
        [
            (
                "com.example:uber-tool".into(),
                "1.0.0".into(),
                "opt/uber-tool-1.0.0.jar".into()
            ),
            (
                "com.google.guava:guava".into(),
                "31.1-jre".into(),
                "opt/uber-tool-1.0.0.jar!META-INF/maven/com.google.guava/guava/pom.properties"
                    .into()
            ),
            (
                "org.yaml:snakeyaml".into(),
                "1.33".into(),
                "opt/uber-tool-1.0.0.jar!META-INF/maven/org.yaml/snakeyaml/pom.properties".into()
            ),
        ]
    );

    // Shaded without any pom.properties: the manifest and the file name tell who it is.
    let bare = zip(&[
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
        (
            "shaded/com/google/common/base/Strings.class",
            b"\xca\xfe\xba\xbe",
            false,
        ),
    ]);
    let (found, _) = read(&bare, "opt/shaded-tool.jar");
    assert_eq!(
        found,
        [(
            "io.example.tools:shaded-tool".into(),
            "2.3.1".into(),
            "opt/shaded-tool.jar".into()
        )]
    );

    // A sole pom.properties that the versioned file name contradicts is a shaded
    // dependency, not the jar.
    let renamed = zip(&[(
        "META-INF/maven/com.google.guava/guava/pom.properties",
        &pom_properties("com.google.guava", "guava", "31.1-jre"),
        false,
    )]);
    let (found, _) = read(&renamed, "lib/mytool-4.0.jar");
    assert_eq!(found[0].0, "mytool");
    assert_eq!(found[0].1, "4.0");
    assert_eq!(found[1].0, "com.google.guava:guava");
}

#[test]
fn identity_rules() {
    let pom = |g: &str, a: &str, v: &str| {
        (
            format!("META-INF/maven/{g}/{a}/pom.properties"),
            PomProperties {
                group: g.into(),
                artifact: a.into(),
                version: v.into(),
            },
        )
    };
    let m = Manifest::parse(
        "Manifest-Version: 1.0\r\nBundle-SymbolicName: com.fasterxml.jackson.core.jackson-databind;singleton:=true\r\nBundle-Version: 2.14.0\r\n\r\n",
    );
    let id = identify("jackson-databind-2.14.0.jar", Some(&m), &[]).unwrap();
    assert_eq!(id.group.as_deref(), Some("com.fasterxml.jackson.core"));
    assert_eq!(
        (id.artifact.as_str(), id.version.as_str()),
        ("jackson-databind", "2.14.0")
    );

    // Several poms: the one named like the file wins.
    let poms = [pom("org.a", "dep", "1.0"), pom("org.b", "app", "2.0")];
    let id = identify("app-2.0.jar", None, &poms).unwrap();
    assert_eq!(id.pom, Some(1));
    // None named like the file, several of them: file name and manifest.
    let id = identify("other-3.0.jar", None, &poms).unwrap();
    assert_eq!((id.group, id.pom), (None, None));
    // No version anywhere: no identity.
    assert_eq!(
        identify("plugin.jar", Some(&Manifest::parse("A: b\n")), &[]),
        None
    );
    // A file name like `spring-core-5.3.4-SNAPSHOT.jar`.
    let id = identify("spring-core-5.3.4-SNAPSHOT.jar", None, &[]).unwrap();
    assert_eq!(
        (id.artifact.as_str(), id.version.as_str()),
        ("spring-core", "5.3.4-SNAPSHOT")
    );
}

/// A jar whose `lib/next.jar` is the next level, `levels` deep, each with its own pom.
fn nested_chain(levels: usize) -> Vec<u8> {
    let mut inner = Vec::new();
    for level in (0..levels).rev() {
        let props = pom_properties("org.example.nest", &format!("level-{level}"), "1.0");
        let pom_path = format!("META-INF/maven/org.example.nest/level-{level}/pom.properties");
        let mut members: Vec<(&str, &[u8], bool)> = vec![(&pom_path, &props, false)];
        if !inner.is_empty() {
            members.push(("lib/next.jar", &inner, true));
        }
        inner = zip(&members);
    }
    inner
}

#[test]
fn a_50_deep_nested_jar_is_read_16_levels_deep() {
    let jar = nested_chain(50);
    let (found, warnings) = read(&jar, "deep.jar");
    // The file is level 0; 16 levels below it are followed.
    assert_eq!(found.len(), 17, "{found:?}");
    assert_eq!(found[16].0, "org.example.nest:level-16");
    assert_eq!(
        found[16].2,
        format!("deep.jar{}", "!lib/next.jar".repeat(16))
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].contains("nested deeper than 16"),
        "{warnings:?}"
    );
}

fn zeros_deflated(n: usize) -> Vec<u8> {
    zip(&[("zeros.jar", &vec![0u8; n], false)])
}

#[test]
fn zip_bombs_are_bounded() {
    let Some(yaml) = real_jar("snakeyaml.jar") else {
        keelhaul_test::prerequisite(false, "apt-get download of Debian's lib*-java packages");
        return;
    };
    // A nested jar whose member inflates to 300 MiB (a 300 KB download): beyond the
    // default 256 MiB per nested archive. Its neighbour is still read.
    let bomb_member = zip(&[("zeros.jar", &vec![0u8; 300 << 20], false)]);
    assert!(bomb_member.len() < 1 << 20);
    let outer = zip(&[
        ("BOOT-INF/lib/bomb.jar", &bomb_member, false),
        ("BOOT-INF/lib/snakeyaml.jar", &yaml, true),
    ]);
    let (found, warnings) = read(&outer, "app.jar");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].0, "org.yaml:snakeyaml");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("`app.jar!BOOT-INF/lib/bomb.jar!zeros.jar`")
            && warnings[0].contains("over the"),
        "{warnings:?}"
    );

    // A member whose header lies about its size is cut at the limit when it is inflated.
    let small = Limits {
        max_nested: 1 << 20,
        ..Limits::default()
    };
    let mut liar = zeros_deflated(8 << 20);
    lie_about_sizes(&mut liar, 1000);
    let outer = zip(&[("lib/liar.jar", &liar, true)]);
    let outer = zip(&[("lib/outer.jar", &outer, true)]);
    let (found, warnings) = read_archive(&outer, "x.jar", small).unwrap();
    assert!(found.is_empty());
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains("liar.jar"), "{warnings:?}");

    // The total across nested archives is bounded too.
    let total = Limits {
        max_inflated: 3 << 20,
        ..Limits::default()
    };
    let two_mib = zip(&[("pad.bin", &vec![7u8; 2 << 20], true)]);
    let many = zip(&[
        ("lib/a.jar", &two_mib, false),
        ("lib/b.jar", &two_mib, false),
        ("lib/c.jar", &two_mib, false),
    ]);
    let (_, warnings) = read_archive(&many, "many.jar", total).unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.contains("exceeds keelhaul's bounds")),
        "{warnings:?}"
    );
}

/// Rewrite every local and central header of `zip` to claim `size` uncompressed bytes.
fn lie_about_sizes(zip: &mut [u8], size: u32) {
    let mut i = 0;
    while i + 46 <= zip.len() {
        match &zip[i..i + 4] {
            b"PK\x03\x04" => zip[i + 22..i + 26].copy_from_slice(&size.to_le_bytes()),
            b"PK\x01\x02" => zip[i + 24..i + 28].copy_from_slice(&size.to_le_bytes()),
            _ => {}
        }
        i += 1;
    }
}

#[test]
fn entry_floods_garbage_and_non_utf8() {
    let limits = Limits {
        max_entries: 100,
        ..Limits::default()
    };
    let names: Vec<String> = (0..200).map(|i| format!("f{i}.txt")).collect();
    let members: Vec<(&str, &[u8], bool)> = names
        .iter()
        .map(|n| (n.as_str(), &b""[..], false))
        .collect();
    let flood = zip(&members);
    assert!(read_archive(&flood, "flood.jar", limits).is_err());

    assert!(read_archive(b"not a zip", "x.jar", Limits::default()).is_err());
    assert!(read_archive(b"", "empty.jar", Limits::default()).is_err());

    let broken = zip(&[
        ("lib/broken.jar", b"PK\x03\x04 this is not a jar", false),
        (
            "META-INF/maven/org.example/ok/pom.properties",
            &pom_properties("org.example", "ok", "1.0"),
            false,
        ),
    ]);
    let (found, warnings) = read(&broken, "ok.jar");
    assert_eq!(
        found,
        [("org.example:ok".into(), "1.0".into(), "ok.jar".into())]
    );
    assert_eq!(warnings.len(), 1);
    assert!(
        warnings[0].starts_with("`ok.jar!lib/broken.jar`: not a readable zip"),
        "{warnings:?}"
    );

    let latin1 = zip(&[(
        "META-INF/MANIFEST.MF",
        b"Manifest-Version: 1.0\r\nImplementation-Title: Caf\xe9\r\nImplementation-Version: 1.0\r\n\r\n",
        false,
    )]);
    let (found, _) = read(&latin1, "cafe-lib.jar");
    assert_eq!(
        found,
        [("cafe-lib".into(), "1.0".into(), "cafe-lib.jar".into())]
    );
}

#[test]
fn the_analyzer_emits_one_fact_per_file() {
    use keelhaul_analyze::{Analyzer, AnalyzerSet};
    let set = AnalyzerSet::new(vec![Box::new(super::JavaArchive::default())]).unwrap();
    assert!(set.fingerprint().starts_with("java-archive@"));
    let jar = nested_chain(3);
    let (p, w) = read_archive(&jar, "a/b.jar", Limits::default()).unwrap();
    assert!(w.is_empty());
    let by_path: BTreeMap<&str, &str> = p
        .iter()
        .map(|p| (p.locations[0].path.as_str(), p.name.as_str()))
        .collect();
    assert_eq!(by_path.len(), 3);
    assert_eq!(by_path["a/b.jar"], "org.example.nest:level-0");
    let interests = super::JavaArchive::default().interests();
    assert!(interests.globs.iter().any(|g| g == "**/*.hpi"));
}
