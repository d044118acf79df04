//! Making repos (upstream's `repo_init` / `host.repoDone` and the
//! `newRepo` call): the hub writes a repo's inputs into the content store
//! (`repos/TAG/ID/` with `repo.json`, `groups/comps.xml` and, per arch,
//! `pkglist`, `rpmlist.jsonl`, `blocklist` and the `toplink` symlink); a
//! builder's `createrepo` task turns each arch into metadata with
//! createrepo_c and uploads it; `repoDone` moves it into place, marks the
//! repo READY, satisfies waiting requests and moves the `latest` link.

use super::groups::tag_groups_json_in;
use super::host_api::verify_host;
use super::host_builds::work_file;
use super::hosts::canon_arch;
use super::packages::{read_package_list_in, PackageListQuery};
use super::repos::{set_state_in, Repos, REPO_EXPIRED, REPO_INIT, REPO_READY};
use super::tagging::{
    read_tagged_rpms_in, tag_first_change_event_in, tag_last_change_event_in, RpmFilter,
    TaggedQuery, TaggedRpm,
};
use super::tags::{dump_into, dump_str, get_tag_in, TagEvent, TagInfo};
use super::tasks::{make_task_in, TaskOpts};
use super::Caller;
use crate::db::{backend_of, exec, fetch_opt, Backend, RowExt, Tx};
use crate::error::{Error, Result};
use crate::params;
use crate::pathinfo::{BuildPath, PathInfo, RpmPath};
use crate::policy::fnmatch::multi_fnmatch;
use crate::util::{py_repr, py_str};
use sea_orm::ConnectionTrait;
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};

/// The repo settings of `hub.conf` (upstream's names in the comments).
#[derive(Debug, Clone)]
pub struct RepoConfig {
    /// `DebuginfoTags`: tags (glob patterns) whose repos carry debuginfo.
    pub debuginfo_tags: Vec<String>,
    /// `SourceTags`: tags whose repos carry source RPMs in every arch.
    pub source_tags: Vec<String>,
    /// `SeparateSourceTags`: tags whose repos get a separate `src` arch.
    pub separate_source_tags: Vec<String>,
    /// `EnableMaven`.
    pub enable_maven: bool,
    /// `AllowNewRepo`: whether the `newRepo` call may be used.
    pub allow_new_repo: bool,
    /// `MaxRepoTasks`, `MaxRepoTasksMaven`: newRepo tasks at once.
    pub max_repo_tasks: i64,
    pub max_repo_tasks_maven: i64,
    /// `RepoRetries`: newRepo tasks tried per request.
    pub repo_retries: i64,
    /// `RepoLag`, `RepoAutoLag`, `RepoLagWindow` (seconds).
    pub repo_lag: i64,
    pub repo_auto_lag: i64,
    pub repo_lag_window: i64,
    /// `RepoQueueUser`: owner of the newRepo tasks made for requests.
    pub repo_queue_user: String,
    /// `RequestCleanTime` (minutes): how long fulfilled requests are kept.
    pub request_clean_time: i64,
}

impl Default for RepoConfig {
    fn default() -> Self {
        RepoConfig {
            debuginfo_tags: vec![],
            source_tags: vec![],
            separate_source_tags: vec![],
            enable_maven: false,
            allow_new_repo: true,
            max_repo_tasks: 10,
            max_repo_tasks_maven: 2,
            repo_retries: 3,
            repo_lag: 3600,
            repo_auto_lag: 7200,
            repo_lag_window: 600,
            repo_queue_user: "kojira".into(),
            request_clean_time: 60 * 24,
        }
    }
}

/// The repo options upstream knows, in its order.
const REPO_OPTS: &[&str] = &["src", "debuginfo", "separate_src", "maven"];

