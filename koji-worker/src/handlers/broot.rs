//! Buildroots: the [`Buildroot`] trait a build task uses, whatever makes
//! the buildroot, and its backends: [`SandboxRoot`] (the packages of the
//! tag's repo resolved and unpacked here (see [`crate::buildroot`]) and
//! laid over this system in a bubblewrap sandbox, or this system's own
//! packages when the tag has no repo) and [`super::mockroot::MockRoot`]
//! (mock, with the configuration upstream's builder writes). Both record
//! the buildroot with the hub (`host.newBuildRoot`, its RPM listing, its
//! states).

use super::{canon_arch, files_with, noarch_repo_arch, note, run_logged, sandboxed_with};
use crate::buildroot::{comps_group, layer, read_repo, resolve, unpack, Dep};
use crate::client::kw;
use crate::runner::{fail, TaskCtx, BUILD_ERROR};
use anyhow::Result;
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The logs of a build, streamed to the task's output while they grow.
pub struct BuildLogs {
    pub build: PathBuf,
    pub root: PathBuf,
    pub state: PathBuf,
    /// The output of the tools themselves (`mock_output.log`).
    pub output: PathBuf,
}

/// What a build made.
pub struct Built {
    pub rpms: Vec<PathBuf>,
    pub srpms: Vec<PathBuf>,
}

/// A build task's buildroot, made for a tag's repo and an arch.
#[async_trait::async_trait]
pub trait Buildroot: Send + Sync {
    /// The hub's id of this buildroot, once recorded.
    fn id(&self) -> Option<i64>;

    /// Rebuilds `srpm` for `arch`: the binary RPMs, and with `keep_srpm`
    /// the SRPM made again. A failed build is a `BuildError` naming the
    /// log to read.
    async fn rebuild(
        &mut self,
        ctx: &TaskCtx,
        srpm: &Path,
        arch: &str,
        keep_srpm: bool,
        logs: &BuildLogs,
    ) -> Result<Built>;

    /// Makes an SRPM from `spec` and the sources in `sourcedir` (a
    /// directory under [`Buildroot::scratch_dir`]), after running
    /// `source_cmd` there in the buildroot (upstream's `build_srpm`).
    async fn build_srpm(
        &mut self,
        ctx: &TaskCtx,
        spec: &Path,
        sourcedir: &Path,
        source_cmd: Option<&[String]>,
        logs: &BuildLogs,
    ) -> Result<PathBuf>;

    /// Makes `srpm` again from its own spec and sources in the buildroot,
    /// without its BuildRequires (upstream's `rebuild_srpm`).
    async fn rebuild_srpm(
        &mut self,
        ctx: &TaskCtx,
        srpm: &Path,
        logs: &BuildLogs,
    ) -> Result<PathBuf>;

    /// Where a task puts what the buildroot works on (an SCM checkout, an
    /// SRPM to unpack): upstream's `tmpdir()`, inside mock's chroot.
    fn scratch_dir(&self, ctx: &TaskCtx) -> PathBuf {
        ctx.workdir.clone()
    }

    /// Removes what the buildroot left on this machine (its record is
    /// expired by the caller).
    async fn clean(&mut self, _ctx: &TaskCtx, _logs: &BuildLogs) {}
}

/// What a buildroot is made for: the comps group it installs (`build`,
/// `srpm-build`), further requirements (an SRPM's BuildRequires), and
/// whether its builds may reach the network by name (upstream's
/// `setup_dns`, for SRPMs made from an SCM).
pub struct RootSpec {
    pub group: &'static str,
    pub deps: Vec<Dep>,
    pub setup_dns: bool,
}

impl RootSpec {
    /// The buildroot of a `buildArch` task for an SRPM (its header).
    pub fn build(srpm: &Map<String, Json>) -> RootSpec {
        RootSpec {
            group: "build",
            deps: build_requires(srpm),
            setup_dns: false,
        }
    }

