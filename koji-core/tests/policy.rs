//! The policy engine through `evalPolicy` and the package_list checks, on
//! SQLite and PostgreSQL, with facts read from the hub's database.

use koji_core::api::{Ctx, Registry};
use koji_core::db::{exec, fetch_one, RowExt, Value};
use koji_core::policy::{CheckOpts, Policies};
use koji_core::testing::{kw, TestHub};
use koji_core::{params, Caller, Hub, HubConfig, Result};
use serde_json::{json, Value as Json};
use std::sync::Arc;

/// A hub on `th`'s database with `policies` configured.
fn hub_with(th: &TestHub, policies: Policies) -> Hub {
    let config = HubConfig {
        policies: Arc::new(policies),
        ..th.hub.config().clone()
    };
    Hub::new(th.hub.db().clone(), config)
}

async fn call(hub: &Hub, who: &Caller, method: &str, params: Json) -> Result<Json> {
    let params = match params {
        Json::Array(a) => a,
        other => vec![other],
    };
    let ctx = Ctx {
        hub: hub.clone(),
        caller: Arc::new(who.clone()),
    };
    Registry::standard().dispatch(ctx, method, params).await
}

async fn fault(hub: &Hub, who: &Caller, method: &str, params: Json) -> (i32, String) {
    match call(hub, who, method, params).await {
        Ok(v) => panic!("{method} succeeded: {v}"),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

/// Whether `test` passes for `data` (as `who`), through `evalPolicy`.
async fn passes(th: &TestHub, who: &Caller, test: &str, data: Json) -> Result<bool> {
    let mut p = Policies::default();
    p.set("t", &format!("{test} :: yes\nall :: no")).unwrap();
    let hub = hub_with(th, p);
    let out = call(&hub, who, "evalPolicy", json!(["t", data])).await?;
    Ok(out == json!("yes"))
}

/// Runs `sql` in a transaction of its own; returns the event.
async fn sql(th: &TestHub, stmts: &[(&str, Vec<Value>)]) -> Result<i64> {
    let mut tx = th.hub.db().begin().await?;
    let ev = tx.event().await?;
    for (s, p) in stmts {
        let p = p
            .iter()
            .map(|v| match v {
                Value::String(Some(s)) if s.as_str() == "$EVENT" => Value::from(ev),
                other => other.clone(),
            })
            .collect();
        exec(&*tx, s, p).await?;
    }
    tx.commit().await?;
    Ok(ev)
}

async fn id_of(th: &TestHub, table: &str, name: &str) -> Result<i64> {
    let r = fetch_one(
        th.hub.db().conn(),
        &format!("SELECT id FROM {table} WHERE name = ?"),
        params![name],
    )
    .await?;
    r.int("id")
}

#[tokio::test]
async fn eval_policy_defaults_and_errors() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let anon = Caller::anonymous("127.0.0.1");
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        let hub = th.hub.clone();
        let ev = |who: &Caller, name: &str, data: Json| {
            let (hub, who, name) = (hub.clone(), who.clone(), name.to_string());
            async move { call(&hub, &who, "evalPolicy", json!([name, data])).await }
        };
        assert_eq!(
            ev(&anon, "channel", json!({})).await?,
            json!("use default"),
            "{l}"
        );
        assert_eq!(
            ev(&anon, "channel", json!({"req_channel": "x"})).await?,
            json!("req")
        );
        assert_eq!(
            ev(&anon, "channel", json!({"parent": 4})).await?,
            json!("parent")
        );
        assert_eq!(ev(&anon, "volume", json!({})).await?, json!("DEFAULT"));
        assert_eq!(ev(&anon, "priority", json!({})).await?, json!("stay"));
        assert_eq!(ev(&anon, "build_rpm", json!({})).await?, json!("allow"));
        assert_eq!(ev(&anon, "cg_import", json!({})).await?, json!("allow"));
        // the caller is the user unless the data names one
        assert_eq!(
            ev(&admin, "build_from_srpm", json!({})).await?,
            json!("allow")
        );
        assert_eq!(
            ev(&anon, "build_from_srpm", json!({})).await?,
            json!("deny Only admin can do this via default policy")
        );
        assert_eq!(
            ev(&anon, "build_from_scm", json!({"user_id": "admin"})).await?,
            json!("allow")
        );
        assert_eq!(
            ev(&admin, "build_from_repo_id", json!({"user_id": "tagger"})).await?,
            json!("deny Only admin can do this via default policy")
        );
        assert_eq!(
            ev(&tagger, "package_list", json!({})).await?,
            json!("allow")
        );
        assert_eq!(
            ev(&tagger, "vm", json!({})).await?,
            json!("deny Only admin/win-admin can do this via default policy")
        );
        // keyword arguments
        assert_eq!(
            call(
                &hub,
                &anon,
                "evalPolicy",
                json!([kw(json!({"name": "volume", "data": {}}))])
            )
            .await?,
            json!("DEFAULT")
        );
        assert_eq!(
            fault(&hub, &anon, "evalPolicy", json!(["nosuch", {}])).await,
            (1000, "no such policy: nosuch".to_string()),
            "{l}"
        );
        // a test failing at run time is a fault
        let mut p = Policies::default();
        p.set("strict", "package foo :: allow").unwrap();
        p.set("empty", "has x :: allow").unwrap();
        let hub2 = hub_with(&th, p);
        assert_eq!(
            fault(&hub2, &anon, "evalPolicy", json!(["strict", {}])).await,
            (1000, "policy requires package data".to_string())
        );
        // no rule matched: None
        assert_eq!(
            call(&hub2, &anon, "evalPolicy", json!(["empty", {}])).await?,
            Json::Null
        );
    }
    Ok(())
}

