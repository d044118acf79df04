//! The task handlers, with upstream's requests and results.
//!
//! Buildroots: until the hub makes repositories, a buildroot is this
//! machine's own system seen read-only through bubblewrap (network off,
//! only the task's directory writable), so BuildRequires must already be
//! installed here; packages come from a tag's repo once repos exist.

use crate::client::kw;
use crate::runner::{fail, to_core, LogStreamer, TaskCtx, BUILD_ERROR};
use anyhow::{anyhow, Context as _, Result};
use koji_core::hub::rpms::header::RpmHeaders;
use koji_core::task::{TaskContext, TaskHandler, TaskRegistry};
use serde_json::{json, Map, Value as Json};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The built-in task handlers, with upstream's signatures and weights.
pub fn builtins() -> TaskRegistry {
    let mut r = TaskRegistry::new();
    // the names are distinct, so registering cannot clash
    let _ = r.register(BuildTask);
    let _ = r.register(BuildArchTask);
    let _ = r.register(BuildSrpmFromScmTask);
    let _ = r.register(RebuildSrpmTask);
    let _ = r.register(TagBuildTask);
    let _ = r.register(DependantTask);
    let _ = r.register(ChainBuildTask);
    let _ = r.register(SleepTask);
    let _ = r.register(RestartTask);
    let _ = r.register(RestartVerifyTask);
    let _ = r.register(RestartHostsTask);
    let _ = r.register(repos::NewRepoTask);
    let _ = r.register(repos::CreaterepoTask);
    let _ = r.register(repos::WaitrepoTask);
    let _ = r.register(dist::DistRepoTask);
    let _ = r.register(dist::CreateDistRepoTask);
    let _ = r.register(TagNotificationTask);
    let _ = r.register(BuildNotificationTask);
    r
}

/// The builder's own context behind a handler's `dyn TaskContext`.
fn builder(ctx: &dyn TaskContext) -> koji_core::Result<&TaskCtx> {
    ctx.as_any()
        .downcast_ref::<TaskCtx>()
        .ok_or_else(|| koji_core::Error::generic("a built-in handler needs kojid's own context"))
}

/// Declares a built-in handler: its struct, its parameters (raw values),
/// its signature, weight and body.
macro_rules! builtin {
    ($name:ident, $params:ident { $($field:ident),* }, $sig:expr, $weight:expr,
     |$ctx:ident, $p:ident| $body:expr) => {
        pub struct $name;

        #[derive(serde::Deserialize)]
        pub struct $params {
            $(pub $field: Json,)*
        }

        impl TaskHandler for $name {
            type Params = $params;
            fn signature(&self) -> &'static str {
                $sig
            }
            fn weight(&self) -> f64 {
                $weight
            }
            async fn run(&self, ctx: &dyn TaskContext, $p: $params) -> koji_core::Result<Json> {
                let $ctx = builder(ctx)?;
                let out: Result<Json> = $body.await;
                out.map_err(to_core)
            }
        }
    };
}

// handler modules after the macro, which they use
mod broot;
pub mod dist;
mod mockroot;
pub mod notify;
pub mod repos;
mod restart;

builtin!(
    BuildTask,
    BuildParams { src, target, opts },
    "build(src, target, opts=None)",
    0.2,
    |c, p| build(c, &p.src, &p.target, &p.opts)
);
builtin!(
    BuildArchTask,
    BuildArchParams {
        pkg,
        root,
        arch,
        keep_srpm,
        opts
    },
    "buildArch(pkg, root, arch, keep_srpm, opts=None)",
    1.5,
    |c, p| build_arch(
        c,
        &p.pkg,
        &p.root,
        &p.arch,
        koji_core::api::truthy(&p.keep_srpm),
        &p.opts
    )
);
builtin!(
    BuildSrpmFromScmTask,
    BuildSrpmFromScmParams {
        url,
        build_tag,
        opts
    },
    "buildSRPMFromSCM(url, build_tag, opts=None)",
    1.0,
    |c, p| build_srpm_from_scm(c, &p.url, &p.build_tag, &p.opts)
);
builtin!(
    RebuildSrpmTask,
    RebuildSrpmParams {
        srpm,
        build_tag,
        opts
    },
    "rebuildSRPM(srpm, build_tag, opts=None)",
    1.0,
    |c, p| rebuild_srpm(c, &p.srpm, &p.build_tag, &p.opts)
);
builtin!(
    TagBuildTask,
    TagBuildParams {
        tag_id,
        build_id,
        force,
        fromtag,
        ignore_success
    },
    "tagBuild(tag_id, build_id, force=False, fromtag=None, ignore_success=False)",
    1.0,
    |c, p| tag_build(
        c,
        &p.tag_id,
        &p.build_id,
        koji_core::api::truthy(&p.force),
        &p.fromtag,
        koji_core::api::truthy(&p.ignore_success),
    )
);
builtin!(
    DependantTask,
    DependantParams {
        wait_list,
        task_list
    },
    "dependantTask(wait_list, task_list)",
    0.2,
    |c, p| dependant_task(c, &p.wait_list, &p.task_list)
);
builtin!(
    ChainBuildTask,
    ChainBuildParams { srcs, target, opts },
    "chainbuild(srcs, target, opts=None)",
    0.1,
    |c, p| chain_build(c, &p.srcs, &p.target, &p.opts)
);
builtin!(SleepTask, SleepParams { n }, "sleep(n)", 0.25, |_c, p| {
    sleep(&p.n)
});
builtin!(
    TagNotificationTask,
    TagNotificationParams {
        recipients,
        is_successful,
        tag_info,
        from_info,
        build_info,
        user_info,
        ignore_success,
        failure_msg
    },
    "tagNotification(recipients, is_successful, tag_info, from_info, build_info, user_info, \
     ignore_success=None, failure_msg='')",
    0.1,
    |c, p| notify::tag_notification(
        c,
        &p.recipients,
        &p.is_successful,
        &p.tag_info,
        &p.from_info,
        &p.build_info,
        &p.user_info,
        &p.ignore_success,
        &p.failure_msg
    )
);
builtin!(
    BuildNotificationTask,
    BuildNotificationParams {
        recipients,
        build,
        target,
        weburl
    },
    "buildNotification(recipients, build, target, weburl)",
    0.1,
    |c, p| notify::build_notification(c, &p.recipients, &p.build, &p.target, &p.weburl)
);
builtin!(
    RestartTask,
    RestartParams { host },
    "restart(host)",
    0.1,
    |c, p| restart::restart(c, &p.host)
);
builtin!(
    RestartVerifyTask,
    RestartVerifyParams { task_id, host },
    "restartVerify(task_id, host)",
    0.1,
    |c, p| restart::restart_verify(c, &p.task_id, &p.host)
);
builtin!(
    RestartHostsTask,
    RestartHostsParams { options },
    "restartHosts(options=None)",
    0.1,
    |c, p| restart::restart_hosts(c, &p.options)
);

/// Python's truthiness of an optional argument.
fn truthy(v: Option<&Json>) -> bool {
    v.is_some_and(koji_core::api::truthy)
}

async fn sleep(n: &Json) -> Result<Json> {
    let n = n.as_f64().unwrap_or(1.0);
    tokio::time::sleep(Duration::from_secs_f64(n.max(0.0))).await;
    Ok(Json::Null)
}

