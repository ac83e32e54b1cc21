//! The matcher: an inventory in, findings out.
//!
//! Rules (DESIGN.md, "Matching rules"):
//! * OS packages are matched only against their own distro release's feed (Debian by
//!   source package, Alpine by origin, RPM by name with epoch); a distro without a feed is
//!   a warning, never a fallback to upstream ranges.
//! * Application packages are matched against their ecosystem's advisories; packages a
//!   distro package owns are left to the distro feed (that is how backports stay fixed).
//! * OSV ranges are evaluated as the schema's `IsVulnerable` says; native rules by their
//!   constraints; versions in each ecosystem's own order ([`keelhaul_version`]).
//! * Advisories that name the same vulnerability become one finding per package.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::rc::Rc;

use keelhaul_core::{
    Cvss, Ecosystem, FindingClass, FixStatus, OsRelease, Package, PackageRef, Severity,
    Vulnerability,
};
use keelhaul_version::{Scheme, compare};

use crate::db::{Database, DbError};
use crate::model::{Advisory, Affected, Constraint, Enrichment, Event, Op, Rule};
use crate::normalize_name;

/// Findings and the problems met while matching.
#[derive(Debug, Default)]
pub struct MatchOutcome {
    /// Findings, sorted by package purl then id.
    pub vulnerabilities: Vec<Vulnerability>,
    /// Things the user should know (no feed for this distro, unreadable versions…).
    pub warnings: Vec<String>,
}

/// Where one package is looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lookup {
    /// Feed ecosystem (`Debian:12`, `PyPI`).
    pub ecosystem: String,
    /// Names to try, normalised (source package first for distros).
    pub names: Vec<String>,
    /// The version to evaluate, in the scheme's syntax.
    pub version: String,
    /// The order.
    pub scheme: Scheme,
    /// CVE (OS) or SCA.
    pub class: FindingClass,
}

/// Why a package is not looked up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NoLookup {
    /// An OS package of a distro we have no feed mapping for.
    NoFeed(String),
    /// Installed by a distro package: its advisories come through the distro feed.
    OwnedByOs,
    /// Nothing to match (a development build, an ecosystem without advisories).
    Nothing,
}

/// The feed ecosystem for a distro release (`Debian:12`, `Alpine:v3.20`, `AlmaLinux:9`),
/// or `None` when keelhaul knows no feed for it.
pub fn distro_feed(os: &OsRelease) -> Option<String> {
    let release = os.feed_release()?;
    Some(match os.family.as_str() {
        "debian" => format!("Debian:{release}"),
        "ubuntu" => format!("Ubuntu:{release}"),
        "alpine" => {
            if os
                .version
                .as_deref()
                .is_some_and(|v| v.contains("edge") || v.contains("_alpha"))
            {
                "Alpine:edge".to_owned()
            } else {
                format!("Alpine:v{release}")
            }
        }
        "almalinux" => format!("AlmaLinux:{release}"),
        "rocky" => format!("Rocky Linux:{release}"),
        _ => return None,
    })
}

/// The feed ecosystem of an application ecosystem (OSV spelling).
pub fn app_feed(ecosystem: Ecosystem) -> Option<&'static str> {
    Some(match ecosystem {
        Ecosystem::Pypi => "PyPI",
        Ecosystem::Npm => "npm",
        Ecosystem::Golang => "Go",
        Ecosystem::Cargo => "crates.io",
        Ecosystem::Maven => "Maven",
        Ecosystem::Gem => "RubyGems",
        Ecosystem::Composer => "Packagist",
        Ecosystem::Nuget => "NuGet",
        Ecosystem::Pub => "Pub",
        Ecosystem::Hex => "Hex",
        Ecosystem::Swift => "SwiftURL",
        _ => return None,
    })
}

