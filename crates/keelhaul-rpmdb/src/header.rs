//! The rpm header blob: the record all three database formats store, one per package.
//!
//! Layout (all integers big-endian):
//!
//! ```text
//! il: u32            number of index entries
//! dl: u32            size of the data area in bytes
//! il × { tag: u32, type: u32, offset: u32, count: u32 }
//! dl bytes of data   entries point into this by offset
//! ```
//!
//! Entries are looked up lazily by scanning the index, so nothing is allocated for tags
//! this crate does not use; and every offset and count is checked against the data area
//! before it is followed.

use crate::RpmPackage;
use crate::bytes::{Order, slice_at, to_usize, u32_at, u64_at};
use crate::error::Error;

/// rpm's own cap on the number of index entries (`HEADER_TAGS_MAX`).
const MAX_INDEX_ENTRIES: u32 = 0xffff;
/// rpm's own cap on the data area (`HEADER_DATA_MAX`, 256 MiB).
const MAX_DATA_LEN: u32 = 0x0fff_ffff;
/// Size of one index entry.
const ENTRY_SIZE: usize = 16;
/// Size of the `il` and `dl` counts at the start.
const PREAMBLE_SIZE: usize = 8;
/// How much the file list may take relative to the data area. Full paths repeat the
/// directory name once per file, so a hostile header could name one long directory a
/// million times; real headers store far more per file (digests, modes, owners…) than
/// the joined path costs, so four times the data area never rejects a real package.
const FILE_LIST_BUDGET_FACTOR: u64 = 4;

/// Tag numbers this crate reads (from rpm's `rpmtag.h`).
mod tag {
    pub const NAME: u32 = 1000;
    pub const VERSION: u32 = 1001;
    pub const RELEASE: u32 = 1002;
    pub const EPOCH: u32 = 1003;
    pub const SUMMARY: u32 = 1004;
    pub const SIZE: u32 = 1009;
    pub const VENDOR: u32 = 1011;
    pub const LICENSE: u32 = 1014;
    pub const ARCH: u32 = 1022;
    pub const OLDFILENAMES: u32 = 1027;
    pub const SOURCERPM: u32 = 1044;
    pub const DIRINDEXES: u32 = 1116;
    pub const BASENAMES: u32 = 1117;
    pub const DIRNAMES: u32 = 1118;
    pub const LONGSIZE: u32 = 5009;
    pub const MODULARITYLABEL: u32 = 5096;
}

/// Data types of index entries (rpm's `rpmTagType`).
mod kind {
    pub const INT32: u32 = 4;
    pub const INT64: u32 = 5;
    pub const STRING: u32 = 6;
    pub const STRING_ARRAY: u32 = 8;
    pub const I18NSTRING: u32 = 9;
}

/// rpm's name for a tag, for error messages.
fn tag_name(tag: u32) -> &'static str {
    match tag {
        tag::NAME => "NAME",
        tag::VERSION => "VERSION",
        tag::RELEASE => "RELEASE",
        tag::EPOCH => "EPOCH",
        tag::SUMMARY => "SUMMARY",
        tag::SIZE => "SIZE",
        tag::VENDOR => "VENDOR",
        tag::LICENSE => "LICENSE",
        tag::ARCH => "ARCH",
        tag::OLDFILENAMES => "OLDFILENAMES",
        tag::SOURCERPM => "SOURCERPM",
        tag::DIRINDEXES => "DIRINDEXES",
        tag::BASENAMES => "BASENAMES",
        tag::DIRNAMES => "DIRNAMES",
        tag::LONGSIZE => "LONGSIZE",
        tag::MODULARITYLABEL => "MODULARITYLABEL",
        _ => "unknown",
    }
}

