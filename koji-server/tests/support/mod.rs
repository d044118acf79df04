//! Harness for driving our hub with the real upstream `koji` client.
//!
//! [`Hub::each`] starts the `koji-hub` binary once per database backend (a
//! fresh database with an `admin`/`admin` user, listening on a free loopback
//! port) and [`Hub::koji`] runs the upstream CLI (`KOJI_CLIENT`, or the one
//! `scripts/setup-koji-client.sh` installs) against it with a throwaway HOME,
//! so no configuration of the machine leaks in and no request leaves it.

#![allow(dead_code)]

pub mod rpms;

use koji_core::db::Backend;
use koji_core::testing::{backends, fresh_db, DbGuard};
use regex::Regex;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};

/// What one run of a client printed.
#[derive(Debug, Clone)]
pub struct Out {
    pub stdout: String,
    pub stderr: String,
    pub code: i32,
}

impl Out {
    /// Asserts success with nothing on stderr; returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert!(
            self.code == 0 && self.stderr.is_empty(),
            "command failed (exit {}):\n--- stdout\n{}--- stderr\n{}",
            self.code,
            self.stdout,
            self.stderr
        );
        &self.stdout
    }

    /// Asserts exit status `code`, stdout `stdout` and stderr `stderr`, exactly.
    #[track_caller]
    pub fn expect(&self, code: i32, stdout: &str, stderr: &str) {
        assert_eq!(
            (self.code, self.stdout.as_str(), self.stderr.as_str()),
            (code, stdout, stderr),
            "(exit status, stdout, stderr) differ"
        );
    }

    /// Asserts exit status 1 with nothing on stdout and the CLI's error log
    /// line `<timestamp> [ERROR] koji: <message>` on stderr.
    #[track_caller]
    pub fn expect_fault(&self, message: &str) {
        self.expect_fault_after("", message);
    }

    /// Like [`Out::expect_fault`], with `stdout` printed before the failure.
    #[track_caller]
    pub fn expect_fault_after(&self, stdout: &str, message: &str) {
        assert_eq!(
            (self.code, self.stdout.as_str()),
            (1, stdout),
            "stderr: {}",
            self.stderr
        );
        let re = format!(
            r"^\d{{4}}-\d\d-\d\d \d\d:\d\d:\d\d,\d{{3}} \[ERROR\] koji: {}\n$",
            regex::escape(message)
        );
        assert_match(&re, &self.stderr);
    }

    /// Asserts an optparse usage error: exit status 2, the command's usage
    /// text and `koji: error: <message>` on stderr.
    #[track_caller]
    pub fn expect_usage_error(&self, usage: &str, message: &str) {
        let stderr = format!(
            "Usage: {usage}\n(Specify the --help global option for a list of other help options)\n\nkoji: error: {message}\n"
        );
        self.expect(2, "", &stderr);
    }
}

/// Asserts that `text` matches the regular expression `re` (anchor it yourself).
#[track_caller]
pub fn assert_match(re: &str, text: &str) {
    let r = Regex::new(re).unwrap_or_else(|e| panic!("bad regex {re:?}: {e}"));
    assert!(
        r.is_match(text),
        "text does not match\n--- regex\n{re}\n--- text\n{text}---"
    );
}

/// The upstream `koji` executable.
pub fn koji_client() -> PathBuf {
    let path = match std::env::var_os("KOJI_CLIENT") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => {
            let home = std::env::var_os("HOME").unwrap_or_default();
            Path::new(&home).join(".cache/koji-rs/venv/bin/koji")
        }
    };
    assert!(
        path.is_file(),
        "the upstream koji client is not installed at {} \
         (set KOJI_CLIENT, or run scripts/setup-koji-client.sh)",
        path.display()
    );
    path
}

/// The python of the client's virtualenv (beside the `koji` script).
pub fn koji_python() -> PathBuf {
    let koji = koji_client();
    let dir = koji.parent().map(Path::to_path_buf).unwrap_or_default();
    let py = dir.join("python");
    assert!(
        py.is_file(),
        "no python beside {} (run scripts/setup-koji-client.sh)",
        koji.display()
    );
    py
}

