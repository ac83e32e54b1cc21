//! Reads the list of installed packages from an RPM package database.
//!
//! The input is the whole database file as bytes (as read from a container layer); this
//! crate does no file I/O. [`read`] detects the format, reads every record and returns
//! the packages, together with per-record errors for records it had to skip.
//!
//! # The three formats
//!
//! rpm has stored its database in three containers over the years. All three hold the
//! same thing: one *header blob* per installed package, keyed by a package number.
//!
//! - **SQLite** (`rpmdb.sqlite`, rpm ≥ 4.16; Fedora 33+, RHEL 9, CBL-Mariner, Amazon
//!   Linux 2023): a table `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`. It is opened
//!   from memory with SQLite's deserialize API, read-only, without a temporary file.
//! - **Berkeley DB hash** (`Packages`, rpm < 4.16; RHEL ≤ 8, CentOS, Amazon Linux 2): a
//!   Berkeley DB hash database. Page 0 is the metadata page (magic `0x00061561`, page
//!   size, last page number, and through the magic's byte order the byte order of every
//!   other integer). Hash pages (type 2 or 13) hold key/data item pairs; the key is the
//!   package number and the data is the header blob, either inline (`H_KEYDATA`) or, as
//!   it almost always is, on a chain of overflow pages (`H_OFFPAGE` → type 7 pages) whose
//!   contents concatenate to the blob.
//! - **NDB** (`Packages.db`, SUSE since 15 SP3): a little-endian file starting with the
//!   magic `RpmP`, followed by slot pages that map a package index to a position and
//!   length (in 16-byte blocks) of a blob; each blob starts with the magic `BlbS`, its
//!   package index, a timestamp and its length, and ends with a `BlbE` trailer.
//!
//! The *header blob* is rpm's own serialisation of a package header, big-endian: the
//! number of index entries `il`, the size of the data area `dl`, then `il` 16-byte
//! entries `(tag, type, offset, count)`, then `dl` bytes of data the entries point into.
//! [`parse_header_blob`] reads the few tags a scanner needs from it.
//!
//! # Why this is written by hand
//!
//! No maintained Rust crate reads Berkeley DB or NDB rpm databases: the `rpmdb` crate on
//! crates.io is an unmaintained three-commit port. The formats are small enough to read
//! directly, using knqyf263/go-rpmdb (what Syft and Trivy use) and rpm's own read-only
//! Berkeley DB reader (`lib/backend/bdb_ro.c`) and NDB code (`lib/backend/ndb/rpmpkg.c`)
//! as references for the layouts.
//!
//! # Hostile input
//!
//! Container images are untrusted, so every offset and length is checked before it is
//! followed, chains of pages are walked with a visited set, counts are capped at rpm's
//! own limits, and memory use stays proportional to the size of the input. Damage to one
//! record is reported in [`Database::errors`] and the other records are still read; only
//! damage to the metadata that locates records makes [`read`] fail.
//!
//! # Limitations
//!
//! - SQLite: only the main database file is read. Transactions still sitting in a
//!   `rpmdb.sqlite-wal` file beside it are not seen (rpm checkpoints when it exits, so
//!   images rarely have any).
//! - Berkeley DB: pages are scanned in file order, as go-rpmdb does, rather than by
//!   walking hash buckets; checksummed or encrypted databases (which rpm never creates)
//!   are refused.

#![deny(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used))]

mod bdb;
mod bytes;
mod error;
mod header;
mod ndb;
mod sqlite;

pub use error::Error;
pub use header::parse_header_blob;

/// Name rpm gives to the pseudo-packages that hold imported signing keys.
const GPG_PUBKEY: &str = "gpg-pubkey";

