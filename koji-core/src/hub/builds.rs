//! Builds (`build`): lookup, creation, and (as they land) queries and the
//! build lifecycle.
//!
//! Helpers other areas reuse, all on any connection or inside the caller's
//! transaction:
//! - [`find_build_id_in`] — upstream's `find_build_id` (id, N-V-R string or
//!   `{name, version, release}` map);
//! - [`get_build_in`] — upstream's `get_build`, as a [`BuildInfo`];
//! - [`new_build_in`] — upstream's `new_build` (with the recycling of a
//!   failed or canceled build of the same N-V-R);
//! - [`BuildInfo::path`] — where the build lives in the content store.

use super::buildtypes::{get_typed_build_in, TypedBuild};
use super::names::NameRules;
use super::packages::new_package_in;
use super::query_opts::{Columns, QueryOpts};
use super::tags::{lookup_name, pg_integer};
use super::users::Users;
use super::{Caller, Hub};
use crate::api::{py_type_of, truthy};
use crate::db::{backend_of, exec, fetch_all, fetch_opt, versioned, Backend, RowExt, Tx, Where};
use crate::error::{Error, Result};
use crate::model::BuildState;
use crate::params;
use crate::pathinfo::{check_component, BuildPath, PathInfo, DEFAULT_VOLUME};
use crate::util::{format_time, py_fault, py_int, py_repr, py_str, py_str_repr};
use sea_orm::{ConnectionTrait, QueryResult};
use serde::Serialize;
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

pub struct Builds<'a>(pub(super) &'a Hub);

/// A build as upstream's `getBuild` returns it: its query's columns sorted
/// by alias, then `cg_name`, which upstream adds afterwards.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct BuildInfo {
    pub build_id: i64,
    pub cg_id: Option<i64>,
    pub completion_time: Option<String>,
    pub completion_ts: Option<f64>,
    pub creation_event_id: i64,
    pub creation_time: String,
    pub creation_ts: f64,
    pub draft: bool,
    pub epoch: Option<i64>,
    pub extra: Option<Json>,
    pub id: i64,
    pub name: String,
    pub nvr: String,
    pub owner_id: i64,
    pub owner_name: String,
    pub package_id: i64,
    pub package_name: String,
    pub promoter_id: Option<i64>,
    pub promoter_name: Option<String>,
    pub promotion_time: Option<String>,
    pub promotion_ts: Option<f64>,
    pub release: String,
    pub source: Option<String>,
    pub start_time: Option<String>,
    pub start_ts: Option<f64>,
    pub state: i64,
    pub task_id: Option<i64>,
    pub version: String,
    pub volume_id: i64,
    pub volume_name: String,
    pub cg_name: Option<String>,
}

impl BuildInfo {
    pub fn state(&self) -> Option<BuildState> {
        BuildState::from_i64(self.state)
    }

    /// The build's fields its content-store paths depend on.
    pub fn path(&self) -> BuildPath<'_> {
        BuildPath {
            name: &self.name,
            version: &self.version,
            release: &self.release,
            volume: Some(&self.volume_name),
        }
    }

    /// The build's directory in the content store.
    pub fn dir(&self, pathinfo: &PathInfo) -> std::path::PathBuf {
        pathinfo.build(self.path())
    }

    pub fn to_json(&self) -> Json {
        serde_json::to_value(self).unwrap_or(Json::Null)
    }
}

/// The column list of [`BUILD_SELECT`] (a macro so the pieces concatenate
/// at compile time).
macro_rules! build_columns {
    () => {
        "build.id, build.version, build.release, build.epoch, \
         build.draft, build.state, build.completion_time, build.promotion_time, build.start_time, \
         build.task_id, events.id AS creation_event_id, events.time AS creation_time, \
         package.id AS package_id, package.name AS package_name, volume.id AS volume_id, \
         volume.name AS volume_name, users.id AS owner_id, users.name AS owner_name, \
         promoter.id AS promoter_id, promoter.name AS promoter_name, build.cg_id, \
         content_generator.name AS cg_name, build.source, build.extra"
    };
}

/// The tables of [`BUILD_SELECT`].
macro_rules! build_from {
    () => {
        "FROM build JOIN events ON build.create_event = events.id \
         JOIN package ON build.pkg_id = package.id \
         JOIN volume ON build.volume_id = volume.id \
         JOIN users ON build.owner = users.id \
         LEFT JOIN users AS promoter ON build.promoter = promoter.id \
         LEFT JOIN content_generator ON build.cg_id = content_generator.id"
    };
}

/// The columns of [`BuildInfo`], for `get_build_in` and the queries that
/// return whole builds. Joins: `events`, `package`, `volume`, `users`, the
/// promoter and the content generator.
pub const BUILD_SELECT: &str = concat!("SELECT ", build_columns!(), " ", build_from!());

/// Upstream's `parse_json(extra, errstr='Invalid extra data')`.
pub fn parse_extra(text: Option<String>) -> Result<Option<Json>> {
    match text {
        None => Ok(None),
        Some(s) => serde_json::from_str(&s)
            .map(Some)
            .map_err(|e| Error::Generic(format!("Invalid extra data: {e}"))),
    }
}

fn time_pair(r: &QueryResult, col: &str) -> Result<(Option<String>, Option<f64>)> {
    let ts = r.ts(col)?;
    Ok((ts.map(format_time), ts))
}

/// A [`BuildInfo`] from a row selected by [`BUILD_SELECT`].
pub fn build_from_row(r: &QueryResult) -> Result<BuildInfo> {
    let name = r.string("package_name")?;
    let version = r.string("version")?;
    let release = r.string("release")?;
    let (completion_time, completion_ts) = time_pair(r, "completion_time")?;
    let (promotion_time, promotion_ts) = time_pair(r, "promotion_time")?;
    let (start_time, start_ts) = time_pair(r, "start_time")?;
    let creation_ts = r.ts("creation_time")?.unwrap_or_default();
    let id = r.int("id")?;
    Ok(BuildInfo {
        build_id: id,
        cg_id: r.opt_int("cg_id")?,
        completion_time,
        completion_ts,
        creation_event_id: r.int("creation_event_id")?,
        creation_time: format_time(creation_ts),
        creation_ts,
        draft: r.boolean("draft")?,
        epoch: r.opt_int("epoch")?,
        extra: parse_extra(r.opt_string("extra")?)?,
        id,
        nvr: format!("{name}-{version}-{release}"),
        owner_id: r.int("owner_id")?,
        owner_name: r.string("owner_name")?,
        package_id: r.int("package_id")?,
        package_name: name.clone(),
        name,
        promoter_id: r.opt_int("promoter_id")?,
        promoter_name: r.opt_string("promoter_name")?,
        promotion_time,
        promotion_ts,
        release,
        source: r.opt_string("source")?,
        start_time,
        start_ts,
        state: r.int("state")?,
        task_id: r.opt_int("task_id")?,
        version,
        volume_id: r.int("volume_id")?,
        volume_name: r.string("volume_name")?,
        cg_name: r.opt_string("cg_name")?,
    })
}

/// Upstream's `koji.parse_NVR`: `(name, version, release, epoch)`; the
/// epoch is `""` when the string has none.
pub fn parse_nvr(nvr: &str) -> Result<(String, String, String, String)> {
    let bad = || Error::Generic(format!("invalid format: {nvr}"));
    let p2 = nvr.rfind('-').ok_or_else(bad)?;
    if p2 == nvr.len() - 1 {
        return Err(bad());
    }
    let p1 = nvr[..p2].rfind('-').ok_or_else(bad)?;
    if p1 + 1 == p2 {
        return Err(bad());
    }
    let release = nvr[p2 + 1..].to_string();
    let version = nvr[p1 + 1..p2].to_string();
    let name = &nvr[..p1];
    let (epoch, name) = match name.find(':') {
        Some(i) => (name[..i].to_string(), name[i + 1..].to_string()),
        None => (String::new(), name.to_string()),
    };
    Ok((name, version, release, epoch))
}

/// Upstream's `koji.parse_NVRA`: `(name, version, release, epoch, arch)`,
/// without a trailing `.rpm` and an `@location` suffix.
pub fn parse_nvra(nvra: &str) -> Result<(String, String, String, String, String)> {
    let nvra = nvra.split_once('@').map_or(nvra, |(n, _)| n);
    let nvra = nvra.strip_suffix(".rpm").unwrap_or(nvra);
    let p3 = nvra
        .rfind('.')
        .filter(|p| *p != nvra.len() - 1)
        .ok_or_else(|| Error::Generic(format!("invalid format: {nvra}")))?;
    let (n, v, r, e) = parse_nvr(&nvra[..p3])?;
    Ok((n, v, r, e, nvra[p3 + 1..].to_string()))
}

/// Upstream's `find_build_id`: an integer is taken as is (not checked);
/// an N-V-R string or a `{name, version, release}` map is looked up.
pub async fn find_build_id_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
) -> Result<Option<i64>> {
    let (name, version, release) = match info {
        Json::Number(n) if n.is_i64() => return Ok(n.as_i64()),
        // Python's bool is an int
        Json::Bool(b) => return Ok(Some(*b as i64)),
        Json::String(nvr) => {
            let (n, v, r, _) = parse_nvr(nvr)?;
            (n, v, r)
        }
        Json::Object(m) => {
            let field = |k: &str| m.get(k).map(py_str);
            match (field("name"), field("version"), field("release")) {
                (Some(n), Some(v), Some(r)) => (n, v, r),
                _ => return Err(Error::generic("did not provide name, version, and release")),
            }
        }
        other => {
            return Err(Error::Generic(format!(
                "Invalid type for argument: <class '{}'>",
                py_type_of(other)
            )))
        }
    };
    let row = fetch_opt(
        c,
        "SELECT build.id FROM build JOIN package ON build.pkg_id = package.id \
         WHERE package.name = ? AND build.version = ? AND build.release = ?",
        params![name, version, release],
    )
    .await?;
    match row {
        Some(r) => Ok(Some(r.int("id")?)),
        None if strict => Err(Error::Generic(format!("No such build: {}", py_repr(info)))),
        None => Ok(None),
    }
}