/// `go1.21.5` → `1.21.5`, `go1.20rc1` → `1.20.0-rc.1`, `go1.21` → `1.21.0`: the Go
/// toolchain version in the SemVer form Go's vulnerability database uses.
pub fn go_toolchain_semver(version: &str) -> Option<String> {
    let v = version.strip_prefix("go").unwrap_or(version);
    let split = v.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(v.len());
    let (release, pre) = v.split_at(split);
    let mut parts: Vec<&str> = release.split('.').collect();
    if parts.is_empty()
        || parts
            .iter()
            .any(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    while parts.len() < 3 {
        parts.push("0");
    }
    let mut out = parts.join(".");
    if !pre.is_empty() {
        let digits = pre.find(|c: char| c.is_ascii_digit()).unwrap_or(pre.len());
        let (word, num) = pre.split_at(digits);
        out.push('-');
        out.push_str(word);
        if !num.is_empty() {
            out.push('.');
            out.push_str(num);
        }
    }
    Some(out)
}

/// Where to look a package up, or why not.
pub fn lookup_for(os: Option<&OsRelease>, package: &Package) -> Result<Lookup, NoLookup> {
    if package.ecosystem.is_os() {
        let os = os.ok_or_else(|| NoLookup::NoFeed("an unknown distribution".to_owned()))?;
        let ecosystem = distro_feed(os).ok_or_else(|| {
            NoLookup::NoFeed(format!(
                "{} {}",
                os.family,
                os.version.as_deref().unwrap_or("(no version)")
            ))
        })?;
        let (scheme, names, version) = match package.ecosystem {
            Ecosystem::Deb => {
                let mut names = Vec::new();
                if let Some(src) = &package.source_name {
                    names.push(src.clone());
                }
                // Ubuntu's OVAL names binary packages; Debian's feeds never do.
                if names.is_empty() || os.family == "ubuntu" {
                    names.push(package.name.clone());
                }
                let version = package
                    .source_version
                    .clone()
                    .unwrap_or_else(|| package.version.clone());
                (Scheme::Dpkg, names, version)
            }
            Ecosystem::Apk => (
                Scheme::Apk,
                vec![
                    package
                        .source_name
                        .clone()
                        .unwrap_or_else(|| package.name.clone()),
                ],
                package.version.clone(),
            ),
            _ => {
                let version = match package.epoch {
                    Some(e) if !package.version.contains(':') => format!("{e}:{}", package.version),
                    _ => package.version.clone(),
                };
                (Scheme::Rpm, vec![package.name.clone()], version)
            }
        };
        let mut names = names;
        names.dedup();
        return Ok(Lookup {
            ecosystem,
            names,
            version,
            scheme,
            class: FindingClass::Os,
        });
    }
    if package.owned_by.is_some() {
        return Err(NoLookup::OwnedByOs);
    }
    let feed = app_feed(package.ecosystem).ok_or(NoLookup::Nothing)?;
    let scheme = Scheme::for_osv_ecosystem(feed).ok_or(NoLookup::Nothing)?;
    let mut version = package.version.clone();
    if package.ecosystem == Ecosystem::Golang {
        if package.name == "stdlib" || package.name == "toolchain" {
            version = go_toolchain_semver(&version).ok_or(NoLookup::Nothing)?;
        } else if version == "(devel)" || version.is_empty() {
            return Err(NoLookup::Nothing);
        }
    }
    if version.is_empty() {
        return Err(NoLookup::Nothing);
    }
    Ok(Lookup {
        ecosystem: feed.to_owned(),
        names: vec![normalize_name(feed, &package.name)],
        version,
        scheme,
        class: FindingClass::Sca,
    })
}

/// Evaluates one affected entry for one version. `Ok(None)`: not affected;
/// `Ok(Some(fixes))`: affected, with the versions that fix it (may be empty).
pub fn evaluate(
    scheme: Scheme,
    version: &str,
    affected: &Affected,
) -> Result<Option<Vec<String>>, String> {
    let mut hit = false;
    let mut fixes: Vec<String> = Vec::new();
    let mut problems = Vec::new();
    for rule in &affected.rules {
        let result = match rule {
            Rule::Events { events } => events_affect(scheme, version, events),
            Rule::Exact { versions } => Ok(versions
                .iter()
                .any(|v| {
                    cmp(scheme, version, v)
                        .map(|o| o == Ordering::Equal)
                        .unwrap_or(v == version)
                })
                .then(Vec::new)),
            Rule::AnyOf { any_of } => any_of_affects(scheme, version, any_of),
            Rule::NoneOf { none_of } => none_of_affects(scheme, version, none_of),
            Rule::All => Ok(Some(Vec::new())),
        };
        match result {
            Ok(Some(f)) => {
                hit = true;
                fixes.extend(f);
            }
            Ok(None) => {}
            Err(e) => problems.push(e),
        }
    }
    if !hit && !problems.is_empty() {
        return Err(problems.join("; "));
    }
    if !hit {
        return Ok(None);
    }
    sort_versions(scheme, &mut fixes);
    Ok(Some(fixes))
}

fn cmp(scheme: Scheme, a: &str, b: &str) -> Result<Ordering, String> {
    compare(scheme, a, b).map_err(|e| e.to_string())
}

/// OSV `IsVulnerable` for one range: events sorted by version (`introduced: 0` first),
/// `limit` events bound the range, `fixed` exclusive, `last_affected` inclusive.
fn events_affect(
    scheme: Scheme,
    version: &str,
    events: &[Event],
) -> Result<Option<Vec<String>>, String> {
    let limits: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            Event::Limit(l) if l != "*" => Some(l.as_str()),
            _ => None,
        })
        .collect();
    for limit in &limits {
        if cmp(scheme, version, limit)? != Ordering::Less {
            return Ok(None);
        }
    }
    let mut sorted: Vec<&Event> = events
        .iter()
        .filter(|e| !matches!(e, Event::Limit(_)))
        .collect();
    let mut sort_error = None;
    sorted.sort_by(|a, b| {
        let (a, b) = (event_version(a), event_version(b));
        match (a == "0", b == "0") {
            (true, true) => Ordering::Equal,
            (true, false) => Ordering::Less,
            (false, true) => Ordering::Greater,
            _ => compare(scheme, a, b).unwrap_or_else(|e| {
                sort_error.get_or_insert(e.to_string());
                Ordering::Equal
            }),
        }
    });
    if let Some(e) = sort_error {
        return Err(e);
    }
    let mut vulnerable = false;
    for event in &sorted {
        match event {
            Event::Introduced(v) => {
                if v == "0" || cmp(scheme, version, v)? != Ordering::Less {
                    vulnerable = true;
                }
            }
            Event::Fixed(v) => {
                if cmp(scheme, version, v)? != Ordering::Less {
                    vulnerable = false;
                }
            }
            Event::LastAffected(v) => {
                if cmp(scheme, version, v)? == Ordering::Greater {
                    vulnerable = false;
                }
            }
            Event::Limit(_) => {}
        }
    }
    if !vulnerable {
        return Ok(None);
    }
    // The fix that ends the interval the version is in: the first `fixed` above it.
    let fix = sorted.iter().find_map(|e| match e {
        Event::Fixed(v) if cmp(scheme, version, v).ok() == Some(Ordering::Less) => Some(v.clone()),
        _ => None,
    });
    Ok(Some(fix.into_iter().collect()))
}

