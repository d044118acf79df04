//! Builds through upstream's API: createEmptyBuild, getBuild, findBuildID.

use koji_core::testing::TestHub;
use koji_core::Result;
use serde_json::{json, Value as Json};

#[tokio::test]
async fn empty_build_and_lookups() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = th
            .call(
                &admin,
                "createEmptyBuild",
                json!(["bash", "5.2", "1.fc40", 1]),
            )
            .await?;
        let id = id.as_i64().expect("an id");
        let b = th
            .call(&admin, "getBuild", json!(["bash-5.2-1.fc40"]))
            .await?;
        let keys: Vec<&str> = b.as_object().unwrap().keys().map(|k| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "build_id",
                "cg_id",
                "completion_time",
                "completion_ts",
                "creation_event_id",
                "creation_time",
                "creation_ts",
                "draft",
                "epoch",
                "extra",
                "id",
                "name",
                "nvr",
                "owner_id",
                "owner_name",
                "package_id",
                "package_name",
                "promoter_id",
                "promoter_name",
                "promotion_time",
                "promotion_ts",
                "release",
                "source",
                "start_time",
                "start_ts",
                "state",
                "task_id",
                "version",
                "volume_id",
                "volume_name",
                "cg_name"
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
            th.call(&admin, "findBuildID", json!(["bash-5.2-1.fc40"]))
                .await?,
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
        let e = th
            .call(&admin, "getBuild", json!([99999, true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 99999");
        let e = th
            .call(&admin, "getBuild", json!(["bash"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid format: bash");
        // a second build of the same N-V-R is refused while COMPLETE
        let e = th
            .call(
                &admin,
                "createEmptyBuild",
                json!(["bash", "5.2", "1.fc40", 1]),
            )
            .await
            .unwrap_err();
        assert!(
            e.to_string()
                .starts_with(&format!("Build already exists (id={id}, state=COMPLETE)")),
            "{e}"
        );
        // drafts get ",draft_<id>"
        let d = th
            .call(
                &admin,
                "createEmptyBuild",
                json!(["bash", "5.2", "2", Json::Null, Json::Null, true]),
            )
            .await?;
        let d = th.call(&admin, "getBuild", json!([d])).await?;
        assert_eq!(d["release"], json!(format!("2,draft_{}", d["id"])));
        assert_eq!(d["draft"], json!(true));
        // only admins
        let user = th.user("alice", "pw", &[]).await?;
        let e = th
            .call(
                &user,
                "createEmptyBuild",
                json!(["zsh", "1", "1", Json::Null]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{}: {e}", th.label());
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------

use koji_core::db::{exec, fetch_one, RowExt, Value};
use koji_core::params;
use koji_core::testing::kw;
use std::path::{Path, PathBuf};

async fn sql(th: &TestHub, q: &str, p: Vec<Value>) -> Result<u64> {
    exec(th.hub.db().conn(), q, p).await
}

async fn count(th: &TestHub, q: &str, p: Vec<Value>) -> Result<i64> {
    fetch_one(th.hub.db().conn(), q, p).await?.int("n")
}

fn topdir(th: &TestHub) -> PathBuf {
    th.hub.config().topdir.clone()
}

async fn empty_build(th: &TestHub, admin: &koji_core::Caller, args: Json) -> Result<i64> {
    Ok(th
        .call(admin, "createEmptyBuild", args)
        .await?
        .as_i64()
        .expect("an id"))
}

/// Makes a build BUILDING (no completion time), as a running task would.
async fn set_building(th: &TestHub, id: i64) -> Result<()> {
    sql(
        th,
        "UPDATE build SET state = 0, completion_time = NULL WHERE id = ?",
        params![id],
    )
    .await?;
    Ok(())
}

/// Tags a build by writing tag_listing directly (tagging has its own tests).
async fn tag_build(th: &TestHub, build_id: i64, tag_id: i64) -> Result<()> {
    let ev = fetch_one(
        th.hub.db().conn(),
        "SELECT MAX(id) AS id FROM events",
        vec![],
    )
    .await?
    .int("id")?;
    sql(
        th,
        "INSERT INTO tag_listing (build_id, tag_id, create_event, creator_id, active) \
         VALUES (?, ?, ?, 1, TRUE)",
        params![build_id, tag_id, ev],
    )
    .await?;
    Ok(())
}

async fn untag_build(th: &TestHub, build_id: i64) -> Result<()> {
    let ev = fetch_one(
        th.hub.db().conn(),
        "SELECT MAX(id) AS id FROM events",
        vec![],
    )
    .await?
    .int("id")?;
    sql(
        th,
        "UPDATE tag_listing SET active = NULL, revoke_event = ?, revoker_id = 1 \
         WHERE build_id = ? AND active = TRUE",
        params![ev, build_id],
    )
    .await?;
    Ok(())
}

async fn add_rpm(th: &TestHub, build_id: i64, nvra: (&str, &str, &str, &str)) -> Result<i64> {
    let (n, v, r, a) = nvra;
    let row = fetch_one(
        th.hub.db().conn(),
        "INSERT INTO rpminfo (build_id, name, version, release, arch, draft, external_repo_id, \
         payloadhash, size, buildtime) VALUES (?, ?, ?, ?, ?, FALSE, 0, 'abc', 10, 1) RETURNING id",
        params![build_id, n, v, r, a],
    )
    .await?;
    let id = row.int("id")?;
    sql(
        th,
        "INSERT INTO rpmsigs (rpm_id, sigkey, sighash) VALUES (?, 'abcd1234', 'ff')",
        params![id],
    )
    .await?;
    Ok(id)
}

fn write_file(p: &Path, text: &str) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

fn ids(v: &Json) -> Vec<i64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|b| b["build_id"].as_i64().unwrap())
        .collect()
}

// ---------------------------------------------------------------------------
// listBuilds
// ---------------------------------------------------------------------------

#[tokio::test]
async fn list_builds_keys_filters_and_query_opts() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.user("alice", "pw", &[]).await?;
        let b1 = empty_build(&th, &admin, json!(["bash", "5.2", "1.fc40", 1])).await?;
        let b2 = empty_build(&th, &admin, json!(["bash", "5.2", "2.fc40", null, "alice"])).await?;
        let b3 = empty_build(&th, &admin, json!(["zsh", "5.9", "1", null])).await?;
        let d = empty_build(&th, &admin, json!(["zsh", "5.9", "2", null, null, true])).await?;
        set_building(&th, b3).await?;
        sql(
            &th,
            "UPDATE build SET source = 'git+https://src/zsh#abc' WHERE id = ?",
            params![b3],
        )
        .await?;

        let all = th.call(&admin, "listBuilds", json!([])).await?;
        assert_eq!(ids(&all), vec![b1, b2, b3, d], "{l}");
        let keys: Vec<&str> = all[0]
            .as_object()
            .unwrap()
            .keys()
            .map(|k| k.as_str())
            .collect();
        assert_eq!(
            keys,
            [
                "build_id",
                "completion_time",
                "completion_ts",
                "creation_event_id",
                "creation_time",
                "creation_ts",
                "draft",
                "epoch",
                "extra",
                "name",
                "nvr",
                "owner_id",
                "owner_name",
                "package_id",
                "package_name",
                "promoter_id",
                "promoter_name",
                "promotion_time",
                "promotion_ts",
                "release",
                "source",
                "start_time",
                "start_ts",
                "state",
                "task_id",
                "version",
                "volume_id",
                "volume_name"
            ],
            "{l}"
        );
        let gb = th.call(&admin, "getBuild", json!([b1])).await?;
        for k in keys {
            assert_eq!(all[0][k], gb[k], "{l}: {k}");
        }

        let q = |args: Json| th.call(&admin, "listBuilds", kw(args));
        assert_eq!(
            ids(&q(json!({"packageID": "bash"})).await?),
            vec![b1, b2],
            "{l}"
        );
        let zsh = th.call(&admin, "getPackageID", json!(["zsh"])).await?;
        assert_eq!(
            ids(&q(json!({"packageID": zsh})).await?),
            vec![b3, d],
            "{l}"
        );
        assert_eq!(q(json!({"packageID": "nope"})).await?, json!([]), "{l}");
        assert_eq!(ids(&q(json!({"userID": "alice"})).await?), vec![b2], "{l}");
        assert_eq!(q(json!({"userID": "nobody"})).await?, json!([]), "{l}");
        assert_eq!(ids(&q(json!({"state": 0})).await?), vec![b3], "{l}");
        assert_eq!(ids(&q(json!({"prefix": "BA"})).await?), vec![b1, b2], "{l}");
        assert_eq!(
            ids(&q(json!({"pattern": "zsh-5.9-*"})).await?),
            vec![b3, d],
            "{l}"
        );
        assert_eq!(
            ids(&q(json!({"pattern": "bash-5.?-1*"})).await?),
            vec![b1],
            "{l}"
        );
        assert_eq!(
            ids(&q(json!({"source": "*SRC/zsh*"})).await?),
            vec![b3],
            "{l}"
        );
        assert_eq!(ids(&q(json!({"draft": true})).await?), vec![d], "{l}");
        assert_eq!(
            ids(&q(json!({"draft": false})).await?),
            vec![b1, b2, b3],
            "{l}"
        );
        assert_eq!(ids(&q(json!({"volumeID": 0})).await?).len(), 4, "{l}");
        assert_eq!(q(json!({"volumeID": 7})).await?, json!([]), "{l}");
        assert_eq!(q(json!({"taskID": -1})).await?, json!([]), "{l}");
        assert_eq!(q(json!({"cgID": "nope"})).await?, json!([]), "{l}");

        // times: float epoch or ISO text; a false value is no filter
        th.call(&admin, "setBuildTimestamp", json!([b1, 946684800.5]))
            .await?;
        assert_eq!(ids(&q(json!({"createdBefore": 0})).await?).len(), 4, "{l}");
        assert_eq!(q(json!({"createdBefore": 1.0})).await?, json!([]), "{l}");
        assert_eq!(
            ids(&q(json!({"createdAfter": "2000-01-01"})).await?).len(),
            4,
            "{l}"
        );
        assert_eq!(
            ids(&q(json!({"completeBefore": "2000-01-02 00:00:00"})).await?),
            vec![b1],
            "{l}"
        );
        assert_eq!(
            ids(&q(json!({"completeAfter": 946684800})).await?),
            vec![b1, b2, d],
            "{l}"
        );
        assert_eq!(
            ids(&q(json!({"completeAfter": 946684800, "completeBefore": 946684801})).await?),
            vec![b1],
            "{l}"
        );

        // build types
        sql(&th, "INSERT INTO maven_builds (build_id, group_id, artifact_id, version) VALUES (?, 'org.x', 'x', '5.2')", params![b1]).await?;
        sql(
            &th,
            "INSERT INTO win_builds (build_id, platform) VALUES (?, 'w10')",
            params![b2],
        )
        .await?;
        sql(
            &th,
            "INSERT INTO image_builds (build_id) VALUES (?)",
            params![b2],
        )
        .await?;
        sql(
            &th,
            "INSERT INTO build_types (build_id, btype_id) VALUES (?, 1)",
            params![b3],
        )
        .await?;
        let m = q(json!({"type": "maven"})).await?;
        assert_eq!(ids(&m), vec![b1], "{l}");
        assert_eq!(m[0]["maven_group_id"], json!("org.x"), "{l}");
        assert_eq!(m[0]["maven_artifact_id"], json!("x"), "{l}");
        assert_eq!(m[0]["maven_version"], json!("5.2"), "{l}");
        assert_eq!(m[0].as_object().unwrap().len(), 31, "{l}");
        assert_eq!(
            ids(
                &q(json!({"type": "maven", "typeInfo": {"group_id": "org.x", "version": "5.2"}}))
                    .await?
            ),
            vec![b1],
            "{l}"
        );
        assert_eq!(
            q(json!({"type": "maven", "typeInfo": {"artifact_id": "y"}})).await?,
            json!([]),
            "{l}"
        );
        let w = q(json!({"type": "win", "typeInfo": {"platform": "w10"}})).await?;
        assert_eq!(ids(&w), vec![b2], "{l}");
        assert_eq!(w[0]["platform"], json!("w10"), "{l}");
        let e = q(json!({"type": "win", "typeInfo": {"x": 1}}))
            .await
            .unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1, "<class 'KeyError'>: 'platform'".into()),
            "{l}"
        );
        assert_eq!(ids(&q(json!({"type": "image"})).await?), vec![b2], "{l}");
        let img = q(json!({"type": "image", "queryOpts": {"asList": true}})).await?;
        assert_eq!(img[0][0], json!(b2), "{l}");
        assert_eq!(img[0][1], json!(b2), "{l}: upstream lists build_id twice");
        assert_eq!(ids(&q(json!({"type": "rpm"})).await?), vec![b3], "{l}");
        let e = q(json!({"type": "bogus"})).await.unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1000, "unsupported build type: bogus".into()),
            "{l}"
        );

        // queryOpts
        let r = q(json!({"queryOpts": {"order": "-build_id", "limit": 2}})).await?;
        assert_eq!(ids(&r), vec![d, b3], "{l}");
        let r = q(json!({"queryOpts": {"order": "nvr", "offset": 1, "limit": 2}})).await?;
        assert_eq!(ids(&r), vec![b2, b3], "{l}");
        let r = q(json!({"queryOpts": {"order": "-package.name,build.id"}})).await?;
        assert_eq!(ids(&r), vec![b3, d, b1, b2], "{l}");
        assert_eq!(
            q(json!({"queryOpts": {"countOnly": true}})).await?,
            json!(4),
            "{l}"
        );
        let r = q(json!({"packageID": "bash", "queryOpts": {"asList": true}})).await?;
        assert_eq!(r[0].as_array().unwrap().len(), 28, "{l}");
        assert_eq!(r[0][0], json!(b1), "{l}");
        let e = q(json!({"queryOpts": {"order": "bogus"}}))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "<class 'Exception'>: Invalid order: bogus",
            "{l}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// getNextRelease
// ---------------------------------------------------------------------------

#[tokio::test]
async fn next_release_as_upstream() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let next = |name: &str, version: &str, incr: Option<Json>| {
            let mut args = vec![json!({"name": name, "version": version})];
            if let Some(i) = incr {
                args.push(i);
            }
            th.call(&admin, "getNextRelease", Json::Array(args))
        };
        assert_eq!(next("foo", "1", None).await?, json!("1"), "{l}");
        assert_eq!(next("foo", "1", Some(json!(3))).await?, json!("3"), "{l}");
        for (v, rel, want) in [
            ("a", "9", "10"),
            ("b", "5.fc40", "6.fc40"),
            ("c", "20240101.nightly.7", "20240101.nightly.8"),
            ("g", "0123", "124"),
        ] {
            empty_build(&th, &admin, json!(["foo", v, rel, null])).await?;
            assert_eq!(next("foo", v, None).await?, json!(want), "{l}: {rel}");
        }
        assert_eq!(
            next("foo", "a", Some(json!("2"))).await?,
            json!("11"),
            "{l}"
        );
        empty_build(&th, &admin, json!(["foo", "d", "1.2.3.4", null])).await?;
        let e = next("foo", "d", None).await.unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1005, "Unable to increment release value: 1.2.3.4".into()),
            "{l}"
        );
        // drafts and failed builds do not count; building and deleted ones do
        empty_build(&th, &admin, json!(["foo", "e", "3", null])).await?;
        empty_build(&th, &admin, json!(["foo", "e", "4", null, null, true])).await?;
        assert_eq!(next("foo", "e", None).await?, json!("4"), "{l}");
        let f = empty_build(&th, &admin, json!(["foo", "f", "7", null])).await?;
        sql(&th, "UPDATE build SET state = 3 WHERE id = ?", params![f]).await?;
        assert_eq!(next("foo", "f", None).await?, json!("1"), "{l}");
        sql(&th, "UPDATE build SET state = 2 WHERE id = ?", params![f]).await?;
        assert_eq!(next("foo", "f", None).await?, json!("8"), "{l}");
        set_building(&th, f).await?;
        assert_eq!(next("foo", "f", None).await?, json!("8"), "{l}");
        for bad in [json!(null), json!("x"), json!([1])] {
            let e = next("foo", "a", Some(bad)).await.unwrap_err();
            assert_eq!(
                (e.fault_code(), e.to_string()),
                (1019, "incr parameter must be an integer".into()),
                "{l}"
            );
        }
        let e = th
            .call(&admin, "getNextRelease", json!([{"name": "foo"}]))
            .await
            .unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1, "<class 'KeyError'>: 'version'".into()),
            "{l}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// lifecycle
