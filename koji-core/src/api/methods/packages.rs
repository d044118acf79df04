use super::method;
use crate::api::{ok, truthy, Registry};
use crate::hub::packages::{ListChange, ListPackages};
use serde_json::Value as Json;

/// A tri-state flag: None stays None, anything else is its truthiness.
fn opt_flag(v: &Json) -> Option<bool> {
    match v {
        Json::Null => None,
        other => Some(truthy(other)),
    }
}

pub(super) fn register(r: &mut Registry) {
    method!(r, "packageListAdd(taginfo, pkginfo, owner=None, block=None, extra_arches=None, force=False, update=False)", "Put a package on a tag's list, or change its owner, block or extra arches there.", |cx, a| {
        let ch = ListChange {
            owner: a.raw("owner").clone(),
            block: opt_flag(a.raw("block")),
            extra_arches: a.raw("extra_arches").clone(),
            force: a.flag("force"),
            update: a.flag("update"),
        };
        cx.hub
            .packages()
            .add(&cx.caller, a.raw("taginfo"), a.raw("pkginfo"), &ch)
            .await?;
        ok(Json::Null)
    });
    method!(
        r,
        "packageListRemove(taginfo, pkginfo, force=False)",
        "Drop a tag's own entry for a package.",
        |cx, a| {
            cx.hub
                .packages()
                .remove(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("pkginfo"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "packageListBlock(taginfo, pkginfo, force=False)",
        "Block a listed package in a tag (and the tags inheriting from it).",
        |cx, a| {
            cx.hub
                .packages()
                .block(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("pkginfo"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "packageListUnblock(taginfo, pkginfo, force=False)",
        "Lift a package's block in a tag.",
        |cx, a| {
            cx.hub
                .packages()
                .unblock(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("pkginfo"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "packageListSetOwner(taginfo, pkginfo, owner, force=False)",
        "Change who owns a package in a tag.",
        |cx, a| {
            cx.hub
                .packages()
                .set_owner(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("pkginfo"),
                    a.raw("owner"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "packageListSetArches(taginfo, pkginfo, arches, force=False)",
        "Change a package's extra arches in a tag.",
        |cx, a| {
            cx.hub
                .packages()
                .set_arches(
                    &cx.caller,
                    a.raw("taginfo"),
                    a.raw("pkginfo"),
                    a.raw("arches"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(r, "listPackages(tagID=None, userID=None, pkgID=None, prefix=None, inherited=False, with_dups=False, event=None, queryOpts=None, with_owners=True, with_blocked=True)", "Package-list entries by tag, owner or package (every package when none is given).", |cx, a| {
        let opts = ListPackages {
            tag: a.raw("tagID").clone(),
            user: a.raw("userID").clone(),
            pkg: a.raw("pkgID").clone(),
            prefix: a.get("prefix")?,
            inherited: a.flag("inherited"),
            with_dups: a.flag("with_dups"),
            event: a.raw("event").clone(),
            query_opts: a.raw("queryOpts").clone(),
            with_owners: a.flag("with_owners"),
            with_blocked: a.flag("with_blocked"),
        };
        ok(cx.hub.packages().list(&cx.caller, &opts).await?)
    });
    method!(
        r,
        "listPackagesSimple(prefix=None, queryOpts=None)",
        "Every package's id and name, optionally only names starting with a prefix.",
        |cx, a| {
            let prefix: Option<String> = a.get("prefix")?;
            ok(cx
                .hub
                .packages()
                .list_simple(prefix.as_deref(), a.raw("queryOpts"))
                .await?)
        }
    );
    method!(
        r,
        "getPackage(info, strict=False, create=False)",
        "A package's id and name, by id or name; create makes a missing name.",
        |cx, a| {
            ok(cx
                .hub
                .packages()
                .get(a.raw("info"), a.flag("strict"), a.flag("create"))
                .await?)
        }
    );
    method!(
        r,
        "getPackageID(name, strict=False)",
        "The id of a package name.",
        |cx, a| {
            ok(cx
                .hub
                .packages()
                .get_id(a.raw("name"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "checkTagPackage(tag, pkg)",
        "Whether a package is listed, unblocked, in a tag (inheritance included).",
        |cx, a| {
            ok(cx
                .hub
                .packages()
                .check_tag_package(a.raw("tag"), a.raw("pkg"))
                .await?)
        }
    );
    method!(
        r,
        "getPackageConfig(tag, pkg, event=None)",
        "A package's effective list entry in a tag (inheritance included).",
        |cx, a| {
            ok(cx
                .hub
                .packages()
                .config(a.raw("tag"), a.raw("pkg"), a.raw("event"))
                .await?)
        }
    );
}
