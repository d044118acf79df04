use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "getTagGroups(tag, event=None, inherit=True, incl_pkgs=True, incl_reqs=True, incl_blocked=False)",
        "A tag's comps groups (inherited), with their packages and required groups.",
        |cx, a| {
            ok(cx
                .hub
                .groups()
                .tag_groups(
                    a.raw("tag"),
                    a.opt_int("event")?,
                    a.flag("inherit"),
                    a.flag("incl_pkgs"),
                    a.flag("incl_reqs"),
                    a.flag("incl_blocked"),
                )
                .await?)
        }
    );
    method!(
        r,
        "groupListAdd(taginfo, grpinfo, block=False, force=False, **opts)",
        "Add a group to a tag (or change its settings there).",
        |cx, a| {
            cx.hub
                .groups()
                .list_add(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.flag("block"),
                    a.flag("force"),
                    &a.kwargs,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupListBlock(taginfo, grpinfo)",
        "Block a group in a tag.",
        |cx, a| {
            let none = serde_json::Map::new();
            cx.hub
                .groups()
                .list_add(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    true,
                    false,
                    &none,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupListRemove(taginfo, grpinfo, force=False)",
        "Drop a tag's own entry for a group.",
        |cx, a| {
            cx.hub
                .groups()
                .list_remove(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupListUnblock(taginfo, grpinfo)",
        "Remove a tag's own block of a group.",
        |cx, a| {
            cx.hub
                .groups()
                .list_unblock(&cx.caller, a.raw("taginfo"), a.raw("grpinfo"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupPackageListAdd(taginfo, grpinfo, pkg_name, block=False, force=False, **opts)",
        "Add a package to a tag's group.",
        |cx, a| {
            cx.hub
                .groups()
                .package_add(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("pkg_name"),
                    a.flag("block"),
                    a.flag("force"),
                    &a.kwargs,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupPackageListBlock(taginfo, grpinfo, pkg_name)",
        "Block a package in a tag's group.",
        |cx, a| {
            let none = serde_json::Map::new();
            cx.hub
                .groups()
                .package_add(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("pkg_name"),
                    true,
                    false,
                    &none,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupPackageListRemove(taginfo, grpinfo, pkg_name)",
        "Drop a tag's own entry for a package of a group.",
        |cx, a| {
            cx.hub
                .groups()
                .package_remove(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("pkg_name"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupPackageListUnblock(taginfo, grpinfo, pkg_name)",
        "Remove a tag's own block of a package in a group.",
        |cx, a| {
            cx.hub
                .groups()
                .package_unblock(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("pkg_name"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupReqListAdd(taginfo, grpinfo, reqinfo, block=False, force=False, **opts)",
        "Make a tag's group require another group.",
        |cx, a| {
            cx.hub
                .groups()
                .req_add(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("reqinfo"),
                    a.flag("block"),
                    a.flag("force"),
                    &a.kwargs,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupReqListBlock(taginfo, grpinfo, reqinfo)",
        "Block a group requirement in a tag's group.",
        |cx, a| {
            let none = serde_json::Map::new();
            cx.hub
                .groups()
                .req_add(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("reqinfo"),
                    true,
                    false,
                    &none,
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupReqListRemove(taginfo, grpinfo, reqinfo, force=None)",
        "Drop a tag's own entry for a group requirement.",
        |cx, a| {
            cx.hub
                .groups()
                .req_remove(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("reqinfo"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "groupReqListUnblock(taginfo, grpinfo, reqinfo)",
        "Remove a tag's own block of a group requirement.",
        |cx, a| {
            cx.hub
                .groups()
                .req_unblock(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("grpinfo"),
                    a.raw("reqinfo"),
                )
                .await?;
            ok(Json::Null)
        }
    );
}