/// Upstream's `convert_repo_opts`: known options as booleans (`None`
/// values dropped); with `strict`, anything else is a ParameterError,
/// otherwise ignored.
pub fn convert_repo_opts(opts: &Json, strict: bool) -> Result<Map<String, Json>> {
    let map = match opts {
        Json::Null => return Ok(Map::new()),
        Json::Object(m) => m,
        _ if strict => return Err(Error::Parameter("Repo opts must be a dictionary".into())),
        _ => {
            tracing::warn!("Ignoring invalid repo opts: {}", py_repr(opts));
            return Ok(Map::new());
        }
    };
    let mut out = Map::new();
    for (k, v) in map {
        if k == "__starstar" {
            continue;
        }
        if !REPO_OPTS.contains(&k.as_str()) {
            if strict {
                return Err(Error::Parameter(format!("Invalid repo option: {k}")));
            }
            tracing::warn!("Ignoring invalid repo opt: {k}");
            continue;
        }
        if v.is_null() {
            continue;
        }
        out.insert(k.clone(), Json::Bool(crate::api::truthy(v)));
    }
    Ok(out)
}

/// Upstream's `get_repo_opts`: the tag's repo options (hub patterns,
/// then the tag's `repo.opts` / legacy `with_debuginfo` extra, then
/// maven), and `override_` applied; answers `(opts, custom)` where
/// `custom` holds the overrides that differ from the tag's defaults.
pub fn repo_opts(
    cfg: &RepoConfig,
    tag: &TagInfo,
    override_: Option<&Json>,
) -> Result<(Map<String, Json>, Map<String, Json>)> {
    let mut opts = Map::new();
    for k in REPO_OPTS {
        opts.insert((*k).into(), Json::Bool(false));
    }
    let matches = |pats: &[String]| !pats.is_empty() && multi_fnmatch(&tag.name, pats);
    if matches(&cfg.debuginfo_tags) {
        opts.insert("debuginfo".into(), Json::Bool(true));
    }
    if matches(&cfg.source_tags) {
        opts.insert("src".into(), Json::Bool(true));
    }
    if matches(&cfg.separate_source_tags) {
        opts.insert("separate_src".into(), Json::Bool(true));
    }
    let mut tag_opts = tag.extra.get("repo.opts").cloned().unwrap_or(json!({}));
    if let Some(wd) = tag.extra.get("with_debuginfo") {
        if tag.extra.contains_key("repo.opts") {
            tracing::warn!("Ignoring legacy with_debuginfo config, overridden by repo.opts");
        } else if let Json::Object(m) = &mut tag_opts {
            m.insert("debuginfo".into(), Json::Bool(crate::api::truthy(wd)));
        }
    }
    opts.extend(convert_repo_opts(&tag_opts, false)?);
    if !cfg.enable_maven {
        opts.insert("maven".into(), Json::Bool(false));
    } else if tag.maven_support {
        opts.insert("maven".into(), Json::Bool(true));
    }
    let mut custom = Map::new();
    if let Some(o) = override_ {
        for (k, v) in convert_repo_opts(o, false)? {
            if opts.get(&k) != Some(&v) {
                custom.insert(k, v);
            }
        }
        for (k, v) in &custom {
            opts.insert(k.clone(), v.clone());
        }
    }
    Ok((opts, custom))
}

/// Upstream's `koji.is_debuginfo`.
pub fn is_debuginfo(name: &str) -> bool {
    name.ends_with("-debuginfo") || name.contains("-debuginfo-") || name.ends_with("-debugsource")
}

/// A JSON value bound for a JSONB column on either backend.
pub(crate) fn json_mark(c: &impl ConnectionTrait) -> &'static str {
    match backend_of(c) {
        Backend::Postgres => "CAST(? AS JSONB)",
        Backend::Sqlite => "?",
    }
}

fn opt_int_arg(v: &Json, what: &str) -> Result<Option<i64>> {
    match v {
        Json::Null => Ok(None),
        Json::Number(n) if n.is_i64() => Ok(n.as_i64()),
        Json::String(s) => {
            s.trim().parse().map(Some).map_err(|_| {
                Error::Parameter(format!("Invalid type for value '{s}': str ({what})"))
            })
        }
        other => Err(Error::Parameter(format!(
            "Invalid type for value {}: {}",
            py_repr(other),
            crate::api::py_type_of(other)
        ))),
    }
}

