use super::method;
use crate::api::{ok, Registry};
use crate::error::Error;
use serde_json::{json, Value as Json};

pub(super) fn register(r: &mut Registry) {
    method!(
        r,
        "hello(*args)",
        "Simple testing call returning a string",
        |cx, a| { ok("Hello World") }
    );
    method!(r, "echo(*args)", "", |cx, a| { ok(a.varargs) });
    method!(
        r,
        "error()",
        "Debugging: fails with a GenericError.",
        |cx, a| { Err(Error::Generic("test error".into())) }
    );
    method!(
        r,
        "fault()",
        "Debugging: fails with an unexpected error.",
        |cx, a| {
            Err(Error::Fault {
                code: 1,
                message: "<class 'Exception'>: test exception".into(),
            })
        }
    );
    method!(
        r,
        "showOpts(as_string=True)",
        "The hub's settings (admin only).",
        |cx, a| {
            cx.caller.assert_perm("admin")?;
            let opts = cx.hub.config().upstream_opts();
            if a.flag("as_string") {
                ok(crate::util::py_repr(&opts))
            } else {
                ok(opts)
            }
        }
    );
    method!(r, "getAPIVersion()", "", |cx, a| { ok(crate::API_VERSION) });
    method!(r, "getKojiVersion()", "", |cx, a| {
        ok(crate::KOJI_VERSION)
    });
    method!(
        r,
        "mavenEnabled()",
        "Get status of maven support",
        |cx, a| { ok(false) }
    );
    method!(
        r,
        "winEnabled()",
        "Get status of windows support",
        |cx, a| { ok(false) }
    );
    method!(
        r,
        "getEvent(id, strict=True)",
        "Get information about the event with the given id.",
        |cx, a| {
            let id = a.opt_int("id")?.ok_or_else(|| {
                Error::Parameter("Invalid type, expected type <class 'int'>".into())
            })?;
            ok(cx.hub.misc().event(id, a.flag("strict")).await?)
        }
    );
    method!(
        r,
        "getLastEvent(before=None, strict=True)",
        "Get the id and timestamp of the last event recorded in the system.",
        |cx, a| {
            let before = match a.raw("before") {
                Json::Null => None,
                Json::Number(n) => n.as_f64(),
                other => {
                    return Err(Error::Generic(format!(
                        "Invalid type for before: <class '{}'>",
                        crate::api::py_type_of(other)
                    )))
                }
            };
            ok(cx.hub.misc().last_event(before, a.flag("strict")).await?)
        }
    );
    method!(r, "_listapi()", "List available API calls", |cx, a| {
        Ok(Registry::standard().listapi())
    });
    method!(r, "system.listMethods()", "", |cx, a| {
        let mut names: Vec<&str> = Registry::standard().names().collect();
        names.extend(["multiCall", "system.multicall"]);
        names.sort_unstable();
        ok(names)
    });
    method!(r, "system.methodSignature(method)", "", |cx, a| {
        ok("signatures not supported")
    });
    method!(r, "system.methodHelp(method)", "", |cx, a| {
        let name: String = a.get("method")?;
        Ok(match Registry::standard().get(&name) {
            None => json!(""),
            Some(m) => {
                let mut s = format!("{}{}", m.name, m.spec.argdesc());
                if !m.doc.is_empty() {
                    s.push_str("\ndescription: ");
                    s.push_str(m.doc);
                }
                json!(s)
            }
        })
    });
}
