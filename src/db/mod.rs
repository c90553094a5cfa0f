//! Storage: one SQLite file. Reads go through an r2d2 pool of read-only connections;
//! every write goes through the one writer connection, inside `BEGIN IMMEDIATE`, so
//! writers never deadlock on lock upgrades. Blocking work runs off the async runtime.

pub mod accounts;
pub mod analytics;
pub mod audit;
pub mod cache;
mod migrate;
pub mod nonces;
pub mod notifications;
pub mod payouts;
pub mod players;
pub mod proofs;
pub mod race_defs;
pub mod races;
pub mod refresh_tokens;
pub mod sources;
pub mod sync_runs;
pub mod totp;
pub mod verification;

pub mod settings;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

pub use migrate::{SCHEMA_VERSION, migrate};

const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("database error: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("database pool error: {0}")]
    Pool(#[from] r2d2::Error),
    #[error(
        "the database is at schema version {found}, newer than this binary knows ({known}); \
         run a newer goated or restore a backup"
    )]
    TooNew { found: i64, known: i64 },
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("database task failed: {0}")]
    Task(String),
}

pub type DbResult<T> = Result<T, DbError>;

impl DbError {
    /// Whether SQLite refused a write for lack of space: the disk is full, or the file
    /// reached `database.max_size_mb` (both are `SQLITE_FULL`).
    pub fn is_storage_full(&self) -> bool {
        matches!(self, DbError::Sqlite(rusqlite::Error::SqliteFailure(e, _))
            if e.code == rusqlite::ErrorCode::DiskFull)
    }
}

/// A use case's error: a refusal (the rules said no) or a database failure. Run inside
/// a write transaction, the two must end differently: a refusal is an answer, and what
/// the transaction did before it stands (a reused refresh token's family stays
/// revoked); a failure rolls everything back, so that no half-done change (a payout
/// moved without its audit row) is committed.
pub trait UseCaseError: Sized {
    /// The refusal, or the database failure it carries.
    fn refusal(self) -> DbResult<Self>;
}

/// What a write transaction's closure returns for a use case's outcome: the outcome
/// (committed), or the database failure (rolled back). See [`UseCaseError`].
pub fn settle<T, E: UseCaseError>(done: Result<T, E>) -> DbResult<Result<T, E>> {
    match done {
        Ok(value) => Ok(Ok(value)),
        Err(err) => err.refusal().map(Err),
    }
}

/// `UseCaseError` for an error enum whose `Db` variant is the database failure.
#[macro_export]
macro_rules! use_case_error {
    ($($ty:ty),*) => {$(
        impl $crate::db::UseCaseError for $ty {
            fn refusal(self) -> $crate::db::DbResult<Self> {
                match self {
                    Self::Db(err) => Err(err),
                    refused => Ok(refused),
                }
            }
        }
    )*};
}

/// A state column (an outcome, a role, a status) read back as its enum: text this
/// binary never writes is an error, not a value passed on.
pub(crate) fn state<T>(
    r: &rusqlite::Row<'_>,
    column: usize,
    parse: fn(&str) -> Option<T>,
) -> rusqlite::Result<T> {
    let text: String = r.get(column)?;
    parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            column,
            rusqlite::types::Type::Text,
            format!("unknown state `{text}`").into(),
        )
    })
}
pub type PooledConnection = r2d2::PooledConnection<SqliteConnectionManager>;

#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    pool: r2d2::Pool<SqliteConnectionManager>,
    writer: Mutex<Connection>,
}

/// The writer's page cache, in KiB (negative in SQLite's pragma: a size, not pages).
const WRITER_CACHE_KIB: i64 = -1024;

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    conn.busy_timeout(BUSY_TIMEOUT)?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    Ok(())
}

