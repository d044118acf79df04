//! `koji-hub`: runs the hub, and the operator's bootstrap commands.

use anyhow::{Context, Result};
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
        /// Also run a builder (kojid) in this process, registered as a host.
        #[arg(long)]
        builder: bool,
        /// The builder's host name.
        #[arg(long, default_value = "builder")]
        builder_name: String,
        /// The builder's working directory (default: a directory beside the
        /// content store).
        #[arg(long)]
        builder_workdir: Option<PathBuf>,
        /// How the builder isolates builds: bwrap (default), mock or none.
        #[arg(long, default_value = "bwrap")]
        builder_backend: String,
        /// The builder's allowed_scms, upstream's entries (e.g.
        /// "git.example.com:/rpms/*:no:"; see kojid's allowed_scms).
        #[arg(long, default_value = "")]
        builder_allowed_scms: String,
        /// Any other kojid.conf option of the builder, as KEY=VALUE
        /// (kojid's -o), e.g. createrepo_splice=no; repeatable.
        #[arg(long = "builder-opt", value_name = "KEY=VALUE")]
        builder_opts: Vec<String>,
        /// Do not keep repos current (`RepoRegen = false`): for running
        /// upstream's kojira against this hub instead.
        #[arg(long)]
        no_repo_regen: bool,
        /// Seconds between passes of the repo upkeep (`RepoRegenInterval`).
        #[arg(long)]
        repo_regen_interval: Option<f64>,
        #[command(flatten)]
        tls: Box<TlsOpts>,
    },
    /// Run one task for the in-process builder (started by it).
    #[command(hide = true)]
    RunTask {
        #[arg(long)]
        task_id: i64,
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

/// HTTPS beside the plain listener (`[hub] TLSListen`, `TLSCert`, `TLSKey`,
/// `TLSClientCA` in the config file).
#[derive(Args, Debug, Clone, Default)]
struct TlsOpts {
    /// Also serve HTTPS on this address (port 0 picks a free port).
    #[arg(long, env = "KOJI_HUB_TLS_LISTEN")]
    tls_listen: Option<String>,
    /// The server's certificate chain (PEM).
    #[arg(long)]
    tls_cert: Option<PathBuf>,
    /// The server's private key (PEM).
    #[arg(long)]
    tls_key: Option<PathBuf>,
    /// CA certificate(s) (PEM) whose client certificates `sslLogin`
    /// accepts; without it no client certificate is asked for.
    #[arg(long)]
    tls_client_ca: Option<PathBuf>,
}

impl TlsOpts {
    /// Flags over the file's settings.
    fn or(self, file: &TlsOpts) -> TlsOpts {
        TlsOpts {
            tls_listen: self.tls_listen.or(file.tls_listen.clone()),
            tls_cert: self.tls_cert.or(file.tls_cert.clone()),
            tls_key: self.tls_key.or(file.tls_key.clone()),
            tls_client_ca: self.tls_client_ca.or(file.tls_client_ca.clone()),
        }
    }

    /// The bound HTTPS listener, if one is configured.
    async fn bind(&self) -> Result<Option<koji_server::tls::TlsListener>> {
        let Some(addr) = &self.tls_listen else {
            return Ok(None);
        };
        let cert = self
            .tls_cert
            .as_ref()
            .context("--tls-listen needs --tls-cert (TLSCert)")?;
        let key = self
            .tls_key
            .as_ref()
            .context("--tls-listen needs --tls-key (TLSKey)")?;
        let config = koji_server::tls::server_config(cert, key, self.tls_client_ca.as_deref())?;
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        Ok(Some(koji_server::tls::TlsListener { listener, config }))
    }
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
    /// `[hub] MaxJobs`, `CapacityOvercommit`, `ReadyTimeout`, `AssignTimeout`,
    /// `SoftRefusalTimeout`, `HostTimeout`, `RunInterval`.
    scheduler: koji_core::hub::scheduler::SchedulerConfig,
    /// The repo options: `DebuginfoTags`, `SourceTags`,
    /// `SeparateSourceTags`, `EnableMaven`, `AllowNewRepo`, `MaxRepoTasks`,
    /// `MaxRepoTasksMaven`, `RepoRetries`, `RepoLag`, `RepoAutoLag`,
    /// `RepoLagWindow`, `RepoQueueUser`, `RequestCleanTime`.
    repos: koji_core::hub::repo_gen::RepoConfig,
    /// The built-in repo upkeep: `RepoRegen`, `RepoRegenInterval`,
    /// `RepoLifetime`, `ExpiredRepoLifetime`, `RepoInitTimeout`.
    regen: koji_core::hub::repo_regen::RegenConfig,
    /// Certificate logins: `DNUsernameComponent`, `ProxyDNs`,
    /// `LoginCreatesUser`, `AllowProxyAuthType`.
    auth: koji_core::hub::auth::AuthConfig,
    /// HTTPS: `TLSListen`, `TLSCert`, `TLSKey`, `TLSClientCA`.
    tls: TlsOpts,
    /// `DisableNotifications`, `EmailDomain`, `NotifyOnSuccess`, `KojiWebURL`.
    notifications: koji_core::hub::notifications::NotifyConfig,
    /// `MaxNameLengthInternal`, `RegexNameInternal`, `RegexUserName`
    /// (`None`: upstream's default).
    max_name_length: Option<usize>,
    regex_name_internal: Option<String>,
    regex_user_name: Option<String>,
    /// Where the settings came from, for messages.
    path: Option<PathBuf>,
}

impl FileConfig {
    /// The name rules; a pattern that does not compile names the file.
    fn names(&self) -> Result<koji_core::hub::names::NameRules> {
        use koji_core::hub::names::*;
        NameRules::new(
            self.max_name_length.unwrap_or(DEFAULT_MAX_LENGTH),
            self.regex_name_internal
                .as_deref()
                .unwrap_or(DEFAULT_REGEX_INTERNAL),
            self.regex_user_name
                .as_deref()
                .unwrap_or(DEFAULT_REGEX_USER),
        )
        .map_err(|e| {
            let file = self
                .path
                .as_ref()
                .map(|p| p.display().to_string())
                .unwrap_or_default();
            anyhow::anyhow!("{file}: {e}")
        })
    }

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

use koji_core::ini::parse as parse_ini;

/// configparser's `getboolean`.
fn ini_bool(key: &str, v: &str) -> Result<bool> {
    koji_core::ini::boolean(v).map_err(|e| anyhow::anyhow!("{key}: {e}"))
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
                        // the scheduler's options, as upstream's hub.conf names them
                        "maxjobs" | "capacityovercommit" | "readytimeout" | "assigntimeout"
                        | "softrefusaltimeout" | "hosttimeout" | "runinterval" => {
                            let n: f64 = v
                                .trim()
                                .parse()
                                .map_err(|_| anyhow::anyhow!("{key}: not a number: {v}"))?;
                            let s = &mut cfg.scheduler;
                            match key.as_str() {
                                "maxjobs" => s.max_jobs = n as i64,
                                "capacityovercommit" => s.capacity_overcommit = n,
                                "readytimeout" => s.ready_timeout = n,
                                "assigntimeout" => s.assign_timeout = n,
                                "softrefusaltimeout" => s.soft_refusal_timeout = n,
                                "hosttimeout" => s.host_timeout = n,
                                _ => s.run_interval = n,
                            }
                        }
                        "dnusernamecomponent" => cfg.auth.dn_username_component = v,
                        "proxydns" => cfg.auth.proxy_dns = v,
                        "logincreatesuser" => cfg.auth.login_creates_user = ini_bool(&key, &v)?,
                        "allowproxyauthtype" => {
                            cfg.auth.allow_proxy_auth_type = ini_bool(&key, &v)?
                        }
                        "maxnamelengthinternal" => {
                            cfg.max_name_length = Some(v.trim().parse().map_err(|_| {
                                anyhow::anyhow!("{key}: not a non-negative integer: {v}")
                            })?)
                        }
                        "regexnameinternal" => cfg.regex_name_internal = Some(v.trim().into()),
                        "regexusername" => cfg.regex_user_name = Some(v.trim().into()),
                        "disablenotifications" => cfg.notifications.disabled = ini_bool(&key, &v)?,
                        "emaildomain" => cfg.notifications.email_domain = Some(v.trim().into()),
                        "notifyonsuccess" => {
                            cfg.notifications.notify_on_success = ini_bool(&key, &v)?
                        }
                        "kojiweburl" => cfg.notifications.web_url = v.trim().into(),
                        "tlslisten" => cfg.tls.tls_listen = Some(v),
                        "tlscert" => cfg.tls.tls_cert = Some(v.into()),
                        "tlskey" => cfg.tls.tls_key = Some(v.into()),
                        "tlsclientca" => cfg.tls.tls_client_ca = Some(v.into()),
                        "reporegen" => cfg.regen.enabled = ini_bool(&key, &v)?,
                        "reporegeninterval"
                        | "repolifetime"
                        | "expiredrepolifetime"
                        | "repoinittimeout" => {
                            let n: f64 = v
                                .trim()
                                .parse()
                                .map_err(|_| anyhow::anyhow!("{key}: not a number: {v}"))?;
                            let g = &mut cfg.regen;
                            match key.as_str() {
                                "reporegeninterval" => g.interval = n,
                                "repolifetime" => g.repo_lifetime = n as i64,
                                "expiredrepolifetime" => g.expired_repo_lifetime = n as i64,
                                _ => g.init_timeout = n as i64,
                            }
                        }
                        _ => read_repo_option(&mut cfg.repos, &key, &v)?,
                    }
                }
            }
            "policy" => cfg.policy = options,
            _ => {}
        }
    }
    Ok(cfg)
}

