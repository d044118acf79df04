//! Uploads into the work area of the content store: the raw `POST
//! /kojihub?filename=...` of `fastUpload`, the legacy base64 `uploadFile`
//! and `checkUpload`.
//!
//! Every upload lands in `<volume>/work/<reldir>/<name>`. The relative
//! directory is normalised like Python's `os.path.normpath`; anything that
//! would leave the work directory (`..`, an absolute path), a file name with
//! a directory part or a leading dot, and symbolic links anywhere below the
//! work directory (a directory of the path or the file itself) are refused
//! before anything is written. A directory other than `tasks/...` belongs
//! to the first user who uploaded into it (its `.user` file); `tasks/N/ID`
//! may only be written by the host that holds task ID open.

use super::Hub;
use crate::db::{fetch_opt, RowExt};
use crate::error::{Error, Result};
use crate::hub::tags::lookup_name;
use crate::hub::Caller;
use crate::params;
use crate::pathinfo::{PathInfo, DEFAULT_VOLUME};
use crate::util::{py_str, py_str_repr};
use futures::{Stream, StreamExt};
use serde_json::{json, Map, Value as Json};
use std::collections::HashSet;
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

pub struct Uploads<'a>(pub(super) &'a Hub);

/// `fault(1, "<class 'X'>: msg")`: what upstream answers for a Python
/// exception that is not one of koji's own.
fn py_exc(class: &str, msg: impl std::fmt::Display) -> Error {
    Error::Fault {
        code: 1,
        message: format!("<class '{class}'>: {msg}"),
    }
}

// ---------------------------------------------------------------------------
// checksums

/// Adler-32 as `zlib.adler32` computes it (starting value 1).
#[derive(Clone, Copy)]
struct Adler32 {
    a: u32,
    b: u32,
}

impl Adler32 {
    const MOD: u32 = 65521;
    /// Largest run of bytes before `b` could overflow a u32.
    const NMAX: usize = 5552;

    fn new() -> Adler32 {
        Adler32 { a: 1, b: 0 }
    }

    fn update(&mut self, data: &[u8]) {
        for run in data.chunks(Self::NMAX) {
            for &byte in run {
                self.a += u32::from(byte);
                self.b += self.a;
            }
            self.a %= Self::MOD;
            self.b %= Self::MOD;
        }
    }

    fn value(&self) -> u32 {
        (self.b << 16) | self.a
    }
}

/// One of the hash kinds upstream accepts (`get_verify_class`).
enum Verifier {
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
    Adler32(Adler32),
}

impl Verifier {
    /// `None` for no verification (an empty or missing kind); an unknown
    /// kind is upstream's `Unsupported verify type` error.
    fn for_kind(kind: &Json) -> Result<Option<Verifier>> {
        use sha2::Digest;
        match kind {
            Json::String(s) if s == "md5" => Ok(Some(Verifier::Md5(md5::Md5::new()))),
            Json::String(s) if s == "adler32" => Ok(Some(Verifier::Adler32(Adler32::new()))),
            Json::String(s) if s == "sha256" => Ok(Some(Verifier::Sha256(sha2::Sha256::new()))),
            k if crate::api::truthy(k) => Err(Error::Generic(format!(
                "Unsupported verify type: {}",
                py_str(k)
            ))),
            _ => Ok(None),
        }
    }

    fn update(&mut self, data: &[u8]) {
        use sha2::Digest;
        match self {
            Verifier::Md5(h) => h.update(data),
            Verifier::Sha256(h) => h.update(data),
            Verifier::Adler32(h) => h.update(data),
        }
    }

    fn hexdigest(self) -> String {
        use sha2::Digest;
        fn hex(bytes: &[u8]) -> String {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        }
        match self {
            Verifier::Md5(h) => hex(&h.finalize()),
            Verifier::Sha256(h) => hex(&h.finalize()),
            Verifier::Adler32(h) => format!("{:08x}", h.value()),
        }
    }
}

