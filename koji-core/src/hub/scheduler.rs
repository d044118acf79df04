//! The task scheduler: assigns FREE tasks to hosts.
//!
//! Upstream's rules: a task fits a host when the host is enabled and
//! ready, is in the task's channel, builds the task's arch (every host
//! builds `noarch`), runs fewer than `maxjobs` tasks, has spare capacity
//! (`capacity - load > weight - CapacityOvercommit`) and has not refused
//! the task. Tasks go in priority order (lower first), then age; each goes
//! to the fitting host with the lowest rank (load + task count + its share
//! of the pending demand).
//!
//! A run also keeps the books: hosts that have not checked in for
//! `ready_timeout` are marked not ready, an ASSIGNED task not opened within
//! `assign_timeout` is freed (and counted as a refusal when its host has
//! checked in since), an OPEN task whose host has been silent for
//! `host_timeout` is freed to run elsewhere, soft refusals expire.
//!
//! One run at a time, across hubs: a run holds the `scheduler` row of
//! `locks` (PostgreSQL: `FOR UPDATE SKIP LOCKED`; SQLite: the single
//! writer), and an assignment only succeeds on a FREE row
//! ([`super::tasks::lock_in`]), so no task is ever assigned twice.

use super::tasks::{free_in, lock_in, TaskState};
use super::{Caller, Hub};
use crate::db::{backend_of, exec, fetch_all, fetch_opt, Backend, RowExt, Tx};
use crate::error::{Error, Result};
use crate::params;
use serde_json::{json, Map, Value as Json};
use std::collections::{BTreeMap, HashMap, HashSet};

/// Upstream's scheduler options of `hub.conf`, in seconds.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// `MaxJobs`: tasks a host runs at once unless its data says otherwise.
    pub max_jobs: i64,
    /// `CapacityOvercommit`.
    pub capacity_overcommit: f64,
    /// `ReadyTimeout`: a ready host silent this long is marked not ready.
    pub ready_timeout: f64,
    /// `AssignTimeout`: an assignment not opened this long is taken back.
    pub assign_timeout: f64,
    /// `SoftRefusalTimeout`.
    pub soft_refusal_timeout: f64,
    /// `HostTimeout`: an open task whose host is silent this long is freed.
    pub host_timeout: f64,
    /// `RunInterval`: least time between two runs not forced.
    pub run_interval: f64,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            max_jobs: 15,
            capacity_overcommit: 5.0,
            ready_timeout: 180.0,
            assign_timeout: 300.0,
            soft_refusal_timeout: 900.0,
            host_timeout: 900.0,
            run_interval: 60.0,
        }
    }
}

pub struct Scheduler<'a>(pub(super) &'a Hub);

fn now_ts() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

/// Writes a scheduler log message (upstream's `log_both`).
pub async fn log_in(tx: &Tx, msg: &str, task: Option<i64>, host: Option<i64>) -> Result<()> {
    tracing::info!(task, host, "{msg}");
    exec(
        &**tx,
        "INSERT INTO scheduler_log_messages (task_id, host_id, msg_time, msg) VALUES (?, ?, ?, ?)",
        params![task, host, super::builds::now(), msg],
    )
    .await?;
    Ok(())
}

/// Records that `host` refused `task` (upstream's `set_refusal`).
pub async fn set_refusal_in(
    tx: &Tx,
    host: i64,
    task: i64,
    soft: bool,
    by_host: bool,
    msg: &str,
) -> Result<()> {
    exec(
        &**tx,
        "DELETE FROM scheduler_task_refusals WHERE task_id = ? AND host_id = ?",
        params![task, host],
    )
    .await?;
    exec(
        &**tx,
        "INSERT INTO scheduler_task_refusals (task_id, host_id, by_host, soft, msg, time) \
         VALUES (?, ?, ?, ?, ?, ?)",
        params![task, host, by_host, soft, msg, super::builds::now()],
    )
    .await?;
    log_in(
        tx,
        &format!("Host refused task: {msg}"),
        Some(task),
        Some(host),
    )
    .await
}

/// Stores a host's data for the scheduler (upstream's `set_host_data`).
pub async fn set_host_data_in(tx: &Tx, host: i64, data: &Json) -> Result<()> {
    if !data.is_object() {
        return Err(Error::Parameter("Host data should be a dictionary".into()));
    }
    exec(
        &**tx,
        "DELETE FROM scheduler_host_data WHERE host_id = ?",
        params![host],
    )
    .await?;
    let text = data.to_string();
    let sql = match backend_of(&**tx) {
        Backend::Postgres => {
            "INSERT INTO scheduler_host_data (host_id, data) VALUES (?, CAST(? AS JSONB))"
        }
        Backend::Sqlite => "INSERT INTO scheduler_host_data (host_id, data) VALUES (?, ?)",
    };
    exec(&**tx, sql, params![host, text]).await?;
    Ok(())
}

