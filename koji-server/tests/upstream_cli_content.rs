//! Builds and content through the real upstream `koji` client (PyPI
//! koji==1.36.1): import, buildinfo, rpminfo, list-builds, tagging and the
//! listings of tags, signatures, downloads, volumes, search, history and
//! clone-tag.
//!
//! The RPMs are real: built with `rpmbuild` from `tests/fixtures/hello.spec`
//! and signed with `rpmsign` and a throwaway gpg key. Expected texts are
//! what the upstream CLI prints when upstream's hub answers (derived from
//! koji_cli/commands.py and kojihub.py); ids and times are matched by
//! pattern.

mod support;

use support::rpms::{self, Built};
use support::{assert_match, ok, ok_eq, Hub, Out};

fn p(path: &std::path::Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// `koji import` of every RPM of `b`, from the directory they were built in,
/// so the paths printed are short and stable.
fn import_all(hub: &Hub, b: &Built) -> Out {
    let mut args = vec!["import".to_string(), p(&b.srpm).to_string()];
    args.extend(b.rpms.iter().map(|r| p(r).to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    hub.koji(&args)
}

/// What `koji import` prints for one file.
fn imported(path: &std::path::Path) -> String {
    format!(
        "uploading {0}... done\nimporting {0}... done\n",
        path.display()
    )
}

fn build_id(hub: &Hub, nvr: &str) -> i64 {
    let out = ok(hub, &["call", "--json-output", "getBuild", nvr]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("no build {nvr}: {out}"))
}

// ------------------------------------------------------------ import & info

#[test]
fn import_buildinfo_rpminfo_list_builds() {
    let hello = rpms::build("hello", "1.0", "1");
    let bye = rpms::build("bye", "2.0", "3");
    for hub in Hub::each() {
        // source first, then the binaries sorted by path
        let out = import_all(&hub, &hello);
        let mut expected = imported(&hello.srpm);
        for r in &hello.rpms {
            expected.push_str(&imported(r));
        }
        assert_eq!(out.stdout, expected, "[{}] {}", hub.label(), out.stderr);
        assert_eq!(out.code, 0, "[{}] {}", hub.label(), out.stderr);
        // the files are in the store, at upstream's paths
        let dir = hub.topdir().join("packages/hello/1.0/1");
        for f in [
            "src/hello-1.0-1.src.rpm",
            "noarch/hello-doc-1.0-1.noarch.rpm",
            "x86_64/hello-1.0-1.x86_64.rpm",
            "x86_64/hello-debuginfo-1.0-1.x86_64.rpm",
        ] {
            assert!(
                dir.join(f).is_file(),
                "[{}] {f} not in the store",
                hub.label()
            );
        }

        // again: nothing to do
        ok_eq(
            &hub,
            &["import", p(&hello.srpm)],
            &format!(
                "RPM already imported: {}\nSkipping import\n",
                hello.srpm.display()
            ),
        );

        // binaries without their build: refused, then --create-build
        let arch = bye.rpm("bye-2.0");
        ok_eq(
            &hub,
            &["import", p(arch)],
            "Missing build or srpm: bye-2.0-3\nAborting import\n",
        );
        ok_eq(
            &hub,
            &["import", "--create-build", p(arch)],
            &format!(
                "Missing build or srpm: bye-2.0-3\nCreating empty build: bye-2.0-3\n{}",
                imported(arch)
            ),
        );

        let id = build_id(&hub, "hello-1.0-1");
        // the client's koji.pathinfo topdir (the profile's `topdir`)
        let top = regex::escape(&format!("{}/no-topdir", hub.home().display()));
        let info = ok(&hub, &["buildinfo", "hello-1.0-1"]);
        assert_match(
            &format!(
                "^BUILD: hello-1.0-1 \\[{id}\\]\n\
                 State: COMPLETE\n\
                 Built by: admin\n\
                 Volume: DEFAULT\n\
                 Task: none\n\
                 Finished: \\w{{3}}, \\d\\d \\w{{3}} \\d{{4}} \\d\\d:\\d\\d:\\d\\d UTC\n\
                 Tags: \n\
                 RPMs:\n\
                 {top}/packages/hello/1.0/1/src/hello-1.0-1.src.rpm\n\
                 {top}/packages/hello/1.0/1/noarch/hello-doc-1.0-1.noarch.rpm\n\
                 {top}/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm\n\
                 {top}/packages/hello/1.0/1/x86_64/hello-debuginfo-1.0-1.x86_64.rpm\n$"
            ),
            &info,
        );
        let log = ok(&hub, &["buildinfo", "--changelog", "hello-1.0-1"]);
        assert!(
            log.ends_with(
                "Changelog:\n* Mon Jan 01 2024 Test Packager <test@example.com> - 1.0-1\n\
                 - First release\n\n\n"
            ),
            "[{}] {log}",
            hub.label()
        );
        let missing = hub.koji(&["buildinfo", "nope-1-1"]);
        assert_eq!(missing.code, 1);
        assert_eq!(missing.stderr, "No such build: nope-1-1\n\n");

        let rpm = ok(&hub, &["rpminfo", "hello-1.0-1.x86_64"]);
        assert_match(
            &format!(
                "^RPM: hello-1.0-1.x86_64 \\[\\d+\\]\n\
                 Build: hello-1.0-1 \\[{id}\\]\n\
                 RPM Path: {top}/packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm\n\
                 SRPM: hello-1.0-1 \\[\\d+\\]\n\
                 SRPM Path: {top}/packages/hello/1.0/1/src/hello-1.0-1.src.rpm\n\
                 Built: \\w{{3}}, \\d\\d \\w{{3}} \\d{{4}} \\d\\d:\\d\\d:\\d\\d UTC\n\
                 SIGMD5: [0-9a-f]{{32}}\n\
                 Size: \\d+\n\
                 License: MIT\n\
                 Build ID: {id}\n\
                 No buildroot data available\n$"
            ),
            &rpm,
        );
        // a binary-only build has no source RPM
        let bye_rpm = ok(&hub, &["rpminfo", "bye-2.0-3.x86_64"]);
        assert!(
            bye_rpm.contains("\nSRPM: (none)\nSRPM Path: (none)\n"),
            "[{}] {bye_rpm}",
            hub.label()
        );
        let missing = hub.koji(&["rpminfo", "nope-1-1.x86_64"]);
        assert_eq!(
            (missing.code, missing.stderr.as_str()),
            (1, "No such rpm: nope-1-1.x86_64\n\n")
        );

        let head = "Build                                                    Built by          State\n\
                    -------------------------------------------------------  ----------------  ----------------\n";
        let row = |nvr: &str, state: &str| format!("{nvr:<55}  {:<16}  {state}\n", "admin");
        ok_eq(
            &hub,
            &["list-builds", "--package", "hello"],
            &format!("{head}{}", row("hello-1.0-1", "COMPLETE")),
        );
        ok_eq(
            &hub,
            &["list-builds", "--owner", "admin"],
            &format!(
                "{head}{}{}",
                row("hello-1.0-1", "COMPLETE"),
                row("bye-2.0-3", "COMPLETE")
            ),
        );
        ok_eq(
            &hub,
            &["list-builds", "--prefix", "by", "--quiet"],
            &row("bye-2.0-3", "COMPLETE"),
        );
        ok_eq(&hub, &["list-builds", "--state", "DELETED"], head);
        ok_eq(
            &hub,
            &[
                "list-builds",
                "--volume",
                "DEFAULT",
                "--sort-key",
                "build_id",
                "--reverse",
                "--quiet",
            ],
            &format!(
                "{}{}",
                row("bye-2.0-3", "COMPLETE"),
                row("hello-1.0-1", "COMPLETE")
            ),
        );
        ok_eq(
            &hub,
            &["list-builds", "--buildid", &id.to_string(), "--quiet"],
            &row("hello-1.0-1", "COMPLETE"),
        );
    }
}

// ------------------------------------------------------ signatures & download

#[test]
fn signatures_and_downloads() {
    let hello = rpms::build("hello", "1.0", "1");
    let key = &rpms::key().sigkey;
    let signed_doc = rpms::signed_copy(hello.rpm("hello-doc"));
    let signed_bin = rpms::signed_copy(hello.rpm("hello-1.0"));
    for hub in Hub::each() {
        assert_eq!(import_all(&hub, &hello).code, 0);
        let top = hub.topdir().to_str().expect("utf-8").to_string();
        let builddir = format!("{top}/packages/hello/1.0/1");
        // list-signed reads the store: the client is given our topdir
        let signed = |args: &[&str]| {
            let mut a = vec!["--topdir", top.as_str(), "list-signed"];
            a.extend_from_slice(args);
            ok(&hub, &a)
        };
        assert_eq!(signed(&["--build", "hello-1.0-1"]), "");

        // unsigned files are skipped; signed ones imported and written
        ok_eq(
            &hub,
            &["import-sig", p(hello.rpm("hello-doc"))],
            &format!(
                "Skipping unsigned package: {}\n",
                hello.rpm("hello-doc").display()
            ),
        );
        ok_eq(
            &hub,
            &["import-sig", p(&signed_doc), p(&signed_bin)],
            &format!(
                "Importing signature [key {key}] from {}...\nWriting signed copy\n\
                 Importing signature [key {key}] from {}...\nWriting signed copy\n",
                signed_doc.display(),
                signed_bin.display()
            ),
        );
        ok_eq(
            &hub,
            &["import-sig", p(&signed_doc)],
            &format!("Signature already imported: {}\n", signed_doc.display()),
        );
        let doc_copy = format!("{builddir}/data/signed/{key}/noarch/hello-doc-1.0-1.noarch.rpm");
        let bin_copy = format!("{builddir}/data/signed/{key}/x86_64/hello-1.0-1.x86_64.rpm");
        // the signed copy is byte for byte what rpmsign made
        assert_eq!(
            std::fs::read(&doc_copy).expect("signed copy"),
            std::fs::read(&signed_doc).expect("signed rpm"),
            "[{}]",
            hub.label()
        );
        assert_eq!(
            signed(&["--build", "hello-1.0-1"]),
            format!("{doc_copy}\n{bin_copy}\n")
        );
        assert_eq!(
            signed(&["--rpm", "hello-doc-1.0-1.noarch", "--key", key]),
            format!("{doc_copy}\n")
        );
        assert_eq!(signed(&["--build", "hello-1.0-1", "--key", "deadbeef"]), "");

        // write-signed-rpm rewrites a removed copy
        std::fs::remove_file(&doc_copy).expect("rm signed copy");
        ok_eq(
            &hub,
            &["write-signed-rpm", key, "hello-doc-1.0-1.noarch"],
            "[1/1] hello-doc-1.0-1.noarch\n",
        );
        assert!(std::path::Path::new(&doc_copy).is_file());
        // ... and fails on an RPM without that signature
        let out = hub.koji(&["write-signed-rpm", key, "hello-1.0-1.src"]);
        assert_eq!(out.code, 1, "[{}] {out:?}", hub.label());
        assert!(
            out.stderr.contains(&format!(
                "GenericError: No cached signature for package hello-1.0-1.src, key {key}"
            )),
            "[{}] {}",
            hub.label(),
            out.stderr
        );

        // download-build through /kojifiles/
        let dl = |dir: &str, args: &[&str]| {
            let d = hub.home().join(dir);
            std::fs::create_dir_all(&d).expect("mkdir");
            let mut a = vec!["download-build", "--noprogress"];
            a.extend_from_slice(args);
            let out = hub.koji_in(&d, &a);
            assert!(
                out.code == 0 && out.stderr.is_empty(),
                "[{}] koji {a:?}: {out:?}",
                hub.label()
            );
            let mut names: Vec<String> = std::fs::read_dir(&d)
                .expect("readdir")
                .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            (out.stdout, names, d)
        };
        let (out, names, d) = dl("all", &["hello-1.0-1"]);
        assert_eq!(
            out,
            "Downloading [1/3]: hello-1.0-1.src.rpm\n\
             Downloading [2/3]: hello-doc-1.0-1.noarch.rpm\n\
             Downloading [3/3]: hello-1.0-1.x86_64.rpm\n"
        );
        assert_eq!(
            names,
            [
                "hello-1.0-1.src.rpm",
                "hello-1.0-1.x86_64.rpm",
                "hello-doc-1.0-1.noarch.rpm"
            ]
        );
        assert_eq!(
            std::fs::read(d.join("hello-1.0-1.x86_64.rpm")).unwrap(),
            std::fs::read(hello.rpm("hello-1.0")).unwrap()
        );
        let (out, names, _) = dl("debug", &["--arch", "x86_64", "--debuginfo", "hello-1.0-1"]);
        assert_eq!(
            out,
            "Downloading [1/2]: hello-1.0-1.x86_64.rpm\n\
             Downloading [2/2]: hello-debuginfo-1.0-1.x86_64.rpm\n"
        );
        assert_eq!(
            names,
            ["hello-1.0-1.x86_64.rpm", "hello-debuginfo-1.0-1.x86_64.rpm"]
        );
        let (out, names, d) = dl("signed", &["--arch", "noarch", "--key", key, "hello-1.0-1"]);
        assert_eq!(out, "Downloading [1/1]: hello-doc-1.0-1.noarch.rpm\n");
        assert_eq!(names, ["hello-doc-1.0-1.noarch.rpm"]);
        assert_eq!(
            std::fs::read(d.join("hello-doc-1.0-1.noarch.rpm")).unwrap(),
            std::fs::read(&signed_doc).unwrap(),
            "[{}] --key downloads the signed copy",
            hub.label()
        );

        // remove-sig: the signature and its copy go
        let out = hub.koji(&["remove-sig", "hello-doc-1.0-1.noarch"]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (1, "Either --sigkey or --all options must be given\n")
        );
        ok_eq(
            &hub,
            &["remove-sig", "--sigkey", key, "hello-doc-1.0-1.noarch"],
            "",
        );
        assert!(!std::path::Path::new(&doc_copy).exists());
        assert_eq!(signed(&["--build", "hello-1.0-1"]), format!("{bin_copy}\n"));
        ok_eq(&hub, &["remove-sig", "--all", "hello-1.0-1.x86_64"], "");
        assert_eq!(signed(&["--build", "hello-1.0-1"]), "");
        let out = hub.koji(&["remove-sig", "--all", "nope-1-1.x86_64"]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (1, "No such rpm in system: nope-1-1.x86_64\n")
        );
    }
}

// ------------------------------------------------------ volumes & search

#[test]
fn volumes_and_search() {
    let hello = rpms::build("hello", "1.0", "1");
    let bye = rpms::build("bye", "2.0", "3");
    for hub in Hub::each() {
        assert_eq!(import_all(&hub, &hello).code, 0);
        assert_eq!(import_all(&hub, &bye).code, 0);
        ok_eq(&hub, &["list-volumes"], "DEFAULT\n");
        // upstream: the volume's directory must exist first
        let out = hub.koji(&["add-volume", "archive"]);
        assert_eq!(out.code, 1, "[{}] {out:?}", hub.label());
        assert!(
            out.stderr
                .contains("GenericError: please create the volume directory first"),
            "[{}] {}",
            hub.label(),
            out.stderr
        );
        std::fs::create_dir_all(hub.topdir().join("vol/archive")).expect("mkdir volume");
        assert_match(
            r"^Added volume archive with id \d+\n$",
            &ok(&hub, &["add-volume", "archive"]),
        );
        ok_eq(&hub, &["list-volumes"], "DEFAULT\narchive\n");

        ok_eq(
            &hub,
            &[
                "set-build-volume",
                "-v",
                "archive",
                "hello-1.0-1",
                "nope-1-1",
            ],
            "No such build: nope-1-1\nhello-1.0-1: DEFAULT -> archive\n",
        );
        let moved = hub.topdir().join("vol/archive/packages/hello/1.0/1");
        assert!(
            moved.join("x86_64/hello-1.0-1.x86_64.rpm").is_file(),
            "[{}] the build's files moved to the volume",
            hub.label()
        );
        // upstream leaves a symlink on the default volume
        let link = hub.topdir().join("packages/hello/1.0/1");
        assert!(
            std::fs::symlink_metadata(&link)
                .map(|m| m.file_type().is_symlink())
                .unwrap_or(false),
            "[{}] no symlink at {}",
            hub.label(),
            link.display()
        );
        let info = ok(&hub, &["buildinfo", "hello-1.0-1"]);
        assert!(
            info.contains("\nVolume: archive\n"),
            "[{}] {info}",
            hub.label()
        );
        let out = hub.koji(&["set-build-volume", "archive", "hello-1.0-1"]);
        assert_eq!(
            (out.code, out.stdout.as_str(), out.stderr.as_str()),
            (
                1,
                "Build hello-1.0-1 already on volume archive\n",
                "No builds to move\n"
            ),
            "[{}]",
            hub.label()
        );
        ok_eq(
            &hub,
            &["list-builds", "--volume", "archive", "--quiet"],
            &format!("{:<55}  {:<16}  COMPLETE\n", "hello-1.0-1", "admin"),
        );
        // and back
        ok(&hub, &["set-build-volume", "DEFAULT", "hello-1.0-1"]);
        assert!(hub
            .topdir()
            .join("packages/hello/1.0/1/x86_64/hello-1.0-1.x86_64.rpm")
            .is_file());

        // search: glob (the default), regexp, exact
        ok_eq(&hub, &["search", "package", "h*"], "hello\n");
        ok_eq(&hub, &["search", "build", "*-1"], "hello-1.0-1\n");
        ok_eq(
            &hub,
            &["search", "build", "-r", "^(hello|bye)-"],
            &sorted(
                &["bye-2.0-3", "hello-1.0-1"],
                &hub,
                &["search", "build", "-r", "^(hello|bye)-"],
            ),
        );
        ok_eq(
            &hub,
            &["search", "rpm", "--exact", "hello-doc-1.0-1.noarch.rpm"],
            "hello-doc-1.0-1.noarch.rpm\n",
        );
        ok_eq(
            &hub,
            &["search", "rpm", "bye-*.x86_64.rpm"],
            "bye-2.0-3.x86_64.rpm\nbye-debuginfo-2.0-3.x86_64.rpm\n",
        );
        ok_eq(&hub, &["search", "user", "adm?n"], "admin\n");
        ok_eq(&hub, &["search", "package", "nothing*"], "");
    }
}

/// `names` in the order `koji <args>` printed them, checking it printed
/// exactly those (search has no defined order).
fn sorted(names: &[&str], hub: &Hub, args: &[&str]) -> String {
    let got = ok(hub, args);
    let mut lines: Vec<&str> = got.lines().collect();
    lines.sort_unstable();
    let mut want = names.to_vec();
    want.sort_unstable();
    assert_eq!(lines, want, "[{}] koji {}", hub.label(), args.join(" "));
    got
}

// ------------------------------------------------------------- tagging

/// `list-tagged`/`latest-build` table rows: `(nvr, tag)` built by admin.
fn tagged_table(rows: &[(&str, &str)]) -> String {
    let mut s = format!(
        "{:<40}  {:<20}  Built by\n{}  {}  {}\n",
        "Build",
        "Tag",
        "-".repeat(40),
        "-".repeat(20),
        "-".repeat(16)
    );
    for (nvr, tag) in rows {
        s.push_str(&format!("{nvr:<40}  {tag:<20}  admin\n"));
    }
    s
}

fn last_event(hub: &Hub) -> i64 {
    let out = ok(hub, &["call", "--json-output", "getLastEvent"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    v["id"].as_i64().expect("event id")
}

#[test]
fn tagging_listings_history_and_clone() {
    let builds = [
        rpms::build("hello", "1.0", "1"),
        rpms::build("hello", "1.1", "1"),
        rpms::build("hello", "0.9", "1"),
        rpms::build("bye", "2.0", "3"),
    ];
    for hub in Hub::each() {
        for b in &builds {
            assert_eq!(import_all(&hub, b).code, 0, "[{}]", hub.label());
        }
        ok(&hub, &["add-tag", "f40"]);
        ok(&hub, &["add-tag", "--parent", "f40", "f40-updates"]);
        ok(
            &hub,
            &["add-pkg", "--owner", "admin", "f40", "hello", "bye"],
        );
        ok_eq(
            &hub,
            &["call", "tagBuildBypass", "f40", "hello-1.0-1"],
            "None\n",
        );
        ok_eq(
            &hub,
            &["call", "tagBuildBypass", "f40", "bye-2.0-3"],
            "None\n",
        );
        let before_updates = last_event(&hub);
        ok_eq(
            &hub,
            &["call", "tagBuildBypass", "f40-updates", "hello-1.1-1"],
            "None\n",
        );
        // tagging twice is upstream's TagError
        let out = hub.koji(&["call", "tagBuildBypass", "f40", "hello-1.0-1"]);
        assert_eq!(out.code, 1);
        assert!(
            out.stderr
                .contains("TagError: build hello-1.0-1 already tagged (f40)"),
            "[{}] {}",
            hub.label(),
            out.stderr
        );

        ok_eq(
            &hub,
            &["list-tagged", "f40"],
            &tagged_table(&[("bye-2.0-3", "f40"), ("hello-1.0-1", "f40")]),
        );
        ok_eq(
            &hub,
            &["list-tagged", "--inherit", "f40-updates"],
            &tagged_table(&[
                ("bye-2.0-3", "f40"),
                ("hello-1.0-1", "f40"),
                ("hello-1.1-1", "f40-updates"),
            ]),
        );
        // latest: the package's build in the first tag along the
        // inheritance that has one
        ok_eq(
            &hub,
            &["list-tagged", "--inherit", "--latest", "f40-updates"],
            &tagged_table(&[("bye-2.0-3", "f40"), ("hello-1.1-1", "f40-updates")]),
        );
        ok_eq(
            &hub,
            &[
                "list-tagged",
                "--inherit",
                "--latest",
                "--quiet",
                "f40-updates",
                "bye",
            ],
            &format!("{:<40}  {:<20}  admin\n", "bye-2.0-3", "f40"),
        );
        ok_eq(
            &hub,
            &["list-tagged", "--rpms", "f40-updates"],
            "hello-1.1-1.src\nhello-1.1-1.x86_64\nhello-debuginfo-1.1-1.x86_64\n\
             hello-doc-1.1-1.noarch\n",
        );
        ok_eq(
            &hub,
            &[
                "list-tagged",
                "--inherit",
                "--latest",
                "--arch",
                "x86_64",
                "f40-updates",
            ],
            "bye-2.0-3.x86_64\nbye-debuginfo-2.0-3.x86_64\nhello-1.1-1.x86_64\n\
             hello-debuginfo-1.1-1.x86_64\n",
        );
        // as of an event: before hello-1.1-1 was tagged
        let out = ok(
            &hub,
            &[
                "list-tagged",
                "--inherit",
                "--event",
                &before_updates.to_string(),
                "f40-updates",
            ],
        );
        assert_match(
            &format!(
                "^Querying at event {before_updates} \\(\\w{{3}} \\w{{3}} [ \\d]\\d \\d\\d:\\d\\d:\\d\\d \\d{{4}}\\)\n{}$",
                regex::escape(&tagged_table(&[("bye-2.0-3", "f40"), ("hello-1.0-1", "f40")]))
            ),
            &out,
        );

        ok_eq(
            &hub,
            &["latest-build", "f40-updates", "hello"],
            &tagged_table(&[("hello-1.1-1", "f40-updates")]),
        );
        ok_eq(
            &hub,
            &["latest-build", "--all", "f40-updates"],
            &tagged_table(&[("bye-2.0-3", "f40"), ("hello-1.1-1", "f40-updates")]),
        );
        ok_eq(
            &hub,
            &["latest-build", "--arch", "noarch", "f40-updates", "hello"],
            "hello-doc-1.1-1.noarch\n",
        );

        ok_eq(&hub, &["list-untagged"], "hello-0.9-1\n");
        ok_eq(&hub, &["list-untagged", "bye"], "");

        // untag-build goes through untagBuild (and the tag policy)
        ok_eq(
            &hub,
            &["untag-build", "-v", "f40", "bye-2.0-3"],
            "untagging bye-2.0-3\n",
        );
        let out = hub.koji(&["untag-build", "f40", "nope-1-1"]);
        assert_eq!(
            (out.code, out.stderr.as_str()),
            (1, "No such build: nope-1-1\n"),
            "[{}]",
            hub.label()
        );
        ok_eq(
            &hub,
            &["list-tagged", "f40"],
            &tagged_table(&[("hello-1.0-1", "f40")]),
        );
        ok_eq(&hub, &["list-untagged"], "bye-2.0-3\nhello-0.9-1\n");

        // list-history shows the tagging
        let hist = ok(&hub, &["list-history", "--build", "bye-2.0-3"]);
        let when = r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}";
        assert_match(
            &format!(
                "^{when} bye-2.0-3 tagged into f40 by admin\n\
                 {when} bye-2.0-3 untagged from f40 by admin\n$"
            ),
            &hist,
        );
        let hist = ok(
            &hub,
            &[
                "list-history",
                "--tag",
                "f40-updates",
                "--build",
                "hello-1.1-1",
            ],
        );
        assert_match(
            &format!("^{when} hello-1.1-1 tagged into f40-updates by admin \\[still active\\]\n$"),
            &hist,
        );

        // clone-tag: the latest builds, inherited ones included
        ok_eq(
            &hub,
            &[
                "clone-tag",
                "--config",
                "--pkgs",
                "--builds",
                "--latest-only",
                "--inherit-builds",
                "f40-updates",
                "f40-copy",
            ],
            "",
        );
        ok_eq(
            &hub,
            &["list-tagged", "f40-copy"],
            &tagged_table(&[("hello-1.1-1", "f40-copy")]),
        );
        ok_eq(
            &hub,
            &["list-pkgs", "--quiet", "--tag", "f40-copy"],
            &format!(
                "{:<23} {:<23} {:<16} {:<15}\n{:<23} {:<23} {:<16} {:<15}\n",
                "hello", "f40-copy", "", "admin", "bye", "f40-copy", "", "admin"
            ),
        );
        // without --latest-only: every build of the source tag itself
        ok_eq(
            &hub,
            &["clone-tag", "--pkgs", "--builds", "f40", "f40-all"],
            "",
        );
        ok_eq(
            &hub,
            &["list-tagged", "f40-all"],
            &tagged_table(&[("hello-1.0-1", "f40-all")]),
        );
    }
}