/// Parses one header blob into a package. See the crate documentation for the layout.
///
/// Packages named `gpg-pubkey` are returned like any other; [`crate::read`] is what
/// leaves them out.
///
/// # Errors
///
/// Any structural problem (counts beyond rpm's limits, a blob shorter than its counts,
/// an entry pointing outside the data area, a string without its NUL terminator, a tag
/// of the wrong type), a missing `NAME`, `VERSION` or `RELEASE`, or file-name tags that
/// do not fit together.
pub fn parse_header_blob(blob: &[u8]) -> Result<RpmPackage, Error> {
    let header = Header::parse(blob)?;
    Ok(RpmPackage {
        name: header.required_string(tag::NAME)?,
        epoch: header.first_u32(tag::EPOCH)?,
        version: header.required_string(tag::VERSION)?,
        release: header.required_string(tag::RELEASE)?,
        arch: header.string(tag::ARCH)?,
        source_rpm: header.string(tag::SOURCERPM)?,
        vendor: header.string(tag::VENDOR)?,
        license: header.string(tag::LICENSE)?,
        summary: header.string(tag::SUMMARY)?,
        size: header.size()?,
        modularity_label: header.string(tag::MODULARITYLABEL)?,
        files: header.file_paths()?,
    })
}

/// One index entry.
#[derive(Debug, Clone, Copy)]
struct Entry {
    tag: u32,
    kind: u32,
    offset: u32,
    count: u32,
}

/// A header blob whose counts have been checked against its length.
struct Header<'a> {
    index: &'a [u8],
    data: &'a [u8],
}

impl<'a> Header<'a> {
    fn parse(blob: &'a [u8]) -> Result<Self, Error> {
        let too_short = || Error::HeaderTooShort { len: blob.len() };
        let index_count = u32_at(blob, 0, Order::Big).ok_or_else(too_short)?;
        let data_len = u32_at(blob, 4, Order::Big).ok_or_else(too_short)?;
        if index_count > MAX_INDEX_ENTRIES || data_len > MAX_DATA_LEN {
            return Err(Error::HeaderLimits {
                index_count,
                data_len,
            });
        }
        // Both counts are capped above, so this cannot overflow a u64.
        let index_len = u64::from(index_count) * ENTRY_SIZE as u64;
        let needed = PREAMBLE_SIZE as u64 + index_len + u64::from(data_len);
        let truncated = || Error::HeaderTruncated {
            needed,
            len: blob.len(),
        };
        let index_len = usize::try_from(index_len).map_err(|_| truncated())?;
        let data_len = to_usize(data_len).ok_or_else(truncated)?;
        let index = slice_at(blob, PREAMBLE_SIZE, index_len).ok_or_else(truncated)?;
        // Bytes after the data area are ignored, as rpm does.
        let data = slice_at(blob, PREAMBLE_SIZE + index_len, data_len).ok_or_else(truncated)?;
        Ok(Self { index, data })
    }

