//! Upstream Koji's policy engine: named rule sets, configured in the hub's
//! config file (`[policy]` section), that decide whether an action is
//! allowed (`allow`/`deny`) or pick a value (`channel`, `volume`, ...).
//!
//! # Using it from the hub
//!
//! ```ignore
//! // upstream's assert_policy('tag', data, force=force): ActionNotAllowed
//! // "policy violation (tag): REASON" unless the policy allows
//! hub.policy().assert(caller, "tag", &json!({"tag": tag_id, ...}), force).await?;
//!
//! // upstream's check_policy(name, data, default, strict, force)
//! let (allowed, reason) = hub
//!     .policy()
//!     .check(caller, "build_from_srpm", &data, CheckOpts::default())
//!     .await?;
//!
//! // upstream's eval_policy(name, data): the raw action, `None` if no rule matched
//! let action = hub.policy().eval(caller, "volume", &data).await?;
//!
//! // inside an open transaction (never open a second one): the `_in`
//! // variants read facts through that transaction
//! hub.policy().assert_in(&*tx, caller, "package_list", &data, force).await?;
//! ```
//!
//! The policy data is a JSON map with upstream's keys (`tag`, `fromtag`,
//! `build`, `package`, `user_id`, `operation`, `target`, `source`, ...);
//! with no `user_id` the tests about "the user" look at the caller.
//!
//! # Layout
//!
//! - [`parse`]: the policy language into a [`RuleSet`] (errors name the line);
//! - `handlers`: every test upstream's hub registers, and how each runs;
//! - `eval`: applying a rule set (first match wins, blocks, `last_rule`);
//! - [`env`]: the facts tests read ([`PolicyEnv`]) and [`HubEnv`], which
//!   reads them from the hub's database;
//! - `fnmatch`: Python's glob matching.

pub mod env;
mod eval;
pub mod fnmatch;
mod handlers;
pub mod parse;

#[cfg(test)]
mod unit_tests;

pub use env::{HubEnv, PolicyEnv};
pub use eval::Outcome;
pub use handlers::TEST_NAMES;
pub use parse::{ParseError, RuleSet};

use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};
use sea_orm::ConnectionTrait;
use serde_json::Value as Json;
use std::collections::BTreeMap;
use std::fmt;

/// Upstream's hub default policies (`_default_policies`): used for every
/// name the configuration does not set.
pub const DEFAULT_POLICIES: &[(&str, &str)] = &[
    ("build_rpm", "all :: allow"),
    (
        "build_from_srpm",
        "has_perm admin :: allow\nall :: deny Only admin can do this via default policy",
    ),
    (
        "build_from_repo_id",
        "has_perm admin :: allow\nall :: deny Only admin can do this via default policy",
    ),
    (
        "build_from_scm",
        "has_perm admin :: allow\nall :: deny Only admin can do this via default policy",
    ),
    (
        "package_list",
        "has_perm admin :: allow\nhas_perm tag :: allow\n\
         all :: deny Only admin/tag can do this via default policy",
    ),
    (
        "channel",
        "has req_channel :: req\nis_child_task :: parent\nall :: use default",
    ),
    (
        "vm",
        "has_perm admin win-admin :: allow\n\
         all :: deny Only admin/win-admin can do this via default policy",
    ),
    ("cg_import", "all :: allow"),
    ("volume", "all :: DEFAULT"),
    ("priority", "all :: stay"),
    (
        "draft_promotion",
        "has_perm draft-promoter :: allow\nis_build_owner :: allow\n\
         all :: deny Only draft-promoter and build owner can do this via default policy",
    ),
];

/// A policy that failed to load: its name, the line (as numbered in the
/// text given, e.g. the config file's line) and upstream's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    pub policy: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "policy {}, line {}: {}",
            self.policy, self.line, self.message
        )
    }
}

impl std::error::Error for PolicyError {}

