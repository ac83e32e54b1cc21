//! The scan pipeline, the one place where the stages meet:
//!
//! ```text
//! Target ──open──► Image(s) ──LayerEngine──► LayerFacts ──build──► Inventory ──► Report
//! ```
//!
//! [`Scanner`] holds what is reused across scans (the analyzer set, the layer cache) and
//! [`Scanner::scan`] runs one target end to end. The CLI and the service's workers both
//! call it; neither knows how the stages fit together.
#![deny(missing_docs)]

use keelhaul_analyze::{
    AnalyzerSet, FactsStore, LayerCache, LayerEngine, LayerFacts, Limits, Progress, SetError,
};
use keelhaul_core::{Digest, Hint};
use keelhaul_image::{Image, ImageError, OpenOptions, Target};
use keelhaul_report::{ImageMeta, LayerMeta, Report, Summary};

mod detectors;

pub use detectors::Scanners;

/// Why a scan could not produce any report.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScanError {
    /// The target could not be parsed or opened.
    #[error(transparent)]
    Image(#[from] ImageError),
    /// The analyzer set is inconsistent (a bug).
    #[error(transparent)]
    Analyzers(#[from] SetError),
    /// Malware rules or hash lists could not be loaded.
    #[error(transparent)]
    Malware(#[from] keelhaul_detect::malware::MalwareError),
    /// The secret rules file could not be loaded.
    #[error(transparent)]
    Secrets(#[from] keelhaul_detect::secrets::SecretError),
}

impl Hint for ScanError {
    fn hint(&self) -> Option<String> {
        match self {
            ScanError::Image(e) => e.hint(),
            ScanError::Analyzers(_) => None,
            ScanError::Malware(_) => Some("check the rule directory and hash list given with --malware-rules / --malware-hashes".to_owned()),
            ScanError::Secrets(_) => Some("check the secret rules file given with --secret-config".to_owned()),
        }
    }
}

/// Settings of a [`Scanner`].
#[derive(Clone, Default)]
pub struct ScanOptions {
    /// How to open targets.
    pub open: OpenOptions,
    /// Layer cache directory; `None` disables the cache.
    pub cache_dir: Option<std::path::PathBuf>,
    /// A store of layer facts that takes the place of `cache_dir` (the service's database).
    pub facts_store: Option<std::sync::Arc<dyn FactsStore>>,
    /// Bounds on hostile layers.
    pub limits: Limits,
    /// Layers analysed at once; 0 means one per core.
    pub threads: usize,
    /// Hash uncompressed layers of local archives too (they are otherwise walked with
    /// seeks and checked by size only).
    pub verify_local: bool,
    /// Content scanners to run.
    pub scanners: Scanners,
    /// Extra YARA rule directories.
    pub malware_rules: Vec<std::path::PathBuf>,
    /// Hash signature lists (SHA-256/MD5 lists, ClamAV `.hdb`/`.hsb`).
    pub malware_hashes: Vec<std::path::PathBuf>,
    /// Custom secret rules (TOML or YAML).
    pub secret_config: Option<std::path::PathBuf>,
}

/// Runs scans.
pub struct Scanner {
    engine: LayerEngine,
    open: OpenOptions,
    scanners: Scanners,
    secrets: Option<std::sync::Arc<keelhaul_detect::secrets::SecretScanner>>,
    warnings: Vec<String>,
}

impl Scanner {
    /// A scanner with the default analyzers.
    pub fn new(options: ScanOptions) -> Result<Scanner, ScanError> {
        let mut analyzers = keelhaul_inventory::default_analyzers();
        let mut warnings = Vec::new();
        let scanners = options.scanners;
        let secrets = if scanners.secret {
            let scanner = match &options.secret_config {
                Some(path) => keelhaul_detect::secrets::SecretScanner::from_config(path)?,
                None => keelhaul_detect::secrets::SecretScanner::builtin(),
            };
            let scanner = std::sync::Arc::new(scanner);
            analyzers.push(Box::new(detectors::SecretAnalyzer::new(scanner.clone())));
            Some(scanner)
        } else {
            None
        };
        if scanners.malware {
            let mut scanner = keelhaul_detect::malware::MalwareScanner::builtin()?;
            for dir in &options.malware_rules {
                warnings.extend(scanner.add_rules_dir(dir)?);
            }
            for list in &options.malware_hashes {
                scanner.add_hashes(list)?;
            }
            analyzers.push(Box::new(detectors::MalwareAnalyzer::new(
                std::sync::Arc::new(scanner),
            )));
        }
        if scanners.baseline {
            analyzers.push(Box::new(detectors::BaselineAnalyzer));
        }
        let set = AnalyzerSet::new(analyzers)?;
        let mut engine = LayerEngine::new(set)
            .with_limits(options.limits)
            .with_cache(options.facts_store.clone().or_else(|| {
                options.cache_dir.map(|dir| {
                    std::sync::Arc::new(LayerCache::new(dir)) as std::sync::Arc<dyn FactsStore>
                })
            }))
            .with_verify_local(options.verify_local);
        if options.threads > 0 {
            engine = engine.with_threads(options.threads);
        }
        Ok(Scanner {
            engine,
            open: options.open,
            scanners,
            secrets,
            warnings,
        })
    }

    /// Problems met while loading rules (files skipped), for the user.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }

    /// Open a target: one image per selected platform.
    pub fn open(&self, target: &Target) -> Result<Vec<Image>, ScanError> {
        Ok(keelhaul_image::open(target, &self.open)?)
    }

    /// Scan a target: one report per selected platform.
    pub fn scan(&self, target: &Target, progress: &dyn Progress) -> Result<Vec<Report>, ScanError> {
        let images = self.open(target)?;
        Ok(images
            .iter()
            .map(|image| self.scan_image(image, progress))
            .collect())
    }

    /// Scan one opened image.
    pub fn scan_image(&self, image: &Image, progress: &dyn Progress) -> Report {
        let results = self.engine.analyze(image, progress);
        let mut errors = Vec::new();
        let mut facts: Vec<LayerFacts> = Vec::with_capacity(results.len());
        let mut ids: Vec<Option<Digest>> = Vec::with_capacity(results.len());
        for r in results {
            ids.push(r.layer.id().cloned());
            if let Some(e) = r.error {
                errors.push(e.to_string());
            }
            facts.push(r.facts);
        }
        let inventory = keelhaul_inventory::build(&facts, &ids);
        let content = detectors::collect(
            &facts,
            &ids,
            &image.config,
            &image.repo_tags,
            inventory.os.as_ref().map(|o| o.family.as_str()),
            self.scanners,
            self.secrets.as_deref(),
        );
        let mut summary = Summary::default();
        summary.count_content(&content.malware, &content.secrets, &content.baseline);
        let packages = inventory
            .packages
            .into_iter()
            .map(|mut p| {
                // File lists feed later stages (ownership of language packages), not reports.
                p.files = Vec::new();
                p
            })
            .collect();
        Report {
            target: image.name.clone(),
            platform: image.platform.clone(),
            image: ImageMeta {
                repo_tags: image.repo_tags.clone(),
                manifest_digest: image.manifest_digest.clone(),
                index_digest: image.index_digest.clone(),
                config_digest: image.config_digest.clone(),
                created: image.config.created.clone(),
                layers: image
                    .layers
                    .iter()
                    .map(|l| LayerMeta {
                        index: l.index,
                        digest: l.digest.clone(),
                        diff_id: l.diff_id.clone(),
                        size: l.size,
                        created_by: l.created_by.clone(),
                    })
                    .collect(),
            },
            os: inventory.os,
            packages,
            vulnerabilities: Vec::new(),
            secrets: content.secrets,
            malware: content.malware,
            baseline: content.baseline,
            summary,
            warnings: inventory.warnings,
            complete: errors.is_empty(),
            errors,
        }
    }
}

/// Reads a CycloneDX or SPDX JSON SBOM into a report with its packages and OS, ready for
/// [`match_vulnerabilities`].
pub fn scan_sbom(path: &std::path::Path) -> Result<Report, SbomScanError> {
    let data = std::fs::read(path).map_err(|e| SbomScanError::Read {
        path: path.to_owned(),
        source: e,
    })?;
    let sbom = keelhaul_report::sbom_in::read_sbom(&data).map_err(|e| SbomScanError::Parse {
        path: path.to_owned(),
        source: e,
    })?;
    let target = format!("sbom:{}", path.display());
    let name = sbom.name.clone();
    Ok(Report {
        target,
        platform: None,
        image: ImageMeta {
            repo_tags: name.into_iter().collect(),
            ..ImageMeta::default()
        },
        os: sbom.os,
        packages: sbom.packages,
        vulnerabilities: Vec::new(),
        secrets: Vec::new(),
        malware: Vec::new(),
        baseline: Vec::new(),
        summary: Summary::default(),
        warnings: sbom.warnings,
        complete: true,
        errors: Vec::new(),
    })
}

/// An SBOM that cannot be scanned.
#[derive(Debug, thiserror::Error)]
pub enum SbomScanError {
    /// The file cannot be read.
    #[error("cannot read the SBOM {path}: {source}")]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file is not an SBOM we read.
    #[error("{path}: {source}")]
    Parse {
        /// The file.
        path: std::path::PathBuf,
        /// The error.
        source: keelhaul_report::sbom_in::SbomError,
    },
}

/// Matches each report's packages against the vulnerability database and fills in its
/// findings, summary counts and matching warnings.
pub fn match_vulnerabilities(
    reports: &mut [Report],
    db: &keelhaul_vulndb::Database,
) -> Result<(), keelhaul_vulndb::DbError> {
    let matcher = keelhaul_vulndb::Matcher::new(db);
    for report in reports {
        let outcome = matcher.match_packages(report.os.as_ref(), &report.packages)?;
        report.vulnerabilities = outcome.vulnerabilities;
        report.warnings.extend(outcome.warnings);
        report.summary.cve = report
            .vulnerabilities
            .iter()
            .filter(|v| v.class == keelhaul_core::FindingClass::Os)
            .count();
        report.summary.sca = report.vulnerabilities.len() - report.summary.cve;
    }
    Ok(())
}
