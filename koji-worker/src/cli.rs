//! kojid: the builder daemon (see the library's docs), as `kojid` with
//! the built-in task handlers; a plugin's own kojid calls [`main`] with its
//! registry.

use crate::config::{Backend, Config};
use crate::daemon::{self, Daemon, Spawner};
use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use koji_core::task::TaskRegistry;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "kojid", version, about = "koji-rs builder daemon")]
struct Opts {
    /// Configuration file (upstream's kojid.conf, section [kojid]).
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
    /// Hub URL (.../kojihub).
    #[arg(long)]
    server: Option<String>,
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    password: Option<String>,
    /// The hub's content store, if this machine sees it.
    #[arg(long)]
    topdir: Option<PathBuf>,
    /// URL of the hub's content store (e.g. http://hub/kojifiles).
    #[arg(long)]
    topurl: Option<String>,
    #[arg(long)]
    workdir: Option<PathBuf>,
    #[arg(long)]
    maxjobs: Option<usize>,
    /// Seconds between polls when idle.
    #[arg(long)]
    sleeptime: Option<f64>,
    /// bwrap (default), mock (kojid.conf mockpath, mockdir, mockhost,
    /// yum_proxy, mock_bootstrap_image) or none.
    #[arg(long)]
    buildroot: Option<String>,
    /// SCM URLs builds may come from (kojid.conf `allowed_scms`:
    /// `host:repository[:use_common[:source_cmd]]`, space-separated,
    /// `!` to deny).
    #[arg(long)]
    allowed_scms: Option<String>,
    /// Seconds a build command (rpmbuild, mock, createrepo_c) may run
    /// (kojid.conf `rpmbuild_timeout`, default a day).
    #[arg(long)]
    rpmbuild_timeout: Option<u64>,
    /// Log level (error, warn, info, debug).
    #[arg(long)]
    log_level: Option<String>,
    /// Take the host's lock even if another session holds it.
    #[arg(long)]
    force_lock: bool,
    /// Any kojid.conf option as KEY=VALUE, with the file's names and
    /// rules (repeatable; over the file, under the flags above), e.g.
    /// `-o smtphost=mail.example.com -o vendor=Example -o mockdir=/srv/mock`.
    #[arg(long = "option", short = 'o', value_name = "KEY=VALUE")]
    options: Vec<String>,
    #[command(subcommand)]
    cmd: Option<Cmd>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Runs one task (started by the daemon; not for interactive use).
    #[command(hide = true)]
    RunTask {
        #[arg(long)]
        task_id: i64,
    },
}

fn config(o: &Opts) -> Result<Config> {
    let mut c = match &o.config {
        Some(p) => Config::read(p)?,
        None => Config::default(),
    };
    for kv in &o.options {
        c.set_option(kv).context("--option")?;
    }
    if let Some(v) = &o.server {
        c.server = v.clone();
    }
    if let Some(v) = &o.user {
        c.user = Some(v.clone());
    }
    if let Some(v) = &o.password {
        c.password = Some(v.clone());
    }
    if let Some(v) = &o.topdir {
        c.topdir = Some(v.clone());
    }
    if let Some(v) = &o.topurl {
        c.topurl = Some(v.clone());
    }
    if let Some(v) = &o.workdir {
        c.workdir = v.clone();
    }
    if let Some(v) = o.maxjobs {
        c.maxjobs = v;
    }
    if let Some(v) = o.sleeptime {
        c.sleeptime = v;
    }
    if let Some(v) = &o.buildroot {
        c.set("buildroot", v)?;
    }
    if let Some(v) = &o.allowed_scms {
        c.allowed_scms = v.clone();
    }
    if let Some(v) = o.rpmbuild_timeout {
        c.rpmbuild_timeout = v;
    }
    if let Some(v) = &o.log_level {
        c.log_level = Some(v.clone());
    }
    c.force_lock |= o.force_lock;
    // (with mock, checkouts, SRPMs and repos still run in bubblewrap)
    if matches!(c.backend, Backend::Bwrap | Backend::Mock) {
        let bwrap = crate::config::which("bwrap").unwrap_or_else(|| PathBuf::from("bwrap"));
        crate::config::probe_bwrap(&bwrap, "or set buildroot = none")?;
    }
    if c.backend == Backend::Mock {
        crate::config::probe_mock(&c.mock)?;
    }
    Ok(c)
}

