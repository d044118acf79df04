//! The hub's own repo upkeep: what upstream's kojira does, built in and
//! on by default (`RepoRegen = false` in `hub.conf` switches it off, and
//! then upstream's kojira can run against the hub instead).
//!
//! Each pass:
//! 1. records the end event of READY repos whose tag changed since
//!    (`repo.updateEndEvents`);
//! 2. requests a current repo for every targets' build tag (priority 20)
//!    and every `repo.auto` tag (priority 25) that has none, one request
//!    at a time per tag: changes made while a repo is being made are
//!    picked up by the next one (debouncing);
//! 3. turns waiting requests into newRepo tasks (`repo.checkQueue`, at
//!    most `MaxRepoTasks` at once, highest priority first);
//! 4. keeps the repos themselves: an INIT repo whose task failed or that
//!    is older than `RepoInitTimeout` becomes PROBLEM; a READY repo that
//!    is no longer current and older than `RepoLifetime` expires (the
//!    latest repo of a target's build tag is kept); EXPIRED and PROBLEM
//!    repos older than `ExpiredRepoLifetime` that no buildroot uses are
//!    marked DELETED and removed from disk.

use super::repo_queue::{check_queue_in, request_in};
use super::repos::{
    select_where_in, set_state_from_in, Repos, REPO_DELETED, REPO_EXPIRED, REPO_INIT, REPO_PROBLEM,
    REPO_READY,
};
use super::scheduler::try_lock;
use super::{Caller, Hub};
use crate::db::{fetch_all, fetch_opt, RowExt};
use crate::error::Result;
use crate::params;
use serde_json::{Map, Value as Json};
use std::time::Duration;

/// The built-in loop's settings (ours; upstream's kojira has its own).
#[derive(Debug, Clone)]
pub struct RegenConfig {
    /// `RepoRegen`: run the loop (default on).
    pub enabled: bool,
    /// `RepoRegenInterval`: seconds between passes.
    pub interval: f64,
    /// `RepoLifetime`: seconds a READY repo that is no longer current is
    /// kept before it expires.
    pub repo_lifetime: i64,
    /// `DistRepoLifetime`: the same for dist repos (upstream kojira's
    /// `dist_repo_lifetime`).
    pub dist_repo_lifetime: i64,
    /// `RepoRetryDelay`: seconds before a tag whose requests ran out of
    /// retries is asked for again.
    pub retry_delay: i64,
    /// `ExpiredRepoLifetime`: seconds an EXPIRED or PROBLEM repo is kept
    /// before it is deleted (if no buildroot uses it).
    pub expired_repo_lifetime: i64,
    /// `RepoInitTimeout`: seconds after which an unfinished repo is a
    /// PROBLEM.
    pub init_timeout: i64,
}

impl Default for RegenConfig {
    fn default() -> Self {
        RegenConfig {
            enabled: true,
            interval: 5.0,
            // a day, then an hour: a hub kept tidy (upstream's kojira
            // keeps a week; dist repos, made for release, keep that here)
            repo_lifetime: 24 * 3600,
            dist_repo_lifetime: 7 * 24 * 3600,
            retry_delay: 3600,
            expired_repo_lifetime: 3600,
            init_timeout: 7200,
        }
    }
}

/// What one pass did.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct RegenReport {
    pub end_events: usize,
    pub requests: usize,
    pub tasks: usize,
    pub problems: usize,
    pub expired: usize,
    pub deleted: usize,
}

/// The tags that should always have a current repo: targets' build tags
/// (priority 20) and `repo.auto` tags (25), by tag id.
async fn wanted_tags(hub: &Hub) -> Result<Vec<(i64, i64)>> {
    let c = hub.db().conn();
    let mut out: Vec<(i64, i64)> = vec![];
    for r in fetch_all(
        c,
        "SELECT DISTINCT build_tag FROM build_target_config WHERE active = ? ORDER BY build_tag",
        params![true],
    )
    .await?
    {
        out.push((r.int("build_tag")?, super::tasks::PRIO_DEFAULT));
    }
    for r in fetch_all(
        c,
        "SELECT tag_id, value FROM tag_extra WHERE key = 'repo.auto' AND active = ? \
         ORDER BY tag_id",
        params![true],
    )
    .await?
    {
        let on = r
            .opt_string("value")?
            .and_then(|v| serde_json::from_str::<Json>(&v).ok())
            .is_some_and(|v| crate::api::truthy(&v));
        let tag = r.int("tag_id")?;
        if on && !out.iter().any(|(t, _)| *t == tag) {
            out.push((tag, super::tasks::PRIO_DEFAULT + 5));
        }
    }
    // only live tags
    let mut live = vec![];
    for (tag, prio) in out {
        if fetch_opt(
            c,
            "SELECT tag_id FROM tag_config WHERE tag_id = ? AND active = ?",
            params![tag, true],
        )
        .await?
        .is_some()
        {
            live.push((tag, prio));
        }
    }
    Ok(live)
}

