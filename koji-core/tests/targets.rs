//! Build targets through upstream's API: createBuildTarget,
//! editBuildTarget, deleteBuildTarget, getBuildTarget, getBuildTargets.

use koji_core::testing::{kw, TestHub};
use koji_core::{Caller, Error, Result};
use serde_json::{json, Value as Json};

/// The fault of a call that must fail: (code, message).
async fn fault(th: &TestHub, who: &Caller, method: &str, params: Json) -> (i32, String) {
    match th.call(who, method, params).await {
        Ok(v) => panic!("{}: {method} should fail, answered {v}", th.label()),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

async fn last_event(th: &TestHub, who: &Caller) -> Result<i64> {
    let ev = th.call(who, "getLastEvent", json!([])).await?;
    ev["id"]
        .as_i64()
        .ok_or_else(|| Error::Generic(format!("no event id in {ev}")))
}

async fn tag(th: &TestHub, who: &Caller, name: &str) -> Result<i64> {
    let id = th.call(who, "createTag", json!([name])).await?;
    id.as_i64()
        .ok_or_else(|| Error::Generic(format!("createTag answered {id}")))
}

fn target(id: &Json, name: &str, build: (i64, &str), dest: (i64, &str)) -> Json {
    json!({"id": id, "name": name, "build_tag": build.0, "build_tag_name": build.1,
           "dest_tag": dest.0, "dest_tag_name": dest.1})
}

#[tokio::test]
async fn create_and_get_targets() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let build = tag(&th, &admin, "f40-build").await?;
        let dest = tag(&th, &admin, "f40").await?;
        let v = th
            .call(
                &admin,
                "createBuildTarget",
                json!(["f40-candidate", "f40-build", "f40"]),
            )
            .await?;
        assert_eq!(v, Json::Null, "{}", th.label());
        let t = th
            .call(&admin, "getBuildTarget", json!(["f40-candidate"]))
            .await?;
        let id = t["id"].clone();
        assert!(id.is_i64(), "{}: {t}", th.label());
        let expected = target(&id, "f40-candidate", (build, "f40-build"), (dest, "f40"));
        assert_eq!(t, expected, "{}", th.label());
        // by id, by map, and the keys exactly upstream's
        assert_eq!(
            th.call(&admin, "getBuildTarget", json!([id.clone()]))
                .await?,
            expected,
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getBuildTarget", json!([{"name": "f40-candidate"}]))
                .await?,
            expected,
            "{}",
            th.label()
        );
        // tags given by id, and a second target sharing the build tag
        th.call(
            &admin,
            "createBuildTarget",
            json!(["f40-other", build, dest]),
        )
        .await?;
        let all = th.call(&admin, "getBuildTargets", json!([])).await?;
        assert_eq!(
            all.as_array().map(Vec::len),
            Some(2),
            "{}: {all}",
            th.label()
        );
        assert_eq!(all[0], expected, "{}", th.label());
        assert_eq!(all[1]["name"], json!("f40-other"), "{}", th.label());
        // filters: by name, by build tag (name or id), by destination tag
        let one = th
            .call(&admin, "getBuildTargets", json!(["f40-candidate"]))
            .await?;
        assert_eq!(one, json!([expected]), "{}", th.label());
        for by in [json!("f40-build"), json!(build), json!({"id": build})] {
            let v = th
                .call(
                    &admin,
                    "getBuildTargets",
                    json!([kw(json!({"buildTagID": by}))]),
                )
                .await?;
            assert_eq!(v.as_array().map(Vec::len), Some(2), "{}: {by}", th.label());
        }
        let v = th
            .call(
                &admin,
                "getBuildTargets",
                json!([kw(json!({"destTagID": "f40-build"}))]),
            )
            .await?;
        assert_eq!(v, json!([]), "{}", th.label());
        let v = th
            .call(
                &admin,
                "getBuildTargets",
                json!([kw(json!({"buildTagID": "no-such-tag"}))]),
            )
            .await?;
        assert_eq!(v, json!([]), "{}", th.label());
        // queryOpts
        let v = th
            .call(
                &admin,
                "getBuildTargets",
                json!([kw(json!({"queryOpts": {"order": "-name", "limit": 1}}))]),
            )
            .await?;
        assert_eq!(v[0]["name"], json!("f40-other"), "{}", th.label());
        assert_eq!(v.as_array().map(Vec::len), Some(1), "{}", th.label());
        let v = th
            .call(
                &admin,
                "getBuildTargets",
                json!([kw(json!({"queryOpts": {"countOnly": true}}))]),
            )
            .await?;
        assert_eq!(v, json!(2), "{}", th.label());
        let v = th
            .call(
                &admin,
                "getBuildTargets",
                json!([kw(
                    json!({"info": "f40-candidate", "queryOpts": {"asList": true}})
                )]),
            )
            .await?;
        assert_eq!(
            v,
            json!([[build, "f40-build", dest, "f40", id, "f40-candidate"]]),
            "{}",
            th.label()
        );
        let (code, msg) = fault(
            &th,
            &admin,
            "getBuildTargets",
            json!([kw(json!({"queryOpts": {"order": "bogus"}}))]),
        )
        .await;
        assert_eq!(
            (code, msg.as_str()),
            (1, "<class 'Exception'>: Invalid order: bogus")
        );
        // getBuildTarget with several matches (a false info matches all)
        let v = th.call(&admin, "getBuildTarget", json!([null])).await?;
        assert_eq!(v, Json::Null, "{}", th.label());
    }
    Ok(())
}