/// Reads a JSONB column on either backend.
pub(crate) fn json_col(r: &sea_orm::QueryResult, col: &str) -> Result<Json> {
    if let Ok(v) = r.try_get::<Option<Json>>("", col) {
        return Ok(v.unwrap_or(Json::Null));
    }
    Ok(match r.opt_string(col)? {
        Some(s) => serde_json::from_str(&s).unwrap_or(Json::Null),
        None => Json::Null,
    })
}

pub(crate) fn data_select(c: &impl sea_orm::ConnectionTrait, col: &str) -> String {
    match backend_of(c) {
        Backend::Postgres => format!("CAST({col} AS TEXT)"),
        Backend::Sqlite => col.to_string(),
    }
}

/// The tasks assigned to a host, in the order it should open them
/// (upstream's `get_tasks_for_host`).
pub async fn tasks_for_host_in<C: sea_orm::ConnectionTrait>(c: &C, host: i64) -> Result<Vec<Json>> {
    let rows = fetch_all(
        c,
        "SELECT id, state, channel_id, host_id, arch, method, priority, create_time FROM task \
         WHERE host_id = ? AND state = ? ORDER BY priority, create_time, id",
        params![host, TaskState::Assigned as i64],
    )
    .await?;
    rows.iter()
        .map(|r| {
            Ok(json!({
                "arch": r.string("arch")?,
                "channel_id": r.int("channel_id")?,
                "create_ts": r.ts("create_time")?,
                "host_id": r.opt_int("host_id")?,
                "id": r.int("id")?,
                "method": r.opt_string("method")?,
                "priority": r.opt_int("priority")?,
                "state": r.opt_int("state")?,
            }))
        })
        .collect()
}

struct HostRow {
    id: i64,
    update_ts: Option<f64>,
    ready: bool,
    arches: String,
    capacity: f64,
    channels: Vec<i64>,
    load: f64,
    ntasks: i64,
    demand: f64,
    max_jobs: i64,
    rank: f64,
}

struct TaskRow {
    id: i64,
    state: i64,
    waiting: bool,
    weight: f64,
    host_id: Option<i64>,
    bin: String,
}

