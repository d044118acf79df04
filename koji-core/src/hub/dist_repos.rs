//! Dist repos (upstream's `distRepo`, `dist_repo_init`,
//! `host.distRepoMove`): repos meant for distribution, with the RPMs
//! themselves (signed copies with the requested keys) under
//! `repos-dist/TAG/ID/ARCH/Packages/`, made by a builder's `distRepo`
//! task and its `createdistrepo` subtasks; `host.repoDone` marks them
//! READY and moves `repos-dist/TAG/latest`.

use super::builds::{get_build_in, lookup_volume_in};
use super::host_api::verify_host;
use super::host_builds::work_file;
use super::hosts::canon_arch;
use super::repo_gen::io_err;
use super::repos::{select_one_in, Repos, REPO_INIT, REPO_STATES};
use super::rpms::get_rpm_info_in;
use super::tags::{get_tag_in, TagEvent};
use super::tasks::{cancel_in, decode_request, make_task_in, TaskOpts};
use super::Caller;
use crate::db::{fetch_one, RowExt};
use crate::error::{Error, Result};
use crate::params;
use crate::pathinfo::{PathInfo, DEFAULT_VOLUME};
use crate::util::{py_repr, py_str};
use serde_json::{json, Map, Value as Json};
use std::path::Path;

fn type_error(v: &Json) -> Error {
    Error::Parameter(format!(
        "Invalid type for value {}: {}",
        py_repr(v),
        crate::api::py_type_of(v)
    ))
}

/// A path below an upload directory: relative, no `..`.
fn rel_ok(rel: &str) -> Result<()> {
    let p = Path::new(rel);
    if rel.is_empty()
        || p.is_absolute()
        || p.components().any(|c| {
            !matches!(
                c,
                std::path::Component::Normal(_) | std::path::Component::CurDir
            )
        })
    {
        return Err(Error::Generic(format!("Invalid file name: {rel}")));
    }
    Ok(())
}

