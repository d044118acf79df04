//! Comps groups through upstream's API: a tag's groups, their packages
//! and required groups, inherited (first entry wins), blocked and
//! unblocked, as of an event, with upstream's faults and permissions.

use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};

fn fault(r: Result<Json>) -> (i32, String) {
    let e = r.expect_err("a fault");
    (e.fault_code(), e.to_string())
}

/// getTagGroups as (group name -> (tag of the entry, sorted packages,
/// sorted required groups)).
async fn summary(th: &TestHub, args: Json) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let admin = th.admin().await.expect("admin");
    let groups = th
        .call(&admin, "getTagGroups", args)
        .await
        .expect("getTagGroups");
    // tags by name: base and child are the first two a test makes
    let tag_name = |id: &Json| match id.as_i64() {
        Some(1) => "base".to_string(),
        Some(2) => "child".to_string(),
        _ => id.to_string(),
    };
    let mut out: Vec<_> = groups
        .as_array()
        .expect("list")
        .iter()
        .map(|g| {
            let mark = |e: &Json| {
                if e["blocked"] == json!(true) {
                    "!"
                } else {
                    ""
                }
            };
            let mut pkgs: Vec<String> = g["packagelist"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|p| {
                            format!(
                                "{}{}@{}",
                                mark(p),
                                p["package"].as_str().unwrap_or(""),
                                tag_name(&p["tag_id"])
                            )
                        })
                        .collect()
                })
                .unwrap_or_default();
            pkgs.sort();
            let mut reqs: Vec<String> = g["grouplist"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .map(|r| format!("{}{}", mark(r), r["name"].as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            reqs.sort();
            (
                format!("{}{}", mark(g), g["name"].as_str().unwrap_or("")),
                tag_name(&g["tag_id"]),
                pkgs,
                reqs,
            )
        })
        .collect();
    out.sort();
    out
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| x.to_string()).collect()
}