impl Scheduler<'_> {
    /// Runs the scheduler once (upstream's `TaskScheduler.run`): false when
    /// another run holds the lock or, unless `force`, one ran less than
    /// `run_interval` ago. Wakes builders when it assigned something.
    pub async fn run(&self, force: bool) -> Result<bool> {
        let events = self.0.task_events();
        let mut tx = self.0.db().begin().await?;
        // (a run that does not get the lock leaves the pending changes to
        // the next one: the run holding it may have read the tasks before
        // they were committed)
        if !lock_scheduler(&tx).await? {
            return Ok(false);
        }
        // tasks changed through this hub since the last run: no need to
        // wait for the interval (upstream only counts the interval)
        let (changed, seen) = events.take_scheduling();
        if !(force || changed || self.check_ts(&tx).await?) {
            return Ok(false);
        }
        let assigned = self.run_in(&mut tx).await?;
        tx.commit().await?;
        // wake builders when something was assigned, or when tasks changed
        // during this run (their check-in runs the scheduler again at once)
        if assigned > 0 || events.current() != seen {
            events.notify();
        }
        Ok(true)
    }

    async fn check_ts(&self, tx: &Tx) -> Result<bool> {
        let sel = data_select(&**tx, "data");
        let last = fetch_opt(
            &**tx,
            &format!("SELECT {sel} AS data FROM scheduler_sys_data WHERE name = 'last_run_ts'"),
            vec![],
        )
        .await?
        .map(|r| json_col(&r, "data"))
        .transpose()?
        .and_then(|v| v.as_f64())
        .unwrap_or(0.0);
        let now = now_ts();
        let delta = now - last;
        let ret = if delta < 0.0 {
            tracing::error!("Last run in the future by {} seconds", -delta);
            false
        } else if delta < self.0.config().scheduler.run_interval {
            return Ok(false);
        } else {
            true
        };
        exec(
            &**tx,
            "DELETE FROM scheduler_sys_data WHERE name = 'last_run_ts'",
            vec![],
        )
        .await?;
        let sql = match backend_of(&**tx) {
            Backend::Postgres => {
                "INSERT INTO scheduler_sys_data (name, data) VALUES ('last_run_ts', CAST(? AS JSONB))"
            }
            Backend::Sqlite => "INSERT INTO scheduler_sys_data (name, data) VALUES ('last_run_ts', ?)",
        };
        exec(&**tx, sql, params![Json::from(now).to_string()]).await?;
        Ok(ret)
    }

    /// One scheduling pass inside `tx`; answers how many tasks it assigned
    /// or freed.
    async fn run_in(&self, tx: &mut Tx) -> Result<usize> {
        let cfg = self.0.config().scheduler.clone();
        let (free, active) = load_tasks(tx).await?;
        let mut hosts = load_hosts(tx, cfg.max_jobs).await?;
        // check_hosts: a ready host that stopped checking in is not ready
        let now = now_ts();
        let mut stale = vec![];
        for h in hosts.values_mut() {
            if h.ready && h.update_ts.is_none_or(|t| now - t > cfg.ready_timeout) {
                h.ready = false;
                stale.push(h.id);
            }
        }
        for id in stale {
            log_in(tx, "Marking host not ready", None, Some(id)).await?;
            exec(
                &**tx,
                "UPDATE host SET ready = ? WHERE id = ?",
                params![false, id],
            )
            .await?;
        }
        // load and task count from the active tasks
        for t in &active {
            if let Some(h) = t.host_id.and_then(|id| hosts.get_mut(&id)) {
                if !t.waiting {
                    h.load += t.weight;
                }
                h.ntasks += 1;
            }
        }
        let mut by_bin: HashMap<String, Vec<i64>> = HashMap::new();
        for h in hosts.values() {
            for ch in &h.channels {
                for arch in h.arches.split_whitespace().chain(["noarch"]) {
                    by_bin.entry(format!("{ch}:{arch}")).or_default().push(h.id);
                }
            }
        }
        let refusals = load_refusals(tx, cfg.soft_refusal_timeout).await?;
        let mut options: Vec<Vec<i64>> = Vec::with_capacity(free.len());
        for t in &free {
            let min_avail = (t.weight - cfg.capacity_overcommit).max(0.0);
            let refused = refusals.get(&t.id);
            let fit: Vec<i64> = by_bin
                .get(&t.bin)
                .map(|ids| {
                    ids.iter()
                        .copied()
                        .filter(|id| {
                            let h = &hosts[id];
                            h.ready
                                && h.ntasks < h.max_jobs
                                && h.capacity - h.load > min_avail
                                && !refused.is_some_and(|r| r.contains(id))
                        })
                        .collect()
                })
                .unwrap_or_default();
            for id in &fit {
                if let Some(h) = hosts.get_mut(id) {
                    h.demand += t.weight / fit.len() as f64;
                }
            }
            options.push(fit);
        }
        let total: f64 = hosts.values().map(|h| h.demand).sum();
        for h in hosts.values_mut() {
            if total > 0.0 {
                h.demand /= total;
            }
            h.rank = h.load + h.ntasks as f64 + h.demand;
        }
        // the plan is made in memory, then written in a few statements
        let mut plan = vec![];
        for (t, fit) in free.iter().zip(options) {
            let min_avail = (t.weight - cfg.capacity_overcommit).max(0.0);
            // upstream sorts the hosts by rank (a stable sort) and takes
            // the first with room: the first host of lowest rank with room
            let mut best: Option<(i64, f64)> = None;
            for id in fit {
                let h = &hosts[&id];
                if h.capacity - h.load > min_avail
                    && h.ntasks < h.max_jobs
                    && best.is_none_or(|(_, r)| h.rank < r)
                {
                    best = Some((id, h.rank));
                }
            }
            if let Some((id, _)) = best {
                plan.push((t.id, id));
                let h = hosts.get_mut(&id).expect("host");
                h.load += t.weight;
                h.ntasks += 1;
                h.rank = h.load + h.ntasks as f64 + h.demand;
            }
        }
        let assigned = assign_many_in(tx, &plan).await?;
        let freed = self.check_active(tx, &active, &hosts, &cfg).await?;
        Ok(assigned + freed)
    }

    async fn check_active(
        &self,
        tx: &mut Tx,
        active: &[TaskRow],
        hosts: &BTreeMap<i64, HostRow>,
        cfg: &SchedulerConfig,
    ) -> Result<usize> {
        let mut freed = 0;
        let runs = fetch_all(
            &**tx,
            "SELECT task_id, create_time FROM scheduler_task_runs WHERE active = ?",
            params![true],
        )
        .await?;
        let mut run_ts: HashMap<i64, f64> = HashMap::new();
        for r in &runs {
            let ts = r.ts("create_time")?.unwrap_or_default();
            let e = run_ts.entry(r.int("task_id")?).or_insert(ts);
            *e = e.min(ts);
        }
        let now = now_ts();
        for t in active {
            let Some(hid) = t.host_id else {
                log_in(tx, "Active task with no host", Some(t.id), None).await?;
                free_in(tx, t.id).await?;
                freed += 1;
                continue;
            };
            let Some(h) = hosts.get(&hid) else { continue };
            let Some(&assign_ts) = run_ts.get(&t.id) else {
                continue; // an override assignment: left alone
            };
            if t.state == TaskState::Assigned as i64 {
                if now - assign_ts > cfg.assign_timeout {
                    if h.update_ts.is_some_and(|u| u > assign_ts) {
                        set_refusal_in(tx, hid, t.id, true, false, "assignment timeout").await?;
                    }
                    log_in(tx, "Task assignment timeout", Some(t.id), Some(hid)).await?;
                    free_in(tx, t.id).await?;
                    freed += 1;
                }
            } else if t.state == TaskState::Open as i64 {
                let age = match h.update_ts {
                    Some(u) => now - u,
                    None => now - assign_ts,
                };
                if age > cfg.host_timeout {
                    log_in(
                        tx,
                        "Freeing task from unresponsive host",
                        Some(t.id),
                        Some(hid),
                    )
                    .await?;
                    free_in(tx, t.id).await?;
                    freed += 1;
                }
            }
        }
        exec(
            &**tx,
            // (a lookup per active run by primary key: the anti-join form
            // was planned as a nested loop over every active task and took
            // ~250 ms with 1,000 active runs on PostgreSQL)
            "UPDATE scheduler_task_runs SET active = ? WHERE active = ? AND \
             (SELECT task.state FROM task WHERE task.id = scheduler_task_runs.task_id) NOT IN (?, ?)",
            params![
                false,
                true,
                TaskState::Open as i64,
                TaskState::Assigned as i64
            ],
        )
        .await?;
        Ok(freed)
    }

    /// `assignTask(task_id, host, force=False, override=False)`: admins.
    pub async fn assign(
        &self,
        caller: &Caller,
        task: &Json,
        host: &Json,
        force: bool,
        override_: bool,
    ) -> Result<bool> {
        let task = super::tasks::task_id_arg(task)?;
        let host = super::hosts::get_host_in(self.0.db().conn(), host, true, None)
            .await?
            .map(|h| h.id)
            .unwrap_or_default();
        caller.assert_perm("admin")?;
        let mut tx = self.0.db().begin().await?;
        lock_scheduler_wait(&tx).await?;
        let ok = assign_in(&mut tx, task, host, force, override_).await?;
        tx.commit().await?;
        if ok {
            self.0.task_events().notify();
        }
        Ok(ok)
    }

    /// `scheduler.getTaskRuns(clauses=None, fields=None, opts=None)`.
    pub async fn task_runs(&self, clauses: &Json, fields: &Json, opts: &Json) -> Result<Json> {
        self.query_view(&TASK_RUNS, clauses, fields, opts).await
    }

    /// `scheduler.getTaskRefusals(clauses=None, fields=None)`.
    pub async fn task_refusals(&self, clauses: &Json, fields: &Json) -> Result<Json> {
        self.query_view(&REFUSALS, clauses, fields, &Json::Null)
            .await
    }

    /// `scheduler.getLogMessages(clauses=None, fields=None, opts=None)`.
    pub async fn log_messages(&self, clauses: &Json, fields: &Json, opts: &Json) -> Result<Json> {
        self.query_view(&LOG_MESSAGES, clauses, fields, opts).await
    }

    /// `scheduler.getHostData(hostID=None)`: `[{host_id, data}]`.
    pub async fn host_data(&self, host: &Json) -> Result<Vec<Json>> {
        let c = self.0.db().conn();
        let sel = data_select(c, "data");
        let rows = match host {
            Json::Null => {
                fetch_all(
                    c,
                    &format!(
                        "SELECT host_id, {sel} AS data FROM scheduler_host_data ORDER BY host_id"
                    ),
                    vec![],
                )
                .await?
            }
            other => {
                let id = super::tasks::task_id_arg(other)?;
                fetch_all(
                    c,
                    &format!(
                        "SELECT host_id, {sel} AS data FROM scheduler_host_data WHERE host_id = ? \
                         ORDER BY host_id"
                    ),
                    params![id],
                )
                .await?
            }
        };
        rows.iter()
            .map(|r| Ok(json!({"host_id": r.int("host_id")?, "data": json_col(r, "data")?})))
            .collect()
    }

    /// Upstream's `QueryView`: `clauses` as `[[field, op, value], ...]`,
    /// `fields` a subset of the view's fields (default: its defaults).
    async fn query_view(
        &self,
        view: &View,
        clauses: &Json,
        fields: &Json,
        opts: &Json,
    ) -> Result<Json> {
        let names: Vec<String> = match fields {
            Json::Null => view.defaults.iter().map(|s| s.to_string()).collect(),
            Json::Array(a) => a.iter().map(crate::util::py_str).collect(),
            Json::String(s) => vec![s.clone()],
            other => {
                return Err(Error::Parameter(format!(
                    "Invalid fields: {}",
                    crate::util::py_repr(other)
                )))
            }
        };
        let field = |n: &str| -> Result<&(&str, &str, Option<&str>)> {
            view.fields
                .iter()
                .find(|f| f.0 == n)
                .ok_or_else(|| Error::Parameter(format!("Invalid field: {n}")))
        };
        let mut joins: Vec<&str> = vec![];
        let mut cols = vec![];
        for n in &names {
            let f = field(n)?;
            if let Some(j) = f.2 {
                if !joins.contains(&j) {
                    joins.push(j);
                }
            }
            cols.push(format!("{} AS {}", f.1, f.0));
        }
        let mut wh = crate::db::Where::new();
        if let Json::Array(cl) = clauses {
            for c in cl {
                let parts = c.as_array().cloned().unwrap_or_default();
                let (name, op, value) = match parts.as_slice() {
                    [n, v] => (crate::util::py_str(n), "=".to_string(), v.clone()),
                    [n, o, v] => (crate::util::py_str(n), crate::util::py_str(o), v.clone()),
                    _ => {
                        return Err(Error::Parameter(format!(
                            "Invalid clause: {}",
                            crate::util::py_repr(c)
                        )))
                    }
                };
                let f = field(&name)?;
                if let Some(j) = f.2 {
                    if !joins.contains(&j) {
                        joins.push(j);
                    }
                }
                let col = f.1;
                let is_time = f.0.ends_with("ts");
                let v = match &value {
                    Json::Number(n) if is_time => {
                        let micros = (n.as_f64().unwrap_or_default() * 1e6) as i64;
                        chrono::DateTime::from_timestamp_micros(micros)
                            .unwrap_or_default()
                            .into()
                    }
                    Json::Bool(b) => crate::db::Value::from(*b),
                    Json::Number(n) if n.is_i64() => n.as_i64().into(),
                    Json::Number(n) => n.as_f64().into(),
                    // an id given as text (the CLI's `scheduler-info --host 3`
                    // passes the option's string): PostgreSQL compares it as
                    // the number it is, as upstream's interpolated SQL does
                    Json::String(t) if f.0 == "id" || f.0.ends_with("_id") => {
                        match t.parse::<i64>() {
                            Ok(i) => i.into(),
                            Err(_) => t.clone().into(),
                        }
                    }
                    other => crate::util::py_str(other).into(),
                };
                match op.to_uppercase().as_str() {
                    "=" | "==" => wh.and(format!("{col} = ?"), vec![v]),
                    "!=" => wh.and(format!("{col} != ?"), vec![v]),
                    "<" | ">" | "<=" | ">=" => wh.and(format!("{col} {op} ?"), vec![v]),
                    "IS" if value.is_null() => wh.and(format!("{col} IS NULL"), vec![]),
                    "IS NOT" if value.is_null() => wh.and(format!("{col} IS NOT NULL"), vec![]),
                    "IN" | "NOT IN" => {
                        let vals: Vec<crate::db::Value> = value
                            .as_array()
                            .cloned()
                            .unwrap_or_default()
                            .iter()
                            .map(|x| match x {
                                Json::Number(n) if n.is_i64() => n.as_i64().into(),
                                other => crate::util::py_str(other).into(),
                            })
                            .collect();
                        if vals.is_empty() {
                            wh.and(
                                if op.eq_ignore_ascii_case("IN") {
                                    "1 = 0"
                                } else {
                                    "1 = 1"
                                },
                                vec![],
                            )
                        } else {
                            let marks = vec!["?"; vals.len()].join(", ");
                            wh.and(format!("{col} {} ({marks})", op.to_uppercase()), vals)
                        }
                    }
                    _ => return Err(Error::Parameter(format!("Invalid operator: {op}"))),
                };
            }
        }
        let c = self.0.db().conn();
        let sql = format!(
            "SELECT {} FROM {} {}{} ORDER BY {}.id",
            cols.join(", "),
            view.table,
            joins.join(" "),
            wh.sql(),
            view.table
        );
        let rows = fetch_all(c, &sql, wh.params).await?;
        let mut out = vec![];
        for r in &rows {
            let mut m = Map::new();
            for n in &names {
                let v = if n.ends_with("ts") {
                    Json::from(r.ts(n)?)
                } else if ["active", "by_host", "soft", "host_ready"].contains(&n.as_str()) {
                    Json::from(r.opt_bool(n)?)
                } else if let Ok(Some(i)) = r.opt_int(n) {
                    Json::from(i)
                } else {
                    Json::from(r.opt_string(n).ok().flatten())
                };
                m.insert(n.clone(), v);
            }
            out.push(Json::Object(m));
        }
        let qo = super::query_opts::QueryOpts::parse(opts)?;
        let cols = super::query_opts::Columns::ordered(
            &names.iter().map(String::as_str).collect::<Vec<_>>(),
        );
        qo.apply(out, &cols)
    }
}

