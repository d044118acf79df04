//! Build notifications through upstream's API: subscriptions and blocks
//! (createNotification, updateNotification, deleteNotification,
//! getBuildNotification(s), createNotificationBlock,
//! deleteNotificationBlock, getBuildNotificationBlock(s)), and the
//! `tagNotification` tasks that tagging with `notify`, `untagBuild` and
//! `host.tagNotification` make for the recipients upstream's
//! `get_notification_recipients` names.

use koji_core::testing::{backends, kw, TestHub};
use koji_core::{Caller, Result};
use serde_json::{json, Value as Json};

async fn fault(th: &TestHub, who: &Caller, method: &str, params: Json) -> (i32, String) {
    match th.call(who, method, params).await {
        Ok(v) => panic!("{}: {method} should fail, answered {v}", th.label()),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

fn id(v: &Json) -> i64 {
    v.as_i64().unwrap_or_else(|| panic!("not an id: {v}"))
}

/// The requests of the tasks of `method`, oldest first.
async fn requests(th: &TestHub, who: &Caller, method: &str) -> Result<Vec<Json>> {
    let tasks = th
        .call(
            who,
            "listTasks",
            json!([{"method": method}, {"order": "id"}]),
        )
        .await?;
    let mut out = vec![];
    for t in tasks.as_array().cloned().unwrap_or_default() {
        out.push(th.call(who, "getTaskRequest", json!([t["id"]])).await?);
    }
    Ok(out)
}

#[tokio::test]
async fn subscriptions_and_blocks() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.call(&admin, "createTag", json!(["f40"])).await?;
        th.call(&admin, "packageListAdd", json!(["f40", "bash", "admin"]))
            .await?;
        let alice = th.user("alice", "pw", &[]).await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let alice_id = id(&th.call(&alice, "getLoggedInUser", json!([])).await?["id"]);
        let bob_id = id(&th.call(&bob, "getLoggedInUser", json!([])).await?["id"]);
        let bash = id(&th.call(&admin, "getPackageID", json!(["bash"])).await?);
        let f40 = id(&th.call(&admin, "getTagID", json!(["f40"])).await?);

        th.call(
            &alice,
            "createNotification",
            json!(["alice", "bash", "f40", false]),
        )
        .await?;
        let mine = th.call(&alice, "getBuildNotifications", json!([])).await?;
        let nid = id(&mine[0]["id"]);
        assert_eq!(
            mine,
            json!([{"id": nid, "user_id": alice_id, "package_id": bash, "tag_id": f40,
                    "success_only": false, "email": "alice@None"}]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "getBuildNotifications", json!(["alice"]))
                .await?,
            mine,
            "{l}: anyone may read them"
        );
        assert_eq!(
            th.call(&bob, "getBuildNotification", json!([nid])).await?,
            mine[0],
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &alice,
                "createNotification",
                json!(["alice", "bash", "f40", false])
            )
            .await,
            (1000, "notification already exists".into()),
            "{l}"
        );
        // the same with success_only is another subscription
        th.call(
            &alice,
            "createNotification",
            json!(["alice", "bash", "f40", true]),
        )
        .await?;
        assert_eq!(
            fault(
                &th,
                &alice,
                "createNotification",
                json!(["bob", null, null, false])
            )
            .await,
            (
                1000,
                "user alice cannot create notifications for user bob".into()
            ),
            "{l}"
        );
        // an admin may subscribe anyone
        th.call(
            &admin,
            "createNotification",
            json!(["bob", null, null, false]),
        )
        .await?;
        assert_eq!(
            fault(
                &th,
                &alice,
                "createNotification",
                json!(["alice", "nope", null, false])
            )
            .await,
            (1000, "No such entry in table package: nope".into()),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &alice,
                "createNotification",
                json!(["nobody", null, null, false])
            )
            .await,
            (1000, "No such user ID: nobody".into()),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &Caller::anonymous("127.0.0.1"),
                "createNotification",
                json!(["alice", null, null, false])
            )
            .await,
            (1000, "Not logged-in".into()),
            "{l}"
        );
        assert_eq!(
            th.call(&alice, "getBuildNotification", json!([9999]))
                .await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            fault(&th, &alice, "getBuildNotification", json!([9999, true])).await,
            (1000, "No notification with ID 9999 found".into()),
            "{l}"
        );

        // updates: the owner or an admin, never into a duplicate
        assert_eq!(
            fault(
                &th,
                &bob,
                "updateNotification",
                json!([nid, null, "f40", false])
            )
            .await,
            (
                1000,
                format!("user {bob_id} cannot update notifications for user {alice_id}")
            ),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &alice,
                "updateNotification",
                json!([nid, "bash", "f40", true])
            )
            .await,
            (1000, "notification already exists".into()),
            "{l}"
        );
        th.call(
            &alice,
            "updateNotification",
            json!([nid, null, "f40", false]),
        )
        .await?;
        let n = th
            .call(&alice, "getBuildNotification", json!([nid]))
            .await?;
        assert_eq!(
            (n["package_id"].clone(), n["tag_id"].clone()),
            (Json::Null, json!(f40)),
            "{l}"
        );
        assert_eq!(
            fault(&th, &bob, "deleteNotification", json!([nid])).await,
            (
                1000,
                format!("user {bob_id} cannot delete notifications for user {alice_id}")
            ),
            "{l}"
        );
        th.call(&alice, "deleteNotification", json!([nid])).await?;
        assert_eq!(
            th.call(&alice, "getBuildNotifications", json!([]))
                .await?
                .as_array()
                .map(Vec::len),
            Some(1),
            "{l}"
        );

        // blocks
        th.call(&alice, "createNotificationBlock", json!(["alice", "bash"]))
            .await?;
        let blocks = th
            .call(&alice, "getBuildNotificationBlocks", json!([]))
            .await?;
        let bid = id(&blocks[0]["id"]);
        assert_eq!(
            blocks,
            json!([{"id": bid, "user_id": alice_id, "package_id": bash, "tag_id": null}]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "getBuildNotificationBlock", json!([bid]))
                .await?,
            blocks[0],
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &alice,
                "createNotificationBlock",
                kw(json!({"user_id": "alice", "package_id": "bash"}))
            )
            .await,
            (1000, "notification already exists".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &alice, "createNotificationBlock", json!(["bob"])).await,
            (
                1000,
                "user alice cannot create notification blocks for user bob".into()
            ),
            "{l}"
        );
        assert_eq!(
            fault(&th, &bob, "deleteNotificationBlock", json!([bid])).await,
            (
                1000,
                format!("user {bob_id} cannot delete notification blocks for user {alice_id}")
            ),
            "{l}"
        );
        assert_eq!(
            fault(&th, &bob, "getBuildNotificationBlock", json!([9999, true])).await,
            (1000, "No notification block with ID 9999 found".into()),
            "{l}"
        );
        th.call(&admin, "deleteNotificationBlock", json!([bid]))
            .await?;
        assert_eq!(
            th.call(&alice, "getBuildNotificationBlocks", json!([]))
                .await?,
            json!([]),
            "{l}"
        );
    }
    Ok(())
}

