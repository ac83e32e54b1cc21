//! `rpmdb.sqlite`: header blobs in the table `Packages(hnum INTEGER PRIMARY KEY, blob BLOB)`.

use std::io::Read;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, MAIN_DB, OpenFlags, Row};

use crate::Records;
use crate::error::Error;

/// The 16-byte string every SQLite database file starts with.
pub(crate) const MAGIC: &[u8] = b"SQLite format 3\0";

/// Offset of the "file format write version" and "read version" bytes. rpm runs SQLite
/// in WAL mode, which sets both to 2; the in-memory VFS that deserialize uses cannot do
/// WAL and refuses such a file, so the copy handed to SQLite says 1 (rollback journal).
/// Reading is unaffected: the page format is the same.
const FORMAT_VERSION_OFFSET: usize = 18;

/// Offset of the page size (2 bytes, big-endian; 1 means 65536).
const PAGE_SIZE_OFFSET: usize = 16;

/// Offset of the "in-header database size", in pages (4 bytes, big-endian). A truncated
/// file (a layer cut short, an interrupted copy) still states its full size here, and
/// SQLite then refuses the whole file as malformed; the copy handed to SQLite states the
/// pages that are there, so the rows on them are read and the scan stops at the first
/// missing page (see [`read`]).
const PAGE_COUNT_OFFSET: usize = 28;

/// Reads all rows of `Packages`.
pub(crate) fn read(bytes: &[u8], records: &mut Records) -> Result<(), Error> {
    let conn = open(bytes).map_err(sqlite_error)?;
    check_packages_is_a_table(&conn)?;
    let mut statement = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(sqlite_error)?;
    let mut rows = statement.query([]).map_err(sqlite_error)?;
    let mut read = 0;
    loop {
        match rows.next() {
            Ok(Some(row)) => {
                read_row(row, records);
                read += 1;
            }
            Ok(None) => break,
            // A corrupt page ends the scan; keep what was read before it.
            Err(err) => {
                records.error(Error::SqliteDamaged {
                    rows: read,
                    detail: err.to_string(),
                });
                break;
            }
        }
    }
    Ok(())
}

/// Opens a read-only in-memory copy of the database. SQLite needs a buffer it owns, so
/// one copy of the input is made (with a patched header); nothing touches the file system.
fn open(bytes: &[u8]) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let (head, tail) = bytes.split_at((PAGE_COUNT_OFFSET + 4).min(bytes.len()));
    let mut head = head.to_vec();
    patch_header(&mut head, bytes.len());
    conn.deserialize_read_exact(MAIN_DB, head.as_slice().chain(tail), bytes.len(), true)?;
    Ok(conn)
}

/// Make the first bytes of a database of `len` bytes readable by the in-memory VFS: no
/// WAL ([`FORMAT_VERSION_OFFSET`]), no pages beyond the end ([`PAGE_COUNT_OFFSET`]).
fn patch_header(head: &mut [u8], len: usize) {
    if let Some(versions) = head.get_mut(FORMAT_VERSION_OFFSET..FORMAT_VERSION_OFFSET + 2) {
        versions.copy_from_slice(&[1, 1]);
    }
    let page_size = match head.get(PAGE_SIZE_OFFSET..PAGE_SIZE_OFFSET + 2) {
        Some(&[1, 0]) => 65536,
        Some(&[hi, lo]) => usize::from(u16::from_be_bytes([hi, lo])),
        _ => return,
    };
    // Not a valid page size: leave the header for SQLite to refuse.
    if !page_size.is_power_of_two() || page_size < 512 {
        return;
    }
    let present = u32::try_from(len / page_size).unwrap_or(u32::MAX);
    if let Some(count) = head.get_mut(PAGE_COUNT_OFFSET..PAGE_COUNT_OFFSET + 4) {
        let stated = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);
        if stated > present {
            count.copy_from_slice(&present.to_be_bytes());
        }
    }
}

/// A hostile file could make `Packages` a view over an expensive query; only a plain
/// table is read.
fn check_packages_is_a_table(conn: &Connection) -> Result<(), Error> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |row| row.get(0),
        )
        .map(Some)
        .or_else(|err| match err {
            rusqlite::Error::QueryReturnedNoRows => Ok(None),
            other => Err(other),
        })
        .map_err(sqlite_error)?;
    match kind.as_deref() {
        Some("table") => Ok(()),
        Some(other) => Err(Error::Sqlite {
            detail: format!("Packages is a {other}, not a table"),
        }),
        None => Err(Error::Sqlite {
            detail: "no Packages table".into(),
        }),
    }
}

