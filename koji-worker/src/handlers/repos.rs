//! `newRepo` and `createrepo`, with upstream's requests and results.
//!
//! `newRepo(tag, event=None, ..., opts=None)` asks the hub to start a
//! repo (`host.repoInit`, which writes each arch's `pkglist` into the
//! content store), runs one `createrepo` subtask per arch and finishes
//! with `host.repoDone`; it answers `[repo_id, event_id]`.
//!
//! `createrepo(repo_id, arch, oldrepo)` runs createrepo_c over the arch's
//! `pkglist` (the packages are reached through the repo's `toplink`, so
//! the builder needs the content store mounted: `topdir`), reusing the
//! previous repo's metadata with `--update`, merges the tag's external
//! repos with mergerepo_c, and uploads the metadata; it answers
//! `[uploadpath, [file, ...]]`.

use super::{builder, note, run_logged};
use crate::client::kw;
use crate::runner::{fail, to_core, TaskCtx};
use anyhow::{Context as _, Result};
use koji_core::task::{TaskContext, TaskHandler};
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const GENERIC: i32 = 1000;
const PARAMETER: i32 = 1019;

builtin!(
    NewRepoTask,
    NewRepoParams {
        tag,
        event,
        src,
        debuginfo,
        separate_src,
        opts
    },
    "newRepo(tag, event=None, src=None, debuginfo=None, separate_src=None, opts=None)",
    0.1,
    |c, p| new_repo(c, p)
);
builtin!(
    CreaterepoTask,
    CreaterepoParams {
        repo_id,
        arch,
        oldrepo
    },
    "createrepo(repo_id, arch, oldrepo)",
    1.5,
    |c, p| createrepo(c, &p.repo_id, &p.arch, &p.oldrepo)
);

/// The content store, which repo tasks need on this machine.
fn topdir(ctx: &TaskCtx) -> Result<PathBuf> {
    match &ctx.cfg.topdir {
        Some(t) if t.is_dir() => Ok(t.clone()),
        Some(t) => Err(fail(
            GENERIC,
            format!("No access to repos dir {}", t.join("repos").display()),
        )),
        None => Err(fail(
            GENERIC,
            "No access to repos dir: repo tasks need the content store (topdir)",
        )),
    }
}

/// A name the hub gave for a path (a tag name may hold `/`, an arch
/// not): never absolute, never `.` or `..` in it.
fn component(v: &Json, what: &str) -> Result<String> {
    let s = v
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| v.to_string());
    let bad = s.is_empty()
        || s.split('/').any(|c| c.is_empty() || c == "." || c == "..")
        || (what == "arch" && s.contains('/'));
    if bad {
        return Err(fail(GENERIC, format!("Invalid {what}: {s}")));
    }
    Ok(s)
}

fn repo_dir(top: &Path, repo_id: i64, tag: &str) -> PathBuf {
    top.join("repos").join(tag).join(repo_id.to_string())
}