    /// The buildroot that makes an SRPM.
    pub fn srpm(setup_dns: bool) -> RootSpec {
        RootSpec {
            group: "srpm-build",
            deps: vec![],
            setup_dns,
        }
    }
}

/// Makes the buildroot of a task for `tag` (`getTag`), its repo `repo_id`
/// and `arch` (noarch: an arch of the tag's), with the backend kojid.conf's
/// `buildroot` names.
pub async fn make(
    ctx: &TaskCtx,
    tag: &Json,
    repo_id: i64,
    arch: &str,
    spec: RootSpec,
    logs: &BuildLogs,
) -> Result<Box<dyn Buildroot>> {
    let tag_name = tag["name"].as_str().unwrap_or("?");
    let group = spec.group;
    // a noarch build runs in a buildroot of an arch of the tag's
    let noarch_arch = || noarch_repo_arch(tag["arches"].as_str().unwrap_or_default());
    if ctx.cfg.backend == crate::config::Backend::Mock {
        let root_arch = if arch == "noarch" {
            noarch_arch()
        } else {
            arch.to_string()
        };
        let root = super::mockroot::MockRoot::init(ctx, repo_id, &root_arch, &spec, logs).await?;
        return Ok(Box::new(root));
    }
    let backend = match ctx.cfg.backend {
        crate::config::Backend::Bwrap => "bubblewrap",
        _ => "plain",
    };
    let repo_arch = if arch == "noarch" {
        noarch_arch()
    } else {
        canon_arch(arch)
    };
    note(
        &logs.root,
        &format!("buildroot for tag {tag_name} arch {arch}: {backend} backend, repo {repo_id}"),
    );
    let populated = prepare(
        ctx, repo_id, arch, &repo_arch, group, &spec.deps, &logs.root,
    )
    .await?;
    Ok(Box::new(SandboxRoot {
        populated,
        net: spec.setup_dns,
    }))
}

/// upstream's `BuildrootError`
pub const BUILDROOT_ERROR: i32 = 1012;

/// `repoInfo` of a repo a buildroot may use (READY, or EXPIRED as upstream
/// allows) and its tag's name, checked to be a safe path component.
pub(super) async fn usable_repo(ctx: &TaskCtx, repo_id: i64) -> Result<(Json, String)> {
    let rinfo = ctx
        .hub
        .call(
            "repoInfo",
            vec![json!(repo_id), kw(json!({"strict": true}))],
        )
        .await?;
    let state = rinfo["state"].as_i64().unwrap_or(-1);
    if state != 1 && state != 2 {
        let name = usize::try_from(state)
            .ok()
            .and_then(|s| koji_core::hub::repos::REPO_STATES.get(s))
            .copied()
            .unwrap_or("UNKNOWN");
        return Err(fail(
            BUILDROOT_ERROR,
            format!("Requested repo ({repo_id}) is {name}"),
        ));
    }
    let tag = rinfo["tag_name"].as_str().unwrap_or_default().to_string();
    if tag.is_empty() || tag.contains('/') || tag == ".." {
        return Err(fail(1000, format!("Invalid tag name: {tag}")));
    }
    Ok((rinfo, tag))
}

/// The sandbox backend: rpmbuild in bubblewrap (or a plain child) over the
/// repo's packages laid over this system.
pub struct SandboxRoot {
    populated: Populated,
    /// The network, for an SRPM's `source_cmd` (upstream's `setup_dns`).
    net: bool,
}

#[async_trait::async_trait]
impl Buildroot for SandboxRoot {
    fn id(&self) -> Option<i64> {
        Some(self.populated.id)
    }

