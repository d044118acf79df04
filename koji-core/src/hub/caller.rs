//! Who is calling: an anonymous client or a logged-in session.

use crate::error::{Error, Result};
use std::collections::BTreeSet;
use std::sync::Arc;

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
    /// The TLS connection the call came on, if any: what `sslLogin`
    /// authenticates with.
    pub tls: Option<Arc<ClientTls>>,
}

/// What the transport learnt of a TLS client (upstream reads the same from
/// mod_ssl's `SSL_CLIENT_*` variables).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientTls {
    /// The client's certificate, when it sent one that chains to a trusted
    /// client CA (`SSL_CLIENT_VERIFY = SUCCESS`); `None` when it sent none.
    pub cert: Option<ClientCert>,
}

/// A verified client certificate's subject.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientCert {
    /// The subject's attributes in certificate order, under their short
    /// names (`C`, `O`, `OU`, `CN`, `emailAddress`...).
    pub subject: Vec<(String, String)>,
}

impl ClientCert {
    /// The first value of attribute `name` (`SSL_CLIENT_S_DN_<name>`).
    pub fn component(&self, name: &str) -> Option<&str> {
        self.subject
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The subject as Apache 2.4's mod_ssl writes `SSL_CLIENT_S_DN`
    /// (RFC 2253: last attribute first, comma-separated, special
    /// characters escaped), e.g. `CN=alice,O=Example,C=US`.
    pub fn dn(&self) -> String {
        self.subject
            .iter()
            .rev()
            .map(|(k, v)| format!("{k}={}", escape_rfc2253(v)))
            .collect::<Vec<_>>()
            .join(",")
    }

    /// The subject in mod_ssl's legacy (OpenSSL one-line) form, e.g.
    /// `/C=US/O=Example/CN=alice`, as older hub.conf `ProxyDNs` list them.
    pub fn legacy_dn(&self) -> String {
        self.subject
            .iter()
            .map(|(k, v)| format!("/{k}={v}"))
            .collect()
    }
}

fn escape_rfc2253(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        let special = matches!(c, ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=')
            || (i == 0 && (c == '#' || c == ' '))
            || (i == last && c == ' ');
        if special {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

impl Caller {
    pub fn anonymous(hostip: impl Into<String>) -> Caller {
        Caller {
            session: None,
            hostip: hostip.into(),
            tls: None,
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
            tls: None,
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

#[cfg(test)]
mod tests {
    use super::ClientCert;

    #[test]
    fn subjects_print_as_mod_ssl_does() {
        let c = ClientCert {
            subject: [("C", "US"), ("O", "Example, Inc."), ("CN", "alice")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        };
        assert_eq!(c.dn(), r"CN=alice,O=Example\, Inc.,C=US");
        assert_eq!(c.legacy_dn(), "/C=US/O=Example, Inc./CN=alice");
        assert_eq!(c.component("CN"), Some("alice"));
        assert_eq!(c.component("OU"), None);
    }
}
