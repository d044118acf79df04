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
    /// The `[policy]` section: each policy's lines with their line numbers.
    policy: Vec<(String, Vec<(usize, String)>)>,
    /// `[hub] MissingPolicyOk` (default true).
    missing_policy_ok: Option<bool>,
    /// `[hub] VerbosePolicy` or `KojiDebug`.
    verbose_policy: bool,
    /// Where the settings came from, for messages.
    path: Option<PathBuf>,
}

impl FileConfig {
    /// Upstream's default policies overridden by the `[policy]` section; a
    /// policy that does not parse names the file, the policy and the line.
    fn policies(&self) -> Result<koji_core::policy::Policies> {
        let configured = self.policy.iter().map(|(name, lines)| {
            (
                name.clone(),
                lines
                    .iter()
                    .map(|(n, l)| (*n, l.as_str()))
                    .collect::<Vec<_>>(),
            )
        });
        let mut p = koji_core::policy::Policies::with_config(configured).map_err(|e| {
            let file = self
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            anyhow::anyhow!(
                "{file}: policy {:?}, line {}: {}",
                e.policy,
                e.line,
                e.message
            )
        })?;
        p.missing_policy_ok = self.missing_policy_ok.unwrap_or(true);
        p.verbose = self.verbose_policy;
        Ok(p)
    }
}

/// One section of an INI file: options (names lowercased, as Python's
/// configparser has them) and their value lines with line numbers.
type IniSection = Vec<(String, Vec<(usize, String)>)>;

/// Reads INI text as Python's `configparser.RawConfigParser` does: `KEY =
/// VALUE` or `KEY: VALUE`, values continued on lines indented deeper than
/// their key, `#`/`;` full-line comments (also inside values), blank lines
/// kept inside values and trailing ones dropped.
fn parse_ini(text: &str) -> std::result::Result<Vec<(String, IniSection)>, String> {
    let mut sections: Vec<(String, IniSection)> = vec![];
    // (section index, option index) of the value being read
    let mut current: Option<(usize, usize)> = None;
    let mut in_section: Option<usize> = None;
    let mut indent_level = 0usize;
    for (n, raw) in text.lines().enumerate() {
        let n = n + 1;
        let stripped = raw.trim();
        let comment = stripped.starts_with('#') || stripped.starts_with(';');
        let value = if comment { "" } else { stripped };
        if value.is_empty() {
            if !comment {
                if let Some((s, o)) = current {
                    sections[s].1[o].1.push((n, String::new()));
                }
            }
            continue;
        }
        let indent = raw.len() - raw.trim_start().len();
        if let Some((s, o)) = current {
            if indent > indent_level {
                sections[s].1[o].1.push((n, value.to_string()));
                continue;
            }
        }
        indent_level = indent;
        if value.starts_with('[') {
            if let Some(end) = value.rfind(']').filter(|e| *e > 1) {
                let name = value[1..end].to_string();
                if sections.iter().any(|(s, _)| *s == name) {
                    return Err(format!("line {n}: section {name:?} already exists"));
                }
                sections.push((name, vec![]));
                in_section = Some(sections.len() - 1);
                current = None;
                continue;
            }
        }
        let Some(si) = in_section else {
            return Err(format!("line {n}: file contains no section headers"));
        };
        let Some(pos) = value.find(['=', ':']) else {
            return Err(format!("line {n}: expected KEY = VALUE"));
        };
        let key = value[..pos].trim().to_lowercase();
        if key.is_empty() {
            return Err(format!("line {n}: expected KEY = VALUE"));
        }
        let options = &mut sections[si].1;
        if options.iter().any(|(k, _)| *k == key) {
            return Err(format!(
                "line {n}: option {key:?} in section {:?} already exists",
                sections[si].0
            ));
        }
        options.push((key, vec![(n, value[pos + 1..].trim().to_string())]));
        current = Some((si, options.len() - 1));
    }
    // trailing blank lines are not part of a value
    for (_, options) in &mut sections {
        for (_, lines) in options.iter_mut() {
            while lines.len() > 1 && lines.last().is_some_and(|(_, l)| l.is_empty()) {
                lines.pop();
            }
        }
    }
    Ok(sections)
}

/// configparser's `getboolean`.
fn ini_bool(key: &str, v: &str) -> Result<bool> {
    match v.to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Ok(true),
        "0" | "no" | "false" | "off" => Ok(false),
        _ => bail!("{key}: Not a boolean: {v}"),
    }
}

fn read_config(path: &Option<PathBuf>) -> Result<FileConfig> {
    let mut cfg = FileConfig::default();
    let Some(path) = path else { return Ok(cfg) };
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read config file {}", path.display()))?;
    let sections = parse_ini(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    cfg.path = Some(path.clone());
    for (section, options) in sections {
        match section.as_str() {
            "hub" => {
                for (key, lines) in options {
                    let v = lines
                        .iter()
                        .map(|(_, l)| l.as_str())
                        .collect::<Vec<_>>()
                        .join("\n");
                    match key.as_str() {
                        "db" | "dburl" => cfg.db = Some(v),
                        "kojidir" => cfg.topdir = Some(v.into()),
                        "listen" => cfg.listen = Some(v),
                        "missingpolicyok" => cfg.missing_policy_ok = Some(ini_bool(&key, &v)?),
                        "verbosepolicy" | "kojidebug" => cfg.verbose_policy |= ini_bool(&key, &v)?,
                        _ => {}
                    }
                }
            }
            "policy" => cfg.policy = options,
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
            // a policy that does not parse stops the hub before it starts
            let policies = std::sync::Arc::new(file.policies()?);
            let url = db_url(&db, &file)?;
            let topdir = topdir
                .or(file.topdir)
                .unwrap_or_else(|| PathBuf::from("koji-data/topdir"));
            std::fs::create_dir_all(&topdir)
                .with_context(|| format!("cannot create {}", topdir.display()))?;
            let config = HubConfig {
                topdir,
                policies,
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

#[cfg(test)]
mod tests {
    use super::parse_ini;

    #[test]
    fn ini_reads_like_configparser() {
        let text = "\
# comment
[hub]
DBURL = sqlite://x
KojiDir: /mnt/koji

[policy]
tag =
    has_perm admin :: allow
    # a comment inside the value
    tag f40 :: {

        all :: deny frozen
    }

channel = all :: use default
\tis_child_task :: parent
";
        let ini = parse_ini(text).unwrap();
        assert_eq!(ini[0].0, "hub");
        assert_eq!(
            ini[0].1[0],
            ("dburl".to_string(), vec![(3, "sqlite://x".to_string())])
        );
        assert_eq!(ini[0].1[1].1[0].1, "/mnt/koji");
        let policy = &ini[1].1;
        assert_eq!(policy[0].0, "tag");
        let lines: Vec<(usize, &str)> = policy[0].1.iter().map(|(n, l)| (*n, l.as_str())).collect();
        assert_eq!(
            lines,
            [
                (7, ""),
                (8, "has_perm admin :: allow"),
                (10, "tag f40 :: {"),
                (11, ""),
                (12, "all :: deny frozen"),
                (13, "}"),
            ]
        );
        assert_eq!(policy[1].1.len(), 2);
        assert_eq!(policy[1].1[1], (16, "is_child_task :: parent".to_string()));
        assert!(parse_ini("key = v")
            .unwrap_err()
            .contains("no section headers"));
        assert!(parse_ini("[a]\njunk").unwrap_err().contains("line 2"));
        assert!(parse_ini("[a]\nk=1\nK=2")
            .unwrap_err()
            .contains("already exists"));
    }
}
