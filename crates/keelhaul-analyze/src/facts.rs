//! What analyzing one layer produces. Serialisable: this is the layer cache's content.

use std::collections::BTreeMap;

use keelhaul_core::{MalwareFinding, Package, SecretFinding};
use serde::{Deserialize, Serialize};

/// One fact an analyzer found in one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Fact {
    /// A small text file kept whole, for image-level interpretation (release files).
    Text {
        /// The file's content (lossy UTF-8).
        text: String,
    },
    /// The packages a package database file records.
    Packages {
        /// Which database format (`dpkg`, `apk`, `rpm-sqlite`, …).
        db: String,
        /// The packages, in database order.
        packages: Vec<Package>,
    },
    /// Secrets a content scanner found in the file.
    Secrets {
        /// The findings (their `layer` is filled in at the image level).
        findings: Vec<SecretFinding>,
    },
    /// Malware rules or hash signatures that matched the file.
    Malware {
        /// The findings (their `layer` is filled in at the image level).
        findings: Vec<MalwareFinding>,
    },
    /// A file or directory whose mode is a risk in itself (setuid/setgid, world-writable);
    /// recorded by the walker for analyzers that ask for [`crate::Interests::special_modes`].
    Mode {
        /// Unix mode bits.
        mode: u32,
        /// Owner.
        uid: u64,
        /// Group.
        gid: u64,
        /// A directory, not a file.
        dir: bool,
    },
    /// The file exists (for checks that need only its presence).
    Present {
        /// Its size.
        size: u64,
        /// Its mode bits.
        mode: u32,
    },
    /// Files an OS package says it owns (dpkg `.list`/`.md5sums`).
    OwnedFiles {
        /// Package name (with `:arch` for multi-arch co-installs, as dpkg names the file).
        package: String,
        /// Paths without a leading `/`.
        files: Vec<String>,
    },
}

/// A fact with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Artifact {
    /// The analyzer that produced it.
    pub analyzer: String,
    /// The file, normalised (no leading `/`).
    pub path: String,
    /// Groups artifacts that describe the same thing at different paths (e.g. the rpm
    /// database, which may live at several paths); `None` means the path is the identity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slot: Option<String>,
    /// The fact.
    pub fact: Fact,
}

impl Artifact {
    /// The identity used to follow this artifact across layers.
    pub fn slot(&self) -> &str {
        self.slot.as_deref().unwrap_or(&self.path)
    }
}

/// Counters for one layer.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LayerStats {
    /// Tar entries (or directory entries) seen.
    pub entries: u64,
    /// Uncompressed bytes of the layer tar.
    pub bytes: u64,
    /// Files handed to analyzers.
    pub analyzed_files: u64,
}

/// Everything one layer contributes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct LayerFacts {
    /// Paths this layer deletes from lower layers (`.wh.NAME`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub whiteouts: Vec<String>,
    /// Directories whose lower-layer content this layer hides (`.wh..wh..opq`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub opaque_dirs: Vec<String>,
    /// Every path in this layer that some analyzer asked for (files and links), whether or
    /// not it produced a fact: it still replaces the lower layers' version.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matched: Vec<String>,
    /// Symlinks among the matched paths: path → link target as written.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub symlinks: BTreeMap<String, String>,
    /// The facts.
    #[serde(default)]
    pub artifacts: Vec<Artifact>,
    /// Problems that did not stop the layer (one line each, naming the path).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    /// Counters.
    #[serde(default)]
    pub stats: LayerStats,
    /// Every regular file and directory of the layer, as [`path_key`]s, when an analyzer
    /// asked for special modes: a lower layer's setuid or world-writable entry that this
    /// layer rewrites with a safe mode is no longer the image's.
    #[serde(default, skip_serializing_if = "PathKeys::is_empty")]
    pub entries: PathKeys,
}

/// A path's key in [`LayerFacts::entries`]: the first 8 bytes of its SHA-256. Collisions
/// would let an upper layer hide a lower finding, so the key must resist second preimages
/// (a layer is untrusted input); SHA-256 runs on SHA-NI here, so it costs little.
pub fn path_key(path: &str) -> u64 {
    use sha2::Digest as _;
    let d = sha2::Sha256::digest(path.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&d[..8]);
    u64::from_le_bytes(first)
}

/// A sorted set of [`path_key`]s, stored in the layer cache as one base64 string (a JSON
/// array of a million numbers would be three times the size).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PathKeys(Vec<u64>);

impl PathKeys {
    /// No keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Adds a key (call [`PathKeys::seal`] before lookups).
    pub fn push(&mut self, key: u64) {
        self.0.push(key);
    }

    /// Sorts and deduplicates.
    pub fn seal(&mut self) {
        self.0.sort_unstable();
        self.0.dedup();
    }

    /// Whether `path` is among the keys.
    pub fn contains(&self, path: &str) -> bool {
        self.0.binary_search(&path_key(path)).is_ok()
    }
}

impl Serialize for PathKeys {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use base64::Engine as _;
        let bytes: Vec<u8> = self.0.iter().flat_map(|k| k.to_le_bytes()).collect();
        s.serialize_str(&base64::engine::general_purpose::STANDARD_NO_PAD.encode(bytes))
    }
}

impl<'de> Deserialize<'de> for PathKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use base64::Engine as _;
        let text = String::deserialize(d)?;
        let bytes = base64::engine::general_purpose::STANDARD_NO_PAD
            .decode(text)
            .map_err(serde::de::Error::custom)?;
        if bytes.len() % 8 != 0 {
            return Err(serde::de::Error::custom(
                "path keys are not a whole number of u64",
            ));
        }
        let mut keys: Vec<u64> = bytes
            .chunks_exact(8)
            .map(|c| {
                let mut b = [0u8; 8];
                b.copy_from_slice(c);
                u64::from_le_bytes(b)
            })
            .collect();
        keys.sort_unstable();
        Ok(PathKeys(keys))
    }
}