/// Upstream's SCM URL schemes.
const SCM_SCHEMES: &[&str] = &[
    "cvs://",
    "cvs+ssh://",
    "git://",
    "git+http://",
    "git+https://",
    "git+rsync://",
    "git+ssh://",
    // a local repository; allowed only by an allowed_scms entry for host ""
    "git+file://",
    "svn://",
    "svn+http://",
    "svn+https://",
    "svn+ssh://",
];

pub fn is_scm_url(s: &str) -> bool {
    SCM_SCHEMES.iter().any(|p| s.starts_with(p))
}

/// Upstream's `koji.canonArch` (the hub's rule, as an owned string).
pub fn canon_arch(arch: &str) -> String {
    koji_core::hub::hosts::canon_arch(arch).to_string()
}

fn header_list(h: &Map<String, Json>, key: &str) -> Vec<String> {
    match h.get(key) {
        Some(Json::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_owned))
            .collect(),
        Some(Json::String(s)) => vec![s.clone()],
        _ => vec![],
    }
}

/// Upstream's `getArchList`: the arches a package builds on in a tag.
pub fn arch_list(
    tag_arches: &str,
    extra_arches: &str,
    hdr: &Map<String, Json>,
    arch_override: Option<&str>,
) -> std::result::Result<Vec<String>, String> {
    let tag_list: Vec<String> = tag_arches.split_whitespace().map(canon_arch).collect();
    let mut list: Vec<String> = format!("{tag_arches} {extra_arches}")
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    let buildarchs = header_list(hdr, "buildarchs");
    let exclusive = header_list(hdr, "exclusivearch");
    let exclude = header_list(hdr, "excludearch");
    if !buildarchs.is_empty() {
        list = buildarchs.clone();
    }
    if !exclusive.is_empty() {
        list.retain(|a| exclusive.contains(a));
    }
    if !exclude.is_empty() {
        list.retain(|a| !exclude.contains(a));
    }
    if !exclude.iter().any(|a| a == "noarch")
        && (buildarchs.iter().any(|a| a == "noarch") || exclusive.iter().any(|a| a == "noarch"))
    {
        list.push("noarch".into());
    }
    if let Some(o) = arch_override {
        list = o.split_whitespace().map(str::to_owned).collect();
    }
    let mut out: Vec<String> = vec![];
    for a in list {
        if (a == "noarch" || tag_list.contains(&canon_arch(&a))) && !out.contains(&a) {
            out.push(a);
        }
    }
    if out.is_empty() {
        return Err("No matching arches were found".into());
    }
    Ok(out)
}

