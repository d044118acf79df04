//! Build hosts and channels through upstream's API: addHost, editHost,
//! enableHost, disableHost, getHost, listHosts, getLastHostUpdate,
//! getAllArches, addChannel, editChannel, renameChannel, enableChannel,
//! disableChannel, addHostToChannel, removeHostFromChannel, listChannels,
//! getChannel.

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

fn gen(msg: &str) -> (i32, String) {
    (1000, msg.to_string())
}

async fn last_event(th: &TestHub, who: &Caller) -> Result<i64> {
    let ev = th.call(who, "getLastEvent", json!([])).await?;
    ev["id"]
        .as_i64()
        .ok_or_else(|| Error::Generic(format!("no event id in {ev}")))
}

async fn add_host(th: &TestHub, who: &Caller, name: &str, arches: Json) -> Result<i64> {
    let id = th.call(who, "addHost", json!([name, arches])).await?;
    id.as_i64()
        .ok_or_else(|| Error::Generic(format!("addHost answered {id}")))
}

fn names(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .map(|x| x["name"].as_str().unwrap_or("?").to_string())
                .collect()
        })
        .unwrap_or_default()
}

fn channel(id: i64, name: &str, description: Json, enabled: bool, comment: Json) -> Json {
    json!({"id": id, "name": name, "description": description, "enabled": enabled,
           "comment": comment})
}

