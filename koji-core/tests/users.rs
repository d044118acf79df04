//! Users, groups, permissions and Kerberos principals through upstream's
//! API: createUser, getUser, listUsers, editUser, enableUser, disableUser,
//! grantPermission, revokePermission, editPermission, getAllPerms,
//! getPerms, getUserPerms, getUserPermsInheritance, hasPerm, newGroup,
//! addGroupMember, dropGroupMember, getGroupMembers, getUserGroups,
//! addUserKrbPrincipal, removeUserKrbPrincipal.

use koji_core::db::{fetch_all, RowExt};
use koji_core::testing::{kw, TestHub};
use koji_core::{params, Caller, Error, Result};
use serde_json::{json, Value as Json};

/// The fault of a call that must fail: (code, message).
async fn fault(th: &TestHub, who: &Caller, method: &str, params: Json) -> (i32, String) {
    match th.call(who, method, params).await {
        Ok(v) => panic!("{}: {method} should fail, answered {v}", th.label()),
        Err(e) => (e.fault_code(), e.to_string()),
    }
}

fn int(v: &Json) -> Result<i64> {
    v.as_i64()
        .ok_or_else(|| Error::Generic(format!("not an int: {v}")))
}

async fn create_user(th: &TestHub, who: &Caller, name: &str, opts: Json) -> Result<i64> {
    int(&th.call(who, "createUser", json!([name, kw(opts)])).await?)
}

