//! The database: one SQLite file.
//!
//! Advisories are stored as JSON bodies (the matcher needs all of one package's records at
//! once, never a column of them) with one `affected` row per (ecosystem, package) so a
//! lookup is one indexed query. Every row belongs to a *source* (a name chosen at import:
//! the file name, or a feed name for `db update`); importing a source again replaces that
//! source's rows and nothing else, inside one transaction, so an interrupted import leaves
//! the previous database as it was.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, OptionalExtension, params};

use crate::model::{Advisory, Affected, Enrichment};

/// The schema this build reads and writes. Bump it with every incompatible change; an
/// older file is refused with a hint to rebuild it.
pub const SCHEMA_VERSION: i64 = 1;

/// The first 16 bytes of every SQLite file.
pub const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sources (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    origin TEXT NOT NULL,
    formats TEXT NOT NULL,
    imported_at TEXT NOT NULL,
    advisories INTEGER NOT NULL,
    affected INTEGER NOT NULL,
    enrichments INTEGER NOT NULL,
    skipped INTEGER NOT NULL,
    errors INTEGER NOT NULL,
    etag TEXT,
    last_modified TEXT
);
CREATE TABLE IF NOT EXISTS advisories (
    id INTEGER PRIMARY KEY,
    source_id INTEGER NOT NULL,
    advisory_id TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS advisories_source ON advisories(source_id);
CREATE TABLE IF NOT EXISTS affected (
    advisory INTEGER NOT NULL,
    source_id INTEGER NOT NULL,
    ecosystem TEXT NOT NULL,
    package TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS affected_lookup ON affected(ecosystem, package);
CREATE INDEX IF NOT EXISTS affected_source ON affected(source_id);
CREATE TABLE IF NOT EXISTS enrichment (
    source_id INTEGER NOT NULL,
    cve TEXT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS enrichment_cve ON enrichment(cve);
CREATE INDEX IF NOT EXISTS enrichment_source ON enrichment(source_id);
";

/// What can go wrong with the database file.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    /// No database at the path.
    #[error(
        "no vulnerability database at {0}\n  hint: build one with `keelhaul db import PATH…` (OSV exports, distro trackers, NVD) or `keelhaul db update` when online, or pass `--db FILE`"
    )]
    Missing(PathBuf),
    /// The file was written by a different schema version.
    #[error(
        "the vulnerability database {path} has schema version {found}, this keelhaul reads version {expected}\n  hint: rebuild it with `keelhaul db import` / `keelhaul db update`, or import an export made by this version"
    )]
    Schema {
        /// The file.
        path: PathBuf,
        /// Its version.
        found: i64,
        /// Ours.
        expected: i64,
    },
    /// SQLite said no.
    #[error("vulnerability database {path}: {source}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// The error.
        source: rusqlite::Error,
    },
    /// A stored record does not deserialize (a corrupt or foreign file).
    #[error("vulnerability database {path}: corrupt record: {reason}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// What failed.
        reason: String,
    },
    /// Filesystem trouble.
    #[error("{path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

/// One source's row in `db status`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SourceInfo {
    /// The source's name.
    pub name: String,
    /// Where it was imported from.
    pub origin: String,
    /// The formats found in it, comma-separated.
    pub formats: String,
    /// When (RFC 3339, UTC).
    pub imported_at: String,
    /// Advisories stored.
    pub advisories: u64,
    /// (ecosystem, package) entries stored.
    pub affected: u64,
    /// Enrichment records stored.
    pub enrichments: u64,
    /// Records skipped on purpose (withdrawn, informational, not affected…).
    pub skipped: u64,
    /// Files that could not be read.
    pub errors: u64,
    /// HTTP validators from the last download, for conditional requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    /// HTTP `Last-Modified` of the last download.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

/// Everything one source contributes, ready to be written.
#[derive(Debug, Default)]
pub struct SourceData {
    /// The source's name (unique in the database).
    pub name: String,
    /// Where it came from (a path or URL).
    pub origin: String,
    /// Formats seen.
    pub formats: Vec<String>,
    /// Advisories.
    pub advisories: Vec<Advisory>,
    /// Enrichment records.
    pub enrichments: Vec<Enrichment>,
    /// Records skipped on purpose.
    pub skipped: u64,
    /// Files that failed.
    pub errors: u64,
    /// HTTP `ETag` of the download.
    pub etag: Option<String>,
    /// HTTP `Last-Modified` of the download.
    pub last_modified: Option<String>,
}