fn read_header(path: &Path) -> Result<Map<String, Json>> {
    let names: Vec<String> = [
        "name",
        "version",
        "release",
        "epoch",
        "sourcepackage",
        "buildarchs",
        "exclusivearch",
        "excludearch",
        "requirename",
        "requireflags",
        "requireversion",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let h = RpmHeaders::read(path).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    h.fields(Some(&names))
        .map_err(|e| anyhow!("{}: {e}", path.display()))
}

/// The repo a build uses (upstream's `BuildTask`): the one given
/// (`repo_id`, READY or EXPIRED), else one of the build tag that has the
/// `wait_builds` and, with `wait_repo`, is current as of now, waited for
/// in a `waitrepo` subtask when there is none yet
/// ([`repos::repo_for_build`]).
async fn build_repo(ctx: &TaskCtx, opts: &Map<String, Json>, target: &Json) -> Result<i64> {
    if let Some(r) = opts.get("repo_id").filter(|v| !v.is_null()) {
        let info = ctx.hub.call("repoInfo", vec![r.clone()]).await?;
        if info.is_null() {
            return Err(fail(BUILD_ERROR, format!("No such repo: {r}")));
        }
        let state = info["state"].as_i64().unwrap_or(-1);
        if state != 1 && state != 2 {
            let name = ["INIT", "READY", "EXPIRED", "DELETED", "PROBLEM"]
                .get(state as usize)
                .copied()
                .unwrap_or("?");
            return Err(fail(
                BUILD_ERROR,
                format!("Bad repo: {} ({name})", info["id"]),
            ));
        }
        if info["tag_id"] != target["build_tag"] {
            return Err(fail(
                BUILD_ERROR,
                format!(
                    "Repo {} is not for the build tag of {} ({})",
                    info["id"],
                    target["name"].as_str().unwrap_or_default(),
                    target["build_tag_name"].as_str().unwrap_or_default()
                ),
            ));
        }
        return info["id"]
            .as_i64()
            .ok_or_else(|| fail(BUILD_ERROR, format!("No such repo: {r}")));
    }
    let nvrs: Vec<Json> = match opts.get("wait_builds") {
        Some(Json::Array(a)) => a.clone(),
        _ => vec![],
    };
    let repo = repos::repo_for_build(
        ctx,
        &target["build_tag"],
        &nvrs,
        truthy(opts.get("wait_repo")),
    )
    .await?;
    repo["id"]
        .as_i64()
        .ok_or_else(|| fail(BUILD_ERROR, format!("no repo id in {repo}")))
}

/// Whether an uploaded SRPM is made again first: the build tag's
/// `rebuild_srpm` extra (default on); a scratch build may override it with
/// its `rebuild_srpm` option.
async fn rebuild_wanted(
    ctx: &TaskCtx,
    build_tag: &Json,
    opts: &Map<String, Json>,
    scratch: bool,
) -> Result<bool> {
    if scratch {
        if let Some(v) = opts.get("rebuild_srpm").filter(|v| !v.is_null()) {
            return Ok(koji_core::api::truthy(v));
        }
    }
    let bconf = ctx
        .hub
        .call("getBuildConfig", vec![build_tag.clone()])
        .await?;
    Ok(bconf["extra"]
        .get("rebuild_srpm")
        .is_none_or(koji_core::api::truthy))
}

/// `build(src, target, opts=None)`: the parent of a build.
async fn build(ctx: &TaskCtx, src: &Json, target: &Json, opts: &Json) -> Result<Json> {
    let opts = opts.as_object().cloned().unwrap_or_default();
    let scratch = truthy(opts.get("scratch"));
    let arch_override = opts
        .get("arch_override")
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_owned);
    if arch_override.is_some() && !scratch {
        return Err(fail(
            BUILD_ERROR,
            "arch_override is only allowed for scratch builds",
        ));
    }
    let src = src
        .as_str()
        .ok_or_else(|| fail(BUILD_ERROR, format!("Invalid source specification: {src}")))?
        .to_string();
    let tinfo = ctx.hub.call("getBuildTarget", vec![target.clone()]).await?;
    if tinfo.is_null() {
        return Err(fail(
            1000,
            format!("unknown build target: {}", koji_core::util::py_str(target)),
        ));
    }
    let build_tag = tinfo["build_tag"].clone();
    let dest_tag = tinfo["dest_tag"].clone();
    let dest_tag_name = tinfo["dest_tag_name"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let skip_tag = truthy(opts.get("skip_tag"));
    let owner = ctx.info["owner"].clone();
    let from_scm = is_scm_url(&src);
    let policy = json!({
        "user_id": owner, "source": src, "task_id": ctx.id, "build_tag": build_tag,
        "skip_tag": skip_tag, "scratch": scratch, "draft": truthy(opts.get("draft")),
        "from_scm": from_scm, "repo_id": Json::Null, "target": tinfo["name"],
        "tag": if skip_tag { Json::Null } else { dest_tag.clone() },
    });
    if !from_scm && !scratch {
        ctx.hub
            .call(
                "host.assertPolicy",
                vec![json!("build_from_srpm"), policy.clone()],
            )
            .await?;
    }
    ctx.hub
        .call("host.assertPolicy", vec![json!("build_rpm"), policy])
        .await?;
    let repo_id = build_repo(ctx, &opts, &tinfo).await?;
    // the SRPM: made from the SCM by a subtask, or the uploaded one
    // (as upstream: an uploaded SRPM is made again unless the tag says not)
    let maker = if from_scm {
        Some("buildSRPMFromSCM")
    } else if rebuild_wanted(ctx, &build_tag, &opts, scratch).await? {
        Some("rebuildSRPM")
    } else {
        None
    };
    let (srpm, source) = match maker {
        Some(method) => {
            let t = ctx
                .subtask(
                    method,
                    vec![
                        json!(src),
                        build_tag.clone(),
                        json!({"repo_id": repo_id, "scratch": scratch}),
                    ],
                    json!({"label": "srpm", "arch": "noarch"}),
                )
                .await?;
            let res = ctx.wait_all(&[t], true).await?;
            let r = res.into_iter().next().map(|(_, r)| r).unwrap_or_default();
            (
                r["srpm"].as_str().unwrap_or_default().to_string(),
                Some(r["source"].clone()),
            )
        }
        None => (src.clone(), None),
    };
    let local = ctx.work_file(&srpm).await?;
    let hdr = read_header(&local)?;
    if hdr.get("sourcepackage") != Some(&json!(1)) {
        return Err(fail(BUILD_ERROR, format!("{srpm} is not a source package")));
    }
    let name = hdr["name"].as_str().unwrap_or_default().to_string();
    let pkg_cfg = ctx
        .hub
        .call("getPackageConfig", vec![dest_tag.clone(), json!(name)])
        .await?;
    if !skip_tag && !scratch {
        if pkg_cfg.is_null() {
            return Err(fail(
                BUILD_ERROR,
                format!("package {name} not in list for tag {dest_tag_name}"),
            ));
        }
        if pkg_cfg["blocked"] == json!(true) {
            return Err(fail(
                BUILD_ERROR,
                format!("package {name} is blocked for tag {dest_tag_name}"),
            ));
        }
    }
    let bconf = ctx
        .hub
        .call("getBuildConfig", vec![build_tag.clone()])
        .await?;
    let tag_arches = bconf["arches"].as_str().unwrap_or_default();
    if tag_arches.trim().is_empty() {
        return Err(fail(
            BUILD_ERROR,
            format!(
                "No arches for tag {} [{}]",
                bconf["name"].as_str().unwrap_or_default(),
                bconf["id"]
            ),
        ));
    }
    let extra = pkg_cfg["extra_arches"].as_str().unwrap_or_default();
    let arches = arch_list(tag_arches, extra, &hdr, arch_override.as_deref())
        .map_err(|e| fail(BUILD_ERROR, e))?;
    let build_id = if scratch {
        None
    } else {
        let mut data = json!({
            "name": hdr["name"], "version": hdr["version"], "release": hdr["release"],
            "epoch": hdr["epoch"], "task_id": ctx.id,
        });
        if let Some(s) = &source {
            data["source"] = s["source"].clone();
            data["extra"] = json!({"source": {"original_url": s["url"]}});
        }
        if truthy(opts.get("draft")) {
            data["draft"] = json!(true);
        }
        Some(ctx.hub.call("host.initBuild", vec![data]).await?)
    };
    let outcome = async {
        let mut subtasks = vec![];
        for (i, arch) in arches.iter().enumerate() {
            let task_arch = if arch == "noarch" {
                "noarch".to_string()
            } else {
                canon_arch(arch)
            };
            let t = ctx
                .subtask(
                    "buildArch",
                    vec![
                        json!(srpm),
                        build_tag.clone(),
                        json!(arch),
                        json!(i == 0),
                        json!({"repo_id": repo_id}),
                    ],
                    json!({"label": arch, "arch": task_arch}),
                )
                .await?;
            subtasks.push(t);
        }
        let results = ctx.wait_all(&subtasks, true).await?;
        let mut rpms: Vec<Json> = vec![];
        let mut srpms: Vec<Json> = vec![];
        let mut brmap = Map::new();
        let mut logs = Map::new();
        for ((_, r), arch) in results.iter().zip(&arches) {
            for f in r["rpms"].as_array().cloned().unwrap_or_default() {
                brmap.insert(koji_core::util::py_str(&f), r["brootid"].clone());
                rpms.push(f);
            }
            for f in r["srpms"].as_array().cloned().unwrap_or_default() {
                brmap.insert(koji_core::util::py_str(&f), r["brootid"].clone());
                srpms.push(f);
            }
            logs.insert(arch.clone(), r["logs"].clone());
        }
        let brmap: Map<String, Json> = brmap.into_iter().filter(|(_, v)| !v.is_null()).collect();
        let srpm_out = match srpms.as_slice() {
            [one] => one.clone(),
            [] => return Err(fail(BUILD_ERROR, "could not find a built srpm")),
            _ => {
                return Err(fail(
                    BUILD_ERROR,
                    format!("multiple builds returned a srpm. task {}", ctx.id),
                ))
            }
        };
        match &build_id {
            None => {
                ctx.hub
                    .call(
                        "host.moveBuildToScratch",
                        vec![
                            json!(ctx.id),
                            srpm_out,
                            json!(rpms),
                            kw(json!({"logs": logs})),
                        ],
                    )
                    .await?;
            }
            Some(b) => {
                ctx.hub
                    .call(
                        "host.completeBuild",
                        vec![
                            json!(ctx.id),
                            b.clone(),
                            srpm_out,
                            json!(rpms),
                            json!(brmap),
                            kw(json!({"logs": logs})),
                        ],
                    )
                    .await?;
            }
        }
        Ok(())
    }
    .await;
    if let Err(e) = outcome {
        if let Some(b) = &build_id {
            let _ = ctx
                .hub
                .call("host.failBuild", vec![json!(ctx.id), b.clone()])
                .await;
        }
        return Err(e);
    }
    if let (Some(b), false) = (&build_id, skip_tag) {
        let t = ctx
            .subtask(
                "tagBuild",
                vec![dest_tag, b.clone(), json!(false), Json::Null, json!(true)],
                json!({"label": "tag", "arch": "noarch"}),
            )
            .await?;
        ctx.wait_all(&[t], true).await?;
    }
    Ok(Json::Null)
}

/// Where a command runs: bubblewrap over the system (only `dir` writable,
/// `ro` visible read-only, a buildroot's `layers` over the system), or a
/// plain child.
fn sandboxed_with(
    ctx: &TaskCtx,
    dir: &Path,
    net: bool,
    ro: &[&Path],
    layers: Option<&broot::Layers>,
    program: &str,
    args: &[String],
) -> tokio::process::Command {
    let mut cmd;
    match ctx.cfg.backend {
        // with mock, mock isolates the builds; SCM checkouts, source
        // commands, SRPMs and repos still run in the sandbox
        crate::config::Backend::Bwrap | crate::config::Backend::Mock => {
            cmd = tokio::process::Command::new("bwrap");
            cmd.args([
                "--ro-bind",
                "/",
                "/",
                "--dev",
                "/dev",
                "--proc",
                "/proc",
                "--tmpfs",
                "/tmp",
                "--tmpfs",
                "/var/tmp",
                // nothing of the builder's environment (its session) leaks in
                "--clearenv",
                "--setenv",
                "PATH",
                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--setenv",
                "LANG",
                "C.UTF-8",
                "--setenv",
                "TZ",
                "UTC",
            ]);
            // the content store and the other tasks' directories are hidden
            for hidden in [ctx.cfg.topdir.as_deref(), Some(ctx.cfg.workdir.as_path())]
                .into_iter()
                .flatten()
            {
                if hidden.is_dir() {
                    cmd.arg("--tmpfs").arg(hidden);
                }
            }
            for p in ro {
                let p = p.to_string_lossy().into_owned();
                cmd.args(["--ro-bind", &p, &p]);
            }
            let d = dir.to_string_lossy().into_owned();
            cmd.args(["--bind", &d, &d]);
            if let Some(l) = layers {
                // the system itself, where the layered directories' links
                // point (the content store and the tasks stay hidden)
                let h = l.hostref.to_string_lossy().into_owned();
                cmd.args(["--ro-bind", "/", &h]);
                for hidden in [ctx.cfg.topdir.as_deref(), Some(ctx.cfg.workdir.as_path())]
                    .into_iter()
                    .flatten()
                {
                    let inner = l.hostref.join(hidden.strip_prefix("/").unwrap_or(hidden));
                    if hidden.is_dir() {
                        cmd.arg("--tmpfs").arg(inner);
                    }
                }
                for (view, over) in &l.binds {
                    cmd.arg("--ro-bind").arg(view).arg(over);
                }
            }
            // its own pid namespace: when the task's process group is
            // killed, bwrap dies, and with it (--die-with-parent) the
            // namespace's first process, which takes every process of
            // the namespace along (--new-session puts them out of the
            // task's process group)
            cmd.args([
                "--chdir",
                &d,
                "--unshare-pid",
                "--die-with-parent",
                "--new-session",
            ]);
            if !net {
                cmd.arg("--unshare-net");
            }
            cmd.arg("--setenv").arg("HOME").arg(&d);
            cmd.arg(program).args(args);
        }
        crate::config::Backend::None => {
            // nothing of the builder's environment (its session) leaks in
            cmd = tokio::process::Command::new(program);
            cmd.args(args)
                .current_dir(dir)
                .env_clear()
                .env(
                    "PATH",
                    std::env::var_os("PATH").unwrap_or_else(|| {
                        "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into()
                    }),
                )
                .env("LANG", "C.UTF-8")
                .env("TZ", "UTC")
                .env("HOME", dir);
        }
    }
    cmd.stdin(std::process::Stdio::null()).kill_on_drop(true);
    cmd
}

/// Runs `cmd` with its output appended to `log`; the exit status, or an
/// error after `timeout`.
async fn run_logged(
    mut cmd: tokio::process::Command,
    log: &Path,
    timeout: Duration,
) -> Result<std::process::ExitStatus> {
    let out = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(log)?;
    let err = out.try_clone()?;
    cmd.stdout(out).stderr(err);
    let mut child = cmd.spawn().context("cannot start the build command")?;
    match tokio::time::timeout(timeout, child.wait()).await {
        Ok(status) => Ok(status?),
        Err(_) => {
            let _ = child.kill().await;
            Err(fail(
                BUILD_ERROR,
                format!("build timed out after {} seconds", timeout.as_secs()),
            ))
        }
    }
}

fn note(path: &Path, line: &str) {
    if let Ok(mut f) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = writeln!(
            f,
            "{} {line}",
            chrono::Utc::now().format("%Y-%m-%d %H:%M:%S")
        );
    }
}

