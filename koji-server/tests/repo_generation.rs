//! Repo generation end to end: `koji-hub serve --builder` and the upstream
//! `koji` client. A newRepo task asks the hub for the repo's inputs
//! (`host.repoInit`), runs createrepo_c per arch in `createrepo` subtasks
//! and finishes with `host.repoDone`; Debian's dnf then reads the repo
//! through `/kojifiles/`.

mod support;

use support::rpms;
use support::{ok, Hub};

fn machine_arch() -> String {
    let out = std::process::Command::new("uname")
        .arg("-m")
        .output()
        .expect("uname");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn start(backend: koji_core::db::Backend) -> Hub {
    Hub::start_with(backend, &["--builder", "--builder-name", "builder1"])
}

fn json(h: &Hub, args: &[&str]) -> serde_json::Value {
    let mut full = vec!["call", "--json-output"];
    full.extend_from_slice(args);
    let out = ok(h, &full);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

/// Imports every RPM of `b` and tags its build into `tag`.
fn import_and_tag(h: &Hub, b: &rpms::Built, tag: &str, nvr: &str) {
    let mut args = vec!["import".to_string(), b.srpm.display().to_string()];
    args.extend(b.rpms.iter().map(|r| r.display().to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(h, &args);
    let out = ok(h, &["tag-build", "--nowait", tag, nvr]);
    // the tagBuild task runs on the builder: wait for it, or a repo made
    // next may be made before the build is in the tag
    let task = out
        .lines()
        .find_map(|l| l.strip_prefix("Created task "))
        .and_then(|t| t.trim().parse::<i64>().ok())
        .unwrap_or_else(|| panic!("no task in: {out}"));
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    loop {
        let info = json(h, &["getTaskInfo", &task.to_string()]);
        match info["state"].as_i64() {
            Some(2) => break,
            Some(3 | 4) => panic!("tagBuild {task} of {nvr} failed: {info}\n{}", h.log()),
            _ if std::time::Instant::now() > deadline => {
                panic!("tagBuild {task} of {nvr} still open: {info}\n{}", h.log())
            }
            _ => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    }
}

/// `dnf list --available` (with `extra` options, a cache of its own) of
/// the repo at `path` below the hub's `/kojifiles/`: what it lists.
fn dnf_list(h: &Hub, path: &str, extra: &[&str]) -> String {
    let cache = tempfile::tempdir().unwrap();
    let url = format!("http://127.0.0.1:{}/kojifiles/{path}", h.port());
    let out = std::process::Command::new("dnf")
        .args([
            "-q",
            "--setopt=reposdir=/nonexistent",
            &format!("--setopt=cachedir={}", cache.path().display()),
            "--setopt=gpgcheck=0",
            &format!("--repofrompath=k,{url}"),
            "--repo=k",
            "list",
            "--available",
        ])
        .args(extra)
        .output()
        .expect("dnf (apt-get install dnf)");
    assert!(
        out.status.success() && !out.stdout.is_empty(),
        "dnf failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_new_repo_task_makes_a_repo_dnf_reads() {
    let arch = machine_arch();
    let hello = rpms::build("hello", "1.0", "1");
    for backend in koji_core::testing::backends() {
        let hub = start(backend);
        let h = &hub;
        ok(h, &["add-tag", "f40-build", "--arches", &arch]);
        ok(h, &["add-tag", "f40"]);
        ok(h, &["add-target", "f40-candidate", "f40-build", "f40"]);
        ok(
            h,
            &["add-pkg", "--owner", "admin", "f40-build", "hello", "gone"],
        );
        ok(h, &["block-pkg", "f40-build", "gone"]);
        ok(h, &["add-group", "f40-build", "build"]);
        ok(h, &["add-group-pkg", "f40-build", "build", "hello", "bash"]);
        import_and_tag(h, &hello, "f40-build", "hello-1.0-1");

        // upstream's `regen-repo --make-task` calls newRepo and watches it
        let out = ok(h, &["regen-repo", "--make-task", "--wait", "f40-build"]);
        assert!(
            out.starts_with("Regenerating repo for tag: f40-build\nCreated task: "),
            "{out}"
        );
        let task: i64 = out
            .lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("Created task: "))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        let info = json(h, &["getTaskInfo", &task.to_string()]);
        assert_eq!(info["state"], 2, "newRepo closed: {info} {}", hub.log());
        let children = json(h, &["getTaskChildren", &task.to_string()]);
        let children = children.as_array().unwrap();
        assert_eq!(children.len(), 1, "{children:?}");
        assert_eq!(children[0]["method"], "createrepo");
        assert_eq!(children[0]["label"], arch.as_str());

        let repo = json(h, &["getRepo", "f40-build"]);
        assert_eq!(repo["state"], 1, "{repo}");
        assert_eq!(repo["task_id"], task);
        assert_eq!(
            repo["opts"],
            serde_json::json!({"src": false, "debuginfo": false, "separate_src": false, "maven": false})
        );
        assert_eq!(repo["custom_opts"], serde_json::json!({}));
        assert!(repo["begin_event"].as_i64().unwrap() <= repo["create_event"].as_i64().unwrap());
        assert!(repo["end_event"].is_null());
        let id = repo["id"].as_i64().unwrap();
        let result = json(h, &["getTaskResult", &task.to_string()]);
        assert_eq!(result[0], id);
        assert_eq!(result[1], repo["create_event"]);

        // the layout upstream's builders and tools expect
        let dir = h.topdir().join(format!("repos/f40-build/{id}"));
        let latest = std::fs::read_link(h.topdir().join("repos/f40-build/latest")).unwrap();
        assert_eq!(latest, std::path::Path::new(&id.to_string()));
        let repo_json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("repo.json")).unwrap()).unwrap();
        assert_eq!(repo_json["id"], id);
        assert_eq!(repo_json["tag"], "f40-build");
        assert_eq!(repo_json["task_id"], task);
        assert_eq!(repo_json["with_debuginfo"], false);
        let comps = std::fs::read_to_string(dir.join("groups/comps.xml")).unwrap();
        assert!(comps.contains("<id>build</id>"), "{comps}");
        assert!(
            comps.contains("<packagereq type=\"mandatory\">hello</packagereq>"),
            "{comps}"
        );
        let archdir = dir.join(&arch);
        assert_eq!(
            std::fs::read_link(archdir.join("toplink")).unwrap(),
            std::path::Path::new("../../../..")
        );
        let pkglist = std::fs::read_to_string(archdir.join("pkglist")).unwrap();
        let mut lines: Vec<&str> = pkglist.lines().collect();
        lines.sort();
        // no source, no debuginfo: the arch package and the noarch one
        let mut want = [
            format!("toplink/packages/hello/1.0/1/{arch}/hello-1.0-1.{arch}.rpm"),
            "toplink/packages/hello/1.0/1/noarch/hello-doc-1.0-1.noarch.rpm".to_string(),
        ];
        want.sort();
        assert_eq!(lines, want, "{pkglist}");
        for line in &lines {
            assert!(archdir.join(line).is_file(), "{line} through toplink");
        }
        let rpmlist = std::fs::read_to_string(archdir.join("rpmlist.jsonl")).unwrap();
        assert_eq!(rpmlist.lines().count(), 2, "{rpmlist}");
        for l in rpmlist.lines() {
            let r: serde_json::Value = serde_json::from_str(l).unwrap();
            assert!(r["name"] == "hello" || r["name"] == "hello-doc", "{r}");
        }
        assert_eq!(
            std::fs::read_to_string(archdir.join("blocklist")).unwrap(),
            "gone\n"
        );
        let repomd = std::fs::read_to_string(archdir.join("repodata/repomd.xml")).unwrap();
        assert!(repomd.contains("type=\"primary\""), "{repomd}");
        assert!(
            repomd.contains("type=\"group\""),
            "comps in the metadata: {repomd}"
        );

        // Debian's dnf reads it over HTTP, packages through toplink
        let listed = dnf_list(h, &format!("repos/f40-build/latest/{arch}"), &[]);
        assert!(listed.contains(&format!("hello.{arch}")), "{listed}");
        assert!(listed.contains("hello-doc.noarch"), "{listed}");
        assert!(!listed.contains("debuginfo"), "{listed}");

        // taginfo shows it as the tag's current repo
        let taginfo = ok(h, &["taginfo", "f40-build"]);
        assert!(
            taginfo.contains(&format!("Current repo: repo#{id}: ")),
            "{taginfo}"
        );
    }
}

/// A hub whose own repo upkeep runs every second; repos no longer current
/// expire after 15 seconds (long enough for the client, which polls every
/// 6, to look at them) and are deleted at once.
fn start_regen(backend: koji_core::db::Backend, conf_dir: &std::path::Path) -> Hub {
    start_regen_with(backend, conf_dir, &[])
}

/// [`start_regen`] with more `serve` arguments.
fn start_regen_with(
    backend: koji_core::db::Backend,
    conf_dir: &std::path::Path,
    extra: &[&str],
) -> Hub {
    let conf = conf_dir.join("hub.conf");
    std::fs::write(
        &conf,
        "[hub]\nRepoLifetime = 15\nExpiredRepoLifetime = 0\nRepoLag = 0\n",
    )
    .unwrap();
    Hub::start_with(
        backend,
        &[
            "--builder",
            "--builder-name",
            "builder1",
            "--repo-regen-interval",
            "1",
            "--config",
            conf.to_str().unwrap(),
        ]
        .iter()
        .chain(extra)
        .copied()
        .collect::<Vec<_>>(),
    )
}

fn wait_until(secs: u64, mut done: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while std::time::Instant::now() < end {
        if done() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(300));
    }
    false
}

/// The repo id of the client's "Got repo N" line.
fn got_repo(out: &str) -> i64 {
    out.strip_prefix("Got repo ")
        .and_then(|r| r.lines().next())
        .and_then(|r| r.trim().parse().ok())
        .unwrap_or_else(|| panic!("no repo in: {out}"))
}

fn pkglist(h: &Hub, repo: i64, arch: &str) -> String {
    std::fs::read_to_string(
        h.topdir()
            .join(format!("repos/f40-build/{repo}/{arch}/pkglist")),
    )
    .unwrap_or_default()
}

#[test]
fn repos_regenerate_by_themselves_and_old_ones_go() {
    let arch = machine_arch();
    let hello = rpms::build("hello", "1.0", "1");
    let bye = rpms::build("bye", "2.0", "3");
    for backend in koji_core::testing::backends() {
        let conf = tempfile::tempdir().unwrap();
        let hub = start_regen(backend, conf.path());
        let h = &hub;
        // content comes from the build tag's parent
        ok(h, &["add-tag", "f40-base"]);
        ok(
            h,
            &[
                "add-tag",
                "f40-build",
                "--arches",
                &arch,
                "--parent",
                "f40-base",
            ],
        );
        ok(h, &["add-tag", "f40"]);
        ok(
            h,
            &["add-pkg", "--owner", "admin", "f40-base", "hello", "bye"],
        );
        import_and_tag(h, &hello, "f40-base", "hello-1.0-1");
        ok(h, &["add-target", "f40-candidate", "f40-build", "f40"]);

        // the target's build tag gets a repo with nobody asking
        assert!(
            wait_until(60, || !json(h, &["getRepo", "f40-build"]).is_null()),
            "no repo: {}",
            hub.log()
        );
        let first = json(h, &["getRepo", "f40-build"])["id"].as_i64().unwrap();
        assert!(pkglist(h, first, &arch).contains("hello-1.0-1"));
        let req = json(h, &["repo.queryQueue", "--kwargs", "{'fields': '**'}"]);
        let req = &req.as_array().unwrap()[0];
        assert_eq!(req["tag_name"], "f40-build", "{req}");
        assert_eq!(req["owner_name"], "kojira", "{req}");
        assert_eq!(req["priority"], 20, "{req}");
        assert_eq!(req["active"], false, "{req}");
        assert_eq!(req["repo_id"], first, "{req}");
        let task = json(h, &["getTaskInfo", &req["task_id"].to_string()]);
        assert_eq!(task["method"], "newRepo");
        assert_eq!(
            task["owner"], req["owner"],
            "the queue's user owns the task"
        );

        // a waitrepo task with upstream's legacy newer_than: "now" is the
        // tag's last change, which the current repo has; with min_event
        // too it is refused
        let waited = |args: &str| {
            let id = ok(
                h,
                &[
                    "call",
                    "--python",
                    "--bare-strings",
                    "makeTask",
                    "waitrepo",
                    args,
                ],
            );
            let id = id.trim().to_string();
            assert!(
                wait_until(60, || matches!(
                    json(h, &["getTaskInfo", &id])["state"].as_i64(),
                    Some(2 | 5)
                )),
                "waitrepo {args}: {}",
                json(h, &["getTaskInfo", &id])
            );
            (
                json(h, &["getTaskInfo", &id])["state"].clone(),
                h.koji(&["call", "--json-output", "getTaskResult", &id]),
            )
        };
        let (state, out) = waited("['f40-build', 'now']");
        assert_eq!(state, 2, "{out:?}");
        let got: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
        assert_eq!(got["id"], first, "{got}");
        let (state, out) = waited("['f40-build', 'now', None, 1]");
        assert_eq!(state, 5);
        assert!(
            out.stderr.contains("newer_than and min_event args confict"),
            "{out:?}"
        );

        // a change in the parent makes the old repo stale and a new one
        import_and_tag(h, &bye, "f40-base", "bye-2.0-3");
        let out = ok(
            h,
            &[
                "wait-repo",
                "--request",
                "f40-build",
                "--build",
                "bye-2.0-3",
            ],
        );
        let second = got_repo(&out);
        assert!(second > first);
        let list = pkglist(h, second, &arch);
        assert!(
            list.contains("hello-1.0-1") && list.contains("bye-2.0-3"),
            "{list}"
        );
        // made from the first repo's metadata chunks plus createrepo_c's
        // entries for bye's packages alone (no sqlite databases), and dnf
        // reads it: both builds' packages
        let log = createrepo_log(h, second);
        assert!(
            log.contains(&format!("repos/f40-build/{first}/{arch}/repodata (")),
            "spliced from repo {first}: {log}"
        );
        let added = log
            .lines()
            .find(|l| l.contains("-i") && l.contains("added.pkglist"))
            .unwrap_or_else(|| panic!("createrepo_c over the new packages: {log}"));
        assert!(!added.contains("--update"), "{added}");
        let data = h
            .topdir()
            .join(format!("repos/f40-build/{second}/{arch}/repodata"));
        assert!(data.join("koji-rs-chunks.json").is_file());
        let names: Vec<String> = std::fs::read_dir(&data)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        assert!(!names.iter().any(|n| n.contains("sqlite")), "{names:?}");
        dnf_lists_hello_and_bye(h, second, &arch);
        assert_eq!(
            std::fs::read_link(h.topdir().join("repos/f40-build/latest")).unwrap(),
            std::path::Path::new(&second.to_string())
        );
        // the first stopped being current when bye was tagged, then (its
        // lifetime over) expired and was deleted, from disk too
        assert!(
            wait_until(90, || json(h, &["repoInfo", &first.to_string()])["state"]
                == 3),
            "repo {first} deleted: {}",
            json(h, &["repoInfo", &first.to_string()])
        );
        let info = json(h, &["repoInfo", &first.to_string()]);
        assert!(info["end_event"].is_i64(), "{info}");
        assert!(!h.topdir().join(format!("repos/f40-build/{first}")).exists());
        // the current one stays
        let current = json(h, &["repoInfo", &second.to_string()]);
        assert_eq!(current["state"], 1, "{current}");
        assert!(current["end_event"].is_null(), "{current}");

        // regen-repo (a request for a current repo) answers with it
        let out = ok(h, &["regen-repo", "f40-build"]);
        assert!(out.starts_with(&format!("Got repo {second}\n")), "{out}");

        // custom options: a repo of their own, with debuginfo; latest stays
        let out = ok(
            h,
            &[
                "request-repo",
                "--nowait",
                "--current",
                "--debuginfo",
                "f40-build",
            ],
        );
        let req_id = out
            .strip_prefix("Got request: ")
            .and_then(|r| r.lines().next())
            .unwrap_or_else(|| panic!("{out}"))
            .trim()
            .to_string();
        // (the 1.36.1 client prints the repo only when it was there at once)
        ok(h, &["wait-repo-request", &req_id]);
        let check = json(h, &["repo.checkRequest", &req_id]);
        let custom = check["repo"]["id"]
            .as_i64()
            .unwrap_or_else(|| panic!("{check}"));
        assert!(custom > second);
        let info = json(h, &["repoInfo", &custom.to_string()]);
        assert_eq!(info["custom_opts"], serde_json::json!({"debuginfo": true}));
        assert!(pkglist(h, custom, &arch).contains("hello-debuginfo"));
        assert_eq!(
            std::fs::read_link(h.topdir().join("repos/f40-build/latest")).unwrap(),
            std::path::Path::new(&second.to_string())
        );
        // repo.get finds each by its options
        let got = json(
            h,
            &[
                "--python",
                "repo.get",
                "'f40-build'",
                "opts={'debuginfo': True}",
            ],
        );
        assert_eq!(got["id"], custom);
        assert_eq!(json(h, &["repo.get", "f40-build"])["id"], second);
    }
}

/// Debian's dnf, reading f40-build's repo `repo` over HTTP, lists the
/// arch packages of hello and bye.
fn dnf_lists_hello_and_bye(h: &Hub, repo: i64, arch: &str) {
    let listed = dnf_list(h, &format!("repos/f40-build/{repo}/{arch}"), &[]);
    assert!(listed.contains(&format!("hello.{arch}")), "{listed}");
    assert!(listed.contains(&format!("bye.{arch}")), "{listed}");
}

/// The createrepo log of the `createrepo` subtask that made `repo`.
fn createrepo_log(h: &Hub, repo: i64) -> String {
    let task = json(h, &["repoInfo", &repo.to_string()])["task_id"].clone();
    let children = json(h, &["getTaskChildren", &task.to_string()]);
    let cr = children[0]["id"].as_i64().unwrap();
    std::fs::read_to_string(
        h.topdir()
            .join(format!("work/tasks/{}/{cr}/createrepo.log", cr % 10000)),
    )
    .unwrap_or_default()
}

/// With the builder's `createrepo_splice` off, regeneration is upstream's:
/// createrepo_c `--update --skip-stat` over the whole package list from
/// the previous repo's metadata, with createrepo_c's sqlite databases.
#[test]
fn without_splicing_createrepo_c_updates_the_old_metadata() {
    let arch = machine_arch();
    let hello = rpms::build("hello", "1.0", "1");
    let bye = rpms::build("bye", "2.0", "3");
    let backend = koji_core::testing::backends().into_iter().next().unwrap();
    let conf = tempfile::tempdir().unwrap();
    let hub = start_regen_with(
        backend,
        conf.path(),
        &["--builder-opt", "createrepo_splice=no"],
    );
    let h = &hub;
    ok(h, &["add-tag", "f40-build", "--arches", &arch]);
    ok(h, &["add-tag", "f40"]);
    ok(
        h,
        &["add-pkg", "--owner", "admin", "f40-build", "hello", "bye"],
    );
    import_and_tag(h, &hello, "f40-build", "hello-1.0-1");
    ok(h, &["add-target", "f40-candidate", "f40-build", "f40"]);
    assert!(
        wait_until(60, || !json(h, &["getRepo", "f40-build"]).is_null()),
        "no repo: {}",
        hub.log()
    );
    let first = json(h, &["getRepo", "f40-build"])["id"].as_i64().unwrap();
    import_and_tag(h, &bye, "f40-build", "bye-2.0-3");
    let out = ok(
        h,
        &[
            "wait-repo",
            "--request",
            "f40-build",
            "--build",
            "bye-2.0-3",
        ],
    );
    let second = got_repo(&out);
    assert!(second > first);
    let log = createrepo_log(h, second);
    let run = log
        .lines()
        .find(|l| l.contains("running") && l.contains("createrepo_c"))
        .unwrap_or_else(|| panic!("{log}"));
    assert!(
        run.contains("--update") && run.contains("--skip-stat") && !run.contains("--no-database"),
        "{run}"
    );
    assert!(!log.contains("reusing the metadata"), "{log}");
    let data = h
        .topdir()
        .join(format!("repos/f40-build/{second}/{arch}/repodata"));
    assert!(!data.join("koji-rs-chunks.json").exists());
    let repomd = std::fs::read_to_string(data.join("repomd.xml")).unwrap();
    assert!(repomd.contains("type=\"primary_db\""), "{repomd}");
    dnf_lists_hello_and_bye(h, second, &arch);
}

/// Upstream's kojira (koji==1.36.1, beside the client) keeping repos
/// current for a hub whose own upkeep is off: it turns requests into
/// newRepo tasks, requests repos for `repo.auto` tags, records end
/// events, expires old repos and deletes them from disk.
#[test]
fn upstream_kojira_keeps_repos_current() {
    let kojira = support::koji_client().with_file_name("kojira");
    assert!(kojira.is_file(), "kojira missing beside {kojira:?}");
    let arch = machine_arch();
    let hello = rpms::build("hello", "1.0", "1");
    let bye = rpms::build("bye", "2.0", "3");
    for backend in koji_core::testing::backends() {
        // support's hubs run without the built-in upkeep
        let hub = start(backend);
        let h = &hub;
        h.add_user("kojira", "kojira-pw");
        ok(h, &["grant-permission", "repo", "kojira"]);
        ok(h, &["add-tag", "f40-base"]);
        ok(
            h,
            &[
                "add-tag",
                "f40-build",
                "--arches",
                &arch,
                "--parent",
                "f40-base",
            ],
        );
        ok(h, &["add-tag", "f40"]);
        ok(h, &["add-target", "f40-candidate", "f40-build", "f40"]);
        ok(
            h,
            &["add-pkg", "--owner", "admin", "f40-base", "hello", "bye"],
        );
        import_and_tag(h, &hello, "f40-base", "hello-1.0-1");
        // a tag regenerated automatically (kojira's autoRequests)
        ok(
            h,
            &[
                "add-tag",
                "auto",
                "--arches",
                &arch,
                "--parent",
                "f40-base",
                "-x",
                "repo.auto=True",
            ],
        );

        let log = h.home().join("kojira.log");
        let conf = h.home().join("kojira.conf");
        std::fs::write(
            &conf,
            format!(
                "[kojira]\nserver = {}\ntopdir = {}\nuser = kojira\npassword = kojira-pw\n\
                 logfile = {}\nsleeptime = 1\nrepo_lifetime = 0\nexpired_repo_lifetime = 0\n\
                 recheck_period = 0\nreference_recheck_period = 0\n",
                h.url(),
                h.topdir().display(),
                log.display()
            ),
        )
        .unwrap();
        let child = std::process::Command::new(&kojira)
            .args(["--fg", "--force-lock", "--verbose", "-c"])
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("kojira");
        struct Kill(std::process::Child);
        impl Drop for Kill {
            fn drop(&mut self) {
                let _ = self.0.kill();
                let _ = self.0.wait();
            }
        }
        let _guard = Kill(child);
        let kojira_log = || std::fs::read_to_string(&log).unwrap_or_default();

        // a request: kojira's checkQueue makes the task, the builder the repo
        let out = ok(
            h,
            &[
                "wait-repo",
                "--request",
                "f40-build",
                "--build",
                "hello-1.0-1",
            ],
        );
        assert!(out.starts_with("Got repo "), "{out}\n{}", kojira_log());
        let first = got_repo(&out);
        let req = json(h, &["repo.queryQueue", "--kwargs", "{'fields': '**'}"]);
        let req = &req.as_array().unwrap()[0];
        assert_eq!(req["repo_id"], first, "{req}");
        let task = json(h, &["getTaskInfo", &req["task_id"].to_string()]);
        assert_eq!(task["method"], "newRepo");
        let kojira_id = json(h, &["getUser", "kojira"])["id"].clone();
        assert_eq!(task["owner"], kojira_id, "RepoQueueUser owns the task");

        // the repo.auto tag gets its repo without anyone asking
        assert!(
            wait_until(90, || !json(h, &["getRepo", "auto"]).is_null()),
            "no repo for the repo.auto tag\n{}",
            kojira_log()
        );

        // a change: the old repo gets its end event, a new request its
        // repo, and kojira expires and deletes the old one
        import_and_tag(h, &bye, "f40-base", "bye-2.0-3");
        let out = ok(
            h,
            &[
                "wait-repo",
                "--request",
                "f40-build",
                "--build",
                "bye-2.0-3",
            ],
        );
        assert!(out.starts_with("Got repo "), "{out}");
        assert!(
            wait_until(90, || json(h, &["repoInfo", &first.to_string()])["state"]
                == 3),
            "kojira deleted repo {first}: {}\n{}",
            json(h, &["repoInfo", &first.to_string()]),
            kojira_log()
        );
        assert!(json(h, &["repoInfo", &first.to_string()])["end_event"].is_i64());
        assert!(
            wait_until(30, || !h
                .topdir()
                .join(format!("repos/f40-build/{first}"))
                .exists()),
            "kojira removed repo {first} from disk\n{}",
            kojira_log()
        );
        let text = kojira_log();
        assert!(text.contains("Entering main loop"), "{text}");
        assert!(
            !text.contains("Traceback") && !text.contains("Fault"),
            "kojira ran into errors:\n{text}"
        );
    }
}

/// B's spec: BuildRequires A and runs A's program while it builds, so it
/// builds only in a buildroot that has A.
fn needs_a_srpm() -> std::path::PathBuf {
    rpms::srpm_of("libb-needs-liba", "libb", &needs_a_spec())
}

fn needs_a_spec() -> String {
    rpms::self_contained_spec("libb", "1.0", "1", false)
        .replace(
            "License:        MIT\n",
            "License:        MIT\nBuildRequires:  liba\n",
        )
        .replace(
            "%install\n",
            "%install\nmkdir -p %{buildroot}/usr/share/libb\n/usr/bin/liba > %{buildroot}/usr/share/libb/from-liba\n",
        )
        .replace(
            "%files\n/usr/bin/%{name}\n",
            "%files\n/usr/bin/%{name}\n/usr/share/libb/from-liba\n",
        )
}

/// A git repository holding `spec` as `NAME.spec`; its `git+file://` URL.
fn git_repo(root: &std::path::Path, name: &str, spec: &str) -> String {
    let (repo, commit) = support::git_spec_repo(root, name, spec);
    format!("git+file://{}#{commit}", repo.display())
}

/// `koji chain-build TARGET A : B`: A builds from git, the chainbuild task
/// waits (a waitrepo subtask) until the build tag's repo has it, then B,
/// which needs A in its buildroot, builds.
#[test]
fn chain_build_builds_level_after_level() {
    let arch = machine_arch();
    let repos = tempfile::tempdir().unwrap();
    let url_a = git_repo(
        repos.path(),
        "liba",
        &rpms::self_contained_spec("liba", "1.0", "1", false),
    );
    let url_b = git_repo(repos.path(), "libb", &needs_a_spec());
    // (no common repository, no source_cmd: upstream would run `make sources`)
    let allowed = format!(":{}/*:no:", repos.path().display());
    for backend in koji_core::testing::backends() {
        let conf = tempfile::tempdir().unwrap();
        let hub = start_regen_with(backend, conf.path(), &["--builder-allowed-scms", &allowed]);
        let h = &hub;
        ok(h, &["add-tag", "f40"]);
        ok(
            h,
            &["add-tag", "f40-build", "--arches", &arch, "--parent", "f40"],
        );
        ok(h, &["add-target", "f40-candidate", "f40-build", "f40"]);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "liba", "libb"]);
        ok(h, &["add-group", "f40-build", "build"]);
        ok(h, &["add-group-pkg", "f40-build", "build", "bash"]);
        // SRPMs are made in buildroots of the srpm-build group
        ok(h, &["add-group", "f40-build", "srpm-build"]);
        ok(h, &["add-group-pkg", "f40-build", "srpm-build", "liba"]);

        let out = h.koji(&[
            "chain-build",
            "--wait",
            "f40-candidate",
            &url_a,
            ":",
            &url_b,
        ]);
        assert_eq!(out.code, 0, "{out:?}\n{}", h.log());
        let chain: i64 = out
            .stdout
            .lines()
            .find_map(|l| l.strip_prefix("Created task: "))
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(|| panic!("{out:?}"));
        let info = json(h, &["getTaskInfo", &chain.to_string()]);
        assert_eq!(info["method"], "chainbuild");
        assert_eq!(info["state"], 2, "closed: {info}\n{}", out.stdout);
        let children = json(h, &["getTaskChildren", &chain.to_string()]);
        let mut kids: Vec<(String, String)> = children
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                (
                    c["method"].as_str().unwrap().to_string(),
                    c["label"].as_str().unwrap_or_default().to_string(),
                )
            })
            .collect();
        kids.sort();
        assert_eq!(
            kids,
            [
                ("build".to_string(), "build 0,0".to_string()),
                ("build".to_string(), "build 1,0".to_string()),
                ("waitrepo".to_string(), "wait 1".to_string()),
            ],
            "{children}"
        );
        // B was built in a buildroot holding A, both are tagged
        for nvr in ["liba-1.0-1", "libb-1.0-1"] {
            let b = json(h, &["getBuild", nvr]);
            assert_eq!(b["state"], 1, "{nvr}: {b}");
            assert_eq!(
                b["source"],
                if nvr == "liba-1.0-1" { &url_a } else { &url_b }.as_str()
            );
        }
        let tagged = ok(h, &["list-tagged", "--quiet", "f40"]);
        assert!(
            tagged.contains("liba-1.0-1") && tagged.contains("libb-1.0-1"),
            "{tagged}"
        );
        let rpms_of_b = json(
            h,
            &[
                "listRPMs",
                &json(h, &["getBuild", "libb-1.0-1"])["id"].to_string(),
            ],
        );
        let br = rpms_of_b
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["arch"] == arch.as_str())
            .map(|r| r["buildroot_id"].to_string())
            .unwrap();
        let listing = ok(h, &["list-buildroot", &br]);
        assert_eq!(listing, format!("Component RPMs:\nliba-1.0-1.{arch}\n"));
        // B's SRPM was made in a buildroot of its own, from the same repo,
        // holding the srpm-build group (A), and expired after
        let b_build = children
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["label"] == "build 1,0")
            .map(|c| c["id"].to_string())
            .unwrap();
        let srpm_task = json(h, &["getTaskChildren", &b_build])
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["method"] == "buildSRPMFromSCM")
            .map(|c| c["id"].as_i64().unwrap())
            .unwrap_or_else(|| panic!("no buildSRPMFromSCM under task {b_build}"));
        let roots = json(h, &["listBuildroots", &format!("taskID={srpm_task}")]);
        let root = &roots[0];
        assert_eq!(root["state"], 3, "{roots}");
        let arch_root = json(h, &["getBuildroot", &br]);
        assert_eq!(root["repo_id"], arch_root["repo_id"], "{roots}");
        let listing = ok(h, &["list-buildroot", &root["id"].to_string()]);
        assert_eq!(listing, format!("Component RPMs:\nliba-1.0-1.{arch}\n"));

        // the handler refuses scratch chains, as upstream's does
        let srcs = serde_json::json!([[url_a], ["liba-1.0-1"]]).to_string();
        let id = ok(
            h,
            &[
                "call",
                "--json-input",
                "chainBuild",
                &srcs,
                "\"f40-candidate\"",
                "opts={\"scratch\": true}",
            ],
        );
        let id = id.trim().to_string();
        assert!(
            wait_until(60, || json(h, &["getTaskInfo", &id])["state"] == 5),
            "{}",
            json(h, &["getTaskInfo", &id])
        );
        let out = h.koji(&["call", "getTaskResult", &id]);
        assert!(
            out.stderr
                .contains("--scratch is not allowed with chain-builds"),
            "{out:?}"
        );
    }
}

