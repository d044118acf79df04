//! Tasks through the real upstream `koji` client (PyPI koji==1.36.1):
//! `koji build --nowait` of an uploaded SRPM, `list-tasks`, `taskinfo`,
//! `cancel`, and a host driven by upstream's python library the way
//! upstream's kojid drives a hub (exclusive session, `host.updateHost`,
//! `host.getTasks`, `host.openTask`, subtasks, uploads, `host.closeTask`
//! with results encoded by `koji.xmlrpcplus`).

mod support;

use support::rpms;
use support::{assert_match, created_task, ok, Hub};

const ASCTIME: &str = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}";

fn setup_target(hub: &Hub) {
    ok(hub, &["add-tag", "f40-build", "--arches", "x86_64"]);
    ok(hub, &["add-tag", "f40"]);
    ok(hub, &["add-target", "f40-candidate", "f40-build", "f40"]);
}

#[test]
fn build_list_taskinfo_cancel() {
    let built = rpms::build("hello", "1.0", "1");
    for hub in Hub::each() {
        let h = &hub;
        setup_target(h);
        let srpm = built.srpm.to_str().expect("utf-8");
        let out = ok(
            h,
            &["build", "--nowait", "--noprogress", "f40-candidate", srpm],
        );
        let id = created_task(&out);
        assert_match(
            &format!(
                "^Uploading srpm: {}\n\nCreated task: {id}\nTask info: http://127\\.0\\.0\\.1:\\d+/koji/taskinfo\\?taskID={id}\n$",
                regex_escape(srpm)
            ),
            &out,
        );
        let srpm_name = built
            .srpm
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        assert_eq!(
            ok(h, &["list-tasks"]),
            format!(
                "ID       Pri  Owner                State    Arch       Name\n\
                 {id:<8} 20   admin                FREE     noarch     \
                 build (f40-candidate, {srpm_name})\n"
            ),
            "[{}]",
            h.label()
        );
        let info = ok(h, &["taskinfo", "-v", &id.to_string()]);
        assert_match(
            &format!(
                "^Task: {id}\nType: build\nRequest Parameters:\n  Source: cli-build/[^\n]+/{name}\n  \
                 Build Target: f40-candidate\n  Options:\n    wait_builds: \\[\\]\n    custom_user_metadata: \\{{\\}}\nOwner: admin\nState: free\nCreated: {ASCTIME}\n\
                 Log Files:\n  No outputs reported \\[1\\]\nOutput:\n  No outputs reported \\[1\\]\n\
                 \\[1\\] Not all tasks produce outputs, and task outputs are not retained indefinitely.\n\n$",
                name = regex_escape(srpm_name)
            ),
            &info,
        );
        // a scratch build with an arch override, in the background (priority +5)
        let out = ok(
            h,
            &[
                "build",
                "--nowait",
                "--noprogress",
                "--scratch",
                "--arch-override=x86_64",
                "--background",
                "f40-candidate",
                srpm,
            ],
        );
        let scratch = created_task(&out);
        let req = ok(
            h,
            &[
                "call",
                "--json-output",
                "getTaskRequest",
                &scratch.to_string(),
            ],
        );
        let req: serde_json::Value = serde_json::from_str(&req).expect("json");
        assert_eq!(req[1], serde_json::json!("f40-candidate"));
        assert_eq!(req[2]["scratch"], serde_json::json!(true), "{req}");
        assert_eq!(req[2]["arch_override"], serde_json::json!("x86_64"));
        let tinfo = ok(
            h,
            &["call", "--json-output", "getTaskInfo", &scratch.to_string()],
        );
        let tinfo: serde_json::Value = serde_json::from_str(&tinfo).expect("json");
        assert_eq!(tinfo["priority"], serde_json::json!(25), "--background");
        // cancel: the task and nothing else
        assert_eq!(ok(h, &["cancel", &scratch.to_string()]), "");
        let info = ok(h, &["taskinfo", &scratch.to_string()]);
        assert!(
            info.contains("\nState: canceled\n"),
            "[{}] {info}",
            h.label()
        );
        assert_match(&format!("\nFinished: {ASCTIME}\n"), &info);
        let listed = ok(h, &["list-tasks", "--quiet"]);
        assert_eq!(listed.lines().count(), 1, "[{}] {listed}", h.label());
        // unknown targets are refused by the client before any task exists
        let out = h.koji(&["build", "--nowait", "nosuch", srpm]);
        assert_ne!(out.code, 0);
        assert!(
            out.stderr.contains("No such build target: nosuch"),
            "{out:?}"
        );
        h.koji(&["taskinfo", "999999"])
            .expect_fault("GenericError: No such task: 999999");
    }
}

