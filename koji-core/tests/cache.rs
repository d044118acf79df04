//! Cached reads never outlive a commit: in this hub, and on PostgreSQL in
//! another hub sharing the database.

use koji_core::db::Backend;
use koji_core::testing::{kw, TestHub};
use koji_core::{Hub, HubConfig};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_commit_invalidates_cached_reads() -> koji_core::Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        th.call(
            &admin,
            "createTag",
            json!(["c1", kw(json!({"arches": "x86_64"}))]),
        )
        .await?;
        let g0 = th.hub.db().generation();
        let t = th.call(&admin, "getTag", json!(["c1"])).await?;
        assert_eq!(t["arches"], json!("x86_64"), "{}", th.label());
        // served again (from the cache): the same answer
        // (on PostgreSQL our own NOTIFY may still bump the generation here)
        assert_eq!(th.call(&admin, "getTag", json!(["c1"])).await?, t);
        th.call(
            &admin,
            "editTag2",
            json!(["c1", kw(json!({"arches": "aarch64"}))]),
        )
        .await?;
        assert!(th.hub.db().generation() > g0, "{}", th.label());
        let t = th.call(&admin, "getTag", json!(["c1"])).await?;
        assert_eq!(t["arches"], json!("aarch64"), "{}", th.label());
    }
    Ok(())
}

#[tokio::test]
async fn another_hubs_commit_invalidates_cached_reads_on_postgres() -> koji_core::Result<()> {
    if !koji_core::testing::backends().contains(&Backend::Postgres) {
        return Ok(());
    }
    let th = TestHub::new(Backend::Postgres).await?;
    let admin = th.admin().await?;
    th.call(
        &admin,
        "createTag",
        json!(["shared", kw(json!({"arches": "x86_64"}))]),
    )
    .await?;
    // a second hub process on the same database
    let other = Hub::open(&th.url, HubConfig::default()).await?;
    let ctx = koji_core::api::Ctx {
        hub: other.clone(),
        caller: std::sync::Arc::new(koji_core::Caller::anonymous("127.0.0.1")),
    };
    let reg = koji_core::api::Registry::standard();
    let t = reg
        .dispatch(ctx.clone(), "getTag", vec![json!("shared")])
        .await?;
    assert_eq!(t["arches"], json!("x86_64"));
    th.call(
        &admin,
        "editTag2",
        json!(["shared", kw(json!({"arches": "ppc64le"}))]),
    )
    .await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let t = reg
            .dispatch(ctx.clone(), "getTag", vec![json!("shared")])
            .await?;
        if t["arches"] == json!("ppc64le") {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the other hub kept a stale answer"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}