struct View {
    table: &'static str,
    /// (name, SQL expression, join needed)
    fields: &'static [(&'static str, &'static str, Option<&'static str>)],
    defaults: &'static [&'static str],
}

static TASK_RUNS: View = View {
    table: "scheduler_task_runs",
    fields: &[
        ("id", "scheduler_task_runs.id", None),
        ("task_id", "scheduler_task_runs.task_id", None),
        (
            "method",
            "task.method",
            Some("LEFT JOIN task ON scheduler_task_runs.task_id = task.id"),
        ),
        (
            "state",
            "task.state",
            Some("LEFT JOIN task ON scheduler_task_runs.task_id = task.id"),
        ),
        (
            "owner",
            "task.owner",
            Some("LEFT JOIN task ON scheduler_task_runs.task_id = task.id"),
        ),
        (
            "arch",
            "task.arch",
            Some("LEFT JOIN task ON scheduler_task_runs.task_id = task.id"),
        ),
        (
            "channel_id",
            "task.channel_id",
            Some("LEFT JOIN task ON scheduler_task_runs.task_id = task.id"),
        ),
        (
            "host_name",
            "host.name",
            Some("LEFT JOIN host ON scheduler_task_runs.host_id = host.id"),
        ),
        (
            "host_ready",
            "host.ready",
            Some("LEFT JOIN host ON scheduler_task_runs.host_id = host.id"),
        ),
        ("host_id", "scheduler_task_runs.host_id", None),
        ("active", "scheduler_task_runs.active", None),
        ("create_ts", "scheduler_task_runs.create_time", None),
        (
            "start_ts",
            "task.start_time",
            Some("LEFT JOIN task ON scheduler_task_runs.task_id = task.id"),
        ),
        (
            "completion_ts",
            "task.completion_time",
            Some("LEFT JOIN task ON scheduler_task_runs.task_id = task.id"),
        ),
    ],
    defaults: &["id", "task_id", "host_id", "active", "create_ts"],
};