/// Upstream's `get_build`.
pub async fn get_build_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
) -> Result<Option<BuildInfo>> {
    let Some(id) = find_build_id_in(c, info, strict).await? else {
        return Ok(None);
    };
    let row = fetch_opt(
        c,
        &format!("{BUILD_SELECT} WHERE build.id = ?"),
        params![id],
    )
    .await?;
    match row {
        Some(r) => Ok(Some(build_from_row(&r)?)),
        None if strict => Err(Error::Generic(format!("No such build: {}", py_str(info)))),
        None => Ok(None),
    }
}

/// What [`new_build_in`] creates (upstream's `new_build` data map).
#[derive(Debug, Clone, Default)]
pub struct NewBuild {
    /// The package name (created if missing); ignored when `pkg_id` is set.
    pub name: Option<Json>,
    pub pkg_id: Option<i64>,
    pub version: String,
    pub release: String,
    pub epoch: Option<i64>,
    /// A user id, name or map; default: the caller.
    pub owner: Option<Json>,
    /// Default: COMPLETE.
    pub state: Option<BuildState>,
    pub task_id: Option<i64>,
    pub volume_id: Option<i64>,
    pub draft: bool,
    pub source: Option<String>,
    pub extra: Option<Json>,
    pub cg_id: Option<i64>,
    /// Seconds since the epoch; default: now.
    pub start_time: Option<f64>,
    /// Seconds since the epoch; default: now, or none for a BUILDING build.
    pub completion_time: Option<f64>,
}

fn to_datetime(ts: f64) -> chrono::DateTime<chrono::Utc> {
    chrono::DateTime::from_timestamp_micros((ts * 1e6).round() as i64).unwrap_or_default()
}

pub(crate) fn now() -> chrono::DateTime<chrono::Utc> {
    chrono::SubsecRound::trunc_subsecs(chrono::Utc::now(), 6)
}

/// Upstream's `koji.gen_draft_release`.
pub fn draft_release(release: &str, build_id: i64) -> String {
    format!("{release},draft_{build_id}")
}

/// Upstream's `new_build`: the id of the new build. An existing build of
/// the same N-V-R is refused while building or done; a failed or canceled
/// one with no tag history, RPMs or archives is recycled (`strict` refuses
/// any existing build).
pub async fn new_build_in(
    tx: &mut Tx,
    names: &NameRules,
    caller: &Caller,
    data: &NewBuild,
    strict: bool,
) -> Result<i64> {
    // the N-V-R become directories (packages/N/V/R): checked before
    // anything is written
    check_component("build version", &data.version)?;
    check_component("build release", &data.release)?;
    let (pkg_id, name) = match data.pkg_id {
        Some(id) => {
            let r = fetch_opt(&**tx, "SELECT name FROM package WHERE id = ?", params![id])
                .await?
                .ok_or_else(|| Error::Generic(format!("No such package ID: {id}")))?;
            let name = r.string("name")?;
            check_component("build name", &name)?;
            (id, name)
        }
        None => {
            let name = match &data.name {
                Some(n) if crate::api::truthy(n) => n.clone(),
                _ => return Err(Error::generic("No name or package id provided for build")),
            };
            check_component("build name", &py_str(&name))?;
            let id = new_package_in(tx, names, &name, false).await?;
            (id, py_str(&name))
        }
    };
    let owner = match &data.owner {
        Some(o) if crate::api::truthy(o) => Users::get_in(&**tx, caller, o, true, false, false)
            .await?
            .map(|u| u.id)
            .ok_or_else(|| Error::Generic(format!("No such user: {}", py_repr(o))))?,
        _ => caller.user_id()?,
    };
    let state = data.state.unwrap_or(BuildState::Complete);
    let extra = data
        .extra
        .as_ref()
        .map(|e| serde_json::to_string(e).unwrap_or_default());
    let start = data.start_time.map(to_datetime).unwrap_or_else(now);
    let completion = match (data.completion_time, state) {
        (Some(t), _) => Some(to_datetime(t)),
        (None, BuildState::Building) => None,
        (None, _) => Some(now()),
    };
    let volume_id = data.volume_id.unwrap_or(0);
    let nvr_map =
        serde_json::json!({"name": name, "version": data.version, "release": data.release});
    if let Some(old) = get_build_in(&**tx, &nvr_map, false).await? {
        let old_str = format!("{} (id={})", old.nvr, old.id);
        if data.draft {
            return Err(Error::Generic(format!(
                "Target build already exists: {old_str}"
            )));
        }
        if strict {
            return Err(Error::Generic(format!("Existing build found: {old_str}")));
        }
        if !recycle_build_in(tx, &old, data, state).await? {
            // its own task restarted: the build stays as it is
            return Ok(old.id);
        }
        let event = tx.event().await?;
        exec(
            &**tx,
            "UPDATE build SET state = ?, task_id = ?, owner = ?, start_time = ?, \
             completion_time = ?, epoch = ?, source = ?, extra = ?, volume_id = ?, \
             create_event = ? WHERE id = ?",
            params![
                state as i64,
                data.task_id,
                owner,
                start,
                completion,
                data.epoch,
                data.source.clone(),
                extra,
                volume_id,
                event,
                old.id
            ],
        )
        .await?;
        if let Some(cg) = data.cg_id {
            exec(
                &**tx,
                "UPDATE build SET cg_id = ? WHERE id = ?",
                params![cg, old.id],
            )
            .await?;
        }
        return Ok(old.id);
    }
    let event = tx.event().await?;
    let mut release = data.release.clone();
    let mut explicit_id = None;
    if data.draft {
        let id = next_build_id(tx).await?;
        release = draft_release(&data.release, id);
        let draft_nvr =
            serde_json::json!({"name": name, "version": data.version, "release": release});
        if find_build_id_in(&**tx, &draft_nvr, false).await?.is_some() {
            return Err(Error::Generic(format!(
                "The build already exists: {}",
                py_repr(&draft_nvr)
            )));
        }
        explicit_id = Some(id);
    }
    let mut cols = "pkg_id, version, release, epoch, draft, state, volume_id, task_id, owner, \
                    start_time, completion_time, source, extra, cg_id, create_event"
        .to_string();
    let mut values = params![
        pkg_id,
        data.version.clone(),
        release,
        data.epoch,
        data.draft,
        state as i64,
        volume_id,
        data.task_id,
        owner,
        start,
        completion,
        data.source.clone(),
        extra,
        data.cg_id,
        event
    ];
    if let Some(id) = explicit_id {
        cols.push_str(", id");
        values.push(id.into());
    }
    let marks = vec!["?"; values.len()].join(", ");
    let row = crate::db::fetch_one(
        &**tx,
        &format!("INSERT INTO build ({cols}) VALUES ({marks}) RETURNING id"),
        values,
    )
    .await?;
    row.int("id")
}

/// The id the next build will get (drafts need it for their release).
async fn next_build_id(tx: &Tx) -> Result<i64> {
    let sql = match backend_of(&**tx) {
        Backend::Postgres => "SELECT nextval('build_id_seq') AS id",
        Backend::Sqlite => "SELECT COALESCE(MAX(id), 0) + 1 AS id FROM build",
    };
    crate::db::fetch_one(&**tx, sql, vec![]).await?.int("id")
}

/// Upstream's `recycle_build` checks: only a failed or canceled build with
/// no tag history, RPMs or archives may be reused; type rows are dropped.
/// False when the build is BUILDING for the same task (its task restarted):
/// it is then reused as it is, nothing changed.
async fn recycle_build_in(
    tx: &mut Tx,
    old: &BuildInfo,
    data: &NewBuild,
    state: BuildState,
) -> Result<bool> {
    match old.state() {
        Some(BuildState::Building) => {
            if state == BuildState::Building && data.task_id == old.task_id {
                return Ok(false);
            }
            return Err(Error::Generic(format!(
                "Build already in progress (task {})",
                old.task_id.unwrap_or_default()
            )));
        }
        Some(BuildState::Failed) | Some(BuildState::Canceled) => {}
        other => {
            return Err(Error::Generic(format!(
                "Build already exists (id={}, state={}): {}",
                old.id,
                other.map_or("?", |s| s.name()),
                py_repr(&new_build_repr(data))
            )))
        }
    }
    for (table, what) in [
        ("tag_listing", "has tag history"),
        ("rpminfo", "has rpm data"),
        ("archiveinfo", "has archive data"),
    ] {
        let col = if table == "tag_listing" {
            "tag_id"
        } else {
            "id"
        };
        let sql = format!("SELECT {col} FROM {table} WHERE build_id = ? LIMIT 1");
        if fetch_opt(&**tx, &sql, params![old.id]).await?.is_some() {
            return Err(Error::Generic(format!(
                "Build already exists. Unable to recycle, {what}"
            )));
        }
    }
    for table in ["maven_builds", "win_builds", "image_builds", "build_types"] {
        exec(
            &**tx,
            &format!("DELETE FROM {table} WHERE build_id = ?"),
            params![old.id],
        )
        .await?;
    }
    Ok(true)
}

/// The data map upstream shows in "Build already exists" messages.
fn new_build_repr(d: &NewBuild) -> Json {
    let mut m = Map::new();
    if let Some(n) = &d.name {
        m.insert("name".into(), n.clone());
    }
    m.insert("version".into(), Json::from(d.version.clone()));
    m.insert("release".into(), Json::from(d.release.clone()));
    m.insert("epoch".into(), d.epoch.map_or(Json::Null, Json::from));
    m.insert("draft".into(), Json::Bool(d.draft));
    Json::Object(m)
}

