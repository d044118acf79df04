//! Builds through upstream's API: createEmptyBuild, getBuild, findBuildID.

use koji_core::testing::TestHub;
use koji_core::Result;
use serde_json::{json, Value as Json};

#[tokio::test]
async fn empty_build_and_lookups() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = th
            .call(&admin, "createEmptyBuild", json!(["bash", "5.2", "1.fc40", 1]))
            .await?;
        let id = id.as_i64().expect("an id");
        let b = th.call(&admin, "getBuild", json!(["bash-5.2-1.fc40"])).await?;
        let keys: Vec<&str> = b.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "build_id", "cg_id", "completion_time", "completion_ts", "creation_event_id",
                "creation_time", "creation_ts", "draft", "epoch", "extra", "id", "name", "nvr",
                "owner_id", "owner_name", "package_id", "package_name", "promoter_id",
                "promoter_name", "promotion_time", "promotion_ts", "release", "source",
                "start_time", "start_ts", "state", "task_id", "version", "volume_id",
                "volume_name", "cg_name"
            ],
            "{}",
            th.label()
        );
        assert_eq!(b["id"], json!(id));
        assert_eq!(b["nvr"], json!("bash-5.2-1.fc40"));
        assert_eq!(b["epoch"], json!(1));
        assert_eq!(b["state"], json!(1));
        assert_eq!(b["owner_name"], json!("admin"));
        assert_eq!(b["volume_name"], json!("DEFAULT"));
        assert!(b["completion_ts"].is_f64(), "{b}");
        let by_map = th
            .call(
                &admin,
                "getBuild",
                json!([{"name": "bash", "version": "5.2", "release": "1.fc40"}]),
            )
            .await?;
        assert_eq!(by_map, b);
        assert_eq!(th.call(&admin, "getBuild", json!([id])).await?, b);
        assert_eq!(
            th.call(&admin, "findBuildID", json!(["bash-5.2-1.fc40"])).await?,
            json!(id)
        );
        assert_eq!(
            th.call(&admin, "getBuild", json!(["bash-5.2-2"])).await?,
            Json::Null
        );
        let e = th
            .call(&admin, "getBuild", json!(["bash-5.2-2", true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 'bash-5.2-2'");
        let e = th.call(&admin, "getBuild", json!([99999, true])).await.unwrap_err();
        assert_eq!(e.to_string(), "No such build: 99999");
        let e = th.call(&admin, "getBuild", json!(["bash"])).await.unwrap_err();
        assert_eq!(e.to_string(), "invalid format: bash");
        // a second build of the same N-V-R is refused while COMPLETE
        let e = th
            .call(&admin, "createEmptyBuild", json!(["bash", "5.2", "1.fc40", 1]))
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with(&format!("Build already exists (id={id}, state=COMPLETE)")), "{e}");
        // drafts get ",draft_<id>"
        let d = th
            .call(&admin, "createEmptyBuild", json!(["bash", "5.2", "2", Json::Null, Json::Null, true]))
            .await?;
        let d = th.call(&admin, "getBuild", json!([d])).await?;
        assert_eq!(d["release"], json!(format!("2,draft_{}", d["id"])));
        assert_eq!(d["draft"], json!(true));
        // only admins
        let user = th.user("alice", "pw", &[]).await?;
        let e = th
            .call(&user, "createEmptyBuild", json!(["zsh", "1", "1", Json::Null]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{}: {e}", th.label());
    }
    Ok(())
}
