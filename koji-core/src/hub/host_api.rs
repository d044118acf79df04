//! The host API: what a builder calls (upstream's `host.*` methods).
//!
//! Only a logged-in host with an exclusive session may call it, and a
//! host may only touch tasks it holds (OPEN with its `host_id`).
//! koji-server exposes these calls twice: as upstream's XML-RPC `host.*`
//! (so an upstream kojid can serve this hub) and through the native
//! builder transport.

use super::scheduler::{set_host_data_in, set_refusal_in, tasks_for_host_in};
use super::tasks::{
    close_in, free_in, get_task_in, lock_in, make_task_in, result_in, session_host_id_in,
    task_id_arg, TaskOpts, TaskState,
};
use super::{Caller, Hub};
use crate::db::{exec, fetch_all, fetch_opt, RowExt, Tx};
use crate::error::{Error, Result};
use crate::params;
use serde_json::{json, Map, Value as Json};

pub struct HostApi<'a>(pub(super) &'a Hub);

impl Hub {
    /// The calls a build host makes (`host.*`).
    pub fn host_api(&self) -> HostApi<'_> {
        HostApi(self)
    }
}

/// Upstream's `Host.verify`: the caller's host id.
pub async fn verify_host<C: sea_orm::ConnectionTrait>(c: &C, caller: &Caller) -> Result<i64> {
    let Some(s) = &caller.session else {
        return Err(Error::Auth("Not logged-in".into()));
    };
    let Some(id) = session_host_id_in(c, caller).await? else {
        return Err(Error::Auth(format!("User {} is not a host", s.user_id)));
    };
    if !s.exclusive {
        return Err(Error::Auth(
            "This method requires an exclusive session".into(),
        ));
    }
    Ok(id)
}

/// Upstream's `Task.assertHost`: the task is OPEN and held by `host`.
pub(crate) async fn assert_holds(tx: &Tx, host: i64, task: i64) -> Result<()> {
    let r = fetch_opt(
        &**tx,
        "SELECT state, host_id FROM task WHERE id = ?",
        params![task],
    )
    .await?
    .ok_or_else(|| Error::Generic(format!("No such task: {task}")))?;
    if r.opt_int("state")? == Some(TaskState::Open as i64) && r.opt_int("host_id")? == Some(host) {
        return Ok(());
    }
    Err(Error::ActionNotAllowed(format!(
        "host {host} does not own task {task}"
    )))
}

/// Upstream's `taskWaitCheck`: awaited children, finished and not.
async fn wait_check<C: sea_orm::ConnectionTrait>(
    c: &C,
    parent: i64,
) -> Result<(Vec<i64>, Vec<i64>)> {
    let rows = fetch_all(
        c,
        "SELECT id, state FROM task WHERE parent = ? AND awaited = ? ORDER BY id",
        params![parent, true],
    )
    .await?;
    let mut done = vec![];
    let mut pending = vec![];
    for r in &rows {
        let finished = r
            .opt_int("state")?
            .and_then(TaskState::from_i64)
            .is_some_and(TaskState::is_finished);
        if finished {
            done.push(r.int("id")?);
        } else {
            pending.push(r.int("id")?);
        }
    }
    Ok((done, pending))
}

fn id_list(v: &Json) -> Result<Vec<i64>> {
    match v {
        Json::Array(a) => a.iter().map(task_id_arg).collect(),
        other => Err(Error::Parameter(format!(
            "Invalid type for value '{}': {}",
            crate::util::py_str(other),
            crate::util::py_class(other)
        ))),
    }
}