#[tokio::test]
async fn add_and_get_hosts() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = add_host(
            &th,
            &admin,
            "builder1.example.com",
            json!(["x86_64", "i686"]),
        )
        .await?;
        let user = th
            .call(&admin, "getUser", json!(["builder1.example.com"]))
            .await?;
        assert_eq!(user["usertype"], json!(1), "{}: {user}", th.label());
        let host = th
            .call(&admin, "getHost", json!(["builder1.example.com"]))
            .await?;
        let expected = json!({
            "id": id, "user_id": user["id"], "name": "builder1.example.com",
            "update_ts": null, "ready": false, "task_load": 0.0,
            "arches": "x86_64 i686", "capacity": 2.0, "description": null,
            "comment": null, "enabled": true,
        });
        assert_eq!(host, expected, "{}", th.label());
        assert!(
            host["capacity"].is_f64() && host["task_load"].is_f64(),
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getHost", json!([id])).await?,
            expected,
            "{}",
            th.label()
        );
        // every new host is in channel `default`
        let chans = th
            .call(&admin, "listChannels", json!([kw(json!({"hostID": id}))]))
            .await?;
        assert_eq!(
            chans,
            json!([channel(1, "default", json!(null), true, json!(null))]),
            "{}",
            th.label()
        );
        // a Kerberos principal for the host's user
        let id2 = th
            .call(
                &admin,
                "addHost",
                json!([
                    "b2",
                    ["aarch64"],
                    kw(json!({"krb_principal": "compile/b2@EXAMPLE.COM"}))
                ]),
            )
            .await?;
        let u2 = th
            .call(&admin, "getUser", json!(["compile/b2@EXAMPLE.COM"]))
            .await?;
        assert_eq!(u2["name"], json!("b2"), "{}", th.label());
        assert_eq!(
            th.call(&admin, "getHost", json!([id2])).await?["user_id"],
            u2["id"],
            "{}",
            th.label()
        );
        // a string of arches is joined character by character, as upstream does
        add_host(&th, &admin, "b3", json!("x86_64")).await?;
        assert_eq!(
            th.call(&admin, "getHost", json!(["b3"])).await?["arches"],
            json!("x 8 6 _ 6 4"),
            "{}",
            th.label()
        );
        // an existing host user (one that logged in before) is adopted
        th.hub.users().insert_user("b4", 1, 0, None).await?;
        let u4 = th.call(&admin, "getUser", json!(["b4"])).await?["id"].clone();
        add_host(&th, &admin, "b4", json!(["s390x"])).await?;
        assert_eq!(
            th.call(&admin, "getHost", json!(["b4"])).await?["user_id"],
            u4,
            "{}",
            th.label()
        );
        // a normal user only with force, which makes it a host user
        th.user("bob", "pw", &[]).await?;
        assert_eq!(
            fault(&th, &admin, "addHost", json!(["bob", ["x86_64"]])).await,
            gen("user bob already exists and it is not a host"),
            "{}",
            th.label()
        );
        th.call(&admin, "addHost", json!(["bob", ["x86_64"], null, true]))
            .await?;
        assert_eq!(
            th.call(&admin, "getUser", json!(["bob"])).await?["usertype"],
            json!(1),
            "{}",
            th.label()
        );
        // getHost misses
        assert_eq!(
            th.call(&admin, "getHost", json!(["nope"])).await?,
            Json::Null,
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "getHost", json!(["nope", true])).await,
            gen("Invalid hostInfo: nope"),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "getHost", json!([[1]])).await,
            (1019, "Invalid name or id value: [1]".to_string()),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "getHost", json!([id, false, "x"])).await,
            gen("Invalid event: 'x'"),
            "{}",
            th.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn add_host_faults() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        add_host(&th, &admin, "h1", json!(["x86_64"])).await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let anon = Caller::anonymous("127.0.0.1");
        assert_eq!(
            fault(&th, &bob, "addHost", json!(["h2", ["x86_64"]])).await,
            (
                1004,
                "host permission required (logged in as bob)".to_string()
            ),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &anon, "addHost", json!(["h2", ["x86_64"]])).await,
            (
                1004,
                "host permission required (user not logged in)".to_string()
            ),
            "{}",
            th.label()
        );
        let hank = th.user("hank", "pw", &["host"]).await?;
        add_host(&th, &hank, "h2", json!(["x86_64"])).await?;
        let cases = [
            (json!(["h1", ["x86_64"]]), gen("host already exists: h1")),
            (
                json!(["bad host", ["x86_64"]]),
                gen("Name bad host does not match RegexNameInternal value"),
            ),
            (
                json!(["a+b", ["x86_64"]]),
                gen("Name a+b does not match RegexUserName value"),
            ),
            (json!([5, ["x86_64"]]), gen("Name should be string")),
            (
                json!(["h3", ["x86_64!"]]),
                gen("Architecture can be only [a-zA-Z0-9_-]"),
            ),
            (
                json!(["h3", ["x86_64", 5]]),
                (
                    1,
                    "<class 'TypeError'>: sequence item 1: expected str instance, int found"
                        .to_string(),
                ),
            ),
            (
                json!(["h3", ["x86_64"], 7]),
                (
                    1019,
                    "Invalid type for value '7': <class 'int'>, expected type <class 'str'>"
                        .to_string(),
                ),
            ),
        ];
        for (params, want) in cases {
            assert_eq!(
                fault(&th, &hank, "addHost", params.clone()).await,
                want,
                "{}: {params}",
                th.label()
            );
        }
        // nothing of a refused host was left behind
        assert_eq!(
            th.call(&admin, "getUser", json!(["h3"])).await?,
            Json::Null,
            "{}",
            th.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn edit_enable_and_history() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = add_host(&th, &admin, "h1", json!(["x86_64"])).await?;
        let before = last_event(&th, &admin).await?;
        let changed = th
            .call(
                &admin,
                "editHost",
                json!([
                    "h1",
                    kw(json!({"capacity": 4, "description": "big box",
                                       "comment": "new", "arches": "x86_64 i686",
                                       "bogus": 1}))
                ]),
            )
            .await?;
        assert_eq!(changed, json!(true), "{}", th.label());
        assert_eq!(last_event(&th, &admin).await?, before + 1, "{}", th.label());
        let h = th.call(&admin, "getHost", json!([id])).await?;
        assert_eq!(
            (
                &h["capacity"],
                &h["description"],
                &h["comment"],
                &h["arches"],
                &h["enabled"]
            ),
            (
                &json!(4.0),
                &json!("big box"),
                &json!("new"),
                &json!("x86_64 i686"),
                &json!(true)
            ),
            "{}",
            th.label()
        );
        // the same values again change nothing
        let changed = th
            .call(
                &admin,
                "editHost",
                json!([id, kw(json!({"capacity": 4.0, "comment": "new"}))]),
            )
            .await?;
        assert_eq!(changed, json!(false), "{}", th.label());
        // as of the earlier event
        let old = th
            .call(
                &admin,
                "getHost",
                json!(["h1", kw(json!({"event": before}))]),
            )
            .await?;
        assert_eq!(
            (&old["capacity"], &old["description"], &old["arches"]),
            (&json!(2.0), &json!(null), &json!("x86_64")),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "editHost",
                json!(["h1", kw(json!({"description": 5}))])
            )
            .await,
            (
                1019,
                "Invalid type for value '5': <class 'int'>, expected type <class 'str'>"
                    .to_string()
            ),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "editHost",
                json!(["h1", kw(json!({"comment": null}))])
            )
            .await,
            (
                1019,
                "Invalid type, expected type <class 'str'>".to_string()
            ),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "editHost",
                json!(["nope", kw(json!({"comment": "x"}))])
            )
            .await,
            gen("Invalid hostInfo: nope"),
            "{}",
            th.label()
        );
        let bob = th.user("bob", "pw", &[]).await?;
        for (method, params) in [
            ("editHost", json!(["h1", kw(json!({"comment": "x"}))])),
            ("enableHost", json!(["h1"])),
            ("disableHost", json!(["h1"])),
        ] {
            assert_eq!(
                fault(&th, &bob, method, params).await,
                (
                    1004,
                    "host permission required (logged in as bob)".to_string()
                ),
                "{}: {method}",
                th.label()
            );
        }
        // disable and enable keep the rest of the configuration
        th.call(&admin, "disableHost", json!(["h1"])).await?;
        let h = th.call(&admin, "getHost", json!(["h1"])).await?;
        assert_eq!(
            (&h["enabled"], &h["capacity"], &h["comment"]),
            (&json!(false), &json!(4.0), &json!("new")),
            "{}",
            th.label()
        );
        let disabled = th
            .call(&admin, "listHosts", json!([kw(json!({"enabled": false}))]))
            .await?;
        assert_eq!(names(&disabled), vec!["h1"], "{}", th.label());
        th.call(&admin, "enableHost", json!(["h1"])).await?;
        assert_eq!(
            th.call(&admin, "getHost", json!(["h1"])).await?["enabled"],
            json!(true),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "enableHost", json!(["nope"])).await,
            gen("host does not exist: nope"),
            "{}",
            th.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn list_hosts_filters() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let h1 = add_host(&th, &admin, "h1", json!(["x86_64", "i686"])).await?;
        let h2 = add_host(&th, &admin, "h2", json!(["ppc64le", "ppc64"])).await?;
        let all = th.call(&admin, "listHosts", json!([])).await?;
        assert_eq!(names(&all), vec!["h1", "h2"], "{}", th.label());
        let keys: Vec<&String> = all[0]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(
            keys,
            vec![
                "arches",
                "capacity",
                "comment",
                "description",
                "enabled",
                "id",
                "name",
                "ready",
                "task_load",
                "update_ts",
                "user_id"
            ],
            "{}",
            th.label()
        );
        let by = |v: Json| {
            let th = &th;
            let admin = &admin;
            async move { th.call(admin, "listHosts", json!([kw(v)])).await }
        };
        assert_eq!(
            names(&by(json!({"arches": ["ppc"]})).await?),
            Vec::<String>::new()
        );
        assert_eq!(names(&by(json!({"arches": ["ppc64"]})).await?), vec!["h2"]);
        assert_eq!(names(&by(json!({"arches": "x86_64"})).await?), vec!["h1"]);
        assert_eq!(
            names(&by(json!({"arches": ["i686", "ppc64le"]})).await?),
            vec!["h1", "h2"]
        );
        assert_eq!(
            fault(&th, &admin, "listHosts", json!([kw(json!({"arches": []}))])).await,
            gen("arches option cannot be empty"),
            "{}",
            th.label()
        );
        th.call(&admin, "addHostToChannel", json!(["h2", "createrepo"]))
            .await?;
        assert_eq!(
            names(&by(json!({"channelID": "createrepo"})).await?),
            vec!["h2"]
        );
        assert_eq!(names(&by(json!({"channelID": 1})).await?), vec!["h1", "h2"]);
        assert_eq!(
            fault(
                &th,
                &admin,
                "listHosts",
                json!([kw(json!({"channelID": "nope"}))])
            )
            .await,
            gen("No such entry in table channels: nope"),
            "{}",
            th.label()
        );
        assert_eq!(names(&by(json!({"ready": false})).await?), vec!["h1", "h2"]);
        assert_eq!(
            names(&by(json!({"ready": true})).await?),
            Vec::<String>::new()
        );
        assert_eq!(
            names(&by(json!({"enabled": true})).await?),
            vec!["h1", "h2"]
        );
        assert_eq!(names(&by(json!({"userID": "h2"})).await?), vec!["h2"]);
        assert_eq!(
            fault(
                &th,
                &admin,
                "listHosts",
                json!([kw(json!({"userID": "nouser"}))])
            )
            .await,
            gen("No such user: 'nouser'"),
            "{}",
            th.label()
        );
        // queryOpts
        assert_eq!(
            names(&by(json!({"queryOpts": {"order": "-id"}})).await?),
            vec!["h2", "h1"]
        );
        assert_eq!(
            names(&by(json!({"queryOpts": {"order": "-host.name", "offset": 1}})).await?),
            vec!["h1"]
        );
        assert_eq!(
            by(json!({"queryOpts": {"countOnly": true}})).await?,
            json!(2)
        );
        let rows = by(json!({"queryOpts": {"asList": true, "order": "id"}})).await?;
        assert_eq!(rows[1][5], json!(h2), "{}", th.label());
        assert_eq!(rows[0][0], json!("x86_64 i686"), "{}", th.label());
        assert_eq!(rows[0][5], json!(h1), "{}", th.label());
    }
    Ok(())
}

