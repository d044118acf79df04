//! Sessions and logins, with upstream's rules: sessions bound to the client
//! address, subsessions, exclusive sessions, call-number replay protection,
//! renewal timeout. Passwords are stored as argon2 hashes; a plain-text
//! password left by an upstream database still logs in once and is rehashed.

use super::{Caller, Hub, Session};
use crate::db::{exec, fetch_all, fetch_opt, RowExt};
use crate::error::{Error, Result};
use crate::model::authtype;
use crate::params;
use argon2::password_hash::{rand_core::OsRng, PasswordHash, SaltString};
use argon2::{Argon2, PasswordHasher, PasswordVerifier};
use rand::Rng;
use serde::Serialize;
use std::collections::BTreeSet;

/// Methods that may repeat the last call number (upstream's `RetryWhitelist`).
const RETRY_ALLOWED: &[&str] = &[
    "host.taskWait",
    "host.taskUnwait",
    "host.taskSetWait",
    "host.updateHost",
    "host.setBuildRootState",
    "repoExpire",
    "repoDelete",
    "repoProblem",
];

/// `hub.conf`'s options for certificate logins.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `DNUsernameComponent`: the subject attribute holding the user name.
    pub dn_username_component: String,
    /// `ProxyDNs`: `|`-separated subjects allowed to log in other users.
    pub proxy_dns: String,
    /// `LoginCreatesUser`: an unknown user logging in is created.
    pub login_creates_user: bool,
    /// `AllowProxyAuthType`: a proxy may name another auth type.
    pub allow_proxy_auth_type: bool,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            dn_username_component: "CN".into(),
            proxy_dns: String::new(),
            login_creates_user: true,
            allow_proxy_auth_type: false,
        }
    }
}

/// What `login` answers.
#[derive(Debug, Clone, Serialize)]
pub struct LoginInfo {
    #[serde(rename = "session-id")]
    pub session_id: i64,
    #[serde(rename = "session-key")]
    pub session_key: String,
    #[serde(rename = "header-auth")]
    pub header_auth: bool,
}

/// Session credentials presented with a call.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    pub session_id: i64,
    pub session_key: String,
    pub callnum: Option<i64>,
}

pub struct Auth<'a>(pub(super) &'a Hub);

/// Hashes a password for storage in `users.password`.
pub fn hash_password(password: &str) -> Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| Error::Generic(format!("cannot hash password: {e}")))
}

enum Check {
    Ok,
    /// Plain-text match from an upstream database: rehash it.
    OkRehash,
    Bad,
}

