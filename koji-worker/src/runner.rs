//! A task's own process: runs its handler and reports the outcome.

use crate::client::{kw, Fault, Hub};
use crate::config::Config;
use anyhow::{anyhow, Context as _, Result};
use koji_core::hub::tasks::{encode_fault, encode_result};
use koji_core::task::{BoxFuture, TaskContext, TaskRegistry};
use koji_core::Result as CoreResult;
use serde_json::{json, Map, Value as Json};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// upstream's `koji.BuildError` fault code.
pub const BUILD_ERROR: i32 = 1005;

/// A typed failure of a task: upstream's fault class code and text.
pub fn fail(code: i32, msg: impl Into<String>) -> anyhow::Error {
    Fault {
        code,
        message: msg.into(),
    }
    .into()
}

/// What a handler works with (a [`TaskContext`] for plugins).
pub struct TaskCtx {
    pub hub: Hub,
    pub id: i64,
    /// `getTaskInfo` of this task.
    pub info: Json,
    pub cfg: Config,
    /// This task's private working directory (removed when it ends).
    pub workdir: PathBuf,
    /// Logs followed through [`TaskContext::stream_log`].
    logs: tokio::sync::Mutex<Option<LogStreamer>>,
}

/// A builder error as a task's fault: a fault keeps its code; anything
/// else is code 1 (what upstream's kojid reports for an exception that
/// is not one of koji's).
pub fn to_core(e: anyhow::Error) -> koji_core::Error {
    match e.downcast::<Fault>() {
        Ok(f) => koji_core::Error::from_fault(f.code, f.message),
        Err(e) => koji_core::Error::Fault {
            code: 1,
            message: format!("{e:#}"),
        },
    }
}

impl TaskContext for TaskCtx {
    fn task_id(&self) -> i64 {
        self.id
    }
    fn info(&self) -> &Json {
        &self.info
    }
    fn workdir(&self) -> &Path {
        &self.workdir
    }
    fn call<'a>(&'a self, method: &'a str, args: Vec<Json>) -> BoxFuture<'a, CoreResult<Json>> {
        Box::pin(async move { self.hub.call(method, args).await.map_err(to_core) })
    }
    fn subtask<'a>(
        &'a self,
        method: &'a str,
        args: Vec<Json>,
        opts: Json,
    ) -> BoxFuture<'a, CoreResult<i64>> {
        Box::pin(async move {
            TaskCtx::subtask(self, method, args, opts)
                .await
                .map_err(to_core)
        })
    }
    fn wait_all<'a>(
        &'a self,
        ids: &'a [i64],
        failany: bool,
    ) -> BoxFuture<'a, CoreResult<Vec<(i64, Json)>>> {
        Box::pin(async move { TaskCtx::wait_all(self, ids, failany).await.map_err(to_core) })
    }
    fn upload<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, CoreResult<String>> {
        Box::pin(async move { TaskCtx::upload(self, path).await.map_err(to_core) })
    }
    fn stream_log<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, CoreResult<()>> {
        Box::pin(async move {
            let mut logs = self.logs.lock().await;
            if logs.is_none() {
                *logs = Some(LogStreamer::start(self).await.map_err(to_core)?);
            }
            match logs.as_ref() {
                Some(l) => l.add(path).map_err(to_core),
                None => Ok(()),
            }
        })
    }
    fn as_any(&self) -> &dyn std::any::Any {
        self
    }
}

impl TaskCtx {
    /// `tasks/<id%10000>/<id>`: where this task's uploads go below `work/`.
    pub fn upload_dir(&self) -> String {
        koji_core::pathinfo::PathInfo::taskrelpath(self.id)
    }

    /// Creates a subtask (`host.subtask`), e.g. with `{"label": "x86_64",
    /// "arch": "x86_64"}` as options.
    pub async fn subtask(&self, method: &str, args: Vec<Json>, opts: Json) -> Result<i64> {
        let mut o = match opts {
            Json::Object(m) => m,
            _ => Map::new(),
        };
        o.insert("method".into(), json!(method));
        o.insert("arglist".into(), Json::Array(args));
        o.insert("parent".into(), json!(self.id));
        let id = self
            .hub
            .call("host.subtask", vec![kw(Json::Object(o))])
            .await?;
        id.as_i64().ok_or_else(|| anyhow!("subtask: no id in {id}"))
    }

    /// Waits for subtasks (upstream's `BaseTaskHandler.wait` with
    /// `all=True`): with `failany`, the first failure cancels the others
    /// and is raised. Answers each task's result.
    pub async fn wait_all(&self, ids: &[i64], failany: bool) -> Result<Vec<(i64, Json)>> {
        self.wait_all_timeout(ids, failany, None).await
    }