static REFUSALS: View = View {
    table: "scheduler_task_refusals",
    fields: &[
        ("id", "scheduler_task_refusals.id", None),
        ("task_id", "scheduler_task_refusals.task_id", None),
        ("host_id", "scheduler_task_refusals.host_id", None),
        ("by_host", "scheduler_task_refusals.by_host", None),
        ("soft", "scheduler_task_refusals.soft", None),
        ("msg", "scheduler_task_refusals.msg", None),
        ("ts", "scheduler_task_refusals.time", None),
        (
            "method",
            "task.method",
            Some("LEFT JOIN task ON scheduler_task_refusals.task_id = task.id"),
        ),
        (
            "state",
            "task.state",
            Some("LEFT JOIN task ON scheduler_task_refusals.task_id = task.id"),
        ),
        (
            "owner",
            "task.owner",
            Some("LEFT JOIN task ON scheduler_task_refusals.task_id = task.id"),
        ),
        (
            "arch",
            "task.arch",
            Some("LEFT JOIN task ON scheduler_task_refusals.task_id = task.id"),
        ),
        (
            "channel_id",
            "task.channel_id",
            Some("LEFT JOIN task ON scheduler_task_refusals.task_id = task.id"),
        ),
        (
            "host_name",
            "host.name",
            Some("LEFT JOIN host ON scheduler_task_refusals.host_id = host.id"),
        ),
        (
            "host_ready",
            "host.ready",
            Some("LEFT JOIN host ON scheduler_task_refusals.host_id = host.id"),
        ),
    ],
    defaults: &["id", "task_id", "host_id", "by_host", "soft", "msg", "ts"],
};