/// The hex digest of `data` with hash `kind` (`"md5"`, `"sha256"`,
/// `"adler32"`), as upstream's clients compute it.
pub fn hexdigest(kind: &str, data: &[u8]) -> Result<String> {
    let mut v = Verifier::for_kind(&Json::from(kind))?
        .ok_or_else(|| Error::Generic(format!("Unsupported verify type: {kind}")))?;
    v.update(data);
    Ok(v.hexdigest())
}

// ---------------------------------------------------------------------------
// paths

/// Python's `os.path.normpath` for POSIX paths.
pub fn normpath(path: &str) -> String {
    if path.is_empty() {
        return ".".into();
    }
    let slashes = if path.starts_with("//") && !path.starts_with("///") {
        2
    } else if path.starts_with('/') {
        1
    } else {
        0
    };
    let mut comps: Vec<&str> = vec![];
    for c in path.split('/') {
        if c.is_empty() || c == "." {
            continue;
        }
        if c != ".." || (slashes == 0 && comps.is_empty()) || comps.last() == Some(&"..") {
            comps.push(c);
        } else if !comps.is_empty() {
            comps.pop();
        }
    }
    let out = format!("{}{}", "/".repeat(slashes), comps.join("/"));
    if out.is_empty() {
        ".".into()
    } else {
        out
    }
}

/// A str argument, or Python's TypeError for `os.path` functions.
fn path_arg(v: &Json) -> Result<&str> {
    match v {
        Json::String(s) if s.contains('\0') => Err(py_exc("ValueError", "embedded null byte")),
        Json::String(s) => Ok(s),
        other => Err(py_exc(
            "TypeError",
            format!(
                "expected str, bytes or os.PathLike object, not {}",
                crate::api::py_type_of(other)
            ),
        )),
    }
}

/// Where an upload goes.
#[derive(Debug)]
struct Target {
    /// The directory (below the work directory); `None` when it does not
    /// exist and was not to be created.
    dir: Option<PathBuf>,
    /// The file, as a path and as upstream prints it in messages.
    file: PathBuf,
    shown: String,
}

/// Files with an upload in progress in this process (upstream takes an
/// exclusive `lockf` on the file; a second writer gets a LockError).
fn busy() -> &'static Mutex<HashSet<PathBuf>> {
    static BUSY: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    BUSY.get_or_init(Default::default)
}

/// The exclusive hold on one file, released on drop.
struct Hold(PathBuf);

impl Hold {
    fn take(path: &Path) -> Result<Hold> {
        let mut set = busy().lock().unwrap_or_else(|e| e.into_inner());
        if !set.insert(path.to_path_buf()) {
            return Err(Error::Lock(
                "[Errno 11] Resource temporarily unavailable".into(),
            ));
        }
        Ok(Hold(path.to_path_buf()))
    }
}

impl Drop for Hold {
    fn drop(&mut self) {
        busy()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.0);
    }
}

async fn lstat(p: &Path) -> std::io::Result<Option<std::fs::Metadata>> {
    match tokio::fs::symlink_metadata(p).await {
        Ok(m) => Ok(Some(m)),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e),
    }
}

// ---------------------------------------------------------------------------
// requests

/// The query of a raw upload (`POST /kojihub?filename=...`), with
/// upstream's defaults applied.
#[derive(Debug, Clone, PartialEq)]
pub struct RawUpload {
    pub filename: String,
    pub filepath: String,
    /// `adler32`, `md5`, `sha256`, or empty.
    pub fileverify: String,
    pub overwrite: bool,
    /// Where the chunk goes; -1 appends.
    pub offset: i64,
    pub volume: String,
}

