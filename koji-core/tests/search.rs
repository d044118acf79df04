//! `search`, and the calls that run another method: `count`,
//! `filterResults`, `countAndFilterResults`.

use koji_core::db::exec;
use koji_core::params;
use koji_core::testing::{kw, TestHub};
use koji_core::Result;
use serde_json::{json, Value as Json};

fn fault(r: Result<Json>) -> (i32, String) {
    let e = r.expect_err("a fault");
    (e.fault_code(), e.to_string())
}

fn names(v: &Json) -> Vec<&str> {
    v.as_array()
        .unwrap_or_else(|| panic!("not a list: {v}"))
        .iter()
        .map(|r| r["name"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn search_by_type_and_match() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        let l = th.label();
        for (n, v) in [("foo_bar", "1"), ("fooxbar", "2"), ("Other", "1")] {
            th.call(&admin, "createEmptyBuild", json!([n, v, "1", null]))
                .await?;
        }
        let s = |terms: &str, t: &str, m: &str| th.call(&admin, "search", json!([terms, t, m]));
        // glob: case-insensitive, `_` literal, `?` and `*` wildcards
        assert_eq!(
            names(&s("foo_bar", "package", "glob").await?),
            ["foo_bar"],
            "{l}"
        );
        assert_eq!(
            names(&s("FOO*", "package", "glob").await?),
            ["foo_bar", "fooxbar"],
            "{l}"
        );
        assert_eq!(
            names(&s("foo?bar", "package", "glob").await?),
            ["foo_bar", "fooxbar"]
        );
        assert_eq!(names(&s("oth*", "package", "glob").await?), ["Other"]);
        // regexp: case-insensitive
        assert_eq!(
            names(&s("^FOO.bar$", "package", "regexp").await?),
            ["foo_bar", "fooxbar"],
            "{l}"
        );
        assert_eq!(names(&s("o_b", "package", "regexp").await?), ["foo_bar"]);
        // anything else: exact
        assert_eq!(names(&s("foo_bar", "package", "exact").await?), ["foo_bar"]);
        assert_eq!(s("FOO_BAR", "package", "exact").await?, json!([]));
        let r = s("foo_bar", "package", "glob").await?;
        let pkg = th.call(&admin, "getPackage", json!(["foo_bar"])).await?;
        assert_eq!(r, json!([{"id": pkg["id"], "name": "foo_bar"}]));

        // builds as N-V-R
        let b = th.call(&admin, "getBuild", json!(["fooxbar-2-1"])).await?;
        assert_eq!(
            s("fooX*-2-*", "build", "glob").await?,
            json!([{"id": b["id"], "name": "fooxbar-2-1"}])
        );
        assert_eq!(
            names(&s(r"-1-1$", "build", "regexp").await?),
            ["foo_bar-1-1", "Other-1-1"]
        );

        // tags and targets: live ones only
        th.call(&admin, "createTag", json!(["f40-build"])).await?;
        th.call(&admin, "createTag", json!(["f40-old"])).await?;
        th.call(&admin, "createTag", json!(["f41"])).await?;
        th.call(&admin, "deleteTag", json!(["f40-old"])).await?;
        assert_eq!(names(&s("f40*", "tag", "glob").await?), ["f40-build"]);
        th.call(
            &admin,
            "createBuildTarget",
            json!(["f40", "f40-build", "f41"]),
        )
        .await?;
        th.call(
            &admin,
            "createBuildTarget",
            json!(["gone", "f40-build", "f41"]),
        )
        .await?;
        th.call(&admin, "deleteBuildTarget", json!(["gone"]))
            .await?;
        assert_eq!(names(&s("*", "target", "glob").await?), ["f40"]);

        assert_eq!(names(&s("adm*", "user", "glob").await?), ["admin"]);
        th.call(&admin, "addHost", json!(["builder1.example", ["x86_64"]]))
            .await?;
        assert_eq!(
            names(&s("builder1\\.", "host", "regexp").await?),
            ["builder1.example"]
        );
        assert_eq!(s("*", "rpm", "glob").await?, json!([]));

        // rpms as file names
        let c = th.hub.db().conn();
        exec(
            c,
            "INSERT INTO rpminfo (build_id, draft, external_repo_id, name, version, release, \
             arch, payloadhash, size, buildtime) \
             VALUES (?, FALSE, 0, 'foo_bar', '1', '1', 'x86_64', 'abc', 1, 0)",
            params![b["id"].as_i64().unwrap()],
        )
        .await?;
        assert_eq!(
            names(&s("foo_bar-1-1.x86_64.rpm", "rpm", "exact").await?),
            ["foo_bar-1-1.x86_64.rpm"]
        );

        // maven archives by file name or group-artifact-version; win by path
        for (id, btype, atype, file) in [
            (1, 2, 1, "foo-1.0.jar"),
            (2, 3, 9, "setup.exe"),
            (3, 3, 9, "top.exe"),
        ] {
            exec(
                c,
                "INSERT INTO archiveinfo (id, type_id, btype_id, build_id, filename, size, \
                 checksum, checksum_type) VALUES (?, ?, ?, ?, ?, 1, 'x', 0)",
                params![id, atype, btype, b["id"].as_i64().unwrap(), file],
            )
            .await?;
        }
        exec(
            c,
            "INSERT INTO maven_archives VALUES (1, 'org.foo', 'foo', '1.0')",
            vec![],
        )
        .await?;
        exec(
            c,
            "INSERT INTO win_archives (archive_id, relpath, platforms) VALUES \
             (2, 'bin', 'w2k8'), (3, '', 'w2k8')",
            vec![],
        )
        .await?;
        assert_eq!(
            s("org.foo-foo-1.0", "maven", "exact").await?,
            json!([{"id": 1, "name": "foo-1.0.jar"}])
        );
        assert_eq!(names(&s("*.JAR", "maven", "glob").await?), ["foo-1.0.jar"]);
        assert_eq!(
            names(&s("^org\\.foo-", "maven", "regexp").await?),
            ["foo-1.0.jar"]
        );
        assert_eq!(
            names(&s("*.exe", "win", "glob").await?),
            ["bin/setup.exe", "top.exe"],
            "{l}"
        );
        assert_eq!(
            names(&s("bin/setup.exe", "win", "exact").await?),
            ["bin/setup.exe"]
        );
        assert_eq!(names(&s("/top.exe", "win", "exact").await?), ["top.exe"]);

        // files are no longer searched
        assert_eq!(s("foo", "file", "glob").await?, json!([]));
        assert_eq!(
            th.call(
                &admin,
                "search",
                json!(["foo", "file", "glob", {"countOnly": true}])
            )
            .await?,
            json!(0)
        );

        // queryOpts
        let q = |o: Json| th.call(&admin, "search", json!(["*", "package", "glob", o]));
        assert_eq!(
            names(&q(json!({"order": "-name", "limit": 2})).await?),
            ["fooxbar", "foo_bar"]
        );
        assert_eq!(q(json!({"countOnly": true})).await?, json!(3));
        assert_eq!(
            q(json!({"asList": true, "order": "name", "limit": 1})).await?,
            json!([[
                th.call(&admin, "getPackage", json!(["Other"])).await?["id"],
                "Other"
            ]])
        );
        assert_eq!(
            fault(q(json!({"order": "bogus"})).await),
            (1, "<class 'Exception'>: Invalid order: bogus".into())
        );

        // refusals
        assert_eq!(
            fault(s("", "package", "glob").await),
            (1000, "empty search terms".into())
        );
        assert_eq!(
            fault(s("x", "bogus", "glob").await),
            (1000, "No such search type: bogus".into())
        );
        assert_eq!(fault(s("(", "package", "regexp").await).0, 1000, "{l}");
    }
    Ok(())
}

#[tokio::test]
async fn count_and_filter() -> Result<()> {
    for th in TestHub::each().await? {
        let admin = th.admin().await?;
        for n in ["b", "a", "c"] {
            th.call(&admin, "createEmptyBuild", json!([n, "1", "1", null]))
                .await?;
        }
        let call = |m: &'static str, v: Json| th.call(&admin, m, v);
        assert_eq!(
            call("count", json!(["listPackagesSimple"])).await?,
            json!(3)
        );
        assert_eq!(call("count", json!(["getPackage", "a"])).await?, json!(2));
        assert_eq!(call("count", json!(["getPackage", "zzz"])).await?, json!(0));
        assert_eq!(
            call(
                "count",
                json!(["search", "*", "package", "glob", {"countOnly": true}])
            )
            .await?,
            json!(1)
        );
        assert_eq!(
            call(
                "count",
                json!(["listPackagesSimple", kw(json!({"prefix": "a"}))])
            )
            .await?,
            json!(1)
        );
        assert_eq!(
            fault(call("count", json!(["nosuch"])).await),
            (1000, "method nosuch doesn't exist".into())
        );
        // the called method's own faults pass through count
        assert_eq!(
            fault(call("count", json!(["search", "", "package", "glob"])).await),
            (1000, "empty search terms".into())
        );

        let fo = |o: Json| kw(json!({ "filterOpts": o }));
        assert_eq!(
            names(
                &call(
                    "filterResults",
                    json!([
                        "search",
                        "*",
                        "package",
                        "glob",
                        fo(json!({"order": "-name"}))
                    ])
                )
                .await?
            ),
            ["c", "b", "a"]
        );
        assert_eq!(
            call(
                "countAndFilterResults",
                json!([
                    "search",
                    "*",
                    "package",
                    "glob",
                    fo(json!({"order": "name", "offset": 1, "limit": 1}))
                ])
            )
            .await?[0],
            json!(3)
        );
        let r = call(
            "countAndFilterResults",
            json!([
                "listPackagesSimple",
                fo(json!({"order": "package_name", "offset": 1, "limit": 1}))
            ]),
        )
        .await?;
        assert_eq!(r[0], json!(3));
        assert_eq!(r[1].as_array().unwrap().len(), 1);
        assert_eq!(r[1][0]["package_name"], json!("b"));
        // no filterOpts: everything, as returned
        assert_eq!(
            call("filterResults", json!(["listPackagesSimple"]))
                .await?
                .as_array()
                .unwrap()
                .len(),
            3
        );
        assert_eq!(
            call("filterResults", json!(["getPackage", "zzz"])).await?,
            Json::Null
        );
        assert_eq!(
            call("countAndFilterResults", json!(["getPackage", "zzz"])).await?,
            json!([0, null])
        );
        assert_eq!(
            fault(call("filterResults", json!(["getPackage", "a"])).await),
            (1000, "getPackage() did not return a list".into())
        );
        assert_eq!(
            fault(call("filterResults", json!(["search", "", "package", "glob"])).await),
            (
                1000,
                "method search raised an exception (empty search terms)".into()
            )
        );
        assert_eq!(
            fault(call("filterResults", json!(["nosuch"])).await),
            (1000, "method nosuch doesn't exist".into())
        );
        assert_eq!(
            fault(
                call(
                    "filterResults",
                    json!(["listPackagesSimple", fo(json!({"order": "bogus"}))])
                )
                .await
            ),
            (1, "<class 'KeyError'>: 'bogus'".into())
        );
    }
    Ok(())
}
