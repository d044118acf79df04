//! The mock backend of [`Buildroot`]: what upstream's builder does with
//! mock. The configuration is upstream's (`koji_core::mock`: the tag's
//! repo, arch and `mock.*`/`rpm.macro.*`/`rpm.env.*` extras as of the
//! repo's event), written to the task's directory and uploaded as
//! `mock_config.log`; `mock -r CONFIG --init` installs the `build` group,
//! `mock --no-clean --target ARCH --rebuild SRPM` builds. Mock's logs and
//! results go to the task's `result/` directory (`--resultdir`), mock's own
//! output to `mock_output.log`.

use super::broot::{
    one_srpm, rpm_ids, set_state, usable_repo, BuildLogs, Buildroot, Built, RootSpec, BR_BUILDING,
    BUILDROOT_ERROR,
};
use super::{canon_arch, files_with, note, run_logged};
use crate::client::kw;
use crate::runner::{fail, TaskCtx, BUILD_ERROR};
use anyhow::Result;
use koji_core::mock::MockConfig;
use serde_json::{json, Map, Value as Json};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::ExitStatus;
use std::time::Duration;

pub struct MockRoot {
    id: i64,
    config: PathBuf,
    /// The tag's `mock.new_chroot`: `--new-chroot` or `--old-chroot`.
    new_chroot: Option<bool>,
    resultdir: PathBuf,
    /// The chroot mock makes (`<mockdir>/<name>/root`), whose RPM database
    /// gives the buildroot's listing.
    rootdir: PathBuf,
    /// `repos/TAG/REPO/ARCH`, for the repo's RPM ids.
    repo_dir: String,
    /// kojid.conf's `chroot_tmpdir`: the task's scratch space, as the
    /// chroot sees it.
    tmp_within: String,
}

/// Upstream's `parseStatus(rv, 'mock')` with the log to read.
fn mock_result(status: ExitStatus) -> String {
    let what = match (status.code(), status.signal()) {
        (Some(c), _) => format!("mock exited with status {c}"),
        (None, Some(s)) => format!("mock was killed by signal {s}"),
        _ => "mock terminated for unknown reasons".to_string(),
    };
    let log = match status.code() {
        Some(10) => "build.log",
        Some(1) => "build.log or root.log",
        _ => "root.log",
    };
    format!("{what}; see {log} for more information")
}

impl MockRoot {
    /// Records the buildroot with the hub, writes its configuration, runs
    /// `mock --init` and records what it installed.
    pub async fn init(
        ctx: &TaskCtx,
        repo_id: i64,
        arch: &str,
        spec: &RootSpec,
        logs: &BuildLogs,
    ) -> Result<MockRoot> {
        let (rinfo, tag_name) = usable_repo(ctx, repo_id).await?;
        // the tag's settings as of the repo
        let config = ctx
            .hub
            .call(
                "getBuildConfig",
                vec![
                    rinfo["tag_id"].clone(),
                    kw(json!({"event": rinfo["create_event"]})),
                ],
            )
            .await?;
        if config.is_null() {
            return Err(fail(
                BUILDROOT_ERROR,
                format!("Could not get config info for tag: {tag_name}"),
            ));
        }
        let extra: Map<String, Json> = match &config["extra"] {
            Json::Object(m) => m.clone(),
            _ => Map::new(),
        };
        let br_arch = canon_arch(arch);
        let target_arch = if arch == "armhfp" { "armv7hl" } else { arch };
        let id = ctx
            .hub
            .call(
                "host.newBuildRoot",
                vec![
                    json!(repo_id),
                    json!(br_arch),
                    kw(json!({"task_id": ctx.id})),
                ],
            )
            .await?
            .as_i64()
            .ok_or_else(|| fail(BUILDROOT_ERROR, "failed to get a buildroot id"))?;
        // from here on, a failure leaves the buildroot EXPIRED
        let made = Self::setup(
            ctx,
            id,
            repo_id,
            &tag_name,
            &br_arch,
            target_arch,
            &extra,
            spec,
            logs,
        )
        .await;
        if made.is_err() {
            let _ = set_state(ctx, id, super::broot::BR_EXPIRED).await;
        }
        made
    }

