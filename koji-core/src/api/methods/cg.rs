use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "listCGs()",
        "Content generators and the users who may import as them.",
        |cx, a| { ok(cx.hub.content_generators().list().await?) }
    );
    method!(
        r,
        "grantCGAccess(user, cg, create=False)",
        "Let a user import builds as a content generator (admin).",
        |cx, a| {
            cx.hub
                .content_generators()
                .grant(&cx.caller, a.raw("user"), a.raw("cg"), a.flag("create"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "revokeCGAccess(user, cg)",
        "Take back a user's content generator access (admin).",
        |cx, a| {
            cx.hub
                .content_generators()
                .revoke(&cx.caller, a.raw("user"), a.raw("cg"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "checkTagAccess(tag_id, user_id=None)",
        "(access, override, reason): whether a user may change a tag's content.",
        |cx, a| {
            ok(cx
                .hub
                .tagging()
                .check_access(&cx.caller, a.raw("tag_id"), a.raw("user_id"))
                .await?)
        }
    );
}
