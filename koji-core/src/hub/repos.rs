//! Repositories of tags (upstream's `repo` table and its `RepoQuery`):
//! reading them and their states. Making them is `repo_gen`, requests
//! `repo_queue`, the hub's own upkeep `repo_regen`.

use super::scheduler::{data_select, json_col};
use super::tags::lookup_name;
use super::Caller;
use super::Hub;
use crate::db::{exec, fetch_all, fetch_opt, RowExt, Tx, Value};
use crate::error::{Error, Result};
use crate::params;
use crate::util::{format_time, py_str};
use sea_orm::ConnectionTrait;
use sea_orm::QueryResult;
use serde_json::{Map, Value as Json};

/// Upstream's repo states.
pub const REPO_INIT: i64 = 0;
pub const REPO_READY: i64 = 1;
pub const REPO_EXPIRED: i64 = 2;
pub const REPO_DELETED: i64 = 3;
pub const REPO_PROBLEM: i64 = 4;

pub struct Repos<'a>(pub(super) &'a Hub);

/// Every field of upstream's `RepoQuery` (its `**`), keys sorted as
/// upstream's query answers them.
fn repo_fields(r: &QueryResult) -> Result<Json> {
    let ts = |col: &str| -> Result<Json> { Ok(Json::from(r.ts(col)?)) };
    let time = |col: &str| -> Result<Json> {
        Ok(r.ts(col)?
            .map_or(Json::Null, |t| Json::from(format_time(t))))
    };
    let mut m = Map::new();
    m.insert("begin_event".into(), Json::from(r.opt_int("begin_event")?));
    m.insert("begin_ts".into(), ts("begin_time")?);
    m.insert("create_event".into(), Json::from(r.int("create_event")?));
    m.insert("create_ts".into(), ts("create_ev_time")?);
    m.insert("creation_time".into(), time("creation_time")?);
    m.insert("creation_ts".into(), ts("creation_time")?);
    m.insert("custom_opts".into(), json_col(r, "custom_opts")?);
    m.insert("dist".into(), Json::from(r.opt_bool("dist")?));
    m.insert("end_event".into(), Json::from(r.opt_int("end_event")?));
    m.insert("end_ts".into(), ts("end_time")?);
    m.insert("id".into(), Json::from(r.int("id")?));
    m.insert("opts".into(), json_col(r, "opts")?);
    m.insert("state".into(), Json::from(r.opt_int("state")?));
    m.insert("state_time".into(), time("state_time")?);
    m.insert("state_ts".into(), ts("state_time")?);
    m.insert("tag_id".into(), Json::from(r.int("tag_id")?));
    m.insert("tag_name".into(), Json::from(r.string("tag_name")?));
    m.insert("task_id".into(), Json::from(r.opt_int("task_id")?));
    m.insert("task_state".into(), Json::from(r.opt_int("task_state")?));
    Ok(Json::Object(m))
}

/// Upstream's repo state names, by number.
pub const REPO_STATES: &[&str] = &["INIT", "READY", "EXPIRED", "DELETED", "PROBLEM"];

/// Repos matching `cond` (SQL on `repo`), every `RepoQuery` field, in
/// the order `suffix` gives.
async fn select_in<C: ConnectionTrait>(
    c: &C,
    cond: &str,
    params: Vec<Value>,
    suffix: &str,
) -> Result<Vec<Json>> {
    let sql = format!(
        "SELECT repo.id, repo.tag_id, repo.creation_time, repo.state_time, repo.create_event, \
         repo.begin_event, repo.end_event, repo.state, repo.dist, repo.task_id, \
         {opts} AS opts, {custom} AS custom_opts, tag.name AS tag_name, task.state AS task_state, \
         create_ev.time AS create_ev_time, begin_ev.time AS begin_time, end_ev.time AS end_time \
         FROM repo JOIN tag ON repo.tag_id = tag.id \
         JOIN events AS create_ev ON repo.create_event = create_ev.id \
         LEFT JOIN events AS begin_ev ON repo.begin_event = begin_ev.id \
         LEFT JOIN events AS end_ev ON repo.end_event = end_ev.id \
         LEFT JOIN task ON repo.task_id = task.id \
         WHERE {cond} {suffix}",
        opts = data_select(c, "repo.opts"),
        custom = data_select(c, "repo.custom_opts"),
    );
    fetch_all(c, &sql, params)
        .await?
        .iter()
        .map(repo_fields)
        .collect()
}

