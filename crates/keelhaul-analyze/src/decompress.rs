//! Layer compression: detection by magic number, decoders, and the decompression-bomb guard.

use std::io::{self, BufRead, Read};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::Limits;

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    /// A plain tar.
    None,
    /// gzip (one or more members).
    Gzip,
    /// zstd.
    Zstd,
}

/// Detect compression from the first bytes. Formats OCI does not allow get a clear error.
pub(crate) fn detect(head: &[u8]) -> Result<Compression, &'static str> {
    if head.starts_with(&[0x1f, 0x8b]) {
        Ok(Compression::Gzip)
    } else if head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Ok(Compression::Zstd)
    } else if head.starts_with(b"BZh") {
        Err("bzip2")
    } else if head.starts_with(&[0xfd, b'7', b'z', b'X', b'Z', 0]) {
        Err("xz")
    } else {
        Ok(Compression::None)
    }
}

/// A decoder over a compressed stream that can give the stream back when done, so the
/// engine can drain and verify the bytes after the decoder's end.
// One lives per layer being read: boxing the large variant would save nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Decoded<B: BufRead> {
    Plain(B),
    // Multi-member: pigz and concatenated gzip streams are valid layers.
    Gzip(flate2::bufread::MultiGzDecoder<B>),
    Zstd(zstd::stream::read::Decoder<'static, B>),
}

impl<B: BufRead> Decoded<B> {
    pub(crate) fn new(compression: Compression, compressed: B) -> io::Result<Decoded<B>> {
        Ok(match compression {
            Compression::None => Decoded::Plain(compressed),
            Compression::Gzip => Decoded::Gzip(flate2::bufread::MultiGzDecoder::new(compressed)),
            Compression::Zstd => {
                Decoded::Zstd(zstd::stream::read::Decoder::with_buffer(compressed)?)
            }
        })
    }

    pub(crate) fn into_inner(self) -> B {
        match self {
            Decoded::Plain(b) => b,
            Decoded::Gzip(d) => d.into_inner(),
            Decoded::Zstd(d) => d.finish(),
        }
    }
}

impl<B: BufRead> Read for Decoded<B> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Decoded::Plain(b) => b.read(buf),
            Decoded::Gzip(d) => d.read(buf),
            Decoded::Zstd(d) => d.read(buf),
        }
    }
}

/// Counts compressed bytes read through it, into a counter the bomb guard reads, and
/// reports progress every few hundred KiB.
pub(crate) struct Counted<'p, R> {
    pub inner: R,
    pub count: Arc<AtomicU64>,
    pub progress: Option<(&'p dyn crate::Progress, usize)>,
    pub reported: u64,
}

impl<'p, R> Counted<'p, R> {
    pub(crate) fn new(
        inner: R,
        count: Arc<AtomicU64>,
        progress: Option<(&'p dyn crate::Progress, usize)>,
    ) -> Self {
        Counted {
            inner,
            count,
            progress,
            reported: 0,
        }
    }

    fn add(&mut self, n: usize) {
        let total = self.count.fetch_add(n as u64, Ordering::Relaxed) + n as u64;
        if let Some((p, index)) = self.progress
            && total - self.reported >= 256 << 10
        {
            p.layer_advanced(index, total);
            self.reported = total;
        }
    }
}

impl<R: Read> Read for Counted<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.add(n);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for Counted<'_, R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }

    fn consume(&mut self, amt: usize) {
        self.add(amt);
        self.inner.consume(amt);
    }
}

/// The error a [`BombGuard`] raises, recoverable through `io::Error::get_ref`.
#[derive(Debug, thiserror::Error)]
pub enum BombError {
    /// More uncompressed bytes than allowed in one layer.
    #[error("layer expands to more than {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// A compression ratio no real layer has.
    #[error(
        "layer expands {ratio}:1 ({out} bytes from {input}), beyond the {limit}:1 limit: a decompression bomb"
    )]
    Ratio {
        /// Ratio reached.
        ratio: u64,
        /// Uncompressed bytes so far.
        out: u64,
        /// Compressed bytes so far.
        input: u64,
        /// The limit.
        limit: u64,
    },
}

/// Stops decompression when the output grows beyond the limits.
pub(crate) struct BombGuard<R> {
    pub inner: R,
    pub out: u64,
    pub compressed: Arc<AtomicU64>,
    pub limits: Limits,
}

impl<R: Read> Read for BombGuard<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out += n as u64;
        if self.out > self.limits.max_layer_bytes {
            return Err(io::Error::other(BombError::TooLarge {
                limit: self.limits.max_layer_bytes,
            }));
        }
        if self.out > self.limits.ratio_floor_bytes {
            let input = self.compressed.load(Ordering::Relaxed).max(1);
            let ratio = self.out / input;
            if ratio > self.limits.max_ratio {
                return Err(io::Error::other(BombError::Ratio {
                    ratio,
                    out: self.out,
                    input,
                    limit: self.limits.max_ratio,
                }));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic() {
        assert_eq!(detect(&[0x1f, 0x8b, 8]), Ok(Compression::Gzip));
        assert_eq!(detect(&[0x28, 0xb5, 0x2f, 0xfd, 0]), Ok(Compression::Zstd));
        assert_eq!(detect(b"BZh91AY"), Err("bzip2"));
        assert_eq!(detect(b"etc/\0\0\0"), Ok(Compression::None));
        assert_eq!(detect(b""), Ok(Compression::None));
    }

    #[test]
    fn guard_stops_a_zstd_bomb() {
        let zeros = vec![0u8; 64 << 20];
        let bomb = zstd::encode_all(&zeros[..], 19).expect("compress");
        assert!(
            bomb.len() < 64 << 10,
            "zstd packs 64 MiB of zeros into {} bytes",
            bomb.len()
        );
        let count = Arc::new(AtomicU64::new(0));
        let counted = Counted::new(io::BufReader::new(&bomb[..]), Arc::clone(&count), None);
        let dec = Decoded::new(Compression::Zstd, counted).expect("decoder");
        let limits = Limits {
            ratio_floor_bytes: 1 << 20,
            ..Limits::default()
        };
        let mut guard = BombGuard {
            inner: dec,
            out: 0,
            compressed: count,
            limits,
        };
        let err = io::copy(&mut guard, &mut io::sink()).expect_err("bomb stopped");
        assert!(
            err.get_ref()
                .and_then(|e| e.downcast_ref::<BombError>())
                .is_some(),
            "{err}"
        );
    }
}