impl RawUpload {
    /// Reads the query string the way upstream does (`parse_qs` with strict
    /// parsing: every field needs `=`, blank values count as absent, the
    /// first of repeated fields wins).
    pub fn from_query(query: &str) -> Result<RawUpload> {
        let mut fields: Vec<(String, String)> = vec![];
        if !query.is_empty() {
            for field in query.split('&') {
                let Some((k, v)) = field.split_once('=') else {
                    return Err(py_exc(
                        "ValueError",
                        format!("bad query field: {}", py_str_repr(field)),
                    ));
                };
                let (k, v) = (form_decode(k), form_decode(v));
                if !v.is_empty() {
                    fields.push((k, v));
                }
            }
        }
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        let filename = get("filename").ok_or_else(|| py_exc("KeyError", "'filename'"))?;
        let offset = get("offset").unwrap_or_else(|| "0".into());
        let offset = py_int(&offset)?;
        Ok(RawUpload {
            filename,
            filepath: get("filepath").unwrap_or_default(),
            fileverify: get("fileverify").unwrap_or_default(),
            overwrite: get("overwrite").is_some(),
            offset,
            volume: get("volume").unwrap_or_else(|| DEFAULT_VOLUME.into()),
        })
    }
}

/// `int(s)` for a decimal string.
fn py_int(s: &str) -> Result<i64> {
    let t = s.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    let ok = !digits.is_empty()
        && !digits.starts_with('_')
        && !digits.ends_with('_')
        && !digits.contains("__")
        && digits.chars().all(|c| c.is_ascii_digit() || c == '_');
    let parsed = if ok {
        t.replace('_', "").parse::<i64>().ok()
    } else {
        None
    };
    parsed.ok_or_else(|| {
        py_exc(
            "ValueError",
            format!("invalid literal for int() with base 10: {}", py_str_repr(s)),
        )
    })
}