/// Users, a tag whose package `bash` is owned by bob, and a COMPLETE build
/// of it owned by the admin; answers (admin, host caller, admin's id).
async fn scene(th: &TestHub) -> Result<(Caller, Caller, i64)> {
    let admin = th.admin().await?;
    th.call(&admin, "createTag", json!(["f40"])).await?;
    th.call(&admin, "createTag", json!(["f41"])).await?;
    for u in ["alice", "bob", "carol", "dave"] {
        th.user(u, "pw", &[]).await?;
    }
    th.call(&admin, "packageListAdd", json!(["f40", "bash", "bob"]))
        .await?;
    th.call(&admin, "packageListAdd", json!(["f41", "bash", "bob"]))
        .await?;
    th.call(
        &admin,
        "createEmptyBuild",
        json!(["bash", "5.2", "1", null]),
    )
    .await?;
    // alice: everything in f40; carol: successes of bash anywhere; dave:
    // everything, but not f40
    for (u, pkg, tag, success_only) in [
        ("alice", Json::Null, json!("f40"), false),
        ("carol", json!("bash"), Json::Null, true),
        ("dave", Json::Null, Json::Null, false),
    ] {
        th.call(
            &admin,
            "createNotification",
            json!([u, pkg, tag, success_only]),
        )
        .await?;
    }
    th.call(
        &admin,
        "createNotificationBlock",
        json!(["dave", null, "f40"]),
    )
    .await?;
    let host = th.host("builder1", &["x86_64"]).await?;
    let admin_id = id(&th.call(&admin, "getLoggedInUser", json!([])).await?["id"]);
    Ok((admin, host, admin_id))
}

