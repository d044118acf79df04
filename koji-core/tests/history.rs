//! History of the versioned tables through upstream's `queryHistory`:
//! rows and keys per table, every filter, `queryOpts`, and the faults.
//! Changes are made through the API calls that write each table.

use koji_core::testing::{kw, TestHub};
use koji_core::{Caller, Error, Result};
use serde_json::{json, Map, Value as Json};

/// The fault of a call that must fail: (code, message).
async fn fault(th: &TestHub, who: &Caller, method: &str, params: Json) -> (i32, String) {
    match th.call(who, method, params).await {
        Ok(v) => panic!("{}: {method} should fail, answered {v}", th.label()),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

fn int(v: &Json) -> Result<i64> {
    v.as_i64()
        .ok_or_else(|| Error::Generic(format!("not an int: {v}")))
}

async fn last_event(th: &TestHub, who: &Caller) -> Result<i64> {
    int(&th.call(who, "getLastEvent", json!([])).await?["id"])
}

async fn event_ts(th: &TestHub, id: i64) -> Result<f64> {
    let ev = th
        .call(&Caller::anonymous("127.0.0.1"), "getEvent", json!([id]))
        .await?;
    ev["ts"]
        .as_f64()
        .ok_or_else(|| Error::Generic(format!("no ts in {ev}")))
}

/// `queryHistory(**filters)`, optionally limited to `tables`.
async fn history(th: &TestHub, tables: Option<&[&str]>, filters: Json) -> Result<Json> {
    let anon = Caller::anonymous("127.0.0.1");
    th.call(&anon, "queryHistory", json!([tables, kw(filters)]))
        .await
}

/// The rows of `table` in `answer`, after checking that each row's keys
/// come sorted and that `create_ts`/`revoke_ts` are the times of its
/// events; those two keys are removed so rows can be compared exactly.
async fn rows(th: &TestHub, answer: &Json, table: &str) -> Result<Vec<Json>> {
    let list = answer[table]
        .as_array()
        .ok_or_else(|| Error::Generic(format!("{}: no {table} in {answer}", th.label())))?;
    let mut out = vec![];
    for row in list {
        let mut m: Map<String, Json> = row
            .as_object()
            .cloned()
            .ok_or_else(|| Error::Generic(format!("row is not a map: {row}")))?;
        let keys: Vec<&String> = m.keys().collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted, "{}: keys of {table} come sorted", th.label());
        let create_ts = m.shift_remove("create_ts").unwrap_or(Json::Null);
        let revoke_ts = m.shift_remove("revoke_ts").unwrap_or(Json::Null);
        assert_eq!(
            create_ts.as_f64(),
            Some(event_ts(th, int(&m["create_event"])?).await?),
            "{}: create_ts of {row}",
            th.label()
        );
        match m["revoke_event"].as_i64() {
            Some(ev) => assert_eq!(
                revoke_ts.as_f64(),
                Some(event_ts(th, ev).await?),
                "{}: revoke_ts of {row}",
                th.label()
            ),
            None => assert_eq!(revoke_ts, Json::Null, "{}", th.label()),
        }
        out.push(Json::Object(m));
    }
    Ok(out)
}

/// The tables an answer has, in its order.
fn tables(answer: &Json) -> Vec<String> {
    answer
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

/// The versioning keys of a row created by `creator` at `create` and
/// revoked by `revoker` at `revoke` (ids and names), merged with `rest`.
fn row(create: (i64, i64, &str), revoke: Option<(i64, i64, &str)>, rest: Json) -> Json {
    let mut m = json!({
        "active": if revoke.is_some() { Json::Null } else { json!(true) },
        "create_event": create.0, "creator_id": create.1, "creator_name": create.2,
        "revoke_event": revoke.map(|r| r.0), "revoker_id": revoke.map(|r| r.1),
        "revoker_name": revoke.map(|r| r.2),
    });
    if let (Some(m), Json::Object(rest)) = (m.as_object_mut(), rest) {
        m.extend(rest);
    }
    m
}

async fn perm_id(th: &TestHub, name: &str) -> Result<i64> {
    th.hub
        .users()
        .lookup_perm(&json!(name))
        .await?
        .map(|p| p.id)
        .ok_or_else(|| Error::Generic(format!("no permission {name}")))
}

const ALL_TABLES: [&str; 18] = [
    "build_target_config",
    "cg_users",
    "external_repo_config",
    "external_repo_data",
    "group_config",
    "group_package_listing",
    "group_req_listing",
    "host_channels",
    "host_config",
    "tag_config",
    "tag_external_repos",
    "tag_extra",
    "tag_inheritance",
    "tag_listing",
    "tag_package_owners",
    "tag_packages",
    "user_groups",
    "user_perms",
];

#[tokio::test]
async fn permission_grants_and_revokes() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let admin_id = admin.user_id()?;
        let bob = int(&th.call(&admin, "createUser", json!(["bob"])).await?)?;
        let tag_perm = perm_id(&th, "tag").await?;
        th.call(&admin, "grantPermission", json!(["bob", "tag"]))
            .await?;
        let e1 = last_event(&th, &admin).await?;
        th.call(&admin, "revokePermission", json!(["bob", "tag"]))
            .await?;
        let e2 = last_event(&th, &admin).await?;
        th.call(&admin, "grantPermission", json!(["bob", "tag"]))
            .await?;
        let e3 = last_event(&th, &admin).await?;
        assert!(e1 < e2 && e2 < e3, "{l}");

        let names = json!({"perm_id": tag_perm, "permission.name": "tag",
                           "user_id": bob, "user.name": "bob"});
        let by_admin = (admin_id, "admin");
        let old = row(
            (e1, by_admin.0, by_admin.1),
            Some((e2, by_admin.0, by_admin.1)),
            names.clone(),
        );
        let new = row((e3, by_admin.0, by_admin.1), None, names.clone());

        // `user` limits the answer to the tables joining users
        let h = history(&th, None, json!({"user": "bob"})).await?;
        assert_eq!(
            tables(&h),
            [
                "cg_users",
                "tag_package_owners",
                "user_groups",
                "user_perms"
            ],
            "{l}"
        );
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![old.clone(), new.clone()],
            "{l}"
        );
        assert_eq!(h["cg_users"], json!([]), "{l}");
        // the user may be named by id or dict too
        let h2 = history(&th, Some(&["user_perms"]), json!({"user": {"id": bob}})).await?;
        assert_eq!(
            rows(&th, &h2, "user_perms").await?,
            vec![old.clone(), new.clone()],
            "{l}"
        );

        // active / revoked
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"user": "bob", "active": true}),
        )
        .await?;
        assert_eq!(rows(&th, &h, "user_perms").await?, vec![new.clone()], "{l}");
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"user": "bob", "active": false}),
        )
        .await?;
        assert_eq!(rows(&th, &h, "user_perms").await?, vec![old.clone()], "{l}");
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"user": "bob", "active": null}),
        )
        .await?;
        assert_eq!(rows(&th, &h, "user_perms").await?.len(), 2, "{l}");

        // `permission` applies to user_perms and tag_config
        let h = history(&th, None, json!({"permission": "tag"})).await?;
        assert_eq!(tables(&h), ["tag_config", "user_perms"], "{l}");
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![old.clone(), new.clone()],
            "{l}"
        );

        // the bootstrap grant of admin to itself is in the unfiltered history
        let h = history(&th, Some(&["user_perms"]), json!({})).await?;
        let all = rows(&th, &h, "user_perms").await?;
        assert_eq!(all.len(), 3, "{l}");
        assert_eq!(all[0]["user.name"], "admin", "{l}");
        assert_eq!(all[0]["permission.name"], "admin", "{l}");
        assert_eq!(&all[1..], &[old.clone(), new.clone()], "{l}");

        // afterEvent / beforeEvent select rows created or revoked on that side
        let h = history(&th, Some(&["user_perms"]), json!({"afterEvent": e1})).await?;
        let with = |r: &Json, extra: Json| {
            let mut r = r.clone();
            if let (Some(m), Json::Object(x)) = (r.as_object_mut(), extra) {
                m.extend(x);
            }
            r
        };
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![
                with(
                    &old,
                    json!({"_created_after_event": false, "_revoked_after_event": true})
                ),
                with(
                    &new,
                    json!({"_created_after_event": true, "_revoked_after_event": null})
                ),
            ],
            "{l}"
        );
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"user": "bob", "beforeEvent": e2}),
        )
        .await?;
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![with(
                &old,
                json!({"_created_before_event": true, "_revoked_before_event": false})
            )],
            "{l}"
        );

        // after / before: a time between the first grant and its revocation
        let mid = (event_ts(&th, e1).await? + event_ts(&th, e2).await?) / 2.0;
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"user": "bob", "after": mid}),
        )
        .await?;
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![
                with(
                    &old,
                    json!({"_created_after": false, "_revoked_after": true})
                ),
                with(
                    &new,
                    json!({"_created_after": true, "_revoked_after": null})
                ),
            ],
            "{l}"
        );
        let text = koji_core::util::format_time(mid);
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"user": "bob", "before": text}),
        )
        .await?;
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![with(
                &old,
                json!({"_created_before": true, "_revoked_before": false})
            )],
            "{l}"
        );

        // editor: rows created or revoked by that user
        let carol = th.user("carol", "pw", &["admin"]).await?;
        let carol_id = carol.user_id()?;
        let e_carol = last_event(&th, &carol).await?;
        th.call(&carol, "grantPermission", json!(["bob", "repo"]))
            .await?;
        let e4 = last_event(&th, &carol).await?;
        let h = history(&th, Some(&["user_perms"]), json!({"editor": "carol"})).await?;
        let repo_perm = perm_id(&th, "repo").await?;
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![
                // carol's own admin grant, made by herself
                row(
                    (e_carol, carol_id, "carol"),
                    None,
                    json!({"perm_id": perm_id(&th, "admin").await?, "permission.name": "admin",
                           "user_id": carol_id, "user.name": "carol",
                           "_created_by": true, "_revoked_by": null}),
                ),
                row(
                    (e4, carol_id, "carol"),
                    None,
                    json!({"perm_id": repo_perm, "permission.name": "repo",
                           "user_id": bob, "user.name": "bob",
                           "_created_by": true, "_revoked_by": null}),
                ),
            ],
            "{l}"
        );
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"editor": "admin", "user": "bob"}),
        )
        .await?;
        assert_eq!(
            rows(&th, &h, "user_perms").await?,
            vec![
                with(&old, json!({"_created_by": true, "_revoked_by": true})),
                with(&new, json!({"_created_by": true, "_revoked_by": null})),
            ],
            "{l}"
        );
        // unknown keywords are ignored (the CLI sends `utc`)
        let h = history(
            &th,
            Some(&["user_perms"]),
            json!({"user": "bob", "utc": true}),
        )
        .await?;
        assert_eq!(rows(&th, &h, "user_perms").await?.len(), 3, "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn query_opts_apply_to_each_table() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.call(&admin, "createUser", json!(["bob"])).await?;
        for p in ["tag", "repo", "host"] {
            th.call(&admin, "grantPermission", json!(["bob", p]))
                .await?;
        }
        let q = |opts: Json| json!({"user": "bob", "queryOpts": opts});
        let perms = |h: &Json| -> Vec<Json> {
            h["user_perms"]
                .as_array()
                .map(|a| a.iter().map(|r| r["permission.name"].clone()).collect())
                .unwrap_or_default()
        };
        let h = history(
            &th,
            Some(&["user_perms"]),
            q(json!({"order": "-create_event"})),
        )
        .await?;
        assert_eq!(
            perms(&h),
            [json!("host"), json!("repo"), json!("tag")],
            "{l}"
        );
        let h = history(
            &th,
            Some(&["user_perms"]),
            q(json!({"order": "permission.name"})),
        )
        .await?;
        assert_eq!(
            perms(&h),
            [json!("host"), json!("repo"), json!("tag")],
            "{l}"
        );
        // upstream's column expressions are order terms too
        let h = history(
            &th,
            Some(&["user_perms"]),
            q(json!({"order": "-user_perms.create_event", "limit": 1})),
        )
        .await?;
        assert_eq!(perms(&h), [json!("host")], "{l}");
        let h = history(
            &th,
            Some(&["user_perms", "user_groups"]),
            q(json!({"countOnly": true})),
        )
        .await?;
        assert_eq!(h, json!({"user_perms": 3, "user_groups": 0}), "{l}");
        let h = history(
            &th,
            Some(&["user_perms"]),
            q(json!({"asList": true, "order": "create_event", "offset": 2})),
        )
        .await?;
        let list = h["user_perms"].as_array().cloned().unwrap_or_default();
        assert_eq!(list.len(), 1, "{l}");
        // columns in sorted key order: active first, user_id last
        let r = list[0].as_array().cloned().unwrap_or_default();
        assert_eq!(r.len(), 13, "{l}");
        assert_eq!(r[0], json!(true), "{l}");
        assert_eq!(r[6], json!("host"), "{l}: permission.name");
        assert_eq!(r[11], json!("bob"), "{l}: user.name");
        assert_eq!(
            fault(
                &th,
                &admin,
                "queryHistory",
                json!([null, kw(q(json!({"order": "bogus"})))])
            )
            .await,
            (1, "<class 'Exception'>: Invalid order: bogus".to_string()),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn tables_and_lookup_faults() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let anon = Caller::anonymous("127.0.0.1");
        // no filter: every table, in upstream's order
        let h = history(&th, None, json!({})).await?;
        assert_eq!(tables(&h), ALL_TABLES, "{l}");
        // named tables come in the order given
        let h = history(&th, Some(&["user_perms", "tag_config"]), json!({})).await?;
        assert_eq!(tables(&h), ["user_perms", "tag_config"], "{l}");
        let h = history(&th, Some(&[]), json!({})).await?;
        assert_eq!(h, json!({}), "{l}");
        let cases = [
            (
                json!([["user_perms", "bogus"]]),
                (1000, "No such history table: bogus"),
            ),
            (
                json!([null, kw(json!({"tag": "nope"}))]),
                (1000, "No such entry in table tag: nope"),
            ),
            (
                json!([null, kw(json!({"user": "ghost"}))]),
                (1000, "No such user: 'ghost'"),
            ),
            (
                json!([null, kw(json!({"editor": "ghost"}))]),
                (1000, "No such user: 'ghost'"),
            ),
            (
                json!([null, kw(json!({"editor": null}))]),
                (1000, "No user provided"),
            ),
            (
                json!([null, kw(json!({"permission": "nope"}))]),
                (1000, "No such entry in table permissions: nope"),
            ),
            (
                json!([null, kw(json!({"package": "nope"}))]),
                (1000, "No such entry in table package: nope"),
            ),
            (
                json!([null, kw(json!({"build_target": "nope"}))]),
                (1000, "No such entry in table build_target: nope"),
            ),
            (
                json!([null, kw(json!({"external_repo": "nope"}))]),
                (1000, "No such entry in table external_repo: nope"),
            ),
            (
                json!([null, kw(json!({"cg": "nope"}))]),
                (1000, "No such entry in table content_generator: nope"),
            ),
            (
                json!([null, kw(json!({"group": "nope"}))]),
                (1000, "No such entry in table groups: nope"),
            ),
            (
                json!([null, kw(json!({"build": "foo-1.0-1"}))]),
                (1000, "No such build: 'foo-1.0-1'"),
            ),
            (
                json!([null, kw(json!({"build": 42}))]),
                (1000, "No such build: 42"),
            ),
            (
                json!([null, kw(json!({"build": "foo"}))]),
                (1000, "invalid format: foo"),
            ),
            (
                json!([null, kw(json!({"build": {"name": "foo"}}))]),
                (1000, "did not provide name, version, and release"),
            ),
            (
                json!([null, kw(json!({"tag": [1]}))]),
                (1019, "Invalid name or id value: [1]"),
            ),
        ];
        for (args, (code, msg)) in cases {
            assert_eq!(
                fault(&th, &anon, "queryHistory", args.clone()).await,
                (code, msg.to_string()),
                "{l}: {args}"
            );
        }
        // a lookup only happens for the tables the filter applies to
        let h = history(&th, Some(&["user_perms"]), json!({"tag": "nope"})).await?;
        assert_eq!(h, json!({}), "{l}");
        // hosts and channels are looked up leniently
        let h = history(&th, None, json!({"host": "nohost"})).await?;
        assert_eq!(h, json!({"host_channels": [], "host_config": []}), "{l}");
        let h = history(&th, None, json!({"channel": "nochannel"})).await?;
        assert_eq!(h, json!({"host_channels": []}), "{l}");
        let h = history(&th, None, json!({"xkey": "k"})).await?;
        assert_eq!(h, json!({"tag_extra": []}), "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn tag_config_extra_and_inheritance() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let a = (admin.user_id()?, "admin");
        let base = int(&th.call(&admin, "createTag", json!(["base"])).await?)?;
        let e0 = last_event(&th, &admin).await?;
        let f40 = int(&th
            .call(
                &admin,
                "createTag",
                json!(["f40", kw(json!({"arches": "x86_64", "extra": {"k": "v"}}))]),
            )
            .await?)?;
        let e1 = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "editTag2",
            json!(["f40", kw(json!({"locked": true, "perm": "admin"}))]),
        )
        .await?;
        let e2 = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "setInheritanceData",
            json!(["f40", [{"parent_id": base, "priority": 10, "maxdepth": null,
                             "intransitive": false, "noconfig": false, "pkg_filter": ""}]]),
        )
        .await?;
        let e3 = last_event(&th, &admin).await?;

        let h = history(&th, None, json!({"tag": "f40"})).await?;
        assert_eq!(
            tables(&h),
            [
                "build_target_config",
                "group_config",
                "group_package_listing",
                "group_req_listing",
                "tag_config",
                "tag_external_repos",
                "tag_extra",
                "tag_inheritance",
                "tag_listing",
                "tag_package_owners",
                "tag_packages",
            ],
            "{l}"
        );
        let admin_perm = perm_id(&th, "admin").await?;
        let cfg = |perm: Json, pname: Json, locked: bool| {
            json!({"tag_id": f40, "tag.name": "f40", "arches": "x86_64", "perm_id": perm,
                   "permission.name": pname, "locked": locked, "maven_support": false,
                   "maven_include_all": false})
        };
        assert_eq!(
            rows(&th, &h, "tag_config").await?,
            vec![
                row(
                    (e1, a.0, a.1),
                    Some((e2, a.0, a.1)),
                    cfg(json!(null), json!(null), false)
                ),
                row(
                    (e2, a.0, a.1),
                    None,
                    cfg(json!(admin_perm), json!("admin"), true)
                ),
            ],
            "{l}"
        );
        assert_eq!(
            rows(&th, &h, "tag_extra").await?,
            vec![row(
                (e1, a.0, a.1),
                None,
                json!({"tag_id": f40, "tag.name": "f40", "key": "k", "value": "\"v\""})
            )],
            "{l}"
        );
        let link = row(
            (e3, a.0, a.1),
            None,
            json!({"tag_id": f40, "tag.name": "f40", "parent_id": base, "parent.name": "base",
                   "priority": 10, "maxdepth": null, "intransitive": false, "noconfig": false,
                   "pkg_filter": ""}),
        );
        assert_eq!(
            rows(&th, &h, "tag_inheritance").await?,
            vec![link.clone()],
            "{l}"
        );
        // the parent's history has the link too (either end matches)
        let h = history(
            &th,
            Some(&["tag_inheritance", "tag_config"]),
            json!({"tag": base}),
        )
        .await?;
        assert_eq!(rows(&th, &h, "tag_inheritance").await?, vec![link], "{l}");
        assert_eq!(
            rows(&th, &h, "tag_config").await?,
            vec![row(
                (e0, a.0, a.1),
                None,
                json!({"tag_id": base, "tag.name": "base", "arches": "", "perm_id": null,
                       "permission.name": null, "locked": false, "maven_support": false,
                       "maven_include_all": false})
            )],
            "{l}"
        );
        // xkey selects tag options by key
        let h = history(&th, None, json!({"xkey": "k"})).await?;
        assert_eq!(tables(&h), ["tag_extra"], "{l}");
        assert_eq!(rows(&th, &h, "tag_extra").await?.len(), 1, "{l}");
        let h = history(&th, None, json!({"xkey": "other"})).await?;
        assert_eq!(h, json!({"tag_extra": []}), "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn package_lists_and_owners() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let a = (admin.user_id()?, "admin");
        let bob = int(&th.call(&admin, "createUser", json!(["bob"])).await?)?;
        let f40 = int(&th.call(&admin, "createTag", json!(["f40"])).await?)?;
        th.call(&admin, "packageListAdd", json!(["f40", "vim", "bob"]))
            .await?;
        let e1 = last_event(&th, &admin).await?;
        let vim = int(&th.call(&admin, "getPackageID", json!(["vim"])).await?)?;
        th.call(&admin, "packageListBlock", json!(["f40", "vim"]))
            .await?;
        let e2 = last_event(&th, &admin).await?;

        let h = history(&th, None, json!({"package": "vim"})).await?;
        assert_eq!(
            tables(&h),
            [
                "group_package_listing",
                "tag_listing",
                "tag_package_owners",
                "tag_packages"
            ],
            "{l}"
        );
        let entry = |blocked: bool| {
            json!({"package_id": vim, "package.name": "vim", "tag_id": f40, "tag.name": "f40",
                   "blocked": blocked, "extra_arches": null})
        };
        assert_eq!(
            rows(&th, &h, "tag_packages").await?,
            vec![
                row((e1, a.0, a.1), Some((e2, a.0, a.1)), entry(false)),
                row((e2, a.0, a.1), None, entry(true)),
            ],
            "{l}"
        );
        // blocking rewrites the entry and, as upstream, its owner row too
        let own = json!({"package_id": vim, "package.name": "vim", "tag_id": f40,
                         "tag.name": "f40", "owner": bob, "owner.name": "bob"});
        let owners = vec![
            row((e1, a.0, a.1), Some((e2, a.0, a.1)), own.clone()),
            row((e2, a.0, a.1), None, own),
        ];
        assert_eq!(rows(&th, &h, "tag_package_owners").await?, owners, "{l}");
        assert_eq!(h["tag_listing"], json!([]), "{l}");
        assert_eq!(h["group_package_listing"], json!([]), "{l}");
        // `user` on tag_package_owners means the owner
        let h = history(&th, Some(&["tag_package_owners"]), json!({"user": "bob"})).await?;
        assert_eq!(rows(&th, &h, "tag_package_owners").await?, owners, "{l}");
        let h = history(&th, Some(&["tag_package_owners"]), json!({"user": "admin"})).await?;
        assert_eq!(h, json!({"tag_package_owners": []}), "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn build_targets() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let a = (admin.user_id()?, "admin");
        let build = int(&th.call(&admin, "createTag", json!(["f40-build"])).await?)?;
        let dest = int(&th.call(&admin, "createTag", json!(["f40"])).await?)?;
        th.call(
            &admin,
            "createBuildTarget",
            json!(["f40-candidate", "f40-build", "f40"]),
        )
        .await?;
        let e1 = last_event(&th, &admin).await?;
        let target = int(&th
            .call(&admin, "getBuildTarget", json!(["f40-candidate"]))
            .await?["id"])?;
        th.call(&admin, "deleteBuildTarget", json!(["f40-candidate"]))
            .await?;
        let e2 = last_event(&th, &admin).await?;
        let want = vec![row(
            (e1, a.0, a.1),
            Some((e2, a.0, a.1)),
            json!({"build_target_id": target, "build_target.name": "f40-candidate",
                   "build_tag": build, "build_tag.name": "f40-build",
                   "dest_tag": dest, "dest_tag.name": "f40"}),
        )];
        let h = history(&th, None, json!({"build_target": "f40-candidate"})).await?;
        assert_eq!(tables(&h), ["build_target_config"], "{l}");
        assert_eq!(rows(&th, &h, "build_target_config").await?, want, "{l}");
        // as upstream, `tag` on build_target_config matches the destination tag
        let h = history(&th, Some(&["build_target_config"]), json!({"tag": "f40"})).await?;
        assert_eq!(rows(&th, &h, "build_target_config").await?, want, "{l}");
        let h = history(
            &th,
            Some(&["build_target_config"]),
            json!({"tag": "f40-build"}),
        )
        .await?;
        assert_eq!(h, json!({"build_target_config": []}), "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn hosts_and_channels() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let a = (admin.user_id()?, "admin");
        let host = int(&th
            .call(&admin, "addHost", json!(["builder1", ["x86_64"]]))
            .await?)?;
        let e1 = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "addHostToChannel",
            json!(["builder1", "createrepo"]),
        )
        .await?;
        let e2 = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "removeHostFromChannel",
            json!(["builder1", "default"]),
        )
        .await?;
        let e3 = last_event(&th, &admin).await?;
        let default = channel_id(&th, "default").await?;
        let createrepo = channel_id(&th, "createrepo").await?;

        let h = history(&th, None, json!({"host": "builder1"})).await?;
        assert_eq!(tables(&h), ["host_channels", "host_config"], "{l}");
        assert_eq!(
            rows(&th, &h, "host_config").await?,
            vec![row(
                (e1, a.0, a.1),
                None,
                json!({"host_id": host, "host.name": "builder1", "arches": "x86_64",
                       "capacity": 2.0, "description": null, "comment": null, "enabled": true})
            )],
            "{l}"
        );
        let member = |ch: i64, name: &str| {
            json!({"host_id": host, "host.name": "builder1", "channel_id": ch,
                   "channels.name": name})
        };
        let in_default = row(
            (e1, a.0, a.1),
            Some((e3, a.0, a.1)),
            member(default, "default"),
        );
        let in_createrepo = row((e2, a.0, a.1), None, member(createrepo, "createrepo"));
        assert_eq!(
            rows(&th, &h, "host_channels").await?,
            vec![in_default.clone(), in_createrepo.clone()],
            "{l}"
        );
        let h = history(&th, None, json!({"channel": "createrepo"})).await?;
        assert_eq!(tables(&h), ["host_channels"], "{l}");
        assert_eq!(
            rows(&th, &h, "host_channels").await?,
            vec![in_createrepo],
            "{l}"
        );
        let h = history(&th, None, json!({"channel": default, "active": false})).await?;
        assert_eq!(
            rows(&th, &h, "host_channels").await?,
            vec![in_default],
            "{l}"
        );
    }
    Ok(())
}