    async fn rebuild(
        &mut self,
        ctx: &TaskCtx,
        srpm: &Path,
        arch: &str,
        keep_srpm: bool,
        logs: &BuildLogs,
    ) -> Result<Built> {
        let top = srpm.parent().unwrap_or(&ctx.workdir).to_path_buf();
        let tmp = ctx.workdir.join("tmp");
        std::fs::create_dir_all(&tmp)?;
        let mut args: Vec<String> = vec![
            "--define".into(),
            format!("_topdir {}", top.display()),
            "--define".into(),
            format!("_tmppath {}", tmp.display()),
            "--define".into(),
            format!("packager {}", ctx.cfg.packager),
            "--define".into(),
            format!("vendor {}", ctx.cfg.vendor),
            "--define".into(),
            format!("distribution {}", ctx.cfg.distribution),
            // BuildRequires were resolved against the repo; this system's
            // rpm database does not know the rest
            "--nodeps".into(),
            // -ra: the binaries and the SRPM rebuilt here (kept by the first arch)
            if keep_srpm { "-ra" } else { "-rb" }.into(),
        ];
        if arch != "noarch" {
            args.push("--target".into());
            args.push(arch.to_string());
        }
        args.push(srpm.display().to_string());
        note(&logs.output, &format!("rpmbuild {}", args.join(" ")));
        note(&logs.state, "State Changed: build");
        let layers = Some(&self.populated.layers);
        let cmd = sandboxed_with(ctx, &ctx.workdir, false, &[], layers, "rpmbuild", &args);
        let status = run_logged(
            cmd,
            &logs.build,
            Duration::from_secs(ctx.cfg.rpmbuild_timeout),
        )
        .await?;
        note(&logs.output, &format!("rpmbuild exited with {status}"));
        note(&logs.state, "State Changed: end");
        if !status.success() {
            return Err(fail(
                BUILD_ERROR,
                format!(
                    "error building package (arch {arch}), rpmbuild exited with status {}; see build.log for more information",
                    status.code().unwrap_or(-1)
                ),
            ));
        }
        Ok(Built {
            rpms: files_with(&top.join("RPMS"), ".rpm"),
            srpms: if keep_srpm {
                files_with(&top.join("SRPMS"), ".src.rpm")
            } else {
                vec![]
            },
        })
    }

    async fn build_srpm(
        &mut self,
        ctx: &TaskCtx,
        spec: &Path,
        sourcedir: &Path,
        source_cmd: Option<&[String]>,
        logs: &BuildLogs,
    ) -> Result<PathBuf> {
        note(&logs.state, "State Changed: buildsrpm");
        if let Some(cmd) = source_cmd {
            // what the SCM does not hold, fetched in the buildroot (with
            // the network, as upstream's setup_dns allows)
            let mut args = vec!["-C".to_string(), sourcedir.display().to_string()];
            args.extend(cmd.iter().cloned());
            note(&logs.output, &format!("source_cmd: {}", cmd.join(" ")));
            let layers = Some(&self.populated.layers);
            let run = sandboxed_with(ctx, &ctx.workdir, self.net, &[], layers, "env", &args);
            let status = run_logged(run, &logs.build, Duration::from_secs(3600)).await?;
            if !status.success() {
                return Err(fail(
                    BUILD_ERROR,
                    format!(
                        "error retrieving sources, {} exited with status {}; see build.log for more information",
                        cmd.join(" "),
                        status.code().unwrap_or(-1)
                    ),
                ));
            }
        }
        let sources = if sourcedir.join("SOURCES").is_dir() {
            sourcedir.join("SOURCES")
        } else {
            sourcedir.to_path_buf()
        };
        let made = self.rpmbuild_srpm(ctx, &sources, spec, false, logs).await;
        note(&logs.state, "State Changed: end");
        made
    }

