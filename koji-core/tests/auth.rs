//! Logins and sessions through the API, on both databases.

use koji_core::db::{exec, fetch_one, RowExt};
use koji_core::hub::auth::Credentials;
use koji_core::testing::{kw, TestHub};
use koji_core::{params, Caller};
use serde_json::json;

#[tokio::test]
async fn plaintext_password_from_upstream_logs_in_once_and_is_rehashed() -> koji_core::Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        th.call(&admin, "createUser", json!(["legacy"])).await?;
        // an upstream database keeps passwords as plain text
        exec(
            th.hub.db().conn(),
            "UPDATE users SET password = ? WHERE name = ?",
            params!["0ld-secret", "legacy"],
        )
        .await?;
        let anon = Caller::anonymous("127.0.0.1");
        let bad = th
            .call(&anon, "login", json!(["legacy", "wrong"]))
            .await
            .unwrap_err();
        assert_eq!(
            (bad.fault_code(), bad.to_string().as_str()),
            (1002, "invalid username or password"),
            "{l}"
        );
        th.login("legacy", "0ld-secret").await?;
        let row = fetch_one(
            th.hub.db().conn(),
            "SELECT password FROM users WHERE name = ?",
            params!["legacy"],
        )
        .await?;
        let stored = row.string("password")?;
        assert!(stored.starts_with("$argon2id$"), "{l}: {stored}");
        th.login("legacy", "0ld-secret").await?;
        assert!(th.login("legacy", "wrong").await.is_err(), "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn blocked_users_and_empty_passwords_cannot_log_in() -> koji_core::Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        th.user("carol", "pw", &[]).await?;
        th.call(&admin, "disableUser", json!(["carol"])).await?;
        let e = th.login("carol", "pw").await.unwrap_err();
        assert_eq!(
            e.to_string(),
            "logins by carol are not allowed",
            "{}",
            th.label()
        );
        let e = th.login("admin", "").await.unwrap_err();
        assert_eq!(e.fault_code(), 1002, "{}", th.label());
    }
    Ok(())
}

async fn session_of(
    th: &TestHub,
    user: &str,
    pw: &str,
    exclusive: bool,
) -> koji_core::Result<Caller> {
    let anon = Caller::anonymous("127.0.0.1");
    let info = th
        .call(
            &anon,
            "login",
            json!([user, pw, kw(json!({"exclusive": exclusive}))]),
        )
        .await?;
    caller_of(th, &info).await
}

#[tokio::test]
async fn exclusive_sessions_lock_out_the_others_until_shared() -> koji_core::Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let first = th.admin().await?;
        let excl = session_of(&th, "admin", "admin", true).await?;
        assert!(excl.session.as_ref().is_some_and(|s| s.exclusive), "{l}");
        // the earlier session is now locked out of ordinary calls
        let again = th
            .hub
            .auth()
            .authenticate(
                &Credentials {
                    session_id: first.session.as_ref().map(|s| s.id).unwrap_or_default(),
                    session_key: first
                        .session
                        .as_ref()
                        .map(|s| s.key.clone())
                        .unwrap_or_default(),
                    callnum: None,
                },
                "127.0.0.1",
                "getPerms",
            )
            .await?;
        let e = th.call(&again, "getPerms", json!([])).await.unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string().as_str()),
            (1006, "User locked by another session"),
            "{l}"
        );
        // a second exclusive login fails, unless forced
        let e = session_of(&th, "admin", "admin", true).await.unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string().as_str()),
            (1006, "Cannot get exclusive session"),
            "{l}"
        );
        let e = th
            .call(&again, "exclusiveSession", json!([]))
            .await
            .unwrap_err();
        assert_eq!(e.fault_code(), 1006, "{l}");
        th.call(
            &again,
            "exclusiveSession",
            json!([kw(json!({"force": true}))]),
        )
        .await?;
        // the forced one holds the lock now (the next call sees it), and the
        // session it took the lock from is closed
        let s = again
            .session
            .as_ref()
            .map(|s| (s.id, s.key.clone()))
            .unwrap_or_default();
        let auth = |id: i64, key: String| {
            let hub = th.hub.clone();
            async move {
                hub.auth()
                    .authenticate(
                        &Credentials {
                            session_id: id,
                            session_key: key,
                            callnum: None,
                        },
                        "127.0.0.1",
                        "getPerms",
                    )
                    .await
            }
        };
        let forced = auth(s.0, s.1.clone()).await?;
        assert!(
            forced
                .session
                .as_ref()
                .is_some_and(|s| s.exclusive && s.lockerror.is_none()),
            "{l}"
        );
        let old = excl
            .session
            .as_ref()
            .map(|s| (s.id, s.key.clone()))
            .unwrap_or_default();
        assert_eq!(
            auth(old.0, old.1).await.unwrap_err().fault_code(),
            1002,
            "{l}"
        );
        th.call(&forced, "sharedSession", json!([])).await?;
        let info = th.call(&forced, "getSessionInfo", json!([])).await?;
        assert_eq!(info["exclusive"], json!(null), "{l}");
    }
    Ok(())
}

