//! The builder's settings: upstream's `kojid.conf` (section `[kojid]`)
//! options that apply, each also a command-line flag.

use anyhow::{bail, Context as _, Result};
use std::path::PathBuf;

/// How a task's commands are isolated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// bubblewrap: a read-only view of the system, the task's directory
    /// writable, no network (except to fetch sources).
    Bwrap,
    /// Plain child processes (for machines without user namespaces).
    None,
    /// Builds run in mock (`mock -r CONFIG`), with the configuration
    /// upstream's builder writes; other commands (SCM checkouts, source
    /// commands, SRPMs, createrepo) run in bubblewrap.
    Mock,
}

impl Backend {
    /// The `buildroot` option's value.
    pub fn name(self) -> &'static str {
        match self {
            Backend::Bwrap => "bwrap",
            Backend::None => "none",
            Backend::Mock => "mock",
        }
    }

    /// Parses the `buildroot` option.
    pub fn parse(v: &str) -> Result<Backend> {
        Ok(match v.trim() {
            "bwrap" | "bubblewrap" => Backend::Bwrap,
            "none" | "host" => Backend::None,
            "mock" => Backend::Mock,
            other => bail!("unknown buildroot backend: {other} (bwrap, mock or none)"),
        })
    }
}

/// The options of the mock backend (upstream's kojid.conf names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MockOpts {
    /// `mockdir`: mock's `basedir`.
    pub mockdir: String,
    /// `mockpath`: the mock program.
    pub mockpath: String,
    /// `mockhost`: the `%_host` suffix.
    pub mockhost: String,
    /// `yum_proxy`.
    pub yum_proxy: Option<String>,
    /// `mock_bootstrap_image`: a tag's `mock.bootstrap_image` is used.
    pub bootstrap_image: bool,
    /// `chroot_tmpdir`: where, inside the chroot, a task puts its SCM
    /// checkout or SRPM (upstream's default `/chroot_tmpdir`).
    pub chroot_tmpdir: String,
}

impl Default for MockOpts {
    fn default() -> Self {
        MockOpts {
            mockdir: "/var/lib/mock".into(),
            mockpath: "mock".into(),
            mockhost: "koji-linux-gnu".into(),
            yum_proxy: None,
            bootstrap_image: false,
            chroot_tmpdir: "/chroot_tmpdir".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    /// Hub XML-RPC URL (`.../kojihub`).
    pub server: String,
    pub user: Option<String>,
    pub password: Option<String>,
    /// The hub's content store, when this machine sees it; otherwise files
    /// are fetched from `topurl`.
    pub topdir: Option<PathBuf>,
    pub topurl: Option<String>,
    /// Where tasks work (`<workdir>/tasks/<id%10000>/<id>`).
    pub workdir: PathBuf,
    pub maxjobs: usize,
    /// Seconds between polls when idle (assignments wake the builder
    /// sooner when the hub can tell it).
    pub sleeptime: f64,
    /// `allowed_scms`: `host:repository[:use_common[:source_cmd]]` or
    /// `!host:repository` patterns.
    pub allowed_scms: String,
    pub rpmbuild_timeout: u64,
    pub backend: Backend,
    pub log_level: Option<String>,
    /// Take the host's exclusive session even if another session holds it
    /// (upstream's `--force-lock`, for a restarted builder).
    pub force_lock: bool,
    pub packager: String,
    pub vendor: String,
    pub distribution: String,
    /// `createrepo_update`: seed createrepo_c with the previous repo's
    /// metadata (`--update`).
    pub createrepo_update: bool,
    /// `createrepo_skip_stat`: with `--update`, trust the old metadata of a
    /// package whose path is unchanged without looking at the file
    /// (`--skip-stat`; the content store never rewrites a package in place).
    pub createrepo_skip_stat: bool,
    /// `createrepo_splice` (ours, on by default): keep a repo's primary,
    /// filelists and other as chunked gzip files (`koji_worker::repodata`)
    /// and make the next repo from the previous one's chunks plus
    /// createrepo_c's entries for the new packages, so that its cost
    /// follows the change, not the tag; no sqlite databases (as
    /// createrepo_c 1.0's default). Off: createrepo_c `--update` over the
    /// whole package list, as upstream.
    pub createrepo_splice: bool,
    /// `distrepo_skip_stat`: the same for dist repos (off by default, as
    /// upstream's; a dist repo's `createrepo_skip_stat` option overrides it).
    pub distrepo_skip_stat: bool,
    /// The mock backend's options.
    pub mock: MockOpts,
    /// `smtphost` (`host` or `host:port`): where notification mail goes;
    /// none (our default) closes notification tasks without mail.
    pub smtphost: Option<String>,
    pub smtp_user: Option<String>,
    pub smtp_pass: Option<String>,
    /// `from_addr`: the sender of notification mail.
    pub from_addr: String,
    /// When the daemon started (set by the daemon for its task processes:
    /// `restartVerify` compares it).
    pub start_ts: Option<f64>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            server: String::new(),
            user: None,
            password: None,
            topdir: None,
            topurl: None,
            workdir: PathBuf::from("/var/tmp/koji"),
            maxjobs: 10,
            sleeptime: 15.0,
            allowed_scms: String::new(),
            rpmbuild_timeout: 86400,
            backend: Backend::Bwrap,
            log_level: None,
            force_lock: false,
            packager: "Koji".into(),
            vendor: "Koji".into(),
            distribution: "Koji".into(),
            createrepo_update: true,
            createrepo_skip_stat: true,
            createrepo_splice: true,
            distrepo_skip_stat: false,
            mock: MockOpts::default(),
            smtphost: None,
            smtp_user: None,
            smtp_pass: None,
            from_addr: "Koji Build System <buildsys@example.com>".into(),
            start_ts: None,
        }
    }
}