fn files_with(dir: &Path, suffix: &str) -> Vec<PathBuf> {
    // regular files only: a symlink the build made is never followed
    let mut out = vec![];
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        if let Ok(rd) = std::fs::read_dir(&d) {
            for e in rd.flatten() {
                let Ok(ft) = e.file_type() else { continue };
                let p = e.path();
                if ft.is_dir() {
                    stack.push(p);
                } else if ft.is_file() && p.to_string_lossy().ends_with(suffix) {
                    out.push(p);
                }
            }
        }
    }
    out.sort();
    out
}

/// `buildArch(pkg, root, arch, keep_srpm, opts=None)`: rebuilds the SRPM
/// for one arch in a buildroot made from the build tag's repo
/// (`opts["repo_id"]`, required as upstream); answers `{rpms, srpms,
/// logs, brootid}`.
async fn build_arch(
    ctx: &TaskCtx,
    pkg: &Json,
    root: &Json,
    arch: &Json,
    keep_srpm: bool,
    opts: &Json,
) -> Result<Json> {
    let repo_id = required_repo_id(opts)?;
    let pkg = koji_core::util::py_str(pkg);
    let arch = koji_core::util::py_str(arch);
    let srpm = ctx.work_file(&pkg).await?;
    let hdr = read_header(&srpm)?;
    if hdr.get("sourcepackage") != Some(&json!(1)) {
        return Err(fail(BUILD_ERROR, format!("not a source package: {pkg}")));
    }
    let tag = ctx.hub.call("getTag", vec![root.clone()]).await?;
    let logs = LogStreamer::start(ctx).await?;
    let paths = buildroot_logs(ctx, &logs)?;
    let mut broot: Option<Box<dyn broot::Buildroot>> = None;
    let out = async {
        note(&paths.state, "State Changed: init");
        let br = broot.insert(
            broot::make(
                ctx,
                &tag,
                repo_id,
                &arch,
                broot::RootSpec::build(&hdr),
                &paths,
            )
            .await?,
        );
        let top = ctx.workdir.join("rpmbuild");
        std::fs::create_dir_all(&top)?;
        let local_srpm = top.join(srpm.file_name().unwrap_or_default());
        std::fs::copy(&srpm, &local_srpm)?;
        let built = br
            .rebuild(ctx, &local_srpm, &arch, keep_srpm, &paths)
            .await?;
        let mut rpms = vec![];
        for f in &built.rpms {
            rpms.push(json!(ctx.upload(f).await?));
        }
        let mut srpms = vec![];
        if keep_srpm {
            match built.srpms.as_slice() {
                [one] => srpms.push(json!(ctx.upload(one).await?)),
                [] => {
                    return Err(fail(
                        BUILD_ERROR,
                        format!("no srpm files found for task {}", ctx.id),
                    ))
                }
                _ => {
                    return Err(fail(
                        BUILD_ERROR,
                        format!("multiple srpm files found for task {}", ctx.id),
                    ))
                }
            }
        }
        Ok((rpms, srpms))
    }
    .await;
    logs.finish().await;
    let brootid = finish_root(ctx, &mut broot, &paths).await;
    let (rpms, srpms) = out?;
    Ok(json!({"rpms": rpms, "srpms": srpms, "logs": buildroot_log_names(ctx), "brootid": brootid}))
}