#[tokio::test]
async fn target_faults() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        tag(&th, &admin, "b").await?;
        tag(&th, &admin, "d").await?;
        th.call(&admin, "createBuildTarget", json!(["t1", "b", "d"]))
            .await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let anon = Caller::anonymous("127.0.0.1");
        for (who, name) in [
            (&bob, " (logged in as bob)"),
            (&anon, " (user not logged in)"),
        ] {
            let want = (1004, format!("target permission required{name}"));
            assert_eq!(
                fault(&th, who, "createBuildTarget", json!(["t2", "b", "d"])).await,
                want,
                "{}",
                th.label()
            );
            assert_eq!(
                fault(&th, who, "editBuildTarget", json!(["t1", "t1", "b", "d"])).await,
                want
            );
            assert_eq!(
                fault(&th, who, "deleteBuildTarget", json!(["t1"])).await,
                want
            );
        }
        // reading needs no login
        let v = th.call(&anon, "getBuildTarget", json!(["t1"])).await?;
        assert_eq!(v["name"], json!("t1"), "{}", th.label());
        // the target permission is enough
        let tim = th.user("tim", "pw", &["target"]).await?;
        th.call(&tim, "createBuildTarget", json!(["t2", "b", "d"]))
            .await?;
        let cases = [
            (
                "createBuildTarget",
                json!(["t1", "b", "d"]),
                (1000, "A build target with the name 't1' already exists"),
            ),
            (
                "createBuildTarget",
                json!(["bad name", "b", "d"]),
                (1000, "Name bad name does not match RegexNameInternal value"),
            ),
            (
                "createBuildTarget",
                json!([5, "b", "d"]),
                (1000, "Name should be string"),
            ),
            (
                "createBuildTarget",
                json!(["t3", "nope", "d"]),
                (1000, "build tag 'nope' does not exist"),
            ),
            (
                "createBuildTarget",
                json!(["t3", "b", 999]),
                (1000, "destination tag '999' does not exist"),
            ),
            (
                "createBuildTarget",
                json!(["t3", [1], "d"]),
                (1019, "Invalid name or id value: [1]"),
            ),
            (
                "editBuildTarget",
                json!(["nope", "nope", "b", "d"]),
                (1000, "No such build target: nope"),
            ),
            (
                "editBuildTarget",
                json!(["t1", "t2", "b", "d"]),
                (1000, "name \"t2\" is already taken by build target 2"),
            ),
            (
                "editBuildTarget",
                json!(["t1", "t1", "b", "gone"]),
                (1000, "destination tag 'gone' does not exist"),
            ),
            (
                "deleteBuildTarget",
                json!(["nope"]),
                (1000, "No such build target: nope"),
            ),
            (
                "getBuildTarget",
                json!(["nope", kw(json!({"strict": true}))]),
                (1000, "No such build target: nope"),
            ),
            (
                "getBuildTarget",
                json!(["t1", "x"]),
                (1000, "Invalid event: 'x'"),
            ),
            (
                "getBuildTargets",
                json!([[1]]),
                (1019, "Invalid name or id value: [1]"),
            ),
            (
                "createBuildTarget",
                json!(["t3", "b"]),
                (
                    1019,
                    "createBuildTarget() missing 1 required positional argument: 'dest_tag'",
                ),
            ),
        ];
        for (method, params, (code, msg)) in cases {
            assert_eq!(
                fault(&th, &tim, method, params.clone()).await,
                (code, msg.to_string()),
                "{}: {method} {params}",
                th.label()
            );
        }
        let v = th.call(&anon, "getBuildTarget", json!(["nope"])).await?;
        assert_eq!(v, Json::Null, "{}", th.label());
    }
    Ok(())
}