    fn entries(&self) -> impl Iterator<Item = Entry> + '_ {
        self.index.chunks_exact(ENTRY_SIZE).filter_map(|raw| {
            Some(Entry {
                tag: u32_at(raw, 0, Order::Big)?,
                kind: u32_at(raw, 4, Order::Big)?,
                offset: u32_at(raw, 8, Order::Big)?,
                count: u32_at(raw, 12, Order::Big)?,
            })
        })
    }

    /// The entry for `tag`. When a tag occurs twice the later entry wins: rpm appends
    /// "dribble" entries after the immutable region and lets them replace earlier ones.
    fn find(&self, tag: u32) -> Option<Entry> {
        self.entries().filter(|entry| entry.tag == tag).last()
    }

    fn bad(entry: Entry, reason: impl Into<String>) -> Error {
        Error::HeaderTag {
            tag: entry.tag,
            name: tag_name(entry.tag),
            offset: entry.offset,
            reason: reason.into(),
        }
    }

    /// Data from the entry's offset to the end of the data area.
    fn tail(&self, entry: Entry) -> Result<&'a [u8], Error> {
        to_usize(entry.offset)
            .and_then(|offset| self.data.get(offset..))
            .ok_or_else(|| Self::bad(entry, "offset is past the end of the data area"))
    }

    fn check_kind(entry: Entry, allowed: &[u32]) -> Result<(), Error> {
        if !allowed.contains(&entry.kind) {
            return Err(Self::bad(entry, format!("unexpected type {}", entry.kind)));
        }
        if entry.count == 0 {
            return Err(Self::bad(entry, "count is zero"));
        }
        Ok(())
    }

    /// The `count` fixed-size numbers the entry declares, checked to lie in the data area.
    fn numbers(&self, entry: Entry, kind: u32, width: usize) -> Result<&'a [u8], Error> {
        Self::check_kind(entry, &[kind])?;
        let tail = self.tail(entry)?;
        to_usize(entry.count)
            .and_then(|count| count.checked_mul(width))
            .and_then(|len| tail.get(..len))
            .ok_or_else(|| Self::bad(entry, "values run past the end of the data area"))
    }

    fn first_u32(&self, tag: u32) -> Result<Option<u32>, Error> {
        let Some(entry) = self.find(tag) else {
            return Ok(None);
        };
        let values = self.numbers(entry, kind::INT32, 4)?;
        Ok(u32_at(values, 0, Order::Big))
    }

    fn first_u64(&self, tag: u32) -> Result<Option<u64>, Error> {
        let Some(entry) = self.find(tag) else {
            return Ok(None);
        };
        let values = self.numbers(entry, kind::INT64, 8)?;
        Ok(u64_at(values, 0, Order::Big))
    }

    /// Installed size: `LONGSIZE` when present (packages over 4 GiB need it), else `SIZE`.
    fn size(&self) -> Result<Option<u64>, Error> {
        match self.first_u64(tag::LONGSIZE)? {
            Some(size) => Ok(Some(size)),
            None => Ok(self.first_u32(tag::SIZE)?.map(u64::from)),
        }
    }

    /// A single string. `I18NSTRING` entries hold one string per locale; the first is the
    /// untranslated one, which is what `rpm -q` prints without a locale.
    fn string(&self, tag: u32) -> Result<Option<String>, Error> {
        let Some(entry) = self.find(tag) else {
            return Ok(None);
        };
        Self::check_kind(entry, &[kind::STRING, kind::I18NSTRING])?;
        let mut strings = Strings::new(entry, self.tail(entry)?);
        let first = strings
            .next()
            .unwrap_or_else(|| Err(Self::bad(entry, "no string")))?;
        Ok(Some(text(first)))
    }

    fn required_string(&self, tag: u32) -> Result<String, Error> {
        self.string(tag)?.ok_or(Error::MissingTag {
            tag,
            name: tag_name(tag),
        })
    }

    /// The strings of a `STRING_ARRAY` entry, parsed lazily.
    fn string_array(&self, tag: u32) -> Result<Option<Strings<'a>>, Error> {
        let Some(entry) = self.find(tag) else {
            return Ok(None);
        };
        Self::check_kind(entry, &[kind::STRING_ARRAY])?;
        let tail = self.tail(entry)?;
        // Every string takes at least its NUL byte, so a larger count cannot be honest;
        // refusing it early keeps a bogus count from driving a long loop.
        if to_usize(entry.count).is_none_or(|count| count > tail.len()) {
            return Err(Self::bad(
                entry,
                "more strings than bytes left in the data area",
            ));
        }
        Ok(Some(Strings::new(entry, tail)))
    }

    /// Full paths of the package's files: `DIRNAMES[DIRINDEXES[i]] + BASENAMES[i]`, or
    /// `OLDFILENAMES` in headers from before rpm 4.0 compressed file names.
    fn file_paths(&self) -> Result<Vec<String>, Error> {
        let mut budget = FileBudget::new(self.data.len());
        if let Some(basenames) = self.string_array(tag::BASENAMES)? {
            return self.joined_paths(basenames, &mut budget);
        }
        let Some(old_names) = self.string_array(tag::OLDFILENAMES)? else {
            return Ok(Vec::new());
        };
        let mut files = Vec::new();
        for name in old_names {
            let name = name?;
            budget.spend(name.len())?;
            files.push(text(name));
        }
        Ok(files)
    }

    fn joined_paths(
        &self,
        basenames: Strings<'a>,
        budget: &mut FileBudget,
    ) -> Result<Vec<String>, Error> {
        let files_error = |reason: &str| Error::HeaderFiles {
            reason: reason.to_owned(),
        };
        let indexes_entry = self
            .find(tag::DIRINDEXES)
            .ok_or_else(|| files_error("BASENAMES without DIRINDEXES"))?;
        let dirnames = self
            .string_array(tag::DIRNAMES)?
            .ok_or_else(|| files_error("BASENAMES without DIRNAMES"))?;
        if indexes_entry.count != basenames.count {
            return Err(Error::HeaderFiles {
                reason: format!(
                    "{} BASENAMES but {} DIRINDEXES",
                    basenames.count, indexes_entry.count
                ),
            });
        }
        let indexes = self.numbers(indexes_entry, kind::INT32, 4)?;
        let indexes: Vec<u32> = indexes
            .chunks_exact(4)
            .filter_map(|raw| u32_at(raw, 0, Order::Big))
            .collect();
        let dirs = used_dirnames(dirnames, &indexes)?;

        let mut files = Vec::new();
        for (basename, &index) in basenames.zip(&indexes) {
            let basename = basename?;
            let dir = to_usize(index)
                .and_then(|index| dirs.get(index))
                .ok_or_else(|| Error::HeaderFiles {
                    reason: format!(
                        "directory index {index} out of range ({} DIRNAMES)",
                        dirs.len()
                    ),
                })?;
            budget.spend(dir.len() + basename.len())?;
            let mut path = Vec::with_capacity(dir.len() + basename.len());
            path.extend_from_slice(dir);
            path.extend_from_slice(basename);
            files.push(text_owned(path));
        }
        Ok(files)
    }
}

