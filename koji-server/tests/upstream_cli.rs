//! The real upstream `koji` client (PyPI koji==1.36.1) against our hub.
//!
//! Each test starts `koji-hub serve` on a fresh SQLite and a fresh
//! PostgreSQL database and runs the upstream CLI (or its python library) on
//! it; the expected texts are what the upstream CLI prints when it talks to
//! upstream's hub (derived from koji_cli/commands.py and kojihub.py), with
//! ids and times matched by pattern.
//!
//! Needs the client: `scripts/setup-koji-client.sh` (or set KOJI_CLIENT).

mod support;

use serde_json::{json, Value as Json};
use support::{assert_match, ok, ok_eq, Hub};

/// The lines of `s`, sorted.
fn sorted_lines(s: &str) -> String {
    let mut v: Vec<&str> = s.lines().collect();
    v.sort_unstable();
    lines(&v)
}

fn lines(v: &[&str]) -> String {
    let mut s = v.join("\n");
    s.push('\n');
    s
}

// ---------------------------------------------------------------- misc

#[test]
fn misc() {
    for hub in Hub::each() {
        let url = regex::escape(&hub.url());
        let hello_re = format!(
            "^[^\\n]+, admin!\\n\\nYou are using the hub at {url} \\(Koji 1\\.3[56]\\.\\d+\\)\\n\
             Authenticated via password\\n$"
        );
        assert_match(&hello_re, &ok(&hub, &["hello"]));
        assert_match(&hello_re, &ok(&hub, &["moshimoshi"]));
        // anonymous: no login, no authtype line
        let anon = hub.koji_anon(&["moshimoshi"]);
        assert_match(
            &format!(
                "^Not authenticated\\n[^\\n]+, anonymous user!\\n\\n\
                 You are using the hub at {url} \\(Koji 1\\.3[56]\\.\\d+\\)\\n$"
            ),
            anon.ok(),
        );

        assert_match(
            r"^Client: 1\.36\.1\nHub:    1\.3[56]\.\d+\n$",
            &ok(&hub, &["version"]),
        );

        // list-api: sorted by name, upstream's signatures
        let api = ok(&hub, &["list-api"]);
        let names: Vec<&str> = api
            .lines()
            .filter(|l| !l.starts_with("  description: "))
            .collect();
        for sig in [
            "getAPIVersion()",
            "getKojiVersion()",
            "getLoggedInUser()",
            "hello(*args)",
            "echo(*args)",
            "getUser(userInfo=None, strict=False, krb_princs=True, groups=False)",
            "createUser(username, status=None, krb_principal=None)",
            "getAllPerms()",
            "system.listMethods()",
            "system.methodHelp(method)",
        ] {
            assert!(
                names.contains(&sig),
                "[{}] list-api lacks {sig}",
                hub.label()
            );
        }
        let mut sorted = names.clone();
        sorted.sort_by_key(|l| l.split('(').next().unwrap_or("").to_string());
        assert_eq!(names, sorted, "list-api is sorted by method name");
        // every description line belongs to the signature before it
        assert!(!api.starts_with("  description: "));
        // one method: its signature and description via system.methodHelp
        let help = ok(&hub, &["list-api", "hello"]);
        assert_match(r"^hello\(\*args\)\ndescription: [^\n]+\n$", &help);
        hub.koji(&["list-api", "noSuchMethod"]).expect_usage_error(
            "koji list-api [options] [method_name ...]",
            "Unknown method: noSuchMethod",
        );

        // call: positional, NAME=VALUE keyword arguments, value filtering
        ok_eq(&hub, &["call", "hello"], "'Hello World'\n");
        ok_eq(&hub, &["call", "getAPIVersion"], "1\n");
        ok_eq(
            &hub,
            &["call", "getUser", "admin"],
            "{'id': 1, 'krb_principals': [], 'name': 'admin', 'status': 0, 'usertype': 0}\n",
        );
        ok_eq(
            &hub,
            &["call", "getUser", "userInfo=1", "krb_princs=False"],
            "{'id': 1, 'name': 'admin', 'status': 0, 'usertype': 0}\n",
        );
        ok_eq(&hub, &["call", "getUser", "nosuch"], "None\n");
        hub.koji(&["call", "getUser", "nosuch", "strict=True"])
            .expect_fault("GenericError: No such user: 'nosuch'");
        ok_eq(
            &hub,
            &["call", "echo", "1", "two", "3.5", "None", "True"],
            "[1, 'two', 3.5, None, True]\n",
        );
        ok_eq(
            &hub,
            &["call", "--python", "echo", "[1, {'a': 'b'}]", "'x'"],
            "[[1, {'a': 'b'}], 'x']\n",
        );
        ok_eq(
            &hub,
            &["call", "--json-output", "getUser", "admin"],
            &lines(&[
                "{",
                "  \"id\": 1,",
                "  \"name\": \"admin\",",
                "  \"status\": 0,",
                "  \"usertype\": 0,",
                "  \"krb_principals\": []",
                "}",
            ]),
        );
        ok_eq(
            &hub,
            &["call", "--json", "echo", "{\"a\": [1, null]}"],
            &lines(&[
                "[",
                "  {",
                "    \"a\": [",
                "      1,",
                "      null",
                "    ]",
                "  }",
                "]",
            ]),
        );
        ok_eq(
            &hub,
            &["call", "--json-output", "getLoggedInUser"],
            &lines(&[
                "{",
                "  \"id\": 1,",
                "  \"name\": \"admin\",",
                "  \"status\": 0,",
                "  \"usertype\": 0,",
                "  \"krb_principals\": [],",
                "  \"authtype\": 0,",
                "  \"krb_principal\": null",
                "}",
            ]),
        );
        hub.koji(&["call", "noSuchMethod"])
            .expect_fault("GenericError: Invalid method: noSuchMethod");

        // the python library: login and a multicall
        let py = hub.python(
            r#"
import os, koji
s = koji.ClientSession(os.environ['KOJI_URL'], {'user': 'admin', 'password': 'admin'})
print(s.login())
with s.multicall() as m:
    a = m.hello()
    b = m.getAPIVersion()
    c = m.getUser('admin')
    d = m.getLoggedInUser()
    e = m.getUser('nosuch')
print(repr(a.result))
print(repr(b.result))
print(sorted(c.result.items()))
print(sorted(d.result.items()))
print(repr(e.result))
with s.multicall(strict=False) as m:
    f = m.getUser('nosuch', strict=True)
    g = m.echo('still', 'runs')
try:
    f.result
except koji.GenericError as ex:
    print(type(ex).__name__, ex)
print(g.result)
try:
    with s.multicall(strict=True) as m:
        m.getUser('nosuch', strict=True)
        m.hello()
except koji.GenericError as ex:
    print('strict:', type(ex).__name__, ex)
s.logout()
print(s.logged_in)
"#,
        );
        assert_eq!(
            py.ok(),
            lines(&[
                "True",
                "'Hello World'",
                "1",
                "[('id', 1), ('krb_principals', []), ('name', 'admin'), ('status', 0), ('usertype', 0)]",
                "[('authtype', 0), ('id', 1), ('krb_principal', None), ('krb_principals', []), \
                 ('name', 'admin'), ('status', 0), ('usertype', 0)]",
                "None",
                "GenericError No such user: 'nosuch'",
                "['still', 'runs']",
                "strict: GenericError No such user: 'nosuch'",
                "False",
            ]),
            "[{}]",
            hub.label()
        );
    }
}

// ---------------------------------------------------------------- errors

#[test]
fn errors() {
    for hub in Hub::each() {
        // wrong password
        hub.koji_as("admin", "wrong", &["hello"])
            .expect_fault("AuthError: invalid username or password");
        hub.koji_as("nobody", "x", &["hello"])
            .expect_fault("AuthError: invalid username or password");

        // missing permission: the CLI's own check, then the hub's
        hub.add_user("bob", "bobpw");
        hub.koji_as("bob", "bobpw", &["add-tag", "f40"])
            .expect_usage_error(
                "koji add-tag [options] <name>",
                "This action requires tag or admin privileges",
            );
        hub.koji_as("bob", "bobpw", &["call", "createTag", "f40"])
            .expect_fault("ActionNotAllowed: tag permission required (logged in as bob)");
        hub.koji_as("bob", "bobpw", &["add-user", "carol"])
            .expect_fault("ActionNotAllowed: admin permission required (logged in as bob)");
        hub.koji_anon(&["call", "createTag", "f40"])
            .expect_fault("ActionNotAllowed: tag permission required (user not logged in)");

        // unknown things
        hub.koji(&["taginfo", "nosuch"])
            .expect_fault("GenericError: No such tagInfo: 'nosuch'");
        hub.koji(&["call", "getTag", "nosuch", "strict=True"])
            .expect_fault("GenericError: No such tagInfo: 'nosuch'");
        ok_eq(&hub, &["call", "getTag", "nosuch"], "None\n");
        hub.koji(&["list-tag-inheritance", "nosuch"]).expect_usage_error(
            "koji list-tag-inheritance [options] <tag>\n\n\
             Prints tag inheritance with basic information about links.\n\
             Four flags could be seen in the output:\n \
             M - maxdepth - limits inheritance to n-levels\n \
             F - package filter (packages ignored for inheritance)\n \
             I - intransitive link - inheritance immediately stops here\n \
             N - noconfig - if tag is used in buildroot, its configuration values will not be used\n\n\
             Exact values for maxdepth and package filter can be inquired by taginfo command.\n",
            "No such tag: nosuch",
        );
        hub.koji(&["add-pkg", "--owner", "admin", "nosuch", "foo"])
            .expect(1, "", "No such tag: nosuch\n");
        hub.koji(&["add-pkg", "--owner", "nobody", "nosuch", "foo"])
            .expect(1, "", "No such user: nobody\n");
        hub.koji(&["enable-user", "nobody"])
            .expect_fault("GenericError: No such user: nobody");

        // duplicate names
        hub.koji(&["add-user", "bob"])
            .expect_fault("GenericError: user already exists: bob");
        ok(&hub, &["add-tag", "f40"]);
        hub.koji(&["add-tag", "f40"])
            .expect_fault("GenericError: A tag with the name 'f40' already exists");

        // names the hub refuses
        hub.koji(&["add-tag", "bad name"])
            .expect_fault("GenericError: Name bad name does not match RegexNameInternal value");
        hub.koji(&["add-user", "bad user"])
            .expect_fault("GenericError: Name bad user does not match RegexUserName value");

        // a disabled user cannot log in
        ok(&hub, &["disable-user", "bob"]);
        hub.koji_as("bob", "bobpw", &["hello"])
            .expect_fault("AuthError: logins by bob are not allowed");
    }
}