/// Options upstream's kojid accepts that do not apply here: read and ignored.
const IGNORED: &[&str] = &[
    "cert",
    "serverca",
    "krb_principal",
    "host_principal_format",
    "keytab",
    "ccache",
    "minspace",
    "mockuser",
    "allowed_scms_use_config",
    "allowed_scms_use_policy",
    "allow_password_in_scm_url",
    "scm_credentials_dir",
    "support_rpm_source_layout",
    "literal_task_arches",
    "build_arch_can_fail",
    "log_timestamps",
    "admin_emails",
    "use_fast_upload",
    "retry_interval",
    "max_retries",
    "offline_retry",
    "offline_retry_interval",
    "timeout",
    "no_ssl_verify",
    "buildroot_basic_cleanup_delay",
    "buildroot_final_cleanup_delay",
    "failed_buildroot_lifetime",
    "task_avail_delay",
    "pluginpath",
    "plugin",
    "plugins",
    "use_createrepo_c",
    "copy_old_repodata",
];

impl Config {
    /// Reads `kojid.conf`: only a `[kojid]` section; unknown options are
    /// refused as upstream refuses them.
    pub fn read(path: &std::path::Path) -> Result<Config> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let sections =
            koji_core::ini::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut c = Config::default();
        for (name, section) in &sections {
            if name != "kojid" {
                bail!("invalid section found in config file: {name}");
            }
            for (key, value) in koji_core::ini::section_values(section) {
                c.set(&key, &value)?;
            }
        }
        Ok(c)
    }

    /// One option as `KEY=VALUE` (kojid's `-o`, `serve --builder-opt`).
    pub fn set_option(&mut self, kv: &str) -> Result<()> {
        let Some((k, v)) = kv.split_once('=') else {
            anyhow::bail!("{kv}: expected KEY=VALUE");
        };
        self.set(k.trim(), v.trim())
    }

    /// Sets one option from its text.
    pub fn set(&mut self, key: &str, value: &str) -> Result<()> {
        let int = |v: &str| -> Result<u64> {
            v.trim()
                .parse()
                .map_err(|_| anyhow::anyhow!("value for {key} option must be a valid integer"))
        };
        match key {
            "server" => self.server = value.to_string(),
            "user" => self.user = Some(value.to_string()),
            "password" => self.password = Some(value.to_string()),
            "topdir" => self.topdir = Some(PathBuf::from(value)),
            "topurl" => {
                self.topurl = value.split_whitespace().next().map(str::to_owned);
            }
            "workdir" => self.workdir = PathBuf::from(value),
            "maxjobs" => self.maxjobs = int(value)? as usize,
            "sleeptime" => self.sleeptime = int(value)? as f64,
            "allowed_scms" => self.allowed_scms = value.to_string(),
            "rpmbuild_timeout" => self.rpmbuild_timeout = int(value)?,
            "log_level" => self.log_level = Some(value.to_string()),
            "packager" => self.packager = value.to_string(),
            "vendor" => self.vendor = value.to_string(),
            "distribution" => self.distribution = value.to_string(),
            "createrepo_update" => self.createrepo_update = boolean(key, value)?,
            "createrepo_skip_stat" => self.createrepo_skip_stat = boolean(key, value)?,
            "createrepo_splice" => self.createrepo_splice = boolean(key, value)?,
            "distrepo_skip_stat" => self.distrepo_skip_stat = boolean(key, value)?,
            "buildroot" | "buildroot_backend" => self.backend = Backend::parse(value)?,
            "mockdir" => self.mock.mockdir = value.to_string(),
            "mockpath" => self.mock.mockpath = value.to_string(),
            "mockhost" => self.mock.mockhost = value.to_string(),
            "yum_proxy" => self.mock.yum_proxy = Some(value.to_string()).filter(|v| !v.is_empty()),
            "mock_bootstrap_image" => self.mock.bootstrap_image = boolean(key, value)?,
            "chroot_tmpdir" => self.mock.chroot_tmpdir = value.to_string(),
            "smtphost" => self.smtphost = Some(value.trim().to_string()).filter(|v| !v.is_empty()),
            "smtp_user" => self.smtp_user = Some(value.to_string()),
            "smtp_pass" => self.smtp_pass = Some(value.to_string()),
            "from_addr" => self.from_addr = value.to_string(),
            k if IGNORED.contains(&k) || k.starts_with("rlimit_") => {}
            other => bail!("unknown config option: {other}"),
        }
        Ok(())
    }

    pub fn check(&self) -> Result<()> {
        if self.server.is_empty() {
            bail!("the server option is required");
        }
        if self.user.is_none() {
            bail!("No username/password supplied: set user and password (certificates and Kerberos are not supported yet)");
        }
        Ok(())
    }
}