/// The user the loop acts as (`RepoQueueUser`, created without a
/// password if missing, so it cannot log in).
async fn loop_caller(hub: &Hub) -> Result<Caller> {
    let name = hub.config().repos.repo_queue_user.clone();
    let row = fetch_opt(
        hub.db().conn(),
        "SELECT id FROM users WHERE name = ?",
        params![name.clone()],
    )
    .await?;
    let id = match row {
        Some(r) => r.int("id")?,
        None => hub.users().insert_user(&name, 0, 0, None).await?,
    };
    Ok(Caller::acting_as(
        id,
        &name,
        0,
        ["repo".to_string()].into_iter().collect(),
    ))
}

fn age(now: f64, ts: &Json) -> f64 {
    ts.as_f64().map_or(f64::MAX, |t| now - t)
}

impl Repos<'_> {
    /// One pass of the built-in upkeep (see the module's description).
    pub async fn regen_pass(&self) -> Result<RegenReport> {
        self.regen_pass_if(true).await
    }

    /// [`Repos::regen_pass`]; without `changed` (nothing was committed
    /// since the last pass) only the time-driven part runs: the repos'
    /// lifetimes.
    pub async fn regen_pass_if(&self, changed: bool) -> Result<RegenReport> {
        let mut report = RegenReport::default();
        if changed {
            self.regen_requests(&mut report).await?;
        }
        self.regen_lifecycle(&mut report).await?;
        Ok(report)
    }

    /// Steps 1 to 3: end events, requests, tasks.
    async fn regen_requests(&self, report: &mut RegenReport) -> Result<()> {
        let hub = self.0;
        report.end_events = self.end_events().await?;
        let caller = loop_caller(hub).await?;

        // 2. requests for tags without a current repo
        let wanted = wanted_tags(hub).await?;
        if !wanted.is_empty() {
            let tx = hub.db().begin().await?;
            if try_lock(&tx, "repo-queue").await? {
                for (tag, prio) in wanted {
                    let current = select_where_in(
                        &*tx,
                        "repo.tag_id = ? AND repo.state IN (?, ?) AND repo.dist = ? \
                         AND repo.end_event IS NULL",
                        params![tag, REPO_INIT, REPO_READY, false],
                    )
                    .await?
                    .into_iter()
                    .any(|r| r["custom_opts"].as_object().is_some_and(Map::is_empty));
                    if current {
                        continue;
                    }
                    // a request waiting, or one that failed for good
                    // recently (no new one each pass for a broken tag)
                    let since = chrono::Utc::now()
                        - chrono::Duration::seconds(hub.config().regen.retry_delay);
                    let pending = fetch_opt(
                        &*tx,
                        "SELECT id FROM repo_queue WHERE tag_id = ? AND (active = ? \
                         OR (repo_id IS NULL AND update_time > ?))",
                        params![tag, true, since],
                    )
                    .await?
                    .is_some();
                    if pending {
                        continue;
                    }
                    let out = request_in(
                        &tx,
                        hub,
                        &caller,
                        caller.user_id()?,
                        &Json::from(tag),
                        &Json::from("last"),
                        &Json::Null,
                        &Json::Null,
                        &Json::from(prio - super::tasks::PRIO_DEFAULT),
                        false,
                    )
                    .await?;
                    if !out["request"].is_null() && out["duplicate"] != Json::Bool(true) {
                        report.requests += 1;
                    }
                }
            }
            tx.commit().await?;
        }

        // 3. tasks for waiting requests
        {
            let mut tx = hub.db().begin().await?;
            report.tasks = check_queue_in(&mut tx, hub).await?;
            tx.commit().await?;
            if report.tasks > 0 {
                hub.task_events().notify();
            }
        }

        Ok(())
    }

    /// Step 4: the repos' own lifecycle.
    async fn regen_lifecycle(&self, report: &mut RegenReport) -> Result<()> {
        let hub = self.0;
        let cfg = hub.config().regen.clone();
        let now = chrono::Utc::now().timestamp_micros() as f64 / 1e6;
        let repos =
            select_where_in(hub.db().conn(), "repo.state != ?", params![REPO_DELETED]).await?;
        let targets: std::collections::HashSet<i64> = fetch_all(
            hub.db().conn(),
            "SELECT DISTINCT build_tag FROM build_target_config WHERE active = ?",
            params![true],
        )
        .await?
        .iter()
        .filter_map(|r| r.int("build_tag").ok())
        .collect();
        let pathinfo = hub.pathinfo();
        for r in &repos {
            let id = r["id"].as_i64().unwrap_or_default();
            let state = r["state"].as_i64().unwrap_or_default();
            let dist = r["dist"] == Json::Bool(true);
            let new_state = match state {
                REPO_INIT => {
                    let failed = matches!(r["task_state"].as_i64(), Some(3) | Some(5));
                    (failed || age(now, &r["creation_ts"]) > cfg.init_timeout as f64)
                        .then_some(REPO_PROBLEM)
                }
                REPO_READY => {
                    let custom = r["custom_opts"].as_object().is_some_and(|m| !m.is_empty());
                    let current = r["end_event"].is_null() && !custom;
                    let lifetime = if dist {
                        cfg.dist_repo_lifetime
                    } else {
                        cfg.repo_lifetime
                    };
                    if current || age(now, &r["state_ts"]) <= lifetime as f64 {
                        None
                    } else {
                        let tag = r["tag_id"].as_i64().unwrap_or_default();
                        let keep = !custom
                            && (dist || targets.contains(&tag))
                            && super::repo_gen::is_latest_in(hub.db().conn(), r).await?;
                        (!keep).then_some(REPO_EXPIRED)
                    }
                }
                REPO_EXPIRED | REPO_PROBLEM => (age(now, &r["state_ts"])
                    >= cfg.expired_repo_lifetime as f64)
                    .then_some(REPO_DELETED),
                _ => None,
            };
            let Some(new_state) = new_state else {
                continue;
            };
            let tx = hub.db().begin().await?;
            if new_state == REPO_DELETED {
                let refs = fetch_opt(
                    &*tx,
                    "SELECT buildroot_id FROM standard_buildroot WHERE repo_id = ? \
                     AND retire_event IS NULL AND (state IS NULL OR state != 3)",
                    params![id],
                )
                .await?;
                if refs.is_some() {
                    tracing::warn!("Repo {id} still has references; kept");
                    continue;
                }
            }
            // only if nothing changed it since it was read
            if !set_state_from_in(&tx, id, Some(state), new_state).await? {
                continue;
            }
            tx.commit().await?;
            match new_state {
                REPO_PROBLEM => {
                    tracing::warn!("Problem repo {id}");
                    report.problems += 1;
                }
                REPO_EXPIRED => {
                    tracing::info!("Expired repo {id} of {}", r["tag_name"]);
                    report.expired += 1;
                }
                _ => {
                    let tag = crate::util::py_str(&r["tag_name"]);
                    let dir = if dist {
                        pathinfo.distrepo(id, &tag, None)
                    } else {
                        pathinfo.repo(id, &tag)
                    };
                    // a dist repo on another volume: the data, then the link
                    if std::fs::read_link(&dir).is_ok() {
                        let top = std::fs::canonicalize(pathinfo.topdir());
                        if let (Ok(real), Ok(top)) = (std::fs::canonicalize(&dir), top) {
                            if real.starts_with(&top) && real != top {
                                let _ = std::fs::remove_dir_all(real);
                            }
                        }
                        let _ = std::fs::remove_file(&dir);
                    }
                    if let Err(e) = std::fs::remove_dir_all(&dir) {
                        if e.kind() != std::io::ErrorKind::NotFound {
                            tracing::error!("cannot remove {}: {e}", dir.display());
                        }
                    }
                    tracing::info!("Deleted repo {id} of {tag}");
                    report.deleted += 1;
                }
            }
        }
        Ok(())
    }
}

