//! `/kojifiles/`: the content store served read-only over real HTTP.

use koji_core::db::Backend;
use koji_core::testing::TestHub;
use std::path::{Path, PathBuf};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

struct Server {
    addr: std::net::SocketAddr,
    base: String,
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

async fn start() -> Server {
    let th = TestHub::new(Backend::Sqlite).await.expect("test hub");
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
        addr,
        base: format!("http://{addr}/kojifiles"),
        topdir: th.hub.config().topdir.clone(),
        stop: Some(tx),
        _th: th,
    }
}

fn put(top: &Path, rel: &str, data: &[u8]) {
    let p = top.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn hdr(r: &reqwest::Response, name: &str) -> String {
    r.headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default()
}

/// A request written by hand, so the path reaches the server unnormalised.
/// Returns the status code and the whole response text.
async fn raw_get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let req = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes()).await.unwrap();
    let mut out = vec![];
    s.read_to_end(&mut out).await.unwrap();
    let text = String::from_utf8_lossy(&out).into_owned();
    let code = text
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (code, text)
}

const RPM: &[u8] = b"\xed\xab\xee\xdbnot really an rpm, but 48 bytes of it.....";

#[tokio::test]
async fn files_types_and_head() {
    let srv = start().await;
    let top = &srv.topdir;
    put(top, "packages/foo/1.0/1/noarch/foo-1.0-1.noarch.rpm", RPM);
    put(
        top,
        "packages/foo/1.0/1/data/logs/noarch/build.log",
        b"building\n",
    );
    put(
        top,
        "repos/f40-build/3/x86_64/repodata/repomd.xml",
        b"<repomd/>",
    );
    put(
        top,
        "repos/f40-build/3/x86_64/repodata/primary.xml.gz",
        b"\x1f\x8b",
    );
    put(top, "work/tasks/1/1/result.json", b"{}");
    put(top, "work/notes.txt", b"hi");
    let c = client();
    for (rel, ctype, body) in [
        (
            "packages/foo/1.0/1/noarch/foo-1.0-1.noarch.rpm",
            "application/x-rpm",
            RPM,
        ),
        (
            "packages/foo/1.0/1/data/logs/noarch/build.log",
            "text/plain; charset=utf-8",
            &b"building\n"[..],
        ),
        (
            "repos/f40-build/3/x86_64/repodata/repomd.xml",
            "application/xml",
            b"<repomd/>",
        ),
        (
            "repos/f40-build/3/x86_64/repodata/primary.xml.gz",
            "application/x-gzip",
            b"\x1f\x8b",
        ),
        ("work/tasks/1/1/result.json", "application/json", b"{}"),
        ("work/notes.txt", "text/plain; charset=utf-8", b"hi"),
    ] {
        let r = c.get(format!("{}/{rel}", srv.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "{rel}");
        assert_eq!(hdr(&r, "content-type"), ctype, "{rel}");
        assert_eq!(hdr(&r, "content-length"), body.len().to_string(), "{rel}");
        assert_eq!(hdr(&r, "accept-ranges"), "bytes");
        assert_eq!(hdr(&r, "x-content-type-options"), "nosniff");
        assert_eq!(hdr(&r, "content-security-policy"), "sandbox");
        assert!(!hdr(&r, "etag").is_empty() && !hdr(&r, "last-modified").is_empty());
        assert_eq!(&r.bytes().await.unwrap()[..], body, "{rel}");

        let r = c.head(format!("{}/{rel}", srv.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), 200, "HEAD {rel}");
        assert_eq!(
            hdr(&r, "content-length"),
            body.len().to_string(),
            "HEAD {rel}"
        );
        assert_eq!(hdr(&r, "content-type"), ctype);
        assert!(r.bytes().await.unwrap().is_empty());
    }
    // names are percent-decoded
    put(top, "work/a b+c.txt", b"space");
    let r = c
        .get(format!("{}/work/a%20b+c.txt", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.text().await.unwrap(), "space");
    // missing, and not GET/HEAD
    let r = c
        .get(format!("{}/packages/nope", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 404);
    let r = c
        .post(format!("{}/work/notes.txt", srv.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert_eq!(hdr(&r, "allow"), "GET, HEAD");
    let r = c
        .put(format!("{}/work/new.txt", srv.base))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert!(!top.join("work/new.txt").exists());
    let r = c
        .delete(format!("{}/work/notes.txt", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 405);
    assert!(top.join("work/notes.txt").exists());
}

#[tokio::test]
async fn ranges_and_conditionals() {
    let srv = start().await;
    put(&srv.topdir, "packages/f.rpm", b"0123456789");
    let url = format!("{}/packages/f.rpm", srv.base);
    let c = client();
    let get = |range: &'static str| c.get(&url).header("Range", range).send();
    for (range, status, crange, body) in [
        ("bytes=0-3", 206, "bytes 0-3/10", "0123"),
        ("bytes=7-", 206, "bytes 7-9/10", "789"),
        ("bytes=-2", 206, "bytes 8-9/10", "89"),
        ("bytes=5-100", 206, "bytes 5-9/10", "56789"),
        ("bytes=9-9", 206, "bytes 9-9/10", "9"),
        ("bytes=10-", 416, "bytes */10", ""),
        ("bytes=-0", 416, "bytes */10", ""),
        ("bytes=5-2", 200, "", "0123456789"),
        ("bytes=0-1,4-5", 200, "", "0123456789"),
        ("lines=1-2", 200, "", "0123456789"),
    ] {
        let r = get(range).await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{range}");
        assert_eq!(hdr(&r, "content-range"), crange, "{range}");
        if status != 416 {
            assert_eq!(hdr(&r, "content-length"), body.len().to_string(), "{range}");
            assert_eq!(r.text().await.unwrap(), body, "{range}");
        }
    }
    // HEAD with a range
    let r = c
        .head(&url)
        .header("Range", "bytes=2-4")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    assert_eq!(hdr(&r, "content-length"), "3");

    let r = c.get(&url).send().await.unwrap();
    let etag = hdr(&r, "etag");
    let modified = hdr(&r, "last-modified");
    // If-Range: the range only while the file is unchanged
    let r = c
        .get(&url)
        .header("Range", "bytes=0-0")
        .header("If-Range", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    let r = c
        .get(&url)
        .header("Range", "bytes=0-0")
        .header("If-Range", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 206);
    let r = c
        .get(&url)
        .header("Range", "bytes=0-0")
        .header("If-Range", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(r.text().await.unwrap(), "0123456789");
    // not modified
    let r = c
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
    let r = c
        .get(&url)
        .header("If-None-Match", "\"other\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let r = c
        .get(&url)
        .header("If-Modified-Since", &modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 304);
    let r = c
        .get(&url)
        .header("If-Modified-Since", "Mon, 01 Jan 2001 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
}

#[tokio::test]
async fn directories_redirect_then_list() {
    let srv = start().await;
    put(&srv.topdir, "repos/f40/1/x86_64/pkglist", b"");
    put(&srv.topdir, "repos/f40/1/x86_64/a&b<c>.rpm", b"x");
    put(&srv.topdir, "repos/f40/1/x86_64/.hidden", b"");
    std::fs::create_dir_all(srv.topdir.join("repos/f40/1/x86_64/repodata")).unwrap();
    let c = client();
    let r = c
        .get(format!("{}/repos/f40/1/x86_64", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 301);
    assert_eq!(hdr(&r, "location"), "/kojifiles/repos/f40/1/x86_64/");
    let r = c
        .get(format!("{}/repos/f40/1/x86_64/", srv.base))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(hdr(&r, "content-type"), "text/html; charset=utf-8");
    let page = r.text().await.unwrap();
    assert!(
        page.contains("Index of /kojifiles/repos/f40/1/x86_64/"),
        "{page}"
    );
    assert!(page.contains("<a href=\"pkglist\">pkglist</a>"), "{page}");
    assert!(
        page.contains("<a href=\"repodata/\">repodata/</a>"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"a%26b%3Cc%3E.rpm\">a&amp;b&lt;c&gt;.rpm</a>"),
        "{page}"
    );
    assert!(
        page.contains("<a href=\"../\">Parent Directory</a>"),
        "{page}"
    );
    assert!(!page.contains("hidden"), "{page}");
    // the top itself
    let r = c.get(&srv.base).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 301);
    assert_eq!(hdr(&r, "location"), "/kojifiles/");
    let r = c.get(format!("{}/", srv.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("<a href=\"repos/\">repos/</a>"), "{page}");
    assert!(!page.contains("Parent Directory"), "{page}");
    let r = c.head(format!("{}/repos/", srv.base)).send().await.unwrap();
    assert_eq!(r.status().as_u16(), 200);
    assert!(r.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn nothing_outside_the_store() {
    let srv = start().await;
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret"), "secret").unwrap();
    std::fs::create_dir_all(outside.path().join("volroot/packages")).unwrap();
    std::fs::write(outside.path().join("volroot/packages/v.rpm"), "onvolume").unwrap();
    put(&srv.topdir, "work/inside.txt", b"inside");
    let top = &srv.topdir;
    // links out of the store, to a file and to a directory
    std::os::unix::fs::symlink(outside.path().join("secret"), top.join("work/leak")).unwrap();
    std::os::unix::fs::symlink(outside.path(), top.join("work/leakdir")).unwrap();
    std::os::unix::fs::symlink("/", top.join("root")).unwrap();
    // links inside the store, and a volume elsewhere: followed
    std::os::unix::fs::symlink("inside.txt", top.join("work/alias.txt")).unwrap();
    std::fs::create_dir_all(top.join("vol")).unwrap();
    std::os::unix::fs::symlink(outside.path().join("volroot"), top.join("vol/vol1")).unwrap();

    let c = client();
    for (rel, status) in [
        ("work/leak", 404),
        ("work/leakdir/secret", 404),
        ("work/leakdir/", 404),
        ("root/etc/passwd", 404),
        ("work/alias.txt", 200),
        ("vol/vol1/packages/v.rpm", 200),
    ] {
        let r = c.get(format!("{}/{rel}", srv.base)).send().await.unwrap();
        assert_eq!(r.status().as_u16(), status, "{rel}");
        let body = r.text().await.unwrap();
        assert!(
            !body.contains("secret") && !body.contains("root:"),
            "{rel}: {body}"
        );
    }
    // traversal, as sent by a client that does not normalise
    let secret_rel = format!("../../../../../../../..{}/secret", outside.path().display());
    for path in [
        "/kojifiles/../Cargo.toml".to_string(),
        "/kojifiles/work/../../etc/passwd".to_string(),
        format!("/kojifiles/{secret_rel}"),
        "/kojifiles/%2e%2e/%2e%2e/etc/passwd".to_string(),
        "/kojifiles/work/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd".to_string(),
        "/kojifiles/work/..%2f..%2f..%2fetc/passwd".to_string(),
        "/kojifiles/work/inside.txt%00.rpm".to_string(),
        "/kojifiles//etc/passwd".to_string(),
    ] {
        let (code, text) = raw_get(srv.addr, &path).await;
        assert!(code == 404 || code == 400, "{path}: {text}");
        assert!(
            !text.contains("root:") && !text.contains("secret"),
            "{path}: {text}"
        );
    }
    let (code, text) = raw_get(srv.addr, "/kojifiles/work/./inside.txt").await;
    assert_eq!(code, 200, "{text}");
    assert!(text.ends_with("inside"));
}