/// Only `fields` of a repo map (kept in upstream's order).
fn only(repo: Json, fields: &[&str]) -> Json {
    match repo {
        Json::Object(m) => Json::Object(
            m.into_iter()
                .filter(|(k, _)| fields.contains(&k.as_str()))
                .collect(),
        ),
        other => other,
    }
}

fn repo_id_arg(v: &Json) -> Result<i64> {
    match v {
        Json::Number(n) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Json::String(s) => s
            .trim()
            .parse()
            .map_err(|_| Error::Parameter(format!("Invalid type for value '{s}': str"))),
        other => Err(Error::Parameter(format!(
            "Invalid type for value {}: {}",
            crate::util::py_repr(other),
            crate::api::py_type_of(other)
        ))),
    }
}

/// Upstream's `repo_set_state` inside `tx`: states only move forward
/// (DELETED excepted, which is final); the same state again changes
/// nothing.
pub(crate) async fn set_state_in(tx: &Tx, repo_id: i64, state: i64) -> Result<()> {
    set_state_from_in(tx, repo_id, None, state)
        .await
        .map(|_| ())
}

/// [`set_state_in`], only if the repo is (still) in state `expected`
/// when given; answers whether it changed.
pub(crate) async fn set_state_from_in(
    tx: &Tx,
    repo_id: i64,
    expected: Option<i64>,
    state: i64,
) -> Result<bool> {
    let name = REPO_STATES
        .get(state as usize)
        .ok_or_else(|| Error::Parameter(format!("Unknown repo state: {state}")))?;
    let lock = match crate::db::backend_of(&**tx) {
        crate::db::Backend::Postgres => " FOR UPDATE",
        crate::db::Backend::Sqlite => "",
    };
    let old = fetch_opt(
        &**tx,
        &format!("SELECT state FROM repo WHERE id = ?{lock}"),
        params![repo_id],
    )
    .await?
    .ok_or_else(|| Error::generic("query returned no rows"))?
    .opt_int("state")?
    .unwrap_or_default();
    if expected.is_some_and(|e| e != old) {
        return Ok(false);
    }
    let old_name = REPO_STATES.get(old as usize).copied().unwrap_or("?");
    if old > state && state != REPO_DELETED {
        return Err(Error::Generic(format!(
            "Invalid repo state transition for repo {repo_id}: {old_name} -> {name}"
        )));
    } else if old == state {
        tracing::warn!("Repo {repo_id} is already in state {name}");
        return Ok(false);
    } else if old == REPO_DELETED {
        return Err(Error::Generic(format!("Repo {repo_id} is deleted")));
    }
    exec(
        &**tx,
        "UPDATE repo SET state = ?, state_time = ? WHERE id = ?",
        params![state, chrono::Utc::now(), repo_id],
    )
    .await?;
    if state == REPO_READY {
        let repo = select_one_in(&**tx, repo_id).await?;
        super::repo_gen::repo_done_hook_in(tx, &repo).await?;
    }
    Ok(true)
}

/// One repo, every `RepoQuery` field; GenericError when it is missing.
pub(crate) async fn select_one_in<C: ConnectionTrait>(c: &C, repo_id: i64) -> Result<Json> {
    select_in(c, "repo.id = ?", params![repo_id], "")
        .await?
        .pop()
        .ok_or_else(|| Error::generic("query returned no rows"))
}

/// The repos matching `cond`, by id.
pub(crate) async fn select_where_in<C: ConnectionTrait>(
    c: &C,
    cond: &str,
    params: Vec<Value>,
) -> Result<Vec<Json>> {
    select_in(c, cond, params, "ORDER BY repo.id").await
}

/// Upstream's `repo_references`: the buildroots using the repo that are
/// not retired (expired ones without a retire event are logged, skipped).
async fn references_in<C: ConnectionTrait>(c: &C, repo_id: i64) -> Result<Vec<Json>> {
    let rows = fetch_all(
        c,
        "SELECT buildroot_id, host_id, task_id, create_event, state FROM standard_buildroot \
         WHERE repo_id = ? AND retire_event IS NULL ORDER BY buildroot_id",
        params![repo_id],
    )
    .await?;
    let mut out = vec![];
    for r in &rows {
        let id = r.int("buildroot_id")?;
        let state = r.opt_int("state")?;
        if state == Some(3) {
            tracing::error!("Error: buildroot {id} expired, but has no retire_event");
            continue;
        }
        out.push(serde_json::json!({
            "id": id,
            "host_id": r.int("host_id")?,
            "task_id": r.opt_int("task_id")?,
            "create_event": r.int("create_event")?,
            "state": state,
        }));
    }
    Ok(out)
}

