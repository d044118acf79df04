//! Tags and tag inheritance through upstream's API: createTag, editTag2,
//! editTag, deleteTag, getTag, getTagID, listTags, getInheritanceData,
//! setInheritanceData, getFullInheritance, getBuildConfig.

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

async fn create(th: &TestHub, who: &Caller, name: &str, opts: Json) -> Result<i64> {
    let id = th.call(who, "createTag", json!([name, kw(opts)])).await?;
    id.as_i64()
        .ok_or_else(|| Error::Generic(format!("createTag answered {id}")))
}

fn link(parent: i64, priority: i64) -> Json {
    json!({"parent_id": parent, "priority": priority, "maxdepth": null,
           "intransitive": false, "noconfig": false, "pkg_filter": ""})
}

#[tokio::test]
async fn create_and_get_tag() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = create(
            &th,
            &admin,
            "f40-build",
            json!({"arches": "x86_64  aarch64", "locked": true, "perm": "admin",
                   "extra": {"mock.package_manager": "dnf", "n": 3, "l": [1, "a"]}}),
        )
        .await?;
        let tag = th.call(&admin, "getTag", json!(["f40-build"])).await?;
        let admin_perm = th
            .hub
            .users()
            .lookup_perm(&json!("admin"))
            .await?
            .map(|p| p.id);
        assert_eq!(
            tag,
            json!({"id": id, "name": "f40-build", "perm_id": admin_perm, "perm": "admin",
                   "arches": "x86_64 aarch64", "locked": true, "maven_support": false,
                   "maven_include_all": false,
                   "extra": {"l": [1, "a"], "mock.package_manager": "dnf", "n": 3}}),
            "{}",
            th.label()
        );
        let keys: Vec<&String> = tag
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            // upstream's query sorts its columns by alias; extra comes after
            vec![
                "arches",
                "id",
                "locked",
                "maven_include_all",
                "maven_support",
                "name",
                "perm",
                "perm_id",
                "extra"
            ],
            "{}",
            th.label()
        );
        // by id, and by dict
        assert_eq!(
            th.call(&admin, "getTag", json!([id])).await?,
            tag,
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getTag", json!([{"name": "f40-build"}]))
                .await?,
            tag,
            "{}",
            th.label()
        );
        // defaults: no arches gives an empty string, no perm
        let plain = create(&th, &admin, "plain", json!({})).await?;
        let t = th.call(&admin, "getTag", json!([plain])).await?;
        assert_eq!(t["arches"], json!(""), "{}", th.label());
        assert_eq!(t["perm_id"], Json::Null, "{}", th.label());
        assert_eq!(t["locked"], json!(false), "{}", th.label());
        assert_eq!(t["extra"], json!({}), "{}", th.label());
        // missing tags
        assert_eq!(
            th.call(&admin, "getTag", json!(["nope"])).await?,
            Json::Null
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "getTag",
                json!(["nope", kw(json!({"strict": true}))])
            )
            .await,
            (1000, "No such tagInfo: 'nope'".to_string()),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "getTag", json!([99999, true])).await,
            (1000, "No such tagInfo: 99999".to_string())
        );
        assert_eq!(
            fault(&th, &admin, "getTag", json!([1.5])).await,
            (1019, "Invalid name or id value: 1.5".to_string())
        );
        assert_eq!(
            fault(&th, &admin, "getTag", json!(["f40-build", false, "bogus"])).await,
            (1000, "Invalid event: 'bogus'".to_string())
        );
        // getTagID
        assert_eq!(
            th.call(&admin, "getTagID", json!(["f40-build"])).await?,
            json!(id)
        );
        assert_eq!(th.call(&admin, "getTagID", json!([id])).await?, json!(id));
        assert_eq!(
            th.call(&admin, "getTagID", json!(["nope"])).await?,
            Json::Null
        );
        assert_eq!(
            fault(&th, &admin, "getTagID", json!(["nope", true])).await,
            (1000, "No such entry in table tag: nope".to_string())
        );
        // create=True records a bare name, which is not a tag yet
        let bare = th
            .call(&admin, "getTagID", json!(["bare", false, true]))
            .await?;
        assert!(bare.as_i64().is_some_and(|b| b > id), "{}", th.label());
        assert_eq!(
            th.call(&admin, "getTag", json!(["bare"])).await?,
            Json::Null
        );
        assert_eq!(th.call(&admin, "getTagID", json!(["bare"])).await?, bare);
        assert_eq!(
            fault(&th, &admin, "getTagID", json!([99999, false, true])).await,
            (1000, "Name must be a string".to_string())
        );
        let reused = create(&th, &admin, "bare", json!({})).await?;
        assert_eq!(json!(reused), bare, "{}", th.label());
    }
    Ok(())
}