impl Builds<'_> {
    /// `getBuild(buildInfo, strict=False)`.
    pub async fn get(&self, info: &Json, strict: bool) -> Result<Option<BuildInfo>> {
        get_build_in(self.0.db().conn(), info, strict).await
    }

    /// `findBuildID(X, strict=False)`.
    pub async fn find_id(&self, info: &Json, strict: bool) -> Result<Option<i64>> {
        find_build_id_in(self.0.db().conn(), info, strict).await
    }

    /// `createEmptyBuild(name, version, release, epoch, owner=None, draft=False)`.
    #[allow(clippy::too_many_arguments)]
    pub async fn create_empty(
        &self,
        caller: &Caller,
        name: &Json,
        version: &Json,
        release: &Json,
        epoch: &Json,
        owner: &Json,
        draft: bool,
    ) -> Result<i64> {
        caller.assert_perm("admin")?;
        let epoch = match epoch {
            Json::Null => None,
            Json::Number(n) if n.is_i64() => n.as_i64(),
            Json::String(s) if s.is_empty() => None,
            Json::String(s) => Some(s.parse().map_err(|_| {
                Error::Generic(format!("invalid input syntax for type integer: \"{s}\""))
            })?),
            other => return Err(Error::Generic(format!("Invalid epoch: {}", py_repr(other)))),
        };
        let data = NewBuild {
            name: Some(name.clone()),
            version: py_str(version),
            release: py_str(release),
            epoch,
            owner: (!owner.is_null()).then(|| owner.clone()),
            draft,
            ..Default::default()
        };
        let mut tx = self.0.db().begin().await?;
        let id = new_build_in(&mut tx, &self.0.config().names, caller, &data, false).await?;
        tx.commit().await?;
        Ok(id)
    }
}

// ---------------------------------------------------------------------------
// Small shared pieces: faults shaped like Python's, time arguments, globs
// ---------------------------------------------------------------------------

/// Python's `d[key]` on an argument that should be a dict.
fn py_index<'a>(v: &'a Json, key: &str) -> Result<&'a Json> {
    match v {
        Json::Object(m) => m
            .get(key)
            .ok_or_else(|| py_fault("KeyError", py_str_repr(key))),
        Json::String(_) => Err(py_fault(
            "TypeError",
            "string indices must be integers, not 'str'",
        )),
        Json::Array(_) => Err(py_fault(
            "TypeError",
            "list indices must be integers or slices, not str",
        )),
        other => Err(py_fault(
            "TypeError",
            format!("'{}' object is not subscriptable", py_type_of(other)),
        )),
    }
}

/// Upstream's `_prepareSearchTerms(terms, 'glob')`: a glob as a LIKE
/// pattern (with `\\` as the escape character).
fn glob_to_like(v: &Json) -> Result<String> {
    let Json::String(s) = v else {
        return Err(py_fault(
            "AttributeError",
            format!("'{}' object has no attribute 'replace'", py_type_of(v)),
        ));
    };
    Ok(s.replace('\\', "\\\\")
        .replace('_', "\\_")
        .replace('?', "_")
        .replace('*', "%"))
}

/// A time filter of `listBuilds`: seconds since the epoch, or a date/time
/// text as PostgreSQL reads it for a `timestamptz` (UTC without a zone).
fn time_filter(v: &Json) -> Result<chrono::DateTime<chrono::Utc>> {
    let secs = match v {
        Json::String(s) => {
            return crate::util::parse_time_text(s).ok_or_else(|| {
                py_fault(
                    "psycopg2.errors.InvalidDatetimeFormat",
                    format!("invalid input syntax for type timestamp with time zone: \"{s}\""),
                )
            })
        }
        Json::Bool(b) => *b as i64 as f64,
        Json::Number(n) => n.as_f64().unwrap_or_default(),
        other => {
            return Err(py_fault(
                "TypeError",
                format!(
                    "'{}' object cannot be interpreted as an integer",
                    py_type_of(other)
                ),
            ))
        }
    };
    chrono::DateTime::from_timestamp_micros((secs * 1e6).round() as i64)
        .ok_or_else(|| py_fault("ValueError", "year is out of range"))
}

/// A map with its keys sorted, as upstream's queries return rows.
fn sorted_map(m: Map<String, Json>) -> Json {
    let sorted: std::collections::BTreeMap<String, Json> = m.into_iter().collect();
    Json::Object(sorted.into_iter().collect())
}

// ---------------------------------------------------------------------------
// listBuilds
// ---------------------------------------------------------------------------

/// The filters of `listBuilds`, as given (upstream's parameter names in
/// the comments).
#[derive(Debug, Clone, Default)]
pub struct ListBuilds {
    /// `packageID`: id or name.
    pub package: Json,
    /// `userID`: id, name or map.
    pub user: Json,
    /// `taskID`: a task id; -1 means any task.
    pub task: Json,
    pub prefix: Json,
    pub state: Json,
    /// `volumeID`.
    pub volume: Json,
    pub source: Json,
    pub created_before: Json,
    pub created_after: Json,
    pub complete_before: Json,
    pub complete_after: Json,
    /// `type`: maven, win, image or any btype name (rpm...).
    pub btype: Json,
    pub type_info: Json,
    pub query_opts: Json,
    pub pattern: Json,
    /// `cgID`: content generator id or name.
    pub cg: Json,
    pub draft: Json,
}

/// The result keys of `listBuilds` and the SQL spelling of each (accepted
/// as `order` terms too).
const LIST_BUILDS_COLUMNS: &[(&str, &str)] = &[
    ("build.id", "build_id"),
    ("build.version", "version"),
    ("build.release", "release"),
    ("build.epoch", "epoch"),
    ("build.draft", "draft"),
    ("build.state", "state"),
    ("build.completion_time", "completion_time"),
    ("build.promotion_time", "promotion_time"),
    ("build.start_time", "start_time"),
    ("build.source", "source"),
    ("build.extra", "extra"),
    ("events.id", "creation_event_id"),
    ("events.time", "creation_time"),
    ("build.task_id", "task_id"),
    ("date_part('epoch', events.time)", "creation_ts"),
    ("date_part('epoch', build.start_time)", "start_ts"),
    ("date_part('epoch', build.completion_time)", "completion_ts"),
    ("date_part('epoch', build.promotion_time)", "promotion_ts"),
    ("package.id", "package_id"),
    ("package.name", "package_name"),
    ("package.name", "name"),
    ("volume.id", "volume_id"),
    ("volume.name", "volume_name"),
    (
        "package.name || '-' || build.version || '-' || build.release",
        "nvr",
    ),
    ("users.id", "owner_id"),
    ("users.name", "owner_name"),
    ("promoter.id", "promoter_id"),
    ("promoter.name", "promoter_name"),
];

/// A `listBuilds` row from a [`BuildInfo`]: its keys but `id` and the
/// content generator's.
fn list_row(b: BuildInfo) -> Map<String, Json> {
    let Json::Object(mut m) = b.to_json() else {
        return Map::new();
    };
    for k in ["id", "cg_id", "cg_name"] {
        m.remove(k);
    }
    m
}

// ---------------------------------------------------------------------------
// Volumes, tags of a build, tag updates
// ---------------------------------------------------------------------------

/// A storage volume (`{id, name}`).
pub type VolumeInfo = super::tags::TagRef;

/// Upstream's `lookup_name('volume', info, strict)`.
pub async fn lookup_volume_in<C: ConnectionTrait>(
    c: &C,
    info: &Json,
    strict: bool,
) -> Result<Option<VolumeInfo>> {
    lookup_name(c, "volume", info, strict, false).await
}

/// Every volume, by id.
pub async fn list_volumes_in<C: ConnectionTrait>(c: &C) -> Result<Vec<VolumeInfo>> {
    fetch_all(c, "SELECT id, name FROM volume ORDER BY id", vec![])
        .await?
        .iter()
        .map(|r| {
            Ok(VolumeInfo {
                id: r.int("id")?,
                name: r.string("name")?,
            })
        })
        .collect()
}

/// The ids of the tags a build is in now (upstream's `list_tags(build=...)`).
async fn tags_of_build<C: ConnectionTrait>(c: &C, build_id: i64) -> Result<Vec<i64>> {
    fetch_all(
        c,
        "SELECT tag_id FROM tag_listing WHERE build_id = ? AND active = TRUE ORDER BY tag_id",
        params![build_id],
    )
    .await?
    .iter()
    .map(|r| r.int("tag_id"))
    .collect()
}

/// Upstream's `TAG_UPDATE_TYPES`.
#[derive(Debug, Clone, Copy)]
pub enum TagUpdate {
    VolumeChange = 0,
    Import = 1,
    Manual = 2,
    DraftPromotion = 3,
}

/// Upstream's `set_tag_update`: records a non-versioned change of a tag's
/// content (for kojira), in the transaction's event.
pub async fn set_tag_update_in(
    tx: &mut Tx,
    tag_id: i64,
    kind: TagUpdate,
    user_id: i64,
) -> Result<()> {
    let event = tx.event().await?;
    exec(
        &**tx,
        "INSERT INTO tag_updates (tag_id, update_event, updater_id, update_type) \
         VALUES (?, ?, ?, ?)",
        params![tag_id, event, user_id, kind as i64],
    )
    .await?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Content-store helpers (upstream's path juggling around volumes)
// ---------------------------------------------------------------------------

/// The directory of build `b` if it were on `volume`, with `release`
/// instead of its own when given.
fn dir_on(pathinfo: &PathInfo, b: &BuildInfo, volume: &str, release: Option<&str>) -> PathBuf {
    pathinfo.build(BuildPath {
        name: &b.name,
        version: &b.version,
        release: release.unwrap_or(&b.release),
        volume: Some(volume),
    })
}

fn is_symlink(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink())
}

/// Python's `os.path.lexists`.
pub(crate) fn lexists(p: &Path) -> bool {
    std::fs::symlink_metadata(p).is_ok()
}

/// Python's `os.path.relpath(target, start)` for absolute paths.
pub(crate) fn relpath(target: &Path, start: &Path) -> PathBuf {
    let t: Vec<_> = target.components().collect();
    let s: Vec<_> = start.components().collect();
    let common = t.iter().zip(&s).take_while(|(a, b)| a == b).count();
    let mut out = PathBuf::new();
    for _ in common..s.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    if out.as_os_str().is_empty() {
        out.push(".");
    }
    out
}

/// Removes a directory tree (or a lone file or link).
fn rmtree(p: &Path) -> Result<()> {
    let meta = match std::fs::symlink_metadata(p) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e.into()),
    };
    if meta.is_dir() {
        std::fs::remove_dir_all(p)?;
    } else {
        std::fs::remove_file(p)?;
    }
    Ok(())
}