/// One of upstream's repo options of `hub.conf` (other keys are ignored,
/// as upstream ignores options it does not know).
fn read_repo_option(
    r: &mut koji_core::hub::repo_gen::RepoConfig,
    key: &str,
    v: &str,
) -> Result<()> {
    let int = || -> Result<i64> {
        v.trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("{key}: not an integer: {v}"))
    };
    let words = || v.split_whitespace().map(str::to_owned).collect::<Vec<_>>();
    match key {
        "debuginfotags" => r.debuginfo_tags = words(),
        "sourcetags" => r.source_tags = words(),
        "separatesourcetags" => r.separate_source_tags = words(),
        "enablemaven" => r.enable_maven = ini_bool(key, v)?,
        "allownewrepo" => r.allow_new_repo = ini_bool(key, v)?,
        "maxrepotasks" => r.max_repo_tasks = int()?,
        "maxrepotasksmaven" => r.max_repo_tasks_maven = int()?,
        "reporetries" => r.repo_retries = int()?,
        "repolag" => r.repo_lag = int()?,
        "repoautolag" => r.repo_auto_lag = int()?,
        "repolagwindow" => r.repo_lag_window = int()?,
        "repoqueueuser" => r.repo_queue_user = v.trim().to_string(),
        "requestcleantime" => r.request_clean_time = int()?,
        _ => {}
    }
    Ok(())
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
        Cmd::RunTask { task_id } => {
            koji_worker::daemon::catch_sigusr1();
            let cfg = koji_worker::daemon::config_from_env();
            let session = koji_worker::daemon::session_from_env()?;
            koji_worker::runner::run_task(
                cfg,
                session,
                task_id,
                &koji_worker::handlers::builtins(),
            )
            .await?;
        }
        Cmd::Serve {
            db,
            topdir,
            listen,
            builder,
            builder_name,
            builder_workdir,
            builder_backend,
            builder_allowed_scms,
            builder_opts,
            no_repo_regen,
            repo_regen_interval,
            tls,
        } => {
            let file = read_config(&db.config)?;
            // a policy that does not parse stops the hub before it starts
            let policies = std::sync::Arc::new(file.policies()?);
            let names = file.names()?;
            let url = db_url(&db, &file)?;
            let topdir = topdir
                .or(file.topdir)
                .unwrap_or_else(|| PathBuf::from("koji-data/topdir"));
            std::fs::create_dir_all(&topdir)
                .with_context(|| format!("cannot create {}", topdir.display()))?;
            let config = HubConfig {
                topdir: topdir.clone(),
                policies,
                scheduler: file.scheduler.clone(),
                repos: file.repos.clone(),
                regen: koji_core::hub::repo_regen::RegenConfig {
                    enabled: file.regen.enabled && !no_repo_regen,
                    interval: repo_regen_interval.unwrap_or(file.regen.interval),
                    ..file.regen.clone()
                },
                auth: file.auth.clone(),
                names,
                notifications: file.notifications.clone(),
                ..HubConfig::default()
            };
            let hub = Hub::open(&url, config).await?;
            let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
            // the repo upkeep (kojira's job), until the hub stops
            let regen = {
                let hub = hub.clone();
                let mut stop = stop_rx.clone();
                tokio::spawn(async move {
                    hub.run_repo_regen(async move {
                        let _ = stop.changed().await;
                    })
                    .await
                })
            };
            let listen = listen
                .or(file.listen)
                .unwrap_or_else(|| "127.0.0.1:8080".to_string());
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let addr = listener.local_addr()?;
            let tls = tls.or(&file.tls).bind().await?;
            {
                let mut out = std::io::stdout().lock();
                writeln!(out, "listening on http://{addr}")?;
                if let Some(t) = &tls {
                    writeln!(out, "listening on https://{}", t.listener.local_addr()?)?;
                }
                out.flush()?;
            }
            tracing::info!(%addr, db = %redact(&url), "hub started");
            if !builder {
                koji_server::serve_with_tls(hub, listener, tls, shutdown_signal()).await?;
                let _ = stop_tx.send(true);
                let _ = regen.await;
                return Ok(());
            }
            let server = {
                let hub = hub.clone();
                let mut stop = stop_rx.clone();
                tokio::spawn(async move {
                    koji_server::serve_with_tls(hub, listener, tls, async move {
                        let _ = stop.changed().await;
                    })
                    .await
                })
            };
            let workdir = builder_workdir.unwrap_or_else(|| {
                topdir
                    .parent()
                    .unwrap_or(std::path::Path::new("."))
                    .join("builder-work")
            });
            let server_url = format!("http://{addr}/kojihub");
            let local = koji_server::builder::LocalBuilder {
                name: builder_name,
                topdir: topdir.clone(),
                workdir,
                backend: builder_backend,
                allowed_scms: builder_allowed_scms,
                opts: builder_opts,
            };
            let run = tokio::spawn({
                let mut stop = stop_rx.clone();
                async move {
                    let res =
                        koji_server::builder::run_local(hub, &server_url, &local, async move {
                            let _ = stop.changed().await;
                        })
                        .await;
                    if let Err(e) = &res {
                        // said at once: the hub goes on serving without it
                        tracing::error!(error = format!("{e:#}"), "the builder stopped");
                        eprintln!("koji-hub: the builder stopped: {e:#}");
                    }
                }
            });
            shutdown_signal().await;
            let _ = stop_tx.send(true);
            let _ = run.await;
            let _ = regen.await;
            server.await??;
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
    fn scheduler_options_from_hub_conf() {
        let dir = std::env::temp_dir().join(format!("koji-hub-conf-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("hub.conf");
        std::fs::write(
            &p,
            "[hub]\nMaxJobs = 3\nHostTimeout = 60\nRunInterval = 5\n",
        )
        .unwrap();
        let cfg = super::read_config(&Some(p.clone())).unwrap();
        assert_eq!(cfg.scheduler.max_jobs, 3);
        assert_eq!(cfg.scheduler.host_timeout, 60.0);
        assert_eq!(cfg.scheduler.run_interval, 5.0);
        assert_eq!(cfg.scheduler.assign_timeout, 300.0, "upstream's default");
        std::fs::write(&p, "[hub]\nMaxJobs = many\n").unwrap();
        assert!(super::read_config(&Some(p)).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }

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