static LOG_MESSAGES: View = View {
    table: "scheduler_log_messages",
    fields: &[
        ("id", "scheduler_log_messages.id", None),
        ("task_id", "scheduler_log_messages.task_id", None),
        ("host_id", "scheduler_log_messages.host_id", None),
        ("msg_ts", "scheduler_log_messages.msg_time", None),
        ("msg", "scheduler_log_messages.msg", None),
        (
            "method",
            "task.method",
            Some("LEFT JOIN task ON scheduler_log_messages.task_id = task.id"),
        ),
        (
            "state",
            "task.state",
            Some("LEFT JOIN task ON scheduler_log_messages.task_id = task.id"),
        ),
        (
            "owner",
            "task.owner",
            Some("LEFT JOIN task ON scheduler_log_messages.task_id = task.id"),
        ),
        (
            "arch",
            "task.arch",
            Some("LEFT JOIN task ON scheduler_log_messages.task_id = task.id"),
        ),
        (
            "channel_id",
            "task.channel_id",
            Some("LEFT JOIN task ON scheduler_log_messages.task_id = task.id"),
        ),
        (
            "host_name",
            "host.name",
            Some("LEFT JOIN host ON scheduler_log_messages.host_id = host.id"),
        ),
        (
            "host_ready",
            "host.ready",
            Some("LEFT JOIN host ON scheduler_log_messages.host_id = host.id"),
        ),
    ],
    defaults: &["id", "task_id", "host_id", "msg", "msg_ts"],
};

/// Takes the scheduler lock for this transaction; false if another hub's
/// run holds it.
async fn lock_scheduler(tx: &Tx) -> Result<bool> {
    try_lock(tx, "scheduler").await
}