    /// The configuration, `mock --init` and the listing of buildroot `id`.
    #[allow(clippy::too_many_arguments)]
    async fn setup(
        ctx: &TaskCtx,
        id: i64,
        repo_id: i64,
        tag_name: &str,
        br_arch: &str,
        target_arch: &str,
        extra: &Map<String, Json>,
        spec: &RootSpec,
        logs: &BuildLogs,
    ) -> Result<MockRoot> {
        let name = format!("{tag_name}-{id}-{repo_id}");
        let m = &ctx.cfg.mock;
        let text = MockConfig {
            name: name.clone(),
            arch: br_arch.to_string(),
            managed: true,
            repo_id: repo_id.to_string(),
            tag_name: tag_name.to_string(),
            buildroot_id: Some(id),
            topurls: ctx.cfg.topurl.iter().cloned().collect(),
            topdir: ctx
                .cfg
                .topdir
                .as_ref()
                .map_or_else(|| "/mnt/koji".into(), |t| t.display().to_string()),
            mockdir: m.mockdir.clone(),
            target_arch: Some(target_arch.to_string()),
            rpmbuild_timeout: ctx.cfg.rpmbuild_timeout as i64,
            yum_proxy: m.yum_proxy.clone(),
            vendor: ctx.cfg.vendor.clone(),
            packager: ctx.cfg.packager.clone(),
            distribution: ctx.cfg.distribution.clone(),
            mockhost: m.mockhost.clone(),
            install_group: spec.group.to_string(),
            use_host_resolv: spec.setup_dns,
            etc_hosts: if spec.setup_dns {
                std::fs::read_to_string("/etc/hosts").ok()
            } else {
                None
            },
            ..MockConfig::default()
        }
        .from_tag_extra(extra, m.bootstrap_image)
        .map_err(|e| fail(e.fault_code(), e.to_string()))?
        .render()
        .map_err(|e| fail(e.fault_code(), e.to_string()))?;
        let dir = ctx.workdir.join("mock");
        std::fs::create_dir_all(&dir)?;
        let config_path = dir.join(format!("{name}.cfg"));
        std::fs::write(&config_path, &text)?;
        let copy = ctx.workdir.join("mock_config.log");
        std::fs::write(&copy, &text)?;
        ctx.upload(&copy).await?;
        note(
            &logs.root,
            &format!(
                "buildroot {id}: mock, repo {repo_id} of tag {tag_name} ({br_arch}), group {}",
                spec.group
            ),
        );
        let root = MockRoot {
            id,
            config: config_path,
            new_chroot: extra.get("mock.new_chroot").map(koji_core::api::truthy),
            resultdir: logs.build.parent().unwrap_or(&ctx.workdir).to_path_buf(),
            rootdir: Path::new(&m.mockdir).join(&name).join("root"),
            repo_dir: format!("repos/{tag_name}/{repo_id}/{br_arch}"),
            tmp_within: format!("/{}", m.chroot_tmpdir.trim_matches('/')),
        };
        let status = root.mock(ctx, &["--init"], logs).await?;
        if !status.success() {
            return Err(fail(
                BUILDROOT_ERROR,
                format!("could not init mock buildroot, {}", mock_result(status)),
            ));
        }
        // the kernel it runs on, in the logs
        let _ = root.mock(ctx, &["--chroot", "uname -r"], logs).await;
        let list = root.package_list(ctx, logs).await;
        ctx.hub
            .call(
                "host.setBuildRootList",
                vec![json!(id), json!(list), kw(json!({"task_id": ctx.id}))],
            )
            .await?;
        Ok(root)
    }

    /// A path inside the chroot as this machine sees it.
    fn without(&self, within: &str) -> PathBuf {
        self.rootdir.join(within.trim_start_matches('/'))
    }

    /// A path of this machine under the chroot as the chroot sees it.
    fn within(&self, path: &Path) -> Result<String> {
        let rel = path.strip_prefix(&self.rootdir).map_err(|_| {
            fail(
                BUILDROOT_ERROR,
                format!("{} is not in the buildroot", path.display()),
            )
        })?;
        Ok(format!("/{}", rel.display()))
    }

    /// Runs `mock -r CONFIG --resultdir DIR ARGS...`, its output appended
    /// to `mock_output.log`.
    async fn mock(&self, ctx: &TaskCtx, args: &[&str], logs: &BuildLogs) -> Result<ExitStatus> {
        let mut cmd = tokio::process::Command::new(&ctx.cfg.mock.mockpath);
        cmd.arg("-r").arg(&self.config);
        match self.new_chroot {
            Some(true) => {
                cmd.arg("--new-chroot");
            }
            Some(false) => {
                cmd.arg("--old-chroot");
            }
            None => {}
        }
        cmd.arg("--resultdir")
            .arg(&self.resultdir)
            .args(args)
            .current_dir(&ctx.workdir)
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        note(
            &logs.output,
            &format!(
                "{} -r {} --resultdir {} {}",
                ctx.cfg.mock.mockpath,
                self.config.display(),
                self.resultdir.display(),
                args.join(" ")
            ),
        );
        run_logged(
            cmd,
            &logs.output,
            Duration::from_secs(ctx.cfg.rpmbuild_timeout),
        )
        .await
        .map_err(|e| {
            if e.downcast_ref::<std::io::Error>().is_some()
                || e.to_string().contains("cannot start")
            {
                fail(
                    BUILDROOT_ERROR,
                    format!(
                        "cannot run mock ({}): {e:#}; install mock or set mockpath",
                        ctx.cfg.mock.mockpath
                    ),
                )
            } else {
                e
            }
        })
    }