impl Repos<'_> {
    /// `distRepo(tag, keys, **task_opts)`: a dist repo in INIT and the
    /// `distRepo` task that makes it (the dist-repo or admin permission,
    /// else the `dist_repo` policy).
    pub async fn dist_repo(
        &self,
        caller: &Caller,
        tag: &Json,
        keys: &Json,
        task_opts: &Map<String, Json>,
    ) -> Result<i64> {
        let hub = self.0;
        caller.user_id()?;
        if !caller.has_perm("dist-repo") && !caller.has_perm("admin") {
            hub.policy()
                .assert(caller, "dist_repo", &json!({"tag": tag}), false)
                .await?;
        }
        let Json::Array(key_list) = keys else {
            return Err(type_error(keys));
        };
        let mut opts = task_opts.clone();
        opts.remove("__starstar");
        let pathinfo = hub.pathinfo();
        // checked before anything is written
        let tinfo = get_tag_in(hub.db().conn(), tag, true, TagEvent::At(None), false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(tag))))?;
        crate::pathinfo::check_relpath("tag name", &tinfo.name)?;
        let event = match opts.get("event") {
            None | Some(Json::Null) => None,
            Some(Json::Number(n)) if n.is_i64() => n.as_i64(),
            Some(other) => return Err(type_error(other)),
        };
        let volume = match opts.get("volume") {
            None | Some(Json::Null) => None,
            Some(v) => lookup_volume_in(hub.db().conn(), v, true)
                .await?
                .map(|v| v.name),
        };
        let Some(Json::Array(arch_list)) = opts.get("arch") else {
            return Err(Error::Parameter(
                "task_opts must give 'arch', a list".into(),
            ));
        };
        let mut arches: Vec<String> = arch_list
            .iter()
            .map(|a| canon_arch(&py_str(a)).to_string())
            .collect();
        arches.sort();
        arches.dedup();
        for a in &arches {
            crate::pathinfo::check_component("arch", a)?;
        }
        let comps = match opts.get("comps").filter(|c| crate::api::truthy(c)) {
            Some(c) => Some(work_file(&pathinfo.work(None), c)?),
            None => None,
        };
        // a multilib config the builders cannot read fails here, not in a task
        if let Some(m) = opts.get("multilib").filter(|c| crate::api::truthy(c)) {
            let p = work_file(&pathinfo.work(None), m)?;
            let text = std::fs::read_to_string(&p)
                .map_err(|e| io_err("cannot read the multilib config", &p, e))?;
            crate::multilib::Config::parse(&text)
                .map_err(|e| Error::Generic(format!("multilib config {}: {e}", py_str(m))))?;
        }
        // distrepo.cancel_others: only the newest dist repo task of a tag runs
        let cancel_others = hub
            .tags()
            .build_config(&Json::from(tinfo.id), None)
            .await
            .ok()
            .and_then(|b| b.tag.extra.get("distrepo.cancel_others").cloned())
            .is_some_and(|v| crate::api::truthy(&v));

        let mut tx = hub.db().begin().await?;
        let event = match event {
            Some(e) => e,
            None => tx.event().await?,
        };
        let repo_id = fetch_one(
            &*tx,
            "INSERT INTO repo (creation_time, create_event, state_time, tag_id, state, dist) \
             VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
            params![
                chrono::Utc::now(),
                event,
                chrono::Utc::now(),
                tinfo.id,
                REPO_INIT,
                true
            ],
        )
        .await?
        .int("id")?;
        // written aside, then renamed into place just before the commit
        let repodir = pathinfo.distrepo(repo_id, &tinfo.name, volume.as_deref());
        let parent = repodir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| pathinfo.topdir().to_path_buf());
        std::fs::create_dir_all(&parent).map_err(|e| io_err("cannot create", &parent, e))?;
        let tmp = parent.join(format!(".{repo_id}.init"));
        let _ = std::fs::remove_dir_all(&tmp);
        // a stale directory of a rolled-back id is replaced
        let _ = std::fs::remove_dir_all(&repodir);
        let info = json!({
            "id": repo_id,
            "tag": tinfo.name,
            "tag_id": tinfo.id,
            "keys": key_list,
            "volume": volume,
            "task_opts": opts,
        });
        let written = (|| -> std::io::Result<()> {
            for a in &arches {
                std::fs::create_dir_all(tmp.join(a))?;
            }
            if let Some(src) = &comps {
                std::fs::create_dir_all(tmp.join("groups"))?;
                std::fs::copy(src, tmp.join("groups/comps.xml"))?;
            }
            let mut text = serde_json::to_string_pretty(&info)?;
            text.push('\n');
            std::fs::write(tmp.join("repo.json"), text)?;
            std::fs::rename(&tmp, &repodir)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(io_err("cannot write dist repo", &repodir, e));
        }
        let mut link = None;
        if volume.as_deref().is_some_and(|v| v != DEFAULT_VOLUME) {
            // a link from the main volume to this one, as upstream
            let base = pathinfo.distrepo(repo_id, &tinfo.name, None);
            if let Some(p) = base.parent() {
                std::fs::create_dir_all(p).map_err(|e| io_err("cannot create", p, e))?;
                let _ = std::fs::remove_file(&base);
                std::os::unix::fs::symlink(relative(&repodir, p), &base)
                    .map_err(|e| io_err("cannot link", &base, e))?;
                link = Some(base);
            }
        }
        let cleanup = |repodir: &Path, link: &Option<std::path::PathBuf>| {
            let _ = std::fs::remove_dir_all(repodir);
            if let Some(l) = link {
                let _ = std::fs::remove_file(l);
            }
        };
        opts.insert("event".into(), json!(event));
        let mut to_cancel = vec![];
        if cancel_others {
            let rows = crate::db::fetch_all(
                &*tx,
                "SELECT id, request FROM task WHERE method = 'distRepo' AND state IN (0, 1, 4)",
                vec![],
            )
            .await?;
            for r in rows {
                let req = decode_request(&r.string("request")?).unwrap_or_default();
                if req.first() == Some(tag) || req.first() == Some(&Json::from(tinfo.name.clone()))
                {
                    to_cancel.push(r.int("id")?);
                }
            }
        }
        for t in &to_cancel {
            cancel_in(&mut tx, hub, caller, *t, true).await?;
        }
        let task = make_task_in(
            &mut tx,
            hub,
            caller,
            "distRepo",
            &[
                tag.clone(),
                json!(repo_id),
                keys.clone(),
                Json::Object(opts),
            ],
            TaskOpts {
                priority: Some(15),
                channel: Some(Json::from("createrepo")),
                ..Default::default()
            },
        )
        .await;
        let task = match task {
            Ok(t) => t,
            Err(e) => {
                cleanup(&repodir, &link);
                return Err(e);
            }
        };
        if let Err(e) = tx.commit().await {
            cleanup(&repodir, &link);
            return Err(e);
        }
        hub.task_events().notify();
        Ok(task)
    }

    /// `host.distRepoMove(repo_id, uploadpath, arch)`: one arch of a dist
    /// repo into place: the uploaded files named in `repo_manifest`, and
    /// the RPMs `kojipkgs` describes (checked against the database),
    /// linked from the content store into `Packages/`.
    pub async fn dist_repo_move(
        &self,
        caller: &Caller,
        repo_id: &Json,
        uploadpath: &Json,
        arch: &Json,
    ) -> Result<()> {
        let hub = self.0;
        let c = hub.db().conn();
        verify_host(c, caller).await?;
        let id = match repo_id {
            Json::Number(n) if n.is_i64() => n.as_i64().unwrap_or_default(),
            other => return Err(type_error(other)),
        };
        let rinfo = select_one_in(c, id).await?;
        let pathinfo = hub.pathinfo();
        let tag = py_str(&rinfo["tag_name"]);
        let repodir = pathinfo.distrepo(id, &tag, None);
        let arch = py_str(arch);
        let arch = canon_arch(&arch);
        crate::pathinfo::check_component("arch", arch)?;
        let archdir = repodir.join(arch);
        if !archdir.is_dir() {
            return Err(Error::Generic(format!(
                "Repo arch directory missing: {}",
                archdir.display()
            )));
        }
        let state = rinfo["state"].as_i64().unwrap_or_default();
        if state != REPO_INIT {
            return Err(Error::Generic(format!(
                "Repo is in state: {}",
                REPO_STATES.get(state as usize).copied().unwrap_or("?")
            )));
        }
        let work = pathinfo.work(None);
        let upload = py_str(uploadpath);
        let read_json = |name: &str, missing: &str| -> Result<Json> {
            let p = work_file(&work, &Json::from(format!("{upload}/{name}")))
                .map_err(|_| Error::Generic(missing.into()))?;
            let text = std::fs::read_to_string(&p).map_err(|e| io_err("cannot read", &p, e))?;
            serde_json::from_str(&text).map_err(|e| Error::Generic(format!("{name}: {e}")))
        };
        let manifest = read_json("repo_manifest", "Missing repo manifest")?;
        let kojipkgs = read_json("kojipkgs", "Missing kojipkgs file")?;
        let mut moves = vec![];
        for rel in manifest.as_array().cloned().unwrap_or_default() {
            let rel = py_str(&rel);
            rel_ok(&rel)?;
            // metadata only: the RPMs themselves come from the store
            let clean = rel.trim_start_matches("./");
            let allowed = ["pkglist", "kojipkgs", "debug/pkglist"].contains(&clean)
                || clean.starts_with("repodata/")
                || clean.starts_with("debug/repodata/")
                || ((clean.starts_with("drpms/") || clean.starts_with("debug/drpms/"))
                    && clean.ends_with(".drpm"));
            if !allowed {
                return Err(Error::Generic(format!(
                    "Unexpected file in repo manifest: {rel}"
                )));
            }
            let src = work.join(&upload).join(&rel);
            if !src.is_file() {
                return Err(Error::Generic(format!(
                    "uploaded file missing: {}",
                    src.display()
                )));
            }
            moves.push((src, archdir.join(&rel)));
        }
        let mut links = vec![];
        for (bnp, info) in kojipkgs.as_object().cloned().unwrap_or_default() {
            rel_ok(&bnp)?;
            if bnp.contains('/') {
                return Err(Error::Generic(format!("Invalid file name: {bnp}")));
            }
            let rpm = get_rpm_info_in(c, &info["id"], true)
                .await?
                .ok_or_else(|| Error::generic("no rpm"))?;
            let db = json!({
                "name": rpm.name, "version": rpm.version, "release": rpm.release,
                "arch": rpm.arch, "epoch": rpm.epoch, "size": rpm.size,
                "payloadhash": rpm.payloadhash, "build_id": rpm.build_id,
            });
            for key in [
                "name",
                "version",
                "release",
                "arch",
                "epoch",
                "size",
                "payloadhash",
                "build_id",
            ] {
                if info.get(key) != db.get(key) {
                    return Err(Error::Generic(format!(
                        "kojipkgs entry does not match db: file {bnp}, key {key}"
                    )));
                }
            }
            let rel = match info["sigkey"].as_str().filter(|s| !s.is_empty()) {
                Some(key) => {
                    // a key the RPM has a signature with, nothing else
                    let key = key.to_lowercase();
                    let known = key.chars().all(|ch| ch.is_ascii_hexdigit())
                        && crate::db::fetch_opt(
                            c,
                            "SELECT sigkey FROM rpmsigs WHERE rpm_id = ? AND sigkey = ?",
                            params![rpm.id, key.clone()],
                        )
                        .await?
                        .is_some();
                    if !known {
                        return Err(Error::Generic(format!(
                            "kojipkgs entry does not match db: file {bnp}, key sigkey"
                        )));
                    }
                    PathInfo::signed(rpm.path(), &key)
                }
                None => PathInfo::rpm(rpm.path()),
            };
            let build = get_build_in(c, &json!(rpm.build_id), true)
                .await?
                .ok_or_else(|| Error::generic("no build"))?;
            let full = build.dir(&pathinfo).join(rel);
            links.push((full, archdir.join(PathInfo::dist_package(&bnp))));
        }
        for (src, dst) in moves {
            if let Some(d) = dst.parent() {
                std::fs::create_dir_all(d).map_err(|e| io_err("cannot create", d, e))?;
            }
            if std::fs::rename(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).map_err(|e| io_err("cannot copy to", &dst, e))?;
                let _ = std::fs::remove_file(&src);
            }
        }
        for (src, dst) in links {
            if let Some(d) = dst.parent() {
                std::fs::create_dir_all(d).map_err(|e| io_err("cannot create", d, e))?;
            }
            if dst.exists() {
                return Err(Error::Generic(format!(
                    "File already in repo: {}",
                    dst.display()
                )));
            }
            if std::fs::hard_link(&src, &dst).is_err() {
                std::fs::copy(&src, &dst).map_err(|e| io_err("cannot copy", &src, e))?;
            }
        }
        Ok(())
    }
}

/// `target` relative to directory `from` (both absolute, below one root).
fn relative(target: &Path, from: &Path) -> std::path::PathBuf {
    let t: Vec<_> = target.components().collect();
    let f: Vec<_> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut out = std::path::PathBuf::new();
    for _ in common..f.len() {
        out.push("..");
    }
    for c in &t[common..] {
        out.push(c);
    }
    out
}