#[tokio::test]
async fn groups_inherit_block_and_go_back_in_time() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let l = th.label();
        th.call(&admin, "createTag", json!(["base"])).await?;
        th.call(
            &admin,
            "createTag",
            json!(["child", kw(json!({"parent": "base"}))]),
        )
        .await?;
        th.call(&admin, "groupListAdd", json!(["base", "build"]))
            .await?;
        // the entry upstream returns, keys in its order
        let groups = th.call(&admin, "getTagGroups", json!(["child"])).await?;
        assert_eq!(
            serde_json::to_string(&groups[0]).unwrap(),
            r#"{"biarchonly":false,"blocked":false,"description":null,"display_name":"build","exported":true,"group_id":1,"is_default":null,"langonly":null,"name":"build","tag_id":1,"uservisible":true,"packagelist":[],"grouplist":[]}"#,
            "[{l}]"
        );
        let before_pkgs = th.call(&admin, "getLastEvent", json!([])).await?["id"].clone();

        th.call(
            &admin,
            "groupPackageListAdd",
            json!(["base", "build", "bash"]),
        )
        .await?;
        th.call(
            &admin,
            "groupPackageListAdd",
            json!(["base", "build", "rpm-build"]),
        )
        .await?;
        // a package added to the inherited group in the child
        th.call(
            &admin,
            "groupPackageListAdd",
            json!(["child", "build", "make", kw(json!({"type": "default"}))]),
        )
        .await?;
        th.call(&admin, "groupListAdd", json!(["base", "srpm-build"]))
            .await?;
        th.call(
            &admin,
            "groupReqListAdd",
            json!(["base", "build", "srpm-build"]),
        )
        .await?;
        let want = vec![
            (
                "build".to_string(),
                "base".to_string(),
                s(&["bash@base", "make@child", "rpm-build@base"]),
                s(&["srpm-build"]),
            ),
            ("srpm-build".to_string(), "base".to_string(), vec![], vec![]),
        ];
        assert_eq!(summary(&th, json!(["child"])).await, want, "[{l}]");
        let pkg = |g: &Json, name: &str| -> Json {
            g["packagelist"]
                .as_array()
                .and_then(|a| a.iter().find(|p| p["package"] == json!(name)).cloned())
                .unwrap_or(Json::Null)
        };
        let groups = th.call(&admin, "getTagGroups", json!(["child"])).await?;
        let build = groups
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == json!("build"))
            .cloned()
            .unwrap();
        assert_eq!(
            serde_json::to_string(&pkg(&build, "make")).unwrap(),
            r#"{"basearchonly":null,"blocked":false,"group_id":1,"package":"make","requires":null,"tag_id":2,"type":"default"}"#
        );
        assert_eq!(pkg(&build, "bash")["type"], json!("mandatory"));
        assert_eq!(
            serde_json::to_string(&build["grouplist"][0]).unwrap(),
            r#"{"blocked":false,"group_id":1,"is_metapkg":false,"name":"srpm-build","req_id":2,"tag_id":1,"type":"mandatory"}"#
        );
        // without inheritance the child has only its own package entry,
        // and no group (so the entry does not show)
        assert_eq!(
            summary(&th, json!(["child", kw(json!({"inherit": false}))])).await,
            vec![],
            "[{l}]"
        );
        // incl_pkgs / incl_reqs off: no such keys
        let bare = th
            .call(
                &admin,
                "getTagGroups",
                json!(["base", kw(json!({"incl_pkgs": false, "incl_reqs": false}))]),
            )
            .await?;
        assert!(bare[0].get("packagelist").is_none() && bare[0].get("grouplist").is_none());

        // block a package in the child only
        th.call(
            &admin,
            "groupPackageListBlock",
            json!(["child", "build", "bash"]),
        )
        .await?;
        assert_eq!(
            summary(&th, json!(["child"])).await[0].2,
            s(&["make@child", "rpm-build@base"])
        );
        assert_eq!(
            summary(&th, json!(["child", kw(json!({"incl_blocked": true}))])).await[0].2,
            s(&["!bash@child", "make@child", "rpm-build@base"])
        );
        assert_eq!(
            summary(&th, json!(["base"])).await[0].2,
            s(&["bash@base", "rpm-build@base"])
        );
        // adding a blocked package back needs force
        assert_eq!(
            fault(
                th.call(
                    &admin,
                    "groupPackageListAdd",
                    json!(["child", "build", "bash"])
                )
                .await
            ),
            (
                1000,
                "package bash blocked in group build, tag child".into()
            )
        );
        th.call(
            &admin,
            "groupPackageListUnblock",
            json!(["child", "build", "bash"]),
        )
        .await?;
        assert_eq!(
            fault(
                th.call(
                    &admin,
                    "groupPackageListUnblock",
                    json!(["child", "build", "bash"])
                )
                .await
            ),
            (1000, "package bash is NOT blocked in group 1, tag 2".into())
        );

        // block a whole group in the child: gone there, and as a requirement
        th.call(&admin, "groupListBlock", json!(["child", "srpm-build"]))
            .await?;
        assert_eq!(
            summary(&th, json!(["child"])).await,
            vec![(
                "build".to_string(),
                "base".to_string(),
                s(&["bash@base", "make@child", "rpm-build@base"]),
                vec![],
            )],
            "[{l}]"
        );
        assert_eq!(
            fault(
                th.call(&admin, "groupListAdd", json!(["child", "srpm-build"]))
                    .await
            ),
            (1000, "group srpm-build is blocked in tag child".into())
        );
        assert_eq!(
            fault(
                th.call(
                    &admin,
                    "groupPackageListAdd",
                    json!(["child", "srpm-build", "gcc"])
                )
                .await
            ),
            (1000, "group srpm-build is blocked in tag child".into())
        );
        th.call(&admin, "groupListUnblock", json!(["child", "srpm-build"]))
            .await?;
        assert_eq!(
            fault(
                th.call(&admin, "groupListUnblock", json!(["child", "srpm-build"]))
                    .await
            ),
            (1000, "group srpm-build is NOT blocked in tag child".into())
        );
        assert_eq!(summary(&th, json!(["child"])).await, want, "[{l}]");

        // as of an event before the packages
        assert_eq!(
            summary(&th, json!(["child", kw(json!({"event": before_pkgs}))])).await,
            vec![("build".to_string(), "base".to_string(), vec![], vec![])],
            "[{l}]"
        );

        // the same settings again change nothing (no new event)
        let last = th.call(&admin, "getLastEvent", json!([])).await?;
        th.call(&admin, "groupListAdd", json!(["base", "build"]))
            .await?;
        assert_eq!(th.call(&admin, "getLastEvent", json!([])).await?, last);
        // new settings replace the entry
        th.call(
            &admin,
            "groupListAdd",
            json!([
                "base",
                "build",
                kw(json!({"description": "Buildroot", "is_default": true, "color": "red"}))
            ]),
        )
        .await?;
        let g = th.call(&admin, "getTagGroups", json!(["base"])).await?;
        let g = g
            .as_array()
            .unwrap()
            .iter()
            .find(|g| g["name"] == json!("build"))
            .cloned()
            .unwrap();
        assert_eq!(g["description"], json!("Buildroot"), "[{l}]");
        assert_eq!(g["is_default"], json!(true));
        assert_eq!(g["display_name"], json!("build"), "kept");
        assert!(g.get("color").is_none());

        // removals
        th.call(
            &admin,
            "groupPackageListRemove",
            json!(["child", "build", "make"]),
        )
        .await?;
        th.call(
            &admin,
            "groupReqListRemove",
            json!(["base", "build", "srpm-build"]),
        )
        .await?;
        assert_eq!(
            summary(&th, json!(["child"])).await[0],
            (
                "build".to_string(),
                "base".to_string(),
                s(&["bash@base", "rpm-build@base"]),
                vec![]
            )
        );
        assert_eq!(
            fault(
                th.call(&admin, "groupListRemove", json!(["child", "build"]))
                    .await
            ),
            (1000, "No group: build found for tag: child".into())
        );
        th.call(
            &admin,
            "groupListRemove",
            json!(["child", "build", kw(json!({"force": true}))]),
        )
        .await?;
        assert_eq!(
            fault(
                th.call(&admin, "groupListRemove", json!(["base", "nosuch"]))
                    .await
            ),
            (1000, "No such entry in table groups: nosuch".into())
        );
        assert_eq!(
            fault(
                th.call(
                    &admin,
                    "groupPackageListAdd",
                    json!(["base", "nosuch", "x"])
                )
                .await
            ),
            (1000, "No such entry in table groups: nosuch".into())
        );
        assert_eq!(
            fault(th.call(&admin, "getTagGroups", json!(["nosuch"])).await),
            (1000, "No such entry in table tag: nosuch".into())
        );
        assert_eq!(
            fault(
                th.call(&admin, "groupListAdd", json!(["nosuch", "build"]))
                    .await
            ),
            (1000, "No such tagInfo: 'nosuch'".into())
        );
        // only the tag permission (or admin) may change groups
        let bob = th.user("bob", "pw", &[]).await?;
        assert_eq!(
            fault(th.call(&bob, "groupListAdd", json!(["base", "x"])).await),
            (1004, "tag permission required (logged in as bob)".into())
        );
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        th.call(&tagger, "groupListAdd", json!(["base", "x"]))
            .await?;
        // reading needs no login
        let anon = koji_core::Caller::anonymous("127.0.0.1");
        assert_eq!(
            th.call(&anon, "getTagGroups", json!(["base"]))
                .await?
                .as_array()
                .map(Vec::len),
            Some(3)
        );
    }
    Ok(())
}