/// The hub's policies: named rule sets, and upstream's options about them.
#[derive(Debug)]
pub struct Policies {
    sets: BTreeMap<String, RuleSet>,
    /// Upstream's `MissingPolicyOk` (default true): a check of a policy
    /// that is not configured allows (reason `missing policy`).
    pub missing_policy_ok: bool,
    /// Upstream's `VerbosePolicy`/`KojiDebug`: violations also show the
    /// rule that decided (` [rule: ...]`).
    pub verbose: bool,
}

impl Default for Policies {
    /// Upstream's hub defaults.
    fn default() -> Self {
        let mut sets = BTreeMap::new();
        for (name, text) in DEFAULT_POLICIES {
            // the default texts are ours and parse
            if let Ok(set) = RuleSet::parse(text) {
                sets.insert(name.to_string(), set);
            }
        }
        Policies {
            sets,
            missing_policy_ok: true,
            verbose: false,
        }
    }
}

impl Policies {
    /// Upstream's defaults overridden by `configured` policies: each a name
    /// and its lines with their numbers (e.g. config-file lines).
    pub fn with_config<'a, I, L>(configured: I) -> Result<Policies, PolicyError>
    where
        I: IntoIterator<Item = (String, L)>,
        L: IntoIterator<Item = (usize, &'a str)>,
    {
        let mut p = Policies::default();
        for (name, lines) in configured {
            let set = RuleSet::parse_numbered(lines).map_err(|e| PolicyError {
                policy: name.clone(),
                line: e.line,
                message: e.message,
            })?;
            p.sets.insert(name, set);
        }
        Ok(p)
    }

    /// Sets (or replaces) one policy from its text (lines numbered from 1).
    pub fn set(&mut self, name: &str, text: &str) -> Result<(), PolicyError> {
        let set = RuleSet::parse(text).map_err(|e| PolicyError {
            policy: name.to_string(),
            line: e.line,
            message: e.message,
        })?;
        self.sets.insert(name.to_string(), set);
        Ok(())
    }

    pub fn get(&self, name: &str) -> Option<&RuleSet> {
        self.sets.get(name)
    }

    /// The configured policy names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.sets.keys().map(String::as_str)
    }

    /// Applies policy `name` to `data` (upstream's `ruleset.apply`);
    /// `None` if there is no such policy.
    pub async fn apply(
        &self,
        env: &dyn PolicyEnv,
        name: &str,
        data: &Json,
    ) -> Result<Option<Outcome>> {
        let Some(set) = self.get(name) else {
            return Ok(None);
        };
        Ok(Some(eval::Eval::new(self, env).apply(set, data).await?))
    }

    /// Upstream's `eval_policy`: the action (`None`: no rule matched);
    /// a policy that does not exist is `no such policy: NAME`.
    pub async fn eval(
        &self,
        env: &dyn PolicyEnv,
        name: &str,
        data: &Json,
    ) -> Result<Option<String>> {
        match self.apply(env, name, data).await? {
            Some(o) => Ok(o.action),
            None => Err(Error::Generic(format!("no such policy: {name}"))),
        }
    }

