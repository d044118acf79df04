//! Builds in tags through upstream's API: tagBuildBypass, untagBuildBypass,
//! untagBuild, massTag, snapshotTag, snapshotTagModify, listTagged,
//! listTaggedRPMS, listTaggedArchives, getLatestBuilds, getLatestRPMS,
//! untaggedBuilds, tagChangedSinceEvent, tagLastChangeEvent,
//! tagFirstChangeEvent.

use koji_core::db::exec;
use koji_core::params;
use koji_core::testing::{kw, TestHub};
use koji_core::{Caller, Error, Result};
use serde_json::{json, Value as Json};

async fn fault(th: &TestHub, who: &Caller, method: &str, params: Json) -> (i32, String) {
    match th.call(who, method, params).await {
        Ok(v) => panic!("{}: {method} should fail, answered {v}", th.label()),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

fn int(v: &Json) -> Result<i64> {
    v.as_i64()
        .ok_or_else(|| Error::Generic(format!("not an integer: {v}")))
}

async fn last_event(th: &TestHub, who: &Caller) -> Result<i64> {
    int(&th.call(who, "getLastEvent", json!([])).await?["id"])
}

async fn tag(th: &TestHub, who: &Caller, name: &str) -> Result<i64> {
    int(&th.call(who, "createTag", json!([name])).await?)
}

fn link(parent: i64, priority: i64, filter: &str) -> Json {
    json!({"parent_id": parent, "priority": priority, "maxdepth": null,
           "intransitive": false, "noconfig": false, "pkg_filter": filter})
}

async fn inherit(th: &TestHub, who: &Caller, tag: &str, links: Json) -> Result<()> {
    th.call(who, "setInheritanceData", json!([tag, links]))
        .await?;
    Ok(())
}

async fn list_pkg(th: &TestHub, who: &Caller, tag: &str, pkg: &str) -> Result<()> {
    th.call(who, "packageListAdd", json!([tag, pkg, "admin"]))
        .await?;
    Ok(())
}

/// A COMPLETE build `nvr` (epoch none); returns its id.
async fn build(th: &TestHub, who: &Caller, nvr: &str) -> Result<i64> {
    let parts: Vec<&str> = nvr.rsplitn(3, '-').collect();
    int(&th
        .call(
            who,
            "createEmptyBuild",
            json!([parts[2], parts[1], parts[0], null]),
        )
        .await?)
}

async fn tag_build(th: &TestHub, who: &Caller, tag: &str, nvr: &str) -> Result<()> {
    th.call(who, "tagBuildBypass", json!([tag, nvr])).await?;
    Ok(())
}

/// The `(nvr, tag_name)` of each build of an answer.
fn nvrs(list: &Json) -> Vec<(String, String)> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|b| {
                    (
                        b["nvr"].as_str().unwrap_or("?").to_string(),
                        b["tag_name"].as_str().unwrap_or("?").to_string(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn pairs(v: &[(&str, &str)]) -> Vec<(String, String)> {
    v.iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect()
}

const KEYS: &[&str] = &[
    "build_id",
    "completion_time",
    "create_event",
    "creation_event_id",
    "creation_time",
    "draft",
    "epoch",
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
    "release",
    "start_time",
    "state",
    "tag_id",
    "tag_name",
    "task_id",
    "version",
    "volume_id",
    "volume_name",
];

fn keys(v: &Json) -> Vec<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn tag_build_bypass_rules() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let f40 = tag(&th, &admin, "f40").await?;
        list_pkg(&th, &admin, "f40", "bash").await?;
        let bid = build(&th, &admin, "bash-5.2-1").await?;

        // permission
        let alice = th.user("alice", "pw", &[]).await?;
        assert_eq!(
            fault(&th, &alice, "tagBuildBypass", json!(["f40", "bash-5.2-1"])).await,
            (1004, "tag permission required (logged in as alice)".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "tagBuildBypass", json!(["nope", "bash-5.2-1"])).await,
            (1000, "No such tagInfo: 'nope'".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "tagBuildBypass", json!(["f40", "bash-9-9"])).await,
            (1000, "No such build: 'bash-9-9'".into()),
            "{l}"
        );

        let ev0 = last_event(&th, &admin).await?;
        tag_build(&th, &admin, "f40", "bash-5.2-1").await?;
        let ev1 = last_event(&th, &admin).await?;
        assert!(ev1 > ev0, "{l}: an event");
        let got = th.call(&admin, "listTagged", json!(["f40"])).await?;
        assert_eq!(got.as_array().map(Vec::len), Some(1), "{l}");
        let b = &got[0];
        assert_eq!(keys(b), KEYS, "{l}");
        let gb = th.call(&admin, "getBuild", json!([bid])).await?;
        for k in [
            "build_id",
            "completion_time",
            "creation_event_id",
            "creation_time",
            "draft",
            "epoch",
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
            "release",
            "start_time",
            "state",
            "task_id",
            "version",
            "volume_id",
            "volume_name",
        ] {
            assert_eq!(b[k], gb[k], "{l}: {k}");
        }
        assert_eq!(b["tag_id"], json!(f40), "{l}");
        assert_eq!(b["tag_name"], json!("f40"), "{l}");
        assert_eq!(b["create_event"], json!(ev1), "{l}");

        // already tagged; force tags again (a newer entry)
        assert_eq!(
            fault(&th, &admin, "tagBuildBypass", json!(["f40", "bash-5.2-1"])).await,
            (1003, "build bash-5.2-1 already tagged (f40)".into()),
            "{l}"
        );
        th.call(&admin, "tagBuildBypass", json!(["f40", bid, true]))
            .await?;
        let ev2 = last_event(&th, &admin).await?;
        let got = th.call(&admin, "listTagged", json!(["f40"])).await?;
        assert_eq!(got.as_array().map(Vec::len), Some(1), "{l}");
        assert_eq!(got[0]["create_event"], json!(ev2), "{l}");

        // not complete, not even forced
        let b2 = build(&th, &admin, "bash-5.2-2").await?;
        exec(
            th.hub.db().conn(),
            "UPDATE build SET state = 0, completion_time = NULL WHERE id = ?",
            params![b2],
        )
        .await?;
        assert_eq!(
            fault(&th, &admin, "tagBuildBypass", json!(["f40", b2, true])).await,
            (1003, "build bash-5.2-2 not complete: state BUILDING".into()),
            "{l}"
        );

        // not on the package list: tagged anyway (the bypass does not
        // check), but not listed
        build(&th, &admin, "zsh-1-1").await?;
        tag_build(&th, &admin, "f40", "zsh-1-1").await?;
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["f40"])).await?),
            pairs(&[("bash-5.2-1", "f40")]),
            "{l}"
        );
        list_pkg(&th, &admin, "f40", "zsh").await?;
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["f40"])).await?),
            pairs(&[("zsh-1-1", "f40"), ("bash-5.2-1", "f40")]),
            "{l}"
        );

        // tag access: locked, needed permission
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        th.call(
            &admin,
            "editTag2",
            json!(["f40", kw(json!({"locked": true}))]),
        )
        .await?;
        build(&th, &admin, "bash-5.2-3").await?;
        assert_eq!(
            fault(
                &th,
                &tagger,
                "tagBuildBypass",
                json!(["f40", "bash-5.2-3", true])
            )
            .await,
            (1004, "tag is locked".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "tagBuildBypass", json!(["f40", "bash-5.2-3"])).await,
            (1004, "tag is locked".into()),
            "{l}"
        );
        th.call(&admin, "tagBuildBypass", json!(["f40", "bash-5.2-3", true]))
            .await?;
        th.call(
            &admin,
            "editTag2",
            json!(["f40", kw(json!({"locked": false, "perm": "repo"}))]),
        )
        .await?;
        assert_eq!(
            fault(
                &th,
                &tagger,
                "untagBuildBypass",
                json!(["f40", "bash-5.2-3"])
            )
            .await,
            (1004, "tag requires repo permission".into()),
            "{l}"
        );
        // admins lack it too, unless forced
        assert_eq!(
            fault(
                &th,
                &admin,
                "untagBuildBypass",
                json!(["f40", "bash-5.2-3"])
            )
            .await,
            (1004, "tag requires repo permission".into()),
            "{l}"
        );
        th.call(
            &admin,
            "untagBuildBypass",
            json!(["f40", "bash-5.2-3", true, true]),
        )
        .await?;
        th.call(
            &admin,
            "editTag2",
            json!(["f40", kw(json!({"perm": null}))]),
        )
        .await?;

        // untag: strict, then not strict
        th.call(&tagger, "untagBuildBypass", json!(["f40", "bash-5.2-1"]))
            .await?;
        assert_eq!(
            fault(
                &th,
                &tagger,
                "untagBuildBypass",
                json!(["f40", "bash-5.2-1"])
            )
            .await,
            (1003, "build bash-5.2-1 not in tag f40".into()),
            "{l}"
        );
        th.call(
            &tagger,
            "untagBuildBypass",
            json!(["f40", "bash-5.2-1", false]),
        )
        .await?;
        // untagBuild: any logged-in user, tag access applies
        assert_eq!(
            fault(
                &th,
                &Caller::anonymous("127.0.0.1"),
                "untagBuild",
                json!(["f40", "zsh-1-1"])
            )
            .await,
            (1004, "you must be logged in for this operation".into()),
            "{l}"
        );
        th.call(&alice, "untagBuild", json!(["f40", "zsh-1-1"]))
            .await?;
        assert_eq!(
            th.call(&admin, "listTagged", json!(["f40"])).await?,
            json!([]),
            "{l}"
        );
    }
    Ok(())
}

