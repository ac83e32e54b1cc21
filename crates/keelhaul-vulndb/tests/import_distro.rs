//! Distro feed importers against the real feeds in the shared data directory
//! (`/work/shared/data/distro/*.tar.zst`), plus small hand-written fixtures.
//!
//! The expected numbers were worked out from the raw files with grep/awk, not copied from
//! the importers' output:
//! * DSA list: 5,406 headers; 25 have no `[release] - pkg version|<status>` line other
//!   than `<not-affected>` (announcements, not-affected-only entries) → 5,381 advisories.
//!   DLA: 3,534 → 3,530. DTSA: 208 → 207.
//! * Ubuntu tracker slice: 1,491 CVE files; 1,388 have at least one line for a numbered,
//!   non-ESM release whose status is `released (…)`, `needed`, `needs-triage`, `active`,
//!   `pending`, `deferred` or `ignored`.
//! * Ubuntu noble OVAL: 260 patch definitions; 53 reference no `dpkginfo_test` (5 `LSN-…`
//!   live-patch notices with file/textfilecontent tests, 48 kernel USNs that test the
//!   running kernel through `uname_test` + `variable_test`) → 207 advisories.
//! * Rocky 9 OVAL: 175 patch definitions, all with `rpminfo_test`s (one also names a
//!   test, `tst:unk`, that is not in the file).

use std::path::{Path, PathBuf};

use keelhaul_core::FixStatus;
use keelhaul_vulndb::import::{Format, detect, parse, walk};
use keelhaul_vulndb::model::{Advisory, Affected, Event, Rule};

/// The shared data directory, or `None` (after saying so) when it is not there.
// Saying why a test did nothing is the point of the message.
#[allow(clippy::print_stderr)]
fn shared_data() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data");
    if dir.join("distro").is_dir() {
        return Some(dir);
    }
    if std::env::var("KEELHAUL_REQUIRE_INTEGRATION").as_deref() == Ok("1") {
        panic!(
            "KEELHAUL_REQUIRE_INTEGRATION=1 but the shared data is missing at {}",
            dir.display()
        );
    }
    eprintln!(
        "skipping: shared data not found at {} (set KEELHAUL_REQUIRE_INTEGRATION=1 to make this an error)",
        dir.display()
    );
    None
}

/// What one archive yields, per member.
struct Imported {
    /// (member path, format, advisories, skipped)
    files: Vec<(String, Format, Vec<Advisory>, usize)>,
    /// Members no importer claimed.
    unclaimed: Vec<String>,
}

impl Imported {
    fn advisories(&self) -> impl Iterator<Item = &Advisory> {
        self.files.iter().flat_map(|f| f.2.iter())
    }

    fn in_file(&self, suffix: &str) -> &[Advisory] {
        let found = self.files.iter().find(|f| f.0.ends_with(suffix));
        &found
            .unwrap_or_else(|| panic!("no member ending {suffix}"))
            .2
    }

    fn skipped(&self, suffix: &str) -> usize {
        self.files
            .iter()
            .filter(|f| f.0.ends_with(suffix))
            .map(|f| f.3)
            .sum()
    }
}

fn import(archive: &Path) -> Imported {
    let mut out = Imported {
        files: Vec::new(),
        unclaimed: Vec::new(),
    };
    let errors = walk(
        archive,
        &mut |member| match detect(&member.path, &member.data) {
            Some(format) => {
                let parsed =
                    parse(format, &member.path, &member.data).unwrap_or_else(|e| panic!("{e}"));
                out.files
                    .push((member.path, format, parsed.advisories, parsed.skipped));
            }
            None => out.unclaimed.push(member.path),
        },
    );
    assert!(errors.is_empty(), "walk errors: {errors:?}");
    out
}

fn find<'a>(advisories: &'a [Advisory], id: &str) -> &'a Advisory {
    advisories
        .iter()
        .find(|a| a.id == id)
        .unwrap_or_else(|| panic!("{id} not imported"))
}

fn entry<'a>(a: &'a Advisory, ecosystem: &str, package: &str) -> &'a Affected {
    a.affected
        .iter()
        .find(|x| x.ecosystem == ecosystem && x.package == package)
        .unwrap_or_else(|| panic!("{}: no {ecosystem} {package} in {:?}", a.id, a.affected))
}