/// snapshotTag copies the source's groups (inherited ones included),
/// their packages and requirements, not blocked entries, into the new tag.
#[tokio::test]
async fn snapshot_tag_copies_groups() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let l = th.label();
        th.call(&admin, "createTag", json!(["base"])).await?;
        th.call(
            &admin,
            "createTag",
            json!(["child", kw(json!({"parent": "base"}))]),
        )
        .await?;
        th.call(
            &admin,
            "groupListAdd",
            json!(["base", "build", kw(json!({"description": "d"}))]),
        )
        .await?;
        th.call(&admin, "groupListAdd", json!(["base", "srpm-build"]))
            .await?;
        th.call(&admin, "groupListAdd", json!(["base", "old"]))
            .await?;
        for p in ["bash", "make", "gcc"] {
            th.call(&admin, "groupPackageListAdd", json!(["base", "build", p]))
                .await?;
        }
        th.call(
            &admin,
            "groupReqListAdd",
            json!(["base", "build", "srpm-build"]),
        )
        .await?;
        th.call(
            &admin,
            "groupPackageListBlock",
            json!(["child", "build", "gcc"]),
        )
        .await?;
        th.call(&admin, "groupListBlock", json!(["child", "old"]))
            .await?;
        th.call(&admin, "snapshotTag", json!(["child", "snap"]))
            .await?;
        let snap = th.call(&admin, "getTagID", json!(["snap"])).await?;
        let got = summary(&th, json!(["snap", kw(json!({"incl_blocked": true}))])).await;
        let snap_name = snap.to_string();
        assert_eq!(
            got,
            vec![
                (
                    "build".to_string(),
                    snap_name.clone(),
                    vec![format!("bash@{snap_name}"), format!("make@{snap_name}")],
                    s(&["srpm-build"]),
                ),
                ("srpm-build".to_string(), snap_name.clone(), vec![], vec![]),
            ],
            "[{l}]"
        );
        // the settings are not copied (as upstream)
        let g = th.call(&admin, "getTagGroups", json!(["snap"])).await?;
        assert!(g
            .as_array()
            .unwrap()
            .iter()
            .all(|g| g["description"].is_null()));
        // without groups=False nothing
        th.call(
            &admin,
            "snapshotTag",
            json!(["child", "snap2", kw(json!({"groups": false}))]),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "getTagGroups", json!(["snap2"])).await?,
            json!([])
        );
    }
    Ok(())
}
