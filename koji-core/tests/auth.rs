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