fn fixed_in(x: &Affected) -> Option<&str> {
    match &x.rules[..] {
        [Rule::Events { events }] => match &events[..] {
            [Event::Introduced(z), Event::Fixed(f)] if z == "0" => Some(f),
            _ => None,
        },
        _ => None,
    }
}

#[test]
fn debian_lists() {
    let Some(data) = shared_data() else { return };
    let got = import(&data.join("distro/debian-security-tracker-lists.tar.zst"));
    let formats: Vec<Format> = got.files.iter().map(|f| f.1).collect();
    assert_eq!(
        formats,
        [Format::DebianAdvisoryList; 3],
        "{:?}",
        got.files.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    // The DTSA .adv files are not in the list format and are left alone.
    assert!(got.unclaimed.iter().any(|p| p.ends_with(".adv")));

    let dsa = got.in_file("/data/DSA/list");
    assert_eq!(dsa.len(), 5381);
    assert_eq!(got.skipped("/data/DSA/list"), 25);
    let dla = got.in_file("/data/DLA/list");
    assert_eq!(dla.len(), 3530);
    assert_eq!(got.skipped("/data/DLA/list"), 4);
    assert_eq!(got.in_file("/data/DTSA/list").len(), 207);

    let a = find(dsa, "DSA-5380-1");
    assert_eq!(a.aliases, ["CVE-2023-1393"]);
    assert_eq!(a.published.as_deref(), Some("2023-03-29"));
    assert_eq!(a.summary.as_deref(), Some("security update"));
    assert_eq!(
        a.references,
        ["https://security-tracker.debian.org/tracker/DSA-5380-1"]
    );
    let x = entry(a, "Debian:11", "xorg-server");
    assert_eq!(fixed_in(x), Some("2:1.20.11-1+deb11u6"));
    assert_eq!(x.status, FixStatus::Fixed);

    let l = find(dla, "DLA-3380-1");
    assert_eq!(l.aliases.len(), 11);
    assert_eq!(
        fixed_in(entry(l, "Debian:10", "firmware-nonfree")),
        Some("20190114+really20220913-0+deb10u1")
    );

    // `[lenny] - vlc <not-affected>` makes no entry; squeeze is fixed.
    let v = find(dsa, "DSA-2218-1");
    assert_eq!(v.affected.len(), 1);
    assert_eq!(
        fixed_in(entry(v, "Debian:6", "vlc")),
        Some("1.1.3-1squeeze5")
    );
    // Urgency after the version, and status tags.
    let s = find(dsa, "DSA-735-1");
    assert_eq!(
        entry(s, "Debian:3.0", "sudo").severity_label.as_deref(),
        Some("medium")
    );
    let eol = entry(find(dsa, "DSA-3699-1"), "Debian:8", "virtualbox");
    assert_eq!(
        (eol.status, &eol.rules[..]),
        (FixStatus::EndOfLife, &[Rule::All][..])
    );
    let unfixed = entry(find(dsa, "DSA-746-1"), "Debian:3.0", "phpgroupware");
    assert_eq!(unfixed.status, FixStatus::Affected);
    assert_eq!(unfixed.severity_label.as_deref(), Some("high"));
    // The old suffix-less id and the DTSA date style.
    assert_eq!(
        find(dsa, "DSA-1304").published.as_deref(),
        Some("2007-06-16")
    );
    let t = find(got.in_file("/data/DTSA/list"), "DTSA-10-1");
    assert_eq!(t.published.as_deref(), Some("2005-08-29"));
    assert_eq!(
        fixed_in(entry(t, "Debian:4", "pcre3")),
        Some("6.3-0.1etch1")
    );
}

#[test]
fn alpine_secdb() {
    let Some(data) = shared_data() else { return };
    let got = import(&data.join("distro/alpine-secdb.tar.zst"));
    assert_eq!(got.files.len(), 41);
    assert!(got.files.iter().all(|f| f.1 == Format::AlpineSecdb));
    assert!(
        got.files.iter().all(|f| f.3 == 0),
        "no malformed package entries"
    );

    let main = got.in_file("/alpine/v3.20/main.json");
    // 2,432 distinct well-formed CVE ids under a non-`0` version (counted with grep).
    assert_eq!(
        main.iter().filter(|a| a.id.starts_with("CVE-")).count(),
        2432
    );
    let a = find(main, "CVE-2024-5171");
    let x = entry(a, "Alpine:v3.20", "aom");
    assert_eq!(
        (fixed_in(x), x.status),
        (Some("3.9.1-r0"), FixStatus::Fixed)
    );
    // `"0": ["CVE-2020-14342"]` for cifs-utils: never affected.
    assert!(
        main.iter()
            .all(|a| a.id != "CVE-2020-14342"
                || a.affected.iter().all(|x| x.package != "cifs-utils"))
    );
    // `CVE-2022-2509 GNUTLS-SA-2022-07-07` in edge: the CVE with the vendor id as alias.
    let edge = got.in_file("/alpine/edge/main.json");
    let g = find(edge, "CVE-2022-2509");
    assert!(g.aliases.iter().any(|x| x == "GNUTLS-SA-2022-07-07"));
    assert_eq!(
        fixed_in(entry(g, "Alpine:edge", "gnutls")),
        Some("3.7.7-r0")
    );
    // chromium lists CVE-2022-2163 under 103.0.5060.53-r0 and 103.0.5060.134-r0 in edge
    // community: the first fix (lowest version) is kept.
    let c = find(got.in_file("/alpine/edge/community.json"), "CVE-2022-2163");
    assert_eq!(
        fixed_in(entry(c, "Alpine:edge", "chromium")),
        Some("103.0.5060.53-r0")
    );
    let total: usize = got.advisories().map(|a| a.affected.len()).sum();
    assert!(total > 30_000, "{total} package entries");
}

#[test]
fn ubuntu_cve_tracker() {
    let Some(data) = shared_data() else { return };
    let got = import(&data.join("distro/ubuntu-cve-tracker-slice.tar.zst"));
    assert!(got.files.iter().all(|f| f.1 == Format::UbuntuCveTracker));
    assert_eq!(
        got.files.len(),
        1491,
        "every CVE file, not the boilerplate or READMEs"
    );
    assert!(
        got.unclaimed
            .iter()
            .any(|p| p.ends_with("active/00boilerplate"))
    );
    let advisories: Vec<Advisory> = got.advisories().cloned().collect();
    assert_eq!(advisories.len(), 1388);

    let a = find(&advisories, "CVE-2020-0034");
    assert_eq!(a.severity_label.as_deref(), Some("low"));
    assert_eq!(a.published.as_deref(), Some("2020-03-10T20:15:00Z"));
    assert_eq!(
        a.cvss[0].vector,
        "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:N/A:N"
    );
    assert_eq!(
        entry(a, "Ubuntu:14.04", "libvpx").status,
        FixStatus::EndOfLife
    );
    assert_eq!(
        entry(a, "Ubuntu:16.04", "libvpx").status,
        FixStatus::Affected
    );
    // bionic, eoan: not-affected; trusty/esm and devel: skipped.
    assert_eq!(a.affected.len(), 2);

    let b = find(&advisories, "CVE-2019-12900");
    assert_eq!(
        fixed_in(entry(b, "Ubuntu:18.04", "bzip2")),
        Some("1.0.6-8.1ubuntu0.2")
    );
    assert_eq!(
        fixed_in(entry(b, "Ubuntu:16.04", "clamav")),
        Some("0.101.4+dfsg-0ubuntu0.16.04.1")
    );
    assert_eq!(
        entry(b, "Ubuntu:18.04", "bzip2").severity_label.as_deref(),
        Some("medium")
    );
}

#[test]
fn ubuntu_oval() {
    let Some(data) = shared_data() else { return };
    let got = import(&data.join("distro/ubuntu-oval-noble.tar.zst"));
    let oval: Vec<_> = got.files.iter().filter(|f| f.1 == Format::Oval).collect();
    assert_eq!(oval.len(), 1);
    let (advisories, skipped) = (&oval[0].2, oval[0].3);
    assert_eq!((advisories.len(), skipped), (207, 53));
    assert!(advisories.iter().all(|a| !a.id.starts_with("LSN-")));

    let a = find(advisories, "USN-7000-1");
    assert_eq!(
        a.aliases,
        ["CVE-2024-45490", "CVE-2024-45491", "CVE-2024-45492"]
    );
    assert_eq!(a.severity_label.as_deref(), Some("Medium"));
    assert_eq!(a.published.as_deref(), Some("2024-09-12"));
    let names: Vec<&str> = a.affected.iter().map(|x| x.package.as_str()).collect();
    assert_eq!(names, ["expat", "libexpat1", "libexpat1-dev"]);
    for x in &a.affected {
        assert_eq!(x.ecosystem, "Ubuntu:24.04");
        assert_eq!(fixed_in(x), Some("2.6.1-2ubuntu0.1"));
    }
}

#[test]
fn rocky_oval() {
    let Some(data) = shared_data() else { return };
    let got = import(&data.join("distro/rocky9-oval.tar.zst"));
    let oval: Vec<_> = got.files.iter().filter(|f| f.1 == Format::Oval).collect();
    assert_eq!(oval.len(), 1);
    let (advisories, skipped) = (&oval[0].2, oval[0].3);
    assert_eq!((advisories.len(), skipped), (175, 0));

    let a = find(advisories, "RLSA-2022:4582");
    assert_eq!(a.aliases, ["CVE-2022-1271"]);
    assert_eq!(a.severity_label.as_deref(), Some("Important"));
    assert_eq!(a.published.as_deref(), Some("2022-05-17"));
    let names: Vec<&str> = a.affected.iter().map(|x| x.package.as_str()).collect();
    assert_eq!(names, ["gzip", "gzip-debuginfo", "gzip-debugsource"]);
    for x in &a.affected {
        assert_eq!(x.ecosystem, "Rocky Linux:9");
        assert_eq!(fixed_in(x), Some("0:1.10-9.el9_0"));
    }
}

/// Detection stays specific: the distro importers claim their own fixtures and nothing
/// else in the shared samples claims to be a distro format.
#[test]
fn fixtures_are_detected() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/distro");
    let cases = [
        ("debian-tracker.json", Format::DebianTrackerJson),
        ("DSA/list", Format::DebianAdvisoryList),
        ("alpine-v3.99-main.json", Format::AlpineSecdb),
        ("CVE-2099-0001", Format::UbuntuCveTracker),
        ("mini.oval.xml", Format::Oval),
    ];
    for (name, format) in cases {
        let path = dir.join(name);
        let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let member = path.to_string_lossy().replace('\\', "/");
        assert_eq!(detect(&member, &data), Some(format), "{name}");
        let parsed = parse(format, &member, &data).unwrap_or_else(|e| panic!("{e}"));
        assert!(!parsed.advisories.is_empty(), "{name}");
    }
}

