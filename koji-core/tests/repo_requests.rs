//! Repo generation and requests through upstream's API on both backends:
//! `host.repoInit` (what it writes, its options), `host.repoDone` (its
//! checks, the latest link, requests it satisfies), `newRepo`, the
//! `repo.*` request calls with their faults, and one pass of the hub's
//! own upkeep.

use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};

fn fault(r: Result<Json>) -> (i32, String) {
    let e = r.expect_err("a fault");
    (e.fault_code(), e.to_string())
}

/// A ready repo of `tag` made by `host` (repoInit then repoDone with no
/// metadata), for the task `task` if given; its id.
async fn ready_repo(th: &TestHub, host: &koji_core::Caller, tag: &str, task: Json) -> Result<i64> {
    let args = if task.is_null() {
        json!([tag])
    } else {
        json!([tag, kw(json!({"task_id": task}))])
    };
    let r = th.call(host, "host.repoInit", args).await?;
    let id = r[0].as_i64().unwrap();
    th.call(host, "host.repoDone", json!([id, {}])).await?;
    Ok(id)
}

/// Tags f40-build (x86_64) and f40, and the target between them.
async fn f40_target(th: &TestHub, admin: &koji_core::Caller) -> Result<()> {
    th.call(
        admin,
        "createTag",
        json!(["f40-build", kw(json!({"arches": "x86_64"}))]),
    )
    .await?;
    th.call(admin, "createTag", json!(["f40"])).await?;
    th.call(
        admin,
        "createBuildTarget",
        json!(["f40-candidate", "f40-build", "f40"]),
    )
    .await?;
    Ok(())
}

/// Uploads `files` (name, content) into `work/DIR` as the host would.
fn upload(th: &TestHub, dir: &str, files: &[(&str, &str)]) {
    let d = th.hub.pathinfo().work(None).join(dir);
    std::fs::create_dir_all(&d).unwrap();
    for (name, text) in files {
        std::fs::write(d.join(name), text).unwrap();
    }
}

