use super::method;
use crate::api::{ok, Registry};
use crate::hub::builds::ListBuilds;
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    register_lifecycle(r);
    register_volumes(r);
    method!(
        r,
        "getBuild(buildInfo, strict=False)",
        "A build by id, N-V-R string or {name, version, release} map.",
        |cx, a| {
            let b = cx
                .hub
                .builds()
                .get(a.raw("buildInfo"), a.flag("strict"))
                .await?;
            ok(b.map_or(Json::Null, |b| b.to_json()))
        }
    );
    method!(
        r,
        "findBuildID(X, strict=False)",
        "The id of a build given by id, N-V-R or map.",
        |cx, a| {
            let id = cx
                .hub
                .builds()
                .find_id(a.raw("X"), a.flag("strict"))
                .await?;
            ok(id.map_or(Json::Null, Json::from))
        }
    );
    method!(
        r,
        "createEmptyBuild(name, version, release, epoch, owner=None, draft=False)",
        "Create a build with no content (admin).",
        |cx, a| {
            let id = cx
                .hub
                .builds()
                .create_empty(
                    &cx.caller,
                    a.raw("name"),
                    a.raw("version"),
                    a.raw("release"),
                    a.raw("epoch"),
                    a.raw("owner"),
                    a.flag("draft"),
                )
                .await?;
            ok(Json::from(id))
        }
    );
}

pub(super) fn register_lifecycle(r: &mut Registry) {
    method!(r, "listBuilds(packageID=None, userID=None, taskID=None, prefix=None, state=None, volumeID=None, source=None, createdBefore=None, createdAfter=None, completeBefore=None, completeAfter=None, type=None, typeInfo=None, queryOpts=None, pattern=None, cgID=None, draft=None)", "Builds matching every given filter.", |cx, a| {
        let o = ListBuilds {
            package: a.raw("packageID").clone(),
            user: a.raw("userID").clone(),
            task: a.raw("taskID").clone(),
            prefix: a.raw("prefix").clone(),
            state: a.raw("state").clone(),
            volume: a.raw("volumeID").clone(),
            source: a.raw("source").clone(),
            created_before: a.raw("createdBefore").clone(),
            created_after: a.raw("createdAfter").clone(),
            complete_before: a.raw("completeBefore").clone(),
            complete_after: a.raw("completeAfter").clone(),
            btype: a.raw("type").clone(),
            type_info: a.raw("typeInfo").clone(),
            query_opts: a.raw("queryOpts").clone(),
            pattern: a.raw("pattern").clone(),
            cg: a.raw("cgID").clone(),
            draft: a.raw("draft").clone(),
        };
        cx.hub.builds().list(&cx.caller, &o).await
    });
    method!(
        r,
        "getNextRelease(build_info, incr=1)",
        "The next release for a package name and version.",
        |cx, a| {
            ok(cx
                .hub
                .builds()
                .next_release(a.raw("build_info"), a.raw("incr"))
                .await?)
        }
    );
    method!(
        r,
        "cancelBuild(buildID, strict=False)",
        "Cancel a building build (its owner or an admin).",
        |cx, a| {
            ok(cx
                .hub
                .builds()
                .cancel(&cx.caller, a.raw("buildID"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "buildReferences(build, limit=None, lazy=False)",
        "What refers to a build: tags, buildroots, archives.",
        |cx, a| {
            cx.hub
                .builds()
                .references(a.raw("build"), a.raw("limit"), a.flag("lazy"))
                .await
        }
    );
    method!(
        r,
        "deleteBuild(build, strict=True, min_ref_age=604800)",
        "Mark an unreferenced build deleted and remove its files (admin).",
        |cx, a| {
            cx.hub
                .builds()
                .delete(
                    &cx.caller,
                    a.raw("build"),
                    a.flag("strict"),
                    a.raw("min_ref_age"),
                )
                .await
        }
    );
    method!(
        r,
        "resetBuild(build)",
        "Strip a build to its build entry, CANCELED (admin).",
        |cx, a| {
            cx.hub.builds().reset(&cx.caller, a.raw("build")).await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "setBuildOwner(build, user)",
        "Change a build's owner (admin).",
        |cx, a| {
            cx.hub
                .builds()
                .set_owner(&cx.caller, a.raw("build"), a.raw("user"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "setBuildTimestamp(build, ts)",
        "Set a build's completion time (admin).",
        |cx, a| {
            cx.hub
                .builds()
                .set_timestamp(&cx.caller, a.raw("build"), a.raw("ts"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "promoteBuild(build, force=False)",
        "Turn a complete draft build into a regular one.",
        |cx, a| {
            let b = cx
                .hub
                .builds()
                .promote(&cx.caller, a.raw("build"), a.flag("force"))
                .await?;
            ok(b.to_json())
        }
    );
    method!(
        r,
        "getBuildLogs(build)",
        "The log files of a build.",
        |cx, a| { ok(cx.hub.builds().logs(a.raw("build")).await?) }
    );
    method!(
        r,
        "getBuildType(buildInfo, strict=False)",
        "A build's types and their type info.",
        |cx, a| {
            cx.hub
                .builds()
                .build_type(a.raw("buildInfo"), a.flag("strict"))
                .await
        }
    );
}

pub(super) fn register_volumes(r: &mut Registry) {
    method!(
        r,
        "getVolume(volume, strict=False)",
        "A storage volume by id or name.",
        |cx, a| {
            let v = cx
                .hub
                .builds()
                .get_volume(a.raw("volume"), a.flag("strict"))
                .await?;
            ok(v)
        }
    );
    method!(r, "listVolumes()", "The storage volumes.", |cx, a| {
        ok(cx.hub.builds().list_volumes().await?)
    });
    method!(
        r,
        "addVolume(name, strict=True)",
        "Add a storage volume; its directory must exist (admin).",
        |cx, a| {
            ok(cx
                .hub
                .builds()
                .add_volume(&cx.caller, a.raw("name"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "removeVolume(volume)",
        "Remove a storage volume no build is on (admin).",
        |cx, a| {
            cx.hub
                .builds()
                .remove_volume(&cx.caller, a.raw("volume"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "applyVolumePolicy(build, strict=False)",
        "Move a build to the volume the volume policy picks (admin).",
        |cx, a| {
            cx.hub
                .builds()
                .apply_volume_policy(&cx.caller, a.raw("build"), a.flag("strict"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "changeBuildVolume(build, volume, strict=True)",
        "Move a build to another storage volume (admin).",
        |cx, a| {
            cx.hub
                .builds()
                .change_volume(
                    &cx.caller,
                    a.raw("build"),
                    a.raw("volume"),
                    a.flag("strict"),
                )
                .await?;
            ok(Json::Null)
        }
    );
}
