//! Damages the real databases in `shared/data/rpmdb` (truncation, overwritten bytes) and
//! checks that reading them never panics and never loses packages silently: a read that
//! returns fewer packages than the intact file must say why.

#![allow(clippy::unwrap_used, clippy::print_stderr, missing_docs)]

use std::fs;
use std::path::Path;

use keelhaul_rpmdb::read;

fn load(relative: &str) -> Option<Vec<u8>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/rpmdb");
    if !dir.is_dir() {
        eprintln!(
            "skipping: ../shared/data not found (looked for {})",
            dir.display()
        );
        return None;
    }
    Some(fs::read(dir.join(relative)).unwrap())
}

/// A small deterministic generator (xorshift64), so failures can be replayed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        usize::try_from(self.0 % bound as u64).unwrap()
    }
}

/// Reads `bytes` cut at `cuts` lengths and with `flips` random bytes overwritten.
fn damage(name: &str, bytes: &[u8], cuts: usize, flips: usize) {
    let intact = read(bytes).unwrap();
    assert!(intact.errors.is_empty());
    let full = intact.packages.len();
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);

    for i in 1..=cuts {
        let len = bytes.len() * i / (cuts + 1);
        match read(&bytes[..len]) {
            Err(_) => {}
            Ok(db) => assert!(
                db.packages.len() == full || !db.errors.is_empty(),
                "{name} cut to {len} bytes: {} of {full} packages and no error",
                db.packages.len()
            ),
        }
    }

    for _ in 0..flips {
        let mut bad = bytes.to_vec();
        // A few bytes at once, so that damage reaches more than one structure.
        for _ in 0..4 {
            let at = rng.below(bad.len());
            bad[at] = u8::try_from(rng.below(256)).unwrap();
        }
        // Any outcome but a panic is acceptable: overwritten bytes inside a string
        // legitimately change a package without making it invalid.
        let _ = read(&bad);
    }
}

#[test]
fn damaged_berkeley_db() {
    if let Some(bytes) = load("bdb-libuuid/Packages") {
        damage("bdb", &bytes, 200, 1500);
    }
}

#[test]
fn damaged_ndb() {
    if let Some(bytes) = load("ndb-sle15-bci/Packages.db") {
        damage("ndb", &bytes, 60, 120);
    }
}

#[test]
fn damaged_sqlite() {
    if let Some(bytes) = load("sqlite-cbl-mariner-2.0/rpmdb.sqlite") {
        damage("sqlite", &bytes, 30, 30);
    }
}