    async fn rebuild_srpm(
        &mut self,
        ctx: &TaskCtx,
        srpm: &Path,
        logs: &BuildLogs,
    ) -> Result<PathBuf> {
        note(&logs.state, "State Changed: rebuildsrpm");
        let unpacked = ctx.workdir.join("srpm_unpacked");
        std::fs::create_dir_all(&unpacked)?;
        // the payload (spec and sources) unpacked inside the sandbox: it
        // is the caller's data
        let unpack = vec![
            "-c".to_string(),
            "rpm2archive - < \"$1\" | tar -xzf - -C \"$2\"".to_string(),
            "unpack".to_string(),
            srpm.display().to_string(),
            unpacked.display().to_string(),
        ];
        let cmd = sandboxed_with(ctx, &ctx.workdir, false, &[], None, "sh", &unpack);
        let status = run_logged(cmd, &logs.build, Duration::from_secs(3600)).await?;
        if !status.success() {
            return Err(fail(
                BUILD_ERROR,
                "error unpacking srpm, see build.log for details",
            ));
        }
        let spec = match files_with(&unpacked, ".spec").as_slice() {
            [] => return Err(fail(BUILD_ERROR, "No spec file found")),
            [one] => one.clone(),
            many => {
                return Err(fail(
                    BUILD_ERROR,
                    format!("Multiple spec files found: {many:?}"),
                ))
            }
        };
        let made = self.rpmbuild_srpm(ctx, &unpacked, &spec, true, logs).await;
        note(&logs.state, "State Changed: end");
        made
    }
}

impl SandboxRoot {
    /// `rpmbuild -bs` of `spec` with `sources`, in the buildroot (output in
    /// build.log), and the one SRPM it made.
    async fn rpmbuild_srpm(
        &self,
        ctx: &TaskCtx,
        sources: &Path,
        spec: &Path,
        nodeps: bool,
        logs: &BuildLogs,
    ) -> Result<PathBuf> {
        let top = ctx.workdir.join("rpmbuild");
        std::fs::create_dir_all(&top)?;
        let mut args: Vec<String> = vec![
            "--define".into(),
            format!("_topdir {}", top.display()),
            "--define".into(),
            format!("_sourcedir {}", sources.display()),
            "-bs".into(),
        ];
        if nodeps {
            args.push("--nodeps".into());
        }
        args.push(spec.display().to_string());
        note(&logs.output, &format!("rpmbuild {}", args.join(" ")));
        let layers = Some(&self.populated.layers);
        let cmd = sandboxed_with(ctx, &ctx.workdir, false, &[], layers, "rpmbuild", &args);
        let status = run_logged(
            cmd,
            &logs.build,
            Duration::from_secs(ctx.cfg.rpmbuild_timeout),
        )
        .await?;
        note(&logs.output, &format!("rpmbuild exited with {status}"));
        if !status.success() {
            return Err(fail(
                BUILD_ERROR,
                "error building srpm, see build.log for details",
            ));
        }
        one_srpm(&top.join("SRPMS"), sources)
    }
}

/// The one SRPM in `dir` (`where_` names the place in the errors), checked
/// to be named after its own header, as upstream checks.
pub(super) fn one_srpm(dir: &Path, where_: &Path) -> Result<PathBuf> {
    let found: Vec<PathBuf> = files_with(dir, ".src.rpm")
        .into_iter()
        .filter(|p| p.parent() == Some(dir))
        .collect();
    let srpm = match found.as_slice() {
        [one] => one.clone(),
        [] => {
            return Err(fail(
                BUILD_ERROR,
                format!("No srpms found in {}", where_.display()),
            ))
        }
        many => {
            let names: Vec<String> = many.iter().map(|p| p.display().to_string()).collect();
            return Err(fail(
                BUILD_ERROR,
                format!(
                    "Multiple srpms found in {}: {}",
                    where_.display(),
                    names.join(", ")
                ),
            ));
        }
    };
    let hdr = super::read_header(&srpm)?;
    let expect = format!(
        "{}-{}-{}.src.rpm",
        hdr["name"].as_str().unwrap_or_default(),
        hdr["version"].as_str().unwrap_or_default(),
        hdr["release"].as_str().unwrap_or_default()
    );
    let base = srpm
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if base != expect {
        return Err(fail(
            BUILD_ERROR,
            format!("srpm name mismatch: {expect} != {base}"),
        ));
    }
    Ok(srpm)
}

