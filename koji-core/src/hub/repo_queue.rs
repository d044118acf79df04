//! Repo requests (upstream 1.35's `repo.*` namespace and `repo_queue`):
//! a client asks for a repo of a tag at least as new as an event (or at
//! exactly one event) with some options; a current READY repo answers at
//! once, otherwise the request waits in the queue, `checkQueue` makes
//! `newRepo` tasks for it (at most `MaxRepoTasks` at once, retried up to
//! `RepoRetries` times) and the repo that becomes READY satisfies it.
//! `autoRequests` requests repos for tags with `repo.auto`;
//! `updateEndEvents` records when a repo stopped being current.

use super::query_view::ViewSpec;
use super::repo_gen::{convert_repo_opts, json_mark};
use super::repos::{select_one_in, select_where_in, Repos, REPO_READY};
use super::scheduler::{data_select, json_col, try_lock};
use super::tagging::{tag_first_change_event_in, tag_last_change_event_in};
use super::tags::{get_tag_in, TagEvent, TagInfo};
use super::tasks::{make_task_in, TaskOpts, PRIO_DEFAULT};
use super::Caller;
use crate::db::{exec, fetch_all, fetch_opt, RowExt, Tx, Value};
use crate::error::{Error, Result};
use crate::params;
use crate::util::{format_time, py_repr, py_str};
use sea_orm::ConnectionTrait;
use serde_json::{json, Map, Value as Json};

/// Upstream's `RepoQuery` fields.
pub static REPO_VIEW: ViewSpec = ViewSpec {
    fields: &[
        "id",
        "tag_id",
        "creation_time",
        "creation_ts",
        "state_time",
        "state_ts",
        "create_event",
        "create_ts",
        "begin_event",
        "begin_ts",
        "end_event",
        "end_ts",
        "state",
        "dist",
        "opts",
        "custom_opts",
        "task_id",
        "task_state",
        "tag_name",
    ],
    joined: &["create_ts", "begin_ts", "end_ts", "task_state", "tag_name"],
    defaults: &[
        "id",
        "tag_id",
        "create_event",
        "state",
        "dist",
        "task_id",
        "opts",
        "custom_opts",
    ],
    json: &["opts", "custom_opts"],
};

/// Upstream's `RepoQueueQuery` fields.
pub static QUEUE_VIEW: ViewSpec = ViewSpec {
    fields: &[
        "id",
        "create_time",
        "create_ts",
        "owner",
        "owner_name",
        "priority",
        "tag_id",
        "tag_name",
        "at_event",
        "min_event",
        "opts",
        "update_time",
        "update_ts",
        "active",
        "task_id",
        "task_state",
        "tries",
        "repo_id",
    ],
    joined: &["owner_name", "tag_name", "task_state"],
    defaults: &[
        "id",
        "tag_id",
        "at_event",
        "min_event",
        "create_ts",
        "task_id",
        "tries",
        "repo_id",
        "opts",
        "active",
        "update_ts",
    ],
    json: &["opts"],
};

