//! Database access: connection, transactions with their event, small SQL
//! helpers and the versioned-row rules shared by every table.
//!
//! SQL is written once with `?` placeholders and runs on both backends; the
//! placeholders are rewritten to `$n` for PostgreSQL. Columns are upstream
//! Koji's (see `schema/`).

pub mod migrate;
pub mod schema;
mod sql;
pub mod versioned;

pub(crate) use sql::parse_ts;
pub use sql::{
    exec, fetch_all, fetch_json_rows, fetch_json_rows_with, fetch_one, fetch_opt, json_bool,
    json_opt_bool, RowExt, Where,
};

use crate::error::{Error, Result};
use sea_orm::{
    ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DatabaseTransaction, DbBackend,
    TransactionTrait,
};
use std::time::Duration;

/// Re-exported so callers can build parameter lists without naming sea-orm.
pub use sea_orm::Value;

/// `params![a, b, c]` builds a `Vec<db::Value>`.
#[macro_export]
macro_rules! params {
    () => { Vec::<$crate::db::Value>::new() };
    ($($v:expr),+ $(,)?) => { vec![$($crate::db::Value::from($v)),+] };
}

/// Which database engine a [`Db`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// A connection pool to the hub's database.
#[derive(Clone, Debug)]
pub struct Db {
    conn: DatabaseConnection,
    backend: Backend,
    /// SQLite has one writer: transactions of this process take turns here
    /// instead of failing to upgrade a read lock (SQLITE_BUSY).
    writer: Option<std::sync::Arc<tokio::sync::Mutex<()>>>,
    /// Bumped whenever committed data may have changed (see [`Db::generation`]).
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

/// The PostgreSQL channel on which hubs announce committed changes.
pub const CHANGES_CHANNEL: &str = "koji_rs_changes";

impl Db {
    /// Connects to `url`: `sqlite://PATH` (created if missing), `sqlite::memory:`
    /// or `postgres://...`. A bare path is taken as a SQLite file.
    pub async fn connect(url: &str) -> Result<Db> {
        let url = normalize_url(url);
        let backend = if url.starts_with("postgres") {
            Backend::Postgres
        } else {
            Backend::Sqlite
        };
        let mut opts = ConnectOptions::new(url.clone());
        opts.sqlx_logging(false)
            .connect_timeout(Duration::from_secs(10))
            .acquire_timeout(Duration::from_secs(30));
        match backend {
            Backend::Sqlite => {
                // SQLite allows one writer; a small pool avoids lock storms.
                opts.max_connections(if url.contains(":memory:") { 1 } else { 8 })
                    .min_connections(1);
                // per-connection settings: every pooled connection gets them
                opts.map_sqlx_sqlite_opts(|o| {
                    o.journal_mode(sea_orm::sqlx::sqlite::SqliteJournalMode::Wal)
                        .synchronous(sea_orm::sqlx::sqlite::SqliteSynchronous::Normal)
                        .foreign_keys(true)
                        .busy_timeout(Duration::from_secs(10))
                        // sorts and temporary b-trees (a whole tag's latest
                        // builds: a window over every listing) in memory,
                        // not in temporary files
                        .pragma("temp_store", "memory")
                        // 32 MiB of page cache per connection (SQLite's
                        // default is 2 MiB)
                        .pragma("cache_size", "-32768")
                });
                if url.contains(":memory:") {
                    // a second connection would see a different, empty database
                    opts.idle_timeout(None::<Duration>)
                        .max_lifetime(None::<Duration>);
                }
            }
            Backend::Postgres => {
                opts.max_connections(32).min_connections(1);
            }
        }
        let conn = Database::connect(opts)
            .await
            .map_err(|e| Error::Configuration(format!("cannot open database {url}: {e}")))?;
        let writer = (backend == Backend::Sqlite).then(Default::default);
        let db = Db {
            conn,
            backend,
            writer,
            generation: Default::default(),
        };
        if backend == Backend::Postgres {
            db.listen_for_changes(&url).await?;
        }
        Ok(db)
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The pool, for reads outside a transaction.
    pub fn conn(&self) -> &DatabaseConnection {
        &self.conn
    }

    /// Starts a transaction. Writes go through [`Tx`], which opens the
    /// transaction's event the first time one is needed.
    ///
    /// On SQLite, transactions of this process are serialised: never open a
    /// second one while holding a first (use the `*_in(conn, ...)` helpers
    /// that take the open transaction instead).
    pub async fn begin(&self) -> Result<Tx> {
        let guard = match &self.writer {
            Some(w) => Some(w.clone().lock_owned().await),
            None => None,
        };
        let txn = self.conn.begin().await?;
        if self.backend == Backend::Sqlite {
            // take the write lock now (BEGIN IMMEDIATE): a transaction that
            // read first could not upgrade once another connection wrote
            // (SQLITE_BUSY_SNAPSHOT); waiting here uses the busy timeout
            txn.execute_unprepared("UPDATE locks SET name = name WHERE 1 = 0")
                .await?;
        }
        Ok(Tx {
            txn,
            event: None,
            _writer: guard,
            generation: self.generation.clone(),
            backend: self.backend,
        })
    }

    /// A number that changes whenever committed data may have changed: every
    /// committed [`Tx`] of this process bumps it, and on PostgreSQL so does
    /// every transaction committed by another hub on the same database
    /// (announced with `NOTIFY`). Caches of database reads key on it.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Marks committed data as changed (for writes made outside a [`Tx`]).
    pub fn bump_generation(&self) {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
    }

    /// Follows other hubs' commits on PostgreSQL. A lost connection counts as
    /// a change, since notifications may have been missed.
    ///
    /// The listener has a connection of its own, outside the pool, so that
    /// closing the pool does not wait for it.
    async fn listen_for_changes(&self, url: &str) -> Result<()> {
        let mut listener = sea_orm::sqlx::postgres::PgListener::connect(url)
            .await
            .map_err(|e| Error::Db(format!("cannot listen for changes: {e}")))?;
        listener
            .listen(CHANGES_CHANNEL)
            .await
            .map_err(|e| Error::Db(format!("cannot listen for changes: {e}")))?;
        let generation = std::sync::Arc::downgrade(&self.generation);
        tokio::spawn(async move {
            loop {
                let res = listener.try_recv().await;
                let Some(g) = generation.upgrade() else { break };
                g.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
                if let Err(e) = res {
                    tracing::warn!(error = %e, "change listener failed; retrying");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
        });
        Ok(())
    }

    /// Creates or upgrades the schema.
    pub async fn migrate(&self) -> Result<()> {
        migrate::run(&self.conn).await
    }
}

fn normalize_url(url: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return url.to_string();
    }
    if url == "sqlite::memory:" || url.starts_with("sqlite:") {
        let mut u = url.to_string();
        if !u.contains(":memory:") && !u.contains("mode=") {
            u.push_str(if u.contains('?') {
                "&mode=rwc"
            } else {
                "?mode=rwc"
            });
        }
        return u;
    }
    format!("sqlite://{url}?mode=rwc")
}

/// A database transaction. Every write of the hub happens inside one, and
/// every versioned write refers to the transaction's single event. Dropped
/// without [`Tx::commit`], it rolls back: nothing is half-written.
pub struct Tx {
    txn: DatabaseTransaction,
    event: Option<i64>,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    generation: std::sync::Arc<std::sync::atomic::AtomicU64>,
    backend: Backend,
}

impl Tx {
    /// The id of this transaction's event, creating it on first use.
    pub async fn event(&mut self) -> Result<i64> {
        if let Some(id) = self.event {
            return Ok(id);
        }
        let row = fetch_one(
            &self.txn,
            "INSERT INTO events (time) VALUES (?) RETURNING id",
            // microseconds, as PostgreSQL keeps them, so both backends agree
            params![chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6)],
        )
        .await?;
        let id = row.int("id")?;
        self.event = Some(id);
        Ok(id)
    }

    /// Makes the next write open a new event (upstream's `_delete_event_id`),
    /// for calls that must record an order among their own writes, e.g.
    /// `massTag`, where the build tagged last must be the latest.
    pub fn next_event(&mut self) {
        self.event = None;
    }

    /// Commits, and tells this process's and (on PostgreSQL) other hubs'
    /// caches that data changed.
    pub async fn commit(self) -> Result<()> {
        if self.backend == Backend::Postgres {
            self.txn
                .execute_unprepared(&format!("NOTIFY {CHANGES_CHANNEL}"))
                .await?;
        }
        self.txn.commit().await?;
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        Ok(())
    }
}

impl std::ops::Deref for Tx {
    type Target = DatabaseTransaction;
    fn deref(&self) -> &DatabaseTransaction {
        &self.txn
    }
}

/// The backend of any connection or transaction.
pub fn backend_of(c: &impl ConnectionTrait) -> Backend {
    match c.get_database_backend() {
        DbBackend::Postgres => Backend::Postgres,
        _ => Backend::Sqlite,
    }
}