    /// The repo's ids of the RPMs installed in the chroot (read from its
    /// RPM database); packages the repo does not have are named in
    /// root.log and left out.
    async fn package_list(&self, ctx: &TaskCtx, logs: &BuildLogs) -> Vec<i64> {
        if !self.rootdir.is_dir() {
            note(
                &logs.root,
                &format!("no chroot at {}: empty listing", self.rootdir.display()),
            );
            return vec![];
        }
        let out = tokio::process::Command::new("rpm")
            .arg("--root")
            .arg(&self.rootdir)
            .args(["-qa", "--qf", "%{NAME}-%{VERSION}-%{RELEASE}.%{ARCH}\\n"])
            .output()
            .await;
        let text = match out {
            Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
            Ok(o) => {
                note(
                    &logs.root,
                    &format!(
                        "cannot read the chroot's RPM database: {}",
                        String::from_utf8_lossy(&o.stderr).trim()
                    ),
                );
                return vec![];
            }
            Err(e) => {
                note(&logs.root, &format!("cannot run rpm: {e}"));
                return vec![];
            }
        };
        let ids = rpm_ids(ctx, &format!("{}/rpmlist.jsonl", self.repo_dir)).await;
        let mut list = vec![];
        let mut unknown = vec![];
        for nvra in text.lines().filter(|l| !l.is_empty()) {
            match ids.get(nvra) {
                Some(id) => list.push(*id),
                None if nvra.starts_with("gpg-pubkey-") => {}
                None => unknown.push(nvra.to_string()),
            }
        }
        if !unknown.is_empty() {
            note(
                &logs.root,
                &format!("installed, not from the repo: {}", unknown.join(" ")),
            );
        }
        list.sort_unstable();
        list
    }
}

#[async_trait::async_trait]
impl Buildroot for MockRoot {
    fn id(&self) -> Option<i64> {
        Some(self.id)
    }

    /// `mock --clean`: the chroot goes (upstream's builder scrubs it
    /// later; a failed buildroot is not kept for inspection here).
    async fn clean(&mut self, ctx: &TaskCtx, logs: &BuildLogs) {
        match self.mock(ctx, &["--clean"], logs).await {
            Ok(s) if s.success() => {}
            Ok(s) => tracing::warn!(buildroot = self.id, "mock --clean: {s}"),
            Err(e) => tracing::warn!(buildroot = self.id, "mock --clean: {e:#}"),
        }
    }

    fn scratch_dir(&self, _ctx: &TaskCtx) -> PathBuf {
        self.without(&self.tmp_within)
    }

    /// `mock --chroot` runs `source_cmd` in the checkout (unprivileged),
    /// then `mock --buildsrpm` makes the SRPM into the result directory.
    async fn build_srpm(
        &mut self,
        ctx: &TaskCtx,
        spec: &Path,
        sourcedir: &Path,
        source_cmd: Option<&[String]>,
        logs: &BuildLogs,
    ) -> Result<PathBuf> {
        set_state(ctx, self.id, BR_BUILDING).await?;
        if let Some(cmd) = source_cmd {
            let cwd = self.within(sourcedir)?;
            let mut args = vec!["--no-clean", "--unpriv", "--cwd", &cwd, "--chroot"];
            args.extend(cmd.iter().map(String::as_str));
            let status = self.mock(ctx, &args, logs).await?;
            if !status.success() {
                return Err(fail(
                    BUILD_ERROR,
                    format!("error retrieving sources, {}", mock_result(status)),
                ));
            }
        }
        let sources = if sourcedir.join("SOURCES").is_dir() {
            sourcedir.join("SOURCES")
        } else {
            sourcedir.to_path_buf()
        };
        let spec = spec.display().to_string();
        let sources = sources.display().to_string();
        let status = self
            .mock(
                ctx,
                &[
                    "--no-clean",
                    "--buildsrpm",
                    "--spec",
                    &spec,
                    "--sources",
                    &sources,
                    "--target",
                    "noarch",
                ],
                logs,
            )
            .await?;
        if !status.success() {
            return Err(fail(
                BUILD_ERROR,
                format!("error building srpm, {}", mock_result(status)),
            ));
        }
        one_srpm(&self.resultdir, sourcedir)
    }