/// Python's `shutil.copytree(src, dst, symlinks=True)`: links are copied
/// as links; files keep their permissions and modification times.
fn copytree(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    let mut entries: Vec<_> = std::fs::read_dir(src)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let from = e.path();
        let to = dst.join(e.file_name());
        let ft = e.file_type()?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&from)?, &to)?;
        } else if ft.is_dir() {
            copytree(&from, &to)?;
        } else {
            std::fs::copy(&from, &to)?;
            let mtime = e.metadata()?.modified()?;
            std::fs::File::options()
                .write(true)
                .open(&to)?
                .set_modified(mtime)?;
        }
    }
    let perms = std::fs::metadata(src)?.permissions();
    std::fs::set_permissions(dst, perms)?;
    Ok(())
}

/// Upstream's `ensure_volume_symlink`: a build on another volume gets a
/// relative link at its place on the default volume. Answers the link
/// when it made one (so a failed caller can take it away again).
fn ensure_volume_symlink(pathinfo: &PathInfo, b: &BuildInfo) -> Result<Option<PathBuf>> {
    if b.volume_name == DEFAULT_VOLUME {
        return Ok(None);
    }
    let build_dir = b.dir(pathinfo);
    let basedir = dir_on(pathinfo, b, DEFAULT_VOLUME, None);
    let parent = basedir.parent().unwrap_or(Path::new("/"));
    let rel = relpath(&build_dir, parent);
    if is_symlink(&basedir) {
        if std::fs::read_link(&basedir)? == rel {
            return Ok(None);
        }
        std::fs::remove_file(&basedir)?;
    } else if basedir.exists() {
        return Err(Error::Generic(format!(
            "Unexpected build content: {}",
            basedir.display()
        )));
    } else {
        std::fs::create_dir_all(parent)?;
    }
    std::os::unix::fs::symlink(rel, &basedir)?;
    Ok(Some(basedir))
}

/// Upstream's `_delete_build_symlinks`, set aside in `trash`: the
/// default-volume link of a build on another volume, and the links left
/// at a promoted draft's old place.
fn delete_build_symlinks(
    pathinfo: &PathInfo,
    b: &BuildInfo,
    volumes: &[VolumeInfo],
    trash: &mut Trash,
) -> Result<()> {
    if b.volume_id != 0 {
        let basedir = dir_on(pathinfo, b, DEFAULT_VOLUME, None);
        if is_symlink(&basedir) {
            trash.set_aside(&basedir)?;
        }
    }
    if !b.draft {
        let draft = draft_release(&b.release, b.id);
        for v in volumes {
            let checkdir = dir_on(pathinfo, b, &v.name, Some(&draft));
            if is_symlink(&checkdir) {
                trash.set_aside(&checkdir)?;
            }
        }
    }
    Ok(())
}

/// Files and directories to be removed once a transaction commits. Each is
/// renamed at once to a hidden sibling (same directory, so same volume and
/// an atomic rename): [`Trash::empty`] after the commit removes them,
/// [`Trash::restore`] puts them back when the transaction fails.
#[derive(Debug, Default)]
#[must_use = "empty or restore the trash"]
pub struct Trash {
    /// (original place, where it waits), in the order set aside.
    moved: Vec<(PathBuf, PathBuf)>,
}

impl Trash {
    /// Sets `p` aside (a file, link or whole tree); nothing when there is
    /// nothing at `p`.
    pub fn set_aside(&mut self, p: &Path) -> Result<()> {
        if !lexists(p) {
            return Ok(());
        }
        let dir = p.parent().unwrap_or(Path::new("/"));
        let aside = dir.join(format!(".koji-deleting.{:016x}", rand::random::<u64>()));
        std::fs::rename(p, &aside)?;
        self.moved.push((p.to_path_buf(), aside));
        Ok(())
    }

    /// After the commit: removes what was set aside (failures are logged:
    /// the rows are gone already, only disk space is at stake).
    pub fn empty(self) {
        for (orig, aside) in self.moved {
            if let Err(e) = rmtree(&aside) {
                tracing::error!(
                    path = %aside.display(),
                    original = %orig.display(),
                    error = %e,
                    "cannot remove deleted content"
                );
            }
        }
    }

    /// When the transaction fails: puts everything back, last first.
    pub fn restore(self) {
        for (orig, aside) in self.moved.into_iter().rev() {
            if let Err(e) = std::fs::rename(&aside, &orig) {
                tracing::error!(
                    path = %aside.display(),
                    original = %orig.display(),
                    error = %e,
                    "cannot put content back"
                );
            }
        }
    }
}

// ---------------------------------------------------------------------------
// Lifecycle helpers other areas reuse (inside the caller's transaction)
// ---------------------------------------------------------------------------

/// Upstream's `cancel_build`: a BUILDING build becomes CANCELED (with its
/// completion time) and loses its content-generator reservation. False
/// when the build is not building. The permission check is the caller's.
pub async fn cancel_build_in(
    tx: &mut Tx,
    hub: &Hub,
    caller: &Caller,
    build_id: i64,
    cancel_task: bool,
) -> Result<bool> {
    let b = get_build_in(&**tx, &Json::from(build_id), true)
        .await?
        .ok_or_else(|| Error::Generic(format!("No such build: {build_id}")))?;
    if b.state != BuildState::Building as i64 {
        return Ok(false);
    }
    exec(
        &**tx,
        "UPDATE build SET state = ?, completion_time = ? WHERE id = ? AND state = ?",
        params![
            BuildState::Canceled as i64,
            now(),
            build_id,
            BuildState::Building as i64
        ],
    )
    .await?;
    let b = get_build_in(&**tx, &Json::from(build_id), true).await?;
    if b.as_ref().map(|b| b.state) != Some(BuildState::Canceled as i64) {
        return Ok(false);
    }
    if let Some(task_id) = b.and_then(|b| b.task_id) {
        super::notifications::build_notification_in(tx, hub, caller, task_id, build_id).await?;
        if cancel_task {
            // boxed: cancelling a task cancels its builds in turn
            Box::pin(super::tasks::cancel_full_in(
                tx, hub, caller, task_id, false,
            ))
            .await?;
        }
    }
    exec(
        &**tx,
        "DELETE FROM build_reservations WHERE build_id = ?",
        params![build_id],
    )
    .await?;
    Ok(true)
}

/// The ids of a build's RPMs (`rpminfo`) and archives (`archiveinfo`).
async fn component_ids<C: ConnectionTrait>(c: &C, build_id: i64) -> Result<(Vec<i64>, Vec<i64>)> {
    let ids = |sql: &'static str| async move {
        fetch_all(c, sql, params![build_id])
            .await?
            .iter()
            .map(|r| r.int("id"))
            .collect::<Result<Vec<i64>>>()
    };
    Ok((
        ids("SELECT id FROM rpminfo WHERE build_id = ? ORDER BY id").await?,
        ids("SELECT id FROM archiveinfo WHERE build_id = ? ORDER BY id").await?,
    ))
}

fn limit_sql(limit: Option<i64>) -> String {
    match limit {
        Some(l) if l != 0 => format!(" LIMIT {l}"),
        _ => String::new(),
    }
}