impl Db {
    /// Opens (creating when missing) and migrates the database.
    pub fn open(path: &Path, pool_size: u32) -> DbResult<Db> {
        let mut writer = Connection::open(path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer)?;
        // Half SQLite's default page cache: the writer's pages are in the system's file
        // cache anyway, and a larger cache did not make a 100,000-player sync faster
        // (32 MB measured against 2 MB), while every server holds it once it is full.
        writer.pragma_update(None, "cache_size", WRITER_CACHE_KIB)?;
        migrate(&mut writer)?;
        let manager = SqliteConnectionManager::file(path)
            .with_flags(OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
            .with_init(|c| {
                configure(c)?;
                c.pragma_update(None, "query_only", "ON")
            });
        let pool = r2d2::Pool::builder()
            .max_size(pool_size)
            .min_idle(Some(1))
            .connection_timeout(Duration::from_secs(10))
            .build(manager)?;
        Ok(Db {
            inner: Arc::new(Inner {
                path: path.to_path_buf(),
                pool,
                writer: Mutex::new(writer),
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Caps the file at `mb` MiB (0: no cap). Past it the writer's writes fail with
    /// `SQLITE_FULL`, exactly as on a full disk, and are answered the same way
    /// (`DbError::is_storage_full`). A cap below the file's current size holds it where
    /// it is: SQLite never truncates for it.
    pub fn cap_size_mb(&self, mb: u64) -> DbResult<()> {
        if mb == 0 {
            return Ok(());
        }
        let conn = self.inner.writer.lock();
        let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
        let pages = (mb.saturating_mul(1024 * 1024) / page_size.max(512) as u64).max(1);
        conn.query_row(&format!("PRAGMA max_page_count = {pages}"), [], |_| Ok(()))?;
        Ok(())
    }

    /// A read-only connection, for blocking contexts (the scheduler, the CLI).
    pub fn reader(&self) -> DbResult<PooledConnection> {
        Ok(self.inner.pool.get()?)
    }

    /// Runs `f` on a read connection off the async runtime.
    pub async fn read<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Connection) -> DbResult<T> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || f(&*db.reader()?)).await
    }

    /// Runs `f` in one `BEGIN IMMEDIATE` transaction on the writer, blocking the caller.
    /// The transaction commits when `f` returns `Ok` and rolls back otherwise.
    pub fn write_blocking<T>(
        &self,
        f: impl FnOnce(&Transaction<'_>) -> DbResult<T>,
    ) -> DbResult<T> {
        let mut conn = self.inner.writer.lock();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// `write_blocking` off the async runtime.
    pub async fn write<T, F>(&self, f: F) -> DbResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Transaction<'_>) -> DbResult<T> + Send + 'static,
    {
        let db = self.clone();
        run_blocking(move || db.write_blocking(f)).await
    }

    /// An online, consistent copy of the whole database into a new file.
    /// Uses a connection of its own: the pool's are `query_only`, which `VACUUM INTO`
    /// refuses, and the writer should not wait for a backup.
    pub fn backup_to(&self, target: &Path) -> DbResult<()> {
        let conn = Connection::open(&self.inner.path)?;
        configure(&conn)?;
        backup(&conn, target)
    }

    /// Whether a read connection answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.read(|c| Ok(c.query_row("SELECT 1", [], |_| Ok(()))?))
            .await
            .is_ok()
    }

    /// Size of the database file in bytes (pages in use × page size).
    pub fn size_bytes(&self) -> DbResult<i64> {
        let conn = self.reader()?;
        Ok(conn.query_row(
            "SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()",
            [],
            |r| r.get(0),
        )?)
    }

    /// Checkpoints the WAL into the main file, so a clean stop leaves one file behind,
    /// without waiting for readers: one that stays (Litestream keeps a read transaction
    /// open while it replicates) held this checkpoint, and the write lock it takes, for
    /// the whole busy timeout: 5 s of every write waiting, at each stop and after each
    /// CLI command, for a checkpoint that then did nothing (`scripts/litestream-churn.sh`).
    pub fn close(&self) -> DbResult<()> {
        let conn = self.inner.writer.lock();
        conn.execute_batch("PRAGMA optimize;")?;
        conn.busy_timeout(Duration::ZERO)?;
        let done = conn.query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
        conn.busy_timeout(BUSY_TIMEOUT)?;
        match done {
            // A reader holds the WAL: it is left for the next start to checkpoint.
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy =>
            {
                tracing::info!(
                    "the closing checkpoint left the WAL to a reader that holds it (Litestream?)"
                );
                Ok(())
            }
            other => Ok(other?),
        }
    }
}

/// `VACUUM INTO` reads one snapshot of the database, so the copy is consistent even
/// while the server keeps writing.
pub fn backup(conn: &Connection, target: &Path) -> DbResult<()> {
    let target = target
        .to_str()
        .ok_or_else(|| DbError::Task("backup path is not UTF-8".into()))?;
    conn.execute("VACUUM INTO ?1", [target])?;
    Ok(())
}

async fn run_blocking<T: Send + 'static>(
    f: impl FnOnce() -> DbResult<T> + Send + 'static,
) -> DbResult<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| DbError::Task(e.to_string()))?
}

/// Puts rows about to be written in the order of their uid, which leads the key of every
/// table a sync fills (players, their history samples, a race's entries and baselines).
/// Goated.com's board comes in rank order and its uids are random, so rows written in the
/// answer's order land all over each b-tree; in key order each insert lands beside the
/// one before. A first sync of 100,000 players in rank order took 1.65-1.91 s instead of
/// 1.87-2.33 s (`scripts/bench-sync.sh`, 3 runs each).
pub(crate) fn in_uid_order<T>(rows: &mut [T], uid: fn(&T) -> &str) {
    rows.sort_unstable_by(|a, b| uid(a).cmp(uid(b)));
}

/// The timestamp format used in every table: RFC 3339, UTC, milliseconds.
/// A prize distribution as stored (a JSON array of shares).
pub fn shares_json(shares: &[f64]) -> String {
    serde_json::to_string(shares).expect("floats serialize")
}

pub fn timestamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

pub fn parse_timestamp(text: &str) -> DbResult<chrono::DateTime<chrono::Utc>> {
    text.parse()
        .map_err(|_| DbError::Corrupt(format!("bad timestamp {text:?}")))
}

#[cfg(test)]
mod use_case_tests {
    use super::*;