    /// Upstream's `check_policy`: `(allowed, reason)` for an allow/deny
    /// policy. See [`CheckOpts`] for the default, strict and force options.
    pub async fn check(
        &self,
        env: &dyn PolicyEnv,
        name: &str,
        data: &Json,
        opts: CheckOpts<'_>,
    ) -> Result<(bool, String)> {
        let (result, mut reason, last_rule) = match self.apply(env, name, data).await? {
            None => (
                if self.missing_policy_ok {
                    "allow"
                } else {
                    "deny"
                }
                .to_string(),
                "missing policy".to_string(),
                String::new(),
            ),
            Some(Outcome {
                action: None,
                last_rule,
            }) => (
                opts.default.to_string(),
                "not covered by policy".to_string(),
                last_rule,
            ),
            Some(Outcome {
                action: Some(action),
                last_rule,
            }) => {
                let (first, rest) = match action.split_once(char::is_whitespace) {
                    Some((a, r)) => (a.to_lowercase(), r.trim_start().to_string()),
                    None => (action.to_lowercase(), String::new()),
                };
                (first, rest, last_rule)
            }
        };
        tracing::debug!(policy = name, %result, %reason, %last_rule, "policy check");
        if result == "allow" {
            return Ok((true, reason));
        }
        if result != "deny" {
            reason = "error in policy".to_string();
            tracing::error!(policy = name, rule = %last_rule, "Invalid action in policy");
        }
        if opts.force {
            let user = match data.as_object().and_then(|m| m.get("user_id")) {
                Some(u) => env.user(u).await?,
                None => env.caller_user(),
            };
            if let Some(user) = user {
                if env.user_perms(user.id).await?.iter().any(|p| p == "admin") {
                    tracing::info!(policy = name, user = %user.name, %reason, "Policy overriden by force");
                    return Ok((true, "overriden by force".to_string()));
                }
            }
        }
        if !opts.strict {
            return Ok((false, reason));
        }
        let mut msg = format!("policy violation ({name})");
        if !reason.is_empty() {
            msg.push_str(": ");
            msg.push_str(&reason);
        }
        if self.verbose {
            msg.push_str(&format!(" [rule: {last_rule}]"));
        }
        Err(Error::ActionNotAllowed(msg))
    }
}

/// Options of a policy check (upstream's `check_policy` arguments).
#[derive(Debug, Clone, Copy)]
pub struct CheckOpts<'a> {
    /// The result when no rule matches (upstream's default: `deny`).
    pub default: &'a str,
    /// A refusal is an `ActionNotAllowed` error rather than `(false, reason)`.
    pub strict: bool,
    /// An admin (the data's `user_id`, else the caller) passes anyway.
    pub force: bool,
}

impl Default for CheckOpts<'_> {
    fn default() -> Self {
        CheckOpts {
            default: "deny",
            strict: false,
            force: false,
        }
    }
}

/// The hub's policies, with facts read from the hub's database.
pub struct PolicyView<'a>(&'a Hub);

impl Hub {
    /// The configured policies (see the module docs).
    pub fn policy(&self) -> PolicyView<'_> {
        PolicyView(self)
    }
}

impl PolicyView<'_> {
    pub fn policies(&self) -> &Policies {
        &self.0.config().policies
    }

    /// [`Policies::check`] on the pool.
    pub async fn check(
        &self,
        caller: &Caller,
        name: &str,
        data: &Json,
        opts: CheckOpts<'_>,
    ) -> Result<(bool, String)> {
        self.check_in(self.0.db().conn(), caller, name, data, opts)
            .await
    }

    /// [`Policies::check`], reading facts through `conn` (a transaction).
    pub async fn check_in<C: ConnectionTrait + Sync>(
        &self,
        conn: &C,
        caller: &Caller,
        name: &str,
        data: &Json,
        opts: CheckOpts<'_>,
    ) -> Result<(bool, String)> {
        let env = HubEnv::new(conn, caller);
        self.policies().check(&env, name, data, opts).await
    }

    /// Upstream's `assert_policy(name, data, force=force)` (default deny).
    pub async fn assert(
        &self,
        caller: &Caller,
        name: &str,
        data: &Json,
        force: bool,
    ) -> Result<()> {
        self.assert_in(self.0.db().conn(), caller, name, data, force)
            .await
    }

    /// [`PolicyView::assert`], reading facts through `conn` (a transaction).
    pub async fn assert_in<C: ConnectionTrait + Sync>(
        &self,
        conn: &C,
        caller: &Caller,
        name: &str,
        data: &Json,
        force: bool,
    ) -> Result<()> {
        let opts = CheckOpts {
            strict: true,
            force,
            ..CheckOpts::default()
        };
        self.check_in(conn, caller, name, data, opts).await?;
        Ok(())
    }

    /// Upstream's `eval_policy` (the `evalPolicy` call).
    pub async fn eval(&self, caller: &Caller, name: &str, data: &Json) -> Result<Option<String>> {
        let env = HubEnv::new(self.0.db().conn(), caller);
        self.policies().eval(&env, name, data).await
    }
}