/// Upstream's `build_references`: what refers to a build (the tags it is
/// in, the builds whose buildroots used its RPMs or archives, the archives
/// containing them, the last use in a buildroot). `limit` bounds each
/// kind; `lazy` stops at the first kind found. Keys in upstream's order.
pub async fn build_references_in<C: ConnectionTrait>(
    c: &C,
    build_id: i64,
    limit: Option<i64>,
    lazy: bool,
) -> Result<Map<String, Json>> {
    let complete = BuildState::Complete as i64;
    let mut ret = Map::new();
    let tags: Vec<Json> = fetch_all(
        c,
        "SELECT tag_listing.tag_id AS tag_id, tag.name AS name FROM tag_listing \
         JOIN tag ON tag_listing.tag_id = tag.id \
         WHERE tag_listing.build_id = ? AND tag_listing.active = TRUE ORDER BY tag_listing.tag_id",
        params![build_id],
    )
    .await?
    .iter()
    .map(|r| Ok(json!({"name": r.string("name")?, "tag_id": r.int("tag_id")?})))
    .collect::<Result<_>>()?;
    let found = !tags.is_empty();
    ret.insert("tags".into(), Json::Array(tags));
    if lazy && found {
        return Ok(ret);
    }
    let (rpm_ids, archive_ids) = component_ids(c, build_id).await?;

    // builds whose buildroots had our RPMs
    let mut seen = std::collections::HashSet::new();
    let mut rpms = vec![];
    for rpm_id in &rpm_ids {
        let sql = format!(
            "SELECT rpminfo.id, rpminfo.name, rpminfo.version, rpminfo.release, rpminfo.arch, \
             rpminfo.build_id FROM rpminfo JOIN build ON rpminfo.build_id = build.id \
             WHERE rpminfo.buildroot_id IN \
             (SELECT DISTINCT buildroot_id FROM buildroot_listing WHERE rpm_id = ?) \
             AND build.state = ? ORDER BY rpminfo.id{}",
            limit_sql(limit)
        );
        for r in fetch_all(c, &sql, params![*rpm_id, complete]).await? {
            let id = r.int("id")?;
            if seen.insert(id) {
                rpms.push(json!({
                    "arch": r.string("arch")?,
                    "build_id": r.opt_int("build_id")?,
                    "id": id,
                    "name": r.string("name")?,
                    "release": r.string("release")?,
                    "version": r.string("version")?,
                }));
            }
        }
        if limit.is_some_and(|l| rpms.len() as i64 > l) {
            break;
        }
    }
    let found = !rpms.is_empty();
    ret.insert("rpms".into(), Json::Array(rpms));
    if lazy && found {
        return Ok(ret);
    }

    // archives of complete builds containing our RPMs
    let mut component_of: Vec<Json> = vec![];
    for rpm_id in &rpm_ids {
        let sql = format!(
            "SELECT archive_rpm_components.archive_id AS archive_id FROM archive_rpm_components \
             JOIN archiveinfo ON archiveinfo.id = archive_rpm_components.archive_id \
             JOIN build ON archiveinfo.build_id = build.id \
             WHERE archive_rpm_components.rpm_id = ? AND build.state = ? \
             ORDER BY archive_rpm_components.archive_id{}",
            limit_sql(limit)
        );
        for r in fetch_all(c, &sql, params![*rpm_id, complete]).await? {
            component_of.push(Json::from(r.int("archive_id")?));
        }
    }
    if lazy && !component_of.is_empty() {
        ret.insert("component_of".into(), Json::Array(component_of));
        return Ok(ret);
    }

    // builds whose buildroots had our archives
    let mut seen = std::collections::HashSet::new();
    let mut archives = vec![];
    for archive_id in &archive_ids {
        let sql = format!(
            "SELECT archiveinfo.id, archiveinfo.type_id, archivetypes.name AS type_name, \
             archiveinfo.build_id, archiveinfo.filename FROM buildroot_archives \
             JOIN archiveinfo ON archiveinfo.buildroot_id = buildroot_archives.buildroot_id \
             JOIN build ON archiveinfo.build_id = build.id \
             JOIN archivetypes ON archivetypes.id = archiveinfo.type_id \
             WHERE buildroot_archives.archive_id = ? AND build.state = ? \
             ORDER BY archiveinfo.id{}",
            limit_sql(limit)
        );
        for r in fetch_all(c, &sql, params![*archive_id, complete]).await? {
            let id = r.int("id")?;
            if seen.insert(id) {
                archives.push(json!({
                    "build_id": r.int("build_id")?,
                    "filename": r.string("filename")?,
                    "id": id,
                    "type_id": r.int("type_id")?,
                    "type_name": r.string("type_name")?,
                }));
            }
        }
        if limit.is_some_and(|l| archives.len() as i64 > l) {
            break;
        }
    }
    ret.insert("component_of".into(), Json::Array(component_of.clone()));
    let found = !archives.is_empty();
    ret.insert("archives".into(), Json::Array(archives));
    if lazy && found {
        return Ok(ret);
    }

    // archives of complete builds containing our archives
    for archive_id in &archive_ids {
        let sql = format!(
            "SELECT archive_components.archive_id AS archive_id FROM archive_components \
             JOIN archiveinfo ON archiveinfo.id = archive_components.archive_id \
             JOIN build ON archiveinfo.build_id = build.id \
             WHERE archive_components.component_id = ? AND build.state = ? \
             ORDER BY archive_components.archive_id{}",
            limit_sql(limit)
        );
        for r in fetch_all(c, &sql, params![*archive_id, complete]).await? {
            component_of.push(Json::from(r.int("archive_id")?));
        }
    }
    ret.insert("component_of".into(), Json::Array(component_of.clone()));
    if lazy && !component_of.is_empty() {
        return Ok(ret);
    }

    // the last buildroot that used any of them
    let mut event_id = 0;
    for (ids, table, col) in [
        (&rpm_ids, "buildroot_listing", "rpm_id"),
        (&archive_ids, "buildroot_archives", "archive_id"),
    ] {
        if ids.is_empty() {
            continue;
        }
        let marks = vec!["?"; ids.len()].join(", ");
        let sql = format!(
            "SELECT MAX(create_event) AS ev FROM standard_buildroot WHERE buildroot_id IN \
             (SELECT DISTINCT buildroot_id FROM {table} WHERE {col} IN ({marks}))"
        );
        let p = ids.iter().map(|i| crate::db::Value::from(*i)).collect();
        if let Some(r) = fetch_opt(c, &sql, p).await? {
            event_id = event_id.max(r.opt_int("ev")?.unwrap_or(0));
        }
    }
    let last_used = if event_id != 0 {
        let r = fetch_opt(c, "SELECT time FROM events WHERE id = ?", params![event_id]).await?;
        match r {
            Some(r) => r.ts("time")?.map_or(Json::Null, Json::from),
            None => Json::Null,
        }
    } else {
        Json::Null
    };
    ret.insert("last_used".into(), last_used);
    ret.insert("images".into(), Json::Array(component_of));
    Ok(ret)
}

/// The database part of upstream's `_delete_build` (no reference checks):
/// the RPMs' signatures and checksums go, tag entries are revoked, the
/// build is marked DELETED; RPM, archive and type rows stay. The caller
/// sets the files aside ([`set_aside_build_files`]) and empties the trash
/// after committing.
pub async fn delete_build_in(tx: &mut Tx, caller: &Caller, b: &BuildInfo) -> Result<()> {
    let user_id = caller.user_id()?;
    for table in ["rpmsigs", "rpm_checksum"] {
        exec(
            &**tx,
            &format!(
                "DELETE FROM {table} WHERE rpm_id IN (SELECT id FROM rpminfo WHERE build_id = ?)"
            ),
            params![b.id],
        )
        .await?;
    }
    versioned::revoke(tx, "tag_listing", "build_id = ?", params![b.id], user_id).await?;
    exec(
        &**tx,
        "UPDATE build SET state = ? WHERE id = ?",
        params![BuildState::Deleted as i64, b.id],
    )
    .await?;
    Ok(())
}

/// Sets a deleted or reset build's files aside: its links on other
/// volumes and after a promotion, then its directory (on `b`'s volume).
/// On an error what was set aside already is put back.
pub async fn set_aside_build_files<C: ConnectionTrait>(
    c: &C,
    pathinfo: &PathInfo,
    b: &BuildInfo,
) -> Result<Trash> {
    let volumes = list_volumes_in(c).await?;
    let mut trash = Trash::default();
    let res = delete_build_symlinks(pathinfo, b, &volumes, &mut trash)
        .and_then(|()| trash.set_aside(&b.dir(pathinfo)));
    match res {
        Ok(()) => Ok(trash),
        Err(e) => {
            trash.restore();
            Err(e)
        }
    }
}

/// A build's move to another volume, copied and recorded but not yet
/// committed (see [`set_build_volume_in`]).
#[derive(Debug)]
pub struct VolumeMove {
    olddir: PathBuf,
    newdir: PathBuf,
    /// The build as it is after the move.
    pub moved: BuildInfo,
    /// The default-volume link removed to make room (its path and target).
    removed_link: Option<(PathBuf, PathBuf)>,
}

impl VolumeMove {
    /// After the commit: removes the old copy and links the build from
    /// the default volume.
    pub fn finish(&self, pathinfo: &PathInfo) -> Result<()> {
        rmtree(&self.olddir)?;
        ensure_volume_symlink(pathinfo, &self.moved)?;
        Ok(())
    }

    /// When the transaction does not commit: drops the new copy.
    pub fn undo(&self) {
        let _ = rmtree(&self.newdir);
        if let Some((link, target)) = &self.removed_link {
            let _ = std::os::unix::fs::symlink(target, link);
        }
    }
}

/// Moves `b` to `vol` ([`set_build_volume_in`]) and commits `tx`; the
/// files follow the rows: the copy is undone if the commit fails, the old
/// place cleaned up once it succeeded.
async fn commit_volume_move(
    mut tx: Tx,
    pathinfo: &PathInfo,
    b: &BuildInfo,
    vol: &VolumeInfo,
    strict: bool,
    user_id: i64,
) -> Result<()> {
    let Some(mv) = set_build_volume_in(&mut tx, pathinfo, b, vol, strict, user_id).await? else {
        return Ok(());
    };
    if let Err(e) = tx.commit().await {
        mv.undo();
        return Err(e);
    }
    mv.finish(pathinfo)
}

/// Upstream's `_set_build_volume`, inside the caller's transaction: checks
/// the move, copies the build's directory to the volume and points the
/// build there (with a VOLUME_CHANGE update of its tags). `None` when the
/// build is there already (an error with `strict`). Commit, then
/// [`VolumeMove::finish`]; or [`VolumeMove::undo`].
pub async fn set_build_volume_in(
    tx: &mut Tx,
    pathinfo: &PathInfo,
    b: &BuildInfo,
    vol: &VolumeInfo,
    strict: bool,
    user_id: i64,
) -> Result<Option<VolumeMove>> {
    if b.volume_id == vol.id {
        if strict {
            return Err(Error::Generic(format!(
                "Build {} already on volume {}",
                b.nvr, b.volume_name
            )));
        }
        return Ok(None);
    }
    let state = b.state();
    if !matches!(
        state,
        Some(BuildState::Complete) | Some(BuildState::Deleted)
    ) {
        return Err(Error::Generic(format!(
            "Build {} is {}",
            b.nvr,
            state.map_or("?", |s| s.name())
        )));
    }
    if !pathinfo.volumedir(Some(&vol.name)).is_dir() {
        return Err(Error::Generic(format!(
            "Directory entry missing for volume {}",
            vol.name
        )));
    }
    for check in list_volumes_in(&**tx).await? {
        let checkdir = dir_on(pathinfo, b, &check.name, None);
        if check.id == b.volume_id {
            // where we move from
        } else if check.name == DEFAULT_VOLUME && is_symlink(&checkdir) {
            // the convenience link of a build on another volume
        } else if check.id == vol.id {
            if lexists(&checkdir) {
                return Err(Error::Generic(format!(
                    "Destination directory exists: {}",
                    checkdir.display()
                )));
            }
        } else if lexists(&checkdir) {
            return Err(Error::Generic(format!(
                "Unexpected cross-volume content: {}",
                checkdir.display()
            )));
        }
    }
    let olddir = b.dir(pathinfo);
    let newdir = dir_on(pathinfo, b, &vol.name, None);
    if !olddir.exists() {
        return Err(Error::Generic(format!(
            "Build directory missing: {}",
            olddir.display()
        )));
    }
    if !olddir.is_dir() {
        return Err(Error::Generic(format!(
            "Not a directory: {}",
            olddir.display()
        )));
    }
    let mut mv = VolumeMove {
        olddir,
        newdir,
        moved: BuildInfo {
            volume_id: vol.id,
            volume_name: vol.name.clone(),
            ..b.clone()
        },
        removed_link: None,
    };
    if vol.name == DEFAULT_VOLUME && is_symlink(&mv.newdir) {
        let target = std::fs::read_link(&mv.newdir)?;
        std::fs::remove_file(&mv.newdir)?;
        mv.removed_link = Some((mv.newdir.clone(), target));
    }
    let res = async {
        if let Some(parent) = mv.newdir.parent() {
            std::fs::create_dir_all(parent)?;
        }
        copytree(&mv.olddir, &mv.newdir)?;
        exec(
            &**tx,
            "UPDATE build SET volume_id = ? WHERE id = ?",
            params![vol.id, b.id],
        )
        .await?;
        for tag_id in tags_of_build(&**tx, b.id).await? {
            set_tag_update_in(tx, tag_id, TagUpdate::VolumeChange, user_id).await?;
        }
        Ok(())
    };
    if let Err(e) = res.await {
        mv.undo();
        return Err(e);
    }
    Ok(Some(mv))
}

