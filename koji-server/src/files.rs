//! `/kojifiles/`: the content store (`topdir`), read-only, laid out as
//! upstream's (`packages/`, `repos/`, `work/`, `vol/`, ...): the URL path
//! below `/kojifiles/` is the path below `topdir`.
//!
//! - GET and HEAD only (anything else: 405).
//! - Files: `Content-Length`, `Last-Modified`, `ETag`, a content type by
//!   extension, `Accept-Ranges: bytes`; one byte range per request (206 with
//!   `Content-Range`, 416 when it lies beyond the end; a multi-range request
//!   gets the whole file), `If-Range`, `If-None-Match` and
//!   `If-Modified-Since` (304).
//! - Directories: a request without the trailing slash is redirected (301)
//!   to it; with it, a plain HTML index (names beginning with a dot are not
//!   listed), as upstream's Apache configuration (`Options Indexes`) gives.
//! - Nothing outside the store: `..` (also percent-encoded) and NUL are
//!   404; a symbolic link is followed only when its target lies in `topdir`
//!   or in one of the volumes of `topdir/vol/` (which may live on other
//!   mounts), otherwise 404.
//! - Every answer carries `X-Content-Type-Options: nosniff` and
//!   `Content-Security-Policy: sandbox`: uploaded files share the web UI's
//!   origin and must never run as its pages.

use axum::body::{Body, Bytes};
use axum::extract::{OriginalUri, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::Router;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncSeekExt};

/// The `/kojifiles` service over `topdir` (mount it with `nest_service`).
pub fn router(topdir: PathBuf) -> Router {
    Router::new().fallback(serve).with_state(Arc::new(topdir))
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        text,
    )
        .into_response()
}

fn not_found() -> Response {
    plain(StatusCode::NOT_FOUND, "Not Found\n")
}

/// Adds the headers every answer carries.
fn harden(mut r: Response) -> Response {
    let h = r.headers_mut();
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("sandbox"),
    );
    r
}

async fn serve(
    State(topdir): State<Arc<PathBuf>>,
    method: Method,
    OriginalUri(original): OriginalUri,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    harden(answer(&topdir, &method, &original, &uri, &headers).await)
}

async fn answer(
    topdir: &Path,
    method: &Method,
    original: &Uri,
    uri: &Uri,
    headers: &HeaderMap,
) -> Response {
    if method != Method::GET && method != Method::HEAD {
        let mut r = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed\n");
        r.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return r;
    }
    let Some(rel) = percent_decode(uri.path().as_bytes()) else {
        return plain(StatusCode::BAD_REQUEST, "Bad Request\n");
    };
    let Some(segments) = segments(&rel) else {
        return not_found();
    };
    let mut path = topdir.to_path_buf();
    for s in &segments {
        path.push(OsStr::from_bytes(s));
    }
    let Some(real) = confine(topdir, &path).await else {
        return not_found();
    };
    let meta = match tokio::fs::metadata(&real).await {
        Ok(m) => m,
        Err(_) => return not_found(),
    };
    if meta.is_dir() {
        if !original.path().ends_with('/') {
            let mut location = format!("{}/", original.path());
            if let Some(q) = original.query() {
                location = format!("{location}?{q}");
            }
            return (
                StatusCode::MOVED_PERMANENTLY,
                [(header::LOCATION, location)],
                "Moved Permanently\n",
            )
                .into_response();
        }
        return index(&real, original.path(), method).await;
    }
    if !meta.is_file() {
        return not_found();
    }
    file(&real, &meta, method, headers).await
}

/// Decodes `%XX` escapes; `None` for a malformed one.
fn percent_decode(s: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' {
            let hex = |c: u8| (c as char).to_digit(16);
            let h = hex(*s.get(i + 1)?)?;
            let l = hex(*s.get(i + 2)?)?;
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(s[i]);
            i += 1;
        }
    }
    Some(out)
}

/// The path's segments without empty and `.` ones; `None` when one is
/// `..` or holds a NUL.
fn segments(path: &[u8]) -> Option<Vec<&[u8]>> {
    let mut out = vec![];
    for s in path.split(|b| *b == b'/') {
        match s {
            b"" | b"." => {}
            b".." => return None,
            s if s.contains(&0) => return None,
            s => out.push(s),
        }
    }
    Some(out)
}

