//! `/kojihub` over real HTTP: framing, faults, sessions, multicall.

use koji_core::db::Backend;
use koji_core::testing::TestHub;
use koji_core::xmlrpc::{self, Response, Value};
use serde_json::{json, Value as Json};

struct Server {
    url: String,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    _th: TestHub,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(s) = self.stop.take() {
            let _ = s.send(());
        }
    }
}

async fn start(backend: Backend, max_len: Option<usize>) -> Server {
    let mut th = TestHub::new(backend).await.expect("test hub");
    if let Some(n) = max_len {
        let mut cfg = th.hub.config().clone();
        cfg.max_request_length = n;
        th.hub = koji_core::Hub::new(th.hub.db().clone(), cfg);
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let hub = th.hub.clone();
    tokio::spawn(async move {
        let _ = koji_server::serve(hub, listener, async {
            let _ = rx.await;
        })
        .await;
    });
    Server {
        url: format!("http://{addr}/kojihub"),
        stop: Some(tx),
        _th: th,
    }
}

struct Session {
    id: i64,
    key: String,
}

async fn post(url: &str, body: String, session: Option<(&Session, i64)>) -> (u16, String) {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "text/xml")
        .body(body);
    if let Some((s, callnum)) = session {
        req = req
            .header("Koji-Session-Id", s.id.to_string())
            .header("Koji-Session-Key", s.key.clone())
            .header("Koji-Session-Callnum", callnum.to_string());
    }
    let resp = req.send().await.expect("request");
    let status = resp.status().as_u16();
    (status, resp.text().await.unwrap_or_default())
}

async fn call(
    url: &str,
    method: &str,
    params: Json,
    s: Option<(&Session, i64)>,
) -> Result<Json, (i32, String)> {
    let params: Vec<Value> = match params {
        Json::Array(a) => a.into_iter().map(Value::from).collect(),
        _ => vec![],
    };
    let (status, body) = post(url, xmlrpc::write_call(method, &params), s).await;
    assert_eq!(status, 200, "{body}");
    match xmlrpc::parse_response(body.as_bytes()).expect("response parses") {
        Response::Value(v) => Ok(Json::from(v)),
        Response::Fault { code, message } => Err((code, message)),
    }
}

fn backends() -> Vec<Backend> {
    koji_core::testing::backends()
}

#[tokio::test]
async fn bad_requests_get_faults_or_4xx() {
    for b in backends() {
        let srv = start(b, Some(64 * 1024)).await;
        // GET is not XML-RPC
        let r = reqwest::get(&srv.url).await.unwrap();
        assert_eq!(r.status().as_u16(), 405);
        // malformed XML: a fault, not a crash
        let (st, body) = post(&srv.url, "<methodCall><methodName>hello".into(), None).await;
        assert_eq!(st, 200);
        assert!(
            matches!(
                xmlrpc::parse_response(body.as_bytes()),
                Ok(Response::Fault { code: 1, .. })
            ),
            "{body}"
        );
        // oversized body: upstream's "Request too long"
        let big = format!(
            "<methodCall><methodName>echo</methodName><params><param><value><string>{}</string></value></param></params></methodCall>",
            "x".repeat(100 * 1024)
        );
        let (st, body) = post(&srv.url, big, None).await;
        assert_eq!(st, 200);
        assert_eq!(
            xmlrpc::parse_response(body.as_bytes()).unwrap(),
            Response::Fault {
                code: 1000,
                message: "Request too long".into()
            }
        );
        // unknown method
        assert_eq!(
            call(&srv.url, "noSuchMethod", json!([]), None).await,
            Err((1000, "Invalid method: noSuchMethod".into()))
        );
        // wrong arguments: ParameterError with Python's text
        assert_eq!(
            call(&srv.url, "getEvent", json!([]), None).await,
            Err((
                1019,
                "getEvent() missing 1 required positional argument: 'id'".into()
            ))
        );
        // upstream's debugging calls
        assert_eq!(
            call(&srv.url, "error", json!([]), None).await,
            Err((1000, "test error".into()))
        );
        assert_eq!(
            call(&srv.url, "fault", json!([]), None).await,
            Err((1, "<class 'Exception'>: test exception".into()))
        );
        assert_eq!(
            call(&srv.url, "showOpts", json!([]), None).await,
            Err((
                1004,
                "admin permission required (user not logged in)".into()
            ))
        );
        // the server is still fine
        assert_eq!(
            call(&srv.url, "hello", json!([]), None).await,
            Ok(json!("Hello World"))
        );
    }
}