#[tokio::test]
async fn tag_operations_make_notification_tasks() -> Result<()> {
    for backend in backends() {
        let th = TestHub::new_with(backend, |c| {
            c.notifications.email_domain = Some("example.com".into());
        })
        .await?;
        let l = th.label();
        let (admin, host, admin_id) = scene(&th).await?;

        // plain bypass tagging tells nobody
        th.call(&admin, "tagBuildBypass", json!(["f40", "bash-5.2-1"]))
            .await?;
        assert_eq!(
            requests(&th, &admin, "tagNotification").await?,
            vec![] as Vec<Json>,
            "{l}"
        );
        th.call(&admin, "untagBuildBypass", json!(["f40", "bash-5.2-1"]))
            .await?;

        // with notify: the subscribers, the build's owner (admin) and the
        // package's owner in the tag (bob); dave's block for f40 holds
        th.call(
            &admin,
            "tagBuildBypass",
            kw(json!({"tag": "f40", "build": "bash-5.2-1", "notify": true})),
        )
        .await?;
        let all = [
            "admin@example.com",
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
        ];
        assert_eq!(
            requests(&th, &admin, "tagNotification").await?,
            vec![json!([
                all,
                true,
                "f40",
                null,
                "bash-5.2-1",
                admin_id,
                false,
                ""
            ])],
            "{l}"
        );
        // untagBuild always notifies: the tag is the one left
        th.call(&admin, "untagBuild", json!(["f40", "bash-5.2-1"]))
            .await?;
        let reqs = requests(&th, &admin, "tagNotification").await?;
        assert_eq!(
            reqs.get(1),
            Some(&json!([
                all,
                true,
                null,
                "f40",
                "bash-5.2-1",
                admin_id,
                false,
                ""
            ])),
            "{l}"
        );
        // a builder's report of a failed tagging into f41: no success-only
        // subscriber (carol), and dave (blocked for f40 only) is told
        th.call(
            &host,
            "host.tagNotification",
            json!([
                false,
                "f41",
                null,
                "bash-5.2-1",
                "alice",
                false,
                "TagError: nope"
            ]),
        )
        .await?;
        let alice_id = id(&th.call(&admin, "getUser", json!(["alice"])).await?["id"]);
        let reqs = requests(&th, &admin, "tagNotification").await?;
        assert_eq!(
            reqs.get(2),
            Some(&json!([
                ["admin@example.com", "bob@example.com", "dave@example.com"],
                false,
                "f41",
                null,
                "bash-5.2-1",
                alice_id,
                false,
                "TagError: nope"
            ])),
            "{l}"
        );
        // a success the builder was told to keep quiet about
        th.call(
            &host,
            "host.tagNotification",
            json!([true, "f41", null, "bash-5.2-1", null, true]),
        )
        .await?;
        assert_eq!(
            requests(&th, &admin, "tagNotification").await?.len(),
            3,
            "{l}"
        );
        // only hosts report
        assert_eq!(
            fault(
                &th,
                &admin,
                "host.tagNotification",
                json!([true, "f41", null, "bash-5.2-1", null]),
            )
            .await,
            (1002, format!("User {admin_id} is not a host")),
            "{l}"
        );
        // the builder's values go into the request as they came (upstream
        // passes them through): 0 for false, None for no message
        th.call(
            &host,
            "host.tagNotification",
            json!([0, "f41", null, "bash-5.2-1", null, 0, null]),
        )
        .await?;
        let reqs = requests(&th, &admin, "tagNotification").await?;
        assert_eq!(
            reqs.get(3)
                .map(|r| (r[1].clone(), r[6].clone(), r[7].clone())),
            Some((json!(0), json!(0), Json::Null)),
            "{l}"
        );
        // the tasks belong to whoever caused them
        let tasks = th
            .call(
                &admin,
                "listTasks",
                json!([{"method": "tagNotification"}, {"order": "id"}]),
            )
            .await?;
        assert_eq!(tasks[0]["owner"], json!(admin_id), "{l}");
        assert_eq!(tasks[0]["state"], json!(0), "{l}: FREE");
    }
    Ok(())
}

#[tokio::test]
async fn notification_settings() -> Result<()> {
    for backend in backends() {
        // NotifyOnSuccess off: successes go to subscribers only
        let th = TestHub::new_with(backend, |c| {
            c.notifications.notify_on_success = false;
        })
        .await?;
        let l = th.label();
        let (admin, _host, admin_id) = scene(&th).await?;
        th.call(
            &admin,
            "tagBuildBypass",
            json!(["f40", "bash-5.2-1", false, true]),
        )
        .await?;
        assert_eq!(
            requests(&th, &admin, "tagNotification").await?,
            vec![json!([
                ["alice@None", "carol@None"],
                true,
                "f40",
                null,
                "bash-5.2-1",
                admin_id,
                false,
                ""
            ])],
            "{l}"
        );
        // DisableNotifications: no task at all
        let th = TestHub::new_with(backend, |c| {
            c.notifications.disabled = true;
        })
        .await?;
        let (admin, _host, _) = scene(&th).await?;
        th.call(
            &admin,
            "tagBuildBypass",
            json!(["f40", "bash-5.2-1", false, true]),
        )
        .await?;
        th.call(&admin, "untagBuild", json!(["f40", "bash-5.2-1"]))
            .await?;
        assert_eq!(
            requests(&th, &admin, "tagNotification").await?,
            vec![] as Vec<Json>,
            "{l}"
        );
        let opts = th.call(&admin, "showOpts", json!([false])).await?;
        assert_eq!(opts["DisableNotifications"], json!(true), "{l}");
    }
    Ok(())
}