/// The directory names up to the highest index any file uses. Stopping there bounds the
/// table by the number of files rather than by a count the header merely declares.
fn used_dirnames<'a>(dirnames: Strings<'a>, indexes: &[u32]) -> Result<Vec<&'a [u8]>, Error> {
    let Some(&highest) = indexes.iter().max() else {
        return Ok(Vec::new());
    };
    let wanted = to_usize(highest).map_or(usize::MAX, |highest| highest.saturating_add(1));
    dirnames.take(wanted).collect()
}

/// Caps the memory the file list may take; see [`FILE_LIST_BUDGET_FACTOR`].
struct FileBudget {
    left: u64,
}

impl FileBudget {
    fn new(data_len: usize) -> Self {
        let data_len = u64::try_from(data_len).unwrap_or(u64::MAX);
        Self {
            left: data_len.saturating_mul(FILE_LIST_BUDGET_FACTOR),
        }
    }

    /// Accounts for one path of `len` bytes plus the `String` that holds it.
    fn spend(&mut self, len: usize) -> Result<(), Error> {
        let cost = u64::try_from(len.saturating_add(size_of::<String>())).unwrap_or(u64::MAX);
        self.left = self
            .left
            .checked_sub(cost)
            .ok_or_else(|| Error::HeaderFiles {
                reason: "file paths would take more than four times the header's data area".into(),
            })?;
        Ok(())
    }
}

/// Iterates over the NUL-terminated strings an entry declares.
struct Strings<'a> {
    entry: Entry,
    rest: &'a [u8],
    count: u32,
    left: u32,
}

impl<'a> Strings<'a> {
    fn new(entry: Entry, tail: &'a [u8]) -> Self {
        Self {
            entry,
            rest: tail,
            count: entry.count,
            left: entry.count,
        }
    }
}

