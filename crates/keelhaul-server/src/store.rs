//! The one shared state: an embedded SQLite file or a PostgreSQL database, behind sqlx's
//! `Any` driver so that every query is written once.
//!
//! The two differ in a handful of words only; [`Store::sql`] rewrites those (`{SKIP_LOCKED}`)
//! and the migration runner rewrites the schema's `AUTO_ID` and `BLOB`. Everything else is
//! the SQL both accept: `$N` parameters, `RETURNING`, `ON CONFLICT`.

use std::borrow::Cow;
use std::path::Path;
use std::time::Duration;

use sqlx::any::{AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, Executor};

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// An SQLite file (one machine).
    Sqlite,
    /// PostgreSQL (any number of API nodes and workers).
    Postgres,
}

/// A store failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The URL names a database we do not speak.
    #[error("unsupported database URL `{0}`: use postgres://… or sqlite://…")]
    Url(String),
    /// Connecting failed.
    #[error("cannot connect to the database {url}: {source}")]
    Connect {
        /// The URL, without its password.
        url: String,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// A migration failed.
    #[error("database migration {version} failed: {source}")]
    Migrate {
        /// The migration.
        version: i64,
        /// The driver's error.
        source: sqlx::Error,
    },
    /// The database was migrated by a newer keelhaul.
    #[error(
        "the database schema is at version {found}, newer than this keelhaul ({known}): upgrade keelhaul"
    )]
    TooNew {
        /// The database's version.
        found: i64,
        /// The newest this build knows.
        known: i64,
    },
    /// A query failed.
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    /// Stored data that cannot be read back.
    #[error("stored data is unreadable: {0}")]
    Corrupt(String),
}

/// The migrations, oldest first.
const MIGRATIONS: &[(i64, &str)] = &[
    (1, include_str!("../migrations/0001_init.sql")),
    (2, include_str!("../migrations/0002_hosts.sql")),
    (3, include_str!("../migrations/0003_wider_cover.sql")),
    (4, include_str!("../migrations/0004_host_keys.sql")),
];

/// The shared state.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
}

/// Hide a password in a database URL for messages.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = &url[scheme + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}://{user}:***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Connect to `url` (`postgres://…`, `postgresql://…` or `sqlite://…`) and bring the
    /// schema up to date.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Store, StoreError> {
        install_default_drivers();
        let backend = if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else {
            return Err(StoreError::Url(redact_url(url)));
        };
        let mut options = AnyPoolOptions::new()
            .max_connections(max_connections.max(1))
            .acquire_timeout(Duration::from_secs(30));
        if backend == Backend::Sqlite {
            options = options.after_connect(|conn, _| {
                Box::pin(async move {
                    // WAL lets readers go on while a worker writes; writers queue on the
                    // busy timeout instead of failing at once.
                    conn.execute(
                        "PRAGMA journal_mode = WAL; PRAGMA busy_timeout = 30000; \
                         PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
                    )
                    .await?;
                    Ok(())
                })
            });
        }
        let pool = options
            .connect(url)
            .await
            .map_err(|source| StoreError::Connect {
                url: redact_url(url),
                source,
            })?;
        let store = Store { pool, backend };
        store.migrate().await?;
        Ok(store)
    }

    /// The SQLite store of a data directory (created if missing).
    pub async fn open_data_dir(dir: &Path, max_connections: u32) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Connect {
            url: dir.display().to_string(),
            source: sqlx::Error::Io(e),
        })?;
        let file = dir.join("keelhaul.sqlite");
        Store::connect(
            &format!("sqlite://{}?mode=rwc", file.display()),
            max_connections,
        )
        .await
    }

    /// The backend.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The connection pool.
    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that writes. On SQLite it takes the write lock at once (`BEGIN
    /// IMMEDIATE`): a transaction that reads first and writes later otherwise fails with
    /// "database is locked" (no busy wait) when another connection wrote in between.
    pub async fn begin_write(&self) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }

    /// A query with the backend's spelling of the words that differ.
    pub fn sql<'q>(&self, query: &'q str) -> Cow<'q, str> {
        if !query.contains('{') {
            return Cow::Borrowed(query);
        }
        let skip_locked = match self.backend {
            Backend::Postgres => "FOR UPDATE SKIP LOCKED",
            // SQLite runs one writer at a time: the claiming UPDATE is atomic by itself.
            Backend::Sqlite => "",
        };
        Cow::Owned(query.replace("{SKIP_LOCKED}", skip_locked))
    }

    fn schema_sql(&self, sql: &str) -> String {
        let (auto_id, blob) = match self.backend {
            Backend::Postgres => (
                "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
                "BYTEA",
            ),
            Backend::Sqlite => ("INTEGER PRIMARY KEY AUTOINCREMENT", "BLOB"),
        };
        sql.replace("AUTO_ID", auto_id)
            .replace(" BLOB", &format!(" {blob}"))
    }

    /// Apply the migrations not yet applied, each in its own transaction. On PostgreSQL an
    /// advisory lock keeps nodes that start together from racing.
    async fn migrate(&self) -> Result<(), StoreError> {
        let mut conn = self.pool.acquire().await?;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_lock(7046517)")
                .execute(&mut *conn)
                .await?;
        }
        let result = async {
            sqlx::raw_sql(
                "CREATE TABLE IF NOT EXISTS schema_migrations \
                 (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)",
            )
            .execute(&mut *conn)
            .await?;
            let current: Option<i64> =
                sqlx::query_scalar("SELECT MAX(version) FROM schema_migrations")
                    .fetch_one(&mut *conn)
                    .await?;
            let current = current.unwrap_or(0);
            let known = MIGRATIONS.last().map_or(0, |m| m.0);
            if current > known {
                return Err(StoreError::TooNew {
                    found: current,
                    known,
                });
            }
            for &(version, sql) in MIGRATIONS.iter().filter(|m| m.0 > current) {
                let mut tx = sqlx::Connection::begin(&mut *conn).await?;
                sqlx::raw_sql(sqlx::AssertSqlSafe(self.schema_sql(sql)))
                    .execute(&mut *tx)
                    .await
                    .map_err(|source| StoreError::Migrate { version, source })?;
                sqlx::query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)")
                    .bind(version)
                    .bind(now_ms())
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                tracing::info!("database migrated to schema version {version}");
            }
            Ok(())
        }
        .await;
        if self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_advisory_unlock(7046517)")
                .execute(&mut *conn)
                .await?;
        }
        result
    }

    /// A value of the server's own settings table.
    pub async fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT value FROM server_meta WHERE key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Set a value of the server's settings table only if it is not set yet; returns the
    /// value now stored (ours or the one a concurrent node wrote first).
    pub async fn meta_init(&self, key: &str, value: &str) -> Result<String, StoreError> {
        sqlx::query(
            "INSERT INTO server_meta (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        self.meta(key)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("server_meta `{key}` vanished")))
    }

    /// Set a value of the server's settings table.
    pub async fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO server_meta (key, value) VALUES ($1, $2) \
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}

/// Now, in Unix milliseconds (the store's time unit).
pub fn now_ms() -> i64 {
    let now = time::OffsetDateTime::now_utc();
    i64::try_from(now.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX)
}

/// A stored time as RFC 3339, for the API.
pub fn rfc3339(ms: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| {
            t.format(&time::format_description::well_known::Rfc3339)
                .ok()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_passwords_are_hidden() {
        assert_eq!(
            redact_url("postgres://u:secret@db:5432/x"),
            "postgres://u:***@db:5432/x"
        );
        assert_eq!(redact_url("sqlite:///tmp/x"), "sqlite:///tmp/x");
    }
}