/// The repo arch a noarch build uses: this machine's, if the tag has it,
/// else the tag's first.
fn noarch_repo_arch(tag_arches: &str) -> String {
    let mine = canon_arch(std::env::consts::ARCH);
    let arches: Vec<String> = tag_arches
        .split_whitespace()
        .map(canon_arch)
        .filter(|a| a != "noarch" && a != "src")
        .collect();
    if arches.contains(&mine) || arches.is_empty() {
        mine
    } else {
        arches[0].clone()
    }
}

/// The logs of a task's buildroot, streamed while they grow (mock writes
/// build.log, root.log and state.log into its result directory).
fn buildroot_logs(ctx: &TaskCtx, streamer: &LogStreamer) -> Result<broot::BuildLogs> {
    let logdir = match ctx.cfg.backend {
        crate::config::Backend::Mock => ctx.workdir.join("result"),
        _ => ctx.workdir.clone(),
    };
    std::fs::create_dir_all(&logdir)?;
    let paths = broot::BuildLogs {
        build: logdir.join("build.log"),
        root: logdir.join("root.log"),
        state: logdir.join("state.log"),
        output: ctx.workdir.join("mock_output.log"),
    };
    for l in [&paths.build, &paths.root, &paths.state, &paths.output] {
        streamer.add(l)?;
    }
    Ok(paths)
}

/// The buildroot is done with, whatever happened: expired, and what it
/// left on this machine removed. Its id, if it was recorded.
async fn finish_root(
    ctx: &TaskCtx,
    broot: &mut Option<Box<dyn broot::Buildroot>>,
    logs: &broot::BuildLogs,
) -> Option<i64> {
    let brootid = broot.as_ref().and_then(|b| b.id());
    if let Some(id) = brootid {
        if let Err(e) = broot::set_state(ctx, id, broot::BR_EXPIRED).await {
            tracing::warn!("cannot expire buildroot {id}: {e:#}");
        }
    }
    if let Some(b) = broot.as_mut() {
        b.clean(ctx, logs).await;
    }
    brootid
}

/// The upload paths of a buildroot's logs, as a task's result names them.
fn buildroot_log_names(ctx: &TaskCtx) -> Vec<Json> {
    let dir = ctx.upload_dir();
    ["build.log", "root.log", "state.log", "mock_output.log"]
        .iter()
        .map(|n| json!(format!("{dir}/{n}")))
        .collect()
}

/// The buildroot an SRPM is made in (upstream's: the build tag as of the
/// repo's event, the `srpm-build` group, a noarch root on an arch of the
/// tag's), from the repo of `opts["repo_id"]` (required as upstream).
async fn srpm_root(
    ctx: &TaskCtx,
    build_tag: &Json,
    opts: &Json,
    setup_dns: bool,
    logs: &broot::BuildLogs,
) -> Result<Box<dyn broot::Buildroot>> {
    let r = required_repo_id(opts)?;
    let rinfo = ctx
        .hub
        .call("repoInfo", vec![json!(r), kw(json!({"strict": true}))])
        .await?;
    let kws = json!({"strict": true, "event": rinfo["create_event"]});
    let tag = ctx
        .hub
        .call("getTag", vec![build_tag.clone(), kw(kws)])
        .await?;
    note(&logs.state, "State Changed: init");
    broot::make(
        ctx,
        &tag,
        r,
        "noarch",
        broot::RootSpec::srpm(setup_dns),
        logs,
    )
    .await
}

/// `opts["repo_id"]` of the tasks that work in a buildroot: upstream's
/// `buildArch`, `rebuildSRPM` and `buildSRPMFromSCM` refuse to run without.
fn required_repo_id(opts: &Json) -> Result<i64> {
    opts.get("repo_id")
        .and_then(Json::as_i64)
        .filter(|r| *r != 0)
        .ok_or_else(|| fail(BUILD_ERROR, "A repo id must be provided"))
}

/// Upstream's `spec_sanity_checks`: a spec may not set the packager,
/// distribution or vendor (as upstream checks it: at the very start of
/// the file).
fn spec_sanity_checks(spec: &Path) -> Result<()> {
    let text = std::fs::read_to_string(spec).unwrap_or_default();
    for tag in ["Packager", "Distribution", "Vendor"] {
        if text.starts_with(&format!("{tag}:")) {
            return Err(fail(
                BUILD_ERROR,
                format!("{tag} is not allowed to be set in spec file"),
            ));
        }
    }
    for tag in ["packager", "distribution", "vendor"] {
        if let Some(rest) = text.strip_prefix("%define") {
            let rest_trim = rest.trim_start();
            if rest_trim.len() < rest.len()
                && rest_trim
                    .strip_prefix(tag)
                    .is_some_and(|r| r.starts_with(char::is_whitespace))
            {
                return Err(fail(
                    BUILD_ERROR,
                    format!("{tag} is not allowed to be defined in spec file"),
                ));
            }
        }
    }
    Ok(())
}

/// `buildSRPMFromSCM(url, build_tag, opts=None)`: checks out the sources
/// (git) into the buildroot's scratch space and makes the SRPM in the
/// buildroot; answers `{srpm, logs, brootid, source}`.
async fn build_srpm_from_scm(
    ctx: &TaskCtx,
    url: &Json,
    build_tag: &Json,
    opts: &Json,
) -> Result<Json> {
    let url = koji_core::util::py_str(url);
    let scm = Scm::parse(&url).map_err(|e| fail(BUILD_ERROR, e))?;
    let Some(rule) = crate::config::scm_rule(&ctx.cfg.allowed_scms, &scm.host, &scm.repository)
    else {
        return Err(fail(
            BUILD_ERROR,
            format!(
                "{}:{} is not in the list of allowed SCMs",
                scm.host, scm.repository
            ),
        ));
    };
    if !scm.scheme.starts_with("git") {
        return Err(fail(
            BUILD_ERROR,
            format!("SCM type not supported: {}", scm.scheme),
        ));
    }
    let streamer = LogStreamer::start(ctx).await?;
    let checkout_log = ctx.workdir.join("checkout.log");
    streamer.add(&checkout_log)?;
    let paths = buildroot_logs(ctx, &streamer)?;
    let mut broot: Option<Box<dyn broot::Buildroot>> = None;
    let out = async {
        let br = broot.insert(srpm_root(ctx, build_tag, opts, true, &paths).await?);
        let src = br.scratch_dir(ctx).join("scmroot");
        let (sourcedir, head) = scm_checkout(ctx, &scm, &rule, &src, &checkout_log).await?;
        let spec = find_spec(&sourcedir)?;
        spec_sanity_checks(&spec)?;
        let srpm = br
            .build_srpm(ctx, &spec, &sourcedir, rule.source_cmd.as_deref(), &paths)
            .await?;
        let path = ctx.upload(&srpm).await?;
        Ok::<_, anyhow::Error>((path, head))
    }
    .await;
    streamer.finish().await;
    let brootid = finish_root(ctx, &mut broot, &paths).await;
    let (path, head) = out?;
    Ok(json!({
        "srpm": path,
        "logs": buildroot_log_names(ctx),
        "brootid": brootid,
        "source": {"url": url, "source": scm.source_with(&head)},
    }))
}