/// `application/x-www-form-urlencoded` decoding of one key or value
/// (`+` is a space; bad escapes stay as they are; invalid UTF-8 is replaced).
fn form_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = |c: u8| (c as char).to_digit(16);
                match (hex(b[i + 1]), hex(b[i + 2])) {
                    (Some(h), Some(l)) => {
                        out.push((h * 16 + l) as u8);
                        i += 2;
                    }
                    _ => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl Uploads<'_> {
    fn pathinfo(&self) -> PathInfo {
        PathInfo::new(self.0.config().topdir.clone())
    }

    /// Upstream's `get_upload_path`: checks the name and directory, the
    /// volume, and (when `create`) who may write there, creating the
    /// directory.
    async fn target(
        &self,
        caller: &Caller,
        reldir: &Json,
        name: &Json,
        create: bool,
        volume: &Json,
    ) -> Result<Target> {
        let orig_reldir = path_arg(reldir)?;
        let orig_name = path_arg(name)?;
        let (head, base) = match orig_name.rfind('/') {
            Some(i) => (&orig_name[..=i], &orig_name[i + 1..]),
            None => ("", orig_name),
        };
        if !head.is_empty() || base.starts_with('.') {
            return Err(Error::Generic(format!(
                "Invalid upload filename: {orig_name}"
            )));
        }
        let rel = normpath(orig_reldir);
        if rel.starts_with("..") {
            return Err(Error::Generic(format!(
                "Invalid upload directory: {orig_reldir}"
            )));
        }
        let volume_name = match volume {
            Json::Null => None,
            v => Some(
                lookup_name(self.0.db().conn(), "volume", v, true, false)
                    .await?
                    .map(|r| r.name)
                    .unwrap_or_default(),
            ),
        };
        let parts: Vec<&str> = rel.split('/').collect();
        let mut check_user = true;
        if create && parts[0] == "tasks" {
            let bad = || Error::Generic(format!("Invalid task upload directory: {orig_reldir}"));
            if parts.len() < 3 {
                return Err(bad());
            }
            let task_id = py_int(parts[2]).map_err(|_| bad())?;
            self.assert_task_host(caller, task_id).await?;
            check_user = false;
        }
        if rel.starts_with('/') {
            return Err(py_exc("ValueError", format!("Invalid path segment: {rel}")));
        }
        let work = self.pathinfo().work(volume_name.as_deref());
        let udir_shown = format!("{}/{}", work.display(), rel);
        let shown = format!("{udir_shown}/{base}");
        let comps: Vec<&str> = parts.into_iter().filter(|c| *c != ".").collect();
        let dir = self
            .walk(&work, &comps, create, orig_reldir)
            .await
            .map_err(|e| match e {
                Error::Io(e) => py_exc("OSError", e),
                e => e,
            })?;
        let file = match &dir {
            Some(d) => d.join(base),
            None => PathBuf::from(&shown),
        };
        if let (true, Some(d)) = (create && check_user, &dir) {
            self.check_owner(caller, d, orig_reldir).await?;
        }
        Ok(Target { dir, file, shown })
    }

    /// Walks (and with `create` makes) `work/comps...`, refusing symbolic
    /// links below the work directory. `None` when a directory is missing
    /// and `create` is false.
    async fn walk(
        &self,
        work: &Path,
        comps: &[&str],
        create: bool,
        orig_reldir: &str,
    ) -> Result<Option<PathBuf>> {
        if create {
            tokio::fs::create_dir_all(work).await?;
        } else if !tokio::fs::try_exists(work).await? {
            return Ok(None);
        }
        let mut p = work.to_path_buf();
        for c in comps {
            p.push(c);
            let meta = match lstat(&p).await? {
                Some(m) => m,
                None if create => match tokio::fs::create_dir(&p).await {
                    Ok(()) => continue,
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        lstat(&p).await?.ok_or(Error::Io(e))?
                    }
                    Err(e) => return Err(e.into()),
                },
                None => return Ok(None),
            };
            if meta.file_type().is_symlink() {
                tracing::warn!(path = %p.display(), "upload path through a symbolic link refused");
                return Err(Error::Generic(format!(
                    "Invalid upload directory: {orig_reldir}"
                )));
            }
            if !meta.is_dir() {
                if create {
                    return Err(py_exc(
                        "OSError",
                        format!("Not a directory: {}", p.display()),
                    ));
                }
                return Ok(None);
            }
        }
        Ok(Some(p))
    }

    /// The first uploader owns a directory (its `.user` file); others are
    /// refused.
    async fn check_owner(&self, caller: &Caller, dir: &Path, orig_reldir: &str) -> Result<()> {
        let user_id = caller.user_id()?;
        let u_fn = dir.join(".user");
        match lstat(&u_fn).await? {
            Some(m) if m.file_type().is_symlink() || !m.is_file() => Err(Error::Generic(format!(
                "Invalid upload directory, not owner: {orig_reldir}"
            ))),
            Some(_) => {
                let text = tokio::fs::read_to_string(&u_fn).await?;
                let owner = py_int(&text)?;
                if owner != user_id {
                    return Err(Error::Generic(format!(
                        "Invalid upload directory, not owner: {orig_reldir}"
                    )));
                }
                Ok(())
            }
            None => {
                tokio::fs::write(&u_fn, user_id.to_string()).await?;
                Ok(())
            }
        }
    }

    /// Only the host holding task `task_id` open (with an exclusive
    /// session) may write into the task's directory.
    async fn assert_task_host(&self, caller: &Caller, task_id: i64) -> Result<()> {
        let db = self.0.db().conn();
        let Some(session) = caller.session.as_ref() else {
            return Err(Error::Auth("Not logged-in".into()));
        };
        let host = fetch_opt(
            db,
            "SELECT id FROM host WHERE user_id = ?",
            params![session.user_id],
        )
        .await?
        .ok_or_else(|| Error::Auth(format!("User {} is not a host", session.user_id)))?
        .int("id")?;
        if !session.exclusive {
            return Err(Error::Auth(
                "This method requires an exclusive session".into(),
            ));
        }
        let task = fetch_opt(
            db,
            "SELECT state, host_id FROM task WHERE id = ?",
            params![task_id],
        )
        .await?
        .ok_or_else(|| Error::Generic(format!("No such task: {task_id}")))?;
        const TASK_OPEN: i64 = 1;
        if task.int("state")? != TASK_OPEN || task.opt_int("host_id")? != Some(host) {
            return Err(Error::ActionNotAllowed(format!(
                "host {host} does not own task {task_id}"
            )));
        }
        Ok(())
    }

    /// Opens (creating) the target for writing, refusing anything that is
    /// not a regular file, and takes the in-process write hold.
    async fn open_for_write(&self, t: &Target) -> Result<(tokio::fs::File, Hold)> {
        let hold = Hold::take(&t.file)?;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o666)
            .open(&t.file)?;
        // the path may have changed between the checks and the open
        let opened = file.metadata()?;
        let now = lstat(&t.file).await?;
        let same = now.is_some_and(|m| {
            m.file_type().is_file() && m.dev() == opened.dev() && m.ino() == opened.ino()
        });
        if !opened.is_file() || !same {
            return Err(Error::Generic(format!(
                "destination not a file: {}",
                t.shown
            )));
        }
        Ok((tokio::fs::File::from_std(file), hold))
    }

    /// The body of a raw upload (`fastUpload`): writes the request body at
    /// `offset` (-1: at the end) of the file, truncating it there first, and
    /// answers `{size, fileverify, offset[, hexdigest]}` for the chunk.
    pub async fn raw_upload<S, B, E>(
        &self,
        caller: &Caller,
        req: &RawUpload,
        body: S,
    ) -> Result<Json>
    where
        S: Stream<Item = std::result::Result<B, E>>,
        B: AsRef<[u8]>,
        E: std::fmt::Display,
    {
        if !caller.logged_in() {
            return Err(Error::ActionNotAllowed(
                "you must be logged-in to upload a file".into(),
            ));
        }
        let t = self
            .target(
                caller,
                &Json::from(req.filepath.as_str()),
                &Json::from(req.filename.as_str()),
                true,
                &Json::from(req.volume.as_str()),
            )
            .await?;
        if let Some(m) = lstat(&t.file).await? {
            if !m.is_file() {
                return Err(Error::Generic(format!(
                    "destination not a file: {}",
                    t.shown
                )));
            }
            if req.offset == 0 && !req.overwrite {
                return Err(Error::Generic(format!("upload path exists: {}", t.shown)));
            }
        }
        let verify = Json::from(req.fileverify.as_str());
        let mut sum = Verifier::for_kind(&verify)?
            .ok_or_else(|| py_exc("TypeError", "'NoneType' object is not callable"))?;
        let (mut file, _hold) = self.open_for_write(&t).await?;
        let offset = if req.offset == -1 {
            file.seek(std::io::SeekFrom::End(0)).await? as i64
        } else {
            let at = u64::try_from(req.offset)
                .map_err(|_| py_exc("OSError", "[Errno 22] Invalid argument"))?;
            file.set_len(at).await?;
            file.seek(std::io::SeekFrom::Start(at)).await?;
            req.offset
        };
        let mut size: u64 = 0;
        let mut body = std::pin::pin!(body);
        while let Some(chunk) = body.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::warn!(path = %t.shown, offset, size, error = %e, "error reading upload");
                Error::Io(std::io::Error::other(format!("error reading upload: {e}")))
            })?;
            let chunk = chunk.as_ref();
            size += chunk.len() as u64;
            sum.update(chunk);
            file.write_all(chunk).await?;
        }
        file.flush().await?;
        tracing::info!(path = %t.shown, size, offset, "upload completed");
        let mut out = Map::new();
        out.insert("size".into(), json!(size));
        out.insert("fileverify".into(), verify);
        out.insert("offset".into(), json!(offset));
        out.insert("hexdigest".into(), json!(sum.hexdigest()));
        Ok(Json::Object(out))
    }

    /// `uploadFile(path, name, size, md5sum, offset, data, volume=None,
    /// checksum=None)`: the legacy upload of one base64 chunk. Answers
    /// false when the chunk (or, for the final offset -1, the whole file)
    /// does not match its size or checksum.
    #[allow(clippy::too_many_arguments)]
    pub async fn upload_file(
        &self,
        caller: &Caller,
        path: &Json,
        name: &Json,
        size: &Json,
        md5sum: &Json,
        offset: &Json,
        data: &Json,
        volume: &Json,
        checksum: &Json,
    ) -> Result<bool> {
        caller.user_id()?;
        let contents = b64decode(data)?;
        let offset = decode_int(offset)?;
        let size = decode_int(size)?;
        let checksum = match (checksum, md5sum) {
            (Json::Null, m) => m,
            (c, _) => c,
        };
        let (kind, digest) = match checksum {
            Json::String(s) => (Json::from("md5"), Some(s.clone())),
            Json::Null => (Json::Null, None),
            Json::Array(a) if a.len() == 2 => (a[0].clone(), Some(py_str(&a[1]))),
            Json::Array(a) => {
                return Err(py_exc(
                    "ValueError",
                    if a.len() < 2 {
                        format!("not enough values to unpack (expected 2, got {})", a.len())
                    } else {
                        "too many values to unpack (expected 2)".to_string()
                    },
                ))
            }
            other => {
                return Err(py_exc(
                    "TypeError",
                    format!(
                        "cannot unpack non-iterable {} object",
                        crate::api::py_type_of(other)
                    ),
                ))
            }
        };
        // an unknown kind is refused even when nothing is verified yet
        let check = Verifier::for_kind(&kind)?;
        let len = contents.len() as i64;
        if offset != -1 {
            if size != len {
                return Ok(false);
            }
            if let Some(mut v) = Verifier::for_kind(&kind)? {
                v.update(&contents);
                if Some(v.hexdigest()) != digest {
                    return Ok(false);
                }
            }
        }
        let t = self.target(caller, path, name, true, volume).await?;
        if let Some(m) = lstat(&t.file).await? {
            if !m.is_file() {
                return Err(Error::Generic(format!(
                    "destination not a file: {}",
                    t.shown
                )));
            }
            // a log may be sent again from the start (live log viewing)
            if offset == 0 && !t.shown.ends_with(".log") {
                return Err(Error::Generic(format!("file already exists: {}", t.shown)));
            }
        }
        let (mut file, _hold) = self.open_for_write(&t).await?;
        if offset == 0 || (offset == -1 && size == len) {
            file.set_len(0).await?;
        }
        if offset == -1 {
            file.seek(std::io::SeekFrom::End(0)).await?;
        } else {
            let at = u64::try_from(offset)
                .map_err(|_| py_exc("OSError", "[Errno 22] Invalid argument"))?;
            file.seek(std::io::SeekFrom::Start(at)).await?;
        }
        file.write_all(&contents).await?;
        file.flush().await?;
        if offset == -1 {
            let at = u64::try_from(size)
                .map_err(|_| py_exc("OSError", "[Errno 22] Invalid argument"))?;
            file.set_len(at).await?;
            if let Some(mut v) = check {
                file.seek(std::io::SeekFrom::Start(0)).await?;
                hash_rest(&mut file, &mut v).await?;
                if Some(v.hexdigest()) != digest {
                    return Ok(false);
                }
            }
        }
        Ok(true)
    }

    /// `checkUpload(path, name, verify=None, tail=None, volume=None)`:
    /// `{size, mtime[, sumlength, hexdigest]}` of an uploaded file (the
    /// digest of its last `tail` bytes when given), or None when absent.
    pub async fn check_upload(
        &self,
        caller: &Caller,
        path: &Json,
        name: &Json,
        verify: &Json,
        tail: &Json,
        volume: &Json,
    ) -> Result<Option<Json>> {
        let t = self.target(caller, path, name, false, volume).await?;
        if t.dir.is_none() {
            return Ok(None);
        }
        let Some(m) = lstat(&t.file).await? else {
            return Ok(None);
        };
        if !m.is_file() {
            return Err(Error::Generic(format!("Not a regular file: {}", t.shown)));
        }
        let mut file = match tokio::fs::File::open(&t.file).await {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e.into()),
        };
        if busy()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&t.file)
        {
            return Err(Error::Lock(
                "[Errno 11] Resource temporarily unavailable".into(),
            ));
        }
        let st = file.metadata().await?;
        if !st.is_file() {
            return Err(Error::Generic(format!("Not a regular file: {}", t.shown)));
        }
        let mut out = Map::new();
        out.insert("size".into(), json!(st.len()));
        let mtime = st.mtime() as f64 + st.mtime_nsec() as f64 / 1e9;
        out.insert("mtime".into(), json!(mtime));
        if crate::api::truthy(verify) {
            let mut v = Verifier::for_kind(verify)?.unwrap_or(Verifier::Md5(Default::default()));
            match tail {
                Json::Null => {}
                Json::Number(n) => {
                    let tail = n.as_i64().ok_or_else(|| {
                        py_exc(
                            "TypeError",
                            "'float' object cannot be interpreted as an integer",
                        )
                    })?;
                    if tail < 0 {
                        return Err(Error::Generic(format!("Invalid tail value: {tail}")));
                    }
                    let from = st.len().saturating_sub(tail as u64);
                    file.seek(std::io::SeekFrom::Start(from)).await?;
                }
                other => {
                    return Err(py_exc(
                        "TypeError",
                        format!(
                            "'<' not supported between instances of '{}' and 'int'",
                            crate::api::py_type_of(other)
                        ),
                    ))
                }
            }
            let length = hash_rest(&mut file, &mut v).await?;
            out.insert("sumlength".into(), json!(length));
            out.insert("hexdigest".into(), json!(v.hexdigest()));
        }
        Ok(Some(Json::Object(out)))
    }
}