/// Whether the mock program of `opts` (`mockpath`: a path, or a name
/// looked up in `PATH`) is there, said when the builder starts rather than
/// by the first build.
pub fn probe_mock(opts: &MockOpts) -> Result<PathBuf> {
    let p = std::path::Path::new(&opts.mockpath);
    let found = if p.components().count() > 1 {
        Some(p.to_path_buf()).filter(|p| p.is_file())
    } else {
        which(&opts.mockpath)
    };
    found.ok_or_else(|| {
        anyhow::anyhow!(
            "buildroot = mock, but mock ({}) is not installed here: install it (apt-get install \
             mock), set mockpath, or choose another buildroot (bwrap, none)",
            opts.mockpath
        )
    })
}

/// `program` looked up in `PATH`.
pub fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join(program))
            .find(|p| p.is_file())
    })
}

/// Whether `bwrap` (the program at `bwrap`) can make the sandbox builds
/// run in on this machine: a throw-away one with the same namespaces
/// (mounts, PID, network) is started at once, so a machine without
/// unprivileged user namespaces is reported when the builder starts, not
/// by the first build. `hint` says how to do without.
pub fn probe_bwrap(bwrap: &std::path::Path, hint: &str) -> Result<()> {
    let out = std::process::Command::new(bwrap)
        .args([
            "--ro-bind",
            "/",
            "/",
            "--dev",
            "/dev",
            "--proc",
            "/proc",
            "--tmpfs",
            "/tmp",
            "--unshare-net",
            "--unshare-pid",
            "--die-with-parent",
            "--new-session",
            "true",
        ])
        .stdin(std::process::Stdio::null())
        .output();
    match out {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            bail!("bwrap is missing: apt-get install bubblewrap ({hint})")
        }
        Err(e) => bail!("cannot run {}: {e} ({hint})", bwrap.display()),
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => bail!(
            "bubblewrap cannot make a build sandbox on this machine ({}: {}). \
             It needs unprivileged user namespaces (sysctl \
             kernel.unprivileged_userns_clone=1, or user.max_user_namespaces > 0) \
             or root; {hint}",
            o.status,
            String::from_utf8_lossy(&o.stderr).trim()
        ),
    }
}