/// The files of a new repo, written below a temporary directory first.
struct RepoFiles {
    /// repo arch → (pkglist, rpmlist.jsonl) contents
    arches: Vec<(String, String, String)>,
    comps: String,
    repo_json: Json,
    blocklist: String,
    /// `../` up to the content store from an arch directory
    toplink: String,
}

impl RepoFiles {
    fn arch_mut(&mut self, arch: &str) -> Option<(&mut String, &mut String)> {
        self.arches
            .iter_mut()
            .find(|(a, _, _)| a == arch)
            .map(|(_, p, r)| (p, r))
    }

    /// Writes everything into `dir` (which must not exist yet).
    fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("groups"))?;
        std::fs::write(dir.join("groups/comps.xml"), &self.comps)?;
        let mut text = serde_json::to_string_pretty(&self.repo_json)?;
        text.push('\n');
        std::fs::write(dir.join("repo.json"), text)?;
        for (arch, pkglist, rpmlist) in &self.arches {
            let archdir = dir.join(arch);
            std::fs::create_dir_all(&archdir)?;
            // repos/TAG/ID/ARCH → the top of the content store (a tag
            // name may hold `/`)
            std::os::unix::fs::symlink(&self.toplink, archdir.join("toplink"))?;
            std::fs::write(archdir.join("pkglist"), pkglist)?;
            std::fs::write(archdir.join("rpmlist.jsonl"), rpmlist)?;
            std::fs::write(archdir.join("blocklist"), &self.blocklist)?;
        }
        Ok(())
    }
}

/// The tag's repo arches: `src` with separate_src, then the tag's arches
/// made canonical (src and noarch left out), first occurrence first.
fn repo_arches(tag: &TagInfo, opts: &Map<String, Json>) -> Vec<String> {
    let mut out: Vec<String> = vec![];
    if opts.get("separate_src") == Some(&Json::Bool(true)) {
        out.push("src".into());
    }
    for a in tag.arches.as_deref().unwrap_or("").split_whitespace() {
        let a = canon_arch(a);
        if a == "src" || a == "noarch" || out.iter().any(|x| x == a) {
            continue;
        }
        out.push(a.to_string());
    }
    out
}

pub(crate) fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::Generic(format!("{what} {}: {e}", path.display()))
}

/// Moves `src` to `dst` (a rename, or copy and remove across file systems).
fn move_file(src: &Path, dst: &Path) -> Result<()> {
    if dst.exists() {
        return Err(Error::Generic(format!(
            "destination exists: {}",
            dst.display()
        )));
    }
    if std::fs::rename(src, dst).is_err() {
        std::fs::copy(src, dst).map_err(|e| io_err("cannot copy to", dst, e))?;
        std::fs::remove_file(src).map_err(|e| io_err("cannot remove", src, e))?;
    }
    Ok(())
}