/// A row of the `affected` index with its advisory.
#[derive(Debug, Clone)]
pub struct Candidate {
    /// The advisory's row id (stable within one open database).
    pub advisory_row: i64,
    /// The source it came from.
    pub source: String,
    /// The affected entry.
    pub affected: Affected,
}

/// An open database.
pub struct Database {
    conn: Connection,
    path: PathBuf,
}

impl std::fmt::Debug for Database {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Database")
            .field("path", &self.path)
            .finish()
    }
}

impl Database {
    /// Opens an existing database read-only (what scans do).
    pub fn open(path: &Path) -> Result<Database, DbError> {
        if !path.is_file() {
            return Err(DbError::Missing(path.to_owned()));
        }
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| sql(path, e))?;
        let db = Database {
            conn,
            path: path.to_owned(),
        };
        db.check_schema()?;
        Ok(db)
    }

    /// Opens a database for writing, creating it (and its directory) when absent.
    pub fn open_for_write(path: &Path) -> Result<Database, DbError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| DbError::Io {
                path: dir.to_owned(),
                source: e,
            })?;
        }
        let fresh = !path.exists();
        let conn = Connection::open(path).map_err(|e| sql(path, e))?;
        let db = Database {
            conn,
            path: path.to_owned(),
        };
        if fresh {
            db.conn.execute_batch(SCHEMA).map_err(|e| sql(path, e))?;
            db.conn
                .pragma_update(None, "user_version", SCHEMA_VERSION)
                .map_err(|e| sql(path, e))?;
        } else {
            db.check_schema()?;
        }
        Ok(db)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn check_schema(&self) -> Result<(), DbError> {
        let found: i64 = self
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .map_err(|e| sql(&self.path, e))?;
        if found != SCHEMA_VERSION {
            return Err(DbError::Schema {
                path: self.path.clone(),
                found,
                expected: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    /// Replaces the named sources' records with `sources`, all in one transaction.
    pub fn replace_sources(&mut self, sources: &[SourceData]) -> Result<(), DbError> {
        let path = self.path.clone();
        let now = now_rfc3339();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        for source in sources {
            let old: Option<i64> = tx
                .query_row(
                    "SELECT id FROM sources WHERE name = ?1",
                    [&source.name],
                    |r| r.get(0),
                )
                .optional()
                .map_err(|e| sql(&path, e))?;
            if let Some(old) = old {
                for table in ["affected", "advisories", "enrichment"] {
                    tx.execute(&format!("DELETE FROM {table} WHERE source_id = ?1"), [old])
                        .map_err(|e| sql(&path, e))?;
                }
                tx.execute("DELETE FROM sources WHERE id = ?1", [old])
                    .map_err(|e| sql(&path, e))?;
            }
            let affected_count: usize = source.advisories.iter().map(|a| a.affected.len()).sum();
            tx.execute(
                "INSERT INTO sources (name, origin, formats, imported_at, advisories, affected, enrichments, skipped, errors, etag, last_modified)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
                params![
                    source.name,
                    source.origin,
                    source.formats.join(","),
                    now,
                    source.advisories.len() as i64,
                    affected_count as i64,
                    source.enrichments.len() as i64,
                    source.skipped as i64,
                    source.errors as i64,
                    source.etag,
                    source.last_modified,
                ],
            )
            .map_err(|e| sql(&path, e))?;
            let source_id = tx.last_insert_rowid();
            {
                let mut insert_advisory = tx
                    .prepare(
                        "INSERT INTO advisories (source_id, advisory_id, body) VALUES (?1, ?2, ?3)",
                    )
                    .map_err(|e| sql(&path, e))?;
                let mut insert_affected = tx
                    .prepare("INSERT INTO affected (advisory, source_id, ecosystem, package, body) VALUES (?1, ?2, ?3, ?4, ?5)")
                    .map_err(|e| sql(&path, e))?;
                for advisory in &source.advisories {
                    let head = AdvisoryHead::of(advisory);
                    let body = serde_json::to_string(&head).map_err(|e| corrupt(&path, e))?;
                    insert_advisory
                        .execute(params![source_id, advisory.id, body])
                        .map_err(|e| sql(&path, e))?;
                    let row = tx.last_insert_rowid();
                    for affected in &advisory.affected {
                        let body =
                            serde_json::to_string(affected).map_err(|e| corrupt(&path, e))?;
                        insert_affected
                            .execute(params![
                                row,
                                source_id,
                                affected.ecosystem,
                                affected.package,
                                body
                            ])
                            .map_err(|e| sql(&path, e))?;
                    }
                }
                let mut insert_enrichment = tx
                    .prepare("INSERT INTO enrichment (source_id, cve, body) VALUES (?1, ?2, ?3)")
                    .map_err(|e| sql(&path, e))?;
                for e in &source.enrichments {
                    let body = serde_json::to_string(e).map_err(|e| corrupt(&path, e))?;
                    insert_enrichment
                        .execute(params![source_id, e.cve, body])
                        .map_err(|e| sql(&path, e))?;
                }
            }
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('built_at', ?1) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [&now],
        )
        .map_err(|e| sql(&path, e))?;
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(())
    }

    /// Removes a source. Returns whether it existed.
    pub fn remove_source(&mut self, name: &str) -> Result<bool, DbError> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql(&path, e))?;
        let id: Option<i64> = tx
            .query_row("SELECT id FROM sources WHERE name = ?1", [name], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| sql(&path, e))?;
        if let Some(id) = id {
            for table in ["affected", "advisories", "enrichment"] {
                tx.execute(&format!("DELETE FROM {table} WHERE source_id = ?1"), [id])
                    .map_err(|e| sql(&path, e))?;
            }
            tx.execute("DELETE FROM sources WHERE id = ?1", [id])
                .map_err(|e| sql(&path, e))?;
        }
        tx.commit().map_err(|e| sql(&path, e))?;
        Ok(id.is_some())
    }

    /// Every source, by name.
    pub fn sources(&self) -> Result<Vec<SourceInfo>, DbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT name, origin, formats, imported_at, advisories, affected, enrichments, skipped, errors, etag, last_modified FROM sources ORDER BY name",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SourceInfo {
                    name: r.get(0)?,
                    origin: r.get(1)?,
                    formats: r.get(2)?,
                    imported_at: r.get(3)?,
                    advisories: r.get::<_, i64>(4)? as u64,
                    affected: r.get::<_, i64>(5)? as u64,
                    enrichments: r.get::<_, i64>(6)? as u64,
                    skipped: r.get::<_, i64>(7)? as u64,
                    errors: r.get::<_, i64>(8)? as u64,
                    etag: r.get(9)?,
                    last_modified: r.get(10)?,
                })
            })
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))
    }

    /// When the database was last written (RFC 3339), if ever.
    pub fn built_at(&self) -> Result<Option<String>, DbError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = 'built_at'", [], |r| {
                r.get(0)
            })
            .optional()
            .map_err(|e| sql(&self.path, e))
    }

    /// Every affected entry for one package of one feed ecosystem.
    pub fn candidates(&self, ecosystem: &str, package: &str) -> Result<Vec<Candidate>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT a.advisory, s.name, a.body FROM affected a JOIN sources s ON s.id = a.source_id
                 WHERE a.ecosystem = ?1 AND a.package = ?2 ORDER BY a.advisory",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map([ecosystem, package], |r| {
                Ok((
                    r.get::<_, i64>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                ))
            })
            .map_err(|e| sql(&self.path, e))?;
        let mut out = Vec::new();
        for row in rows {
            let (advisory_row, source, body) = row.map_err(|e| sql(&self.path, e))?;
            let affected: Affected =
                serde_json::from_str(&body).map_err(|e| corrupt(&self.path, e))?;
            out.push(Candidate {
                advisory_row,
                source,
                affected,
            });
        }
        Ok(out)
    }

    /// The advisory at a row (without its `affected` list).
    pub fn advisory(&self, row: i64) -> Result<Advisory, DbError> {
        let body: String = self
            .conn
            .prepare_cached("SELECT body FROM advisories WHERE id = ?1")
            .and_then(|mut s| s.query_row([row], |r| r.get(0)))
            .map_err(|e| sql(&self.path, e))?;
        let head: AdvisoryHead = serde_json::from_str(&body).map_err(|e| corrupt(&self.path, e))?;
        Ok(head.into_advisory())
    }

    /// Every enrichment record for a CVE, from every source, in source order.
    pub fn enrichment(&self, cve: &str) -> Result<Vec<Enrichment>, DbError> {
        let mut stmt = self
            .conn
            .prepare_cached("SELECT body FROM enrichment WHERE cve = ?1 ORDER BY source_id")
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map([cve], |r| r.get::<_, String>(0))
            .map_err(|e| sql(&self.path, e))?;
        let mut out = Vec::new();
        for row in rows {
            let body = row.map_err(|e| sql(&self.path, e))?;
            out.push(serde_json::from_str(&body).map_err(|e| corrupt(&self.path, e))?);
        }
        Ok(out)
    }

    /// The feed ecosystems present, with their (ecosystem, package) entry counts.
    pub fn ecosystems(&self) -> Result<Vec<(String, u64)>, DbError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT ecosystem, COUNT(*) FROM affected GROUP BY ecosystem ORDER BY ecosystem",
            )
            .map_err(|e| sql(&self.path, e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
            })
            .map_err(|e| sql(&self.path, e))?;
        rows.collect::<Result<Vec<_>, _>>()
            .map_err(|e| sql(&self.path, e))
    }

    /// Writes a consistent, compacted copy of the database to `dest` (which must not exist).
    pub fn export(&self, dest: &Path) -> Result<(), DbError> {
        let dest_text = dest.to_string_lossy().into_owned();
        self.conn
            .execute("VACUUM INTO ?1", [dest_text])
            .map_err(|e| sql(dest, e))?;
        Ok(())
    }
}