#[tokio::test]
async fn repo_init_done_and_requests() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let host = th.host("builder1", &["x86_64"]).await?;
        let user = th.user("someone", "pw", &[]).await?;
        th.call(&admin, "createTag", json!(["base"])).await?;
        th.call(
            &admin,
            "createTag",
            json!([
                "f40-build",
                kw(json!({"parent": "base", "arches": "x86_64 i686 noarch"}))
            ]),
        )
        .await?;
        th.call(&admin, "packageListAdd", json!(["base", "gone", "admin"]))
            .await?;
        th.call(&admin, "packageListBlock", json!(["f40-build", "gone"]))
            .await?;
        th.call(&admin, "groupListAdd", json!(["base", "build"]))
            .await?;
        th.call(
            &admin,
            "groupPackageListAdd",
            json!(["base", "build", "bash"]),
        )
        .await?;

        // only hosts make repos
        let (code, msg) = fault(th.call(&user, "host.repoInit", json!(["f40-build"])).await);
        assert_eq!(
            (code, msg.as_str()),
            (1002, "User 3 is not a host"),
            "[{l}]"
        );
        let (code, msg) = fault(th.call(&host, "host.repoInit", json!(["nope"])).await);
        assert_eq!(
            (code, msg.as_str()),
            (1000, "No such tagInfo: 'nope'"),
            "[{l}]"
        );
        // unknown options are ignored here (as upstream), not refused
        let r = th
            .call(
                &host,
                "host.repoInit",
                json!(["f40-build", kw(json!({"opts": {"bogus": true}}))]),
            )
            .await?;
        let info = th.call(&admin, "repoInfo", json!([r[0]])).await?;
        assert_eq!(info["custom_opts"], json!({}), "[{l}] {info}");
        th.call(&admin, "repoProblem", json!([r[0]])).await?;
        let r = th
            .call(
                &host,
                "host.repoInit",
                json!(["f40-build", kw(json!({"opts": {"src": true}}))]),
            )
            .await?;
        let (repo, event) = (r[0].as_i64().unwrap(), r[1].as_i64().unwrap());
        let info = th.call(&admin, "repoInfo", json!([repo])).await?;
        assert_eq!(info["state"], 0, "[{l}] {info}");
        assert_eq!(info["create_event"], event, "[{l}]");
        assert_eq!(
            info["opts"],
            json!({"src": true, "debuginfo": false, "separate_src": false, "maven": false}),
            "[{l}]"
        );
        assert_eq!(info["custom_opts"], json!({"src": true}), "[{l}]");
        let dir = th.hub.pathinfo().repo(repo, "f40-build");
        // i686 is made canonical; noarch gets no directory of its own
        let mut arches: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        arches.sort();
        assert_eq!(arches, ["groups", "i386", "repo.json", "x86_64"], "[{l}]");
        assert_eq!(
            std::fs::read_to_string(dir.join("x86_64/blocklist")).unwrap(),
            "gone\n",
            "[{l}]"
        );
        let comps = std::fs::read_to_string(dir.join("groups/comps.xml")).unwrap();
        assert!(
            comps.contains("<packagereq type=\"mandatory\">bash</packagereq>"),
            "[{l}] {comps}"
        );
        let rj: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("repo.json")).unwrap()).unwrap();
        assert_eq!(rj["with_src"], true, "[{l}]");
        assert_eq!(rj["custom_opts"], json!({"src": true}), "[{l}]");

        // repoDone: checks first, then READY
        let (code, msg) = fault(
            th.call(&host, "host.repoDone", json!([repo, {"ppc64": ["x", []]}]))
                .await,
        );
        assert_eq!(code, 1000, "[{l}]");
        assert!(
            msg.starts_with("Repo arch directory missing: "),
            "[{l}] {msg}"
        );
        let (code, msg) = fault(
            th.call(
                &host,
                "host.repoDone",
                json!([repo, {"x86_64": ["tasks/1/1", ["repomd.xml"]]}]),
            )
            .await,
        );
        assert_eq!(code, 1000, "[{l}]");
        assert!(msg.starts_with("uploaded file missing: "), "[{l}] {msg}");
        let (code, _) = fault(
            th.call(
                &host,
                "host.repoDone",
                json!([repo, {"x86_64": ["../..", ["etc"]]}]),
            )
            .await,
        );
        assert_eq!(code, 1000, "[{l}] a path out of work/ is refused");
        upload(&th, "tasks/1/1", &[("repomd.xml", "<repomd/>")]);
        upload(&th, "tasks/1/2", &[("repomd.xml", "<repomd/>")]);
        th.call(
            &host,
            "host.repoDone",
            json!([repo, {"x86_64": ["tasks/1/1", ["repomd.xml"]], "i386": ["tasks/1/2", ["repomd.xml"]]}]),
        )
        .await?;
        assert!(dir.join("x86_64/repodata/repomd.xml").is_file(), "[{l}]");
        assert_eq!(
            th.call(&admin, "repoInfo", json!([repo])).await?["state"],
            1,
            "[{l}]"
        );
        // custom options: no latest link
        assert!(
            !dir.with_file_name("latest").exists(),
            "[{l}] a custom repo is not latest"
        );
        let (code, msg) = fault(th.call(&host, "host.repoDone", json!([repo, {}])).await);
        assert_eq!(
            (code, msg.as_str()),
            (
                1000,
                format!("Repo {repo} not in INIT state (got 1)").as_str()
            ),
            "[{l}]"
        );

        // repo.get: options must match; custom options must be asked for
        let got = th.call(&user, "repo.get", json!(["f40-build"])).await?;
        assert!(got.is_null(), "[{l}] {got}");
        let got = th
            .call(
                &user,
                "repo.get",
                json!(["f40-build", kw(json!({"opts": {"src": true}}))]),
            )
            .await?;
        assert_eq!(got["id"], repo, "[{l}]");
        let (code, msg) = fault(
            th.call(
                &user,
                "repo.get",
                json!(["f40-build", kw(json!({"opts": {"x": 1}}))]),
            )
            .await,
        );
        assert_eq!(
            (code, msg.as_str()),
            (1019, "Invalid repo option: x"),
            "[{l}]"
        );

        // requests
        let check = th
            .call(
                &user,
                "repo.request",
                json!(["f40-build", kw(json!({"opts": {"src": true}}))]),
            )
            .await?;
        assert_eq!(
            check["repo"]["id"], repo,
            "[{l}] a current repo answers: {check}"
        );
        assert!(check["request"].is_null(), "[{l}]");
        let check = th
            .call(
                &user,
                "repo.request",
                json!(["f40-build", kw(json!({"min_event": "last"}))]),
            )
            .await?;
        assert!(check["repo"].is_null(), "[{l}] {check}");
        assert_eq!(check["duplicate"], false, "[{l}]");
        let req = check["request"].clone();
        assert_eq!(req["priority"], 20, "[{l}]");
        assert_eq!(req["opts"], json!({}), "[{l}]");
        assert_eq!(req["owner_name"], "someone", "[{l}]");
        assert_eq!(req["active"], true, "[{l}]");
        let again = th
            .call(
                &user,
                "repo.request",
                json!(["f40-build", kw(json!({"min_event": "last"}))]),
            )
            .await?;
        assert_eq!(again["duplicate"], true, "[{l}]");
        assert_eq!(again["request"]["id"], req["id"], "[{l}]");
        for (args, code, msg) in [
            (
                json!(["f40-build", kw(json!({"min_event": 1, "at_event": 1}))]),
                1019,
                "The min_event and at_event options conflict",
            ),
            (
                json!(["f40-build", kw(json!({"at_event": 999999}))]),
                1019,
                "Invalid event: 999999",
            ),
            (
                json!(["f40-build", kw(json!({"priority": -5}))]),
                1004,
                "only admins may create high-priority requests",
            ),
            (
                json!(["f40-build", kw(json!({"opts": [1]}))]),
                1019,
                "Repo opts must be a dictionary",
            ),
        ] {
            let (c, m) = fault(th.call(&user, "repo.request", args.clone()).await);
            assert_eq!((c, m.as_str()), (code, msg), "[{l}] {args}");
        }
        let (code, msg) = fault(th.call(&user, "repo.checkRequest", json!([424242])).await);
        assert_eq!((code, msg.as_str()), (1000, "No such request"), "[{l}]");
        let (code, _) = fault(
            th.call(&user, "repo.setRequestPriority", json!([req["id"], 5]))
                .await,
        );
        assert_eq!(code, 1004, "[{l}] admins only");
        th.call(&admin, "repo.setRequestPriority", json!([req["id"], 5]))
            .await?;
        let (code, _) = fault(th.call(&user, "repo.checkQueue", json!([])).await);
        assert_eq!(code, 1004, "[{l}] the repo permission");

        // the queue makes a newRepo task owned by the queue's user (or the
        // requester when there is no such user)
        th.call(&admin, "repo.checkQueue", json!([])).await?;
        let check = th
            .call(&user, "repo.checkRequest", json!([req["id"]]))
            .await?;
        let task = check["request"]["task_id"].as_i64().expect("a task");
        assert_eq!(check["task"]["method"], "newRepo", "[{l}] {check}");
        assert_eq!(check["request"]["tries"], 1, "[{l}]");
        assert_eq!(check["request"]["priority"], 5, "[{l}]");
        let t = th
            .call(
                &admin,
                "getTaskInfo",
                json!([task, kw(json!({"request": true}))]),
            )
            .await?;
        assert_eq!(t["owner"], 3, "[{l}] {t}");
        assert_eq!(t["priority"], 15, "[{l}]");
        assert_eq!(
            t["request"][1],
            json!({"__starstar": true, "opts": {}}),
            "[{l}] {t}"
        );

        // a READY repo with the default options satisfies it and is latest
        let second = ready_repo(&th, &host, "f40-build", json!(task)).await?;
        let check = th
            .call(&user, "repo.checkRequest", json!([req["id"]]))
            .await?;
        assert_eq!(check["repo"]["id"], second, "[{l}] {check}");
        assert_eq!(check["request"]["active"], false, "[{l}]");
        assert_eq!(
            std::fs::read_link(dir.with_file_name("latest")).unwrap(),
            std::path::Path::new(&second.to_string()),
            "[{l}]"
        );

        // queries
        let tag_id = th.call(&user, "getTagID", json!(["f40-build"])).await?;
        let q = th
            .call(
                &user,
                "repo.query",
                json!([
                    [
                        ["tag_id", tag_id],
                        ["custom_opts", "=", "{}"],
                        ["state", "=", 1]
                    ],
                    ["id", "tag_name"]
                ]),
            )
            .await?;
        assert_eq!(q, json!([{"id": second, "tag_name": "f40-build"}]), "[{l}]");
        let (code, msg) = fault(th.call(&user, "repo.query", json!([[["nope", 1]]])).await);
        assert_eq!(
            (code, msg.as_str()),
            (1019, "Invalid field for query nope"),
            "[{l}]"
        );
        let n = th
            .call(
                &user,
                "repo.queryQueue",
                json!([[["active", "IS", false]], null, {"countOnly": true}]),
            )
            .await?;
        assert_eq!(n, 1, "[{l}]");

        // end events: a change in the parent ends the current repo
        th.call(&admin, "packageListAdd", json!(["base", "newpkg", "admin"]))
            .await?;
        th.call(&admin, "repo.updateEndEvents", json!([])).await?;
        let info = th.call(&admin, "repoInfo", json!([second])).await?;
        assert!(info["end_event"].is_i64(), "[{l}] {info}");

        // newRepo: the repo or regen-repo permission
        let (code, _) = fault(th.call(&user, "newRepo", json!(["f40-build"])).await);
        assert_eq!(code, 1004, "[{l}]");
        th.user("regen", "pw", &[]).await?;
        th.call(
            &admin,
            "grantPermission",
            json!(["regen", "regen-repo", kw(json!({"create": true}))]),
        )
        .await?;
        let regen = th.login("regen", "pw").await?;
        let t = th
            .call(
                &regen,
                "newRepo",
                json!(["f40-build", kw(json!({"debuginfo": true}))]),
            )
            .await?;
        let t = th
            .call(
                &admin,
                "getTaskInfo",
                json!([t, kw(json!({"request": true}))]),
            )
            .await?;
        assert_eq!(t["method"], "newRepo", "[{l}]");
        assert_eq!(
            t["request"],
            json!(["f40-build", {"__starstar": true, "debuginfo": true}]),
            "[{l}]"
        );
        assert_eq!(t["channel_id"], 2, "[{l}] the createrepo channel");
    }
    Ok(())
}

