//! Tasks: the units of work the hub hands to builders.
//!
//! A `task` row is not versioned: its state moves FREE → ASSIGNED → OPEN →
//! CLOSED/FAILED (or CANCELED from anywhere unfinished), `host_id` is the
//! host holding it. `request` holds the call as upstream stores it, an
//! XML-RPC `<methodCall>` whose parameters are the task's arguments
//! (keyword arguments in a trailing `__starstar` struct); `result` holds an
//! XML-RPC `<methodResponse>`: the value for a closed task, the fault for a
//! failed one. Both are written by the builder itself (`host.closeTask`),
//! so an upstream database reads the same.
//!
//! Subtasks name their parent; a parent waiting on children is `waiting`,
//! the children it waits on are `awaited`.

use super::builds::{cancel_build_in, now};
use super::hosts::get_channel_in;
use super::query_opts::{Columns, QueryOpts};
use super::{Caller, Hub};
use crate::api::{truthy, Spec};
use crate::db::{exec, fetch_all, fetch_opt, RowExt, Tx, Value, Where};
use crate::error::{Error, Result};
use crate::model::BuildState;
use crate::params;
use crate::util::{format_time, py_int, py_repr, py_str};
use crate::xmlrpc;
use sea_orm::{ConnectionTrait, QueryResult};
use serde_json::{json, Map, Value as Json};

pub struct Tasks<'a>(pub(super) &'a Hub);

/// `task.state` (upstream's `koji.TASK_STATES`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskState {
    Free = 0,
    Open = 1,
    Closed = 2,
    Canceled = 3,
    Assigned = 4,
    Failed = 5,
}

impl TaskState {
    pub const ALL: [TaskState; 6] = [
        TaskState::Free,
        TaskState::Open,
        TaskState::Closed,
        TaskState::Canceled,
        TaskState::Assigned,
        TaskState::Failed,
    ];

    pub fn from_i64(v: i64) -> Option<Self> {
        Self::ALL.into_iter().find(|s| *s as i64 == v)
    }

    pub fn name(self) -> &'static str {
        match self {
            TaskState::Free => "FREE",
            TaskState::Open => "OPEN",
            TaskState::Closed => "CLOSED",
            TaskState::Canceled => "CANCELED",
            TaskState::Assigned => "ASSIGNED",
            TaskState::Failed => "FAILED",
        }
    }

    /// CLOSED, CANCELED or FAILED.
    pub fn is_finished(self) -> bool {
        matches!(
            self,
            TaskState::Closed | TaskState::Canceled | TaskState::Failed
        )
    }
}

/// Upstream's `koji.PRIO_DEFAULT`.
pub const PRIO_DEFAULT: i64 = 20;

// ---------------------------------------------------------------------------
// Encodings of request and result
// ---------------------------------------------------------------------------

/// A task's request as upstream stores it: `<methodCall>` of the arguments.
pub fn encode_request(method: &str, args: &[Json]) -> String {
    let params: Vec<xmlrpc::Value> = args.iter().map(xmlrpc::Value::from_json).collect();
    xmlrpc::write_call(method, &params)
}

/// Text of a stored request or result: XML, or base64 of XML in rows
/// written by old upstream hubs.
fn stored_xml(text: &str) -> Result<std::borrow::Cow<'_, str>> {
    if text.get(..10).unwrap_or(text).contains("<?xml") {
        return Ok(text.into());
    }
    use base64::Engine as _;
    let raw = base64::engine::general_purpose::STANDARD
        .decode(text.trim())
        .map_err(|e| Error::Generic(format!("unreadable task data: {e}")))?;
    Ok(String::from_utf8_lossy(&raw).into_owned().into())
}

/// The arguments of a stored request.
pub fn decode_request(text: &str) -> Result<Vec<Json>> {
    let xml = stored_xml(text)?;
    let call = xmlrpc::parse_call(xml.as_bytes())
        .map_err(|e| Error::Generic(format!("unreadable task request: {e}")))?;
    Ok(call.params.iter().map(xmlrpc::Value::to_json).collect())
}

/// A finished task's outcome.
#[derive(Debug, Clone, PartialEq)]
pub enum TaskOutcome {
    Value(Json),
    Fault { code: i32, message: String },
}

/// The `result` text for a task that returned `v`.
pub fn encode_result(v: &Json) -> String {
    xmlrpc::write_response(&xmlrpc::Value::from_json(v))
}

/// The `result` text for a task that failed with a fault.
pub fn encode_fault(code: i32, message: &str) -> String {
    xmlrpc::write_fault(code, message)
}

/// Reads a stored result.
pub fn decode_result(text: &str) -> Result<TaskOutcome> {
    let xml = stored_xml(text)?;
    match xmlrpc::parse_response(xml.as_bytes())
        .map_err(|e| Error::Generic(format!("unreadable task result: {e}")))?
    {
        xmlrpc::Response::Value(v) => Ok(TaskOutcome::Value(v.to_json())),
        xmlrpc::Response::Fault { code, message } => Ok(TaskOutcome::Fault { code, message }),
    }
}

/// The task signatures upstream knows (its `LEGACY_SIGNATURES`), in
/// Python's notation: they name the arguments of a request.
const SIGNATURES: &[&str] = &[
    "build(src, target, opts=None)",
    "buildArch(pkg, root, arch, keep_srpm, opts=None)",
    "buildSRPMFromSCM(url, build_tag, opts=None)",
    "rebuildSRPM(srpm, build_tag, opts=None)",
    "chainbuild(srcs, target, opts=None)",
    "tagBuild(tag_id, build_id, force=False, fromtag=None, ignore_success=False)",
    "newRepo(tag, event=None, src=None, debuginfo=None, separate_src=None, opts=None)",
    "createrepo(repo_id, arch, oldrepo)",
    "waitrepo(tag, newer_than=None, nvrs=None, min_event=None)",
    "dependantTask(wait_list, task_list)",
    "wrapperRPM(spec_url, build_target, build, task, opts=None)",
    "buildNotification(recipients, build, target, weburl)",
    "tagNotification(recipients, is_successful, tag_info, from_info, build_info, user_info, \
     ignore_success=None, failure_msg='')",
    "restartHosts(options=None)",
    "restart(host)",
    "restartVerify(task_id, host)",
    "distRepo(tag, repo_id, keys, task_opts)",
    "createdistrepo(tag, repo_id, arch, keys, opts)",
    "maven(url, target, opts=None)",
    "buildMaven(url, build_tag, opts=None)",
    "chainmaven(builds, target, opts=None)",
    "runroot(root, arch, command, keep=False, packages=[], mounts=[], repo_id=None, \
     skip_setarch=False, weight=None, upload_logs=None, new_chroot=None)",
    "saveFailedTree(buildrootID, full=False)",
    "sleep(n)",
    "fork(n=5, m=37)",
    "waittest(count, seconds=10)",
    "shutdown()",
];