/// base <- mid <- top, packages listed in base; returns the tag ids.
async fn three_levels(th: &TestHub, admin: &Caller) -> Result<(i64, i64, i64)> {
    let base = tag(th, admin, "base").await?;
    let mid = tag(th, admin, "mid").await?;
    let top = tag(th, admin, "top").await?;
    inherit(th, admin, "mid", json!([link(base, 10, "")])).await?;
    inherit(th, admin, "top", json!([link(mid, 10, "")])).await?;
    for p in ["a", "b", "c", "d"] {
        list_pkg(th, admin, "base", p).await?;
    }
    Ok((base, mid, top))
}

#[tokio::test]
async fn inheritance_and_latest() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let (_, _, top) = three_levels(&th, &admin).await?;
        for nvr in [
            "a-0-1", "a-1-1", "a-2-1", "b-1-1", "b-2-1", "c-1-1", "d-1-1",
        ] {
            build(&th, &admin, nvr).await?;
        }
        // a: a-2 then a-1 into base (a-1 most recently tagged), a-0 into top
        tag_build(&th, &admin, "base", "a-2-1").await?;
        tag_build(&th, &admin, "base", "a-1-1").await?;
        let ev_a = last_event(&th, &admin).await?;
        tag_build(&th, &admin, "top", "a-0-1").await?;
        tag_build(&th, &admin, "mid", "b-2-1").await?;
        tag_build(&th, &admin, "base", "b-1-1").await?;
        tag_build(&th, &admin, "mid", "c-1-1").await?;
        tag_build(&th, &admin, "base", "d-1-1").await?;
        // c is blocked in mid: hidden in mid and top, not in base
        th.call(&admin, "packageListBlock", json!(["mid", "c"]))
            .await?;

        let all = |inherit: bool, latest: Json| {
            json!(["top", kw(json!({"inherit": inherit, "latest": latest}))])
        };
        assert_eq!(
            nvrs(
                &th.call(&admin, "listTagged", all(false, json!(false)))
                    .await?
            ),
            pairs(&[("a-0-1", "top")]),
            "{l}: own builds only"
        );
        assert_eq!(
            nvrs(
                &th.call(&admin, "listTagged", all(true, json!(false)))
                    .await?
            ),
            pairs(&[
                ("a-0-1", "top"),
                ("b-2-1", "mid"),
                ("d-1-1", "base"),
                ("b-1-1", "base"),
                ("a-1-1", "base"),
                ("a-2-1", "base"),
            ]),
            "{l}: tag by tag, most recently tagged first"
        );
        let latest = pairs(&[("a-0-1", "top"), ("b-2-1", "mid"), ("d-1-1", "base")]);
        assert_eq!(
            nvrs(
                &th.call(&admin, "listTagged", all(true, json!(true)))
                    .await?
            ),
            latest,
            "{l}: first tag holding the package wins"
        );
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["top"])).await?),
            latest,
            "{l}"
        );
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!([top])).await?),
            latest,
            "{l}"
        );
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", all(true, json!(2))).await?),
            pairs(&[
                ("a-0-1", "top"),
                ("b-2-1", "mid"),
                ("d-1-1", "base"),
                ("b-1-1", "base"),
                ("a-1-1", "base"),
            ]),
            "{l}: the next tag fills up to N"
        );
        assert_eq!(
            th.call(&admin, "listTagged", all(true, json!(-1))).await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["base"])).await?),
            pairs(&[("d-1-1", "base"), ("b-1-1", "base"), ("a-1-1", "base")]),
            "{l}"
        );
        // base lists c, so c shows in base's view of its own builds only
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["mid"])).await?),
            pairs(&[("b-2-1", "mid")]),
            "{l}: c blocked in mid"
        );
        // filters
        assert_eq!(
            nvrs(
                &th.call(
                    &admin,
                    "listTagged",
                    json!(["top", kw(json!({"inherit": true, "package": "a"}))])
                )
                .await?
            ),
            pairs(&[("a-0-1", "top"), ("a-1-1", "base"), ("a-2-1", "base")]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "listTagged",
                json!(["top", kw(json!({"inherit": true, "package": "nope"}))])
            )
            .await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            nvrs(
                &th.call(&admin, "getLatestBuilds", json!(["top", null, "b"]))
                    .await?
            ),
            pairs(&[("b-2-1", "mid")]),
            "{l}"
        );
        assert_eq!(
            nvrs(
                &th.call(
                    &admin,
                    "listTagged",
                    json!(["top", kw(json!({"inherit": true, "prefix": "B"}))])
                )
                .await?
            ),
            pairs(&[("b-2-1", "mid"), ("b-1-1", "base")]),
            "{l}: prefix ignores case"
        );
        assert_eq!(
            th.call(
                &admin,
                "listTagged",
                json!(["top", kw(json!({"inherit": true, "owner": "nobody"}))])
            )
            .await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "listTagged",
                json!(["top", kw(json!({"inherit": true, "owner": "admin"}))])
            )
            .await?
            .as_array()
            .map(Vec::len),
            Some(6),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "listTagged",
                json!(["top", kw(json!({"inherit": true, "draft": true}))])
            )
            .await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "listTagged",
                json!(["top", kw(json!({"inherit": true, "draft": false}))])
            )
            .await?
            .as_array()
            .map(Vec::len),
            Some(6),
            "{l}"
        );
        // types: none of these builds has one (list_tagged_type_and_draft_filters
        // has builds that do)
        assert_eq!(
            th.call(
                &admin,
                "listTagged",
                json!(["top", kw(json!({"inherit": true, "type": "rpm"}))])
            )
            .await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "getLatestBuilds",
                json!(["top", kw(json!({"type": "maven"}))])
            )
            .await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listTagged",
                json!(["top", kw(json!({"type": "foo"}))])
            )
            .await,
            (1000, "unsupported build type: foo".into()),
            "{l}"
        );
        // extra: the key, in its sorted place
        let got = th
            .call(
                &admin,
                "listTagged",
                json!(["top", kw(json!({"extra": true}))]),
            )
            .await?;
        let mut want: Vec<String> = KEYS.iter().map(|k| k.to_string()).collect();
        want.insert(7, "extra".into());
        assert_eq!(keys(&got[0]), want, "{l}");
        assert_eq!(got[0]["extra"], Json::Null, "{l}");
        // as of an event
        assert_eq!(
            nvrs(
                &th.call(&admin, "listTagged", json!(["top", ev_a, true, null, true]))
                    .await?
            ),
            pairs(&[("a-1-1", "base")]),
            "{l}"
        );
        assert_eq!(
            nvrs(
                &th.call(&admin, "getLatestBuilds", json!(["top", ev_a]))
                    .await?
            ),
            pairs(&[("a-1-1", "base")]),
            "{l}"
        );
        // the tag must exist (at the event) unless not strict
        assert_eq!(
            fault(&th, &admin, "listTagged", json!(["nope"])).await,
            (1000, "No such tagInfo: 'nope'".into()),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "listTagged",
                json!(["nope", kw(json!({"strict": false}))])
            )
            .await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "getLatestBuilds", json!(["nope"])).await,
            (1000, "No such entry in table tag: nope".into()),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getLatestBuilds", json!([99999])).await?,
            json!([]),
            "{l}"
        );
        // untagging the latest brings the previous one back
        th.call(&admin, "untagBuildBypass", json!(["top", "a-0-1"]))
            .await?;
        assert_eq!(
            nvrs(
                &th.call(&admin, "getLatestBuilds", json!(["top", null, "a"]))
                    .await?
            ),
            pairs(&[("a-1-1", "base")]),
            "{l}"
        );
    }
    Ok(())
}

