//! Tasks (user calls), the builder's `host.*` calls and `scheduler.*`.

use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    users(r);
    host(r);
    scheduler(r);
    register_buildroots(r);
    register_builds(r);
    register_disabled(r);
}

fn users(r: &mut Registry) {
    method!(
        r,
        "getTaskInfo(task_id, request=False, strict=False)",
        "A task (or a list of tasks) by id, optionally with its request.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .info(a.raw("task_id"), a.flag("request"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "getTaskRequest(taskId)",
        "A task's request: the arguments it was created with.",
        |cx, a| { ok(cx.hub.tasks().request(a.raw("taskId")).await?) }
    );
    method!(
        r,
        "getTaskResult(taskId, raise_fault=True)",
        "A finished task's result; a failed task's fault is raised (or returned as a map).",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .result(a.raw("taskId"), a.flag("raise_fault"))
                .await?)
        }
    );
    method!(
        r,
        "taskFinished(taskId)",
        "Whether a task is closed, canceled or failed.",
        |cx, a| { ok(cx.hub.tasks().finished(a.raw("taskId")).await?) }
    );
    method!(
        r,
        "getTaskChildren(task_id, request=False, strict=False)",
        "The subtasks of a task.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .children(a.raw("task_id"), a.flag("request"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "getTaskDescendents(task_id, request=False)",
        "Every task below a task, as a map of task id (text) to its children.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .descendents(a.raw("task_id"), a.flag("request"))
                .await?)
        }
    );
    method!(
        r,
        "listTasks(opts=None, queryOpts=None)",
        "Tasks matching the options (state, owner, host_id, parent, method, arch, channel_id, times, decode).",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .list(a.raw("opts"), a.raw("queryOpts"))
                .await?)
        }
    );
    method!(
        r,
        "makeTask(*args, **opts)",
        "Create an arbitrary task (admins only, for debugging).",
        |cx, a| {
            let method = a.varargs.first().cloned().unwrap_or(Json::Null);
            let args = a.varargs.get(1).cloned().unwrap_or(Json::Array(vec![]));
            ok(cx
                .hub
                .tasks()
                .make(&cx.caller, &method, &args, &a.kwargs)
                .await?)
        }
    );
    method!(
        r,
        "build(src, target, opts=None, priority=None, channel=None)",
        "Create a build task from an SCM URL or an uploaded SRPM; answers its id.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .build(
                    &cx.caller,
                    "build",
                    &crate::hub::tasks::BuildRequest {
                        src: a.raw("src").clone(),
                        target: a.raw("target").clone(),
                        opts: a.raw("opts").clone(),
                        priority: a.raw("priority").clone(),
                        channel: a.raw("channel").clone(),
                    },
                )
                .await?)
        }
    );
    method!(
        r,
        "chainBuild(srcs, target, opts=None, priority=None, channel=None)",
        "Create a chain-build task: lists of sources built in order, a repo between each.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .build(
                    &cx.caller,
                    "chainbuild",
                    &crate::hub::tasks::BuildRequest {
                        src: a.raw("srcs").clone(),
                        target: a.raw("target").clone(),
                        opts: a.raw("opts").clone(),
                        priority: a.raw("priority").clone(),
                        channel: a.raw("channel").clone(),
                    },
                )
                .await?)
        }
    );
    method!(
        r,
        "restartHosts(priority=5, options=None)",
        "Create a restartHosts task (needs host permission).",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .restart_hosts(&cx.caller, a.raw("priority"), a.raw("options"))
                .await?)
        }
    );
    method!(
        r,
        "cancelTask(task_id, recurse=True)",
        "Cancel a task (owner, its host or admin) and, with recurse, its subtasks.",
        |cx, a| {
            cx.hub
                .tasks()
                .cancel(&cx.caller, a.raw("task_id"), a.flag("recurse"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "cancelTaskFull(task_id, strict=True)",
        "Cancel a task and every task in its group (admins).",
        |cx, a| {
            cx.hub
                .tasks()
                .cancel_full(&cx.caller, a.raw("task_id"), a.flag("strict"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "cancelTaskChildren(task_id)",
        "Cancel a task's subtasks but not the task.",
        |cx, a| {
            cx.hub
                .tasks()
                .cancel_children(&cx.caller, a.raw("task_id"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "freeTask(task_id)",
        "Put a task back to FREE (admins).",
        |cx, a| {
            cx.hub.tasks().free(&cx.caller, a.raw("task_id")).await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "resubmitTask(taskID)",
        "Run a canceled or failed top-level task again as a new task.",
        |cx, a| { ok(cx.hub.tasks().resubmit(&cx.caller, a.raw("taskID")).await?) }
    );
    method!(
        r,
        "setTaskPriority(task_id, priority, recurse=True)",
        "Change an unfinished task's priority (admins).",
        |cx, a| {
            cx.hub
                .tasks()
                .set_priority(
                    &cx.caller,
                    a.raw("task_id"),
                    a.raw("priority"),
                    a.flag("recurse"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "assignTask(task_id, host, force=False, override=False)",
        "Assign a task to a host (admins).",
        |cx, a| {
            ok(cx
                .hub
                .scheduler()
                .assign(
                    &cx.caller,
                    a.raw("task_id"),
                    a.raw("host"),
                    a.flag("force"),
                    a.flag("override"),
                )
                .await?)
        }
    );
    method!(
        r,
        "listTaskOutput(taskID, stat=False, all_volumes=False, strict=False)",
        "The files a task wrote (with stat data, per volume).",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .list_output(
                    a.raw("taskID"),
                    a.flag("stat"),
                    a.flag("all_volumes"),
                    a.flag("strict"),
                )
                .await?)
        }
    );
    method!(
        r,
        "downloadTaskOutput(taskID, fileName, offset=0, size=-1, volume=None)",
        "Bytes of a file a task wrote.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .download_output(
                    a.raw("taskID"),
                    a.raw("fileName"),
                    a.raw("offset"),
                    a.raw("size"),
                    a.raw("volume"),
                )
                .await?)
        }
    );
}

fn host(r: &mut Registry) {
    method!(r, "host.getID()", "This host's id.", |cx, a| {
        ok(cx.hub.host_api().get_id(&cx.caller).await?)
    });
    method!(
        r,
        "host.getHost()",
        "This host, as getHost answers it.",
        |cx, a| { ok(cx.hub.host_api().get_host(&cx.caller).await?) }
    );
    method!(
        r,
        "host.isEnabled()",
        "Whether this host is enabled.",
        |cx, a| { ok(cx.hub.host_api().is_enabled(&cx.caller).await?) }
    );
    method!(
        r,
        "host.updateHost(task_load, ready, data=None)",
        "Check in: this host's load, readiness and scheduler data.",
        |cx, a| {
            cx.hub
                .host_api()
                .update_host(
                    &cx.caller,
                    a.raw("task_load"),
                    a.raw("ready"),
                    a.raw("data"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.setHostData(hostdata)",
        "Data about this host for the scheduler.",
        |cx, a| {
            cx.hub
                .host_api()
                .set_host_data(&cx.caller, a.raw("hostdata"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.getTasks()",
        "The tasks assigned to this host.",
        |cx, a| { ok(cx.hub.host_api().get_tasks(&cx.caller).await?) }
    );
    method!(
        r,
        "host.getLoadData()",
        "This host (with its channels) and the tasks assigned to it.",
        |cx, a| { ok(cx.hub.host_api().get_load_data(&cx.caller).await?) }
    );
    method!(
        r,
        "host.getHostTasks()",
        "This host's open tasks.",
        |cx, a| { ok(cx.hub.host_api().get_host_tasks(&cx.caller).await?) }
    );
    method!(
        r,
        "host.openTask(task_id)",
        "Open an assigned task; answers it with its request, or None.",
        |cx, a| {
            ok(cx
                .hub
                .host_api()
                .open_task(&cx.caller, a.raw("task_id"))
                .await?)
        }
    );
    method!(
        r,
        "host.closeTask(task_id, response)",
        "Close a task this host holds with its encoded result.",
        |cx, a| {
            cx.hub
                .host_api()
                .finish_task(&cx.caller, a.raw("task_id"), a.raw("response"), false)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.failTask(task_id, response)",
        "Fail a task this host holds with its encoded fault.",
        |cx, a| {
            cx.hub
                .host_api()
                .finish_task(&cx.caller, a.raw("task_id"), a.raw("response"), true)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.freeTasks(tasks)",
        "Give back tasks this host holds.",
        |cx, a| {
            cx.hub
                .host_api()
                .free_tasks(&cx.caller, a.raw("tasks"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.refuseTask(task_id, soft=True, msg='')",
        "Refuse a task assigned to this host.",
        |cx, a| {
            cx.hub
                .host_api()
                .refuse_task(&cx.caller, a.raw("task_id"), a.flag("soft"), a.raw("msg"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.setTaskWeight(task_id, weight)",
        "Set the weight of a task this host holds.",
        |cx, a| {
            cx.hub
                .host_api()
                .set_task_weight(&cx.caller, a.raw("task_id"), a.raw("weight"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.subtask(method, arglist, parent, **opts)",
        "Create a subtask of a task this host holds.",
        |cx, a| {
            ok(cx
                .hub
                .host_api()
                .subtask(
                    &cx.caller,
                    a.raw("method"),
                    a.raw("arglist"),
                    a.raw("parent"),
                    &a.kwargs,
                )
                .await?)
        }
    );
    method!(
        r,
        "host.subtask2(__parent, __taskopts, __method, *args, **opts)",
        "Create a subtask with its arguments given as arguments of this call.",
        |cx, a| {
            let mut args = a.varargs.clone();
            if !a.kwargs.is_empty() {
                let mut kw = a.kwargs.clone();
                kw.insert("__starstar".into(), Json::Bool(true));
                args.push(Json::Object(kw));
            }
            let opts = match a.raw("__taskopts") {
                Json::Object(m) => m.clone(),
                _ => Default::default(),
            };
            ok(cx
                .hub
                .host_api()
                .subtask(
                    &cx.caller,
                    a.raw("__method"),
                    &Json::Array(args),
                    a.raw("__parent"),
                    &opts,
                )
                .await?)
        }
    );
    method!(
        r,
        "host.taskSetWait(parent, tasks)",
        "Mark a task waiting on the given subtasks (None: all).",
        |cx, a| {
            cx.hub
                .host_api()
                .task_set_wait(&cx.caller, a.raw("parent"), a.raw("tasks"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.taskWait(parent)",
        "[finished, unfinished] awaited subtasks.",
        |cx, a| {
            ok(cx
                .hub
                .host_api()
                .task_wait(&cx.caller, a.raw("parent"))
                .await?)
        }
    );
    method!(
        r,
        "host.taskWaitResults(parent, tasks, canfail=None)",
        "Results of subtasks as [[id, result], ...].",
        |cx, a| {
            ok(cx
                .hub
                .host_api()
                .task_wait_results(
                    &cx.caller,
                    a.raw("parent"),
                    a.raw("tasks"),
                    a.raw("canfail"),
                )
                .await?)
        }
    );
    method!(
        r,
        "host.checkPolicy(name, data, default='deny', strict=False)",
        "Check an allow/deny policy: [allowed, reason].",
        |cx, a| {
            crate::hub::host_api::verify_host(cx.hub.db().conn(), &cx.caller).await?;
            let name = crate::util::py_str(a.raw("name"));
            let default = crate::util::py_str(a.raw("default"));
            let (allowed, reason) = cx
                .hub
                .policy()
                .check(
                    &cx.caller,
                    &name,
                    a.raw("data"),
                    crate::policy::CheckOpts {
                        default: &default,
                        strict: a.flag("strict"),
                        force: false,
                    },
                )
                .await?;
            ok(serde_json::json!([allowed, reason]))
        }
    );
    method!(
        r,
        "host.assertPolicy(name, data, default='deny')",
        "Raise ActionNotAllowed unless the policy allows.",
        |cx, a| {
            crate::hub::host_api::verify_host(cx.hub.db().conn(), &cx.caller).await?;
            let name = crate::util::py_str(a.raw("name"));
            let default = crate::util::py_str(a.raw("default"));
            cx.hub
                .policy()
                .check(
                    &cx.caller,
                    &name,
                    a.raw("data"),
                    crate::policy::CheckOpts {
                        default: &default,
                        strict: true,
                        force: false,
                    },
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.evalPolicy(name, data)",
        "Evaluate a policy: its action.",
        |cx, a| {
            crate::hub::host_api::verify_host(cx.hub.db().conn(), &cx.caller).await?;
            let name = crate::util::py_str(a.raw("name"));
            ok(cx
                .hub
                .policy()
                .eval(&cx.caller, &name, a.raw("data"))
                .await?)
        }
    );
}

fn scheduler(r: &mut Registry) {
    method!(
        r,
        "scheduler.getTaskRuns(clauses=None, fields=None, opts=None)",
        "Task runs: which host each assignment went to.",
        |cx, a| {
            ok(cx
                .hub
                .scheduler()
                .task_runs(a.raw("clauses"), a.raw("fields"), a.raw("opts"))
                .await?)
        }
    );
    method!(
        r,
        "scheduler.getTaskRefusals(clauses=None, fields=None)",
        "Hosts' refusals of tasks.",
        |cx, a| {
            ok(cx
                .hub
                .scheduler()
                .task_refusals(a.raw("clauses"), a.raw("fields"))
                .await?)
        }
    );
    method!(
        r,
        "scheduler.getHostData(hostID=None)",
        "Data hosts gave the scheduler.",
        |cx, a| { ok(cx.hub.scheduler().host_data(a.raw("hostID")).await?) }
    );
    method!(
        r,
        "scheduler.getLogMessages(clauses=None, fields=None, opts=None)",
        "The scheduler's log.",
        |cx, a| {
            ok(cx
                .hub
                .scheduler()
                .log_messages(a.raw("clauses"), a.raw("fields"), a.raw("opts"))
                .await?)
        }
    );
    method!(
        r,
        "scheduler.doRun(force=False)",
        "Run the scheduler now (admins).",
        |cx, a| {
            cx.caller.assert_perm("admin")?;
            ok(cx.hub.scheduler().run(a.flag("force")).await?)
        }
    );
}

fn register_buildroots(r: &mut Registry) {
    method!(
        r,
        "listBuildroots(hostID=None, tagID=None, state=None, rpmID=None, archiveID=None, taskID=None, buildrootID=None, repoID=None, queryOpts=None)",
        "Buildroots matching the filters.",
        |cx, a| {
            let f = crate::hub::buildroots::ListBuildroots {
                host: a.raw("hostID").clone(),
                tag: a.raw("tagID").clone(),
                state: a.raw("state").clone(),
                rpm: a.raw("rpmID").clone(),
                archive: a.raw("archiveID").clone(),
                task: a.raw("taskID").clone(),
                buildroot: a.raw("buildrootID").clone(),
                repo: a.raw("repoID").clone(),
                query_opts: a.raw("queryOpts").clone(),
            };
            ok(cx.hub.buildroots().list(&f).await?)
        }
    );
    method!(
        r,
        "getBuildroot(buildrootID, strict=False)",
        "One buildroot.",
        |cx, a| {
            ok(cx
                .hub
                .buildroots()
                .get(a.raw("buildrootID"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "getBuildrootListing(id)",
        "The RPMs installed in a buildroot.",
        |cx, a| { ok(cx.hub.buildroots().listing(a.raw("id")).await?) }
    );
    method!(
        r,
        "host.newBuildRoot(repo, arch, task_id=None)",
        "Create a buildroot of this host for a task it holds.",
        |cx, a| {
            ok(cx
                .hub
                .buildroots()
                .new_standard(&cx.caller, a.raw("repo"), a.raw("arch"), a.raw("task_id"))
                .await?)
        }
    );
    method!(
        r,
        "host.setBuildRootState(brootid, state, task_id=None)",
        "Move one of this host's buildroots to WAITING, BUILDING or EXPIRED.",
        |cx, a| {
            cx.hub
                .buildroots()
                .set_state(
                    &cx.caller,
                    a.raw("brootid"),
                    a.raw("state"),
                    a.raw("task_id"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.setBuildRootList(brootid, rpmlist, task_id=None)",
        "Record the RPMs installed in a new buildroot.",
        |cx, a| {
            cx.hub
                .buildroots()
                .set_list(
                    &cx.caller,
                    a.raw("brootid"),
                    a.raw("rpmlist"),
                    a.raw("task_id"),
                    false,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.updateBuildRootList(brootid, rpmlist, task_id=None)",
        "Record RPMs installed in a building buildroot.",
        |cx, a| {
            cx.hub
                .buildroots()
                .set_list(
                    &cx.caller,
                    a.raw("brootid"),
                    a.raw("rpmlist"),
                    a.raw("task_id"),
                    true,
                )
                .await?;
            ok(Json::Null)
        }
    );
}

fn register_builds(r: &mut Registry) {
    method!(
        r,
        "host.initBuild(data)",
        "Create the BUILDING build of a build task this host holds.",
        |cx, a| {
            ok(cx
                .hub
                .host_api()
                .init_build(&cx.caller, a.raw("data"))
                .await?)
        }
    );
    method!(
        r,
        "host.completeBuild(task_id, build_id, srpm, rpms, brmap=None, logs=None)",
        "Import a build task's SRPM, RPMs and logs into its build, which becomes COMPLETE.",
        |cx, a| {
            ok(cx
                .hub
                .host_api()
                .complete_build(
                    &cx.caller,
                    &crate::hub::host_builds::CompleteBuild {
                        task: a.raw("task_id").clone(),
                        build: a.raw("build_id").clone(),
                        srpm: a.raw("srpm").clone(),
                        rpms: a.raw("rpms").clone(),
                        brmap: a.raw("brmap").clone(),
                        logs: a.raw("logs").clone(),
                    },
                )
                .await?)
        }
    );
    method!(
        r,
        "host.failBuild(task_id, build_id)",
        "Mark a build task's BUILDING build FAILED.",
        |cx, a| {
            cx.hub
                .host_api()
                .fail_build(&cx.caller, a.raw("task_id"), a.raw("build_id"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.moveBuildToScratch(task_id, srpm, rpms, logs=None)",
        "Move a scratch build's files to the scratch area (not imported).",
        |cx, a| {
            cx.hub
                .host_api()
                .move_to_scratch(
                    &cx.caller,
                    a.raw("task_id"),
                    a.raw("srpm"),
                    a.raw("rpms"),
                    a.raw("logs"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.tagBuild(task_id, tag, build, force=False, fromtag=None)",
        "Tag (or with fromtag move) a build as the task's owner.",
        |cx, a| {
            cx.hub
                .host_api()
                .tag_build(
                    &cx.caller,
                    a.raw("task_id"),
                    a.raw("tag"),
                    a.raw("build"),
                    a.flag("force"),
                    a.raw("fromtag"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "host.tagNotification(is_successful, tag_id, from_id, build_id, user_id, ignore_success=False, failure_msg='')",
        "A builder reports a tag operation; a tagNotification task tells the recipients.",
        |cx, a| {
            let change = crate::hub::notifications::TagChange {
                is_successful: a.raw("is_successful").clone(),
                tag: a.raw("tag_id").clone(),
                from_tag: a.raw("from_id").clone(),
                build: a.raw("build_id").clone(),
                user: a.raw("user_id").clone(),
                ignore_success: a.raw("ignore_success").clone(),
                failure_msg: a.raw("failure_msg").clone(),
            };
            cx.hub
                .notifications()
                .host_tag_notification(&cx.caller, &change)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "tagBuild(tag, build, force=False, fromtag=None)",
        "Request that a build be tagged (a tagBuild task); answers the task id.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .tag_build(
                    &cx.caller,
                    a.raw("tag"),
                    a.raw("build"),
                    a.flag("force"),
                    a.raw("fromtag"),
                )
                .await?)
        }
    );
    method!(
        r,
        "moveBuild(tag1, tag2, build, force=False)",
        "Move a build from tag1 to tag2 (a tagBuild task); answers the task id.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .tag_build(
                    &cx.caller,
                    a.raw("tag2"),
                    a.raw("build"),
                    a.flag("force"),
                    a.raw("tag1"),
                )
                .await?)
        }
    );
    method!(
        r,
        "moveAllBuilds(tag1, tag2, package, force=False)",
        "Move every build of a package from tag1 to tag2, oldest first; answers the task ids.",
        |cx, a| {
            ok(cx
                .hub
                .tasks()
                .move_all_builds(
                    &cx.caller,
                    a.raw("tag1"),
                    a.raw("tag2"),
                    a.raw("package"),
                    a.flag("force"),
                )
                .await?)
        }
    );
}

/// A logged-in caller asking for a build type this hub does not enable
/// (upstream's `EnableMaven`/`EnableWin` off) is refused as upstream does.
fn not_enabled(cx: &crate::api::Ctx, what: &str) -> crate::Result<Json> {
    cx.caller.user_id()?;
    Err(crate::Error::Generic(format!("{what} support not enabled")))
}

fn maven_off(cx: crate::api::Ctx, _a: crate::api::Args) -> crate::api::HandlerFuture {
    Box::pin(async move { not_enabled(&cx, "Maven") })
}

fn win_off(cx: crate::api::Ctx, _a: crate::api::Args) -> crate::api::HandlerFuture {
    Box::pin(async move { not_enabled(&cx, "Windows") })
}

/// Calls for build types this hub does not enable.
fn register_disabled(r: &mut Registry) {
    for (sig, doc) in [
        (
            "wrapperRPM(build, url, target, priority=None, channel='maven', opts=None)",
            "Create a wrapperRPM task (needs Maven support, which this hub does not enable).",
        ),
        (
            "mavenBuild(url, target, opts=None, priority=None, channel='maven')",
            "Create a Maven build task (needs Maven support, which this hub does not enable).",
        ),
        (
            "chainMaven(builds, target, opts=None, priority=None, channel='maven')",
            "Create a Maven chain-build task (needs Maven support, which this hub does not enable).",
        ),
    ] {
        r.add(sig, doc, maven_off);
    }
    r.add(
        "winBuild(vm, url, target, opts=None, priority=None, channel='vm')",
        "Create a Windows build task (needs Windows support, which this hub does not enable).",
        win_off,
    );
    // the host calls of those build types: refused as upstream's hub
    // refuses them with both off, before it looks at the caller
    method!(
        r,
        "host.importArchive(filepath, buildinfo, type, typeInfo)",
        "Import a Maven or Windows archive of a build (neither is enabled on this hub).",
        |_cx, a| {
            Err(match a.raw("type").as_str() {
                Some("maven") => crate::Error::generic("Maven support not enabled"),
                Some("win") => crate::Error::generic("Windows support not enabled"),
                _ => crate::Error::Generic(format!(
                    "unsupported archive type: {}",
                    crate::util::py_str(a.raw("type"))
                )),
            })
        }
    );
    method!(
        r,
        "host.importWrapperRPMs(task_id, build_id, rpm_results)",
        "Import a wrapperRPM task's RPMs into a Maven build (Maven is not enabled on this hub).",
        |_cx, _a| { Err(crate::Error::generic("Maven support not enabled")) }
    );
}
