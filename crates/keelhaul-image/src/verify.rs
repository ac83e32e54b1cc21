use std::io::{self, Read};

use keelhaul_core::{Digest, Hasher};

/// A reader that hashes everything read through it and fails at end of stream if the
/// content does not match the expected digest.
///
/// The check happens on the read that returns 0 bytes, so a consumer must read to the end
/// (the layer engine drains every stream after its tar parser stops).
pub struct VerifyingReader<R> {
    inner: R,
    hasher: Option<Hasher>,
    expected: Option<Digest>,
    read: u64,
}

impl<R: Read> VerifyingReader<R> {
    /// Wrap `inner`, expecting it to hash to `expected`.
    pub fn new(inner: R, expected: Digest) -> Self {
        Self::optional(inner, Some(expected))
    }

    /// Wrap `inner`; with no expected digest, bytes pass through unchecked.
    pub fn optional(inner: R, expected: Option<Digest>) -> Self {
        VerifyingReader {
            hasher: expected.as_ref().map(Digest::hasher),
            inner,
            expected,
            read: 0,
        }
    }

    /// The wrapped reader.
    pub fn into_inner(self) -> R {
        self.inner
    }

    /// Bytes read so far.
    pub fn bytes_read(&self) -> u64 {
        self.read
    }
}

/// The error a [`VerifyingReader`] returns on a mismatch, recoverable with
/// `io::Error::get_ref` + `downcast_ref`.
#[derive(Debug, thiserror::Error)]
#[error("content does not match {expected} (it hashes to {actual})")]
pub struct DigestMismatch {
    /// The digest that names the content.
    pub expected: Digest,
    /// What it hashes to.
    pub actual: Digest,
}

impl<R: Read> Read for VerifyingReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n > 0 {
            self.read += n as u64;
            if let Some(h) = self.hasher.as_mut() {
                h.update(&buf[..n]);
            }
        } else if !buf.is_empty()
            && let Some(h) = self.hasher.take()
        {
            let actual = h.finish();
            if let Some(expected) = self.expected.as_ref().filter(|e| **e != actual) {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidData,
                    DigestMismatch {
                        expected: expected.clone(),
                        actual,
                    },
                ));
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_mismatch_at_eof() {
        let good = Digest::sha256_of(b"hello");
        let mut out = Vec::new();
        VerifyingReader::new(&b"hello"[..], good.clone())
            .read_to_end(&mut out)
            .expect("matches");
        let err = VerifyingReader::new(&b"hellO"[..], good)
            .read_to_end(&mut out)
            .expect_err("mismatch");
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);
        assert!(
            err.get_ref()
                .and_then(|e| e.downcast_ref::<DigestMismatch>())
                .is_some()
        );
    }
}