// ---------------------------------------------------------------------------
// The API calls
// ---------------------------------------------------------------------------

/// Upstream's `getNextRelease` increments: a number, `N.dist` or
/// `date.nightly.N`; None for any other release.
fn increment_release(release: &str, incr: i64) -> Option<String> {
    let is_digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let add = |s: &str| -> Option<String> {
        let n: i128 = s.parse().ok()?;
        Some((n + i128::from(incr)).to_string())
    };
    if is_digits(release) {
        return add(release);
    }
    let mut parts: Vec<String> = release.split('.').map(str::to_string).collect();
    let idx = match parts.len() {
        2 if is_digits(&parts[0]) => 0,
        3 if is_digits(&parts[2]) => 2,
        _ => return None,
    };
    parts[idx] = add(&parts[idx])?;
    Some(parts.join("."))
}

/// `setBuildTimestamp`'s value: a number, or an XML-RPC DateTime (which
/// reaches us as its text, `YYYYMMDDTHH:MM:SS`).
fn timestamp_arg(ts: &Json) -> Result<f64> {
    match ts {
        Json::Number(n) => Ok(n.as_f64().unwrap_or_default()),
        Json::Bool(b) => Ok(*b as i64 as f64),
        Json::String(s) => chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H:%M:%S")
            .map(|t| t.and_utc().timestamp() as f64)
            .map_err(|_| Error::generic("Invalid type for timestamp")),
        _ => Err(Error::generic("Invalid type for timestamp")),
    }
}

impl Builds<'_> {
    /// `listBuilds(...)`: builds matching every given filter, as maps with
    /// upstream's keys (sorted), then `queryOpts`.
    pub async fn list(&self, caller: &Caller, o: &ListBuilds) -> Result<Json> {
        let c = self.0.db().conn();
        let qo = QueryOpts::parse(&o.query_opts)?;
        let mut wh = Where::new();
        let mut joins = String::new();
        let mut join_params = vec![];
        let mut extra: Vec<(&str, &str)> = vec![];
        if !o.package.is_null() {
            match lookup_name(c, "package", &o.package, false, false).await? {
                Some(p) => wh.and("package.id = ?", params![p.id]),
                None => return Ok(json!([])),
            };
        }
        if !o.user.is_null() {
            match Users::get_in(c, caller, &o.user, false, false, false).await? {
                Some(u) => wh.and("users.id = ?", params![u.id]),
                None => return Ok(json!([])),
            };
        }
        if !o.volume.is_null() {
            wh.and("volume.id = ?", params![pg_integer(&o.volume, "id")?]);
        }
        if !o.task.is_null() {
            if o.task.as_f64() == Some(-1.0) {
                wh.and("build.task_id IS NOT NULL", vec![]);
            } else {
                wh.and(
                    "build.task_id = ?",
                    params![pg_integer(&o.task, "task_id")?],
                );
            }
        }
        if !o.source.is_null() {
            let like = glob_to_like(&o.source)?;
            wh.and(
                "LOWER(build.source) LIKE LOWER(?) ESCAPE '\\'",
                params![like],
            );
        }
        if truthy(&o.prefix) {
            let prefix = format!("{}%", py_str(&o.prefix));
            wh.and(
                "LOWER(package.name) LIKE LOWER(?) ESCAPE '\\'",
                params![prefix],
            );
        }
        if truthy(&o.pattern) {
            let like = glob_to_like(&o.pattern)?;
            wh.and(
                "LOWER(package.name || '-' || build.version || '-' || build.release) \
                 LIKE LOWER(?) ESCAPE '\\'",
                params![like],
            );
        }
        if !o.state.is_null() {
            wh.and("build.state = ?", params![pg_integer(&o.state, "state")?]);
        }
        for (v, clause) in [
            (&o.created_before, "events.time < ?"),
            (&o.created_after, "events.time > ?"),
            (&o.complete_before, "build.completion_time < ?"),
            (&o.complete_after, "build.completion_time > ?"),
        ] {
            if truthy(v) {
                wh.and(clause, params![time_filter(v)?]);
            }
        }
        if truthy(&o.cg) {
            match lookup_name(c, "content_generator", &o.cg, false, false).await? {
                Some(cg) => wh.and("build.cg_id = ?", params![cg.id]),
                None => return Ok(json!([])),
            };
        }
        let type_info = match &o.type_info {
            Json::Object(m) if !m.is_empty() => Some(m),
            _ => None,
        };
        match o.btype.as_str() {
            _ if o.btype.is_null() => {}
            Some("maven") => {
                joins.push_str(" JOIN maven_builds ON build.id = maven_builds.build_id");
                extra.extend([
                    ("maven_builds.group_id", "maven_group_id"),
                    ("maven_builds.artifact_id", "maven_artifact_id"),
                    ("maven_builds.version", "maven_version"),
                ]);
                if let Some(ti) = type_info {
                    for key in ["group_id", "artifact_id", "version"] {
                        if let Some(v) = ti.get(key) {
                            wh.and(format!("maven_builds.{key} = ?"), params![py_str(v)]);
                        }
                    }
                }
            }
            Some("win") => {
                joins.push_str(" JOIN win_builds ON build.id = win_builds.build_id");
                extra.push(("win_builds.platform", "platform"));
                if truthy(&o.type_info) {
                    let platform = py_index(&o.type_info, "platform")?;
                    wh.and("win_builds.platform = ?", params![py_str(platform)]);
                }
            }
            Some("image") => {
                joins.push_str(" JOIN image_builds ON build.id = image_builds.build_id");
                // upstream selects image_builds.build_id as a second build_id
                extra.push(("image_builds.build_id", "build_id"));
            }
            _ => {
                let Some(bt) = lookup_name(c, "btype", &o.btype, false, false).await? else {
                    return Err(Error::Generic(format!(
                        "unsupported build type: {}",
                        py_str(&o.btype)
                    )));
                };
                joins.push_str(
                    " JOIN build_types ON build.id = build_types.build_id \
                     AND build_types.btype_id = ?",
                );
                join_params.push(bt.id.into());
            }
        }
        if !o.draft.is_null() {
            wh.and("build.draft = ?", params![truthy(&o.draft)]);
        }
        let extra_sql: String = extra
            .iter()
            .filter(|(_, alias)| *alias != "build_id")
            .map(|(col, alias)| format!(", {col} AS {alias}"))
            .collect();
        let sql = format!(
            "SELECT {}{extra_sql} {}{joins}{} ORDER BY build.id",
            build_columns!(),
            build_from!(),
            wh.sql()
        );
        let mut p = join_params;
        p.extend(wh.params);
        let rows = fetch_all(c, &sql, p).await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = list_row(build_from_row(r)?);
            for (_, alias) in &extra {
                if *alias != "build_id" {
                    m.insert(alias.to_string(), Json::from(r.opt_string(alias)?));
                }
            }
            out.push(sorted_map(m));
        }
        let mut names: Vec<&str> = LIST_BUILDS_COLUMNS.iter().map(|(_, a)| *a).collect();
        names.extend(extra.iter().map(|(_, a)| *a));
        let mut cols = Columns::sorted(&names);
        for (expr, alias) in LIST_BUILDS_COLUMNS.iter().chain(extra.iter()) {
            cols = cols.expr(expr, alias);
        }
        qo.apply(out, &cols)
    }

    /// `getNextRelease(build_info, incr=1)`: the release after the latest
    /// non-draft building, complete or deleted build of a name and version.
    pub async fn next_release(&self, info: &Json, incr: &Json) -> Result<String> {
        let bad_incr = || Error::param("incr parameter must be an integer");
        let incr = if incr.is_null() {
            return Err(bad_incr());
        } else {
            py_int(incr).ok_or_else(bad_incr)?
        };
        let name = py_str(py_index(info, "name")?);
        let version = py_str(py_index(info, "version")?);
        let row = fetch_opt(
            self.0.db().conn(),
            "SELECT build.id, build.release FROM build JOIN package ON build.pkg_id = package.id \
             WHERE package.name = ? AND build.version = ? AND build.state IN (?, ?, ?) \
             AND NOT build.draft ORDER BY build.id DESC LIMIT 1",
            params![
                name,
                version,
                BuildState::Complete as i64,
                BuildState::Deleted as i64,
                BuildState::Building as i64
            ],
        )
        .await?;
        let release = match row {
            Some(r) => r.string("release")?,
            None => String::new(),
        };
        if release.is_empty() {
            return Ok(incr.to_string());
        }
        increment_release(&release, incr)
            .ok_or_else(|| Error::Build(format!("Unable to increment release value: {release}")))
    }

    /// `cancelBuild(buildID, strict=False)`: the owner or an admin cancels
    /// a building build; True when it was canceled.
    pub async fn cancel(&self, caller: &Caller, info: &Json, strict: bool) -> Result<bool> {
        let user_id = caller.user_id()?;
        let mut tx = self.0.db().begin().await?;
        let Some(b) = get_build_in(&*tx, info, strict).await? else {
            return Ok(false);
        };
        if b.owner_id != user_id && !caller.has_perm("admin") {
            return Err(Error::ActionNotAllowed(
                "Cannot cancel build, not owner".into(),
            ));
        }
        let done = cancel_build_in(&mut tx, self.0, caller, b.id, true).await?;
        tx.commit().await?;
        // its tasks were canceled too: builders stop them now
        self.0.task_events().notify();
        Ok(done)
    }

    /// `buildReferences(build, limit=None, lazy=False)`.
    pub async fn references(&self, info: &Json, limit: &Json, lazy: bool) -> Result<Json> {
        let c = self.0.db().conn();
        let b = get_build_in(c, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        let limit = match limit {
            Json::Null => None,
            v => Some(py_int(v).ok_or_else(|| {
                py_fault(
                    "TypeError",
                    format!(
                        "'>' not supported between instances of 'int' and '{}'",
                        py_type_of(v)
                    ),
                )
            })?),
        };
        Ok(Json::Object(
            build_references_in(c, b.id, limit, lazy).await?,
        ))
    }

    /// `deleteBuild(build, strict=True, min_ref_age=604800)` (admin): marks
    /// an unreferenced build DELETED and removes its files. None for a
    /// build already deleted; False (or, strict, a fault) when referenced.
    pub async fn delete(
        &self,
        caller: &Caller,
        info: &Json,
        strict: bool,
        min_ref_age: &Json,
    ) -> Result<Json> {
        caller.assert_perm("admin")?;
        let mut tx = self.0.db().begin().await?;
        let b = get_build_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        if b.state == BuildState::Deleted as i64 {
            return Ok(Json::Null);
        }
        let refs = build_references_in(&*tx, b.id, Some(10), true).await?;
        let refused = |msg: String| -> Result<Json> {
            if strict {
                Err(Error::Generic(msg))
            } else {
                Ok(Json::Bool(false))
            }
        };
        let nonempty = |k: &str| refs.get(k).is_some_and(truthy);
        if nonempty("tags") {
            return refused(format!(
                "Cannot delete build, tagged: {}",
                py_repr(&refs["tags"])
            ));
        }
        if nonempty("rpms") {
            return refused(format!(
                "Cannot delete build, used in buildroots: {}",
                py_repr(&refs["rpms"])
            ));
        }
        if nonempty("archives") {
            return refused(format!(
                "Cannot delete build, used in archive buildroots: {}",
                py_repr(&refs["archives"])
            ));
        }
        if nonempty("component_of") {
            return refused(format!(
                "Cannot delete build, used as component of: {}",
                py_repr(&refs["component_of"])
            ));
        }
        if let Some(last) = refs.get("last_used").and_then(Json::as_f64) {
            let min_age = match min_ref_age {
                Json::Number(n) => n.as_f64().unwrap_or_default(),
                Json::Bool(b) => *b as i64 as f64,
                other => {
                    return Err(py_fault(
                        "TypeError",
                        format!(
                            "'<' not supported between instances of 'float' and '{}'",
                            py_type_of(other)
                        ),
                    ))
                }
            };
            let age = chrono::Utc::now().timestamp_micros() as f64 / 1e6 - last;
            if age < min_age {
                return refused("Cannot delete build, used in recent buildroot".into());
            }
        }
        // the files are set aside first and removed only after the commit;
        // any failure puts them back
        let trash = set_aside_build_files(&*tx, &self.0.pathinfo(), &b).await?;
        let res = async {
            delete_build_in(&mut tx, caller, &b).await?;
            tx.commit().await
        };
        if let Err(e) = res.await {
            trash.restore();
            return Err(e);
        }
        trash.empty();
        tracing::warn!(
            build = %b.nvr,
            user = %caller.session()?.user_name,
            "build deleted"
        );
        Ok(Json::Bool(true))
    }

    /// `resetBuild(build)` (admin): strips a build to its `build` row
    /// (CANCELED, no task, default volume) so it can be imported again.
    pub async fn reset(&self, caller: &Caller, info: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let Some(b) = get_build_in(&*tx, info, false).await? else {
            return Ok(());
        };
        // the files are set aside (where they are: the old volume) first
        // and removed only after the commit; any failure puts them back
        let trash = set_aside_build_files(&*tx, &self.0.pathinfo(), &b).await?;
        let res = async {
            reset_build_rows_in(&tx, b.id).await?;
            tx.commit().await
        };
        if let Err(e) = res.await {
            trash.restore();
            return Err(e);
        }
        trash.empty();
        Ok(())
    }
}