#[tokio::test]
async fn channels() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let seeded = th.call(&admin, "listChannels", json!([])).await?;
        assert_eq!(
            names(&seeded),
            vec![
                "default",
                "createrepo",
                "maven",
                "livecd",
                "appliance",
                "vm",
                "image",
                "livemedia"
            ],
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getChannel", json!(["createrepo"])).await?,
            channel(2, "createrepo", json!(null), true, json!(null)),
            "{}",
            th.label()
        );
        let id = th
            .call(&admin, "addChannel", json!(["test", "Test builds"]))
            .await?;
        assert_eq!(id, json!(9), "{}", th.label());
        assert_eq!(
            th.call(&admin, "getChannel", json!([9])).await?,
            channel(9, "test", json!("Test builds"), true, json!(null)),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "addChannel", json!(["test"])).await,
            gen("channel test already exists (id=9)"),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "addChannel", json!(["bad name"])).await,
            gen("Name bad name does not match RegexNameInternal value"),
            "{}",
            th.label()
        );
        // adding, editing and renaming channels is for admins; enabling for `host`
        let hank = th.user("hank", "pw", &["host"]).await?;
        let admin_only = (
            1004,
            "admin permission required (logged in as hank)".to_string(),
        );
        assert_eq!(
            fault(&th, &hank, "addChannel", json!(["x"])).await,
            admin_only
        );
        assert_eq!(
            fault(
                &th,
                &hank,
                "editChannel",
                json!(["test", kw(json!({"comment": "c"}))])
            )
            .await,
            admin_only
        );
        assert_eq!(
            fault(&th, &hank, "renameChannel", json!(["test", "t"])).await,
            admin_only
        );
        let bob = th.user("bob", "pw", &[]).await?;
        assert_eq!(
            fault(&th, &bob, "disableChannel", json!(["test"])).await,
            (
                1004,
                "host permission required (logged in as bob)".to_string()
            ),
            "{}",
            th.label()
        );
        // editChannel
        let changed = th
            .call(
                &admin,
                "editChannel",
                json!([
                    "test",
                    kw(json!({"name": "t2", "comment": "c", "other": 1}))
                ]),
            )
            .await?;
        assert_eq!(changed, json!(true), "{}", th.label());
        assert_eq!(
            th.call(&admin, "getChannel", json!([9])).await?,
            channel(9, "t2", json!("Test builds"), true, json!("c")),
            "{}",
            th.label()
        );
        let same = th
            .call(&admin, "editChannel", json!([9, kw(json!({"name": "t2"}))]))
            .await?;
        assert_eq!(same, json!(false), "{}", th.label());
        assert_eq!(
            fault(
                &th,
                &admin,
                "editChannel",
                json!(["t2", kw(json!({"name": "default"}))])
            )
            .await,
            gen("channel default already exists (id=1)"),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "editChannel",
                json!(["t2", kw(json!({"description": 3}))])
            )
            .await,
            (
                1019,
                "Invalid type for value '3': <class 'int'>, expected type <class 'str'>"
                    .to_string()
            ),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "editChannel",
                json!(["nope", kw(json!({"comment": "c"}))])
            )
            .await,
            gen("query returned no rows"),
            "{}",
            th.label()
        );
        let v = th
            .call(&admin, "renameChannel", json!(["t2", "t3"]))
            .await?;
        assert_eq!(v, Json::Null, "{}", th.label());
        assert_eq!(
            th.call(&admin, "getChannel", json!(["t3"])).await?["id"],
            json!(9),
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getChannel", json!(["t2"])).await?,
            Json::Null,
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "getChannel", json!(["t2", true])).await,
            gen("query returned no rows"),
            "{}",
            th.label()
        );
        // enable/disable, with comments
        th.call(&hank, "disableChannel", json!(["t3", "maintenance"]))
            .await?;
        assert_eq!(
            th.call(&admin, "getChannel", json!(["t3"])).await?,
            channel(9, "t3", json!("Test builds"), false, json!("maintenance")),
            "{}",
            th.label()
        );
        let off = th
            .call(
                &admin,
                "listChannels",
                json!([kw(json!({"enabled": false}))]),
            )
            .await?;
        assert_eq!(names(&off), vec!["t3"], "{}", th.label());
        th.call(&hank, "enableChannel", json!(["t3"])).await?;
        assert_eq!(
            th.call(&admin, "getChannel", json!(["t3"])).await?,
            channel(9, "t3", json!("Test builds"), true, json!("maintenance")),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &hank, "enableChannel", json!(["nope"])).await,
            gen("No such channel: nope"),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &hank, "enableChannel", json!(["t3", 5])).await,
            (
                1019,
                "Invalid type for value '5': <class 'int'>, expected type <class 'str'>"
                    .to_string()
            ),
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "listChannels", json!([null, 1])).await,
            gen("list_channels with event and not host is not allowed."),
            "{}",
            th.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn host_channel_membership() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let id = add_host(&th, &admin, "h1", json!(["x86_64"])).await?;
        th.call(&admin, "addChannel", json!(["side"])).await?;
        th.call(&admin, "disableChannel", json!(["side"])).await?;
        let hank = th.user("hank", "pw", &["host"]).await?;
        let bob = th.user("bob", "pw", &[]).await?;
        assert_eq!(
            fault(&th, &bob, "addHostToChannel", json!(["h1", "createrepo"])).await,
            (
                1004,
                "host permission required (logged in as bob)".to_string()
            ),
            "{}",
            th.label()
        );
        th.call(&hank, "addHostToChannel", json!(["h1", "createrepo"]))
            .await?;
        let after_add = last_event(&th, &admin).await?;
        let cases = [
            (
                json!(["nope", "createrepo"]),
                gen("host does not exist: nope"),
            ),
            (json!(["h1", "nope"]), gen("channel does not exist: nope")),
            (json!(["h1", "side"]), gen("channel side is disabled")),
            (
                json!(["h1", "createrepo"]),
                gen("host h1 is already subscribed to the createrepo channel"),
            ),
            (
                json!(["h1", "bad name", true]),
                gen("Name bad name does not match RegexNameInternal value"),
            ),
        ];
        for (params, want) in cases {
            assert_eq!(
                fault(&th, &hank, "addHostToChannel", params.clone()).await,
                want,
                "{}: {params}",
                th.label()
            );
        }
        // force subscribes to a disabled channel; create makes a new one
        th.call(
            &hank,
            "addHostToChannel",
            json!(["h1", "side", kw(json!({"force": true}))]),
        )
        .await?;
        th.call(&hank, "addHostToChannel", json!(["h1", "fresh", true]))
            .await?;
        assert_eq!(
            th.call(&admin, "getChannel", json!(["fresh"])).await?,
            channel(10, "fresh", json!(null), true, json!(null)),
            "{}",
            th.label()
        );
        let mine = th.call(&admin, "listChannels", json!(["h1"])).await?;
        assert_eq!(
            names(&mine),
            vec!["default", "createrepo", "side", "fresh"],
            "{}",
            th.label()
        );
        let on = th
            .call(&admin, "listChannels", json!([id, null, true]))
            .await?;
        assert_eq!(
            names(&on),
            vec!["default", "createrepo", "fresh"],
            "{}",
            th.label()
        );
        // remove
        assert_eq!(
            fault(&th, &bob, "removeHostFromChannel", json!(["h1", "default"])).await,
            (
                1004,
                "host permission required (logged in as bob)".to_string()
            ),
            "{}",
            th.label()
        );
        th.call(&hank, "removeHostFromChannel", json!(["h1", "createrepo"]))
            .await?;
        let mine = th.call(&admin, "listChannels", json!([id])).await?;
        assert_eq!(
            names(&mine),
            vec!["default", "side", "fresh"],
            "{}",
            th.label()
        );
        for (params, want) in [
            (
                json!(["h1", "createrepo"]),
                gen("host h1 is not subscribed to the createrepo channel"),
            ),
            (json!(["h1", "nope"]), gen("channel does not exist: nope")),
            (json!(["nope", "default"]), gen("host does not exist: nope")),
        ] {
            assert_eq!(
                fault(&th, &hank, "removeHostFromChannel", params.clone()).await,
                want,
                "{}: {params}",
                th.label()
            );
        }
        // the host's channels as of an earlier event
        let then = th
            .call(
                &admin,
                "listChannels",
                json!([kw(json!({"hostID": "h1", "event": after_add}))]),
            )
            .await?;
        assert_eq!(
            names(&then),
            vec!["default", "createrepo"],
            "{}",
            th.label()
        );
        assert_eq!(
            fault(&th, &admin, "listChannels", json!(["nope"])).await,
            gen("Invalid hostInfo: nope"),
            "{}",
            th.label()
        );
        // the host can be re-added to a channel it left
        th.call(&hank, "addHostToChannel", json!(["h1", "createrepo"]))
            .await?;
        assert_eq!(
            names(&th.call(&admin, "listChannels", json!([id])).await?),
            vec!["default", "createrepo", "side", "fresh"],
            "{}",
            th.label()
        );
    }
    Ok(())
}