/// Issue 5's chain: A is built and tagged, its repo regenerates by
/// itself, B (BuildRequires: A, `--wait-build A`) finds that repo and
/// builds in a buildroot that has it; dnf then lists both.
#[test]
fn a_chain_builds_against_its_own_repo() {
    let arch = machine_arch();
    let a = rpms::self_contained_srpm("liba", "1.0", "1", false);
    let b = needs_a_srpm();
    for backend in koji_core::testing::backends() {
        let conf = tempfile::tempdir().unwrap();
        let hub = start_regen(backend, conf.path());
        let h = &hub;
        ok(h, &["add-tag", "f40"]);
        ok(
            h,
            &["add-tag", "f40-build", "--arches", &arch, "--parent", "f40"],
        );
        ok(h, &["add-target", "f40-candidate", "f40-build", "f40"]);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "liba", "libb"]);
        ok(h, &["add-group", "f40-build", "build"]);
        ok(h, &["add-group-pkg", "f40-build", "build", "bash"]);

        ok(
            h,
            &["build", "--wait", "f40-candidate", a.to_str().unwrap()],
        );
        // the hub regenerates f40-build's repo by itself: a passive wait
        // (no request) sees a repo with A (the client warns that the tag
        // has no `repo.auto`: upstream's hub would not make it unasked)
        let out = h.koji(&[
            "wait-repo",
            "--no-request",
            "--build",
            "liba-1.0-1",
            "f40-build",
        ]);
        assert!(
            out.code == 0 && out.stdout.starts_with("Got repo "),
            "[{}] {out:?}",
            h.label()
        );
        // so B, which needs a repo of f40-build with A, finds it and
        // builds without waiting (no waitrepo subtask)
        let out = ok(
            h,
            &[
                "build",
                "--wait",
                "--wait-build",
                "liba-1.0-1",
                "f40-candidate",
                b.to_str().unwrap(),
            ],
        );
        assert!(!out.contains("waitrepo"), "no waitrepo subtask: {out}");
        let build = json(h, &["getBuild", "libb-1.0-1"]);
        assert_eq!(build["state"], 1, "{build}");
        let rpms_of_b = json(h, &["listRPMs", &build["id"].to_string()]);
        let br = rpms_of_b
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["arch"] == arch.as_str())
            .map(|r| r["buildroot_id"].clone())
            .unwrap();
        assert!(br.is_i64(), "B's RPMs name their buildroot: {rpms_of_b}");
        let listing = ok(h, &["list-buildroot", &br.to_string()]);
        assert_eq!(listing, format!("Component RPMs:\nliba-1.0-1.{arch}\n"));
        let broot = json(h, &["getBuildroot", &br.to_string()]);
        let info = ok(
            h,
            &["repoinfo", "--buildroots", &broot["repo_id"].to_string()],
        );
        assert!(info.contains("Tag name: f40-build\n"), "{info}");
        assert!(info.contains("Dist repo?: no\n"), "{info}");
        // (B's rebuildSRPM and buildArch buildroots)
        assert!(info.contains("Number of buildroots: 2\n"), "{info}");
        assert!(info.contains(&format!("\n               {br}\n")), "{info}");
        assert_eq!(broot["state"], 3, "expired once the build ended: {broot}");
        let repo = json(h, &["repoInfo", &broot["repo_id"].to_string()]);
        assert_eq!(repo["tag_name"], "f40-build");
        // what B's build printed came from A's program
        let b_rpm = h
            .topdir()
            .join(format!("packages/libb/1.0/1/{arch}/libb-1.0-1.{arch}.rpm"));
        let file = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!(
                "rpm2archive - < {} | tar -xzOf - ./usr/share/libb/from-liba",
                b_rpm.display()
            ))
            .output()
            .unwrap();
        assert_eq!(String::from_utf8_lossy(&file.stdout), "hello\n");

        // both end up in the build tag's repo, which dnf reads
        ok(
            h,
            &[
                "wait-repo",
                "--request",
                "f40-build",
                "--build",
                "libb-1.0-1",
            ],
        );
        let listed = dnf_list(h, &format!("repos/f40-build/latest/{arch}"), &[]);
        assert!(listed.contains(&format!("liba.{arch}")), "{listed}");
        assert!(listed.contains(&format!("libb.{arch}")), "{listed}");
    }
}