/// Takes the `locks` row `name` for this transaction without waiting
/// (upstream's `db_lock(name, wait=False)`); false if another hub holds it.
pub(crate) async fn try_lock(tx: &Tx, name: &str) -> Result<bool> {
    match backend_of(&**tx) {
        Backend::Postgres => Ok(fetch_opt(
            &**tx,
            "SELECT name FROM locks WHERE name = ? FOR UPDATE SKIP LOCKED",
            crate::params![name],
        )
        .await?
        .is_some()),
        // the transaction already holds the only writer's turn
        Backend::Sqlite => Ok(true),
    }
}

async fn lock_scheduler_wait(tx: &Tx) -> Result<()> {
    if backend_of(&**tx) == Backend::Postgres {
        fetch_opt(
            &**tx,
            "SELECT name FROM locks WHERE name = 'scheduler' FOR UPDATE",
            vec![],
        )
        .await?;
    }
    Ok(())
}

/// Assigns a task to a host and records the run (upstream's
/// `TaskScheduler.assign`); false if the task could not be locked.
pub async fn assign_in(
    tx: &mut Tx,
    task: i64,
    host: i64,
    force: bool,
    override_: bool,
) -> Result<bool> {
    if !lock_in(tx, task, host, TaskState::Assigned, force).await? {
        log_in(tx, "Assignment failed", Some(task), Some(host)).await?;
        return Ok(false);
    }
    let msg = if override_ {
        "Assigning task (override)"
    } else {
        "Assigning task"
    };
    log_in(tx, msg, Some(task), Some(host)).await?;
    exec(
        &**tx,
        "UPDATE scheduler_task_runs SET active = ? WHERE task_id = ? AND active = ?",
        params![false, task, true],
    )
    .await?;
    if !override_ {
        exec(
            &**tx,
            "INSERT INTO scheduler_task_runs (task_id, host_id, active, create_time) \
             VALUES (?, ?, ?, ?)",
            params![task, host, true, super::builds::now()],
        )
        .await?;
    }
    Ok(true)
}

/// The scheduler's assignments of FREE tasks, `(task, host)`, in five
/// statements whatever their number: the plan goes to the database as
/// one JSON parameter, read as rows (`jsonb_array_elements` on
/// PostgreSQL, `json_each` on SQLite), so the statements stay small and
/// prepared once. A task moves only if it is still FREE with no host (a
/// task canceled meanwhile is left alone and logged as a failed
/// assignment); its earlier runs end and a run is recorded; the log says
/// what happened, as [`assign_in`] does for one. Answers how many tasks
/// were assigned.
async fn assign_many_in(tx: &mut Tx, plan: &[(i64, i64)]) -> Result<usize> {
    if plan.is_empty() {
        return Ok(0);
    }
    let rows = |pairs: &[(i64, i64)]| {
        Json::from(pairs.iter().map(|(t, h)| json!([t, h])).collect::<Vec<_>>()).to_string()
    };
    let src = match backend_of(&**tx) {
        Backend::Postgres => {
            "(SELECT (e->>0)::bigint AS t, (e->>1)::bigint AS h \
             FROM jsonb_array_elements(CAST(? AS jsonb)) AS e) AS x"
        }
        Backend::Sqlite => {
            "(SELECT json_extract(value, '$[0]') AS t, json_extract(value, '$[1]') AS h \
             FROM json_each(?)) AS x"
        }
    };
    let now = super::builds::now();
    let done: HashSet<i64> = fetch_all(
        &**tx,
        &format!(
            "UPDATE task SET state = ?, host_id = x.h FROM {src} \
             WHERE task.id = x.t AND task.state = ? AND task.host_id IS NULL RETURNING task.id"
        ),
        params![
            TaskState::Assigned as i64,
            rows(plan),
            TaskState::Free as i64
        ],
    )
    .await?
    .iter()
    .map(|r| r.int("id"))
    .collect::<Result<_>>()?;
    let (ok, failed): (Vec<_>, Vec<_>) = plan.iter().partition(|(t, _)| done.contains(t));
    for (pairs, msg) in [(&ok, "Assigning task"), (&failed, "Assignment failed")] {
        if pairs.is_empty() {
            continue;
        }
        for (t, h) in pairs.iter() {
            tracing::info!(task = t, host = h, "{msg}");
        }
        exec(
            &**tx,
            &format!(
                "INSERT INTO scheduler_log_messages (task_id, host_id, msg_time, msg) \
                 SELECT x.t, x.h, ?, ? FROM {src}"
            ),
            params![now, msg, rows(pairs)],
        )
        .await?;
    }
    if ok.is_empty() {
        return Ok(0);
    }
    let ok_rows = rows(&ok);
    exec(
        &**tx,
        &format!(
            "UPDATE scheduler_task_runs SET active = ? WHERE active = ? \
             AND task_id IN (SELECT x.t FROM {src})"
        ),
        params![false, true, ok_rows.clone()],
    )
    .await?;
    exec(
        &**tx,
        &format!(
            "INSERT INTO scheduler_task_runs (task_id, host_id, active, create_time) \
             SELECT x.t, x.h, ?, ? FROM {src}"
        ),
        params![true, now, ok_rows],
    )
    .await?;
    Ok(ok.len())
}

