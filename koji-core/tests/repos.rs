//! Reading and changing repos through upstream's API (getRepo, repoInfo,
//! getActiveRepos, repoExpire, repoProblem, repoDelete), on repo rows as
//! an upstream database holds them (written here directly, as a hub
//! migrated from upstream has them).

use koji_core::db::exec;
use koji_core::params;
use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};

fn fault(r: Result<Json>) -> (i32, String) {
    let e = r.expect_err("a fault");
    (e.fault_code(), e.to_string())
}

/// A repo row of tag `tag_id` in `state`, created at `event`.
async fn repo(
    th: &TestHub,
    id: i64,
    tag_id: i64,
    event: i64,
    state: i64,
    dist: bool,
) -> Result<()> {
    let opts = match th.backend {
        koji_core::db::Backend::Postgres => "CAST(? AS JSONB)",
        koji_core::db::Backend::Sqlite => "?",
    };
    exec(
        th.hub.db().conn(),
        &format!(
            "INSERT INTO repo (id, create_event, tag_id, state, dist, opts, creation_time, state_time) \
             VALUES (?, ?, ?, ?, ?, {opts}, ?, ?)"
        ),
        params![
            id,
            event,
            tag_id,
            state,
            dist,
            r#"{"src": false, "debuginfo": false, "separate_src": false}"#,
            chrono::DateTime::from_timestamp(1_700_000_000 + id, 0).unwrap(),
            chrono::DateTime::from_timestamp(1_700_000_000 + id, 0).unwrap()
        ],
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn repo_reads_and_states() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let l = th.label();
        let tag = th.call(&admin, "createTag", json!(["f40-build"])).await?;
        let tag = tag.as_i64().unwrap();
        let ev1 = th.call(&admin, "getLastEvent", json!([])).await?["id"]
            .as_i64()
            .unwrap();
        repo(&th, 1, tag, ev1, 2, false).await?; // EXPIRED
        th.call(&admin, "createTag", json!(["other"])).await?;
        let ev2 = th.call(&admin, "getLastEvent", json!([])).await?["id"]
            .as_i64()
            .unwrap();
        repo(&th, 2, tag, ev2, 1, false).await?; // READY, newer
        repo(&th, 3, tag, ev2, 1, true).await?; // a dist repo

        let r = th.call(&admin, "getRepo", json!(["f40-build"])).await?;
        assert_eq!(r["id"], json!(2), "[{l}] {r}");
        let keys: Vec<&str> = r.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            vec![
                "begin_event",
                "begin_ts",
                "create_event",
                "create_ts",
                "creation_time",
                "creation_ts",
                "custom_opts",
                "dist",
                "end_event",
                "end_ts",
                "id",
                "opts",
                "state",
                "state_time",
                "state_ts",
                "tag_id",
                "tag_name",
                "task_id",
                "task_state"
            ]
        );
        assert_eq!(r["tag_name"], json!("f40-build"));
        assert_eq!(r["create_event"], json!(ev2));
        assert_eq!(r["creation_ts"], json!(1_700_000_002.0), "[{l}]");
        assert_eq!(
            r["opts"],
            json!({"src": false, "debuginfo": false, "separate_src": false}),
            "[{l}]"
        );
        assert_eq!(r["dist"], json!(false));
        // dist repos, other states, and "as of an event" (any state)
        assert_eq!(
            th.call(
                &admin,
                "getRepo",
                json!(["f40-build", kw(json!({"dist": true}))])
            )
            .await?["id"],
            json!(3)
        );
        assert_eq!(
            th.call(&admin, "getRepo", json!([tag, 2])).await?["id"],
            json!(1)
        );
        assert_eq!(
            th.call(
                &admin,
                "getRepo",
                json!(["f40-build", kw(json!({"event": ev1}))])
            )
            .await?["id"],
            json!(1)
        );
        assert_eq!(
            th.call(&admin, "getRepo", json!(["other"])).await?,
            Json::Null
        );

        let info = th.call(&admin, "repoInfo", json!([1])).await?;
        assert_eq!(info["state"], json!(2));
        assert_eq!(th.call(&admin, "repoInfo", json!([99])).await?, Json::Null);
        assert_eq!(
            fault(th.call(&admin, "repoInfo", json!([99, true])).await),
            (1000, "query returned no rows".into())
        );
        let active = th.call(&admin, "getActiveRepos", json!([])).await?;
        assert_eq!(active.as_array().map(Vec::len), Some(3), "[{l}]");
        assert_eq!(
            active[0]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect::<Vec<_>>(),
            vec![
                "create_event",
                "create_ts",
                "creation_ts",
                "dist",
                "end_event",
                "id",
                "opts",
                "state",
                "state_ts",
                "tag_id",
                "tag_name",
                "task_id"
            ]
        );

        // state changes need the repo permission and move forward only
        let bob = th.user("bob", "pw", &[]).await?;
        assert_eq!(
            fault(th.call(&bob, "repoExpire", json!([2])).await),
            (1004, "repo permission required (logged in as bob)".into())
        );
        let kojira = th.user("kojira", "pw", &["repo"]).await?;
        th.call(&kojira, "repoExpire", json!([2])).await?;
        assert_eq!(
            th.call(&admin, "repoInfo", json!([2])).await?["state"],
            json!(2)
        );
        th.call(&kojira, "repoExpire", json!([2])).await?; // already: no-op
        th.call(&kojira, "repoProblem", json!([2])).await?;
        assert_eq!(
            fault(th.call(&kojira, "repoExpire", json!([2])).await),
            (
                1000,
                "Invalid repo state transition for repo 2: PROBLEM -> EXPIRED".into()
            )
        );
        // deleting: refused (a count) while a buildroot uses it
        th.host("b1", &["x86_64"]).await?;
        let task = th.call(&admin, "makeTask", json!(["sleep", [1]])).await?;
        exec(
            th.hub.db().conn(),
            "INSERT INTO buildroot (id, br_type, cg_id, container_type, container_arch, host_os, host_arch, extra) \
             VALUES (1, 0, NULL, NULL, NULL, NULL, NULL, NULL)",
            vec![],
        )
        .await?;
        exec(
            th.hub.db().conn(),
            "INSERT INTO standard_buildroot (buildroot_id, host_id, repo_id, task_id, create_event, state) \
             VALUES (1, 1, 1, ?, ?, 0)",
            params![task.as_i64().unwrap(), ev2],
        )
        .await?;
        let refs = th.call(&admin, "repo.references", json!([1])).await?;
        assert_eq!(
            refs,
            json!([{"id": 1, "host_id": 1, "task_id": task, "create_event": ev2, "state": 0}]),
            "[{l}]"
        );
        assert_eq!(
            th.call(&admin, "repo.references", json!([2])).await?,
            json!([])
        );
        assert_eq!(
            th.call(&kojira, "repoDelete", json!([1])).await?,
            json!(1),
            "[{l}]"
        );
        assert_eq!(
            th.call(&admin, "repoInfo", json!([1])).await?["state"],
            json!(2)
        );
        assert_eq!(th.call(&kojira, "repoDelete", json!([2])).await?, json!(0));
        assert_eq!(
            th.call(&admin, "repoInfo", json!([2])).await?["state"],
            json!(3)
        );
        assert_eq!(
            fault(th.call(&kojira, "repoExpire", json!([2])).await),
            (
                1000,
                "Invalid repo state transition for repo 2: DELETED -> EXPIRED".into()
            )
        );
        let active = th.call(&admin, "getActiveRepos", json!([])).await?;
        assert_eq!(active.as_array().map(Vec::len), Some(2), "[{l}]");
        // repo.setState: any state by number, the same rules
        assert_eq!(
            fault(th.call(&bob, "repo.setState", json!([3, 2])).await),
            (1004, "repo permission required (logged in as bob)".into())
        );
        th.call(&kojira, "repo.setState", json!([3, 2])).await?;
        assert_eq!(
            th.call(&admin, "repoInfo", json!([3])).await?["state"],
            json!(2)
        );
        assert_eq!(
            fault(th.call(&kojira, "repo.setState", json!([3, 7])).await),
            (1019, "Unknown repo state: 7".into())
        );
        assert_eq!(
            fault(th.call(&kojira, "repoExpire", json!([99])).await),
            (1000, "query returned no rows".into())
        );
    }
    Ok(())
}
