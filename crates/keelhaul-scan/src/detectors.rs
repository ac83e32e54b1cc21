//! The content detectors of `keelhaul-detect` as layer analyzers, and the image-level step
//! that turns their per-layer facts into findings.
//!
//! The detectors know nothing of layers; these adapters give them the files that pass
//! their prefilters in the same single pass as the inventory, and record what they find
//! as facts (cached with the layer, like packages).

use std::collections::BTreeMap;
use std::sync::Arc;

use keelhaul_analyze::{
    AnalyzeError, Analyzer, AnalyzerId, FILE_MODES, Fact, FileInfo, ImageView, Interests,
    LayerFacts, Output,
};
use keelhaul_core::{BaselineFinding, Digest, MalwareFinding, SecretFinding};
use keelhaul_detect::baseline::{self, Want};
use keelhaul_detect::malware::MalwareScanner;
use keelhaul_detect::secrets::SecretScanner;

/// Which content scanners run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scanners {
    /// Secrets in files and the config.
    pub secret: bool,
    /// Malware rules and hash signatures.
    pub malware: bool,
    /// Baseline (unsafe setting) checks.
    pub baseline: bool,
}

impl Default for Scanners {
    fn default() -> Scanners {
        Scanners {
            secret: true,
            malware: true,
            baseline: true,
        }
    }
}

impl Scanners {
    /// None of them (inventory and vulnerabilities only).
    pub const NONE: Scanners = Scanners {
        secret: false,
        malware: false,
        baseline: false,
    };
}

/// A fingerprint folded to the `u32` an [`AnalyzerId`] carries, so the layer cache key
/// changes whenever rules or settings change.
fn version_of(fingerprint: &str) -> u32 {
    let d = keelhaul_core::Digest::sha256_of(fingerprint.as_bytes());
    let hex = d.hex();
    u32::from_str_radix(&hex[..8], 16).unwrap_or(0)
}

/// Secrets in file contents.
pub(crate) struct SecretAnalyzer {
    pub(crate) scanner: Arc<SecretScanner>,
    version: u32,
}

impl SecretAnalyzer {
    pub(crate) fn new(scanner: Arc<SecretScanner>) -> SecretAnalyzer {
        let version = version_of(&scanner.fingerprint());
        SecretAnalyzer { scanner, version }
    }
}

impl Analyzer for SecretAnalyzer {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "secrets",
            version: self.version,
        }
    }

    fn interests(&self) -> Interests {
        Interests::content(u64::MAX)
    }

    fn wants_file(&self, file: &FileInfo<'_>, head: &[u8]) -> bool {
        // A NUL in the first bytes: binary, which no secret rule reads.
        self.scanner.wants(file.path, file.size) && !head.contains(&0)
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let findings = self.scanner.scan(file.path, content);
        if !findings.is_empty() {
            out.emit(Fact::Secrets { findings });
        }
        Ok(())
    }
}

/// Malware rules and hash signatures.
pub(crate) struct MalwareAnalyzer {
    scanner: Arc<MalwareScanner>,
    version: u32,
}

impl MalwareAnalyzer {
    pub(crate) fn new(scanner: Arc<MalwareScanner>) -> MalwareAnalyzer {
        let version = version_of(&scanner.fingerprint());
        MalwareAnalyzer { scanner, version }
    }
}

impl Analyzer for MalwareAnalyzer {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "malware",
            version: self.version,
        }
    }

    fn interests(&self) -> Interests {
        Interests::content(self.scanner.size_cap())
    }

    fn wants_file(&self, file: &FileInfo<'_>, head: &[u8]) -> bool {
        self.scanner.wants(file.path, file.size, file.mode, head)
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let findings = self.scanner.scan(file.path, content);
        if !findings.is_empty() {
            out.emit(Fact::Malware { findings });
        }
        Ok(())
    }
}

/// The files baseline checks read, the paths whose presence they need, and special modes.
pub(crate) struct BaselineAnalyzer;

/// The analyzer name baseline facts are recorded under.
const BASELINE: &str = "baseline";

impl Analyzer for BaselineAnalyzer {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: BASELINE,
            version: baseline::CHECKS_VERSION,
        }
    }

    fn interests(&self) -> Interests {
        let mut interests =
            Interests::paths(baseline::wanted_paths(), baseline::MAX_CONTENT_BYTES as u64)
                .with_globs(baseline::content_globs());
        interests.special_modes = true;
        interests.presence_globs = baseline::presence_globs()
            .iter()
            .map(|g| (*g).to_owned())
            .collect();
        interests
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        match baseline::wanted(file.path) {
            Some(Want::Content { max_bytes, .. }) => {
                let keep = &content[..content.len().min(max_bytes)];
                out.emit(Fact::Text {
                    text: String::from_utf8_lossy(keep).into_owned(),
                });
                out.emit(Fact::Present {
                    size: file.size,
                    mode: file.mode & 0o7777,
                });
            }
            Some(Want::Presence { .. }) => out.emit(Fact::Present {
                size: file.size,
                mode: file.mode & 0o7777,
            }),
            None => {}
        }
        Ok(())
    }
}