/// The named arguments of a request for a method upstream knows
/// (`koji.tasks.parse_task_params`); `None` for other methods or requests
/// that do not fit the signature.
pub fn task_params(method: &str, args: &[Json]) -> Option<Map<String, Json>> {
    static SPECS: std::sync::OnceLock<Vec<Spec>> = std::sync::OnceLock::new();
    let specs = SPECS.get_or_init(|| {
        SIGNATURES
            .iter()
            .map(|s| Spec::parse(s).expect("task signature"))
            .collect()
    });
    let spec = specs.iter().find(|s| s.name == method)?;
    let bound = spec.bind(args.to_vec()).ok()?;
    Some(bound.into_map())
}

// ---------------------------------------------------------------------------
// Rows
// ---------------------------------------------------------------------------

const TASK_COLUMNS: &str = "task.id, task.state, task.create_time, task.start_time, \
     task.completion_time, task.channel_id, task.host_id, task.parent, task.label, \
     task.waiting, task.awaited, task.owner, task.method, task.arch, task.priority, task.weight";

/// The keys of a task map (upstream's `Task.fields` aliases), sorted as
/// upstream's query lists them.
const TASK_KEYS: &[&str] = &[
    "arch",
    "awaited",
    "channel_id",
    "completion_time",
    "completion_ts",
    "create_time",
    "create_ts",
    "host_id",
    "id",
    "label",
    "method",
    "owner",
    "parent",
    "priority",
    "start_time",
    "start_ts",
    "state",
    "waiting",
    "weight",
];

fn time_pair(r: &QueryResult, col: &str) -> Result<(Json, Json)> {
    Ok(match r.ts(col)? {
        Some(ts) => (Json::from(format_time(ts)), Json::from(ts)),
        None => (Json::Null, Json::Null),
    })
}

/// A task row as upstream's `Task.getInfo` answers it.
fn task_map(r: &QueryResult) -> Result<Map<String, Json>> {
    let (completion_time, completion_ts) = time_pair(r, "completion_time")?;
    let (create_time, create_ts) = time_pair(r, "create_time")?;
    let (start_time, start_ts) = time_pair(r, "start_time")?;
    let mut m = Map::new();
    m.insert("arch".into(), Json::from(r.string("arch")?));
    m.insert("awaited".into(), Json::from(r.opt_bool("awaited")?));
    m.insert("channel_id".into(), Json::from(r.int("channel_id")?));
    m.insert("completion_time".into(), completion_time);
    m.insert("completion_ts".into(), completion_ts);
    m.insert("create_time".into(), create_time);
    m.insert("create_ts".into(), create_ts);
    m.insert("host_id".into(), Json::from(r.opt_int("host_id")?));
    m.insert("id".into(), Json::from(r.int("id")?));
    m.insert("label".into(), Json::from(r.opt_string("label")?));
    m.insert("method".into(), Json::from(r.opt_string("method")?));
    m.insert("owner".into(), Json::from(r.int("owner")?));
    m.insert("parent".into(), Json::from(r.opt_int("parent")?));
    m.insert("priority".into(), Json::from(r.opt_int("priority")?));
    m.insert("start_time".into(), start_time);
    m.insert("start_ts".into(), start_ts);
    m.insert("state".into(), Json::from(r.opt_int("state")?));
    m.insert("waiting".into(), Json::from(r.opt_bool("waiting")?));
    m.insert("weight".into(), Json::from(r.get::<f64>("weight")?));
    Ok(m)
}

/// A task id argument (upstream's `convert_value(id, cast=int)`).
pub fn task_id_arg(v: &Json) -> Result<i64> {
    match v {
        Json::Bool(_) | Json::Null | Json::Array(_) | Json::Object(_) => {
            Err(Error::Parameter(format!(
                "Invalid type for value '{}': {}",
                py_str(v),
                crate::util::py_class(v)
            )))
        }
        _ => py_int(v).ok_or_else(|| {
            Error::Parameter(format!(
                "Invalid type for value '{}': {}",
                py_str(v),
                crate::util::py_class(v)
            ))
        }),
    }
}

/// One task's map, or None.
pub async fn get_task_in<C: ConnectionTrait>(c: &C, id: i64) -> Result<Option<Map<String, Json>>> {
    match fetch_opt(
        c,
        &format!("SELECT {TASK_COLUMNS} FROM task WHERE id = ?"),
        params![id],
    )
    .await?
    {
        Some(r) => Ok(Some(task_map(&r)?)),
        None => Ok(None),
    }
}

/// The state of a task (`No such task: ID` if there is none).
pub async fn task_state_in<C: ConnectionTrait>(c: &C, id: i64) -> Result<TaskState> {
    let row = fetch_opt(c, "SELECT state FROM task WHERE id = ?", params![id])
        .await?
        .ok_or_else(|| Error::Generic(format!("No such task: {id}")))?;
    let s = row.opt_int("state")?.unwrap_or(-1);
    TaskState::from_i64(s).ok_or_else(|| Error::Generic(format!("task {id} has state {s}")))
}

/// The host a session belongs to (`context.session.getHostId()`).
pub async fn session_host_id_in<C: ConnectionTrait>(c: &C, caller: &Caller) -> Result<Option<i64>> {
    let Some(s) = &caller.session else {
        return Ok(None);
    };
    if s.usertype != crate::model::UserType::Host as i64 {
        return Ok(None);
    }
    fetch_opt(
        c,
        "SELECT id FROM host WHERE user_id = ?",
        params![s.user_id],
    )
    .await?
    .map(|r| r.int("id"))
    .transpose()
}

// ---------------------------------------------------------------------------
// Creating tasks
// ---------------------------------------------------------------------------

/// Options of [`make_task_in`] (upstream's `make_task` keyword options).
#[derive(Debug, Clone, Default)]
pub struct TaskOpts {
    pub parent: Option<i64>,
    pub label: Option<String>,
    /// Owner; default the caller (top-level) or the parent's owner.
    pub owner: Option<i64>,
    pub arch: Option<String>,
    pub priority: Option<i64>,
    /// A requested channel (name or id).
    pub channel: Option<Json>,
    /// A host to assign the task to right away.
    pub assign: Option<i64>,
}