/// hub.conf's `MaxNameLengthInternal`, `RegexNameInternal` and
/// `RegexUserName` replace upstream's defaults.
#[test]
fn configured_name_rules() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("hub.conf");
    std::fs::write(
        &conf,
        "[hub]\nMaxNameLengthInternal = 10\nRegexNameInternal = ^[a-z][a-z0-9-]*$\n\
         RegexUserName = ^[a-z]+$\n",
    )
    .unwrap();
    for backend in koji_core::testing::backends() {
        let hub = Hub::start_with(backend, &["--config", conf.to_str().unwrap()]);
        hub.koji(&["add-tag", "F40"])
            .expect_fault("GenericError: Name F40 does not match RegexNameInternal value");
        hub.koji(&["add-tag", "f40-updates"]).expect_fault(
            "GenericError: Name f40-updates is too long. Max length is 10 characters",
        );
        ok(&hub, &["add-tag", "f40-build"]);
        hub.koji(&["add-user", "bob2"])
            .expect_fault("GenericError: Name bob2 does not match RegexUserName value");
        ok(&hub, &["add-user", "bob"]);
        // a host name must pass both rules
        hub.koji(&["add-host", "builder-1", "x86_64"])
            .expect_fault("GenericError: Name builder-1 does not match RegexUserName value");
        ok(&hub, &["add-host", "builder", "x86_64"]);
        // a new package of a build (upstream's packageListAdd does not check)
        hub.koji(&["call", "createEmptyBuild", "Foo", "1", "1", "None"])
            .expect_fault("GenericError: Name Foo does not match RegexNameInternal value");
        ok(&hub, &["call", "createEmptyBuild", "foo", "1", "1", "None"]);
        let opts = ok(
            &hub,
            &["call", "--json-output", "showOpts", "as_string=False"],
        );
        let opts: serde_json::Value = serde_json::from_str(&opts).unwrap();
        assert_eq!(opts["MaxNameLengthInternal"], 10, "{opts}");
        assert_eq!(opts["RegexNameInternal"], "^[a-z][a-z0-9-]*$", "{opts}");
        assert_eq!(opts["RegexUserName"], "^[a-z]+$", "{opts}");
    }
}

// ---------------------------------------------------------------- users

#[test]
fn users() {
    for hub in Hub::each() {
        let out = ok(&hub, &["add-user", "alice"]);
        assert_match(r"^Added user alice \(\d+\)\n$", &out);
        let alice_id: i64 = out
            .trim_end()
            .trim_end_matches(')')
            .rsplit('(')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1);
        assert_match(
            r"^Added user bob \(\d+\)\n$",
            &ok(&hub, &["add-user", "bob", "--principal", "bob@EXAMPLE.COM"]),
        );
        assert_match(
            r"^Added user carol \(\d+\)\n$",
            &ok(&hub, &["add-user", "carol", "--disable"]),
        );

        // permissions
        ok_eq(&hub, &["grant-permission", "tag", "alice", "bob"], "");
        ok_eq(&hub, &["grant-permission", "target", "alice"], "");
        ok_eq(
            &hub,
            &[
                "grant-permission",
                "--new",
                "--description",
                "Operate repos.",
                "repo-ops",
                "alice",
            ],
            "",
        );
        hub.koji(&["grant-permission", "tag", "alice"])
            .expect_fault("GenericError: user alice already has permission: tag");
        hub.koji(&["grant-permission", "nosuchperm", "alice"])
            .expect_fault("GenericError: No such entry in table permissions: nosuchperm");
        hub.koji(&["grant-permission", "tag", "nobody"])
            .expect_usage_error(
                "koji grant-permission [options] <permission> <user> [<user> ...]",
                "No such user: nobody",
            );
        ok_eq(&hub, &["revoke-permission", "tag", "bob"], "");
        hub.koji(&["revoke-permission", "tag", "bob"])
            .expect_fault("GenericError: user bob does not have permission: tag");

        // list-permissions: all, then one user's (no description column)
        let all: [(&str, &str); 16] = [
            ("admin", "Full administrator access. Perform all actions."),
            ("appliance", "Create appliance builds - deprecated."),
            ("dist-repo", "Create a dist-repo."),
            (
                "draft-promoter",
                "The permission required in the default \"draft_promotion\" hub policy rule to promote draft build.",
            ),
            ("host", "Add, remove, enable, disable hosts and channels."),
            ("image", "Start image tasks."),
            ("image-import", "Import image archives."),
            ("livecd", "Start livecd tasks."),
            ("maven-import", "Import maven archives."),
            ("repo", "Manage repos: newRepo, repoExpire, repoDelete, repoProblem."),
            ("repo-ops", "Operate repos."),
            ("sign", "Import RPM signatures and write signed RPMs."),
            ("tag", "Manage packages in tags: add, block, remove, and clone tags."),
            ("target", "Add, edit, and remove targets."),
            (
                "win-admin",
                "The default hub policy rule for \"vm\" requires this permission to trigger Windows builds.",
            ),
            ("win-import", "Import win archives."),
        ];
        let mut want = format!(
            "{:<18}{:<53}\n{}\n",
            "Permission name",
            "   Description",
            "-".repeat(71)
        );
        for (name, desc) in all {
            want.push_str(&format!("{name:<18}   {desc}\n"));
        }
        ok_eq(&hub, &["list-permissions"], &want);
        ok_eq(
            &hub,
            &["list-permissions", "--user", "alice"],
            &format!(
                "Permission name   \n{}\nrepo-ops          \ntag               \ntarget            \n",
                "-".repeat(18)
            ),
        );
        ok_eq(
            &hub,
            &["list-permissions", "--user", "alice", "--quiet"],
            "repo-ops          \ntag               \ntarget            \n",
        );
        ok_eq(
            &hub,
            &["list-permissions", "--mine"],
            &format!(
                "Permission name   \n{}\nadmin             \n",
                "-".repeat(18)
            ),
        );
        ok_eq(
            &hub,
            &["list-permissions", "--user", "carol"],
            &format!("Permission name   \n{}\n", "-".repeat(18)),
        );
        hub.koji(&["list-permissions", "--user", "nobody"])
            .expect(1, "", "No such user: nobody\n");

        // list-users
        ok_eq(&hub, &["list-users"], "admin\nalice\nbob\ncarol\n");
        ok_eq(&hub, &["list-users", "--prefix", "a"], "admin\nalice\n");
        ok_eq(&hub, &["list-users", "--perm", "tag"], "alice\n");
        ok_eq(&hub, &["list-users", "--perm", "admin"], "admin\n");
        ok_eq(&hub, &["list-users", "--usertype", "host"], "");
        hub.koji(&["list-users", "--perm", "nosuch"])
            .expect(1, "", "Invalid permission: nosuch\n");

        // edit-user: rename, principals
        ok_eq(&hub, &["edit-user", "bob", "--rename", "robert"], "");
        ok_eq(
            &hub,
            &["call", "getUser", "robert"],
            &format!(
                "{{'id': {},\n 'krb_principals': ['bob@EXAMPLE.COM'],\n 'name': 'robert',\n 'status': 0,\n 'usertype': 0}}\n",
                alice_id + 1
            ),
        );
        ok_eq(
            &hub,
            &[
                "edit-user",
                "robert",
                "--edit-krb",
                "bob@EXAMPLE.COM=robert@EXAMPLE.COM",
                "--add-krb",
                "rob@EXAMPLE.COM",
            ],
            "",
        );
        let out = ok(&hub, &["call", "--json-output", "getUser", "robert"]);
        assert!(
            out.contains("\"robert@EXAMPLE.COM\"")
                && out.contains("\"rob@EXAMPLE.COM\"")
                && !out.contains("bob@"),
            "[{}] principals after edit-user: {out}",
            hub.label()
        );
        ok_eq(
            &hub,
            &["edit-user", "robert", "--remove-krb", "rob@EXAMPLE.COM"],
            "",
        );
        ok_eq(
            &hub,
            &["call", "getUser", "robert", "krb_princs=True"],
            &format!(
                "{{'id': {},\n 'krb_principals': ['robert@EXAMPLE.COM'],\n 'name': 'robert',\n 'status': 0,\n 'usertype': 0}}\n",
                alice_id + 1
            ),
        );
        hub.koji(&["edit-user", "robert", "--rename", "alice"])
            .expect_fault(&format!(
                "GenericError: Name alice already taken by user {alice_id}"
            ));
        hub.koji(&["edit-user", "robert", "--remove-krb", "nope@EXAMPLE.COM"])
            .expect_fault(
                "GenericError: Cannot remove non-existent Kerberos principals: nope@EXAMPLE.COM",
            );

        // disable / enable
        ok_eq(
            &hub,
            &["call", "getUser", "carol", "krb_princs=False"],
            &format!(
                "{{'id': {}, 'name': 'carol', 'status': 1, 'usertype': 0}}\n",
                alice_id + 2
            ),
        );
        ok_eq(&hub, &["enable-user", "carol"], "");
        ok_eq(
            &hub,
            &["call", "getUser", "carol", "krb_princs=False"],
            &format!(
                "{{'id': {}, 'name': 'carol', 'status': 0, 'usertype': 0}}\n",
                alice_id + 2
            ),
        );
        ok_eq(&hub, &["disable-user", "alice"], "");
        ok_eq(
            &hub,
            &["call", "getUser", "alice", "krb_princs=False"],
            &format!("{{'id': {alice_id}, 'name': 'alice', 'status': 1, 'usertype': 0}}\n"),
        );
        ok_eq(&hub, &["disable-user", "alice"], "");
        ok_eq(&hub, &["enable-user", "alice"], "");

        // a user with the tag permission may do what it allows
        let pw = hub.hub_admin(&["set-password", "alice", "--password", "alicepw"]);
        assert_eq!(pw.code, 0, "{pw:?}");
        ok_eq(&hub, &["call", "hasPerm", "admin"], "True\n");
        let o = hub.koji_as("alice", "alicepw", &["call", "hasPerm", "admin"]);
        o.expect(0, "False\n", "");
        let o = hub.koji_as("alice", "alicepw", &["add-tag", "alice-tag"]);
        o.expect(0, "", "");
        hub.koji_as("alice", "alicepw", &["add-user", "x"])
            .expect_fault("ActionNotAllowed: admin permission required (logged in as alice)");

        // content generator access
        hub.koji(&["grant-cg-access", "alice", "osbs"])
            .expect_fault("GenericError: No such entry in table content_generator: osbs");
        ok_eq(&hub, &["grant-cg-access", "--new", "alice", "osbs"], "");
        ok_eq(&hub, &["grant-cg-access", "carol", "osbs"], "");
        assert_match(
            r"^\{'osbs': \{'id': \d+, 'users': \['alice', 'carol'\]\}\}\n$",
            &ok(&hub, &["call", "listCGs"]),
        );
        ok_eq(&hub, &["revoke-cg-access", "alice", "osbs"], "");
        assert_match(
            r"^\{'osbs': \{'id': \d+, 'users': \['carol'\]\}\}\n$",
            &ok(&hub, &["call", "listCGs"]),
        );
    }
}