/// configparser's `getboolean`.
fn boolean(key: &str, value: &str) -> Result<bool> {
    koji_core::ini::boolean(value).map_err(|e| anyhow::anyhow!("{key}: {e}"))
}

/// What the `allowed_scms` entry allowing a checkout says about it
/// (upstream's `host:repository[:use_common[:source_cmd]]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScmRule {
    /// Clone the `common` repository beside the module (upstream's
    /// default; `no`, `off`, `false` or `0` in the third field turn it off).
    pub use_common: bool,
    /// Run in the checkout before the SRPM is made (default `make
    /// sources`; comma-separated in the fourth field; an empty fourth
    /// field runs nothing).
    pub source_cmd: Option<Vec<String>>,
}

/// The rule of the first `allowed_scms` entry whose host and repository
/// patterns match (upstream's rules; `!` denies), or None when the
/// checkout is not allowed.
pub fn scm_rule(allowed: &str, host: &str, repository: &str) -> Option<ScmRule> {
    for entry in allowed.split_whitespace() {
        let (deny, entry) = match entry.strip_prefix('!') {
            Some(e) => (true, e),
            None => (false, entry),
        };
        let parts: Vec<&str> = entry.split(':').collect();
        if parts.len() < 2 {
            tracing::warn!(entry, "ignoring a malformed allowed_scms entry");
            continue;
        }
        if koji_core::policy::fnmatch::fnmatch(host, parts[0])
            && koji_core::policy::fnmatch::fnmatch(repository, parts[1])
        {
            if deny {
                return None;
            }
            let mut rule = ScmRule {
                use_common: true,
                source_cmd: Some(vec!["make".into(), "sources".into()]),
            };
            if let Some(u) = parts.get(2) {
                if ["no", "off", "false", "0"].contains(&u.to_lowercase().as_str()) {
                    rule.use_common = false;
                }
            }
            if parts.len() >= 4 {
                // (a source_cmd holds no `:`; upstream splits on every one)
                rule.source_cmd = Some(parts[3])
                    .filter(|c| !c.is_empty())
                    .map(|c| c.split(',').map(str::to_owned).collect());
            }
            return Some(rule);
        }
    }
    None
}