impl TaskOpts {
    /// Reads upstream's keyword options (`makeTask`, `host.subtask`).
    pub async fn from_kwargs<C: ConnectionTrait>(c: &C, kw: &Map<String, Json>) -> Result<Self> {
        let mut o = TaskOpts::default();
        for (k, v) in kw {
            match k.as_str() {
                "parent" => o.parent = Some(task_id_arg(v)?),
                "label" => {
                    o.label = match v {
                        Json::Null => None,
                        Json::String(s) => Some(s.clone()),
                        other => {
                            return Err(Error::Parameter(format!(
                                "Invalid type for value '{}': {}",
                                py_str(other),
                                crate::util::py_class(other)
                            )))
                        }
                    }
                }
                "owner" => {
                    o.owner = Some(match v {
                        Json::Number(_) => task_id_arg(v)?,
                        other => super::users::Users::get_in(
                            c,
                            &Caller::default(),
                            other,
                            true,
                            false,
                            false,
                        )
                        .await?
                        .map(|u| u.id)
                        .unwrap_or_default(),
                    })
                }
                "arch" => {
                    o.arch = match v {
                        Json::Null => None,
                        other => Some(super::tags::parse_arches_strict(other)?),
                    }
                }
                "priority" => o.priority = Some(task_id_arg(v)?),
                "channel" => o.channel = Some(v.clone()),
                "assign" => {
                    o.assign = Some(match v {
                        Json::Number(_) => task_id_arg(v)?,
                        other => super::hosts::get_host_in(c, other, true, None)
                            .await?
                            .map(|h| h.id)
                            .unwrap_or_default(),
                    })
                }
                _ => {
                    return Err(Error::Fault {
                        code: 1,
                        message: format!(
                            "<class 'TypeError'>: make_task() got an unexpected keyword \
                             argument '{k}'"
                        ),
                    })
                }
            }
        }
        Ok(o)
    }
}

/// Policy data from a request's arguments (upstream's
/// `policy_data_from_task_args`): `source`, `target`, `tag`, `build_tag`,
/// `scratch`.
pub async fn policy_data_from_args<C: ConnectionTrait>(
    c: &C,
    method: &str,
    args: &[Json],
) -> Result<Map<String, Json>> {
    let mut data = Map::new();
    let Some(params) = task_params(method, args) else {
        return Ok(data);
    };
    if method != "newRepo" {
        for k in ["src", "spec_url", "url"] {
            if let Some(v) = params.get(k) {
                data.insert("source".into(), v.clone());
                break;
            }
        }
    }
    for k in ["target", "build_target", "target_info"] {
        if let Some(v) = params.get(k) {
            let name = match v {
                Json::Object(m) => m.get("name").cloned().unwrap_or(Json::Null),
                other => other.clone(),
            };
            let resolved = if name.is_null() {
                Json::Null
            } else {
                match super::tags::lookup_name(c, "build_target", &name, false, false).await {
                    Ok(Some(t)) => Json::from(t.name),
                    _ => Json::Null,
                }
            };
            data.insert("target".into(), resolved);
            break;
        }
    }
    for k in ["tag", "tag_id", "tag_info"] {
        if let Some(v) = params.get(k) {
            if let Ok(Some(t)) = super::tags::lookup_name(c, "tag", v, false, false).await {
                data.insert("tag".into(), Json::from(t.name));
            }
            break;
        }
    }
    if let Some(v) = params.get("build_tag") {
        if let Ok(Some(t)) = super::tags::lookup_name(c, "tag", v, false, false).await {
            data.insert("build_tag".into(), Json::from(t.name));
        }
    }
    if let Some(Json::Object(o)) = params.get("opts") {
        if let Some(s) = o.get("scratch") {
            data.insert("scratch".into(), s.clone());
        }
    }
    Ok(data)
}

/// Creates a task in `tx` (upstream's `make_task`): parent checks, the
/// `channel` and `priority` policies, the encoded request. Returns its id.
pub async fn make_task_in(
    tx: &mut Tx,
    hub: &Hub,
    caller: &Caller,
    method: &str,
    args: &[Json],
    mut o: TaskOpts,
) -> Result<i64> {
    let mut parent_channel = None;
    if let Some(parent) = o.parent {
        let p = fetch_opt(
            &**tx,
            "SELECT state, owner, channel_id, priority, arch FROM task WHERE id = ?",
            params![parent],
        )
        .await?
        .ok_or_else(|| Error::Generic(format!("Invalid parent task: {parent}")))?;
        if p.opt_int("state")? != Some(TaskState::Open as i64) {
            return Err(Error::Generic(format!(
                "Parent task (id {parent}) is not open"
            )));
        }
        if o.priority.is_none() {
            o.priority = Some(p.opt_int("priority")?.unwrap_or(PRIO_DEFAULT) - 1);
        }
        if o.owner.is_none() {
            o.owner = Some(p.int("owner")?);
        }
        if o.arch.is_none() {
            o.arch = Some(p.string("arch")?);
        }
        parent_channel = Some(p.int("channel_id")?);
    } else {
        o.priority.get_or_insert(PRIO_DEFAULT);
        o.arch.get_or_insert_with(|| "noarch".into());
        if o.owner.is_none() {
            o.owner = Some(
                caller
                    .session
                    .as_ref()
                    .map(|s| s.user_id)
                    .ok_or_else(|| Error::Generic("task must have an owner".into()))?,
            );
        }
        o.label = None;
    }
    let owner = o.owner.unwrap_or_default();
    let arch = o.arch.clone().unwrap_or_else(|| "noarch".into());
    let mut data = Map::new();
    data.insert("method".into(), Json::from(method));
    data.insert("arch".into(), Json::from(arch.clone()));
    data.insert("parent".into(), Json::from(o.parent));
    data.insert("label".into(), Json::from(o.label.clone()));
    data.insert("owner".into(), Json::from(owner));
    data.insert("user_id".into(), Json::from(owner));
    let mut req_channel_id = None;
    if let Some(ch) = &o.channel {
        data.insert("req_channel".into(), ch.clone());
        let info = get_channel_in(&**tx, ch, false)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such channel: {}", py_str(ch))))?;
        if !info.enabled {
            return Err(Error::Generic(format!(
                "Channel {} is disabled.",
                py_str(ch)
            )));
        }
        req_channel_id = Some(info.id);
    }
    data.extend(policy_data_from_args(&**tx, method, args).await?);
    let data = Json::Object(data);
    let env = crate::policy::HubEnv::new(&**tx, caller);
    let policies = hub.config().policies.clone();
    let channel_id = match policies.apply(&env, "channel", &data).await? {
        None | Some(crate::policy::Outcome { action: None, .. }) => {
            tracing::warn!("Channel policy returned no result, using default");
            channel_id_in(&**tx, "default").await?
        }
        Some(crate::policy::Outcome {
            action: Some(action),
            ..
        }) => {
            let parts: Vec<&str> = action.split_whitespace().collect();
            match parts.as_slice() {
                ["use", name, ..] => {
                    let info = get_channel_in(&**tx, &Json::from(*name), true)
                        .await?
                        .ok_or_else(|| Error::generic("invalid channel policy"))?;
                    if !info.enabled {
                        return Err(Error::Generic(format!("Channel {name} is disabled.")));
                    }
                    info.id
                }
                ["parent", ..] => parent_channel.ok_or_else(|| {
                    tracing::error!("Invalid channel policy result (no parent task): {action}");
                    Error::generic("invalid channel policy")
                })?,
                ["req", ..] => req_channel_id.ok_or_else(|| {
                    tracing::error!("Invalid channel policy result (no channel requested)");
                    Error::generic("invalid channel policy")
                })?,
                _ => {
                    tracing::error!("Invalid result from channel policy: {action}");
                    return Err(Error::generic("invalid channel policy"));
                }
            }
        }
    };
    let mut priority = o.priority.unwrap_or(PRIO_DEFAULT);
    if let Some(crate::policy::Outcome {
        action: Some(action),
        ..
    }) = policies.apply(&env, "priority", &data).await?
    {
        let parts: Vec<&str> = action.split_whitespace().collect();
        let bad = || Error::generic("invalid priority policy");
        match parts.as_slice() {
            ["stay", ..] => {}
            ["set", v, ..] => priority = v.parse().map_err(|_| bad())?,
            ["adjust", v, ..] => {
                priority += v
                    .trim_start_matches('+')
                    .parse::<i64>()
                    .map_err(|_| bad())?
            }
            _ => return Err(bad()),
        }
    }
    let (state, host) = match o.assign {
        Some(h) => (TaskState::Assigned, Some(h)),
        None => (TaskState::Free, None),
    };
    let request = encode_request(method, args);
    let row = crate::db::fetch_one(
        &**tx,
        "INSERT INTO task (state, create_time, owner, method, request, priority, parent, label, \
         channel_id, arch, host_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        params![
            state as i64,
            now(),
            owner,
            method,
            request,
            priority,
            o.parent,
            o.label,
            channel_id,
            arch,
            host
        ],
    )
    .await?;
    let id = row.int("id")?;
    tracing::debug!(task = id, method, "task created");
    Ok(id)
}