/// A builder written against upstream's python library: what upstream's
/// kojid calls, in its order, with its encodings.
const HOST_SCRIPT: &str = r#"
import os, sys, tempfile, koji
from koji import xmlrpcplus
s = koji.ClientSession(os.environ['KOJI_URL'])
s.opts['user'] = 'builder1'
s.opts['password'] = 'builder1'
s.login()
s.exclusiveSession()
me = s.host.getID()
s.host.updateHost(0.0, True)
tasks = s.host.getTasks()
assert len(tasks) == 1, tasks
tid = tasks[0]['id']
task = s.host.openTask(tid)
params, method = xmlrpcplus.loads(task['request'])
assert method == 'build', method
src, target, opts = params[:3]
s.host.setTaskWeight(tid, 0.2)
# one buildArch subtask, as upstream's build handler makes them
child = s.host.subtask(method='buildArch', arglist=[src, 1, 'x86_64', True, {}],
                       label='x86_64', parent=tid, arch='x86_64')
s.host.taskSetWait(tid, [child])
s.host.updateHost(0.2, True)
got = s.host.getTasks()
assert [t['id'] for t in got] == [child], got
assert s.host.openTask(child)['id'] == child
# the child's log, uploaded where upstream's builder puts it
d = tempfile.mkdtemp()
log = os.path.join(d, 'build.log')
with open(log, 'w') as f:
    f.write('building hello\n' * 100)
s.uploadWrapper(log, koji.pathinfo.taskrelpath(child), name='build.log')
result = {'rpms': [], 'srpms': [], 'logs': ['build.log'], 'brootid': None}
s.host.closeTask(child, xmlrpcplus.dumps((result,), methodresponse=1, allow_none=1))
finished, unfinished = s.host.taskWait(tid)
assert finished == [child] and unfinished == [], (finished, unfinished)
res = s.host.taskWaitResults(tid, [child])
assert res == [[child, result]], res
fault = xmlrpcplus.Fault(koji.BuildError().faultCode, 'hello failed to build')
s.host.failTask(tid, xmlrpcplus.dumps(fault))
print(tid, child)
"#;

