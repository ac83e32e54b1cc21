use keelhaul_core::{Digest, FindingClass, OsRelease, Package, Platform, Vulnerability};
use serde::Serialize;

/// One scanned image.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The target as the user named it.
    pub target: String,
    /// The image's platform.
    pub platform: Option<Platform>,
    /// Image metadata.
    pub image: ImageMeta,
    /// The distribution, or null.
    pub os: Option<OsRelease>,
    /// Installed packages (owned-file lists are not included).
    pub packages: Vec<Package>,
    /// Vulnerabilities (CVE and SCA findings).
    pub vulnerabilities: Vec<Vulnerability>,
    /// Secrets found in layers or config.
    pub secrets: Vec<keelhaul_core::SecretFinding>,
    /// Malicious files.
    pub malware: Vec<keelhaul_core::MalwareFinding>,
    /// Baseline (unsafe setting) findings.
    pub baseline: Vec<keelhaul_core::BaselineFinding>,
    /// Finding counts.
    pub summary: Summary,
    /// Problems that did not stop the scan.
    pub warnings: Vec<String>,
    /// Layers that could not be fully read; the report covers the rest.
    pub errors: Vec<String>,
    /// False when a layer could not be fully read.
    pub complete: bool,
}

/// Finding counts, as the cloud APIs count them.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    /// OS-package vulnerabilities.
    pub cve: usize,
    /// Application-dependency vulnerabilities.
    pub sca: usize,
    /// Malicious files.
    pub malicious: usize,
    /// Baseline risks.
    pub baseline: usize,
    /// Secrets.
    pub secret: usize,
}

impl Summary {
    /// Set the vulnerability counters from the findings: `cve` = findings in OS packages
    /// ([`FindingClass::Os`]), `sca` = findings in application dependencies
    /// ([`FindingClass::Sca`]).
    ///
    /// The scanner calls this once the findings are final (after filtering). It counts
    /// findings, not distinct ids: a CVE in two packages counts twice, as the cloud
    /// consoles count "vulnerable package" rows. The previous `cve`/`sca` values are
    /// replaced; the other counters are left alone.
    pub fn count(&mut self, vulns: &[Vulnerability]) {
        let os = vulns.iter().filter(|v| v.class == FindingClass::Os).count();
        self.cve = os;
        self.sca = vulns.len() - os;
    }

    /// Set the content counters: `malicious` = malicious files, `secret` = secrets, and
    /// `baseline` = baseline risks plus secrets (the cloud consoles count a leaked secret as
    /// a baseline risk; it is also listed on its own).
    pub fn count_content(
        &mut self,
        malware: &[keelhaul_core::MalwareFinding],
        secrets: &[keelhaul_core::SecretFinding],
        baseline: &[keelhaul_core::BaselineFinding],
    ) {
        self.malicious = malware.len();
        self.secret = secrets.len();
        self.baseline = baseline.len() + secrets.len();
    }
}

/// What identifies the image.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ImageMeta {
    /// Tags the source knows it by.
    pub repo_tags: Vec<String>,
    /// Image manifest digest.
    pub manifest_digest: Option<Digest>,
    /// Index digest, for one platform of a multi-platform image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_digest: Option<Digest>,
    /// Config digest (the image id).
    pub config_digest: Option<Digest>,
    /// Creation time from the config.
    pub created: Option<String>,
    /// Layers, bottom first.
    pub layers: Vec<LayerMeta>,
}

/// One layer's identity.
#[derive(Debug, Clone, Serialize)]
pub struct LayerMeta {
    /// Position, 0 = bottom.
    pub index: usize,
    /// Blob digest.
    pub digest: Option<Digest>,
    /// Uncompressed digest.
    pub diff_id: Option<Digest>,
    /// Stored size.
    pub size: Option<u64>,
    /// Build step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub created_by: Option<String>,
}

impl Report {
    /// A name for the image in SBOMs: the first repo tag, else the target.
    pub fn image_name(&self) -> String {
        self.image
            .repo_tags
            .first()
            .cloned()
            .unwrap_or_else(|| self.target.clone())
    }

    /// The most specific digest: manifest, else config.
    pub fn image_digest(&self) -> Option<&Digest> {
        self.image
            .manifest_digest
            .as_ref()
            .or(self.image.config_digest.as_ref())
    }

    /// The index of the layer a location names.
    pub fn layer_index(&self, layer: Option<&Digest>) -> Option<usize> {
        let layer = layer?;
        self.image
            .layers
            .iter()
            .find(|l| l.diff_id.as_ref() == Some(layer) || l.digest.as_ref() == Some(layer))
            .map(|l| l.index)
    }
}

/// A stable id for a document about these reports: a UUID v5 of their image digests (the
/// target names when there are none), so the same images always give the same document.
pub(crate) fn document_id(reports: &[Report]) -> uuid::Uuid {
    let seed: String = reports
        .iter()
        .map(|r| {
            r.image_digest()
                .map_or_else(|| r.target.clone(), ToString::to_string)
        })
        .collect::<Vec<_>>()
        .join(",");
    uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_URL, seed.as_bytes())
}