/// The id of a build type, by name.
async fn btype_id(th: &TestHub, name: &str) -> Result<i64> {
    use koji_core::db::RowExt;
    koji_core::db::fetch_one(
        th.hub.db().conn(),
        "SELECT id FROM btype WHERE name = ?",
        params![name],
    )
    .await?
    .int("id")
}

/// The sorted NVRs of an answer.
fn sorted_nvrs(list: &Json) -> Vec<String> {
    let mut v: Vec<String> = nvrs(list).into_iter().map(|(n, _)| n).collect();
    v.sort();
    v
}

/// listTagged's `draft` and `type` filters over builds that have a draft
/// flag or a type: a draft, a maven build, an image build and a build with
/// an `rpm` type row, beside a plain build.
#[tokio::test]
async fn list_tagged_type_and_draft_filters() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        tag(&th, &admin, "tt").await?;
        for p in ["plain", "drafty", "jar", "img", "bin"] {
            list_pkg(&th, &admin, "tt", p).await?;
        }
        for nvr in ["plain-1-1", "jar-1.0-1", "img-1-1", "bin-1-1"] {
            build(&th, &admin, nvr).await?;
            tag_build(&th, &admin, "tt", nvr).await?;
        }
        let d = int(&th
            .call(
                &admin,
                "createEmptyBuild",
                json!(["drafty", "1", "1", null, null, true]),
            )
            .await?)?;
        let draft_nvr = format!("drafty-1-1,draft_{d}");
        th.call(&admin, "tagBuildBypass", json!(["tt", d])).await?;
        let id_of = |nvr: &'static str| {
            let th = &th;
            let admin = &admin;
            async move { int(&th.call(admin, "getBuild", json!([nvr])).await?["id"]) }
        };
        let jar = id_of("jar-1.0-1").await?;
        let img = id_of("img-1-1").await?;
        let bin = id_of("bin-1-1").await?;
        let db = th.hub.db().conn();
        exec(
            db,
            "INSERT INTO maven_builds (build_id, group_id, artifact_id, version) \
             VALUES (?, 'org.example', 'jar', '1.0')",
            params![jar],
        )
        .await?;
        exec(
            db,
            "INSERT INTO image_builds (build_id) VALUES (?)",
            params![img],
        )
        .await?;
        for (b, t) in [(jar, "maven"), (img, "image"), (bin, "rpm")] {
            exec(
                db,
                "INSERT INTO build_types (build_id, btype_id) VALUES (?, ?)",
                params![b, btype_id(&th, t).await?],
            )
            .await?;
        }
        let listed = |opts: Json| {
            let th = &th;
            let admin = &admin;
            async move { th.call(admin, "listTagged", json!(["tt", kw(opts)])).await }
        };

        // draft: True only the draft, False all but it, None everything
        let got = listed(json!({"draft": true})).await?;
        assert_eq!(sorted_nvrs(&got), vec![draft_nvr.clone()], "{l}");
        assert_eq!(got[0]["draft"], json!(true), "{l}");
        assert_eq!(got[0]["release"], json!(format!("1,draft_{d}")), "{l}");
        assert_eq!(
            sorted_nvrs(&listed(json!({"draft": false})).await?),
            vec!["bin-1-1", "img-1-1", "jar-1.0-1", "plain-1-1"],
            "{l}"
        );
        let mut all = vec![
            "bin-1-1".to_string(),
            draft_nvr.clone(),
            "img-1-1".into(),
            "jar-1.0-1".into(),
            "plain-1-1".into(),
        ];
        all.sort();
        assert_eq!(
            sorted_nvrs(&listed(json!({"draft": null})).await?),
            all,
            "{l}"
        );
        assert_eq!(sorted_nvrs(&listed(json!({})).await?), all, "{l}");
        assert_eq!(
            sorted_nvrs(
                &th.call(
                    &admin,
                    "getLatestBuilds",
                    json!(["tt", kw(json!({"draft": true}))])
                )
                .await?
            ),
            vec![draft_nvr.clone()],
            "{l}"
        );

        // type: maven (with its maven fields), image, and a btype by name
        let got = listed(json!({"type": "maven"})).await?;
        assert_eq!(sorted_nvrs(&got), vec!["jar-1.0-1"], "{l}");
        assert_eq!(
            (
                got[0]["maven_group_id"].clone(),
                got[0]["maven_artifact_id"].clone(),
                got[0]["maven_version"].clone()
            ),
            (json!("org.example"), json!("jar"), json!("1.0")),
            "{l}"
        );
        assert_eq!(
            sorted_nvrs(&listed(json!({"type": "image"})).await?),
            vec!["img-1-1"],
            "{l}"
        );
        assert_eq!(
            sorted_nvrs(&listed(json!({"type": "rpm"})).await?),
            vec!["bin-1-1"],
            "{l}"
        );
        assert_eq!(listed(json!({"type": "win"})).await?, json!([]), "{l}");
        // both filters at once
        assert_eq!(
            listed(json!({"type": "maven", "draft": true})).await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            sorted_nvrs(&listed(json!({"type": "maven", "draft": false})).await?),
            vec!["jar-1.0-1"],
            "{l}"
        );
        assert_eq!(
            sorted_nvrs(
                &th.call(
                    &admin,
                    "getLatestBuilds",
                    json!(["tt", kw(json!({"type": "maven"}))])
                )
                .await?
            ),
            vec!["jar-1.0-1"],
            "{l}"
        );
    }
    Ok(())
}