#[test]
fn an_upstream_style_builder_runs_a_task() {
    let built = rpms::build("hello", "1.0", "1");
    for hub in Hub::each() {
        let h = &hub;
        setup_target(h);
        h.add_host("builder1", "x86_64", "builder1");
        let srpm = built.srpm.to_str().expect("utf-8");
        let top = created_task(&ok(
            h,
            &["build", "--nowait", "--noprogress", "f40-candidate", srpm],
        ));
        let out = h.python(HOST_SCRIPT);
        assert_eq!(
            out.code,
            0,
            "[{}] host script failed:\n{}\n{}",
            h.label(),
            out.stdout,
            out.stderr
        );
        let ids: Vec<i64> = out
            .stdout
            .split_whitespace()
            .map(|s| s.parse().expect("id"))
            .collect();
        assert_eq!(ids[0], top);
        let child = ids[1];
        // what the user sees
        let info = ok(h, &["taskinfo", "-r", &top.to_string()]);
        assert!(info.contains("\nState: failed\n"), "[{}] {info}", h.label());
        assert!(info.contains("\nHost: builder1\n"), "{info}");
        assert_match(&format!("\n  Task: {child}\n  Type: buildArch\n"), &info);
        assert_match(
            &format!(
                "\n  Log Files:\n    /[^\n]*/work/tasks/{}/{child}/build.log\n",
                child % 10000
            ),
            &info,
        );
        let out = h.koji(&["call", "getTaskResult", &top.to_string()]);
        assert_ne!(out.code, 0);
        assert!(
            out.stderr.contains("BuildError: hello failed to build"),
            "[{}] {out:?}",
            h.label()
        );
        let res = ok(
            h,
            &["call", "--json-output", "getTaskResult", &child.to_string()],
        );
        let res: serde_json::Value = serde_json::from_str(&res).expect("json");
        assert_eq!(res["logs"], serde_json::json!(["build.log"]));
        let files = ok(
            h,
            &[
                "call",
                "--json-output",
                "listTaskOutput",
                &child.to_string(),
            ],
        );
        assert_eq!(files.trim(), "[\n  \"build.log\"\n]", "[{}]", h.label());
        // with stat and all_volumes, as upstream's answer is shaped
        let call = |args: &[&str]| -> serde_json::Value {
            let mut full = vec!["call", "--json-output"];
            full.extend_from_slice(args);
            serde_json::from_str(&ok(h, &full)).expect("json")
        };
        let child_s = child.to_string();
        let stat = call(&["listTaskOutput", &child_s, "stat=True"]);
        assert_eq!(
            stat["build.log"]["st_size"],
            "1500",
            "[{}] {stat}",
            h.label()
        );
        assert!(stat["build.log"]["st_mtime"].is_number(), "{stat}");
        let vols = call(&["listTaskOutput", &child_s, "all_volumes=True"]);
        assert_eq!(vols, serde_json::json!({"build.log": ["DEFAULT"]}));
        let both = call(&["listTaskOutput", &child_s, "stat=True", "all_volumes=True"]);
        assert_eq!(
            both["build.log"]["DEFAULT"]["st_size"],
            "1500",
            "[{}] {both}",
            h.label()
        );
        // a piece of the log: bytes 15..29 (the hub answers base64 text,
        // which upstream's library decodes into bytes)
        let piece = ok(
            h,
            &[
                "call",
                "downloadTaskOutput",
                &child_s,
                "build.log",
                "offset=15",
                "size=14",
            ],
        );
        assert_eq!(piece, "b'building hello'\n", "[{}]", h.label());
        // watch-task on finished tasks shows how they ended
        let out = h.koji(&["watch-task", &child_s]);
        assert!(
            out.code == 0 && out.stdout.contains(&format!("{child} buildArch (")),
            "[{}] {out:?}",
            h.label()
        );
        assert!(out.stdout.contains("completed successfully"), "{out:?}");
        let out = h.koji(&["watch-task", &top.to_string()]);
        assert!(
            out.code != 0 && out.stdout.contains(&format!("{top} build (")),
            "[{}] {out:?}",
            h.label()
        );
        assert!(out.stdout.contains(" failed"), "{out:?}");
        // the log through the client's own download path
        let dir = tempfile::tempdir().expect("tmp");
        let out = h.koji_in(dir.path(), &["download-logs", &child.to_string()]);
        assert_eq!(out.code, 0, "{out:?}");
        let mut found = vec![];
        for e in walk(dir.path()) {
            if e.ends_with("build.log") {
                found.push(std::fs::read_to_string(&e).unwrap_or_default());
            }
        }
        assert_eq!(
            found,
            vec!["building hello\n".repeat(100)],
            "[{}]",
            h.label()
        );
        let listed = ok(h, &["list-tasks"]);
        assert_eq!(listed, "(no tasks)\n", "[{}]", h.label());
    }
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = vec![];
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                out.extend(walk(&p));
            } else {
                out.push(p);
            }
        }
    }
    out
}