async fn new_repo(ctx: &TaskCtx, p: NewRepoParams) -> Result<Json> {
    let mut get_tag = Map::new();
    get_tag.insert("strict".into(), json!(true));
    if !p.event.is_null() {
        get_tag.insert("event".into(), p.event.clone());
    }
    let tinfo = ctx
        .hub
        .call("getTag", vec![p.tag.clone(), kw(Json::Object(get_tag))])
        .await?;
    // the legacy options, which newer callers put in `opts`
    let mut legacy = Map::new();
    for (k, v) in [
        ("src", &p.src),
        ("debuginfo", &p.debuginfo),
        ("separate_src", &p.separate_src),
    ] {
        if !v.is_null() {
            legacy.insert(k.into(), json!(koji_core::api::truthy(v)));
        }
    }
    let mut opts = p.opts.clone();
    if !legacy.is_empty() {
        if !opts.is_null() {
            return Err(fail(
                PARAMETER,
                "opts parameter cannot be combined with legacy options",
            ));
        }
        tracing::warn!(
            "The src, debuginfo, and separate_src parameters for newRepo tasks are \
             deprecated. Use the opts parameter."
        );
        opts = Json::Object(legacy);
    }
    let top = topdir(ctx)?;
    let mut init = Map::new();
    init.insert("opts".into(), opts);
    init.insert("task_id".into(), json!(ctx.id));
    if !p.event.is_null() {
        init.insert("event".into(), p.event.clone());
    }
    let res = ctx
        .hub
        .call(
            "host.repoInit",
            vec![tinfo["id"].clone(), kw(Json::Object(init))],
        )
        .await?;
    let (repo_id, event_id) = (res[0].as_i64().unwrap_or_default(), res[1].clone());
    let tag_name = component(&tinfo["name"], "tag name")?;
    let path = repo_dir(&top, repo_id, &tag_name);
    if !path.is_dir() {
        return Err(fail(
            GENERIC,
            format!("Repo directory missing: {}", path.display()),
        ));
    }
    let mut arches = vec![];
    for e in std::fs::read_dir(&path)?.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name != "groups" && e.path().join("pkglist").is_file() {
            arches.push(name);
        }
    }
    arches.sort();
    let oldrepo = old_repo(ctx, &tinfo).await?;
    let mut subtasks = vec![];
    for arch in &arches {
        let id = ctx
            .subtask(
                "createrepo",
                vec![json!(repo_id), json!(arch), oldrepo.clone()],
                json!({"label": arch, "arch": "noarch"}),
            )
            .await?;
        subtasks.push((arch.clone(), id));
    }
    let mut data = Map::new();
    if !subtasks.is_empty() {
        let ids: Vec<i64> = subtasks.iter().map(|(_, id)| *id).collect();
        let results = ctx.wait_all(&ids, true).await?;
        for (arch, id) in &subtasks {
            if let Some((_, r)) = results.iter().find(|(t, _)| t == id) {
                data.insert(arch.clone(), r.clone());
            }
        }
    }
    ctx.hub
        .call("host.repoDone", vec![json!(repo_id), Json::Object(data)])
        .await?;
    Ok(json!([repo_id, event_id]))
}

/// Upstream's `get_old_repo`: the tag's current repo, else one of its
/// `repo.oldrepo_hint` tags', else the nearest ancestor's; its metadata
/// seeds `createrepo_c --update`.
async fn old_repo(ctx: &TaskCtx, tinfo: &Json) -> Result<Json> {
    let with_tag = |mut repo: Json, tag_id: &Json| {
        if let Json::Object(m) = &mut repo {
            m.insert("tag_id".into(), tag_id.clone());
        }
        repo
    };
    let repo = ctx.hub.call("getRepo", vec![tinfo["id"].clone()]).await?;
    if !repo.is_null() {
        return Ok(with_tag(repo, &tinfo["id"]));
    }
    let hints = match &tinfo["extra"]["repo.oldrepo_hint"] {
        Json::Null => vec![],
        Json::Array(a) => a.clone(),
        other => vec![other.clone()],
    };
    for hint in hints {
        let reftag = ctx
            .hub
            .call("getTag", vec![hint.clone(), kw(json!({"strict": false}))])
            .await?;
        if reftag.is_null() {
            tracing::warn!("oldrepo_hint refers to invalid tag: {hint}");
            continue;
        }
        let repo = ctx.hub.call("getRepo", vec![reftag["id"].clone()]).await?;
        if !repo.is_null() {
            return Ok(with_tag(repo, &reftag["id"]));
        }
    }
    let mut parents = ctx
        .hub
        .call("getFullInheritance", vec![tinfo["id"].clone()])
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    parents.sort_by_key(|l| l["currdepth"].as_i64());
    for link in parents {
        let repo = ctx
            .hub
            .call("getRepo", vec![link["parent_id"].clone()])
            .await?;
        if !repo.is_null() {
            return Ok(with_tag(repo, &link["parent_id"]));
        }
    }
    Ok(Json::Null)
}

/// The repo a createrepo-like subtask works on, which must still be INIT.
pub(super) async fn init_repo_info(ctx: &TaskCtx, repo_id: &Json) -> Result<Json> {
    let rinfo = ctx
        .hub
        .call(
            "repoInfo",
            vec![repo_id.clone(), kw(json!({"strict": true}))],
        )
        .await?;
    if rinfo["state"].as_i64() != Some(0) {
        return Err(fail(
            GENERIC,
            format!(
                "Repo {} not in INIT state (got {})",
                rinfo["id"], rinfo["state"]
            ),
        ));
    }
    Ok(rinfo)
}

