use super::method;
use crate::api::{ok, Registry};
use crate::error::Error;
use crate::hub::query_opts::QueryOpts;
use crate::hub::tags::{event_arg, ListTags, NewTag, TagEvent};
use serde_json::Value as Json;

/// `getTag`'s event: an event id, None, or `"auto"`.
fn tag_event(v: &Json) -> crate::Result<TagEvent> {
    match v {
        Json::String(s) if s == "auto" => Ok(TagEvent::Auto),
        other => Ok(TagEvent::At(event_arg(other)?)),
    }
}

pub(super) fn register(r: &mut Registry) {
    method!(r, "createTag(name, parent=None, arches=None, perm=None, locked=False, maven_support=False, maven_include_all=False, extra=None)", "Make a new tag, optionally inheriting from a parent; answers its id.", |cx, a| {
        let t = NewTag {
            name: a.raw("name").clone(),
            parent: a.raw("parent").clone(),
            arches: a.raw("arches").clone(),
            perm: a.raw("perm").clone(),
            locked: a.flag("locked"),
            maven_support: a.flag("maven_support"),
            maven_include_all: a.flag("maven_include_all"),
            extra: a.raw("extra").clone(),
        };
        ok(cx.hub.tags().create(&cx.caller, &t).await?)
    });
    method!(
        r,
        "editTag2(tagInfo, **kwargs)",
        "Change a tag's name, arches, lock, permission or extra settings.",
        |cx, a| {
            cx.hub
                .tags()
                .edit(&cx.caller, a.raw("tagInfo"), &a.kwargs)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "editTag(tagInfo, name, arches, locked, permissionID, extra=None)",
        "Older positional form of editTag2.",
        |cx, a| {
            cx.hub
                .tags()
                .edit_legacy(
                    &cx.caller,
                    a.raw("tagInfo"),
                    a.raw("name").clone(),
                    a.raw("arches").clone(),
                    a.raw("locked").clone(),
                    a.raw("permissionID").clone(),
                    a.raw("extra").clone(),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "deleteTag(tagInfo)",
        "Delete a tag: its configuration and everything attached to it is revoked.",
        |cx, a| {
            cx.hub.tags().delete(&cx.caller, a.raw("tagInfo")).await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "getTag(tagInfo, strict=False, event=None, blocked=False)",
        "A tag's configuration and own extra settings, by id or name, optionally as of an event.",
        |cx, a| {
            let event = tag_event(a.raw("event"))?;
            ok(cx
                .hub
                .tags()
                .get(a.raw("tagInfo"), a.flag("strict"), event, a.flag("blocked"))
                .await?)
        }
    );
    method!(
        r,
        "getTagID(info, strict=False, create=False)",
        "The id of a tag name (deleted tags included).",
        |cx, a| {
            ok(cx
                .hub
                .tags()
                .get_id(a.raw("info"), a.flag("strict"), a.flag("create"))
                .await?)
        }
    );
    method!(r, "listTags(build=None, package=None, perms=True, queryOpts=None, pattern=None)", "The current tags, optionally only those holding a build or listing a package, or matching a glob.", |cx, a| {
        let pattern = match a.raw("pattern") {
            Json::Null => None,
            Json::String(s) => Some(s.clone()),
            other => {
                return Err(Error::Parameter(format!(
                    "Invalid type for pattern: {}",
                    crate::util::py_repr(other)
                )))
            }
        };
        let query_opts = QueryOpts::parse(a.raw("queryOpts"))?;
        let opts = ListTags {
            build: a.raw("build").clone(),
            package: a.raw("package").clone(),
            perms: a.flag("perms"),
            pattern,
        };
        ok(cx.hub.tags().list(&opts, &query_opts).await?)
    });
    method!(
        r,
        "getInheritanceData(tag, event=None)",
        "A tag's direct parents with their link settings.",
        |cx, a| {
            let event = event_arg(a.raw("event"))?;
            ok(cx.hub.tags().inheritance_data(a.raw("tag"), event).await?)
        }
    );
    method!(
        r,
        "setInheritanceData(tag, data, clear=False)",
        "Add, change or delete links to a tag's parents.",
        |cx, a| {
            cx.hub
                .tags()
                .set_inheritance_data(&cx.caller, a.raw("tag"), a.raw("data"), a.flag("clear"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "getFullInheritance(tag, event=None, reverse=False, **kwargs)",
        "Every ancestor of a tag (or descendant with reverse) in inheritance order.",
        |cx, a| {
            for (k, v) in &a.kwargs {
                if k == "stops" || k == "jumps" {
                    if crate::api::truthy(v) {
                        return Err(Error::Parameter(format!(
                            "{k} option has been removed since 1.26"
                        )));
                    }
                } else {
                    return Err(Error::Parameter(format!(
                        "getFullInheritance() got an unexpected keyword argument '{k}'"
                    )));
                }
            }
            let event = event_arg(a.raw("event"))?;
            ok(cx
                .hub
                .tags()
                .full_inheritance_of(a.raw("tag"), event, a.flag("reverse"))
                .await?)
        }
    );
    method!(
        r,
        "getBuildConfig(tag, event=None)",
        "A tag's configuration with arches and extra settings inherited from its parents.",
        |cx, a| {
            let event = event_arg(a.raw("event"))?;
            ok(cx.hub.tags().build_config(a.raw("tag"), event).await?)
        }
    );
}