fn regex_escape(s: &str) -> String {
    let mut o = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~".contains(c) {
            o.push('\\');
        }
        o.push(c);
    }
    o
}

/// What upstream's build handler asks of the hub once its subtasks have
/// built the RPMs: upload, `host.initBuild`, `host.completeBuild` with
/// buildroots and logs; then a `tagBuild` task run as upstream's
/// TagBuildTask runs it (`host.tagBuild`).
const BUILD_SCRIPT: &str = r#"
import json, os, koji
from koji import xmlrpcplus
files = json.loads(os.environ['BUILT'])
s = koji.ClientSession(os.environ['KOJI_URL'])
s.opts['user'] = 'builder1'
s.opts['password'] = 'builder1'
s.login()
s.exclusiveSession()
s.host.updateHost(0.0, True)
[t] = s.host.getTasks()
tid = t['id']
task = s.host.openTask(tid)
params, method = xmlrpcplus.loads(task['request'])
assert method == 'build'
rel = koji.pathinfo.taskrelpath(tid)
for f in files:
    s.uploadWrapper(f, rel)
with open('build.log', 'w') as f:
    f.write('ok\n')
s.uploadWrapper('build.log', rel)
srpm = [f for f in files if f.endswith('.src.rpm')][0]
rpms = [f for f in files if not f.endswith('.src.rpm')]
data = koji.get_header_fields(srpm, ['name', 'version', 'release', 'epoch'])
data['task_id'] = tid
build_id = s.host.initBuild(data)
info = s.getBuild(build_id)
assert info['state'] == koji.BUILD_STATES['BUILDING'], info
repo_free = None
up = lambda f: '%s/%s' % (rel, os.path.basename(f))
binfo = s.host.completeBuild(tid, build_id, up(srpm), [up(r) for r in rpms], None,
                             {'x86_64': [rel + '/build.log']})
assert binfo['state'] == koji.BUILD_STATES['COMPLETE'], binfo
# the archive calls of Maven and Windows builds, neither enabled (as
# upstream's hub by default)
def refused(call, msg):
    try:
        call()
    except koji.GenericError as e:
        assert str(e) == msg, str(e)
    else:
        raise AssertionError('not refused: ' + msg)
refused(lambda: s.host.importArchive('x.jar', build_id, 'maven', {}), 'Maven support not enabled')
refused(lambda: s.host.importArchive('x.zip', build_id, 'win', {}), 'Windows support not enabled')
refused(lambda: s.host.importArchive('x.iso', build_id, 'image', {}),
        'unsupported archive type: image')
refused(lambda: s.host.importWrapperRPMs(tid, build_id, []), 'Maven support not enabled')
s.host.closeTask(tid, xmlrpcplus.dumps((None,), methodresponse=1, allow_none=1))
s.logout()
print(build_id)
"#;

const TAG_SCRIPT: &str = r#"
import os, koji
from koji import xmlrpcplus
s = koji.ClientSession(os.environ['KOJI_URL'])
s.opts['user'] = 'builder1'
s.opts['password'] = 'builder1'
s.login()
s.exclusiveSession(force=True)
s.host.updateHost(0.0, True)
# (the build's notification task may be assigned to this host too)
[t] = [t for t in s.host.getTasks() if t['method'] == 'tagBuild']
tid = t['id']
task = s.host.openTask(tid)
params, method = xmlrpcplus.loads(task['request'])
assert method == 'tagBuild', method
# a restarted builder takes its lock back (kojid --force-lock)
tag_id, build_id, force, fromtag = params[:4]
s.host.tagBuild(tid, tag_id, build_id, force=force, fromtag=fromtag)
# ignore_success: no notification; then one as upstream's TagBuildTask
# reports a success it was not told to keep quiet about
s.host.tagNotification(True, tag_id, fromtag, build_id, None, True)
s.host.tagNotification(True, tag_id, fromtag, build_id, None, False)
s.host.closeTask(tid, xmlrpcplus.dumps((None,), methodresponse=1, allow_none=1))
print(tid)
"#;