async fn load_tasks(tx: &Tx) -> Result<(Vec<TaskRow>, Vec<TaskRow>)> {
    let row = |r: &sea_orm::QueryResult| -> Result<TaskRow> {
        Ok(TaskRow {
            id: r.int("id")?,
            state: r.opt_int("state")?.unwrap_or_default(),
            waiting: r.boolean("waiting")?,
            weight: r.get::<f64>("weight")?,
            host_id: r.opt_int("host_id")?,
            bin: format!("{}:{}", r.int("channel_id")?, r.string("arch")?),
        })
    };
    let cols = "id, state, waiting, weight, channel_id, host_id, arch, priority, create_time";
    let active = fetch_all(
        &**tx,
        &format!("SELECT {cols} FROM task WHERE state IN (?, ?) AND host_id IS NOT NULL"),
        params![TaskState::Assigned as i64, TaskState::Open as i64],
    )
    .await?
    .iter()
    .map(row)
    .collect::<Result<Vec<_>>>()?;
    let free = fetch_all(
        &**tx,
        &format!(
            "SELECT {cols} FROM task WHERE state = ? ORDER BY priority, create_time, id LIMIT 1000"
        ),
        params![TaskState::Free as i64],
    )
    .await?
    .iter()
    .map(row)
    .collect::<Result<Vec<_>>>()?;
    Ok((free, active))
}

async fn load_hosts(tx: &Tx, max_jobs: i64) -> Result<BTreeMap<i64, HostRow>> {
    let sel = data_select(&**tx, "scheduler_host_data.data");
    let rows = fetch_all(
        &**tx,
        &format!(
            "SELECT host.id, host.name, host.update_time, host.task_load, host.ready, \
             host_config.arches, host_config.capacity, {sel} AS data FROM host \
             JOIN host_config ON host.id = host_config.host_id AND host_config.active = ? \
             LEFT JOIN scheduler_host_data ON host.id = scheduler_host_data.host_id \
             WHERE host_config.enabled = ?"
        ),
        params![true, true],
    )
    .await?;
    let mut hosts = BTreeMap::new();
    for r in &rows {
        let data = json_col(r, "data")?;
        let mj = data
            .get("maxjobs")
            .and_then(Json::as_i64)
            .filter(|m| *m != 0)
            .unwrap_or(max_jobs);
        let id = r.int("id")?;
        hosts.insert(
            id,
            HostRow {
                id,
                update_ts: r.ts("update_time")?,
                ready: r.boolean("ready")?,
                arches: r.opt_string("arches")?.unwrap_or_default(),
                capacity: r.get::<f64>("capacity")?,
                channels: vec![],
                load: 0.0,
                ntasks: 0,
                demand: 0.0,
                max_jobs: mj,
                rank: 0.0,
            },
        );
    }
    let chans = fetch_all(
        &**tx,
        "SELECT host_channels.host_id, host_channels.channel_id FROM host_channels \
         JOIN channels ON host_channels.channel_id = channels.id \
         WHERE host_channels.active = ? AND channels.enabled = ?",
        params![true, true],
    )
    .await?;
    for r in &chans {
        if let Some(h) = hosts.get_mut(&r.int("host_id")?) {
            h.channels.push(r.int("channel_id")?);
        }
    }
    Ok(hosts)
}

/// Refusals still in force, by task; stale ones are deleted.
async fn load_refusals(tx: &Tx, soft_timeout: f64) -> Result<HashMap<i64, HashSet<i64>>> {
    let rows = fetch_all(
        &**tx,
        "SELECT r.id, r.task_id, r.host_id, r.soft, r.time, task.state FROM \
         scheduler_task_refusals r JOIN task ON r.task_id = task.id",
        vec![],
    )
    .await?;
    let cutoff = now_ts() - soft_timeout;
    let mut out: HashMap<i64, HashSet<i64>> = HashMap::new();
    let mut drop = vec![];
    for r in &rows {
        let state = r.opt_int("state")?.and_then(TaskState::from_i64);
        let live = matches!(
            state,
            Some(TaskState::Free | TaskState::Open | TaskState::Assigned)
        );
        if (r.boolean("soft")? && r.ts("time")?.unwrap_or_default() < cutoff) || !live {
            drop.push(r.int("id")?);
        } else {
            out.entry(r.int("task_id")?)
                .or_default()
                .insert(r.int("host_id")?);
        }
    }
    for id in drop {
        exec(
            &**tx,
            "DELETE FROM scheduler_task_refusals WHERE id = ?",
            params![id],
        )
        .await?;
    }
    Ok(out)
}