/// The rows upstream's `reset_build` erases or resets, inside the caller's
/// transaction: the build keeps only its `build` row (CANCELED, no task,
/// default volume).
async fn reset_build_rows_in(tx: &Tx, build_id: i64) -> Result<()> {
    let by_rpm = "rpm_id IN (SELECT id FROM rpminfo WHERE build_id = ?)";
    let by_archive = "IN (SELECT id FROM archiveinfo WHERE build_id = ?)";
    let deletes = [
        format!("DELETE FROM rpmsigs WHERE {by_rpm}"),
        format!("DELETE FROM buildroot_listing WHERE {by_rpm}"),
        format!("DELETE FROM archive_rpm_components WHERE {by_rpm}"),
        format!("DELETE FROM rpm_checksum WHERE {by_rpm}"),
        "DELETE FROM rpminfo WHERE build_id = ?".to_string(),
        format!("DELETE FROM maven_archives WHERE archive_id {by_archive}"),
        format!("DELETE FROM win_archives WHERE archive_id {by_archive}"),
        format!("DELETE FROM image_archives WHERE archive_id {by_archive}"),
        format!("DELETE FROM buildroot_archives WHERE archive_id {by_archive}"),
        format!("DELETE FROM archive_rpm_components WHERE archive_id {by_archive}"),
        format!("DELETE FROM archive_components WHERE archive_id {by_archive}"),
        format!("DELETE FROM archive_components WHERE component_id {by_archive}"),
        "DELETE FROM archiveinfo WHERE build_id = ?".to_string(),
        "DELETE FROM maven_builds WHERE build_id = ?".to_string(),
        "DELETE FROM win_builds WHERE build_id = ?".to_string(),
        "DELETE FROM image_builds WHERE build_id = ?".to_string(),
        "DELETE FROM build_types WHERE build_id = ?".to_string(),
        // upstream erases the tag history too (not a revoke)
        "DELETE FROM tag_listing WHERE build_id = ?".to_string(),
    ];
    for sql in &deletes {
        exec(&**tx, sql, params![build_id]).await?;
    }
    exec(
        &**tx,
        "UPDATE build SET state = ?, task_id = NULL, volume_id = 0 WHERE id = ?",
        params![BuildState::Canceled as i64, build_id],
    )
    .await?;
    Ok(())
}

