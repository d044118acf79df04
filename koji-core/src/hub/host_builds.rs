//! What build tasks ask of the hub: the builder's `host.initBuild`,
//! `host.completeBuild`, `host.failBuild`, `host.moveBuildToScratch`,
//! `host.tagBuild`, and the user calls that create tagging tasks
//! (`tagBuild`, `moveBuild`, `moveAllBuilds`).
//!
//! `completeBuild` imports the uploaded SRPM, RPMs and logs (paths below
//! `<topdir>/work`) into the BUILDING build in one transaction: files move
//! into the build only when every check passes, and move back if the
//! transaction does not commit.

use super::builds::{get_build_in, new_build_in, BuildInfo, NewBuild};
use super::host_api::{assert_holds, verify_host};
use super::notifications::build_notification_in;
use super::rpms::{import_rpm_in, move_and_symlink, ImportedRpm};
use super::tasks::{make_task_in, task_id_arg, TaskOpts};
use super::{Caller, Hub};
use crate::db::{exec, fetch_opt, RowExt, Tx};
use crate::error::{Error, Result};
use crate::model::BuildState;
use crate::params;
use crate::util::{py_repr, py_str};
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

/// The owner of a task as a caller (whose permissions and policies apply
/// to what the task does, as upstream checks them for the task owner).
async fn owner_caller(tx: &Tx, task: i64) -> Result<Caller> {
    let r = fetch_opt(
        &**tx,
        "SELECT users.id, users.name, users.usertype FROM task JOIN users ON users.id = task.owner \
         WHERE task.id = ?",
        params![task],
    )
    .await?
    .ok_or_else(|| Error::Generic(format!("No such task: {task}")))?;
    let user_id = r.int("id")?;
    let perms = super::users::perms_of(&**tx, user_id, true)
        .await?
        .into_iter()
        .map(|(p, _)| p)
        .collect();
    Ok(Caller::acting_as(
        user_id,
        &r.string("name")?,
        r.int("usertype")?,
        perms,
    ))
}

/// A path a builder gives, relative to `<topdir>/work`: no `..`, not
/// absolute, and it must exist.
pub(crate) fn work_file(work: &Path, rel: &Json) -> Result<PathBuf> {
    let rel = match rel {
        Json::String(s) => s.clone(),
        other => {
            return Err(Error::Parameter(format!(
                "Invalid type for value '{}': {}",
                py_str(other),
                crate::util::py_class(other)
            )))
        }
    };
    let p = Path::new(&rel);
    if p.is_absolute()
        || p.components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(Error::Generic(format!("Invalid upload path: {rel}")));
    }
    let full = work.join(p);
    if !full.exists() {
        return Err(Error::Generic(format!("No such file: {}", full.display())));
    }
    Ok(full)
}

fn str_list(v: &Json, what: &str) -> Result<Vec<Json>> {
    match v {
        Json::Null => Ok(vec![]),
        Json::Array(a) => Ok(a.clone()),
        other => Err(Error::Parameter(format!(
            "Invalid type for {what}: {}",
            py_repr(other)
        ))),
    }
}

/// Keeps the first of RPMs with the same file name (a noarch package
/// built on several arches; upstream's `check_noarch_rpms` also compares
/// them with rpmdiff).
fn dedup_noarch(rpms: Vec<Json>) -> Vec<Json> {
    let mut seen = std::collections::HashSet::new();
    rpms.into_iter()
        .filter(|r| {
            let name = py_str(r);
            let base = name.rsplit('/').next().unwrap_or(&name).to_string();
            !base.ends_with(".noarch.rpm") || seen.insert(base)
        })
        .collect()
}

/// The arguments of `host.completeBuild`.
#[derive(Debug, Clone, Default)]
pub struct CompleteBuild {
    pub task: Json,
    pub build: Json,
    /// Paths below `<topdir>/work`.
    pub srpm: Json,
    pub rpms: Json,
    /// RPM path → buildroot id.
    pub brmap: Json,
    /// `{arch or "": [log paths]}`.
    pub logs: Json,
}