async fn channel_id(th: &TestHub, name: &str) -> Result<i64> {
    let anon = Caller::anonymous("127.0.0.1");
    int(&th.call(&anon, "getChannel", json!([name])).await?["id"])
}

#[tokio::test]
async fn user_groups_follow_upstreams_joins() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let a = (admin.user_id()?, "admin");
        let bob = int(&th.call(&admin, "createUser", json!(["bob"])).await?)?;
        let devs = int(&th.call(&admin, "newGroup", json!(["devs"])).await?)?;
        th.call(&admin, "addGroupMember", json!(["devs", "bob"]))
            .await?;
        let e1 = last_event(&th, &admin).await?;
        th.call(&admin, "dropGroupMember", json!(["devs", "bob"]))
            .await?;
        let e2 = last_event(&th, &admin).await?;
        let want = vec![row(
            (e1, a.0, a.1),
            Some((e2, a.0, a.1)),
            json!({"user_id": bob, "user.name": "bob", "group_id": devs, "group.name": "devs"}),
        )];
        let h = history(&th, Some(&["user_groups"]), json!({})).await?;
        assert_eq!(rows(&th, &h, "user_groups").await?, want, "{l}");
        // upstream's `user` filter on user_groups compares the group
        let h = history(&th, Some(&["user_groups"]), json!({"user": "devs"})).await?;
        assert_eq!(rows(&th, &h, "user_groups").await?, want, "{l}");
        let h = history(&th, Some(&["user_groups"]), json!({"user": "bob"})).await?;
        assert_eq!(h, json!({"user_groups": []}), "{l}");
        // and `group` (comps groups) does not apply to it: no lookup, no table
        let h = history(&th, Some(&["user_groups"]), json!({"group": "devs"})).await?;
        assert_eq!(h, json!({}), "{l}");
    }
    Ok(())
}