// ---------------------------------------------------------------------------

#[tokio::test]
async fn cancel_build_owner_or_admin() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let alice = th.user("alice", "pw", &[]).await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let b = empty_build(&th, &admin, json!(["cx", "1", "1", null, "alice"])).await?;
        let c = empty_build(&th, &admin, json!(["cx", "1", "2", null, "alice"])).await?;
        set_building(&th, b).await?;
        set_building(&th, c).await?;
        let e = th.call(&bob, "cancelBuild", json!([b])).await.unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1004, "Cannot cancel build, not owner".into()),
            "{l}"
        );
        let anon = koji_core::Caller::anonymous("127.0.0.1");
        let e = th.call(&anon, "cancelBuild", json!([b])).await.unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
        assert_eq!(
            th.call(&alice, "cancelBuild", json!([b])).await?,
            json!(true),
            "{l}"
        );
        let info = th.call(&admin, "getBuild", json!([b])).await?;
        assert_eq!(info["state"], json!(4), "{l}");
        assert!(info["completion_ts"].is_f64(), "{l}: {info}");
        assert_eq!(
            th.call(&alice, "cancelBuild", json!(["cx-1-1"])).await?,
            json!(false),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "cancelBuild", json!([c])).await?,
            json!(true),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "cancelBuild", json!(["cx-9-9"])).await?,
            json!(false),
            "{l}"
        );
        let e = th
            .call(&admin, "cancelBuild", json!(["cx-9-9", true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 'cx-9-9'", "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn delete_build_refuses_tagged_and_removes_files() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let b = empty_build(&th, &admin, json!(["del", "1", "1", null])).await?;
        let rpm = add_rpm(&th, b, ("del", "1", "1", "noarch")).await?;
        let dir = topdir(&th).join("packages/del/1/1");
        write_file(&dir.join("noarch/del-1-1.noarch.rpm"), "rpm");
        let tag = th.call(&admin, "createTag", json!(["f40"])).await?;
        let tag = tag.as_i64().unwrap();
        tag_build(&th, b, tag).await?;

        let e = th
            .call(&admin, "deleteBuild", json!([b]))
            .await
            .unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (
                1000,
                format!("Cannot delete build, tagged: [{{'name': 'f40', 'tag_id': {tag}}}]")
            ),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "deleteBuild", json!([b, false])).await?,
            json!(false),
            "{l}"
        );
        let refs = th
            .call(&admin, "buildReferences", json!([b, null, true]))
            .await?;
        assert_eq!(
            refs,
            json!({"tags": [{"name": "f40", "tag_id": tag}]}),
            "{l}"
        );
        untag_build(&th, b).await?;
        let refs = th
            .call(&admin, "buildReferences", json!(["del-1-1"]))
            .await?;
        assert_eq!(
            refs,
            json!({"tags": [], "rpms": [], "component_of": [], "archives": [], "last_used": null, "images": []}),
            "{l}"
        );
        let e = th.call(&bob, "deleteBuild", json!([b])).await.unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
        assert!(dir.exists());
        assert_eq!(
            th.call(&admin, "deleteBuild", json!(["del-1-1"])).await?,
            json!(true),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getBuild", json!([b])).await?["state"],
            json!(2),
            "{l}"
        );
        assert!(!dir.exists(), "{l}: build directory removed");
        // the RPM rows stay, their signatures go
        assert_eq!(
            count(
                &th,
                "SELECT COUNT(*) AS n FROM rpminfo WHERE build_id = ?",
                params![b]
            )
            .await?,
            1,
            "{l}"
        );
        assert_eq!(
            count(
                &th,
                "SELECT COUNT(*) AS n FROM rpmsigs WHERE rpm_id = ?",
                params![rpm]
            )
            .await?,
            0,
            "{l}"
        );
        // already deleted: nothing to do
        assert_eq!(
            th.call(&admin, "deleteBuild", json!([b])).await?,
            Json::Null,
            "{l}"
        );
        let e = th
            .call(&admin, "deleteBuild", json!(["nope-1-1"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 'nope-1-1'", "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn reset_build_strips_everything() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let b = empty_build(&th, &admin, json!(["rs", "1", "1", null])).await?;
        add_rpm(&th, b, ("rs", "1", "1", "x86_64")).await?;
        sql(&th, "INSERT INTO maven_builds (build_id, group_id, artifact_id, version) VALUES (?, 'g', 'a', '1')", params![b]).await?;
        sql(
            &th,
            "INSERT INTO build_types (build_id, btype_id) VALUES (?, 1)",
            params![b],
        )
        .await?;
        let tag = th
            .call(&admin, "createTag", json!(["t"]))
            .await?
            .as_i64()
            .unwrap();
        tag_build(&th, b, tag).await?;
        let dir = topdir(&th).join("packages/rs/1/1");
        write_file(&dir.join("x86_64/rs-1-1.x86_64.rpm"), "rpm");

        let e = th.call(&bob, "resetBuild", json!([b])).await.unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
        assert_eq!(
            th.call(&admin, "resetBuild", json!(["rs-1-1"])).await?,
            Json::Null,
            "{l}"
        );
        let info = th.call(&admin, "getBuild", json!([b])).await?;
        assert_eq!(
            (
                info["state"].clone(),
                info["task_id"].clone(),
                info["volume_id"].clone()
            ),
            (json!(4), Json::Null, json!(0)),
            "{l}"
        );
        for t in ["rpminfo", "maven_builds", "build_types", "tag_listing"] {
            let n = count(
                &th,
                &format!("SELECT COUNT(*) AS n FROM {t} WHERE build_id = ?"),
                params![b],
            )
            .await?;
            assert_eq!(n, 0, "{l}: {t}");
        }
        assert!(!dir.exists(), "{l}");
        // a missing build is no error
        assert_eq!(
            th.call(&admin, "resetBuild", json!(["nope-1-1"])).await?,
            Json::Null,
            "{l}"
        );
        // and the N-V-R can be used again
        empty_build(&th, &admin, json!(["rs", "1", "1", null])).await?;
    }
    Ok(())
}

#[tokio::test]
async fn build_owner_and_timestamp() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let b = empty_build(&th, &admin, json!(["own", "1", "1", null])).await?;
        assert_eq!(
            th.call(&admin, "setBuildOwner", json!([b, "bob"])).await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getBuild", json!([b])).await?["owner_name"],
            json!("bob"),
            "{l}"
        );
        let e = th
            .call(&admin, "setBuildOwner", json!([b, "nobody"]))
            .await
            .unwrap_err();
        assert!(e.to_string().starts_with("No such user"), "{l}: {e}");
        let e = th
            .call(&bob, "setBuildOwner", json!([b, "bob"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
        let e = th
            .call(&admin, "setBuildOwner", json!(["own-9-9", "bob"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 'own-9-9'", "{l}");

        th.call(
            &admin,
            "setBuildTimestamp",
            json!(["own-1-1", 1700000000.25]),
        )
        .await?;
        let info = th.call(&admin, "getBuild", json!([b])).await?;
        assert_eq!(info["completion_ts"], json!(1700000000.25), "{l}");
        assert_eq!(
            info["completion_time"],
            json!("2023-11-14 22:13:20.250000+00:00"),
            "{l}"
        );
        th.call(&admin, "setBuildTimestamp", json!([b, "20240102T03:04:05"]))
            .await?;
        let info = th.call(&admin, "getBuild", json!([b])).await?;
        assert_eq!(info["completion_ts"], json!(1704164645.0), "{l}");
        for bad in [json!("yesterday"), json!([1]), json!(null)] {
            let e = th
                .call(&admin, "setBuildTimestamp", json!([b, bad]))
                .await
                .unwrap_err();
            assert_eq!(e.to_string(), "Invalid type for timestamp", "{l}");
        }
        let e = th
            .call(&bob, "setBuildTimestamp", json!([b, 1]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// volumes
// ---------------------------------------------------------------------------

#[tokio::test]
async fn volumes_and_moving_builds() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let top = topdir(&th);
        let default = json!({"id": 0, "name": "DEFAULT"});
        assert_eq!(
            th.call(&admin, "listVolumes", json!([])).await?,
            json!([default]),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getVolume", json!(["DEFAULT"])).await?,
            default,
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getVolume", json!([0])).await?,
            default,
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getVolume", json!(["fast"])).await?,
            Json::Null,
            "{l}"
        );
        let e = th
            .call(&admin, "getVolume", json!(["fast", true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such volume: fast", "{l}");

        let e = th
            .call(&admin, "addVolume", json!(["fast"]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "please create the volume directory first",
            "{l}"
        );
        std::fs::create_dir_all(top.join("vol/fast"))?;
        let e = th
            .call(&bob, "addVolume", json!(["fast"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
        let fast = th.call(&admin, "addVolume", json!(["fast"])).await?;
        assert_eq!(fast, json!({"id": 1, "name": "fast"}), "{l}");
        let e = th
            .call(&admin, "addVolume", json!(["fast"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "volume fast already exists", "{l}");
        assert_eq!(
            th.call(&admin, "addVolume", json!(["fast", false])).await?,
            fast,
            "{l}"
        );
        let e = th
            .call(&admin, "addVolume", json!(["bad name"]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Name bad name does not match RegexNameInternal value",
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "listVolumes", json!([])).await?,
            json!([default, fast]),
            "{l}"
        );

        // move a build there and back
        let b = empty_build(&th, &admin, json!(["vb", "1", "1", null])).await?;
        let tag = th
            .call(&admin, "createTag", json!(["t1"]))
            .await?
            .as_i64()
            .unwrap();
        tag_build(&th, b, tag).await?;
        let olddir = top.join("packages/vb/1/1");
        write_file(&olddir.join("data/logs/build.log"), "log");
        write_file(&olddir.join("noarch/vb-1-1.noarch.rpm"), "rpm");
        std::os::unix::fs::symlink("../noarch/vb-1-1.noarch.rpm", olddir.join("data/link"))?;
        let e = th
            .call(&bob, "changeBuildVolume", json!([b, "fast"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
        let e = th
            .call(&admin, "changeBuildVolume", json!([b, "nope"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such entry in table volume: nope", "{l}");
        assert_eq!(
            th.call(&admin, "changeBuildVolume", json!([b, "fast"]))
                .await?,
            Json::Null,
            "{l}"
        );
        let info = th.call(&admin, "getBuild", json!([b])).await?;
        assert_eq!(
            (info["volume_id"].clone(), info["volume_name"].clone()),
            (json!(1), json!("fast")),
            "{l}"
        );
        let newdir = top.join("vol/fast/packages/vb/1/1");
        assert_eq!(
            std::fs::read_to_string(newdir.join("data/logs/build.log"))?,
            "log",
            "{l}"
        );
        assert_eq!(
            std::fs::read_link(newdir.join("data/link"))?,
            PathBuf::from("../noarch/vb-1-1.noarch.rpm"),
            "{l}: links are copied as links"
        );
        assert_eq!(
            std::fs::read_link(&olddir)?,
            PathBuf::from("../../../vol/fast/packages/vb/1/1"),
            "{l}: a link stays on the default volume"
        );
        assert_eq!(
            count(
                &th,
                "SELECT COUNT(*) AS n FROM tag_updates WHERE tag_id = ? AND update_type = 0",
                params![tag]
            )
            .await?,
            1,
            "{l}"
        );
        // the logs are found on the volume
        assert_eq!(
            th.call(&admin, "getBuildLogs", json!([b])).await?,
            json!([{"name": "build.log", "dir": ".", "path": "vol/fast/packages/vb/1/1/data/logs/./build.log"}]),
            "{l}"
        );
        let e = th
            .call(&admin, "changeBuildVolume", json!([b, "fast"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "Build vb-1-1 already on volume fast", "{l}");
        assert_eq!(
            th.call(&admin, "changeBuildVolume", json!([b, 1, false]))
                .await?,
            Json::Null,
            "{l}"
        );
        let e = th
            .call(&admin, "removeVolume", json!(["fast"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "volume fast has build references", "{l}");

        th.call(&admin, "changeBuildVolume", json!(["vb-1-1", "DEFAULT"]))
            .await?;
        assert!(
            olddir.is_dir() && !std::fs::symlink_metadata(&olddir)?.file_type().is_symlink(),
            "{l}"
        );
        assert_eq!(
            std::fs::read_to_string(olddir.join("data/logs/build.log"))?,
            "log",
            "{l}"
        );
        assert!(!newdir.exists(), "{l}");
        assert_eq!(
            th.call(&admin, "getBuild", json!([b])).await?["volume_name"],
            json!("DEFAULT"),
            "{l}"
        );

        // refused moves
        let c = empty_build(&th, &admin, json!(["vb", "1", "2", null])).await?;
        let e = th
            .call(&admin, "changeBuildVolume", json!([c, "fast"]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Build directory missing: {}",
                top.join("packages/vb/1/2").display()
            ),
            "{l}"
        );
        write_file(&top.join("packages/vb/1/2/x"), "x");
        write_file(&top.join("vol/fast/packages/vb/1/2/x"), "x");
        let e = th
            .call(&admin, "changeBuildVolume", json!([c, "fast"]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Destination directory exists: {}",
                top.join("vol/fast/packages/vb/1/2").display()
            ),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getBuild", json!([c])).await?["volume_id"],
            json!(0),
            "{l}"
        );
        set_building(&th, c).await?;
        let e = th
            .call(&admin, "changeBuildVolume", json!([c, "fast"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "Build vb-1-2 is BUILDING", "{l}");

        assert_eq!(
            th.call(&admin, "removeVolume", json!(["fast"])).await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "listVolumes", json!([])).await?,
            json!([default]),
            "{l}"
        );
        let e = th
            .call(&admin, "removeVolume", json!(["fast"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such entry in table volume: fast", "{l}");
    }
    Ok(())
}

/// applyVolumePolicy: an admin call moving a build to the volume the
/// `volume` policy picks; a policy that picks nothing usable leaves the
/// build alone, or with `strict` fails.
#[tokio::test]
async fn apply_volume_policy_moves_builds() -> Result<()> {
    use std::sync::Arc;
    for backend in koji_core::testing::backends() {
        let mut policies = koji_core::policy::Policies::default();
        policies
            .set(
                "volume",
                "package vp-fast :: fast\n\
                 package vp-home :: DEFAULT\n\
                 package vp-gone :: nosuchvol\n\
                 package vp-err && compare build > 1 :: fast\n",
            )
            .map_err(|e| koji_core::Error::Generic(e.to_string()))?;
        let policies = Arc::new(policies);
        let th = TestHub::new_with(backend, |c| c.policies = policies.clone()).await?;
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let top = topdir(&th);
        std::fs::create_dir_all(top.join("vol/fast"))?;
        th.call(&admin, "addVolume", json!(["fast"])).await?;
        let volume = |b: i64| {
            let th = &th;
            let admin = &admin;
            async move {
                Ok::<_, koji_core::Error>(
                    th.call(admin, "getBuild", json!([b])).await?["volume_name"].clone(),
                )
            }
        };

        // the policy sends vp-fast to `fast`
        let b = empty_build(&th, &admin, json!(["vp-fast", "1", "1", null])).await?;
        let olddir = top.join("packages/vp-fast/1/1");
        write_file(&olddir.join("noarch/vp-fast-1-1.noarch.rpm"), "rpm");
        let e = th
            .call(&bob, "applyVolumePolicy", json!([b]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}: admin only");
        assert_eq!(volume(b).await?, json!("DEFAULT"), "{l}");
        assert_eq!(
            th.call(&admin, "applyVolumePolicy", json!([b])).await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(volume(b).await?, json!("fast"), "{l}");
        let newdir = top.join("vol/fast/packages/vp-fast/1/1");
        assert_eq!(
            std::fs::read_to_string(newdir.join("noarch/vp-fast-1-1.noarch.rpm"))?,
            "rpm",
            "{l}"
        );
        assert_eq!(
            std::fs::read_link(&olddir)?,
            PathBuf::from("../../../vol/fast/packages/vp-fast/1/1"),
            "{l}: a link stays on the default volume"
        );
        // already there: nothing to do, strict or not
        for strict in [false, true] {
            assert_eq!(
                th.call(&admin, "applyVolumePolicy", json!(["vp-fast-1-1", strict]))
                    .await?,
                Json::Null,
                "{l}"
            );
        }
        assert_eq!(volume(b).await?, json!("fast"), "{l}");

        // and brings vp-home back to DEFAULT
        let h = empty_build(&th, &admin, json!(["vp-home", "1", "1", null])).await?;
        write_file(&top.join("packages/vp-home/1/1/x"), "x");
        th.call(&admin, "changeBuildVolume", json!([h, "fast"]))
            .await?;
        assert_eq!(volume(h).await?, json!("fast"), "{l}");
        th.call(&admin, "applyVolumePolicy", json!([h])).await?;
        assert_eq!(volume(h).await?, json!("DEFAULT"), "{l}");
        assert!(
            !std::fs::symlink_metadata(top.join("packages/vp-home/1/1"))?
                .file_type()
                .is_symlink(),
            "{l}"
        );
        assert!(!top.join("vol/fast/packages/vp-home/1/1").exists(), "{l}");

        // no usable answer: left alone, or with strict a GenericError
        let cases = [
            ("vp-other", "No volume policy match".to_string()),
            (
                "vp-gone",
                "Policy returned no such volume: nosuchvol".into(),
            ),
            (
                "vp-err",
                "'>' not supported between instances of 'dict' and 'int'".into(),
            ),
        ];
        for (name, msg) in cases {
            let id = empty_build(&th, &admin, json!([name, "1", "1", null])).await?;
            write_file(&top.join(format!("packages/{name}/1/1/x")), "x");
            assert_eq!(
                th.call(&admin, "applyVolumePolicy", json!([id])).await?,
                Json::Null,
                "{l}: {name}"
            );
            assert_eq!(
                th.call(&admin, "applyVolumePolicy", json!([id, false]))
                    .await?,
                Json::Null,
                "{l}: {name}"
            );
            let e = th
                .call(&admin, "applyVolumePolicy", json!([id, true]))
                .await
                .unwrap_err();
            assert_eq!((e.fault_code(), e.to_string()), (1000, msg), "{l}: {name}");
            assert_eq!(volume(id).await?, json!("DEFAULT"), "{l}: {name}");
        }

        // a build the policy would move but cannot be: the move's refusal
        let c = empty_build(&th, &admin, json!(["vp-fast", "1", "2", null])).await?;
        let e = th
            .call(&admin, "applyVolumePolicy", json!([c]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Build directory missing: {}",
                top.join("packages/vp-fast/1/2").display()
            ),
            "{l}"
        );
        let e = th
            .call(&admin, "applyVolumePolicy", json!(["nope-1-1"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1000, "{l}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// draft promotion
// ---------------------------------------------------------------------------

#[tokio::test]
async fn promote_draft_builds() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let carol = th.user("carol", "pw", &["draft-promoter"]).await?;
        let top = topdir(&th);
        let d = empty_build(&th, &admin, json!(["pr", "1", "3", null, null, true])).await?;
        let draft_dir = top.join(format!("packages/pr/1/3,draft_{d}"));
        write_file(&draft_dir.join("noarch/pr-1-3.noarch.rpm"), "rpm");

        let e = th.call(&bob, "promoteBuild", json!([d])).await.unwrap_err();
        let denied = "policy violation (draft_promotion): Only draft-promoter and build owner can do this via default policy";
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1004, denied.into()),
            "{l}"
        );
        let e = th
            .call(&bob, "promoteBuild", json!([d, true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), denied, "{l}");

        let p = th.call(&admin, "promoteBuild", json!([d])).await?;
        assert_eq!(p["id"], json!(d), "{l}");
        assert_eq!(p["release"], json!("3"), "{l}");
        assert_eq!(p["nvr"], json!("pr-1-3"), "{l}");
        assert_eq!(p["draft"], json!(false), "{l}");
        assert_eq!(p["promoter_name"], json!("admin"), "{l}");
        assert!(p["promotion_ts"].is_f64(), "{l}: {p}");
        assert_eq!(
            th.call(&admin, "getBuild", json!(["pr-1-3"])).await?,
            p,
            "{l}"
        );
        assert_eq!(
            std::fs::read_to_string(top.join("packages/pr/1/3/noarch/pr-1-3.noarch.rpm"))?,
            "rpm",
            "{l}"
        );
        assert_eq!(std::fs::read_link(&draft_dir)?, PathBuf::from("3"), "{l}");

        let e = th
            .call(&admin, "promoteBuild", json!([d]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Cannot promote build pr-1-3. Reason: Not a draft build",
            "{l}"
        );

        // not complete
        let d2 = empty_build(&th, &admin, json!(["pr", "1", "4", null, null, true])).await?;
        set_building(&th, d2).await?;
        let e = th
            .call(&admin, "promoteBuild", json!([d2]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "Cannot promote build pr-1-4,draft_{d2}. Reason: state (BUILDING) is not COMPLETE."
            ),
            "{l}"
        );
        // the target N-V-R is taken
        let d3 = empty_build(&th, &admin, json!(["pr", "1", "6", null, null, true])).await?;
        let n6 = empty_build(&th, &admin, json!(["pr", "1", "6", null])).await?;
        let e = th
            .call(&admin, "promoteBuild", json!([d3]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Cannot promote build pr-1-6,draft_{d3}. Reason: Target build exists: pr-1-6(#{n6})"),
            "{l}"
        );
        // no directory: upstream's move fails, nothing changes
        let d4 = empty_build(&th, &admin, json!(["pr", "1", "7", null, null, true])).await?;
        let e = th
            .call(&carol, "promoteBuild", json!([d4]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1, "{l}");
        assert!(
            e.to_string()
                .starts_with("<class 'FileNotFoundError'>: [Errno 2] No such file or directory: "),
            "{l}: {e}"
        );
        assert_eq!(
            th.call(&admin, "getBuild", json!([d4])).await?["draft"],
            json!(true),
            "{l}"
        );
        // a draft-promoter may promote others' builds
        write_file(&top.join(format!("packages/pr/1/7,draft_{d4}/x")), "x");
        let p = th.call(&carol, "promoteBuild", json!([d4])).await?;
        assert_eq!(
            (p["nvr"].clone(), p["promoter_name"].clone()),
            (json!("pr-1-7"), json!("carol")),
            "{l}"
        );
        // an admin may force
        let d5 = empty_build(&th, &admin, json!(["pr", "1", "8", null, "carol", true])).await?;
        write_file(&top.join(format!("packages/pr/1/8,draft_{d5}/x")), "x");
        let e = th
            .call(&admin, "promoteBuild", json!([d5]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), denied, "{l}");
        let p = th.call(&admin, "promoteBuild", json!([d5, true])).await?;
        assert_eq!(p["nvr"], json!("pr-1-8"), "{l}");

        // a draft on another volume: the default volume policy
        // ("all :: DEFAULT") brings the promoted build back
        std::fs::create_dir_all(top.join("vol/fast"))?;
        th.call(&admin, "addVolume", json!(["fast"])).await?;
        let d6 = empty_build(&th, &admin, json!(["pr", "1", "9", null, null, true])).await?;
        write_file(
            &top.join(format!("packages/pr/1/9,draft_{d6}/noarch/x.rpm")),
            "x",
        );
        th.call(&admin, "changeBuildVolume", json!([d6, "fast"]))
            .await?;
        let p = th.call(&admin, "promoteBuild", json!([d6])).await?;
        assert_eq!(
            (p["nvr"].clone(), p["volume_name"].clone()),
            (json!("pr-1-9"), json!("fast")),
            "{l}"
        );
        let now = th.call(&admin, "getBuild", json!([d6])).await?;
        assert_eq!(now["volume_name"], json!("DEFAULT"), "{l}");
        let home = top.join("packages/pr/1/9");
        assert!(
            !std::fs::symlink_metadata(&home)?.file_type().is_symlink(),
            "{l}"
        );
        assert_eq!(
            std::fs::read_to_string(home.join("noarch/x.rpm"))?,
            "x",
            "{l}"
        );
        assert!(!top.join("vol/fast/packages/pr/1/9").exists(), "{l}");
        // the draft's old places still lead to the build
        assert_eq!(
            std::fs::read_to_string(top.join(format!("packages/pr/1/9,draft_{d6}/noarch/x.rpm")))?,
            "x",
            "{l}"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// logs, build types
// ---------------------------------------------------------------------------

#[tokio::test]
async fn build_logs_and_types() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let top = topdir(&th);
        let b = empty_build(&th, &admin, json!(["lg", "1", "1", null])).await?;
        assert_eq!(
            th.call(&admin, "getBuildLogs", json!([b])).await?,
            json!([]),
            "{l}"
        );
        let logs = top.join("packages/lg/1/1/data/logs");
        write_file(&logs.join("build.log"), "a");
        write_file(&logs.join("noarch/root.log"), "b");
        std::os::unix::fs::symlink("build.log", logs.join("link.log"))?;
        assert_eq!(
            th.call(&bob, "getBuildLogs", json!(["lg-1-1"])).await?,
            json!([
                {"name": "build.log", "dir": ".", "path": "packages/lg/1/1/data/logs/./build.log"},
                {"name": "root.log", "dir": "noarch", "path": "packages/lg/1/1/data/logs/noarch/root.log"}
            ]),
            "{l}"
        );
        let e = th
            .call(&admin, "getBuildLogs", json!(["lg-9-9"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 'lg-9-9'", "{l}");

        // btypes
        let base = json!([
            {"id": 1, "name": "rpm"}, {"id": 2, "name": "maven"},
            {"id": 3, "name": "win"}, {"id": 4, "name": "image"}
        ]);
        assert_eq!(th.call(&bob, "listBTypes", json!([])).await?, base, "{l}");
        assert_eq!(
            th.call(&bob, "listBTypes", json!([{"name": "win"}]))
                .await?,
            json!([{"id": 3, "name": "win"}]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "listBTypes", json!([{"id": 2}])).await?,
            json!([{"id": 2, "name": "maven"}]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "listBTypes", json!([{"name": "nope"}]))
                .await?,
            json!([]),
            "{l}"
        );
        let e = th
            .call(&bob, "addBType", json!(["bundle"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}");
        assert_eq!(
            th.call(&admin, "addBType", json!(["bundle"])).await?,
            Json::Null,
            "{l}"
        );
        let e = th
            .call(&admin, "addBType", json!(["bundle"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "btype already exists", "{l}");
        assert_eq!(
            th.call(
                &bob,
                "listBTypes",
                json!([null, {"order": "-id", "limit": 1}])
            )
            .await?,
            json!([{"id": 5, "name": "bundle"}]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &bob,
                "listBTypes",
                kw(json!({"queryOpts": {"countOnly": true}}))
            )
            .await?,
            json!(5),
            "{l}"
        );

        // getBuildType
        assert_eq!(
            th.call(&bob, "getBuildType", json!([b])).await?,
            json!({}),
            "{l}"
        );
        sql(
            &th,
            "UPDATE build SET extra = ? WHERE id = ?",
            params![r#"{"typeinfo": {"bundle": {"x": 1}}}"#, b],
        )
        .await?;
        sql(
            &th,
            "INSERT INTO build_types (build_id, btype_id) VALUES (?, 1), (?, 5)",
            params![b, b],
        )
        .await?;
        sql(&th, "INSERT INTO maven_builds (build_id, group_id, artifact_id, version) VALUES (?, 'g', 'a', '1')", params![b]).await?;
        assert_eq!(
            th.call(&bob, "getBuildType", json!(["lg-1-1"])).await?,
            json!({
                "rpm": null,
                "bundle": {"x": 1},
                "maven": {"artifact_id": "a", "build_id": b, "group_id": "g", "version": "1"}
            }),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "getBuildType", json!(["lg-9-9"])).await?,
            Json::Null,
            "{l}"
        );
        let e = th
            .call(&bob, "getBuildType", json!(["lg-9-9", true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such build: 'lg-9-9'", "{l}");
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// files follow rows: failures after the file step leave everything in place
// ---------------------------------------------------------------------------

/// Makes the next commit that ran `op` (INSERT, UPDATE or DELETE) on
/// `table` with `cond` true (`NEW.`/`OLD.` columns) fail at COMMIT: a
/// deferred constraint on PostgreSQL, a deferred foreign key on SQLite.
async fn fail_commit_when(
    th: &TestHub,
    name: &str,
    table: &str,
    op: &str,
    cond: &str,
) -> Result<()> {
    let c = th.hub.db().conn();
    match th.backend {
        koji_core::db::Backend::Sqlite => {
            for q in [
                "CREATE TABLE IF NOT EXISTS inj_parent (id INTEGER PRIMARY KEY)".to_string(),
                "CREATE TABLE IF NOT EXISTS inj_child (pid INTEGER REFERENCES inj_parent (id) \
                 DEFERRABLE INITIALLY DEFERRED)"
                    .to_string(),
                format!(
                    "CREATE TRIGGER inj_fail_{name} AFTER {op} ON {table} WHEN {cond} \
                     BEGIN INSERT INTO inj_child VALUES (999); END"
                ),
            ] {
                exec(c, &q, vec![]).await?;
            }
        }
        koji_core::db::Backend::Postgres => {
            for q in [
                "CREATE OR REPLACE FUNCTION inj_fail() RETURNS trigger AS $$ \
                 BEGIN RAISE EXCEPTION 'injected commit failure'; END $$ LANGUAGE plpgsql"
                    .to_string(),
                format!(
                    "CREATE CONSTRAINT TRIGGER inj_fail_{name} AFTER {op} ON {table} \
                     DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN ({cond}) \
                     EXECUTE FUNCTION inj_fail()"
                ),
            ] {
                exec(c, &q, vec![]).await?;
            }
        }
    }
    Ok(())
}

async fn clear_fail(th: &TestHub, name: &str, table: &str) -> Result<()> {
    let q = match th.backend {
        koji_core::db::Backend::Sqlite => format!("DROP TRIGGER IF EXISTS inj_fail_{name}"),
        koji_core::db::Backend::Postgres => {
            format!("DROP TRIGGER IF EXISTS inj_fail_{name} ON {table}")
        }
    };
    exec(th.hub.db().conn(), &q, vec![]).await?;
    Ok(())
}

/// The names in a directory (hidden ones included), sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[tokio::test]
async fn delete_and_reset_keep_files_when_the_commit_fails() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let top = topdir(&th);

        // deleteBuild: the commit fails -> the directory is still there
        let b = empty_build(&th, &admin, json!(["cf", "1", "1", null])).await?;
        let dir = top.join("packages/cf/1/1");
        write_file(&dir.join("noarch/cf-1-1.noarch.rpm"), "rpm");
        fail_commit_when(&th, "t1", "build", "UPDATE", "NEW.state = 2").await?;
        assert!(
            th.call(&admin, "deleteBuild", json!([b])).await.is_err(),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getBuild", json!([b])).await?["state"],
            json!(1),
            "{l}"
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("noarch/cf-1-1.noarch.rpm"))?,
            "rpm",
            "{l}: files kept with their rows"
        );
        assert_eq!(names_in(&top.join("packages/cf/1")), ["1"], "{l}");
        clear_fail(&th, "t1", "build").await?;
        assert_eq!(
            th.call(&admin, "deleteBuild", json!([b])).await?,
            json!(true),
            "{l}"
        );
        assert!(names_in(&top.join("packages/cf/1")).is_empty(), "{l}");

        // a build on another volume: its default-volume link comes back too
        std::fs::create_dir_all(top.join("vol/fast"))?;
        th.call(&admin, "addVolume", json!(["fast"])).await?;
        let v = empty_build(&th, &admin, json!(["cf", "2", "1", null])).await?;
        write_file(&top.join("packages/cf/2/1/noarch/x.rpm"), "x");
        th.call(&admin, "changeBuildVolume", json!([v, "fast"]))
            .await?;
        let link = top.join("packages/cf/2/1");
        assert!(link.is_symlink(), "{l}");
        fail_commit_when(&th, "t2", "build", "UPDATE", "NEW.state = 2").await?;
        assert!(
            th.call(&admin, "deleteBuild", json!([v])).await.is_err(),
            "{l}"
        );
        assert!(link.is_symlink(), "{l}: link restored");
        assert_eq!(std::fs::read_to_string(link.join("noarch/x.rpm"))?, "x");
        assert_eq!(names_in(&top.join("packages/cf/2")), ["1"], "{l}");
        assert_eq!(names_in(&top.join("vol/fast/packages/cf/2")), ["1"], "{l}");
        clear_fail(&th, "t2", "build").await?;

        // resetBuild: the same
        let r = empty_build(&th, &admin, json!(["cf", "3", "1", null])).await?;
        let rdir = top.join("packages/cf/3/1");
        write_file(&rdir.join("src/cf-3-1.src.rpm"), "srpm");
        fail_commit_when(&th, "t3", "build", "UPDATE", "NEW.state = 4").await?;
        assert!(
            th.call(&admin, "resetBuild", json!([r])).await.is_err(),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getBuild", json!([r])).await?["state"],
            json!(1),
            "{l}"
        );
        assert_eq!(
            std::fs::read_to_string(rdir.join("src/cf-3-1.src.rpm"))?,
            "srpm",
            "{l}"
        );
        assert_eq!(names_in(&top.join("packages/cf/3")), ["1"], "{l}");
        clear_fail(&th, "t3", "build").await?;
        th.call(&admin, "resetBuild", json!([r])).await?;
        assert!(names_in(&top.join("packages/cf/3")).is_empty(), "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn build_fields_unusable_as_paths_are_refused() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        for (args, msg) in [
            (
                json!(["pk", "1", "..", null]),
                "Invalid build release: '..' (not usable in a file path)",
            ),
            (
                json!(["pk", "1", "a/b", null]),
                "Invalid build release: 'a/b' (not usable in a file path)",
            ),
            (
                json!(["pk", ".", "1", null]),
                "Invalid build version: '.' (not usable in a file path)",
            ),
            (
                json!(["pk", "1\u{0}", "1", null]),
                "Invalid build version: '1\\x00' (not usable in a file path)",
            ),
            (
                json!(["..", "1", "1", null]),
                "Invalid build name: '..' (not usable in a file path)",
            ),
            (
                json!(["a/b", "1", "1", null]),
                "Invalid build name: 'a/b' (not usable in a file path)",
            ),
        ] {
            let e = th
                .call(&admin, "createEmptyBuild", args.clone())
                .await
                .unwrap_err();
            assert_eq!(
                (e.fault_code(), e.to_string()),
                (1000, msg.into()),
                "{l}: {args}"
            );
        }
        assert_eq!(
            count(&th, "SELECT COUNT(*) AS n FROM build", vec![]).await?,
            0,
            "{l}"
        );
        assert_eq!(
            count(&th, "SELECT COUNT(*) AS n FROM package", vec![]).await?,
            0,
            "{l}"
        );
        // volume names are directories below topdir/vol
        std::fs::create_dir_all(topdir(&th).join("vol/a/b"))?;
        for (name, msg) in [
            (
                "a/b",
                "Invalid volume name: 'a/b' (not usable in a file path)",
            ),
            (
                "..",
                "Invalid volume name: '..' (not usable in a file path)",
            ),
        ] {
            let e = th
                .call(&admin, "addVolume", json!([name]))
                .await
                .unwrap_err();
            assert_eq!((e.fault_code(), e.to_string()), (1000, msg.into()), "{l}");
        }
    }
    Ok(())
}

#[tokio::test]
async fn recycling_a_build_its_own_task_restarted_changes_nothing() -> Result<()> {
    use koji_core::hub::builds::{new_build_in, NewBuild};
    use koji_core::model::BuildState;
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let c = th.hub.db().conn();
        let task = |_: ()| async {
            fetch_one(
                c,
                "INSERT INTO task (channel_id, owner, arch, method) \
                 VALUES (1, 1, 'noarch', 'build') RETURNING id",
                vec![],
            )
            .await?
            .int("id")
        };
        let (t1, t2) = (task(()).await?, task(()).await?);
        let b = empty_build(&th, &admin, json!(["rc", "1", "1", null])).await?;
        sql(
            &th,
            "UPDATE build SET state = 0, completion_time = NULL, task_id = ?, source = 'orig' \
             WHERE id = ?",
            params![t1, b],
        )
        .await?;
        let before = th.call(&admin, "getBuild", json!([b])).await?;
        let data = |task_id| NewBuild {
            name: Some(json!("rc")),
            version: "1".into(),
            release: "1".into(),
            state: Some(BuildState::Building),
            task_id: Some(task_id),
            source: Some("new".into()),
            extra: Some(json!({"x": 1})),
            ..Default::default()
        };
        let mut tx = th.hub.db().begin().await?;
        let id = new_build_in(&mut tx, &th.hub.config().names, &admin, &data(t1), false).await?;
        tx.commit().await?;
        assert_eq!(id, b, "{l}");
        assert_eq!(
            th.call(&admin, "getBuild", json!([b])).await?,
            before,
            "{l}: unchanged"
        );
        // another task: refused
        let mut tx = th.hub.db().begin().await?;
        let e = new_build_in(&mut tx, &th.hub.config().names, &admin, &data(t2), false)
            .await
            .unwrap_err();
        drop(tx);
        assert_eq!(
            e.to_string(),
            format!("Build already in progress (task {t1})"),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn failed_promotion_leaves_no_links_behind() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let top = topdir(&th);
        std::fs::create_dir_all(top.join("vol/fast"))?;
        th.call(&admin, "addVolume", json!(["fast"])).await?;
        let d = empty_build(&th, &admin, json!(["pf", "1", "2", null, null, true])).await?;
        let draft = format!("2,draft_{d}");
        write_file(
            &top.join(format!("packages/pf/1/{draft}/noarch/x.rpm")),
            "x",
        );
        th.call(&admin, "changeBuildVolume", json!([d, "fast"]))
            .await?;
        let before_default = names_in(&top.join("packages/pf/1"));
        let before_fast = names_in(&top.join("vol/fast/packages/pf/1"));
        assert_eq!(before_default, std::slice::from_ref(&draft), "{l}");
        fail_commit_when(&th, "t4", "build", "UPDATE", "NEW.promoter IS NOT NULL").await?;
        assert!(
            th.call(&admin, "promoteBuild", json!([d])).await.is_err(),
            "{l}"
        );
        clear_fail(&th, "t4", "build").await?;
        assert_eq!(names_in(&top.join("packages/pf/1")), before_default, "{l}");
        assert_eq!(
            names_in(&top.join("vol/fast/packages/pf/1")),
            before_fast,
            "{l}"
        );
        assert!(
            std::fs::symlink_metadata(top.join("packages/pf/1/2")).is_err(),
            "{l}: no link for the promoted release"
        );
        assert_eq!(
            std::fs::read_to_string(top.join(format!("packages/pf/1/{draft}/noarch/x.rpm")))?,
            "x",
            "{l}"
        );
        // and it can be promoted afterwards
        let p = th.call(&admin, "promoteBuild", json!([d])).await?;
        assert_eq!(p["nvr"], json!("pf-1-2"), "{l}");
    }
    Ok(())
}