// ---------------------------------------------------------------- userinfo

#[test]
fn users_userinfo() {
    for hub in Hub::each() {
        assert_match(
            r"^Added user alice \(\d+\)\n$",
            &ok(
                &hub,
                &["add-user", "alice", "--principal", "alice@EXAMPLE.COM"],
            ),
        );
        ok(&hub, &["grant-permission", "tag", "alice"]);
        ok(&hub, &["grant-permission", "target", "alice"]);
        let out = ok(&hub, &["userinfo", "alice", "admin"]);
        assert_match(
            "^User name: alice\nUser ID: \\d+\nkrb principals:\n  alice@EXAMPLE.COM\n\
             Permissions:\n  (tag\n  target|target\n  tag)\n\
             Status: NORMAL\nUsertype: NORMAL\n\
             Number of packages: 0\nNumber of tasks: 0\nNumber of builds: 0\n\n\
             User name: admin\nUser ID: 1\nkrb principals:\nPermissions:\n  admin\n\
             Status: NORMAL\nUsertype: NORMAL\n\
             Number of packages: 0\nNumber of tasks: 0\nNumber of builds: 0\n\n$",
            &out,
        );
        hub.koji(&["userinfo", "nobody"])
            .expect(0, "", "No such user: nobody\n\n");
    }
}

// ---------------------------------------------------------------- tags

/// `koji call --json-output <args>` as admin, parsed.
#[track_caller]
fn call_json(hub: &Hub, args: &[&str]) -> Json {
    let mut full = vec!["call", "--json-output"];
    full.extend_from_slice(args);
    let out = ok(hub, &full);
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("[{}] not JSON ({e}): {out}", hub.label()))
}

/// An integer a `koji call` prints.
#[track_caller]
fn call_int(hub: &Hub, args: &[&str]) -> i64 {
    let mut full = vec!["call"];
    full.extend_from_slice(args);
    let out = ok(hub, &full);
    out.trim().parse().unwrap_or_else(|_| {
        panic!(
            "[{}] koji call {}: not an integer: {out}",
            hub.label(),
            args.join(" ")
        )
    })
}

fn perm_id(hub: &Hub, name: &str) -> i64 {
    let perms = call_json(hub, &["getAllPerms"]);
    perms
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == name))
        .and_then(|p| p["id"].as_i64())
        .unwrap_or_else(|| panic!("no permission {name} in {perms}"))
}

#[test]
fn tags() {
    for hub in Hub::each() {
        let h = &hub;
        ok_eq(h, &["add-tag", "base", "--arches", "x86_64,aarch64"], "");
        ok_eq(
            h,
            &[
                "add-tag",
                "f40-build",
                "--parent",
                "base",
                "--arches",
                "x86_64",
            ],
            "",
        );
        ok_eq(
            h,
            &[
                "add-tag",
                "f40",
                "-x",
                "mock.package_manager=dnf",
                "-x",
                "num=3",
            ],
            "",
        );
        ok_eq(h, &["add-tag", "extras"], "");
        ok_eq(h, &["add-tag", "f40-updates"], "");
        let base = call_int(h, &["getTagID", "base"]);
        let build = call_int(h, &["getTagID", "f40-build"]);
        let f40 = call_int(h, &["getTagID", "f40"]);
        let extras = call_int(h, &["getTagID", "extras"]);
        let updates = call_int(h, &["getTagID", "f40-updates"]);
        h.koji(&["add-tag", "f41", "--maven-support"])
            .expect_fault("GenericError: Maven support not enabled");
        h.koji(&["add-tag", "f41", "--parent", "nosuch"])
            .expect_fault("GenericError: Parent tag 'nosuch' could not be found");

        assert_eq!(
            call_json(h, &["getTag", "base"]),
            json!({"id": base, "name": "base", "perm_id": null, "perm": null, "arches": "x86_64 aarch64",
                   "locked": false, "maven_support": false, "maven_include_all": false, "extra": {}}),
            "[{}]",
            h.label()
        );
        // no arches: an empty string, not null
        assert_eq!(
            (
                call_json(h, &["getTag", "f40"])["arches"].clone(),
                call_json(h, &["getTag", "f40"])["extra"].clone()
            ),
            (json!(""), json!({"mock.package_manager": "dnf", "num": 3})),
            "[{}]",
            h.label()
        );

        // list-tags
        ok_eq(
            h,
            &["list-tags"],
            "base\nextras\nf40\nf40-build\nf40-updates\n",
        );
        ok_eq(
            h,
            &["list-tags", "--show-id", "f40*"],
            &format!("f40 [{f40}]\nf40-build [{build}]\nf40-updates [{updates}]\n"),
        );
        ok_eq(h, &["list-tags", "*build", "base"], "base\nf40-build\n");
        ok_eq(h, &["list-tags", "nomatch*"], "");

        // inheritance
        ok_eq(h, &["add-tag-inheritance", "f40", "f40-build"], "");
        // (the CLI sends --priority as a string; upstream's database takes it)
        ok_eq(
            h,
            &[
                "add-tag-inheritance",
                "f40",
                "extras",
                "--priority",
                "10",
                "--maxdepth",
                "1",
                "--pkg-filter",
                "^foo",
                "--intransitive",
                "--noconfig",
            ],
            "",
        );
        ok_eq(h, &["add-tag-inheritance", "f40-updates", "f40"], "");
        h.koji(&["add-tag-inheritance", "f40", "f40-build", "--priority", "5"]).expect(
            1,
            "",
            "Error: You are attempting to add f40-build as f40's parent even though it already is f40's parent.\n\
             Please use --force if this is what you really want to do.\n",
        );
        h.koji(&["add-tag-inheritance", "f40", "base"]).expect(
            1,
            "",
            "Error: There is already an active inheritance with that priority on f40, \
             please specify a different priority with --priority.\n",
        );
        h.koji(&["add-tag-inheritance", "f40", "nosuch"])
            .expect_usage_error(
                "koji add-tag-inheritance [options] <tag> <parent-tag>",
                "No such tag: nosuch",
            );
        assert_eq!(
            call_json(h, &["getInheritanceData", "f40"]),
            json!([
                {"parent_id": build, "name": "f40-build", "priority": 0, "maxdepth": null,
                 "intransitive": false, "noconfig": false, "pkg_filter": "", "child_id": f40},
                {"parent_id": extras, "name": "extras", "priority": 10, "maxdepth": 1,
                 "intransitive": true, "noconfig": true, "pkg_filter": "^foo", "child_id": f40},
            ]),
            "[{}]",
            h.label()
        );
        ok_eq(
            h,
            &["list-tag-inheritance", "f40"],
            &format!(
                "     f40 ({f40})\n\
                 ....  ├─f40-build ({build})\n\
                 ....  │  └─base ({base})\n\
                 MFIN  └─extras ({extras})\n"
            ),
        );
        // an intransitive link is not followed below the top
        ok_eq(
            h,
            &["list-tag-inheritance", "f40-updates"],
            &format!(
                "     f40-updates ({updates})\n\
                 ....  └─f40 ({f40})\n\
                 ....     └─f40-build ({build})\n\
                 ....        └─base ({base})\n"
            ),
        );
        ok_eq(
            h,
            &["list-tag-inheritance", "--reverse", "base"],
            &format!(
                "     base ({base})\n\
                 ....  └─f40-build ({build})\n\
                 ....     └─f40 ({f40})\n\
                 ....        └─f40-updates ({updates})\n"
            ),
        );
        ok_eq(
            h,
            &["list-tag-inheritance", "--reverse", "extras"],
            &format!("     extras ({extras})\nMFIN  └─f40 ({f40})\n"),
        );

        ok_eq(
            h,
            &[
                "edit-tag-inheritance",
                "f40",
                "extras",
                "--priority",
                "20",
                "--maxdepth",
                "none",
            ],
            "",
        );
        ok_eq(
            h,
            &["list-tag-inheritance", "f40"],
            &format!(
                "     f40 ({f40})\n\
                 ....  ├─f40-build ({build})\n\
                 ....  │  └─base ({base})\n\
                 .FIN  └─extras ({extras})\n"
            ),
        );
        assert_eq!(
            call_json(h, &["getInheritanceData", "f40"])[1],
            json!({"parent_id": extras, "name": "extras", "priority": 20, "maxdepth": null,
                   "intransitive": true, "noconfig": true, "pkg_filter": "^foo", "child_id": f40}),
            "[{}]",
            h.label()
        );
        h.koji(&["edit-tag-inheritance", "f40", "extras", "--priority", "0"])
            .expect(
                1,
                "",
                "Error: There is already an active inheritance with that priority on f40, \
             please specify a different priority with --priority.\n",
            );
        h.koji(&["edit-tag-inheritance", "f40", "base"]).expect(
            1,
            "",
            "No inheritance link found to remove.  Please check your arguments\n",
        );
        ok_eq(h, &["remove-tag-inheritance", "f40", "extras"], "");
        ok_eq(
            h,
            &["list-tag-inheritance", "f40"],
            &format!(
                "     f40 ({f40})\n\
                 ....  └─f40-build ({build})\n\
                 ....     └─base ({base})\n"
            ),
        );
        h.koji(&["remove-tag-inheritance", "f40", "extras"]).expect(
            1,
            "",
            "No inheritance link found to remove.  Please check your arguments\n",
        );
        // two parents with one priority: the hub refuses
        h.koji(&[
            "call", "--python", "setInheritanceData", "'f40'",
            &format!(
                "[{{'parent_id': {extras}, 'priority': 0, 'maxdepth': None, 'intransitive': False, \
                 'noconfig': False, 'pkg_filter': ''}}]"
            ),
        ])
        .expect_fault(&format!(
            "GenericError: Multiple parent tags ([{build}, {extras}]) cannot have the same priority value (0) on child tag {f40}"
        ));

        // edit-tag
        ok_eq(
            h,
            &[
                "edit-tag",
                "f40-updates",
                "--arches",
                "x86_64 aarch64",
                "--perm",
                "tag",
                "-x",
                "foo=bar",
                "-x",
                "num=5",
                "-x",
                "list=[1, \"a\"]",
            ],
            "",
        );
        let tag_perm = perm_id(h, "tag");
        assert_eq!(
            call_json(h, &["getTag", "f40-updates"]),
            json!({"id": updates, "name": "f40-updates", "perm_id": tag_perm, "perm": "tag",
                   "arches": "x86_64 aarch64", "locked": false, "maven_support": false,
                   "maven_include_all": false, "extra": {"foo": "bar", "num": 5, "list": [1, "a"]}}),
            "[{}]",
            h.label()
        );
        ok_eq(
            h,
            &[
                "edit-tag",
                "f40-updates",
                "-r",
                "num",
                "-b",
                "inherited",
                "--no-perm",
                "--rename",
                "f40-upd",
            ],
            "",
        );
        assert_eq!(
            call_json(h, &["getTag", "f40-upd"]),
            json!({"id": updates, "name": "f40-upd", "perm_id": null, "perm": null,
                   "arches": "x86_64 aarch64", "locked": false, "maven_support": false,
                   "maven_include_all": false, "extra": {"foo": "bar", "list": [1, "a"]}}),
            "[{}]",
            h.label()
        );
        assert_eq!(
            call_json(h, &["getTag", "f40-upd", "blocked=True"])["extra"],
            json!({"foo": [false, "bar"], "list": [false, [1, "a"]], "inherited": [true, null]}),
            "[{}]",
            h.label()
        );
        h.koji(&["edit-tag", "f40-upd", "--rename", "f40"])
            .expect_fault(&format!(
                "GenericError: Name f40 already taken by tag {f40}"
            ));
        h.koji(&["edit-tag", "f40-upd", "-r", "nosuch"])
            .expect_fault("GenericError: Tag: f40-upd doesn't have extra: nosuch");
        h.koji(&["edit-tag", "f40-upd", "--maven-support"])
            .expect_fault("GenericError: Maven support not enabled");
        h.koji(&["edit-tag", "nosuch", "--arches", "x86_64"])
            .expect_fault("GenericError: No such tagInfo: 'nosuch'");

        // lock-tag / unlock-tag
        ok_eq(h, &["lock-tag", "f40"], "");
        ok_eq(
            h,
            &["lock-tag", "f40"],
            "Tag f40: admin permission already required\n",
        );
        ok_eq(h, &["lock-tag", "--master", "f40-build"], "");
        ok_eq(
            h,
            &["lock-tag", "--master", "f40-build"],
            "Tag f40-build: master lock already set\n",
        );
        ok_eq(
            h,
            &["lock-tag", "--test", "--perm", "tag", "base"],
            "Would have set permission requirement tag for tag base\n",
        );
        ok_eq(h, &["lock-tag", "--glob", "nomatch*"], "No tags matched\n");
        ok_eq(
            h,
            &["list-tags", "--verbose"],
            "base\nextras\nf40 [admin perm required]\nf40-build [LOCKED]\nf40-upd\n",
        );
        ok_eq(h, &["list-tags", "--unlocked"], "base\nextras\nf40-upd\n");
        let admin_perm = perm_id(h, "admin");
        assert_eq!(
            (
                call_json(h, &["getTag", "f40"])["perm_id"].clone(),
                call_json(h, &["getTag", "f40-build"])["locked"].clone()
            ),
            (json!(admin_perm), json!(true)),
            "[{}]",
            h.label()
        );
        ok_eq(
            h,
            &["unlock-tag", "--test", "f40"],
            "Tag f40: skipping changes: {'perm': None}\n",
        );
        ok_eq(h, &["unlock-tag", "f40", "f40-build"], "");
        ok_eq(h, &["unlock-tag", "base"], "Tag base: not locked\n");
        // (in listTags' order, which upstream leaves to the database)
        assert_eq!(
            sorted_lines(&ok(h, &["unlock-tag", "--glob", "f40*"])),
            "Tag f40-build: not locked\nTag f40-upd: not locked\nTag f40: not locked\n",
            "[{}]",
            h.label()
        );
        h.koji(&["unlock-tag", "nosuch"]).expect_usage_error(
            "koji unlock-tag [options] <tag> [<tag> ...]",
            "No such tag: nosuch",
        );

        // remove-tag: gone from listings and inheritance; its name's id comes back
        ok_eq(h, &["remove-tag", "f40-build"], "");
        ok_eq(h, &["list-tags"], "base\nextras\nf40\nf40-upd\n");
        ok_eq(h, &["call", "getTag", "f40-build"], "None\n");
        ok_eq(
            h,
            &["list-tag-inheritance", "f40"],
            &format!("     f40 ({f40})\n"),
        );
        h.koji(&["remove-tag", "f40-build"])
            .expect(1, "", "No such tag: f40-build\n");
        ok_eq(h, &["add-tag", "f40-build"], "");
        assert_eq!(
            call_int(h, &["getTagID", "f40-build"]),
            build,
            "[{}] tag id reused",
            h.label()
        );

        // a user with the tag permission, and one without
        h.add_user("tagger", "pw");
        ok(h, &["grant-permission", "tag", "tagger"]);
        h.add_user("nobody", "pw");
        h.koji_as("tagger", "pw", &["add-tag", "t-tagger"])
            .expect(0, "", "");
        h.koji_as("nobody", "pw", &["remove-tag", "t-tagger"])
            .expect_usage_error(
                "koji remove-tag [options] <name>",
                "This action requires tag or admin privileges",
            );
        h.koji_as(
            "nobody",
            "pw",
            &["edit-tag", "t-tagger", "--arches", "x86_64"],
        )
        .expect_fault("ActionNotAllowed: tag permission required (logged in as nobody)");
        h.koji_as("nobody", "pw", &["add-tag-inheritance", "t-tagger", "base"])
            .expect_fault("ActionNotAllowed: tag permission required (logged in as nobody)");
    }
}