#[tokio::test]
async fn create_tag_refusals_and_bad_input() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let anon = Caller::anonymous("127.0.0.1");
        assert_eq!(
            fault(&th, &bob, "createTag", json!(["t1"])).await,
            (
                1004,
                "tag permission required (logged in as bob)".to_string()
            ),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &anon, "createTag", json!(["t1"])).await,
            (
                1004,
                "tag permission required (user not logged in)".to_string()
            )
        );
        // the tag permission is enough
        let tagger = th.user("tagger", "pw", &["tag"]).await?;
        create(&th, &tagger, "t1", json!({})).await?;

        let cases = [
            (json!(["t1"]), "A tag with the name 't1' already exists"),
            (
                json!(["bad name"]),
                "Name bad name does not match RegexNameInternal value",
            ),
            (json!([5]), "Name should be string"),
            (
                json!(["t2", "missing"]),
                "Parent tag 'missing' could not be found",
            ),
            (
                json!(["t2", kw(json!({"arches": "x86_64,ppc64le"}))]),
                "Architecture can be only [a-zA-Z0-9_-]",
            ),
            (
                json!(["t2", kw(json!({"perm": "nosuchperm"}))]),
                "No such entry in table permissions: nosuchperm",
            ),
            (
                json!(["t2", kw(json!({"maven_support": true}))]),
                "Maven support not enabled",
            ),
        ];
        for (params, msg) in cases {
            assert_eq!(
                fault(&th, &admin, "createTag", params.clone()).await,
                (1000, msg.to_string()),
                "{} {params}",
                th.label()
            );
        }
        let long = "x".repeat(257);
        assert_eq!(
            fault(&th, &admin, "createTag", json!([long])).await.1,
            format!("Name {long} is too long. Max length is 256 characters")
        );
        // nothing was left behind by the failures
        assert_eq!(
            th.call(&admin, "getTagID", json!(["t2"])).await?,
            Json::Null
        );
        // a list of arches is accepted too
        let t3 = create(&th, &admin, "t3", json!({"arches": ["i686", "x86_64"]})).await?;
        assert_eq!(
            th.call(&admin, "getTag", json!([t3])).await?["arches"],
            json!("i686 x86_64")
        );
    }
    Ok(())
}

