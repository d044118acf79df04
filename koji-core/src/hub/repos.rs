//! Repositories of tags (upstream's `repo` table and its `RepoQuery`):
//! reading them. Generating them (`newRepo`, `repo.request`, the
//! regeneration loop) is still to come; a hub migrated from upstream
//! answers with the repos it has.

use super::scheduler::{data_select, json_col};
use super::tags::lookup_name;
use super::Hub;
use crate::db::{fetch_opt, RowExt, Value};
use crate::error::{Error, Result};
use crate::util::{format_time, py_str};
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
        let mut sql = format!(
            "SELECT repo.id, repo.tag_id, repo.creation_time, repo.state_time, repo.create_event, \
             repo.begin_event, repo.end_event, repo.state, repo.dist, repo.task_id, \
             {opts} AS opts, {custom} AS custom_opts, tag.name AS tag_name, task.state AS task_state, \
             create_ev.time AS create_ev_time, begin_ev.time AS begin_time, end_ev.time AS end_time \
             FROM repo JOIN tag ON repo.tag_id = tag.id \
             JOIN events AS create_ev ON repo.create_event = create_ev.id \
             LEFT JOIN events AS begin_ev ON repo.begin_event = begin_ev.id \
             LEFT JOIN events AS end_ev ON repo.end_event = end_ev.id \
             LEFT JOIN task ON repo.task_id = task.id \
             WHERE repo.tag_id = ? AND repo.dist = ?",
            opts = data_select(c, "repo.opts"),
            custom = data_select(c, "repo.custom_opts"),
        );
        let mut p: Vec<Value> = vec![tag_id.into(), dist.into()];
        match event {
            // a repo for an old tag event: any state
            Some(ev) if ev != 0 => {
                sql.push_str(" AND repo.create_event <= ?");
                p.push(ev.into());
            }
            _ => {
                sql.push_str(" AND repo.state = ?");
                p.push(state.unwrap_or(REPO_READY).into());
            }
        }
        sql.push_str(" ORDER BY repo.creation_time DESC, repo.id DESC LIMIT 1");
        match fetch_opt(c, &sql, p).await? {
            Some(r) => repo_fields(&r),
            None => Ok(Json::Null),
        }
    }
}