/// Repo requests matching `cond` (SQL on `repo_queue`), every field.
async fn queue_select_in<C: ConnectionTrait>(
    c: &C,
    cond: &str,
    params: Vec<Value>,
) -> Result<Vec<Json>> {
    let sql = format!(
        "SELECT repo_queue.id, repo_queue.create_time, repo_queue.owner, users.name AS owner_name, \
         repo_queue.priority, repo_queue.tag_id, tag.name AS tag_name, repo_queue.at_event, \
         repo_queue.min_event, {opts} AS opts, repo_queue.update_time, repo_queue.active, \
         repo_queue.task_id, task.state AS task_state, repo_queue.tries, repo_queue.repo_id \
         FROM repo_queue JOIN tag ON repo_queue.tag_id = tag.id \
         JOIN users ON repo_queue.owner = users.id \
         LEFT JOIN task ON repo_queue.task_id = task.id \
         WHERE {cond} ORDER BY repo_queue.priority, repo_queue.id",
        opts = data_select(c, "repo_queue.opts"),
    );
    let mut out = vec![];
    for r in fetch_all(c, &sql, params).await? {
        let time = |col: &str| -> Result<Json> {
            Ok(r.ts(col)?
                .map_or(Json::Null, |t| Json::from(format_time(t))))
        };
        let mut m = Map::new();
        m.insert("id".into(), Json::from(r.int("id")?));
        m.insert("create_time".into(), time("create_time")?);
        m.insert("create_ts".into(), Json::from(r.ts("create_time")?));
        m.insert("owner".into(), Json::from(r.int("owner")?));
        m.insert("owner_name".into(), Json::from(r.string("owner_name")?));
        m.insert("priority".into(), Json::from(r.int("priority")?));
        m.insert("tag_id".into(), Json::from(r.int("tag_id")?));
        m.insert("tag_name".into(), Json::from(r.string("tag_name")?));
        m.insert("at_event".into(), Json::from(r.opt_int("at_event")?));
        m.insert("min_event".into(), Json::from(r.opt_int("min_event")?));
        m.insert("opts".into(), json_col(&r, "opts")?);
        m.insert("update_time".into(), time("update_time")?);
        m.insert("update_ts".into(), Json::from(r.ts("update_time")?));
        m.insert("active".into(), Json::from(r.boolean("active")?));
        m.insert("task_id".into(), Json::from(r.opt_int("task_id")?));
        m.insert("task_state".into(), Json::from(r.opt_int("task_state")?));
        m.insert("tries".into(), Json::from(r.int("tries")?));
        m.insert("repo_id".into(), Json::from(r.opt_int("repo_id")?));
        out.push(Json::Object(m));
    }
    Ok(out)
}

fn int_or_param(v: &Json, what: &str) -> Result<i64> {
    match v {
        Json::Number(n) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Json::Number(n) => Ok(n.as_f64().unwrap_or_default() as i64),
        Json::Bool(b) => Ok(*b as i64),
        Json::String(s) => s.trim().parse().map_err(|_| {
            Error::Parameter(format!(
                "Invalid type for value {}: str ({what})",
                py_repr(v)
            ))
        }),
        other => Err(Error::Parameter(format!(
            "Invalid type for value {}: {}",
            py_repr(other),
            crate::api::py_type_of(other)
        ))),
    }
}

fn opt_int(v: &Json, what: &str) -> Result<Option<i64>> {
    if v.is_null() {
        Ok(None)
    } else {
        int_or_param(v, what).map(Some)
    }
}

async fn event_exists<C: ConnectionTrait>(c: &C, ev: i64) -> Result<bool> {
    Ok(
        fetch_opt(c, "SELECT id FROM events WHERE id = ?", params![ev])
            .await?
            .is_some(),
    )
}

async fn strict_tag<C: ConnectionTrait>(c: &C, tag: &Json) -> Result<TagInfo> {
    get_tag_in(c, tag, true, TagEvent::At(None), false)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(tag))))
}

/// The newest event before `ts` (seconds), if any.
async fn last_event_before<C: ConnectionTrait>(c: &C, ts: i64) -> Result<Option<i64>> {
    let t = chrono::DateTime::from_timestamp(ts, 0).unwrap_or_default();
    fetch_opt(
        c,
        "SELECT id FROM events WHERE time < ? ORDER BY id DESC LIMIT 1",
        params![t],
    )
    .await?
    .map(|r| r.int("id"))
    .transpose()
}

/// `min(base, last)`: the event as of `lag` seconds ago (rounded down to
/// the lag window, so close requests agree) unless the tag's last change
/// is older; a brand-new instance falls back to the tag's first event.
async fn lagged_min_event<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    lag: i64,
    window: i64,
) -> Result<Option<i64>> {
    let Some(last) = tag_last_change_event_in(c, tag_id, None, true).await? else {
        return Ok(None);
    };
    let window = window.max(1);
    let base_ts = (chrono::Utc::now().timestamp() - lag).div_euclid(window) * window;
    let base = match last_event_before(c, base_ts).await? {
        Some(b) => Some(b),
        None => tag_first_change_event_in(c, tag_id, None, true).await?,
    };
    Ok(Some(base.map_or(last, |b| b.min(last))))
}

