//! Buildroots: where a build ran. A `buildroot` row (type, container,
//! content generator), for builders' own roots a `standard_buildroot` row
//! (host, repo, task, state, create/retire events), and the RPMs installed
//! in it (`buildroot_listing`).

use super::query_opts::{Columns, QueryOpts};
use super::tasks::task_id_arg;
use super::{Caller, Hub};
use crate::db::{exec, fetch_all, fetch_opt, RowExt, Tx, Value, Where};
use crate::error::{Error, Result};
use crate::params;
use crate::util::{format_time, py_repr, py_str};
use serde_json::{json, Map, Value as Json};

/// `koji.BR_STATES`.
pub const BR_STATES: [(&str, i64); 4] =
    [("INIT", 0), ("WAITING", 1), ("BUILDING", 2), ("EXPIRED", 3)];
/// `koji.BR_TYPES['STANDARD']`.
pub const BR_STANDARD: i64 = 0;

pub struct Buildroots<'a>(pub(super) &'a Hub);

impl Hub {
    pub fn buildroots(&self) -> Buildroots<'_> {
        Buildroots(self)
    }
}

const SELECT: &str = "SELECT buildroot.id, buildroot.br_type, buildroot.cg_id, \
     content_generator.name AS cg_name, buildroot.cg_version, buildroot.container_arch, \
     buildroot.container_type, buildroot.host_os, buildroot.host_arch, buildroot.extra, \
     standard_buildroot.state, standard_buildroot.task_id, host.id AS host_id, \
     host.name AS host_name, repo.id AS repo_id, repo.state AS repo_state, tag.id AS tag_id, \
     tag.name AS tag_name, create_events.id AS create_event_id, \
     create_events.time AS create_event_time, retire_events.id AS retire_event_id, \
     retire_events.time AS retire_event_time, repo_create.id AS repo_create_event_id, \
     repo_create.time AS repo_create_event_time \
     FROM buildroot \
     LEFT JOIN standard_buildroot ON standard_buildroot.buildroot_id = buildroot.id \
     LEFT JOIN content_generator ON buildroot.cg_id = content_generator.id \
     LEFT JOIN host ON host.id = standard_buildroot.host_id \
     LEFT JOIN repo ON repo.id = standard_buildroot.repo_id \
     LEFT JOIN tag ON tag.id = repo.tag_id \
     LEFT JOIN events AS create_events ON create_events.id = standard_buildroot.create_event \
     LEFT JOIN events AS retire_events ON standard_buildroot.retire_event = retire_events.id \
     LEFT JOIN events AS repo_create ON repo_create.id = repo.create_event";

const KEYS: &[&str] = &[
    "arch",
    "br_type",
    "cg_id",
    "cg_name",
    "cg_version",
    "container_arch",
    "container_type",
    "create_event_id",
    "create_event_time",
    "create_ts",
    "extra",
    "host_arch",
    "host_id",
    "host_name",
    "host_os",
    "id",
    "repo_create_event_id",
    "repo_create_event_time",
    "repo_id",
    "repo_state",
    "retire_event_id",
    "retire_event_time",
    "retire_ts",
    "state",
    "tag_id",
    "tag_name",
    "task_id",
];