fn event_version(e: &Event) -> &str {
    match e {
        Event::Introduced(v) | Event::Fixed(v) | Event::LastAffected(v) | Event::Limit(v) => v,
    }
}

fn satisfies(scheme: Scheme, version: &str, c: &Constraint) -> Result<bool, String> {
    let o = cmp(scheme, version, &c.version)?;
    Ok(match c.op {
        Op::Lt => o == Ordering::Less,
        Op::Le => o != Ordering::Greater,
        Op::Gt => o == Ordering::Greater,
        Op::Ge => o != Ordering::Less,
        Op::Eq => o == Ordering::Equal,
        Op::Ne => o != Ordering::Equal,
    })
}

fn all_hold(scheme: Scheme, version: &str, conj: &[Constraint]) -> Result<bool, String> {
    for c in conj {
        if !satisfies(scheme, version, c)? {
            return Ok(false);
        }
    }
    Ok(true)
}

fn any_of_affects(
    scheme: Scheme,
    version: &str,
    any_of: &[Vec<Constraint>],
) -> Result<Option<Vec<String>>, String> {
    for conj in any_of {
        if all_hold(scheme, version, conj)? {
            let fixes = conj
                .iter()
                .filter(|c| c.op == Op::Lt)
                // node-semver desugars `<2` to `<2.0.0-0`; users install `2.0.0`.
                .map(|c| {
                    c.version
                        .strip_suffix("-0")
                        .unwrap_or(&c.version)
                        .to_owned()
                })
                .collect();
            return Ok(Some(fixes));
        }
    }
    Ok(None)
}

fn none_of_affects(
    scheme: Scheme,
    version: &str,
    none_of: &[Vec<Constraint>],
) -> Result<Option<Vec<String>>, String> {
    for conj in none_of {
        if all_hold(scheme, version, conj)? {
            return Ok(None);
        }
    }
    // Safe versions start at each alternative's lower bound above the installed one.
    let mut fixes = Vec::new();
    for conj in none_of {
        for c in conj {
            if matches!(c.op, Op::Ge | Op::Gt | Op::Eq)
                && cmp(scheme, &c.version, version).ok() == Some(Ordering::Greater)
            {
                fixes.push(c.version.clone());
            }
        }
    }
    Ok(Some(fixes))
}