/// What the detectors found in one image.
#[derive(Debug, Default)]
pub(crate) struct ContentFindings {
    pub(crate) secrets: Vec<SecretFinding>,
    pub(crate) malware: Vec<MalwareFinding>,
    pub(crate) baseline: Vec<BaselineFinding>,
}

/// Collects the detectors' facts from the image's final state (whiteouts applied; each
/// finding names the layer that last wrote its file), then runs the image-level checks:
/// secrets in the config and the baseline checks.
pub(crate) fn collect(
    facts: &[LayerFacts],
    ids: &[Option<Digest>],
    config: &keelhaul_image::ImageConfig,
    tags: &[String],
    os_family: Option<&str>,
    scanners: Scanners,
    secrets: Option<&SecretScanner>,
) -> ContentFindings {
    let view = ImageView::new(facts);
    let mut out = ContentFindings::default();
    let mut fs = baseline::FileSystem {
        os_family: os_family.map(str::to_owned),
        ..Default::default()
    };
    for (layer, artifact) in view.visible_artifacts() {
        let digest = ids.get(layer).cloned().flatten();
        match (&artifact.fact, artifact.analyzer.as_str()) {
            (Fact::Secrets { findings }, _) if scanners.secret => {
                out.secrets.extend(findings.iter().cloned().map(|mut f| {
                    f.layer = digest.clone();
                    f
                }));
            }
            (Fact::Malware { findings }, _) if scanners.malware => {
                out.malware.extend(findings.iter().cloned().map(|mut f| {
                    f.layer = digest.clone();
                    f
                }));
            }
            (Fact::Text { text }, BASELINE) => {
                fs.files.insert(
                    artifact.path.clone(),
                    (text.as_bytes().to_vec(), digest.clone()),
                );
            }
            (Fact::Present { mode, .. }, BASELINE) => {
                fs.modes.insert(artifact.path.clone(), *mode);
                fs.present.insert(artifact.path.clone(), digest.clone());
            }
            // A later layer that rewrites the path with a safe mode wins.
            (Fact::Mode { .. }, FILE_MODES)
                if facts[layer + 1..]
                    .iter()
                    .any(|upper| upper.entries.contains(&artifact.path)) => {}
            (
                Fact::Mode {
                    mode,
                    uid,
                    gid,
                    dir,
                },
                FILE_MODES,
            ) => {
                fs.special.push(baseline::SpecialEntry {
                    path: artifact.path.clone(),
                    mode: *mode,
                    uid: *uid,
                    gid: *gid,
                    is_dir: *dir,
                    layer: digest.clone(),
                });
            }
            _ => {}
        }
    }
    let container = config.config.clone().unwrap_or_default();
    let env = container.env.clone().unwrap_or_default();
    let labels: BTreeMap<String, String> = container.labels.clone().unwrap_or_default();
    let history: Vec<String> = config
        .history
        .iter()
        .map(|h| h.created_by.clone().unwrap_or_default())
        .collect();
    if let Some(scanner) = secrets.filter(|_| scanners.secret) {
        out.secrets
            .extend(scanner.scan_config(&env, &labels, &history));
    }
    if scanners.baseline {
        let image_config = baseline::ImageConfig {
            user: container.user.clone(),
            healthcheck: container.healthcheck.as_ref().map(|h| {
                h.get("Test")
                    .and_then(|t| t.as_array())
                    .map(|t| {
                        t.iter()
                            .filter_map(|s| s.as_str().map(str::to_owned))
                            .collect()
                    })
                    .unwrap_or_default()
            }),
            exposed_ports: container
                .exposed_ports
                .as_ref()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default(),
            env,
            labels,
            history,
            tags: tags.to_vec(),
            entrypoint: container.entrypoint.clone().unwrap_or_default(),
            cmd: container.cmd.clone().unwrap_or_default(),
            ..Default::default()
        };
        out.baseline = baseline::check(Some(&image_config), &fs);
    }
    out.secrets
        .sort_by(|a, b| (&a.path, a.line, &a.rule_id).cmp(&(&b.path, b.line, &b.rule_id)));
    out.malware
        .sort_by(|a, b| (&a.path, &a.rule_id).cmp(&(&b.path, &b.rule_id)));
    out
}