async fn channel_id_in<C: ConnectionTrait>(c: &C, name: &str) -> Result<i64> {
    fetch_opt(c, "SELECT id FROM channels WHERE name = ?", params![name])
        .await?
        .ok_or_else(|| Error::Generic(format!("No such channel: {name}")))?
        .int("id")
}

// ---------------------------------------------------------------------------
// State changes (inside a transaction)
// ---------------------------------------------------------------------------

/// Upstream's `Task.lock`: moves a task to `new` (ASSIGNED or OPEN) for
/// `host_id`; false when another host has it or it is not free/assigned
/// to this host.
pub async fn lock_in(tx: &Tx, id: i64, host_id: i64, new: TaskState, force: bool) -> Result<bool> {
    if !force {
        let r = fetch_opt(
            &**tx,
            "SELECT state, host_id FROM task WHERE id = ?",
            params![id],
        )
        .await?
        .ok_or_else(|| Error::Generic(format!("No such task: {id}")))?;
        let state = r.opt_int("state")?.and_then(TaskState::from_i64);
        let other = r.opt_int("host_id")?;
        match state {
            Some(TaskState::Free) => {
                if other.is_some() {
                    tracing::error!(task = id, "task is both free and held by a host");
                    return Ok(false);
                }
            }
            Some(TaskState::Assigned) => match other {
                None => return Ok(false),
                Some(h) if h != host_id => return Ok(false),
                Some(_) if new == TaskState::Assigned => return Ok(true),
                Some(_) => {}
            },
            _ => return Ok(false),
        }
    }
    // the condition makes a concurrent lock of the same row lose
    let cond = "id = ? AND (? OR (state = 0 AND host_id IS NULL) OR (state = 4 AND host_id = ?))";
    let n = if new == TaskState::Open {
        exec(
            &**tx,
            &format!("UPDATE task SET state = ?, host_id = ?, start_time = ? WHERE {cond}"),
            params![new as i64, host_id, now(), id, force, host_id],
        )
        .await?
    } else {
        exec(
            &**tx,
            &format!("UPDATE task SET state = ?, host_id = ? WHERE {cond}"),
            params![new as i64, host_id, id, force, host_id],
        )
        .await?
    };
    Ok(n == 1)
}

/// Upstream's `Task.free`: back to FREE with no host.
pub async fn free_in(tx: &Tx, id: i64) -> Result<()> {
    let state = task_state_in(&**tx, id).await?;
    if state == TaskState::Free {
        // upstream reads the FREE state (0) as "no row"
        return Err(Error::Generic(format!("No such task: {id}")));
    }
    if state.is_finished() {
        return Err(Error::Generic(format!(
            "Cannot free task {id}, state is {}",
            state.name()
        )));
    }
    exec(
        &**tx,
        "UPDATE task SET state = ?, host_id = NULL WHERE id = ?",
        params![TaskState::Free as i64, id],
    )
    .await?;
    Ok(())
}

/// Upstream's `Task.cancel`: true if canceled now or before, false if it
/// had finished. Cancels the task's building builds and, with `recurse`,
/// its children.
pub async fn cancel_in(
    tx: &mut Tx,
    hub: &Hub,
    caller: &Caller,
    id: i64,
    recurse: bool,
) -> Result<bool> {
    let mut stack = vec![(id, recurse)];
    let mut first = None;
    while let Some((tid, rec)) = stack.pop() {
        let state = task_state_in(&**tx, tid).await?;
        let done = match state {
            TaskState::Canceled => true,
            TaskState::Closed | TaskState::Failed => false,
            _ => {
                exec(
                    &**tx,
                    "UPDATE task SET state = ?, completion_time = ? WHERE id = ?",
                    params![TaskState::Canceled as i64, now(), tid],
                )
                .await?;
                let builds = fetch_all(
                    &**tx,
                    "SELECT id FROM build WHERE task_id = ? AND state = ?",
                    params![tid, BuildState::Building as i64],
                )
                .await?;
                for b in builds {
                    cancel_build_in(tx, hub, caller, b.int("id")?, false).await?;
                }
                if rec {
                    for c in children_ids_in(&**tx, tid).await?.into_iter().rev() {
                        stack.push((c, true));
                    }
                }
                true
            }
        };
        first.get_or_insert(done);
    }
    Ok(first.unwrap_or(false))
}

async fn children_ids_in<C: ConnectionTrait>(c: &C, id: i64) -> Result<Vec<i64>> {
    fetch_all(
        c,
        "SELECT id FROM task WHERE parent = ? ORDER BY id",
        params![id],
    )
    .await?
    .iter()
    .map(|r| r.int("id"))
    .collect()
}