    /// [`TaskCtx::wait_all`] for at most `timeout`: then the subtasks are
    /// canceled and the wait fails, as upstream's `wait(timeout=...)`.
    pub async fn wait_all_timeout(
        &self,
        ids: &[i64],
        failany: bool,
        timeout: Option<Duration>,
    ) -> Result<Vec<(i64, Json)>> {
        self.hub
            .call("host.taskSetWait", vec![json!(self.id), json!(ids)])
            .await?;
        let mut checked = std::collections::HashSet::new();
        let start = std::time::Instant::now();
        loop {
            let w = self.hub.call("host.taskWait", vec![json!(self.id)]).await?;
            let finished: Vec<i64> = w[0]
                .as_array()
                .map(|a| a.iter().filter_map(Json::as_i64).collect())
                .unwrap_or_default();
            let unfinished = w[1].as_array().map_or(0, Vec::len);
            if failany {
                for t in &finished {
                    if !checked.insert(*t) {
                        continue;
                    }
                    if let Err(e) = self.hub.call("getTaskResult", vec![json!(t)]).await {
                        let _ = self
                            .hub
                            .call("cancelTaskChildren", vec![json!(self.id)])
                            .await;
                        return Err(e);
                    }
                }
            }
            if unfinished == 0 {
                break;
            }
            if let Some(t) = timeout {
                let waited = start.elapsed();
                if waited > t {
                    tracing::info!(task = self.id, "Subtasks timed out");
                    self.hub
                        .call("cancelTaskChildren", vec![json!(self.id)])
                        .await?;
                    return Err(fail(
                        1000,
                        format!(
                            "Subtasks timed out after {:.1} seconds",
                            waited.as_secs_f64()
                        ),
                    ));
                }
            }
            // short subtasks (tagBuild, createrepo of a small change) are
            // seen done within 10 ms, then within 50 ms; long ones are
            // asked every 300 ms
            let pause = match start.elapsed().as_millis() {
                0..1000 => 10,
                1000..3000 => 50,
                _ => 300,
            };
            tokio::time::sleep(Duration::from_millis(pause)).await;
        }
        let res = self
            .hub
            .call("host.taskWaitResults", vec![json!(self.id), json!(ids)])
            .await?;
        Ok(res
            .as_array()
            .cloned()
            .unwrap_or_default()
            .into_iter()
            .map(|p| (p[0].as_i64().unwrap_or_default(), p[1].clone()))
            .collect())
    }

    /// A file of the hub's work directory (`work/<rel>`), from the shared
    /// content store or downloaded from `topurl`, as a local path.
    pub async fn work_file(&self, rel: &str) -> Result<PathBuf> {
        if rel.split('/').any(|c| c == ".." || c.is_empty()) || rel.starts_with('/') {
            return Err(fail(1000, format!("Invalid path: {rel}")));
        }
        self.store_file(&format!("work/{rel}"), "SRPM file").await
    }

    /// A file of the content store (`rel` below it): the shared one, or a
    /// copy fetched from `topurl` into the task's directory; `what` names
    /// it in errors.
    pub async fn store_file(&self, rel: &str, what: &str) -> Result<PathBuf> {
        if rel.split('/').any(|c| c == ".." || c.is_empty()) || rel.starts_with('/') {
            return Err(fail(1000, format!("Invalid path: {rel}")));
        }
        if let Some(top) = &self.cfg.topdir {
            let p = top.join(rel);
            if p.is_file() {
                return Ok(p);
            }
        }
        let Some(url) = &self.cfg.topurl else {
            return Err(fail(
                BUILD_ERROR,
                format!("{what} missing: {rel} (no topdir or topurl)"),
            ));
        };
        let dest = self.workdir.join("local").join(rel);
        if dest.is_file() {
            return Ok(dest);
        }
        if let Some(d) = dest.parent() {
            tokio::fs::create_dir_all(d).await?;
        }
        let resp = reqwest::get(format!("{}/{rel}", url.trim_end_matches('/')))
            .await
            .with_context(|| format!("cannot download {rel}"))?;
        if !resp.status().is_success() {
            return Err(fail(
                BUILD_ERROR,
                format!("{what} missing: {rel} (HTTP {})", resp.status()),
            ));
        }
        tokio::fs::write(&dest, resp.bytes().await?).await?;
        Ok(dest)
    }

    /// Uploads a file into this task's output; answers its path below
    /// `work/` (as results name files).
    pub async fn upload(&self, path: &Path) -> Result<String> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("bad file name {}", path.display()))?;
        let dir = self.upload_dir();
        self.hub.upload(path, &dir, name).await?;
        Ok(format!("{dir}/{name}"))
    }
}

/// Log files followed, each with how much of it was sent (None: nothing yet).
type Followed = Arc<Mutex<Vec<(PathBuf, Option<u64>)>>>;

/// Streams log files to the task's output while they grow (once a
/// second), and once more at the end.
pub struct LogStreamer {
    files: Followed,
    stop: tokio::sync::watch::Sender<bool>,
    handle: tokio::task::JoinHandle<()>,
}