impl Repos<'_> {
    /// `getRepo(tag, state=None, event=None, dist=False)` (upstream's
    /// `old_get_repo`): the tag's most recent repo in `state` (READY by
    /// default), or with `event` the most recent created by then, in any
    /// state; None when there is none.
    pub async fn get_old(
        &self,
        tag: &Json,
        state: Option<i64>,
        event: Option<i64>,
        dist: bool,
    ) -> Result<Json> {
        let c = self.0.db().conn();
        let tag_id = lookup_name(c, "tag", tag, true, false)
            .await?
            .map(|t| t.id)
            .ok_or_else(|| {
                Error::Generic(format!("No such entry in table tag: {}", py_str(tag)))
            })?;
        let mut cond = "repo.tag_id = ? AND repo.dist = ?".to_string();
        let mut p: Vec<Value> = vec![tag_id.into(), dist.into()];
        match event {
            // a repo for an old tag event: any state
            Some(ev) if ev != 0 => {
                cond.push_str(" AND repo.create_event <= ?");
                p.push(ev.into());
            }
            _ => {
                cond.push_str(" AND repo.state = ?");
                p.push(state.unwrap_or(REPO_READY).into());
            }
        }
        let mut found = select_in(
            c,
            &cond,
            p,
            "ORDER BY repo.creation_time DESC, repo.id DESC LIMIT 1",
        )
        .await?;
        Ok(found.pop().unwrap_or(Json::Null))
    }

    /// `repoInfo(repo_id, strict=False)`: every field of the repo.
    pub async fn info(&self, repo_id: &Json, strict: bool) -> Result<Json> {
        if repo_id.is_null() && !strict {
            return Ok(Json::Null);
        }
        let id = repo_id_arg(repo_id)?;
        let mut found = select_in(self.0.db().conn(), "repo.id = ?", params![id], "").await?;
        match found.pop() {
            Some(r) => Ok(r),
            None if strict => Err(Error::generic("query returned no rows")),
            None => Ok(Json::Null),
        }
    }

    /// `getActiveRepos()`: every repo not DELETED, the fields kojira uses.
    pub async fn active(&self) -> Result<Json> {
        const FIELDS: &[&str] = &[
            "id",
            "tag_id",
            "create_event",
            "create_ts",
            "state",
            "dist",
            "task_id",
            "tag_name",
            "creation_ts",
            "state_ts",
            "end_event",
            "opts",
        ];
        let repos = select_in(
            self.0.db().conn(),
            "repo.state != ?",
            params![REPO_DELETED],
            "ORDER BY repo.id",
        )
        .await?;
        Ok(Json::Array(
            repos.into_iter().map(|r| only(r, FIELDS)).collect(),
        ))
    }

    /// `repoExpire(repo_id)`, `repoProblem(repo_id)`: the repo permission.
    pub async fn set_state(&self, caller: &Caller, repo_id: &Json, state: i64) -> Result<()> {
        caller.assert_perm("repo")?;
        self.set_state_unchecked(repo_id, state).await
    }

    /// `repo.setState(repo_id, state)`: the repo permission; upstream's
    /// state rules.
    pub async fn set_state_any(&self, caller: &Caller, repo_id: &Json, state: &Json) -> Result<()> {
        caller.assert_perm("repo")?;
        let state = repo_id_arg(state)?;
        self.set_state_unchecked(repo_id, state).await
    }

    async fn set_state_unchecked(&self, repo_id: &Json, state: i64) -> Result<()> {
        let id = repo_id_arg(repo_id)?;
        let tx = self.0.db().begin().await?;
        set_state_in(&tx, id, state).await?;
        tx.commit().await
    }

    /// `repo.references(repo_id)`: the buildroots still using the repo.
    pub async fn references(&self, repo_id: &Json) -> Result<Json> {
        let id = repo_id_arg(repo_id)?;
        Ok(Json::Array(references_in(self.0.db().conn(), id).await?))
    }

    /// `repoDelete(repo_id)`: marks the repo DELETED unless buildroots
    /// still use it; answers how many do (nothing changes then).
    pub async fn delete(&self, caller: &Caller, repo_id: &Json) -> Result<i64> {
        caller.assert_perm("repo")?;
        let id = repo_id_arg(repo_id)?;
        let tx = self.0.db().begin().await?;
        let refs = references_in(&*tx, id).await?;
        if refs.is_empty() {
            set_state_in(&tx, id, REPO_DELETED).await?;
        }
        tx.commit().await?;
        Ok(refs.len() as i64)
    }
}