// ---------------------------------------------------------------- taginfo

#[test]
fn tags_taginfo() {
    for hub in Hub::each() {
        let h = &hub;
        ok(
            h,
            &[
                "add-tag",
                "base",
                "--arches",
                "x86_64 aarch64",
                "-x",
                "mock.new_chroot=0",
            ],
        );
        ok(
            h,
            &[
                "add-tag",
                "f40-build",
                "--parent",
                "base",
                "--arches",
                "x86_64",
            ],
        );
        ok(h, &["add-tag", "f40"]);
        ok(
            h,
            &[
                "add-tag-inheritance",
                "f40",
                "f40-build",
                "--maxdepth",
                "2",
                "--pkg-filter",
                "^a",
            ],
        );
        ok(h, &["lock-tag", "f40"]);
        ok(h, &["add-target", "f40-candidate", "f40-build", "f40"]);
        let base = call_int(h, &["getTagID", "base"]);
        let build = call_int(h, &["getTagID", "f40-build"]);
        let f40 = call_int(h, &["getTagID", "f40"]);
        ok_eq(
            h,
            &["taginfo", "base"],
            &format!(
                "Tag: base [{base}]\nArches: x86_64 aarch64\nGroups: \n\
                 Tag options:\n  mock.new_chroot : 0\nCurrent repo: no active repo\nInheritance:\n"
            ),
        );
        let inherited_opt = format!("{:<30} [base]", "  mock.new_chroot : 0");
        ok_eq(
            h,
            &["taginfo", "f40-build", "f40"],
            &format!(
                "Tag: f40-build [{build}]\nArches: x86_64\nGroups: \n\
                 Tag options:\n{inherited_opt}\n\
                 This tag is a buildroot for one or more targets\nCurrent repo: no active repo\n\
                 Targets that build from this tag:\n  f40-candidate\nInheritance:\n  0    .... base [{base}]\n\
                 \n\
                 Tag: f40 [{f40}]\nArches: \nGroups: \nRequired permission: 'admin'\n\
                 Tag options:\n{inherited_opt}\n\
                 Targets that build into this tag:\n  f40-candidate (f40-build, no active repo)\n\
                 Current repo: no active repo\n\
                 Inheritance:\n  0    MF.. f40-build [{build}]\n    maxdepth: 2\n    package filter: ^a\n"
            ),
        );
        h.koji(&["taginfo", "nosuch"])
            .expect_fault("GenericError: No such tagInfo: 'nosuch'");
    }
}

// ---------------------------------------------------------------- targets

fn targets_table(rows: &[(&str, &str, &str)], quiet: bool) -> String {
    let mut s = String::new();
    if !quiet {
        s.push_str(&format!(
            "{:<30} {:<30} {:<30}\n{}\n",
            "Name",
            "Buildroot",
            "Destination",
            "-".repeat(93)
        ));
    }
    for (n, b, d) in rows {
        s.push_str(&format!("{n:<30} {b:<30} {d:<30}\n"));
    }
    s
}

