//! The builder's main loop (upstream's `TaskManager`).

use crate::client::{kw, Hub};
use crate::config::Config;
use crate::handlers;
use crate::host_link::HostLink;
use anyhow::{Context as _, Result};
use koji_core::task::TaskRegistry;
use serde_json::json;
use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Duration;

/// How the daemon starts a task's child process: this program with
/// `run-task` arguments.
#[derive(Debug, Clone)]
pub struct Spawner {
    pub exe: PathBuf,
    /// Arguments before `run-task` (e.g. a subcommand of `koji-hub`).
    pub prefix: Vec<String>,
}

impl Spawner {
    /// The running program itself.
    pub fn current() -> Result<Spawner> {
        Ok(Spawner {
            exe: own_program()?,
            prefix: vec![],
        })
    }
}

/// This program's path, also after a package upgrade replaced it (Linux
/// then names the running file `PATH (deleted)`; the new one is at PATH).
pub fn own_program() -> Result<PathBuf> {
    let exe = std::env::current_exe().context("cannot find this program")?;
    let s = exe.to_string_lossy();
    Ok(match s.strip_suffix(" (deleted)") {
        Some(p) => PathBuf::from(p),
        None => exe,
    })
}

/// SIGUSR1 asks a daemon for a graceful restart (upstream's kojid): it
/// must never kill a process of ours, whatever the moment (a daemon
/// starting, a task process, a `systemctl kill -s USR1` reaching them
/// all). Once tokio handles the signal, deliveries nobody waits for are
/// dropped.
pub fn catch_sigusr1() {
    if let Err(e) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1()) {
        tracing::warn!(error = %e, "cannot handle SIGUSR1");
    }
}

struct Running {
    child: tokio::process::Child,
    method: String,
    /// Set once the task was seen canceled or reassigned and killed.
    killed: bool,
    /// The subsession the task's process uses (logged out when it ends).
    session: i64,
}

pub struct Daemon {
    cfg: Config,
    hub: Hub,
    /// The loop's host calls: gRPC with our hub, XML-RPC otherwise.
    link: HostLink,
    host_id: i64,
    running: HashMap<i64, Running>,
    spawner: Spawner,
    /// Moves when the hub's tasks change (an in-process hub tells at once).
    wake: Option<tokio::sync::watch::Receiver<u64>>,
    /// The task methods this builder runs (the same registry its task
    /// processes use).
    registry: TaskRegistry,
    /// When this daemon started (what `restartVerify` compares).
    start_ts: f64,
    /// A graceful restart: a `restart` task is running (`Some(id)`), or
    /// one finished (or SIGUSR1 came) and the daemon restarts once its
    /// running tasks are done. No task is taken meanwhile.
    restart_task: Option<i64>,
    restart_pending: bool,
}

/// How [`Daemon::run`] ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Stopped: running tasks were given back.
    Stopped,
    /// A graceful restart (upstream's `restart` task or SIGUSR1): nothing
    /// runs any more and the session is closed; start again.
    Restart,
}

async fn woken(wake: &mut Option<tokio::sync::watch::Receiver<u64>>) {
    match wake {
        Some(rx) => {
            if rx.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        }
        None => std::future::pending::<()>().await,
    }
}

