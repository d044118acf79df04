//! listCGs, grantCGAccess, revokeCGAccess, and checkTagAccess.

use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};

#[tokio::test]
async fn content_generator_grants() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let alice = th.user("alice", "pw", &[]).await?;
        th.user("bob", "pw", &[]).await?;
        assert_eq!(th.call(&admin, "listCGs", json!([])).await?, json!({}));
        // an unknown generator needs create=True
        let e = th
            .call(&admin, "grantCGAccess", json!(["alice", "osbs"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1000, "{}: {e}", th.label());
        th.call(&admin, "grantCGAccess", json!(["alice", "osbs", true]))
            .await?;
        th.call(&admin, "grantCGAccess", json!(["bob", "osbs"]))
            .await?;
        let cgs = th.call(&admin, "listCGs", json!([])).await?;
        let id = cgs["osbs"]["id"].clone();
        assert!(id.is_i64(), "{}: {cgs}", th.label());
        assert_eq!(cgs, json!({"osbs": {"id": id, "users": ["alice", "bob"]}}));
        let e = th
            .call(&admin, "grantCGAccess", json!(["alice", "osbs"]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "User already has access to content generator osbs"
        );
        // only admins
        let e = th
            .call(&alice, "grantCGAccess", json!(["alice", "osbs"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004);
        let e = th
            .call(&admin, "grantCGAccess", json!(["nobody", "osbs"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1000);
        th.call(&admin, "revokeCGAccess", json!(["alice", "osbs"]))
            .await?;
        assert_eq!(
            th.call(&admin, "listCGs", json!([])).await?,
            json!({"osbs": {"id": id, "users": ["bob"]}})
        );
        // the revoked grant is history, and may be given again
        let hist = th
            .call(
                &admin,
                "queryHistory",
                json!([kw(json!({"tables": ["cg_users"]}))]),
            )
            .await?;
        assert_eq!(hist["cg_users"].as_array().map(Vec::len), Some(2), "{hist}");
        th.call(&admin, "grantCGAccess", json!(["alice", "osbs"]))
            .await?;
    }
    Ok(())
}

#[tokio::test]
async fn check_tag_access() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let alice = th.user("alice", "pw", &[]).await?;
        let tag = th.call(&admin, "createTag", json!(["f40"])).await?;
        let ok = json!([true, false, ""]);
        assert_eq!(th.call(&alice, "checkTagAccess", json!([tag])).await?, ok);
        assert_eq!(th.call(&alice, "checkTagAccess", json!(["f40"])).await?, ok);
        // for another user, by id
        let me = th.call(&admin, "getLoggedInUser", json!([])).await?;
        assert_eq!(
            th.call(&alice, "checkTagAccess", json!([tag, me["id"]]))
                .await?,
            json!([true, true, ""])
        );
        th.call(
            &admin,
            "editTag2",
            json!(["f40", kw(json!({"perm": "admin"}))]),
        )
        .await?;
        assert_eq!(
            th.call(&alice, "checkTagAccess", json!([tag])).await?,
            json!([false, false, "tag requires admin permission"])
        );
        th.call(
            &admin,
            "editTag2",
            json!(["f40", kw(json!({"locked": true}))]),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "checkTagAccess", json!([tag])).await?,
            json!([false, true, "tag is locked"])
        );
        let anon = koji_core::Caller::anonymous("127.0.0.1");
        let e = th
            .call(&anon, "checkTagAccess", json!([tag]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "a user_id is required");
        let e = th
            .call(&alice, "checkTagAccess", json!(["nosuch"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1000);
        assert_eq!(
            th.call(&alice, "checkTagAccess", json!([tag, Json::Null]))
                .await?,
            json!([false, false, "tag is locked"])
        );
    }
    Ok(())
}
