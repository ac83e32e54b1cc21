//! The layer engine: each layer read once, in parallel, verified, cached.

// A `Failure` carries the partial facts of a failed layer by value; there is at most one
// per layer, so its size costs nothing.
#![allow(clippy::result_large_err)]

use std::io::{self, BufRead, BufReader, Read};
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use keelhaul_core::Digest;
use keelhaul_image::{
    DigestMismatch, FileRegion, Image, ImageError, Layer, LayerData, VerifyingReader,
};

use crate::analyzer::AnalyzerSet;
use crate::cache::FactsStore;
use crate::decompress::{BombError, BombGuard, Compression, Counted, Decoded, detect};
use crate::facts::{Fact, LayerFacts};
use crate::region::{SeekableRegion, hash_in_background};
use crate::walk::Walker;

/// Bounds that keep a hostile layer from exhausting memory or time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most uncompressed bytes one layer may expand to.
    pub max_layer_bytes: u64,
    /// Highest compression ratio accepted once a layer has expanded past
    /// `ratio_floor_bytes`. gzip cannot exceed about 1032:1, so this only ever stops zstd
    /// streams, and real layers stay far below it.
    pub max_ratio: u64,
    /// Expansion below which the ratio is not checked (small layers of zeros are fine).
    pub ratio_floor_bytes: u64,
    /// Most package records kept across all layers of one image. A real image has a few
    /// thousand per database version; a hostile one could repeat huge databases in every
    /// layer, and each record costs memory until the image is stacked.
    pub max_package_records: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_layer_bytes: 64 << 30,
            max_ratio: 2000,
            ratio_floor_bytes: 256 << 20,
            max_package_records: 300_000,
        }
    }
}

/// Callbacks for showing progress. All methods default to doing nothing.
pub trait Progress: Send + Sync {
    /// A layer is about to be read (not called for cache hits).
    fn layer_started(&self, _layer: &Layer) {}
    /// `bytes` of the layer's stored (compressed) bytes have been read so far.
    fn layer_advanced(&self, _index: usize, _bytes: u64) {}
    /// A layer is done (read, or found in the cache).
    fn layer_finished(&self, _index: usize, _from_cache: bool) {}
}

/// A [`Progress`] that shows nothing.
#[derive(Debug, Default, Clone, Copy)]
pub struct NoProgress;

impl Progress for NoProgress {}