/// Checks `scm` out into `src` (upstream's `SCM.checkout`, git only):
/// clone, fetch of the revision, reset, and the `common` repository when
/// the rule says `use_common`. The source directory and the commit.
async fn scm_checkout(
    ctx: &TaskCtx,
    scm: &Scm,
    rule: &crate::config::ScmRule,
    src: &Path,
    checkout_log: &Path,
) -> Result<(PathBuf, String)> {
    std::fs::create_dir_all(src)?;
    // git writes nowhere else (with mock, src is in the chroot)
    let wdir = src.parent().unwrap_or(src).to_path_buf();
    let remote = scm.git_remote();
    // upstream's checkout directory: the repository's name
    let repo = src.join(scm.checkout_path());
    let repo_s = repo.display().to_string();
    let steps: Vec<Vec<String>> = vec![
        vec!["clone".into(), "-n".into(), remote.clone(), repo_s.clone()],
        vec![
            "-C".into(),
            repo_s.clone(),
            "fetch".into(),
            "origin".into(),
            format!("{}:KOJI_FETCH_HEAD", scm.revision),
        ],
        vec![
            "-C".into(),
            repo_s.clone(),
            "reset".into(),
            "--hard".into(),
            "KOJI_FETCH_HEAD".into(),
        ],
    ];
    // a local repository (and its `common` beside it) is bound into the
    // sandbox read-only
    let mut local_repos = vec![];
    if scm.scheme == "git+file://" {
        local_repos.push(PathBuf::from(&scm.repository));
        let common = PathBuf::from(Scm::common_remote(&scm.repository, &scm.repository));
        if rule.use_common && common.exists() {
            local_repos.push(common);
        }
    }
    let ro: Vec<&Path> = local_repos.iter().map(|p| p.as_path()).collect();
    let git_failed = |step: &[String]| {
        fail(
            BUILD_ERROR,
            format!(
                "Error running GIT command \"git {}\", see checkout.log for details",
                step.join(" ")
            ),
        )
    };
    for (i, step) in steps.iter().enumerate() {
        let cmd = sandboxed_with(ctx, &wdir, true, &ro, None, "git", step);
        let status = run_logged(cmd, checkout_log, Duration::from_secs(3600)).await?;
        if !status.success() {
            if i == 1 {
                // an abbreviated commit cannot be fetched by name: reset to it
                let reset = vec![
                    "-C".into(),
                    repo_s.clone(),
                    "reset".into(),
                    "--hard".into(),
                    scm.revision.clone(),
                ];
                let cmd = sandboxed_with(ctx, &wdir, true, &ro, None, "git", &reset);
                if run_logged(cmd, checkout_log, Duration::from_secs(600))
                    .await?
                    .success()
                {
                    break;
                }
            }
            return Err(git_failed(step));
        }
    }
    let sourcedir = match &scm.module {
        Some(m) if !m.is_empty() => repo.join(m),
        _ => repo.clone(),
    };
    if rule.use_common {
        // upstream's `common` checkout, reachable as ../common from the
        // sources
        let clone = vec![
            "-C".into(),
            src.display().to_string(),
            "clone".into(),
            Scm::common_remote(&remote, &scm.repository),
            "common".into(),
        ];
        let cmd = sandboxed_with(ctx, &wdir, true, &ro, None, "git", &clone);
        if !run_logged(cmd, checkout_log, Duration::from_secs(3600))
            .await?
            .success()
        {
            return Err(git_failed(&clone[2..]));
        }
        let parent = sourcedir.parent().unwrap_or(src);
        if !parent.join("common").exists() {
            let depth = parent
                .strip_prefix(src)
                .map_or(0, |p| p.components().count());
            let target = format!("{}common", "../".repeat(depth));
            std::os::unix::fs::symlink(target, parent.join("common"))?;
        }
    }
    let head = std::process::Command::new("git")
        .arg("-C")
        .arg(&repo)
        .args(["rev-parse", "HEAD"])
        .output()?;
    let head = String::from_utf8_lossy(&head.stdout).trim().to_string();
    Ok((sourcedir, head))
}

/// The one spec file of a checkout (or of its SPECS directory); with
/// several, the one named after the checkout directory (upstream's rule).
fn find_spec(sourcedir: &Path) -> Result<PathBuf> {
    let mut specs = files_with(sourcedir, ".spec");
    specs.retain(|p| {
        p.parent() == Some(sourcedir) || p.parent() == Some(sourcedir.join("SPECS").as_path())
    });
    match specs.as_slice() {
        [] => Err(fail(BUILD_ERROR, "No spec file found")),
        [one] => Ok(one.clone()),
        many => {
            let base = sourcedir
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            many.iter()
                .find(|p| {
                    p.file_name()
                        .map(|n| n.to_string_lossy() == format!("{base}.spec"))
                        == Some(true)
                })
                .cloned()
                .ok_or_else(|| {
                    fail(
                        BUILD_ERROR,
                        format!("Multiple spec files found but none is matching SCM checkout dir name: {base}"),
                    )
                })
        }
    }
}

/// `rebuildSRPM(srpm, build_tag, opts=None)`: an uploaded SRPM made again
/// (`rpmbuild -bs --nodeps`) in an `srpm-build` buildroot, so it carries
/// the buildroot's macros as one made from SCM does (upstream's default;
/// a build tag's `rebuild_srpm = False` extra turns it off).
async fn rebuild_srpm(ctx: &TaskCtx, srpm: &Json, build_tag: &Json, opts: &Json) -> Result<Json> {
    let srpm = koji_core::util::py_str(srpm);
    let local = ctx
        .work_file(&srpm)
        .await
        .map_err(|_| fail(BUILD_ERROR, format!("Input SRPM file missing: {srpm}")))?;
    let streamer = LogStreamer::start(ctx).await?;
    let paths = buildroot_logs(ctx, &streamer)?;
    let mut broot: Option<Box<dyn broot::Buildroot>> = None;
    let out = async {
        let br = broot.insert(srpm_root(ctx, build_tag, opts, false, &paths).await?);
        // a copy the buildroot can read (the content store is hidden)
        let scratch = br.scratch_dir(ctx);
        std::fs::create_dir_all(&scratch)?;
        let name = local.file_name().unwrap_or_default();
        let copy = scratch.join(name);
        std::fs::copy(&local, &copy)?;
        let made = br.rebuild_srpm(ctx, &copy, &paths).await?;
        let path = ctx.upload(&made).await?;
        Ok::<_, anyhow::Error>((path, made))
    }
    .await;
    streamer.finish().await;
    let brootid = finish_root(ctx, &mut broot, &paths).await;
    let (path, made) = out?;
    let base = made
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(json!({
        "srpm": path,
        "logs": buildroot_log_names(ctx),
        "brootid": brootid,
        "source": {"source": base, "url": base},
    }))
}

/// An SCM URL: `scheme://[user@]host/path?module#revision`.
#[derive(Debug, Clone, PartialEq)]
pub struct Scm {
    pub scheme: String,
    pub user: Option<String>,
    pub host: String,
    pub repository: String,
    pub module: Option<String>,
    pub revision: String,
}