#[tokio::test]
async fn edit_tag_changes_config_name_and_extra_with_history() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let id = create(
            &th,
            &admin,
            "old",
            json!({"arches": "x86_64",
            "extra": {"a": 1, "b": "two", "c": true}}),
        )
        .await?;
        let before = last_event(&th, &admin).await?;
        assert_eq!(
            fault(
                &th,
                &bob,
                "editTag2",
                json!(["old", kw(json!({"locked": true}))])
            )
            .await,
            (
                1004,
                "tag permission required (logged in as bob)".to_string()
            )
        );
        let r = th
            .call(
                &admin,
                "editTag2",
                json!([
                    "old",
                    kw(json!({"name": "new", "arches": "aarch64 x86_64",
                    "locked": true, "perm": "admin",
                    "extra": {"a": 2, "d": null}, "remove_extra": ["b"]}))
                ]),
            )
            .await?;
        assert_eq!(r, Json::Null);
        let admin_perm = th
            .hub
            .users()
            .lookup_perm(&json!("admin"))
            .await?
            .map(|p| p.id);
        let now = th.call(&admin, "getTag", json!(["new"])).await?;
        assert_eq!(
            now,
            json!({"id": id, "name": "new", "perm_id": admin_perm, "perm": "admin",
                   "arches": "aarch64 x86_64", "locked": true, "maven_support": false,
                   "maven_include_all": false, "extra": {"a": 2, "c": true, "d": null}}),
            "{}",
            th.label()
        );
        assert_eq!(th.call(&admin, "getTag", json!(["old"])).await?, Json::Null);
        // as of the earlier event: the old config and extra, under the current name
        let then = th
            .call(&admin, "getTag", json!([id, kw(json!({"event": before}))]))
            .await?;
        assert_eq!(
            then,
            json!({"id": id, "name": "new", "perm_id": null, "perm": null,
                   "arches": "x86_64", "locked": false, "maven_support": false,
                   "maven_include_all": false, "extra": {"a": 1, "b": "two", "c": true},
                   "query_event": before}),
            "{}",
            th.label()
        );
        // block an extra key; blocked=True shows it
        th.call(
            &admin,
            "editTag2",
            json!([id, kw(json!({"block_extra": ["c"]}))]),
        )
        .await?;
        let t = th.call(&admin, "getTag", json!([id])).await?;
        assert_eq!(t["extra"], json!({"a": 2, "d": null}), "{}", th.label());
        let t = th
            .call(&admin, "getTag", json!([id, kw(json!({"blocked": true}))]))
            .await?;
        assert_eq!(
            t["extra"],
            json!({"a": [false, 2], "c": [true, null], "d": [false, null]}),
            "{}",
            th.label()
        );
        // perm_id None clears the permission; same values change nothing
        let ev = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "editTag2",
            json!([id, kw(json!({"perm_id": null}))]),
        )
        .await?;
        assert_eq!(
            th.call(&admin, "getTag", json!([id])).await?["perm"],
            Json::Null
        );
        let ev2 = last_event(&th, &admin).await?;
        assert!(ev2 > ev, "{}", th.label());
        th.call(
            &admin,
            "editTag2",
            json!([
                id,
                kw(json!({"locked": true, "arches": "aarch64 x86_64",
            "extra": {"a": 2}, "unknown_key": 1}))
            ]),
        )
        .await?;
        assert_eq!(
            last_event(&th, &admin).await?,
            ev2,
            "no-op edit opened an event"
        );

        // refusals
        create(&th, &admin, "other", json!({})).await?;
        let other_id = th.call(&admin, "getTagID", json!(["other"])).await?;
        let cases = [
            (
                json!(["new", kw(json!({"name": "other"}))]),
                (1000, format!("Name other already taken by tag {other_id}")),
            ),
            (
                json!(["new", kw(json!({"name": "bad name"}))]),
                (
                    1000,
                    "Name bad name does not match RegexNameInternal value".to_string(),
                ),
            ),
            (
                json!(["nope", kw(json!({"locked": false}))]),
                (1000, "No such tagInfo: 'nope'".to_string()),
            ),
            (
                json!(["new", kw(json!({"extra": {"x": 1}, "remove_extra": ["x"]}))]),
                (
                    1000,
                    "Can not both add/update and remove tag-extra: 'x'".to_string(),
                ),
            ),
            (
                json!(["new", kw(json!({"remove_extra": ["zz", "a", "yy"]}))]),
                (1000, "Tag: new doesn't have extra: zz, yy".to_string()),
            ),
            (
                json!(["new", kw(json!({"remove_extra": "a"}))]),
                (
                    1019,
                    "Invalid type for value 'a': <class 'str'>, expected type <class 'list'>"
                        .to_string(),
                ),
            ),
            (
                json!(["new", kw(json!({"maven_support": false}))]),
                (1000, "Maven support not enabled".to_string()),
            ),
            (
                json!(["new", kw(json!({"perm": "nosuch"}))]),
                (
                    1000,
                    "No such entry in table permissions: nosuch".to_string(),
                ),
            ),
            (
                json!(["new", kw(json!({"arches": "a,b"}))]),
                (1000, "Architecture can be only [a-zA-Z0-9_-]".to_string()),
            ),
        ];
        for (params, expected) in cases {
            assert_eq!(
                fault(&th, &admin, "editTag2", params.clone()).await,
                expected,
                "{} {params}",
                th.label()
            );
        }
        // failed edits leave everything as it was
        assert_eq!(
            th.call(&admin, "getTag", json!([id])).await?["name"],
            json!("new")
        );
        assert_eq!(
            th.call(&admin, "getTag", json!([id])).await?["extra"],
            json!({"a": 2, "d": null})
        );
    }
    Ok(())
}