async fn createrepo(ctx: &TaskCtx, repo_id: &Json, arch: &Json, oldrepo: &Json) -> Result<Json> {
    let rinfo = init_repo_info(ctx, repo_id).await?;
    let top = topdir(ctx)?;
    let arch = component(arch, "arch")?;
    let repo_id = rinfo["id"].as_i64().unwrap_or_default();
    let toprepodir = repo_dir(&top, repo_id, &component(&rinfo["tag_name"], "tag name")?);
    let repodir = toprepodir.join(&arch);
    if !repodir.is_dir() {
        return Err(fail(
            GENERIC,
            format!("Repo directory missing: {}", repodir.display()),
        ));
    }
    let groupdata = toprepodir.join("groups").join("comps.xml");
    let outdir = ctx.workdir.join("repo");
    let datadir = outdir.join("repodata");
    let pkglist = repodir.join("pkglist");
    let pkglist = (std::fs::metadata(&pkglist)?.len() > 0).then_some(pkglist);
    let log = ctx.workdir.join("createrepo.log");
    ctx.stream_log(&log).await.map_err(anyhow::Error::from)?;

    std::fs::create_dir_all(&outdir)?;
    let external = ctx
        .hub
        .call(
            "getExternalRepoList",
            vec![
                json!(rinfo["tag_id"]),
                kw(json!({"event": rinfo["create_event"]})),
            ],
        )
        .await?
        .as_array()
        .cloned()
        .unwrap_or_default();
    // chunked metadata (see `koji_worker::repodata`) where mergerepo_c
    // does not rewrite it
    let splice = ctx.cfg.createrepo_splice && external.is_empty() && pkglist.is_some();
    let mut olddata = None;
    if pkglist.is_some() && !oldrepo.is_null() && ctx.cfg.createrepo_update {
        let old = ctx
            .hub
            .call(
                "repoInfo",
                vec![oldrepo["id"].clone(), kw(json!({"strict": true}))],
            )
            .await?;
        let dir = repo_dir(
            &top,
            old["id"].as_i64().unwrap_or_default(),
            &component(&old["tag_name"], "tag name")?,
        )
        .join(&arch)
        .join("repodata");
        if dir.is_dir() {
            olddata = Some(dir);
        } else {
            note(&log, &format!("old repodata is missing: {}", dir.display()));
        }
    }
    let plan = match (&olddata, &pkglist) {
        (Some(old), Some(list)) if splice => {
            let lines: Vec<String> = std::fs::read_to_string(list)?
                .lines()
                .filter(|l| !l.is_empty())
                .map(str::to_owned)
                .collect();
            crate::repodata::plan(old, &repodir, &lines, ctx.cfg.createrepo_skip_stat)?
        }
        _ => None,
    };
    let mut spliced = false;
    if let (Some(plan), Some(old)) = (plan, &olddata) {
        note(
            &log,
            &format!(
                "reusing the metadata of {} ({} packages to add)",
                old.display(),
                plan.added.len()
            ),
        );
        match splice_repo(ctx, plan, &repodir, &groupdata, &datadir, &log).await {
            Ok(()) => spliced = true,
            Err(e) => {
                // createrepo_c --update, then
                note(&log, &format!("cannot reuse the old chunks: {e:#}"));
                let _ = std::fs::remove_dir_all(&datadir);
            }
        }
    }
    if !spliced {
        let mut cmd = createrepo_cmd(&outdir, pkglist.as_deref(), &groupdata, splice);
        if let Some(old) = &olddata {
            copy_dir(old, &datadir)?;
            // rewritten by mergerepo_c when there are external repos
            let _ = std::fs::remove_file(datadir.join("pkgorigins.gz"));
            let _ = std::fs::remove_file(datadir.join(crate::repodata::INDEX_NAME));
            cmd.arg("--update");
            if ctx.cfg.createrepo_skip_stat {
                cmd.arg("--skip-stat");
            }
        }
        cmd.arg(if pkglist.is_some() { &repodir } else { &outdir });
        run_createrepo(ctx, cmd, &log).await?;
        if splice {
            let dir = outdir.clone();
            let t = std::time::Instant::now();
            let res = tokio::task::spawn_blocking(move || crate::repodata::chunk(&dir)).await;
            match res.map_err(anyhow::Error::from).and_then(|r| r) {
                Ok(()) => note(
                    &log,
                    &format!("chunked in {:.3} s", t.elapsed().as_secs_f64()),
                ),
                Err(e) => {
                    // createrepo_c's metadata stands as it is; the next
                    // repo runs createrepo_c --update
                    note(&log, &format!("cannot chunk the metadata: {e:#}"));
                    let _ = std::fs::remove_file(datadir.join(crate::repodata::INDEX_NAME));
                }
            }
        }
    }

    if !external.is_empty() {
        merge_repos(
            ctx, repo_id, &repodir, &outdir, &arch, &groupdata, &external, &log,
        )
        .await?;
    } else if pkglist.is_none() {
        std::fs::write(
            datadir.join("EMPTY_REPO"),
            "This repo is empty because its tag has no content for this arch\n",
        )?;
    }

    let mut files = vec![];
    let mut names: Vec<PathBuf> = std::fs::read_dir(&datadir)?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    names.sort();
    for path in names {
        ctx.upload(&path).await?;
        files.push(json!(path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()));
    }
    Ok(json!([ctx.upload_dir(), files]))
}

