//! Where analysed layers are kept: the [`FactsStore`] trait, and [`LayerCache`], its on-disk
//! implementation (one JSON file of [`LayerFacts`] per layer digest and analyzer set). The
//! service keeps the same facts in its database so every worker of a fleet shares them.

use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use keelhaul_core::Digest;

use crate::facts::LayerFacts;

/// Bumped when the shape of [`LayerFacts`] changes, so old entries are never misread.
const FORMAT: u32 = 4;

/// A store of analysed layers, keyed by the analyzer set's fingerprint and a layer key
/// (the verified layer digest, or a key naming an unverified local file).
pub trait FactsStore: Send + Sync {
    /// The stored facts, if any. A store shared by several processes may wait here while
    /// another one is analysing the same layer, so it is analysed once.
    fn get(&self, fingerprint: &str, key: &Digest) -> Option<LayerFacts>;
    /// Store a layer's facts.
    fn put(&self, fingerprint: &str, key: &Digest, facts: &LayerFacts) -> std::io::Result<()>;
    /// The analysis of a layer this process said it would do (a `get` miss) failed: let
    /// others try.
    fn abandon(&self, _fingerprint: &str, _key: &Digest) {}
    /// Where the store lives, for messages.
    fn describe(&self) -> String;
}

/// A directory of cached layer analyses.
#[derive(Debug, Clone)]
pub struct LayerCache {
    dir: PathBuf,
}

impl LayerCache {
    /// A cache rooted at `dir` (created on first write).
    pub fn new(dir: impl Into<PathBuf>) -> LayerCache {
        LayerCache { dir: dir.into() }
    }

    /// The cache's root directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn entry(&self, fingerprint: &str, key: &Digest) -> PathBuf {
        // The fingerprint (analyzer names and versions) is hashed into the directory name:
        // any analyzer change starts a fresh namespace instead of reading stale facts.
        let fp = Digest::sha256_of(format!("{FORMAT}:{fingerprint}").as_bytes());
        self.dir.join("layers").join(&fp.hex()[..16]).join(format!(
            "{}-{}.json",
            key.algorithm(),
            key.hex()
        ))
    }
}

impl FactsStore for LayerCache {
    fn describe(&self) -> String {
        self.dir.display().to_string()
    }

    /// The cached facts for a layer, if present and readable.
    fn get(&self, fingerprint: &str, key: &Digest) -> Option<LayerFacts> {
        let path = self.entry(fingerprint, key);
        let file = std::fs::File::open(&path).ok()?;
        match serde_json::from_reader(BufReader::new(file)) {
            Ok(facts) => Some(facts),
            Err(e) => {
                tracing::debug!("ignoring unreadable cache entry `{}`: {e}", path.display());
                None
            }
        }
    }

    /// Store a layer's facts. Written to a temporary file and renamed, so a concurrent
    /// reader never sees half an entry.
    fn put(&self, fingerprint: &str, key: &Digest, facts: &LayerFacts) -> std::io::Result<()> {
        let path = self.entry(fingerprint, key);
        let dir = path
            .parent()
            .ok_or_else(|| std::io::Error::other("cache entry has no parent"))?;
        std::fs::create_dir_all(dir)?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
        {
            let mut w = BufWriter::new(tmp.as_file_mut());
            serde_json::to_writer(&mut w, facts).map_err(std::io::Error::other)?;
            w.flush()?;
        }
        tmp.persist(&path).map_err(|e| e.error)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_separates_fingerprints() {
        let dir = tempfile::tempdir().expect("tempdir");
        let cache = LayerCache::new(dir.path());
        let key = Digest::sha256_of(b"layer");
        let mut facts = LayerFacts::default();
        facts.whiteouts.push("etc/x".into());
        cache.put("dpkg@1", &key, &facts).expect("put");
        assert_eq!(cache.get("dpkg@1", &key), Some(facts));
        assert_eq!(cache.get("dpkg@2", &key), None);
        assert_eq!(cache.get("dpkg@1", &Digest::sha256_of(b"other")), None);
    }
}