fn read_row(row: &Row<'_>, records: &mut Records) {
    let hnum = match row.get_ref(0) {
        Ok(ValueRef::Integer(hnum)) => hnum.to_string(),
        _ => "with unreadable hnum".to_owned(),
    };
    let record = || format!("SQLite hnum {hnum}");
    match row.get_ref(1) {
        Ok(ValueRef::Blob(blob)) => records.blob(record, blob),
        Ok(other) => records.error(Error::record(
            record(),
            Error::Sqlite {
                detail: format!("blob column holds {:?}, not a blob", other.data_type()),
            },
        )),
        Err(err) => records.error(Error::record(record(), sqlite_error(err))),
    }
}

fn sqlite_error(err: rusqlite::Error) -> Error {
    Error::Sqlite {
        detail: err.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::tests::sample;
    use crate::{Format, read as read_db};

    /// Builds an rpmdb.sqlite image in memory the way rpm does (WAL mode included).
    fn database(rows: &[(i64, Vec<u8>)]) -> Vec<u8> {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(
            "CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL);",
        )
        .unwrap();
        for (hnum, blob) in rows {
            conn.execute("INSERT INTO Packages VALUES (?1, ?2)", (hnum, blob))
                .unwrap();
        }
        let mut bytes = conn.serialize(MAIN_DB).unwrap().to_vec();
        // What rpm's WAL-mode file looks like on disk.
        bytes[FORMAT_VERSION_OFFSET] = 2;
        bytes[FORMAT_VERSION_OFFSET + 1] = 2;
        bytes
    }

    #[test]
    fn reads_rows_in_hnum_order_and_skips_gpg_pubkey() {
        let bytes = database(&[
            (3, sample("zlib")),
            (1, sample("gpg-pubkey")),
            (2, sample("bash")),
        ]);
        let db = read_db(&bytes).unwrap();
        assert_eq!(db.format, Format::Sqlite);
        let names: Vec<_> = db.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["bash", "zlib"]);
        assert!(db.errors.is_empty(), "{:?}", db.errors);
    }

    #[test]
    fn bad_blob_is_a_record_error() {
        let bytes = database(&[(7, vec![0, 0, 0]), (8, sample("bash"))]);
        let db = read_db(&bytes).unwrap();
        assert_eq!(db.packages.len(), 1);
        assert_eq!(db.errors.len(), 1);
        let message = db.errors[0].to_string();
        assert!(message.starts_with("Package record SQLite hnum 7: Header blob too short"));
    }

    #[test]
    fn a_truncated_file_gives_the_rows_before_the_cut() {
        let rows: Vec<(i64, Vec<u8>)> = (1..=300)
            .map(|i| (i, sample(&format!("package-{i:03}"))))
            .collect();
        let bytes = database(&rows);
        let db = read_db(&bytes[..bytes.len() / 2]).unwrap();
        let read = db.packages.len();
        assert!(read > 50 && read < 300, "{read} packages read");
        // In hnum order, up to the first missing page.
        assert_eq!(db.packages[read - 1].name, format!("package-{read:03}"));
        assert_eq!(db.errors.len(), 1, "{:?}", db.errors);
        assert_eq!(
            db.errors[0].to_string(),
            format!(
                "SQLite rpmdb damaged: {read} rows read, then: database disk image is malformed"
            )
        );
    }

    #[test]
    fn missing_table_and_view_are_refused() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE Other (x); CREATE VIEW Packages AS SELECT 1, x'00';")
            .unwrap();
        let bytes = conn.serialize(MAIN_DB).unwrap().to_vec();
        let err = read_db(&bytes).unwrap_err();
        assert!(err.to_string().contains("Packages is a view"), "{err}");

        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE Other (x);").unwrap();
        let bytes = conn.serialize(MAIN_DB).unwrap().to_vec();
        let err = read_db(&bytes).unwrap_err();
        assert!(err.to_string().contains("no Packages table"), "{err}");
    }

    #[test]
    fn truncated_and_garbage_files_are_errors_not_panics() {
        let bytes = database(&[(1, sample("bash"))]);
        for len in [
            16,
            17,
            18,
            19,
            20,
            100,
            512,
            bytes.len() / 2,
            bytes.len() - 1,
        ] {
            // Any result is acceptable as long as it does not panic.
            let _ = read_db(&bytes[..len]);
        }
        let mut garbage = MAGIC.to_vec();
        garbage.extend(std::iter::repeat_n(0xa5, 4096));
        assert!(matches!(read_db(&garbage), Err(Error::Sqlite { .. })));
    }
}