impl Scm {
    pub fn parse(url: &str) -> std::result::Result<Scm, String> {
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| format!("Invalid SCM URL: {url}"))?;
        if !is_scm_url(url) {
            return Err(format!("Invalid SCM URL: {url}"));
        }
        let (rest, revision) = rest
            .split_once('#')
            .ok_or_else(|| format!("Invalid SCM URL: {url}: a revision (#...) is required"))?;
        if revision.is_empty() {
            return Err(format!(
                "Invalid SCM URL: {url}: a revision (#...) is required"
            ));
        }
        // it reaches git's command line: a ref or commit name, never an option
        if revision.starts_with('-')
            || !revision
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._/^~@{}+-".contains(c))
        {
            return Err(format!("Invalid SCM URL: {url}: bad revision {revision:?}"));
        }
        let (rest, module) = match rest.split_once('?') {
            Some((r, m)) => (r, Some(m.trim_end_matches('/').to_string())),
            None => (rest, None),
        };
        let (netloc, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let (user, host) = match netloc.split_once('@') {
            Some((u, h)) => {
                if u.contains(':') {
                    return Err("username:password format not supported".into());
                }
                (Some(u.to_string()), h.to_string())
            }
            None => (None, netloc.to_string()),
        };
        Ok(Scm {
            scheme: format!("{scheme}://"),
            user,
            host,
            repository: normalize_path(path),
            module,
            revision: revision.to_string(),
        })
    }

    /// Upstream's checkout directory: the repository's last component,
    /// without `.git` (or `/.git`).
    pub fn checkout_path(&self) -> String {
        let r = self.repository.as_str();
        let r = r
            .strip_suffix("/.git")
            .or_else(|| r.strip_suffix(".git"))
            .unwrap_or(r);
        r.rsplit('/').next().unwrap_or_default().to_string()
    }

    /// Upstream's `common` repository of `remote` (the module's URL or
    /// path): beside it, named like it (`common`, `common.git`,
    /// `common/.git`).
    pub fn common_remote(remote: &str, repository: &str) -> String {
        let dirname = |s: &str| {
            s.rsplit_once('/')
                .map_or(String::new(), |(d, _)| d.to_string())
        };
        if repository.ends_with("/.git") {
            format!("{}/common/.git", dirname(&remote[..remote.len() - 5]))
        } else if repository.ends_with(".git") {
            format!("{}/common.git", dirname(&remote[..remote.len() - 4]))
        } else {
            format!("{}/common", dirname(remote))
        }
    }

    /// The URL git clones.
    pub fn git_remote(&self) -> String {
        let scheme = self.scheme.strip_prefix("git+").unwrap_or(&self.scheme);
        if scheme == "file://" {
            return format!("file://{}", self.repository);
        }
        let user = self
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}{user}{}{}", self.host, self.repository)
    }

    /// Upstream's `source` of a git checkout: the URL with the commit.
    pub fn source_with(&self, commit: &str) -> String {
        let mut s = format!(
            "{}{}{}",
            self.scheme.trim_end_matches("://"),
            "://",
            self.host
        );
        s.push_str(&self.repository);
        if let Some(m) = &self.module {
            s.push('?');
            s.push_str(m);
        }
        s.push('#');
        s.push_str(commit);
        s
    }
}

/// Python's `os.path.normpath` of an absolute URL path (upstream
/// normalises before matching `allowed_scms`, so `..` cannot escape an
/// allowed prefix); no trailing `/`.
fn normalize_path(path: &str) -> String {
    let mut parts: Vec<&str> = vec![];
    for c in path.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    format!("/{}", parts.join("/"))
}

/// `tagBuild(tag_id, build_id, force=False, fromtag=None, ignore_success=False)`.
async fn tag_build(
    ctx: &TaskCtx,
    tag: &Json,
    build: &Json,
    force: bool,
    fromtag: &Json,
    ignore_success: bool,
) -> Result<Json> {
    let owner = ctx.info["owner"].clone();
    let res = ctx
        .hub
        .call(
            "host.tagBuild",
            vec![
                json!(ctx.id),
                tag.clone(),
                build.clone(),
                kw(json!({"force": force, "fromtag": fromtag})),
            ],
        )
        .await;
    match res {
        Ok(_) => {
            ctx.hub
                .call(
                    "host.tagNotification",
                    vec![
                        json!(true),
                        tag.clone(),
                        fromtag.clone(),
                        build.clone(),
                        owner,
                        json!(ignore_success),
                    ],
                )
                .await?;
            Ok(Json::Null)
        }
        Err(e) => {
            let msg = match e.downcast_ref::<crate::client::Fault>() {
                Some(f) => format!("{}: {}", fault_class(f.code), f.message),
                None => format!("{e:#}"),
            };
            let _ = ctx
                .hub
                .call(
                    "host.tagNotification",
                    vec![
                        json!(false),
                        tag.clone(),
                        fromtag.clone(),
                        build.clone(),
                        owner,
                        json!(ignore_success),
                        json!(msg),
                    ],
                )
                .await;
            Err(e)
        }
    }
}

fn fault_class(code: i32) -> &'static str {
    match code {
        1003 => "TagError",
        1004 => "ActionNotAllowed",
        1005 => "BuildError",
        _ => "GenericError",
    }
}

/// `dependantTask(wait_list, task_list)`: waits for the tasks of
/// `wait_list`, then runs `task_list` (`[method, arglist, opts]` each) as
/// subtasks and waits for them.
/// `chainbuild(srcs, target, opts=None)`: build levels in order. Each
/// level's SCM URLs become `build` subtasks (with `target` and `opts`);
/// its NVRs, and the builds the level made, must be in the target's build
/// tag's repo (a `waitrepo` subtask) before the next level starts.
async fn chain_build(ctx: &TaskCtx, srcs: &Json, target: &Json, opts: &Json) -> Result<Json> {
    if opts.get("scratch").is_some_and(koji_core::api::truthy) {
        return Err(fail(
            BUILD_ERROR,
            "--scratch is not allowed with chain-builds",
        ));
    }
    let tinfo = ctx.hub.call("getBuildTarget", vec![target.clone()]).await?;
    if tinfo.is_null() {
        return Err(fail(
            1000,
            format!(
                "unknown build target: {}",
                target.as_str().unwrap_or_default()
            ),
        ));
    }
    let levels = srcs.as_array().cloned().unwrap_or_default();
    let mut nvrs: Vec<Json> = vec![];
    for (n_level, level) in levels.iter().enumerate() {
        if !nvrs.is_empty() {
            let t = ctx
                .subtask(
                    "waitrepo",
                    vec![
                        tinfo["build_tag_name"].clone(),
                        Json::Null,
                        Json::Array(std::mem::take(&mut nvrs)),
                    ],
                    json!({"label": format!("wait {n_level}")}),
                )
                .await?;
            ctx.wait_all(&[t], true).await?;
        }
        let mut build_tasks = vec![];
        for (n_src, src) in level
            .as_array()
            .cloned()
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            let text = src.as_str().unwrap_or_default();
            if is_scm_url(text) {
                let t = ctx
                    .subtask(
                        "build",
                        vec![src.clone(), target.clone(), opts.clone()],
                        json!({"label": format!("build {n_level},{n_src}")}),
                    )
                    .await?;
                build_tasks.push(t);
            } else {
                // an existing build: the next level waits for it too
                nvrs.push(src.clone());
            }
        }
        if !build_tasks.is_empty() {
            ctx.wait_all(&build_tasks, true).await?;
        }
        for t in build_tasks {
            let builds = ctx
                .hub
                .call("listBuilds", vec![kw(json!({"taskID": t}))])
                .await?;
            if let Some(nvr) = builds.get(0).and_then(|b| b.get("nvr")) {
                nvrs.push(nvr.clone());
            }
        }
    }
    Ok(Json::Null)
}