#[test]
fn targets() {
    for hub in Hub::each() {
        let h = &hub;
        for t in [
            "f40-build --arches x86_64",
            "f41-build --arches x86_64",
            "f40",
            "f41",
            "noarch",
        ] {
            let args: Vec<&str> = std::iter::once("add-tag").chain(t.split(' ')).collect();
            ok(h, &args);
        }
        ok_eq(h, &["add-target", "f40-candidate", "f40-build", "f40"], "");
        ok_eq(h, &["add-target", "f40", "f40-build"], "");
        h.koji(&["add-target", "f40-candidate", "f40-build", "f40"])
            .expect_fault(
                "GenericError: A build target with the name 'f40-candidate' already exists",
            );
        h.koji(&["add-target", "x", "noarch", "f40"]).expect(
            1,
            "",
            "Build tag has no arches: noarch\n",
        );
        h.koji(&["add-target", "x", "nosuch", "f40"])
            .expect(1, "", "No such tag: nosuch\n");
        h.koji(&["add-target", "x", "f40-build", "nosuch"]).expect(
            1,
            "",
            "No such destination tag: nosuch\n",
        );
        h.koji(&["add-target", "bad name", "f40-build", "f40"])
            .expect_fault("GenericError: Name bad name does not match RegexNameInternal value");

        ok_eq(
            h,
            &["list-targets"],
            &targets_table(
                &[
                    ("f40", "f40-build", "f40"),
                    ("f40-candidate", "f40-build", "f40"),
                ],
                false,
            ),
        );
        ok_eq(
            h,
            &["list-targets", "--name", "f40-candidate", "--quiet"],
            &targets_table(&[("f40-candidate", "f40-build", "f40")], true),
        );
        h.koji(&["list-targets", "--name", "nosuch"])
            .expect_usage_error(
                "koji list-targets [options]",
                "No such build target: nosuch",
            );

        let f40_build = call_int(h, &["getTagID", "f40-build"]);
        let f40 = call_int(h, &["getTagID", "f40"]);
        let cand = call_json(h, &["getBuildTarget", "f40-candidate"]);
        let cand_id = cand["id"].as_i64().unwrap_or(-1);
        assert_eq!(
            cand,
            json!({"id": cand_id, "build_tag": f40_build, "dest_tag": f40, "name": "f40-candidate",
                   "build_tag_name": "f40-build", "dest_tag_name": "f40"}),
            "[{}]",
            h.label()
        );

        ok_eq(
            h,
            &[
                "edit-target",
                "f40-candidate",
                "--rename",
                "f41-candidate",
                "--build-tag",
                "f41-build",
                "--dest-tag",
                "f41",
            ],
            "",
        );
        ok_eq(
            h,
            &["list-targets"],
            &targets_table(
                &[
                    ("f40", "f40-build", "f40"),
                    ("f41-candidate", "f41-build", "f41"),
                ],
                false,
            ),
        );
        assert_eq!(
            call_json(h, &["getBuildTarget", "f41-candidate"])["id"],
            json!(cand_id),
            "[{}]",
            h.label()
        );
        h.koji(&["edit-target", "nosuch", "--rename", "x"])
            .expect_fault("GenericError: No such build target: nosuch");
        h.koji(&["edit-target", "f40", "--build-tag", "noarch"])
            .expect(1, "", "Build tag has no arches: noarch\n");
        h.koji(&["edit-target", "f40", "--dest-tag", "nosuch"])
            .expect(1, "", "No such destination tag: nosuch\n");
        h.koji(&["edit-target", "f41-candidate", "--rename", "f40"])
            .expect_fault(&format!(
                "GenericError: name \"f40\" is already taken by build target {}",
                call_json(h, &["getBuildTarget", "f40"])["id"]
            ));

        ok_eq(h, &["remove-target", "f41-candidate"], "");
        ok_eq(
            h,
            &["list-targets"],
            &targets_table(&[("f40", "f40-build", "f40")], false),
        );
        ok_eq(h, &["call", "getBuildTarget", "f41-candidate"], "None\n");
        h.koji(&["remove-target", "f41-candidate"]).expect(
            1,
            "",
            "No such build target: f41-candidate\n",
        );
        // a removed target's name comes back with its id
        ok_eq(h, &["add-target", "f41-candidate", "f41-build", "f41"], "");
        assert_eq!(
            call_json(h, &["getBuildTarget", "f41-candidate"])["id"],
            json!(cand_id),
            "[{}]",
            h.label()
        );
        ok_eq(h, &["remove-target", "f41-candidate"], "");
        ok_eq(h, &["remove-target", "f40"], "");
        h.koji(&["list-targets"])
            .expect_usage_error("koji list-targets [options]", "No targets were found");

        // permissions: the CLI's check, then the hub's
        h.add_user("nobody", "pw");
        h.koji_as("nobody", "pw", &["add-target", "t", "f40-build", "f40"])
            .expect_usage_error(
                "koji add-target <name> <build tag> <dest tag>",
                "This action requires target or admin privileges",
            );
        h.koji_as(
            "nobody",
            "pw",
            &["call", "createBuildTarget", "t", "f40-build", "f40"],
        )
        .expect_fault("ActionNotAllowed: target permission required (logged in as nobody)");
        h.add_user("targeter", "pw");
        ok(h, &["grant-permission", "target", "targeter"]);
        h.koji_as("targeter", "pw", &["add-target", "t", "f40-build", "f40"])
            .expect(0, "", "");
        h.koji_as("targeter", "pw", &["edit-target", "t", "--dest-tag", "f41"])
            .expect(0, "", "");
        h.koji_as("targeter", "pw", &["remove-target", "t"])
            .expect(0, "", "");
    }
}

// ---------------------------------------------------------------- packages

fn pkgs_table(rows: &[(&str, &str, &str, &str, bool)], quiet: bool) -> String {
    let mut s = String::new();
    if !quiet {
        s.push_str(&format!(
            "{:<23} {:<23} {:<16} {:<15}\n{} {} {} {}\n",
            "Package",
            "Tag",
            "Extra Arches",
            "Owner",
            "-".repeat(23),
            "-".repeat(23),
            "-".repeat(16),
            "-".repeat(15)
        ));
    }
    let mut body: Vec<String> = rows
        .iter()
        .map(|(p, t, a, o, blocked)| {
            let mut l = format!("{p:<23} {t:<23} {a:<16} {o:<15}");
            if *blocked {
                l.push_str(" [BLOCKED]");
            }
            l
        })
        .collect();
    body.sort();
    for l in body {
        s.push_str(&l);
        s.push('\n');
    }
    s
}

/// list-pkgs output with its body lines sorted (upstream leaves their order
/// within one tag to the database).
#[track_caller]
fn list_pkgs(hub: &Hub, args: &[&str], header_lines: usize) -> String {
    let mut full = vec!["list-pkgs"];
    full.extend_from_slice(args);
    let out = ok(hub, &full);
    let all: Vec<&str> = out.lines().collect();
    let n = header_lines.min(all.len());
    let mut body = all[n..].to_vec();
    body.sort();
    let mut v = all[..n].to_vec();
    v.extend(body);
    lines(&v)
}

#[test]
fn packages() {
    for hub in Hub::each() {
        let h = &hub;
        h.add_user("alice", "pw");
        ok(h, &["add-tag", "base"]);
        ok(h, &["add-tag", "f40", "--parent", "base"]);
        ok(h, &["add-tag", "empty"]);
        ok_eq(
            h,
            &["add-pkg", "--owner", "admin", "base", "foo", "bar"],
            "Adding 2 packages to tag base\n",
        );
        ok_eq(
            h,
            &[
                "add-pkg",
                "--owner",
                "alice",
                "--extra-arches",
                "i686,x86_64",
                "f40",
                "baz",
            ],
            "Adding 1 packages to tag f40\n",
        );
        ok_eq(
            h,
            &["add-pkg", "--owner", "admin", "base", "foo", "qux"],
            "Package foo already exists in tag base\nAdding 1 packages to tag base\n",
        );
        h.koji(&["add-pkg", "base", "foo"]).expect_usage_error(
            "koji add-pkg [options] --owner <owner> <tag> <package> [<package> ...]",
            "Please specify an owner for the package(s)",
        );

        assert_eq!(
            list_pkgs(h, &["--tag", "base"], 2),
            pkgs_table(
                &[
                    ("foo", "base", "", "admin", false),
                    ("bar", "base", "", "admin", false),
                    ("qux", "base", "", "admin", false)
                ],
                false,
            ),
            "[{}]",
            h.label()
        );
        assert_eq!(
            list_pkgs(h, &["--tag", "f40"], 2),
            pkgs_table(
                &[
                    ("baz", "f40", "i686 x86_64", "alice", false),
                    ("foo", "base", "", "admin", false),
                    ("bar", "base", "", "admin", false),
                    ("qux", "base", "", "admin", false),
                ],
                false
            ),
            "[{}]",
            h.label()
        );
        assert_eq!(
            list_pkgs(h, &["--tag", "f40", "--noinherit", "--quiet"], 0),
            pkgs_table(&[("baz", "f40", "i686 x86_64", "alice", false)], true),
            "[{}]",
            h.label()
        );

        // block / unblock
        ok_eq(h, &["block-pkg", "f40", "bar"], "");
        assert_eq!(
            list_pkgs(h, &["--tag", "f40"], 2),
            pkgs_table(
                &[
                    ("baz", "f40", "i686 x86_64", "alice", false),
                    ("foo", "base", "", "admin", false),
                    ("qux", "base", "", "admin", false),
                ],
                false
            ),
            "[{}]",
            h.label()
        );
        assert_eq!(
            list_pkgs(h, &["--tag", "f40", "--show-blocked", "--quiet"], 0),
            pkgs_table(
                &[
                    ("bar", "f40", "", "admin", true),
                    ("baz", "f40", "i686 x86_64", "alice", false),
                    ("foo", "base", "", "admin", false),
                    ("qux", "base", "", "admin", false),
                ],
                true
            ),
            "[{}]",
            h.label()
        );
        h.koji(&["block-pkg", "f40", "nosuch", "foo"]).expect(
            1,
            "",
            "Package nosuch doesn't exist in tag f40\n",
        );
        h.koji(&["unblock-pkg", "f40", "baz"])
            .expect_fault("GenericError: package baz NOT blocked in tag f40");
        ok_eq(h, &["unblock-pkg", "f40", "bar"], "");
        assert_eq!(
            list_pkgs(h, &["--tag", "f40", "--show-blocked", "--quiet"], 0),
            pkgs_table(
                &[
                    ("bar", "base", "", "admin", false),
                    ("baz", "f40", "i686 x86_64", "alice", false),
                    ("foo", "base", "", "admin", false),
                    ("qux", "base", "", "admin", false),
                ],
                true
            ),
            "[{}]",
            h.label()
        );
        // blocking in the parent hides it in the child too
        ok_eq(h, &["block-pkg", "base", "qux"], "");
        assert_eq!(
            list_pkgs(h, &["--tag", "f40", "--show-blocked", "--quiet"], 0),
            pkgs_table(
                &[
                    ("bar", "base", "", "admin", false),
                    ("baz", "f40", "i686 x86_64", "alice", false),
                    ("foo", "base", "", "admin", false),
                    ("qux", "base", "", "admin", true),
                ],
                true
            ),
            "[{}]",
            h.label()
        );
        // unblocking in the child adds an unblocked entry there
        ok_eq(h, &["unblock-pkg", "f40", "qux"], "");
        assert_eq!(
            list_pkgs(h, &["--tag", "f40", "--quiet"], 0),
            pkgs_table(
                &[
                    ("bar", "base", "", "admin", false),
                    ("baz", "f40", "i686 x86_64", "alice", false),
                    ("foo", "base", "", "admin", false),
                    ("qux", "f40", "", "admin", false),
                ],
                true
            ),
            "[{}]",
            h.label()
        );

        // owners and arches
        ok_eq(h, &["set-pkg-owner", "alice", "base", "bar"], "");
        ok_eq(h, &["set-pkg-arches", "ppc64le s390x", "f40", "baz"], "");
        assert_eq!(
            list_pkgs(h, &["--tag", "f40", "--quiet"], 0),
            pkgs_table(
                &[
                    ("bar", "base", "", "alice", false),
                    ("baz", "f40", "ppc64le s390x", "alice", false),
                    ("foo", "base", "", "admin", false),
                    ("qux", "f40", "", "admin", false),
                ],
                true
            ),
            "[{}]",
            h.label()
        );
        h.koji(&["set-pkg-owner", "alice", "empty", "foo"])
            .expect_fault("GenericError: cannot update: tag empty has no data for package foo");
        h.koji(&["set-pkg-owner", "nobody", "base", "foo"])
            .expect_fault("GenericError: No such user: 'nobody'");

        // remove-pkg
        ok_eq(h, &["remove-pkg", "base", "foo"], "");
        h.koji(&["remove-pkg", "f40", "foo"])
            .expect(1, "", "Package foo is not in tag f40\n");
        assert_eq!(
            list_pkgs(h, &["--tag", "f40", "--quiet"], 0),
            pkgs_table(
                &[
                    ("bar", "base", "", "alice", false),
                    ("baz", "f40", "ppc64le s390x", "alice", false),
                    ("qux", "f40", "", "admin", false),
                ],
                true
            ),
            "[{}]",
            h.label()
        );

        // other listings
        assert_eq!(
            list_pkgs(h, &[], 2),
            format!("Package\n{}\nbar\nbaz\nfoo\nqux\n", "-".repeat(23)),
            "[{}]",
            h.label()
        );
        assert_eq!(
            list_pkgs(h, &["--owner", "alice", "--quiet"], 0),
            pkgs_table(
                &[
                    ("bar", "base", "", "alice", false),
                    ("baz", "f40", "ppc64le s390x", "alice", false)
                ],
                true
            ),
            "[{}]",
            h.label()
        );
        assert_eq!(
            list_pkgs(h, &["--package", "qux", "--quiet", "--show-blocked"], 0),
            pkgs_table(
                &[
                    ("qux", "base", "", "admin", true),
                    ("qux", "f40", "", "admin", false)
                ],
                true
            ),
            "[{}]",
            h.label()
        );
        h.koji(&["list-pkgs", "--tag", "empty"])
            .expect(1, "", "(no matching packages)\n");
        h.koji(&["list-pkgs", "--show-blocked"]).expect_usage_error(
            "koji list-pkgs [options]",
            "--show-blocked makes sense only with --tag, --owner or --package",
        );
        h.koji(&["list-pkgs", "--tag", "nosuch"])
            .expect_usage_error("koji list-pkgs [options]", "No such tag: nosuch");

        // the package_list policy: admin or tag only
        h.add_user("nobody", "pw");
        h.koji_as("nobody", "pw", &["add-pkg", "--owner", "nobody", "empty", "foo"]).expect_fault_after(
            "Adding 1 packages to tag empty\n",
            "ActionNotAllowed: policy violation (package_list): Only admin/tag can do this via default policy",
        );
        h.koji_as("nobody", "pw", &["block-pkg", "f40", "baz"]).expect_fault(
            "ActionNotAllowed: policy violation (package_list): Only admin/tag can do this via default policy",
        );
        h.add_user("packager", "pw");
        ok(h, &["grant-permission", "tag", "packager"]);
        h.koji_as(
            "packager",
            "pw",
            &["add-pkg", "--owner", "packager", "empty", "foo"],
        )
        .expect(0, "Adding 1 packages to tag empty\n", "");
    }
}