/// Upstream's `get_repo`: the newest READY non-dist repo of the tag with
/// every option of `opts` and no custom option outside them, created at
/// `at_event` or at/after `min_event`.
async fn get_repo_in<C: ConnectionTrait>(
    c: &C,
    tag_id: i64,
    min_event: Option<i64>,
    at_event: Option<i64>,
    opts: &Map<String, Json>,
) -> Result<Option<Json>> {
    let mut cond = "repo.tag_id = ? AND repo.dist = ? AND repo.state = ?".to_string();
    let mut p = params![tag_id, false, REPO_READY];
    if let Some(at) = at_event {
        cond.push_str(" AND repo.create_event = ?");
        p.push(at.into());
    } else if let Some(min) = min_event {
        cond.push_str(" AND repo.create_event >= ?");
        p.push(min.into());
    }
    let mut repos = select_where_in(c, &cond, p).await?;
    repos.retain(|r| {
        let ropts = r["opts"].as_object();
        let custom = r["custom_opts"].as_object();
        opts.iter()
            .all(|(k, v)| ropts.and_then(|m| m.get(k)) == Some(v))
            && custom.is_some_and(|m| m.iter().all(|(k, v)| opts.get(k) == Some(v)))
    });
    repos.sort_by_key(|r| (r["create_event"].as_i64(), r["id"].as_i64()));
    Ok(repos.pop())
}