    #[derive(Debug)]
    enum Outcome {
        No,
        Db(DbError),
    }
    crate::use_case_error!(Outcome);

    /// Writes a setting, then ends as `end` says; answers what the database kept.
    fn run(db: &Db, key: &str, end: fn() -> Outcome) -> (DbResult<Result<(), Outcome>>, bool) {
        let done = db.write_blocking(|tx| {
            settings::set(tx, key, "written", "2026-12-01T00:00:00.000Z")?;
            settle(Err::<(), _>(end()))
        });
        let kept = settings::get(&db.reader().unwrap(), key).unwrap().is_some();
        (done, kept)
    }

    #[test]
    fn a_refusal_commits_what_came_before_it_and_a_database_failure_rolls_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("u.db"), 1).unwrap();
        let (refused, kept) = run(&db, "refused", || Outcome::No);
        assert!(matches!(refused, Ok(Err(Outcome::No))), "{refused:?}");
        assert!(
            kept,
            "a refusal is an answer: the revocation before it stands"
        );
        let (failed, kept) = run(&db, "failed", || {
            Outcome::Db(DbError::Corrupt("disk".into()))
        });
        assert!(matches!(failed, Err(DbError::Corrupt(_))), "{failed:?}");
        assert!(!kept, "a failure commits nothing half-done");
    }
}

#[cfg(test)]
mod close_tests {
    use super::*;

    /// Litestream holds a read transaction while it replicates: the closing checkpoint
    /// must not wait out the busy timeout, write lock held, for it.
    #[test]
    fn closing_does_not_wait_for_a_reader_that_holds_the_wal() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let db = Db::open(&path, 1).unwrap();
        db.write_blocking(|tx| settings::set(tx, "k", "v", "2026-12-06T00:00:00.000Z"))
            .unwrap();
        let reader = Connection::open(&path).unwrap();
        reader
            .execute_batch("BEGIN; SELECT count(*) FROM settings;")
            .unwrap();
        let started = std::time::Instant::now();
        db.close().unwrap();
        assert!(
            started.elapsed() < BUSY_TIMEOUT / 2,
            "close waited {:?} for the reader",
            started.elapsed()
        );
        reader.execute_batch("COMMIT").unwrap();
        // With the reader gone, a close empties the WAL as before.
        db.close().unwrap();
        let wal = std::fs::metadata(dir.path().join("c.db-wal")).map_or(0, |m| m.len());
        assert_eq!(wal, 0);
    }
}
