use super::method;
use crate::api::{ok, truthy, Registry};
use crate::hub::tags::event_arg;
use serde_json::Value as Json;

/// A tri-state flag: None stays None, anything else is its truthiness.
fn opt_flag(v: &Json) -> Option<bool> {
    match v {
        Json::Null => None,
        other => Some(truthy(other)),
    }
}

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "addHost(hostname, arches, krb_principal=None, force=False)",
        "Register a build host (and its user) with the arches it builds; answers its id.",
        |cx, a| {
            ok(cx
                .hub
                .hosts()
                .add(
                    &cx.caller,
                    a.raw("hostname"),
                    a.raw("arches"),
                    a.raw("krb_principal"),
                    a.flag("force"),
                )
                .await?)
        }
    );
    method!(
        r,
        "editHost(hostInfo, **kw)",
        "Change a host's arches, capacity, description or comment; answers whether anything changed.",
        |cx, a| {
            ok(cx
                .hub
                .hosts()
                .edit(&cx.caller, a.raw("hostInfo"), &a.kwargs)
                .await?)
        }
    );
    method!(
        r,
        "enableHost(hostname)",
        "Let a host take tasks again.",
        |cx, a| {
            cx.hub
                .hosts()
                .set_enabled(&cx.caller, a.raw("hostname"), true)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "disableHost(hostname)",
        "Stop giving tasks to a host.",
        |cx, a| {
            cx.hub
                .hosts()
                .set_enabled(&cx.caller, a.raw("hostname"), false)
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "getHost(hostInfo, strict=False, event=None)",
        "One host by id or name, optionally as of an event.",
        |cx, a| {
            let event = event_arg(a.raw("event"))?;
            ok(cx
                .hub
                .hosts()
                .get(a.raw("hostInfo"), a.flag("strict"), event)
                .await?)
        }
    );
    method!(
        r,
        "listHosts(arches=None, channelID=None, ready=None, enabled=None, userID=None, queryOpts=None)",
        "Hosts, filtered by arch, channel, readiness, enabled state or user.",
        |cx, a| {
            cx.hub
                .hosts()
                .list(
                    a.raw("arches"),
                    a.raw("channelID"),
                    opt_flag(a.raw("ready")),
                    opt_flag(a.raw("enabled")),
                    a.raw("userID"),
                    a.raw("queryOpts"),
                )
                .await
        }
    );
    method!(
        r,
        "getLastHostUpdate(hostID, ts=False)",
        "When a host last talked to the hub (a time, or seconds with ts), or None.",
        |cx, a| {
            cx.hub
                .hosts()
                .last_update(a.opt_int("hostID")?, a.flag("ts"))
                .await
        }
    );
    method!(
        r,
        "getAllArches()",
        "Every canonical arch some host builds.",
        |cx, a| { ok(cx.hub.hosts().all_arches().await?) }
    );
    method!(
        r,
        "addChannel(channel_name, description=None)",
        "Make a new channel; answers its id.",
        |cx, a| {
            ok(cx
                .hub
                .hosts()
                .add_channel(&cx.caller, a.raw("channel_name"), a.raw("description"))
                .await?)
        }
    );
    method!(
        r,
        "editChannel(channelInfo, **kw)",
        "Change a channel's name, description or comment; answers whether anything changed.",
        |cx, a| {
            ok(cx
                .hub
                .hosts()
                .edit_channel(&cx.caller, a.raw("channelInfo"), &a.kwargs)
                .await?)
        }
    );
    method!(
        r,
        "renameChannel(old, new)",
        "Give a channel a new name.",
        |cx, a| {
            cx.hub
                .hosts()
                .rename_channel(&cx.caller, a.raw("old"), a.raw("new"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "enableChannel(channelname, comment=None)",
        "Let a channel's tasks be scheduled again, optionally noting why.",
        |cx, a| {
            cx.hub
                .hosts()
                .set_channel_enabled(&cx.caller, a.raw("channelname"), true, a.raw("comment"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "disableChannel(channelname, comment=None)",
        "Hold a channel's tasks, optionally noting why.",
        |cx, a| {
            cx.hub
                .hosts()
                .set_channel_enabled(&cx.caller, a.raw("channelname"), false, a.raw("comment"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "addHostToChannel(hostname, channel_name, create=False, force=False)",
        "Subscribe a host to a channel, optionally creating the channel.",
        |cx, a| {
            cx.hub
                .hosts()
                .add_to_channel(
                    &cx.caller,
                    a.raw("hostname"),
                    a.raw("channel_name"),
                    a.flag("create"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "removeHostFromChannel(hostname, channel_name)",
        "Unsubscribe a host from a channel.",
        |cx, a| {
            cx.hub
                .hosts()
                .remove_from_channel(&cx.caller, a.raw("hostname"), a.raw("channel_name"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "listChannels(hostID=None, event=None, enabled=None)",
        "Every channel, or one host's channels (optionally as of an event).",
        |cx, a| {
            ok(cx
                .hub
                .hosts()
                .list_channels(a.raw("hostID"), a.raw("event"), opt_flag(a.raw("enabled")))
                .await?)
        }
    );
    method!(
        r,
        "getChannel(channelInfo, strict=False)",
        "One channel by id or name.",
        |cx, a| {
            ok(cx
                .hub
                .hosts()
                .get_channel(a.raw("channelInfo"), a.flag("strict"))
                .await?)
        }
    );
}
