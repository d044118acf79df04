//! `distRepo` and `createdistrepo`, with upstream's requests and results:
//! a dist repo holds the tag's RPMs themselves (the signed copies with
//! the first of the requested keys each RPM has), under `Packages/`, with
//! createrepo_c metadata; the hub links the RPMs into place
//! (`host.distRepoMove`) and marks the repo READY (`host.repoDone`).
//!
//! Delta RPMs (`delta`: dist repos to delta against) and zchunk metadata
//! (`zck`, `zck_dict_dir`) as upstream's options; the metadata is seeded
//! from the tag's previous dist repo (`--update`). With `multilib` (a
//! python-multilib config file the client uploaded), a 64-bit arch's repo
//! also takes the 32-bit packages the config chooses, with what they
//! require, from the 32-bit arch's repo made just before (see
//! [`koji_core::multilib`]).

use super::builder;
use super::{note, run_logged};
use crate::client::kw;
use crate::runner::{fail, to_core, TaskCtx};
use anyhow::Result;
use koji_core::pathinfo::PathInfo;
use koji_core::task::{TaskContext, TaskHandler};
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};
use std::time::Duration;

const GENERIC: i32 = 1000;
const BUILD_ERROR: i32 = 1005;

builtin!(
    DistRepoTask,
    DistRepoParams {
        tag,
        repo_id,
        keys,
        task_opts
    },
    "distRepo(tag, repo_id, keys, task_opts)",
    0.1,
    |c, p| dist_repo(c, &p.tag, &p.repo_id, &p.keys, &p.task_opts)
);

builtin!(
    CreateDistRepoTask,
    CreateDistRepoParams {
        tag,
        repo_id,
        arch,
        keys,
        opts
    },
    "createdistrepo(tag, repo_id, arch, keys, opts)",
    1.5,
    |c, p| create_dist_repo(c, &p.tag, &p.repo_id, &p.arch, &p.keys, &p.opts)
);

