use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "getUser(userInfo=None, strict=False, krb_princs=True, groups=False)",
        "Return information about a user.",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .get(
                    &cx.caller,
                    a.raw("userInfo"),
                    a.flag("strict"),
                    a.flag("krb_princs"),
                    a.flag("groups"),
                )
                .await?)
        }
    );
    method!(
        r,
        "createUser(username, status=None, krb_principal=None)",
        "Create a user (admin only) and return its id.",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .create(
                    &cx.caller,
                    a.raw("username"),
                    a.raw("status"),
                    a.raw("krb_principal"),
                )
                .await?)
        }
    );
    method!(
        r,
        "listUsers(userType=0, prefix=None, queryOpts=None, perm=None, inherited_perm=False)",
        "List users of a type, optionally by name prefix and by permission.",
        |cx, a| {
            cx.hub
                .users()
                .list(
                    a.raw("userType"),
                    a.raw("prefix"),
                    a.raw("queryOpts"),
                    a.raw("perm"),
                    a.flag("inherited_perm"),
                )
                .await
        }
    );
    method!(
        r,
        "editUser(userInfo, name=None, krb_principal_mappings=None)",
        "Rename a user or change its Kerberos principals (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .edit(
                    &cx.caller,
                    a.raw("userInfo"),
                    a.raw("name"),
                    a.raw("krb_principal_mappings"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "enableUser(username)",
        "Allow a user to log in again (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .set_enabled(&cx.caller, a.raw("username"), true)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "disableUser(username)",
        "Refuse a user's logins (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .set_enabled(&cx.caller, a.raw("username"), false)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "addUserKrbPrincipal(user, krb_principal)",
        "Give a user another Kerberos principal (admin only).",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .add_krb_principal(&cx.caller, a.raw("user"), a.raw("krb_principal"))
                .await?)
        }
    );
    method!(
        r,
        "removeUserKrbPrincipal(user, krb_principal)",
        "Take a Kerberos principal away from a user (admin only).",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .remove_krb_principal(&cx.caller, a.raw("user"), a.raw("krb_principal"))
                .await?)
        }
    );
    method!(
        r,
        "grantPermission(userinfo, permission, create=False, description=None)",
        "Grant a permission to a user or group (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .grant_perm(
                    &cx.caller,
                    a.raw("userinfo"),
                    a.raw("permission"),
                    a.flag("create"),
                    a.raw("description"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "revokePermission(userinfo, permission)",
        "Revoke a user's or group's permission (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .revoke_perm(&cx.caller, a.raw("userinfo"), a.raw("permission"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "editPermission(permission, description)",
        "Change a permission's description (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .edit_perm(&cx.caller, a.raw("permission"), a.raw("description"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "getAllPerms()",
        "List every permission with its id and description.",
        |cx, a| { ok(cx.hub.users().all_perms().await?) }
    );
    method!(
        r,
        "getPerms()",
        "List the permissions of the logged-in user.",
        |cx, a| {
            ok(cx
                .caller
                .session
                .as_ref()
                .map(|s| s.perms.iter().cloned().collect::<Vec<_>>())
                .unwrap_or_default())
        }
    );
    method!(
        r,
        "getUserPerms(userID=None, with_groups=True)",
        "List the permissions of a user (default: the caller).",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .user_perms(&cx.caller, a.raw("userID"), a.flag("with_groups"))
                .await?)
        }
    );
    method!(
        r,
        "getUserPermsInheritance(userID)",
        "Map each permission of a user to where it comes from.",
        |cx, a| {
            cx.hub
                .users()
                .user_perms_inheritance(&cx.caller, a.raw("userID"))
                .await
        }
    );
    method!(
        r,
        "hasPerm(perm, strict=False)",
        "Check if the logged-in user has a permission",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .has_perm(&cx.caller, a.raw("perm"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "newGroup(name)",
        "Create a user group (admin only) and return its id.",
        |cx, a| { ok(cx.hub.users().new_group(&cx.caller, a.raw("name")).await?) }
    );
    method!(
        r,
        "addGroupMember(group, user, strict=True)",
        "Add a user to a group (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .add_group_member(&cx.caller, a.raw("group"), a.raw("user"), a.flag("strict"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "dropGroupMember(group, user)",
        "Remove a user from a group (admin only).",
        |cx, a| {
            cx.hub
                .users()
                .drop_group_member(&cx.caller, a.raw("group"), a.raw("user"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "getGroupMembers(group)",
        "List the members of a group.",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .group_members(&cx.caller, a.raw("group"))
                .await?)
        }
    );
    method!(
        r,
        "getUserGroups(user)",
        "List the groups a user belongs to.",
        |cx, a| {
            ok(cx
                .hub
                .users()
                .groups_of_user(&cx.caller, a.raw("user"))
                .await?)
        }
    );
}
