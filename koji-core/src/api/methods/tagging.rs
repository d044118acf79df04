use super::method;
use crate::api::{ok, truthy, Registry};
use crate::hub::tagging::{latest_arg, ListTagged, RpmFilter, Snapshot, TaggedQuery};
use crate::hub::tags::event_arg;
use crate::Result;
use serde_json::Value as Json;

/// A tri-state flag: None stays None, anything else is its truthiness.
fn opt_flag(v: &Json) -> Option<bool> {
    match v {
        Json::Null => None,
        other => Some(truthy(other)),
    }
}

/// A string filter that upstream only applies when truthy.
fn opt_str(v: &Json) -> Option<String> {
    match v {
        Json::String(s) if !s.is_empty() => Some(s.clone()),
        Json::Null => None,
        other if truthy(other) => Some(crate::util::py_str(other)),
        _ => None,
    }
}

fn snapshot(a: &crate::api::Args, remove: bool) -> Result<Snapshot> {
    Ok(Snapshot {
        config: a.flag("config"),
        pkgs: a.flag("pkgs"),
        builds: a.flag("builds"),
        groups: a.flag("groups"),
        latest_only: a.flag("latest_only"),
        inherit_builds: a.flag("inherit_builds"),
        event: event_arg(a.raw("event"))?,
        force: a.flag("force"),
        remove,
    })
}

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "tagBuildBypass(tag, build, force=False, notify=False)",
        "Tag a build at once, without a task (admin or tag permission).",
        |cx, a| {
            cx.hub
                .tagging()
                .tag_build_bypass(
                    &cx.caller,
                    a.raw("tag"),
                    a.raw("build"),
                    a.flag("force"),
                    a.flag("notify"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "untagBuildBypass(tag, build, strict=True, force=False, notify=False)",
        "Untag a build at once (admin or tag permission).",
        |cx, a| {
            cx.hub
                .tagging()
                .untag_build_bypass(
                    &cx.caller,
                    a.raw("tag"),
                    a.raw("build"),
                    a.flag("strict"),
                    a.flag("force"),
                    a.flag("notify"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "untagBuild(tag, build, strict=True, force=False)",
        "Untag a build (tag access rules and policy apply).",
        |cx, a| {
            cx.hub
                .tagging()
                .untag_build(
                    &cx.caller,
                    a.raw("tag"),
                    a.raw("build"),
                    a.flag("strict"),
                    a.flag("force"),
                )
                .await?;
            ok(Json::Null)
        }
    );
    method!(
        r,
        "massTag(tag, builds)",
        "Tag many builds at once, ignoring access checks and policy (tag permission).",
        |cx, a| {
            cx.hub
                .tagging()
                .mass_tag(&cx.caller, a.raw("tag"), a.raw("builds"))
                .await?;
            ok(Json::Null)
        }
    );
    method!(r, "snapshotTag(src, dst, config=True, pkgs=True, builds=True, groups=True, latest_only=True, inherit_builds=True, event=None, force=False)", "Copy a tag's configuration, package list and builds to a new tag.", |cx, a| {
        let o = snapshot(&a, false)?;
        cx.hub.tagging().snapshot_tag(&cx.caller, a.raw("src"), a.raw("dst"), &o).await?;
        ok(Json::Null)
    });
    method!(r, "snapshotTagModify(src, dst, config=True, pkgs=True, builds=True, groups=True, latest_only=True, inherit_builds=True, event=None, force=False, remove=False)", "Make an existing tag hold what another tag holds.", |cx, a| {
        let o = snapshot(&a, a.flag("remove"))?;
        cx.hub.tagging().snapshot_tag_modify(&cx.caller, a.raw("src"), a.raw("dst"), &o).await?;
        ok(Json::Null)
    });
    method!(r, "listTagged(tag, event=None, inherit=False, prefix=None, latest=False, package=None, owner=None, type=None, strict=True, extra=False, draft=None)", "Builds in a tag (optionally inherited, latest per package).", |cx, a| {
        let opts = ListTagged {
            query: TaggedQuery {
                event: event_arg(a.raw("event"))?,
                inherit: a.flag("inherit"),
                latest: latest_arg(a.raw("latest")),
                package: package_arg(a.raw("package")),
                owner: opt_str(a.raw("owner")),
                btype: opt_str(a.raw("type")),
                extra: a.flag("extra"),
                draft: opt_flag(a.raw("draft")),
            },
            prefix: opt_str(a.raw("prefix")),
            strict: a.flag("strict"),
        };
        ok(cx.hub.tagging().list_tagged(a.raw("tag"), &opts).await?)
    });
    method!(r, "listTaggedRPMS(tag, event=None, inherit=False, latest=False, package=None, arch=None, rpmsigs=False, owner=None, type=None, strict=True, extra=True, draft=None)", "RPMs and builds in a tag.", |cx, a| {
        let q = TaggedQuery {
            event: event_arg(a.raw("event"))?,
            inherit: a.flag("inherit"),
            latest: latest_arg(a.raw("latest")),
            package: package_arg(a.raw("package")),
            owner: opt_str(a.raw("owner")),
            btype: opt_str(a.raw("type")),
            extra: false,
            draft: opt_flag(a.raw("draft")),
        };
        let f = RpmFilter {
            arch: a.raw("arch").clone(),
            rpmsigs: a.flag("rpmsigs"),
            extra: a.flag("extra"),
        };
        ok(cx.hub.tagging().list_tagged_rpms(a.raw("tag"), &q, &f, a.flag("strict")).await?)
    });
    method!(r, "listTaggedArchives(tag, event=None, inherit=False, latest=False, package=None, type=None, strict=True, extra=True)", "Archives and builds in a tag.", |cx, a| {
        let q = TaggedQuery {
            event: event_arg(a.raw("event"))?,
            inherit: a.flag("inherit"),
            latest: latest_arg(a.raw("latest")),
            package: package_arg(a.raw("package")),
            btype: opt_str(a.raw("type")),
            ..TaggedQuery::default()
        };
        ok(cx.hub.tagging().list_tagged_archives(a.raw("tag"), &q, a.flag("extra"), a.flag("strict")).await?)
    });
    method!(
        r,
        "getLatestBuilds(tag, event=None, package=None, type=None, draft=None)",
        "The latest build of each package in a tag (inheritance followed).",
        |cx, a| {
            let q = TaggedQuery {
                event: event_arg(a.raw("event"))?,
                package: package_arg(a.raw("package")),
                btype: opt_str(a.raw("type")),
                draft: opt_flag(a.raw("draft")),
                ..TaggedQuery::default()
            };
            ok(cx.hub.tagging().latest_builds(a.raw("tag"), q).await?)
        }
    );
    method!(r, "getLatestRPMS(tag, package=None, arch=None, event=None, rpmsigs=False, type=None, draft=None)", "The RPMs of the latest builds in a tag (inheritance followed).", |cx, a| {
        let q = TaggedQuery {
            event: event_arg(a.raw("event"))?,
            package: package_arg(a.raw("package")),
            btype: opt_str(a.raw("type")),
            draft: opt_flag(a.raw("draft")),
            ..TaggedQuery::default()
        };
        let f = RpmFilter {
            arch: a.raw("arch").clone(),
            rpmsigs: a.flag("rpmsigs"),
            extra: true,
        };
        ok(cx.hub.tagging().latest_rpms(a.raw("tag"), q, &f).await?)
    });
    method!(
        r,
        "untaggedBuilds(name=None, queryOpts=None, draft=None)",
        "COMPLETE builds that are in no tag.",
        |cx, a| {
            let name = opt_str(a.raw("name"));
            ok(cx
                .hub
                .tagging()
                .untagged_builds(
                    name.as_deref(),
                    a.raw("queryOpts"),
                    opt_flag(a.raw("draft")),
                )
                .await?)
        }
    );
    method!(
        r,
        "tagChangedSinceEvent(event, taglist)",
        "Whether any of the tags changed after an event.",
        |cx, a| {
            let event: i64 = a.get("event")?;
            let tags: Vec<i64> = a.get("taglist")?;
            ok(cx.hub.tagging().changed_since_event(event, &tags).await?)
        }
    );
    method!(
        r,
        "tagLastChangeEvent(tag, before=None, inherit=True)",
        "The last event that changed a tag (or its inheritance).",
        |cx, a| {
            ok(cx
                .hub
                .tagging()
                .last_change_event(a.raw("tag"), a.raw("before"), a.flag("inherit"))
                .await?)
        }
    );
    method!(
        r,
        "tagFirstChangeEvent(tag, after=None, inherit=True)",
        "The first event after another that changed a tag (or its inheritance).",
        |cx, a| {
            ok(cx
                .hub
                .tagging()
                .first_change_event(a.raw("tag"), a.raw("after"), a.flag("inherit"))
                .await?)
        }
    );
}

/// The `package` filter: upstream only filters on a truthy value, except
/// that its package-list read still looks for a package named `""`, which
/// matches nothing.
fn package_arg(v: &Json) -> Json {
    v.clone()
}
