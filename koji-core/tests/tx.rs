//! Transactions that fail leave nothing behind and do not block the next
//! writer (on SQLite, the dropped transaction's rollback must not hold the
//! database's write lock).

use koji_core::db::{exec, fetch_one, RowExt};
use koji_core::params;
use koji_core::testing::TestHub;
use koji_core::Result;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_dropped_transaction_does_not_block_the_next() -> Result<()> {
    for th in TestHub::each().await? {
        let db = th.hub.db();
        for round in 0..20 {
            let mut tx = db.begin().await?;
            tx.event().await?;
            exec(
                &*tx,
                "INSERT INTO package (name) VALUES (?)",
                params![format!("dropped-{round}")],
            )
            .await?;
            drop(tx); // an error path: no commit
            let t = Instant::now();
            let mut tx = db.begin().await?;
            tx.event().await?;
            exec(
                &*tx,
                "INSERT INTO package (name) VALUES (?)",
                params![format!("kept-{round}")],
            )
            .await?;
            tx.commit().await?;
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "{}: the next write waited {:?}",
                th.label(),
                t.elapsed()
            );
        }
        let n = fetch_one(
            db.conn(),
            "SELECT COUNT(*) AS n FROM package WHERE name LIKE 'dropped-%'",
            params![],
        )
        .await?
        .int("n")?;
        assert_eq!(n, 0, "{}: a dropped transaction's rows stayed", th.label());
        let n = fetch_one(
            db.conn(),
            "SELECT COUNT(*) AS n FROM package WHERE name LIKE 'kept-%'",
            params![],
        )
        .await?
        .int("n")?;
        assert_eq!(n, 20, "{}", th.label());
    }
    Ok(())
}

#[tokio::test]
async fn a_failed_commit_does_not_block_the_next() -> Result<()> {
    // a deferred foreign key that is only checked at COMMIT makes the
    // commit itself fail
    for th in TestHub::each().await? {
        let owner = th.admin().await?.user_id()?;
        let db = th.hub.db();
        for round in 0..5 {
            let mut tx = db.begin().await?;
            tx.event().await?;
            if db.backend() == koji_core::db::Backend::Sqlite {
                exec(&*tx, "PRAGMA defer_foreign_keys = ON", params![]).await?;
            } else {
                exec(&*tx, "SET CONSTRAINTS ALL DEFERRED", params![]).await?;
            }
            // build.pkg_id is DEFERRABLE: a missing package fails at commit
            let ev = tx.event().await?;
            exec(
                &*tx,
                "INSERT INTO build (pkg_id, version, release, state, volume_id, owner, \
                 completion_time, create_event) VALUES (?, '1', '1', 1, 0, ?, ?, ?)",
                params![999_999i64 + round, owner, chrono::Utc::now(), ev],
            )
            .await?;
            assert!(
                tx.commit().await.is_err(),
                "{}: commit should fail",
                th.label()
            );
            let t = Instant::now();
            let mut tx = db.begin().await?;
            tx.event().await?;
            exec(
                &*tx,
                "INSERT INTO package (name) VALUES (?)",
                params![format!("after-failed-{round}")],
            )
            .await?;
            tx.commit().await?;
            assert!(
                t.elapsed() < Duration::from_secs(5),
                "{}: the next write waited {:?}",
                th.label(),
                t.elapsed()
            );
        }
        let n = fetch_one(db.conn(), "SELECT COUNT(*) AS n FROM build", params![])
            .await?
            .int("n")?;
        assert_eq!(n, 0, "{}", th.label());
    }
    Ok(())
}