#[tokio::test]
async fn user_facts_from_the_database() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &["tag"]).await?;
        let anon = Caller::anonymous("127.0.0.1");
        th.call(&admin, "newGroup", json!(["packagers"])).await?;
        th.call(&admin, "addGroupMember", json!(["packagers", "bob"]))
            .await?;
        th.call(&admin, "grantPermission", json!(["packagers", "repo"]))
            .await?;
        let check = |who: &Caller, test: &str, data: Json, want: bool| {
            let (who, test) = (who.clone(), test.to_string());
            let th = &th;
            async move {
                let got = passes(th, &who, &test, data.clone()).await.unwrap();
                assert_eq!(got, want, "{l}: {test} on {data}");
            }
        };
        check(&bob, "user bob", json!({}), true).await;
        check(&bob, "user adm*", json!({"user_id": 1}), true).await;
        check(&anon, "user *", json!({}), false).await;
        check(&anon, "user *", json!({"user_id": "nosuch"}), false).await;
        check(&bob, "has_perm tag", json!({}), true).await;
        // permissions through groups count
        check(&bob, "has_perm repo", json!({}), true).await;
        check(&bob, "has_perm admin", json!({}), false).await;
        check(&anon, "has_perm admin", json!({"user_id": "admin"}), true).await;
        check(&bob, "user_in_group pack*", json!({}), true).await;
        check(&admin, "user_in_group pack*", json!({}), false).await;
        check(&anon, "user_in_group *", json!({}), false).await;
    }
    Ok(())
}