/// What the sandbox binds to show a buildroot: directories of the layered
/// view over the system's own, and where the system itself is mounted.
pub struct Layers {
    pub binds: Vec<(PathBuf, PathBuf)>,
    pub hostref: PathBuf,
}

/// A buildroot populated from a repo for a task.
pub struct Populated {
    pub id: i64,
    pub layers: Layers,
}

/// upstream's buildroot states
pub const BR_BUILDING: i64 = 2;
pub const BR_EXPIRED: i64 = 3;

/// A file of the content store, shared or fetched from `topurl`.
async fn store_file(ctx: &TaskCtx, rel: &str) -> Result<PathBuf> {
    ctx.store_file(rel, "repo file").await
}

/// The requirements of an SRPM header (`requirename`/`flags`/`version`).
pub fn build_requires(hdr: &Map<String, Json>) -> Vec<Dep> {
    let list = |k: &str| -> Vec<Json> {
        match hdr.get(k) {
            Some(Json::Array(a)) => a.clone(),
            Some(Json::Null) | None => vec![],
            Some(other) => vec![other.clone()],
        }
    };
    let (names, flags, vers) = (
        list("requirename"),
        list("requireflags"),
        list("requireversion"),
    );
    let mut out = vec![];
    for (i, n) in names.iter().enumerate() {
        let name = n.as_str().unwrap_or_default();
        if name.is_empty() || name.starts_with("rpmlib(") {
            continue;
        }
        let mut d = Dep::named(name);
        let f = flags.get(i).and_then(Json::as_i64).unwrap_or(0);
        let v = vers.get(i).and_then(Json::as_str).unwrap_or_default();
        if !v.is_empty() && f & 0xe != 0 {
            let (lt, gt, eq) = (f & 2 != 0, f & 4 != 0, f & 8 != 0);
            d.flags = Some(
                match (lt, gt, eq) {
                    (true, false, true) => "LE",
                    (true, false, false) => "LT",
                    (false, true, true) => "GE",
                    (false, true, false) => "GT",
                    _ => "EQ",
                }
                .into(),
            );
            let (epoch, rest) = match v.split_once(':') {
                Some((e, r)) => (Some(e.to_string()), r),
                None => (None, v),
            };
            let (ver, rel) = match rest.split_once('-') {
                Some((a, b)) => (a.to_string(), Some(b.to_string())),
                None => (rest.to_string(), None),
            };
            d.epoch = epoch;
            d.ver = Some(ver);
            d.rel = rel;
        }
        out.push(d);
    }
    out
}

