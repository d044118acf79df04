//! Who is calling: an anonymous client or a logged-in session.

use crate::error::{Error, Result};
use std::collections::BTreeSet;

/// A validated session, with its user's permissions (own and through groups).
#[derive(Debug, Clone)]
pub struct Session {
    pub id: i64,
    pub key: String,
    pub master: Option<i64>,
    pub authtype: i64,
    pub callnum: Option<i64>,
    pub hostip: String,
    pub exclusive: bool,
    /// Set when another session holds this user's exclusive lock.
    pub lockerror: Option<String>,
    pub user_id: i64,
    pub user_name: String,
    pub usertype: i64,
    pub perms: BTreeSet<String>,
    pub start_ts: f64,
    pub update_ts: f64,
    pub renew_ts: Option<f64>,
}

/// The caller of a hub method.
#[derive(Debug, Clone, Default)]
pub struct Caller {
    pub session: Option<Session>,
    /// The client address (for sessions, which are bound to it).
    pub hostip: String,
}

impl Caller {
    pub fn anonymous(hostip: impl Into<String>) -> Caller {
        Caller {
            session: None,
            hostip: hostip.into(),
        }
    }

    /// A caller acting as a user without a session of its own: a task's
    /// owner (whose permissions and policies apply to what the task does),
    /// or a host registering itself.
    pub fn acting_as(
        user_id: i64,
        user_name: &str,
        usertype: i64,
        perms: BTreeSet<String>,
    ) -> Caller {
        Caller {
            session: Some(Session {
                id: 0,
                key: String::new(),
                master: None,
                authtype: 0,
                callnum: None,
                hostip: String::new(),
                exclusive: false,
                lockerror: None,
                user_id,
                user_name: user_name.to_string(),
                usertype,
                perms,
                start_ts: 0.0,
                update_ts: 0.0,
                renew_ts: None,
            }),
            hostip: String::new(),
        }
    }

    pub fn logged_in(&self) -> bool {
        self.session.is_some()
    }

    /// The logged-in session, or upstream's "must be logged in" refusal.
    pub fn session(&self) -> Result<&Session> {
        self.session.as_ref().ok_or_else(|| {
            Error::ActionNotAllowed("you must be logged in for this operation".into())
        })
    }

    /// The logged-in user's id (`assertLogin`).
    pub fn user_id(&self) -> Result<i64> {
        Ok(self.session()?.user_id)
    }

    pub fn has_perm(&self, name: &str) -> bool {
        self.session
            .as_ref()
            .is_some_and(|s| s.perms.contains(name))
    }

    /// Upstream's `assertPerm`: `name` or `admin`.
    pub fn assert_perm(&self, name: &str) -> Result<()> {
        if self.has_perm(name) || self.has_perm("admin") {
            return Ok(());
        }
        let who = match &self.session {
            Some(s) => format!(" (logged in as {})", s.user_name),
            None => " (user not logged in)".to_string(),
        };
        Err(Error::ActionNotAllowed(format!(
            "{name} permission required{who}"
        )))
    }
}
