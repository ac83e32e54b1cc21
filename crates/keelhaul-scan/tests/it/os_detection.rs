//! OS detection on real release files, one fixture directory per distribution
//! (`tests/fixtures/os/NAME/`, laid out as in an image, with `want` = `family version`).

use std::path::Path;

use keelhaul_analyze::NoProgress;
use keelhaul_image::Target;
use keelhaul_scan::{ScanOptions, Scanner};

#[test]
fn every_fixture_detects_its_distribution() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/os");
    let scanner = Scanner::new(ScanOptions::default()).unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        let want = std::fs::read_to_string(dir.join("want")).unwrap();
        let (family, version) = want.trim().split_once(' ').unwrap();
        let reports = scanner
            .scan(&Target::Dir(dir.clone()), &NoProgress)
            .unwrap();
        let os = reports[0].os.clone();
        let got = os.as_ref().map(|o| {
            (
                o.family.clone(),
                o.version.clone().unwrap_or_else(|| "-".into()),
            )
        });
        if got != Some((family.to_owned(), version.to_owned())) {
            failures.push(format!(
                "{}: want {family} {version}, got {got:?}",
                dir.display()
            ));
        }
        checked += 1;
    }
    assert!(checked >= 30, "only {checked} fixtures");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn distroless_packages_and_their_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/os/distroless-debian-12");
    let scanner = Scanner::new(ScanOptions::default()).unwrap();
    let image = scanner.open(&Target::Dir(dir)).unwrap().remove(0);
    let report = scanner.scan_image(&image, &NoProgress);
    let names: Vec<&str> = report.packages.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["base-files", "libc6"]);
    let libc = &report.packages[1];
    assert_eq!(libc.source_name.as_deref(), Some("glibc"));
    assert_eq!(
        libc.purl,
        "pkg:deb/debian/libc6@2.36-9%2Bdeb12u7?arch=amd64&distro=debian-12&upstream=glibc"
    );
    assert_eq!(libc.locations[0].path, "var/lib/dpkg/status.d/libc6");
}