/// Makes the buildroot of this task for `repo_id`/`arch`: installs the
/// repo's `group` and `extra` requirements and records it with the hub
/// (listing, then BUILDING). `repo_arch` is the repo directory to use.
pub async fn prepare(
    ctx: &TaskCtx,
    repo_id: i64,
    arch: &str,
    repo_arch: &str,
    group: &str,
    extra: &[Dep],
    log: &Path,
) -> Result<Populated> {
    let (_, tag) = usable_repo(ctx, repo_id).await?;
    let id = ctx
        .hub
        .call(
            "host.newBuildRoot",
            vec![json!(repo_id), json!(arch), kw(json!({"task_id": ctx.id}))],
        )
        .await?
        .as_i64()
        .unwrap_or_default();
    let base = format!("repos/{tag}/{repo_id}");
    note(
        log,
        &format!("buildroot {id}: repo {repo_id} of tag {tag} ({repo_arch}), group {group}"),
    );
    // the repo's metadata, from the content store or topurl
    let repomd = store_file(ctx, &format!("{base}/{repo_arch}/repodata/repomd.xml")).await?;
    let archdir = repomd
        .parent()
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    if let Some(href) =
        crate::buildroot::primary_href(&std::fs::read_to_string(&repomd).unwrap_or_default())
    {
        store_file(ctx, &format!("{base}/{repo_arch}/{href}")).await?;
    }
    let pkgs = read_repo(&archdir).map_err(|e| fail(BUILD_ERROR, format!("{e:#}")))?;
    let comps = match store_file(ctx, &format!("{base}/groups/comps.xml")).await {
        Ok(p) => std::fs::read_to_string(p).unwrap_or_default(),
        Err(_) => String::new(),
    };
    let mut wanted: Vec<Dep> = comps_group(&comps, group)
        .iter()
        .map(|n| Dep::named(n))
        .collect();
    if wanted.is_empty() {
        note(log, &format!("the repo has no {group} group"));
    }
    wanted.extend(extra.iter().cloned());
    let res = resolve(&pkgs, &wanted, repo_arch);
    let chosen: Vec<String> = res.install.iter().map(|&i| pkgs[i].nvra()).collect();
    note(
        log,
        &format!(
            "installing {} packages from the repo: {}",
            chosen.len(),
            chosen.join(" ")
        ),
    );
    if !res.from_host.is_empty() {
        note(
            log,
            &format!(
                "not in the repo, taken from this builder's system: {}",
                res.from_host.join(" ")
            ),
        );
    }
    let root = ctx.workdir.join("buildroot").join("root");
    std::fs::create_dir_all(&root)?;
    for &i in &res.install {
        let href = &pkgs[i].href;
        let rel = if let Some(r) = href.strip_prefix("toplink/") {
            r.to_string()
        } else {
            format!("{base}/{repo_arch}/{href}")
        };
        let file = store_file(ctx, &rel).await?;
        unpack(&file, &root).map_err(|e| fail(BUILD_ERROR, format!("{e:#}")))?;
    }
    let hostref = ctx.workdir.join(".host");
    std::fs::create_dir_all(&hostref)?;
    let (binds, skipped) = layer(&root, &ctx.workdir.join("buildroot").join("view"), &hostref)
        .map_err(|e| fail(BUILD_ERROR, format!("cannot lay out the buildroot: {e:#}")))?;
    if !skipped.is_empty() {
        note(
            log,
            &format!(
                "not visible in the buildroot (no such directory on this system): {}",
                skipped.join(" ")
            ),
        );
    }
    // the listing: the repo's RPM ids (rpmlist.jsonl), by N-V-R.A
    let ids = rpm_ids(ctx, &format!("{base}/{repo_arch}/rpmlist.jsonl")).await;
    let listing: Vec<Json> = res
        .install
        .iter()
        .filter_map(|&i| ids.get(&pkgs[i].nvra()).map(|id| json!(id)))
        .collect();
    ctx.hub
        .call(
            "host.setBuildRootList",
            vec![
                json!(id),
                Json::Array(listing),
                kw(json!({"task_id": ctx.id})),
            ],
        )
        .await?;
    set_state(ctx, id, BR_BUILDING).await?;
    Ok(Populated {
        id,
        layers: Layers { binds, hostref },
    })
}

pub(super) async fn rpm_ids(ctx: &TaskCtx, rel: &str) -> std::collections::HashMap<String, i64> {
    let mut out = std::collections::HashMap::new();
    let Ok(path) = store_file(ctx, rel).await else {
        return out;
    };
    for line in std::fs::read_to_string(path).unwrap_or_default().lines() {
        let Ok(r) = serde_json::from_str::<Json>(line) else {
            continue;
        };
        let key = format!(
            "{}-{}-{}.{}",
            r["name"].as_str().unwrap_or_default(),
            r["version"].as_str().unwrap_or_default(),
            r["release"].as_str().unwrap_or_default(),
            r["arch"].as_str().unwrap_or_default()
        );
        if let Some(id) = r["id"].as_i64() {
            out.insert(key, id);
        }
    }
    out
}

/// `host.setBuildRootState` for this task's buildroot.
pub async fn set_state(ctx: &TaskCtx, id: i64, state: i64) -> Result<()> {
    ctx.hub
        .call(
            "host.setBuildRootState",
            vec![json!(id), json!(state), kw(json!({"task_id": ctx.id}))],
        )
        .await?;
    Ok(())
}