/// Upstream's `repo_done_hook`: the waiting requests this READY repo
/// satisfies (same tag; the request's options all in the repo's, the
/// repo's custom options all in the request's; the request's min_event
/// reached or its at_event met) get the repo and become inactive.
pub(crate) async fn repo_done_hook_in(tx: &Tx, repo: &Json) -> Result<u64> {
    if repo["dist"] == Json::Bool(true) {
        return Ok(0);
    }
    let (Some(opts), Some(custom)) = (repo["opts"].as_object(), repo["custom_opts"].as_object())
    else {
        tracing::error!("Repo with invalid opts values: {}", py_repr(repo));
        return Ok(0);
    };
    let create_event = repo["create_event"].as_i64().unwrap_or_default();
    let rows = crate::db::fetch_all(
        &**tx,
        &format!(
            "SELECT id, min_event, at_event, {} AS opts FROM repo_queue \
             WHERE tag_id = ? AND active = ? AND repo_id IS NULL ORDER BY id",
            super::scheduler::data_select(&**tx, "opts")
        ),
        params![repo["tag_id"].as_i64().unwrap_or_default(), true],
    )
    .await?;
    let mut n = 0;
    for r in rows {
        let req_opts = super::scheduler::json_col(&r, "opts")?;
        let req_opts = req_opts.as_object().cloned().unwrap_or_default();
        let within = req_opts.iter().all(|(k, v)| opts.get(k) == Some(v))
            && custom.iter().all(|(k, v)| req_opts.get(k) == Some(v));
        let event_ok = match (r.opt_int("at_event")?, r.opt_int("min_event")?) {
            (Some(at), _) => at == create_event,
            (None, Some(min)) => min <= create_event,
            (None, None) => false,
        };
        if within && event_ok {
            exec(
                &**tx,
                "UPDATE repo_queue SET repo_id = ?, active = ?, update_time = ? WHERE id = ?",
                params![
                    repo["id"].as_i64().unwrap_or_default(),
                    false,
                    chrono::Utc::now(),
                    r.int("id")?
                ],
            )
            .await?;
            n += 1;
        }
    }
    Ok(n)
}

/// One line of `rpmlist.jsonl`: the RPM as Python's `json.dumps` writes
/// upstream's dict (its keys, order and separators), and a newline.
fn rpmlist_line(rpm: &TaggedRpm, out: &mut String) {
    use std::fmt::Write as _;
    let opt_int = |v: Option<i64>| v.map_or_else(|| "null".to_string(), |n| n.to_string());
    let opt_bool = |v: Option<bool>| match v {
        None => "null",
        Some(true) => "true",
        Some(false) => "false",
    };
    out.push_str("{\"name\": ");
    dump_str(&rpm.name, out);
    out.push_str(", \"version\": ");
    dump_str(&rpm.version, out);
    out.push_str(", \"release\": ");
    dump_str(&rpm.release, out);
    out.push_str(", \"arch\": ");
    dump_str(&rpm.arch, out);
    let _ = write!(
        out,
        ", \"id\": {}, \"epoch\": {}, \"draft\": {}, \"payloadhash\": ",
        rpm.id,
        opt_int(rpm.epoch),
        opt_bool(rpm.draft)
    );
    dump_str(&rpm.payloadhash, out);
    let _ = write!(
        out,
        ", \"size\": {}, \"buildtime\": {}, \"buildroot_id\": {}, \"build_id\": {}, \
         \"metadata_only\": {}, \"extra\": ",
        rpm.size,
        rpm.buildtime,
        opt_int(rpm.buildroot_id),
        rpm.build_id,
        rpm.metadata_only
    );
    dump_into(rpm.extra.as_ref().unwrap_or(&Json::Null), out);
    out.push_str("}\n");
}