/// The repo's metadata from the old repo's chunks and createrepo_c's
/// entries for the packages `plan` adds (see `koji_worker::repodata`).
async fn splice_repo(
    ctx: &TaskCtx,
    plan: crate::repodata::Plan,
    repodir: &Path,
    groupdata: &Path,
    datadir: &Path,
    log: &Path,
) -> Result<()> {
    let fresh = ctx.workdir.join("added");
    std::fs::create_dir_all(&fresh)?;
    let list = (!plan.added.is_empty()).then(|| ctx.workdir.join("added.pkglist"));
    if let Some(l) = &list {
        std::fs::write(l, plan.added.join("\n") + "\n")?;
    }
    let mut cmd = createrepo_cmd(&fresh, list.as_deref(), groupdata, true);
    cmd.arg(if list.is_some() { repodir } else { &fresh });
    run_createrepo(ctx, cmd, log).await?;
    std::fs::create_dir_all(datadir)?;
    let to = datadir.to_path_buf();
    let t = std::time::Instant::now();
    tokio::task::spawn_blocking(move || crate::repodata::splice(plan, &fresh, &to)).await??;
    note(
        log,
        &format!("spliced in {:.3} s", t.elapsed().as_secs_f64()),
    );
    Ok(())
}

/// createrepo_c writing into `outdir` (upstream kojid's options), over
/// `pkglist` when given, with the comps and (upstream's `-d`) sqlite
/// databases; for chunked metadata without databases and in gzip whatever
/// createrepo_c's default (1.0's is zstd). The directory to index is the
/// caller's last argument.
fn createrepo_cmd(
    outdir: &Path,
    pkglist: Option<&Path>,
    groupdata: &Path,
    chunked: bool,
) -> tokio::process::Command {
    let mut cmd = tokio::process::Command::new("createrepo_c");
    cmd.args(["--error-exit-val", "-v", "-o"]).arg(outdir);
    if chunked {
        cmd.args(["--no-database", "--general-compress-type=gz"]);
    } else {
        cmd.arg("-d");
    }
    if let Some(list) = pkglist {
        cmd.arg("-i").arg(list);
    }
    if groupdata.is_file() {
        cmd.arg("-g").arg(groupdata);
    }
    cmd
}

