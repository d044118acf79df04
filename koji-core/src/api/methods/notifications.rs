use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "getBuildNotifications(userID=None)",
        "A user's build notification subscriptions (the caller's by default).",
        |cx, a| {
            ok(cx
                .hub
                .notifications()
                .list(&cx.caller, a.raw("userID"))
                .await?)
        }
    );
    method!(
        r,
        "getBuildNotification(id, strict=False)",
        "One build notification subscription.",
        |cx, a| {
            ok(cx
                .hub
                .notifications()
                .get(a.raw("id"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "getBuildNotificationBlocks(userID=None)",
        "A user's notification blocks (the caller's by default).",
        |cx, a| {
            ok(cx
                .hub
                .notifications()
                .list_blocks(&cx.caller, a.raw("userID"))
                .await?)
        }
    );
    method!(
        r,
        "getBuildNotificationBlock(id, strict=False)",
        "One notification block.",
        |cx, a| {
            ok(cx
                .hub
                .notifications()
                .get_block(a.raw("id"), a.flag("strict"))
                .await?)
        }
    );
    method!(
        r,
        "createNotification(user_id, package_id, tag_id, success_only)",
        "Subscribe a user (the caller, or anyone for an admin) to build and tag notifications.",
        |cx, a| {
            cx.hub
                .notifications()
                .create(
                    &cx.caller,
                    a.raw("user_id"),
                    a.raw("package_id"),
                    a.raw("tag_id"),
                    a.flag("success_only"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "updateNotification(id, package_id, tag_id, success_only)",
        "Change a subscription (its owner or an admin).",
        |cx, a| {
            cx.hub
                .notifications()
                .update(
                    &cx.caller,
                    a.raw("id"),
                    a.raw("package_id"),
                    a.raw("tag_id"),
                    a.flag("success_only"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "deleteNotification(id)",
        "Remove a subscription (its owner or an admin).",
        |cx, a| {
            cx.hub
                .notifications()
                .delete(&cx.caller, a.raw("id"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "createNotificationBlock(user_id, package_id=None, tag_id=None)",
        "Stop notifications to a user for a package, a tag, or both.",
        |cx, a| {
            cx.hub
                .notifications()
                .create_block(
                    &cx.caller,
                    a.raw("user_id"),
                    a.raw("package_id"),
                    a.raw("tag_id"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "deleteNotificationBlock(id)",
        "Remove a notification block (its owner or an admin).",
        |cx, a| {
            cx.hub
                .notifications()
                .delete_block(&cx.caller, a.raw("id"))
                .await?;
            ok(Json::Null)
        }
    );
}