/// Which container the database uses; see the crate documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// `rpmdb.sqlite`, rpm ≥ 4.16.
    Sqlite,
    /// `Packages`, a Berkeley DB hash database (rpm < 4.16).
    BerkeleyDb,
    /// `Packages.db`, SUSE's native format.
    Ndb,
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RpmPackage {
    /// `NAME`, e.g. `openssl-libs`.
    pub name: String,
    /// `EPOCH`, absent for most packages (which rpm then treats as 0 when comparing).
    pub epoch: Option<u32>,
    /// `VERSION`, e.g. `3.0.7`.
    pub version: String,
    /// `RELEASE`, e.g. `25.el9_3`.
    pub release: String,
    /// `ARCH`, e.g. `x86_64` or `noarch`.
    pub arch: Option<String>,
    /// `SOURCERPM`, e.g. `openssl-3.0.7-25.el9_3.src.rpm`; see
    /// [`RpmPackage::source_name_version`].
    pub source_rpm: Option<String>,
    /// `VENDOR`, e.g. `Red Hat, Inc.`.
    pub vendor: Option<String>,
    /// `LICENSE`, as the packager wrote it (not necessarily SPDX).
    pub license: Option<String>,
    /// `SUMMARY`, the untranslated one-line description.
    pub summary: Option<String>,
    /// Installed size in bytes: `LONGSIZE` if present, else `SIZE`.
    pub size: Option<u64>,
    /// `MODULARITYLABEL`, set for packages from a RHEL 8 / Fedora module stream.
    pub modularity_label: Option<String>,
    /// Full paths of the files and directories the package owns, in header order,
    /// built from `DIRNAMES`, `BASENAMES` and `DIRINDEXES` (or `OLDFILENAMES`).
    pub files: Vec<String>,
}

impl RpmPackage {
    /// The version as rpm prints `%{EVR}`: `epoch:version-release`, with `epoch:` only
    /// when the package has one.
    pub fn evr(&self) -> String {
        match self.epoch {
            Some(epoch) => format!("{epoch}:{}-{}", self.version, self.release),
            None => format!("{}-{}", self.version, self.release),
        }
    }

    /// Name and `version-release` of the source package, parsed from the `SOURCERPM`
    /// file name: `openssl-3.0.7-25.el9_3.src.rpm` gives `("openssl", "3.0.7-25.el9_3")`.
    ///
    /// Vulnerability feeds for RPM distributions are mostly keyed by source package.
    /// Returns `None` when there is no `SOURCERPM` or it is not of the form
    /// `name-version-release.src.rpm` (or `.nosrc.rpm`).
    pub fn source_name_version(&self) -> Option<(String, String)> {
        let file = self.source_rpm.as_deref()?;
        let stem = file
            .strip_suffix(".src.rpm")
            .or_else(|| file.strip_suffix(".nosrc.rpm"))?;
        // Names may contain dashes; versions and releases may not.
        let (name_version, release) = stem.rsplit_once('-')?;
        let (name, version) = name_version.rsplit_once('-')?;
        if name.is_empty() || version.is_empty() || release.is_empty() {
            return None;
        }
        Some((name.to_owned(), format!("{version}-{release}")))
    }
}

/// What [`read`] found.
#[derive(Debug)]
pub struct Database {
    /// The container format that was detected.
    pub format: Format,
    /// Installed packages in storage order, without `gpg-pubkey` entries.
    pub packages: Vec<RpmPackage>,
    /// Problems with individual records (each an [`Error::Record`] naming the record, or
    /// a page-level error); the records they affect are missing from `packages`.
    pub errors: Vec<Error>,
}

/// Identifies the database format from its magic number.
///
/// - SQLite: the 16-byte header string `SQLite format 3\0` at offset 0;
/// - Berkeley DB hash: `0x00061561` at offset 12, in either byte order;
/// - NDB: `RpmP` at offset 0.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(sqlite::MAGIC) {
        Some(Format::Sqlite)
    } else if bytes.starts_with(ndb::MAGIC) {
        Some(Format::Ndb)
    } else if bdb::has_hash_magic(bytes) {
        Some(Format::BerkeleyDb)
    } else {
        None
    }
}

/// Reads every installed package from a database held in memory.
///
/// `gpg-pubkey` entries are left out: they are signing keys imported with
/// `rpm --import`, stored as pseudo-packages, and match nothing in a vulnerability feed.
///
/// # Errors
///
/// Only when nothing can be read: the format is not recognised, or the metadata that
/// locates the records (SQLite schema, Berkeley DB page 0, NDB header and slot pages) is
/// missing or damaged. Damage to individual records is reported in
/// [`Database::errors`] instead.
pub fn read(bytes: &[u8]) -> Result<Database, Error> {
    let format = detect(bytes).ok_or(Error::UnknownFormat)?;
    let mut records = Records::default();
    match format {
        Format::Sqlite => sqlite::read(bytes, &mut records)?,
        Format::BerkeleyDb => bdb::read(bytes, &mut records)?,
        Format::Ndb => ndb::read(bytes, &mut records)?,
    }
    Ok(Database {
        format,
        packages: records.packages,
        errors: records.errors,
    })
}