async fn run_createrepo(ctx: &TaskCtx, mut cmd: tokio::process::Command, log: &Path) -> Result<()> {
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    note(log, &format!("running {cmd:?}"));
    let t = std::time::Instant::now();
    let status = run_logged(cmd, log, Duration::from_secs(ctx.cfg.rpmbuild_timeout)).await?;
    if !status.success() {
        return Err(fail(
            GENERIC,
            format!("failed to create repo: createrepo_c exited with {status}"),
        ));
    }
    note(
        log,
        &format!("createrepo_c took {:.3} s", t.elapsed().as_secs_f64()),
    );
    Ok(())
}

/// Merges the tag's external repos into the local metadata with
/// mergerepo_c, in the repos' merge mode (koji, simple or bare; one mode
/// per tag, as upstream).
#[allow(clippy::too_many_arguments)]
async fn merge_repos(
    ctx: &TaskCtx,
    repo_id: i64,
    repodir: &Path,
    outdir: &Path,
    arch: &str,
    groupdata: &Path,
    external: &[Json],
    log: &Path,
) -> Result<()> {
    let mut modes: Vec<String> = external
        .iter()
        .map(|r| r["merge_mode"].as_str().unwrap_or("koji").to_string())
        .collect();
    modes.sort();
    modes.dedup();
    if modes.len() > 1 {
        return Err(fail(
            GENERIC,
            format!("Found multiple merge modes for external repos: {modes:?}\n"),
        ));
    }
    let mode = modes.pop().unwrap_or_else(|| "koji".into());
    let premerge = ctx.workdir.join(format!("repo_{repo_id}_premerge"));
    std::fs::rename(outdir, &premerge)?;
    std::fs::create_dir_all(outdir)?;
    let mut repos = vec![format!("file://{}/", premerge.display())];
    for r in external {
        let arches = r["arches"].as_str().unwrap_or_default();
        if !arches.is_empty() && !arches.split_whitespace().any(|a| a == arch) {
            continue;
        }
        repos.push(r["url"].as_str().unwrap_or_default().replace("$arch", arch));
    }
    let mut cmd = tokio::process::Command::new("mergerepo_c");
    match mode.as_str() {
        "simple" => {
            cmd.args(["--koji", "--simple"]);
        }
        "bare" => {
            cmd.args(["--pkgorigins", "--all"]);
        }
        _ => {
            cmd.arg("--koji");
        }
    }
    if mode != "bare" {
        cmd.arg("-b").arg(repodir.join("blocklist"));
    }
    cmd.args(["-a", arch, "-o"]).arg(outdir);
    cmd.arg("--arch-expand");
    if groupdata.is_file() {
        cmd.arg("-g").arg(groupdata);
    }
    for r in &repos {
        cmd.args(["-r", r]);
    }
    cmd.env("TMPDIR", &ctx.workdir)
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true);
    let log = log.with_file_name("mergerepos.log");
    ctx.stream_log(&log).await.map_err(anyhow::Error::from)?;
    note(&log, &format!("running {cmd:?}"));
    let status = run_logged(cmd, &log, Duration::from_secs(ctx.cfg.rpmbuild_timeout))
        .await
        .context("mergerepo_c")?;
    if !status.success() {
        return Err(fail(
            GENERIC,
            format!("failed to merge repos: mergerepo_c exited with {status}"),
        ));
    }
    Ok(())
}

/// Copies a directory of regular files (repodata) to `dst`.
fn copy_dir(src: &Path, dst: &Path) -> Result<()> {
    std::fs::create_dir_all(dst)?;
    for e in std::fs::read_dir(src)?.flatten() {
        let ft = e.file_type()?;
        if ft.is_file() {
            std::fs::copy(e.path(), dst.join(e.file_name()))?;
        } else if ft.is_dir() {
            copy_dir(&e.path(), &dst.join(e.file_name()))?;
        }
    }
    Ok(())
}

// (newer_than, a legacy timestamp, is ignored, as upstream does now)
builtin!(
    WaitrepoTask,
    WaitrepoParams {
        tag,
        newer_than,
        nvrs,
        min_event
    },
    "waitrepo(tag, newer_than=None, nvrs=None, min_event=None)",
    0.2,
    |c, p| async move {
        let min_event = legacy_min_event(c, &p.tag, &p.newer_than, &p.min_event).await?;
        wait_repo(c, &p.tag, &p.nvrs, &min_event).await
    }
);

