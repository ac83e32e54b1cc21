//! The server key and what it protects: access-key secrets and registry passwords are stored
//! sealed (ChaCha20-Poly1305), never in clear. Secrets must be recoverable, not hashed: the
//! cloud-compatible APIs verify HMAC request signatures, which needs the secret itself.

use std::path::Path;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};

/// The environment variable that carries the key (base64 or hex of 32 bytes).
pub const KEY_ENV: &str = "KEELHAUL_SERVER_KEY";

const NONCE_LEN: usize = 12;

/// A key problem.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The key is not 32 bytes of base64 or hex.
    #[error(
        "{KEY_ENV} must be 32 bytes, base64 or hex (generate one with `openssl rand -base64 32`)"
    )]
    Malformed,
    /// The key file cannot be read or written.
    #[error("cannot use the server key file {path}: {source}")]
    File {
        /// The file.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// No random bytes.
    #[error("the operating system gave no random bytes: {0}")]
    Random(String),
    /// A sealed value does not open with this key.
    #[error("a stored secret does not open with this server key")]
    Open,
}

/// The key that seals stored secrets.
#[derive(Clone)]
pub struct ServerKey {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

/// Random bytes from the operating system.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| KeyError::Random(e.to_string()))?;
    Ok(buf)
}

/// A random string over `[A-Za-z0-9]` (or upper case and digits only).
pub fn random_token(len: usize, upper_only: bool) -> Result<String, KeyError> {
    const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789abcdefghijklmnopqrstuvwxyz";
    let alphabet = if upper_only { &ALNUM[..36] } else { ALNUM };
    let mut out = String::with_capacity(len);
    while out.len() < len {
        for b in random_bytes::<64>()? {
            // Rejection sampling keeps every character equally likely.
            let limit = 256 - 256 % alphabet.len();
            if usize::from(b) < limit && out.len() < len {
                out.push(char::from(alphabet[usize::from(b) % alphabet.len()]));
            }
        }
    }
    Ok(out)
}

impl ServerKey {
    /// A key from 32 raw bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> ServerKey {
        ServerKey {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        }
    }

    /// A key from its text form (base64 or hex).
    pub fn parse(text: &str) -> Result<ServerKey, KeyError> {
        let text = text.trim();
        let bytes = if text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()) {
            hex::decode(text).map_err(|_| KeyError::Malformed)?
        } else {
            B64.decode(text).map_err(|_| KeyError::Malformed)?
        };
        let bytes: [u8; 32] = bytes.try_into().map_err(|_| KeyError::Malformed)?;
        Ok(ServerKey::from_bytes(bytes))
    }

    /// The key from `KEELHAUL_SERVER_KEY`, else from `file`, which is created (mode 0600)
    /// with a fresh key when missing.
    pub fn load(file: &Path) -> Result<ServerKey, KeyError> {
        if let Ok(text) = std::env::var(KEY_ENV) {
            return ServerKey::parse(&text);
        }
        let err = |source| KeyError::File {
            path: file.display().to_string(),
            source,
        };
        match std::fs::read_to_string(file) {
            Ok(text) => ServerKey::parse(&text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let bytes = random_bytes::<32>()?;
                if let Some(dir) = file.parent() {
                    std::fs::create_dir_all(dir).map_err(err)?;
                }
                write_private(file, &B64.encode(bytes)).map_err(err)?;
                Ok(ServerKey::from_bytes(bytes))
            }
            Err(e) => Err(err(e)),
        }
    }

    /// Seal a secret: base64 of nonce and ciphertext.
    pub fn seal(&self, plaintext: &str) -> Result<String, KeyError> {
        let nonce = random_bytes::<NONCE_LEN>()?;
        let sealed = self
            .cipher
            .encrypt(Nonce::from_slice(&nonce), plaintext.as_bytes())
            .map_err(|_| KeyError::Open)?;
        let mut out = nonce.to_vec();
        out.extend(sealed);
        Ok(B64.encode(out))
    }

    /// Open a sealed secret.
    pub fn open(&self, sealed: &str) -> Result<String, KeyError> {
        let bytes = B64.decode(sealed).map_err(|_| KeyError::Open)?;
        if bytes.len() < NONCE_LEN {
            return Err(KeyError::Open);
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), body)
            .map_err(|_| KeyError::Open)?;
        String::from_utf8(plain).map_err(|_| KeyError::Open)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

/// Constant-time equality of two secrets.
pub fn same_secret(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_and_refuses_other_keys() {
        let key = ServerKey::from_bytes([7; 32]);
        let sealed = key.seal("hunter2").expect("seal");
        assert!(!sealed.contains("hunter2"));
        assert_eq!(key.open(&sealed).expect("open"), "hunter2");
        let other = ServerKey::from_bytes([8; 32]);
        assert!(other.open(&sealed).is_err());
        assert!(key.open("not base64!").is_err());
        assert!(key.open("AAAA").is_err());
    }

    #[test]
    fn parses_hex_and_base64_keys() {
        assert!(ServerKey::parse(&"ab".repeat(32)).is_ok());
        assert!(ServerKey::parse(&B64.encode([1u8; 32])).is_ok());
        assert!(ServerKey::parse("short").is_err());
    }

    #[test]
    fn tokens_use_the_alphabet() {
        let t = random_token(40, true).expect("token");
        assert_eq!(t.len(), 40);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
        );
        assert!(same_secret(&t, &t.clone()));
        assert!(!same_secret(&t, &t[1..]));
    }
}