// ---------------------------------------------------------------- hosts

#[derive(Clone, Copy)]
struct HostRow<'a> {
    name: &'a str,
    enabled: bool,
    capacity: f64,
    arches: &'a str,
    description: Option<&'a str>,
    comment: Option<&'a str>,
    channels: &'a str,
}

/// list-hosts as the upstream CLI prints it (never-updated, not ready, idle hosts).
fn hosts_table(rows: &[HostRow], quiet: bool, desc: bool, comment: bool, channels: bool) -> String {
    let longest = rows.iter().map(|r| r.name.len()).max().unwrap_or(8);
    let mut s = String::new();
    if !quiet {
        let mut hdr = format!(
            "{:<longest$} Enb Rdy Load/Cap  Arches           Last Update                         ",
            "Hostname"
        );
        if desc {
            hdr.push_str(&format!("{:<51}", "Description"));
        }
        if comment {
            hdr.push_str(&format!("{:<51}", "Comment"));
        }
        if channels {
            hdr.push_str("Channels");
        }
        s.push_str(&format!("{hdr}\n{}\n", "-".repeat(hdr.chars().count())));
    }
    for r in rows {
        let mut l = format!(
            "{:<longest$} {:<3} {:<3} {:4.1}/{:<4.1} {:<16} {:<35}",
            r.name,
            if r.enabled { "Y" } else { "N" },
            "N",
            0.0,
            r.capacity,
            r.arches.split_whitespace().collect::<Vec<_>>().join(","),
            "-"
        );
        if desc {
            l.push_str(&format!(" {:<50}", r.description.unwrap_or("")));
        }
        if comment {
            l.push_str(&format!(" {:<50}", r.comment.unwrap_or("")));
        }
        if channels {
            l.push_str(&format!(" {}", r.channels));
        }
        s.push_str(&l);
        s.push('\n');
    }
    s
}

/// list-channels as the upstream CLI prints it: (name, enabled hosts,
/// disabled hosts, capacity); nothing is ready or loaded.
fn channels_table(rows: &[(&str, i64, i64, i64)]) -> String {
    let longest = rows.iter().map(|r| r.0.len()).max().unwrap_or(8);
    let hdr = format!(
        "{:<longest$}Enabled  Ready Disbld   Load    Cap   Perc    ",
        "Channel"
    );
    let mut s = format!("{hdr}\n{}\n", "-".repeat(hdr.len()));
    for (name, en, dis, cap) in rows {
        s.push_str(&format!(
            "{name:<longest$} {en:>6} {:>6} {dis:>6} {:>6} {cap:>6} {:>6}%\n",
            0, 0, 0
        ));
    }
    s
}

#[test]
fn hosts() {
    for hub in Hub::each() {
        let h = &hub;
        let out = ok(h, &["add-host", "builder1", "x86_64", "i686"]);
        assert_match(r"^builder1 added: id \d+\n$", &out);
        let out = ok(
            h,
            &[
                "add-host",
                "builder2",
                "aarch64",
                "--krb-principal",
                "compile/builder2@EXAMPLE.COM",
            ],
        );
        assert_match(r"^builder2 added: id \d+\n$", &out);
        h.koji(&["add-host", "builder1", "x86_64"]).expect(
            1,
            "",
            "builder1 is already in the database\n",
        );
        h.add_user("alice", "pw");
        h.koji(&["add-host", "alice", "x86_64"])
            .expect_fault("GenericError: user alice already exists and it is not a host");
        assert_match(
            r"^alice added: id \d+\n$",
            &ok(h, &["add-host", "--force", "alice", "x86_64"]),
        );
        h.koji(&["add-host", "builder3", "not an arch!"])
            .expect_fault("GenericError: Architecture can be only [a-zA-Z0-9_-]");
        let b2 = call_json(h, &["getHost", "builder2"]);
        assert_eq!(
            (
                b2["name"].clone(),
                b2["arches"].clone(),
                b2["capacity"].clone(),
                b2["enabled"].clone(),
                b2["ready"].clone(),
                b2["task_load"].clone(),
                b2["description"].clone(),
                b2["comment"].clone(),
                b2["update_ts"].clone()
            ),
            (
                json!("builder2"),
                json!("aarch64"),
                json!(2.0),
                json!(true),
                json!(false),
                json!(0.0),
                json!(null),
                json!(null),
                json!(null)
            ),
            "[{}]",
            h.label()
        );
        ok_eq(
            h,
            &["call", "getUser", "builder2", "krb_princs=True"],
            &format!(
                "{{'id': {},\n 'krb_principals': ['compile/builder2@EXAMPLE.COM'],\n 'name': 'builder2',\n 'status': 0,\n 'usertype': 1}}\n",
                b2["user_id"]
            ),
        );

        // edit-host
        ok_eq(
            h,
            &[
                "edit-host",
                "builder1",
                "--capacity",
                "4",
                "--description",
                "Big box",
                "--comment",
                "new disk",
                "--arches",
                "x86_64,i686",
            ],
            "Edited builder1\n",
        );
        ok_eq(
            h,
            &["edit-host", "builder1", "--capacity", "4.0"],
            "No changes made to builder1\n",
        );
        h.koji(&["edit-host", "builder1", "nosuch", "--comment", "x"])
            .expect(
                1,
                "",
                "No such host: nosuch\nNo changes made, please correct the command line\n",
            );

        // disable / enable
        ok_eq(
            h,
            &["disable-host", "builder2", "--comment", "broken disk"],
            "",
        );
        h.koji(&["enable-host", "nosuch", "builder2"]).expect(
            1,
            "No such host: nosuch\n",
            "No changes made. Please correct the command line.\n",
        );
        ok_eq(h, &["disable-host", "alice"], "");
        ok_eq(h, &["enable-host", "alice"], "");

        let alice = HostRow {
            name: "alice",
            enabled: true,
            capacity: 2.0,
            arches: "x86_64",
            description: None,
            comment: None,
            channels: "default",
        };
        let b1 = HostRow {
            name: "builder1",
            enabled: true,
            capacity: 4.0,
            arches: "x86_64 i686",
            description: Some("Big box"),
            comment: Some("new disk"),
            channels: "default",
        };
        let b2r = HostRow {
            name: "builder2",
            enabled: false,
            capacity: 2.0,
            arches: "aarch64",
            description: None,
            comment: Some("broken disk"),
            channels: "default",
        };
        ok_eq(
            h,
            &["list-hosts"],
            &hosts_table(&[alice, b1, b2r], false, false, false, false),
        );
        ok_eq(
            h,
            &["list-hosts", "--description", "--comment"],
            &hosts_table(&[alice, b1, b2r], false, true, true, false),
        );
        ok_eq(
            h,
            &["list-hosts", "--disabled", "--quiet"],
            &hosts_table(&[b2r], true, false, false, false),
        );
        ok_eq(
            h,
            &["list-hosts", "--arch", "i686", "--enabled"],
            &hosts_table(&[b1], false, false, false, false),
        );
        h.koji(&["list-hosts", "--arch", "s390x"])
            .expect(0, "", "No hosts found.\n");

        // channels
        let out = ok(h, &["add-channel", "--description", "Image builds", "imgs"]);
        assert_match(r"^imgs added: id \d+\n$", &out);
        let imgs_id: i64 = out
            .trim()
            .rsplit(' ')
            .next()
            .and_then(|s| s.parse().ok())
            .unwrap_or(-1);
        h.koji(&["add-channel", "imgs"])
            .expect(1, "", "channel imgs already exists\n");
        ok_eq(h, &["add-host-to-channel", "builder1", "imgs"], "");
        h.koji(&["add-host-to-channel", "builder1", "imgs"])
            .expect_fault("GenericError: host builder1 is already subscribed to the imgs channel");
        h.koji(&["add-host-to-channel", "builder1", "nosuch"])
            .expect(1, "", "No such channel: nosuch\n");
        h.koji(&["add-host-to-channel", "nosuch", "imgs"])
            .expect(1, "", "No such host: nosuch\n");
        ok_eq(
            h,
            &["add-host-to-channel", "--new", "builder2", "newchan"],
            "",
        );
        ok_eq(h, &["remove-host-from-channel", "builder1", "default"], "");
        h.koji(&["remove-host-from-channel", "builder1", "default"])
            .expect(1, "", "Host builder1 is not a member of channel default\n");
        h.koji(&["remove-host-from-channel", "nosuch", "default"])
            .expect(1, "", "No such host: nosuch\n");
        let rows = [
            HostRow {
                name: "alice",
                enabled: true,
                capacity: 2.0,
                arches: "x86_64",
                description: None,
                comment: None,
                channels: "default",
            },
            HostRow {
                name: "builder1",
                enabled: true,
                capacity: 4.0,
                arches: "x86_64 i686",
                description: None,
                comment: None,
                channels: "imgs",
            },
            HostRow {
                name: "builder2",
                enabled: false,
                capacity: 2.0,
                arches: "aarch64",
                description: None,
                comment: None,
                channels: "default,newchan",
            },
        ];
        ok_eq(
            h,
            &["list-hosts", "--show-channels"],
            &hosts_table(&rows, false, false, false, true),
        );
        let rows = [HostRow {
            name: "builder1",
            enabled: true,
            capacity: 4.0,
            arches: "x86_64 i686",
            description: None,
            comment: None,
            channels: "",
        }];
        ok_eq(
            h,
            &["list-hosts", "--channel", "imgs"],
            &hosts_table(&rows, false, false, false, false),
        );
        h.koji(&["list-hosts", "--channel", "nosuch"])
            .expect_usage_error("koji list-hosts [options]", "No such channel: nosuch");

        // edit-channel
        ok_eq(
            h,
            &[
                "edit-channel",
                "imgs",
                "--name",
                "images",
                "--description",
                "Images",
                "--comment",
                "fast disks",
            ],
            "",
        );
        assert_eq!(
            call_json(h, &["getChannel", "images"]),
            json!({"id": imgs_id, "name": "images", "description": "Images", "enabled": true, "comment": "fast disks"}),
            "[{}]",
            h.label()
        );
        h.koji(&["edit-channel", "images", "--description", "Images"])
            .expect(1, "", "No changes made, please correct the command line\n");
        let default_id = call_json(h, &["getChannel", "default"])["id"].clone();
        h.koji(&["edit-channel", "images", "--name", "default"]).expect(
            1,
            "",
            &format!("channel default already exists (id={default_id})\nNo changes made, please correct the command line\n"),
        );
        h.koji(&["edit-channel", "nosuch", "--comment", "x"])
            .expect(1, "", "No such channel: nosuch\n");

        // list-channels
        ok_eq(
            h,
            &["list-channels"],
            &channels_table(&[
                ("appliance", 0, 0, 0),
                ("createrepo", 0, 0, 0),
                ("default", 1, 1, 4),
                ("image", 0, 0, 0),
                ("images", 1, 0, 4),
                ("livecd", 0, 0, 0),
                ("livemedia", 0, 0, 0),
                ("maven", 0, 0, 0),
                ("newchan", 0, 1, 2),
                ("vm", 0, 0, 0),
            ]),
        );
        ok_eq(
            h,
            &["list-channels", "--simple"],
            "Channel\n-------\nappliance\ncreaterepo\ndefault\nimage\nimages\nlivecd\nlivemedia\nmaven\nnewchan\nvm\n",
        );
        ok_eq(
            h,
            &["list-channels", "--simple", "--quiet", "--disabled"],
            "",
        );

        // the host permission
        h.add_user("nobody", "pw");
        h.koji_as("nobody", "pw", &["add-host", "b9", "x86_64"])
            .expect_fault("ActionNotAllowed: host permission required (logged in as nobody)");
        h.koji_as("nobody", "pw", &["edit-host", "builder1", "--comment", "x"])
            .expect_fault("ActionNotAllowed: host permission required (logged in as nobody)");
        h.koji_as("nobody", "pw", &["add-channel", "c9"]).expect(
            1,
            "",
            "admin permission required (logged in as nobody)\n",
        );
        h.add_user("hoster", "pw");
        ok(h, &["grant-permission", "host", "hoster"]);
        assert_match(
            r"^b9 added: id \d+\n$",
            h.koji_as("hoster", "pw", &["add-host", "b9", "x86_64"])
                .ok(),
        );
        h.koji_as("hoster", "pw", &["add-host-to-channel", "b9", "images"])
            .expect(0, "", "");
    }
}

