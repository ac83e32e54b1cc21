//! rpm: the package database in any of its formats and places.

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Ecosystem, Package};

/// The rpm analyzer.
#[derive(Debug, Default)]
pub struct Rpm;

/// All places rpm keeps its database. `/var/lib/rpm` may be a symlink to the sysimage
/// directory (Fedora, RHEL 9); both are listed so either layout is read directly.
pub const RPMDB_PATHS: &[&str] = &[
    "var/lib/rpm/rpmdb.sqlite",
    "var/lib/rpm/Packages.db",
    "var/lib/rpm/Packages",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/Packages.db",
    "usr/lib/sysimage/rpm/Packages",
    "usr/share/rpm/Packages",
];

/// Container rpm databases are 5–50 MB (a full Fedora workstation's about 100 MB). The
/// cap bounds memory on hostile files: SQLite needs a second, in-memory copy.
const MAX_DB: u64 = 128 << 20;

/// The slot every rpm database shares: one logical database, whichever file holds it.
pub const RPM_SLOT: &str = "rpmdb";

impl Analyzer for Rpm {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "rpm",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(RPMDB_PATHS, MAX_DB)
    }

    fn analyze(
        &self,
        _file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let db = keelhaul_rpmdb::read(content).map_err(|e| AnalyzeError::new(e.to_string()))?;
        for e in &db.errors {
            out.warn(e);
        }
        let format = match db.format {
            keelhaul_rpmdb::Format::Sqlite => "rpm-sqlite",
            keelhaul_rpmdb::Format::BerkeleyDb => "rpm-bdb",
            keelhaul_rpmdb::Format::Ndb => "rpm-ndb",
        };
        if db.packages.len() > super::MAX_PACKAGES_PER_DB {
            out.warn(super::too_many_packages());
        }
        let packages = db
            .packages
            .into_iter()
            .take(super::MAX_PACKAGES_PER_DB)
            .map(to_package)
            .collect();
        out.emit_in_slot(
            RPM_SLOT,
            Fact::Packages {
                db: format.to_owned(),
                packages,
            },
        );
        Ok(())
    }
}

fn to_package(r: keelhaul_rpmdb::RpmPackage) -> Package {
    let mut p = Package::new(Ecosystem::Rpm, r.name.clone(), r.evr());
    if let Some((name, version)) = r.source_name_version() {
        p.source_name = Some(name);
        p.source_version = Some(match r.epoch {
            Some(e) => format!("{e}:{version}"),
            None => version,
        });
    }
    p.arch = r.arch;
    p.epoch = r.epoch;
    p.licenses = r.license.into_iter().collect();
    p.supplier = r.vendor;
    p.modularity_label = r.modularity_label;
    p.files = r
        .files
        .into_iter()
        .map(|f| f.trim_start_matches('/').to_owned())
        .collect();
    p
}