/// Upstream's `Task.cancelFull`: cancels a top-level task and every task
/// below it; without `strict` a subtask leads to its top-level task.
pub async fn cancel_full_in(
    tx: &mut Tx,
    hub: &Hub,
    caller: &Caller,
    id: i64,
    strict: bool,
) -> Result<()> {
    let mut top = id;
    let mut seen = std::collections::HashSet::new();
    seen.insert(top);
    loop {
        let parent = fetch_opt(&**tx, "SELECT parent FROM task WHERE id = ?", params![top])
            .await?
            .map(|r| r.opt_int("parent"))
            .transpose()?
            .flatten();
        let Some(parent) = parent else { break };
        if strict {
            return Err(Error::Generic(format!(
                "Task {id} is not top-level (parent={parent})"
            )));
        }
        if !seen.insert(parent) {
            return Err(Error::Generic(format!("Task LOOP at task {top}")));
        }
        top = parent;
    }
    let mut list = vec![top];
    let mut i = 0;
    let mut seen = std::collections::HashSet::new();
    while i < list.len() {
        let tid = list[i];
        i += 1;
        if !seen.insert(tid) {
            return Err(Error::Generic(format!("Task LOOP at task {tid}")));
        }
        Box::pin(cancel_in(tx, hub, caller, tid, false)).await?;
        list.extend(children_ids_in(&**tx, tid).await?);
    }
    Ok(())
}

/// Closes (`CLOSED`) or fails (`FAILED`) a task with its encoded result.
pub async fn close_in(tx: &Tx, id: i64, result: &str, state: TaskState) -> Result<()> {
    exec(
        &**tx,
        "UPDATE task SET result = ?, state = ?, completion_time = ? WHERE id = ?",
        params![result, state as i64, now(), id],
    )
    .await?;
    Ok(())
}

/// The answer of upstream's `Task.getResult`.
pub async fn result_in<C: ConnectionTrait>(c: &C, id: i64, raise_fault: bool) -> Result<Json> {
    let r = fetch_opt(
        c,
        "SELECT state, result FROM task WHERE id = ?",
        params![id],
    )
    .await?
    .ok_or_else(|| Error::generic("No such task"))?;
    let state = r.opt_int("state")?.and_then(TaskState::from_i64);
    match state {
        Some(TaskState::Canceled) => return Err(Error::Generic(format!("Task {id} is canceled"))),
        Some(TaskState::Closed) | Some(TaskState::Failed) => {}
        _ => return Err(Error::Generic(format!("Task {id} is not finished"))),
    }
    let text = r.opt_string("result")?.unwrap_or_default();
    match decode_result(&text)? {
        TaskOutcome::Value(v) => Ok(v),
        TaskOutcome::Fault { code, message } if raise_fault => {
            Err(Error::from_fault(code, message))
        }
        TaskOutcome::Fault { code, message } => {
            Ok(json!({"faultCode": code, "faultString": message}))
        }
    }
}

/// The request (the list of arguments) of a task.
pub async fn request_in<C: ConnectionTrait>(c: &C, id: i64) -> Result<Vec<Json>> {
    let r = fetch_opt(c, "SELECT request FROM task WHERE id = ?", params![id])
        .await?
        .ok_or_else(|| Error::generic("query returned no rows"))?;
    decode_request(&r.opt_string("request")?.unwrap_or_default())
}

// ---------------------------------------------------------------------------
// The user-facing calls
// ---------------------------------------------------------------------------

/// The arguments of `build` and `chainBuild`.
#[derive(Debug, Clone, Default)]
pub struct BuildRequest {
    /// An SCM URL or an uploaded SRPM's path (`build`); lists of them
    /// (`chainBuild`).
    pub src: Json,
    pub target: Json,
    pub opts: Json,
    /// Relative to the default priority; negative for admins only.
    pub priority: Json,
    pub channel: Json,
}

/// `listTasks` options (upstream's `opts` map), already parsed.
fn list_conditions(opts: &Map<String, Json>, wh: &mut Where) -> Result<()> {
    fn values(v: &Json) -> Vec<Value> {
        match v {
            Json::Array(a) => a.iter().map(json_value).collect(),
            other => vec![json_value(other)],
        }
    }
    fn json_value(v: &Json) -> Value {
        match v {
            Json::Number(n) if n.is_i64() => n.as_i64().into(),
            Json::Number(n) => n.as_f64().into(),
            Json::Bool(b) => (*b as i64).into(),
            Json::String(s) => s.clone().into(),
            other => py_repr(other).into(),
        }
    }
    fn marks(n: usize) -> String {
        vec!["?"; n.max(1)].join(", ")
    }
    for f in ["arch", "state"] {
        if let Some(v) = opts.get(f) {
            let vals = values(v);
            if vals.is_empty() {
                wh.and("1 = 0", vec![]);
            } else {
                wh.and(format!("task.{f} IN ({})", marks(vals.len())), vals);
            }
        }
        if let Some(v) = opts.get(&format!("not_{f}")) {
            let vals = values(v);
            if !vals.is_empty() {
                wh.and(format!("task.{f} NOT IN ({})", marks(vals.len())), vals);
            }
        }
    }
    for f in ["owner", "host_id", "channel_id", "parent"] {
        if let Some(v) = opts.get(f) {
            match v {
                Json::Null => wh.and(format!("task.{f} IS NULL"), vec![]),
                Json::Array(a) if a.is_empty() => wh.and("1 = 0", vec![]),
                Json::Array(_) => {
                    let vals = values(v);
                    wh.and(format!("task.{f} IN ({})", marks(vals.len())), vals)
                }
                other => wh.and(format!("task.{f} = ?"), vec![json_value(other)]),
            };
        }
        if let Some(v) = opts.get(&format!("not_{f}")) {
            match v {
                Json::Null => wh.and(format!("task.{f} IS NOT NULL"), vec![]),
                Json::Array(a) if a.is_empty() => wh,
                Json::Array(_) => {
                    let vals = values(v);
                    wh.and(format!("task.{f} NOT IN ({})", marks(vals.len())), vals)
                }
                other => wh.and(format!("task.{f} != ?"), vec![json_value(other)]),
            };
        }
    }
    if let Some(m) = opts.get("method") {
        wh.and("task.method = ?", vec![json_value(m)]);
    }
    for (key, col, cmp) in [
        ("createdBefore", "create_time", "<"),
        ("createdAfter", "create_time", ">"),
        ("startedBefore", "start_time", "<"),
        ("startedAfter", "start_time", ">"),
        ("completeBefore", "completion_time", "<"),
        ("completeAfter", "completion_time", ">"),
        ("completedBefore", "completion_time", "<"),
        ("completedAfter", "completion_time", ">"),
    ] {
        if let Some(v) = opts.get(key).filter(|v| !v.is_null()) {
            let t = super::history::time_arg(v)?;
            wh.and(format!("task.{col} {cmp} ?"), params![t]);
        }
    }
    Ok(())
}

