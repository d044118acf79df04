use super::method;
use crate::api::{ok, Registry};

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "queryHistory(tables=None, **kwargs)",
        "Answer the row versions of versioned tables matching keyword filters, by table.",
        |cx, a| {
            ok(cx
                .hub
                .history()
                .query(&cx.caller, a.raw("tables"), &a.kwargs)
                .await?)
        }
    );
}
