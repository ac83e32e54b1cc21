use std::fmt;
use std::str::FromStr;

use sha2::Digest as _;

/// A content digest as OCI writes it: `algorithm:hex`.
///
/// Only `sha256` and `sha512` are accepted: they are the algorithms the OCI image spec
/// registers, and accepting anything else would let a manifest name blobs we cannot verify.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    text: String,
    colon: usize,
}

/// Why a string is not a [`Digest`].
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum DigestError {
    /// No `algorithm:` prefix.
    #[error("Digest `{0}` has no `algorithm:` prefix")]
    NoAlgorithm(String),
    /// An algorithm other than sha256/sha512.
    #[error("Digest `{0}` uses an unsupported algorithm (only sha256 and sha512 are accepted)")]
    Algorithm(String),
    /// Wrong length or a non-hex character.
    #[error("Digest `{0}` is not lowercase hex of the algorithm's length")]
    Encoding(String),
}

impl Digest {
    /// `sha256:` of the given bytes.
    pub fn sha256_of(bytes: &[u8]) -> Digest {
        Digest::from_sha256_bytes(&sha2::Sha256::digest(bytes))
    }

    fn from_sha256_bytes(bytes: &[u8]) -> Digest {
        Digest {
            text: format!("sha256:{}", hex::encode(bytes)),
            colon: 6,
        }
    }

    /// The algorithm name, e.g. `sha256`.
    pub fn algorithm(&self) -> &str {
        &self.text[..self.colon]
    }

    /// The lowercase hex encoding.
    pub fn hex(&self) -> &str {
        &self.text[self.colon + 1..]
    }

    /// The whole `algorithm:hex` string.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// A short form for tables and messages: `sha256:0123456789ab`.
    pub fn short(&self) -> &str {
        let end = (self.colon + 1 + 12).min(self.text.len());
        &self.text[..end]
    }

    /// A streaming hasher for this digest's algorithm.
    pub fn hasher(&self) -> Hasher {
        match self.algorithm() {
            "sha512" => Hasher::Sha512(sha2::Sha512::new()),
            _ => Hasher::Sha256(sha2::Sha256::new()),
        }
    }
}

/// An incremental hasher producing a [`Digest`].
#[derive(Clone)]
pub enum Hasher {
    /// SHA-256.
    Sha256(sha2::Sha256),
    /// SHA-512.
    Sha512(sha2::Sha512),
}

impl Hasher {
    /// A SHA-256 hasher.
    pub fn sha256() -> Hasher {
        Hasher::Sha256(sha2::Sha256::new())
    }

    /// Feed bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match self {
            Hasher::Sha256(h) => h.update(bytes),
            Hasher::Sha512(h) => h.update(bytes),
        }
    }

    /// The digest of everything fed so far.
    pub fn finish(self) -> Digest {
        match self {
            Hasher::Sha256(h) => Digest::from_sha256_bytes(&h.finalize()),
            Hasher::Sha512(h) => Digest {
                text: format!("sha512:{}", hex::encode(h.finalize())),
                colon: 6,
            },
        }
    }
}

impl FromStr for Digest {
    type Err = DigestError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let Some(colon) = s.find(':') else {
            return Err(DigestError::NoAlgorithm(s.to_owned()));
        };
        let (algorithm, hex) = (&s[..colon], &s[colon + 1..]);
        let expected_len = match algorithm {
            "sha256" => 64,
            "sha512" => 128,
            _ => return Err(DigestError::Algorithm(s.to_owned())),
        };
        if hex.len() != expected_len
            || !hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(DigestError::Encoding(s.to_owned()));
        }
        Ok(Digest {
            text: s.to_owned(),
            colon,
        })
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({})", self.text)
    }
}

impl serde::Serialize for Digest {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> serde::Deserialize<'de> for Digest {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_rejects() {
        let empty = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
        let d: Digest = empty.parse().expect("valid digest");
        assert_eq!(d, Digest::sha256_of(b""));
        assert_eq!(d.short(), "sha256:e3b0c44298fc");
        assert!(matches!(
            "md5:abcd".parse::<Digest>(),
            Err(DigestError::Algorithm(_))
        ));
        assert!(matches!(
            "sha256:ABCD".parse::<Digest>(),
            Err(DigestError::Encoding(_))
        ));
        assert!(matches!(
            "sha256".parse::<Digest>(),
            Err(DigestError::NoAlgorithm(_))
        ));
        let upper = empty.to_uppercase().replace("SHA256", "sha256");
        assert!(upper.parse::<Digest>().is_err());
    }

    #[test]
    fn hasher_matches_one_shot() {
        let mut h = Hasher::sha256();
        h.update(b"ab");
        h.update(b"c");
        assert_eq!(h.finish(), Digest::sha256_of(b"abc"));
    }
}