/// The request of the one task of `method` there must be.
fn only_request(h: &Hub, method: &str) -> serde_json::Value {
    let opts = format!("{{'opts': {{'method': '{method}'}}}}");
    let tasks = ok(
        h,
        &["call", "--json-output", "listTasks", "--kwargs", &opts],
    );
    let tasks: serde_json::Value = serde_json::from_str(&tasks).expect("json");
    assert_eq!(
        tasks.as_array().map(Vec::len),
        Some(1),
        "[{}] {tasks}",
        h.label()
    );
    let id = tasks[0]["id"].to_string();
    let req = ok(h, &["call", "--json-output", "getTaskRequest", &id]);
    serde_json::from_str(&req).expect("json")
}

#[test]
fn an_upstream_style_builder_completes_and_tags_a_build() {
    let built = rpms::build("hello", "2.0", "1");
    for hub in Hub::each() {
        let h = &hub;
        setup_target(h);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "hello"]);
        h.add_host("builder1", "x86_64", "builder1");
        let srpm = built.srpm.to_str().expect("utf-8");
        let top = created_task(&ok(
            h,
            &["build", "--nowait", "--noprogress", "f40-candidate", srpm],
        ));
        let mut files = vec![srpm.to_string()];
        files.extend(built.rpms.iter().map(|p| p.display().to_string()));
        let code = format!(
            "import os\nos.environ['BUILT'] = {}\n{BUILD_SCRIPT}",
            py_str_lit(&serde_json::to_string(&files).expect("json"))
        );
        let out = h.python(&code);
        assert_eq!(
            out.code,
            0,
            "[{}] {}\n{}",
            h.label(),
            out.stdout,
            out.stderr
        );
        let b = ok(h, &["call", "--json-output", "getBuild", "hello-2.0-1"]);
        let b: serde_json::Value = serde_json::from_str(&b).expect("json");
        assert_eq!(b["state"], serde_json::json!(1), "[{}] {b}", h.label());
        assert_eq!(b["task_id"], serde_json::json!(top));
        assert_eq!(b["owner_name"], serde_json::json!("admin"));
        let info = ok(h, &["buildinfo", "hello-2.0-1"]);
        assert!(info.contains("State: COMPLETE"), "{info}");
        assert_match(
            &format!("\nTask: {top} build \\(f40-candidate, hello-2\\.0-1\\.src\\.rpm\\)\n"),
            &info,
        );
        assert!(info.contains("hello-2.0-1.x86_64.rpm"), "{info}");
        // the log landed in the build's logs
        let logs = ok(h, &["call", "--json-output", "getBuildLogs", "hello-2.0-1"]);
        assert!(
            logs.contains("\"dir\": \"x86_64\""),
            "[{}] {logs}",
            h.label()
        );
        assert!(logs.contains("build.log"), "{logs}");
        // completing the build queued its notification: the build's owner
        // and the package's owner in the destination tag (both admin; no
        // EmailDomain, so upstream's `@None`), the target, the web URL
        let req = only_request(h, "buildNotification");
        assert_eq!(
            req[0],
            serde_json::json!(["admin@None"]),
            "[{}] {req}",
            h.label()
        );
        assert_eq!(req[1]["nvr"], serde_json::json!("hello-2.0-1"), "{req}");
        assert_eq!(req[1]["state"], serde_json::json!(1), "{req}");
        assert_eq!(req[2]["name"], serde_json::json!("f40-candidate"), "{req}");
        assert_eq!(req[2]["dest_tag_name"], serde_json::json!("f40"), "{req}");
        assert_eq!(
            req[3],
            serde_json::json!("http://localhost.localdomain/koji"),
            "{req}"
        );
        // tag it through a tagBuild task
        let out = ok(h, &["tag-build", "--nowait", "f40", "hello-2.0-1"]);
        let tag_task = created_task(&out);
        let out = h.python(TAG_SCRIPT);
        assert_eq!(
            out.code,
            0,
            "[{}] {}\n{}",
            h.label(),
            out.stdout,
            out.stderr
        );
        assert_eq!(out.stdout.trim(), tag_task.to_string());
        // one tagNotification task, for the report without ignore_success
        let req = only_request(h, "tagNotification");
        assert_eq!(
            req[0],
            serde_json::json!(["admin@None"]),
            "[{}] {req}",
            h.label()
        );
        assert_eq!(req[1], serde_json::json!(true), "{req}");
        let listed = ok(h, &["list-tagged", "--quiet", "f40"]);
        assert_match("^hello-2\\.0-1 +f40 +admin\n$", &listed);
        // a build of a package not listed in the tag is refused up front
        let e = h.koji(&["tag-build", "--nowait", "f40-build", "hello-2.0-1"]);
        assert_ne!(e.code, 0);
        assert!(
            e.stderr.contains("Package hello not in list for f40-build"),
            "{e:?}"
        );
    }
}