/// Replaces the database at `dest` with the exported database file `src`, atomically:
/// the file is checked (SQLite, our schema) in a temporary copy next to `dest`, then
/// renamed over it.
pub fn install_export(src: &Path, dest: &Path) -> Result<(), DbError> {
    let dir = dest
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| DbError::Io {
        path: dir.to_owned(),
        source: e,
    })?;
    let tmp = dir.join(format!(
        ".{}.import-{}",
        dest.file_name()
            .map_or_else(|| "db".into(), |n| n.to_string_lossy()),
        std::process::id()
    ));
    std::fs::copy(src, &tmp).map_err(|e| DbError::Io {
        path: src.to_owned(),
        source: e,
    })?;
    let checked = Database::open(&tmp).and_then(|db| db.sources().map(|_| ()));
    if let Err(e) = checked {
        let _ = std::fs::remove_file(&tmp);
        return Err(e);
    }
    std::fs::rename(&tmp, dest).map_err(|e| DbError::Io {
        path: dest.to_owned(),
        source: e,
    })
}

/// An advisory as stored: everything but `affected`, which lives in its own rows.
#[derive(serde::Serialize, serde::Deserialize)]
struct AdvisoryHead {
    #[serde(flatten)]
    advisory: Advisory,
}

impl AdvisoryHead {
    fn of(advisory: &Advisory) -> AdvisoryHead {
        AdvisoryHead {
            advisory: Advisory {
                affected: Vec::new(),
                ..advisory.clone()
            },
        }
    }

    fn into_advisory(self) -> Advisory {
        self.advisory
    }
}

fn sql(path: &Path, source: rusqlite::Error) -> DbError {
    DbError::Sqlite {
        path: path.to_owned(),
        source,
    }
}

fn corrupt(path: &Path, e: impl std::fmt::Display) -> DbError {
    DbError::Corrupt {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

fn now_rfc3339() -> String {
    time::OffsetDateTime::now_utc()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_else(|_| String::from("1970-01-01T00:00:00Z"))
}