/// Collects what the format readers find: each hands over blobs (or errors) one record
/// at a time.
#[derive(Default)]
struct Records {
    packages: Vec<RpmPackage>,
    errors: Vec<Error>,
}

impl Records {
    /// Parses one header blob; `record` names it in the error if that fails.
    fn blob(&mut self, record: impl FnOnce() -> String, blob: &[u8]) {
        match parse_header_blob(blob) {
            Ok(package) if package.name == GPG_PUBKEY => {}
            Ok(package) => self.packages.push(package),
            Err(problem) => self.errors.push(Error::record(record(), problem)),
        }
    }

    fn error(&mut self, error: Error) {
        self.errors.push(error);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(source_rpm: Option<&str>, epoch: Option<u32>) -> RpmPackage {
        RpmPackage {
            name: "openssl-libs".into(),
            epoch,
            version: "3.0.7".into(),
            release: "25.el9_3".into(),
            source_rpm: source_rpm.map(Into::into),
            ..RpmPackage::default()
        }
    }

    #[test]
    fn evr_shows_epoch_only_when_present() {
        assert_eq!(package(None, None).evr(), "3.0.7-25.el9_3");
        assert_eq!(package(None, Some(1)).evr(), "1:3.0.7-25.el9_3");
        // An explicit zero epoch is still an epoch, as in rpm's %{EVR}.
        assert_eq!(package(None, Some(0)).evr(), "0:3.0.7-25.el9_3");
    }

    #[test]
    fn source_name_version_splits_from_the_right() {
        let cases = [
            (
                "openssl-3.0.7-25.el9_3.src.rpm",
                Some(("openssl", "3.0.7-25.el9_3")),
            ),
            (
                "ca-certificates-mozilla-prebuilt-2.44-21.1.src.rpm",
                Some(("ca-certificates-mozilla-prebuilt", "2.44-21.1")),
            ),
            (
                "gcc11-11.2.1+git610-1.3.9.src.rpm",
                Some(("gcc11", "11.2.1+git610-1.3.9")),
            ),
            ("kernel-5.14.0-1.nosrc.rpm", Some(("kernel", "5.14.0-1"))),
            ("openssl-3.0.7.src.rpm", None),
            ("-1-2.src.rpm", None),
            ("openssl-3.0.7-25.el9_3.x86_64.rpm", None),
            ("(none)", None),
        ];
        for (file, want) in cases {
            let got = package(Some(file), None).source_name_version();
            let want = want.map(|(n, v)| (n.to_owned(), v.to_owned()));
            assert_eq!(got, want, "{file}");
        }
        assert_eq!(package(None, None).source_name_version(), None);
    }

    #[test]
    fn detect_by_magic() {
        assert_eq!(detect(b"SQLite format 3\0rest"), Some(Format::Sqlite));
        assert_eq!(detect(b"SQLite format 3"), None);
        assert_eq!(detect(b"RpmP\0\0\0\0"), Some(Format::Ndb));
        let mut bdb = [0u8; 16];
        bdb[12..].copy_from_slice(&0x0006_1561u32.to_le_bytes());
        assert_eq!(detect(&bdb), Some(Format::BerkeleyDb));
        bdb[12..].copy_from_slice(&0x0006_1561u32.to_be_bytes());
        assert_eq!(detect(&bdb), Some(Format::BerkeleyDb));
        // A Berkeley DB btree (rpm's index files) is not a package database.
        bdb[12..].copy_from_slice(&0x0005_3162u32.to_le_bytes());
        assert_eq!(detect(&bdb), None);
        assert_eq!(detect(b""), None);
        assert_eq!(detect(&[0u8; 4096]), None);
    }

    #[test]
    fn unknown_format_is_an_error() {
        let err = read(b"not a database at all").unwrap_err();
        assert!(matches!(err, Error::UnknownFormat));
        assert!(err.to_string().starts_with("Unknown rpmdb format"));
    }

    #[test]
    fn gpg_pubkey_is_skipped_and_bad_blobs_are_named() {
        let mut records = Records::default();
        records.blob(|| "one".into(), &header::tests::sample("gpg-pubkey"));
        records.blob(|| "two".into(), &header::tests::sample("openssl"));
        records.blob(|| "three".into(), b"\0\0");
        assert_eq!(records.packages.len(), 1);
        assert_eq!(records.packages[0].name, "openssl");
        assert_eq!(records.errors.len(), 1);
        let message = records.errors[0].to_string();
        assert!(
            message.starts_with("Package record three: Header blob too short"),
            "{message}"
        );
    }
}