impl<'a> Iterator for Strings<'a> {
    type Item = Result<&'a [u8], Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let Some(end) = self.rest.iter().position(|&byte| byte == 0) else {
            // Stop after reporting once: the remaining strings cannot be found either.
            self.left = 0;
            return Some(Err(Header::bad(
                self.entry,
                "string is not NUL-terminated within the data area",
            )));
        };
        let (string, rest) = self.rest.split_at(end);
        self.rest = rest.get(1..).unwrap_or_default();
        self.left -= 1;
        Some(Ok(string))
    }
}

/// rpm strings are meant to be UTF-8, but old packages carry Latin-1 in summaries and
/// vendor names; replacing the odd byte is more useful to a scanner than failing.
fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// [`text`] for a buffer we already own, without copying it when it is valid UTF-8.
fn text_owned(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap_or_else(|err| text(err.as_bytes()))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A value to put in a hand-built header.
    pub(crate) enum Value<'a> {
        Str(&'a str),
        I18n(&'a [&'a str]),
        Strs(&'a [&'a str]),
        Int32(&'a [u32]),
        Int64(u64),
    }

    /// Builds a header blob the way rpm lays it out (entries in the order given, data
    /// packed, integers aligned).
    pub(crate) fn build(entries: &[(u32, Value<'_>)]) -> Vec<u8> {
        let mut index = Vec::new();
        let mut data: Vec<u8> = Vec::new();
        for (tag, value) in entries {
            let (kind, count, bytes, align) = encode(value);
            while !data.len().is_multiple_of(align) {
                data.push(0);
            }
            index.extend_from_slice(&tag.to_be_bytes());
            index.extend_from_slice(&kind.to_be_bytes());
            index.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
            index.extend_from_slice(&count.to_be_bytes());
            data.extend_from_slice(&bytes);
        }
        let mut blob = Vec::new();
        blob.extend_from_slice(&u32::try_from(entries.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(&u32::try_from(data.len()).unwrap().to_be_bytes());
        blob.extend_from_slice(&index);
        blob.extend_from_slice(&data);
        blob
    }

    fn encode(value: &Value<'_>) -> (u32, u32, Vec<u8>, usize) {
        let strings = |list: &[&str]| -> Vec<u8> {
            list.iter()
                .flat_map(|s| s.bytes().chain(std::iter::once(0)))
                .collect()
        };
        let len = |n: usize| u32::try_from(n).unwrap();
        match value {
            Value::Str(s) => (kind::STRING, 1, strings(&[s]), 1),
            Value::I18n(list) => (kind::I18NSTRING, len(list.len()), strings(list), 1),
            Value::Strs(list) => (kind::STRING_ARRAY, len(list.len()), strings(list), 1),
            Value::Int32(list) => (
                kind::INT32,
                len(list.len()),
                list.iter().flat_map(|v| v.to_be_bytes()).collect(),
                4,
            ),
            Value::Int64(v) => (kind::INT64, 1, v.to_be_bytes().to_vec(), 8),
        }
    }

    /// A typical modern header: compressed file names, epoch, LONGSIZE absent.
    pub(crate) fn sample(name: &str) -> Vec<u8> {
        build(&[
            (tag::NAME, Value::Str(name)),
            (tag::VERSION, Value::Str("3.0.7")),
            (tag::RELEASE, Value::Str("25.el9_3")),
            (tag::EPOCH, Value::Int32(&[1])),
            (
                tag::SUMMARY,
                Value::I18n(&[
                    "Utilities from the general purpose cryptography library",
                    "Traduction",
                ]),
            ),
            (tag::SIZE, Value::Int32(&[4096])),
            (tag::VENDOR, Value::Str("Red Hat, Inc.")),
            (tag::LICENSE, Value::Str("ASL 2.0")),
            (tag::ARCH, Value::Str("x86_64")),
            (tag::SOURCERPM, Value::Str("openssl-3.0.7-25.el9_3.src.rpm")),
            (tag::DIRINDEXES, Value::Int32(&[0, 1, 1])),
            (
                tag::BASENAMES,
                Value::Strs(&["openssl", "libssl.so.3", "libcrypto.so.3"]),
            ),
            (tag::DIRNAMES, Value::Strs(&["/usr/bin/", "/usr/lib64/"])),
        ])
    }

    /// The smallest header [`parse_header_blob`] accepts.
    pub(crate) fn minimal(name: &str) -> Vec<u8> {
        build(&[
            (tag::NAME, Value::Str(name)),
            (tag::VERSION, Value::Str("1.0")),
            (tag::RELEASE, Value::Str("1")),
        ])
    }

    /// Overwrites the `field`th u32 (0 tag, 1 type, 2 offset, 3 count) of index entry `i`.
    fn patch_entry(blob: &mut [u8], i: usize, field: usize, value: u32) {
        let at = PREAMBLE_SIZE + i * ENTRY_SIZE + field * 4;
        blob[at..at + 4].copy_from_slice(&value.to_be_bytes());
    }

    #[test]
    fn parses_every_field() {
        let pkg = parse_header_blob(&sample("openssl")).unwrap();
        assert_eq!(pkg.name, "openssl");
        assert_eq!(pkg.epoch, Some(1));
        assert_eq!(pkg.version, "3.0.7");
        assert_eq!(pkg.release, "25.el9_3");
        assert_eq!(pkg.arch.as_deref(), Some("x86_64"));
        assert_eq!(
            pkg.source_rpm.as_deref(),
            Some("openssl-3.0.7-25.el9_3.src.rpm")
        );
        assert_eq!(pkg.vendor.as_deref(), Some("Red Hat, Inc."));
        assert_eq!(pkg.license.as_deref(), Some("ASL 2.0"));
        assert_eq!(
            pkg.summary.as_deref(),
            Some("Utilities from the general purpose cryptography library")
        );
        assert_eq!(pkg.size, Some(4096));
        assert_eq!(pkg.modularity_label, None);
        assert_eq!(
            pkg.files,
            [
                "/usr/bin/openssl",
                "/usr/lib64/libssl.so.3",
                "/usr/lib64/libcrypto.so.3"
            ]
        );
    }

    #[test]
    fn minimal_header_has_no_optional_fields() {
        let blob = build(&[
            (tag::NAME, Value::Str("gpg-pubkey")),
            (tag::VERSION, Value::Str("fd431d51")),
            (tag::RELEASE, Value::Str("4ae0493b")),
        ]);
        let pkg = parse_header_blob(&blob).unwrap();
        assert_eq!(pkg.name, "gpg-pubkey");
        assert_eq!((pkg.epoch, pkg.arch, pkg.size), (None, None, None));
        assert!(pkg.files.is_empty());
    }

    #[test]
    fn longsize_wins_over_size_and_modularity_label_is_read() {
        let blob = build(&[
            (tag::NAME, Value::Str("nodejs")),
            (tag::VERSION, Value::Str("10.21.0")),
            (tag::RELEASE, Value::Str("3.module_el8.2.0+391+8da3adc6")),
            (tag::SIZE, Value::Int32(&[1])),
            (tag::LONGSIZE, Value::Int64(5_000_000_000)),
            (
                tag::MODULARITYLABEL,
                Value::Str("nodejs:10:8020020200707141642:6a468ee4"),
            ),
        ]);
        let pkg = parse_header_blob(&blob).unwrap();
        assert_eq!(pkg.size, Some(5_000_000_000));
        assert_eq!(
            pkg.modularity_label.as_deref(),
            Some("nodejs:10:8020020200707141642:6a468ee4")
        );
    }

    #[test]
    fn old_file_names_are_used_when_there_are_no_basenames() {
        let blob = build(&[
            (tag::NAME, Value::Str("bash")),
            (tag::VERSION, Value::Str("2.05")),
            (tag::RELEASE, Value::Str("8")),
            (tag::OLDFILENAMES, Value::Strs(&["/bin/bash", "/bin/sh"])),
        ]);
        assert_eq!(
            parse_header_blob(&blob).unwrap().files,
            ["/bin/bash", "/bin/sh"]
        );
    }

    #[test]
    fn later_duplicate_entry_replaces_earlier_one() {
        let blob = build(&[
            (tag::NAME, Value::Str("old")),
            (tag::VERSION, Value::Str("1")),
            (tag::RELEASE, Value::Str("1")),
            (tag::NAME, Value::Str("new")),
        ]);
        assert_eq!(parse_header_blob(&blob).unwrap().name, "new");
    }

    #[test]
    fn missing_name_is_reported() {
        let blob = build(&[
            (tag::VERSION, Value::Str("1")),
            (tag::RELEASE, Value::Str("1")),
        ]);
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(
            matches!(err, Error::MissingTag { tag: tag::NAME, .. }),
            "{err}"
        );
    }

    #[test]
    fn too_short_for_the_counts() {
        for len in 0..8 {
            let err = parse_header_blob(&sample("x")[..len]).unwrap_err();
            assert!(
                matches!(err, Error::HeaderTooShort { len: l } if l == len),
                "{err}"
            );
        }
    }

    #[test]
    fn every_truncation_is_an_error() {
        let blob = sample("openssl");
        for len in 8..blob.len() {
            let err = parse_header_blob(&blob[..len]).unwrap_err();
            assert!(
                matches!(err, Error::HeaderTruncated { .. }),
                "len {len}: {err}"
            );
        }
    }

    #[test]
    fn huge_counts_are_refused_before_anything_is_read() {
        let mut blob = sample("openssl");
        blob[..4].copy_from_slice(&0x0001_0000u32.to_be_bytes());
        assert!(matches!(
            parse_header_blob(&blob).unwrap_err(),
            Error::HeaderLimits {
                index_count: 0x0001_0000,
                ..
            }
        ));
        let mut blob = sample("openssl");
        blob[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        assert!(matches!(
            parse_header_blob(&blob).unwrap_err(),
            Error::HeaderLimits {
                data_len: u32::MAX,
                ..
            }
        ));
        // Within the limits but far beyond the blob.
        let mut blob = sample("openssl");
        blob[4..8].copy_from_slice(&MAX_DATA_LEN.to_be_bytes());
        assert!(matches!(
            parse_header_blob(&blob).unwrap_err(),
            Error::HeaderTruncated { .. }
        ));
    }

    #[test]
    fn offset_past_the_data_area() {
        let mut blob = sample("openssl");
        patch_entry(&mut blob, 0, 2, 0x7fff_ffff);
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::HeaderTag {
                    tag: tag::NAME,
                    offset: 0x7fff_ffff,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn string_without_nul() {
        let mut blob = build(&[
            (tag::NAME, Value::Str("abc")),
            (tag::VERSION, Value::Str("1")),
            (tag::RELEASE, Value::Str("1")),
            (tag::LICENSE, Value::Str("MIT")),
        ]);
        // The last string is the licence; drop its NUL by shrinking the data area.
        let len = blob.len();
        blob.truncate(len - 1);
        let dl = u32::from_be_bytes(blob[4..8].try_into().unwrap()) - 1;
        blob[4..8].copy_from_slice(&dl.to_be_bytes());
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::HeaderTag {
                    tag: tag::LICENSE,
                    ..
                }
            ),
            "{err}"
        );
        assert!(err.to_string().contains("NUL"), "{err}");
    }

    #[test]
    fn wrong_type_and_zero_count() {
        let mut blob = sample("openssl");
        patch_entry(&mut blob, 1, 1, kind::INT32); // VERSION claims to be a number
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::HeaderTag {
                    tag: tag::VERSION,
                    ..
                }
            ),
            "{err}"
        );

        let mut blob = sample("openssl");
        patch_entry(&mut blob, 3, 3, 0); // EPOCH with no values
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(err.to_string().contains("count is zero"), "{err}");
    }

    #[test]
    fn numbers_running_past_the_end() {
        let mut blob = sample("openssl");
        patch_entry(&mut blob, 10, 3, 0x4000_0000); // DIRINDEXES no longer matches BASENAMES
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(
            err.to_string()
                .contains("3 BASENAMES but 1073741824 DIRINDEXES"),
            "{err}"
        );
        let mut blob = sample("openssl");
        patch_entry(&mut blob, 3, 3, 0x4000_0000); // EPOCH count × 4 past the end
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::HeaderTag {
                    tag: tag::EPOCH,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn bogus_string_array_count() {
        let mut blob = sample("openssl");
        patch_entry(&mut blob, 11, 3, u32::MAX); // BASENAMES
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(
            matches!(
                &err,
                Error::HeaderTag {
                    tag: tag::BASENAMES,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn directory_index_out_of_range() {
        let mut blob = sample("openssl");
        // DIRINDEXES data holds [0, 1, 1]; make the last one 7.
        let offset = {
            let at = PREAMBLE_SIZE + 10 * ENTRY_SIZE + 8;
            u32::from_be_bytes(blob[at..at + 4].try_into().unwrap()) as usize
        };
        let data_start = PREAMBLE_SIZE + 13 * ENTRY_SIZE;
        let at = data_start + offset + 8;
        blob[at..at + 4].copy_from_slice(&7u32.to_be_bytes());
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(err.to_string().contains("directory index 7"), "{err}");
    }

    #[test]
    fn basenames_without_dirnames() {
        let blob = build(&[
            (tag::NAME, Value::Str("x")),
            (tag::VERSION, Value::Str("1")),
            (tag::RELEASE, Value::Str("1")),
            (tag::DIRINDEXES, Value::Int32(&[0])),
            (tag::BASENAMES, Value::Strs(&["a"])),
        ]);
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(err.to_string().contains("without DIRNAMES"), "{err}");
    }

    #[test]
    fn one_long_directory_repeated_exhausts_the_budget() {
        // 2000 one-byte basenames all in one 4000-byte directory: about 8 MB of paths
        // from a header of about 14 kB.
        let dir = format!("/{}/", "d".repeat(4000));
        let basenames = vec!["f"; 2000];
        let indexes = vec![0u32; 2000];
        let blob = build(&[
            (tag::NAME, Value::Str("x")),
            (tag::VERSION, Value::Str("1")),
            (tag::RELEASE, Value::Str("1")),
            (tag::DIRINDEXES, Value::Int32(&indexes)),
            (tag::BASENAMES, Value::Strs(&basenames)),
            (tag::DIRNAMES, Value::Strs(&[&dir])),
        ]);
        let err = parse_header_blob(&blob).unwrap_err();
        assert!(err.to_string().contains("four times"), "{err}");
    }

    #[test]
    fn invalid_utf8_is_replaced_not_fatal() {
        let mut blob = build(&[
            (tag::NAME, Value::Str("x")),
            (tag::VERSION, Value::Str("1")),
            (tag::RELEASE, Value::Str("1")),
            (tag::VENDOR, Value::Str("Caf?")),
        ]);
        let at = blob.len() - 2;
        assert_eq!(blob[at], b'?');
        blob[at] = 0xe9; // Latin-1 é
        let pkg = parse_header_blob(&blob).unwrap();
        assert_eq!(pkg.vendor.as_deref(), Some("Caf\u{fffd}"));
    }

    #[test]
    fn every_single_byte_corruption_is_handled() {
        let blob = sample("openssl");
        for at in 0..blob.len() {
            for value in [0x00, 0x01, 0x7f, 0x80, 0xff] {
                let mut bad = blob.clone();
                bad[at] = value;
                // Ok or Err are both fine; the point is that nothing panics.
                let _ = parse_header_blob(&bad);
            }
        }
    }
}