#[tokio::test]
async fn the_upkeep_pass_requests_expires_and_deletes() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let host = th.host("builder1", &["x86_64"]).await?;
        f40_target(&th, &admin).await?;
        let repos = th.hub.repos();
        let report = repos.regen_pass().await?;
        assert_eq!((report.requests, report.tasks), (1, 1), "[{l}] {report:?}");
        // one request at a time per tag
        let report = repos.regen_pass().await?;
        assert_eq!((report.requests, report.tasks), (0, 0), "[{l}] {report:?}");
        let q = th
            .call(
                &admin,
                "repo.queryQueue",
                json!([null, ["owner_name", "task_id"]]),
            )
            .await?;
        assert_eq!(q[0]["owner_name"], "kojira", "[{l}] {q}");
        let task = q[0]["task_id"].clone();
        let first = ready_repo(&th, &host, "f40-build", task).await?;
        let report = repos.regen_pass().await?;
        assert_eq!(report.requests, 0, "[{l}] current: {report:?}");

        // a change: the next pass ends the repo and requests a new one
        th.call(&admin, "packageListAdd", json!(["f40-build", "x", "admin"]))
            .await?;
        let report = repos.regen_pass().await?;
        assert_eq!(
            (report.end_events, report.requests),
            (1, 1),
            "[{l}] {report:?}"
        );
        ready_repo(&th, &host, "f40-build", Json::Null).await?;
        // the first is no longer current; its lifetime (an hour) holds it
        let report = repos.regen_pass().await?;
        assert_eq!(report.expired, 0, "[{l}] {report:?}");
        assert!(th.hub.pathinfo().repo(first, "f40-build").is_dir());
    }
    Ok(())
}

