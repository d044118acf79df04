//! The hub service. Every transport (XML-RPC, gRPC, web, CLI) calls these
//! methods; no business rule lives anywhere else.
//!
//! Areas are reached through small borrowing views, e.g.
//! `hub.users().create(&caller, ...)`; each area lives in its own file.

pub mod archives;
pub mod auth;
pub mod buildroots;
pub mod builds;
pub mod buildtypes;
pub mod cache;
mod caller;
pub mod cg;
pub mod dist_repos;
pub mod external_repos;
pub mod groups;
pub mod history;
pub mod host_api;
pub mod host_builds;
pub mod hosts;
mod misc;
pub mod names;
pub mod notifications;
pub mod packages;
mod pyre;
pub mod query_opts;
pub mod query_view;
pub mod repo_gen;
pub mod repo_queue;
pub mod repo_regen;
pub mod repos;
pub mod rpms;
pub mod scheduler;
pub mod search;
pub mod tagging;
pub mod tags;
pub mod targets;
pub mod tasks;
pub mod uploads;
pub mod users;

pub use archives::Archives;
pub use auth::{Auth, LoginInfo};
pub use builds::Builds;
pub use caller::{Caller, ClientCert, ClientTls, Session};
pub use cg::ContentGenerators;
pub use history::History;
pub use hosts::Hosts;
pub use misc::Misc;
pub use packages::Packages;
pub use rpms::Rpms;
pub use search::Search;
pub use tagging::Tagging;
pub use tags::Tags;
pub use targets::Targets;
pub use tasks::Tasks;
pub use uploads::Uploads;
pub use users::Users;

use crate::db::Db;
use crate::error::Result;
use std::path::PathBuf;
use std::sync::Arc;

/// Hub settings (upstream's `hub.conf` options that apply).
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Root of the content store (upstream's `KojiDir`, e.g. `/mnt/koji`).
    pub topdir: PathBuf,
    /// Minutes after which a session must log in again (0: never).
    pub session_renewal_timeout: i64,
    /// Accept `session-id`/`session-key` in the query string (upstream's
    /// `DisableURLSessions = False`).
    pub url_sessions: bool,
    /// Largest XML-RPC request body accepted, in bytes.
    pub max_request_length: usize,
    /// The policies (`[policy]` section; upstream's defaults otherwise).
    pub policies: Arc<crate::policy::Policies>,
    /// The task scheduler's timings and limits.
    pub scheduler: scheduler::SchedulerConfig,
    /// Repo options, requests and regeneration.
    pub repos: repo_gen::RepoConfig,
    /// The built-in repo upkeep (kojira's job).
    pub regen: repo_regen::RegenConfig,
    /// Certificate logins (`sslLogin`).
    pub auth: auth::AuthConfig,
    /// `MaxNameLengthInternal`, `RegexNameInternal`, `RegexUserName`.
    pub names: names::NameRules,
    /// `DisableNotifications`, `EmailDomain`, `NotifyOnSuccess`,
    /// `KojiWebURL`.
    pub notifications: notifications::NotifyConfig,
}

impl HubConfig {
    /// The settings under upstream's `hub.conf` names (`showOpts`).
    pub fn upstream_opts(&self) -> serde_json::Value {
        serde_json::json!({
            "DisableURLSessions": !self.url_sessions,
            "KojiDir": self.topdir.display().to_string(),
            "MaxRequestLength": self.max_request_length,
            "SessionRenewalTimeout": self.session_renewal_timeout,
            "DNUsernameComponent": self.auth.dn_username_component,
            "ProxyDNs": self.auth.proxy_dns,
            "LoginCreatesUser": self.auth.login_creates_user,
            "AllowProxyAuthType": self.auth.allow_proxy_auth_type,
            "MaxNameLengthInternal": self.names.max_length(),
            "RegexNameInternal": self.names.regex_internal(),
            "RegexUserName": self.names.regex_user(),
            "DisableNotifications": self.notifications.disabled,
            "EmailDomain": self.notifications.email_domain,
            "NotifyOnSuccess": self.notifications.notify_on_success,
            "KojiWebURL": self.notifications.web_url,
        })
    }
}

impl Default for HubConfig {
    fn default() -> Self {
        HubConfig {
            topdir: PathBuf::from("koji"),
            session_renewal_timeout: 1440,
            url_sessions: true,
            max_request_length: 4 * 1024 * 1024,
            policies: Arc::default(),
            scheduler: Default::default(),
            repos: Default::default(),
            regen: Default::default(),
            auth: Default::default(),
            names: Default::default(),
            notifications: Default::default(),
        }
    }
}