#[tokio::test]
async fn legacy_edit_tag_behaves_as_upstream() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = create(&th, &admin, "t", json!({})).await?;
        // upstream 1.35 fails when extra is left at None
        assert_eq!(
            fault(
                &th,
                &admin,
                "editTag",
                json!([id, "t", "x86_64", true, null])
            )
            .await,
            (
                1,
                "<class 'TypeError'>: 'NoneType' object is not iterable".to_string()
            ),
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getTag", json!([id])).await?["locked"],
            json!(false)
        );
        th.call(
            &admin,
            "editTag",
            json!([id, "t2", "x86_64", true, null, {"k": "v"}]),
        )
        .await?;
        let t = th.call(&admin, "getTag", json!([id])).await?;
        assert_eq!(
            (
                t["name"].clone(),
                t["arches"].clone(),
                t["locked"].clone(),
                t["extra"].clone()
            ),
            (json!("t2"), json!("x86_64"), json!(true), json!({"k": "v"})),
            "{}",
            th.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn delete_tag_revokes_and_keeps_history() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let parent = create(&th, &admin, "parent", json!({})).await?;
        let id = create(
            &th,
            &admin,
            "doomed",
            json!({"parent": "parent", "arches": "x86_64",
            "extra": {"k": 1}}),
        )
        .await?;
        let child = create(&th, &admin, "child", json!({"parent": id})).await?;
        let alive = last_event(&th, &admin).await?;
        assert_eq!(
            fault(&th, &bob, "deleteTag", json!(["doomed"])).await,
            (
                1004,
                "tag permission required (logged in as bob)".to_string()
            )
        );
        assert_eq!(
            fault(&th, &admin, "deleteTag", json!(["nope"])).await,
            (1000, "No such tagInfo: 'nope'".to_string())
        );
        assert_eq!(
            th.call(&admin, "deleteTag", json!(["doomed"])).await?,
            Json::Null
        );
        let deleted = last_event(&th, &admin).await?;
        assert_eq!(
            th.call(&admin, "getTag", json!(["doomed"])).await?,
            Json::Null
        );
        // the name stays known
        assert_eq!(
            th.call(&admin, "getTagID", json!(["doomed"])).await?,
            json!(id)
        );
        // inheritance both ways is gone now, but readable as of before
        assert_eq!(
            th.call(&admin, "getInheritanceData", json!([id])).await?,
            json!([])
        );
        assert_eq!(
            th.call(&admin, "getInheritanceData", json!([child]))
                .await?,
            json!([])
        );
        let old = th
            .call(&admin, "getInheritanceData", json!([child, alive]))
            .await?;
        assert_eq!(old[0]["parent_id"], json!(id), "{}", th.label());
        let old_tag = th.call(&admin, "getTag", json!([id, false, alive])).await?;
        assert_eq!(old_tag["arches"], json!("x86_64"));
        assert_eq!(old_tag["extra"], json!({"k": 1}));
        // event="auto": the config just before deletion
        let auto = th
            .call(&admin, "getTag", json!(["doomed", false, "auto"]))
            .await?;
        assert_eq!(
            auto,
            json!({"id": id, "name": "doomed", "perm_id": null, "perm": null,
                   "arches": "x86_64", "locked": false, "maven_support": false,
                   "maven_include_all": false, "revoke_event": deleted,
                   "extra": {"k": 1}, "query_event": deleted - 1}),
            "{}",
            th.label()
        );
        // for a live tag, auto is now
        let live = th
            .call(&admin, "getTag", json!(["parent", false, "auto"]))
            .await?;
        assert_eq!(live, th.call(&admin, "getTag", json!(["parent"])).await?);
        assert_eq!(live["id"], json!(parent));
        // a new tag of the same name reuses the id
        let again = create(&th, &admin, "doomed", json!({})).await?;
        assert_eq!(again, id, "{}", th.label());
        assert_eq!(
            th.call(&admin, "getTag", json!([id])).await?["extra"],
            json!({})
        );
    }
    Ok(())
}

