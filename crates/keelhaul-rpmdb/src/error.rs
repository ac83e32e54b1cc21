//! The crate's single error type.

/// Everything that can go wrong while reading an rpmdb.
///
/// Errors that make the whole database unreadable are returned by [`crate::read`];
/// problems confined to one record end up in [`crate::Database::errors`] (wrapped in
/// [`Error::Record`], which says which record) while the other records are still read.
///
/// Messages are short capitalised phrases that name what is wrong and where. Variants
/// that wrap another error include its text in their own message rather than exposing
/// it as [`std::error::Error::source`], so printing one error never repeats itself.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The bytes start with none of the three known magic numbers.
    #[error("Unknown rpmdb format: no SQLite, Berkeley DB hash or NDB magic found")]
    UnknownFormat,

    /// SQLite could not open or query the database. The text is SQLite's own message; it
    /// is kept as a string so that the rusqlite version does not leak into this API.
    #[error("SQLite rpmdb unreadable: {detail}")]
    Sqlite {
        /// What SQLite reported.
        detail: String,
    },

    /// SQLite failed part-way through the `Packages` table (a truncated or damaged file):
    /// the rows before the failure were read, the rest were not.
    #[error("SQLite rpmdb damaged: {rows} rows read, then: {detail}")]
    SqliteDamaged {
        /// Rows read before the failure.
        rows: usize,
        /// What SQLite reported.
        detail: String,
    },

    /// The Berkeley DB metadata page (page 0) is missing, damaged or describes a
    /// database this reader does not handle.
    #[error("Berkeley DB metadata page: {reason}")]
    BdbMetadata {
        /// What is wrong with it.
        reason: String,
    },

    /// A Berkeley DB hash page, or an item on it, is damaged.
    #[error("Berkeley DB page {page}: {reason}")]
    BdbPage {
        /// Page number (page 0 is the metadata page).
        page: u32,
        /// What is wrong with it.
        reason: String,
    },

    /// A chain of Berkeley DB overflow pages (which holds one header blob) is damaged.
    #[error("Berkeley DB overflow chain starting at page {start}: {reason} (at page {page})")]
    BdbOverflow {
        /// First page of the chain, as named by the hash item.
        start: u32,
        /// Page where the problem was found.
        page: u32,
        /// What is wrong.
        reason: String,
    },

    /// The NDB file header or its slot pages are missing or damaged.
    #[error("NDB header: {reason}")]
    NdbHeader {
        /// What is wrong with it.
        reason: String,
    },

    /// One NDB slot, or the blob it points at, is damaged.
    #[error("NDB slot {slot} (package index {pkgidx}): {reason}")]
    NdbSlot {
        /// Slot number, counted from the start of the file in 16-byte units (the first
        /// two slots are taken by the file header, so real slots start at 2).
        slot: u32,
        /// Package index the slot claims.
        pkgidx: u32,
        /// What is wrong.
        reason: String,
    },

    /// The header blob is shorter than the two counts at its start.
    #[error("Header blob too short: {len} bytes, need 8 for the entry and data counts")]
    HeaderTooShort {
        /// Length of the blob.
        len: usize,
    },

    /// The header blob's counts exceed the limits rpm itself enforces.
    #[error(
        "Header blob counts out of range: {index_count} index entries and {data_len} data bytes \
         (rpm allows at most 65535 entries and 256 MiB)"
    )]
    HeaderLimits {
        /// Declared number of index entries (`il`).
        index_count: u32,
        /// Declared size of the data area (`dl`).
        data_len: u32,
    },

    /// The header blob is shorter than its counts say.
    #[error("Header blob truncated: its counts need {needed} bytes but it has {len}")]
    HeaderTruncated {
        /// Bytes the counts call for: 8 + 16 × entries + data length.
        needed: u64,
        /// Bytes actually present.
        len: usize,
    },

    /// One index entry of a header blob is unusable.
    #[error("Header tag {tag} ({name}) at data offset {offset}: {reason}")]
    HeaderTag {
        /// Numeric tag.
        tag: u32,
        /// The tag's rpm name, e.g. `NAME`.
        name: &'static str,
        /// Offset into the data area that the entry names.
        offset: u32,
        /// What is wrong with it.
        reason: String,
    },

    /// A tag every package must have is absent.
    #[error("Header lacks required tag {tag} ({name})")]
    MissingTag {
        /// Numeric tag.
        tag: u32,
        /// The tag's rpm name.
        name: &'static str,
    },

    /// The file-name tags of a header do not fit together.
    #[error("Header file list unusable: {reason}")]
    HeaderFiles {
        /// What is wrong with it.
        reason: String,
    },

    /// One record of the database could not be read; the others were.
    #[error("Package record {record}: {problem}")]
    Record {
        /// Which record, in the format's own terms (SQLite `hnum`, Berkeley DB page and
        /// item, NDB slot).
        record: String,
        /// What went wrong with it.
        problem: Box<Error>,
    },
}

impl Error {
    /// Wraps a problem with one record, saying which record it was.
    pub(crate) fn record(record: impl Into<String>, problem: Error) -> Self {
        Self::Record {
            record: record.into(),
            problem: Box::new(problem),
        }
    }
}