/// `path` with every symbolic link resolved, when it lies in `topdir` or
/// one of its volumes.
async fn confine(topdir: &Path, path: &Path) -> Option<PathBuf> {
    let real = tokio::fs::canonicalize(path).await.ok()?;
    let top = tokio::fs::canonicalize(topdir).await.ok()?;
    if real.starts_with(&top) {
        return Some(real);
    }
    // volumes: topdir/vol/NAME, often links to other file systems
    let mut vols = tokio::fs::read_dir(top.join("vol")).await.ok()?;
    while let Ok(Some(v)) = vols.next_entry().await {
        if let Ok(root) = tokio::fs::canonicalize(v.path()).await {
            if root != Path::new("/") && real.starts_with(&root) {
                return Some(real);
            }
        }
    }
    tracing::warn!(path = %path.display(), target = %real.display(), "kojifiles: link out of the store refused");
    None
}

/// The content type of a file, by its name.
pub fn content_type(name: &str) -> &'static str {
    let lower = name.to_ascii_lowercase();
    let ext = lower.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    match ext {
        "rpm" => "application/x-rpm",
        "log" | "txt" | "repo" | "spec" | "cfg" | "conf" | "ini" | "md5" | "sha1" | "sha256"
        | "sha512" | "asc" | "patch" | "diff" | "sh" | "py" | "list" | "ks" => {
            "text/plain; charset=utf-8"
        }
        "xml" | "pom" | "xsl" => "application/xml",
        "json" => "application/json",
        "html" | "htm" => "text/html; charset=utf-8",
        "css" => "text/css",
        "gz" | "tgz" => "application/x-gzip",
        "bz2" => "application/x-bzip2",
        "xz" => "application/x-xz",
        "zst" => "application/zstd",
        "tar" => "application/x-tar",
        "zip" => "application/zip",
        "jar" | "war" | "ear" => "application/java-archive",
        "iso" => "application/x-iso9660-image",
        "qcow2" => "application/x-qemu-disk",
        "sqlite" => "application/vnd.sqlite3",
        "png" => "image/png",
        "svg" => "image/svg+xml",
        _ => "application/octet-stream",
    }
}

/// `"size-mtime"` in hex, quoted (a strong validator).
fn etag(meta: &std::fs::Metadata) -> String {
    format!(
        "\"{:x}-{:x}{:09x}\"",
        meta.len(),
        meta.mtime(),
        meta.mtime_nsec()
    )
}

fn mtime(meta: &std::fs::Metadata) -> SystemTime {
    let secs = u64::try_from(meta.mtime()).unwrap_or(0);
    UNIX_EPOCH + Duration::from_secs(secs)
}

/// What a `Range` header asks of a file of `size` bytes.
#[derive(Debug, PartialEq)]
enum Range {
    /// No (usable) range: the whole file.
    Full,
    /// Bytes `start..=end`.
    Part(u64, u64),
    /// Beyond the end: 416.
    Unsatisfiable,
}

fn parse_range(value: &str, size: u64) -> Range {
    let Some(spec) = value.trim().strip_prefix("bytes=") else {
        return Range::Full;
    };
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Full;
    };
    let num = |s: &str| -> Option<u64> {
        let s = s.trim();
        if s.is_empty() || !s.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        s.parse().ok()
    };
    match (a.trim().is_empty(), num(a), num(b)) {
        // bytes=-N: the last N bytes
        (true, _, Some(n)) => {
            if n == 0 || size == 0 {
                Range::Unsatisfiable
            } else {
                Range::Part(size.saturating_sub(n), size - 1)
            }
        }
        (false, Some(start), end) if b.trim().is_empty() || end.is_some() => {
            if end.is_some_and(|e| e < start) {
                return Range::Full;
            }
            if start >= size {
                return Range::Unsatisfiable;
            }
            let last = end.map_or(size - 1, |e| e.min(size - 1));
            Range::Part(start, last)
        }
        _ => Range::Full,
    }
}

