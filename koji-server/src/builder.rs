//! The builder `koji-hub serve --builder` runs beside the hub: a host
//! registered on the fly, driven by koji-worker's daemon over this hub's
//! own XML-RPC endpoint (exactly as a separate kojid would be), woken
//! the moment tasks change instead of polling.

use anyhow::Result;
use koji_core::Hub;
use koji_worker::config::{Backend, Config};
use koji_worker::daemon::{Daemon, Spawner};
use std::path::PathBuf;

/// This machine's arch as upstream names it (`uname -m`).
fn machine_arch() -> String {
    std::process::Command::new("uname")
        .arg("-m")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| std::env::consts::ARCH.to_string())
}

/// The in-process builder's settings.
#[derive(Debug, Clone)]
pub struct LocalBuilder {
    /// Its host name.
    pub name: String,
    /// The hub's content store (shared, so nothing is downloaded).
    pub topdir: PathBuf,
    pub workdir: PathBuf,
    /// `bwrap` or `none`.
    pub backend: String,
    pub allowed_scms: String,
    /// Other kojid.conf options, `KEY=VALUE`.
    pub opts: Vec<String>,
}

/// Registers the builder's host and runs it until `stop`.
pub async fn run_local(
    hub: Hub,
    server: &str,
    b: &LocalBuilder,
    stop: impl std::future::Future<Output = ()>,
) -> Result<()> {
    let (name, topdir, workdir) = (b.name.as_str(), b.topdir.as_path(), b.workdir.as_path());
    let password: String = {
        use std::fmt::Write as _;
        let mut bytes = [0u8; 24];
        getrandom(&mut bytes)?;
        bytes.iter().fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    };
    let mut cfg = Config {
        server: server.to_string(),
        user: Some(name.to_string()),
        password: Some(password.clone()),
        topdir: Some(topdir.to_path_buf()),
        workdir: workdir.to_path_buf(),
        sleeptime: 5.0,
        allowed_scms: b.allowed_scms.clone(),
        // the hub's own builder: a session left by its previous run is stale
        force_lock: true,
        ..Config::default()
    };
    cfg.set("buildroot", &b.backend)?;
    // before the host is registered: a wrong option registers nothing
    for o in &b.opts {
        cfg.set_option(o).map_err(|e| e.context("--builder-opt"))?;
    }
    let arch = machine_arch();
    hub.hosts().bootstrap(name, &[&arch], &password).await?;
    if matches!(cfg.backend, Backend::Bwrap | Backend::Mock) {
        koji_worker::config::probe_bwrap(
            std::path::Path::new("bwrap"),
            "or --builder-backend none",
        )?;
    }
    if cfg.backend == Backend::Mock {
        koji_worker::config::probe_mock(&cfg.mock)?;
    }
    use futures::FutureExt as _;
    let stop = stop.shared();
    loop {
        let daemon = Daemon::connect(cfg.clone(), Spawner::current()?).await?;
        let exit = daemon
            .with_wake(hub.task_events().subscribe())
            .run(stop.clone())
            .await?;
        match exit {
            // a graceful restart of the in-process builder: a new daemon
            koji_worker::daemon::Exit::Restart => continue,
            koji_worker::daemon::Exit::Stopped => return Ok(()),
        }
    }
}

fn getrandom(buf: &mut [u8]) -> Result<()> {
    use std::io::Read as _;
    std::fs::File::open("/dev/urandom")?.read_exact(buf)?;
    Ok(())
}
