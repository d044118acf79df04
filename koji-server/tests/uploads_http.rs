//! Raw uploads over real HTTP (`POST /kojihub?filename=...` with an
//! `application/octet-stream` body), and the upstream python client's
//! `fastUpload` / `uploadWrapper` / `uploadFile` against our router.

use koji_core::db::Backend;
use koji_core::hub::uploads::hexdigest;
use koji_core::testing::TestHub;
use koji_core::xmlrpc::{self, Response, Value};
use serde_json::{json, Value as Json};
use std::path::{Path, PathBuf};

struct Server {
    url: String,
    topdir: PathBuf,
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
        topdir: th.hub.config().topdir.clone(),
        stop: Some(tx),
        _th: th,
    }
}

fn decode(body: &str) -> Result<Json, (i32, String)> {
    match xmlrpc::parse_response(body.as_bytes()).expect("response parses") {
        Response::Value(v) => Ok(Json::from(v)),
        Response::Fault { code, message } => Err((code, message)),
    }
}

async fn call(url: &str, method: &str, params: Json) -> Result<Json, (i32, String)> {
    let params: Vec<Value> = match params {
        Json::Array(a) => a.into_iter().map(Value::from).collect(),
        _ => vec![],
    };
    let resp = reqwest::Client::new()
        .post(url)
        .header("Content-Type", "text/xml")
        .body(xmlrpc::write_call(method, &params))
        .send()
        .await
        .expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    decode(&resp.text().await.unwrap())
}

struct Session {
    id: i64,
    key: String,
}

async fn login(url: &str) -> Session {
    let info = call(url, "login", json!(["admin", "admin"])).await.unwrap();
    Session {
        id: info["session-id"].as_i64().unwrap(),
        key: info["session-key"].as_str().unwrap().to_string(),
    }
}

/// POSTs `body` as a raw upload with `query`, the session in headers.
async fn upload(
    url: &str,
    query: &str,
    body: Vec<u8>,
    s: Option<(&Session, i64)>,
) -> Result<Json, (i32, String)> {
    let mut req = reqwest::Client::new()
        .post(format!("{url}?{query}"))
        .header("Content-Type", "application/octet-stream")
        .body(body);
    if let Some((s, callnum)) = s {
        req = req
            .header("Koji-Session-Id", s.id.to_string())
            .header("Koji-Session-Key", s.key.clone())
            .header("Koji-Session-Callnum", callnum.to_string());
    }
    let resp = req.send().await.expect("request");
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["content-type"].to_str().unwrap(), "text/xml");
    decode(&resp.text().await.unwrap())
}