impl Tasks<'_> {
    /// `getTaskInfo(task_id, request=False, strict=False)`: one map, or a
    /// list of them for a list of ids (None for missing ones).
    pub async fn info(&self, ids: &Json, request: bool, strict: bool) -> Result<Json> {
        let c = self.0.db().conn();
        let (single, ids) = match ids {
            Json::Array(a) => (false, a.clone()),
            other => (true, vec![other.clone()]),
        };
        let mut out = vec![];
        for v in &ids {
            let id = task_id_arg(v)?;
            match get_task_in(c, id).await? {
                Some(mut m) => {
                    if request {
                        m.insert("request".into(), Json::Array(request_in(c, id).await?));
                    }
                    out.push(Json::Object(m));
                }
                None if strict => return Err(Error::generic("query returned no rows")),
                None => out.push(Json::Null),
            }
        }
        Ok(if single {
            out.pop().unwrap_or(Json::Null)
        } else {
            Json::Array(out)
        })
    }

    /// `getTaskRequest(taskId)`.
    pub async fn request(&self, id: &Json) -> Result<Vec<Json>> {
        request_in(self.0.db().conn(), task_id_arg(id)?).await
    }

    /// `getTaskResult(taskId, raise_fault=True)`.
    pub async fn result(&self, id: &Json, raise_fault: bool) -> Result<Json> {
        result_in(self.0.db().conn(), task_id_arg(id)?, raise_fault).await
    }

    /// `taskFinished(taskId)`.
    pub async fn finished(&self, id: &Json) -> Result<bool> {
        let id = task_id_arg(id)?;
        let r = fetch_opt(
            self.0.db().conn(),
            "SELECT state FROM task WHERE id = ?",
            params![id],
        )
        .await?
        .ok_or_else(|| Error::generic("query returned no rows"))?;
        Ok(r.opt_int("state")?
            .and_then(TaskState::from_i64)
            .is_some_and(TaskState::is_finished))
    }

    /// `getTaskChildren(task_id, request=False, strict=False)`.
    pub async fn children(&self, id: &Json, request: bool, strict: bool) -> Result<Vec<Json>> {
        let c = self.0.db().conn();
        let id = task_id_arg(id)?;
        if strict && get_task_in(c, id).await?.is_none() {
            return Err(Error::generic("query returned no rows"));
        }
        children_in(c, id, request).await
    }

    /// `getTaskDescendents(task_id, request=False)`: `{str(id): [children]}`
    /// for the task and every task below it.
    pub async fn descendents(&self, id: &Json, request: bool) -> Result<Json> {
        let c = self.0.db().conn();
        let mut out = Map::new();
        let mut queue = vec![task_id_arg(id)?];
        while let Some(tid) = queue.pop() {
            let kids = children_in(c, tid, request).await?;
            let ids: Vec<i64> = kids
                .iter()
                .filter_map(|k| k.get("id").and_then(Json::as_i64))
                .collect();
            out.insert(tid.to_string(), Json::Array(kids));
            queue.extend(ids.into_iter().rev());
        }
        Ok(Json::Object(out))
    }

    /// `listTasks(opts=None, queryOpts=None)`.
    pub async fn list(&self, opts: &Json, query_opts: &Json) -> Result<Json> {
        let empty = Map::new();
        let opts = match opts {
            Json::Object(m) => m,
            Json::Null => &empty,
            other if !truthy(other) => &empty,
            other => return Err(crate::util::py_no_attribute(other, "get")),
        };
        let qo = QueryOpts::parse(query_opts)?;
        let mut wh = Where::new();
        list_conditions(opts, &mut wh)?;
        let c = self.0.db().conn();
        let sql = format!(
            "SELECT {TASK_COLUMNS}, task.request, task.result, users.name AS owner_name, \
             users.usertype AS owner_type FROM task LEFT JOIN users ON task.owner = users.id{} \
             ORDER BY task.id",
            wh.sql()
        );
        let rows = fetch_all(c, &sql, wh.params).await?;
        let decode = opts.get("decode").is_some_and(truthy) && !qo.count_only && !qo.as_list;
        let mut out = Vec::with_capacity(rows.len());
        for r in &rows {
            let mut m = task_map(r)?;
            let request = r.opt_string("request")?;
            let result = r.opt_string("result")?;
            let (request, result) = if decode {
                (
                    decode_opt(request.as_deref(), true)?,
                    decode_opt(result.as_deref(), false)?,
                )
            } else {
                (Json::from(request), Json::from(result))
            };
            m.insert("request".into(), request);
            m.insert("result".into(), result);
            m.insert("owner_name".into(), Json::from(r.opt_string("owner_name")?));
            m.insert("owner_type".into(), Json::from(r.opt_int("owner_type")?));
            out.push(Json::Object(sort_map(m)));
        }
        let mut names: Vec<&str> = TASK_KEYS.to_vec();
        names.extend(["request", "result", "owner_name", "owner_type"]);
        let mut cols = Columns::sorted(&names);
        for k in TASK_KEYS {
            if !k.ends_with("_ts") {
                cols = cols.expr(&format!("task.{k}"), k);
            }
        }
        cols = cols
            .expr("users.name", "owner_name")
            .expr("users.usertype", "owner_type");
        qo.apply(out, &cols)
    }

    /// `makeTask(method, arglist, **opts)`: admins only; `owner` refused.
    pub async fn make(
        &self,
        caller: &Caller,
        method: &Json,
        args: &Json,
        kw: &Map<String, Json>,
    ) -> Result<i64> {
        caller.assert_perm("admin")?;
        if kw.contains_key("owner") {
            return Err(Error::ActionNotAllowed(
                "The owner option is not allowed here".into(),
            ));
        }
        let method = method_name(method)?;
        let args = match args {
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        let mut tx = self.0.db().begin().await?;
        let opts = TaskOpts::from_kwargs(&*tx, kw).await?;
        let id = make_task_in(&mut tx, self.0, caller, &method, &args, opts).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(id)
    }

    /// `build(src, target, opts=None, priority=None, channel=None)`, and
    /// the same for `chainBuild` (method `chainbuild`).
    pub async fn build(&self, caller: &Caller, method: &str, req: &BuildRequest) -> Result<i64> {
        let BuildRequest {
            src,
            target,
            opts,
            priority,
            channel,
        } = req;
        caller.user_id()?;
        if method == "build" && !src.is_string() {
            return Err(Error::Parameter(format!(
                "Invalid type for value '{}': {}",
                py_str(src),
                crate::util::py_class(src)
            )));
        }
        if method == "chainbuild" && !src.is_array() {
            return Err(Error::Parameter(format!(
                "Invalid type for value '{}': {}",
                py_str(src),
                crate::util::py_class(src)
            )));
        }
        let opts = if truthy(opts) {
            opts.clone()
        } else {
            json!({})
        };
        let mut to = TaskOpts::default();
        if truthy(priority) {
            let p = py_int(priority).ok_or_else(|| {
                Error::Parameter(format!("Invalid priority: {}", py_str(priority)))
            })?;
            if p < 0 && !caller.has_perm("admin") {
                return Err(Error::ActionNotAllowed(
                    "only admins may create high-priority tasks".into(),
                ));
            }
            to.priority = Some(PRIO_DEFAULT + p);
        }
        if truthy(channel) {
            to.channel = Some(channel.clone());
        }
        let mut tx = self.0.db().begin().await?;
        let id = make_task_in(
            &mut tx,
            self.0,
            caller,
            method,
            &[src.clone(), target.clone(), opts],
            to,
        )
        .await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(id)
    }

    /// `restartHosts(priority=5, options=None)`: needs `host`.
    pub async fn restart_hosts(
        &self,
        caller: &Caller,
        priority: &Json,
        options: &Json,
    ) -> Result<i64> {
        caller.assert_perm("host")?;
        let args = match options {
            Json::Null => vec![],
            Json::Object(_) => vec![options.clone()],
            other => {
                return Err(Error::Parameter(format!(
                    "Invalid type of options: {}",
                    crate::util::py_class(other)
                )))
            }
        };
        let to = TaskOpts {
            priority: Some(py_int(priority).unwrap_or(5)),
            ..TaskOpts::default()
        };
        let mut tx = self.0.db().begin().await?;
        let id = make_task_in(&mut tx, self.0, caller, "restartHosts", &args, to).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(id)
    }

    /// `cancelTask(task_id, recurse=True)`: the owner, the task's host or
    /// an admin.
    pub async fn cancel(&self, caller: &Caller, id: &Json, recurse: bool) -> Result<()> {
        let id = task_id_arg(id)?;
        let mut tx = self.0.db().begin().await?;
        self.assert_owner_or_host(&tx, caller, id).await?;
        cancel_in(&mut tx, self.0, caller, id, recurse).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(())
    }

    /// `cancelTaskChildren(task_id)`.
    pub async fn cancel_children(&self, caller: &Caller, id: &Json) -> Result<()> {
        caller.user_id()?;
        let id = task_id_arg(id)?;
        let mut tx = self.0.db().begin().await?;
        self.assert_owner_or_host(&tx, caller, id).await?;
        for c in children_ids_in(&*tx, id).await? {
            cancel_in(&mut tx, self.0, caller, c, true).await?;
        }
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(())
    }

    async fn assert_owner_or_host(&self, tx: &Tx, caller: &Caller, id: i64) -> Result<()> {
        let row = fetch_opt(
            &**tx,
            "SELECT owner, state, host_id FROM task WHERE id = ?",
            params![id],
        )
        .await?
        .ok_or_else(|| Error::Generic(format!("No such task: {id}")))?;
        let owner = caller
            .session
            .as_ref()
            .is_some_and(|s| Some(s.user_id) == row.opt_int("owner").ok().flatten());
        let host = match session_host_id_in(&**tx, caller).await? {
            Some(h) => {
                row.opt_int("state")? == Some(TaskState::Open as i64)
                    && row.opt_int("host_id")? == Some(h)
            }
            None => false,
        };
        if !owner && !host && !caller.has_perm("admin") {
            return Err(Error::ActionNotAllowed(
                "Cannot cancel task, not owner".into(),
            ));
        }
        Ok(())
    }

    /// `cancelTaskFull(task_id, strict=True)`: admins only.
    pub async fn cancel_full(&self, caller: &Caller, id: &Json, strict: bool) -> Result<()> {
        caller.assert_perm("admin")?;
        let id = task_id_arg(id)?;
        let mut tx = self.0.db().begin().await?;
        cancel_full_in(&mut tx, self.0, caller, id, strict).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(())
    }

    /// `freeTask(task_id)`: admins only.
    pub async fn free(&self, caller: &Caller, id: &Json) -> Result<()> {
        caller.assert_perm("admin")?;
        let id = task_id_arg(id)?;
        let tx = self.0.db().begin().await?;
        free_in(&tx, id).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(())
    }

    /// `setTaskPriority(task_id, priority, recurse=True)`: admins only.
    pub async fn set_priority(
        &self,
        caller: &Caller,
        id: &Json,
        priority: &Json,
        recurse: bool,
    ) -> Result<()> {
        caller.assert_perm("admin")?;
        let id = task_id_arg(id)?;
        let priority = task_id_arg(priority)?;
        let tx = self.0.db().begin().await?;
        if task_state_in(&*tx, id).await?.is_finished() {
            return Err(Error::generic("Finished task's priority can't be updated"));
        }
        let mut todo = vec![id];
        while let Some(t) = todo.pop() {
            exec(
                &*tx,
                "UPDATE task SET priority = ? WHERE id = ?",
                params![priority, t],
            )
            .await?;
            if recurse {
                todo.extend(children_ids_in(&*tx, t).await?);
            }
        }
        tx.commit().await
    }

    /// `resubmitTask(taskID)`: a canceled or failed top-level task again,
    /// as a new task; the owner or an admin.
    pub async fn resubmit(&self, caller: &Caller, id: &Json) -> Result<i64> {
        let user = caller.user_id()?;
        let id = task_id_arg(id)?;
        let mut tx = self.0.db().begin().await?;
        let state = task_state_in(&*tx, id).await?;
        if !matches!(state, TaskState::Canceled | TaskState::Failed) {
            return Err(Error::generic(
                "only canceled or failed tasks may be resubmitted",
            ));
        }
        let info = get_task_in(&*tx, id)
            .await?
            .ok_or_else(|| Error::generic("query returned no rows"))?;
        if !info["parent"].is_null() {
            return Err(Error::generic("only top-level tasks may be resubmitted"));
        }
        if info["owner"].as_i64() != Some(user) && !caller.has_perm("admin") {
            return Err(Error::generic(
                "only the task owner or an admin may resubmit a task",
            ));
        }
        let args = request_in(&*tx, id).await?;
        let method = info["method"].as_str().unwrap_or_default().to_string();
        let channel = get_channel_in(&*tx, &info["channel_id"], true)
            .await?
            .map(|c| c.name);
        let to = TaskOpts {
            arch: info["arch"].as_str().map(str::to_owned),
            channel: channel.map(Json::from),
            priority: info["priority"].as_i64(),
            ..TaskOpts::default()
        };
        let new = make_task_in(&mut tx, self.0, caller, &method, &args, to).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(new)
    }

    /// `listTaskOutput(taskID, stat=False, all_volumes=False, strict=False)`.
    pub async fn list_output(
        &self,
        id: &Json,
        stat: bool,
        all_volumes: bool,
        strict: bool,
    ) -> Result<Json> {
        let id = task_id_arg(id)?;
        if strict && get_task_in(self.0.db().conn(), id).await?.is_none() {
            return Err(Error::generic("Task doesn't exist"));
        }
        let volumes: Vec<String> = if all_volumes {
            self.0
                .builds()
                .list_volumes()
                .await?
                .into_iter()
                .map(|v| v.name)
                .collect()
        } else {
            vec!["DEFAULT".into()]
        };
        let pi = self.0.pathinfo();
        let mut list = vec![];
        let mut map = Map::new();
        for vol in &volumes {
            let v = (vol != "DEFAULT").then_some(vol.as_str());
            let dir = pi.task(id, v);
            let mut files = vec![];
            walk_files(&dir, &dir, &mut files);
            files.sort_by(|a, b| a.0.cmp(&b.0));
            for (rel, meta) in files {
                let st = || {
                    let t = |s: std::io::Result<std::time::SystemTime>| {
                        s.ok()
                            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                            .map(|d| d.as_secs_f64())
                    };
                    use std::os::unix::fs::MetadataExt;
                    json!({
                        "st_atime": t(meta.accessed()),
                        "st_ctime": meta.ctime() as f64 + meta.ctime_nsec() as f64 / 1e9,
                        "st_mtime": t(meta.modified()),
                        "st_size": meta.len().to_string(),
                    })
                };
                match (stat, all_volumes) {
                    (false, false) => list.push(Json::from(rel)),
                    (true, false) => {
                        map.insert(rel, st());
                    }
                    (false, true) => {
                        let e = map.entry(rel).or_insert_with(|| json!([]));
                        if let Json::Array(a) = e {
                            a.push(Json::from(vol.clone()));
                        }
                    }
                    (true, true) => {
                        let e = map.entry(rel).or_insert_with(|| json!({}));
                        if let Json::Object(o) = e {
                            o.insert(vol.clone(), st());
                        }
                    }
                }
            }
        }
        Ok(if stat || all_volumes {
            Json::Object(map)
        } else {
            Json::Array(list)
        })
    }

    /// `downloadTaskOutput(taskID, fileName, offset=0, size=-1, volume=None)`:
    /// the bytes as base64 text.
    pub async fn download_output(
        &self,
        id: &Json,
        name: &Json,
        offset: &Json,
        size: &Json,
        volume: &Json,
    ) -> Result<Json> {
        let size = task_id_arg(size)?;
        let volume = if truthy(volume) {
            Some(
                self.0
                    .builds()
                    .get_volume(volume, true)
                    .await?
                    .map(|v| v.name)
                    .unwrap_or_default(),
            )
        } else {
            None
        };
        let id = task_id_arg(id)?;
        let name = py_str(name);
        if name.contains("..") {
            return Err(Error::Generic(format!("Invalid file name: {name}")));
        }
        let v = volume.as_deref().filter(|v| *v != "DEFAULT");
        let dir = self.0.pathinfo().task(id, v);
        let path = dir.join(name.trim_start_matches('/'));
        let not_found = || Error::Generic(format!("no file \"{name}\" output by task {id}"));
        // confined to the task's directory, symlinks included
        let meta = std::fs::metadata(&path).map_err(|_| not_found())?;
        if !meta.is_file() {
            return Err(not_found());
        }
        let real = std::fs::canonicalize(&path).map_err(|_| not_found())?;
        let root = std::fs::canonicalize(self.0.pathinfo().topdir()).map_err(|_| not_found())?;
        if !real.starts_with(&root) {
            return Err(not_found());
        }
        use std::io::{Read, Seek, SeekFrom};
        let mut f = std::fs::File::open(&real)?;
        let offset = match offset {
            Json::Null => 0,
            other => py_int(other).unwrap_or(0),
        };
        if offset > 0 {
            f.seek(SeekFrom::Start(offset as u64))?;
        } else if offset < 0 {
            f.seek(SeekFrom::End(offset))?;
        }
        let mut buf = vec![];
        if size < 0 {
            f.read_to_end(&mut buf)?;
        } else {
            f.take(size as u64).read_to_end(&mut buf)?;
        }
        // upstream answers the base64 text itself (a string, not binary)
        use base64::Engine as _;
        Ok(Json::from(
            base64::engine::general_purpose::STANDARD.encode(&buf),
        ))
    }
}

