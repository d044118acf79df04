use super::method;
use crate::api::{ok, Registry};
use crate::hub::tags::event_arg;
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "createBuildTarget(name, build_tag, dest_tag)",
        "Make a target that builds in one tag and lands its builds in another.",
        |cx, a| {
            cx.hub
                .targets()
                .create(
                    &cx.caller,
                    a.raw("name"),
                    a.raw("build_tag"),
                    a.raw("dest_tag"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "editBuildTarget(buildTargetInfo, name, build_tag, dest_tag)",
        "Rename a target and point it at other build and destination tags.",
        |cx, a| {
            cx.hub
                .targets()
                .edit(
                    &cx.caller,
                    a.raw("buildTargetInfo"),
                    a.raw("name"),
                    a.raw("build_tag"),
                    a.raw("dest_tag"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "deleteBuildTarget(buildTargetInfo)",
        "Remove a target (its history is kept).",
        |cx, a| {
            cx.hub
                .targets()
                .delete(&cx.caller, a.raw("buildTargetInfo"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "getBuildTarget(info, event=None, strict=False)",
        "One target by id or name, optionally as of an event.",
        |cx, a| {
            let event = event_arg(a.raw("event"))?;
            ok(cx
                .hub
                .targets()
                .get(a.raw("info"), event, a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "getBuildTargets(info=None, event=None, buildTagID=None, destTagID=None, queryOpts=None)",
        "Targets, filtered by name or id, build tag and destination tag, optionally as of an event.",
        |cx, a| {
            let event = event_arg(a.raw("event"))?;
            cx.hub
                .targets()
                .list(
                    a.raw("info"),
                    event,
                    a.raw("buildTagID"),
                    a.raw("destTagID"),
                    a.raw("queryOpts"),
                )
                .await
        }
    );
}