/// External repos merged into a tag's repo in upstream's three modes,
/// from a local file:// repo made by createrepo_c: `koji` (the tag's
/// packages win by name, blocked packages left out), `simple` (every
/// package, blocked ones left out) and `bare` (every package).
#[test]
fn external_repos_are_merged_in_each_mode() {
    let arch = machine_arch();
    let hello = rpms::build("hello", "1.0", "1");
    let newer = rpms::build("hello", "2.0", "1");
    let extra = rpms::build("extra", "1.0", "1");
    let ext = tempfile::tempdir().unwrap();
    for r in [newer.rpm("hello-2.0"), extra.rpm("extra-1.0")] {
        std::fs::copy(r, ext.path().join(r.file_name().unwrap())).unwrap();
    }
    let out = std::process::Command::new("createrepo_c")
        .arg(ext.path())
        .output()
        .expect("createrepo_c");
    assert!(out.status.success(), "{out:?}");
    let url = format!("file://{}/", ext.path().display());
    for backend in koji_core::testing::backends() {
        let hub = start(backend);
        let h = &hub;
        ok(h, &["add-tag", "content"]);
        ok(
            h,
            &["add-pkg", "--owner", "admin", "content", "hello", "extra"],
        );
        import_and_tag(h, &hello, "content", "hello-1.0-1");
        ok(h, &["add-external-repo", "ext", &url]);
        for mode in ["koji", "simple", "bare"] {
            let tag = format!("f40-{mode}");
            ok(
                h,
                &["add-tag", &tag, "--arches", &arch, "--parent", "content"],
            );
            ok(
                h,
                &["add-target", &format!("{tag}-candidate"), &tag, "content"],
            );
            ok(h, &["block-pkg", &tag, "extra"]);
            ok(h, &["add-external-repo", "ext", "-t", &tag, "-m", mode]);
            ok(h, &["regen-repo", "--make-task", "--wait", &tag]);
            let repo = json(h, &["getRepo", &tag]);
            assert_eq!(repo["state"], 1, "[{mode}] {repo}");
            let listed = dnf_list(
                h,
                &format!("repos/{tag}/latest/{arch}"),
                &["--showduplicates"],
            );
            let has = |nevr: &str| {
                listed.lines().any(|l| {
                    let f: Vec<&str> = l.split_whitespace().collect();
                    f.len() >= 2 && format!("{} {}", f[0], f[1]) == nevr
                })
            };
            let ours = has(&format!("hello.{arch} 1.0-1"));
            let theirs = has(&format!("hello.{arch} 2.0-1"));
            let blocked = has(&format!("extra.{arch} 1.0-1"));
            assert_eq!(
                (ours, theirs, blocked),
                match mode {
                    "koji" => (true, false, false),
                    "simple" => (true, true, false),
                    _ => (true, true, true),
                },
                "[{mode}] {listed}"
            );
        }
    }
}