fn check_password(stored: &str, given: &str) -> Check {
    if stored.starts_with("$argon2") {
        match PasswordHash::new(stored) {
            Ok(h)
                if Argon2::default()
                    .verify_password(given.as_bytes(), &h)
                    .is_ok() =>
            {
                Check::Ok
            }
            _ => Check::Bad,
        }
    } else if !stored.is_empty() && constant_time_eq(stored.as_bytes(), given.as_bytes()) {
        Check::OkRehash
    } else {
        Check::Bad
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn new_key(user_id: i64) -> String {
    const ALNUM: &[u8] = b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    let mut rng = rand::thread_rng();
    let s: String = (0..19)
        .map(|_| ALNUM[rng.gen_range(0..ALNUM.len())] as char)
        .collect();
    format!("{user_id}-{s}")
}

impl Auth<'_> {
    /// Validates the credentials of a call to `method` and returns its caller.
    /// An expired session is anonymous for `login`, refused otherwise.
    pub async fn authenticate(
        &self,
        creds: &Credentials,
        hostip: &str,
        method: &str,
    ) -> Result<Caller> {
        let db = self.0.db().conn();
        let row = fetch_opt(
            db,
            "SELECT user_id, expired, master, authtype, callnum, exclusive, \
             start_time, update_time, renew_time FROM sessions \
             WHERE id = ? AND key = ? AND hostip = ? AND closed = FALSE",
            params![
                creds.session_id,
                creds.session_key.clone(),
                hostip.to_string()
            ],
        )
        .await?
        .ok_or_else(|| Error::Auth("Invalid session or bad credentials".into()))?;
        let mut expired = row.boolean("expired")?;
        let start_ts = row.ts("start_time")?.unwrap_or(0.0);
        let renew_ts = row.ts("renew_time")?;
        let timeout = self.0.config().session_renewal_timeout;
        if !expired && timeout != 0 {
            let cutoff = renew_ts.unwrap_or(start_ts) + (timeout * 60) as f64;
            if now_ts() > cutoff {
                expired = true;
                exec(
                    db,
                    "UPDATE sessions SET expired = TRUE WHERE id = ? OR master = ?",
                    params![creds.session_id, creds.session_id],
                )
                .await?;
            }
        }
        if expired && method != "login" && method != "sslLogin" {
            return Err(Error::AuthExpired(format!(
                "session \"{}\" has expired",
                creds.session_id
            )));
        }
        if let (Some(callnum), Some(last)) = (creds.callnum, row.opt_int("callnum")?) {
            if last > callnum {
                return Err(Error::Sequence(format!(
                    "{last} > {callnum} (session {})",
                    creds.session_id
                )));
            }
            if last == callnum && !RETRY_ALLOWED.contains(&method) {
                return Err(Error::Retry(format!(
                    "unable to retry call {callnum} (method {method}) for session {}",
                    creds.session_id
                )));
            }
        }
        if expired {
            return Ok(Caller::anonymous(hostip));
        }
        let user_id = row.int("user_id")?;
        let master = row.opt_int("master")?;
        let user = fetch_opt(
            db,
            "SELECT name, status, usertype FROM users WHERE id = ?",
            params![user_id],
        )
        .await?
        .ok_or_else(|| Error::Auth(format!("invalid user_id: {user_id}")))?;
        let user_name = user.string("name")?;
        if user.int("status")? != 0 {
            return Err(Error::Auth(format!(
                "logins by {user_name} are not allowed"
            )));
        }
        let mut exclusive = row.boolean("exclusive")?;
        let mut lockerror = None;
        if !exclusive {
            let excl = fetch_opt(
                db,
                "SELECT id FROM sessions WHERE user_id = ? AND exclusive = TRUE AND closed = FALSE",
                params![user_id],
            )
            .await?;
            if let Some(excl) = excl {
                if Some(excl.int("id")?) == master {
                    exclusive = true;
                } else {
                    lockerror = Some("User locked by another session".to_string());
                }
            }
        }
        exec(
            db,
            "UPDATE sessions SET update_time = ?, callnum = COALESCE(?, callnum) WHERE id = ?",
            params![chrono::Utc::now(), creds.callnum, creds.session_id],
        )
        .await?;
        let perms = user_perm_names(self.0, user_id).await?;
        Ok(Caller {
            hostip: hostip.to_string(),
            session: Some(Session {
                id: creds.session_id,
                key: creds.session_key.clone(),
                master,
                authtype: row.opt_int("authtype")?.unwrap_or(authtype::NORMAL),
                callnum: creds.callnum,
                hostip: hostip.to_string(),
                exclusive,
                lockerror,
                user_id,
                user_name,
                usertype: user.int("usertype")?,
                perms,
                start_ts,
                update_ts: now_ts(),
                renew_ts,
            }),
            tls: None,
        })
    }

    /// Upstream's check of an exclusive-session lock, made by the dispatcher
    /// for every method but `exclusiveSession`, `login` and `logout`.
    pub fn enforce_lock(caller: &Caller, method: &str) -> Result<()> {
        if let Some(err) = caller.session.as_ref().and_then(|s| s.lockerror.clone()) {
            if !matches!(method, "exclusiveSession" | "login" | "logout") {
                return Err(Error::AuthLock(err));
            }
        }
        Ok(())
    }

    /// `login(user, password, opts=None, renew=False, exclusive=False)`.
    pub async fn login(
        &self,
        caller: &Caller,
        user: &str,
        password: &str,
        renew: bool,
        exclusive: bool,
    ) -> Result<LoginInfo> {
        if password.is_empty() {
            return Err(Error::Auth("invalid username or password".into()));
        }
        if caller.logged_in() && !renew {
            return Err(Error::Auth("Already logged in".into()));
        }
        let db = self.0.db().conn();
        let row = fetch_opt(
            db,
            "SELECT id, password, status FROM users WHERE name = ?",
            params![user.to_string()],
        )
        .await?;
        let bad = || Error::Auth("invalid username or password".into());
        let row = row.ok_or_else(bad)?;
        let user_id = row.int("id")?;
        let stored = row.opt_string("password")?.unwrap_or_default();
        let check = {
            let (stored, given) = (stored.clone(), password.to_string());
            tokio::task::spawn_blocking(move || check_password(&stored, &given))
                .await
                .map_err(|e| Error::Generic(e.to_string()))?
        };
        match check {
            Check::Bad => return Err(bad()),
            Check::OkRehash => {
                let hashed = hash_password(password)?;
                exec(
                    db,
                    "UPDATE users SET password = ? WHERE id = ?",
                    params![hashed, user_id],
                )
                .await?;
            }
            Check::Ok => {}
        }
        if row.int("status")? != 0 {
            return Err(Error::Auth(format!("logins by {user} are not allowed")));
        }
        let info = self
            .create_session(user_id, &caller.hostip, authtype::NORMAL, None)
            .await?;
        if exclusive {
            self.make_exclusive(user_id, info.session_id, None, false)
                .await?;
        }
        Ok(info)
    }

    /// `sslLogin(proxyuser=None, proxyauthtype=None, renew=False,
    /// exclusive=None)`: logs in the user a verified client certificate
    /// names (its `DNUsernameComponent`, CN by default), creating the user
    /// when `LoginCreatesUser` is on. A certificate whose subject is one of
    /// `ProxyDNs` may log in `proxyuser` instead (e.g. a web front end).
    pub async fn ssl_login(
        &self,
        caller: &Caller,
        proxyuser: Option<&str>,
        proxyauthtype: Option<i64>,
        exclusive: bool,
    ) -> Result<LoginInfo> {
        if caller.logged_in() {
            return Err(Error::Auth("Already logged in".into()));
        }
        let cfg = &self.0.config().auth;
        let cert = match caller.tls.as_deref() {
            Some(super::caller::ClientTls { cert: Some(c) }) => c,
            // mod_ssl's SSL_CLIENT_VERIFY: NONE without a certificate,
            // unset without TLS
            Some(_) => return Err(Error::Auth("could not verify client: NONE".into())),
            None => return Err(Error::Auth("could not verify client: None".into())),
        };
        let component = &cfg.dn_username_component;
        let mut username = cert
            .component(component)
            .filter(|u| !u.is_empty())
            .ok_or_else(|| {
                Error::Auth(format!(
                    "unable to get user information ({component}) from client certificate"
                ))
            })?
            .to_string();
        let mut authtype = authtype::SSL;
        if let Some(proxy) = proxyuser.filter(|p| !p.is_empty()) {
            let client_dn = cert.dn();
            let legacy = cert.legacy_dn();
            let allowed = cfg
                .proxy_dns
                .split('|')
                .map(str::trim)
                .any(|dn| dn == client_dn || dn == legacy);
            if !allowed {
                return Err(Error::Auth(format!(
                    "{client_dn} is not authorized to login other users"
                )));
            }
            username = proxy.to_string();
            if let Some(t) = proxyauthtype {
                if !cfg.allow_proxy_auth_type && t != authtype {
                    return Err(Error::Auth(
                        "Proxy must use same auth mechanism as hub (behaviour can be \
                         overriden via AllowProxyAuthType hub option)"
                            .into(),
                    ));
                }
                if t != authtype::GSSAPI && t != authtype::SSL {
                    return Err(Error::Auth(format!(
                        "Proxied authtype {t} is not valid for sslLogin"
                    )));
                }
                authtype = t;
            }
        }
        let db = self.0.db().conn();
        let row = fetch_opt(
            db,
            "SELECT id, status FROM users WHERE name = ?",
            params![username.clone()],
        )
        .await?;
        let (user_id, status) = match row {
            Some(r) => (r.int("id")?, r.int("status")?),
            None if cfg.login_creates_user => {
                let id = super::Users::create_user_in(
                    db,
                    &username,
                    crate::model::UserType::Normal as i64,
                    0,
                    None,
                )
                .await?;
                (id, 0)
            }
            None => return Err(Error::Auth(format!("Unknown user: {username}"))),
        };
        if status != 0 {
            return Err(Error::Auth(format!("logins by {username} are not allowed")));
        }
        let info = self
            .create_session(user_id, &caller.hostip, authtype, None)
            .await?;
        if exclusive {
            self.make_exclusive(user_id, info.session_id, None, false)
                .await?;
        }
        Ok(info)
    }

    /// Logs `user` in from `hostip` and answers the session's [`Caller`],
    /// as a client's next call would see it (for in-process users of the
    /// hub: tests, benchmarks, tools embedding koji-core).
    pub async fn login_caller(&self, user: &str, password: &str, hostip: &str) -> Result<Caller> {
        let info = self
            .login(&Caller::anonymous(hostip), user, password, false, false)
            .await?;
        self.authenticate(
            &Credentials {
                session_id: info.session_id,
                session_key: info.session_key,
                callnum: None,
            },
            hostip,
            "login",
        )
        .await
    }

    async fn create_session(
        &self,
        user_id: i64,
        hostip: &str,
        authtype: i64,
        master: Option<i64>,
    ) -> Result<LoginInfo> {
        let key = new_key(user_id);
        let now = chrono::Utc::now();
        let row = crate::db::fetch_one(
            self.0.db().conn(),
            "INSERT INTO sessions (user_id, key, hostip, authtype, master, expired, closed, \
             start_time, update_time) VALUES (?, ?, ?, ?, ?, FALSE, FALSE, ?, ?) RETURNING id",
            params![
                user_id,
                key.clone(),
                hostip.to_string(),
                authtype,
                master,
                now,
                now
            ],
        )
        .await?;
        Ok(LoginInfo {
            session_id: row.int("id")?,
            session_key: key,
            header_auth: true,
        })
    }

    /// `logout(session_id=None)`: closes this session (and its subsessions),
    /// or another one of the caller's (any, for admins).
    pub async fn logout(&self, caller: &Caller, session_id: Option<i64>) -> Result<()> {
        let s = caller
            .session
            .as_ref()
            .ok_or_else(|| Error::Auth("Not logged in".into()))?;
        let db = self.0.db().conn();
        let target = match session_id {
            Some(id) if id != 0 => {
                if !caller.has_perm("admin") {
                    let own = fetch_opt(
                        db,
                        "SELECT id FROM sessions WHERE user_id = ? AND id = ?",
                        params![s.user_id, id],
                    )
                    .await?;
                    if own.is_none() {
                        return Err(Error::ActionNotAllowed(
                            "only admins or owner may logout other session".into(),
                        ));
                    }
                }
                id
            }
            _ => s.id,
        };
        exec(
            db,
            "UPDATE sessions SET expired = TRUE, exclusive = NULL, closed = TRUE \
             WHERE id = ? OR master = ?",
            params![target, target],
        )
        .await?;
        Ok(())
    }

    /// `logoutChild(session_id)`: closes one subsession of this session.
    pub async fn logout_child(&self, caller: &Caller, session_id: i64) -> Result<()> {
        let s = caller
            .session
            .as_ref()
            .ok_or_else(|| Error::Auth("Not logged in".into()))?;
        exec(
            self.0.db().conn(),
            "UPDATE sessions SET expired = TRUE, exclusive = NULL, closed = TRUE \
             WHERE id = ? AND master = ?",
            params![session_id, s.id],
        )
        .await?;
        Ok(())
    }

    /// `subsession()`: a new session under the caller's top session.
    pub async fn subsession(&self, caller: &Caller) -> Result<LoginInfo> {
        let s = caller
            .session
            .as_ref()
            .ok_or_else(|| Error::Auth("Not logged in".into()))?;
        let master = s.master.unwrap_or(s.id);
        self.create_session(s.user_id, &s.hostip, s.authtype, Some(master))
            .await
    }

    /// `exclusiveSession(force=False)`.
    pub async fn exclusive_session(&self, caller: &Caller, force: bool) -> Result<()> {
        let s = caller
            .session
            .as_ref()
            .ok_or_else(|| Error::Auth("Not logged in".into()))?;
        if s.exclusive && s.master.is_none() {
            return Err(Error::Generic("session is already exclusive".into()));
        }
        self.make_exclusive(s.user_id, s.id, s.master, force).await
    }

    async fn make_exclusive(
        &self,
        user_id: i64,
        session_id: i64,
        master: Option<i64>,
        force: bool,
    ) -> Result<()> {
        if master.is_some() {
            return Err(Error::Generic("subsessions cannot become exclusive".into()));
        }
        let tx = self.0.db().begin().await?;
        let other = fetch_opt(
            &*tx,
            "SELECT id FROM sessions WHERE user_id = ? AND closed = FALSE AND exclusive = TRUE",
            params![user_id],
        )
        .await?;
        if let Some(other) = other {
            if !force {
                return Err(Error::AuthLock("Cannot get exclusive session".into()));
            }
            exec(
                &*tx,
                "UPDATE sessions SET expired = TRUE, exclusive = NULL, closed = TRUE WHERE id = ?",
                params![other.int("id")?],
            )
            .await?;
        }
        exec(
            &*tx,
            "UPDATE sessions SET exclusive = TRUE WHERE id = ?",
            params![session_id],
        )
        .await?;
        tx.commit().await
    }

    /// `sharedSession()`: drops exclusive mode.
    pub async fn shared_session(&self, caller: &Caller) -> Result<()> {
        let s = caller
            .session
            .as_ref()
            .ok_or_else(|| Error::Auth("Not logged in".into()))?;
        exec(
            self.0.db().conn(),
            "UPDATE sessions SET exclusive = NULL WHERE id = ?",
            params![s.id],
        )
        .await?;
        Ok(())
    }

    /// `getSessionInfo(details=False, user_id=None)`.
    pub async fn session_info(
        &self,
        caller: &Caller,
        details: bool,
        user_id: Option<i64>,
    ) -> Result<serde_json::Value> {
        let Some(s) = caller.session.as_ref() else {
            return Ok(serde_json::Value::Null);
        };
        let mut sql = String::from(
            "SELECT id, hostip, user_id, expired, master, authtype, callnum, start_time, \
             update_time, renew_time, exclusive FROM sessions WHERE expired = FALSE",
        );
        let mut p = vec![];
        let many = user_id.is_some();
        if let Some(uid) = user_id {
            if !caller.has_perm("admin") && uid != s.user_id {
                return Err(Error::ActionNotAllowed(
                    "only admins or owners may see all active sessions".into(),
                ));
            }
            sql.push_str(" AND user_id = ? ORDER BY id");
            p.push(uid.into());
        } else {
            sql.push_str(" AND id = ?");
            p.push(s.id.into());
        }
        let rows = fetch_all(self.0.db().conn(), &sql, p).await?;
        let mut out = vec![];
        for r in rows {
            let mut m = serde_json::Map::new();
            m.insert("user_id".into(), r.int("user_id")?.into());
            m.insert("expired".into(), r.boolean("expired")?.into());
            m.insert("master".into(), r.opt_int("master")?.into());
            m.insert("authtype".into(), r.opt_int("authtype")?.into());
            m.insert("callnum".into(), r.opt_int("callnum")?.into());
            for (col, ts) in [
                ("start_time", "start_ts"),
                ("update_time", "update_ts"),
                ("renew_time", "renew_ts"),
            ] {
                let t = r.ts(col)?;
                m.insert(col.into(), t.map(crate::util::format_time).into());
                m.insert(ts.into(), t.into());
            }
            m.insert(
                "exclusive".into(),
                r.opt_bool("exclusive")?.filter(|b| *b).into(),
            );
            if details {
                m.insert("hostip".into(), r.opt_string("hostip")?.into());
                m.insert("id".into(), r.int("id")?.into());
            }
            out.push(serde_json::Value::Object(m));
        }
        Ok(if many {
            serde_json::Value::Array(out)
        } else {
            out.pop().unwrap_or(serde_json::Value::Null)
        })
    }

    /// Sets a user's password (hashed); the operator's tool, not an API call.
    pub async fn set_password(&self, user: &str, password: &str) -> Result<()> {
        let hashed = hash_password(password)?;
        let n = exec(
            self.0.db().conn(),
            "UPDATE users SET password = ? WHERE name = ?",
            params![hashed, user.to_string()],
        )
        .await?;
        if n == 0 {
            return Err(Error::Generic(format!("No such user: {user}")));
        }
        Ok(())
    }
}

/// Names of the permissions a user holds, directly or through its groups.
pub(crate) async fn user_perm_names(hub: &Hub, user_id: i64) -> Result<BTreeSet<String>> {
    let rows = fetch_all(
        hub.db().conn(),
        "SELECT DISTINCT p.name FROM user_perms up JOIN permissions p ON p.id = up.perm_id \
         WHERE up.active = TRUE AND (up.user_id = ? OR up.user_id IN \
         (SELECT group_id FROM user_groups WHERE user_id = ? AND active = TRUE))",
        params![user_id, user_id],
    )
    .await?;
    rows.iter().map(|r| r.string("name")).collect()
}

pub(crate) fn now_ts() -> f64 {
    chrono::Utc::now().timestamp_micros() as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify_and_plain_rows_ask_for_rehash() {
        let h = hash_password("s3cret").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(matches!(check_password(&h, "s3cret"), Check::Ok));
        assert!(matches!(check_password(&h, "wrong"), Check::Bad));
        assert!(matches!(check_password("plain", "plain"), Check::OkRehash));
        assert!(matches!(check_password("plain", "plainx"), Check::Bad));
        assert!(matches!(check_password("", ""), Check::Bad));
    }

    #[test]
    fn session_keys_start_with_the_user_id() {
        let k = new_key(42);
        assert!(k.starts_with("42-"));
        assert_eq!(k.len(), 3 + 19);
    }
}
