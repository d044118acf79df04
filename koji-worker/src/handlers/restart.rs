//! Graceful restarts of builders (upstream's `restartHosts`, `restart`,
//! `restartVerify`). `restart` runs on the host it names; once it closes,
//! that host's daemon takes nothing new and restarts as soon as its running
//! tasks are done (kojid execs itself; `serve --builder` starts a new
//! daemon). `restartVerify` then checks that the daemon started after the
//! `restart` task closed.

use crate::client::kw;
use crate::runner::{fail, TaskCtx};
use anyhow::Result;
use koji_core::hub::tasks::TaskState;
use serde_json::{json, Value as Json};

/// This host's id.
async fn my_host_id(ctx: &TaskCtx) -> Result<i64> {
    Ok(ctx
        .hub
        .call("host.getID", vec![])
        .await?
        .as_i64()
        .unwrap_or_default())
}

/// `restart(host)`: the daemon restarts once idle.
pub async fn restart(ctx: &TaskCtx, host: &Json) -> Result<Json> {
    if host["id"].as_i64() != Some(my_host_id(ctx).await?) {
        return Err(fail(1000, "Host mismatch"));
    }
    Ok(json!("graceful restart initiated"))
}

/// Python's `time.asctime(time.localtime(ts))`.
fn asctime(ts: f64) -> String {
    use chrono::TimeZone as _;
    chrono::Local
        .timestamp_opt(ts as i64, 0)
        .single()
        .map(|t| t.format("%a %b %e %H:%M:%S %Y").to_string())
        .unwrap_or_default()
}

/// `restartVerify(task_id, host)`: the `restart` task closed, and this
/// daemon started after it.
pub async fn restart_verify(ctx: &TaskCtx, task_id: &Json, host: &Json) -> Result<Json> {
    let tinfo = ctx.hub.call("getTaskInfo", vec![task_id.clone()]).await?;
    let state = tinfo["state"].as_i64().and_then(TaskState::from_i64);
    if state != Some(TaskState::Closed) {
        let name = state.map_or("UNKNOWN", TaskState::name);
        return Err(fail(1000, format!("Stage one restart task is {name}")));
    }
    if host["id"].as_i64() != Some(my_host_id(ctx).await?) {
        return Err(fail(1000, "Host mismatch"));
    }
    let start = ctx.cfg.start_ts.unwrap_or_default();
    if start < tinfo["completion_ts"].as_f64().unwrap_or_default() {
        return Err(fail(
            1000,
            format!("Restart failed - start time is {}", asctime(start)),
        ));
    }
    Ok(Json::Null)
}

/// `restartHosts(options=None)`: a `restart` and a `restartVerify` for
/// every enabled host (of `options.channel`, `options.arches`), each
/// assigned to its host; after `options.timeout` seconds (a day) of
/// waiting, the subtasks are canceled and the task fails. When this host is one of them, its restart must
/// happen before this task can finish: the task gives itself back (the
/// daemon restarts, and the task runs again, finding its subtasks by
/// label).
pub async fn restart_hosts(ctx: &TaskCtx, options: &Json) -> Result<Json> {
    let mut query = serde_json::Map::new();
    query.insert("enabled".into(), json!(true));
    if let Some(chan) = options.get("channel") {
        let c = ctx
            .hub
            .call(
                "getChannel",
                vec![chan.clone(), kw(json!({"strict": true}))],
            )
            .await?;
        query.insert("channelID".into(), c["id"].clone());
    }
    if let Some(arches) = options.get("arches") {
        query.insert("arches".into(), arches.clone());
    }
    let hosts = ctx
        .hub
        .call("listHosts", vec![kw(Json::Object(query))])
        .await?;
    let hosts = hosts.as_array().cloned().unwrap_or_default();
    if hosts.is_empty() {
        return Err(fail(1000, "No matching hosts"));
    }
    // upstream's default: a day
    let timeout = std::time::Duration::from_secs_f64(
        options
            .get("timeout")
            .and_then(Json::as_f64)
            .unwrap_or(86400.0)
            .max(0.0),
    );
    let this_host = my_host_id(ctx).await?;
    let mut subtasks = vec![];
    let mut mine = None;
    for host in &hosts {
        let hid = host["id"].as_i64().unwrap_or_default();
        let t1 = ctx
            .subtask(
                "restart",
                vec![host.clone()],
                json!({"assign": hid, "label": format!("restart {hid}")}),
            )
            .await?;
        let t2 = ctx
            .subtask(
                "restartVerify",
                vec![json!(t1), host.clone()],
                json!({"assign": hid, "label": format!("sleep {hid}")}),
            )
            .await?;
        subtasks.extend([t1, t2]);
        if hid == this_host {
            mine = Some((t1, t2));
        }
    }
    if let Some((restart, verify)) = mine {
        ctx.wait_all_timeout(&[restart], false, Some(timeout))
            .await?;
        let finished = ctx
            .hub
            .call("taskFinished", vec![json!(verify)])
            .await?
            .as_bool()
            .unwrap_or(false);
        if !finished {
            // not restarted yet: give this task back so that the pending
            // restart can happen (upstream's ServerRestart)
            ctx.hub
                .call("host.freeTasks", vec![json!([ctx.id])])
                .await?;
            tracing::info!(task = ctx.id, "freed for this host's restart");
            std::process::exit(0);
        }
    }
    // all of them, the others not canceled when one fails (its fault is
    // this task's, through host.taskWaitResults)
    ctx.wait_all_timeout(&subtasks, false, Some(timeout))
        .await?;
    Ok(Json::Null)
}