/// Whether a checkout is allowed by `allowed_scms` (see [`scm_rule`]).
pub fn scm_allowed(allowed: &str, host: &str, repository: &str) -> bool {
    scm_rule(allowed, host, repository).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bwrap_that_cannot_sandbox_is_reported() {
        let dir = tempfile::tempdir().expect("tmp");
        let fake = dir.path().join("bwrap");
        std::fs::write(
            &fake,
            "#!/bin/sh\necho 'bwrap: No permissions to creating new namespace' >&2\nexit 1\n",
        )
        .expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        let e = probe_bwrap(&fake, "or set buildroot = none")
            .unwrap_err()
            .to_string();
        assert!(e.contains("cannot make a build sandbox"), "{e}");
        assert!(
            e.contains("No permissions to creating new namespace"),
            "{e}"
        );
        assert!(e.ends_with("or set buildroot = none"), "{e}");
        let e = probe_bwrap(&dir.path().join("nope"), "x")
            .unwrap_err()
            .to_string();
        assert_eq!(e, "bwrap is missing: apt-get install bubblewrap (x)");
        // the machine's own bubblewrap, where it is installed, works
        if std::path::Path::new("/usr/bin/bwrap").is_file() {
            probe_bwrap(std::path::Path::new("/usr/bin/bwrap"), "x").expect("bwrap works here");
        }
    }

    #[test]
    fn mock_options_and_a_missing_mock() {
        let mut c = Config::default();
        for (k, v) in [
            ("buildroot", "mock"),
            ("mockdir", "/srv/mock"),
            ("mockpath", "/nonexistent/mock"),
            ("mockhost", "redhat-linux-gnu"),
            ("yum_proxy", "http://proxy:3128"),
            ("mock_bootstrap_image", "yes"),
            ("chroot_tmpdir", "/scratch"),
        ] {
            c.set(k, v).expect(k);
        }
        assert_eq!(c.backend, Backend::Mock);
        assert_eq!(
            c.mock,
            MockOpts {
                mockdir: "/srv/mock".into(),
                mockpath: "/nonexistent/mock".into(),
                mockhost: "redhat-linux-gnu".into(),
                yum_proxy: Some("http://proxy:3128".into()),
                bootstrap_image: true,
                chroot_tmpdir: "/scratch".into(),
            }
        );
        let e = probe_mock(&c.mock).unwrap_err().to_string();
        assert!(
            e.starts_with("buildroot = mock, but mock (/nonexistent/mock) is not installed here"),
            "{e}"
        );
        c.mock.mockpath = "sh".into();
        assert!(probe_mock(&c.mock).expect("sh is on PATH").ends_with("sh"));
        assert_eq!(
            c.set("buildroot", "chroot").unwrap_err().to_string(),
            "unknown buildroot backend: chroot (bwrap, mock or none)"
        );
    }

    #[test]
    fn allowed_scms_entries_carry_use_common_and_source_cmd() {
        let allowed = "a.org:/rpms/* b.org:/rpms/*:no c.org:/x/*:yes:fedpkg,sources \
                       d.org:/x/*:off: !e.org:* *:/other/*:0:make,-C,src";
        let rule = |h: &str, r: &str| scm_rule(allowed, h, r);
        let make = Some(vec!["make".to_string(), "sources".to_string()]);
        assert_eq!(
            rule("a.org", "/rpms/x.git"),
            Some(ScmRule {
                use_common: true,
                source_cmd: make.clone()
            })
        );
        assert_eq!(
            rule("b.org", "/rpms/x.git"),
            Some(ScmRule {
                use_common: false,
                source_cmd: make
            })
        );
        assert_eq!(
            rule("c.org", "/x/y"),
            Some(ScmRule {
                use_common: true,
                source_cmd: Some(vec!["fedpkg".into(), "sources".into()])
            })
        );
        assert_eq!(
            rule("d.org", "/x/y"),
            Some(ScmRule {
                use_common: false,
                source_cmd: None
            })
        );
        assert_eq!(rule("e.org", "/other/z"), None, "the first match decides");
        assert_eq!(
            rule("f.org", "/other/z").map(|r| r.source_cmd),
            Some(Some(vec!["make".into(), "-C".into(), "src".into()]))
        );
        assert_eq!(rule("a.org", "/elsewhere"), None);
    }

    #[test]
    fn reads_kojid_conf() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("kojid.conf");
        std::fs::write(
            &p,
            "[kojid]\nserver = http://hub/kojihub\nuser = b1\npassword = pw\nmaxjobs = 3\n\
             sleeptime = 5\nallowed_scms = example.com:/repos/*\n  !evil.com:*\nmockdir = /x\n\
             createrepo_skip_stat = no\ncreaterepo_splice = no\n",
        )
        .expect("write");
        let c = Config::read(&p).expect("config");
        assert!(!c.createrepo_splice);
        assert!(Config::default().createrepo_splice);
        assert_eq!(c.server, "http://hub/kojihub");
        assert_eq!(c.maxjobs, 3);
        assert!(!c.createrepo_skip_stat);
        assert!(c.createrepo_update);
        assert_eq!(c.sleeptime, 5.0);
        assert!(scm_allowed(
            &c.allowed_scms,
            "example.com",
            "/repos/hello.git"
        ));
        assert!(!scm_allowed(&c.allowed_scms, "evil.com", "/x"));
        assert!(!scm_allowed(&c.allowed_scms, "other.org", "/x"));
        std::fs::write(&p, "[kojid]\nbogus = 1\n").expect("write");
        let e = Config::read(&p).unwrap_err();
        assert_eq!(e.to_string(), "unknown config option: bogus");
        std::fs::write(&p, "[other]\nserver = x\n").expect("write");
        let e = Config::read(&p).unwrap_err();
        assert_eq!(e.to_string(), "invalid section found in config file: other");
        std::fs::write(&p, "[kojid]\nmaxjobs = many\n").expect("write");
        let e = Config::read(&p).unwrap_err();
        assert_eq!(
            e.to_string(),
            "value for maxjobs option must be a valid integer"
        );
    }
}