#[tokio::test]
async fn repos_in_use_are_kept_until_their_buildroots_end() -> Result<()> {
    for backend in koji_core::testing::backends() {
        let th = TestHub::new_with(backend, |c| {
            c.regen.repo_lifetime = 0;
            c.regen.expired_repo_lifetime = 0;
        })
        .await?;
        let l = th.label();
        let admin = th.admin().await?;
        let host = th.host("builder1", &["x86_64"]).await?;
        f40_target(&th, &admin).await?;
        let first = ready_repo(&th, &host, "f40-build", Json::Null).await?;
        // a buildroot of a task the host runs uses the first repo
        th.call(&host, "host.updateHost", json!([0.0, true]))
            .await?;
        let t = th.call(&admin, "makeTask", json!(["sleep", [1]])).await?;
        th.call(&host, "host.getTasks", json!([])).await?;
        th.call(&host, "host.openTask", json!([t])).await?;
        let br = th
            .call(&host, "host.newBuildRoot", json!([first, "x86_64", t]))
            .await?;
        // the tag changes and a newer repo is made: the first is stale
        th.call(&admin, "packageListAdd", json!(["f40-build", "x", "admin"]))
            .await?;
        ready_repo(&th, &host, "f40-build", Json::Null).await?;
        let repos = th.hub.repos();
        let dir = th.hub.pathinfo().repo(first, "f40-build");
        repos.regen_pass().await?;
        assert_eq!(
            repo_state(&th, first).await?,
            2,
            "[{l}] expired (lifetime 0)"
        );
        let report = repos.regen_pass().await?;
        assert_eq!(report.deleted, 0, "[{l}] {report:?}");
        assert_eq!(
            repo_state(&th, first).await?,
            2,
            "[{l}] kept: a buildroot uses it"
        );
        assert!(dir.is_dir(), "[{l}]");
        // the buildroot ends: the repo goes, from disk too
        th.call(&host, "host.setBuildRootState", json!([br, 3, t]))
            .await?;
        let report = repos.regen_pass().await?;
        assert_eq!(report.deleted, 1, "[{l}] {report:?}");
        assert_eq!(repo_state(&th, first).await?, 3, "[{l}]");
        assert!(!dir.exists(), "[{l}]");
    }
    Ok(())
}