/// Feeds the rest of `file` to `v`; returns how many bytes it read.
async fn hash_rest(file: &mut tokio::fs::File, v: &mut Verifier) -> Result<u64> {
    let mut buf = vec![0u8; 64 * 1024];
    let mut length = 0u64;
    loop {
        let n = file.read(&mut buf).await?;
        if n == 0 {
            return Ok(length);
        }
        length += n as u64;
        v.update(&buf[..n]);
    }
}

/// `koji.decode_int`: an int, or a string holding one.
fn decode_int(v: &Json) -> Result<i64> {
    match v {
        Json::Number(n) if n.is_i64() => Ok(n.as_i64().unwrap_or_default()),
        Json::Number(n) => n
            .as_f64()
            .map(|f| f.trunc() as i64)
            .ok_or_else(|| py_exc("OverflowError", "int too large")),
        Json::String(s) => py_int(s),
        Json::Bool(b) => Ok(i64::from(*b)),
        other => Err(py_exc(
            "TypeError",
            format!(
                "int() argument must be a string, a bytes-like object or a real number, not '{}'",
                crate::api::py_type_of(other)
            ),
        )),
    }
}

/// Python's `base64.b64decode` (not validating: characters outside the
/// alphabet are skipped, decoding stops at complete padding).
fn b64decode(v: &Json) -> Result<Vec<u8>> {
    let Json::String(s) = v else {
        return Err(py_exc(
            "TypeError",
            format!(
                "argument should be a bytes-like object or ASCII string, not '{}'",
                crate::api::py_type_of(v)
            ),
        ));
    };
    fn sextet(c: u8) -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let mut out = Vec::with_capacity(s.len() / 4 * 3);
    let (mut quad, mut pads, mut left) = (0u32, 0u32, 0u32);
    for c in s.bytes() {
        if c == b'=' {
            if quad >= 2 {
                pads += 1;
                if quad + pads >= 4 {
                    return Ok(out);
                }
            }
            continue;
        }
        let Some(v) = sextet(c) else { continue };
        match quad {
            0 => left = v,
            1 => {
                out.push(((left << 2) | (v >> 4)) as u8);
                left = v & 0x0f;
            }
            2 => {
                out.push(((left << 4) | (v >> 2)) as u8);
                left = v & 0x03;
            }
            _ => {
                out.push(((left << 6) | v) as u8);
                left = 0;
            }
        }
        quad = (quad + 1) % 4;
    }
    match quad {
        0 => Ok(out),
        1 => Err(py_exc(
            "binascii.Error",
            format!(
                "Invalid base64-encoded string: number of data characters ({}) \
                 cannot be 1 more than a multiple of 4",
                out.len() / 3 * 4 + 1
            ),
        )),
        _ => Err(py_exc("binascii.Error", "Incorrect padding")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normpath_is_pythons() {
        for (i, o) in [
            ("", "."),
            (".", "."),
            ("a//b/./c/", "a/b/c"),
            ("a/../..", ".."),
            ("a/../../b", "../b"),
            ("/../x", "/x"),
            ("//a/../b", "//b"),
            ("///a", "/a"),
            ("../a", "../a"),
            ("x/..", "."),
        ] {
            assert_eq!(normpath(i), o, "{i}");
        }
    }

    #[test]
    fn checksums_match_pythons() {
        // zlib.adler32(b"") == 1, zlib.adler32(b"hello world") == 0x1a0b045d
        assert_eq!(hexdigest("adler32", b"").unwrap(), "00000001");
        assert_eq!(hexdigest("adler32", b"hello world").unwrap(), "1a0b045d");
        let big = vec![0xffu8; 100_000];
        let mut a = Adler32::new();
        for c in big.chunks(7) {
            a.update(c);
        }
        let mut b = Adler32::new();
        b.update(&big);
        assert_eq!(a.value(), b.value());
        assert_eq!(
            hexdigest("md5", b"hello world").unwrap(),
            "5eb63bbbe01eeed093cb22bb8f5acdc3"
        );
        assert_eq!(
            hexdigest("sha256", b"").unwrap(),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn query_parsing_follows_parse_qs() {
        let r = RawUpload::from_query(
            "filename=a+b.rpm&filepath=cli-build%2Fx&fileverify=adler32&offset=5&overwrite=&filename=z",
        )
        .unwrap();
        assert_eq!(r.filename, "a b.rpm");
        assert_eq!(r.filepath, "cli-build/x");
        assert_eq!(r.offset, 5);
        assert!(!r.overwrite);
        assert_eq!(r.volume, "DEFAULT");
        let e = RawUpload::from_query("filepath=x").unwrap_err();
        assert_eq!(
            (e.fault_code(), e.to_string().as_str()),
            (1, "<class 'KeyError'>: 'filename'")
        );
        let e = RawUpload::from_query("filename=x&&a=b").unwrap_err();
        assert_eq!(e.to_string(), "<class 'ValueError'>: bad query field: ''");
        let e = RawUpload::from_query("filename=x&offset=z").unwrap_err();
        assert_eq!(
            e.to_string(),
            "<class 'ValueError'>: invalid literal for int() with base 10: 'z'"
        );
        assert_eq!(py_int(" -1 ").unwrap(), -1);
        assert_eq!(py_int("1_0").unwrap(), 10);
        assert!(py_int("1__0").is_err());
        assert_eq!(form_decode("%2e%2E%zz%4"), "..%zz%4");
    }

    #[test]
    fn base64_is_lenient_like_python() {
        assert_eq!(b64decode(&json!("aGVs\nbG8=")).unwrap(), b"hello");
        assert_eq!(
            b64decode(&json!("aGVsbG8")).unwrap_err().to_string(),
            "<class 'binascii.Error'>: Incorrect padding"
        );
        assert_eq!(b64decode(&json!("")).unwrap(), b"");
    }
}