impl Repos<'_> {
    /// `repo.get(tag, min_event=None, at_event=None, opts=None)`.
    pub async fn get(
        &self,
        tag: &Json,
        min_event: &Json,
        at_event: &Json,
        opts: &Json,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let tag = strict_tag(c, tag).await?;
        let min_event = opt_int(min_event, "min_event")?;
        let at_event = opt_int(at_event, "at_event")?;
        let opts = convert_repo_opts(opts, true)?;
        Ok(get_repo_in(c, tag.id, min_event, at_event, &opts)
            .await?
            .unwrap_or(Json::Null))
    }

    /// `repo.request(tag, min_event=None, at_event=None, opts=None,
    /// priority=None, force=False)`: `{repo, request, duplicate}`.
    #[allow(clippy::too_many_arguments)]
    pub async fn request(
        &self,
        caller: &Caller,
        tag: &Json,
        min_event: &Json,
        at_event: &Json,
        opts: &Json,
        priority: &Json,
        force: bool,
    ) -> Result<Json> {
        let hub = self.0;
        let user_id = caller.user_id()?;
        let tx = hub.db().begin().await?;
        let out = request_in(
            &tx, hub, caller, user_id, tag, min_event, at_event, opts, priority, force,
        )
        .await?;
        tx.commit().await?;
        if !out["request"].is_null() && out["duplicate"] != Json::Bool(true) {
            hub.repo_wakeup().notify_one();
        }
        Ok(out)
    }

    /// `repo.checkRequest(req_id)`: `{request, repo}` (and `task` while a
    /// task works on it).
    pub async fn check_request(&self, req_id: &Json) -> Result<Json> {
        let id = int_or_param(req_id, "req_id")?;
        let c = self.0.db().conn();
        let req = queue_select_in(c, "repo_queue.id = ?", params![id])
            .await?
            .pop()
            .ok_or_else(|| Error::generic("No such request"))?;
        let mut out = Map::new();
        out.insert("repo".into(), Json::Null);
        if let Some(repo) = req["repo_id"].as_i64() {
            out.insert("repo".into(), select_one_in(c, repo).await?);
        } else if let Some(task) = req["task_id"].as_i64() {
            let info = self.0.tasks().info(&Json::from(task), false, false).await?;
            out.insert("task".into(), info);
        }
        out.insert("request".into(), req);
        Ok(Json::Object(out))
    }

    /// `repo.setRequestPriority(req_id, priority)` (admin).
    pub async fn set_request_priority(
        &self,
        caller: &Caller,
        req_id: &Json,
        priority: &Json,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let id = int_or_param(req_id, "req_id")?;
        let prio = int_or_param(priority, "priority")?;
        let tx = self.0.db().begin().await?;
        exec(
            &*tx,
            "UPDATE repo_queue SET priority = ? WHERE id = ?",
            params![prio, id],
        )
        .await?;
        tx.commit().await
    }

    /// `repo.query(clauses, fields=None, opts=None)`.
    pub async fn query(&self, clauses: &Json, fields: &Json, opts: &Json) -> Result<Json> {
        REPO_VIEW.clauses(clauses)?;
        let rows = select_where_in(self.0.db().conn(), "1 = 1", vec![]).await?;
        REPO_VIEW.run(rows, clauses, fields, opts)
    }

    /// `repo.queryQueue(clauses=None, fields=None, opts=None)`.
    pub async fn query_queue(&self, clauses: &Json, fields: &Json, opts: &Json) -> Result<Json> {
        QUEUE_VIEW.clauses(clauses)?;
        let rows = queue_select_in(self.0.db().conn(), "1 = 1", vec![]).await?;
        QUEUE_VIEW.run(rows, clauses, fields, opts)
    }

    /// `repo.checkQueue()` (the repo permission): see [`check_queue_in`].
    pub async fn check_queue(&self, caller: &Caller) -> Result<()> {
        caller.assert_perm("repo")?;
        self.run_queue().await.map(|_| ())
    }

    /// One pass over the queue; answers how many tasks it made.
    pub async fn run_queue(&self) -> Result<usize> {
        let mut tx = self.0.db().begin().await?;
        let made = check_queue_in(&mut tx, self.0).await?;
        tx.commit().await?;
        if made > 0 {
            self.0.task_events().notify();
        }
        Ok(made)
    }

    /// `repo.autoRequests()` (the repo permission): requests for the tags
    /// whose `repo.auto` extra is true, at priority 25 (below on-demand
    /// requests), lagging by `repo.lag` or `RepoAutoLag`.
    pub async fn auto_requests(&self, caller: &Caller) -> Result<()> {
        caller.assert_perm("repo")?;
        let hub = self.0;
        let c = hub.db().conn();
        let rows = fetch_all(
            c,
            "SELECT tag_id, key, value FROM tag_extra WHERE key IN ('repo.auto', 'repo.lag') \
             AND active = ? ORDER BY tag_id",
            params![true],
        )
        .await?;
        let mut auto = vec![];
        let mut lags = std::collections::HashMap::new();
        for r in rows {
            let Some(text) = r.opt_string("value")? else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<Json>(&text) else {
                continue;
            };
            let tag = r.int("tag_id")?;
            if r.string("key")? == "repo.auto" {
                if crate::api::truthy(&v) {
                    auto.push(tag);
                }
            } else if let Some(l) = v.as_i64() {
                lags.insert(tag, l);
            }
        }
        let cfg = &hub.config().repos;
        for tag in auto {
            let lag = lags.get(&tag).copied().unwrap_or(cfg.repo_auto_lag);
            let Some(min) = lagged_min_event(c, tag, lag, cfg.repo_lag_window).await? else {
                tracing::error!("No last event for tag {tag}");
                continue;
            };
            let tx = hub.db().begin().await?;
            request_in(
                &tx,
                hub,
                caller,
                caller.user_id()?,
                &Json::from(tag),
                &Json::from(min),
                &Json::Null,
                &Json::Null,
                &Json::from(5),
                false,
            )
            .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// `repo.updateEndEvents()` (the repo permission).
    pub async fn update_end_events(&self, caller: &Caller) -> Result<()> {
        caller.assert_perm("repo")?;
        self.end_events().await.map(|_| ())
    }

    /// Upstream's `update_end_events`: READY repos without an end event
    /// get the first change of their tag after their creation, if any;
    /// answers how many changed.
    pub async fn end_events(&self) -> Result<usize> {
        let c = self.0.db().conn();
        let rows = fetch_all(
            c,
            "SELECT id, tag_id, create_event FROM repo WHERE end_event IS NULL AND state = ? \
             ORDER BY id",
            params![REPO_READY],
        )
        .await?;
        let mut tag_last: std::collections::HashMap<i64, Option<i64>> = Default::default();
        let mut updates = vec![];
        for r in rows {
            let (id, tag, created) = (r.int("id")?, r.int("tag_id")?, r.int("create_event")?);
            if let Some(Some(last)) = tag_last.get(&tag) {
                if *last <= created {
                    continue;
                }
            }
            match tag_first_change_event_in(c, tag, Some(created), true).await? {
                Some(end) => updates.push((id, end)),
                None => {
                    let last = tag_last_change_event_in(c, tag, None, true).await?;
                    tag_last.insert(tag, last);
                }
            }
        }
        if updates.is_empty() {
            return Ok(0);
        }
        let tx = self.0.db().begin().await?;
        for (id, end) in &updates {
            exec(
                &*tx,
                "UPDATE repo SET end_event = ? WHERE id = ? AND end_event IS NULL",
                params![*end, *id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(updates.len())
    }
}

/// Upstream's `request_repo` inside `tx`.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn request_in(
    tx: &Tx,
    hub: &super::Hub,
    caller: &Caller,
    user_id: i64,
    tag: &Json,
    min_event: &Json,
    at_event: &Json,
    opts: &Json,
    priority: &Json,
    force: bool,
) -> Result<Json> {
    let c = &**tx;
    let taginfo = strict_tag(c, tag).await?;
    let opts = convert_repo_opts(opts, true)?;
    if opts.get("maven") == Some(&Json::Bool(true)) && !hub.config().repos.enable_maven {
        return Err(Error::generic("Maven support not enabled"));
    }
    let mut min = None;
    let mut at = None;
    if !at_event.is_null() {
        if !min_event.is_null() {
            return Err(Error::Parameter(
                "The min_event and at_event options conflict".into(),
            ));
        }
        let ev = int_or_param(at_event, "at_event")?;
        if !event_exists(c, ev).await? {
            return Err(Error::Parameter(format!("Invalid event: {ev}")));
        }
        at = Some(ev);
    } else if min_event == &Json::from("last") {
        min = tag_last_change_event_in(c, taginfo.id, None, true).await?;
    } else if min_event.is_null() {
        let lag = match taginfo.extra.get("repo.lag") {
            Some(Json::Number(n)) if n.is_i64() => n.as_i64().unwrap_or_default(),
            Some(other) => {
                tracing::warn!(
                    "Invalid repo.lag setting for tag {}: {}",
                    taginfo.name,
                    py_repr(other)
                );
                hub.config().repos.repo_lag
            }
            None => hub.config().repos.repo_lag,
        };
        min = lagged_min_event(c, taginfo.id, lag, hub.config().repos.repo_lag_window).await?;
    } else {
        let ev = int_or_param(min_event, "min_event")?;
        if !event_exists(c, ev).await? {
            return Err(Error::Parameter(format!("Invalid event: {ev}")));
        }
        min = Some(ev);
    }
    let priority = match priority {
        Json::Null => PRIO_DEFAULT,
        p => {
            let p = int_or_param(p, "priority")?;
            if p < 0 && !caller.has_perm("admin") {
                return Err(Error::ActionNotAllowed(
                    "only admins may create high-priority requests".into(),
                ));
            }
            PRIO_DEFAULT + p
        }
    };
    let mut out = Map::new();
    out.insert("repo".into(), Json::Null);
    out.insert("request".into(), Json::Null);
    out.insert("duplicate".into(), Json::Bool(false));
    if !force {
        if let Some(repo) = get_repo_in(c, taginfo.id, min, at, &opts).await? {
            out.insert("repo".into(), repo);
            return Ok(Json::Object(out));
        }
    }
    // an active request for the same thing?
    let (cond, p) = match at {
        Some(a) => (
            "repo_queue.tag_id = ? AND repo_queue.active = ? AND repo_queue.at_event = ?",
            params![taginfo.id, true, a],
        ),
        None => (
            "repo_queue.tag_id = ? AND repo_queue.active = ? AND repo_queue.min_event >= ?",
            params![taginfo.id, true, min],
        ),
    };
    let want = Json::Object(opts.clone());
    let dup = queue_select_in(c, cond, p)
        .await?
        .into_iter()
        .find(|r| r["opts"] == want);
    if let Some(mut req) = dup {
        if req["priority"].as_i64().is_some_and(|p| p > priority) {
            exec(
                c,
                "UPDATE repo_queue SET priority = ? WHERE id = ?",
                params![priority, req["id"].as_i64()],
            )
            .await?;
            req["priority"] = Json::from(priority);
        }
        out.insert("request".into(), req);
        out.insert("duplicate".into(), Json::Bool(true));
        return Ok(Json::Object(out));
    }
    let now = chrono::Utc::now();
    let id = crate::db::fetch_one(
        c,
        &format!(
            "INSERT INTO repo_queue (create_time, owner, priority, tag_id, at_event, min_event, \
             opts, update_time, active, tries) VALUES (?, ?, ?, ?, ?, ?, {}, ?, ?, 0) RETURNING id",
            json_mark(c)
        ),
        params![
            now,
            user_id,
            priority,
            taginfo.id,
            at,
            min,
            serde_json::to_string(&opts)?,
            now,
            true
        ],
    )
    .await?
    .int("id")?;
    tracing::info!("New repo request for {}", taginfo.name);
    let req = queue_select_in(c, "repo_queue.id = ?", params![id])
        .await?
        .pop()
        .ok_or_else(|| Error::generic("query returned no rows"))?;
    out.insert("request".into(), req);
    Ok(Json::Object(out))
}

/// Whether a finished newRepo task's repo satisfies the request
/// (upstream's `valid_repo`).
fn valid_repo(req: &Json, repo: &Json) -> bool {
    if repo["tag_id"] != req["tag_id"] || repo["state"].as_i64() != Some(REPO_READY) {
        return false;
    }
    let created = repo["create_event"].as_i64().unwrap_or_default();
    match (req["at_event"].as_i64(), req["min_event"].as_i64()) {
        (Some(at), _) if at != created => return false,
        (None, Some(min)) if created < min => return false,
        _ => {}
    }
    let (Some(ropts), Some(qopts)) = (repo["opts"].as_object(), req["opts"].as_object()) else {
        return false;
    };
    qopts.iter().all(|(k, v)| ropts.get(k) == Some(v))
        && repo["custom_opts"]
            .as_object()
            .is_none_or(|c| c.iter().all(|(k, v)| qopts.get(k) == Some(v)))
}

/// Upstream's `check_repo_queue` inside `tx` (skipped when another hub
/// holds the `repo-queue` lock): requests whose task failed are retried
/// (up to `RepoRetries`) or given up; waiting requests get newRepo tasks,
/// highest priority first, while fewer than `MaxRepoTasks` run. Answers
/// how many tasks it made.
pub(crate) async fn check_queue_in(tx: &mut Tx, hub: &super::Hub) -> Result<usize> {
    if !try_lock(tx, "repo-queue").await? {
        return Ok(0);
    }
    let cfg = hub.config().repos.clone();
    let mut waiting = queue_select_in(
        &**tx,
        "repo_queue.repo_id IS NULL AND repo_queue.active = ?",
        params![true],
    )
    .await?;
    let mut n_tasks = 0;
    let mut n_maven = 0;
    let mut updates: Vec<(i64, Map<String, Json>)> = vec![];
    let is_maven = |r: &Json| r["opts"]["maven"] == Json::Bool(true);
    for req in waiting.iter_mut() {
        let Some(task) = req["task_id"].as_i64() else {
            continue;
        };
        let mut up = Map::new();
        let state = req["task_state"].as_i64();
        let mut retry = false;
        if state == Some(2) {
            // CLOSED: the task's result names its repo
            tracing::warn!("Repo task did not trigger repo_done_hook: {task}");
            let repo = fetch_opt(
                &**tx,
                "SELECT id FROM repo WHERE task_id = ? ORDER BY id DESC LIMIT 1",
                params![task],
            )
            .await?;
            match repo {
                Some(r) => {
                    let repo = select_one_in(&**tx, r.int("id")?).await?;
                    if valid_repo(req, &repo) {
                        up.insert("repo_id".into(), repo["id"].clone());
                        up.insert("active".into(), Json::Bool(false));
                    } else {
                        tracing::error!(
                            "Repo {} does not satisfy request {}",
                            repo["id"],
                            req["id"]
                        );
                        retry = true;
                    }
                }
                None => {
                    tracing::error!("Repo task did not produce repo: {task}");
                    retry = true;
                }
            }
        } else if state == Some(3) || state == Some(5) {
            tracing::warn!("Repo task did not complete: {task}");
            retry = true;
        } else {
            n_tasks += 1;
            if is_maven(req) {
                n_maven += 1;
            }
        }
        if retry {
            if req["tries"].as_i64().unwrap_or_default() > cfg.repo_retries {
                tracing::error!("Retries exhausted for repo request: {}", py_repr(req));
                up.insert("active".into(), Json::Bool(false));
            } else {
                up.insert("task_id".into(), Json::Null);
                req["task_id"] = Json::Null;
            }
        }
        if !up.is_empty() {
            updates.push((req["id"].as_i64().unwrap_or_default(), up));
        }
    }
    let owner = fetch_opt(
        &**tx,
        "SELECT id FROM users WHERE name = ?",
        params![cfg.repo_queue_user.clone()],
    )
    .await?
    .map(|r| r.int("id"))
    .transpose()?;
    let mut made = 0;
    for req in &waiting {
        let id = req["id"].as_i64().unwrap_or_default();
        // a request given up above gets no task
        if !req["task_id"].is_null()
            || updates
                .iter()
                .any(|(u, m)| *u == id && m.get("active") == Some(&Json::Bool(false)))
        {
            continue;
        }
        if n_tasks >= cfg.max_repo_tasks {
            break;
        }
        if is_maven(req) && n_maven >= cfg.max_repo_tasks_maven {
            continue;
        }
        let mut kw = Map::new();
        kw.insert("__starstar".into(), Json::Bool(true));
        kw.insert("opts".into(), req["opts"].clone());
        if let Some(at) = req["at_event"].as_i64() {
            kw.insert("event".into(), Json::from(at));
        }
        let args = vec![
            json!({"id": req["tag_id"], "name": req["tag_name"]}),
            Json::Object(kw),
        ];
        // the task is the queue's, not the caller's
        let task_caller = match owner {
            Some(o) => Caller::acting_as(o, &cfg.repo_queue_user, 0, Default::default()),
            None => Caller::acting_as(
                req["owner"].as_i64().unwrap_or_default(),
                &py_str(&req["owner_name"]),
                0,
                Default::default(),
            ),
        };
        let task = make_task_in(
            tx,
            hub,
            &task_caller,
            "newRepo",
            &args,
            TaskOpts {
                priority: Some(15),
                channel: Some(Json::from("createrepo")),
                ..Default::default()
            },
        )
        .await?;
        n_tasks += 1;
        if is_maven(req) {
            n_maven += 1;
        }
        made += 1;
        let mut up = Map::new();
        up.insert("task_id".into(), Json::from(task));
        up.insert(
            "tries".into(),
            Json::from(req["tries"].as_i64().unwrap_or_default() + 1),
        );
        match updates.iter_mut().find(|(u, _)| *u == id) {
            Some((_, m)) => m.extend(up),
            None => updates.push((id, up)),
        }
        tracing::info!("Created task {task} for repo request {id}");
    }
    let now = chrono::Utc::now();
    for (id, up) in &updates {
        // one statement per request: an inactive request must have its
        // repo in the same write (the table's active_sane check)
        let mut sets = vec![];
        let mut p: Vec<Value> = vec![];
        for (k, v) in up {
            // keys are ours: task_id, tries, repo_id, active
            sets.push(format!("{k} = ?"));
            p.push(match v {
                Json::Bool(b) => (*b).into(),
                Json::Null => Value::BigInt(None),
                other => other.as_i64().into(),
            });
        }
        p.push(now.into());
        p.push((*id).into());
        exec(
            &**tx,
            &format!(
                "UPDATE repo_queue SET {}, update_time = ? WHERE id = ?",
                sets.join(", ")
            ),
            p,
        )
        .await?;
    }
    if !updates.is_empty() {
        // fulfilled requests are kept RequestCleanTime minutes for clients
        let cutoff = now - chrono::Duration::minutes(cfg.request_clean_time);
        let n = exec(
            &**tx,
            "DELETE FROM repo_queue WHERE active = ? AND update_time < ?",
            params![false, cutoff],
        )
        .await?;
        if n > 0 {
            tracing::info!("Cleaned {n} repo queue entries");
        }
    }
    Ok(made)
}