/// moveAllBuilds makes no tagging itself: one `dependantTask` per build of
/// the package in tag1, oldest tagging first, each waiting on the one
/// before and carrying a `tagBuild` request (priority 15); answers their
/// ids.
#[tokio::test]
async fn move_all_builds_makes_a_chain_of_tasks() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let alice = th.user("alice", "pw", &[]).await?;
        let alice_id = int(&th.call(&alice, "getLoggedInUser", json!([])).await?["id"])?;
        let src = tag(&th, &admin, "src").await?;
        let dst = tag(&th, &admin, "dst").await?;
        let other = tag(&th, &admin, "other").await?;
        for t in ["src", "dst"] {
            list_pkg(&th, &admin, t, "mv").await?;
        }
        list_pkg(&th, &admin, "src", "zz").await?;
        // tagged in this order, which is not the NVR order
        let mut want = vec![];
        for nvr in ["mv-1-1", "mv-2-1", "mv-1-2"] {
            want.push(build(&th, &admin, nvr).await?);
            tag_build(&th, &admin, "src", nvr).await?;
        }
        build(&th, &admin, "zz-1-1").await?;
        tag_build(&th, &admin, "src", "zz-1-1").await?;

        let got = th
            .call(&alice, "moveAllBuilds", json!(["src", "dst", "mv"]))
            .await?;
        let tasks: Vec<i64> = got
            .as_array()
            .map(|a| a.iter().filter_map(Json::as_i64).collect())
            .unwrap_or_default();
        assert_eq!(tasks.len(), 3, "{l}: {got}");
        let mut wait_on: Vec<i64> = vec![];
        for (t, b) in tasks.iter().zip(&want) {
            let info = th.call(&alice, "getTaskInfo", json!([t, true])).await?;
            assert_eq!(
                (
                    info["method"].clone(),
                    info["state"].clone(),
                    info["owner"].clone(),
                    info["parent"].clone(),
                    info["priority"].clone(),
                ),
                (
                    json!("dependantTask"),
                    json!(0),
                    json!(alice_id),
                    Json::Null,
                    json!(20)
                ),
                "{l}: task {t}"
            );
            assert_eq!(
                info["request"],
                json!([wait_on, [["tagBuild", [dst, b, false, src], {"priority": 15}]]]),
                "{l}: task {t}"
            );
            wait_on = vec![*t];
        }
        // the builds stay where they are until a builder runs the tasks
        assert_eq!(
            th.call(&admin, "listTagged", json!(["dst"])).await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            sorted_nvrs(&th.call(&admin, "listTagged", json!(["src"])).await?),
            vec!["mv-1-1", "mv-1-2", "mv-2-1", "zz-1-1"],
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "listTasks", json!([{"method": "tagBuild"}]))
                .await?,
            json!([]),
            "{l}: the tagBuild tasks come later, as subtasks"
        );
        assert_eq!(
            th.call(&admin, "listTasks", json!([{"method": "dependantTask"}]))
                .await?
                .as_array()
                .map(Vec::len),
            Some(3),
            "{l}"
        );

        // no builds of the package in tag1: no tasks
        assert_eq!(
            th.call(&alice, "moveAllBuilds", json!(["dst", "src", "mv"]))
                .await?,
            json!([]),
            "{l}"
        );
        // the package must be listed in tag2, unless an admin forces it
        assert_eq!(
            fault(&th, &alice, "moveAllBuilds", json!(["src", "other", "mv"])).await,
            (1003, "Package mv not in list for tag other".into()),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &alice,
                "moveAllBuilds",
                json!(["src", "other", "mv", true])
            )
            .await,
            (1003, "Package mv not in list for tag other".into()),
            "{l}: force is for admins"
        );
        let got = th
            .call(&admin, "moveAllBuilds", json!(["src", other, "mv", true]))
            .await?;
        assert_eq!(got.as_array().map(Vec::len), Some(3), "{l}");
        assert_eq!(
            th.call(&admin, "checkTagPackage", json!(["other", "mv"]))
                .await?,
            json!(true),
            "{l}"
        );
        let last = th
            .call(&admin, "getTaskInfo", json!([got[2].clone(), true]))
            .await?;
        assert_eq!(
            last["request"],
            json!([[got[1].clone()], [["tagBuild", [other, want[2], true, src], {"priority": 15}]]]),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn package_list_rules() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let (base, mid, _) = three_levels(&th, &admin).await?;
        for nvr in ["a-1-1", "b-1-1", "c-1-1"] {
            build(&th, &admin, nvr).await?;
            tag_build(&th, &admin, "base", nvr).await?;
        }
        // not inheriting: the package list still comes through inheritance
        tag_build(&th, &admin, "top", "b-1-1").await?;
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["top"])).await?),
            pairs(&[("b-1-1", "top")]),
            "{l}"
        );
        // a block in top hides its own builds too
        th.call(&admin, "packageListBlock", json!(["top", "b"]))
            .await?;
        assert_eq!(
            th.call(&admin, "listTagged", json!(["top"])).await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["top"])).await?),
            pairs(&[("c-1-1", "base"), ("a-1-1", "base")]),
            "{l}"
        );
        // a child's unblock over a parent's block
        th.call(&admin, "packageListBlock", json!(["mid", "a"]))
            .await?;
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["top"])).await?),
            pairs(&[("c-1-1", "base")]),
            "{l}"
        );
        th.call(&admin, "packageListUnblock", json!(["top", "b"]))
            .await?;
        th.call(&admin, "packageListUnblock", json!(["top", "a"]))
            .await?;
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["top"])).await?),
            pairs(&[("b-1-1", "top"), ("c-1-1", "base"), ("a-1-1", "base")]),
            "{l}"
        );
        // pkg_filter on a link limits the package list that flows down
        // (the builds themselves are not filtered per link)
        inherit(&th, &admin, "mid", json!([link(base, 10, "^[ab]")])).await?;
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["mid"])).await?),
            pairs(&[("b-1-1", "base")]),
            "{l}: a blocked in mid, c filtered out"
        );
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["top"])).await?),
            pairs(&[("b-1-1", "top"), ("a-1-1", "base")]),
            "{l}: c filtered out on the way"
        );
        assert_eq!(
            nvrs(
                &th.call(
                    &admin,
                    "listTagged",
                    json!([
                        "top",
                        kw(json!({"inherit": true, "latest": 1, "package": "c"}))
                    ])
                )
                .await?
            ),
            vec![],
            "{l}"
        );
        let _ = mid;
    }
    Ok(())
}