async fn dependant_task(ctx: &TaskCtx, wait_list: &Json, task_list: &Json) -> Result<Json> {
    let mut waiting: Vec<i64> = wait_list
        .as_array()
        .map(|a| a.iter().filter_map(Json::as_i64).collect())
        .unwrap_or_default();
    while !waiting.is_empty() {
        let mut still = vec![];
        for t in waiting {
            let info = ctx.hub.call("getTaskInfo", vec![json!(t)]).await?;
            if info.is_null() {
                continue;
            }
            match info["state"].as_i64() {
                Some(2) => {}
                Some(3) | Some(5) => {
                    return Err(fail(1000, format!("Dependency {t} failed to complete.")))
                }
                _ => still.push(t),
            }
        }
        waiting = still;
        if !waiting.is_empty() {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }
    let mut subs = vec![];
    for entry in task_list.as_array().cloned().unwrap_or_default() {
        let method = entry[0].as_str().unwrap_or_default().to_string();
        let args = entry[1].as_array().cloned().unwrap_or_default();
        let opts = entry.get(2).cloned().unwrap_or(json!({}));
        subs.push(ctx.subtask(&method, args, opts).await?);
    }
    if !subs.is_empty() {
        ctx.wait_all(&subs, false).await?;
    }
    Ok(Json::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// As upstream's (an `re.match`: only the start of the file counts).
    #[test]
    fn spec_sanity_checks_as_upstream() {
        let dir = tempfile::tempdir().expect("tmp");
        let spec = dir.path().join("x.spec");
        let check = |text: &str| {
            std::fs::write(&spec, text).expect("spec");
            spec_sanity_checks(&spec).map_err(|e| e.to_string())
        };
        assert_eq!(
            check("Vendor: me\nName: x\n").unwrap_err(),
            "Vendor is not allowed to be set in spec file"
        );
        assert_eq!(
            check("%define packager  me\nName: x\n").unwrap_err(),
            "packager is not allowed to be defined in spec file"
        );
        assert!(check("Name: x\nVendor: me\n").is_ok());
        assert!(check("%define packagers 1\n").is_ok());
        assert!(check("%definepackager 1\n").is_ok());
        assert!(check("Name: x\n").is_ok());
    }

    #[test]
    fn canon_arches() {
        assert_eq!(canon_arch("i686"), "i386");
        assert_eq!(canon_arch("x86_64"), "x86_64");
        assert_eq!(canon_arch("armv7hl"), "armhfp");
        assert_eq!(canon_arch("armv5tel"), "arm");
        assert_eq!(canon_arch("ppc64le"), "ppc64le");
        assert_eq!(canon_arch("ppc64p7"), "ppc64");
    }

    #[test]
    fn arch_lists_as_upstream() {
        let h = |v: Json| v.as_object().cloned().unwrap_or_default();
        assert_eq!(
            arch_list("x86_64 aarch64", "", &h(json!({})), None).unwrap(),
            vec!["x86_64", "aarch64"]
        );
        // BuildArch: noarch
        assert_eq!(
            arch_list("x86_64", "", &h(json!({"buildarchs": ["noarch"]})), None).unwrap(),
            vec!["noarch"]
        );
        assert_eq!(
            arch_list(
                "x86_64 aarch64",
                "",
                &h(json!({"exclusivearch": ["aarch64"]})),
                None
            )
            .unwrap(),
            vec!["aarch64"]
        );
        assert_eq!(
            arch_list(
                "x86_64 aarch64",
                "",
                &h(json!({"excludearch": ["aarch64"]})),
                None
            )
            .unwrap(),
            vec!["x86_64"]
        );
        assert_eq!(
            arch_list("x86_64 aarch64", "", &h(json!({})), Some("aarch64")).unwrap(),
            vec!["aarch64"]
        );
        assert_eq!(
            arch_list("x86_64", "", &h(json!({"exclusivearch": ["s390x"]})), None).unwrap_err(),
            "No matching arches were found"
        );
        assert_eq!(
            arch_list("i686 x86_64", "", &h(json!({})), None).unwrap(),
            vec!["i686", "x86_64"]
        );
    }

    #[test]
    fn scm_urls() {
        let s = Scm::parse("git+https://example.com/rpms/hello.git?sub#abc123").unwrap();
        assert_eq!(s.host, "example.com");
        assert_eq!(s.repository, "/rpms/hello.git");
        assert_eq!(s.module.as_deref(), Some("sub"));
        assert_eq!(s.revision, "abc123");
        assert_eq!(s.git_remote(), "https://example.com/rpms/hello.git");
        assert!(Scm::parse("git://h/r").is_err());
        assert!(Scm::parse("http://h/r#x").is_err());
        assert!(Scm::parse("git://u:p@h/r#x").is_err());
        // a revision is never an option of git's
        assert!(Scm::parse("git+file:///r#--upload-pack=touch%20/tmp/x").is_err());
        assert!(Scm::parse("git://h/r#a b").is_err());
        assert!(Scm::parse("git://h/r#v1.0^{}").is_ok());
        let f = Scm::parse("git+file:///srv/git/hello.git#main").unwrap();
        assert_eq!(f.host, "");
        assert_eq!(f.repository, "/srv/git/hello.git");
        assert_eq!(f.git_remote(), "file:///srv/git/hello.git");
        // paths are normalised before allowed_scms sees them
        let n = Scm::parse("git+https://h/rpms/../secret/x.git#1").unwrap();
        assert_eq!(n.repository, "/secret/x.git");
        let d = Scm::parse("git://127.0.0.1:9418/hello.git#main").unwrap();
        assert_eq!(d.git_remote(), "git://127.0.0.1:9418/hello.git");
        assert_eq!(d.source_with("f00"), "git://127.0.0.1:9418/hello.git#f00");
    }

    #[test]
    fn checkout_and_common_paths_as_upstream() {
        let co = |url: &str| Scm::parse(url).unwrap().checkout_path();
        assert_eq!(co("git://h/rpms/hello.git#1"), "hello");
        assert_eq!(co("git://h/rpms/hello/.git#1"), "hello");
        assert_eq!(co("git://h/rpms/hello#1"), "hello");
        let common = |url: &str| {
            let s = Scm::parse(url).unwrap();
            Scm::common_remote(&s.git_remote(), &s.repository)
        };
        assert_eq!(
            common("git+https://h/rpms/hello.git#1"),
            "https://h/rpms/common.git"
        );
        assert_eq!(
            common("git://h/rpms/hello/.git#1"),
            "git://h/rpms/common/.git"
        );
        assert_eq!(
            common("git+ssh://u@h/rpms/hello#1"),
            "ssh://u@h/rpms/common"
        );
        assert_eq!(
            common("git+file:///srv/git/hello.git#1"),
            "file:///srv/git/common.git"
        );
    }
}