/// What went wrong with one layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LayerErrorKind {
    /// The layer could not be opened.
    #[error("{0}")]
    Open(#[source] ImageError),
    /// Reading or decompressing failed (truncated, corrupt).
    #[error("{0}")]
    Read(#[source] io::Error),
    /// The bytes do not hash to the layer's digest.
    #[error("content does not match {expected} (it hashes to {actual})")]
    Digest {
        /// The digest that names the layer.
        expected: Digest,
        /// What the bytes hash to.
        actual: Digest,
    },
    /// A decompression bomb.
    #[error("{0}")]
    Bomb(#[source] BombError),
    /// The image records more packages than one scan keeps in memory.
    #[error("`{path}` takes the image past {budget} package records; the rest are not inventoried")]
    TooManyPackages {
        /// The database file.
        path: String,
        /// The budget ([`Limits::max_package_records`]).
        budget: usize,
    },
    /// A compression OCI does not allow.
    #[error("{0}-compressed layers are not supported (OCI layers are gzip, zstd or uncompressed)")]
    Compression(&'static str),
}

/// A layer that could not be (fully) analyzed.
#[derive(Debug, thiserror::Error)]
#[error("Layer {index} ({id}) of `{image}`: {}{kind}", at(.entry))]
pub struct LayerError {
    /// The image.
    pub image: String,
    /// Layer position, 0 = bottom.
    pub index: usize,
    /// Layer id (diff id or digest).
    pub id: String,
    /// Where in the layer's tar reading stopped, when it stopped inside the tar:
    /// `` `NAME` `` (that entry's body) or `` after `NAME` `` (the header following it).
    pub entry: Option<String>,
    /// What went wrong.
    pub kind: LayerErrorKind,
}

fn at(entry: &Option<String>) -> String {
    entry.as_ref().map(|e| format!("{e}: ")).unwrap_or_default()
}

fn classify(e: io::Error) -> LayerErrorKind {
    if let Some(m) = e.get_ref().and_then(|r| r.downcast_ref::<DigestMismatch>()) {
        return LayerErrorKind::Digest {
            expected: m.expected.clone(),
            actual: m.actual.clone(),
        };
    }
    if e.get_ref().is_some_and(|r| r.is::<BombError>()) {
        if let Some(inner) = e.into_inner()
            && let Ok(bomb) = inner.downcast::<BombError>()
        {
            return LayerErrorKind::Bomb(*bomb);
        }
        return LayerErrorKind::Read(io::Error::other("decompression bomb"));
    }
    LayerErrorKind::Read(e)
}

/// One layer's outcome.
#[derive(Debug)]
pub struct LayerResult {
    /// The layer.
    pub layer: Layer,
    /// Its facts; partial (what was read before the failure) when `error` is set.
    pub facts: LayerFacts,
    /// Whether the facts came from the cache.
    pub from_cache: bool,
    /// Why the layer is incomplete, if it is.
    pub error: Option<LayerError>,
}

/// What walking a decompressed stream yields: the facts, the compressed stream back (for
/// the caller to finish reading and verifying), and the failure with the entry it hit.
type DecodedWalk<B> = (
    LayerFacts,
    Option<B>,
    Option<(LayerErrorKind, Option<String>)>,
);

/// What was read before a layer failed, why it failed, and where in its tar (see
/// [`LayerError::entry`]).
type Failure = (LayerFacts, LayerErrorKind, Option<String>);

/// A failure before anything was read.
fn failed(kind: LayerErrorKind) -> Failure {
    (LayerFacts::default(), kind, None)
}

/// Reads layers and runs analyzers over them.
pub struct LayerEngine {
    set: AnalyzerSet,
    limits: Limits,
    cache: Option<std::sync::Arc<dyn FactsStore>>,
    threads: usize,
    verify_local: bool,
    /// Held while a big file is buffered for analysis (see `walk::BIG_FILE`).
    big_files: Mutex<()>,
}

impl LayerEngine {
    /// An engine with default limits, no cache, one thread per core.
    pub fn new(set: AnalyzerSet) -> LayerEngine {
        LayerEngine {
            set,
            limits: Limits::default(),
            cache: None,
            threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
            verify_local: false,
            big_files: Mutex::new(()),
        }
    }

    /// Also hash uncompressed layers of local archives (read in full instead of skipping
    /// the bodies no analyzer wants).
    pub fn with_verify_local(mut self, verify: bool) -> LayerEngine {
        self.verify_local = verify;
        self
    }

    /// Use these limits.
    pub fn with_limits(mut self, limits: Limits) -> LayerEngine {
        self.limits = limits;
        self
    }

    /// Read and write layer facts in this store.
    pub fn with_cache(mut self, cache: Option<std::sync::Arc<dyn FactsStore>>) -> LayerEngine {
        self.cache = cache;
        self
    }

    /// Analyze at most this many layers at once.
    pub fn with_threads(mut self, threads: usize) -> LayerEngine {
        self.threads = threads.max(1);
        self
    }

    /// The analyzers.
    pub fn analyzers(&self) -> &AnalyzerSet {
        &self.set
    }

    /// Analyze every layer of `image`. Layers run in parallel, largest first; a layer that
    /// appears twice is read once.
    pub fn analyze(&self, image: &Image, progress: &dyn Progress) -> Vec<LayerResult> {
        let layers = &image.layers;
        // Unique layers by content, largest first so the longest job starts earliest.
        let mut order: Vec<usize> = Vec::new();
        for (i, l) in layers.iter().enumerate() {
            let dup = l.id().is_some() && order.iter().any(|&j| layers[j].id() == l.id());
            if !dup {
                order.push(i);
            }
        }
        order.sort_by_key(|&i| std::cmp::Reverse(layers[i].size.unwrap_or(0)));
        let next = AtomicUsize::new(0);
        let results: Mutex<Vec<Option<LayerResult>>> =
            Mutex::new((0..layers.len()).map(|_| None).collect());
        let workers = self.threads.min(order.len()).max(1);
        let records = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        let Some(&i) = order.get(k) else { break };
                        let mut r = self.analyze_layer(image, &layers[i], progress);
                        if let Some(kind) = self.within_record_budget(&mut r.facts, &records)
                            && r.error.is_none()
                        {
                            r.error = Some(LayerError {
                                image: image.name.clone(),
                                index: layers[i].index,
                                id: layer_id(&layers[i]),
                                entry: None,
                                kind,
                            });
                        }
                        results.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(r);
                    }
                });
            }
        });
        let mut results = results.into_inner().unwrap_or_else(|p| p.into_inner());
        // Fill in repeated layers from their first occurrence.
        for i in 0..layers.len() {
            if results[i].is_none()
                && let Some(j) = (0..layers.len())
                    .find(|&j| results[j].is_some() && layers[j].id() == layers[i].id())
                && let Some(first) = &results[j]
            {
                results[i] = Some(LayerResult {
                    layer: layers[i].clone(),
                    facts: first.facts.clone(),
                    from_cache: first.from_cache,
                    error: None,
                });
            }
        }
        results
            .into_iter()
            .zip(layers)
            .map(|(r, l)| {
                r.unwrap_or_else(|| LayerResult {
                    layer: l.clone(),
                    facts: LayerFacts::default(),
                    from_cache: false,
                    error: Some(LayerError {
                        image: image.name.clone(),
                        index: l.index,
                        id: layer_id(l),
                        entry: None,
                        kind: LayerErrorKind::Read(io::Error::other("layer was not analyzed")),
                    }),
                })
            })
            .collect()
    }

    /// Count a layer's package records against the image's budget and drop what exceeds
    /// it, so memory stays bounded however many huge databases an image repeats. The
    /// image's inventory is then incomplete, which the returned error says. (Cache entries
    /// keep the full facts; only this image's view is cut.)
    fn within_record_budget(
        &self,
        facts: &mut LayerFacts,
        records: &AtomicUsize,
    ) -> Option<LayerErrorKind> {
        let budget = self.limits.max_package_records;
        let mut over = None;
        for artifact in &mut facts.artifacts {
            let Fact::Packages { packages, .. } = &mut artifact.fact else {
                continue;
            };
            let before = records.fetch_add(packages.len(), Ordering::Relaxed);
            let room = budget.saturating_sub(before);
            if packages.len() > room {
                over.get_or_insert(LayerErrorKind::TooManyPackages {
                    path: artifact.path.clone(),
                    budget,
                });
                packages.truncate(room);
                packages.shrink_to_fit();
            }
        }
        over
    }

    fn cached(&self, key: Option<&Digest>) -> Option<LayerFacts> {
        self.cache.as_ref()?.get(self.set.fingerprint(), key?)
    }

    fn analyze_layer(&self, image: &Image, layer: &Layer, progress: &dyn Progress) -> LayerResult {
        // Entries under a layer's own digest are only ever written after that digest was
        // verified, so any source of the same content may use them.
        let verified_key = layer.digest.clone().or_else(|| layer.diff_id.clone());
        let done = |facts, from_cache, error| LayerResult {
            layer: layer.clone(),
            facts,
            from_cache,
            error,
        };
        if let Some(facts) = self.cached(verified_key.as_ref()) {
            progress.layer_finished(layer.index, true);
            return done(facts, true, None);
        }
        progress.layer_started(layer);
        let mut key = verified_key;
        let outcome = match image.open_layer(layer) {
            Err(e) => Err(failed(LayerErrorKind::Open(e))),
            Ok(LayerData::Directory(root)) => {
                let mut walker = Walker::new(&self.set, &self.big_files);
                walker.dir(&root);
                Ok(walker.finish())
            }
            Ok(LayerData::File(region)) => match self.region_plan(&region, layer) {
                Err(failure) => Err(failure),
                Ok(RegionPlan::Seek { unverified_key }) => {
                    key = unverified_key;
                    if let Some(facts) = self.cached(key.as_ref()) {
                        progress.layer_finished(layer.index, true);
                        return done(facts, true, None);
                    }
                    let walked = self.walk_seekable(&region);
                    progress.layer_advanced(layer.index, region.len);
                    walked
                }
                Ok(RegionPlan::Hash(compression)) => {
                    self.walk_region(&region, compression, layer, progress)
                }
            },
            Ok(LayerData::Stream(stream)) => self.walk_stream(stream, layer, progress),
        };
        progress.layer_finished(layer.index, false);
        match outcome {
            Ok(facts) => {
                if let (Some(cache), Some(key)) = (&self.cache, &key)
                    && let Err(e) = cache.put(self.set.fingerprint(), key, &facts)
                {
                    tracing::warn!(
                        "could not write the layer cache in `{}`: {e}",
                        cache.describe()
                    );
                }
                done(facts, false, None)
            }
            Err(failure) => {
                if let (Some(cache), Some(key)) = (&self.cache, &key) {
                    cache.abandon(self.set.fingerprint(), key);
                }
                let (facts, kind, entry) = failure;
                done(
                    facts,
                    false,
                    Some(LayerError {
                        image: image.name.clone(),
                        index: layer.index,
                        id: layer_id(layer),
                        entry,
                        kind,
                    }),
                )
            }
        }
    }

    /// How to read a local region: an uncompressed tar is walked with seeks and not hashed
    /// (hashing would mean reading every body the seeks skip: for a docker-archive that is
    /// most of the cost of the scan) unless `verify_local` is set; anything else is streamed
    /// and hashed on a second thread.
    fn region_plan(&self, region: &FileRegion, layer: &Layer) -> Result<RegionPlan, Failure> {
        // A member of an archive that was cut short runs past the end of the file; read, it
        // would look like a tar that simply ends there.
        let file_len = std::fs::metadata(&region.path)
            .map_err(|e| failed(LayerErrorKind::Read(e)))?
            .len();
        if region.offset.saturating_add(region.len) > file_len {
            return Err(failed(LayerErrorKind::Read(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!(
                    "the archive is truncated: it ends {} bytes into this {}-byte layer",
                    file_len.saturating_sub(region.offset),
                    region.len
                ),
            ))));
        }
        let mut head = [0u8; 8];
        let n = region
            .open()
            .and_then(|mut r| read_up_to(&mut r, &mut head))
            .map_err(|e| failed(LayerErrorKind::Read(e)))?;
        let compression = detect(&head[..n]).map_err(|c| failed(LayerErrorKind::Compression(c)))?;
        if compression != Compression::None || self.verify_local {
            return Ok(RegionPlan::Hash(compression));
        }
        if let Some(size) = layer.size.filter(|s| *s != region.len) {
            return Err(failed(LayerErrorKind::Read(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the archive holds {} bytes where the manifest says {size}",
                    region.len
                ),
            ))));
        }
        Ok(RegionPlan::Seek {
            unverified_key: unverified_key(region, layer),
        })
    }
    /// A registry download: verified inline as it streams.
    fn walk_stream(
        &self,
        stream: Box<dyn Read + Send>,
        layer: &Layer,
        progress: &dyn Progress,
    ) -> Result<LayerFacts, Failure> {
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counted::new(stream, Arc::clone(&count), Some((progress, layer.index)));
        let verified = VerifyingReader::optional(counted, layer.digest.clone());
        let mut raw = BufReader::with_capacity(256 << 10, verified);
        let compression = peek_compression(&mut raw)?;
        let decompressed_expect = if layer.digest.is_none() {
            layer.diff_id.clone()
        } else {
            None
        };
        let (facts, raw, failure) = self.walk_decoded(raw, compression, decompressed_expect, count);
        // Read to the end of the blob so the digest is checked over every byte. When the
        // decoder failed, the digest says whether the blob itself is damaged: that is the
        // cause worth reporting.
        let digest_check = raw
            .and_then(|mut raw| io::copy(&mut raw, &mut io::sink()).err())
            .map(classify);
        match (failure, digest_check) {
            (None, None) => Ok(facts),
            (_, Some(digest @ LayerErrorKind::Digest { .. })) => Err((facts, digest, None)),
            (Some((kind, entry)), _) => Err((facts, kind, entry)),
            (None, Some(kind)) => Err((facts, kind, None)),
        }
    }

    /// A local file region, streamed (and decompressed when it is compressed) while a
    /// second thread hashes it.
    fn walk_region(
        &self,
        region: &FileRegion,
        compression: Compression,
        layer: &Layer,
        progress: &dyn Progress,
    ) -> Result<LayerFacts, Failure> {
        let stored_expect = match compression {
            Compression::None => layer.digest.clone().or_else(|| layer.diff_id.clone()),
            _ => layer.digest.clone(),
        };
        let hasher = stored_expect
            .as_ref()
            .map(|d| hash_in_background(region.clone(), d.clone()));
        let walked = if compression == Compression::None {
            self.walk_seekable(region)
        } else {
            let count = Arc::new(AtomicU64::new(0));
            let opened = region.open().map_err(|e| failed(LayerErrorKind::Read(e)))?;
            let raw = Counted::new(opened, Arc::clone(&count), Some((progress, layer.index)));
            let decompressed_expect = if layer.digest.is_none() {
                layer.diff_id.clone()
            } else {
                None
            };
            match self.walk_decoded(raw, compression, decompressed_expect, count) {
                (facts, _, None) => Ok(facts),
                (facts, _, Some((kind, entry))) => Err((facts, kind, entry)),
            }
        };
        progress.layer_advanced(layer.index, region.len);
        let hashed = hasher.map(|h| {
            h.join()
                .unwrap_or_else(|_| Err(io::Error::other("hashing thread panicked")))
        });
        match (walked, hashed, stored_expect) {
            // Bytes that do not hash to the digest are not the layer the manifest names:
            // that is the error to report, also when (truncated, corrupt) they failed to
            // decompress too.
            (walked, Some(Ok(actual)), Some(expected)) if actual != expected => {
                let facts = walked.unwrap_or_else(|(facts, ..)| facts);
                Err((facts, LayerErrorKind::Digest { expected, actual }, None))
            }
            (Err(failure), _, _) => Err(failure),
            (Ok(facts), Some(Err(e)), _) => Err((facts, LayerErrorKind::Read(e), None)),
            (Ok(facts), _, _) => Ok(facts),
        }
    }

    fn walk_seekable(&self, region: &FileRegion) -> Result<LayerFacts, Failure> {
        let reader = SeekableRegion::open(region).map_err(|e| failed(LayerErrorKind::Read(e)))?;
        let mut archive = tar::Archive::new(reader);
        let mut walker = Walker::new(&self.set, &self.big_files).with_len(region.len);
        let walked = archive
            .entries_with_seek()
            .and_then(|entries| walker.tar(entries));
        let entry = walker.failed_at.take();
        let facts = walker.finish();
        match walked {
            Ok(()) => Ok(facts),
            Err(e) => Err((facts, classify(e), entry)),
        }
    }

    /// Decompress `raw`, walk the tar, drain the rest of the decompressed stream (so the
    /// decoder checks its trailer and the digests see every byte), and hand `raw` back —
    /// also after a failure, so the caller can check the blob's own digest.
    fn walk_decoded<B: BufRead + Send>(
        &self,
        raw: B,
        compression: Compression,
        decompressed_expect: Option<Digest>,
        compressed_count: Arc<AtomicU64>,
    ) -> DecodedWalk<B> {
        let decoded = match Decoded::new(compression, raw) {
            Ok(d) => d,
            // Only a zstd context allocation can fail here; the stream is gone with it.
            Err(e) => {
                return (
                    LayerFacts::default(),
                    None,
                    Some((LayerErrorKind::Read(e), None)),
                );
            }
        };
        let guard = BombGuard {
            inner: VerifyingReader::optional(decoded, decompressed_expect),
            out: 0,
            compressed: compressed_count,
            limits: self.limits,
        };
        let mut archive = tar::Archive::new(guard);
        let mut walker = Walker::new(&self.set, &self.big_files).draining();
        let walked = archive.entries().and_then(|entries| walker.tar(entries));
        let mut guard = archive.into_inner();
        let drained = walked.and_then(|()| io::copy(&mut guard, &mut io::sink()).map(drop));
        // Set only when the tar walk failed, not when draining after its end did.
        let entry = walker.failed_at.take();
        let facts = walker.finish();
        let raw = Some(guard.inner.into_inner().into_inner());
        match drained {
            Ok(()) => (facts, raw, None),
            Err(e) => (facts, raw, Some((classify(e), entry))),
        }
    }
}

