//! getMavenBuild, getWinBuild, getImageBuild.

use koji_core::db::exec;
use koji_core::params;
use koji_core::testing::TestHub;
use koji_core::Result;
use serde_json::{json, Value as Json};

#[tokio::test]
async fn typed_build_info() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = th
            .call(
                &admin,
                "createEmptyBuild",
                json!(["javapkg", "1.0", "1", Json::Null]),
            )
            .await?
            .as_i64()
            .unwrap();
        for m in ["getMavenBuild", "getWinBuild", "getImageBuild"] {
            assert_eq!(th.call(&admin, m, json!([id])).await?, Json::Null, "{m}");
        }
        let db = th.hub.db().conn();
        exec(
            db,
            "INSERT INTO maven_builds (build_id, group_id, artifact_id, version) VALUES (?, ?, ?, ?)",
            params![id, "org.example", "javapkg", "1.0"],
        )
        .await?;
        exec(
            db,
            "INSERT INTO image_builds (build_id) VALUES (?)",
            params![id],
        )
        .await?;
        assert_eq!(
            th.call(&admin, "getMavenBuild", json!(["javapkg-1.0-1"]))
                .await?,
            json!({"artifact_id": "javapkg", "build_id": id, "group_id": "org.example", "version": "1.0"})
        );
        assert_eq!(
            th.call(&admin, "getImageBuild", json!([id])).await?,
            json!({"build_id": id})
        );
        let e = th
            .call(&admin, "getWinBuild", json!(["javapkg-1.0-1", true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "no such Windows build: javapkg-1.0-1");
        let e = th
            .call(&admin, "getMavenBuild", json!(["nope-1-1", true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 'nope-1-1'");
        assert_eq!(
            th.call(&admin, "getMavenBuild", json!(["nope-1-1"]))
                .await?,
            Json::Null
        );
    }
    Ok(())
}
