//! `koji-hub`: runs the hub, and the operator's bootstrap commands.

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand};
use koji_core::{Hub, HubConfig};
use std::io::Write;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(name = "koji-hub", version, about = "koji-rs hub")]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Args, Debug, Clone)]
struct DbOpts {
    /// Configuration file (INI, section [hub]: DB, KojiDir, Listen).
    #[arg(long, env = "KOJI_HUB_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: sqlite://PATH (default: koji-data/koji.db) or postgres://...
    #[arg(long, env = "KOJI_HUB_DB")]
    db: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Serve the hub (XML-RPC at /kojihub, web at /koji/, files at /kojifiles/).
    Serve {
        #[command(flatten)]
        db: DbOpts,
        /// Content-store root (upstream's KojiDir; default: koji-data/topdir).
        #[arg(long, env = "KOJI_HUB_TOPDIR")]
        topdir: Option<PathBuf>,
        /// Address to listen on; port 0 picks a free port.
        #[arg(long, env = "KOJI_HUB_LISTEN")]
        listen: Option<String>,
    },
    /// Create the schema if needed and a user with the admin permission.
    CreateAdmin {
        name: String,
        #[arg(long)]
        password: String,
        #[command(flatten)]
        db: DbOpts,
    },
    /// Set the password of a user or host.
    SetPassword {
        name: String,
        #[arg(long)]
        password: String,
        #[command(flatten)]
        db: DbOpts,
    },
    /// Create or upgrade the database schema.
    Migrate {
        #[command(flatten)]
        db: DbOpts,
    },
}

/// Settings from the config file, flags taking precedence.
#[derive(Default, Debug)]
struct FileConfig {
    db: Option<String>,
    topdir: Option<PathBuf>,
    listen: Option<String>,
}

fn read_config(path: &Option<PathBuf>) -> Result<FileConfig> {
    let mut cfg = FileConfig::default();
    let Some(path) = path else { return Ok(cfg) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let mut section = String::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = s.trim().to_string();
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            bail!("{}:{}: expected KEY = VALUE", path.display(), n + 1);
        };
        if section != "hub" {
            continue;
        }
        let v = v.trim().to_string();
        match k.trim() {
            "DB" | "DBURL" => cfg.db = Some(v),
            "KojiDir" => cfg.topdir = Some(v.into()),
            "Listen" => cfg.listen = Some(v),
            _ => {}
        }
    }
    Ok(cfg)
}

fn db_url(opts: &DbOpts, file: &FileConfig) -> Result<String> {
    if let Some(u) = opts.db.clone().or_else(|| file.db.clone()) {
        return Ok(u);
    }
    std::fs::create_dir_all("koji-data").context("cannot create koji-data/")?;
    Ok("sqlite://koji-data/koji.db".to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("KOJI_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.cmd {
        Cmd::Serve { db, topdir, listen } => {
            let file = read_config(&db.config)?;
            let url = db_url(&db, &file)?;
            let topdir = topdir
                .or(file.topdir)
                .unwrap_or_else(|| PathBuf::from("koji-data/topdir"));
            std::fs::create_dir_all(&topdir)
                .with_context(|| format!("cannot create {}", topdir.display()))?;
            let config = HubConfig {
                topdir,
                ..HubConfig::default()
            };
            let hub = Hub::open(&url, config).await?;
            let listen = listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".to_string());
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let addr = listener.local_addr()?;
            {
                let mut out = std::io::stdout().lock();
                writeln!(out, "listening on http://{addr}")?;
                out.flush()?;
            }
            tracing::info!(%addr, db = %redact(&url), "hub started");
            koji_server::serve(hub, listener, shutdown_signal()).await?;
        }
        Cmd::CreateAdmin { name, password, db } => {
            let file = read_config(&db.config)?;
            let hub = Hub::open(&db_url(&db, &file)?, HubConfig::default()).await?;
            let id = hub.users().bootstrap_admin(&name, &password).await?;
            println!("created admin user {name} (id {id})");
        }
        Cmd::SetPassword { name, password, db } => {
            let file = read_config(&db.config)?;
            let hub = Hub::open(&db_url(&db, &file)?, HubConfig::default()).await?;
            hub.auth().set_password(&name, &password).await?;
            println!("password set for {name}");
        }
        Cmd::Migrate { db } => {
            let file = read_config(&db.config)?;
            Hub::open(&db_url(&db, &file)?, HubConfig::default()).await?;
            println!("schema is current");
        }
    }
    Ok(())
}

fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}://***{}", &url[..s], &url[at..]),
        _ => url.to_string(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
