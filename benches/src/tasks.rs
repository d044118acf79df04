//! Benchmarks of issue 4: one scheduler pass (in-process, against a
//! database) and, over HTTP against a hub with a builder, the time from a
//! `build` call to the builder starting the task and to the build being
//! tagged.

use crate::percentile;
use anyhow::{anyhow, bail, Context as _, Result};
use koji_core::api::{Ctx, Registry};
use koji_core::db::{exec, Value as DbValue};
use koji_core::{Caller, Hub, HubConfig};
use serde_json::{json, Value as Json};
use std::sync::Arc;
use std::time::{Duration, Instant};

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

async fn admin(hub: &Hub) -> Result<Caller> {
    hub.users().bootstrap_admin("admin", "admin").await?;
    Ok(hub
        .auth()
        .login_caller("admin", "admin", "127.0.0.1")
        .await?)
}

async fn call(hub: &Hub, caller: &Arc<Caller>, method: &str, params: Json) -> Result<Json> {
    let params = match params {
        Json::Array(a) => a,
        other => vec![other],
    };
    let ctx = Ctx {
        hub: hub.clone(),
        caller: caller.clone(),
    };
    Registry::standard()
        .dispatch(ctx, method, params)
        .await
        .map_err(|e| anyhow!("{method}: {e}"))
}

/// `koji-load scheduler`: `hosts` ready hosts (x86_64, default channel,
/// capacity 2, upstream's default MaxJobs 15) and `tasks` FREE tasks made
/// with `makeTask`; then times scheduler passes: a pass that assigns (the
/// assignments undone after each), and a pass with every host full.
pub async fn scheduler(db_url: &str, hosts: usize, tasks: usize, repeat: usize) -> Result<()> {
    let mut cfg = HubConfig::default();
    cfg.scheduler.run_interval = 0.0;
    let hub = Hub::open(db_url, cfg).await?;
    let caller = Arc::new(admin(&hub).await?);
    let t = Instant::now();
    for i in 0..hosts {
        call(
            &hub,
            &caller,
            "addHost",
            json!([format!("bench-host-{i:04}"), ["x86_64"]]),
        )
        .await?;
    }
    let conn = hub.db().conn();
    exec(
        conn,
        "UPDATE host SET ready = ?, update_time = ?",
        vec![DbValue::from(true), DbValue::from(chrono::Utc::now())],
    )
    .await?;
    for i in 0..tasks {
        let arch = if i % 2 == 0 { "noarch" } else { "x86_64" };
        call(
            &hub,
            &caller,
            "makeTask",
            json!(["sleep", [1], {"arch": arch, "__starstar": true}]),
        )
        .await?;
    }
    // fresh planner statistics, as autovacuum keeps them on a live hub
    exec(conn, "ANALYZE", vec![]).await?;
    println!(
        "setup: {hosts} hosts, {tasks} free tasks in {:.1}s",
        t.elapsed().as_secs_f64()
    );
    let mut assigning = vec![];
    let mut full = vec![];
    let mut assigned_per_pass = 0;
    for _ in 0..repeat.max(1) {
        // hosts stay "checked in" for the readiness test
        exec(
            conn,
            "UPDATE host SET update_time = ?",
            vec![DbValue::from(chrono::Utc::now())],
        )
        .await?;
        let t = Instant::now();
        if !hub.scheduler().run(true).await? {
            bail!("the scheduler did not run (lock held?)");
        }
        assigning.push(ms(t.elapsed()));
        let n = koji_core::db::fetch_one(
            conn,
            "SELECT COUNT(*) AS n FROM task WHERE state = 4",
            vec![],
        )
        .await?;
        use koji_core::db::RowExt as _;
        assigned_per_pass = n.int("n")?;
        let t = Instant::now();
        hub.scheduler().run(true).await?;
        full.push(ms(t.elapsed()));
        // undo: every task FREE again, no runs
        exec(
            conn,
            "UPDATE task SET state = 0, host_id = NULL WHERE state = 4",
            vec![],
        )
        .await?;
        exec(conn, "DELETE FROM scheduler_task_runs", vec![]).await?;
    }
    assigning.sort_by(f64::total_cmp);
    full.sort_by(f64::total_cmp);
    println!(
        "scheduler pass assigning {assigned_per_pass} of {tasks} free tasks to {hosts} hosts: \
         p50={:.1}ms max={:.1}ms (n={})",
        percentile(&assigning, 0.5),
        percentile(&assigning, 1.0),
        assigning.len()
    );
    println!(
        "scheduler pass with every host full ({tasks} free tasks, {hosts} hosts): \
         p50={:.1}ms max={:.1}ms (n={})",
        percentile(&full, 0.5),
        percentile(&full, 1.0),
        full.len()
    );
    Ok(())
}