async fn dist_repo(
    ctx: &TaskCtx,
    tag: &Json,
    repo_id: &Json,
    keys: &Json,
    task_opts: &Json,
) -> Result<Json> {
    let mut opts = task_opts.as_object().cloned().unwrap_or_default();
    let tinfo = ctx
        .hub
        .call(
            "getTag",
            vec![
                tag.clone(),
                kw(json!({"strict": true, "event": opts.get("event").cloned().unwrap_or(Json::Null)})),
            ],
        )
        .await?;
    let mut arches: Vec<String> = opts
        .get("arch")
        .and_then(Json::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    if arches.is_empty() {
        arches = tinfo["arches"]
            .as_str()
            .unwrap_or_default()
            .split_whitespace()
            .map(str::to_owned)
            .collect();
        opts.insert("arch".into(), json!(arches));
    }
    if arches.is_empty() {
        return Err(fail(GENERIC, "No arches specified nor for the tag!"));
    }
    let mut canon: Vec<String> = arches.iter().map(|a| super::canon_arch(a)).collect();
    canon.sort();
    canon.dedup();
    // with multilib, the arches that are not multilib arches (i386 for
    // x86_64) first: a 64-bit repo takes 32-bit packages from theirs, in
    // place
    let multilib = opts.get("multilib").is_some_and(koji_core::api::truthy);
    let (first, second): (Vec<String>, Vec<String>) = if multilib {
        canon
            .into_iter()
            .partition(|a| !koji_core::multilib::is_multilib_arch(a))
    } else {
        (canon, vec![])
    };
    for group in [first, second] {
        if group.is_empty() {
            continue;
        }
        let mut subtasks = vec![];
        for arch in &group {
            let t = ctx
                .subtask(
                    "createdistrepo",
                    vec![
                        tag.clone(),
                        repo_id.clone(),
                        json!(arch),
                        keys.clone(),
                        Json::Object(opts.clone()),
                    ],
                    json!({"label": arch, "arch": "noarch"}),
                )
                .await?;
            subtasks.push((arch.clone(), t));
        }
        let ids: Vec<i64> = subtasks.iter().map(|(_, t)| *t).collect();
        ctx.wait_all(&ids, true).await?;
        for (arch, t) in &subtasks {
            ctx.hub
                .call(
                    "host.distRepoMove",
                    vec![
                        repo_id.clone(),
                        json!(koji_core::pathinfo::PathInfo::taskrelpath(*t)),
                        json!(arch),
                    ],
                )
                .await?;
        }
    }
    ctx.hub
        .call("host.repoDone", vec![repo_id.clone(), json!({})])
        .await?;
    Ok(json!(format!(
        "Dist repository #{} successfully generated",
        repo_id
    )))
}

/// The directories of old packages createrepo_c makes delta RPMs against:
/// for each dist repo of `delta` (repo ids), its `Packages/<letter>/`
/// directories of `arch` (createrepo_c looks at the files of the
/// directories it is given, not below them; upstream gives the repo's top
/// directory, where it finds nothing).
async fn delta_dirs(
    ctx: &TaskCtx,
    top: &Path,
    arch: &str,
    delta: Option<&Json>,
) -> Result<Vec<PathBuf>> {
    let mut out = vec![];
    let ids = match delta {
        Some(Json::Array(a)) => a.clone(),
        None | Some(Json::Null) => vec![],
        Some(other) => vec![other.clone()],
    };
    for id in ids {
        let old = ctx
            .hub
            .call("repoInfo", vec![id.clone(), kw(json!({"strict": true}))])
            .await?;
        if old["dist"] != json!(true) {
            return Err(fail(
                GENERIC,
                "Base repo for deltas must also be a dist repo",
            ));
        }
        let tag = old["tag_name"].as_str().unwrap_or_default();
        if tag.is_empty() || tag.contains('/') || tag == ".." {
            return Err(fail(GENERIC, format!("Invalid tag name: {tag}")));
        }
        let path = top.join("repos-dist").join(tag).join(old["id"].to_string());
        if !path.exists() {
            return Err(fail(
                GENERIC,
                format!("Base drpm repo missing: {}", path.display()),
            ));
        }
        for sub in ["Packages", "debug/Packages"] {
            if let Ok(rd) = std::fs::read_dir(path.join(arch).join(sub)) {
                let mut dirs: Vec<PathBuf> = rd
                    .flatten()
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                    .map(|e| e.path())
                    .collect();
                dirs.sort();
                out.extend(dirs);
            }
        }
    }
    Ok(out)
}

/// A copy of directory `from` (its files, recursively) at `to`.
fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)?.flatten() {
        let ft = e.file_type()?;
        let dst = to.join(e.file_name());
        if ft.is_dir() {
            copy_dir(&e.path(), &dst)?;
        } else if ft.is_file() {
            std::fs::copy(e.path(), dst)?;
        }
    }
    Ok(())
}

/// The RPM arches a dist repo arch takes (upstream's `compat`).
fn compat(arch: &str) -> Vec<&str> {
    let list: &[&str] = match arch {
        "i386" => &["athlon", "i686", "i586", "i486", "i386", "noarch"],
        "x86_64" => &["amd64", "ia32e", "x86_64", "noarch"],
        "ppc64" => &["ppc64p7", "ppc64pseries", "ppc64iseries", "ppc64", "noarch"],
        "arm" => &[
            "arm",
            "armv4l",
            "armv4tl",
            "armv5tel",
            "armv5tejl",
            "armv6l",
            "armv7l",
            "noarch",
        ],
        "armhfp" => &["armv7hl", "armv7hnl", "noarch"],
        "sparc" => &["sparcv9v", "sparcv9", "sparcv8", "sparc", "noarch"],
        "sparc64" => &["sparc64v", "sparc64", "noarch"],
        "alpha" => &["alphaev6", "alphaev56", "alphaev5", "alpha", "noarch"],
        "src" => &["src"],
        _ => &[],
    };
    if list.is_empty() {
        vec![arch, "noarch"]
    } else {
        list.to_vec()
    }
}

/// The first of `keys` the RPM has a signature with (key ids compared
/// case-insensitively, a short id matching the end of a long one).
fn pick_key<'a>(keys: &[String], avail: &'a [String]) -> Option<&'a String> {
    for k in keys {
        if let Some(a) = avail.iter().find(|a| {
            a.eq_ignore_ascii_case(k) || (a.len() > k.len() && a.to_lowercase().ends_with(k))
        }) {
            return Some(a);
        }
    }
    None
}