fn walk_files(
    root: &std::path::Path,
    dir: &std::path::Path,
    out: &mut Vec<(String, std::fs::Metadata)>,
) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            walk_files(root, &p, out);
        } else if let Ok(meta) = std::fs::metadata(&p) {
            if let Ok(rel) = p.strip_prefix(root) {
                out.push((rel.to_string_lossy().into_owned(), meta));
            }
        }
    }
}

fn sort_map(m: Map<String, Json>) -> Map<String, Json> {
    let mut v: Vec<_> = m.into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.into_iter().collect()
}

/// `listTasks(decode=True)`: a request becomes its argument list, a
/// result the list holding its value, or the fault's map.
fn decode_opt(text: Option<&str>, request: bool) -> Result<Json> {
    let Some(text) = text.filter(|t| !t.is_empty()) else {
        return Ok(Json::from(text));
    };
    if request {
        return Ok(Json::Array(decode_request(text)?));
    }
    Ok(match decode_result(text)? {
        TaskOutcome::Value(v) => Json::Array(vec![v]),
        TaskOutcome::Fault { code, message } => {
            json!({"faultCode": code, "faultString": message})
        }
    })
}

fn method_name(v: &Json) -> Result<String> {
    match v {
        Json::String(s) => Ok(s.clone()),
        other => Err(Error::Parameter(format!(
            "Invalid type for value '{}': {}",
            py_str(other),
            crate::util::py_class(other)
        ))),
    }
}

/// Children of a task as maps, by id; with `request`, each with its
/// decoded request.
pub async fn children_in<C: ConnectionTrait>(c: &C, id: i64, request: bool) -> Result<Vec<Json>> {
    let rows = fetch_all(
        c,
        &format!("SELECT {TASK_COLUMNS}, task.request FROM task WHERE parent = ? ORDER BY id"),
        params![id],
    )
    .await?;
    let mut out = vec![];
    for r in &rows {
        let mut m = task_map(r)?;
        if request {
            m.insert(
                "request".into(),
                Json::Array(decode_request(
                    &r.opt_string("request")?.unwrap_or_default(),
                )?),
            );
        }
        out.push(Json::Object(m));
    }
    Ok(out)
}