fn peek_compression<B: BufRead>(raw: &mut B) -> Result<Compression, Failure> {
    let head = raw.fill_buf().map_err(|e| failed(classify(e)))?;
    detect(head).map_err(|c| failed(LayerErrorKind::Compression(c)))
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

enum RegionPlan {
    /// Walk with seeks, unhashed; cache under a key tied to this very file.
    Seek { unverified_key: Option<Digest> },
    /// Stream and hash.
    Hash(Compression),
}

/// A cache key for facts read from a layer whose bytes were not hashed: it names the file,
/// its position, size, inode and modification time, so the entry serves re-scans of this
/// same unchanged archive and can never stand in for the layer's digest elsewhere.
fn unverified_key(region: &FileRegion, layer: &Layer) -> Option<Digest> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(&region.path).ok()?;
    let path = std::fs::canonicalize(&region.path).ok()?;
    let text = format!(
        "unverified\0{}\0{}\0{}\0{}\0{}\0{}\0{}",
        path.display(),
        region.offset,
        region.len,
        meta.ino(),
        meta.mtime(),
        meta.mtime_nsec(),
        layer.id().map(Digest::as_str).unwrap_or_default()
    );
    Some(Digest::sha256_of(text.as_bytes()))
}

fn layer_id(layer: &Layer) -> String {
    layer
        .id()
        .map_or_else(|| "no digest".to_owned(), |d| d.short().to_owned())
}