#[tokio::test]
async fn login_session_headers_callnum_and_logout() {
    for b in backends() {
        let srv = start(b, None).await;
        assert_eq!(
            call(&srv.url, "login", json!(["admin", "wrong"]), None).await,
            Err((1002, "invalid username or password".into()))
        );
        let info = call(&srv.url, "login", json!(["admin", "admin"]), None)
            .await
            .unwrap();
        assert_eq!(info["header-auth"], json!(true));
        let s = Session {
            id: info["session-id"].as_i64().unwrap(),
            key: info["session-key"].as_str().unwrap().to_string(),
        };
        assert!(s.key.starts_with("1-"), "{}", s.key);
        let me = call(&srv.url, "getLoggedInUser", json!([]), Some((&s, 0)))
            .await
            .unwrap();
        assert_eq!(me["name"], json!("admin"));
        assert_eq!(me["authtype"], json!(0));
        assert_eq!(me["krb_principal"], Json::Null);
        // anonymous: no user
        assert_eq!(
            call(&srv.url, "getLoggedInUser", json!([]), None).await,
            Ok(Json::Null)
        );
        // callnum replay, and going backwards
        let e = call(&srv.url, "getPerms", json!([]), Some((&s, 0)))
            .await
            .unwrap_err();
        assert_eq!(
            e,
            (
                1009,
                format!(
                    "unable to retry call 0 (method getPerms) for session {}",
                    s.id
                )
            )
        );
        let perms = call(&srv.url, "getPerms", json!([]), Some((&s, 5)))
            .await
            .unwrap();
        assert_eq!(perms, json!(["admin"]));
        let e = call(&srv.url, "getPerms", json!([]), Some((&s, 3)))
            .await
            .unwrap_err();
        assert_eq!(e, (1008, format!("5 > 3 (session {})", s.id)));
        // a wrong key is refused
        let bad = Session {
            id: s.id,
            key: "1-nope".into(),
        };
        assert_eq!(
            call(&srv.url, "getPerms", json!([]), Some((&bad, 6))).await,
            Err((1002, "Invalid session or bad credentials".into()))
        );
        // subsession, then logout closes both
        let sub = call(&srv.url, "subsession", json!([]), Some((&s, 6)))
            .await
            .unwrap();
        let sub = Session {
            id: sub["session-id"].as_i64().unwrap(),
            key: sub["session-key"].as_str().unwrap().to_string(),
        };
        let info = call(&srv.url, "getSessionInfo", json!([]), Some((&sub, 0)))
            .await
            .unwrap();
        assert_eq!(info["master"], json!(s.id));
        call(&srv.url, "logout", json!([]), Some((&s, 7)))
            .await
            .unwrap();
        assert_eq!(
            call(&srv.url, "getPerms", json!([]), Some((&sub, 1))).await,
            Err((1002, "Invalid session or bad credentials".into()))
        );
    }
}

#[tokio::test]
async fn legacy_query_string_sessions_work() {
    let srv = start(Backend::Sqlite, None).await;
    let info = call(&srv.url, "login", json!(["admin", "admin"]), None)
        .await
        .unwrap();
    let url = format!(
        "{}?session-id={}&session-key={}&callnum=0",
        srv.url,
        info["session-id"],
        info["session-key"].as_str().unwrap()
    );
    assert_eq!(
        call(&url, "getPerms", json!([]), None).await,
        Ok(json!(["admin"]))
    );
}