#[tokio::test]
async fn mass_tag_and_history() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let f40 = tag(&th, &admin, "f40").await?;
        list_pkg(&th, &admin, "f40", "bash").await?;
        let b1 = build(&th, &admin, "bash-1-1").await?;
        let b2 = build(&th, &admin, "bash-2-1").await?;
        let alice = th.user("alice", "pw", &[]).await?;
        assert_eq!(
            fault(&th, &alice, "massTag", json!(["f40", ["bash-1-1"]])).await,
            (1004, "tag permission required (logged in as alice)".into()),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "massTag",
                json!(["f40", ["bash-1-1", "bash-9-9"]])
            )
            .await,
            (1000, "No such build: 'bash-9-9'".into()),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "listTagged", json!(["f40"])).await?,
            json!([]),
            "{l}: nothing tagged on failure"
        );
        // the last listed is the latest, whatever the build ids
        th.call(
            &admin,
            "massTag",
            json!(["f40", ["bash-2-1", {"name": "bash", "version": "1", "release": "1"}]]),
        )
        .await?;
        let got = th.call(&admin, "listTagged", json!(["f40"])).await?;
        assert_eq!(
            nvrs(&got),
            pairs(&[("bash-1-1", "f40"), ("bash-2-1", "f40")]),
            "{l}"
        );
        let (e1, e2) = (int(&got[1]["create_event"])?, int(&got[0]["create_event"])?);
        assert!(e1 < e2, "{l}: one event per build");
        // already tagged: tagged again
        th.call(&admin, "massTag", json!(["f40", [b2]])).await?;
        let e3 = last_event(&th, &admin).await?;
        assert_eq!(
            nvrs(&th.call(&admin, "getLatestBuilds", json!(["f40"])).await?),
            pairs(&[("bash-2-1", "f40")]),
            "{l}"
        );
        // history shows each tagging and the revocation
        let h = th
            .call(
                &admin,
                "queryHistory",
                json!([["tag_listing"], kw(json!({"tag": "f40"}))]),
            )
            .await?;
        let rows = h["tag_listing"].as_array().cloned().unwrap_or_default();
        let summary: Vec<(i64, i64, Json, Json)> = rows
            .iter()
            .map(|r| {
                (
                    r["build_id"].as_i64().unwrap_or(0),
                    r["create_event"].as_i64().unwrap_or(0),
                    r["revoke_event"].clone(),
                    r["active"].clone(),
                )
            })
            .collect();
        assert_eq!(
            summary,
            vec![
                (b2, e1, json!(e3), Json::Null),
                (b1, e2, Json::Null, json!(true)),
                (b2, e3, Json::Null, json!(true)),
            ],
            "{l}: {h}"
        );
        assert_eq!(rows[0]["tag.name"], json!("f40"), "{l}");
        assert_eq!(rows[0]["tag_id"], json!(f40), "{l}");
        let h = th
            .call(
                &admin,
                "queryHistory",
                json!([null, kw(json!({"build": "bash-1-1"}))]),
            )
            .await?;
        assert_eq!(
            h["tag_listing"].as_array().map(Vec::len),
            Some(1),
            "{l}: {h}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn snapshots() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let (_, _, _) = three_levels(&th, &admin).await?;
        th.call(
            &admin,
            "editTag2",
            json!(["top", kw(json!({"arches": "x86_64", "extra": {"k": "v"}}))]),
        )
        .await?;
        for nvr in ["a-1-1", "a-2-1", "b-1-1"] {
            build(&th, &admin, nvr).await?;
        }
        tag_build(&th, &admin, "base", "a-1-1").await?;
        tag_build(&th, &admin, "base", "a-2-1").await?;
        tag_build(&th, &admin, "mid", "b-1-1").await?;
        th.call(&admin, "packageListBlock", json!(["top", "d"]))
            .await?;

        assert_eq!(
            fault(
                &th,
                &admin,
                "snapshotTag",
                json!(["top", "snap", kw(json!({"pkgs": false}))])
            )
            .await,
            (
                1019,
                "builds can't be used without pkgs in snapshotTag".into()
            ),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "snapshotTag", json!(["top", "base"])).await,
            (1000, "Target tag already exists".into()),
            "{l}"
        );
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        th.call(&tagger, "snapshotTag", json!(["top", "snap"]))
            .await?;
        let snap = th.call(&admin, "getTag", json!(["snap"])).await?;
        assert_eq!(snap["arches"], json!("x86_64"), "{l}");
        assert_eq!(snap["extra"], json!({"k": "v"}), "{l}");
        assert_eq!(
            th.call(&admin, "getInheritanceData", json!(["snap"]))
                .await?,
            json!([]),
            "{l}"
        );
        let pkgs = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "snap"}))]),
            )
            .await?;
        let mut names: Vec<(String, bool)> = pkgs
            .as_array()
            .unwrap()
            .iter()
            .map(|p| {
                (
                    p["package_name"].as_str().unwrap().to_string(),
                    p["blocked"].as_bool().unwrap(),
                )
            })
            .collect();
        names.sort();
        assert_eq!(
            names,
            [
                ("a".into(), false),
                ("b".into(), false),
                ("c".into(), false),
                ("d".into(), true)
            ],
            "{l}"
        );
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["snap"])).await?),
            pairs(&[("b-1-1", "snap"), ("a-2-1", "snap")]),
            "{l}: latest, inherited, flattened, tagged oldest first"
        );
        // all builds, in the source's order
        th.call(
            &admin,
            "snapshotTag",
            json!(["base", "snap2", kw(json!({"latest_only": false}))]),
        )
        .await?;
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["snap2"])).await?),
            pairs(&[("a-2-1", "snap2"), ("a-1-1", "snap2")]),
            "{l}"
        );
        th.call(
            &admin,
            "editTag2",
            json!(["base", kw(json!({"locked": true}))]),
        )
        .await?;
        assert_eq!(
            fault(&th, &admin, "snapshotTag", json!(["base", "snap3"])).await,
            (1000, "Source tag is locked, use force to copy".into()),
            "{l}"
        );
        th.call(
            &admin,
            "editTag2",
            json!(["base", kw(json!({"locked": false}))]),
        )
        .await?;

        // modify: upstream's config copy asks for maven settings, refused
        // on a hub without Maven
        assert_eq!(
            fault(&th, &admin, "snapshotTagModify", json!(["top", "snap2"])).await,
            (1000, "Maven support not enabled".into()),
            "{l}"
        );
        build(&th, &admin, "a-3-1").await?;
        tag_build(&th, &admin, "base", "a-3-1").await?;
        tag_build(&th, &admin, "snap2", "b-1-1").await?;
        th.call(
            &admin,
            "snapshotTagModify",
            json!([
                "base",
                "snap2",
                kw(json!({"config": false, "latest_only": false}))
            ]),
        )
        .await?;
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["snap2"])).await?),
            pairs(&[
                ("a-3-1", "snap2"),
                ("b-1-1", "snap2"),
                ("a-2-1", "snap2"),
                ("a-1-1", "snap2")
            ]),
            "{l}: b kept (no remove)"
        );
        th.call(
            &admin,
            "snapshotTagModify",
            json!([
                "base",
                "snap2",
                kw(json!({"config": false, "remove": true}))
            ]),
        )
        .await?;
        assert_eq!(
            nvrs(&th.call(&admin, "listTagged", json!(["snap2"])).await?),
            pairs(&[("a-3-1", "snap2")]),
            "{l}: only base's latest"
        );
    }
    Ok(())
}