impl Repos<'_> {
    /// `host.repoInit(tag, task_id=None, event=None, opts=None)`: a new
    /// INIT repo of the tag as of `event` (now by default) with its
    /// inputs written; answers `[repo_id, event_id]`.
    pub async fn init(
        &self,
        caller: &Caller,
        tag: &Json,
        task_id: &Json,
        event: &Json,
        opts: &Json,
    ) -> Result<(i64, i64)> {
        let hub = self.0;
        let mut tx = hub.db().begin().await?;
        verify_host(&*tx, caller).await?;
        let task_id = opt_int_arg(task_id, "task_id")?;
        let event = opt_int_arg(event, "event")?;
        let tinfo = get_tag_in(&*tx, tag, true, TagEvent::At(event), false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such tagInfo: {}", py_repr(tag))))?;
        let override_ = (!opts.is_null()).then_some(opts);
        let (opts, custom) = repo_opts(&hub.config().repos, &tinfo, override_)?;
        if opts.get("maven") == Some(&Json::Bool(true)) && !hub.config().repos.enable_maven {
            return Err(Error::generic("Maven support not enabled"));
        }
        crate::pathinfo::check_relpath("tag name", &tinfo.name)?;
        let arches = repo_arches(&tinfo, &opts);
        for a in &arches {
            crate::pathinfo::check_component("arch", a)?;
        }
        let event_id = match event {
            None => tx.event().await?,
            Some(ev) => {
                fetch_opt(&*tx, "SELECT id FROM events WHERE id = ?", params![ev])
                    .await?
                    .ok_or_else(|| Error::generic("query returned no rows"))?;
                ev
            }
        };
        let begin = tag_last_change_event_in(&*tx, tinfo.id, Some(event_id), true)
            .await?
            .unwrap_or(event_id);
        let end = tag_first_change_event_in(&*tx, tinfo.id, Some(event_id), true).await?;
        let now = chrono::Utc::now();
        let opts_text = serde_json::to_string(&opts)?;
        let custom_text = serde_json::to_string(&custom)?;
        let mark = json_mark(&*tx);
        let repo_id = crate::db::fetch_one(
            &*tx,
            &format!(
                "INSERT INTO repo (creation_time, create_event, state_time, begin_event, \
                 end_event, tag_id, state, dist, task_id, opts, custom_opts) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, {mark}, {mark}) RETURNING id"
            ),
            params![
                now,
                event_id,
                now,
                begin,
                end,
                tinfo.id,
                REPO_INIT,
                false,
                task_id,
                opts_text,
                custom_text
            ],
        )
        .await?
        .int("id")?;

        let latest = !tinfo
            .extra
            .get("repo_include_all")
            .is_some_and(crate::api::truthy);
        let q = TaggedQuery {
            event: Some(event_id),
            inherit: true,
            latest: latest.then_some(1),
            package: Json::Null,
            owner: None,
            btype: None,
            extra: false,
            draft: None,
        };
        // with each RPM's extra, as upstream's rpmlist.jsonl has it
        let filter = RpmFilter {
            extra: true,
            ..RpmFilter::default()
        };
        let (rpms, builds) = read_tagged_rpms_in(&*tx, tinfo.id, &q, &filter).await?;
        let groups =
            tag_groups_json_in(&*tx, tinfo.id, Some(event_id), true, true, true, false).await?;
        let blocks = read_package_list_in(
            &*tx,
            &PackageListQuery {
                tag_id: Some(tinfo.id),
                event: Some(event_id),
                inherit: true,
                with_blocked: true,
                ..Default::default()
            },
        )
        .await?;
        let mut blocklist = String::new();
        for pkg in blocks.into_entries().into_iter().filter(|p| p.blocked) {
            blocklist.push_str(&pkg.package_name);
            blocklist.push('\n');
        }

        let rel = PathInfo::new("toplink");
        let builddirs: std::collections::HashMap<i64, String> = builds
            .iter()
            .map(|b| {
                let path = rel.build(BuildPath {
                    name: &b.name,
                    version: &b.version,
                    release: &b.release,
                    volume: Some(&b.volume_name),
                });
                (b.id, path.to_string_lossy().into_owned())
            })
            .collect();
        let flag = |k: &str| opts.get(k) == Some(&Json::Bool(true));
        let mut files = RepoFiles {
            arches: arches
                .iter()
                .map(|a| (a.clone(), String::new(), String::new()))
                .collect(),
            comps: crate::comps::generate_comps(&groups, true),
            repo_json: json!({
                "id": repo_id,
                "tag": tinfo.name,
                "tag_id": tinfo.id,
                "task_id": task_id,
                "event_id": event_id,
                "opts": opts,
                "custom_opts": custom,
                "with_src": flag("src"),
                "with_separate_src": flag("separate_src"),
                "with_debuginfo": flag("debuginfo"),
            }),
            blocklist,
            toplink: vec![".."; 3 + tinfo.name.split('/').count()].join("/"),
        };
        let mut line = String::new();
        let mut info = String::new();
        let mut targets: Vec<&str> = vec![];
        for rpm in &rpms {
            if !flag("debuginfo") && is_debuginfo(&rpm.name) {
                continue;
            }
            let Some(dir) = builddirs.get(&rpm.build_id) else {
                continue;
            };
            line.clear();
            line.push_str(dir);
            line.push('/');
            line.push_str(&PathInfo::rpm(RpmPath {
                name: &rpm.name,
                version: &rpm.version,
                release: &rpm.release,
                arch: &rpm.arch,
            }));
            line.push('\n');
            info.clear();
            rpmlist_line(rpm, &mut info);
            targets.clear();
            match rpm.arch.as_str() {
                "src" => {
                    if flag("src") {
                        targets.extend(arches.iter().map(String::as_str));
                    }
                    if flag("separate_src") {
                        targets.push("src");
                    }
                }
                "noarch" => {
                    targets.extend(arches.iter().map(String::as_str).filter(|a| *a != "src"))
                }
                other => {
                    let a = canon_arch(other);
                    if let Some(x) = arches.iter().find(|x| *x == a) {
                        targets.push(x);
                    }
                }
            }
            for a in &targets {
                if let Some((p, r)) = files.arch_mut(a) {
                    p.push_str(&line);
                    r.push_str(&info);
                }
            }
        }

        // written aside, then renamed into place just before the commit
        let pathinfo = hub.pathinfo();
        let repodir = pathinfo.repo(repo_id, &tinfo.name);
        let parent = repodir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        std::fs::create_dir_all(&parent).map_err(|e| io_err("cannot create", &parent, e))?;
        if repodir.exists() {
            return Err(Error::Generic(format!(
                "repo directory exists: {}",
                repodir.display()
            )));
        }
        let tmp = parent.join(format!(".{repo_id}.init"));
        let _ = std::fs::remove_dir_all(&tmp);
        if let Err(e) = files.write(&tmp) {
            let _ = std::fs::remove_dir_all(&tmp);
            return Err(io_err("cannot write repo files in", &tmp, e));
        }
        std::fs::rename(&tmp, &repodir).map_err(|e| io_err("cannot create", &repodir, e))?;
        if let Err(e) = tx.commit().await {
            let _ = std::fs::remove_dir_all(&repodir);
            return Err(e);
        }
        Ok((repo_id, event_id))
    }

    /// `host.repoDone(repo_id, data, expire=False, repo_json_updates=None)`:
    /// moves each arch's uploaded metadata (`data`: `{arch: [uploadpath,
    /// [file, ...]]}`) into the repo, then marks it READY (or, legacy,
    /// EXPIRED), satisfies waiting requests and moves `latest`.
    pub async fn done(
        &self,
        caller: &Caller,
        repo_id: &Json,
        data: &Json,
        expire: bool,
        repo_json_updates: &Json,
    ) -> Result<()> {
        let hub = self.0;
        verify_host(hub.db().conn(), caller).await?;
        let rinfo = self.info(repo_id, true).await?;
        let Json::Object(data) = data else {
            return Err(Error::Parameter(format!(
                "Invalid type for value {}: {}",
                py_repr(data),
                crate::api::py_type_of(data)
            )));
        };
        let id = rinfo["id"].as_i64().unwrap_or_default();
        if rinfo["state"].as_i64() != Some(REPO_INIT) {
            return Err(Error::Generic(format!(
                "Repo {id} not in INIT state (got {})",
                py_str(&rinfo["state"])
            )));
        }
        let tag_name = py_str(&rinfo["tag_name"]);
        let pathinfo = hub.pathinfo();
        let repodir = pathinfo.repo(id, &tag_name);
        if let Json::Object(updates) = repo_json_updates {
            let path = repodir.join("repo.json");
            let text =
                std::fs::read_to_string(&path).map_err(|e| io_err("cannot read", &path, e))?;
            let mut rj: Map<String, Json> = serde_json::from_str(&text)?;
            rj.extend(updates.clone());
            let mut text = serde_json::to_string_pretty(&rj)?;
            text.push('\n');
            std::fs::write(&path, text).map_err(|e| io_err("cannot write", &path, e))?;
        }
        if rinfo["dist"] != Json::Bool(true) {
            let work = pathinfo.work(None);
            // check everything before moving anything
            let mut moves = vec![];
            for (arch, entry) in data {
                let arch = canon_arch(arch);
                crate::pathinfo::check_component("arch", arch)?;
                let archdir = repodir.join(arch);
                if !archdir.is_dir() {
                    return Err(Error::Generic(format!(
                        "Repo arch directory missing: {}",
                        archdir.display()
                    )));
                }
                let (upload, names) = match entry.as_array().map(Vec::as_slice) {
                    Some([u, Json::Array(f)]) => (py_str(u), f.clone()),
                    _ => {
                        return Err(Error::Parameter(format!(
                            "Invalid repo data for {arch}: {}",
                            py_repr(entry)
                        )))
                    }
                };
                for name in names {
                    let name = py_str(&name);
                    if name.is_empty() || name.contains('/') || name == ".." || name == "." {
                        return Err(Error::Generic(format!("Invalid file name: {name}")));
                    }
                    let src = work_file(&work, &Json::from(format!("{upload}/{name}"))).map_err(
                        |_| {
                            Error::Generic(format!(
                                "uploaded file missing: {}",
                                work.join(&upload).join(&name).display()
                            ))
                        },
                    )?;
                    let dst = if name.ends_with("pkglist") {
                        archdir.join(&name)
                    } else {
                        archdir.join("repodata").join(&name)
                    };
                    moves.push((src, dst));
                }
            }
            for (src, dst) in moves {
                if let Some(d) = dst.parent() {
                    std::fs::create_dir_all(d).map_err(|e| io_err("cannot create", d, e))?;
                }
                if dst.exists() && dst.file_name().is_some_and(|n| n == "pkglist") {
                    let _ = std::fs::remove_file(&dst);
                }
                move_file(&src, &dst)?;
            }
        }
        let tx = hub.db().begin().await?;
        if expire {
            tracing::warn!("expire option for repoDone call is deprecated");
            set_state_in(&tx, id, REPO_EXPIRED).await?;
            return tx.commit().await;
        }
        // (the READY transition satisfies waiting requests)
        set_state_in(&tx, id, REPO_READY).await?;
        let ready = super::repos::select_one_in(&*tx, id).await?;
        let latest = is_latest_in(&*tx, &ready).await?;
        tx.commit().await?;
        if latest {
            symlink_latest(&pathinfo, &ready);
        }
        Ok(())
    }

    /// `newRepo(tag, event=None, src=False, debuginfo=False,
    /// separate_src=False)`: a newRepo task for the tag (the repo or
    /// regen-repo permission; `AllowNewRepo`).
    pub async fn new_repo(
        &self,
        caller: &Caller,
        tag: &Json,
        event: &Json,
        src: bool,
        debuginfo: bool,
        separate_src: bool,
    ) -> Result<i64> {
        let hub = self.0;
        if !hub.config().repos.allow_new_repo {
            return Err(Error::ActionNotAllowed(
                "newRepo api call is disabled".into(),
            ));
        }
        if !caller.has_perm("repo") {
            caller.assert_perm("regen-repo")?;
        }
        let event = opt_int_arg(event, "event")?;
        let mut tx = hub.db().begin().await?;
        get_tag_in(&*tx, tag, true, TagEvent::At(event), false).await?;
        let mut kw = Map::new();
        kw.insert("__starstar".into(), Json::Bool(true));
        if let Some(e) = event {
            kw.insert("event".into(), Json::from(e));
        }
        for (k, on) in [
            ("src", src),
            ("separate_src", separate_src),
            ("debuginfo", debuginfo),
        ] {
            if on {
                kw.insert(k.into(), Json::Bool(true));
            }
        }
        let mut args = vec![tag.clone()];
        if kw.len() > 1 {
            args.push(Json::Object(kw));
        }
        let id = make_task_in(
            &mut tx,
            hub,
            caller,
            "newRepo",
            &args,
            TaskOpts {
                priority: Some(15),
                channel: Some(Json::from("createrepo")),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        hub.task_events().notify();
        Ok(id)
    }
}

/// Upstream's `symlink_if_latest` check: no READY repo of the tag is
/// newer (among dist repos for a dist repo, among repos with default
/// options otherwise); a repo with custom options never gets the link.
pub(crate) async fn is_latest_in<C: ConnectionTrait>(c: &C, repo: &Json) -> Result<bool> {
    let dist = repo["dist"] == Json::Bool(true);
    if !dist
        && repo["custom_opts"]
            .as_object()
            .is_some_and(|m| !m.is_empty())
    {
        return Ok(false);
    }
    let newer = super::repos::select_where_in(
        c,
        "repo.tag_id = ? AND repo.state = ? AND repo.create_event > ? AND repo.dist = ?",
        params![
            repo["tag_id"].as_i64().unwrap_or_default(),
            REPO_READY,
            repo["create_event"].as_i64().unwrap_or_default(),
            dist
        ],
    )
    .await?;
    Ok(!newer
        .iter()
        .any(|r| dist || r["custom_opts"].as_object().is_none_or(|m| m.is_empty())))
}

/// Points `repos/TAG/latest` (or the dist repo's) at the repo; failure
/// is logged only, as upstream (the link is a convenience).
pub(crate) fn symlink_latest(pathinfo: &PathInfo, repo: &Json) {
    let tag = py_str(&repo["tag_name"]);
    let link = if repo["dist"] == Json::Bool(true) {
        pathinfo.distrepo(0, &tag, None).with_file_name("latest")
    } else {
        pathinfo.repo(0, &tag).with_file_name("latest")
    };
    let id = repo["id"].as_i64().unwrap_or_default().to_string();
    // a new link beside the old one, renamed over it (atomic for readers)
    let tmp = link.with_file_name(".latest.new");
    let _ = std::fs::remove_file(&tmp);
    let res = std::os::unix::fs::symlink(&id, &tmp).and_then(|_| std::fs::rename(&tmp, &link));
    if let Err(e) = res {
        tracing::error!("Unable to create latest link {}: {e}", link.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::tags::py_json_dumps;

    /// The line writer says what `json.dumps` of upstream's dict says.
    #[test]
    fn rpmlist_lines_are_python_json_dumps() {
        let mut rpm = TaggedRpm {
            arch: "x86_64".into(),
            build_id: 7,
            buildroot_id: None,
            buildtime: 1_700_000_000,
            draft: None,
            epoch: Some(2),
            extra: Some(json!({"k": ["é\"\n", 1, null, true], "x": {}})),
            id: 42,
            metadata_only: true,
            name: "na\\me".into(),
            payloadhash: "0123abcd".into(),
            release: "1.fc42".into(),
            sigkey: None,
            size: 12345,
            version: "1.0~rc1".into(),
        };
        let expect = |rpm: &TaggedRpm| {
            py_json_dumps(&json!({
                "name": rpm.name, "version": rpm.version, "release": rpm.release,
                "arch": rpm.arch, "id": rpm.id, "epoch": rpm.epoch, "draft": rpm.draft,
                "payloadhash": rpm.payloadhash, "size": rpm.size, "buildtime": rpm.buildtime,
                "buildroot_id": rpm.buildroot_id, "build_id": rpm.build_id,
                "metadata_only": rpm.metadata_only, "extra": rpm.extra,
            })) + "\n"
        };
        let mut out = String::new();
        rpmlist_line(&rpm, &mut out);
        assert_eq!(out, expect(&rpm));
        rpm.epoch = None;
        rpm.draft = Some(false);
        rpm.buildroot_id = Some(3);
        rpm.extra = None;
        rpm.metadata_only = false;
        out.clear();
        rpmlist_line(&rpm, &mut out);
        assert_eq!(out, expect(&rpm));
        assert!(out.contains("\"extra\": null}"));
    }
}