#[tokio::test]
async fn raw_upload_over_http() {
    for b in koji_core::testing::backends() {
        // a small request limit: it does not apply to uploads, as upstream
        let srv = start(b, Some(64 * 1024)).await;
        let work = srv.topdir.join("work");

        // anonymous: refused, nothing written
        assert_eq!(
            upload(
                &srv.url,
                "filename=a&filepath=x&fileverify=adler32&offset=0",
                b"x".to_vec(),
                None
            )
            .await,
            Err((1004, "you must be logged-in to upload a file".into()))
        );
        assert!(!work.join("x").exists());

        let s = login(&srv.url).await;
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let r = upload(
            &srv.url,
            "filename=big.rpm&filepath=cli-build%2F1&fileverify=adler32&offset=0",
            big.clone(),
            Some((&s, 1)),
        )
        .await
        .unwrap();
        assert_eq!(
            r,
            json!({"size": 300_000, "fileverify": "adler32", "offset": 0,
                   "hexdigest": hexdigest("adler32", &big).unwrap()})
        );
        assert_eq!(
            std::fs::read(work.join("cli-build/1/big.rpm")).unwrap(),
            big
        );

        // a second chunk at its offset
        let r = upload(
            &srv.url,
            "filename=big.rpm&filepath=cli-build%2F1&fileverify=md5&offset=300000",
            b"tail".to_vec(),
            Some((&s, 2)),
        )
        .await
        .unwrap();
        assert_eq!(r["offset"], json!(300_000));
        assert_eq!(r["hexdigest"], json!(hexdigest("md5", b"tail").unwrap()));
        let info = call(&srv.url, "checkUpload", json!(["cli-build/1", "big.rpm"]))
            .await
            .unwrap();
        assert_eq!(info["size"], json!(300_004));

        // the same callnum again: upstream's retry refusal names no method
        assert_eq!(
            upload(
                &srv.url,
                "filename=c&filepath=y&fileverify=adler32",
                b"x".to_vec(),
                Some((&s, 2))
            )
            .await,
            Err((
                1009,
                format!("unable to retry call 2 (method None) for session {}", s.id)
            ))
        );
        // a bad key
        let bad = Session {
            id: s.id,
            key: "1-nope".into(),
        };
        assert_eq!(
            upload(
                &srv.url,
                "filename=c&filepath=y&fileverify=adler32",
                b"x".to_vec(),
                Some((&bad, 9))
            )
            .await,
            Err((1002, "Invalid session or bad credentials".into()))
        );
        // path rules
        assert_eq!(
            upload(
                &srv.url,
                "filename=..%2Fescape&filepath=y&fileverify=adler32",
                b"x".to_vec(),
                Some((&s, 3))
            )
            .await,
            Err((1000, "Invalid upload filename: ../escape".into()))
        );
        assert_eq!(
            upload(
                &srv.url,
                "filename=e&filepath=..%2F..%2Fetc&fileverify=adler32",
                b"x".to_vec(),
                Some((&s, 4))
            )
            .await,
            Err((1000, "Invalid upload directory: ../../etc".into()))
        );
        assert_eq!(
            upload(
                &srv.url,
                "filename=e&filepath=%2Ftmp&fileverify=adler32",
                b"x".to_vec(),
                Some((&s, 5))
            )
            .await,
            Err((1, "<class 'ValueError'>: Invalid path segment: /tmp".into()))
        );
        assert_eq!(
            upload(
                &srv.url,
                "filepath=y&fileverify=adler32",
                b"x".to_vec(),
                Some((&s, 6))
            )
            .await,
            Err((1, "<class 'KeyError'>: 'filename'".into()))
        );
        assert!(!srv.topdir.join("escape").exists());

        // the legacy session in the query string
        let q = format!(
            "filename=q&filepath=legacy&fileverify=adler32&offset=0&session-id={}&session-key={}&callnum=7",
            s.id, s.key
        );
        let r = upload(&srv.url, &q, b"query".to_vec(), None).await.unwrap();
        assert_eq!(r["size"], json!(5));
        assert_eq!(std::fs::read(work.join("legacy/q")).unwrap(), b"query");

        // an ordinary XML-RPC call is still bounded
        let long = "x".repeat(100 * 1024);
        assert_eq!(
            call(&srv.url, "echo", json!([long])).await,
            Err((1000, "Request too long".into()))
        );
    }
}

/// The python of the upstream client's virtualenv, or None (with the
/// reason printed) when it is not installed and this is not CI.
fn client_python() -> Option<PathBuf> {
    let py = match std::env::var_os("KOJI_CLIENT") {
        Some(k) if !k.is_empty() => Path::new(&k).with_file_name("python"),
        _ => Path::new(&std::env::var_os("HOME").unwrap_or_default())
            .join(".cache/koji-rs/venv/bin/python"),
    };
    if py.is_file() {
        return Some(py);
    }
    if std::env::var_os("CI").is_some_and(|v| !v.is_empty()) {
        panic!(
            "the upstream koji client is not installed ({} missing)",
            py.display()
        );
    }
    eprintln!(
        "SKIPPED: the upstream koji client is not installed ({} missing; \
         run scripts/setup-koji-client.sh)",
        py.display()
    );
    None
}

const CLIENT_SCRIPT: &str = r#"
import hashlib, os, sys, koji
url, src, empty = sys.argv[1:4]
s = koji.ClientSession(url, {'user': 'admin', 'password': 'admin',
                             'max_retries': 0, 'retry_interval': 1})
try:
    s.fastUpload(src, 'anon')
except koji.ActionNotAllowed as e:
    print('anon:', e)