#[tokio::test]
async fn snapshot_is_atomic() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let src = tag(&th, &admin, "src").await?;
        th.call(
            &admin,
            "editTag2",
            json!(["src", kw(json!({"arches": "x86_64", "extra": {"k": "v"}}))]),
        )
        .await?;
        th.call(
            &admin,
            "packageListAdd",
            json!(["src", "a", "admin", kw(json!({"extra_arches": "noarch"}))]),
        )
        .await?;
        build(&th, &admin, "a-1-1").await?;
        tag_build(&th, &admin, "src", "a-1-1").await?;
        // a package entry the copy refuses: the tag's creation has been
        // done by then, the failure must take it back
        exec(
            th.hub.db().conn(),
            "UPDATE tag_packages SET extra_arches = ? WHERE tag_id = ?",
            params!["bad!arch", src],
        )
        .await?;
        let before = last_event(&th, &admin).await?;
        assert_eq!(
            fault(&th, &admin, "snapshotTag", json!(["src", "snap"])).await,
            (1000, "Architecture can be only [a-zA-Z0-9_-]".into()),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "getTag", json!(["snap"])).await?,
            Json::Null,
            "{l}: no tag left behind"
        );
        assert_eq!(
            th.call(&admin, "getTagID", json!(["snap"])).await?,
            Json::Null,
            "{l}: not even its name"
        );
        assert_eq!(last_event(&th, &admin).await?, before, "{l}: no event");
        // without the package list the same snapshot goes through
        th.call(
            &admin,
            "snapshotTag",
            json!(["src", "snap", kw(json!({"pkgs": false, "builds": false}))]),
        )
        .await?;
        let snap = th.call(&admin, "getTag", json!(["snap"])).await?;
        assert_eq!(snap["arches"], json!("x86_64"), "{l}");
        assert_eq!(snap["extra"], json!({"k": "v"}), "{l}");
        assert!(last_event(&th, &admin).await? > before, "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn untagged_and_change_events() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let (base, mid, top) = three_levels(&th, &admin).await?;
        let a1 = build(&th, &admin, "a-1-1").await?;
        let b1 = build(&th, &admin, "b-1-1").await?;
        tag_build(&th, &admin, "base", "a-1-1").await?;
        assert_eq!(
            th.call(&admin, "untaggedBuilds", json!([])).await?,
            json!([{"id": b1, "name": "b", "release": "1", "version": "1"}]),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "untaggedBuilds", json!(["a"])).await?,
            json!([]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "untaggedBuilds",
                json!([kw(json!({"queryOpts": {"countOnly": true}}))])
            )
            .await?,
            json!(1),
            "{l}"
        );
        let _ = a1;
        let ev = last_event(&th, &admin).await?;
        assert_eq!(
            th.call(
                &admin,
                "tagChangedSinceEvent",
                json!([ev, [base, mid, top]])
            )
            .await?,
            json!(false),
            "{l}"
        );
        tag_build(&th, &admin, "mid", "b-1-1").await?;
        let ev2 = last_event(&th, &admin).await?;
        assert_eq!(
            th.call(&admin, "tagChangedSinceEvent", json!([ev, [mid]]))
                .await?,
            json!(true),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "tagChangedSinceEvent", json!([ev, [base, top]]))
                .await?,
            json!(false),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "tagLastChangeEvent", json!(["top"]))
                .await?,
            json!(ev2),
            "{l}: through inheritance"
        );
        assert_eq!(
            th.call(&admin, "tagLastChangeEvent", json!(["base"]))
                .await?,
            json!(ev),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "tagLastChangeEvent", json!(["top", ev2]))
                .await?,
            json!(ev),
            "{l}: before"
        );
        let top_inh = th
            .call(&admin, "tagLastChangeEvent", json!(["top", null, false]))
            .await?;
        assert!(int(&top_inh)? < ev, "{l}: {top_inh}");
        let created = th
            .call(&admin, "tagFirstChangeEvent", json!(["top"]))
            .await?;
        assert_eq!(
            th.call(&admin, "tagFirstChangeEvent", json!(["top", ev]))
                .await?,
            json!(ev2),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "tagFirstChangeEvent", json!(["top", ev2]))
                .await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "tagFirstChangeEvent", json!(["top", 0]))
                .await?,
            created,
            "{l}: never before the creation"
        );
        assert_eq!(
            fault(&th, &admin, "tagLastChangeEvent", json!(["top", "x"])).await,
            (
                1019,
                "Invalid type for value 'x': <class 'str'>, expected type <class 'int'>".into()
            ),
            "{l}"
        );
        // a deleted tag: its deletion
        th.call(&admin, "deleteTag", json!(["top"])).await?;
        let del = last_event(&th, &admin).await?;
        assert_eq!(
            th.call(&admin, "tagLastChangeEvent", json!(["top"]))
                .await?,
            json!(del),
            "{l}"
        );
    }
    Ok(())
}

/// An RPM of build `build_id` written directly (the RPM area is not ours).
async fn rpm(th: &TestHub, build_id: i64, name: &str, arch: &str) -> Result<i64> {
    let version: String = koji_core::db::RowExt::string(
        &koji_core::db::fetch_one(
            th.hub.db().conn(),
            "SELECT version FROM build WHERE id = ?",
            params![build_id],
        )
        .await?,
        "version",
    )?;
    let r = koji_core::db::fetch_one(
        th.hub.db().conn(),
        "INSERT INTO rpminfo (build_id, name, version, release, epoch, arch, draft, \
         external_repo_id, payloadhash, size, buildtime, metadata_only) \
         VALUES (?, ?, ?, '1', NULL, ?, FALSE, 0, 'abc', 10, 1000, FALSE) RETURNING id",
        params![build_id, name.to_string(), version, arch.to_string()],
    )
    .await?;
    koji_core::db::RowExt::int(&r, "id")
}

#[tokio::test]
async fn tagged_rpms_and_archives() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        three_levels(&th, &admin).await?;
        let a1 = build(&th, &admin, "a-1-1").await?;
        let a2 = build(&th, &admin, "a-2-1").await?;
        let b1 = build(&th, &admin, "b-1-1").await?;
        tag_build(&th, &admin, "base", "a-1-1").await?;
        tag_build(&th, &admin, "base", "a-2-1").await?;
        tag_build(&th, &admin, "top", "b-1-1").await?;
        let r_a1 = rpm(&th, a1, "a", "x86_64").await?;
        let r_a2 = rpm(&th, a2, "a", "x86_64").await?;
        let r_a2s = rpm(&th, a2, "a", "src").await?;
        let r_b1 = rpm(&th, b1, "b", "noarch").await?;
        exec(
            th.hub.db().conn(),
            "INSERT INTO rpmsigs (rpm_id, sigkey, sighash) VALUES (?, 'abcd1234', 'x')",
            params![r_b1],
        )
        .await?;

        let ids = |v: &Json| -> Vec<i64> {
            v.as_array()
                .map(|a| a.iter().filter_map(|r| r["id"].as_i64()).collect())
                .unwrap_or_default()
        };
        let got = th.call(&admin, "getLatestRPMS", json!(["top"])).await?;
        assert_eq!(ids(&got[0]), [r_b1, r_a2, r_a2s], "{l}");
        assert_eq!(
            nvrs(&got[1]),
            pairs(&[("b-1-1", "top"), ("a-2-1", "base")]),
            "{l}"
        );
        assert_eq!(
            keys(&got[0][0]),
            [
                "arch",
                "build_id",
                "buildroot_id",
                "buildtime",
                "draft",
                "epoch",
                "extra",
                "id",
                "metadata_only",
                "name",
                "payloadhash",
                "release",
                "size",
                "version"
            ],
            "{l}"
        );
        assert_eq!(
            got[0][0],
            json!({"arch": "noarch", "build_id": b1, "buildroot_id": null, "buildtime": 1000,
                   "draft": false, "epoch": null, "extra": null, "id": r_b1,
                   "metadata_only": false, "name": "b", "payloadhash": "abc", "release": "1",
                   "size": 10, "version": "1"}),
            "{l}"
        );
        let got = th
            .call(
                &admin,
                "getLatestRPMS",
                json!([
                    "top",
                    kw(json!({"arch": ["src", "noarch"], "rpmsigs": true}))
                ]),
            )
            .await?;
        assert_eq!(ids(&got[0]), [r_b1, r_a2s], "{l}");
        assert_eq!(got[0][0]["sigkey"], json!("abcd1234"), "{l}");
        assert_eq!(got[0][1]["sigkey"], Json::Null, "{l}");
        assert_eq!(
            fault(
                &th,
                &admin,
                "getLatestRPMS",
                json!(["top", kw(json!({"arch": 5}))])
            )
            .await,
            (1000, "Invalid type for arch option: <class 'int'>".into()),
            "{l}"
        );
        let got = th
            .call(
                &admin,
                "listTaggedRPMS",
                json!(["base", kw(json!({"arch": "x86_64", "extra": false}))]),
            )
            .await?;
        assert_eq!(ids(&got[0]), [r_a1, r_a2], "{l}");
        assert!(got[0][0].get("extra").is_none(), "{l}");
        let got = th
            .call(
                &admin,
                "listTaggedRPMS",
                json!([
                    "top",
                    kw(json!({"inherit": true, "latest": true, "package": "a"}))
                ]),
            )
            .await?;
        assert_eq!(ids(&got[0]), [r_a2, r_a2s], "{l}");
        assert_eq!(
            th.call(
                &admin,
                "listTaggedRPMS",
                json!(["nope", kw(json!({"strict": false}))])
            )
            .await?,
            json!([]),
            "{l}"
        );

        // archives
        let arch_id = koji_core::db::RowExt::int(
            &koji_core::db::fetch_one(
                th.hub.db().conn(),
                "INSERT INTO archiveinfo (type_id, btype_id, build_id, filename, size, checksum, \
                 checksum_type, metadata_only) VALUES (1, 1, ?, 'a.jar', 5, 'ff', 0, FALSE) \
                 RETURNING id",
                params![a2],
            )
            .await?,
            "id",
        )?;
        let got = th
            .call(
                &admin,
                "listTaggedArchives",
                json!(["top", kw(json!({"inherit": true, "latest": true}))]),
            )
            .await?;
        assert_eq!(
            got[0],
            json!([{"btype": "rpm", "btype_id": 1, "build_id": a2, "buildroot_id": null,
                    "checksum": "ff", "checksum_type": 0, "extra": null, "filename": "a.jar",
                    "id": arch_id, "metadata_only": false, "size": 5, "type_id": 1}]),
            "{l}"
        );
        assert_eq!(
            nvrs(&got[1]),
            pairs(&[("b-1-1", "top"), ("a-2-1", "base")]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "listTaggedArchives",
                json!(["base", kw(json!({"type": "maven"}))])
            )
            .await?,
            json!([[], []]),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listTaggedArchives",
                json!(["base", kw(json!({"type": "image"}))])
            )
            .await,
            (1000, "unsupported archive type: image".into()),
            "{l}"
        );
    }
    Ok(())
}