fn row_map(r: &sea_orm::QueryResult) -> Result<Json> {
    let time = |col: &str| -> Result<(Json, Json)> {
        Ok(match r.ts(col)? {
            Some(t) => (Json::from(format_time(t)), Json::from(t)),
            None => (Json::Null, Json::Null),
        })
    };
    let (cet, cts) = time("create_event_time")?;
    let (ret, rts) = time("retire_event_time")?;
    let (rcet, _) = time("repo_create_event_time")?;
    let extra = match r.opt_string("extra")? {
        None => Json::Null,
        Some(s) => serde_json::from_str(&s)
            .map_err(|_| Error::Generic(format!("Invalid extra data: {}", py_repr(&json!(s)))))?,
    };
    let arch = r.opt_string("container_arch")?;
    let mut m = Map::new();
    m.insert("arch".into(), Json::from(arch.clone()));
    m.insert("br_type".into(), Json::from(r.int("br_type")?));
    m.insert("cg_id".into(), Json::from(r.opt_int("cg_id")?));
    m.insert("cg_name".into(), Json::from(r.opt_string("cg_name")?));
    m.insert("cg_version".into(), Json::from(r.opt_string("cg_version")?));
    m.insert("container_arch".into(), Json::from(arch));
    m.insert(
        "container_type".into(),
        Json::from(r.opt_string("container_type")?),
    );
    m.insert(
        "create_event_id".into(),
        Json::from(r.opt_int("create_event_id")?),
    );
    m.insert("create_event_time".into(), cet);
    m.insert("create_ts".into(), cts);
    m.insert("extra".into(), extra);
    m.insert("host_arch".into(), Json::from(r.opt_string("host_arch")?));
    m.insert("host_id".into(), Json::from(r.opt_int("host_id")?));
    m.insert("host_name".into(), Json::from(r.opt_string("host_name")?));
    m.insert("host_os".into(), Json::from(r.opt_string("host_os")?));
    m.insert("id".into(), Json::from(r.int("id")?));
    m.insert(
        "repo_create_event_id".into(),
        Json::from(r.opt_int("repo_create_event_id")?),
    );
    m.insert("repo_create_event_time".into(), rcet);
    m.insert("repo_id".into(), Json::from(r.opt_int("repo_id")?));
    m.insert("repo_state".into(), Json::from(r.opt_int("repo_state")?));
    m.insert(
        "retire_event_id".into(),
        Json::from(r.opt_int("retire_event_id")?),
    );
    m.insert("retire_event_time".into(), ret);
    m.insert("retire_ts".into(), rts);
    m.insert("state".into(), Json::from(r.opt_int("state")?));
    m.insert("tag_id".into(), Json::from(r.opt_int("tag_id")?));
    m.insert("tag_name".into(), Json::from(r.opt_string("tag_name")?));
    m.insert("task_id".into(), Json::from(r.opt_int("task_id")?));
    Ok(Json::Object(m))
}

/// Filters of `listBuildroots`.
#[derive(Debug, Default)]
pub struct ListBuildroots {
    pub host: Json,
    pub tag: Json,
    pub state: Json,
    pub rpm: Json,
    pub archive: Json,
    pub task: Json,
    pub buildroot: Json,
    pub repo: Json,
    pub query_opts: Json,
}

fn int_or_list(wh: &mut Where, col: &str, v: &Json) -> Result<()> {
    match v {
        Json::Array(a) => {
            if a.is_empty() {
                wh.and("1 = 0", vec![]);
            } else {
                let vals: Vec<Value> = a
                    .iter()
                    .map(|x| task_id_arg(x).map(Value::from))
                    .collect::<Result<_>>()?;
                let marks = vec!["?"; vals.len()].join(", ");
                wh.and(format!("{col} IN ({marks})"), vals);
            }
        }
        other => {
            wh.and(format!("{col} = ?"), params![task_id_arg(other)?]);
        }
    }
    Ok(())
}

