//! The registration of every method, one file per area. Handlers only
//! convert: they read parameters, call the hub, and serialize the answer.

mod auth;
mod history;
mod hosts;
mod misc;
mod packages;
mod tags;
mod targets;
mod users;

use super::Registry;

pub(super) fn register(r: &mut Registry) {
    misc::register(r);
    auth::register(r);
    users::register(r);
    tags::register(r);
    packages::register(r);
    targets::register(r);
    hosts::register(r);
    history::register(r);
}

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
