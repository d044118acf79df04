use super::method;
use crate::api::{ok, Registry};
use crate::hub::buildtypes::{get_typed_build_in, TypedBuild};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "getMavenBuild(buildInfo, strict=False)",
        "Maven information of a build (group_id, artifact_id, version), or None.",
        |cx, a| {
            let db = cx.hub.db().conn();
            let v = get_typed_build_in(db, TypedBuild::Maven, a.raw("buildInfo"), a.flag("strict"));
            ok(v.await?.unwrap_or(Json::Null))
        }
    );
    method!(
        r,
        "getWinBuild(buildInfo, strict=False)",
        "Windows information of a build (platform), or None.",
        |cx, a| {
            let db = cx.hub.db().conn();
            let v = get_typed_build_in(db, TypedBuild::Win, a.raw("buildInfo"), a.flag("strict"));
            ok(v.await?.unwrap_or(Json::Null))
        }
    );
    method!(
        r,
        "getImageBuild(buildInfo, strict=False)",
        "{build_id} if the build is an image build, else None.",
        |cx, a| {
            let db = cx.hub.db().conn();
            let v = get_typed_build_in(db, TypedBuild::Image, a.raw("buildInfo"), a.flag("strict"));
            ok(v.await?.unwrap_or(Json::Null))
        }
    );
}