fn sort_versions(scheme: Scheme, versions: &mut Vec<String>) {
    versions.sort_by(|a, b| compare(scheme, a, b).unwrap_or_else(|_| a.cmp(b)));
    versions.dedup_by(|a, b| {
        compare(scheme, a, b)
            .map(|o| o == Ordering::Equal)
            .unwrap_or(a == b)
    });
}

/// One advisory's verdict on one package, before merging by alias.
struct Hit {
    /// The ids that name this vulnerability: the preferred one first.
    ids: Vec<String>,
    advisory: Rc<Advisory>,
    affected: Affected,
    source: String,
    fixes: Vec<String>,
}

/// Matches inventories against an open database.
pub struct Matcher<'db> {
    db: &'db Database,
    advisories: std::cell::RefCell<HashMap<i64, Rc<Advisory>>>,
}

impl<'db> Matcher<'db> {
    /// A matcher over `db`.
    pub fn new(db: &'db Database) -> Matcher<'db> {
        Matcher {
            db,
            advisories: Default::default(),
        }
    }

    fn advisory(&self, row: i64) -> Result<Rc<Advisory>, DbError> {
        if let Some(a) = self.advisories.borrow().get(&row) {
            return Ok(a.clone());
        }
        let a = Rc::new(self.db.advisory(row)?);
        self.advisories.borrow_mut().insert(row, a.clone());
        Ok(a)
    }

    /// Matches every package of one image (or SBOM).
    pub fn match_packages(
        &self,
        os: Option<&OsRelease>,
        packages: &[Package],
    ) -> Result<MatchOutcome, DbError> {
        let mut outcome = MatchOutcome::default();
        let mut no_feed: BTreeMap<String, usize> = BTreeMap::new();
        for package in packages {
            let lookup = match lookup_for(os, package) {
                Ok(l) => l,
                Err(NoLookup::NoFeed(what)) => {
                    *no_feed.entry(what).or_default() += 1;
                    continue;
                }
                Err(_) => continue,
            };
            let hits = self.hits(package, &lookup, &mut outcome.warnings)?;
            for group in merge_by_alias(hits) {
                outcome
                    .vulnerabilities
                    .push(self.finding(package, &lookup, os, group)?);
            }
        }
        for (what, count) in no_feed {
            outcome.warnings.push(format!(
                "no vulnerability feed is known for {what}: its {count} OS packages were not matched (keelhaul never falls back to upstream ranges for distro packages)"
            ));
        }
        outcome.vulnerabilities.sort_by(|a, b| {
            (&a.package.purl, &a.path, &a.id).cmp(&(&b.package.purl, &b.path, &b.id))
        });
        outcome
            .vulnerabilities
            .dedup_by(|a, b| a.package.purl == b.package.purl && a.path == b.path && a.id == b.id);
        Ok(outcome)
    }

    fn hits(
        &self,
        package: &Package,
        lookup: &Lookup,
        warnings: &mut Vec<String>,
    ) -> Result<Vec<Hit>, DbError> {
        let mut seen = BTreeSet::new();
        let mut hits = Vec::new();
        if keelhaul_version::is_valid(lookup.scheme, &lookup.version)
            || matches!(
                lookup.scheme,
                Scheme::Dpkg | Scheme::Rpm | Scheme::Apk | Scheme::Maven
            )
        {
            for name in &lookup.names {
                for candidate in self.db.candidates(&lookup.ecosystem, name)? {
                    if !seen.insert(candidate.advisory_row) {
                        continue;
                    }
                    let advisory = self.advisory(candidate.advisory_row)?;
                    match evaluate(lookup.scheme, &lookup.version, &candidate.affected) {
                        Ok(None) => {}
                        Ok(Some(fixes)) => hits.push(Hit {
                            ids: finding_ids(&advisory),
                            advisory,
                            affected: candidate.affected,
                            source: candidate.source,
                            fixes,
                        }),
                        Err(reason) => warnings.push(format!(
                            "{} {} {}: advisory {} could not be evaluated: {reason}",
                            package.ecosystem, package.name, package.version, advisory.id
                        )),
                    }
                }
            }
        } else {
            let count: usize = lookup
                .names
                .iter()
                .map(|n| self.db.candidates(&lookup.ecosystem, n).map(|c| c.len()))
                .sum::<Result<usize, _>>()?;
            if count > 0 {
                warnings.push(format!(
                    "{} {} {}: the version is not valid for {:?} ordering, so {count} advisories for it were not evaluated",
                    package.ecosystem, package.name, package.version, lookup.scheme
                ));
            }
        }
        Ok(hits)
    }

    fn finding(
        &self,
        package: &Package,
        lookup: &Lookup,
        os: Option<&OsRelease>,
        group: Vec<Hit>,
    ) -> Result<Vulnerability, DbError> {
        let mut ids: BTreeSet<String> = BTreeSet::new();
        let mut fixes = Vec::new();
        let mut sources = BTreeSet::new();
        let mut cwes = BTreeSet::new();
        let mut statuses = Vec::new();
        for hit in &group {
            ids.extend(hit.ids.iter().cloned());
            fixes.extend(hit.fixes.iter().cloned());
            sources.insert(hit.source.clone());
            cwes.extend(hit.advisory.cwes.iter().cloned());
            statuses.push(if hit.fixes.is_empty() {
                match hit.affected.status {
                    FixStatus::Fixed => FixStatus::Affected,
                    other => other,
                }
            } else {
                FixStatus::Fixed
            });
        }
        sort_versions(lookup.scheme, &mut fixes);
        let id = preferred_id(&ids);
        ids.remove(&id);
        let cves: Vec<String> = std::iter::once(id.clone())
            .chain(ids.iter().cloned())
            .filter(|i| i.starts_with("CVE-"))
            .collect();
        let mut enrichments: Vec<Enrichment> = Vec::new();
        for cve in &cves {
            enrichments.extend(self.db.enrichment(cve)?);
        }
        for e in &enrichments {
            cwes.extend(e.cwes.iter().cloned());
        }
        let status = if !fixes.is_empty() {
            FixStatus::Fixed
        } else {
            // The most hopeful status among the merged advisories.
            statuses.into_iter().min().unwrap_or(FixStatus::Affected)
        };
        let cvss = best_cvss(&group, &enrichments);
        let (severity, severity_source, distro_severity) =
            severity_of(lookup.class, os, &group, cvss.as_ref());
        let primary = group
            .iter()
            .find(|h| h.ids.first() == Some(&id))
            .unwrap_or(&group[0]);
        let title = primary
            .advisory
            .summary
            .clone()
            .or_else(|| group.iter().find_map(|h| h.advisory.summary.clone()))
            .or_else(|| {
                group
                    .iter()
                    .find_map(|h| h.advisory.details.as_deref().map(first_sentence))
            })
            .or_else(|| {
                enrichments
                    .iter()
                    .find_map(|e| e.summary.as_deref().map(first_sentence))
            });
        let published = group
            .iter()
            .filter_map(|h| h.advisory.published.clone())
            .chain(enrichments.iter().filter_map(|e| e.published.clone()))
            .min();
        let location = package.locations.first();
        Ok(Vulnerability {
            url: Some(advisory_url(&id)),
            id,
            aliases: ids.into_iter().collect(),
            package: PackageRef {
                name: package.name.clone(),
                version: package.version.clone(),
                ecosystem: package.ecosystem,
                purl: package.purl.clone(),
            },
            installed_version: lookup.version.clone(),
            fixed_versions: fixes,
            status,
            severity,
            severity_source,
            distro_severity,
            cvss,
            cwes: cwes.into_iter().collect(),
            known_exploited: enrichments.iter().any(|e| e.kev_added.is_some()),
            class: lookup.class,
            layer: location.and_then(|l| l.layer.clone()),
            path: location.map(|l| l.path.clone()),
            title,
            sources: sources.into_iter().collect(),
            published,
        })
    }
}

/// The ids one advisory contributes to a finding. Errata that bundle several CVEs (a DSA,
/// an ALSA, a USN) are not one vulnerability: they contribute each CVE, and the matcher
/// splits them (see [`merge_by_alias`]).
fn finding_ids(advisory: &Advisory) -> Vec<String> {
    let mut ids = vec![advisory.id.clone()];
    ids.extend(advisory.aliases.iter().cloned());
    ids
}

/// Groups hits that name the same vulnerability.
///
/// Distro errata (a DSA, an ALSA, a USN) bundle several CVEs: such a hit is split into one
/// per CVE, each naming the erratum as an alias but joining others only through its CVE.
/// Every other hit joins any group it shares an id with (OSV's aliases say "the same
/// vulnerability"), transitively.
fn merge_by_alias(hits: Vec<Hit>) -> Vec<Vec<Hit>> {
    // (hit, the ids it may join groups by)
    let mut parts: Vec<(Hit, Vec<String>)> = Vec::new();
    for hit in hits {
        let cves: Vec<String> = hit
            .ids
            .iter()
            .filter(|i| i.starts_with("CVE-"))
            .cloned()
            .collect();
        if cves.len() >= 2 && is_errata(&hit.advisory.id) {
            for cve in &cves {
                let mut ids = vec![cve.clone()];
                ids.extend(hit.ids.iter().filter(|i| !i.starts_with("CVE-")).cloned());
                parts.push((
                    Hit {
                        ids,
                        advisory: hit.advisory.clone(),
                        affected: hit.affected.clone(),
                        source: hit.source.clone(),
                        fixes: hit.fixes.clone(),
                    },
                    vec![cve.clone()],
                ));
            }
        } else {
            let keys = hit.ids.clone();
            parts.push((hit, keys));
        }
    }
    // Union-find over the parts, by shared keys.
    let mut parent: Vec<usize> = (0..parts.len()).collect();
    fn root(parent: &mut [usize], mut i: usize) -> usize {
        while parent[i] != i {
            parent[i] = parent[parent[i]];
            i = parent[i];
        }
        i
    }
    let mut owner: HashMap<&str, usize> = HashMap::new();
    for (i, (_, keys)) in parts.iter().enumerate() {
        for key in keys {
            match owner.get(key.as_str()) {
                Some(&j) => {
                    let (a, b) = (root(&mut parent, i), root(&mut parent, j));
                    if a != b {
                        parent[a.max(b)] = a.min(b);
                    }
                }
                None => {
                    owner.insert(key, i);
                }
            }
        }
    }
    let roots: Vec<usize> = (0..parts.len()).map(|i| root(&mut parent, i)).collect();
    let mut groups: BTreeMap<usize, Vec<Hit>> = BTreeMap::new();
    for ((hit, _), r) in parts.into_iter().zip(roots) {
        groups.entry(r).or_default().push(hit);
    }
    groups.into_values().collect()
}

/// A title from a description: its first sentence, at most 160 characters (PyPA's and
/// NVD's records have no summary line).
fn first_sentence(text: &str) -> String {
    let line = text.trim().lines().next().unwrap_or_default();
    let end = line
        .match_indices(". ")
        .map(|(i, _)| i + 1)
        .next()
        .unwrap_or(line.len());
    let sentence = &line[..end];
    if sentence.chars().count() <= 160 {
        return sentence.to_owned();
    }
    let cut: String = sentence.chars().take(159).collect();
    format!("{cut}…")
}

/// Errata of a distro, which bundle the CVEs they fix.
fn is_errata(id: &str) -> bool {
    [
        "DSA-",
        "DLA-",
        "DTSA-",
        "ALSA-",
        "RLSA-",
        "RHSA-",
        "ELSA-",
        "USN-",
        "SUSE-SU-",
        "openSUSE-SU-",
    ]
    .iter()
    .any(|p| id.starts_with(p))
}

/// CVE first; then GHSA; then the rest, alphabetically.
fn preferred_id(ids: &BTreeSet<String>) -> String {
    ids.iter()
        .find(|i| i.starts_with("CVE-"))
        .or_else(|| ids.iter().find(|i| i.starts_with("GHSA-")))
        .or_else(|| ids.iter().next())
        .cloned()
        .unwrap_or_default()
}

fn advisory_url(id: &str) -> String {
    if id.starts_with("CVE-") {
        format!("https://nvd.nist.gov/vuln/detail/{id}")
    } else if id.starts_with("DSA-") || id.starts_with("DLA-") || id.starts_with("DTSA-") {
        format!("https://security-tracker.debian.org/tracker/{id}")
    } else if id.starts_with("GHSA-") {
        format!("https://github.com/advisories/{id}")
    } else if id.starts_with("ALSA-") || id.starts_with("ALBA-") || id.starts_with("ALEA-") {
        format!("https://errata.almalinux.org/{}", id.replace(':', "-"))
    } else {
        format!("https://osv.dev/vulnerability/{id}")
    }
}

/// A scored vector, with the version rank used to choose between several.
fn score_vector(vector: &str, source: &str) -> Option<(u8, Cvss)> {
    let parsed: cvss::Cvss = vector.parse().ok()?;
    let (rank, version) = match &parsed {
        cvss::Cvss::CvssV31(_) => (4, "3.1"),
        cvss::Cvss::CvssV30(_) => (3, "3.0"),
        cvss::Cvss::CvssV40(_) => (2, "4.0"),
        cvss::Cvss::CvssV20(_) => (1, "2.0"),
        _ => (0, "?"),
    };
    Some((
        rank,
        Cvss {
            score: (parsed.score() * 10.0).round() / 10.0,
            vector: vector.to_owned(),
            version: version.to_owned(),
            source: source.to_owned(),
        },
    ))
}

/// The CVSS to show: v3.1 over v3.0 over v4.0 over v2 (v3 is what most tools and policies
/// are written against), the advisory's own before NVD's at the same version.
fn best_cvss(group: &[Hit], enrichments: &[Enrichment]) -> Option<Cvss> {
    let mut best: Option<(u8, Cvss)> = None;
    let from_advisories = group.iter().flat_map(|h| {
        h.advisory
            .cvss
            .iter()
            .map(move |v| (v.vector.as_str(), h.source.as_str()))
    });
    let from_enrichment = enrichments
        .iter()
        .flat_map(|e| e.cvss.iter().map(|v| (v.vector.as_str(), "nvd")));
    for (vector, source) in from_advisories.chain(from_enrichment) {
        if let Some((rank, scored)) = score_vector(vector, source)
            && best.as_ref().is_none_or(|(r, _)| rank > *r)
        {
            best = Some((rank, scored));
        }
    }
    best.map(|(_, c)| c)
}

/// The distro's own severity for OS findings, else the advisory's label (GitHub's), else
/// the CVSS rating.
fn severity_of(
    class: FindingClass,
    os: Option<&OsRelease>,
    group: &[Hit],
    cvss: Option<&Cvss>,
) -> (Severity, Option<String>, Option<String>) {
    if class == FindingClass::Os {
        let label = group.iter().find_map(|h| {
            h.affected
                .severity_label
                .clone()
                .or_else(|| h.advisory.severity_label.clone())
                .filter(|l| Severity::from_label(l).is_some())
        });
        if let Some(label) = label {
            let severity = Severity::from_label(&label).unwrap_or_default();
            return (severity, os.map(|o| o.family.clone()), Some(label));
        }
    } else if let Some((label, source)) = group.iter().find_map(|h| {
        h.advisory
            .severity_label
            .as_ref()
            .filter(|l| Severity::from_label(l).is_some())
            .map(|l| (l.clone(), h.source.clone()))
    }) {
        let severity = Severity::from_label(&label).unwrap_or_default();
        return (severity, Some(source), None);
    }
    match cvss {
        Some(c) => (
            Severity::from_cvss_score(c.score),
            Some(format!("cvss:{}", c.source)),
            None,
        ),
        None => (Severity::Unknown, None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn affected(rules: Vec<Rule>) -> Affected {
        Affected {
            ecosystem: "PyPI".into(),
            package: "x".into(),
            rules,
            status: FixStatus::Fixed,
            severity_label: None,
            symbols: Vec::new(),
        }
    }

    fn ev(list: &[(&str, &str)]) -> Rule {
        Rule::Events {
            events: list
                .iter()
                .map(|(k, v)| match *k {
                    "i" => Event::Introduced((*v).into()),
                    "f" => Event::Fixed((*v).into()),
                    "l" => Event::LastAffected((*v).into()),
                    _ => Event::Limit((*v).into()),
                })
                .collect(),
        }
    }

    #[test]
    fn osv_is_vulnerable_semantics() {
        // Two intervals in one range, events out of order on purpose.
        let a = affected(vec![ev(&[
            ("f", "1.5.0"),
            ("i", "2.0.0"),
            ("i", "0"),
            ("f", "2.3.0"),
        ])]);
        let check = |v: &str| evaluate(Scheme::Semver, v, &a).expect("evaluates");
        assert_eq!(check("1.4.0"), Some(vec!["1.5.0".to_owned()]));
        assert_eq!(check("1.5.0"), None, "fixed is exclusive");
        assert_eq!(check("2.0.0"), Some(vec!["2.3.0".to_owned()]));
        assert_eq!(check("2.3.0"), None);
        let last = affected(vec![ev(&[("i", "1.0.0"), ("l", "1.2.0")])]);
        assert!(
            evaluate(Scheme::Semver, "1.2.0", &last)
                .expect("ok")
                .is_some(),
            "last_affected is inclusive"
        );
        assert!(
            evaluate(Scheme::Semver, "1.2.1", &last)
                .expect("ok")
                .is_none()
        );
        assert!(
            evaluate(Scheme::Semver, "0.9.0", &last)
                .expect("ok")
                .is_none()
        );
        let limit = affected(vec![ev(&[("i", "0"), ("lim", "2.0.0")])]);
        assert!(
            evaluate(Scheme::Semver, "1.0.0", &limit)
                .expect("ok")
                .is_some()
        );
        assert!(
            evaluate(Scheme::Semver, "2.0.0", &limit)
                .expect("ok")
                .is_none()
        );
    }

    #[test]
    fn native_rules() {
        let none_of = affected(vec![Rule::NoneOf {
            none_of: vec![
                vec![
                    Constraint::new(Op::Ge, "1.2.5"),
                    Constraint::new(Op::Lt, "1.3"),
                ],
                vec![Constraint::new(Op::Ge, "1.3.2")],
            ],
        }]);
        assert_eq!(
            evaluate(Scheme::RubyGems, "1.2.0", &none_of).expect("ok"),
            Some(vec!["1.2.5".to_owned(), "1.3.2".to_owned()])
        );
        assert_eq!(
            evaluate(Scheme::RubyGems, "1.2.6", &none_of).expect("ok"),
            None
        );
        assert_eq!(
            evaluate(Scheme::RubyGems, "1.3.1", &none_of).expect("ok"),
            Some(vec!["1.3.2".to_owned()])
        );
        let exact = affected(vec![Rule::Exact {
            versions: vec!["2.10".into()],
        }]);
        assert!(
            evaluate(Scheme::Pep440, "2.10.0", &exact)
                .expect("ok")
                .is_some()
        );
        assert!(
            evaluate(Scheme::Pep440, "2.10.1", &exact)
                .expect("ok")
                .is_none()
        );
    }

    fn hit(id: &str, aliases: &[&str]) -> Hit {
        let advisory = Advisory {
            id: id.to_owned(),
            aliases: aliases.iter().map(|a| (*a).to_owned()).collect(),
            ..Advisory::default()
        };
        Hit {
            ids: finding_ids(&advisory),
            advisory: Rc::new(advisory),
            affected: affected(vec![Rule::All]),
            source: "s".into(),
            fixes: Vec::new(),
        }
    }

    #[test]
    fn errata_split_by_cve_and_aliases_join_transitively() {
        let groups = merge_by_alias(vec![
            hit("DSA-1-1", &["CVE-2020-1", "CVE-2020-2"]),
            hit("GHSA-a", &["CVE-2020-2"]),
            hit("PYSEC-1", &["GHSA-a"]),
            hit("GHSA-b", &["CVE-2021-1", "CVE-2021-2"]),
            hit("GO-1", &[]),
        ]);
        let mut ids: Vec<Vec<&str>> = groups
            .iter()
            .map(|g| {
                let mut ids: Vec<&str> = g
                    .iter()
                    .flat_map(|h| h.ids.iter().map(String::as_str))
                    .collect();
                ids.sort();
                ids.dedup();
                ids
            })
            .collect();
        ids.sort();
        assert_eq!(
            ids,
            vec![
                vec!["CVE-2020-1", "DSA-1-1"],
                vec!["CVE-2020-2", "DSA-1-1", "GHSA-a", "PYSEC-1"],
                vec!["CVE-2021-1", "CVE-2021-2", "GHSA-b"],
                vec!["GO-1"],
            ]
        );
    }

    #[test]
    fn titles_from_descriptions() {
        assert_eq!(
            first_sentence("In Jinja before 2.10.1, x. More text."),
            "In Jinja before 2.10.1, x."
        );
        assert_eq!(first_sentence("one line\nsecond"), "one line");
        assert_eq!(first_sentence(&"a".repeat(300)).chars().count(), 160);
    }

    #[test]
    fn go_toolchain_versions() {
        assert_eq!(go_toolchain_semver("go1.21.5").as_deref(), Some("1.21.5"));
        assert_eq!(go_toolchain_semver("go1.21").as_deref(), Some("1.21.0"));
        assert_eq!(
            go_toolchain_semver("go1.20rc1").as_deref(),
            Some("1.20.0-rc.1")
        );
        assert_eq!(go_toolchain_semver("gox"), None);
    }

    #[test]
    fn feeds_per_release() {
        let mut os = OsRelease::new("debian", Some("12.8"));
        assert_eq!(distro_feed(&os).as_deref(), Some("Debian:12"));
        os = OsRelease::new("alpine", Some("3.20.3"));
        assert_eq!(distro_feed(&os).as_deref(), Some("Alpine:v3.20"));
        os = OsRelease::new("almalinux", Some("9.4"));
        assert_eq!(distro_feed(&os).as_deref(), Some("AlmaLinux:9"));
        os = OsRelease::new("openeuler", Some("22.03"));
        assert_eq!(distro_feed(&os), None);
    }
}