/// The hub: database, content store and configuration. Cheap to clone.
#[derive(Clone)]
pub struct Hub {
    inner: Arc<Inner>,
}

struct Inner {
    db: Db,
    config: HubConfig,
    results: cache::ResultCache,
    task_events: TaskEvents,
    repo_wakeup: tokio::sync::Notify,
}

/// Tells builders waiting on this hub that tasks changed (assigned,
/// canceled, created): a counter that moves on every change.
pub struct TaskEvents(
    tokio::sync::watch::Sender<u64>,
    /// The counter when the scheduler last ran.
    std::sync::atomic::AtomicU64,
);

impl Default for TaskEvents {
    fn default() -> Self {
        TaskEvents(tokio::sync::watch::channel(0).0, Default::default())
    }
}

impl TaskEvents {
    /// The counter now.
    pub fn current(&self) -> u64 {
        *self.0.borrow()
    }

    /// Whether tasks changed since the scheduler last ran (true once per
    /// change), and the counter this run accounts for.
    pub(crate) fn take_scheduling(&self) -> (bool, u64) {
        let now = self.current();
        (
            self.1.swap(now, std::sync::atomic::Ordering::AcqRel) != now,
            now,
        )
    }

    pub fn notify(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.0.subscribe()
    }
}

impl Hub {
    /// A hub over an already migrated database.
    pub fn new(db: Db, config: HubConfig) -> Hub {
        Hub {
            inner: Arc::new(Inner {
                db,
                config,
                results: Default::default(),
                task_events: Default::default(),
                repo_wakeup: Default::default(),
            }),
        }
    }

    /// Connects to `db_url`, creates or upgrades the schema, and returns the hub.
    pub async fn open(db_url: &str, config: HubConfig) -> Result<Hub> {
        let db = Db::connect(db_url).await?;
        db.migrate().await?;
        Ok(Hub::new(db, config))
    }

    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// Cached answers of pure reads (see [`cache::ResultCache`]).
    pub fn results(&self) -> &cache::ResultCache {
        &self.inner.results
    }

    /// Task changes, for builders waiting on assignments.
    pub fn task_events(&self) -> &TaskEvents {
        &self.inner.task_events
    }

    /// Wakes the repo upkeep loop early: a new repo request is waiting
    /// for its task (a build waiting for a repo should not wait a whole
    /// `RepoRegenInterval` more).
    pub fn repo_wakeup(&self) -> &tokio::sync::Notify {
        &self.inner.repo_wakeup
    }

    pub fn scheduler(&self) -> scheduler::Scheduler<'_> {
        scheduler::Scheduler(self)
    }

    pub fn config(&self) -> &HubConfig {
        &self.inner.config
    }

    /// The content-store layout below `topdir`.
    pub fn pathinfo(&self) -> crate::pathinfo::PathInfo {
        crate::pathinfo::PathInfo::new(self.inner.config.topdir.clone())
    }

    pub fn auth(&self) -> Auth<'_> {
        Auth(self)
    }

    pub fn users(&self) -> Users<'_> {
        Users(self)
    }

    pub fn misc(&self) -> Misc<'_> {
        Misc(self)
    }

    pub fn tags(&self) -> Tags<'_> {
        Tags(self)
    }

    pub fn packages(&self) -> Packages<'_> {
        Packages(self)
    }

    pub fn groups(&self) -> groups::Groups<'_> {
        groups::Groups(self)
    }

    pub fn external_repos(&self) -> external_repos::ExternalRepos<'_> {
        external_repos::ExternalRepos(self)
    }

    pub fn repos(&self) -> repos::Repos<'_> {
        repos::Repos(self)
    }

    pub fn notifications(&self) -> notifications::Notifications<'_> {
        notifications::Notifications(self)
    }

    pub fn targets(&self) -> Targets<'_> {
        Targets(self)
    }

    pub fn hosts(&self) -> Hosts<'_> {
        Hosts(self)
    }

    pub fn history(&self) -> History<'_> {
        History(self)
    }

    pub fn builds(&self) -> Builds<'_> {
        Builds(self)
    }

    pub fn rpms(&self) -> Rpms<'_> {
        Rpms(self)
    }

    pub fn tagging(&self) -> Tagging<'_> {
        Tagging(self)
    }

    pub fn uploads(&self) -> Uploads<'_> {
        Uploads(self)
    }

    pub fn archives(&self) -> Archives<'_> {
        Archives(self)
    }

    pub fn search(&self) -> Search<'_> {
        Search(self)
    }

    pub fn tasks(&self) -> Tasks<'_> {
        Tasks(self)
    }

    pub fn content_generators(&self) -> ContentGenerators<'_> {
        ContentGenerators(self)
    }
}