async fn push_logs(hub: &Hub, dir: &str, files: &Followed) {
    let list: Vec<(PathBuf, Option<u64>)> = files.lock().map(|f| f.clone()).unwrap_or_default();
    for (path, sent) in list {
        // a log the build replaced with a symlink is not followed
        if !tokio::fs::symlink_metadata(&path)
            .await
            .is_ok_and(|m| m.is_file())
        {
            continue;
        }
        let Ok(data) = tokio::fs::read(&path).await else {
            continue;
        };
        let len = data.len() as u64;
        if sent.is_some_and(|s| len <= s) {
            continue;
        }
        let sent = sent.unwrap_or(0);
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let chunk = &data[sent.min(len) as usize..];
        if hub.upload_bytes(chunk, dir, &name, sent).await.is_ok() {
            if let Ok(mut f) = files.lock() {
                if let Some(e) = f.iter_mut().find(|(p, _)| *p == path) {
                    e.1 = Some(len);
                }
            }
        }
    }
}

impl LogStreamer {
    /// Starts streaming on a session of its own (calls on one session
    /// must come in order, and the task's own calls go on meanwhile).
    pub async fn start(ctx: &TaskCtx) -> Result<LogStreamer> {
        let (sid, key) = ctx.hub.subsession().await?;
        let hub = Hub::with_session(ctx.hub.url(), sid, &key)?;
        let dir = ctx.upload_dir();
        let files: Followed = Arc::default();
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let f2 = files.clone();
        let handle = tokio::spawn(async move {
            loop {
                push_logs(&hub, &dir, &f2).await;
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                    _ = stopped.changed() => {
                        push_logs(&hub, &dir, &f2).await;
                        break;
                    }
                }
            }
            let _ = hub.logout().await;
        });
        Ok(LogStreamer {
            files,
            stop,
            handle,
        })
    }

    /// Follows `path` (created empty if missing).
    pub fn add(&self, path: &Path) -> Result<()> {
        if !path.exists() {
            std::fs::write(path, b"")?;
        }
        if let Ok(mut f) = self.files.lock() {
            f.push((path.to_path_buf(), None));
        }
        Ok(())
    }

    /// Sends what is left and stops.
    pub async fn finish(self) {
        let _ = self.stop.send(true);
        let _ = self.handle.await;
    }
}

/// A task process outlives a daemon killed with SIGKILL (it runs in its
/// own process group): once its parent is gone it kills its whole group,
/// so that a restarted daemon, which frees and re-runs the task, never
/// races an orphan of the old one (a sandbox follows with
/// `--die-with-parent`).
fn orphan_guard() {
    // SAFETY: getppid(2) has no preconditions
    let parent = unsafe { libc::getppid() };
    // a thread of its own: a handler blocking the async runtime for a
    // while (unpacking a buildroot, say) must not hold the guard up
    let spawned = std::thread::Builder::new()
        .name("orphan-guard".into())
        .spawn(move || loop {
            std::thread::sleep(Duration::from_millis(200));
            // SAFETY: as above
            if unsafe { libc::getppid() } != parent {
                tracing::error!("the daemon is gone: stopping this task's processes");
                // SAFETY: signals this process's own group
                unsafe {
                    libc::kill(0, libc::SIGKILL);
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!("no orphan guard for this task process: {e}");
    }
}

/// Runs task `task_id` on session `session` and reports its outcome to
/// the hub. Errors here are about reaching the hub, not the task's own.
pub async fn run_task(
    cfg: Config,
    session: (i64, String),
    task_id: i64,
    registry: &TaskRegistry,
) -> Result<()> {
    orphan_guard();
    let hub = Hub::with_session(&cfg.server, session.0, &session.1)?;
    let info = hub
        .call(
            "getTaskInfo",
            vec![json!(task_id), kw(json!({"request": true}))],
        )
        .await?;
    let method = info["method"].as_str().unwrap_or_default().to_string();
    let request = info["request"].as_array().cloned().unwrap_or_default();
    let workdir = cfg
        .workdir
        .join(koji_core::pathinfo::PathInfo::taskrelpath(task_id));
    if workdir.exists() {
        std::fs::remove_dir_all(&workdir)?;
    }
    std::fs::create_dir_all(&workdir)?;
    let ctx = TaskCtx {
        hub,
        id: task_id,
        info,
        cfg,
        workdir: workdir.clone(),
        logs: tokio::sync::Mutex::new(None),
    };
    let outcome = registry.run(&ctx, &method, request).await;
    if let Some(logs) = ctx.logs.lock().await.take() {
        logs.finish().await;
    }
    let _ = std::fs::remove_dir_all(&workdir);
    match outcome {
        Ok(v) => {
            ctx.hub
                .call(
                    "host.closeTask",
                    vec![json!(task_id), json!(encode_result(&v))],
                )
                .await?;
        }
        Err(e) => {
            let (code, msg) = (e.fault_code(), e.to_string());
            tracing::warn!(task = task_id, code, "task failed: {msg}");
            ctx.hub
                .call(
                    "host.failTask",
                    vec![json!(task_id), json!(encode_fault(code, &msg))],
                )
                .await?;
        }
    }
    let _ = ctx.hub.logout().await;
    Ok(())
}