/// The `min_event` a legacy `newer_than` means (upstream's rule): `"now"`
/// is the tag's last change; a timestamp, the tag's first change after
/// the last event before it, or its last change when it has not changed
/// since.
async fn legacy_min_event(
    ctx: &TaskCtx,
    tag: &Json,
    newer_than: &Json,
    min_event: &Json,
) -> Result<Json> {
    if newer_than.is_null() {
        return Ok(min_event.clone());
    }
    if !min_event.is_null() {
        return Err(fail(GENERIC, "newer_than and min_event args confict"));
    }
    match newer_than {
        Json::String(s) if s.eq_ignore_ascii_case("now") => Ok(json!("last")),
        Json::Number(ts) => {
            let base = ctx
                .hub
                .call(
                    "getLastEvent",
                    vec![kw(json!({"before": ts, "strict": false}))],
                )
                .await?;
            let first = ctx
                .hub
                .call(
                    "tagFirstChangeEvent",
                    vec![tag.clone(), kw(json!({"after": base["id"]}))],
                )
                .await?;
            Ok(if first.is_null() {
                json!("last")
            } else {
                first
            })
        }
        other => Err(fail(
            GENERIC,
            format!(
                "Invalid value for newer_than: {}",
                koji_core::util::py_str(other)
            ),
        )),
    }
}

/// The repo a task builds against when none was given (upstream's
/// `BaseTaskHandler.getRepo` with its `RepoWatcher`): the builds of `nvrs`
/// must be tagged, then the hub is asked for a repo of `tag`
/// (`repo.request`, which answers a current one at once); one as new as
/// the tag's last change when `wait` (upstream's `wait_repo`). A repo that
/// is there and has the builds is used; otherwise a `waitrepo` subtask
/// waits for one, so the wait shows in the task tree. Never the builder's
/// own system: a build always has a repo.
pub(super) async fn repo_for_build(
    ctx: &TaskCtx,
    tag: &Json,
    nvrs: &[Json],
    wait: bool,
) -> Result<Json> {
    let taginfo = ctx
        .hub
        .call("getTag", vec![tag.clone(), kw(json!({"strict": true}))])
        .await?;
    let tag_id = taginfo["id"].clone();
    let builds = parse_nvrs(nvrs)?;
    let mut min_event = if wait {
        ctx.hub
            .call("tagLastChangeEvent", vec![tag_id.clone()])
            .await?
    } else {
        Json::Null
    };
    // no point in asking for a repo while the builds are not even tagged
    if builds.is_empty() || builds_present(ctx, &tag_id, &builds, &Json::Null).await? {
        let check = ctx
            .hub
            .call(
                "repo.request",
                vec![tag_id.clone(), kw(json!({"min_event": min_event}))],
            )
            .await?;
        let repo = &check["repo"];
        if !repo.is_null() {
            let new_enough = match (min_event.as_i64(), repo["create_event"].as_i64()) {
                (Some(min), Some(ev)) => ev >= min,
                _ => true,
            };
            if repo["tag_id"] == tag_id
                && new_enough
                && builds_present(ctx, &tag_id, &builds, &repo["create_event"]).await?
            {
                return Ok(repo.clone());
            }
        } else if min_event.is_null() {
            // wait for what the hub's request asks
            min_event = check["request"]["min_event"].clone();
        }
    }
    let t = ctx
        .subtask(
            "waitrepo",
            vec![
                taginfo["name"].clone(),
                Json::Null,
                Json::Array(nvrs.to_vec()),
                min_event,
            ],
            json!({"label": "waitrepo"}),
        )
        .await?;
    let res = ctx.wait_all(&[t], true).await?;
    res.into_iter()
        .next()
        .map(|(_, r)| r)
        .filter(|r| r["id"].is_i64())
        .ok_or_else(|| fail(GENERIC, format!("waitrepo task {t} answered no repo")))
}

