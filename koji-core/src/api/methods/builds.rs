use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
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
            let id = cx.hub.builds().find_id(a.raw("X"), a.flag("strict")).await?;
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