/// Kills task processes with everything they started (each is the leader
/// of its process group): SIGTERM to every group at once, then SIGKILL to
/// the groups that still have a process after 200 ms (a task that dies at
/// once is not waited for).
async fn kill_groups(children: &mut [&mut tokio::process::Child]) {
    let groups: Vec<i32> = children
        .iter()
        .filter_map(|c| c.id())
        .map(|pid| -(pid as i32))
        .collect();
    // SAFETY: kill(2) on process groups we created; no memory is touched
    for g in &groups {
        unsafe {
            libc::kill(*g, libc::SIGTERM);
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_millis(200);
    loop {
        // reap the leaders, so that a dead one no longer counts
        for c in children.iter_mut() {
            let _ = c.try_wait();
        }
        // SAFETY: signal 0 only asks whether the group has a process
        let left = groups.iter().any(|g| unsafe { libc::kill(*g, 0) } == 0);
        if !left || tokio::time::Instant::now() >= deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    for g in &groups {
        unsafe {
            libc::kill(*g, libc::SIGKILL);
        }
    }
}

impl Daemon {
    /// Logs in, takes the exclusive session a host needs, and learns its id.
    pub async fn connect(cfg: Config, spawner: Spawner) -> Result<Daemon> {
        cfg.check()?;
        let mut hub = Hub::new(&cfg.server)?;
        let user = cfg.user.clone().unwrap_or_default();
        hub.login(&user, cfg.password.as_deref().unwrap_or_default())
            .await
            .with_context(|| format!("cannot log in to {} as {user}", cfg.server))?;
        hub.call(
            "exclusiveSession",
            vec![kw(json!({"force": cfg.force_lock}))],
        )
        .await
        .context("Error: Unable to get lock. Trying using --force-lock")?;
        let host_id = hub
            .call("host.getID", vec![])
            .await?
            .as_i64()
            .unwrap_or_default();
        tokio::fs::create_dir_all(&cfg.workdir)
            .await
            .with_context(|| format!("cannot create {}", cfg.workdir.display()))?;
        // tasks run in other directories and sandboxes: absolute paths only
        let mut cfg = cfg;
        cfg.workdir = std::fs::canonicalize(&cfg.workdir)?;
        if let Some(t) = &cfg.topdir {
            cfg.topdir = Some(std::fs::canonicalize(t).unwrap_or_else(|_| t.clone()));
        }
        tracing::info!(host_id, server = %cfg.server, "kojid connected");
        let wake = hub.session().map(|s| crate::push::follow(&cfg.server, s));
        let link = HostLink::connect(&cfg.server, &hub).await;
        let start_ts = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs_f64())
            .unwrap_or_default();
        Ok(Daemon {
            cfg,
            hub,
            link,
            start_ts,
            restart_task: None,
            restart_pending: false,
            host_id,
            running: HashMap::new(),
            spawner,
            wake,
            registry: handlers::builtins(),
        })
    }

    /// Runs the methods of `registry` (built-ins and plugins) instead of
    /// the built-ins alone; the spawner's program must run task processes
    /// with the same registry.
    pub fn with_registry(mut self, registry: TaskRegistry) -> Daemon {
        self.registry = registry;
        self
    }

    /// Wakes the loop whenever `wake` moves (besides every `sleeptime`).
    pub fn with_wake(mut self, wake: tokio::sync::watch::Receiver<u64>) -> Daemon {
        self.wake = Some(wake);
        self
    }

    /// Runs until `stop` resolves (then kills running tasks, gives them
    /// back to the hub and checks out) or until a graceful restart is due.
    pub async fn run(mut self, stop: impl std::future::Future<Output = ()>) -> Result<Exit> {
        tokio::pin!(stop);
        let mut usr1 =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::user_defined1())
                .context("cannot handle SIGUSR1")?;
        // a task process that ends frees its slot at once, not at the next
        // pass (its task was closed a moment before it exited: the pass
        // that closing woke may have found it still running)
        let mut sigchld = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::child())
            .context("cannot handle SIGCHLD")?;
        loop {
            if self.restart_pending && self.running.is_empty() && self.restart_task.is_none() {
                tracing::warn!("Restarting");
                self.check_out().await;
                return Ok(Exit::Restart);
            }
            let taken = match self.cycle().await {
                Ok(t) => t,
                Err(e) => {
                    if crate::client::fault_code(&e) == Some(1002) {
                        return Err(e.context("the hub refused this host's session"));
                    }
                    tracing::error!(error = format!("{e:#}"), "main loop");
                    false
                }
            };
            let pause = if taken {
                Duration::from_millis(50)
            } else if self.restart_pending || self.restart_task.is_some() {
                // restarting once the running tasks are done: look often
                Duration::from_millis(200)
            } else {
                Duration::from_secs_f64(self.cfg.sleeptime.max(0.05))
            };
            tokio::select! {
                _ = &mut stop => break,
                _ = usr1.recv() => {
                    tracing::warn!("Initiating graceful restart");
                    self.restart_pending = true;
                }
                _ = tokio::time::sleep(pause) => {}
                _ = woken(&mut self.wake) => {}
                _ = sigchld.recv() => {}
            }
        }
        self.shutdown().await?;
        Ok(Exit::Stopped)
    }

    /// The task methods this builder announces.
    fn methods(&self) -> Vec<String> {
        self.registry
            .methods()
            .into_iter()
            .map(String::from)
            .collect()
    }

    /// Not ready, and the session closed.
    async fn check_out(&mut self) {
        let methods = self.methods();
        let _ = self
            .link
            .update_host(&self.hub, 0.0, false, methods, self.cfg.maxjobs)
            .await;
        let _ = self.hub.logout().await;
    }

    async fn shutdown(&mut self) -> Result<()> {
        let ids: Vec<i64> = self.running.keys().copied().collect();
        let mut all: Vec<&mut tokio::process::Child> =
            self.running.values_mut().map(|r| &mut r.child).collect();
        kill_groups(&mut all).await;
        for c in all {
            let _ = c.wait().await;
        }
        if !ids.is_empty() {
            tracing::info!(?ids, "freeing running tasks");
            let _ = self.link.free_tasks(&self.hub, &ids).await;
        }
        self.check_out().await;
        Ok(())
    }

    /// One turn of the loop: follow the tasks we hold, check in, take a
    /// new one if ready. True if a task was taken.
    async fn cycle(&mut self) -> Result<bool> {
        let load = self.update_tasks().await?;
        // a pending restart takes nothing new
        let restarting = self.restart_pending || self.restart_task.is_some();
        let ready = self.running.len() < self.cfg.maxjobs && !restarting;
        let methods = self.methods();
        self.link
            .update_host(&self.hub, load, ready, methods, self.cfg.maxjobs)
            .await?;
        if !ready {
            return Ok(false);
        }
        let tasks = self.link.get_tasks(&self.hub).await?;
        for t in tasks {
            if self.running.contains_key(&t.id) || t.state != 4 || t.host_id != Some(self.host_id) {
                continue;
            }
            if self.take(t.id, &t.method).await? {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Follows the open tasks this host holds: frees stale ones, kills the
    /// processes of tasks canceled or given to another host, reaps
    /// finished children. Answers the load (weights of tasks not waiting).
    async fn update_tasks(&mut self) -> Result<f64> {
        let open = self.link.get_host_tasks(&self.hub).await?;
        let mut load = 0.0;
        let mut stale = vec![];
        let mut open_ids = std::collections::HashSet::new();
        for t in &open {
            open_ids.insert(t.id);
            if !self.running.contains_key(&t.id) {
                stale.push(t.id);
                continue;
            }
            if !t.waiting {
                load += t.weight;
            }
        }
        if !stale.is_empty() {
            tracing::info!(?stale, "freeing stale tasks");
            self.link.free_tasks(&self.hub, &stale).await?;
        }
        let mut done = vec![];
        let mut to_kill = vec![];
        for (id, r) in self.running.iter_mut() {
            if let Ok(Some(status)) = r.child.try_wait() {
                tracing::info!(task = id, %status, "task process exited");
                done.push((*id, status, r.killed, r.session, r.method.clone()));
                continue;
            }
            if open_ids.contains(id) || r.killed {
                continue;
            }
            let info = self.hub.call("getTaskInfo", vec![json!(id)]).await?;
            let canceled = info["state"] == json!(3);
            let elsewhere = info["host_id"].as_i64() != Some(self.host_id);
            if canceled || elsewhere {
                tracing::info!(
                    task = id,
                    "{}",
                    if canceled {
                        "Killing canceled task"
                    } else {
                        "Killing reassigned task"
                    }
                );
                to_kill.push(*id);
            }
        }
        if !to_kill.is_empty() {
            let mut kids: Vec<&mut tokio::process::Child> = self
                .running
                .iter_mut()
                .filter(|(id, _)| to_kill.contains(id))
                .map(|(_, r)| {
                    r.killed = true;
                    &mut r.child
                })
                .collect();
            kill_groups(&mut kids).await;
        }
        for (id, status, killed, session, method) in done {
            self.running.remove(&id);
            // the task's session ends with its process (a crashed one too)
            let _ = self.hub.call("logoutChild", vec![json!(session)]).await;
            if self.restart_task == Some(id) {
                // a `restart` task that closed means: restart when idle
                // (if the hub cannot say now, the restart is assumed)
                self.restart_task = None;
                let closed = match self.hub.call("getTaskInfo", vec![json!(id)]).await {
                    Ok(info) => info["state"] == json!(2),
                    Err(e) => {
                        tracing::warn!(task = id, error = %e, "cannot read the restart task");
                        status.success()
                    }
                };
                if closed {
                    tracing::warn!(task = id, method, "graceful restart initiated");
                    self.restart_pending = true;
                }
            }
            if status.success() || killed {
                continue;
            }
            // the process died without reporting: fail this task (only),
            // and its build, rather than run it again and again
            let info = self.hub.call("getTaskInfo", vec![json!(id)]).await?;
            if info["state"] == json!(1) && info["host_id"].as_i64() == Some(self.host_id) {
                let msg = format!("task process exited without a result ({status})");
                tracing::error!(task = id, "{msg}");
                let builds = self
                    .hub
                    .call("listBuilds", vec![kw(json!({"taskID": id, "state": 0}))])
                    .await?;
                for b in builds.as_array().cloned().unwrap_or_default() {
                    let _ = self
                        .hub
                        .call("host.failBuild", vec![json!(id), b["build_id"].clone()])
                        .await;
                }
                let fault = koji_core::hub::tasks::encode_fault(1, &msg);
                self.link.fail_task(&self.hub, id, &fault).await?;
            }
        }
        Ok(load)
    }

    /// Opens a task and starts its process; false if it could not be taken.
    async fn take(&mut self, id: i64, method: &str) -> Result<bool> {
        if !self.registry.handles(method) {
            tracing::warn!(task = id, method, "no handler for method");
            self.link
                .refuse_task(&self.hub, id, false, "no handler for method")
                .await?;
            return Ok(false);
        }
        if !self.link.open_task(&self.hub, id).await? {
            return Ok(false);
        }
        let weight = self.registry.weight(method);
        if let Err(e) = self.link.set_task_weight(&self.hub, id, weight).await {
            tracing::warn!(task = id, error = %e, "could not set the task's weight");
            return Ok(false);
        }
        let (sid, skey) = self.hub.subsession().await?;
        let mut cmd = tokio::process::Command::new(&self.spawner.exe);
        cmd.args(&self.spawner.prefix)
            .arg("run-task")
            .arg("--task-id")
            .arg(id.to_string())
            .env("KOJID_SERVER", &self.cfg.server)
            .env("KOJID_SESSION", format!("{sid}:{skey}"))
            .env("KOJID_WORKDIR", &self.cfg.workdir)
            .env("KOJID_BACKEND", self.cfg.backend.name())
            .env("KOJID_MOCKDIR", &self.cfg.mock.mockdir)
            .env("KOJID_MOCKPATH", &self.cfg.mock.mockpath)
            .env("KOJID_MOCKHOST", &self.cfg.mock.mockhost)
            .env(
                "KOJID_MOCK_BOOTSTRAP_IMAGE",
                if self.cfg.mock.bootstrap_image {
                    "1"
                } else {
                    ""
                },
            )
            .env(
                "KOJID_RPMBUILD_TIMEOUT",
                self.cfg.rpmbuild_timeout.to_string(),
            )
            .env("KOJID_ALLOWED_SCMS", &self.cfg.allowed_scms)
            .env("KOJID_PACKAGER", &self.cfg.packager)
            .env("KOJID_VENDOR", &self.cfg.vendor)
            .env("KOJID_DISTRIBUTION", &self.cfg.distribution)
            .env("KOJID_START_TS", self.start_ts.to_string())
            .env("KOJID_FROM_ADDR", &self.cfg.from_addr)
            .stdin(std::process::Stdio::null())
            .process_group(0)
            .kill_on_drop(true);
        if let Some(t) = &self.cfg.topdir {
            cmd.env("KOJID_TOPDIR", t);
        }
        if let Some(u) = &self.cfg.topurl {
            cmd.env("KOJID_TOPURL", u);
        }
        if let Some(p) = &self.cfg.mock.yum_proxy {
            cmd.env("KOJID_YUM_PROXY", p);
        }
        let flag = |b: bool| if b { "1" } else { "" };
        cmd.env("KOJID_CREATEREPO_UPDATE", flag(self.cfg.createrepo_update))
            .env(
                "KOJID_CREATEREPO_SKIP_STAT",
                flag(self.cfg.createrepo_skip_stat),
            )
            .env("KOJID_CREATEREPO_SPLICE", flag(self.cfg.createrepo_splice))
            .env(
                "KOJID_DISTREPO_SKIP_STAT",
                flag(self.cfg.distrepo_skip_stat),
            )
            .env("KOJID_CHROOT_TMPDIR", &self.cfg.mock.chroot_tmpdir);
        // the mail settings (a password among them) only where mail is sent
        if method.ends_with("Notification") {
            for (k, v) in [
                ("KOJID_SMTPHOST", &self.cfg.smtphost),
                ("KOJID_SMTP_USER", &self.cfg.smtp_user),
                ("KOJID_SMTP_PASS", &self.cfg.smtp_pass),
            ] {
                if let Some(v) = v {
                    cmd.env(k, v);
                }
            }
        }
        let child = cmd
            .spawn()
            .with_context(|| format!("cannot start {}", self.spawner.exe.display()))?;
        tracing::info!(task = id, method, pid = child.id(), "task started");
        self.running.insert(
            id,
            Running {
                child,
                method: method.to_string(),
                killed: false,
                session: sid,
            },
        );
        if method == "restart" {
            // nothing new is taken until it is done
            self.restart_task = Some(id);
        }
        Ok(true)
    }
}

/// The parts of [`Config`] a task process gets from its daemon.
pub fn config_from_env() -> Config {
    let mut c = Config::default();
    let var = |k: &str| std::env::var(k).ok();
    if let Some(v) = var("KOJID_SERVER") {
        c.server = v;
    }
    if let Some(v) = var("KOJID_WORKDIR") {
        c.workdir = v.into();
    }
    if let Some(v) = var("KOJID_TOPDIR") {
        c.topdir = Some(v.into());
    }
    c.topurl = var("KOJID_TOPURL");
    if let Some(b) = var("KOJID_BACKEND").and_then(|v| crate::config::Backend::parse(&v).ok()) {
        c.backend = b;
    }
    for (k, field) in [
        ("KOJID_MOCKDIR", &mut c.mock.mockdir),
        ("KOJID_MOCKPATH", &mut c.mock.mockpath),
        ("KOJID_MOCKHOST", &mut c.mock.mockhost),
    ] {
        if let Some(v) = var(k) {
            *field = v;
        }
    }
    c.mock.yum_proxy = var("KOJID_YUM_PROXY");
    c.mock.bootstrap_image = var("KOJID_MOCK_BOOTSTRAP_IMAGE").is_some_and(|v| !v.is_empty());
    if let Some(v) = var("KOJID_RPMBUILD_TIMEOUT").and_then(|v| v.parse().ok()) {
        c.rpmbuild_timeout = v;
    }
    c.allowed_scms = var("KOJID_ALLOWED_SCMS").unwrap_or_default();
    c.start_ts = var("KOJID_START_TS").and_then(|v| v.parse().ok());
    if let Some(v) = var("KOJID_CREATEREPO_UPDATE") {
        c.createrepo_update = !v.is_empty();
    }
    if let Some(v) = var("KOJID_CREATEREPO_SKIP_STAT") {
        c.createrepo_skip_stat = !v.is_empty();
    }
    if let Some(v) = var("KOJID_CREATEREPO_SPLICE") {
        c.createrepo_splice = !v.is_empty();
    }
    if let Some(v) = var("KOJID_DISTREPO_SKIP_STAT") {
        c.distrepo_skip_stat = !v.is_empty();
    }
    if let Some(v) = var("KOJID_CHROOT_TMPDIR") {
        c.mock.chroot_tmpdir = v;
    }
    c.smtphost = var("KOJID_SMTPHOST");
    c.smtp_user = var("KOJID_SMTP_USER");
    c.smtp_pass = var("KOJID_SMTP_PASS");
    if let Some(v) = var("KOJID_FROM_ADDR") {
        c.from_addr = v;
    }
    for (k, field) in [
        ("KOJID_PACKAGER", &mut c.packager),
        ("KOJID_VENDOR", &mut c.vendor),
        ("KOJID_DISTRIBUTION", &mut c.distribution),
    ] {
        if let Some(v) = var(k) {
            *field = v;
        }
    }
    c
}

/// The session a task process was given (`KOJID_SESSION=id:key`).
pub fn session_from_env() -> Result<(i64, String)> {
    let s = std::env::var("KOJID_SESSION").context("KOJID_SESSION is not set")?;
    let (id, key) = s.split_once(':').context("KOJID_SESSION is not id:key")?;
    Ok((id.parse().context("bad session id")?, key.to_string()))
}