/// Fedora-sized: 30k packages, 150k builds over a 3-level inheritance.
/// `cargo test --release -p koji-core --test tagging -- --ignored --nocapture`
#[tokio::test]
#[ignore]
async fn perf_fedora_sized() -> Result<()> {
    use std::time::Instant;
    const PKGS: i64 = 30_000;
    const PER_PKG: i64 = 5;
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let (base, mid, top) = three_levels(&th, &admin).await?;
        let uid = admin.user_id()?;
        let t0 = Instant::now();
        let mut tx = th.hub.db().begin().await?;
        let ev = tx.event().await?;
        let c: &sea_orm::DatabaseTransaction = &tx;
        // packages, listed in base (a few blocked in mid)
        for chunk in (1..=PKGS).collect::<Vec<_>>().chunks(1000) {
            let vals: Vec<String> = chunk.iter().map(|i| format!("('p{i:05}')")).collect();
            exec(
                c,
                &format!("INSERT INTO package (name) VALUES {}", vals.join(", ")),
                vec![],
            )
            .await?;
        }
        exec(
            c,
            &format!(
                "INSERT INTO tag_packages (package_id, tag_id, blocked, create_event, creator_id, active) \
                 SELECT id, {base}, FALSE, {ev}, {uid}, TRUE FROM package WHERE name LIKE 'p%'"
            ),
            vec![],
        )
        .await?;
        exec(
            c,
            &format!(
                "INSERT INTO tag_package_owners (package_id, tag_id, owner, create_event, creator_id, active) \
                 SELECT id, {base}, {uid}, {ev}, {uid}, TRUE FROM package WHERE name LIKE 'p%'"
            ),
            vec![],
        )
        .await?;
        exec(
            c,
            &format!(
                "INSERT INTO tag_packages (package_id, tag_id, blocked, create_event, creator_id, active) \
                 SELECT id, {mid}, TRUE, {ev}, {uid}, TRUE FROM package WHERE name LIKE 'p%0'"
            ),
            vec![],
        )
        .await?;
        // builds: PER_PKG per package; the first three in base, one in mid, one in top
        for v in 1..=PER_PKG {
            exec(
                c,
                &format!(
                    "INSERT INTO build (pkg_id, version, release, epoch, draft, state, \
                     completion_time, create_event, owner, volume_id) \
                     SELECT id, '{v}', '1', NULL, FALSE, 1, CURRENT_TIMESTAMP, {ev}, {uid}, 0 \
                     FROM package WHERE name LIKE 'p%'"
                ),
                vec![],
            )
            .await?;
            let t = match v {
                1..=3 => base,
                4 => mid,
                _ => top,
            };
            // skip some packages in top and mid so inheritance matters
            let cond = match v {
                4 => " AND package.name NOT LIKE '%1'",
                5 => " AND package.name NOT LIKE '%2'",
                _ => "",
            };
            exec(
                c,
                &format!(
                    "INSERT INTO tag_listing (build_id, tag_id, create_event, creator_id, active) \
                     SELECT build.id, {t}, {ev}, {uid}, TRUE FROM build \
                     JOIN package ON package.id = build.pkg_id WHERE build.version = '{v}'{cond}"
                ),
                vec![],
            )
            .await?;
        }
        tx.commit().await?;
        if th.backend == koji_core::db::Backend::Postgres {
            exec(th.hub.db().conn(), "ANALYZE", vec![]).await?;
        }
        eprintln!("{l}: loaded in {:?}", t0.elapsed());
        if std::env::var("KOJI_PERF_KEEP").is_ok() {
            // keep the database to study the queries by hand
            eprintln!("{l}: kept at {}", th.url);
            std::mem::forget(th);
            continue;
        }
        let hub = th.hub.tagging();
        for (what, q) in [
            (
                "getLatestBuilds",
                koji_core::hub::tagging::TaggedQuery {
                    inherit: true,
                    latest: Some(1),
                    ..Default::default()
                },
            ),
            (
                "listTagged inherit",
                koji_core::hub::tagging::TaggedQuery {
                    inherit: true,
                    ..Default::default()
                },
            ),
            (
                "listTagged top",
                koji_core::hub::tagging::TaggedQuery::default(),
            ),
        ] {
            for _ in 0..3 {
                let t = Instant::now();
                let got =
                    koji_core::hub::tagging::read_tagged_builds_in(th.hub.db().conn(), top, &q)
                        .await?;
                eprintln!("{l}: {what}: {} builds in {:?}", got.len(), t.elapsed());
            }
        }
        let t = Instant::now();
        let got = th.call(&admin, "getLatestBuilds", json!(["top"])).await?;
        eprintln!(
            "{l}: getLatestBuilds call (with JSON): {} in {:?}",
            got.as_array().map_or(0, Vec::len),
            t.elapsed()
        );
        let t = Instant::now();
        let got = th
            .call(&admin, "getLatestBuilds", json!(["top", null, "p00123"]))
            .await?;
        eprintln!(
            "{l}: getLatestBuilds one package: {} in {:?}",
            got.as_array().map_or(0, Vec::len),
            t.elapsed()
        );
        let _ = hub;
    }
    Ok(())
}