impl Builds<'_> {
    /// `setBuildOwner(build, user)` (admin).
    pub async fn set_owner(&self, caller: &Caller, info: &Json, user: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let b = get_build_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        let u = Users::get_in(&*tx, caller, user, true, false, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such user: {}", py_str(user))))?;
        exec(
            &*tx,
            "UPDATE build SET owner = ? WHERE id = ?",
            params![u.id, b.id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `setBuildTimestamp(build, ts)` (admin): the completion time.
    pub async fn set_timestamp(&self, caller: &Caller, info: &Json, ts: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let b = get_build_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        let ts = timestamp_arg(ts)?;
        exec(
            &*tx,
            "UPDATE build SET completion_time = ? WHERE id = ?",
            params![to_datetime(ts), b.id],
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// `getVolume(volume, strict=False)`.
    pub async fn get_volume(&self, info: &Json, strict: bool) -> Result<Option<VolumeInfo>> {
        let v = lookup_volume_in(self.0.db().conn(), info, false).await?;
        if v.is_none() && strict {
            return Err(Error::Generic(format!("No such volume: {}", py_str(info))));
        }
        Ok(v)
    }

    /// `listVolumes()`.
    pub async fn list_volumes(&self) -> Result<Vec<VolumeInfo>> {
        list_volumes_in(self.0.db().conn()).await
    }

    /// `addVolume(name, strict=True)` (admin): its directory
    /// (`topdir/vol/NAME`) must exist already.
    pub async fn add_volume(
        &self,
        caller: &Caller,
        name: &Json,
        strict: bool,
    ) -> Result<VolumeInfo> {
        caller.assert_perm("admin")?;
        let name = self.0.config().names.internal(name)?.to_string();
        // the name is a directory below topdir/vol
        check_component("volume name", &name)?;
        let voldir = self.0.pathinfo().volumedir(Some(&name));
        if !voldir.is_dir() {
            return Err(Error::generic("please create the volume directory first"));
        }
        let tx = self.0.db().begin().await?;
        let key = Json::from(name.clone());
        if strict && lookup_volume_in(&*tx, &key, false).await?.is_some() {
            return Err(Error::Generic(format!("volume {name} already exists")));
        }
        let v = lookup_name(&*tx, "volume", &key, false, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such volume: {name}")))?;
        tx.commit().await?;
        Ok(v)
    }

    /// `removeVolume(volume)` (admin): only a volume no build is on.
    pub async fn remove_volume(&self, caller: &Caller, info: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let tx = self.0.db().begin().await?;
        let v = lookup_volume_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such volume: {}", py_str(info))))?;
        if fetch_opt(
            &*tx,
            "SELECT id FROM build WHERE volume_id = ? LIMIT 1",
            params![v.id],
        )
        .await?
        .is_some()
        {
            return Err(Error::Generic(format!(
                "volume {} has build references",
                v.name
            )));
        }
        exec(&*tx, "DELETE FROM volume WHERE id = ?", params![v.id]).await?;
        tx.commit().await?;
        Ok(())
    }

    /// `changeBuildVolume(build, volume, strict=True)` (admin): copies the
    /// build's directory to the volume, points the build there, removes
    /// the old copy and keeps a link on the default volume.
    pub async fn change_volume(
        &self,
        caller: &Caller,
        info: &Json,
        volume: &Json,
        strict: bool,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let user_id = caller.user_id()?;
        let pathinfo = self.0.pathinfo();
        let tx = self.0.db().begin().await?;
        let vol = lookup_volume_in(&*tx, volume, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such volume: {}", py_str(volume))))?;
        let b = get_build_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        commit_volume_move(tx, &pathinfo, &b, &vol, strict, user_id).await
    }

    /// `promoteBuild(build, force=False)`: a complete draft build takes its
    /// target release (`R,draft_ID` becomes `R`); its directory moves and
    /// a link stays at the draft's place. Answers the promoted build.
    pub async fn promote(&self, caller: &Caller, info: &Json, force: bool) -> Result<BuildInfo> {
        let user_id = caller.user_id()?;
        let pathinfo = self.0.pathinfo();
        let mut tx = self.0.db().begin().await?;
        let b = get_build_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        let refuse =
            |why: String| Error::Generic(format!("Cannot promote build {}. Reason: {why}", b.nvr));
        if !b.draft {
            return Err(refuse("Not a draft build".into()));
        }
        let state = b.state().map_or("?", |s| s.name());
        if state != "COMPLETE" {
            return Err(refuse(format!("state ({state}) is not COMPLETE.")));
        }
        let target_release = match b.release.split_once(',') {
            Some((r, rest)) if rest.starts_with("draft_") => r.to_string(),
            _ => {
                return Err(Error::Generic(format!(
                    "draft release: {} is not in valid format",
                    b.release
                )))
            }
        };
        let target = json!({"name": b.name, "version": b.version, "release": target_release});
        if let Some(old) = get_build_in(&*tx, &target, false).await? {
            return Err(refuse(format!(
                "Target build exists: {}(#{})",
                old.nvr, old.id
            )));
        }
        let data = json!({"build": b.id, "target_release": target_release, "user_id": user_id});
        self.0
            .policy()
            .assert_in(&*tx, caller, "draft_promotion", &data, force)
            .await?;
        exec(
            &*tx,
            "UPDATE build SET draft = ?, release = ?, promoter = ?, promotion_time = ? \
             WHERE id = ?",
            params![false, target_release.clone(), user_id, now(), b.id],
        )
        .await?;
        let new = get_build_in(&*tx, &Json::from(b.id), true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", b.id)))?;
        for tag_id in tags_of_build(&*tx, b.id).await? {
            set_tag_update_in(&mut tx, tag_id, TagUpdate::DraftPromotion, user_id).await?;
        }
        let oldpath = b.dir(&pathinfo);
        let newpath = new.dir(&pathinfo);
        if lexists(&newpath) {
            return Err(Error::Generic(format!(
                "Destination exists: {}",
                newpath.display()
            )));
        }
        if !lexists(&oldpath) {
            return Err(py_fault(
                "FileNotFoundError",
                format!(
                    "[Errno 2] No such file or directory: {}",
                    py_str_repr(&oldpath.display().to_string())
                ),
            ));
        }
        std::fs::rename(&oldpath, &newpath)?;
        let undo_move = || {
            if is_symlink(&oldpath) {
                let _ = std::fs::remove_file(&oldpath);
            }
            let _ = std::fs::rename(&newpath, &oldpath);
        };
        let base = dir_on(&pathinfo, &new, DEFAULT_VOLUME, None);
        let link = relpath(&base, oldpath.parent().unwrap_or(Path::new("/")));
        // the default-volume link made for the promoted build, if any
        let mut made_link = None;
        let res = async {
            made_link = ensure_volume_symlink(&pathinfo, &new)?;
            std::os::unix::fs::symlink(&link, &oldpath)?;
            // the release changed: the volume policy may want it elsewhere
            match self.volume_policy_in(&*tx, caller, &new, false).await? {
                Some(vol) if vol.id != new.volume_id => {
                    set_build_volume_in(&mut tx, &pathinfo, &new, &vol, true, user_id).await
                }
                _ => Ok(None),
            }
        };
        let res = res.await;
        let remove_made_link = |made: &Option<PathBuf>| {
            if let Some(l) = made {
                if is_symlink(l) {
                    let _ = std::fs::remove_file(l);
                }
            }
        };
        let mv = match res {
            Ok(mv) => mv,
            Err(e) => {
                remove_made_link(&made_link);
                undo_move();
                return Err(e);
            }
        };
        if let Err(e) = tx.commit().await {
            if let Some(mv) = &mv {
                mv.undo();
            }
            remove_made_link(&made_link);
            undo_move();
            return Err(e);
        }
        if let Some(mv) = mv {
            mv.finish(&pathinfo)?;
        }
        Ok(new)
    }

    /// `applyVolumePolicy(build, strict=False)` (admin): moves the build
    /// to the volume the `volume` policy picks, as `changeBuildVolume`
    /// does. Without a usable answer the build stays where it is, or with
    /// `strict` the call fails.
    pub async fn apply_volume_policy(
        &self,
        caller: &Caller,
        info: &Json,
        strict: bool,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let user_id = caller.user_id()?;
        let pathinfo = self.0.pathinfo();
        let tx = self.0.db().begin().await?;
        let b = get_build_in(&*tx, info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        let Some(vol) = self.volume_policy_in(&*tx, caller, &b, strict).await? else {
            return Ok(());
        };
        if vol.id == b.volume_id {
            return Ok(());
        }
        commit_volume_move(tx, &pathinfo, &b, &vol, true, user_id).await
    }

    /// Upstream's `check_volume_policy(data, strict)` for a build: the
    /// volume the `volume` policy picks, or None when it picks nothing
    /// usable (a failing policy or an unknown volume is logged and
    /// ignored; with `strict` each is an error).
    async fn volume_policy_in<C: ConnectionTrait + Sync>(
        &self,
        c: &C,
        caller: &Caller,
        b: &BuildInfo,
        strict: bool,
    ) -> Result<Option<VolumeInfo>> {
        // TODO(issue 4): upstream adds the build task's policy data
        // (policy_data_from_task) when the build has a task.
        let data = json!({"build": b.to_json()});
        let env = crate::policy::HubEnv::new(c, caller);
        let action = match self.0.policy().policies().eval(&env, "volume", &data).await {
            Ok(a) => a,
            Err(e) => {
                tracing::error!(error = %e, "Volume policy error");
                if strict {
                    return Err(e);
                }
                None
            }
        };
        if let Some(name) = action {
            let vol = lookup_volume_in(c, &Json::from(name.clone()), false).await?;
            if vol.is_some() {
                return Ok(vol);
            }
            if strict {
                return Err(Error::Generic(format!(
                    "Policy returned no such volume: {name}"
                )));
            }
            tracing::error!(volume = %name, "Volume policy returned no such volume");
        }
        if strict {
            return Err(Error::generic("No volume policy match"));
        }
        tracing::warn!("No volume policy match");
        Ok(None)
    }

    /// `getBuildLogs(build)`: the files under a build's `data/logs`, as
    /// `{name, dir, path}` (path relative to topdir).
    pub async fn logs(&self, info: &Json) -> Result<Vec<Json>> {
        let b = get_build_in(self.0.db().conn(), info, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(info))))?;
        let pathinfo = self.0.pathinfo();
        let logdir = pathinfo.build_logs(b.path());
        let reldir = relpath(&logdir, pathinfo.topdir());
        if !logdir.exists() {
            return Ok(vec![]);
        }
        if !logdir.is_dir() {
            return Err(Error::Generic(format!(
                "Not a directory: {}",
                logdir.display()
            )));
        }
        let mut out = vec![];
        walk_logs(&logdir, &logdir, &reldir, &mut out)?;
        Ok(out)
    }

    /// `getBuildType(buildInfo, strict=False)`: `{btype: typeinfo}` of a
    /// build (legacy maven/win/image rows win over `extra.typeinfo`).
    pub async fn build_type(&self, info: &Json, strict: bool) -> Result<Json> {
        let c = self.0.db().conn();
        let (id, extra) = match info {
            Json::Object(m) if m.contains_key("extra") && m.contains_key("id") => {
                let id = py_int(&m["id"])
                    .ok_or_else(|| py_fault("TypeError", "%i format: a real number is required"))?;
                (id, m["extra"].clone())
            }
            _ => match get_build_in(c, info, strict).await? {
                Some(b) => (b.id, b.extra.unwrap_or(Json::Null)),
                None => return Ok(Json::Null),
            },
        };
        let mut ret = Map::new();
        let rows = fetch_all(
            c,
            "SELECT btype.name FROM btype JOIN build_types ON build_types.btype_id = btype.id \
             WHERE build_types.build_id = ? ORDER BY btype.id",
            params![id],
        )
        .await?;
        let typeinfo = extra.get("typeinfo");
        for r in rows {
            let name = r.string("name")?;
            let v = typeinfo
                .and_then(|t| t.get(&name))
                .cloned()
                .unwrap_or(Json::Null);
            ret.insert(name, v);
        }
        for (kind, name) in [
            (TypedBuild::Maven, "maven"),
            (TypedBuild::Win, "win"),
            (TypedBuild::Image, "image"),
        ] {
            if let Some(v) = get_typed_build_in(c, kind, &Json::from(id), false).await? {
                ret.insert(name.into(), v);
            }
        }
        Ok(Json::Object(ret))
    }
}

/// Upstream's walk of a logs directory (`os.walk`, top-down): regular
/// files only, links and other entries skipped; entries by name.
fn walk_logs(top: &Path, dir: &Path, reldir: &Path, out: &mut Vec<Json>) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<std::io::Result<_>>()?;
    entries.sort_by_key(|e| e.file_name());
    let sub = relpath(dir, top);
    let mut subdirs = vec![];
    for e in entries {
        let ft = e.file_type()?;
        let fname = e.file_name().to_string_lossy().into_owned();
        if ft.is_dir() {
            subdirs.push(e.path());
        } else if ft.is_symlink() {
            if e.path().is_dir() {
                // os.walk lists it as a directory and does not follow it
                continue;
            }
            tracing::warn!(path = %e.path().display(), "Symlink under logdir");
        } else if !ft.is_file() {
            tracing::warn!(path = %e.path().display(), "Non-regular file under logdir");
        } else {
            out.push(json!({
                "name": fname,
                "dir": sub.display().to_string(),
                "path": format!("{}/{}/{}", reldir.display(), sub.display(), fname),
            }));
        }
    }
    for d in subdirs {
        walk_logs(top, &d, reldir, out)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nvr_parsing_as_upstream() {
        assert_eq!(
            parse_nvr("bash-5.2-1.fc40").unwrap(),
            ("bash".into(), "5.2".into(), "1.fc40".into(), "".into())
        );
        assert_eq!(
            parse_nvr("1:foo-bar-1.0-2").unwrap(),
            ("foo-bar".into(), "1.0".into(), "2".into(), "1".into())
        );
        for bad in ["bash", "bash-5.2", "bash-5.2-", "bash--1"] {
            assert_eq!(
                parse_nvr(bad).unwrap_err().to_string(),
                format!("invalid format: {bad}")
            );
        }
        assert_eq!(
            parse_nvra("bash-5.2-1.fc40.x86_64.rpm").unwrap().4,
            "x86_64".to_string()
        );
        assert!(parse_nvra("bash-5.2-1").is_err());
    }
}