// ---------------------------------------------------------------- hostinfo

#[test]
fn hosts_hostinfo() {
    for hub in Hub::each() {
        let h = &hub;
        assert_match(
            r"^builder1 added: id \d+\n$",
            &ok(h, &["add-host", "builder1", "x86_64", "i686"]),
        );
        ok(
            h,
            &[
                "edit-host",
                "builder1",
                "--capacity",
                "4",
                "--description",
                "Big box\nsecond line",
                "--comment",
                "new disk",
            ],
        );
        let id = call_json(h, &["getHost", "builder1"])["id"].clone();
        ok_eq(
            h,
            &["hostinfo", "builder1"],
            &format!(
                "Name: builder1\nID: {id}\nArches: x86_64 i686\nCapacity: 4.0\nTask Load: 0.00\n\
                 Description: Big box\n             second line\nComment: new disk\nEnabled: yes\nReady: no\n\
                 Last Update: never\nChannels: default\nActive Buildroots:\nNone\n"
            ),
        );
        h.koji(&["hostinfo", "nosuch"])
            .expect(1, "", "No such host: nosuch\n\n");
    }
}

// ---------------------------------------------------------------- history

const ASCTIME: &str = r"[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}";

/// Asserts list-history output: each expected line is matched after the
/// asctime stamp; `\E` in them stands for an event id.
#[track_caller]
fn assert_history(hub: &Hub, args: &[&str], expected: &[&str]) {
    let mut full = vec!["list-history"];
    full.extend_from_slice(args);
    let out = ok(hub, &full);
    let mut re = String::from("^");
    for l in expected {
        re.push_str(ASCTIME);
        re.push(' ');
        re.push_str(&regex::escape(l).replace(r"\\E", r"\d+"));
        re.push('\n');
    }
    re.push('$');
    assert_match(&re, &out);
}

#[test]
fn history() {
    for hub in Hub::each() {
        let h = &hub;
        h.add_user("alice", "pw");
        ok(h, &["grant-permission", "tag", "alice"]);
        ok(h, &["revoke-permission", "tag", "alice"]);
        ok(h, &["grant-permission", "tag", "alice"]);
        ok(h, &["grant-permission", "target", "alice"]);
        ok(h, &["add-tag", "base"]);
        ok(h, &["add-tag", "f40"]);
        ok(h, &["edit-tag", "f40", "--arches", "x86_64"]);
        ok(h, &["add-tag-inheritance", "f40", "base"]);
        ok(h, &["add-pkg", "--owner", "alice", "f40", "pkg1"]);
        ok(h, &["add-tag", "other", "--parent", "f40"]);

        assert_history(
            h,
            &["--permission", "tag"],
            &[
                "permission tag granted to alice by admin",
                "permission tag revoked for alice by admin",
                "permission tag granted to alice by admin [still active]",
            ],
        );
        assert_history(
            h,
            &["--user", "alice"],
            &[
                "permission tag granted to alice by admin",
                "permission tag revoked for alice by admin",
                "permission tag granted to alice by admin [still active]",
                "permission target granted to alice by admin [still active]",
                "package owner alice set for pkg1 in f40 by admin [still active]",
            ],
        );
        let out = ok(h, &["list-history", "--tag", "f40"]);
        let t = ASCTIME;
        assert_match(
            &format!(
                "^{t} new tag: f40 by admin\n\
                 {t} tag configuration for f40 altered by admin \\[still active\\]\n    arches:  -> x86_64\n\
                 {t} inheritance line f40->base added by admin \\[still active\\]\n\
                 {t} package owner alice set for pkg1 in f40 by admin \\[still active\\]\n\
                 {t} package list entry created: pkg1 in f40 by admin \\[still active\\]\n\
                 {t} inheritance line other->f40 added by admin \\[still active\\]\n$"
            ),
            &out,
        );
        // with event ids, and only what is still active
        let out = ok(
            h,
            &[
                "list-history",
                "--permission",
                "tag",
                "--active",
                "--events",
            ],
        );
        assert_match(
            &format!("^{t} \\(eid \\d+\\) permission tag granted to alice by admin \\[still active\\]\n$"),
            &out,
        );
        h.koji(&["list-history"]).expect_usage_error(
            "koji list-history [options]",
            "Please specify an option to limit the query",
        );
        h.koji(&["list-history", "--tag", "nosuch"])
            .expect_fault("GenericError: No such entry in table tag: nosuch");
    }
}