    /// The SRPM installed into the chroot's scratch space (`rpm -iv`),
    /// then `rpmbuild -bs --nodeps` there; the SRPM moved to the result
    /// directory.
    async fn rebuild_srpm(
        &mut self,
        ctx: &TaskCtx,
        srpm: &Path,
        logs: &BuildLogs,
    ) -> Result<PathBuf> {
        set_state(ctx, self.id, BR_BUILDING).await?;
        let tmp = self.scratch_dir(ctx);
        let srpm_dir = tmp.join("srpm");
        let unpacked = tmp.join("srpm_unpacked");
        std::fs::create_dir_all(&srpm_dir)?;
        std::fs::create_dir_all(&unpacked)?;
        let base = srpm
            .file_name()
            .ok_or_else(|| fail(BUILD_ERROR, format!("not an SRPM: {}", srpm.display())))?;
        std::fs::copy(srpm, srpm_dir.join(base))?;
        let top = self.within(&unpacked)?;
        let topdef = format!("_topdir {top}");
        let inside = self.within(&srpm_dir.join(base))?;
        // (as upstream, a failed unpack shows as a missing spec file)
        self.mock(
            ctx,
            &[
                "--no-clean",
                "--target",
                "noarch",
                "--chroot",
                "--",
                "rpm",
                "--define",
                &topdef,
                "-iv",
                &inside,
            ],
            logs,
        )
        .await?;
        let specs: Vec<PathBuf> = files_with(&unpacked.join("SPECS"), ".spec");
        let spec = match specs.as_slice() {
            [] => return Err(fail(BUILD_ERROR, "No spec file found")),
            [one] => one.clone(),
            many => {
                return Err(fail(
                    BUILD_ERROR,
                    format!("Multiple spec files found: {many:?}"),
                ))
            }
        };
        let spec_inside = format!(
            "{top}/SPECS/{}",
            spec.file_name().unwrap_or_default().to_string_lossy()
        );
        let status = self
            .mock(
                ctx,
                &[
                    "--no-clean",
                    "--target",
                    "noarch",
                    "--chroot",
                    "--",
                    "rpmbuild",
                    "--define",
                    &topdef,
                    "-bs",
                    "--nodeps",
                    &spec_inside,
                ],
                logs,
            )
            .await?;
        for f in files_with(&unpacked.join("SRPMS"), ".src.rpm") {
            if let Some(name) = f.file_name() {
                // (the chroot and the result directory may be on different
                // file systems)
                std::fs::copy(&f, self.resultdir.join(name))?;
                let _ = std::fs::remove_file(&f);
            }
        }
        if !status.success() {
            return Err(fail(
                BUILD_ERROR,
                format!("error building srpm, {}", mock_result(status)),
            ));
        }
        one_srpm(&self.resultdir, &srpm_dir)
    }

    async fn rebuild(
        &mut self,
        ctx: &TaskCtx,
        srpm: &Path,
        arch: &str,
        keep_srpm: bool,
        logs: &BuildLogs,
    ) -> Result<Built> {
        set_state(ctx, self.id, BR_BUILDING).await?;
        let path = srpm.display().to_string();
        let status = self
            .mock(
                ctx,
                &["--no-clean", "--target", arch, "--rebuild", &path],
                logs,
            )
            .await?;
        let list = self.package_list(ctx, logs).await;
        ctx.hub
            .call(
                "host.updateBuildRootList",
                vec![json!(self.id), json!(list), kw(json!({"task_id": ctx.id}))],
            )
            .await?;
        if !status.success() {
            return Err(fail(
                BUILD_ERROR,
                format!(
                    "error building package (arch {arch}), {}",
                    mock_result(status)
                ),
            ));
        }
        let all = files_with(&self.resultdir, ".rpm");
        let (srpms, rpms): (Vec<PathBuf>, Vec<PathBuf>) = all
            .into_iter()
            .partition(|p| p.to_string_lossy().ends_with(".src.rpm"));
        Ok(Built {
            rpms,
            srpms: if keep_srpm { srpms } else { vec![] },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mock_failures_name_the_log_as_upstream() {
        let st = |code: i32| ExitStatus::from_raw(code << 8);
        assert_eq!(
            mock_result(st(10)),
            "mock exited with status 10; see build.log for more information"
        );
        assert_eq!(
            mock_result(st(1)),
            "mock exited with status 1; see build.log or root.log for more information"
        );
        assert_eq!(
            mock_result(st(30)),
            "mock exited with status 30; see root.log for more information"
        );
        assert_eq!(
            mock_result(ExitStatus::from_raw(9)),
            "mock was killed by signal 9; see root.log for more information"
        );
    }
}