async fn repo_state(th: &TestHub, id: i64) -> Result<Json> {
    let admin = th.admin().await?;
    Ok(th.call(&admin, "repoInfo", json!([id])).await?["state"].clone())
}

/// A build of `kojirepo-2.0-3` with RPMs for two arches: made once per
/// test binary with rpmbuild (`--target`, no compiling, so a foreign arch
/// builds too).
struct MultiArch {
    _dir: tempfile::TempDir,
    /// the SRPM first, then the binaries
    files: Vec<std::path::PathBuf>,
}

const MULTI_SPEC: &str = "\
%global debug_package %{nil}
%global __os_install_post %{nil}
Name: kojirepo
Version: 2.0
Release: 3
Summary: A package of several arches for repo tests
License: MIT
%description
Repo test package.
%package doc
Summary: Its documentation
BuildArch: noarch
%description doc
Docs.
%package debuginfo
Summary: Its debug information
%description debuginfo
Debug information.
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/usr/share/doc/kojirepo %{buildroot}/usr/lib/debug
echo hello > %{buildroot}/usr/bin/kojirepo
echo docs > %{buildroot}/usr/share/doc/kojirepo/README
echo debug > %{buildroot}/usr/lib/debug/kojirepo.debug
%files
/usr/bin/kojirepo
%files doc
/usr/share/doc/kojirepo/README
%files debuginfo
/usr/lib/debug/kojirepo.debug
";

fn multi_arch() -> &'static MultiArch {
    static F: std::sync::OnceLock<MultiArch> = std::sync::OnceLock::new();
    F.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let spec = dir.path().join("kojirepo.spec");
        std::fs::write(&spec, MULTI_SPEC).unwrap();
        let top = dir.path().join("rpmbuild");
        for (target, what) in [("x86_64", "-ba"), ("aarch64", "-bb")] {
            let out = std::process::Command::new("rpmbuild")
                .arg("--define")
                .arg(format!("_topdir {}", top.display()))
                .args(["--target", target, what])
                .arg(&spec)
                .output()
                .expect("rpmbuild");
            assert!(
                out.status.success(),
                "rpmbuild --target {target}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let files = [
            "SRPMS/kojirepo-2.0-3.src.rpm",
            "RPMS/noarch/kojirepo-doc-2.0-3.noarch.rpm",
            "RPMS/x86_64/kojirepo-2.0-3.x86_64.rpm",
            "RPMS/x86_64/kojirepo-debuginfo-2.0-3.x86_64.rpm",
            "RPMS/aarch64/kojirepo-2.0-3.aarch64.rpm",
            "RPMS/aarch64/kojirepo-debuginfo-2.0-3.aarch64.rpm",
        ]
        .iter()
        .map(|f| top.join(f))
        .collect();
        MultiArch { _dir: dir, files }
    })
}

/// The lines of `ARCH/pkglist` in repo `dir`, sorted (upstream writes
/// them in the database's order).
fn pkglist(dir: &std::path::Path, arch: &str) -> Vec<String> {
    let text = std::fs::read_to_string(dir.join(arch).join("pkglist")).unwrap();
    assert!(text.is_empty() || text.ends_with('\n'), "{text:?}");
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    lines.sort();
    lines
}

/// The entries of repo directory `dir`, sorted.
fn entries(dir: &std::path::Path) -> Vec<String> {
    let mut out: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    out
}