/// Tags f40 <- f40-build, target f40-candidate, a CG, a volume, a host, a
/// repo and buildroots, builds foo-1.0-1 (admin's, tagged in f40, built in
/// a f40-build buildroot, one imported rpm) and bar-2-1,draft_1002 (the
/// packagers
/// group's, a draft from a CG, with a build task).
async fn build_fixture(th: &TestHub, admin: &Caller) -> Result<()> {
    th.call(admin, "createTag", json!(["f40"])).await?;
    th.call(
        admin,
        "createTag",
        json!(["f40-build", kw(json!({"parent": "f40"}))]),
    )
    .await?;
    th.call(
        admin,
        "createBuildTarget",
        json!(["f40-candidate", "f40-build", "f40"]),
    )
    .await?;
    th.call(admin, "newGroup", json!(["packagers"])).await?;
    th.call(admin, "addHost", json!(["builder1", ["x86_64"]]))
        .await?;
    let host = id_of(th, "host", "builder1").await?;
    let group = id_of(th, "users", "packagers").await?;
    let build_tag = id_of(th, "tag", "f40-build").await?;
    let f40 = id_of(th, "tag", "f40").await?;
    let request =
        "<params><param><value><string>git+https://src.example/bar#abc</string></value></param>\
                   <param><value><string>f40-candidate</string></value></param>\
                   <param><value><nil/></value></param></params>";
    sql(
        th,
        &[
            ("INSERT INTO package (id, name) VALUES (501, 'foo')", params![]),
            ("INSERT INTO package (id, name) VALUES (502, 'bar')", params![]),
            ("INSERT INTO content_generator (id, name) VALUES (601, 'osbs')", params![]),
            ("INSERT INTO volume (id, name) VALUES (7, 'archive')", params![]),
            (
                "INSERT INTO task (id, state, channel_id, owner, method, request, arch) \
                 VALUES (901, 2, 1, 1, 'build', ?, 'noarch')",
                params![request],
            ),
            (
                "INSERT INTO repo (id, create_event, tag_id, state) VALUES (801, ?, ?, 1)",
                params!["$EVENT", build_tag],
            ),
            ("INSERT INTO buildroot (id, br_type) VALUES (701, 0)", params![]),
            (
                "INSERT INTO standard_buildroot (buildroot_id, host_id, repo_id, task_id, create_event) \
                 VALUES (701, ?, 801, 901, ?)",
                params![host, "$EVENT"],
            ),
            (
                "INSERT INTO buildroot (id, br_type, cg_id, cg_version) VALUES (702, 1, 601, '1')",
                params![],
            ),
            (
                "INSERT INTO build (id, volume_id, pkg_id, version, release, draft, source, \
                 create_event, state, owner) VALUES (1001, 0, 501, '1.0', '1', FALSE, \
                 'git+https://src.example/foo#1', ?, 0, 1)",
                params!["$EVENT"],
            ),
            (
                "INSERT INTO build (id, volume_id, pkg_id, version, release, draft, create_event, \
                 state, task_id, owner, cg_id, extra) VALUES (1002, 7, 502, '2', '1,draft_1002', TRUE, ?, 0, \
                 901, ?, 601, '{\"typeinfo\": {}}')",
                params!["$EVENT", group],
            ),
            (
                "INSERT INTO build_types (build_id, btype_id) \
                 SELECT 1001, id FROM btype WHERE name = 'rpm'",
                params![],
            ),
            (
                "INSERT INTO maven_builds (build_id, group_id, artifact_id, version) \
                 VALUES (1002, 'g', 'a', '2')",
                params![],
            ),
            (
                "INSERT INTO rpminfo (build_id, buildroot_id, name, version, release, arch, draft, \
                 external_repo_id, payloadhash, size, buildtime) \
                 VALUES (1001, 701, 'foo', '1.0', '1', 'x86_64', FALSE, 0, 'x', 1, 1)",
                params![],
            ),
            (
                "INSERT INTO rpminfo (build_id, buildroot_id, name, version, release, arch, draft, \
                 external_repo_id, payloadhash, size, buildtime) \
                 VALUES (1001, NULL, 'foo-extra', '1.0', '1', 'noarch', FALSE, 0, 'y', 1, 1)",
                params![],
            ),
            (
                "INSERT INTO archiveinfo (type_id, btype_id, build_id, buildroot_id, filename, \
                 size, checksum, checksum_type) VALUES (1, 2, 1002, 702, 'bar.jar', 1, 'x', 0)",
                params![],
            ),
            (
                "INSERT INTO tag_listing (build_id, tag_id, create_event, creator_id) \
                 VALUES (1001, ?, ?, 1)",
                params![f40, "$EVENT"],
            ),
        ],
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn build_and_tag_facts_from_the_database() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        build_fixture(&th, &admin).await?;
        th.call(&admin, "addGroupMember", json!(["packagers", "bob"]))
            .await?;
        let cases: Vec<(&Caller, &str, Json, bool)> = vec![
            // package, version, release
            (&admin, "package foo", json!({"package": "foo"}), true),
            (&admin, "package foo", json!({"package": 501}), true),
            (
                &admin,
                "package ba?",
                json!({"build": "bar-2-1,draft_1002"}),
                true,
            ),
            (&admin, "package foo", json!({"build": 1002}), false),
            (&admin, "is_new_package", json!({"package": "newpkg"}), true),
            (&admin, "is_new_package", json!({"package": "foo"}), false),
            (&admin, "version 1.*", json!({"build": "foo-1.0-1"}), true),
            (
                &admin,
                "release 1,draft_*",
                json!({"build": {"name": "bar", "version": "2", "release": "1,draft_1002"}}),
                true,
            ),
            // tags
            (&admin, "tag f40", json!({"tag": "f40"}), true),
            (&admin, "tag f40*", json!({"tag": 999}), false),
            (
                &admin,
                "fromtag f40-b*",
                json!({"fromtag": "f40-build"}),
                true,
            ),
            (&admin, "hastag f40", json!({"build": 1001}), true),
            (&admin, "hastag f40", json!({"build": 1002}), false),
            (
                &admin,
                "buildtag f40-build",
                json!({"build_tag": "f40-build"}),
                true,
            ),
            (
                &admin,
                "buildtag f40-build",
                json!({"target": "f40-candidate"}),
                true,
            ),
            (&admin, "buildtag f40-build", json!({"build": 1001}), true),
            (&admin, "buildtag *", json!({"build": 1002}), false),
            (
                &admin,
                "buildtag_inherits_from f40",
                json!({"build_tag": "f40-build"}),
                true,
            ),
            (
                &admin,
                "buildtag_inherits_from f40",
                json!({"build": "foo-1.0-1"}),
                true,
            ),
            (
                &admin,
                "buildtag_inherits_from f40-build",
                json!({"build_tag": "f40-build"}),
                false,
            ),
            // build types, imports, content generators, volumes, drafts
            (&admin, "buildtype rpm", json!({"build": 1001}), true),
            (&admin, "buildtype maven", json!({"build": 1002}), true),
            (&admin, "buildtype maven", json!({"build": 1001}), false),
            (&admin, "imported", json!({"build": 1001}), true),
            (&admin, "imported", json!({"build": 1002}), false),
            (&admin, "cg_match_any osbs", json!({"build": 1002}), true),
            (&admin, "cg_match_all osbs", json!({"build": 1002}), true),
            (&admin, "cg_match_any osbs", json!({"build": 1001}), false),
            (
                &admin,
                "cg_match_all osbs",
                json!({"cg_list": ["osbs"]}),
                true,
            ),
            (&admin, "volume DEFAULT", json!({"build": 1001}), true),
            (&admin, "volume archive", json!({"build": 1002}), true),
            (&admin, "volume arch*", json!({"volume": "archive"}), true),
            (&admin, "volume *", json!({"volume": "nosuch"}), false),
            (&admin, "is_draft", json!({"build": 1002}), true),
            (&admin, "is_draft", json!({"build": 1001}), false),
            // source: the build's own, else its task's request
            (
                &admin,
                "source *src.example/foo*",
                json!({"build": 1001}),
                true,
            ),
            (
                &admin,
                "source *src.example/bar*",
                json!({"build": 1002}),
                true,
            ),
            // owners: a user, or a member of the owning group
            (&admin, "is_build_owner", json!({"build": 1001}), true),
            (&bob, "is_build_owner", json!({"build": 1001}), false),
            (&bob, "is_build_owner", json!({"build": 1002}), true),
            (&admin, "is_build_owner", json!({"build": 1002}), false),
        ];
        for (who, test, data, want) in cases {
            let got = passes(&th, who, test, data.clone()).await;
            assert_eq!(
                got.as_ref().ok(),
                Some(&want),
                "{l}: {test} on {data}: {got:?}"
            );
        }
        // errors carry upstream's messages
        let errs: Vec<(&str, Json, &str)> = vec![
            ("version 1", json!({"build": 4242}), "No such build: 4242"),
            (
                "package x",
                json!({"build": "nosuch-1-1"}),
                "No such build: 'nosuch-1-1'",
            ),
            ("package x", json!({"build": "bad"}), "invalid format: bad"),
            (
                "package x",
                json!({"package": 4242}),
                "No such package: 4242",
            ),
            ("imported", json!({}), "policy data must contain a build"),
            (
                "cg_match_any x",
                json!({"cg_list": ["nosuch"]}),
                "No such entry in table content_generator: nosuch",
            ),
            (
                "buildtag x",
                json!({"build_tag": "nosuch"}),
                "No such tagInfo: 'nosuch'",
            ),
            (
                "cg_match_any x",
                json!({"buildroots": [4242]}),
                "No such buildroot: 4242",
            ),
        ];
        for (test, data, msg) in errs {
            let e = passes(&th, &admin, test, data.clone()).await.unwrap_err();
            assert_eq!(
                (e.fault_code(), e.to_string().as_str()),
                (1000, msg),
                "{l}: {test} on {data}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn package_list_changes_follow_the_configured_policy() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        th.call(&admin, "createTag", json!(["f40"])).await?;
        let mut p = Policies::default();
        p.set(
            "package_list",
            "match action block :: deny no blocking here\n\
             user bob && is_new_package :: allow\n\
             has_perm admin :: allow\n\
             all :: deny ask an admin",
        )
        .unwrap();
        let hub = hub_with(&th, p);
        // bob may add new packages, not existing ones
        call(
            &hub,
            &bob,
            "packageListAdd",
            json!(["f40", "newpkg", "bob"]),
        )
        .await?;
        assert_eq!(
            fault(
                &hub,
                &bob,
                "packageListAdd",
                json!(["f40", "newpkg", "bob", kw(json!({"update": true}))])
            )
            .await,
            (
                1004,
                "policy violation (package_list): ask an admin".to_string()
            ),
            "{l}"
        );
        assert_eq!(
            fault(&hub, &admin, "packageListBlock", json!(["f40", "newpkg"])).await,
            (
                1004,
                "policy violation (package_list): no blocking here".to_string()
            ),
            "{l}"
        );
        // an admin may force it
        call(
            &hub,
            &admin,
            "packageListBlock",
            json!(["f40", "newpkg", kw(json!({"force": true}))]),
        )
        .await?;
        assert_eq!(
            fault(&hub, &bob, "packageListUnblock", json!(["f40", "newpkg"])).await,
            (
                1004,
                "policy violation (package_list): ask an admin".to_string()
            )
        );
        assert_eq!(
            fault(&hub, &bob, "packageListRemove", json!(["f40", "newpkg"])).await,
            (
                1004,
                "policy violation (package_list): ask an admin".to_string()
            )
        );
        call(&hub, &admin, "packageListRemove", json!(["f40", "newpkg"])).await?;
        // verbose policy shows the deciding rule
        let mut p = Policies::default();
        p.set("package_list", "all :: deny nope").unwrap();
        p.verbose = true;
        let hub = hub_with(&th, p);
        assert_eq!(
            fault(&hub, &bob, "packageListAdd", json!(["f40", "other", "bob"])).await,
            (
                1004,
                "policy violation (package_list): nope [rule: all :: deny nope]".to_string()
            )
        );
        // a missing policy allows (MissingPolicyOk), unless switched off
        let strict = CheckOpts {
            strict: true,
            ..CheckOpts::default()
        };
        assert_eq!(
            th.hub
                .policy()
                .check(&bob, "tag", &json!({}), strict)
                .await?,
            (true, "missing policy".to_string()),
            "{l}"
        );
        let mut p = Policies::default();
        p.missing_policy_ok = false;
        let hub = hub_with(&th, p);
        let e = hub
            .policy()
            .check(&bob, "tag", &json!({}), strict)
            .await
            .unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string()),
            (1004, "policy violation (tag): missing policy".to_string())
        );
        // in a transaction, facts come through it
        let tx = th.hub.db().begin().await?;
        assert_eq!(
            th.hub
                .policy()
                .check_in(&*tx, &bob, "package_list", &json!({}), CheckOpts::default())
                .await?,
            (
                false,
                "Only admin/tag can do this via default policy".to_string()
            )
        );
        th.hub
            .policy()
            .assert_in(&*tx, &admin, "package_list", &json!({}), false)
            .await?;
        drop(tx);
    }
    Ok(())
}