#[tokio::test]
async fn inheritance_data_set_and_validated() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let a = create(&th, &admin, "a", json!({})).await?;
        let b = create(&th, &admin, "b", json!({})).await?;
        let c = create(&th, &admin, "c", json!({"parent": "a"})).await?;
        assert_eq!(
            th.call(&admin, "getInheritanceData", json!(["c"])).await?,
            json!([{"parent_id": a, "name": "a", "priority": 0, "maxdepth": null,
                    "intransitive": false, "noconfig": false, "pkg_filter": "",
                    "child_id": c}]),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "getInheritanceData", json!(["nope"])).await,
            (1000, "No such entry in table tag: nope".to_string())
        );
        // the tag is looked up before the permission is checked
        assert_eq!(
            fault(&th, &bob, "setInheritanceData", json!(["nope", []])).await,
            (1000, "No such entry in table tag: nope".to_string())
        );
        assert_eq!(
            fault(&th, &bob, "setInheritanceData", json!(["c", [link(b, 10)]])).await,
            (
                1004,
                "tag permission required (logged in as bob)".to_string()
            )
        );
        let mut missing = link(b, 10);
        missing.as_object_mut().map(|m| m.remove("noconfig"));
        let cases = [
            (json!(["c", [missing]]), "No value for noconfig".to_string()),
            (
                json!(["c", [link(99999, 10)]]),
                "No such tagInfo: 99999".to_string(),
            ),
            (
                json!(["c", [link(b, 0)]]),
                format!(
                    "Multiple parent tags ([{a}, {b}]) cannot have the same priority \
                      value (0) on child tag {c}"
                ),
            ),
            (
                json!(["c", {"delete link": true}]),
                "No value for parent_id".to_string(),
            ),
        ];
        for (params, msg) in cases {
            assert_eq!(
                fault(&th, &admin, "setInheritanceData", params.clone()).await,
                (1000, msg),
                "{} {params}",
                th.label()
            );
        }
        let before = last_event(&th, &admin).await?;
        // add b (a single dict is accepted), then change a
        th.call(&admin, "setInheritanceData", json!(["c", link(b, 10)]))
            .await?;
        let mut changed = link(a, 20);
        changed["maxdepth"] = json!(2);
        changed["pkg_filter"] = json!("^foo");
        th.call(&admin, "setInheritanceData", json!([c, [changed]]))
            .await?;
        let data = th.call(&admin, "getInheritanceData", json!([c])).await?;
        let summary: Vec<(Json, Json, Json, Json)> = data
            .as_array()
            .map(|v| {
                v.iter()
                    .map(|l| {
                        (
                            l["parent_id"].clone(),
                            l["priority"].clone(),
                            l["maxdepth"].clone(),
                            l["pkg_filter"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            summary,
            vec![
                (json!(b), json!(10), json!(null), json!("")),
                (json!(a), json!(20), json!(2), json!("^foo"))
            ],
            "{}",
            th.label()
        );
        // unchanged data writes nothing
        let ev = last_event(&th, &admin).await?;
        th.call(&admin, "setInheritanceData", json!([c, data.clone()]))
            .await?;
        assert_eq!(last_event(&th, &admin).await?, ev, "{}", th.label());
        // delete one link
        th.call(
            &admin,
            "setInheritanceData",
            json!([c, [{"parent_id": b, "delete link": true}]]),
        )
        .await?;
        let data = th.call(&admin, "getInheritanceData", json!([c])).await?;
        assert_eq!(data.as_array().map(Vec::len), Some(1));
        assert_eq!(data[0]["parent_id"], json!(a));
        // clear replaces everything
        th.call(&admin, "setInheritanceData", json!([c, [link(b, 5)], true]))
            .await?;
        let data = th.call(&admin, "getInheritanceData", json!([c])).await?;
        assert_eq!(data.as_array().map(Vec::len), Some(1), "{}", th.label());
        assert_eq!(data[0]["parent_id"], json!(b));
        // history
        let old = th
            .call(&admin, "getInheritanceData", json!([c, before]))
            .await?;
        assert_eq!(old.as_array().map(Vec::len), Some(1));
        assert_eq!(old[0]["parent_id"], json!(a));
        assert_eq!(old[0]["priority"], json!(0));
    }
    Ok(())
}

/// (parent, currdepth, nextdepth, filter) of each link.
fn shape(links: &Json) -> Vec<(String, i64, Json, Json)> {
    links
        .as_array()
        .map(|v| {
            v.iter()
                .map(|l| {
                    (
                        l["name"].as_str().unwrap_or("?").to_string(),
                        l["currdepth"].as_i64().unwrap_or(-1),
                        l["nextdepth"].clone(),
                        l["filter"].clone(),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn full_inheritance_follows_upstream_rules() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let mut ids = std::collections::HashMap::new();
        for name in ["top", "p1", "p2", "g1", "g2", "deep"] {
            ids.insert(name, create(&th, &admin, name, json!({})).await?);
        }
        let id = |n: &str| ids[n];
        // top -> p1 (pri 10, filter ^a), top -> p2 (pri 20, maxdepth 1)
        // p1 -> g1, p1 -> g2 (intransitive), p2 -> g1 -> deep
        let mut l1 = link(id("p1"), 10);
        l1["pkg_filter"] = json!("^a");
        let mut l2 = link(id("p2"), 20);
        l2["maxdepth"] = json!(1);
        th.call(&admin, "setInheritanceData", json!(["top", [l1, l2]]))
            .await?;
        let mut l3 = link(id("g2"), 20);
        l3["intransitive"] = json!(true);
        th.call(
            &admin,
            "setInheritanceData",
            json!(["p1", [link(id("g1"), 10), l3]]),
        )
        .await?;
        th.call(
            &admin,
            "setInheritanceData",
            json!(["p2", [link(id("g1"), 10)]]),
        )
        .await?;
        th.call(
            &admin,
            "setInheritanceData",
            json!(["g1", [link(id("deep"), 10)]]),
        )
        .await?;
        let full = th
            .call(&admin, "getFullInheritance", json!(["top"]))
            .await?;
        assert_eq!(
            shape(&full),
            vec![
                ("p1".into(), 1, json!(null), json!(["^a"])),
                ("g1".into(), 2, json!(null), json!(["^a"])),
                ("deep".into(), 3, json!(null), json!(["^a"])),
                // g2 is intransitive below the top: skipped
                ("p2".into(), 1, json!(1), json!([])),
                // g1 again: the earlier visit had a filter, so it is listed again
                ("g1".into(), 2, json!(0), json!([])),
            ],
            "{}",
            th.label()
        );
        // exact keys and values of a forward link
        assert_eq!(
            full[0],
            json!({"parent_id": id("p1"), "name": "p1", "priority": 10, "maxdepth": null,
                   "intransitive": false, "noconfig": false, "pkg_filter": "^a",
                   "child_id": id("top"), "nextdepth": null, "currdepth": 1,
                   "filter": ["^a"]}),
            "{}",
            th.label()
        );
        // from p1 the intransitive link counts
        let p1 = th
            .call(&admin, "getFullInheritance", json!([id("p1")]))
            .await?;
        assert_eq!(
            shape(&p1).into_iter().map(|s| s.0).collect::<Vec<_>>(),
            vec!["g1", "deep", "g2"],
            "{}",
            th.label()
        );
        // reverse: descendants of g1, with upstream's tag_id key
        let rev = th
            .call(
                &admin,
                "getFullInheritance",
                json!(["g1", kw(json!({"reverse": true}))]),
            )
            .await?;
        // top is reached again through p2: the first visit carried the
        // ^a filter of the top -> p1 link, so it did not cover this one
        assert_eq!(
            shape(&rev),
            vec![
                ("p1".into(), 1, json!(null), json!([])),
                ("top".into(), 2, json!(null), json!(["^a"])),
                ("p2".into(), 1, json!(null), json!([])),
                ("top".into(), 2, json!(null), json!([])),
            ],
            "{}",
            th.label()
        );
        assert_eq!(
            rev[0],
            json!({"tag_id": id("p1"), "parent_id": id("g1"), "name": "p1", "priority": 10,
                   "maxdepth": null, "intransitive": false, "noconfig": false,
                   "pkg_filter": "", "nextdepth": null, "currdepth": 1, "filter": []}),
            "{}",
            th.label()
        );
        // a loop is pruned
        let before_loop = last_event(&th, &admin).await?;
        th.call(
            &admin,
            "setInheritanceData",
            json!(["deep", [link(id("top"), 10)]]),
        )
        .await?;
        let looped = th
            .call(&admin, "getFullInheritance", json!(["top"]))
            .await?;
        assert_eq!(shape(&looped), shape(&full), "{}", th.label());
        // as of an event
        let deep_then = th
            .call(&admin, "getFullInheritance", json!(["deep", before_loop]))
            .await?;
        assert_eq!(deep_then, json!([]));
        let deep_now = th
            .call(&admin, "getFullInheritance", json!(["deep"]))
            .await?;
        assert_eq!(deep_now[0]["name"], json!("top"));
        // errors
        assert_eq!(
            fault(&th, &admin, "getFullInheritance", json!(["nope"])).await,
            (1000, "No such entry in table tag: nope".to_string())
        );
        assert_eq!(
            th.call(&admin, "getFullInheritance", json!([99999]))
                .await?,
            json!([])
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "getFullInheritance",
                json!(["top", kw(json!({"stops": {"x": 1}}))])
            )
            .await,
            (1019, "stops option has been removed since 1.26".to_string())
        );
        th.call(
            &admin,
            "getFullInheritance",
            json!(["top", kw(json!({"jumps": {}}))]),
        )
        .await?;
        assert_eq!(
            fault(
                &th,
                &admin,
                "getFullInheritance",
                json!(["top", kw(json!({"bogus": 1}))])
            )
            .await,
            (
                1019,
                "getFullInheritance() got an unexpected keyword argument 'bogus'".to_string()
            )
        );
        // the typed view other areas use
        let links = th
            .hub
            .tags()
            .full_inheritance(id("top"), None, false)
            .await?;
        assert_eq!(links.len(), 5);
        assert_eq!(links[1].filter, vec!["^a".to_string()]);
        let r = th.hub.tags().resolve(&json!("p2"), None, true).await?;
        assert_eq!(r.map(|t| t.id), Some(id("p2")));
        assert_eq!(
            th.hub
                .tags()
                .resolve(&json!("nope"), None, true)
                .await
                .map_err(|e| e.to_string()),
            Err("No such tagInfo: 'nope'".to_string())
        );
    }
    Ok(())
}

#[tokio::test]
async fn maxdepth_and_noconfig_propagate() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        // chain: t0 -> t1 -> t2 -> t3 -> t4
        let mut ids = vec![];
        for i in 0..5 {
            ids.push(create(&th, &admin, &format!("t{i}"), json!({})).await?);
        }
        let mut first = link(ids[1], 0);
        first["maxdepth"] = json!(2);
        first["noconfig"] = json!(true);
        th.call(&admin, "setInheritanceData", json!([ids[0], [first]]))
            .await?;
        for i in 1..4 {
            th.call(
                &admin,
                "setInheritanceData",
                json!([ids[i], [link(ids[i + 1], 0)]]),
            )
            .await?;
        }
        let full = th
            .call(&admin, "getFullInheritance", json!([ids[0]]))
            .await?;
        assert_eq!(
            shape(&full),
            vec![
                ("t1".into(), 1, json!(2), json!([])),
                ("t2".into(), 2, json!(1), json!([])),
                ("t3".into(), 3, json!(0), json!([]))
            ],
            "{}",
            th.label()
        );
        // reverse: a link's maxdepth limits how far below it descendants are found
        let rev = th
            .call(
                &admin,
                "getFullInheritance",
                json!([ids[4], kw(json!({"reverse": true}))]),
            )
            .await?;
        assert_eq!(
            shape(&rev).into_iter().map(|s| s.0).collect::<Vec<_>>(),
            vec!["t3", "t2", "t1"],
            "{}",
            th.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn build_config_inherits_arches_and_extra() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let base = create(
            &th,
            &admin,
            "base",
            json!({"arches": "x86_64",
            "extra": {"a": 1, "b": 2, "c": 3}}),
        )
        .await?;
        let mid = create(
            &th,
            &admin,
            "mid",
            json!({"parent": "base", "extra": {"b": 20}}),
        )
        .await?;
        let top = create(&th, &admin, "top", json!({"parent": "mid"})).await?;
        // build config takes arches from the first ancestor that has them
        th.call(
            &admin,
            "editTag2",
            json!([top, kw(json!({"arches": null, "block_extra": ["c"]}))]),
        )
        .await?;
        // an empty arches string counts as set: mid still has "" from createTag
        let cfg = th.call(&admin, "getBuildConfig", json!(["top"])).await?;
        assert_eq!(cfg["arches"], json!(""), "{}", th.label());
        assert_eq!(
            cfg["config_inheritance"]["arches"],
            json!({"id": mid, "name": "mid"})
        );
        th.call(
            &admin,
            "editTag2",
            json!([mid, kw(json!({"arches": null}))]),
        )
        .await?;
        let cfg = th.call(&admin, "getBuildConfig", json!(["top"])).await?;
        assert_eq!(
            cfg,
            json!({"id": top, "name": "top", "perm_id": null, "perm": null,
                   "arches": "x86_64", "locked": false, "maven_support": false,
                   "maven_include_all": false, "extra": {"b": 20, "a": 1},
                   "config_inheritance": {
                       "extra": {"b": {"id": mid, "name": "mid"},
                                 "a": {"id": base, "name": "base"}},
                       "arches": {"id": base, "name": "base"}}}),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "getBuildConfig", json!(["nope"])).await,
            (1000, "No such tagInfo: 'nope'".to_string())
        );
    }
    Ok(())
}

#[tokio::test]
async fn list_tags_filters() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let a = create(
            &th,
            &admin,
            "f40-build",
            json!({"arches": "x86_64", "perm": "admin"}),
        )
        .await?;
        let b = create(&th, &admin, "f40_updates", json!({})).await?;
        let c = create(&th, &admin, "F41", json!({})).await?;
        let gone = create(&th, &admin, "gone", json!({})).await?;
        th.call(&admin, "deleteTag", json!([gone])).await?;
        let all = th.call(&admin, "listTags", json!([])).await?;
        let ids: Vec<i64> = all
            .as_array()
            .map(|v| v.iter().filter_map(|t| t["id"].as_i64()).collect())
            .unwrap_or_default();
        assert_eq!(ids, vec![a, b, c], "{}", th.label());
        assert_eq!(
            all[0],
            json!({"id": a, "name": "f40-build", "arches": "x86_64", "locked": false,
                   "maven_support": false, "maven_include_all": false,
                   "perm_id": all[0]["perm_id"].clone(), "perm": "admin"}),
            "{}",
            th.label()
        );
        assert!(all[0]["perm_id"].is_i64());
        let noperms = th
            .call(&admin, "listTags", json!([kw(json!({"perms": false}))]))
            .await?;
        assert_eq!(
            noperms[0],
            json!({"id": a, "name": "f40-build", "arches": "x86_64", "locked": false,
                   "maven_support": false, "maven_include_all": false}),
            "{}",
            th.label()
        );
        let names = |v: &Json| -> Vec<String> {
            v.as_array()
                .map(|v| {
                    v.iter()
                        .filter_map(|t| t["name"].as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        // glob, case-insensitive; '_' is literal, '?' one character
        let p = th
            .call(&admin, "listTags", json!([kw(json!({"pattern": "f4?*"}))]))
            .await?;
        assert_eq!(
            names(&p),
            vec!["f40-build", "f40_updates", "F41"],
            "{}",
            th.label()
        );
        let p = th
            .call(&admin, "listTags", json!([kw(json!({"pattern": "f40_*"}))]))
            .await?;
        assert_eq!(names(&p), vec!["f40_updates"], "{}", th.label());
        let p = th
            .call(&admin, "listTags", json!([kw(json!({"pattern": "f41"}))]))
            .await?;
        assert_eq!(names(&p), vec!["F41"], "{}", th.label());
        // queryOpts
        let q = th
            .call(
                &admin,
                "listTags",
                json!([kw(json!({"queryOpts": {"order": "-name", "limit": 2}}))]),
            )
            .await?;
        assert_eq!(
            names(&q),
            vec!["f40_updates", "f40-build"],
            "{}",
            th.label()
        );
        let q = th
            .call(
                &admin,
                "listTags",
                json!([kw(json!({"queryOpts": {"countOnly": true}}))]),
            )
            .await?;
        assert_eq!(q, json!(3), "{}", th.label());
        let q = th
            .call(
                &admin,
                "listTags",
                json!([kw(json!({"perms": false, "queryOpts": {"asList": true, "order": "tag.id", "limit": 1}}))]),
            )
            .await?;
        assert_eq!(
            q,
            json!([["x86_64", a, false, false, false, "f40-build"]]),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "listTags", json!([1, 2])).await,
            (
                1000,
                "only one of build and package may be specified".to_string()
            )
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listTags",
                json!([kw(json!({"package": "nosuch"}))])
            )
            .await,
            (1000, "No such package: nosuch".to_string())
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listTags",
                json!([kw(json!({"build": 12345}))])
            )
            .await,
            (1000, "No such build: 12345".to_string())
        );
    }
    Ok(())
}