#[test]
fn fixture_tracker_json() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/distro/debian-tracker.json");
    let data = std::fs::read(&path).expect("fixture");
    let parsed = parse(Format::DebianTrackerJson, "debian-tracker.json", &data).expect("parses");
    let a = find(&parsed.advisories, "CVE-2099-4000");
    assert_eq!(
        fixed_in(entry(a, "Debian:12", "libfoo")),
        Some("1.2-3+deb12u1")
    );
    assert_eq!(entry(a, "Debian:11", "libfoo").status, FixStatus::NoDsa);
    assert_eq!(entry(a, "Debian:11", "libfoo").rules, [Rule::All]);
    assert!(
        a.affected.iter().all(|x| x.ecosystem != "Debian:13"),
        "fixed_version 0"
    );
    assert_eq!(parsed.skipped, 1, "the malformed record");
}

#[test]
fn other_shared_samples_are_not_claimed_as_distro_feeds() {
    let Some(data) = shared_data() else { return };
    let distro = [
        Format::DebianTrackerJson,
        Format::DebianAdvisoryList,
        Format::AlpineSecdb,
        Format::UbuntuCveTracker,
        Format::Oval,
    ];
    let samples = data.join("samples");
    let mut checked = 0;
    for dir in [
        "osv-pypi",
        "osv-go",
        "osv-rustsec",
        "osv-almalinux",
        "go-cve5",
        "nvd",
        "native-nodejs",
        "native-rubysec",
        "native-rustsec",
        "native-friendsofphp",
        "native-victims",
    ] {
        let _ = walk(&samples.join(dir), &mut |m| {
            checked += 1;
            let head = &m.data[..m.data.len().min(4096)];
            for f in distro {
                assert!(!f.detect(&m.path, head), "{} claimed by {f}", m.path);
            }
        });
    }
    assert!(checked > 0);
}
