use super::method;
use crate::api::{ok, Args, Ctx, Registry};
use crate::error::{Error, Result};
use crate::hub::search::{count_of, filter_results};
use serde_json::{Map, Value as Json};

/// The method named by a call's first argument, and the parameters to call
/// it with: the remaining positional values, then the keyword arguments
/// (less `filterOpts` when `filter_opts` is asked for).
fn target_call(a: &Args, take_filter_opts: bool) -> (String, Vec<Json>, Json) {
    let name = match a.raw("methodName") {
        Json::String(s) => s.clone(),
        other => crate::util::py_str(other),
    };
    let mut params = a.varargs.clone();
    let mut kw: Map<String, Json> = a.kwargs.clone();
    let filter_opts = if take_filter_opts {
        kw.remove("filterOpts").unwrap_or(Json::Null)
    } else {
        Json::Null
    };
    if !kw.is_empty() {
        kw.insert("__starstar".into(), Json::Bool(true));
        params.push(Json::Object(kw));
    }
    (name, params, filter_opts)
}

/// Calls the method `name` as upstream's `context.handlers` would: an
/// unknown name is `method NAME doesn't exist`.
async fn call_by_name(cx: &Ctx, name: &str, params: Vec<Json>) -> Result<Json> {
    let reg = Registry::standard();
    if reg.get(name).is_none() {
        return Err(Error::Generic(format!("method {name} doesn't exist")));
    }
    reg.call(cx.clone(), name, params).await
}

/// `countAndFilterResults`: the wrapped method's failures are reported as
/// `method NAME raised an exception (MESSAGE)`.
async fn count_and_filter(cx: &Ctx, a: &Args) -> Result<(i64, Json)> {
    let (name, params, filter_opts) = target_call(a, true);
    if Registry::standard().get(&name).is_none() {
        return Err(Error::Generic(format!("method {name} doesn't exist")));
    }
    let results = Registry::standard()
        .call(cx.clone(), &name, params)
        .await
        .map_err(|e| Error::Generic(format!("method {name} raised an exception ({e})")))?;
    filter_results(&name, results, &filter_opts)
}

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "search(terms, type, matchType, queryOpts=None)",
        "Find packages, builds, tags, targets, users, hosts, rpms or maven/win archives by name (glob, regexp or exact).",
        |cx, a| {
            ok(cx
                .hub
                .search()
                .search(
                    a.raw("terms"),
                    a.raw("type"),
                    a.raw("matchType"),
                    a.raw("queryOpts"),
                )
                .await?)
        }
    );
    method!(
        r,
        "count(methodName, *args, **kw)",
        "Call a method and count its results.",
        |cx, a| {
            let (name, params, _) = target_call(&a, false);
            let result = call_by_name(&cx, &name, params).await?;
            ok(count_of(&result))
        }
    );
    method!(
        r,
        "filterResults(methodName, *args, **kw)",
        "Call a method and order, offset and limit its list of results (keyword filterOpts).",
        |cx, a| {
            let (_, results) = count_and_filter(&cx, &a).await?;
            ok(results)
        }
    );
    method!(
        r,
        "countAndFilterResults(methodName, *args, **kw)",
        "Call a method: the number of its results and the results filtered as filterResults does.",
        |cx, a| {
            let (count, results) = count_and_filter(&cx, &a).await?;
            ok(Json::Array(vec![Json::from(count), results]))
        }
    );
}