/// `koji-load builds`: for each SRPM (distinct NVRs), uploads it, calls
/// `build(src, target)` and follows the task until the build is tagged.
/// Reports, per build: the hub-recorded delay from the task's creation to
/// the builder opening it (parent and `buildArch`), and the wall time from
/// the `build` call to the build being tagged as a client sees it.
pub async fn builds(
    client: &mut crate::Client,
    target: &str,
    dest_tag: &str,
    srpms: &[std::path::PathBuf],
) -> Result<()> {
    use koji_core::xmlrpc::Value;
    // the target, its tags and the package list, made if missing
    let build_tag = format!("{dest_tag}-build");
    let exists = client
        .call("getBuildTarget", &[Value::from(json!(target))])
        .await?
        .to_json();
    if exists.is_null() {
        let arch = std::env::consts::ARCH;
        client
            .call(
                "createTag",
                &[
                    Value::from(json!(build_tag)),
                    crate::kw(json!({"arches": arch})),
                ],
            )
            .await?;
        client
            .call("createTag", &[Value::from(json!(dest_tag))])
            .await?;
        client
            .call(
                "createBuildTarget",
                &[
                    Value::from(json!(target)),
                    Value::from(json!(build_tag)),
                    Value::from(json!(dest_tag)),
                ],
            )
            .await?;
    }
    // a build waits for a repo of its build tag: the hub's upkeep makes
    // the first one for the new target; the figures are builds with a repo
    let deadline = Instant::now() + Duration::from_secs(120);
    while client
        .call("getRepo", &[Value::from(json!(build_tag))])
        .await?
        .to_json()
        .is_null()
    {
        if Instant::now() > deadline {
            bail!("no repo of {build_tag} after 120 s (is the hub's repo upkeep on?)");
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let mut start_parent = vec![];
    let mut start_arch = vec![];
    let mut wall = vec![];
    for (i, srpm) in srpms.iter().enumerate() {
        let name = srpm
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("bad file name {}", srpm.display()))?
            .to_string();
        let nvr = name.trim_end_matches(".src.rpm").to_string();
        let pkg = nvr.rsplitn(3, '-').last().unwrap_or_default().to_string();
        client
            .call(
                "packageListAdd",
                &[
                    Value::from(json!(dest_tag)),
                    Value::from(json!(pkg)),
                    crate::kw(json!({"owner": "admin"})),
                ],
            )
            .await?;
        let dir = format!("cli-build/bench-{}-{i}", std::process::id());
        let data = tokio::fs::read(srpm)
            .await
            .with_context(|| format!("cannot read {}", srpm.display()))?;
        client.upload(&dir, &name, data).await?;
        let t0 = Instant::now();
        let task = client
            .call(
                "build",
                &[
                    Value::from(json!(format!("{dir}/{name}"))),
                    Value::from(json!(target)),
                ],
            )
            .await?
            .to_json();
        let task = task.as_i64().ok_or_else(|| anyhow!("build: no task id"))?;
        loop {
            let tagged = client
                .call(
                    "listTagged",
                    &[
                        Value::from(json!(dest_tag)),
                        crate::kw(json!({"package": pkg})),
                    ],
                )
                .await?
                .to_json();
            if tagged
                .as_array()
                .is_some_and(|a| a.iter().any(|b| b["nvr"] == json!(nvr)))
            {
                break;
            }
            let info = client
                .call("getTaskInfo", &[Value::from(json!(task))])
                .await?
                .to_json();
            if matches!(info["state"].as_i64(), Some(3 | 5)) {
                bail!(
                    "build of {nvr} (task {task}) ended in state {}",
                    info["state"]
                );
            }
            if t0.elapsed() > Duration::from_secs(300) {
                bail!("build of {nvr} (task {task}) did not finish in 300 s");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        wall.push(t0.elapsed().as_secs_f64());
        let info = client
            .call("getTaskInfo", &[Value::from(json!(task))])
            .await?
            .to_json();
        if let (Some(c), Some(s)) = (info["create_ts"].as_f64(), info["start_ts"].as_f64()) {
            start_parent.push((s - c) * 1000.0);
        }
        let children = client
            .call("getTaskChildren", &[Value::from(json!(task))])
            .await?
            .to_json();
        for c in children.as_array().cloned().unwrap_or_default() {
            if c["method"] == json!("buildArch") {
                if let (Some(cr), Some(s)) = (c["create_ts"].as_f64(), c["start_ts"].as_f64()) {
                    start_arch.push((s - cr) * 1000.0);
                }
            }
        }
        println!(
            "{nvr}: task {task}, tagged after {:.2}s",
            wall.last().copied().unwrap_or_default()
        );
    }
    for v in [&mut start_parent, &mut start_arch, &mut wall] {
        v.sort_by(f64::total_cmp);
    }
    println!(
        "build call -> builder opened the task: p50={:.1}ms max={:.1}ms (n={})",
        percentile(&start_parent, 0.5),
        percentile(&start_parent, 1.0),
        start_parent.len()
    );
    println!(
        "buildArch subtask made -> opened: p50={:.1}ms max={:.1}ms (n={})",
        percentile(&start_arch, 0.5),
        percentile(&start_arch, 1.0),
        start_arch.len()
    );
    println!(
        "koji build -> tagged (wall): p50={:.2}s max={:.2}s (n={})",
        percentile(&wall, 0.5),
        percentile(&wall, 1.0),
        wall.len()
    );
    Ok(())
}