/// Times the reads (and the queries of the file `KOJI_PERF_SQL`, separated
/// by lines `---`) on the database `KOJI_PERF_URL`, one kept by
/// `perf_fedora_sized` with `KOJI_PERF_KEEP=1` (tag 3 is the child).
#[tokio::test]
#[ignore]
async fn perf_reuse() -> Result<()> {
    use koji_core::hub::tagging::{read_tagged_builds_in, TaggedQuery};
    let Ok(url) = std::env::var("KOJI_PERF_URL") else {
        return Ok(());
    };
    let hub = koji_core::Hub::open(&url, koji_core::HubConfig::default()).await?;
    let c = hub.db().conn();
    for (what, q) in [
        (
            "latest",
            TaggedQuery {
                inherit: true,
                latest: Some(1),
                ..Default::default()
            },
        ),
        (
            "latest one package",
            TaggedQuery {
                inherit: true,
                latest: Some(1),
                package: json!("p00123"),
                ..Default::default()
            },
        ),
        (
            "inherit",
            TaggedQuery {
                inherit: true,
                ..Default::default()
            },
        ),
        ("own", TaggedQuery::default()),
    ] {
        for _ in 0..3 {
            let t = std::time::Instant::now();
            let got = read_tagged_builds_in(c, 3, &q).await?;
            eprintln!("{what}: {} builds in {:?}", got.len(), t.elapsed());
        }
    }
    if let Ok(file) = std::env::var("KOJI_PERF_SQL") {
        let text = std::fs::read_to_string(file)?;
        for q in text.split("\n---\n").filter(|q| !q.trim().is_empty()) {
            for _ in 0..3 {
                let t = std::time::Instant::now();
                let rows = koji_core::db::fetch_all(c, q, vec![]).await?;
                eprintln!(
                    "{} rows in {:?}: {}",
                    rows.len(),
                    t.elapsed(),
                    q.trim().lines().next().unwrap_or("")
                );
            }
        }
    }
    Ok(())
}

#[tokio::test]
async fn tag_policy() -> Result<()> {
    use koji_core::api::{Ctx, Registry};
    use std::sync::Arc;
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        tag(&th, &admin, "f40").await?;
        list_pkg(&th, &admin, "f40", "bash").await?;
        build(&th, &admin, "bash-1-1").await?;
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        // the same database, served by a hub with a `tag` policy
        let mut policies = koji_core::policy::Policies::default();
        policies
            .set(
                "tag",
                "operation untag :: deny untagging is frozen\nall :: allow\n",
            )
            .map_err(|e| Error::Generic(e.to_string()))?;
        let config = koji_core::HubConfig {
            policies: Arc::new(policies),
            ..th.hub.config().clone()
        };
        let hub = koji_core::Hub::open(&th.url, config).await?;
        let call = |who: &Caller, method: &str, params: Json| {
            let ctx = Ctx {
                hub: hub.clone(),
                caller: Arc::new(who.clone()),
            };
            let method = method.to_string();
            let params = params.as_array().cloned().unwrap_or_default();
            async move { Registry::standard().dispatch(ctx, &method, params).await }
        };
        call(&tagger, "tagBuildBypass", json!(["f40", "bash-1-1"])).await?;
        let e = call(&tagger, "untagBuildBypass", json!(["f40", "bash-1-1"]))
            .await
            .unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1004, "policy violation (tag): untagging is frozen".into()),
            "{l}"
        );
        let e = call(
            &tagger,
            "untagBuildBypass",
            json!(["f40", "bash-1-1", true, true]),
        )
        .await
        .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}: force is for admins");
        call(
            &admin,
            "untagBuildBypass",
            json!(["f40", "bash-1-1", true, true]),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "listTagged", json!(["f40"])).await?,
            json!([]),
            "{l}"
        );
    }
    Ok(())
}

/// snapshotTagModify's groups, as upstream: src's groups reach dst; for
/// groups both have, the missing packages and requirements; with remove,
/// dst's own extras go and packages src blocks are blocked.
#[tokio::test]
async fn snapshot_modify_syncs_groups() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        tag(&th, &admin, "gsrc").await?;
        tag(&th, &admin, "gdst").await?;
        let call = |m: &'static str, args: Json| {
            let th = &th;
            let admin = &admin;
            async move { th.call(admin, m, args).await }
        };
        for g in ["build", "srpm-build", "extra"] {
            call("groupListAdd", json!(["gsrc", g])).await?;
        }
        for p in ["bash", "gcc"] {
            call("groupPackageListAdd", json!(["gsrc", "build", p])).await?;
        }
        call("groupPackageListBlock", json!(["gsrc", "build", "perl"])).await?;
        call("groupPackageListAdd", json!(["gsrc", "extra", "vim"])).await?;
        call("groupReqListAdd", json!(["gsrc", "build", "srpm-build"])).await?;
        for g in ["build", "old"] {
            call("groupListAdd", json!(["gdst", g])).await?;
        }
        for p in ["bash", "make", "perl"] {
            call("groupPackageListAdd", json!(["gdst", "build", p])).await?;
        }
        let groups = || async {
            let gs = call("getTagGroups", json!(["gdst"])).await?;
            let mut out: Vec<(String, Vec<String>, Vec<String>)> = gs
                .as_array()
                .unwrap()
                .iter()
                .map(|g| {
                    let names = |k: &str, f: &str| {
                        let mut v: Vec<String> = g[k]
                            .as_array()
                            .unwrap()
                            .iter()
                            .map(|e| e[f].as_str().unwrap().to_string())
                            .collect();
                        v.sort();
                        v
                    };
                    (
                        g["name"].as_str().unwrap().to_string(),
                        names("packagelist", "package"),
                        names("grouplist", "name"),
                    )
                })
                .collect();
            out.sort();
            Ok::<_, koji_core::Error>(out)
        };
        let only_groups = kw(json!({"config": false, "pkgs": false, "builds": false}));
        call("snapshotTagModify", json!(["gsrc", "gdst", only_groups])).await?;
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            groups().await?,
            vec![
                // build existed in both: gcc and the requirement added
                (
                    "build".into(),
                    s(&["bash", "gcc", "make", "perl"]),
                    s(&["srpm-build"])
                ),
                // new to dst: the group only (upstream adds its packages
                // on a later call)
                ("extra".into(), s(&[]), s(&[])),
                ("old".into(), s(&[]), s(&[])),
                ("srpm-build".into(), s(&[]), s(&[])),
            ],
            "{l}"
        );
        let with_remove =
            kw(json!({"config": false, "pkgs": false, "builds": false, "remove": true}));
        call("snapshotTagModify", json!(["gsrc", "gdst", with_remove])).await?;
        assert_eq!(
            groups().await?,
            vec![
                // make (dst's own) removed, perl blocked as in src
                ("build".into(), s(&["bash", "gcc"]), s(&["srpm-build"])),
                ("extra".into(), s(&["vim"]), s(&[])),
                ("srpm-build".into(), s(&[]), s(&[])),
            ],
            "{l}"
        );
        let blocked = call(
            "getTagGroups",
            json!(["gdst", kw(json!({"incl_blocked": true}))]),
        )
        .await?;
        let build = blocked
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == "build")
            .unwrap()
            .clone();
        assert!(
            build["packagelist"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["package"] == "perl" && p["blocked"] == json!(true)),
            "{l}: {build}"
        );
    }
    Ok(())
}