#[tokio::test]
async fn repo_init_lays_out_arches_sources_and_debuginfo() -> Result<()> {
    let rpms = multi_arch();
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let host = th.host("builder1", &["x86_64"]).await?;
        th.call(
            &admin,
            "createTag",
            json!(["multi-build", kw(json!({"arches": "x86_64 aarch64"}))]),
        )
        .await?;
        for (i, file) in rpms.files.iter().enumerate() {
            let base = file.file_name().unwrap().to_string_lossy().into_owned();
            let d = th.hub.pathinfo().work(None).join(format!("imp/{i}"));
            std::fs::create_dir_all(&d).unwrap();
            std::fs::copy(file, d.join(&base)).unwrap();
            th.call(&admin, "importRPM", json!([format!("imp/{i}"), base]))
                .await?;
        }
        th.call(
            &admin,
            "packageListAdd",
            json!(["multi-build", "kojirepo", "admin"]),
        )
        .await?;
        th.call(
            &admin,
            "tagBuildBypass",
            json!(["multi-build", "kojirepo-2.0-3"]),
        )
        .await?;

        let init = |opts: Json| {
            let th = &th;
            let host = &host;
            async move {
                let args = if opts.is_null() {
                    json!(["multi-build"])
                } else {
                    json!(["multi-build", kw(json!({ "opts": opts }))])
                };
                let r = th.call(host, "host.repoInit", args).await?;
                Ok::<_, koji_core::Error>(
                    th.hub
                        .pathinfo()
                        .repo(r[0].as_i64().unwrap(), "multi-build"),
                )
            }
        };
        let line =
            |arch: &str, file: &str| format!("toplink/packages/kojirepo/2.0/3/{arch}/{file}");
        let noarch = line("noarch", "kojirepo-doc-2.0-3.noarch.rpm");
        let x86 = line("x86_64", "kojirepo-2.0-3.x86_64.rpm");
        let arm = line("aarch64", "kojirepo-2.0-3.aarch64.rpm");
        let x86_dbg = line("x86_64", "kojirepo-debuginfo-2.0-3.x86_64.rpm");
        let arm_dbg = line("aarch64", "kojirepo-debuginfo-2.0-3.aarch64.rpm");
        let src = line("src", "kojirepo-2.0-3.src.rpm");
        let sorted = |mut v: Vec<&String>| {
            v.sort();
            v.into_iter().cloned().collect::<Vec<String>>()
        };

        // the defaults: noarch everywhere, each arch its own, no SRPM, no
        // debuginfo
        let dir = init(Json::Null).await?;
        assert_eq!(
            entries(&dir),
            ["aarch64", "groups", "repo.json", "x86_64"],
            "[{l}]"
        );
        assert_eq!(
            pkglist(&dir, "x86_64"),
            sorted(vec![&noarch, &x86]),
            "[{l}]"
        );
        assert_eq!(
            pkglist(&dir, "aarch64"),
            sorted(vec![&noarch, &arm]),
            "[{l}]"
        );
        for arch in ["x86_64", "aarch64"] {
            let archdir = dir.join(arch);
            assert_eq!(
                entries(&archdir),
                ["blocklist", "pkglist", "rpmlist.jsonl", "toplink"],
                "[{l}]"
            );
            // toplink leads to the top of the store: every line is a file
            assert_eq!(
                std::fs::read_link(archdir.join("toplink")).unwrap(),
                std::path::Path::new("../../../.."),
                "[{l}]"
            );
            for p in pkglist(&dir, arch) {
                assert!(archdir.join(&p).is_file(), "[{l}] {arch}: {p}");
            }
            // rpmlist.jsonl: one RPM (a JSON object) a line, as pkglist
            let text = std::fs::read_to_string(archdir.join("rpmlist.jsonl")).unwrap();
            let mut names: Vec<String> = text
                .lines()
                .map(|t| {
                    let r: Json = serde_json::from_str(t).unwrap();
                    format!(
                        "{}.{}",
                        r["name"].as_str().unwrap(),
                        r["arch"].as_str().unwrap()
                    )
                })
                .collect();
            names.sort();
            assert_eq!(
                names,
                [
                    "kojirepo-doc.noarch".to_string(),
                    format!("kojirepo.{arch}")
                ],
                "[{l}]"
            );
            // each line is Python's json.dumps of upstream's readTaggedRPMS
            // row: its keys in its order, its separators, the rpm's extra
            let doc = th
                .call(&admin, "getRPM", json!(["kojirepo-doc-2.0-3.noarch"]))
                .await?;
            let want = format!(
                "{{\"name\": \"kojirepo-doc\", \"version\": \"2.0\", \"release\": \"3\", \
                 \"arch\": \"noarch\", \"id\": {}, \"epoch\": null, \"draft\": false, \
                 \"payloadhash\": \"{}\", \"size\": {}, \"buildtime\": {}, \
                 \"buildroot_id\": null, \"build_id\": {}, \"metadata_only\": false, \
                 \"extra\": null}}",
                doc["id"],
                doc["payloadhash"].as_str().unwrap(),
                doc["size"],
                doc["buildtime"],
                doc["build_id"]
            );
            assert!(
                text.lines().any(|t| t == want),
                "[{l}] {arch}: {text}\nwanted: {want}"
            );
        }

        // src: the SRPM in every arch
        let dir = init(json!({"src": true})).await?;
        assert_eq!(
            entries(&dir),
            ["aarch64", "groups", "repo.json", "x86_64"],
            "[{l}]"
        );
        assert_eq!(
            pkglist(&dir, "x86_64"),
            sorted(vec![&noarch, &x86, &src]),
            "[{l}]"
        );
        assert_eq!(
            pkglist(&dir, "aarch64"),
            sorted(vec![&noarch, &arm, &src]),
            "[{l}]"
        );

        // separate_src: a src arch holding the SRPM alone
        let dir = init(json!({"separate_src": true})).await?;
        assert_eq!(
            entries(&dir),
            ["aarch64", "groups", "repo.json", "src", "x86_64"],
            "[{l}]"
        );
        assert_eq!(pkglist(&dir, "src"), vec![src.clone()], "[{l}]");
        assert_eq!(
            pkglist(&dir, "x86_64"),
            sorted(vec![&noarch, &x86]),
            "[{l}]"
        );
        assert_eq!(
            pkglist(&dir, "aarch64"),
            sorted(vec![&noarch, &arm]),
            "[{l}]"
        );
        assert!(dir.join("src").join(&src).is_file(), "[{l}]");
        let rj: Json =
            serde_json::from_str(&std::fs::read_to_string(dir.join("repo.json")).unwrap()).unwrap();
        assert_eq!(
            (
                &rj["with_src"],
                &rj["with_separate_src"],
                &rj["with_debuginfo"]
            ),
            (&json!(false), &json!(true), &json!(false)),
            "[{l}]"
        );
        // both: upstream lists the SRPM in src twice (once as an arch of
        // the repo, once as the separate source arch)
        let dir = init(json!({"src": true, "separate_src": true})).await?;
        assert_eq!(pkglist(&dir, "src"), [src.clone(), src.clone()], "[{l}]");
        assert_eq!(
            pkglist(&dir, "x86_64"),
            sorted(vec![&noarch, &x86, &src]),
            "[{l}]"
        );

        // debuginfo: each arch's debuginfo RPM too
        let dir = init(json!({"debuginfo": true})).await?;
        assert_eq!(
            pkglist(&dir, "x86_64"),
            sorted(vec![&noarch, &x86, &x86_dbg]),
            "[{l}]"
        );
        assert_eq!(
            pkglist(&dir, "aarch64"),
            sorted(vec![&noarch, &arm, &arm_dbg]),
            "[{l}]"
        );
    }
    Ok(())
}