fn init_logging(level: Option<&str>) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
        tracing_subscriber::EnvFilter::new(level.unwrap_or("info").to_lowercase())
    });
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn stop_signal() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

/// The `kojid` program (options, config file, daemon, task processes)
/// running the task methods of `registry`: the built-ins
/// ([`crate::handlers::builtins`]) plus whatever a plugin registers.
pub fn main(registry: TaskRegistry) -> Result<()> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(Opts::parse(), registry))
}

async fn run(o: Opts, registry: TaskRegistry) -> Result<()> {
    crate::daemon::catch_sigusr1();
    if let Some(Cmd::RunTask { task_id }) = o.cmd {
        init_logging(std::env::var("KOJID_LOG_LEVEL").ok().as_deref());
        let cfg = daemon::config_from_env();
        let session = daemon::session_from_env()?;
        return crate::runner::run_task(cfg, session, task_id, &registry).await;
    }
    let cfg = config(&o)?;
    init_logging(cfg.log_level.as_deref());
    let d = Daemon::connect(cfg, Spawner::current()?)
        .await
        .context("kojid could not start")?;
    match d.with_registry(registry).run(stop_signal()).await? {
        daemon::Exit::Stopped => Ok(()),
        daemon::Exit::Restart => {
            // upstream's kojid execs itself with the same arguments
            use std::os::unix::process::CommandExt as _;
            let exe = crate::daemon::own_program()?;
            let err = std::process::Command::new(exe)
                .args(std::env::args_os().skip(1))
                .exec();
            Err(anyhow::anyhow!("cannot restart kojid: {err}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_override_the_config_file() {
        let dir = tempfile::tempdir().expect("tmp");
        let conf = dir.path().join("kojid.conf");
        std::fs::write(
            &conf,
            "[kojid]\nserver = http://from-file/kojihub\nrpmbuild_timeout = 60\n\
             allowed_scms = file.example:/x/*\nbuildroot = none\n",
        )
        .expect("write");
        let o = Opts::try_parse_from([
            "kojid",
            "--config",
            conf.to_str().expect("utf-8"),
            "--allowed-scms",
            "git.example.com:/rpms/*:no:fedpkg,sources",
            "--rpmbuild-timeout",
            "7200",
            "--log-level",
            "debug",
            "--maxjobs",
            "3",
            "-o",
            "smtphost=mail.example.com:2525",
            "--option",
            "vendor = Example",
            // a flag beats -o for the same option
            "-o",
            "rpmbuild_timeout=5",
        ])
        .expect("flags parse");
        let c = config(&o).expect("config");
        // flags win over the file; what no flag names comes from the file
        assert_eq!(c.server, "http://from-file/kojihub");
        assert_eq!(c.allowed_scms, "git.example.com:/rpms/*:no:fedpkg,sources");
        assert_eq!(c.rpmbuild_timeout, 7200);
        assert_eq!(c.log_level.as_deref(), Some("debug"));
        assert_eq!(c.maxjobs, 3);
        assert_eq!(c.backend, Backend::None);
        // -o: any option of the file, by its name
        assert_eq!(c.smtphost.as_deref(), Some("mail.example.com:2525"));
        assert_eq!(c.vendor, "Example");
        for bad in ["nosuchoption=1", "novalue"] {
            let o = Opts::try_parse_from(["kojid", "-o", bad]).expect("flags parse");
            assert!(config(&o).is_err(), "{bad}");
        }
    }
}