impl Buildroots<'_> {
    /// `listBuildroots(hostID=None, tagID=None, state=None, rpmID=None,
    /// archiveID=None, taskID=None, buildrootID=None, repoID=None,
    /// queryOpts=None)`.
    pub async fn list(&self, f: &ListBuildroots) -> Result<Json> {
        let qo = QueryOpts::parse(&f.query_opts)?;
        let mut wh = Where::new();
        if !f.buildroot.is_null() {
            int_or_list(&mut wh, "buildroot.id", &f.buildroot)?;
        }
        if !f.host.is_null() {
            wh.and("host.id = ?", params![task_id_arg(&f.host)?]);
        }
        if !f.tag.is_null() {
            wh.and("tag.id = ?", params![task_id_arg(&f.tag)?]);
        }
        if !f.state.is_null() {
            int_or_list(&mut wh, "standard_buildroot.state", &f.state)?;
        }
        if !f.rpm.is_null() {
            wh.and(
                "buildroot.id IN (SELECT buildroot_id FROM buildroot_listing WHERE rpm_id = ?)",
                params![task_id_arg(&f.rpm)?],
            );
        }
        if !f.archive.is_null() {
            wh.and(
                "buildroot.id IN (SELECT buildroot_id FROM buildroot_archives WHERE archive_id = ?)",
                params![task_id_arg(&f.archive)?],
            );
        }
        if !f.task.is_null() {
            wh.and(
                "standard_buildroot.task_id = ?",
                params![task_id_arg(&f.task)?],
            );
        }
        if crate::api::truthy(&f.repo) {
            wh.and(
                "standard_buildroot.repo_id = ?",
                params![task_id_arg(&f.repo)?],
            );
        }
        let rows = fetch_all(
            self.0.db().conn(),
            &format!("{SELECT}{} ORDER BY buildroot.id", wh.sql()),
            wh.params,
        )
        .await?;
        let out = rows.iter().map(row_map).collect::<Result<Vec<_>>>()?;
        qo.apply(out, &Columns::sorted(KEYS))
    }

    /// `getBuildroot(buildrootID, strict=False)`.
    pub async fn get(&self, id: &Json, strict: bool) -> Result<Json> {
        let n = task_id_arg(id)?;
        let rows = self
            .list(&ListBuildroots {
                buildroot: Json::from(n),
                ..Default::default()
            })
            .await?;
        match rows.as_array().and_then(|a| a.first()) {
            Some(r) => Ok(r.clone()),
            None if strict => Err(Error::Generic(format!(
                "No such buildroot: {}",
                py_repr(id)
            ))),
            None => Ok(Json::Null),
        }
    }

    /// `getBuildrootListing(id)`: the RPMs installed in a buildroot.
    pub async fn listing(&self, id: &Json) -> Result<Vec<Json>> {
        let c = self.0.db().conn();
        let id = task_id_arg(id)?;
        if fetch_opt(c, "SELECT id FROM buildroot WHERE id = ?", params![id])
            .await?
            .is_none()
        {
            return Err(Error::Generic(format!("no buildroot with ID: {id}")));
        }
        let rows = fetch_all(
            c,
            "SELECT buildroot_listing.rpm_id, buildroot_listing.is_update, rpminfo.name, \
             rpminfo.version, rpminfo.release, rpminfo.epoch, rpminfo.arch, rpminfo.build_id, \
             rpminfo.draft, external_repo.id AS external_repo_id, \
             external_repo.name AS external_repo_name FROM buildroot_listing \
             JOIN rpminfo ON rpminfo.id = buildroot_listing.rpm_id \
             JOIN external_repo ON external_repo.id = rpminfo.external_repo_id \
             WHERE buildroot_listing.buildroot_id = ? ORDER BY buildroot_listing.rpm_id",
            params![id],
        )
        .await?;
        rows.iter()
            .map(|r| {
                Ok(json!({
                    "arch": r.string("arch")?,
                    "build_id": r.opt_int("build_id")?,
                    "draft": r.boolean("draft")?,
                    "epoch": r.opt_int("epoch")?,
                    "external_repo_id": r.int("external_repo_id")?,
                    "external_repo_name": r.string("external_repo_name")?,
                    "is_update": r.boolean("is_update")?,
                    "name": r.string("name")?,
                    "release": r.string("release")?,
                    "rpm_id": r.int("rpm_id")?,
                    "version": r.string("version")?,
                }))
            })
            .collect()
    }

    /// `host.newBuildRoot(repo, arch, task_id=None)`: a buildroot of this
    /// host for a task it holds; answers its id.
    pub async fn new_standard(
        &self,
        caller: &Caller,
        repo: &Json,
        arch: &Json,
        task: &Json,
    ) -> Result<i64> {
        let mut tx = self.0.db().begin().await?;
        let host = super::host_api::verify_host(&*tx, caller).await?;
        let task = match task {
            Json::Null => None,
            other => Some(task_id_arg(other)?),
        };
        if let Some(t) = task {
            super::host_api::assert_holds(&tx, host, t).await?;
        }
        let arch = super::tags::parse_arches_strict(arch)?;
        let repo = task_id_arg(repo)?;
        let event = tx.event().await?;
        let id = crate::db::fetch_one(
            &*tx,
            "INSERT INTO buildroot (br_type, container_arch, container_type) VALUES (?, ?, ?) \
             RETURNING id",
            params![BR_STANDARD, arch, "chroot"],
        )
        .await?
        .int("id")?;
        exec(
            &*tx,
            "INSERT INTO standard_buildroot (buildroot_id, host_id, repo_id, task_id, \
             create_event, state) VALUES (?, ?, ?, ?, ?, ?)",
            params![id, host, repo, task, event, 0i64],
        )
        .await
        .map_err(|e| Error::Generic(format!("cannot create buildroot: {e}")))?;
        tx.commit().await?;
        Ok(id)
    }

    /// `host.setBuildRootState(brootid, state, task_id=None)`.
    pub async fn set_state(
        &self,
        caller: &Caller,
        id: &Json,
        state: &Json,
        task: &Json,
    ) -> Result<()> {
        let mut tx = self.0.db().begin().await?;
        let (id, _host) = self.own(&tx, caller, id, task).await?;
        let state = match state {
            Json::String(s) => BR_STATES
                .iter()
                .find(|(n, _)| n == s)
                .map(|(_, v)| *v)
                .ok_or_else(|| Error::Generic(format!("Invalid buildroot state: {s}")))?,
            other => task_id_arg(other)?,
        };
        if state == 0 {
            return Err(Error::generic("Cannot change buildroot state to INIT"));
        }
        let cur = br_state(&tx, id).await?;
        if cur == Some(3) {
            if state == 3 {
                return Ok(());
            }
            return Err(Error::Generic(format!("buildroot {id} is EXPIRED")));
        }
        if state == 3 {
            let ev = tx.event().await?;
            exec(
                &*tx,
                "UPDATE standard_buildroot SET state = ?, retire_event = ? WHERE buildroot_id = ?",
                params![state, ev, id],
            )
            .await?;
        } else {
            exec(
                &*tx,
                "UPDATE standard_buildroot SET state = ? WHERE buildroot_id = ?",
                params![state, id],
            )
            .await?;
        }
        tx.commit().await
    }

    /// `host.setBuildRootList(brootid, rpmlist, task_id=None)` (INIT
    /// roots) and `host.updateBuildRootList(...)` (BUILDING roots, entries
    /// marked as updates).
    pub async fn set_list(
        &self,
        caller: &Caller,
        id: &Json,
        rpmlist: &Json,
        task: &Json,
        update: bool,
    ) -> Result<()> {
        let tx = self.0.db().begin().await?;
        let (id, _host) = self.own(&tx, caller, id, task).await?;
        let want = if update { 2 } else { 0 };
        let cur = br_state(&tx, id).await?;
        if cur != Some(want) {
            return Err(Error::Generic(format!(
                "buildroot {id} in wrong state {}",
                cur.map(|s| s.to_string()).unwrap_or_else(|| "None".into())
            )));
        }
        let entries = match rpmlist {
            Json::Array(a) => a.clone(),
            other => {
                return Err(Error::Parameter(format!(
                    "Invalid rpm list: {}",
                    py_str(other)
                )))
            }
        };
        let mut ids = vec![];
        for e in &entries {
            let rpm = crate::hub::rpms::get_rpm_info_in(&*tx, e, true)
                .await?
                .ok_or_else(|| Error::Generic(format!("No such rpm: {}", py_str(e))))?;
            ids.push(rpm.id);
        }
        ids.sort_unstable();
        ids.dedup();
        let have: std::collections::HashSet<i64> = fetch_all(
            &*tx,
            "SELECT rpm_id FROM buildroot_listing WHERE buildroot_id = ?",
            params![id],
        )
        .await?
        .iter()
        .map(|r| r.int("rpm_id"))
        .collect::<Result<_>>()?;
        for rpm in ids {
            if have.contains(&rpm) {
                if update {
                    continue;
                }
                return Err(Error::Generic(format!(
                    "rpm {rpm} already listed in buildroot {id}"
                )));
            }
            exec(
                &*tx,
                "INSERT INTO buildroot_listing (buildroot_id, rpm_id, is_update) VALUES (?, ?, ?)",
                params![id, rpm, update],
            )
            .await?;
        }
        tx.commit().await
    }

    /// The buildroot id, checked to be this host's (and its task's).
    async fn own(&self, tx: &Tx, caller: &Caller, id: &Json, task: &Json) -> Result<(i64, i64)> {
        let host = super::host_api::verify_host(&**tx, caller).await?;
        if !task.is_null() {
            super::host_api::assert_holds(tx, host, task_id_arg(task)?).await?;
        }
        let id = task_id_arg(id)?;
        let r = fetch_opt(
            &**tx,
            "SELECT host_id FROM standard_buildroot WHERE buildroot_id = ?",
            params![id],
        )
        .await?
        .ok_or_else(|| Error::Generic(format!("no buildroot with ID: {id}")))?;
        if r.int("host_id")? != host {
            return Err(Error::ActionNotAllowed(format!(
                "Host {host} doesn't own buildroot {id}"
            )));
        }
        Ok((id, host))
    }
}

async fn br_state(tx: &Tx, id: i64) -> Result<Option<i64>> {
    Ok(fetch_opt(
        &**tx,
        "SELECT state FROM standard_buildroot WHERE buildroot_id = ?",
        params![id],
    )
    .await?
    .map(|r| r.opt_int("state"))
    .transpose()?
    .flatten())
}