impl super::host_api::HostApi<'_> {
    fn hub(&self) -> &Hub {
        self.0
    }

    /// `host.initBuild(data)`: the BUILDING build of a build task
    /// (`name`, `version`, `release`, `epoch`, `task_id`, optional
    /// `source`, `extra`, `draft`), owned by the task's owner.
    pub async fn init_build(&self, caller: &Caller, data: &Json) -> Result<i64> {
        let mut tx = self.hub().db().begin().await?;
        let host = verify_host(&*tx, caller).await?;
        let m = data
            .as_object()
            .ok_or_else(|| Error::Parameter("build data must be a map".into()))?;
        let task = task_id_arg(m.get("task_id").unwrap_or(&Json::Null))?;
        assert_holds(&tx, host, task).await?;
        let owner = owner_caller(&tx, task).await?;
        let field = |k: &str| -> Result<String> {
            match m.get(k) {
                Some(Json::String(s)) => Ok(s.clone()),
                Some(other) if !other.is_null() => Ok(py_str(other)),
                _ => Err(Error::Fault {
                    code: 1,
                    message: format!("<class 'KeyError'>: '{k}'"),
                }),
            }
        };
        let nb = NewBuild {
            name: Some(Json::from(field("name")?)),
            version: field("version")?,
            release: field("release")?,
            epoch: m.get("epoch").and_then(Json::as_i64),
            state: Some(BuildState::Building),
            task_id: Some(task),
            draft: m.get("draft").is_some_and(crate::api::truthy),
            source: m.get("source").and_then(Json::as_str).map(str::to_owned),
            extra: m.get("extra").filter(|e| !e.is_null()).cloned(),
            ..NewBuild::default()
        };
        let id = new_build_in(&mut tx, &self.0.config().names, &owner, &nb, false).await?;
        super::rpms::mark_rpm_build_in(&tx, id).await?;
        tx.commit().await?;
        Ok(id)
    }

    /// `host.failBuild(task_id, build_id)`: a BUILDING build of the task
    /// becomes FAILED.
    pub async fn fail_build(&self, caller: &Caller, task: &Json, build: &Json) -> Result<()> {
        let task = task_id_arg(task)?;
        let mut tx = self.hub().db().begin().await?;
        let host = verify_host(&*tx, caller).await?;
        assert_holds(&tx, host, task).await?;
        let b = get_build_in(&*tx, build, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(build))))?;
        if b.task_id != Some(task) {
            return Err(Error::ActionNotAllowed(format!(
                "build {} does not belong to task {task}",
                b.id
            )));
        }
        if b.state != BuildState::Building as i64 {
            let state = BuildState::from_i64(b.state).map_or("?", |s| s.name());
            return Err(Error::Generic(format!(
                "cannot update build {}, state: {state}",
                b.id
            )));
        }
        exec(
            &*tx,
            "UPDATE build SET state = ?, completion_time = ? WHERE id = ?",
            params![BuildState::Failed as i64, super::builds::now(), b.id],
        )
        .await?;
        build_notification_in(&mut tx, self.hub(), caller, task, b.id).await?;
        tx.commit().await?;
        // a notification task may have been made
        self.hub().task_events().notify();
        Ok(())
    }

    /// `host.completeBuild(task_id, build_id, srpm, rpms, brmap=None,
    /// logs=None)`: imports the task's output into its build, which
    /// becomes COMPLETE; answers the build.
    pub async fn complete_build(&self, caller: &Caller, req: &CompleteBuild) -> Result<Json> {
        let CompleteBuild {
            task,
            build,
            srpm,
            rpms,
            brmap,
            logs,
        } = req;
        let task = task_id_arg(task)?;
        let pathinfo = self.hub().pathinfo();
        let work = pathinfo.work(None);
        let mut tx = self.hub().db().begin().await?;
        let host = verify_host(&*tx, caller).await?;
        assert_holds(&tx, host, task).await?;
        let owner = owner_caller(&tx, task).await?;
        let rpms = dedup_noarch(str_list(rpms, "rpms")?);
        let mut files = vec![];
        for rel in std::iter::once(srpm).chain(rpms.iter()) {
            files.push((py_str(rel), work_file(&work, rel)?));
        }
        let brmap = match brmap {
            Json::Object(m) => m.clone(),
            Json::Null => Map::new(),
            other => {
                return Err(Error::Parameter(format!(
                    "Invalid type for brmap: {}",
                    py_repr(other)
                )))
            }
        };
        for br in brmap.values() {
            let id = task_id_arg(br)?;
            if fetch_opt(&*tx, "SELECT id FROM buildroot WHERE id = ?", params![id])
                .await?
                .is_none()
            {
                return Err(Error::Generic(format!("no buildroot with ID: {id}")));
            }
        }
        let b: BuildInfo = get_build_in(&*tx, build, true)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such build: {}", py_str(build))))?;
        if b.task_id != Some(task) {
            return Err(Error::Generic(format!(
                "Unable to complete build: task_id mismatch (build: {}, rpm: {task})",
                b.task_id.map_or("None".into(), |t| t.to_string())
            )));
        }
        if b.state != BuildState::Building as i64 {
            let state = BuildState::from_i64(b.state).map_or("?", |s| s.name());
            return Err(Error::Generic(format!(
                "Unable to complete build: state is {state}"
            )));
        }
        exec(
            &*tx,
            "UPDATE build SET state = ?, completion_time = ? WHERE id = ?",
            params![BuildState::Complete as i64, super::builds::now(), b.id],
        )
        .await?;
        let mut done: Vec<ImportedRpm> = vec![];
        let mut moved_logs: Vec<(PathBuf, PathBuf)> = vec![];
        let undo = |done: &[ImportedRpm], logs: &[(PathBuf, PathBuf)]| {
            for d in done.iter().rev() {
                d.undo();
            }
            for (from, to) in logs.iter().rev() {
                if std::fs::rename(to, from).is_err() {
                    tracing::error!(from = %from.display(), "could not move a log back");
                }
            }
        };
        let result = async {
            for (rel, path) in &files {
                let br = brmap.get(rel).map(task_id_arg).transpose()?;
                let imported = import_rpm_in(
                    &mut tx,
                    &self.0.config().names,
                    &owner,
                    &pathinfo,
                    path,
                    rel,
                    Some(&b),
                    br,
                )
                .await;
                match imported {
                    Ok(i) => done.push(i),
                    Err(e) => return Err(e),
                }
            }
            if let Json::Object(logmap) = logs {
                let logdir = pathinfo.build_logs(b.path());
                for (key, list) in logmap {
                    for rel in str_list(list, "logs")? {
                        let src = work_file(&work, &rel)?;
                        let name = src
                            .file_name()
                            .map(|n| n.to_string_lossy().into_owned())
                            .unwrap_or_default();
                        crate::pathinfo::check_component("log name", &name)?;
                        let dir = if key.is_empty() {
                            logdir.clone()
                        } else {
                            crate::pathinfo::check_component("log directory", key)?;
                            logdir.join(key)
                        };
                        let dst = dir.join(&name);
                        move_and_symlink(&src, &dst)?;
                        moved_logs.push((src, dst));
                    }
                }
            }
            for d in &done {
                d.write_sighdr()?;
            }
            build_notification_in(&mut tx, self.hub(), caller, task, b.id).await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            undo(&done, &moved_logs);
            return Err(e);
        }
        if let Err(e) = tx.commit().await {
            undo(&done, &moved_logs);
            return Err(e);
        }
        // a notification task may have been made
        self.hub().task_events().notify();
        let b = get_build_in(self.hub().db().conn(), &Json::from(b.id), true).await?;
        Ok(b.map(|b| b.to_json()).unwrap_or(Json::Null))
    }

    /// `host.moveBuildToScratch(task_id, srpm, rpms, logs=None)`: a scratch
    /// build's files move to `scratch/<owner>/task_<id>/` (not imported).
    pub async fn move_to_scratch(
        &self,
        caller: &Caller,
        task: &Json,
        srpm: &Json,
        rpms: &Json,
        logs: &Json,
    ) -> Result<()> {
        let task = task_id_arg(task)?;
        let pathinfo = self.hub().pathinfo();
        let work = pathinfo.work(None);
        let tx = self.hub().db().begin().await?;
        let host = verify_host(&*tx, caller).await?;
        assert_holds(&tx, host, task).await?;
        let owner = owner_caller(&tx, task).await?;
        let owner_name = owner
            .session
            .as_ref()
            .map(|s| s.user_name.clone())
            .unwrap_or_default();
        crate::pathinfo::check_component("user name", &owner_name)?;
        let rpms = dedup_noarch(str_list(rpms, "rpms")?);
        let mut files = vec![];
        for rel in std::iter::once(srpm).chain(rpms.iter()) {
            files.push(work_file(&work, rel)?);
        }
        let dir = pathinfo
            .scratch()
            .join(&owner_name)
            .join(format!("task_{task}"));
        let mut moves = vec![];
        for f in files {
            let name = f.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            moves.push((f, dir.join(name)));
        }
        if let Json::Object(logmap) = logs {
            for (key, list) in logmap {
                let d = if key.is_empty() {
                    dir.join("logs")
                } else {
                    crate::pathinfo::check_component("log directory", key)?;
                    dir.join("logs").join(key)
                };
                for rel in str_list(list, "logs")? {
                    let f = work_file(&work, &rel)?;
                    let name = f.file_name().map(|n| n.to_os_string()).unwrap_or_default();
                    moves.push((f, d.join(name)));
                }
            }
        }
        for (from, to) in &moves {
            move_and_symlink(from, to)?;
        }
        tx.commit().await
    }

    /// `host.tagBuild(task_id, tag, build, force=False, fromtag=None)`:
    /// tags (or with `fromtag` moves) as the task's owner.
    pub async fn tag_build(
        &self,
        caller: &Caller,
        task: &Json,
        tag: &Json,
        build: &Json,
        force: bool,
        fromtag: &Json,
    ) -> Result<()> {
        let task = task_id_arg(task)?;
        let mut tx = self.hub().db().begin().await?;
        let host = verify_host(&*tx, caller).await?;
        assert_holds(&tx, host, task).await?;
        let owner = owner_caller(&tx, task).await?;
        super::tagging::host_tag_build_in(self.hub(), &mut tx, &owner, tag, build, force, fromtag)
            .await?;
        tx.commit().await
    }
}