/// `koji dist-repo`: the tag's RPMs signed with the requested key, linked
/// into `repos-dist/TAG/ID/ARCH/Packages/` with metadata dnf reads; RPMs
/// without the signature fail the task unless skipped.
#[test]
fn dist_repo_holds_signed_rpms_dnf_reads() {
    let arch = machine_arch();
    let hello = rpms::build("hello", "1.0", "1");
    let key = rpms::key().sigkey.clone();
    let signed_bin = rpms::signed_copy(hello.rpm(&format!("hello-1.0-1.{arch}")));
    let signed_doc = rpms::signed_copy(hello.rpm("hello-doc"));
    for backend in koji_core::testing::backends() {
        let hub = start(backend);
        let h = &hub;
        ok(h, &["add-tag", "f40", "--arches", &arch]);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "hello"]);
        import_and_tag(h, &hello, "f40", "hello-1.0-1");
        ok(
            h,
            &[
                "import-sig",
                signed_bin.to_str().unwrap(),
                signed_doc.to_str().unwrap(),
            ],
        );
        ok(
            h,
            &[
                "write-signed-rpm",
                &key,
                &format!("hello-1.0-1.{arch}"),
                "hello-doc-1.0-1.noarch",
            ],
        );

        // the debuginfo package has no signature: refused
        let out = h.koji(&["dist-repo", "f40", &key, "--wait"]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stdout
                .contains("Unsigned packages found. See missing_signatures.log"),
            "{out:?}"
        );
        // skipped: the repo has the two signed RPMs
        let out = ok(
            h,
            &[
                "dist-repo",
                "f40",
                &key,
                "--skip-missing-signatures",
                "--wait",
            ],
        );
        assert!(out.starts_with("Creating dist repo for tag f40\n"), "{out}");
        let repo = json(h, &["getRepo", "f40", "dist=True"]);
        assert_eq!(repo["state"], 1, "{repo}");
        assert_eq!(repo["dist"], true, "{repo}");
        let id = repo["id"].as_i64().unwrap();
        let dir = h.topdir().join(format!("repos-dist/f40/{id}/{arch}"));
        assert_eq!(
            std::fs::read_link(h.topdir().join("repos-dist/f40/latest")).unwrap(),
            std::path::Path::new(&id.to_string())
        );
        let bin = dir.join(format!("Packages/h/hello-1.0-1.{arch}.rpm"));
        assert!(bin.is_file(), "{}", bin.display());
        assert!(dir.join("Packages/h/hello-doc-1.0-1.noarch.rpm").is_file());
        assert!(!dir
            .join(format!("Packages/h/hello-debuginfo-1.0-1.{arch}.rpm"))
            .exists());
        let sig = std::process::Command::new("rpm")
            .args(["-qp", "--qf", "%{SIGPGP:pgpsig}%{RSAHEADER:pgpsig}\n"])
            .arg(&bin)
            .output()
            .unwrap();
        let sig = String::from_utf8_lossy(&sig.stdout).to_lowercase();
        assert!(sig.contains(&key), "signed with {key}: {sig}");
        let kojipkgs: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("kojipkgs")).unwrap()).unwrap();
        assert_eq!(
            kojipkgs[format!("hello-1.0-1.{arch}.rpm")]["sigkey"],
            key.as_str()
        );

        let listed = dnf_list(h, &format!("repos-dist/f40/latest/{arch}"), &[]);
        assert!(listed.contains(&format!("hello.{arch}")), "{listed}");
        assert!(listed.contains("hello-doc.noarch"), "{listed}");
        assert!(!listed.contains("debuginfo"), "{listed}");
    }
}