/// NVRs as upstream's `koji.parse_NVR` reads them (an epoch prefix
/// dropped), `(name, version, release)`.
fn parse_nvrs<'a>(
    nvrs: impl IntoIterator<Item = &'a Json>,
) -> Result<Vec<(String, String, String)>> {
    nvrs.into_iter()
        .map(|n| {
            let s = n.as_str().unwrap_or_default();
            koji_core::hub::builds::parse_nvr(s)
                .map(|(name, ver, rel, _)| (name, ver, rel))
                .map_err(|_| fail(GENERIC, format!("invalid format: {s}")))
        })
        .collect()
}

/// Whether every build of `builds` is tagged in `tag` (inherited too),
/// as of `event` (upstream's `checkForBuilds`).
async fn builds_present(
    ctx: &TaskCtx,
    tag: &Json,
    builds: &[(String, String, String)],
    event: &Json,
) -> Result<bool> {
    for (name, ver, rel) in builds {
        let tagged = ctx
            .hub
            .call(
                "listTagged",
                vec![
                    tag.clone(),
                    kw(json!({"event": event, "package": name, "inherit": true})),
                ],
            )
            .await?;
        let found = tagged.as_array().is_some_and(|l| {
            l.iter()
                .any(|b| b["version"] == json!(ver) && b["release"] == json!(rel))
        });
        if !found {
            return Ok(false);
        }
    }
    Ok(true)
}

/// `waitrepo(tag, newer_than=None, nvrs=None, min_event=None)`: waits for
/// the builds to be tagged, then for a repo of the tag that has them (or
/// that is at least as new as `min_event`), asking the hub for one
/// (`repo.request`); answers the repo.
async fn wait_repo(ctx: &TaskCtx, tag: &Json, nvrs: &Json, min_event: &Json) -> Result<Json> {
    let taginfo = ctx
        .hub
        .call("getTag", vec![tag.clone(), kw(json!({"strict": true}))])
        .await?;
    let tag_id = taginfo["id"].clone();
    let builds = parse_nvrs(nvrs.as_array().into_iter().flatten())?;
    let pause = Duration::from_secs(2);
    // upstream's waitrepo gives up after two hours
    let deadline = std::time::Instant::now() + Duration::from_secs(120 * 60);
    let timed_out = |what: &str| {
        fail(
            GENERIC,
            format!(
                "Unsuccessfully waited 120 minutes for {what} in the {} repo",
                taginfo["name"].as_str().unwrap_or_default()
            ),
        )
    };
    while !builds.is_empty() && !builds_present(ctx, &tag_id, &builds, &Json::Null).await? {
        if std::time::Instant::now() > deadline {
            return Err(timed_out("the builds to be tagged"));
        }
        tokio::time::sleep(pause).await;
    }
    let mut min = if builds.is_empty() {
        min_event.clone()
    } else {
        ctx.hub
            .call("tagLastChangeEvent", vec![tag_id.clone()])
            .await?
    };
    loop {
        let check = ctx
            .hub
            .call(
                "repo.request",
                vec![tag_id.clone(), kw(json!({"min_event": min}))],
            )
            .await?;
        let mut repo = check["repo"].clone();
        if repo.is_null() {
            let req = check["request"]["id"].clone();
            loop {
                if std::time::Instant::now() > deadline {
                    return Err(timed_out("a new repo"));
                }
                tokio::time::sleep(pause).await;
                let c = ctx.hub.call("repo.checkRequest", vec![req.clone()]).await?;
                if !c["repo"].is_null() {
                    repo = c["repo"].clone();
                    break;
                }
                if c["request"]["active"] == json!(false) {
                    let msg = match c["request"]["task_id"].as_i64() {
                        Some(t) => format!(
                            "Repo request inactive: task {t} state is {}",
                            c["request"]["task_state"]
                        ),
                        None => "Repo request no longer active".to_string(),
                    };
                    return Err(fail(GENERIC, msg));
                }
            }
        }
        if builds_present(ctx, &tag_id, &builds, &repo["create_event"]).await? {
            return Ok(repo);
        }
        // the builds came after this repo: ask for a newer one
        if std::time::Instant::now() > deadline {
            return Err(timed_out("a repo with the builds"));
        }
        tokio::time::sleep(pause).await;
        min = ctx
            .hub
            .call("tagLastChangeEvent", vec![tag_id.clone()])
            .await?;
    }
}