#[tokio::test]
async fn expired_repos_are_kept_for_their_grace_period() -> Result<()> {
    for backend in koji_core::testing::backends() {
        let th = TestHub::new_with(backend, |c| {
            c.regen.repo_lifetime = 0;
            c.regen.expired_repo_lifetime = 60;
        })
        .await?;
        let l = th.label();
        let admin = th.admin().await?;
        let host = th.host("builder1", &["x86_64"]).await?;
        f40_target(&th, &admin).await?;
        let first = ready_repo(&th, &host, "f40-build", Json::Null).await?;
        th.call(&admin, "packageListAdd", json!(["f40-build", "x", "admin"]))
            .await?;
        ready_repo(&th, &host, "f40-build", Json::Null).await?;
        // a PROBLEM repo follows the same rule
        let r = th
            .call(&host, "host.repoInit", json!(["f40-build"]))
            .await?;
        let broken = r[0].as_i64().unwrap();
        th.call(&admin, "repoProblem", json!([broken])).await?;

        let repos = th.hub.repos();
        let report = repos.regen_pass().await?;
        assert_eq!(report.expired, 1, "[{l}] {report:?}");
        assert_eq!(repo_state(&th, first).await?, 2, "[{l}]");
        let dir = th.hub.pathinfo().repo(first, "f40-build");
        let broken_dir = th.hub.pathinfo().repo(broken, "f40-build");
        // within the grace period: kept, on disk too
        let report = repos.regen_pass().await?;
        assert_eq!(report.deleted, 0, "[{l}] {report:?}");
        assert!(dir.is_dir() && broken_dir.is_dir(), "[{l}]");
        // time travel: the state changed 50 s ago, still within
        set_state_time(&th, first, 50).await?;
        set_state_time(&th, broken, 50).await?;
        let report = repos.regen_pass().await?;
        assert_eq!(report.deleted, 0, "[{l}] {report:?}");
        assert_eq!(repo_state(&th, first).await?, 2, "[{l}]");
        assert_eq!(repo_state(&th, broken).await?, 4, "[{l}]");
        // past it: deleted, from disk too
        set_state_time(&th, first, 61).await?;
        let report = repos.regen_pass().await?;
        assert_eq!(report.deleted, 1, "[{l}] {report:?}");
        assert_eq!(repo_state(&th, first).await?, 3, "[{l}]");
        assert!(!dir.exists(), "[{l}]");
        assert!(broken_dir.is_dir(), "[{l}]");
        set_state_time(&th, broken, 61).await?;
        let report = repos.regen_pass().await?;
        assert_eq!(report.deleted, 1, "[{l}] {report:?}");
        assert_eq!(repo_state(&th, broken).await?, 3, "[{l}]");
        assert!(!broken_dir.exists(), "[{l}]");
    }
    Ok(())
}