async fn file(
    path: &Path,
    meta: &std::fs::Metadata,
    method: &Method,
    headers: &HeaderMap,
) -> Response {
    let size = meta.len();
    let tag = etag(meta);
    let modified = mtime(meta);
    let last_modified = httpdate::fmt_http_date(modified);
    let h = |name: header::HeaderName| headers.get(name).and_then(|v| v.to_str().ok());
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();

    let mut common = HeaderMap::new();
    let mut put = |k: header::HeaderName, v: &str| {
        if let Ok(v) = HeaderValue::from_str(v) {
            common.insert(k, v);
        }
    };
    put(header::ETAG, &tag);
    put(header::LAST_MODIFIED, &last_modified);
    put(header::ACCEPT_RANGES, "bytes");

    // conditional requests
    let not_modified = match h(header::IF_NONE_MATCH) {
        Some(inm) => inm
            .split(',')
            .map(|t| t.trim().trim_start_matches("W/"))
            .any(|t| t == "*" || t == tag),
        None => h(header::IF_MODIFIED_SINCE)
            .and_then(|v| httpdate::parse_http_date(v).ok())
            .is_some_and(|since| modified <= since),
    };
    if not_modified {
        return (StatusCode::NOT_MODIFIED, common).into_response();
    }

    let mut range = match h(header::RANGE) {
        Some(r) => parse_range(r, size),
        None => Range::Full,
    };
    if let Some(ir) = h(header::IF_RANGE) {
        let ir = ir.trim();
        if ir != tag && ir != last_modified {
            range = Range::Full;
        }
    }
    let (status, start, len) = match range {
        Range::Full => (StatusCode::OK, 0, size),
        Range::Part(a, b) => {
            common.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {a}-{b}/{size}"))
                    .unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            (StatusCode::PARTIAL_CONTENT, a, b - a + 1)
        }
        Range::Unsatisfiable => {
            common.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .unwrap_or(HeaderValue::from_static("bytes */0")),
            );
            let mut r = plain(StatusCode::RANGE_NOT_SATISFIABLE, "Range Not Satisfiable\n");
            r.headers_mut().extend(common);
            return r;
        }
    };
    common.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&name)),
    );
    common.insert(header::CONTENT_LENGTH, HeaderValue::from(len));
    if method == Method::HEAD {
        return (status, common, Body::empty()).into_response();
    }
    let mut f = match tokio::fs::File::open(path).await {
        Ok(f) => f,
        Err(_) => return not_found(),
    };
    if start > 0 && f.seek(std::io::SeekFrom::Start(start)).await.is_err() {
        return plain(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error\n");
    }
    let stream = futures::stream::unfold((f, len), |(mut f, left)| async move {
        if left == 0 {
            return None;
        }
        let want = usize::try_from(left.min(64 * 1024)).unwrap_or(64 * 1024);
        let mut buf = vec![0u8; want];
        match f.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((
                    Ok::<_, std::io::Error>(Bytes::from(buf)),
                    (f, left - n as u64),
                ))
            }
            Err(e) => Some((Err(e), (f, 0))),
        }
    });
    (status, common, Body::from_stream(stream)).into_response()
}

fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes a name for use as a relative link.
fn href(name: &[u8]) -> String {
    let mut out = String::new();
    for &b in name {
        if b.is_ascii_alphanumeric() || b"-._~+,=@".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A plain HTML listing of a directory.
async fn index(dir: &Path, url_path: &str, method: &Method) -> Response {
    let mut rd = match tokio::fs::read_dir(dir).await {
        Ok(rd) => rd,
        Err(_) => return plain(StatusCode::FORBIDDEN, "Forbidden\n"),
    };
    let mut entries: Vec<(Vec<u8>, bool, u64, Option<SystemTime>)> = vec![];
    while let Ok(Some(e)) = rd.next_entry().await {
        let name = e.file_name().as_bytes().to_vec();
        if name.starts_with(b".") {
            continue;
        }
        let meta = tokio::fs::metadata(e.path()).await.ok();
        let is_dir = meta.as_ref().is_some_and(|m| m.is_dir());
        let size = meta.as_ref().map_or(0, |m| m.len());
        let modified = meta.as_ref().map(mtime);
        entries.push((name, is_dir, size, modified));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let shown_path = percent_decode(url_path.as_bytes())
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_else(|| url_path.to_string());
    let title = format!("Index of {}", html_escape(&shown_path));
    let mut page = format!(
        "<!DOCTYPE html>\n<html>\n<head><meta charset=\"utf-8\"><title>{title}</title></head>\n\
         <body>\n<h1>{title}</h1>\n<table>\n<tr><th>Name</th><th>Last modified</th><th>Size</th></tr>\n"
    );
    if url_path.trim_end_matches('/').matches('/').count() > 1 {
        page.push_str(
            "<tr><td><a href=\"../\">Parent Directory</a></td><td></td><td>-</td></tr>\n",
        );
    }
    for (name, is_dir, size, modified) in &entries {
        let shown = String::from_utf8_lossy(name);
        let slash = if *is_dir { "/" } else { "" };
        let when = modified.map(chrono_like).unwrap_or_default();
        let size = if *is_dir {
            "-".to_string()
        } else {
            size.to_string()
        };
        page.push_str(&format!(
            "<tr><td><a href=\"{}{slash}\">{}{slash}</a></td><td>{when}</td><td>{size}</td></tr>\n",
            href(name),
            html_escape(&shown),
        ));
    }
    page.push_str("</table>\n</body>\n</html>\n");
    let mut r = (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
        if method == Method::HEAD {
            Body::empty()
        } else {
            Body::from(page.clone())
        },
    )
        .into_response();
    r.headers_mut()
        .insert(header::CONTENT_LENGTH, HeaderValue::from(page.len()));
    r
}

/// `YYYY-MM-DD HH:MM` (UTC) for the listing.
fn chrono_like(t: SystemTime) -> String {
    // the HTTP date holds the same instant; reorder its parts
    let d = httpdate::fmt_http_date(t); // "Sun, 06 Nov 1994 08:49:37 GMT"
    let p: Vec<&str> = d.split(' ').collect();
    if p.len() < 5 {
        return d;
    }
    let month = match p[2] {
        "Jan" => 1,
        "Feb" => 2,
        "Mar" => 3,
        "Apr" => 4,
        "May" => 5,
        "Jun" => 6,
        "Jul" => 7,
        "Aug" => 8,
        "Sep" => 9,
        "Oct" => 10,
        "Nov" => 11,
        _ => 12,
    };
    format!(
        "{}-{month:02}-{} {}",
        p[3],
        p[1],
        &p[4][..5.min(p[4].len())]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Range::Part(0, 9));
        assert_eq!(parse_range("bytes=90-", 100), Range::Part(90, 99));
        assert_eq!(parse_range("bytes=90-200", 100), Range::Part(90, 99));
        assert_eq!(parse_range("bytes=-10", 100), Range::Part(90, 99));
        assert_eq!(parse_range("bytes=-200", 100), Range::Part(0, 99));
        assert_eq!(parse_range("bytes=100-", 100), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=-0", 100), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=0-", 0), Range::Unsatisfiable);
        assert_eq!(parse_range("bytes=9-1", 100), Range::Full);
        assert_eq!(parse_range("bytes=0-1,5-6", 100), Range::Full);
        assert_eq!(parse_range("items=0-1", 100), Range::Full);
        assert_eq!(parse_range("bytes=x-1", 100), Range::Full);
    }

    #[test]
    fn segments_refuse_parent_and_nul() {
        assert!(segments(b"/a/../b").is_none());
        assert!(segments(&percent_decode(b"/%2e%2E/etc").unwrap()).is_none());
        assert!(segments(b"/a\0b").is_none());
        assert_eq!(segments(b"//a/./b/").unwrap(), vec![&b"a"[..], &b"b"[..]]);
        assert!(percent_decode(b"/%zz").is_none());
    }

    #[test]
    fn types() {
        assert_eq!(content_type("foo-1-1.noarch.rpm"), "application/x-rpm");
        assert_eq!(content_type("build.log"), "text/plain; charset=utf-8");
        assert_eq!(content_type("repomd.xml"), "application/xml");
        assert_eq!(content_type("primary.xml.gz"), "application/x-gzip");
        assert_eq!(content_type("x"), "application/octet-stream");
    }
}
