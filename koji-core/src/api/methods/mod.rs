//! The registration of every method, one file per area. Handlers only
//! convert: they read parameters, call the hub, and serialize the answer.

mod archives;
mod auth;
mod builds;
mod buildtypes;
mod cg;
mod groups;
mod history;
mod hosts;
mod misc;
mod notifications;
mod packages;
mod policy;
mod repos;
mod rpms;
mod search;
mod tagging;
mod tags;
mod targets;
mod tasks;
mod uploads;
mod users;

use super::Registry;

pub(super) fn register(r: &mut Registry) {
    misc::register(r);
    auth::register(r);
    users::register(r);
    tags::register(r);
    packages::register(r);
    groups::register(r);
    repos::register(r);
    repos::register_lifecycle(r);
    repos::register_namespace(r);
    repos::register_generation(r);
    repos::register_dist(r);
    targets::register(r);
    hosts::register(r);
    history::register(r);
    builds::register(r);
    buildtypes::register(r);
    cg::register(r);
    rpms::register(r);
    tagging::register(r);
    uploads::register(r);
    policy::register(r);
    archives::register(r);
    search::register(r);
    tasks::register(r);
    notifications::register(r);
    r.mark_cacheable(CACHEABLE);
}

/// Pure reads of data written only by transactions (tags, inheritance,
/// package lists, targets, builds and their tagging):
/// their answers change only when a transaction commits, so the dispatcher
/// may serve them from the hub's result cache.
const CACHEABLE: &[&str] = &[
    "getTag",
    "listTags",
    "getInheritanceData",
    "getFullInheritance",
    "getBuildConfig",
    "listPackages",
    "listPackagesSimple",
    "checkTagPackage",
    "getPackageConfig",
    "getTagGroups",
    "getBuildTarget",
    "getBuildTargets",
    "getBuild",
    "listTagged",
    "listTaggedRPMS",
    "listTaggedArchives",
    "getLatestBuilds",
    "getLatestRPMS",
];

/// `method!(registry, "name(a, b=None)", "doc", |ctx, args| async body)`.
macro_rules! method {
    ($r:expr, $sig:literal, $doc:literal, |$cx:ident, $a:ident| $body:block) => {
        $r.add($sig, $doc, |$cx, $a| {
            Box::pin(async move {
                #[allow(unused_variables)]
                let ($cx, $a) = ($cx, $a);
                $body
            })
        })
    };
}
pub(crate) use method;