fn names(v: &Json) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|u| u["name"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

const ADMIN_ONLY: &str = "admin permission required (logged in as bob)";

#[tokio::test]
async fn create_user_and_get_it_every_way() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let id = create_user(
            &th,
            &admin,
            "alice",
            json!({"krb_principal": "alice@EXAMPLE.COM"}),
        )
        .await?;
        let want = json!({"id": id, "name": "alice", "status": 0, "usertype": 0,
                          "krb_principals": ["alice@EXAMPLE.COM"]});
        for info in [
            json!("alice"),
            json!("alice@EXAMPLE.COM"),
            json!(id),
            json!({"name": "alice"}),
            json!({"id": id}),
            json!({"krb_principal": "alice@EXAMPLE.COM"}),
        ] {
            assert_eq!(
                th.call(&admin, "getUser", json!([info])).await?,
                want,
                "{l} {info}"
            );
        }
        let u = th
            .call(
                &admin,
                "getUser",
                json!(["alice", kw(json!({"krb_princs": false}))]),
            )
            .await?;
        assert_eq!(
            u,
            json!({"id": id, "name": "alice", "status": 0, "usertype": 0}),
            "{l}"
        );
        let u = th
            .call(
                &admin,
                "getUser",
                json!(["alice", kw(json!({"groups": true}))]),
            )
            .await?;
        assert_eq!(u["groups"], json!([]), "{l}");

        // a second principal does not make the name ambiguous
        th.call(
            &admin,
            "addUserKrbPrincipal",
            json!(["alice", "alice@OTHER.ORG"]),
        )
        .await?;
        let u = th.call(&admin, "getUser", json!(["alice"])).await?;
        assert_eq!(
            u["krb_principals"],
            json!(["alice@EXAMPLE.COM", "alice@OTHER.ORG"]),
            "{l}"
        );

        // a blocked user
        let bid = create_user(&th, &admin, "carol", json!({"status": 1})).await?;
        let u = th.call(&admin, "getUser", json!([bid])).await?;
        assert_eq!(u["status"], json!(1), "{l}");
        assert_eq!(u["krb_principals"], json!([]), "{l}");

        // the caller by default; nobody when anonymous
        let me = th.call(&admin, "getUser", json!([])).await?;
        assert_eq!(me["name"], json!("admin"), "{l}");
        let anon = Caller::anonymous("127.0.0.1");
        assert_eq!(
            fault(&th, &anon, "getUser", json!([])).await,
            (1000, "No user provided".into()),
            "{l}"
        );
        // unknown users
        assert_eq!(
            th.call(&anon, "getUser", json!(["nobody"])).await?,
            Json::Null,
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getUser", json!(["nobody", true])).await,
            (1000, "No such user: 'nobody'".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getUser", json!([9999, true])).await,
            (1000, "No such user: 9999".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getUser", json!([[1]])).await,
            (1000, "Invalid type for userInfo: <class 'list'>".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &anon, "getUser", json!([{"name": 5}])).await,
            (1000, "Invalid type for username: <class 'int'>".into()),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn create_user_refusals() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        create_user(
            &th,
            &admin,
            "alice",
            json!({"krb_principal": "alice@EXAMPLE.COM"}),
        )
        .await?;
        let cases = [
            (&bob, json!(["dave"]), 1004, ADMIN_ONLY.to_string()),
            (
                &admin,
                json!(["alice"]),
                1000,
                "user already exists: alice".into(),
            ),
            // a name that is someone's principal is taken too
            (
                &admin,
                json!(["alice@EXAMPLE.COM"]),
                1000,
                "user already exists: alice@EXAMPLE.COM".into(),
            ),
            (
                &admin,
                json!(["dave", kw(json!({"krb_principal": "alice@EXAMPLE.COM"}))]),
                1000,
                "user with this Kerberos principal already exists: alice@EXAMPLE.COM".into(),
            ),
            (
                &admin,
                json!(["bad name"]),
                1000,
                "Name bad name does not match RegexUserName value".into(),
            ),
            (
                &admin,
                json!(["dave", kw(json!({"krb_principal": "x y"}))]),
                1000,
                "Kerberos principal x y does not match RegexUserName value".into(),
            ),
            (&admin, json!([5]), 1000, "Name should be string".into()),
            (&admin, json!(["dave", 2]), 1000, "invalid status: 2".into()),
        ];
        for (who, args, code, msg) in cases {
            assert_eq!(
                fault(&th, who, "createUser", args.clone()).await,
                (code, msg),
                "{l} {args}"
            );
        }
        let anon = Caller::anonymous("127.0.0.1");
        assert_eq!(
            fault(&th, &anon, "createUser", json!(["dave"])).await,
            (
                1004,
                "admin permission required (user not logged in)".into()
            ),
            "{l}"
        );
        // nothing was created by the refused calls
        assert_eq!(
            th.call(&admin, "getUser", json!(["dave"])).await?,
            Json::Null,
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn list_users_filters_and_query_opts() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let alice = create_user(&th, &admin, "Alice", json!({"krb_principal": "a@X.ORG"})).await?;
        let bob = create_user(&th, &admin, "bob", json!({})).await?;
        let devs = int(&th.call(&admin, "newGroup", json!(["devs"])).await?)?;

        let all = th.call(&admin, "listUsers", json!([])).await?;
        assert_eq!(names(&all), ["admin", "Alice", "bob"], "{l}");
        assert_eq!(
            all[1],
            json!({"id": alice, "krb_principals": ["a@X.ORG"], "name": "Alice",
                   "status": 0, "usertype": 0}),
            "{l}"
        );
        let groups = th.call(&admin, "listUsers", json!([2])).await?;
        assert_eq!(
            groups,
            json!([{"id": devs, "krb_principals": [], "name": "devs", "status": 0, "usertype": 2}]),
            "{l}"
        );
        let any = th.call(&admin, "listUsers", json!([null])).await?;
        assert_eq!(names(&any), ["admin", "Alice", "bob", "devs"], "{l}");
        assert_eq!(
            fault(&th, &admin, "listUsers", json!([[0, 2]])).await,
            (1019, "userType must be integer or None".into()),
            "{l}"
        );

        // prefix: case-insensitive
        let p = th
            .call(&admin, "listUsers", json!([kw(json!({"prefix": "a"}))]))
            .await?;
        assert_eq!(names(&p), ["admin", "Alice"], "{l}");
        let p = th
            .call(&admin, "listUsers", json!([kw(json!({"prefix": "BO"}))]))
            .await?;
        assert_eq!(names(&p), ["bob"], "{l}");

        // queryOpts
        let q = |opts: Json| json!([kw(json!({"queryOpts": opts}))]);
        let r = th
            .call(&admin, "listUsers", q(json!({"order": "-name"})))
            .await?;
        assert_eq!(names(&r), ["bob", "admin", "Alice"], "{l}");
        let r = th
            .call(
                &admin,
                "listUsers",
                q(json!({"order": "-id", "offset": 1, "limit": 1})),
            )
            .await?;
        assert_eq!(names(&r), ["Alice"], "{l}");
        let r = th
            .call(&admin, "listUsers", q(json!({"countOnly": true})))
            .await?;
        assert_eq!(r, json!(3), "{l}");
        let r = th
            .call(
                &admin,
                "listUsers",
                q(json!({"asList": true, "order": "id", "offset": 2})),
            )
            .await?;
        assert_eq!(r, json!([[bob, [], "bob", 0, 0]]), "{l}");
        assert_eq!(
            fault(&th, &admin, "listUsers", q(json!({"group": "users.id"}))).await,
            (1000, "queryOpts.group is not available for this API".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &admin, "listUsers", q(json!({"order": "password"}))).await,
            (1, "<class 'Exception'>: Invalid order: password".into()),
            "{l}"
        );

        // by permission, directly or through a group
        th.call(&admin, "grantPermission", json!(["bob", "repo"]))
            .await?;
        th.call(&admin, "grantPermission", json!(["devs", "repo"]))
            .await?;
        th.call(&admin, "addGroupMember", json!(["devs", "Alice"]))
            .await?;
        let r = th
            .call(&admin, "listUsers", json!([kw(json!({"perm": "repo"}))]))
            .await?;
        assert_eq!(names(&r), ["bob"], "{l}");
        let r = th
            .call(
                &admin,
                "listUsers",
                json!([kw(json!({"perm": "repo", "inherited_perm": true}))]),
            )
            .await?;
        assert_eq!(names(&r), ["Alice", "bob"], "{l}");
        assert_eq!(r[0]["krb_principals"], json!(["a@X.ORG"]), "{l}");
        let r = th
            .call(
                &admin,
                "listUsers",
                json!([kw(json!({"perm": "repo", "userType": null}))]),
            )
            .await?;
        assert_eq!(names(&r), ["bob", "devs"], "{l}");
        let r = th
            .call(&admin, "listUsers", json!([kw(json!({"perm": "admin"}))]))
            .await?;
        assert_eq!(names(&r), ["admin"], "{l}");
        assert_eq!(
            fault(
                &th,
                &admin,
                "listUsers",
                json!([kw(json!({"inherited_perm": true}))])
            )
            .await,
            (
                1000,
                "inherited_perm option must be used with perm option".into()
            ),
            "{l}"
        );
        assert_eq!(
            fault(
                &th,
                &admin,
                "listUsers",
                json!([kw(json!({"perm": "nope"}))])
            )
            .await,
            (1000, "No such entry in table permissions: nope".into()),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn edit_user_renames_and_maps_principals() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob_session = th.user("bob", "pw", &[]).await?;
        let bob = bob_session.user_id()?;
        let id = create_user(
            &th,
            &admin,
            "alice",
            json!({"krb_principal": "alice@OLD.ORG"}),
        )
        .await?;
        let edit = |args: Json| th.call(&admin, "editUser", args);

        assert_eq!(edit(json!(["alice", "alicia"])).await?, Json::Null, "{l}");
        let u = th.call(&admin, "getUser", json!([id])).await?;
        assert_eq!(u["name"], json!("alicia"), "{l}");
        // same name: nothing to do
        edit(json!(["alicia", "alicia"])).await?;

        // replace, add, remove principals
        edit(
            json!(["alicia", null, [{"old": "alice@OLD.ORG", "new": "alice@NEW.ORG"},
                                     {"old": null, "new": "a2@NEW.ORG"}]]),
        )
        .await?;
        let u = th.call(&admin, "getUser", json!([id])).await?;
        assert_eq!(
            u["krb_principals"],
            json!(["a2@NEW.ORG", "alice@NEW.ORG"]),
            "{l}"
        );
        edit(json!([
            id,
            kw(json!({"krb_principal_mappings": [{"old": "a2@NEW.ORG", "new": null}]}))
        ]))
        .await?;
        let u = th.call(&admin, "getUser", json!(["alice@NEW.ORG"])).await?;
        assert_eq!(u["id"], json!(id), "{l}");
        assert_eq!(u["krb_principals"], json!(["alice@NEW.ORG"]), "{l}");

        let cases = [
            (
                json!(["alicia", "bob"]),
                format!("Name bob already taken by user {bob}"),
            ),
            (
                json!(["alicia", "bad name"]),
                "Name bad name does not match RegexUserName value".into(),
            ),
            (json!(["ghost", "x"]), "No such user: 'ghost'".into()),
            (
                json!(["alicia", null, [{"old": "p@X", "new": "p@X"}]]),
                "There are some conflicts between added and removed Kerberos principals: p@X"
                    .into(),
            ),
            (
                json!(["alicia", null, [{"new": "alice@NEW.ORG"}]]),
                "Cannot add existing Kerberos principals: alice@NEW.ORG".into(),
            ),
            (
                json!(["alicia", null, [{"old": "zz@X"}, {"old": "aa@X"}]]),
                "Cannot remove non-existent Kerberos principals: aa@X, zz@X".into(),
            ),
            (
                json!(["alicia", null, [{"new": "a b"}]]),
                "Kerberos principal a b does not match RegexUserName value".into(),
            ),
            // the rename is undone with the failed principal change
            (
                json!(["alicia", "alice3", [{"old": "nope@X"}]]),
                "Cannot remove non-existent Kerberos principals: nope@X".into(),
            ),
        ];
        for (args, msg) in cases {
            assert_eq!(
                fault(&th, &admin, "editUser", args.clone()).await,
                (1000, msg),
                "{l} {args}"
            );
        }
        let u = th.call(&admin, "getUser", json!([id])).await?;
        assert_eq!(u["name"], json!("alicia"), "{l}");
        assert_eq!(
            fault(&th, &bob_session, "editUser", json!(["alicia", "x"])).await,
            (1004, ADMIN_ONLY.into()),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn disable_and_enable_user() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        th.call(&admin, "disableUser", json!(["bob"])).await?;
        let u = th.call(&admin, "getUser", json!(["bob"])).await?;
        assert_eq!(u["status"], json!(1), "{l}");
        match th.login("bob", "pw").await {
            Err(e) => assert_eq!(
                (e.fault_code(), e.to_string()),
                (1002, "logins by bob are not allowed".into()),
                "{l}"
            ),
            Ok(_) => panic!("{l}: a disabled user logged in"),
        }
        // twice is fine
        th.call(&admin, "disableUser", json!(["bob"])).await?;
        th.call(&admin, "enableUser", json!(["bob"])).await?;
        let u = th.call(&admin, "getUser", json!(["bob"])).await?;
        assert_eq!(u["status"], json!(0), "{l}");
        th.login("bob", "pw").await?;

        assert_eq!(
            fault(&th, &admin, "enableUser", json!(["ghost"])).await,
            (1000, "No such user: ghost".into()),
            "{l}"
        );
        // the user is looked up before the permission is checked
        assert_eq!(
            fault(&th, &bob, "disableUser", json!(["ghost"])).await,
            (1000, "No such user: ghost".into()),
            "{l}"
        );
        assert_eq!(
            fault(&th, &bob, "disableUser", json!(["admin"])).await,
            (1004, ADMIN_ONLY.into()),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn grant_revoke_and_edit_permissions() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let alice = create_user(&th, &admin, "alice", json!({})).await?;

        let all = th.call(&admin, "getAllPerms", json!([])).await?;
        assert_eq!(
            all[0],
            json!({"id": 1, "name": "admin",
                   "description": "Full administrator access. Perform all actions."}),
            "{l}"
        );
        let n_perms = all.as_array().map(Vec::len).unwrap_or_default();

        assert_eq!(
            th.call(&admin, "grantPermission", json!(["alice", "tag"]))
                .await?,
            Json::Null,
            "{l}"
        );
        th.call(&admin, "grantPermission", json!([alice, "repo"]))
            .await?;
        let perms = th.call(&admin, "getUserPerms", json!([alice])).await?;
        assert_eq!(perms, json!(["repo", "tag"]), "{l}");
        let alice_session = {
            th.hub.auth().set_password("alice", "pw").await?;
            th.login("alice", "pw").await?
        };
        assert_eq!(
            th.call(&alice_session, "getPerms", json!([])).await?,
            json!(["repo", "tag"]),
            "{l}"
        );
        assert_eq!(
            th.call(&alice_session, "getUserPerms", json!([])).await?,
            json!(["repo", "tag"]),
            "{l}"
        );
        assert_eq!(
            th.call(&alice_session, "hasPerm", json!(["tag"])).await?,
            json!(true),
            "{l}"
        );
        assert_eq!(
            th.call(&alice_session, "hasPerm", json!(["admin"])).await?,
            json!(false),
            "{l}"
        );
        assert_eq!(
            fault(&th, &alice_session, "hasPerm", json!(["nope", true])).await,
            (1000, "No such permission nope defined".into()),
            "{l}"
        );

        // a new permission, with its description
        th.call(
            &admin,
            "grantPermission",
            json!([
                "alice",
                "new-perm",
                kw(json!({"create": true, "description": "A new one."}))
            ]),
        )
        .await?;
        let all = th.call(&admin, "getAllPerms", json!([])).await?;
        let all = all.as_array().cloned().unwrap_or_default();
        assert_eq!(all.len(), n_perms + 1, "{l}");
        let last = &all[all.len() - 1];
        assert_eq!(last["name"], json!("new-perm"), "{l}");
        assert_eq!(last["description"], json!("A new one."), "{l}");
        th.call(&admin, "editPermission", json!(["new-perm", "Changed."]))
            .await?;
        let all = th.call(&admin, "getAllPerms", json!([])).await?;
        assert_eq!(all[n_perms]["description"], json!("Changed."), "{l}");

        let cases = [
            (
                &admin,
                "grantPermission",
                json!(["alice", "tag"]),
                1000,
                "user alice already has permission: tag".to_string(),
            ),
            (
                &admin,
                "grantPermission",
                json!([alice, "tag"]),
                1000,
                format!("user {alice} already has permission: tag"),
            ),
            (
                &admin,
                "grantPermission",
                json!(["alice", "nope"]),
                1000,
                "No such entry in table permissions: nope".into(),
            ),
            (
                &admin,
                "grantPermission",
                json!(["ghost", "tag"]),
                1000,
                "No such user: 'ghost'".into(),
            ),
            (
                &admin,
                "grantPermission",
                json!(["alice", "x", kw(json!({"description": "d"}))]),
                1000,
                "Description should be specified only with create.".into(),
            ),
            (
                &admin,
                "grantPermission",
                json!(["alice", "x", true, 5]),
                1019,
                "Invalid type for value '5': <class 'int'>, expected type <class 'str'>".into(),
            ),
            (
                &admin,
                "grantPermission",
                json!(["alice", "bad perm", true]),
                1000,
                "Name bad perm does not match RegexNameInternal value".into(),
            ),
            (
                &bob,
                "grantPermission",
                json!(["alice", "tag"]),
                1004,
                ADMIN_ONLY.into(),
            ),
            (
                &admin,
                "revokePermission",
                json!(["alice", "admin"]),
                1000,
                "user alice does not have permission: admin".into(),
            ),
            (
                &admin,
                "revokePermission",
                json!(["alice", "nope"]),
                1000,
                "No such entry in table permissions: nope".into(),
            ),
            (
                &bob,
                "revokePermission",
                json!(["alice", "tag"]),
                1004,
                ADMIN_ONLY.into(),
            ),
            (
                &admin,
                "editPermission",
                json!(["nope", "x"]),
                1000,
                "No such entry in table permissions: nope".into(),
            ),
            (
                &admin,
                "editPermission",
                json!(["tag", null]),
                1019,
                "Invalid type, expected type <class 'str'>".into(),
            ),
            (
                &bob,
                "editPermission",
                json!(["tag", "x"]),
                1004,
                ADMIN_ONLY.into(),
            ),
        ];
        for (who, method, args, code, msg) in cases {
            assert_eq!(
                fault(&th, who, method, args.clone()).await,
                (code, msg),
                "{l} {method} {args}"
            );
        }

        // revoking keeps the grant's history
        th.call(&admin, "revokePermission", json!(["alice", "tag"]))
            .await?;
        assert_eq!(
            th.call(&admin, "getUserPerms", json!(["alice"])).await?,
            json!(["new-perm", "repo"]),
            "{l}"
        );
        let rows = fetch_all(
            th.hub.db().conn(),
            "SELECT create_event, revoke_event, creator_id, revoker_id, active FROM user_perms \
             JOIN permissions ON permissions.id = user_perms.perm_id \
             WHERE user_id = ? AND permissions.name = 'tag' ORDER BY create_event",
            params![alice],
        )
        .await?;
        assert_eq!(rows.len(), 1, "{l}");
        let admin_id = admin.user_id()?;
        let (created, revoked) = (
            rows[0].int("create_event")?,
            rows[0].opt_int("revoke_event")?,
        );
        assert!(revoked.is_some_and(|r| r > created), "{l}");
        assert_eq!(rows[0].int("creator_id")?, admin_id, "{l}");
        assert_eq!(rows[0].opt_int("revoker_id")?, Some(admin_id), "{l}");
        assert_eq!(rows[0].opt_bool("active")?, None, "{l}");
        // and it can be granted again
        th.call(&admin, "grantPermission", json!(["alice", "tag"]))
            .await?;
        assert_eq!(
            th.call(&admin, "getUserPerms", json!(["alice"])).await?,
            json!(["new-perm", "repo", "tag"]),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn groups_members_and_inherited_permissions() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let alice = create_user(
            &th,
            &admin,
            "alice",
            json!({"krb_principal": "alice@X.ORG"}),
        )
        .await?;
        let devs = int(&th.call(&admin, "newGroup", json!(["devs"])).await?)?;
        let g = th.call(&admin, "getUser", json!(["devs"])).await?;
        assert_eq!(
            g,
            json!({"id": devs, "name": "devs", "status": 0, "usertype": 2, "krb_principals": []}),
            "{l}"
        );

        assert_eq!(
            th.call(&admin, "addGroupMember", json!(["devs", "alice"]))
                .await?,
            Json::Null,
            "{l}"
        );
        th.call(&admin, "addGroupMember", json!([devs, "bob"]))
            .await?;
        // not strict: already a member is fine
        th.call(&admin, "addGroupMember", json!(["devs", "alice", false]))
            .await?;

        let members = th.call(&bob, "getGroupMembers", json!(["devs"])).await?;
        assert_eq!(
            members,
            json!([
                {"id": bob.user_id()?, "krb_principals": [], "name": "bob", "usertype": 0},
                {"id": alice, "krb_principals": ["alice@X.ORG"], "name": "alice", "usertype": 0},
            ]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "getUserGroups", json!(["alice"])).await?,
            json!([{"id": devs, "name": "devs"}]),
            "{l}"
        );
        let u = th
            .call(
                &bob,
                "getUser",
                json!(["alice", kw(json!({"groups": true}))]),
            )
            .await?;
        assert_eq!(u["groups"], json!(["devs"]), "{l}");

        // permissions through the group
        th.call(&admin, "grantPermission", json!(["devs", "repo"]))
            .await?;
        th.call(&admin, "grantPermission", json!(["alice", "repo"]))
            .await?;
        th.call(&admin, "grantPermission", json!(["devs", "tag"]))
            .await?;
        assert_eq!(
            th.call(&bob, "getUserPerms", json!(["alice"])).await?,
            json!(["repo", "tag"]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "getUserPerms", json!(["alice", false]))
                .await?,
            json!(["repo"]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "getUserPermsInheritance", json!(["alice"]))
                .await?,
            json!({"repo": [null, "devs"], "tag": ["devs"]}),
            "{l}"
        );
        let bob2 = th.login("bob", "pw").await?;
        assert_eq!(
            th.call(&bob2, "getPerms", json!([])).await?,
            json!(["repo", "tag"]),
            "{l}"
        );
        assert_eq!(
            th.call(&bob2, "hasPerm", json!(["repo"])).await?,
            json!(true),
            "{l}"
        );

        let cases = [
            (
                &admin,
                "newGroup",
                json!(["devs"]),
                1000,
                "user/group already exists: devs".to_string(),
            ),
            (
                &admin,
                "newGroup",
                json!(["alice@X.ORG"]),
                1000,
                "Name alice@X.ORG does not match RegexNameInternal value".into(),
            ),
            (
                &admin,
                "newGroup",
                json!(["alice"]),
                1000,
                "user/group already exists: alice".into(),
            ),
            (&bob, "newGroup", json!(["qa"]), 1004, ADMIN_ONLY.into()),
            (
                &admin,
                "addGroupMember",
                json!(["devs", "alice"]),
                1000,
                "User already in group".into(),
            ),
            (
                &admin,
                "addGroupMember",
                json!(["alice", "bob"]),
                1000,
                "Not a group: alice".into(),
            ),
            (
                &admin,
                "addGroupMember",
                json!(["nope", "bob"]),
                1000,
                "Not a group: nope".into(),
            ),
            (
                &admin,
                "addGroupMember",
                json!(["devs", "ghost"]),
                1000,
                "Not a user: ghost".into(),
            ),
            (
                &admin,
                "addGroupMember",
                json!(["devs", "devs"]),
                1000,
                "Groups cannot be members of other groups".into(),
            ),
            (
                &bob,
                "addGroupMember",
                json!(["devs", "admin"]),
                1004,
                ADMIN_ONLY.into(),
            ),
            (
                &admin,
                "getGroupMembers",
                json!(["alice"]),
                1000,
                "No such group: alice".into(),
            ),
            (
                &admin,
                "getUserGroups",
                json!(["ghost"]),
                1000,
                "No such user: 'ghost'".into(),
            ),
            (
                &admin,
                "dropGroupMember",
                json!(["devs", "ghost"]),
                1000,
                "No such user: 'ghost'".into(),
            ),
            (
                &admin,
                "dropGroupMember",
                json!(["alice", "bob"]),
                1000,
                "Not a group: alice".into(),
            ),
            (
                &admin,
                "dropGroupMember",
                json!(["devs", "admin"]),
                1000,
                "No such user in group: devs".into(),
            ),
            (
                &bob,
                "dropGroupMember",
                json!(["devs", "alice"]),
                1004,
                ADMIN_ONLY.into(),
            ),
        ];
        for (who, method, args, code, msg) in cases {
            assert_eq!(
                fault(&th, who, method, args.clone()).await,
                (code, msg),
                "{l} {method} {args}"
            );
        }

        // leaving the group takes its permissions away
        th.call(&admin, "dropGroupMember", json!(["devs", "alice"]))
            .await?;
        assert_eq!(
            th.call(&bob, "getUserPermsInheritance", json!([alice]))
                .await?,
            json!({"repo": [null]}),
            "{l}"
        );
        assert_eq!(
            names(&th.call(&bob, "getGroupMembers", json!([devs])).await?),
            ["bob"],
            "{l}"
        );
        assert_eq!(
            th.call(&bob, "getUserGroups", json!([alice])).await?,
            json!([]),
            "{l}"
        );
        // the membership is revoked, not deleted, and can be renewed
        let rows = fetch_all(
            th.hub.db().conn(),
            "SELECT revoke_event FROM user_groups WHERE user_id = ? AND group_id = ?",
            params![alice, devs],
        )
        .await?;
        assert_eq!(rows.len(), 1, "{l}");
        assert!(rows[0].opt_int("revoke_event")?.is_some(), "{l}");
        th.call(&admin, "addGroupMember", json!(["devs", "alice"]))
            .await?;
        assert_eq!(
            th.call(&bob, "getUserGroups", json!([alice])).await?,
            json!([{"id": devs, "name": "devs"}]),
            "{l}"
        );
    }
    Ok(())
}

#[tokio::test]
async fn kerberos_principals_are_added_and_removed() -> Result<()> {
    for th in TestHub::each().await? {
        let l = th.label();
        let admin = th.admin().await?;
        let bob = th.user("bob", "pw", &[]).await?;
        let alice = create_user(&th, &admin, "alice", json!({})).await?;
        assert_eq!(
            th.call(
                &admin,
                "addUserKrbPrincipal",
                json!(["alice", "alice@A.ORG"])
            )
            .await?,
            json!(alice),
            "{l}"
        );
        th.call(&admin, "addUserKrbPrincipal", json!([alice, "alice@B.ORG"]))
            .await?;
        let u = th.call(&admin, "getUser", json!(["alice@B.ORG"])).await?;
        assert_eq!(
            u["krb_principals"],
            json!(["alice@A.ORG", "alice@B.ORG"]),
            "{l}"
        );
        assert_eq!(
            th.call(
                &admin,
                "removeUserKrbPrincipal",
                json!(["alice", "alice@A.ORG"])
            )
            .await?,
            json!(alice),
            "{l}"
        );
        let u = th.call(&admin, "getUser", json!([alice])).await?;
        assert_eq!(u["krb_principals"], json!(["alice@B.ORG"]), "{l}");
        assert_eq!(
            th.call(&admin, "getUser", json!(["alice@A.ORG"])).await?,
            Json::Null,
            "{l}"
        );

        let cases = [
            (
                &admin,
                "addUserKrbPrincipal",
                json!(["bob", "alice@B.ORG"]),
                1000,
                "user with this Kerberos principal already exists: alice@B.ORG".to_string(),
            ),
            (
                &admin,
                "addUserKrbPrincipal",
                json!(["alice", "a b"]),
                1000,
                "Kerberos principal a b does not match RegexUserName value".into(),
            ),
            (
                &admin,
                "addUserKrbPrincipal",
                json!(["alice", null]),
                1000,
                "No kerberos principal provided".into(),
            ),
            (
                &admin,
                "addUserKrbPrincipal",
                json!(["ghost", "g@X"]),
                1000,
                "No such user: 'ghost'".into(),
            ),
            (
                &bob,
                "addUserKrbPrincipal",
                json!(["bob", "b@X"]),
                1004,
                ADMIN_ONLY.into(),
            ),
            (
                &admin,
                "removeUserKrbPrincipal",
                json!(["alice", "alice@A.ORG"]),
                1002,
                "cannot remove Kerberos Principal: alice@A.ORG with user alice".into(),
            ),
            (
                &admin,
                "removeUserKrbPrincipal",
                json!(["bob", "alice@B.ORG"]),
                1002,
                "cannot remove Kerberos Principal: alice@B.ORG with user bob".into(),
            ),
            (
                &admin,
                "removeUserKrbPrincipal",
                json!(["alice", ""]),
                1000,
                "krb_principal must be specified".into(),
            ),
            (
                &bob,
                "removeUserKrbPrincipal",
                json!(["alice", "alice@B.ORG"]),
                1004,
                ADMIN_ONLY.into(),
            ),
        ];
        for (who, method, args, code, msg) in cases {
            assert_eq!(
                fault(&th, who, method, args.clone()).await,
                (code, msg),
                "{l} {method} {args}"
            );
        }
    }
    Ok(())
}

#[tokio::test]
async fn methods_are_registered_with_upstreams_signatures() -> Result<()> {
    let th = TestHub::new(koji_core::db::Backend::Sqlite).await?;
    let anon = Caller::anonymous("127.0.0.1");
    let help = |m: &str| th.call(&anon, "system.methodHelp", json!([m]));
    for (m, args) in [
        ("createUser", "(username, status=None, krb_principal=None)"),
        (
            "listUsers",
            "(userType=0, prefix=None, queryOpts=None, perm=None, inherited_perm=False)",
        ),
        (
            "editUser",
            "(userInfo, name=None, krb_principal_mappings=None)",
        ),
        (
            "grantPermission",
            "(userinfo, permission, create=False, description=None)",
        ),
        ("getUserPerms", "(userID=None, with_groups=True)"),
        ("addGroupMember", "(group, user, strict=True)"),
        ("removeUserKrbPrincipal", "(user, krb_principal)"),
    ] {
        let h = help(m).await?;
        let h = h.as_str().unwrap_or_default();
        assert!(h.starts_with(&format!("{m}{args}")), "{h}");
    }
    Ok(())
}