/// `setInheritanceData` takes what upstream's PostgreSQL would take for a
/// link's columns (the CLI sends `--priority` as the text it was given).
#[test]
fn inheritance_values_cast_like_postgresql() {
    for hub in Hub::each() {
        let h = &hub;
        for t in ["a", "b", "c", "child"] {
            ok(h, &["add-tag", t]);
        }
        let a = call_int(h, &["getTagID", "a"]);
        let b = call_int(h, &["getTagID", "b"]);
        let c = call_int(h, &["getTagID", "c"]);
        ok_eq(
            h,
            &["add-tag-inheritance", "child", "a", "--priority", " 7"],
            "",
        );
        let set = |link: Json| {
            h.koji(&[
                "call",
                "--json-input",
                "setInheritanceData",
                "\"child\"",
                &json!([link]).to_string(),
            ])
        };
        set(
            json!({"parent_id": b, "priority": "+8", "maxdepth": " 3", "intransitive": "yes",
                   "noconfig": "OFF", "pkg_filter": 5}),
        )
        .ok();
        set(
            json!({"parent_id": c, "priority": 9.5, "maxdepth": null, "intransitive": false,
                   "noconfig": "t", "pkg_filter": true}),
        )
        .ok();
        let data = call_json(h, &["getInheritanceData", "child"]);
        let got: Vec<Json> = data
            .as_array()
            .map(|links| {
                links
                    .iter()
                    .map(|l| {
                        json!([
                            l["parent_id"],
                            l["priority"],
                            l["maxdepth"],
                            l["intransitive"],
                            l["noconfig"],
                            l["pkg_filter"]
                        ])
                    })
                    .collect()
            })
            .unwrap_or_default();
        assert_eq!(
            got,
            vec![
                json!([a, 7, null, false, false, ""]),
                json!([b, 8, 3, true, false, "5"]),
                json!([c, 10, null, false, true, "true"]),
            ],
            "[{}]",
            h.label()
        );
        // what PostgreSQL refuses, with the first line of psycopg2's error
        let link = |pri: Json, flag: Json| {
            json!({"parent_id": a, "priority": pri, "maxdepth": null, "intransitive": flag,
                   "noconfig": false, "pkg_filter": null})
        };
        for (link, class, msg) in [
            (
                link(json!("1_0"), json!(false)),
                "InvalidTextRepresentation",
                "invalid input syntax for type integer: \"1_0\"",
            ),
            (
                link(json!("2147483648"), json!(false)),
                "NumericValueOutOfRange",
                "value \"2147483648\" is out of range for type integer",
            ),
            (
                link(json!(true), json!(false)),
                "DatatypeMismatch",
                "column \"priority\" is of type integer but expression is of type boolean",
            ),
            (
                link(json!(1), json!(1)),
                "DatatypeMismatch",
                "column \"intransitive\" is of type boolean but expression is of type integer",
            ),
            (
                link(json!(1), json!("maybe")),
                "InvalidTextRepresentation",
                "invalid input syntax for type boolean: \"maybe\"",
            ),
            (
                link(json!(null), json!(false)),
                "NotNullViolation",
                "null value in column \"priority\" of relation \"tag_inheritance\" violates \
                 not-null constraint",
            ),
            // b has 8: "8" passes the check of the priorities as sent, and
            // collides in the table
            (
                link(json!("8"), json!(false)),
                "UniqueViolation",
                "duplicate key value violates unique constraint \
                 \"tag_inheritance_tag_id_priority_active_key\"",
            ),
        ] {
            // the client prints the fault's repr: both quote kinds, so
            // single-quoted with \' escapes
            let text = format!("<class 'psycopg2.errors.{class}'>: {msg}").replace('\'', "\\'");
            set(link).expect_fault(&format!("Fault: <Fault 1: '{text}'>"));
        }
        let child = call_int(h, &["getTagID", "child"]);
        set(link(json!(8.0), json!(false))).expect_fault(&format!(
            "GenericError: Multiple parent tags ([{a}, {b}]) cannot have the same priority \
             value (8) on child tag {child}"
        ));
        // nothing was written by the refused calls
        assert_eq!(call_json(h, &["getInheritanceData", "child"]), data);
    }
}

// ---------------------------------------------------------------- key order

/// `koji call --json-output` prints structs in the order the hub sent their
/// members. Upstream's `QueryProcessor` sorts a query's columns by alias
/// (`sorted(zip(aliases, columns))` in kojihub/db.py), so a row comes out
/// with its keys in alphabetical order; keys a method adds to the row
/// afterwards (`extra`, `child_id`, `nextdepth`...) follow in the order it
/// adds them.
#[test]
fn call_json_key_order() {
    fn obj(pairs: &[(&str, String)]) -> String {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| format!("  \"{k}\": {v}"))
            .collect();
        format!("{{\n{}\n}}\n", body.join(",\n"))
    }
    /// The keys of a printed object, or of the first object of a list.
    fn keys(out: &str) -> Vec<String> {
        let v: Json = serde_json::from_str(out).unwrap_or(Json::Null);
        let first = match &v {
            Json::Array(a) => a.first().cloned().unwrap_or(Json::Null),
            other => other.clone(),
        };
        first
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }
    let s = |v: &str| format!("\"{v}\"");
    let wrong = std::cell::RefCell::new(vec![]);
    // collects every difference, so one run shows them all
    let check = |h: &Hub, args: &[&str], want: &str| {
        let got = ok(h, args);
        if got != want {
            wrong.borrow_mut().push(format!(
                "[{}] koji {}:\n--- got\n{got}--- want\n{want}",
                h.label(),
                args.join(" ")
            ));
        }
    };
    let check_keys = |h: &Hub, args: &[&str], want: &[&str]| {
        let got = keys(&ok(h, args));
        if got != want {
            wrong.borrow_mut().push(format!(
                "[{}] koji {}:\n--- got keys\n{got:?}\n--- want keys\n{want:?}",
                h.label(),
                args.join(" ")
            ));
        }
    };
    for hub in Hub::each() {
        let h = &hub;
        ok(h, &["add-tag", "base", "--arches", "x86_64"]);
        ok(h, &["add-tag", "f40", "--parent", "base"]);
        ok(h, &["add-target", "f40-candidate", "base", "f40"]);
        ok(h, &["add-pkg", "--owner", "admin", "f40", "foo"]);
        assert_match(
            r"^b1 added: id \d+\n$",
            &ok(h, &["add-host", "b1", "x86_64"]),
        );
        let base = call_int(h, &["getTagID", "base"]).to_string();
        let f40 = call_int(h, &["getTagID", "f40"]).to_string();
        check(
            h,
            &["call", "--json-output", "getTag", "base"],
            &obj(&[
                ("arches", s("x86_64")),
                ("id", base.clone()),
                ("locked", "false".into()),
                ("maven_include_all", "false".into()),
                ("maven_support", "false".into()),
                ("name", s("base")),
                ("perm", "null".into()),
                ("perm_id", "null".into()),
                ("extra", "{}".into()),
            ]),
        );
        let target = call_json(h, &["getBuildTarget", "f40-candidate"]);
        check(
            h,
            &["call", "--json-output", "getBuildTarget", "f40-candidate"],
            &obj(&[
                ("build_tag", base.clone()),
                ("build_tag_name", s("base")),
                ("dest_tag", f40.clone()),
                ("dest_tag_name", s("f40")),
                ("id", target["id"].to_string()),
                ("name", s("f40-candidate")),
            ]),
        );
        let host = call_json(h, &["getHost", "b1"]);
        check(
            h,
            &["call", "--json-output", "getHost", "b1"],
            &obj(&[
                ("arches", s("x86_64")),
                ("capacity", "2.0".into()),
                ("comment", "null".into()),
                ("description", "null".into()),
                ("enabled", "true".into()),
                ("id", host["id"].to_string()),
                ("name", s("b1")),
                ("ready", "false".into()),
                ("task_load", "0.0".into()),
                ("update_ts", "null".into()),
                ("user_id", host["user_id"].to_string()),
            ]),
        );
        let chan = call_json(h, &["getChannel", "default"]);
        check(
            h,
            &["call", "--json-output", "getChannel", "default"],
            &obj(&[
                ("comment", "null".into()),
                ("description", "null".into()),
                ("enabled", "true".into()),
                ("id", chan["id"].to_string()),
                ("name", s("default")),
            ]),
        );
        let pkg = call_json(h, &["listPackages", "tagID=f40"]);
        let entry = obj(&[
            ("blocked", "false".into()),
            ("extra_arches", "null".into()),
            ("owner_id", "1".into()),
            ("owner_name", s("admin")),
            ("package_id", pkg[0]["package_id"].to_string()),
            ("package_name", s("foo")),
            ("tag_id", f40.clone()),
            ("tag_name", s("f40")),
        ]);
        let indented: Vec<String> = entry.lines().map(|l| format!("  {l}")).collect();
        check(
            h,
            &["call", "--json-output", "listPackages", "tagID=f40"],
            &format!("[\n{}\n]\n", indented.join("\n")),
        );

        let tag_keys = [
            "arches",
            "id",
            "locked",
            "maven_include_all",
            "maven_support",
            "name",
            "perm",
            "perm_id",
        ];
        check_keys(h, &["call", "--json-output", "listTags"], &tag_keys);
        check_keys(
            h,
            &["call", "--json-output", "listTags", "perms=False"],
            &tag_keys[..6],
        );
        check_keys(
            h,
            &["call", "--json-output", "listTags", "package=foo"],
            &[
                "arches",
                "blocked",
                "extra_arches",
                "id",
                "locked",
                "maven_include_all",
                "maven_support",
                "name",
                "owner_id",
                "owner_name",
                "perm",
                "perm_id",
            ],
        );
        // asList rows carry the values in the same (sorted) order
        let rows = call_json(h, &["--python", "listTags", "queryOpts={'asList': True}"]);
        assert_eq!(
            rows[0],
            json!([
                "x86_64",
                base.parse::<i64>().unwrap_or(0),
                false,
                false,
                false,
                "base",
                null,
                null
            ]),
            "[{}]",
            h.label()
        );
        let mut with_event = tag_keys.to_vec();
        with_event.extend(["extra", "query_event"]);
        let event = call_json(h, &["getLastEvent"])["id"].to_string();
        check_keys(
            h,
            &[
                "call",
                "--json-output",
                "getTag",
                "base",
                &format!("event={event}"),
            ],
            &with_event,
        );
        let link = [
            "intransitive",
            "maxdepth",
            "name",
            "noconfig",
            "parent_id",
            "pkg_filter",
            "priority",
        ];
        let mut inh = link.to_vec();
        inh.push("child_id");
        check_keys(
            h,
            &["call", "--json-output", "getInheritanceData", "f40"],
            &inh,
        );
        inh.extend(["nextdepth", "currdepth", "filter"]);
        check_keys(
            h,
            &["call", "--json-output", "getFullInheritance", "f40"],
            &inh,
        );
        let mut rev = link.to_vec();
        rev.extend(["tag_id", "nextdepth", "currdepth", "filter"]);
        check_keys(
            h,
            &[
                "call",
                "--json-output",
                "getFullInheritance",
                "base",
                "reverse=True",
            ],
            &rev,
        );
        let mut config = tag_keys.to_vec();
        config.extend(["extra", "config_inheritance"]);
        check_keys(
            h,
            &["call", "--json-output", "getBuildConfig", "f40"],
            &config,
        );
        check_keys(
            h,
            &["call", "--json-output", "getAllPerms"],
            &["description", "id", "name"],
        );
        check_keys(
            h,
            &["call", "--json-output", "getUser", "admin"],
            &["id", "name", "status", "usertype", "krb_principals"],
        );
        check_keys(
            h,
            &["call", "--json-output", "listUsers"],
            &["id", "krb_principals", "name", "status", "usertype"],
        );
        check_keys(
            h,
            &["call", "--json-output", "listHosts"],
            &[
                "arches",
                "capacity",
                "comment",
                "description",
                "enabled",
                "id",
                "name",
                "ready",
                "task_load",
                "update_ts",
                "user_id",
            ],
        );
        check_keys(
            h,
            &["call", "--json-output", "listChannels"],
            &["comment", "description", "enabled", "id", "name"],
        );
        check_keys(
            h,
            &["call", "--json-output", "getBuildTargets"],
            &[
                "build_tag",
                "build_tag_name",
                "dest_tag",
                "dest_tag_name",
                "id",
                "name",
            ],
        );
        check_keys(
            h,
            &["call", "--json-output", "getPackage", "foo"],
            &["id", "name"],
        );
    }
    let wrong = wrong.into_inner();
    assert!(
        wrong.is_empty(),
        "{} differences:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}