impl super::tasks::Tasks<'_> {
    /// `tagBuild(tag, build, force=False, fromtag=None)` (and `moveBuild`):
    /// the checks, then a `tagBuild` task (priority 10); answers its id.
    pub async fn tag_build(
        &self,
        caller: &Caller,
        tag: &Json,
        build: &Json,
        force: bool,
        fromtag: &Json,
    ) -> Result<i64> {
        let hub = self.0;
        let mut tx = hub.db().begin().await?;
        let req = hub
            .tagging()
            .tag_request_checks_in(&mut tx, caller, tag, build, force, fromtag)
            .await?;
        let args = [
            json!(req.tag_id),
            json!(req.build_id),
            json!(force),
            json!(req.fromtag_id),
        ];
        let opts = TaskOpts {
            priority: Some(10),
            ..TaskOpts::default()
        };
        let id = make_task_in(&mut tx, hub, caller, "tagBuild", &args, opts).await?;
        tx.commit().await?;
        hub.task_events().notify();
        Ok(id)
    }

    /// `moveAllBuilds(tag1, tag2, package, force=False)`: a chain of
    /// `dependantTask`s, each tagging one build once the previous is done;
    /// answers their ids.
    pub async fn move_all_builds(
        &self,
        caller: &Caller,
        tag1: &Json,
        tag2: &Json,
        package: &Json,
        force: bool,
    ) -> Result<Vec<i64>> {
        let hub = self.0;
        let mut tx = hub.db().begin().await?;
        let plan = hub
            .tagging()
            .move_all_builds_checks_in(&mut tx, caller, tag1, tag2, package, force)
            .await?;
        let mut wait_on: Vec<i64> = vec![];
        let mut out = vec![];
        for b in &plan.builds {
            let args = [
                json!(wait_on),
                json!([["tagBuild", [plan.tag2_id, b.build_id, force, plan.tag1_id], {"priority": 15}]]),
            ];
            let id = make_task_in(
                &mut tx,
                hub,
                caller,
                "dependantTask",
                &args,
                TaskOpts::default(),
            )
            .await?;
            wait_on = vec![id];
            out.push(id);
        }
        tx.commit().await?;
        hub.task_events().notify();
        Ok(out)
    }
}