/// A file of the task's upload directory, in `reldir` below it.
async fn upload_in(ctx: &TaskCtx, local: &Path, reldir: &str) -> Result<()> {
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let dir = if reldir.is_empty() {
        ctx.upload_dir()
    } else {
        format!("{}/{reldir}", ctx.upload_dir())
    };
    ctx.hub.upload(local, &dir, &name).await?;
    Ok(())
}

/// `text` written as `name` in the task's working directory and uploaded
/// with the task's output.
async fn upload_log(ctx: &TaskCtx, name: &str, text: &str) -> Result<()> {
    let f = ctx.workdir.join(name);
    std::fs::write(&f, text)?;
    upload_in(ctx, &f, "").await
}

async fn create_dist_repo(
    ctx: &TaskCtx,
    tag: &Json,
    repo_id: &Json,
    arch: &Json,
    keys: &Json,
    opts: &Json,
) -> Result<Json> {
    let opts = opts.as_object().cloned().unwrap_or_default();
    let rinfo = super::repos::init_repo_info(ctx, repo_id).await?;
    let top = ctx
        .cfg
        .topdir
        .clone()
        .filter(|t| t.is_dir())
        .ok_or_else(|| fail(GENERIC, "dist repos need the content store here (topdir)"))?;
    let arch = arch.as_str().unwrap_or_default().to_string();
    let tag_name = rinfo["tag_name"].as_str().unwrap_or_default().to_string();
    if tag_name.contains('/') || tag_name == ".." || arch.contains('/') || arch == ".." {
        return Err(fail(GENERIC, "invalid tag or arch name"));
    }
    let groupdata = top
        .join("repos-dist")
        .join(&tag_name)
        .join(rinfo["id"].to_string())
        .join("groups/comps.xml");
    let repodir = ctx.workdir.join("repo");
    std::fs::create_dir_all(&repodir)?;
    let keys: Vec<String> = keys
        .as_array()
        .map(|k| {
            k.iter()
                .filter_map(|x| x.as_str().map(str::to_lowercase))
                .collect()
        })
        .unwrap_or_default();
    let flag = |k: &str| opts.get(k).is_some_and(koji_core::api::truthy);

    // the tag's RPMs for this arch, with the signatures each has
    let mut by_id: std::collections::BTreeMap<i64, Vec<Json>> = Default::default();
    let mut builddirs: std::collections::HashMap<i64, PathBuf> = Default::default();
    for a in compat(&arch) {
        let res = ctx
            .hub
            .call(
                "listTaggedRPMS",
                vec![
                    tag.clone(),
                    kw(json!({
                        "event": opts.get("event").cloned().unwrap_or(Json::Null),
                        "arch": a,
                        "latest": opts.get("latest").cloned().unwrap_or(json!(true)),
                        "inherit": opts.get("inherit").cloned().unwrap_or(json!(true)),
                        "rpmsigs": true,
                    })),
                ],
            )
            .await?;
        for b in res[1].as_array().cloned().unwrap_or_default() {
            if b["draft"] == json!(true) {
                return Err(fail(
                    BUILD_ERROR,
                    format!(
                        "Draft build: {} is not allowed",
                        b["nvr"].as_str().unwrap_or("?")
                    ),
                ));
            }
            let vol = b["volume_name"].as_str().unwrap_or("DEFAULT");
            let base = if vol == "DEFAULT" {
                top.clone()
            } else {
                top.join("vol").join(vol)
            };
            let dir = base
                .join("packages")
                .join(b["name"].as_str().unwrap_or_default())
                .join(b["version"].as_str().unwrap_or_default())
                .join(b["release"].as_str().unwrap_or_default());
            builddirs.insert(b["id"].as_i64().unwrap_or_default(), dir);
        }
        for r in res[0].as_array().cloned().unwrap_or_default() {
            by_id
                .entry(r["id"].as_i64().unwrap_or_default())
                .or_default()
                .push(r);
        }
    }
    let mut kojipkgs = Map::new();
    let mut paths: Vec<(String, PathBuf, bool)> = vec![];
    let mut fs_missing = vec![];
    let mut sig_missing = vec![];
    for sigs in by_id.values() {
        let avail: Vec<String> = sigs
            .iter()
            .filter_map(|r| r["sigkey"].as_str().map(str::to_lowercase))
            .collect();
        let (mut info, key) = match pick_key(&keys, &avail) {
            Some(k) => {
                let r = sigs
                    .iter()
                    .find(|r| r["sigkey"].as_str().map(str::to_lowercase).as_ref() == Some(k))
                    .cloned()
                    .unwrap_or_default();
                (r, Some(k.clone()))
            }
            None => (sigs[0].clone(), None),
        };
        let name = info
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        let (v, rel, a) = (
            info["version"].as_str().unwrap_or_default().to_string(),
            info["release"].as_str().unwrap_or_default().to_string(),
            info["arch"].as_str().unwrap_or_default().to_string(),
        );
        let file = format!("{name}-{v}-{rel}.{a}.rpm");
        let dir = builddirs
            .get(&info["build_id"].as_i64().unwrap_or_default())
            .cloned()
            .unwrap_or_default();
        let path = match &key {
            Some(k) => dir.join("data/signed").join(k).join(&a).join(&file),
            None => {
                sig_missing.push(format!("{name}-{v}-{rel}.{a}: {avail:?}"));
                if flag("skip_missing_signatures") {
                    continue;
                }
                dir.join(&a).join(&file)
            }
        };
        if let Json::Object(m) = &mut info {
            m.insert("sigkey".into(), key.map_or(Json::Null, Json::from));
        }
        if !path.is_file() {
            fs_missing.push(path.display().to_string());
            continue;
        }
        let debug = flag("split_debuginfo") && koji_core::hub::repo_gen::is_debuginfo(&name);
        kojipkgs.insert(file.clone(), info);
        paths.push((file, path, debug));
    }
    let log = ctx.workdir.join("createrepo.log");
    ctx.stream_log(&log).await.map_err(anyhow::Error::from)?;
    let zck = flag("zck");
    let zck_dict_dir = opts
        .get("zck_dict_dir")
        .and_then(Json::as_str)
        .filter(|d| !d.is_empty())
        .map(PathBuf::from);
    if zck_dict_dir.is_some() && !zck {
        return Err(fail(GENERIC, "--zck-dict-dir makes no sense without --zck"));
    }
    if let Some(d) = &zck_dict_dir {
        if d.is_file() {
            return Err(fail(
                GENERIC,
                format!("zchunk dir path is file: {}", d.display()),
            ));
        }
        if !d.is_dir() {
            return Err(fail(
                GENERIC,
                format!("zchunk dir path doesn't exist: {}", d.display()),
            ));
        }
    }
    let oldpkgs = delta_dirs(ctx, &top, &arch, opts.get("delta")).await?;
    // the tag's previous dist repo seeds the metadata
    let oldrepo = ctx
        .hub
        .call(
            "getRepo",
            vec![tag.clone(), kw(json!({"dist": true, "state": 1}))],
        )
        .await?;
    let oldrepodir = oldrepo["id"].as_i64().map(|id| {
        top.join("repos-dist")
            .join(&tag_name)
            .join(id.to_string())
            .join(&arch)
    });
    if !fs_missing.is_empty() {
        upload_log(
            ctx,
            "missing_files.log",
            &format!(
                "Some rpm files were missing.\nMost likely, you want to create these signed copies.\n\nMissing files:\n{}\n",
                fs_missing.join("\n")
            ),
        )
        .await?;
        return Err(fail(
            GENERIC,
            "Packages missing from the filesystem. See missing_files.log.",
        ));
    }
    if !sig_missing.is_empty() {
        upload_log(
            ctx,
            "missing_signatures.log",
            &format!(
                "Some rpms were missing requested signatures.\n{}Requested keys: {keys:?}\n\n# RPM name: available keys\n{}\n",
                if flag("skip_missing_signatures") {
                    "The skip_missing_signatures option was specified, so these files were excluded.\n"
                } else {
                    ""
                },
                sig_missing.join("\n")
            ),
        )
        .await?;
        if !flag("skip_missing_signatures") && !flag("allow_missing_signatures") {
            return Err(fail(
                GENERIC,
                "Unsigned packages found. See missing_signatures.log",
            ));
        }
    }
    if flag("multilib") && koji_core::multilib::is_multilib_arch(&arch) {
        let distdir = top
            .join("repos-dist")
            .join(&tag_name)
            .join(rinfo["id"].to_string());
        let split = flag("split_debuginfo");
        add_multilib(
            ctx,
            &top,
            &distdir,
            &arch,
            &opts,
            &log,
            &mut kojipkgs,
            &mut paths,
            split,
        )
        .await?;
    }
    // Packages/<letter>/<file> links for createrepo_c, and the pkglists
    let mut pkglist = String::new();
    let mut debuglist = String::new();
    for (file, path, debug) in &paths {
        let rel = PathInfo::dist_package(file);
        let link = repodir.join(&rel);
        if let Some(d) = link.parent() {
            std::fs::create_dir_all(d)?;
        }
        std::os::unix::fs::symlink(path, &link)?;
        if *debug {
            debuglist.push_str(&format!("../{rel}\n"));
        } else {
            pkglist.push_str(&format!("{rel}\n"));
        }
    }
    std::fs::write(repodir.join("pkglist"), &pkglist)?;
    std::fs::write(
        repodir.join("kojipkgs"),
        serde_json::to_string(&Json::Object(kojipkgs.clone()))?,
    )?;
    let mut runs = vec![(repodir.clone(), repodir.join("pkglist"), "")];
    if !debuglist.is_empty() {
        let dd = repodir.join("debug");
        std::fs::create_dir_all(&dd)?;
        std::fs::write(dd.join("pkglist"), &debuglist)?;
        runs.push((dd.clone(), dd.join("pkglist"), "debug"));
    }
    for (dir, list, sub) in &runs {
        let mut cmd = tokio::process::Command::new("createrepo_c");
        cmd.args(["--error-exit-val", "-vd", "-i"]).arg(list);
        if groupdata.is_file() {
            cmd.arg("-g").arg(&groupdata);
        }
        if let Some(old) = oldrepodir.as_ref().filter(|_| ctx.cfg.createrepo_update) {
            let olddata = old.join(sub).join("repodata");
            if olddata.is_dir() {
                copy_dir(&olddata, &dir.join("repodata"))?;
                let _ = std::fs::remove_file(dir.join("repodata/pkgorigins.gz"));
                cmd.arg("--update");
                let skip = opts
                    .get("createrepo_skip_stat")
                    .filter(|v| !v.is_null())
                    .map_or(ctx.cfg.distrepo_skip_stat, koji_core::api::truthy);
                if skip {
                    cmd.arg("--skip-stat");
                }
            } else {
                note(
                    &log,
                    &format!("old repodata is missing: {}", olddata.display()),
                );
            }
        }
        if !oldpkgs.is_empty() {
            cmd.arg("--deltas");
            for d in &oldpkgs {
                cmd.arg("--oldpackagedirs").arg(d);
            }
        }
        if zck {
            cmd.arg("--zck");
        }
        if let Some(d) = &zck_dict_dir {
            cmd.arg("--zck-dict-dir").arg(d);
        }
        cmd.arg(dir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        note(&log, &format!("running {cmd:?}"));
        let status = run_logged(cmd, &log, Duration::from_secs(ctx.cfg.rpmbuild_timeout)).await?;
        if !status.success() {
            return Err(fail(
                GENERIC,
                format!("failed to create repo: createrepo_c exited with {status}"),
            ));
        }
    }
    if kojipkgs.is_empty() {
        std::fs::write(
            repodir.join("repodata/EMPTY_REPO"),
            "This repo is empty because its tag has no content for this arch\n",
        )?;
    }
    // everything but the links, and the manifest of it
    let mut manifest = vec![];
    let mut stack = vec![repodir.clone()];
    while let Some(d) = stack.pop() {
        let mut entries: Vec<_> = std::fs::read_dir(&d)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let ft = e.file_type()?;
            if ft.is_dir() {
                stack.push(e.path());
            } else if ft.is_file() {
                let rel = e
                    .path()
                    .strip_prefix(&repodir)
                    .map(Path::to_path_buf)
                    .unwrap_or_default();
                let reldir = rel
                    .parent()
                    .map(|p| p.to_string_lossy().into_owned())
                    .unwrap_or_default();
                upload_in(ctx, &e.path(), &reldir).await?;
                manifest.push(json!(rel.to_string_lossy()));
            }
        }
    }
    let mf = ctx.workdir.join("repo_manifest");
    std::fs::write(&mf, serde_json::to_string_pretty(&Json::Array(manifest))?)?;
    upload_in(ctx, &mf, "").await?;
    Ok(Json::Null)
}

