//! Packages and tag package lists through upstream's API: packageListAdd,
//! packageListRemove, packageListBlock, packageListUnblock,
//! packageListSetOwner, packageListSetArches, listPackages,
//! listPackagesSimple, getPackage, getPackageID, checkTagPackage,
//! getPackageConfig.

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

async fn create_tag(th: &TestHub, who: &Caller, name: &str) -> Result<i64> {
    let id = th.call(who, "createTag", json!([name])).await?;
    id.as_i64()
        .ok_or_else(|| Error::Generic(format!("createTag answered {id}")))
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

async fn user_id(th: &TestHub, who: &Caller, name: &str) -> Result<i64> {
    let u = th.call(who, "getUser", json!([name])).await?;
    u["id"]
        .as_i64()
        .ok_or_else(|| Error::Generic(format!("getUser answered {u}")))
}

async fn pkg_id(th: &TestHub, who: &Caller, name: &str) -> Result<i64> {
    let id = th.call(who, "getPackageID", json!([name])).await?;
    id.as_i64()
        .ok_or_else(|| Error::Generic(format!("getPackageID answered {id}")))
}

/// `(package_name, tag_name, owner_name, blocked, extra_arches)` of each entry.
fn summary(list: &Json) -> Vec<(String, String, String, bool, Json)> {
    list.as_array()
        .map(|a| {
            a.iter()
                .map(|e| {
                    (
                        e["package_name"].as_str().unwrap_or("?").to_string(),
                        e["tag_name"].as_str().unwrap_or("?").to_string(),
                        e["owner_name"].as_str().unwrap_or("-").to_string(),
                        e["blocked"].as_bool().unwrap_or(false),
                        e["extra_arches"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

fn s(x: &str) -> String {
    x.to_string()
}

#[tokio::test]
async fn add_and_read_entries() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.user("bob", "pw", &[]).await?;
        let bob = user_id(&th, &admin, "bob").await?;
        let f40 = create_tag(&th, &admin, "f40").await?;

        let r = th
            .call(
                &admin,
                "packageListAdd",
                json!([
                    "f40",
                    "foo",
                    "bob",
                    kw(json!({"extra_arches": "x86_64   i686"}))
                ]),
            )
            .await?;
        assert_eq!(r, Json::Null, "{l}");
        let foo = pkg_id(&th, &admin, "foo").await?;
        let list = th
            .call(&admin, "listPackages", json!([kw(json!({"tagID": "f40"}))]))
            .await?;
        assert_eq!(
            list,
            json!([{"blocked": false, "extra_arches": "x86_64 i686", "owner_id": bob,
                    "owner_name": "bob", "package_id": foo, "package_name": "foo",
                    "tag_id": f40, "tag_name": "f40"}]),
            "{l}"
        );
        let keys: Vec<&String> = list[0]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            vec![
                "blocked",
                "extra_arches",
                "owner_id",
                "owner_name",
                "package_id",
                "package_name",
                "tag_id",
                "tag_name"
            ],
            "{l}"
        );
        // without owners the owner keys are gone
        let list = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": f40, "with_owners": false}))]),
            )
            .await?;
        assert_eq!(
            list,
            json!([{"blocked": false, "extra_arches": "x86_64 i686", "package_id": foo,
                    "package_name": "foo", "tag_id": f40, "tag_name": "f40"}]),
            "{l}"
        );

        // the same data again changes nothing (no new event)
        let before = last_event(&th, &admin).await?;
        th.call(&admin, "packageListAdd", json!(["f40", "foo", "bob"]))
            .await?;
        th.call(
            &admin,
            "packageListAdd",
            json!(["f40", foo, bob, kw(json!({"block": false}))]),
        )
        .await?;
        assert_eq!(last_event(&th, &admin).await?, before, "{l}");
        // force rewrites nothing either when nothing changed
        th.call(
            &admin,
            "packageListAdd",
            json!(["f40", "foo", kw(json!({"force": true}))]),
        )
        .await?;
        assert_eq!(last_event(&th, &admin).await?, before, "{l}");

        // a new package needs an owner, unless forced (then the caller owns it)
        assert_eq!(
            fault(&th, &admin, "packageListAdd", json!(["f40", "bar"])).await,
            (1000, s("owner not specified")),
            "{l}"
        );
        th.call(
            &admin,
            "packageListAdd",
            json!(["f40", "bar", kw(json!({"force": true}))]),
        )
        .await?;
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["f40", "bar"]))
            .await?;
        assert_eq!(cfg["owner_name"], json!("admin"), "{l}");
        assert_eq!(cfg["extra_arches"], Json::Null, "{l}");

        // update needs an existing entry
        assert_eq!(
            fault(
                &th,
                &admin,
                "packageListAdd",
                json!(["f40", "baz", "bob", kw(json!({"update": true}))])
            )
            .await,
            (
                1000,
                s("cannot update: tag f40 has no data for package baz")
            ),
            "{l}"
        );
        // the package name made before the check is rolled back with the call
        assert_eq!(
            th.call(&admin, "getPackageID", json!(["baz"])).await?,
            Json::Null,
            "{l}"
        );

        // bad input
        assert_eq!(
            fault(&th, &admin, "packageListAdd", json!(["nope", "foo", "bob"])).await,
            (1000, s("No such tagInfo: 'nope'")),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "packageListAdd", json!(["f40", 9999, "bob"])).await,
            (1000, s("No such package: 9999")),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "packageListAdd",
                json!(["f40", "foo", "nobody"])
            )
            .await,
            (1000, s("No such user: 'nobody'")),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "packageListAdd",
                json!([
                    "f40",
                    "foo",
                    "bob",
                    kw(json!({"extra_arches": "x86_64,i686"}))
                ])
            )
            .await,
            (1000, s("Architecture can be only [a-zA-Z0-9_-]")),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "packageListAdd", json!(["f40", 1.5, "bob"])).await,
            (1019, s("Invalid name or id value: 1.5")),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "packageListAdd", json!(["f40"])).await,
            (
                1019,
                s("packageListAdd() missing 1 required positional argument: 'pkginfo'")
            ),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn package_lookups() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let anon = Caller::anonymous("127.0.0.1");
        assert_eq!(
            th.call(&anon, "getPackage", json!(["foo"])).await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getPackage", json!(["foo", true])).await,
            (1000, s("No such entry in table package: foo")),
            "{l}"
        );
        let made = th
            .call(
                &anon,
                "getPackage",
                json!(["foo", kw(json!({"create": true}))]),
            )
            .await?;
        let id = made["id"].as_i64().unwrap_or(-1);
        assert_eq!(made, json!({"id": id, "name": "foo"}), "{l}");
        assert_eq!(
            th.call(&anon, "getPackage", json!([id])).await?,
            made,
            "{l}"
        );
        assert_eq!(
            th.call(&anon, "getPackage", json!([{"name": "foo"}]))
                .await?,
            made,
            "{l}"
        );
        assert_eq!(
            th.call(
                &anon,
                "getPackage",
                json!(["foo", kw(json!({"create": true}))])
            )
            .await?,
            made,
            "{l}"
        );
        assert_eq!(
            th.call(&anon, "getPackageID", json!(["foo"])).await?,
            json!(id),
            "{l}"
        );
        assert_eq!(
            th.call(&anon, "getPackageID", json!(["bar"])).await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getPackageID", json!(["bar", true])).await,
            (1000, s("No such package name: bar")),
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getPackage", json!([[1]])).await,
            (1019, s("Invalid name or id value: [1]")),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &anon,
                "getPackage",
                json!([7, kw(json!({"create": true}))])
            )
            .await,
            (1000, s("Name must be a string")),
            "{l}"
        );
        // checkTagPackage / getPackageConfig on unknown names
        create_tag(&th, &admin, "t").await?;
        assert_eq!(
            th.call(&anon, "checkTagPackage", json!(["t", "foo"]))
                .await?,
            json!(false),
            "{l}"
        );
        assert_eq!(
            th.call(&anon, "checkTagPackage", json!(["nope", "foo"]))
                .await?,
            json!(false),
            "{l}"
        );
        assert_eq!(
            th.call(&anon, "checkTagPackage", json!(["t", "nope"]))
                .await?,
            json!(false),
            "{l}"
        );
        assert_eq!(
            th.call(&anon, "getPackageConfig", json!(["nope", "foo"]))
                .await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            th.call(&anon, "getPackageConfig", json!(["t", "foo"]))
                .await?,
            Json::Null,
            "{l}"
        );
        // the event is only looked at once both names are known
        assert_eq!(
            th.call(&anon, "getPackageConfig", json!(["nope", "foo", "x"]))
                .await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getPackageConfig", json!(["t", "foo", "x"])).await,
            (1000, s("Invalid event: 'x'")),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn changes_need_the_package_list_policy() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let anon = Caller::anonymous("127.0.0.1");
        let bob = th.user("bob", "pw", &[]).await?;
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        create_tag(&th, &admin, "f40").await?;
        let denied = (
            1004,
            s("policy violation (package_list): Only admin/tag can do this via default policy"),
        );
        let login = (1004, s("you must be logged in for this operation"));

        assert_eq!(
            fault(&th, &anon, "packageListAdd", json!(["f40", "foo", "bob"])).await,
            login,
            "{l}"
        );
        assert_eq!(
            fault(&th, &bob, "packageListAdd", json!(["f40", "foo", "bob"])).await,
            denied,
            "{l}"
        );
        // force does not help a non-admin
        assert_eq!(
            fault(
                &th,
                &bob,
                "packageListAdd",
                json!(["f40", "foo", "bob", kw(json!({"force": true}))])
            )
            .await,
            denied,
            "{l}"
        );
        // the refused call created nothing
        assert_eq!(
            th.call(&bob, "getPackageID", json!(["foo"])).await?,
            Json::Null,
            "{l}"
        );

        th.call(&tagger, "packageListAdd", json!(["f40", "foo", "bob"]))
            .await?;
        assert_eq!(
            th.call(&bob, "checkTagPackage", json!(["f40", "foo"]))
                .await?,
            json!(true),
            "{l}"
        );

        for (method, params) in [
            ("packageListBlock", json!(["f40", "foo"])),
            ("packageListUnblock", json!(["f40", "foo"])),
            ("packageListRemove", json!(["f40", "foo"])),
            ("packageListSetOwner", json!(["f40", "foo", "admin"])),
            ("packageListSetArches", json!(["f40", "foo", "x86_64"])),
        ] {
            assert_eq!(
                fault(&th, &bob, method, params.clone()).await,
                denied,
                "{l} {method}"
            );
            assert_eq!(
                fault(&th, &anon, method, params).await,
                login,
                "{l} {method}"
            );
        }
        // blocking a package the tag does not list fails before the policy
        assert_eq!(
            fault(&th, &bob, "packageListBlock", json!(["f40", "bar"])).await,
            (1000, s("No such entry in table package: bar")),
            "{l}"
        );
        th.call(
            &admin,
            "getPackage",
            json!(["bar", kw(json!({"create": true}))]),
        )
        .await?;
        assert_eq!(
            fault(&th, &anon, "packageListBlock", json!(["f40", "bar"])).await,
            (1000, s("Package bar is not in tag listing for f40")),
            "{l}"
        );

        th.call(&tagger, "packageListBlock", json!(["f40", "foo"]))
            .await?;
        th.call(&tagger, "packageListUnblock", json!(["f40", "foo"]))
            .await?;
        th.call(
            &tagger,
            "packageListSetOwner",
            json!(["f40", "foo", "tagger"]),
        )
        .await?;
        th.call(
            &tagger,
            "packageListSetArches",
            json!(["f40", "foo", ["s390x"]]),
        )
        .await?;
        let cfg = th
            .call(&bob, "getPackageConfig", json!(["f40", "foo"]))
            .await?;
        assert_eq!(
            (
                cfg["owner_name"].clone(),
                cfg["extra_arches"].clone(),
                cfg["blocked"].clone()
            ),
            (json!("tagger"), json!("s390x"), json!(false)),
            "{l}"
        );
        th.call(&tagger, "packageListRemove", json!(["f40", "foo"]))
            .await?;
        assert_eq!(
            th.call(&bob, "getPackageConfig", json!(["f40", "foo"]))
                .await?,
            Json::Null,
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn inheritance_blocks_and_owners() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.user("bob", "pw", &[]).await?;
        th.user("alice", "pw", &[]).await?;
        let base = create_tag(&th, &admin, "base").await?;
        let child = create_tag(&th, &admin, "child").await?;
        inherit(&th, &admin, "child", json!([link(base, 10, "")])).await?;
        th.call(&admin, "packageListAdd", json!(["base", "foo", "bob"]))
            .await?;
        th.call(
            &admin,
            "packageListAdd",
            json!(["base", "bar", "bob", kw(json!({"extra_arches": "ppc64le"}))]),
        )
        .await?;
        th.call(&admin, "packageListAdd", json!(["child", "own", "alice"]))
            .await?;

        let direct = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "child"}))]),
            )
            .await?;
        assert_eq!(
            summary(&direct),
            vec![(s("own"), s("child"), s("alice"), false, Json::Null)],
            "{l}"
        );
        let all = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": child, "inherited": true}))]),
            )
            .await?;
        assert_eq!(
            summary(&all),
            vec![
                (s("own"), s("child"), s("alice"), false, Json::Null),
                (s("foo"), s("base"), s("bob"), false, Json::Null),
                (s("bar"), s("base"), s("bob"), false, json!("ppc64le")),
            ],
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "checkTagPackage", json!(["child", "foo"]))
                .await?,
            json!(true),
            "{l}"
        );

        // adding what is already inherited, unchanged, writes nothing
        let before = last_event(&th, &admin).await?;
        th.call(&admin, "packageListAdd", json!(["child", "foo", "bob"]))
            .await?;
        assert_eq!(last_event(&th, &admin).await?, before, "{l}");

        // a block in the child hides the parent's entry, keeping its owner and arches
        th.call(&admin, "packageListBlock", json!(["child", "bar"]))
            .await?;
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "bar"]))
            .await?;
        assert_eq!(
            (
                cfg["tag_name"].clone(),
                cfg["owner_name"].clone(),
                cfg["blocked"].clone(),
                cfg["extra_arches"].clone()
            ),
            (json!("child"), json!("bob"), json!(true), json!("ppc64le")),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "checkTagPackage", json!(["child", "bar"]))
                .await?,
            json!(false),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "checkTagPackage", json!(["base", "bar"]))
                .await?,
            json!(true),
            "{l}"
        );
        let visible = th
            .call(
                &admin,
                "listPackages",
                json!([kw(
                    json!({"tagID": "child", "inherited": true, "with_blocked": false})
                )]),
            )
            .await?;
        // upstream drops blocked rows in every tag it reads, so without
        // blocked entries the parent's unblocked one shows through
        assert_eq!(
            summary(&visible)
                .iter()
                .map(|e| (e.0.clone(), e.1.clone()))
                .collect::<Vec<_>>(),
            vec![
                (s("own"), s("child")),
                (s("foo"), s("base")),
                (s("bar"), s("base"))
            ],
            "{l}"
        );
        let dups = th
            .call(
                &admin,
                "listPackages",
                json!([kw(
                    json!({"tagID": "child", "inherited": true, "with_dups": true})
                )]),
            )
            .await?;
        assert_eq!(
            summary(&dups),
            vec![
                (s("own"), s("child"), s("alice"), false, Json::Null),
                (s("bar"), s("child"), s("bob"), true, json!("ppc64le")),
                (s("bar"), s("base"), s("bob"), false, json!("ppc64le")),
                (s("foo"), s("base"), s("bob"), false, Json::Null),
            ],
            "{l}"
        );
        // blocking again changes nothing
        let before = last_event(&th, &admin).await?;
        th.call(&admin, "packageListBlock", json!(["child", "bar"]))
            .await?;
        assert_eq!(last_event(&th, &admin).await?, before, "{l}");
        // a blocked package cannot be re-added without force
        assert_eq!(
            fault(
                &th,
                &admin,
                "packageListAdd",
                json!(["child", "bar", "alice", kw(json!({"block": false}))])
            )
            .await,
            (1000, s("package bar is blocked in tag child")),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "packageListUnblock", json!(["child", "foo"])).await,
            (1000, s("package foo NOT blocked in tag child")),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "packageListUnblock",
                json!(["child", "nolist"])
            )
            .await,
            (1000, s("No such entry in table package: nolist")),
            "{l}"
        );
        th.call(
            &admin,
            "getPackage",
            json!(["nolist", kw(json!({"create": true}))]),
        )
        .await?;
        assert_eq!(
            fault(
                &th,
                &admin,
                "packageListUnblock",
                json!(["child", "nolist"])
            )
            .await,
            (
                1000,
                s("no data (blocked or otherwise) for package nolist in tag child")
            ),
            "{l}"
        );

        // unblocking the child's own block removes it: the parent's entry shows again
        th.call(&admin, "packageListUnblock", json!(["child", "bar"]))
            .await?;
        let direct = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "child"}))]),
            )
            .await?;
        assert_eq!(summary(&direct).len(), 1, "{l}: {direct}");
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "bar"]))
            .await?;
        assert_eq!(
            (cfg["tag_name"].clone(), cfg["blocked"].clone()),
            (json!("base"), json!(false)),
            "{l}"
        );

        // unblocking in the child what the parent blocks adds an unblocked entry
        th.call(&admin, "packageListBlock", json!(["base", "foo"]))
            .await?;
        assert_eq!(
            th.call(&admin, "checkTagPackage", json!(["child", "foo"]))
                .await?,
            json!(false),
            "{l}"
        );
        th.call(&admin, "packageListUnblock", json!(["child", "foo"]))
            .await?;
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "foo"]))
            .await?;
        assert_eq!(
            (
                cfg["tag_name"].clone(),
                cfg["blocked"].clone(),
                cfg["owner_name"].clone()
            ),
            (json!("child"), json!(false), json!("bob")),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "checkTagPackage", json!(["child", "foo"]))
                .await?,
            json!(true),
            "{l}"
        );
        assert_eq!(
            th.call(&admin, "checkTagPackage", json!(["base", "foo"]))
                .await?,
            json!(false),
            "{l}"
        );

        // a child's own block over a parent's block: unblocking removes it and,
        // since the parent still blocks, adds an unblocked entry
        th.call(&admin, "packageListBlock", json!(["child", "bar"]))
            .await?;
        th.call(&admin, "packageListBlock", json!(["base", "bar"]))
            .await?;
        // over an inherited block, a forced block that changes nothing writes nothing
        let before = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "packageListBlock",
            json!(["child", "bar", kw(json!({"force": true}))]),
        )
        .await?;
        assert_eq!(last_event(&th, &admin).await?, before, "{l}");
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "bar"]))
            .await?;
        assert_eq!(
            (cfg["tag_name"].clone(), cfg["blocked"].clone()),
            (json!("child"), json!(true)),
            "{l}"
        );
        th.call(&admin, "packageListUnblock", json!(["child", "bar"]))
            .await?;
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "bar"]))
            .await?;
        assert_eq!(
            (cfg["tag_name"].clone(), cfg["blocked"].clone()),
            (json!("child"), json!(false)),
            "{l}"
        );

        // changing only the owner of an inherited entry writes an owner row in
        // the child, which the listing does not show (upstream's behaviour)
        th.call(&admin, "packageListUnblock", json!(["base", "foo"]))
            .await?;
        th.call(&admin, "packageListRemove", json!(["child", "foo"]))
            .await?;
        let before = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "packageListSetOwner",
            json!(["child", "foo", "alice"]),
        )
        .await?;
        assert!(last_event(&th, &admin).await? > before, "{l}");
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "foo"]))
            .await?;
        assert_eq!(
            (cfg["tag_name"].clone(), cfg["owner_name"].clone()),
            (json!("base"), json!("bob")),
            "{l}"
        );
        // changing arches of an inherited entry makes the child's own entry
        th.call(
            &admin,
            "packageListSetArches",
            json!(["child", "foo", "aarch64 x86_64"]),
        )
        .await?;
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "foo"]))
            .await?;
        assert_eq!(
            (
                cfg["tag_name"].clone(),
                cfg["owner_name"].clone(),
                cfg["extra_arches"].clone()
            ),
            (json!("child"), json!("bob"), json!("aarch64 x86_64")),
            "{l}"
        );
        th.call(
            &admin,
            "packageListSetOwner",
            json!(["child", "foo", "alice"]),
        )
        .await?;
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "foo"]))
            .await?;
        assert_eq!(cfg["owner_name"], json!("alice"), "{l}");
        assert_eq!(
            fault(
                &th,
                &admin,
                "packageListSetOwner",
                json!(["child", "nolist", "alice"])
            )
            .await,
            (
                1000,
                s("cannot update: tag child has no data for package nolist")
            ),
            "{l}"
        );
        // removing the child's entry lets the parent's show through again
        th.call(&admin, "packageListRemove", json!(["child", "foo"]))
            .await?;
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["child", "foo"]))
            .await?;
        assert_eq!(
            (cfg["tag_name"].clone(), cfg["owner_name"].clone()),
            (json!("base"), json!("bob")),
            "{l}"
        );
        // removing what the tag does not list is silent
        th.call(&admin, "packageListRemove", json!(["child", "foo"]))
            .await?;
        assert_eq!(
            fault(&th, &admin, "packageListRemove", json!(["child", "zzz"])).await,
            (1000, s("No such entry in table package: zzz")),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn inheritance_order_filters_and_depth() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.user("bob", "pw", &[]).await?;
        let mut ids = std::collections::HashMap::new();
        for t in ["top", "left", "right", "grand", "leaf"] {
            ids.insert(t, create_tag(&th, &admin, t).await?);
        }
        // leaf -> left (pri 10, filter ^f), leaf -> right (pri 20);
        // left -> grand (intransitive); right -> grand; grand -> top
        inherit(
            &th,
            &admin,
            "leaf",
            json!([link(ids["left"], 10, "^f"), link(ids["right"], 20, "")]),
        )
        .await?;
        let mut intrans = link(ids["grand"], 5, "");
        intrans["intransitive"] = json!(true);
        inherit(&th, &admin, "left", json!([intrans])).await?;
        inherit(&th, &admin, "right", json!([link(ids["grand"], 5, "")])).await?;
        inherit(&th, &admin, "grand", json!([link(ids["top"], 5, "")])).await?;
        for (tag, pkg) in [
            ("left", "foo"),
            ("left", "bar"),
            ("right", "foo"),
            ("right", "bar"),
            ("grand", "fig"),
            ("grand", "gum"),
            ("top", "tip"),
        ] {
            th.call(&admin, "packageListAdd", json!([tag, pkg, "bob"]))
                .await?;
        }
        let list = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "leaf", "inherited": true}))]),
            )
            .await?;
        // left's filter lets only f* through; the intransitive link from left
        // is not followed, so grand comes through right (unfiltered)
        assert_eq!(
            summary(&list)
                .iter()
                .map(|e| (e.0.clone(), e.1.clone()))
                .collect::<Vec<_>>(),
            vec![
                (s("foo"), s("left")),
                (s("bar"), s("right")),
                (s("fig"), s("grand")),
                (s("gum"), s("grand")),
                (s("tip"), s("top")),
            ],
            "{l}"
        );
        // maxdepth 1 on right: right and one level above it (grand), not top
        let mut shallow = link(ids["right"], 20, "");
        shallow["maxdepth"] = json!(1);
        inherit(
            &th,
            &admin,
            "leaf",
            json!([link(ids["left"], 10, "^f"), shallow.clone()]),
        )
        .await?;
        let list = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "leaf", "inherited": true}))]),
            )
            .await?;
        assert_eq!(
            summary(&list)
                .iter()
                .map(|e| e.0.clone())
                .collect::<Vec<_>>(),
            vec![s("foo"), s("bar"), s("fig"), s("gum")],
            "{l}"
        );
        // maxdepth 0: right alone
        shallow["maxdepth"] = json!(0);
        inherit(&th, &admin, "leaf", json!([shallow])).await?;
        let list = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "leaf", "inherited": true}))]),
            )
            .await?;
        assert_eq!(
            summary(&list)
                .iter()
                .map(|e| e.0.clone())
                .collect::<Vec<_>>(),
            vec![s("foo"), s("bar")],
            "{l}"
        );
        // a filter on an upper link applies to everything inherited through it
        th.call(
            &admin,
            "setInheritanceData",
            json!([
                "leaf",
                [link(ids["right"], 20, "^(g|t)")],
                kw(json!({"clear": true}))
            ]),
        )
        .await?;
        let list = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "leaf", "inherited": true}))]),
            )
            .await?;
        assert_eq!(
            summary(&list)
                .iter()
                .map(|e| e.0.clone())
                .collect::<Vec<_>>(),
            vec![s("gum"), s("tip")],
            "{l}"
        );
        // a broken filter is Python's re.error
        inherit(&th, &admin, "leaf", json!([link(ids["right"], 20, "(x")])).await?;
        let (code, msg) = fault(
            &th,
            &admin,
            "listPackages",
            json!([kw(json!({"tagID": "leaf", "inherited": true}))]),
        )
        .await;
        assert_eq!(code, 1, "{l}");
        assert_eq!(
            // Python says "missing ), unterminated subpattern at position 0";
            // the fault class and code are upstream's, the detail is the regex crate's
            msg,
            "<class 're.error'>: unclosed group",
            "{l}"
        );
        // ... but only when inheritance is read
        let own = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "leaf"}))]),
            )
            .await?;
        assert_eq!(own, json!([]), "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn listing_by_owner_package_and_event() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.user("bob", "pw", &[]).await?;
        th.user("alice", "pw", &[]).await?;
        create_tag(&th, &admin, "a").await?;
        create_tag(&th, &admin, "b").await?;
        th.call(&admin, "packageListAdd", json!(["a", "foo", "bob"]))
            .await?;
        th.call(&admin, "packageListAdd", json!(["b", "foo", "alice"]))
            .await?;
        th.call(&admin, "packageListAdd", json!(["b", "bar", "bob"]))
            .await?;
        let ev = last_event(&th, &admin).await?;

        let by_bob = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"userID": "bob"}))]),
            )
            .await?;
        assert_eq!(
            summary(&by_bob)
                .iter()
                .map(|e| (e.0.clone(), e.1.clone()))
                .collect::<Vec<_>>(),
            vec![(s("foo"), s("a")), (s("bar"), s("b"))],
            "{l}"
        );
        // by package: one entry per package unless duplicates are asked for
        let foo = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"pkgID": "foo", "with_dups": true}))]),
            )
            .await?;
        assert_eq!(
            summary(&foo)
                .iter()
                .map(|e| (e.1.clone(), e.2.clone()))
                .collect::<Vec<_>>(),
            vec![(s("a"), s("bob")), (s("b"), s("alice"))],
            "{l}"
        );
        let foo = th
            .call(&admin, "listPackages", json!([kw(json!({"pkgID": "foo"}))]))
            .await?;
        assert_eq!(summary(&foo).len(), 1, "{l}");

        // history: as of an earlier event
        th.call(&admin, "packageListSetOwner", json!(["a", "foo", "alice"]))
            .await?;
        th.call(&admin, "packageListRemove", json!(["b", "bar"]))
            .await?;
        let now = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"userID": "bob"}))]),
            )
            .await?;
        assert_eq!(now, json!([]), "{l}");
        let then = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"userID": "bob", "event": ev}))]),
            )
            .await?;
        assert_eq!(then, by_bob, "{l}");
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["a", "foo", ev]))
            .await?;
        assert_eq!(cfg["owner_name"], json!("bob"), "{l}");
        let cfg = th
            .call(&admin, "getPackageConfig", json!(["a", "foo"]))
            .await?;
        assert_eq!(cfg["owner_name"], json!("alice"), "{l}");

        // prefix and queryOpts on entries (applied in memory, as upstream)
        th.call(&admin, "packageListAdd", json!(["b", "Food", "bob"]))
            .await?;
        let list = th
            .call(
                &admin,
                "listPackages",
                json!([kw(
                    json!({"tagID": "b", "prefix": "FO", "queryOpts": {"order": "-package_name"}})
                )]),
            )
            .await?;
        assert_eq!(
            summary(&list)
                .iter()
                .map(|e| e.0.clone())
                .collect::<Vec<_>>(),
            vec![s("foo"), s("Food")],
            "{l}"
        );
        let n = th
            .call(
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "b", "queryOpts": {"countOnly": true}}))]),
            )
            .await?;
        assert_eq!(n, json!(2), "{l}");
        assert_eq!(
            fault(
                &th,
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "b", "queryOpts": {"order": "nope"}}))])
            )
            .await,
            (1, s("<class 'KeyError'>: 'nope'")),
            "{l}"
        );

        // bad filters
        assert_eq!(
            fault(
                &th,
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "nope"}))])
            )
            .await,
            (1000, s("No such entry in table tag: nope")),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listPackages",
                json!([kw(json!({"userID": "nobody"}))])
            )
            .await,
            (1000, s("No such user: 'nobody'")),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listPackages",
                json!([kw(json!({"pkgID": "nope"}))])
            )
            .await,
            (1000, s("No such entry in table package: nope")),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listPackages",
                json!([kw(
                    json!({"userID": "bob", "with_owners": false, "event": "x"})
                )])
            )
            .await,
            (
                1000,
                s("userID and with_owners=False can't be used together")
            ),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listPackages",
                json!([kw(json!({"tagID": "a", "event": "x"}))])
            )
            .await,
            (1000, s("Invalid event: 'x'")),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn listing_every_package() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let mut ids = vec![];
        for name in ["foo", "Food", "bar", "fo_x", "fooz"] {
            let p = th
                .call(
                    &admin,
                    "getPackage",
                    json!([name, kw(json!({"create": true}))]),
                )
                .await?;
            ids.push(p["id"].clone());
        }
        let all = th.call(&admin, "listPackages", json!([])).await?;
        let expect: Vec<Json> = ["foo", "Food", "bar", "fo_x", "fooz"]
            .iter()
            .zip(&ids)
            .map(|(n, id)| json!({"package_id": id, "package_name": n}))
            .collect();
        assert_eq!(all, Json::Array(expect.clone()), "{l}");
        assert_eq!(
            th.call(&admin, "listPackagesSimple", json!([])).await?,
            Json::Array(expect),
            "{l}"
        );

        // prefix: case-insensitive, '_' is a wildcard (upstream's ILIKE)
        let names = |v: &Json| -> Vec<String> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .map(|e| e["package_name"].as_str().unwrap_or("?").to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let got = th
            .call(&admin, "listPackagesSimple", json!(["FOO"]))
            .await?;
        assert_eq!(names(&got), vec![s("foo"), s("Food"), s("fooz")], "{l}");
        let got = th
            .call(&admin, "listPackagesSimple", json!(["fo_"]))
            .await?;
        assert_eq!(
            names(&got),
            vec![s("foo"), s("Food"), s("fo_x"), s("fooz")],
            "{l}"
        );
        let got = th
            .call(&admin, "listPackages", json!([kw(json!({"prefix": "b"}))]))
            .await?;
        assert_eq!(names(&got), vec![s("bar")], "{l}");
        // an unknown event is ignored when no filter is given, as upstream
        th.call(&admin, "listPackages", json!([kw(json!({"event": "x"}))]))
            .await?;

        // queryOpts in the simple listing
        let got = th
            .call(
                &admin,
                "listPackagesSimple",
                json!([null, {"order": "-package_name", "limit": 2}]),
            )
            .await?;
        assert_eq!(names(&got), vec![s("fooz"), s("foo")], "{l}");
        let got = th
            .call(
                &admin,
                "listPackages",
                json!([kw(
                    json!({"queryOpts": {"order": "package.name", "offset": 3}})
                )]),
            )
            .await?;
        assert_eq!(names(&got), vec![s("foo"), s("fooz")], "{l}");
        let got = th
            .call(
                &admin,
                "listPackagesSimple",
                json!(["foo", {"asList": true, "order": "package_id"}]),
            )
            .await?;
        assert_eq!(
            got,
            json!([[ids[0], "foo"], [ids[1], "Food"], [ids[4], "fooz"]]),
            "{l}"
        );
        let got = th
            .call(
                &admin,
                "listPackagesSimple",
                json!([null, {"countOnly": true}]),
            )
            .await?;
        assert_eq!(got, json!(5), "{l}");
        assert_eq!(
            fault(
                &th,
                &admin,
                "listPackagesSimple",
                json!([null, {"order": "bogus"}])
            )
            .await,
            (1, s("<class 'Exception'>: Invalid order: bogus")),
            "{l}"
        );
    }
    Ok(())
}
