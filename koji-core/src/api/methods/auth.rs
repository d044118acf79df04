use super::method;
use crate::api::{ok, Registry, Spec};
use crate::error::Error;
use serde_json::{json, Value as Json};
use std::sync::OnceLock;

/// The parameters `login(*args, **opts)` really takes.
fn login_spec() -> &'static Spec {
    static S: OnceLock<Spec> = OnceLock::new();
    S.get_or_init(|| {
        Spec::parse("login(user, password, opts=None, renew=False, exclusive=False)")
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

fn ssl_login_spec() -> &'static Spec {
    static S: OnceLock<Spec> = OnceLock::new();
    S.get_or_init(|| {
        Spec::parse("sslLogin(proxyuser=None, proxyauthtype=None, renew=False, exclusive=None)")
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

fn exclusive_spec() -> &'static Spec {
    static S: OnceLock<Spec> = OnceLock::new();
    S.get_or_init(|| Spec::parse("exclusiveSession(force=False)").unwrap_or_else(|e| panic!("{e}")))
}

fn restar(a: &crate::api::Args) -> Vec<Json> {
    let mut v = a.varargs.clone();
    if !a.kwargs.is_empty() {
        let mut kw = a.kwargs.clone();
        kw.insert("__starstar".into(), json!(true));
        v.push(Json::Object(kw));
    }
    v
}

pub(super) fn register(r: &mut Registry) {
    method!(r, "login(*args, **opts)", "", |cx, a| {
        let b = login_spec().bind(restar(&a))?;
        let user = match b.raw("user") {
            Json::String(s) => s.clone(),
            _ => return Err(Error::Auth("invalid username or password".into())),
        };
        let password = match b.raw("password") {
            Json::String(s) => s.clone(),
            _ => return Err(Error::Auth("invalid username or password".into())),
        };
        ok(cx
            .hub
            .auth()
            .login(
                &cx.caller,
                &user,
                &password,
                b.flag("renew"),
                b.flag("exclusive"),
            )
            .await?)
    });
    method!(r, "sslLogin(*args, **opts)", "", |cx, a| {
        let b = ssl_login_spec().bind(restar(&a))?;
        let proxyuser = match b.raw("proxyuser") {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            other => return Err(Error::param(format!("proxyuser must be a string: {other}"))),
        };
        let proxyauthtype =
            match b.raw("proxyauthtype") {
                Json::Null => None,
                v => Some(v.as_i64().ok_or_else(|| {
                    Error::param(format!("proxyauthtype must be an integer: {v}"))
                })?),
            };
        ok(cx
            .hub
            .auth()
            .ssl_login(
                &cx.caller,
                proxyuser.as_deref(),
                proxyauthtype,
                b.flag("exclusive"),
            )
            .await?)
    });
    method!(r, "logout(session_id=None)", "", |cx, a| {
        cx.hub
            .auth()
            .logout(&cx.caller, a.opt_int("session_id")?)
            .await?;
        ok(Json::Null)
    });
    method!(r, "logoutChild(session_id)", "", |cx, a| {
        let id = a.opt_int("session_id")?.unwrap_or_default();
        cx.hub.auth().logout_child(&cx.caller, id).await?;
        ok(Json::Null)
    });
    method!(r, "subsession()", "", |cx, a| {
        ok(cx.hub.auth().subsession(&cx.caller).await?)
    });
    method!(r, "exclusiveSession(*args, **opts)", "", |cx, a| {
        let b = exclusive_spec().bind(restar(&a))?;
        cx.hub
            .auth()
            .exclusive_session(&cx.caller, b.flag("force"))
            .await?;
        ok(Json::Null)
    });
    method!(r, "sharedSession()", "", |cx, a| {
        cx.hub.auth().shared_session(&cx.caller).await?;
        ok(Json::Null)
    });
    method!(
        r,
        "getSessionInfo(details=False, user_id=None)",
        "Return session info for current user or all not expired sessions to specific user",
        |cx, a| {
            let user_id = match a.raw("user_id") {
                Json::Null => None,
                info => Some(
                    cx.hub
                        .users()
                        .get(&cx.caller, info, true, false, false)
                        .await?
                        .map(|u| u.id)
                        .unwrap_or_default(),
                ),
            };
            cx.hub
                .auth()
                .session_info(&cx.caller, a.flag("details"), user_id)
                .await
        }
    );
    method!(
        r,
        "showSession()",
        "Return string representation of session for current user",
        |cx, a| {
            ok(match &cx.caller.session {
                Some(s) => format!(
                    "session {}: user {} ({}), authtype {}, callnum {}",
                    s.id,
                    s.user_name,
                    s.user_id,
                    s.authtype,
                    s.callnum.map_or("None".to_string(), |c| c.to_string())
                ),
                None => "session: not logged in".to_string(),
            })
        }
    );
    method!(
        r,
        "getLoggedInUser()",
        "Return information about the currently logged-in user.",
        |cx, a| {
            let Some(s) = &cx.caller.session else {
                return ok(Json::Null);
            };
            let user = cx
                .hub
                .users()
                .get(&cx.caller, &json!(s.user_id), true, true, false)
                .await?;
            let mut v = serde_json::to_value(user)?;
            if let Json::Object(m) = &mut v {
                m.insert("authtype".into(), json!(s.authtype));
                let first = m
                    .get("krb_principals")
                    .and_then(|k| k.as_array())
                    .and_then(|k| k.first())
                    .cloned()
                    .unwrap_or(Json::Null);
                m.insert("krb_principal".into(), first);
            }
            Ok(v)
        }
    );
}