impl HostApi<'_> {
    async fn begin(&self, caller: &Caller) -> Result<(Tx, i64)> {
        let tx = self.0.db().begin().await?;
        let host = verify_host(&*tx, caller).await?;
        Ok((tx, host))
    }

    /// `host.getID()`.
    pub async fn get_id(&self, caller: &Caller) -> Result<i64> {
        verify_host(self.0.db().conn(), caller).await
    }

    /// `host.getHost()`: this host as `getHost` answers it.
    pub async fn get_host(&self, caller: &Caller) -> Result<Json> {
        let c = self.0.db().conn();
        let id = verify_host(c, caller).await?;
        Ok(serde_json::to_value(
            super::hosts::get_host_in(c, &Json::from(id), false, None).await?,
        )?)
    }

    /// `host.isEnabled()`.
    pub async fn is_enabled(&self, caller: &Caller) -> Result<bool> {
        let c = self.0.db().conn();
        let id = verify_host(c, caller).await?;
        fetch_opt(
            c,
            "SELECT enabled FROM host_config WHERE host_id = ? AND active = ?",
            params![id, true],
        )
        .await?
        .ok_or_else(|| Error::generic("query returned no rows"))?
        .boolean("enabled")
    }

    /// `host.updateHost(task_load, ready, data=None)`: the host's check-in.
    pub async fn update_host(
        &self,
        caller: &Caller,
        task_load: &Json,
        ready: &Json,
        data: &Json,
    ) -> Result<()> {
        let load = match task_load {
            Json::Number(n) => n.as_f64().unwrap_or_default(),
            Json::Bool(b) => *b as i64 as f64,
            Json::String(s) => s.trim().parse().map_err(|_| {
                crate::util::py_fault(
                    "ValueError",
                    format!("could not convert string to float: '{s}'"),
                )
            })?,
            other => {
                return Err(crate::util::py_fault(
                    "TypeError",
                    format!(
                        "float() argument must be a string or a real number, not '{}'",
                        crate::api::py_type_of(other)
                    ),
                ))
            }
        };
        let (tx, host) = self.begin(caller).await?;
        let ready = crate::api::truthy(ready);
        let was_ready = fetch_opt(&*tx, "SELECT ready FROM host WHERE id = ?", params![host])
            .await?
            .map(|r| r.opt_bool("ready"))
            .transpose()?
            .flatten()
            .unwrap_or(false);
        exec(
            &*tx,
            "UPDATE host SET task_load = ?, ready = ?, update_time = ? WHERE id = ?",
            params![load, ready, super::builds::now(), host],
        )
        .await?;
        if !data.is_null() {
            set_host_data_in(&tx, host, data).await?;
        }
        tx.commit().await?;
        // a host that became ready may take free tasks now: the scheduler
        // runs at once rather than after its interval
        if ready && !was_ready {
            self.0.task_events().notify();
        }
        Ok(())
    }

    /// `host.setHostData(hostdata)` (a map, or its JSON text).
    pub async fn set_host_data(&self, caller: &Caller, data: &Json) -> Result<()> {
        let data = match data {
            Json::String(s) => serde_json::from_str(s)
                .map_err(|e| crate::util::py_fault("json.decoder.JSONDecodeError", e))?,
            other => other.clone(),
        };
        let (tx, host) = self.begin(caller).await?;
        set_host_data_in(&tx, host, &data).await?;
        tx.commit().await
    }

    /// `host.getTasks()`: the tasks assigned to this host; when there are
    /// none, the scheduler runs first (if due).
    pub async fn get_tasks(&self, caller: &Caller) -> Result<Vec<Json>> {
        let c = self.0.db().conn();
        let host = verify_host(c, caller).await?;
        let tasks = tasks_for_host_in(c, host).await?;
        if !tasks.is_empty() {
            return Ok(tasks);
        }
        self.0.scheduler().run(false).await?;
        tasks_for_host_in(self.0.db().conn(), host).await
    }

    /// `host.getLoadData()`: `[[this host with its channels], its tasks]`.
    pub async fn get_load_data(&self, caller: &Caller) -> Result<Json> {
        let mut host = self.get_host(caller).await?;
        let id = host["id"].as_i64().unwrap_or_default();
        let chans: Vec<i64> = fetch_all(
            self.0.db().conn(),
            "SELECT channel_id FROM host_channels WHERE host_id = ? AND active = ? \
             ORDER BY channel_id",
            params![id, true],
        )
        .await?
        .iter()
        .map(|r| r.int("channel_id"))
        .collect::<Result<_>>()?;
        host["channels"] = json!(chans);
        let tasks = self.get_tasks(caller).await?;
        Ok(json!([[host], tasks]))
    }

    /// The ids of the tasks assigned to this host and of those it holds
    /// open (what the builder's push stream reports); the scheduler runs
    /// first if tasks changed.
    pub async fn watch_state(&self, caller: &Caller) -> Result<(Vec<i64>, Vec<i64>)> {
        let host = verify_host(self.0.db().conn(), caller).await?;
        self.0.scheduler().run(false).await?;
        let c = self.0.db().conn();
        let ids = |state: TaskState| async move {
            fetch_all(
                c,
                "SELECT id FROM task WHERE host_id = ? AND state = ? ORDER BY priority, id",
                params![host, state as i64],
            )
            .await?
            .iter()
            .map(|r| r.int("id"))
            .collect::<Result<Vec<i64>>>()
        };
        Ok((ids(TaskState::Assigned).await?, ids(TaskState::Open).await?))
    }

    /// `host.getHostTasks()`: this host's open tasks (`alert` when a task
    /// waiting on children has one finished).
    pub async fn get_host_tasks(&self, caller: &Caller) -> Result<Vec<Json>> {
        // a read every builder makes every turn: no write transaction
        let c = self.0.db().conn();
        let host = verify_host(c, caller).await?;
        let rows = fetch_all(
            c,
            "SELECT id, waiting, weight FROM task WHERE host_id = ? AND state = ? ORDER BY id",
            params![host, TaskState::Open as i64],
        )
        .await?;
        let mut out = vec![];
        for r in &rows {
            let id = r.int("id")?;
            let waiting = r.opt_bool("waiting")?;
            let mut m = json!({"id": id, "waiting": waiting, "weight": r.get::<f64>("weight")?});
            if waiting == Some(true) && !wait_check(c, id).await?.0.is_empty() {
                m["alert"] = Json::Bool(true);
            }
            out.push(m);
        }
        Ok(out)
    }

    /// `host.openTask(task_id)`: the task with its request, or None when
    /// it could not be opened (taken, canceled...).
    pub async fn open_task(&self, caller: &Caller, task: &Json) -> Result<Json> {
        let task = task_id_arg(task)?;
        let (tx, host) = self.begin(caller).await?;
        if !lock_in(&tx, task, host, TaskState::Open, false).await? {
            return Ok(Json::Null);
        }
        let mut info = get_task_in(&*tx, task)
            .await?
            .ok_or_else(|| Error::Generic(format!("No such task: {task}")))?;
        let req = fetch_opt(&*tx, "SELECT request FROM task WHERE id = ?", params![task])
            .await?
            .map(|r| r.opt_string("request"))
            .transpose()?
            .flatten()
            .unwrap_or_default();
        info.insert("request".into(), Json::from(req));
        tx.commit().await?;
        Ok(Json::Object(info))
    }

    /// `host.closeTask(task_id, response)` / `host.failTask(...)`: the
    /// response is the encoded result (XML-RPC, as upstream's builder
    /// sends it).
    pub async fn finish_task(
        &self,
        caller: &Caller,
        task: &Json,
        response: &Json,
        failed: bool,
    ) -> Result<()> {
        let task = task_id_arg(task)?;
        let text = match response {
            Json::String(s) => {
                // stored for every reader of the task: it must decode
                super::tasks::decode_result(s).map_err(|_| {
                    Error::Parameter("the response must be an XML-RPC methodResponse".into())
                })?;
                s.clone()
            }
            // a plain value from a client that did not encode it
            other if failed => super::tasks::encode_fault(1000, &crate::util::py_str(other)),
            other => super::tasks::encode_result(other),
        };
        let (tx, host) = self.begin(caller).await?;
        assert_holds(&tx, host, task).await?;
        let state = if failed {
            TaskState::Failed
        } else {
            TaskState::Closed
        };
        close_in(&tx, task, &text, state).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(())
    }

    /// `host.freeTasks(tasks)`: gives back tasks this host holds.
    pub async fn free_tasks(&self, caller: &Caller, tasks: &Json) -> Result<()> {
        let ids = id_list(tasks)?;
        let (tx, host) = self.begin(caller).await?;
        for id in ids {
            let held = fetch_opt(
                &*tx,
                "SELECT id FROM task WHERE id = ? AND state = ? AND host_id = ?",
                params![id, TaskState::Open as i64, host],
            )
            .await?
            .is_some();
            if held {
                free_in(&tx, id).await?;
            }
        }
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(())
    }

    /// `host.refuseTask(task_id, soft=True, msg='')`.
    pub async fn refuse_task(
        &self,
        caller: &Caller,
        task: &Json,
        soft: bool,
        msg: &Json,
    ) -> Result<()> {
        let task = task_id_arg(task)?;
        let msg = match msg {
            Json::Null => String::new(),
            other => crate::util::py_str(other),
        };
        let (tx, host) = self.begin(caller).await?;
        let info = get_task_in(&*tx, task)
            .await?
            .ok_or_else(|| Error::generic("query returned no rows"))?;
        if info["host_id"].as_i64() != Some(host) {
            tracing::warn!(host, task, "Host refused unrelated task");
            return Ok(());
        }
        set_refusal_in(&tx, host, task, soft, true, &msg).await?;
        free_in(&tx, task).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(())
    }

    /// `host.setTaskWeight(task_id, weight)`.
    pub async fn set_task_weight(&self, caller: &Caller, task: &Json, weight: &Json) -> Result<()> {
        let task = task_id_arg(task)?;
        let weight = weight.as_f64().ok_or_else(|| {
            Error::Parameter(format!(
                "Invalid type for value '{}': {}",
                crate::util::py_str(weight),
                crate::util::py_class(weight)
            ))
        })?;
        let (tx, host) = self.begin(caller).await?;
        assert_holds(&tx, host, task).await?;
        exec(
            &*tx,
            "UPDATE task SET weight = ? WHERE id = ?",
            params![weight, task],
        )
        .await?;
        tx.commit().await
    }

    /// `host.subtask(method, arglist, parent, **opts)`: a child of a task
    /// this host holds; with a `label` already used under the parent, that
    /// task's id.
    pub async fn subtask(
        &self,
        caller: &Caller,
        method: &Json,
        args: &Json,
        parent: &Json,
        kw: &Map<String, Json>,
    ) -> Result<i64> {
        let parent = task_id_arg(parent)?;
        let (mut tx, host) = self.begin(caller).await?;
        assert_holds(&tx, host, parent).await?;
        if kw.contains_key("owner") {
            return Err(Error::ActionNotAllowed(
                "The owner option is not allowed here".into(),
            ));
        }
        let mut kw = kw.clone();
        if let Some(Json::String(label)) = kw.get("label") {
            if let Some(r) = fetch_opt(
                &*tx,
                "SELECT id FROM task WHERE parent = ? AND label = ?",
                params![parent, label.clone()],
            )
            .await?
            {
                return r.int("id");
            }
        }
        let mut args = match args {
            Json::Array(a) => a.clone(),
            other => vec![other.clone()],
        };
        if let Some(Json::Object(extra)) = kw.remove("kwargs") {
            let mut m = extra;
            m.insert("__starstar".into(), Json::Bool(true));
            args.push(Json::Object(m));
        }
        kw.insert("parent".into(), Json::from(parent));
        let method = match method {
            Json::String(s) => s.clone(),
            other => crate::util::py_str(other),
        };
        let opts = TaskOpts::from_kwargs(&*tx, &kw).await?;
        let id = make_task_in(&mut tx, self.0, caller, &method, &args, opts).await?;
        tx.commit().await?;
        self.0.task_events().notify();
        Ok(id)
    }

    /// `host.taskSetWait(parent, tasks)`: the parent waits; `tasks` (all
    /// children when None) are awaited.
    pub async fn task_set_wait(&self, caller: &Caller, parent: &Json, tasks: &Json) -> Result<()> {
        let parent = task_id_arg(parent)?;
        let tasks = match tasks {
            Json::Null => None,
            other => Some(id_list(other)?),
        };
        let (tx, host) = self.begin(caller).await?;
        assert_holds(&tx, host, parent).await?;
        exec(
            &*tx,
            "UPDATE task SET waiting = ? WHERE id = ?",
            params![true, parent],
        )
        .await?;
        match tasks {
            None => {
                exec(
                    &*tx,
                    "UPDATE task SET awaited = ? WHERE parent = ?",
                    params![true, parent],
                )
                .await?;
            }
            Some(ids) if !ids.is_empty() => {
                let marks = vec!["?"; ids.len()].join(", ");
                let mut p = params![true, parent];
                p.extend(ids.iter().map(|i| crate::db::Value::from(*i)));
                exec(
                    &*tx,
                    &format!("UPDATE task SET awaited = ? WHERE parent = ? AND id IN ({marks})"),
                    p,
                )
                .await?;
                let mut p = params![false, parent, true];
                p.extend(ids.iter().map(|i| crate::db::Value::from(*i)));
                exec(
                    &*tx,
                    &format!(
                        "UPDATE task SET awaited = ? WHERE parent = ? AND awaited = ? \
                         AND id NOT IN ({marks})"
                    ),
                    p,
                )
                .await?;
            }
            Some(_) => tracing::warn!(parent, "taskSetWait called on empty task list"),
        }
        tx.commit().await
    }

    /// `host.taskWait(parent)`: `[finished, unfinished]` awaited children;
    /// the finished ones are no longer awaited.
    pub async fn task_wait(&self, caller: &Caller, parent: &Json) -> Result<Json> {
        let parent = task_id_arg(parent)?;
        let (tx, host) = self.begin(caller).await?;
        assert_holds(&tx, host, parent).await?;
        let (done, pending) = wait_check(&*tx, parent).await?;
        for id in &done {
            exec(
                &*tx,
                "UPDATE task SET awaited = ? WHERE id = ?",
                params![false, *id],
            )
            .await?;
        }
        tx.commit().await?;
        Ok(json!([done, pending]))
    }

    /// `host.taskWaitResults(parent, tasks, canfail=None)`: `[[id, result]]`
    /// of the given (None: every finished) children; a failure raises its
    /// fault unless the task is in `canfail`.
    pub async fn task_wait_results(
        &self,
        caller: &Caller,
        parent: &Json,
        tasks: &Json,
        canfail: &Json,
    ) -> Result<Json> {
        let parent = task_id_arg(parent)?;
        let canfail = match canfail {
            Json::Null => vec![],
            other => id_list(other)?,
        };
        let (tx, host) = self.begin(caller).await?;
        assert_holds(&tx, host, parent).await?;
        exec(
            &*tx,
            "UPDATE task SET waiting = ? WHERE id = ?",
            params![false, parent],
        )
        .await?;
        exec(
            &*tx,
            "UPDATE task SET awaited = ? WHERE parent = ?",
            params![false, parent],
        )
        .await?;
        let ids = match tasks {
            Json::Null => fetch_all(
                &*tx,
                "SELECT id FROM task WHERE parent = ? AND state IN (?, ?, ?) ORDER BY id",
                params![
                    parent,
                    TaskState::Closed as i64,
                    TaskState::Failed as i64,
                    TaskState::Canceled as i64
                ],
            )
            .await?
            .iter()
            .map(|r| r.int("id"))
            .collect::<Result<Vec<_>>>()?,
            other => id_list(other)?,
        };
        let mut out = vec![];
        for id in ids {
            let may_fail = canfail.contains(&id);
            match result_in(&*tx, id, !may_fail).await {
                Ok(v) => out.push(json!([id, v])),
                Err(e @ Error::Generic(_)) if may_fail => {
                    let canceled =
                        super::tasks::task_state_in(&*tx, id).await? == TaskState::Canceled;
                    if !canceled {
                        return Err(e);
                    }
                    out.push(
                        json!([id, {"faultCode": e.fault_code(), "faultString": e.to_string()}]),
                    );
                }
                Err(e) => return Err(e),
            }
        }
        tx.commit().await?;
        Ok(Json::Array(out))
    }
}
