//! Tasks, the host API and the scheduler, on SQLite and PostgreSQL.

use koji_core::hub::tasks::{encode_fault, encode_result};
use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};

const FREE: i64 = 0;
const OPEN: i64 = 1;
const CLOSED: i64 = 2;
const CANCELED: i64 = 3;
const ASSIGNED: i64 = 4;
const FAILED: i64 = 5;

async fn state(th: &TestHub, id: &Json) -> Result<i64> {
    let admin = th.admin().await?;
    let info = th.call(&admin, "getTaskInfo", json!([id])).await?;
    Ok(info["state"].as_i64().unwrap_or(-1))
}

#[tokio::test]
async fn build_task_fields_and_queries() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let alice = th.user("alice", "pw", &[]).await?;
        let id = th
            .call(
                &alice,
                "build",
                json!(["git://example.com/pkg#abc", "f40-candidate", {"scratch": true}]),
            )
            .await?;
        let info = th
            .call(
                &alice,
                "getTaskInfo",
                json!([id, kw(json!({"request": true}))]),
            )
            .await?;
        assert_eq!(info["state"], json!(FREE), "{l}: {info}");
        assert_eq!(info["method"], json!("build"));
        assert_eq!(info["arch"], json!("noarch"));
        assert_eq!(info["priority"], json!(20));
        assert_eq!(info["weight"], json!(1.0));
        assert_eq!(info["parent"], Json::Null);
        assert_eq!(info["host_id"], Json::Null);
        assert_eq!(info["channel_id"], json!(1), "default channel");
        assert!(info["create_ts"].is_f64(), "{l}: {info}");
        assert!(info["create_time"]
            .as_str()
            .is_some_and(|t| t.ends_with("+00:00")));
        assert_eq!(
            info["request"],
            json!(["git://example.com/pkg#abc", "f40-candidate", {"scratch": true}])
        );
        let owner = th.call(&alice, "getLoggedInUser", json!([])).await?;
        assert_eq!(info["owner"], owner["id"]);
        assert_eq!(
            th.call(&alice, "getTaskRequest", json!([id])).await?,
            info["request"]
        );
        // priority: relative to the default; negative for admins only
        let e = th
            .call(&alice, "build", json!(["x.src.rpm", "t", null, -5]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}: {e}");
        assert_eq!(e.to_string(), "only admins may create high-priority tasks");
        let hi = th
            .call(&admin, "build", json!(["x.src.rpm", "t", null, -5]))
            .await?;
        assert_eq!(
            th.call(&admin, "getTaskInfo", json!([hi])).await?["priority"],
            json!(15)
        );
        // a disabled or unknown channel is refused
        let e = th
            .call(
                &alice,
                "build",
                json!(["x.src.rpm", "t", null, null, "nope"]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such channel: nope");
        let cre = th
            .call(
                &alice,
                "build",
                json!(["x.src.rpm", "t", null, null, "createrepo"]),
            )
            .await?;
        assert_eq!(
            th.call(&admin, "getTaskInfo", json!([cre])).await?["channel_id"],
            json!(2),
            "{l}: a requested channel is used (policy `req`)"
        );
        // anonymous callers cannot build
        let anon = koji_core::hub::Caller::anonymous("127.0.0.1");
        let e = th
            .call(&anon, "build", json!(["x.src.rpm", "t"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004);

        // build types this hub does not enable are refused as upstream does
        for (m, what) in [
            ("wrapperRPM", "Maven"),
            ("mavenBuild", "Maven"),
            ("chainMaven", "Maven"),
            ("winBuild", "Windows"),
        ] {
            let e = th
                .call(&alice, m, json!(["a", "b", "c"]))
                .await
                .unwrap_err();
            assert_eq!(
                e.to_string(),
                format!("{what} support not enabled"),
                "{l}: {m}"
            );
            let e = th.call(&anon, m, json!(["a", "b", "c"])).await.unwrap_err();
            assert_eq!(e.fault_code(), 1004, "{l}: {m} needs a login");
        }

        // listTasks filters, decode and queryOpts
        let all = th.call(&admin, "listTasks", json!([])).await?;
        assert_eq!(all.as_array().map(Vec::len), Some(3), "{l}: {all}");
        assert_eq!(all[0]["owner_name"], json!("alice"));
        assert_eq!(all[0]["owner_type"], json!(0));
        assert!(all[0]["request"]
            .as_str()
            .is_some_and(|r| r.starts_with("<?xml")));
        let mine = th
            .call(
                &admin,
                "listTasks",
                json!([{"owner": owner["id"], "decode": true}, {"order": "-id"}]),
            )
            .await?;
        assert_eq!(mine.as_array().map(Vec::len), Some(2), "{l}: {mine}");
        assert_eq!(mine[1]["id"], id);
        assert_eq!(mine[1]["request"][1], json!("f40-candidate"));
        let n = th
            .call(
                &admin,
                "listTasks",
                json!([{"state": [FREE], "method": "build", "channel_id": 2}, {"countOnly": true}]),
            )
            .await?;
        assert_eq!(n, json!(1));
        let none = th
            .call(&admin, "listTasks", json!([{"parent": id}]))
            .await?;
        assert_eq!(none, json!([]));
        let top = th
            .call(
                &admin,
                "listTasks",
                json!([{"parent": null, "not_state": [CLOSED]}]),
            )
            .await?;
        assert_eq!(top.as_array().map(Vec::len), Some(3));
        let later = th
            .call(&admin, "listTasks", json!([{"createdAfter": 4102444800.0}]))
            .await?;
        assert_eq!(later, json!([]), "{l}: nothing created after 2100");
        // unfinished tasks have no result
        let e = th
            .call(&admin, "getTaskResult", json!([id]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), format!("Task {id} is not finished"));
        assert_eq!(
            th.call(&admin, "taskFinished", json!([id])).await?,
            json!(false)
        );
        assert_eq!(
            th.call(&admin, "getTaskInfo", json!([999999])).await?,
            Json::Null
        );
        let many = th
            .call(&admin, "getTaskInfo", json!([[id, 999999]]))
            .await?;
        assert_eq!(many[1], Json::Null);
        assert_eq!(many[0]["id"], id);
        let e = th
            .call(&admin, "getTaskInfo", json!([999999, false, true]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1000);
    }
    Ok(())
}

#[tokio::test]
async fn a_host_runs_a_task_with_subtasks() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let alice = th.user("alice", "pw", &[]).await?;
        let host = th.host("builder1", &["x86_64"]).await?;
        let host_id = th.call(&host, "host.getID", json!([])).await?;
        // a normal user is not a host
        let e = th.call(&alice, "host.getID", json!([])).await.unwrap_err();
        assert_eq!(e.fault_code(), 1002, "{l}: {e}");
        let top = th
            .call(&alice, "build", json!(["x-1-1.src.rpm", "dest"]))
            .await?;
        // not ready: nothing is assigned
        assert_eq!(th.call(&host, "host.getTasks", json!([])).await?, json!([]));
        th.call(&host, "host.updateHost", json!([0.0, true]))
            .await?;
        let tasks = th.call(&host, "host.getTasks", json!([])).await?;
        assert_eq!(tasks.as_array().map(Vec::len), Some(1), "{l}: {tasks}");
        assert_eq!(tasks[0]["id"], top);
        assert_eq!(tasks[0]["state"], json!(ASSIGNED));
        let runs = th.call(&admin, "scheduler.getTaskRuns", json!([])).await?;
        assert_eq!(runs[0]["task_id"], top, "{l}: {runs}");
        assert_eq!(runs[0]["host_id"], host_id);
        assert_eq!(runs[0]["active"], json!(true));
        let load = th.call(&host, "host.getLoadData", json!([])).await?;
        assert_eq!(load[0][0]["channels"], json!([1]), "{l}: {load}");
        assert_eq!(load[1][0]["id"], top);

        let opened = th.call(&host, "host.openTask", json!([top])).await?;
        assert_eq!(opened["state"], json!(OPEN), "{l}: {opened}");
        assert_eq!(opened["host_id"], host_id);
        assert!(opened["request"]
            .as_str()
            .is_some_and(|r| r.contains("<methodName>build</methodName>")));
        assert!(opened["start_ts"].is_f64());
        // opening twice fails quietly
        assert_eq!(
            th.call(&host, "host.openTask", json!([top])).await?,
            Json::Null
        );
        th.call(&host, "host.setTaskWeight", json!([top, 0.2]))
            .await?;
        // subtasks: one per arch, with a label that makes a retry idempotent
        let a = th
            .call(
                &host,
                "host.subtask",
                json!([kw(
                    json!({"method": "buildArch", "arglist": ["p", 1, "x86_64", true],
                       "parent": top, "label": "x86_64", "arch": "x86_64"})
                )]),
            )
            .await?;
        let again = th
            .call(
                &host,
                "host.subtask",
                json!([
                    "buildArch",
                    ["p", 1, "x86_64", true],
                    top,
                    kw(json!({"label": "x86_64"}))
                ]),
            )
            .await?;
        assert_eq!(a, again, "{l}");
        let b = th
            .call(
                &host,
                "host.subtask2",
                json!([top, {"label": "noarch"}, "buildArch", "p", 1, "noarch", false,
                       kw(json!({"opts": {"repo_id": 1}}))]),
            )
            .await?;
        let binfo = th.call(&admin, "getTaskInfo", json!([b, true])).await?;
        assert_eq!(binfo["parent"], top);
        assert_eq!(binfo["priority"], json!(19), "{l}: one above the parent");
        assert_eq!(binfo["arch"], json!("noarch"), "{l}: the parent's arch");
        assert_eq!(binfo["owner"], opened["owner"]);
        assert_eq!(
            binfo["request"],
            json!(["p", 1, "noarch", false, {"opts": {"repo_id": 1}, "__starstar": true}])
        );
        let e = th
            .call(
                &host,
                "host.subtask",
                json!(["x", [], top, kw(json!({"owner": 1}))]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "The owner option is not allowed here");
        th.call(&host, "host.taskSetWait", json!([top, null]))
            .await?;
        assert_eq!(
            th.call(&host, "host.taskWait", json!([top])).await?,
            json!([[], [a, b]])
        );
        let kids = th.call(&admin, "getTaskChildren", json!([top])).await?;
        assert_eq!(kids.as_array().map(Vec::len), Some(2));
        assert_eq!(kids[0]["awaited"], json!(true), "{l}: {kids}");
        // the waiting parent does not count towards the host's load; the
        // children go to the same host
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        let tasks = th.call(&host, "host.getTasks", json!([])).await?;
        assert_eq!(tasks.as_array().map(Vec::len), Some(2), "{l}: {tasks}");
        for t in [&a, &b] {
            th.call(&host, "host.openTask", json!([t])).await?;
        }
        th.call(
            &host,
            "host.closeTask",
            json!([
                a,
                encode_result(&json!({"rpms": ["p.x86_64.rpm"], "logs": []}))
            ]),
        )
        .await?;
        let ht = th.call(&host, "host.getHostTasks", json!([])).await?;
        let parent_row = ht
            .as_array()
            .and_then(|a| a.iter().find(|t| t["id"] == top))
            .cloned()
            .unwrap_or_default();
        assert_eq!(parent_row["alert"], json!(true), "{l}: {ht}");
        assert_eq!(
            th.call(&host, "host.taskWait", json!([top])).await?,
            json!([[a], [b]])
        );
        th.call(
            &host,
            "host.failTask",
            json!([b, encode_fault(1005, "rpmbuild failed")]),
        )
        .await?;
        assert_eq!(state(&th, &b).await?, FAILED);
        // a failed subtask's fault is raised, unless it may fail
        let e = th
            .call(&host, "host.taskWaitResults", json!([top, [a, b]]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1005, "{l}: {e}");
        assert_eq!(e.to_string(), "rpmbuild failed");
        let res = th
            .call(&host, "host.taskWaitResults", json!([top, [a, b], [b]]))
            .await?;
        assert_eq!(
            res,
            json!([[a, {"rpms": ["p.x86_64.rpm"], "logs": []}],
                   [b, {"faultCode": 1005, "faultString": "rpmbuild failed"}]])
        );
        let desc = th.call(&admin, "getTaskDescendents", json!([top])).await?;
        let keys: Vec<&String> = desc
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys.len(), 3, "{l}: {desc}");
        assert_eq!(desc[top.to_string()].as_array().map(Vec::len), Some(2));
        assert_eq!(desc[a.to_string()], json!([]));
        th.call(
            &host,
            "host.closeTask",
            json!([top, encode_result(&json!("done"))]),
        )
        .await?;
        assert_eq!(
            th.call(&alice, "getTaskResult", json!([top])).await?,
            json!("done")
        );
        let e = th
            .call(&alice, "getTaskResult", json!([b]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1005);
        assert_eq!(
            th.call(&alice, "getTaskResult", json!([b, false])).await?,
            json!({"faultCode": 1005, "faultString": "rpmbuild failed"})
        );
        let decoded = th
            .call(
                &admin,
                "listTasks",
                json!([{"parent": top, "decode": true}]),
            )
            .await?;
        assert_eq!(
            decoded[0]["result"],
            json!([{"rpms": ["p.x86_64.rpm"], "logs": []}])
        );
        assert_eq!(
            decoded[1]["result"],
            json!({"faultCode": 1005, "faultString": "rpmbuild failed"})
        );
        assert_eq!(
            th.call(&admin, "taskFinished", json!([top])).await?,
            json!(true)
        );
        // closed tasks cannot be touched again
        let e = th
            .call(
                &host,
                "host.closeTask",
                json!([top, encode_result(&json!(1))]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}: {e}");
        // resubmit a failed top-level task
        let e = th
            .call(&alice, "resubmitTask", json!([b]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "only top-level tasks may be resubmitted");
    }
    Ok(())
}

#[tokio::test]
async fn hosts_only_touch_their_own_tasks() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let alice = th.user("alice", "pw", &[]).await?;
        let h1 = th.host("b1", &["x86_64"]).await?;
        let h2 = th.host("b2", &["x86_64"]).await?;
        let h2_id = th.call(&h2, "host.getID", json!([])).await?;
        th.call(&h1, "host.updateHost", json!([0.0, true])).await?;
        let t = th.call(&alice, "build", json!(["x.src.rpm", "t"])).await?;
        let tasks = th.call(&h1, "host.getTasks", json!([])).await?;
        assert_eq!(tasks[0]["id"], t, "{l}");
        // h2 cannot open what h1 was assigned
        assert_eq!(th.call(&h2, "host.openTask", json!([t])).await?, Json::Null);
        th.call(&h1, "host.openTask", json!([t])).await?;
        for (m, args) in [
            ("host.closeTask", json!([t, encode_result(&json!(1))])),
            ("host.failTask", json!([t, encode_fault(1000, "x")])),
            ("host.setTaskWeight", json!([t, 2.0])),
            ("host.subtask", json!(["sleep", [1], t])),
            ("host.taskSetWait", json!([t, null])),
            ("host.taskWait", json!([t])),
            ("host.taskWaitResults", json!([t, []])),
        ] {
            let e = th.call(&h2, m, args).await.unwrap_err();
            assert_eq!(e.fault_code(), 1004, "{l}: {m}: {e}");
            assert_eq!(
                e.to_string(),
                format!("host {h2_id} does not own task {t}"),
                "{l}: {m}"
            );
        }
        // freeTasks of a task not held is ignored
        th.call(&h2, "host.freeTasks", json!([[t]])).await?;
        assert_eq!(state(&th, &t).await?, OPEN);
        // a second session of a host holding an exclusive one is locked out
        let shared = th.login("b1", "b1").await?;
        let e = th.call(&shared, "host.getID", json!([])).await.unwrap_err();
        assert_eq!(e.fault_code(), 1006, "{l}: {e}");
        // and a host session that is not exclusive may not use the host API
        let admin = th.admin().await?;
        th.call(&admin, "addHost", json!(["b3", ["x86_64"]]))
            .await?;
        th.hub.auth().set_password("b3", "b3").await?;
        let b3 = th.login("b3", "b3").await?;
        let e = th.call(&b3, "host.getID", json!([])).await.unwrap_err();
        assert_eq!(e.fault_code(), 1002, "{l}: {e}");
        assert_eq!(e.to_string(), "This method requires an exclusive session");
        // the owner cancels; the holder sees it
        th.call(&alice, "cancelTask", json!([t])).await?;
        assert_eq!(state(&th, &t).await?, CANCELED);
        let e = th
            .call(&h1, "host.closeTask", json!([t, encode_result(&json!(1))]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004);
        let e = th
            .call(&alice, "getTaskResult", json!([t]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), format!("Task {t} is canceled"));
    }
    Ok(())
}

#[tokio::test]
async fn cancel_free_priority_and_resubmit() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let alice = th.user("alice", "pw", &[]).await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let host = th.host("b1", &["x86_64"]).await?;
        th.call(&host, "host.updateHost", json!([0.0, true]))
            .await?;
        let top = th.call(&alice, "build", json!(["x.src.rpm", "t"])).await?;
        th.call(&host, "host.getTasks", json!([])).await?;
        th.call(&host, "host.openTask", json!([top])).await?;
        let kid = th
            .call(
                &host,
                "host.subtask",
                json!(["buildArch", ["p", 1, "x86_64", true], top]),
            )
            .await?;
        let grandkid = {
            th.call(&admin, "scheduler.doRun", json!([true])).await?;
            th.call(&host, "host.openTask", json!([kid])).await?;
            th.call(&host, "host.subtask", json!(["sleep", [5], kid]))
                .await?
        };
        // only the owner, the host or an admin
        let e = th.call(&bob, "cancelTask", json!([top])).await.unwrap_err();
        assert_eq!(e.to_string(), "Cannot cancel task, not owner", "{l}");
        let e = th
            .call(&alice, "cancelTaskFull", json!([top]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004);
        let e = th
            .call(&admin, "cancelTaskFull", json!([kid]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Task {kid} is not top-level (parent={top})")
        );
        // priorities: admins, recursive by default
        let e = th
            .call(&alice, "setTaskPriority", json!([top, 5]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004);
        th.call(&admin, "setTaskPriority", json!([top, 5])).await?;
        for t in [&top, &kid, &grandkid] {
            assert_eq!(
                th.call(&admin, "getTaskInfo", json!([t])).await?["priority"],
                json!(5),
                "{l}"
            );
        }
        // cancelTaskChildren leaves the task itself
        th.call(&alice, "cancelTaskChildren", json!([top])).await?;
        assert_eq!(state(&th, &top).await?, OPEN);
        assert_eq!(state(&th, &kid).await?, CANCELED);
        assert_eq!(state(&th, &grandkid).await?, CANCELED);
        th.call(&alice, "cancelTask", json!([top])).await?;
        assert_eq!(state(&th, &top).await?, CANCELED);
        let e = th
            .call(&admin, "setTaskPriority", json!([top, 1]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "Finished task's priority can't be updated");
        // freeTask: admins; finished tasks cannot be freed
        let e = th.call(&admin, "freeTask", json!([top])).await.unwrap_err();
        assert_eq!(
            e.to_string(),
            format!("Cannot free task {top}, state is CANCELED")
        );
        // resubmit: a new task with the same request
        let e = th
            .call(&bob, "resubmitTask", json!([top]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "only the task owner or an admin may resubmit a task"
        );
        let again = th.call(&alice, "resubmitTask", json!([top])).await?;
        let info = th.call(&admin, "getTaskInfo", json!([again, true])).await?;
        assert_eq!(info["request"], json!(["x.src.rpm", "t", {}]), "{l}");
        assert_eq!(info["state"], json!(FREE));
        assert_eq!(info["priority"], json!(5));
        // cancelTaskFull from the top cancels everything below
        th.call(&host, "host.getTasks", json!([])).await?;
        th.call(&host, "host.openTask", json!([again])).await?;
        let k2 = th
            .call(&host, "host.subtask", json!(["sleep", [1], again]))
            .await?;
        th.call(&admin, "cancelTaskFull", json!([k2, false]))
            .await?;
        assert_eq!(state(&th, &again).await?, CANCELED);
        assert_eq!(state(&th, &k2).await?, CANCELED);
    }
    Ok(())
}

#[tokio::test]
async fn scheduler_matches_channel_arch_capacity_and_refusals() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let arm = th.host("arm", &["aarch64"]).await?;
        let x86 = th.host("x86", &["x86_64", "i686"]).await?;
        for h in [&arm, &x86] {
            th.call(h, "host.updateHost", json!([0.0, true])).await?;
        }
        let x86_id = th.call(&x86, "host.getID", json!([])).await?;
        let arm_id = th.call(&arm, "host.getID", json!([])).await?;
        let make = |method: &'static str, arch: &'static str, channel: &'static str| {
            json!([method, [1], kw(json!({"arch": arch, "channel": channel}))])
        };
        let t_x86 = th
            .call(&admin, "makeTask", make("sleep", "x86_64", "default"))
            .await?;
        let t_arm = th
            .call(&admin, "makeTask", make("sleep", "aarch64", "default"))
            .await?;
        let t_s390 = th
            .call(&admin, "makeTask", make("sleep", "s390x", "default"))
            .await?;
        let t_repo = th
            .call(&admin, "makeTask", make("sleep", "noarch", "createrepo"))
            .await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        let info = |t: &Json| {
            let t = t.clone();
            let th = &th;
            let admin = admin.clone();
            async move { th.call(&admin, "getTaskInfo", json!([t])).await }
        };
        assert_eq!(info(&t_x86).await?["host_id"], x86_id, "{l}");
        assert_eq!(info(&t_arm).await?["host_id"], arm_id, "{l}");
        assert_eq!(
            info(&t_s390).await?["state"],
            json!(FREE),
            "{l}: no s390x host"
        );
        assert_eq!(
            info(&t_repo).await?["state"],
            json!(FREE),
            "{l}: no host in createrepo"
        );
        th.call(&admin, "addHostToChannel", json!(["x86", "createrepo"]))
            .await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        assert_eq!(
            info(&t_repo).await?["host_id"],
            x86_id,
            "{l}: noarch anywhere"
        );

        // a refusal keeps the task away from that host
        th.call(&x86, "host.openTask", json!([t_x86])).await?;
        let e = th.call(&arm, "host.refuseTask", json!([t_x86])).await;
        assert!(e.is_ok(), "{l}: refusing someone else's task is ignored");
        for h in ["x86", "arm"] {
            th.call(
                &admin,
                "editHost",
                json!([h, kw(json!({"capacity": 20.0}))]),
            )
            .await?;
        }
        let t2 = th
            .call(&admin, "makeTask", make("sleep", "noarch", "default"))
            .await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        let holder = info(&t2).await?["host_id"].clone();
        let (holder_c, other_id) = if holder == arm_id {
            (&arm, x86_id.clone())
        } else {
            (&x86, arm_id.clone())
        };
        th.call(holder_c, "host.refuseTask", json!([t2, true, "busy"]))
            .await?;
        assert_eq!(info(&t2).await?["state"], json!(FREE));
        let refusals = th
            .call(
                &admin,
                "scheduler.getTaskRefusals",
                json!([[["task_id", "=", t2]]]),
            )
            .await?;
        assert_eq!(refusals[0]["msg"], json!("busy"), "{l}: {refusals}");
        assert_eq!(refusals[0]["by_host"], json!(true));
        assert_eq!(refusals[0]["soft"], json!(true));
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        assert_eq!(info(&t2).await?["host_id"], other_id, "{l}");

        // disabled hosts and hosts out of capacity get nothing
        th.call(&admin, "disableHost", json!(["arm"])).await?;
        th.call(
            &admin,
            "editHost",
            json!(["x86", kw(json!({"capacity": 1.5}))]),
        )
        .await?;
        let heavy = th
            .call(&admin, "makeTask", make("sleep", "x86_64", "default"))
            .await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        assert_eq!(
            info(&heavy).await?["state"],
            json!(FREE),
            "{l}: x86 holds 3 tasks, more than its capacity"
        );
        th.call(
            &admin,
            "editHost",
            json!(["x86", kw(json!({"capacity": 20.0}))]),
        )
        .await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        assert_eq!(info(&heavy).await?["host_id"], x86_id, "{l}");
        let msgs = th
            .call(&admin, "scheduler.getLogMessages", json!([]))
            .await?;
        assert!(
            msgs.as_array()
                .is_some_and(|m| m.iter().any(|x| x["msg"] == json!("Assigning task"))),
            "{l}: {msgs}"
        );
        let data = th
            .call(&x86, "host.updateHost", json!([1.0, true, {"maxjobs": 1}]))
            .await;
        assert!(data.is_ok());
        assert_eq!(
            th.call(&admin, "scheduler.getHostData", json!([x86_id]))
                .await?,
            json!([{"host_id": x86_id, "data": {"maxjobs": 1}}])
        );
        let capped = th
            .call(&admin, "makeTask", make("sleep", "x86_64", "default"))
            .await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        assert_eq!(
            info(&capped).await?["state"],
            json!(FREE),
            "{l}: maxjobs from the host's data"
        );
    }
    Ok(())
}

#[tokio::test]
async fn silent_hosts_lose_their_tasks() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let h = th.host("b1", &["x86_64"]).await?;
        let h_id = th.call(&h, "host.getID", json!([])).await?;
        th.call(&h, "host.updateHost", json!([0.0, true])).await?;
        let opened = th.call(&admin, "makeTask", json!(["sleep", [1]])).await?;
        let assigned = th.call(&admin, "makeTask", json!(["sleep", [2]])).await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        th.call(&h, "host.openTask", json!([opened])).await?;
        // an hour of silence, and an assignment made an hour ago
        let db = th.hub.db().conn();
        let hour_ago = chrono::Utc::now() - chrono::Duration::hours(1);
        koji_core::db::exec(
            db,
            "UPDATE host SET update_time = ? WHERE id = ?",
            koji_core::params![hour_ago, h_id.as_i64()],
        )
        .await?;
        koji_core::db::exec(
            db,
            "UPDATE scheduler_task_runs SET create_time = ?",
            koji_core::params![hour_ago],
        )
        .await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        assert_eq!(
            state(&th, &opened).await?,
            FREE,
            "{l}: freed from a silent host"
        );
        assert_eq!(
            state(&th, &assigned).await?,
            FREE,
            "{l}: assignment timed out"
        );
        let host = th.call(&admin, "getHost", json!([h_id])).await?;
        assert_eq!(host["ready"], json!(false), "{l}: marked not ready");
        let msgs = th
            .call(
                &admin,
                "scheduler.getLogMessages",
                json!([[["host_id", "=", h_id]]]),
            )
            .await?;
        let texts: Vec<&str> = msgs
            .as_array()
            .map(|m| m.iter().filter_map(|x| x["msg"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            texts.contains(&"Freeing task from unresponsive host"),
            "{l}: {texts:?}"
        );
        assert!(texts.contains(&"Task assignment timeout"), "{l}: {texts:?}");
        assert!(texts.contains(&"Marking host not ready"), "{l}: {texts:?}");
        // another host, alive, gets them and runs them
        let h2 = th.host("b2", &["x86_64"]).await?;
        let h2_id = th.call(&h2, "host.getID", json!([])).await?;
        th.call(&h2, "host.updateHost", json!([0.0, true])).await?;
        th.call(&admin, "scheduler.doRun", json!([true])).await?;
        let tasks = th.call(&h2, "host.getTasks", json!([])).await?;
        assert_eq!(tasks.as_array().map(Vec::len), Some(2), "{l}: {tasks}");
        for t in [&opened, &assigned] {
            let info = th.call(&admin, "getTaskInfo", json!([t])).await?;
            assert_eq!(info["host_id"], h2_id, "{l}: {info}");
        }
        th.call(&h2, "host.openTask", json!([opened])).await?;
        th.call(
            &h2,
            "host.closeTask",
            json!([opened, encode_result(&json!(null))]),
        )
        .await?;
        assert_eq!(state(&th, &opened).await?, CLOSED, "{l}: run elsewhere");
        // the silent host, back, has none of them and cannot take them
        // (upstream's openTask answers None for a task it cannot lock)
        th.call(&h, "host.updateHost", json!([0.0, true])).await?;
        let tasks = th.call(&h, "host.getTasks", json!([])).await?;
        assert_eq!(tasks.as_array().map(Vec::len), Some(0), "{l}: {tasks}");
        let opened_by_b1 = th.call(&h, "host.openTask", json!([assigned])).await?;
        assert_eq!(opened_by_b1, Json::Null, "{l}: b1 opened b2's task");
        let info = th.call(&admin, "getTaskInfo", json!([assigned])).await?;
        assert_eq!(info["host_id"], h2_id, "{l}: {info}");
        let runs = th
            .call(
                &admin,
                "scheduler.getTaskRuns",
                json!([[["task_id", "=", opened]]]),
            )
            .await?;
        assert_eq!(runs.as_array().map(Vec::len), Some(2), "{l}: {runs}");
    }
    Ok(())
}

/// Two hubs on one PostgreSQL database schedule at the same time: every
/// task is assigned exactly once. (SQLite is embedded: one hub per file.)
#[tokio::test]
async fn two_hubs_never_assign_a_task_twice() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        if l == "sqlite" {
            continue;
        }
        let admin = th.admin().await?;
        let mut hosts = vec![];
        for i in 0..4 {
            let h = th.host(&format!("b{i}"), &["x86_64"]).await?;
            th.call(&h, "host.updateHost", json!([0.0, true])).await?;
            th.call(
                &admin,
                "editHost",
                json!([format!("b{i}"), kw(json!({"capacity": 100.0}))]),
            )
            .await?;
            hosts.push(h);
        }
        for i in 0..60 {
            th.call(
                &admin,
                "makeTask",
                json!(["sleep", [i], kw(json!({"arch": "x86_64"}))]),
            )
            .await?;
        }
        let mut config = th.hub.config().clone();
        config.scheduler.run_interval = 0.0;
        let other = koji_core::Hub::open(&th.url, config).await?;
        let mut joins = vec![];
        for hub in [th.hub.clone(), other.clone(), th.hub.clone(), other.clone()] {
            joins.push(tokio::spawn(async move {
                for _ in 0..5 {
                    hub.scheduler().run(true).await?;
                }
                Ok::<_, koji_core::Error>(())
            }));
        }
        for j in joins {
            j.await.expect("join")?;
        }
        let runs = th
            .call(&admin, "scheduler.getTaskRuns", json!([null, ["task_id"]]))
            .await?;
        let mut ids: Vec<i64> = runs
            .as_array()
            .map(|r| r.iter().filter_map(|x| x["task_id"].as_i64()).collect())
            .unwrap_or_default();
        let n = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), n, "{l}: a task was assigned twice: {runs}");
        assert_eq!(n, 60, "{l}: every task assigned (maxjobs 15 per host)");
    }
    Ok(())
}

#[tokio::test]
async fn buildroots_of_a_host() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let h = th.host("b1", &["x86_64"]).await?;
        let other = th.host("b2", &["x86_64"]).await?;
        th.call(&h, "host.updateHost", json!([0.0, true])).await?;
        let tag = th.call(&admin, "createTag", json!(["f40-build"])).await?;
        // repos come with the repos issue: one row made by hand
        koji_core::db::exec(
            th.hub.db().conn(),
            "INSERT INTO repo (create_event, tag_id, state) \
             VALUES ((SELECT MAX(id) FROM events), ?, 1)",
            koji_core::params![tag.as_i64()],
        )
        .await?;
        let repo =
            koji_core::db::fetch_one(th.hub.db().conn(), "SELECT MAX(id) AS id FROM repo", vec![])
                .await
                .map(|r| koji_core::db::RowExt::int(&r, "id"))??;
        let t = th.call(&admin, "makeTask", json!(["sleep", [1]])).await?;
        th.call(&h, "host.getTasks", json!([])).await?;
        th.call(&h, "host.openTask", json!([t])).await?;
        let e = th
            .call(&other, "host.newBuildRoot", json!([repo, "x86_64", t]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}: {e}");
        let br = th
            .call(&h, "host.newBuildRoot", json!([repo, "x86_64", t]))
            .await?;
        let e = th
            .call(&other, "host.setBuildRootState", json!([br, "BUILDING"]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1004, "{l}: {e}");
        let e = th
            .call(&h, "host.updateBuildRootList", json!([br, []]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), format!("buildroot {br} in wrong state 0"));
        th.call(&h, "host.setBuildRootList", json!([br, []]))
            .await?;
        th.call(&h, "host.setBuildRootState", json!([br, "BUILDING"]))
            .await?;
        let rows = th
            .call(&admin, "listBuildroots", json!([kw(json!({"taskID": t}))]))
            .await?;
        assert_eq!(rows.as_array().map(Vec::len), Some(1), "{l}: {rows}");
        let row = &rows[0];
        assert_eq!(row["id"], br);
        assert_eq!(row["state"], json!(2));
        assert_eq!(row["host_name"], json!("b1"));
        assert_eq!(row["tag_name"], json!("f40-build"));
        assert_eq!(row["repo_id"], json!(repo));
        assert_eq!(row["arch"], json!("x86_64"));
        assert_eq!(row["container_type"], json!("chroot"));
        assert_eq!(row["br_type"], json!(0));
        assert!(row["create_ts"].is_f64());
        assert_eq!(row["retire_ts"], Json::Null);
        th.call(&h, "host.setBuildRootState", json!([br, 3]))
            .await?;
        let got = th.call(&admin, "getBuildroot", json!([br])).await?;
        assert_eq!(got["state"], json!(3), "{l}: {got}");
        assert!(got["retire_event_id"].is_i64());
        let e = th
            .call(&h, "host.setBuildRootState", json!([br, "BUILDING"]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), format!("buildroot {br} is EXPIRED"));
        assert_eq!(
            th.call(&admin, "getBuildrootListing", json!([br])).await?,
            json!([])
        );
        assert_eq!(
            th.call(&admin, "getBuildroot", json!([999])).await?,
            Json::Null
        );
        let e = th
            .call(&admin, "getBuildroot", json!([999, true]))
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "No such buildroot: 999");
        let by_host = th
            .call(
                &admin,
                "listBuildroots",
                json!([kw(json!({"hostID": 999}))]),
            )
            .await?;
        assert_eq!(by_host, json!([]));
    }
    Ok(())
}