#[tokio::test]
async fn edit_and_delete_keep_history() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let b = tag(&th, &admin, "b").await?;
        let d = tag(&th, &admin, "d").await?;
        let d2 = tag(&th, &admin, "d2").await?;
        th.call(&admin, "createBuildTarget", json!(["t", "b", "d"]))
            .await?;
        let before_edit = last_event(&th, &admin).await?;
        let id = th.call(&admin, "getBuildTarget", json!(["t"])).await?["id"].clone();
        let v = th
            .call(&admin, "editBuildTarget", json!(["t", "t-new", "b", "d2"]))
            .await?;
        assert_eq!(v, Json::Null, "{}", th.label());
        let edited_at = last_event(&th, &admin).await?;
        assert_eq!(
            edited_at,
            before_edit + 1,
            "one event per edit ({})",
            th.label()
        );
        let now = th
            .call(&admin, "getBuildTarget", json!([id.clone()]))
            .await?;
        assert_eq!(
            now,
            target(&id, "t-new", (b, "b"), (d2, "d2")),
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getBuildTarget", json!(["t"])).await?,
            Json::Null,
            "{}",
            th.label()
        );
        // as of the earlier event: the old tags (names are not versioned)
        let then = th
            .call(&admin, "getBuildTarget", json!([id.clone(), before_edit]))
            .await?;
        assert_eq!(
            then,
            target(&id, "t-new", (b, "b"), (d, "d")),
            "{}",
            th.label()
        );
        // edit by id, keeping the name
        th.call(
            &admin,
            "editBuildTarget",
            json!([id.clone(), "t-new", b, d]),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "getBuildTarget", json!(["t-new"])).await?["dest_tag"],
            json!(d),
            "{}",
            th.label()
        );
        // delete: gone now, present before
        let before_delete = last_event(&th, &admin).await?;
        let v = th
            .call(&admin, "deleteBuildTarget", json!(["t-new"]))
            .await?;
        assert_eq!(v, Json::Null, "{}", th.label());
        assert_eq!(
            th.call(&admin, "getBuildTarget", json!(["t-new"])).await?,
            Json::Null,
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getBuildTargets", json!([])).await?,
            json!([]),
            "{}",
            th.label()
        );
        let old = th
            .call(
                &admin,
                "getBuildTargets",
                json!([kw(json!({"event": before_delete}))]),
            )
            .await?;
        assert_eq!(
            old,
            json!([target(&id, "t-new", (b, "b"), (d, "d"))]),
            "{}",
            th.label()
        );
        // the name is still known, so re-creating reuses the id
        th.call(&admin, "createBuildTarget", json!(["t-new", "d", "b"]))
            .await?;
        let again = th.call(&admin, "getBuildTarget", json!(["t-new"])).await?;
        assert_eq!(
            again,
            target(&id, "t-new", (d, "d"), (b, "b")),
            "{}",
            th.label()
        );
        // a deleted tag no longer qualifies as a target's tag
        th.call(&admin, "deleteTag", json!(["d2"])).await?;
        assert_eq!(
            fault(&th, &admin, "createBuildTarget", json!(["t3", "d2", "b"])).await,
            (1000, "build tag 'd2' does not exist".to_string()),
            "{}",
            th.label()
        );
    }
    Ok(())
}