assert s.login()
# uploadWrapper: checkUpload answers, so it takes the fast path
s.uploadWrapper(src, 'cli-build/wrapper')
# fastUpload in several chunks, under another name
s.fastUpload(src, 'cli-build/fast', name='renamed.rpm', blocksize=1000)
s.fastUpload(empty, 'cli-build/fast')
# again without overwrite: upstream's fault
try:
    s.fastUpload(src, 'cli-build/fast', name='renamed.rpm')
except koji.GenericError as e:
    print('again:', type(e).__name__, e)
# the legacy session in the query string
s.sinfo['header-auth'] = False
s.fastUpload(src, 'cli-build/legacy', blocksize=4096, overwrite=True)
s.sinfo['header-auth'] = True
# resume: checkUpload says where an interrupted upload stopped
data = open(src, 'rb').read()
r = s.rawUpload(data[:1500], 0, 'cli-build/resume', 'r.rpm')
print('first chunk:', r['size'], r['offset'], r['fileverify'])
info = s.checkUpload('cli-build/resume', 'r.rpm', verify='adler32')
print('check:', info['size'], info['sumlength'],
      info['hexdigest'] == koji.util.adler32_constructor(data[:1500]).hexdigest())
r = s.rawUpload(data[info['size']:], info['size'], 'cli-build/resume', 'r.rpm')
print('rest:', r['size'], r['offset'])
# the legacy base64 upload, as uploadWrapper does against old hubs
size, ofs, blk = len(data), 0, 2048
whole = hashlib.sha256()
while True:
    chunk = data[ofs:ofs + blk]
    whole.update(chunk)
    if not chunk:
        ok = s.uploadFile('cli-build/old', 'old.rpm', ofs, ('sha256', whole.hexdigest()), -1, '')
        print('final:', ok)
        break
    ok = s.uploadFile('cli-build/old', 'old.rpm', len(chunk),
                      ('sha256', hashlib.sha256(chunk).hexdigest()), ofs,
                      koji.util.base64encode(chunk))
    assert ok, ofs
    ofs += len(chunk)
try:
    s.uploadFile('../x', 'x', 1, None, 0, 'eA==')
except koji.GenericError as e:
    print('confined:', e)
print('done')
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_python_client_uploads() {
    let Some(py) = client_python() else { return };
    for b in koji_core::testing::backends() {
        let srv = start(b, None).await;
        let tmp = tempfile::tempdir().unwrap();
        let src = tmp.path().join("foo-1.0-1.noarch.rpm");
        let data: Vec<u8> = (0..10_000u32).map(|i| (i * 7 % 256) as u8).collect();
        std::fs::write(&src, &data).unwrap();
        let empty = tmp.path().join("empty.log");
        std::fs::write(&empty, b"").unwrap();
        let out = tokio::process::Command::new(&py)
            .env_clear()
            .env("HOME", tmp.path())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("LANG", "C.UTF-8")
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .arg("-c")
            .arg(CLIENT_SCRIPT)
            .arg(&srv.url)
            .arg(&src)
            .arg(&empty)
            .output()
            .await
            .expect("run the client's python");
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "python failed\n{stdout}\n{stderr}");
        let work = srv.topdir.join("work");
        let expected = format!(
            "anon: You must be logged in to upload files\n\
             again: GenericError upload path exists: {}/cli-build/fast/renamed.rpm\n\
             first chunk: 1500 0 adler32\n\
             check: 1500 1500 True\n\
             rest: 8500 1500\n\
             final: True\n\
             confined: Invalid upload directory: ../x\n\
             done\n",
            work.display()
        );
        assert_eq!(stdout, expected, "stderr: {stderr}");
        for f in [
            "cli-build/wrapper/foo-1.0-1.noarch.rpm",
            "cli-build/fast/renamed.rpm",
            "cli-build/legacy/foo-1.0-1.noarch.rpm",
            "cli-build/resume/r.rpm",
            "cli-build/old/old.rpm",
        ] {
            assert_eq!(std::fs::read(work.join(f)).unwrap(), data, "{f}");
        }
        assert_eq!(
            std::fs::read(work.join("cli-build/fast/empty.log")).unwrap(),
            b""
        );
        assert!(!work.join("anon").exists());
    }
}
