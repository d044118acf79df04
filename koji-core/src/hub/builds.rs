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

use super::packages::new_package_in;
use super::users::Users;
use super::{Caller, Hub};
use crate::api::py_type_of;
use crate::db::{backend_of, exec, fetch_opt, Backend, RowExt, Tx};
use crate::error::{Error, Result};
use crate::model::BuildState;
use crate::params;
use crate::pathinfo::{BuildPath, PathInfo};
use crate::util::{format_time, py_repr, py_str};
use sea_orm::{ConnectionTrait, QueryResult};
use serde::Serialize;
use serde_json::{Map, Value as Json};

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

/// The columns of [`BuildInfo`], for `get_build_in` and the queries that
/// return whole builds. Joins: `events`, `package`, `volume`, `users`, the
/// promoter and the content generator.
pub const BUILD_SELECT: &str = "SELECT build.id, build.version, build.release, build.epoch, \
     build.draft, build.state, build.completion_time, build.promotion_time, build.start_time, \
     build.task_id, events.id AS creation_event_id, events.time AS creation_time, \
     package.id AS package_id, package.name AS package_name, volume.id AS volume_id, \
     volume.name AS volume_name, users.id AS owner_id, users.name AS owner_name, \
     promoter.id AS promoter_id, promoter.name AS promoter_name, build.cg_id, \
     content_generator.name AS cg_name, build.source, build.extra \
     FROM build JOIN events ON build.create_event = events.id \
     JOIN package ON build.pkg_id = package.id \
     JOIN volume ON build.volume_id = volume.id \
     JOIN users ON build.owner = users.id \
     LEFT JOIN users AS promoter ON build.promoter = promoter.id \
     LEFT JOIN content_generator ON build.cg_id = content_generator.id";

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
    let row = fetch_opt(c, &format!("{BUILD_SELECT} WHERE build.id = ?"), params![id]).await?;
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

fn now() -> chrono::DateTime<chrono::Utc> {
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
pub async fn new_build_in(tx: &mut Tx, caller: &Caller, data: &NewBuild, strict: bool) -> Result<i64> {
    let (pkg_id, name) = match data.pkg_id {
        Some(id) => {
            let r = fetch_opt(&**tx, "SELECT name FROM package WHERE id = ?", params![id])
                .await?
                .ok_or_else(|| Error::Generic(format!("No such package ID: {id}")))?;
            (id, r.string("name")?)
        }
        None => {
            let name = match &data.name {
                Some(n) if crate::api::truthy(n) => n.clone(),
                _ => return Err(Error::generic("No name or package id provided for build")),
            };
            let id = new_package_in(tx, &name, false).await?;
            (id, py_str(&name))
        }
    };
    let owner = match &data.owner {
        Some(o) if crate::api::truthy(o) => {
            Users::get_in(&**tx, caller, o, true, false, false)
                .await?
                .map(|u| u.id)
                .ok_or_else(|| Error::Generic(format!("No such user: {}", py_repr(o))))?
        }
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
    let nvr_map = serde_json::json!({"name": name, "version": data.version, "release": data.release});
    if let Some(old) = get_build_in(&**tx, &nvr_map, false).await? {
        let old_str = format!("{} (id={})", old.nvr, old.id);
        if data.draft {
            return Err(Error::Generic(format!("Target build already exists: {old_str}")));
        }
        if strict {
            return Err(Error::Generic(format!("Existing build found: {old_str}")));
        }
        recycle_build_in(tx, &old, data, state).await?;
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
            exec(&**tx, "UPDATE build SET cg_id = ? WHERE id = ?", params![cg, old.id]).await?;
        }
        return Ok(old.id);
    }
    let event = tx.event().await?;
    let mut release = data.release.clone();
    let mut explicit_id = None;
    if data.draft {
        let id = next_build_id(tx).await?;
        release = draft_release(&data.release, id);
        let draft_nvr = serde_json::json!({"name": name, "version": data.version, "release": release});
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
async fn recycle_build_in(
    tx: &mut Tx,
    old: &BuildInfo,
    data: &NewBuild,
    state: BuildState,
) -> Result<()> {
    match old.state() {
        Some(BuildState::Building) => {
            if state == BuildState::Building && data.task_id == old.task_id {
                return Ok(());
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
        let col = if table == "tag_listing" { "tag_id" } else { "id" };
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
    Ok(())
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
            other => {
                return Err(Error::Generic(format!(
                    "Invalid epoch: {}",
                    py_repr(other)
                )))
            }
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
        let id = new_build_in(&mut tx, caller, &data, false).await?;
        tx.commit().await?;
        Ok(id)
    }
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