fn py_str_lit(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// Task administration through the client, no builder needed:
/// `set-task-priority`, `assignTask` then `free-task`, `scheduler-info`
/// (runs and host data), `resubmit` of a canceled build, `chain-build`.
#[test]
fn priority_free_scheduler_info_resubmit_chain_build() {
    let built = rpms::build("hello", "1.0", "1");
    let srpm = built.srpm.to_str().expect("utf-8");
    for hub in Hub::each() {
        let h = &hub;
        setup_target(h);
        ok(h, &["add-host", "h1", "x86_64"]);
        let out = ok(
            h,
            &["build", "--nowait", "--noprogress", "f40-candidate", srpm],
        );
        let id = created_task(&out);
        let ids = id.to_string();
        let info = |field: &str| -> serde_json::Value {
            let out = ok(h, &["call", "--json-output", "getTaskInfo", &ids]);
            let v: serde_json::Value = serde_json::from_str(&out).expect("json");
            v[field].clone()
        };

        assert_eq!(ok(h, &["set-task-priority", "--priority", "10", &ids]), "");
        assert_eq!(info("priority"), serde_json::json!(10), "[{}]", h.label());
        h.koji(&["set-task-priority", &ids]).expect_usage_error(
            "koji set-task-priority [options] --priority=<priority> <task_id> [<task_id> ...]",
            "You must specify --priority",
        );

        // an admin's assignment, undone with free-task
        assert_eq!(ok(h, &["call", "assignTask", &ids, "h1"]), "True\n");
        assert_eq!(
            info("state"),
            serde_json::json!(4),
            "[{}] assigned",
            h.label()
        );
        assert_eq!(ok(h, &["free-task", &ids]), "");
        assert_eq!(info("state"), serde_json::json!(0), "[{}] free", h.label());
        assert_eq!(info("host_id"), serde_json::Value::Null);

        // the scheduler's record of that assignment
        let out = ok(h, &["scheduler-info"]);
        let header = "Task      Host                 State   Created           Started           Ended            ";
        assert_match(
            &format!(
                "^{header}\n-{{{}}}\n{id:<9} h1 {{19}}FREE {{4}}\\d\\d-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d +\n$",
                header.len()
            ),
            &out,
        );
        // (by id: the client filters runs with the option's text, so a
        // host name fails on upstream's hub too)
        let host: serde_json::Value =
            serde_json::from_str(&ok(h, &["call", "--json-output", "getHost", "h1"]))
                .expect("json");
        let hid = host["id"].to_string();
        let out = ok(h, &["scheduler-info", "--host", &hid, "--task", &ids]);
        assert!(
            out.ends_with(&format!("\nHost data for {hid}:\n-\n")),
            "[{}] {out}",
            h.label()
        );
        assert!(
            out.contains(&format!("\n{id:<9} h1 ")),
            "[{}] {out}",
            h.label()
        );

        // resubmit: only canceled or failed tasks; the copy has the same request
        let out = h.koji(&["resubmit", "--nowait", &ids]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stdout.starts_with(&format!(
                "Resubmitting the following task:\nTask: {id}\nType: build\n"
            )),
            "{out:?}"
        );
        assert!(
            out.stderr.ends_with(
                "koji: GenericError: only canceled or failed tasks may be resubmitted\n"
            ),
            "{out:?}"
        );
        assert_eq!(ok(h, &["cancel", &ids]), "");
        let out = ok(h, &["resubmit", "--nowait", &ids]);
        assert_match(
            &format!(
                "^Resubmitting the following task:\nTask: {id}\nType: build\nRequest Parameters:\n  \
                 Source: cli-build/[^\n]+/hello-1\\.0-1\\.src\\.rpm\n  Build Target: f40-candidate\n  Options:\n    \
                 wait_builds: \\[\\]\n    custom_user_metadata: \\{{\\}}\nOwner: admin\n\
                 State: canceled\nCreated: {ASCTIME}\nFinished: {ASCTIME}\nLog Files:\n  No outputs reported \\[1\\]\n\
                 Output:\n  No outputs reported \\[1\\]\n\\[1\\] Not all tasks produce outputs, and task outputs are not retained indefinitely.\n\n\
                 Resubmitted task {id} as new task (\\d+)\n$"
            ),
            &out,
        );
        let new_id: i64 = out
            .trim_end()
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .expect("new id");
        let req = |t: i64| {
            ok(
                h,
                &["call", "--json-output", "getTaskRequest", &t.to_string()],
            )
        };
        assert_eq!(req(new_id), req(id), "[{}]", h.label());
        // the priority of a finished task: the hub refuses (GenericError),
        // the client warns and goes on
        let out = h.koji(&["set-task-priority", "--priority", "3", &ids]);
        assert_eq!((out.code, out.stdout.as_str()), (0, ""), "{out:?}");
        assert_eq!(
            out.stderr,
            format!("Can't update task priority on closed task: {id}\n"),
            "[{}]",
            h.label()
        );

        // chain-build needs the destination tag inherited by the build tag
        let out = h.koji(&[
            "chain-build",
            "--nowait",
            "f40-candidate",
            "git://example.com/a.git#abc",
            ":",
            "hello-1.0-1",
        ]);
        assert_ne!(out.code, 0);
        assert!(
            out.stderr
                .contains("Target f40-candidate is not usable for a chain-build"),
            "{out:?}"
        );
        ok(h, &["add-tag-inheritance", "f40-build", "f40"]);
        let out = ok(
            h,
            &[
                "chain-build",
                "--nowait",
                "f40-candidate",
                "git://example.com/a.git#abc",
                "git://example.com/b.git#def",
                ":",
                "hello-1.0-1",
            ],
        );
        let chain = created_task(&out);
        let req: serde_json::Value = serde_json::from_str(&req(chain)).expect("json");
        assert_eq!(
            req,
            serde_json::json!([
                [
                    ["git://example.com/a.git#abc", "git://example.com/b.git#def"],
                    ["hello-1.0-1"]
                ],
                "f40-candidate",
                {}
            ]),
            "[{}]",
            h.label()
        );
        let t = ok(
            h,
            &["call", "--json-output", "getTaskInfo", &chain.to_string()],
        );
        let t: serde_json::Value = serde_json::from_str(&t).expect("json");
        assert_eq!(t["method"], serde_json::json!("chainbuild"));
    }
}