fn hub_bin() -> &'static str {
    env!("CARGO_BIN_EXE_koji-hub")
}

/// `koji <args>` as admin on `hub`, asserting success with nothing on
/// stderr; its stdout.
#[track_caller]
#[allow(dead_code)]
pub fn ok(hub: &Hub, args: &[&str]) -> String {
    let out = hub.koji(args);
    assert!(
        out.code == 0 && out.stderr.is_empty(),
        "[{}] koji {} failed (exit {}):\n--- stdout\n{}--- stderr\n{}",
        hub.label(),
        args.join(" "),
        out.code,
        out.stdout,
        out.stderr
    );
    out.stdout
}

/// `koji` as admin on `hub`, asserting success and exactly `stdout`.
#[track_caller]
#[allow(dead_code)]
pub fn ok_eq(hub: &Hub, args: &[&str], stdout: &str) {
    let got = ok(hub, args);
    assert_eq!(got, stdout, "[{}] koji {}", hub.label(), args.join(" "));
}

/// The `kojid` binary, built beside `koji-hub` (by `cargo build
/// --workspace`, as the test script does).
#[allow(dead_code)]
pub fn kojid_bin() -> PathBuf {
    let p = Path::new(hub_bin()).with_file_name("kojid");
    assert!(
        p.is_file(),
        "{} is missing: build it first (cargo build -p koji-worker)",
        p.display()
    );
    p
}

/// Environment of child processes: only what they need.
pub fn clean_env(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("HOME", home)
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("LANG", "C.UTF-8")
        .env("LC_ALL", "C.UTF-8")
        .env("TZ", "UTC")
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("KOJI_LOG", "warn,sea_orm=error,sqlx=error")
        .env("NO_COLOR", "1");
}

fn run(mut cmd: Command) -> Out {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    Out {
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        code: out.status.code().unwrap_or(-1),
    }
}

/// A running `koji-hub serve`, killed when dropped.
pub struct Hub {
    pub backend: Backend,
    /// `http://127.0.0.1:PORT`
    pub base: String,
    pub db_url: String,
    child: Child,
    _stdout: ChildStdout,
    home: tempfile::TempDir,
    _topdir: tempfile::TempDir,
    log: PathBuf,
    _db: Option<DbGuard>,
    /// `https://ADDR` when started with `--tls-listen`.
    https: Option<String>,
}

impl Hub {
    /// One hub per backend of `koji_core::testing::backends()`.
    pub fn each() -> Vec<Hub> {
        koji_client(); // fail early with the setup hint
        backends().into_iter().map(Hub::start).collect()
    }

    pub fn start(backend: Backend) -> Hub {
        Hub::start_with(backend, &[])
    }