/// `koji dist-repo --delta-rpms TAG --zck`: the new dist repo holds delta
/// RPMs from the tag's previous dist repo (`drpms/`, `prestodelta` in the
/// metadata) and zchunk metadata beside the usual; its metadata was
/// seeded from the previous repo's.
#[test]
fn dist_repo_deltas_and_zchunk() {
    let arch = machine_arch();
    let key = rpms::key().sigkey.clone();
    let v1 = rpms::build("hello", "1.0", "1");
    let v2 = rpms::build("hello", "1.0", "2");
    let bin =
        |b: &rpms::Built, rel: &str| rpms::signed_copy(b.rpm(&format!("hello-1.0-{rel}.{arch}")));
    let (s1, s2) = (bin(&v1, "1"), bin(&v2, "2"));
    for backend in koji_core::testing::backends() {
        let hub = start(backend);
        let h = &hub;
        ok(h, &["add-tag", "f40", "--arches", &arch]);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "hello"]);
        let dist = |extra: &[&str]| {
            let mut args = vec!["dist-repo", "f40", &key, "--skip-missing-signatures"];
            args.extend(extra);
            args.push("--wait");
            ok(h, &args);
            let repo = json(h, &["getRepo", "f40", "dist=True"]);
            assert_eq!(repo["state"], 1, "{repo}");
            repo["id"].as_i64().unwrap()
        };
        import_and_tag(h, &v1, "f40", "hello-1.0-1");
        ok(h, &["import-sig", s1.to_str().unwrap()]);
        ok(
            h,
            &["write-signed-rpm", &key, &format!("hello-1.0-1.{arch}")],
        );
        let first = dist(&[]);
        import_and_tag(h, &v2, "f40", "hello-1.0-2");
        ok(h, &["import-sig", s2.to_str().unwrap()]);
        ok(
            h,
            &["write-signed-rpm", &key, &format!("hello-1.0-2.{arch}")],
        );
        let second = dist(&["--delta-rpms", "f40", "--zck"]);
        assert_ne!(first, second);
        let dir = h.topdir().join(format!("repos-dist/f40/{second}/{arch}"));
        let drpm = dir.join(format!("drpms/hello-1.0-1_1.0-2.{arch}.drpm"));
        assert!(drpm.is_file(), "no {}", drpm.display());
        let repomd = std::fs::read_to_string(dir.join("repodata/repomd.xml")).unwrap();
        for t in ["prestodelta", "primary_zck", "primary_db"] {
            assert!(
                repomd.contains(&format!("<data type=\"{t}\">")),
                "{t}: {repomd}"
            );
        }
        let tasks = json(
            h,
            &[
                "--python",
                "listTasks",
                "opts={'method': 'createdistrepo'}",
                "queryOpts={'order': '-id', 'limit': 1}",
            ],
        );
        let task = tasks[0]["id"].as_i64().unwrap();
        let log = h
            .topdir()
            .join(format!("work/tasks/{}/{task}/createrepo.log", task % 10000));
        let log = std::fs::read_to_string(&log).unwrap_or_default();
        assert!(log.contains("--update"), "seeded from repo {first}: {log}");
    }
}

