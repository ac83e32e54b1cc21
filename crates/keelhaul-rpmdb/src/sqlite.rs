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

/// Reads all rows of `Packages`.
pub(crate) fn read(bytes: &[u8], records: &mut Records) -> Result<(), Error> {
    let conn = open(bytes).map_err(sqlite_error)?;
    check_packages_is_a_table(&conn)?;
    let mut statement = conn
        .prepare("SELECT hnum, blob FROM Packages ORDER BY hnum")
        .map_err(sqlite_error)?;
    let mut rows = statement.query([]).map_err(sqlite_error)?;
    loop {
        match rows.next() {
            Ok(Some(row)) => read_row(row, records),
            Ok(None) => break,
            // A corrupt page ends the scan; keep what was read before it.
            Err(err) => {
                records.error(sqlite_error(err));
                break;
            }
        }
    }
    Ok(())
}

/// Opens a read-only in-memory copy of the database. SQLite needs a buffer it owns, so
/// one copy of the input is made; nothing touches the file system.
fn open(bytes: &[u8]) -> rusqlite::Result<Connection> {
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    let (head, rest) = bytes.split_at(FORMAT_VERSION_OFFSET.min(bytes.len()));
    let versions: &[u8] = if rest.len() >= 2 { &[1, 1] } else { &[] };
    let tail = rest.get(versions.len()..).unwrap_or_default();
    let patched = head.chain(versions).chain(tail);
    conn.deserialize_read_exact(MAIN_DB, patched, bytes.len(), true)?;
    Ok(conn)
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