    /// A hub started with extra `serve` arguments (e.g. `--builder`).
    pub fn start_with(backend: Backend, extra: &[&str]) -> Hub {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let (db_url, guard) = rt
            .block_on(fresh_db(backend))
            .unwrap_or_else(|e| panic!("fresh {backend:?} database: {e}"));
        drop(rt);
        let home = tempfile::tempdir().expect("tempdir");
        let topdir = tempfile::tempdir().expect("tempdir");
        let log = home.path().join("hub.log");

        let mut create = Command::new(hub_bin());
        clean_env(&mut create, home.path());
        create.args([
            "create-admin",
            "admin",
            "--password",
            "admin",
            "--db",
            &db_url,
        ]);
        let out = run(create);
        assert_eq!(out.code, 0, "koji-hub create-admin failed: {out:?}");

        let mut serve = Command::new(hub_bin());
        clean_env(&mut serve, home.path());
        let logfile = std::fs::File::create(&log).expect("hub log file");
        serve
            .args(["serve", "--db", &db_url, "--topdir"])
            .arg(topdir.path())
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            // the repo upkeep runs only where a test asks for it (with
            // `--repo-regen-interval`): elsewhere its newRepo tasks would
            // mix with the tasks a test counts
            .args(if extra.contains(&"--repo-regen-interval") {
                vec![]
            } else {
                vec!["--no-repo-regen"]
            })
            // a builder works in this hub's own directory
            .args(if extra.contains(&"--builder") {
                vec![
                    "--builder-workdir".to_string(),
                    home.path().join("builder-work").display().to_string(),
                ]
            } else {
                vec![]
            })
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(logfile));
        let mut child = serve.spawn().expect("spawn koji-hub serve");
        let mut stdout = BufReader::new(child.stdout.take().expect("hub stdout"));
        let mut line = String::new();
        let _ = stdout.read_line(&mut line);
        let Some(base) = line.trim_end().strip_prefix("listening on ") else {
            let _ = child.kill();
            let _ = child.wait();
            let log_text = std::fs::read_to_string(&log).unwrap_or_default();
            panic!("koji-hub serve printed {line:?} instead of its address; its log:\n{log_text}");
        };
        let base = base.to_string();
        // with --tls-listen, the HTTPS address comes next
        let https = if extra.contains(&"--tls-listen") {
            let mut line = String::new();
            let _ = stdout.read_line(&mut line);
            Some(
                line.trim_end()
                    .strip_prefix("listening on ")
                    .unwrap_or_else(|| panic!("no https address: {line:?}"))
                    .to_string(),
            )
        } else {
            None
        };
        let hub = Hub {
            backend,
            base,
            https,
            db_url,
            child,
            _stdout: stdout.into_inner(),
            home,
            _topdir: topdir,
            log,
            _db: Some(guard),
        };
        hub.write_client_config();
        hub
    }

    pub fn label(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }

    /// The `koji-hub serve` process id (a builder's tasks are its children).
    #[allow(dead_code)]
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// `http://127.0.0.1:PORT/kojihub`
    pub fn url(&self) -> String {
        format!("{}/kojihub", self.base)
    }

    /// The hub's content store (its `--topdir`).
    pub fn topdir(&self) -> &Path {
        self._topdir.path()
    }

    /// The client's HOME (its working directory).
    pub fn home(&self) -> &Path {
        self.home.path()
    }

    pub fn port(&self) -> u16 {
        self.base
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    /// The client's profile: every URL on our hub, no retries, so nothing
    /// goes to the defaults (localhost:80) and failures are immediate.
    fn write_client_config(&self) {
        let dir = self.home.path().join(".koji");
        std::fs::create_dir_all(&dir).expect("mkdir ~/.koji");
        let cfg = format!(
            "[koji]\nserver = {b}/kojihub\nweburl = {b}/koji\ntopurl = {b}/kojifiles\n\
             topdir = {home}/no-topdir\nmax_retries = 0\nretry_interval = 1\n\
             anon_retry = false\noffline_retry = false\ntimeout = 120\nauth_timeout = 60\n",
            b = self.base,
            home = self.home.path().display()
        );
        std::fs::write(dir.join("config"), cfg).expect("write ~/.koji/config");
    }

    fn client(&self) -> Command {
        let mut cmd = Command::new(koji_client());
        clean_env(&mut cmd, self.home.path());
        cmd.current_dir(self.home.path());
        cmd
    }

    /// Runs `koji <args>` as admin.
    pub fn koji(&self, args: &[&str]) -> Out {
        self.koji_as("admin", "admin", args)
    }

    /// Runs `koji <args>` as admin in directory `dir`.
    pub fn koji_in(&self, dir: &Path, args: &[&str]) -> Out {
        let mut cmd = self.client();
        cmd.current_dir(dir)
            .arg("--server")
            .arg(self.url())
            .args([
                "--authtype",
                "password",
                "--user",
                "admin",
                "--password",
                "admin",
            ])
            .args(args);
        run(cmd)
    }

    /// Runs `koji <args>` logged in as `user` with `password`.
    pub fn koji_as(&self, user: &str, password: &str, args: &[&str]) -> Out {
        let mut cmd = self.client();
        cmd.arg("--server")
            .arg(self.url())
            .args([
                "--authtype",
                "password",
                "--user",
                user,
                "--password",
                password,
            ])
            .args(args);
        run(cmd)
    }

    /// The HTTPS `/kojihub` URL (a hub started with `--tls-listen`).
    #[allow(dead_code)]
    pub fn https_url(&self) -> String {
        format!(
            "{}/kojihub",
            self.https
                .as_deref()
                .expect("hub started without --tls-listen")
        )
    }

    /// Runs `koji <args>` with nothing added (no server, no login).
    #[allow(dead_code)]
    pub fn koji_raw(&self, args: &[&str]) -> Out {
        let mut cmd = self.client();
        cmd.args(args);
        run(cmd)
    }

    /// Runs `koji --noauth <args>`.
    pub fn koji_anon(&self, args: &[&str]) -> Out {
        let mut cmd = self.client();
        cmd.arg("--server")
            .arg(self.url())
            .arg("--noauth")
            .args(args);
        run(cmd)
    }

    /// Runs a python program with the upstream `koji` library; the hub's
    /// URL is in the environment as `KOJI_URL`.
    pub fn python(&self, code: &str) -> Out {
        let mut cmd = Command::new(koji_python());
        clean_env(&mut cmd, self.home.path());
        cmd.current_dir(self.home.path())
            .env("KOJI_URL", self.url())
            .args(["-c", code]);
        run(cmd)
    }

    /// Runs `koji-hub <args> --db <this hub's database>`.
    pub fn hub_admin(&self, args: &[&str]) -> Out {
        let mut cmd = Command::new(hub_bin());
        clean_env(&mut cmd, self.home.path());
        cmd.args(args).args(["--db", &self.db_url]);
        run(cmd)
    }

    /// Makes user `name` with password `password` (via the CLI's add-user
    /// and `koji-hub set-password`).
    pub fn add_user(&self, name: &str, password: &str) {
        self.koji(&["add-user", name]).ok();
        let out = self.hub_admin(&["set-password", name, "--password", password]);
        assert_eq!(out.code, 0, "set-password: {out:?}");
    }

    /// Registers build host `name` for `arch` (the CLI's add-host) with
    /// `password` (`koji-hub set-password`), as a separate builder needs.
    #[allow(dead_code)]
    pub fn add_host(&self, name: &str, arch: &str, password: &str) {
        ok(self, &["add-host", name, arch]);
        let out = self.hub_admin(&["set-password", name, "--password", password]);
        assert_eq!(out.code, 0, "set-password: {out:?}");
    }

    /// The hub's log so far.
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        // SIGTERM first: a hub running a builder stops its tasks and frees them
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        for _ in 0..100 {
            if matches!(self.child.try_wait(), Ok(Some(_))) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::thread::panicking() {
            let log = self.log();
            let tail: Vec<&str> = log.lines().rev().take(40).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            eprintln!(
                "--- last lines of the {} hub's log ({})\n{}",
                self.label(),
                self.base,
                tail.join("\n")
            );
        }
        // the database goes after the server that used it
        self._db.take();
    }
}

/// A git repository `root/NAME.git` holding `spec` as `NAME.spec`, one
/// commit; the repository and the commit.
#[allow(dead_code)]
pub fn git_spec_repo(root: &Path, name: &str, spec: &str) -> (PathBuf, String) {
    let repo = root.join(format!("{name}.git"));
    std::fs::create_dir_all(&repo).expect("mkdir");
    std::fs::write(repo.join(format!("{name}.spec")), spec).expect("spec");
    git(&repo, &["init", "-q"]);
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-q", "-m", name]);
    let commit = git(&repo, &["rev-parse", "HEAD"]);
    (repo, commit)
}

/// Runs `git ARGS` in `dir` (a test identity set), asserting success;
/// its trimmed stdout.
#[allow(dead_code)]
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
        .args(args)
        .output()
        .expect("git");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// The task id in `koji build --nowait`'s (or `tag-build`'s) output.
#[allow(dead_code)]
pub fn created_task(out: &str) -> i64 {
    let line = out
        .lines()
        .find_map(|l| {
            l.strip_prefix("Created task: ")
                .or_else(|| l.strip_prefix("Created task "))
        })
        .unwrap_or_else(|| panic!("no task in: {out}"));
    line.trim().parse().expect("task id")
}