/// A caller on a TLS connection whose verified certificate has `subject`.
fn tls_caller(subject: &[(&str, &str)]) -> Caller {
    Caller {
        tls: Some(std::sync::Arc::new(koji_core::ClientTls {
            cert: Some(koji_core::ClientCert {
                subject: subject
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            }),
        })),
        ..Caller::anonymous("127.0.0.1")
    }
}

async fn ssl_session(
    th: &TestHub,
    caller: &Caller,
    args: serde_json::Value,
) -> koji_core::Result<Caller> {
    let info = th.call(caller, "sslLogin", args).await?;
    caller_of(th, &info).await
}

/// The caller a client holding the session of login answer `info` is.
async fn caller_of(th: &TestHub, info: &serde_json::Value) -> koji_core::Result<Caller> {
    th.hub
        .auth()
        .authenticate(
            &Credentials {
                session_id: info["session-id"].as_i64().unwrap_or_default(),
                session_key: info["session-key"].as_str().unwrap_or_default().into(),
                callnum: None,
            },
            "127.0.0.1",
            "getPerms",
        )
        .await
}

#[tokio::test]
async fn ssl_login_takes_the_user_from_a_verified_certificate() -> koji_core::Result<()> {
    for th in koji_core::testing::backends() {
        let th = TestHub::new_with(th, |c| {
            // both of mod_ssl's DN forms are accepted in ProxyDNs
            c.auth.proxy_dns = "/O=Example/CN=oldproxy | CN=kojiweb,O=Example".into();
        })
        .await?;
        let l = th.label();
        let fault = |e: koji_core::Error| (e.fault_code(), e.to_string());

        // no TLS, or TLS without a certificate: mod_ssl's SSL_CLIENT_VERIFY
        let e = th
            .call(&Caller::anonymous("127.0.0.1"), "sslLogin", json!([]))
            .await
            .unwrap_err();
        assert_eq!(
            fault(e),
            (1002, "could not verify client: None".into()),
            "{l}"
        );
        let no_cert = Caller {
            tls: Some(std::sync::Arc::new(koji_core::ClientTls { cert: None })),
            ..Caller::anonymous("127.0.0.1")
        };
        let e = th.call(&no_cert, "sslLogin", json!([])).await.unwrap_err();
        assert_eq!(
            fault(e),
            (1002, "could not verify client: NONE".into()),
            "{l}"
        );
        let e = th
            .call(&tls_caller(&[("O", "Example")]), "sslLogin", json!([]))
            .await
            .unwrap_err();
        assert_eq!(
            fault(e),
            (
                1002,
                "unable to get user information (CN) from client certificate".into()
            ),
            "{l}"
        );

        // an unknown user is created (LoginCreatesUser), with an SSL session
        let alice = tls_caller(&[("O", "Example"), ("CN", "alice")]);
        let s = ssl_session(&th, &alice, json!([])).await?;
        let session = s.session.as_ref().expect("logged in");
        assert_eq!(
            (session.user_name.as_str(), session.authtype),
            ("alice", 2),
            "{l}"
        );
        let user = th.call(&s, "getLoggedInUser", json!([])).await?;
        assert_eq!(user["usertype"], 0, "{l}: {user}");
        let info = th.call(&s, "getSessionInfo", json!([])).await?;
        assert_eq!(info["authtype"], 2, "{l}: {info}");
        // a logged-in caller cannot log in again
        let e = th.call(&s, "sslLogin", json!([])).await.unwrap_err();
        assert_eq!(fault(e), (1002, "Already logged in".into()), "{l}");

        // only a subject in ProxyDNs may log in someone else
        let e = th
            .call(&alice, "sslLogin", json!(["bob"]))
            .await
            .unwrap_err();
        assert_eq!(
            fault(e),
            (
                1002,
                "CN=alice,O=Example is not authorized to login other users".into()
            ),
            "{l}"
        );
        let web = tls_caller(&[("O", "Example"), ("CN", "kojiweb")]);
        let s = ssl_session(&th, &web, json!([kw(json!({"proxyuser": "bob"}))])).await?;
        assert_eq!(s.session.as_ref().unwrap().user_name, "bob", "{l}");
        let old = tls_caller(&[("O", "Example"), ("CN", "oldproxy")]);
        let s = ssl_session(&th, &old, json!(["carl"])).await?;
        assert_eq!(s.session.as_ref().unwrap().user_name, "carl", "{l}");
        // another auth type for the proxied user needs AllowProxyAuthType
        let e = th
            .call(&web, "sslLogin", json!(["bob", 3]))
            .await
            .unwrap_err();
        assert_eq!(
            fault(e),
            (
                1002,
                "Proxy must use same auth mechanism as hub (behaviour can be overriden \
                 via AllowProxyAuthType hub option)"
                    .into()
            ),
            "{l}"
        );

        // a disabled user is refused
        let admin = th.admin().await?;
        th.call(&admin, "disableUser", json!(["alice"])).await?;
        let e = th.call(&alice, "sslLogin", json!([])).await.unwrap_err();
        assert_eq!(
            fault(e),
            (1002, "logins by alice are not allowed".into()),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn ssl_login_options_from_hub_conf() -> koji_core::Result<()> {
    for b in koji_core::testing::backends() {
        let th = TestHub::new_with(b, |c| {
            c.auth.login_creates_user = false;
            c.auth.dn_username_component = "UID".into();
            c.auth.allow_proxy_auth_type = true;
            c.auth.proxy_dns = "UID=web,CN=kojiweb".into();
        })
        .await?;
        let l = th.label();
        let e = th
            .call(
                &tls_caller(&[("CN", "Dana"), ("UID", "dana")]),
                "sslLogin",
                json!([]),
            )
            .await
            .unwrap_err();
        assert_eq!(e.to_string(), "Unknown user: dana", "{l}");
        let admin = th.admin().await?;
        th.call(&admin, "createUser", json!(["dana"])).await?;
        let s = ssl_session(
            &th,
            &tls_caller(&[("CN", "Dana"), ("UID", "dana")]),
            json!([]),
        )
        .await?;
        assert_eq!(s.session.as_ref().unwrap().user_name, "dana", "{l}");
        // AllowProxyAuthType: a GSSAPI user proxied by a certificate
        let web = tls_caller(&[("CN", "kojiweb"), ("UID", "web")]);
        let s = ssl_session(&th, &web, json!(["dana", 3])).await?;
        assert_eq!(s.session.as_ref().unwrap().authtype, 3, "{l}");
        let e = th
            .call(&web, "sslLogin", json!(["dana", 0]))
            .await
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "Proxied authtype 0 is not valid for sslLogin",
            "{l}"
        );
        let o = th
            .call(&admin, "showOpts", json!([kw(json!({"as_string": false}))]))
            .await?;
        assert_eq!(o["DNUsernameComponent"], "UID", "{l}: {o}");
        assert_eq!(o["LoginCreatesUser"], false, "{l}: {o}");
    }
    Ok(())
}