#[tokio::test]
async fn multicall_reports_each_result_or_fault_in_place() {
    let srv = start(Backend::Sqlite, None).await;
    let calls = json!([[
        {"methodName": "echo", "params": [1, "two", null]},
        {"methodName": "nope", "params": []},
        {"methodName": "getAPIVersion", "params": []},
        {"methodName": "echo", "params": [{"big": 1i64 << 40, "__starstar": false}]},
    ]]);
    for name in ["multiCall", "system.multicall"] {
        let r = call(&srv.url, name, calls.clone(), None).await.unwrap();
        assert_eq!(
            r,
            json!([
                [[1, "two", null]],
                {"faultCode": 1000, "faultString": "Invalid method: nope"},
                [1],
                [[{"big": 1i64 << 40, "__starstar": false}]],
            ])
        );
    }
}

#[tokio::test]
async fn introspection_lists_methods_and_help() {
    let srv = start(Backend::Sqlite, None).await;
    let names = call(&srv.url, "system.listMethods", json!([]), None)
        .await
        .unwrap();
    let names: Vec<&str> = names
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    for m in [
        "hello",
        "login",
        "getUser",
        "multiCall",
        "system.multicall",
        "_listapi",
    ] {
        assert!(names.contains(&m), "{m} missing");
    }
    let help = call(&srv.url, "system.methodHelp", json!(["getEvent"]), None)
        .await
        .unwrap();
    assert!(
        help.as_str()
            .unwrap()
            .starts_with("getEvent(id, strict=True)"),
        "{help}"
    );
    assert_eq!(
        call(&srv.url, "system.methodHelp", json!(["nope"]), None).await,
        Ok(json!(""))
    );
    let api = call(&srv.url, "_listapi", json!([]), None).await.unwrap();
    let ev = api
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["name"] == "getEvent")
        .unwrap();
    assert_eq!(ev["argdesc"], json!("(id, strict=True)"));
    assert_eq!(ev["args"], json!(["id", ["strict", true]]));
}

/// A cached answer goes out gzip-compressed to a client that accepts it
/// (python-requests, hence upstream's client, always does), whole
/// otherwise; both decode to the same document.
#[tokio::test]
async fn cached_answers_are_gzipped_for_clients_that_accept_it() {
    use std::io::Read;
    for backend in backends() {
        let srv = start(backend, None).await;
        let admin = srv._th.admin().await.unwrap();
        for i in 0..40 {
            srv._th
                .call(&admin, "createTag", json!([format!("gzip-tag-{i}")]))
                .await
                .unwrap();
        }
        let body = xmlrpc::write_call("listTags", &[]);
        let get = |encoding: Option<&'static str>| {
            let (url, body) = (srv.url.clone(), body.clone());
            async move {
                let mut req = reqwest::Client::new()
                    .post(url)
                    .header("Content-Type", "text/xml")
                    .body(body);
                if let Some(e) = encoding {
                    req = req.header("Accept-Encoding", e);
                }
                let resp = req.send().await.unwrap();
                let enc = resp
                    .headers()
                    .get("content-encoding")
                    .map(|v| v.to_str().unwrap().to_string());
                (enc, resp.bytes().await.unwrap().to_vec())
            }
        };
        let (enc, plain) = get(None).await;
        assert_eq!(enc, None);
        assert!(
            plain.len() > 1024,
            "big enough to compress: {}",
            plain.len()
        );
        // the first answer for a gzip client is computed; the next is the
        // cached entry's gzip form
        for _ in 0..2 {
            let (enc, zipped) = get(Some("gzip, deflate")).await;
            assert_eq!(enc.as_deref(), Some("gzip"));
            assert!(zipped.len() < plain.len() / 2, "{} bytes", zipped.len());
            let mut out = vec![];
            flate2::read::GzDecoder::new(&zipped[..])
                .read_to_end(&mut out)
                .unwrap();
            assert_eq!(out, plain);
        }
        let (enc, again) = get(Some("gzip;q=0, identity")).await;
        assert_eq!(enc, None);
        assert_eq!(again, plain);
        // a write makes a new generation: the next answer has the new tag
        srv._th
            .call(&admin, "createTag", json!(["gzip-tag-new"]))
            .await
            .unwrap();
        let (_, zipped) = get(Some("gzip")).await;
        let mut out = String::new();
        flate2::read::GzDecoder::new(&zipped[..])
            .read_to_string(&mut out)
            .unwrap();
        assert!(out.contains("gzip-tag-new"));
    }
}