impl Hub {
    /// Runs [`Repos::regen_pass`] every `RepoRegenInterval` seconds until
    /// `stop` resolves (nothing when `RepoRegen` is off). Errors are
    /// logged; the next pass tries again.
    pub async fn run_repo_regen(&self, stop: impl std::future::Future<Output = ()>) {
        let cfg = self.config().regen.clone();
        if !cfg.enabled {
            return;
        }
        tokio::pin!(stop);
        let every =
            Duration::try_from_secs_f64(cfg.interval.max(0.1)).unwrap_or(Duration::from_secs(5));
        // what changed is judged by the database generation after our own
        // pass; a full pass also runs every minute or so regardless
        let mut last_gen: Option<u64> = None;
        let mut idle = 0u32;
        let full_every = (60.0 / cfg.interval.max(0.1)).ceil().max(1.0) as u32;
        // woken by a new request: a full pass, even if the request was
        // committed during the last pass (and so counted in `last_gen`)
        let mut woken = false;
        loop {
            let gen = self.db().generation();
            let changed = woken || last_gen != Some(gen) || idle >= full_every;
            idle = if changed { 0 } else { idle + 1 };
            let res = self.repos().regen_pass_if(changed).await;
            last_gen = Some(self.db().generation());
            match res {
                Ok(r) if r != RegenReport::default() => tracing::info!(?r, "repo upkeep"),
                Ok(_) => {}
                Err(e) => tracing::warn!("repo upkeep failed: {e}"),
            }
            woken = tokio::select! {
                _ = &mut stop => return,
                _ = tokio::time::sleep(every) => false,
                _ = self.repo_wakeup().notified() => true,
            };
        }
    }
}
