use super::method;
use crate::api::{ok, Registry};
use serde_json::Value as Json;

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "evalPolicy(name, data)",
        "Evaluate a named policy against the given data and return its action (None if no rule matched).",
        |cx, a| {
            let name = match a.raw("name") {
                Json::String(s) => s.clone(),
                other => crate::util::py_str(other),
            };
            let action = cx
                .hub
                .policy()
                .eval(&cx.caller, &name, a.raw("data"))
                .await?;
            ok(action.map(Json::from).unwrap_or(Json::Null))
        }
    );
}