#[tokio::test]
async fn arches_and_last_update() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        assert_eq!(
            th.call(&admin, "getAllArches", json!([])).await?,
            json!([]),
            "{}",
            th.label()
        );
        let id = add_host(&th, &admin, "h1", json!(["x86_64", "i686"])).await?;
        add_host(&th, &admin, "h2", json!(["armv7hl", "x86_64", "i586"])).await?;
        add_host(&th, &admin, "h3", json!(["ppc64p7", "aarch64"])).await?;
        assert_eq!(
            th.call(&admin, "getAllArches", json!([])).await?,
            json!(["x86_64", "i386", "armhfp", "ppc64", "aarch64"]),
            "{}",
            th.label()
        );
        // a host that never logged in
        assert_eq!(
            th.call(&admin, "getLastHostUpdate", json!([id])).await?,
            Json::Null,
            "{}",
            th.label()
        );
        assert_eq!(
            th.call(&admin, "getLastHostUpdate", json!([999, true]))
                .await?,
            Json::Null,
            "{}",
            th.label()
        );
        // log the host in: its session's update time is its last contact
        th.hub.auth().set_password("h1", "secret").await?;
        let start = chrono::Utc::now().timestamp() as f64;
        th.login("h1", "secret").await?;
        let ts = th
            .call(
                &admin,
                "getLastHostUpdate",
                json!([id, kw(json!({"ts": true}))]),
            )
            .await?;
        let ts = ts
            .as_f64()
            .ok_or_else(|| Error::Generic(format!("ts answered {ts}")))?;
        assert!(
            ts >= start - 1.0 && ts < start + 60.0,
            "{}: {ts}",
            th.label()
        );
        let text = th.call(&admin, "getLastHostUpdate", json!([id])).await?;
        assert_eq!(
            text,
            json!(koji_core::util::format_time(ts)),
            "{}",
            th.label()
        );
    }
    Ok(())
}