/// `koji dist-repo --multilib CONFIG`: the i386 repo is made first, then
/// the x86_64 repo takes the i686 builds of what python-multilib's devel
/// method chooses with what they require from the i386 repo: here the
/// -devel package (libml itself is black-listed for the runtime method),
/// which brings libml by its Requires; not the tools. Lists are tested by
/// substring as upstream does (black-listing libml-devel black-lists libml
/// too); a chosen package without a 32-bit build fails the task with
/// missing_multilib.log; a config that cannot be read, or a path out of
/// the work directory, fails the call itself.
#[test]
fn dist_repo_multilib_takes_32_bit_libraries() {
    let b = rpms::build_multilib();
    let hello = rpms::build("hello", "1.0", "1");
    let conf_dir = tempfile::tempdir().unwrap();
    let conf = |name: &str, text: &str| {
        let p = conf_dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p.display().to_string()
    };
    let devel_only = conf(
        "multilib.conf",
        "[runtime]\nwhite =\nblack = httpd\n    libml\n\n[devel]\nwhite =\nblack = php-devel\n",
    );
    let no_devel = conf(
        "no-devel.conf",
        "[runtime]\nwhite =\nblack =\n[devel]\nwhite =\nblack = httpd-devel\n    libml-devel\n",
    );
    let with_hello = conf(
        "hello.conf",
        "[runtime]\nwhite = hello\nblack =\n[devel]\nwhite =\nblack =\n",
    );
    let broken = conf("broken.conf", "[runtime]\nwhite =\nblack =\n");
    for backend in koji_core::testing::backends() {
        let hub = start(backend);
        let h = &hub;
        ok(h, &["add-tag", "f40", "--arches", "i686 x86_64"]);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "libml", "hello"]);
        import_and_tag(h, &b, "f40", "libml-1.0-1");
        let dist = |conf: &str| -> std::path::PathBuf {
            let out = ok(
                h,
                &[
                    "dist-repo",
                    "f40",
                    "--allow-missing-signatures",
                    "--multilib",
                    conf,
                    "--wait",
                ],
            );
            assert!(out.contains("Creating dist repo for tag f40"), "{out}");
            let repo = json(h, &["getRepo", "f40", "dist=True"]);
            assert_eq!(repo["state"], 1, "{repo}");
            h.topdir()
                .join(format!("repos-dist/f40/{}", repo["id"].as_i64().unwrap()))
        };
        let files = |dir: &std::path::Path| -> Vec<String> {
            let kojipkgs: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(dir.join("kojipkgs")).unwrap())
                    .unwrap();
            let mut names: Vec<String> = kojipkgs
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let ml = if v["_multilib"] == true {
                        " (multilib)"
                    } else {
                        ""
                    };
                    format!("{k}{ml}")
                })
                .collect();
            names.sort();
            names
        };
        let native = [
            "libml-1.0-1.x86_64.rpm",
            "libml-data-1.0-1.noarch.rpm",
            "libml-devel-1.0-1.x86_64.rpm",
            "libml-tools-1.0-1.x86_64.rpm",
        ];

        let dir = dist(&devel_only);
        assert_eq!(
            files(&dir.join("i386")),
            [
                "libml-1.0-1.i686.rpm",
                "libml-data-1.0-1.noarch.rpm",
                "libml-devel-1.0-1.i686.rpm",
                "libml-tools-1.0-1.i686.rpm",
            ]
        );
        assert_eq!(
            files(&dir.join("x86_64")),
            [
                "libml-1.0-1.i686.rpm (multilib)",
                "libml-1.0-1.x86_64.rpm",
                "libml-data-1.0-1.noarch.rpm",
                "libml-devel-1.0-1.i686.rpm (multilib)",
                "libml-devel-1.0-1.x86_64.rpm",
                "libml-tools-1.0-1.x86_64.rpm",
            ]
        );
        assert!(dir.join("x86_64/Packages/l/libml-1.0-1.i686.rpm").is_file());
        // the i386 repo's task ran before the x86_64 one began
        let tasks = json(
            h,
            &[
                "--python",
                "listTasks",
                "opts={'method': 'createdistrepo'}",
                "queryOpts={'order': 'id'}",
            ],
        );
        let tasks = tasks.as_array().unwrap();
        let (i386, x86_64) = (&tasks[tasks.len() - 2], &tasks[tasks.len() - 1]);
        assert_eq!(i386["label"], "i386", "{tasks:?}");
        assert_eq!(x86_64["label"], "x86_64", "{tasks:?}");
        assert!(
            i386["completion_ts"].as_f64().unwrap() <= x86_64["create_ts"].as_f64().unwrap(),
            "{tasks:?}"
        );
        let listed = dnf_list(h, "repos-dist/f40/latest/x86_64", &["--forcearch=x86_64"]);
        for want in [
            "libml.i686",
            "libml-devel.i686",
            "libml.x86_64",
            "libml-tools.x86_64",
        ] {
            assert!(listed.contains(want), "{want}: {listed}");
        }
        assert!(!listed.contains("libml-tools.i686"), "{listed}");

        // "libml-devel" on the black list holds "libml": nothing 32-bit
        let dir = dist(&no_devel);
        assert_eq!(files(&dir.join("x86_64")), native);

        // a chosen package without a 32-bit build fails the task
        import_and_tag(h, &hello, "f40", "hello-1.0-1");
        let out = h.koji(&[
            "dist-repo",
            "f40",
            "--allow-missing-signatures",
            "--multilib",
            &with_hello,
            "--arch",
            "i686",
            "--arch",
            "x86_64",
            "--wait",
        ]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(
            out.stdout
                .contains("multilib packages missing. See missing_multilib.log"),
            "{out:?}"
        );

        // checked by the hub: no task
        let before = json(h, &["listTasks"]).as_array().unwrap().len();
        let out = h.koji(&[
            "dist-repo",
            "f40",
            "--allow-missing-signatures",
            "--multilib",
            &broken,
            "--wait",
        ]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("no section [devel]"), "{out:?}");
        let out = h.koji(&[
            "call",
            "--python",
            "distRepo",
            "'f40'",
            "[]",
            "arch=['x86_64']",
            "multilib='../../etc/passwd'",
        ]);
        assert_eq!(out.code, 1, "{out:?}");
        assert!(out.stderr.contains("Invalid upload path"), "{out:?}");
        assert_eq!(json(h, &["listTasks"]).as_array().unwrap().len(), before);
    }
}