/// Inserts `name` into a name table (`package`, `groups`...); returns its id.
async fn named(tx: &koji_core::db::Tx, table: &str, name: &str) -> Result<i64> {
    let r = koji_core::db::fetch_one(
        &**tx,
        &format!("INSERT INTO {table} (name) VALUES (?) RETURNING id"),
        koji_core::params![name],
    )
    .await?;
    koji_core::db::RowExt::int(&r, "id")
}

/// The tables no API call writes yet (content generators, external repos,
/// comps groups, tagged builds), with rows written directly in one event.
#[tokio::test]
async fn tables_written_directly() -> Result<()> {
    use koji_core::db::versioned::insert;
    use koji_core::params;
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let a = (admin.user_id()?, "admin");
        let f40 = int(&th.call(&admin, "createTag", json!(["f40"])).await?)?;
        let mut tx = th.hub.db().begin().await?;
        let ev = tx.event().await?;
        let cg = named(&tx, "content_generator", "cg1").await?;
        insert(
            &mut tx,
            "cg_users",
            &["cg_id", "user_id"],
            params![cg, a.0],
            a.0,
        )
        .await?;
        let repo = named(&tx, "external_repo", "repo1").await?;
        insert(
            &mut tx,
            "external_repo_config",
            &["external_repo_id", "url"],
            params![repo, "https://example.com/repo/"],
            a.0,
        )
        .await?;
        insert(
            &mut tx,
            "external_repo_data",
            &["external_repo_id", "data"],
            params![repo, json!({"max_ts": 5, "list": [1, "x"]})],
            a.0,
        )
        .await?;
        insert(
            &mut tx,
            "tag_external_repos",
            &["tag_id", "external_repo_id", "priority", "merge_mode"],
            params![f40, repo, 5, "koji"],
            a.0,
        )
        .await?;
        let comps = named(&tx, "groups", "build").await?;
        let req = named(&tx, "groups", "core").await?;
        insert(
            &mut tx,
            "group_config",
            &["group_id", "tag_id", "display_name", "description"],
            params![comps, f40, "Build", "the build group"],
            a.0,
        )
        .await?;
        insert(
            &mut tx,
            "group_req_listing",
            &["group_id", "tag_id", "req_id", "type"],
            params![comps, f40, req, "mandatory"],
            a.0,
        )
        .await?;
        insert(
            &mut tx,
            "group_package_listing",
            &["group_id", "tag_id", "package", "type"],
            params![comps, f40, "vim", "mandatory"],
            a.0,
        )
        .await?;
        let vim = named(&tx, "package", "vim").await?;
        let build = koji_core::db::fetch_one(
            &*tx,
            "INSERT INTO build (volume_id, pkg_id, version, release, epoch, state, owner, \
             create_event) VALUES (0, ?, '9.0', '1', 2, 0, ?, ?) RETURNING id",
            params![vim, a.0, ev],
        )
        .await?;
        let build = koji_core::db::RowExt::int(&build, "id")?;
        insert(
            &mut tx,
            "tag_listing",
            &["build_id", "tag_id"],
            params![build, f40],
            a.0,
        )
        .await?;
        tx.commit().await?;

        let made = |rest: Json| row((ev, a.0, a.1), None, rest);
        let h = history(&th, None, json!({"cg": "cg1"})).await?;
        assert_eq!(tables(&h), ["cg_users"], "{l}");
        assert_eq!(
            rows(&th, &h, "cg_users").await?,
            vec![made(json!({"cg_id": cg, "content_generator.name": "cg1",
                             "user_id": a.0, "user.name": "admin"}))],
            "{l}"
        );

        let h = history(&th, None, json!({"external_repo": "repo1"})).await?;
        assert_eq!(
            tables(&h),
            [
                "external_repo_config",
                "external_repo_data",
                "tag_external_repos"
            ],
            "{l}"
        );
        let named_repo = json!({"external_repo_id": repo, "external_repo.name": "repo1"});
        let with = |base: &Json, extra: Json| {
            let mut r = base.clone();
            if let (Some(m), Json::Object(x)) = (r.as_object_mut(), extra) {
                m.extend(x);
            }
            made(r)
        };
        assert_eq!(
            rows(&th, &h, "external_repo_config").await?,
            vec![with(
                &named_repo,
                json!({"url": "https://example.com/repo/"})
            )],
            "{l}"
        );
        assert_eq!(
            rows(&th, &h, "external_repo_data").await?,
            vec![with(
                &named_repo,
                json!({"data": {"max_ts": 5, "list": [1, "x"]}})
            )],
            "{l}"
        );
        assert_eq!(
            rows(&th, &h, "tag_external_repos").await?,
            vec![with(
                &named_repo,
                json!({"tag_id": f40, "tag.name": "f40", "priority": 5, "merge_mode": "koji"})
            )],
            "{l}"
        );

        // `group` matches group_config and group_package_listing by group,
        // but group_req_listing by the required group (upstream's last join)
        let h = history(&th, None, json!({"group": "build"})).await?;
        assert_eq!(
            tables(&h),
            ["group_config", "group_package_listing", "group_req_listing"],
            "{l}"
        );
        let in_tag = json!({"group_id": comps, "group.name": "build",
                            "tag_id": f40, "tag.name": "f40", "blocked": false});
        assert_eq!(
            rows(&th, &h, "group_config").await?,
            vec![with(
                &in_tag,
                json!({"exported": true, "display_name": "Build", "is_default": null,
                       "uservisible": null, "description": "the build group",
                       "langonly": null, "biarchonly": null})
            )],
            "{l}"
        );
        let pkg_row = with(
            &in_tag,
            json!({"package": "vim", "type": "mandatory", "basearchonly": null,
                   "requires": null}),
        );
        assert_eq!(
            rows(&th, &h, "group_package_listing").await?,
            vec![pkg_row.clone()],
            "{l}"
        );
        assert_eq!(h["group_req_listing"], json!([]), "{l}");
        let h = history(&th, Some(&["group_req_listing"]), json!({"group": "core"})).await?;
        assert_eq!(
            rows(&th, &h, "group_req_listing").await?,
            vec![with(
                &in_tag,
                json!({"req_id": req, "req.name": "core", "type": "mandatory",
                       "is_metapkg": false})
            )],
            "{l}"
        );

        // builds: by NVR, id or dict; `package` reaches tag_listing through
        // the build and group_package_listing by its text column
        let listed = made(json!({"build_id": build, "name": "vim", "version": "9.0",
                                 "release": "1", "epoch": 2, "build.state": 0,
                                 "tag_id": f40, "tag.name": "f40"}));
        for info in [
            json!("vim-9.0-1"),
            json!(build),
            json!({"name": "vim", "version": "9.0", "release": "1"}),
        ] {
            let h = history(&th, None, json!({"build": info})).await?;
            assert_eq!(tables(&h), ["tag_listing"], "{l}: {info}");
            assert_eq!(
                rows(&th, &h, "tag_listing").await?,
                vec![listed.clone()],
                "{l}"
            );
        }
        let h = history(&th, None, json!({"package": "vim"})).await?;
        assert_eq!(
            rows(&th, &h, "tag_listing").await?,
            vec![listed.clone()],
            "{l}"
        );
        assert_eq!(
            rows(&th, &h, "group_package_listing").await?,
            vec![pkg_row],
            "{l}"
        );
        let h = history(
            &th,
            Some(&["tag_listing"]),
            json!({"tag": f40, "active": true}),
        )
        .await?;
        assert_eq!(rows(&th, &h, "tag_listing").await?, vec![listed], "{l}");
    }
    Ok(())
}