/// Moves repo `id`'s last state change `secs` seconds into the past.
async fn set_state_time(th: &TestHub, id: i64, secs: i64) -> Result<()> {
    let when = chrono::Utc::now() - chrono::Duration::seconds(secs);
    koji_core::db::exec(
        th.hub.db().conn(),
        "UPDATE repo SET state_time = ? WHERE id = ?",
        koji_core::params![when, id],
    )
    .await?;
    Ok(())
}

#[tokio::test]
async fn max_repo_tasks_caps_the_queue_in_priority_order() -> Result<()> {
    for backend in koji_core::testing::backends() {
        let th = TestHub::new_with(backend, |c| c.repos.max_repo_tasks = 1).await?;
        let l = th.label();
        let admin = th.admin().await?;
        let host = th.host("builder1", &["x86_64"]).await?;
        let kojira = th.user("kojira", "pw", &["repo"]).await?;
        let user = th.user("someone", "pw", &[]).await?;
        th.call(
            &admin,
            "createTag",
            json!(["auto1", kw(json!({"extra": {"repo.auto": true}}))]),
        )
        .await?;
        th.call(&admin, "createTag", json!(["other"])).await?;
        // the repo.auto tag's request comes first (priority 25) ...
        th.call(&kojira, "repo.autoRequests", json!([])).await?;
        // ... then one of lower priority (30) for another tag ...
        th.call(
            &user,
            "repo.request",
            json!(["other", kw(json!({"priority": 10}))]),
        )
        .await?;
        // ... and the upkeep pass asks for the target's build tag (20)
        f40_target(&th, &admin).await?;
        let report = th.hub.repos().regen_pass().await?;
        assert_eq!((report.requests, report.tasks), (1, 1), "[{l}] {report:?}");
        let queue = || async {
            th.call(
                &admin,
                "repo.queryQueue",
                json!([
                    [["active", "IS", true]],
                    ["id", "tag_name", "priority", "task_id"],
                    {"order": "id"}
                ]),
            )
            .await
        };
        let q = queue().await?;
        let summary = |q: &Json| -> Vec<(String, i64, bool)> {
            q.as_array()
                .unwrap()
                .iter()
                .map(|r| {
                    (
                        r["tag_name"].as_str().unwrap().to_string(),
                        r["priority"].as_i64().unwrap(),
                        r["task_id"].is_i64(),
                    )
                })
                .collect()
        };
        assert_eq!(
            summary(&q),
            [
                ("auto1".to_string(), 25, false),
                ("other".to_string(), 30, false),
                ("f40-build".to_string(), 20, true)
            ],
            "[{l}] {q}"
        );
        // while that task runs, no other
        th.call(&kojira, "repo.checkQueue", json!([])).await?;
        assert_eq!(th.hub.repos().regen_pass().await?.tasks, 0, "[{l}]");
        let q = queue().await?;
        assert_eq!(summary(&q).iter().filter(|r| r.2).count(), 1, "[{l}] {q}");
        // its repo is done: the next by priority gets the one task
        let task = q[2]["task_id"].clone();
        ready_repo(&th, &host, "f40-build", task).await?;
        th.call(&kojira, "repo.checkQueue", json!([])).await?;
        let q = queue().await?;
        assert_eq!(
            summary(&q),
            [
                ("auto1".to_string(), 25, true),
                ("other".to_string(), 30, false)
            ],
            "[{l}] {q}"
        );
        // a failed task frees the slot as well (and the request retries)
        let task = q[0]["task_id"].clone();
        th.call(&admin, "cancelTask", json!([task])).await?;
        th.call(&kojira, "repo.checkQueue", json!([])).await?;
        let q = queue().await?;
        assert_eq!(
            summary(&q),
            [
                ("auto1".to_string(), 25, true),
                ("other".to_string(), 30, false)
            ],
            "[{l}] retried first, by priority: {q}"
        );
        assert_ne!(q[0]["task_id"], task, "[{l}] a new task");
    }
    Ok(())
}