/// The 32-bit packages a 64-bit dist repo takes (kojid's `do_multilib`):
/// each package of the repo that the config's `devel` method chooses
/// brings its 32-bit build (the same file name with the 32-bit arch) from
/// the 32-bit arch's repo of this dist repo, and those bring what they
/// require from that repo. They join `kojipkgs` (marked `_multilib`) and
/// `paths` (their links in the 32-bit repo). Missing files are listed in
/// `missing_multilib.log` and fail the task; so do requirements that
/// repo cannot satisfy, as dnf's depsolving fails upstream.
#[allow(clippy::too_many_arguments)]
async fn add_multilib(
    ctx: &TaskCtx,
    top: &Path,
    distdir: &Path,
    arch: &str,
    opts: &Map<String, Json>,
    log: &Path,
    kojipkgs: &mut Map<String, Json>,
    paths: &mut Vec<(String, PathBuf, bool)>,
    split_debuginfo: bool,
) -> Result<()> {
    let conf_rel = opts
        .get("multilib")
        .and_then(Json::as_str)
        .unwrap_or_default();
    koji_core::pathinfo::check_relpath("multilib config path", conf_rel)
        .map_err(|e| fail(GENERIC, e.to_string()))?;
    let conf_path = top.join("work").join(conf_rel);
    let text = std::fs::read_to_string(&conf_path).map_err(|e| {
        fail(
            GENERIC,
            format!("cannot read the multilib config {conf_rel}: {e}"),
        )
    })?;
    let conf = koji_core::multilib::Config::parse(&text)
        .map_err(|e| fail(GENERIC, format!("multilib config {conf_rel}: {e}")))?;
    let (ml_rpm_arch, ml_dir) = koji_core::multilib::ml_arch(arch)
        .ok_or_else(|| fail(GENERIC, format!("no multilib arch is known for {arch}")))?;
    let mldir = distdir.join(ml_dir);
    let ml_pkgfile = mldir.join("kojipkgs");
    let text = std::fs::read_to_string(&ml_pkgfile).map_err(|e| {
        fail(
            GENERIC,
            format!(
                "the multilib arch's repo is missing: {} ({e}; the dist repo must include {ml_rpm_arch})",
                ml_pkgfile.display()
            ),
        )
    })?;
    let ml_pkgs: Map<String, Json> = serde_json::from_str(&text).map_err(|e| {
        fail(
            GENERIC,
            format!("cannot read {}: {e}", ml_pkgfile.display()),
        )
    })?;
    note(
        log,
        &format!("Resolving multilib for {arch} using method devel"),
    );

    // step 1: the packages the method chooses, from their headers
    let native: Vec<(String, PathBuf)> = paths
        .iter()
        .map(|(f, p, _)| (f.clone(), p.clone()))
        .collect();
    let chosen = tokio::task::spawn_blocking(move || -> Result<Vec<String>> {
        use koji_core::hub::rpms::header::RpmHeaders;
        let list = |h: &RpmHeaders, f: &str| -> Vec<String> {
            h.field(f)
                .map(|v| {
                    v.list()
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default()
        };
        let mut out = vec![];
        for (file, path) in native {
            let h = RpmHeaders::read(&path)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
            let one = |f: &str| {
                h.field(f)
                    .ok()
                    .and_then(|v| v.as_str().map(str::to_owned))
                    .unwrap_or_default()
            };
            let pkg = koji_core::multilib::Pkg {
                name: one("NAME"),
                arch: one("ARCH"),
                provides: list(&h, "PROVIDENAME"),
                files: list(&h, "FILENAMES"),
            };
            if koji_core::multilib::select(&conf, &pkg) {
                out.push(file);
            }
        }
        Ok(out)
    })
    .await??;
    let letter_path = |bnp: &str| mldir.join(PathInfo::dist_package(bnp));
    let mut fs_missing: Vec<String> = vec![];
    let mut ml_true: Vec<String> = vec![];
    for bnp in &chosen {
        let ml_bnp = bnp.replace(arch, ml_rpm_arch);
        if ml_pkgs.contains_key(&ml_bnp) {
            ml_true.push(ml_bnp);
        } else {
            note(
                log,
                &format!(
                    "{} (multilib) is not on the filesystem",
                    letter_path(&ml_bnp).display()
                ),
            );
            fs_missing.push(letter_path(&ml_bnp).display().to_string());
        }
    }

    // step 2: what they require, from the 32-bit repo
    // the packages of its metadata, its debuginfo subrepo's too
    let mut repo = crate::buildroot::read_repo(&mldir)
        .map_err(|e| fail(GENERIC, format!("cannot read the multilib repo: {e:#}")))?;
    if mldir.join("debug/repodata").is_dir() {
        repo.extend(
            crate::buildroot::read_repo(&mldir.join("debug")).map_err(|e| {
                fail(
                    GENERIC,
                    format!("cannot read the multilib repo's debug subrepo: {e:#}"),
                )
            })?,
        );
    }
    let base = |href: &str| href.rsplit('/').next().unwrap_or(href).to_string();
    let mut start = vec![];
    for bnp in &ml_true {
        match repo.iter().position(|p| base(&p.href) == *bnp) {
            Some(i) => start.push(i),
            None => {
                note(
                    log,
                    &format!("{bnp} is in the multilib repo's kojipkgs but not in its metadata"),
                );
                fs_missing.push(letter_path(bnp).display().to_string())
            }
        }
    }
    let compat_arches = compat(ml_dir);
    let res = crate::buildroot::resolve_among(&repo, &start, &[], &compat_arches);
    // a file requirement may be met by a path only filelists lists (dnf
    // reads them; primary lists some paths only): noted, not fatal
    let (files, unmet): (Vec<String>, Vec<String>) =
        res.from_host.into_iter().partition(|r| r.starts_with('/'));
    for f in &files {
        note(
            log,
            &format!("multilib: no package in the repo's primary metadata provides {f}"),
        );
    }
    if !unmet.is_empty() {
        let msg = format!(
            "multilib depsolving failed: nothing in {} provides {}",
            mldir.display(),
            unmet.join(", ")
        );
        note(log, &msg);
        return Err(fail(GENERIC, msg));
    }
    let mut needed = vec![];
    for i in res.install {
        let bnp = base(&repo[i].href);
        let path = letter_path(&bnp);
        if !path.is_file() {
            note(
                log,
                &format!("{} (multilib dep) not on filesystem", path.display()),
            );
            fs_missing.push(path.display().to_string());
            continue;
        }
        needed.push((bnp, path, repo[i].arch.clone()));
    }
    if !fs_missing.is_empty() {
        fs_missing.sort();
        fs_missing.dedup();
        upload_log(
            ctx,
            "missing_multilib.log",
            &format!(
                "The following multilib files were missing:\n{}\n",
                fs_missing.join("\n")
            ),
        )
        .await?;
        return Err(fail(
            GENERIC,
            "multilib packages missing. See missing_multilib.log",
        ));
    }

    // step 3: into the repo
    for (bnp, path, pkg_arch) in needed {
        if kojipkgs.contains_key(&bnp) {
            // noarch packages are in both repos
            if pkg_arch != "noarch" {
                note(log, &format!("Multilib duplicate: {bnp}"));
            }
            continue;
        }
        let Some(Json::Object(mut info)) = ml_pkgs.get(&bnp).cloned() else {
            return Err(fail(
                GENERIC,
                format!("{bnp} is in the multilib repo's metadata but not in its kojipkgs"),
            ));
        };
        info.insert("_multilib".into(), json!(true));
        let name = info
            .get("name")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        note(log, &format!("multilib: {bnp}"));
        let debug = split_debuginfo && koji_core::hub::repo_gen::is_debuginfo(&name);
        kojipkgs.insert(bnp.clone(), Json::Object(info));
        paths.push((bnp, path, debug));
    }
    Ok(())
}
