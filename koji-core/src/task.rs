//! Task handlers: what a builder runs for a task, and how plugins add
//! task types.
//!
//! A task is a method name and a request (upstream's positional values
//! plus keyword arguments in a trailing `__starstar` struct). A
//! [`TaskHandler`] declares the method it serves with upstream's Python
//! signature (`"hello(name, count=1)"`), gets its parameters decoded into
//! a typed struct with Python's argument rules, and runs against a
//! [`TaskContext`]: hub calls, subtasks, waits, uploads and logs streamed
//! while they grow. A [`TaskRegistry`] maps method names to handlers; the
//! builder (`koji-worker`) runs whatever its registry holds, its own
//! built-in handlers included, and refuses other methods as upstream's
//! kojid does.
//!
//! ```
//! use koji_core::task::{TaskContext, TaskHandler, TaskRegistry};
//! use serde_json::{json, Value as Json};
//!
//! struct Echo;
//!
//! #[derive(serde::Deserialize)]
//! struct EchoParams {
//!     text: String,
//!     times: usize,
//! }
//!
//! impl TaskHandler for Echo {
//!     type Params = EchoParams;
//!     fn signature(&self) -> &'static str {
//!         "echo(text, times=1)"
//!     }
//!     async fn run(&self, _ctx: &dyn TaskContext, p: EchoParams) -> koji_core::Result<Json> {
//!         Ok(json!(p.text.repeat(p.times)))
//!     }
//! }
//!
//! let mut registry = TaskRegistry::new();
//! registry.register(Echo).unwrap();
//! assert!(registry.handles("echo"));
//! ```

use crate::api::Spec;
use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;

/// A boxed, sendable future (what [`TaskContext`]'s methods return).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// What a running task can do. The builder implements it; a handler
/// sees only this.
///
/// Errors carry upstream's fault codes: a fault the hub raised comes back
/// with its own code, and a handler's `Err` fails the task with its code
/// and message (`Error::Build` is upstream's `BuildError`, 1005).
pub trait TaskContext: Send + Sync {
    /// The task's id.
    fn task_id(&self) -> i64;
    /// The task as `getTaskInfo(id, request=True)` answered it.
    fn info(&self) -> &Json;
    /// The task's private working directory, removed when it ends.
    fn workdir(&self) -> &Path;
    /// Any hub call, on the task's own session (keyword arguments as a
    /// trailing object with `"__starstar": true`).
    fn call<'a>(&'a self, method: &'a str, args: Vec<Json>) -> BoxFuture<'a, Result<Json>>;
    /// Creates a subtask of this task (upstream's `host.subtask`); `opts`
    /// as upstream's (`label`, `arch`, `channel`, `priority`...).
    fn subtask<'a>(
        &'a self,
        method: &'a str,
        args: Vec<Json>,
        opts: Json,
    ) -> BoxFuture<'a, Result<i64>>;
    /// Waits until every task of `ids` has finished and answers each
    /// one's result. With `failany`, the first failure cancels the others
    /// and is returned.
    fn wait_all<'a>(
        &'a self,
        ids: &'a [i64],
        failany: bool,
    ) -> BoxFuture<'a, Result<Vec<(i64, Json)>>>;
    /// Uploads a file into the task's output; answers its path below the
    /// hub's `work/` (as task results name files).
    fn upload<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<String>>;
    /// Follows a log file (created empty if missing): what is written to
    /// it reaches the task's output while the task runs, and all of it by
    /// the time the task ends.
    fn stream_log<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<()>>;
    /// The builder's own context, for its built-in handlers (which need
    /// more than plugins do); plugins do not need it.
    fn as_any(&self) -> &dyn std::any::Any;
}

/// A task type. `Params` is decoded from the task's request after it is
/// bound to [`TaskHandler::signature`] with Python's rules (positional
/// values, keyword arguments, defaults); a request that does not fit
/// fails the task with upstream's `ParameterError`.
pub trait TaskHandler: Send + Sync + 'static {
    /// The decoded parameters: a struct whose fields are the signature's
    /// parameter names (or `serde_json::Value` for the raw map).
    type Params: DeserializeOwned + Send;

    /// Upstream-style signature; its name is the task method:
    /// `"buildArch(pkg, root, arch, keep_srpm, opts=None)"`.
    fn signature(&self) -> &'static str;

    /// Further method names served with the same parameters.
    fn aliases(&self) -> &'static [&'static str] {
        &[]
    }

    /// How much of a host the task takes (upstream's `_taskWeight`).
    fn weight(&self) -> f64 {
        1.0
    }

    /// Runs the task; the answer becomes the task's result.
    fn run(
        &self,
        ctx: &dyn TaskContext,
        params: Self::Params,
    ) -> impl Future<Output = Result<Json>> + Send;
}

/// A handler with its parameter type erased, as the registry holds it.
trait Erased: Send + Sync {
    fn weight(&self) -> f64;
    fn run<'a>(
        &'a self,
        ctx: &'a dyn TaskContext,
        request: Vec<Json>,
    ) -> BoxFuture<'a, Result<Json>>;
}

struct Entry<H> {
    handler: H,
    spec: Spec,
}

impl<H: TaskHandler> Erased for Entry<H> {
    fn weight(&self) -> f64 {
        self.handler.weight()
    }

    fn run<'a>(
        &'a self,
        ctx: &'a dyn TaskContext,
        request: Vec<Json>,
    ) -> BoxFuture<'a, Result<Json>> {
        Box::pin(async move {
            let params = decode_params::<H::Params>(&self.spec, request)?;
            self.handler.run(ctx, params).await
        })
    }
}

/// Binds `request` to `spec` and decodes the named values as `P`.
/// Undeclared positional values go under the `*args` name and undeclared
/// keywords under the `**kwargs` name, when the signature has them.
pub fn decode_params<P: DeserializeOwned>(spec: &Spec, request: Vec<Json>) -> Result<P> {
    let args = spec.bind(request)?;
    let varargs = args.varargs.clone();
    let kwargs: Map<String, Json> = args.kwargs.clone();
    let mut map = args.into_map();
    if let Some(name) = &spec.varargs {
        map.insert(name.clone(), Json::Array(varargs));
    }
    if let Some(name) = &spec.varkw {
        map.insert(name.clone(), Json::Object(kwargs));
    }
    serde_json::from_value(Json::Object(map))
        .map_err(|e| Error::Parameter(format!("{}(): invalid parameters: {e}", spec.name)))
}

fn clash(method: &str) -> Error {
    Error::Plugin(format!(
        "a handler for task method {method} is already registered"
    ))
}

/// Task handlers by method name.
#[derive(Clone, Default)]
pub struct TaskRegistry {
    handlers: BTreeMap<String, Arc<dyn Erased>>,
}

impl TaskRegistry {
    pub fn new() -> TaskRegistry {
        TaskRegistry::default()
    }

    /// Adds `handler` for its method and aliases. A malformed signature
    /// or a method already registered is refused.
    pub fn register<H: TaskHandler>(&mut self, handler: H) -> Result<()> {
        let spec = Spec::parse(handler.signature()).map_err(|e| {
            Error::Plugin(format!(
                "bad task handler signature {:?}: {e}",
                handler.signature()
            ))
        })?;
        let mut names = vec![spec.name.clone()];
        names.extend(handler.aliases().iter().map(|a| a.to_string()));
        if let Some(n) = names.iter().find(|n| self.handlers.contains_key(*n)) {
            return Err(clash(n));
        }
        let entry: Arc<dyn Erased> = Arc::new(Entry { handler, spec });
        for n in names {
            self.handlers.insert(n, entry.clone());
        }
        Ok(())
    }

    /// Every handler of `other` added to this one (refused on a clash,
    /// which may leave part of `other` added).
    pub fn merge(&mut self, other: TaskRegistry) -> Result<()> {
        for (n, h) in other.handlers {
            if self.handlers.contains_key(&n) {
                return Err(clash(&n));
            }
            self.handlers.insert(n, h);
        }
        Ok(())
    }

    /// Whether `method` has a handler.
    pub fn handles(&self, method: &str) -> bool {
        self.handlers.contains_key(method)
    }

    /// The methods served, sorted.
    pub fn methods(&self) -> Vec<&str> {
        self.handlers.keys().map(String::as_str).collect()
    }

    /// The weight of a task of `method` (1.0 if unknown).
    pub fn weight(&self, method: &str) -> f64 {
        self.handlers.get(method).map_or(1.0, |h| h.weight())
    }

    /// Runs a task of `method` with its raw `request`.
    pub async fn run(
        &self,
        ctx: &dyn TaskContext,
        method: &str,
        request: Vec<Json>,
    ) -> Result<Json> {
        match self.handlers.get(method) {
            Some(h) => h.run(ctx, request).await,
            None => Err(Error::Generic(format!(
                "method \"{method}\" is not supported"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::sync::Mutex;

    /// A context that records calls and answers subtasks with ids 100+.
    #[derive(Default)]
    struct Fake {
        calls: Mutex<Vec<String>>,
        info: Json,
    }

    impl TaskContext for Fake {
        fn task_id(&self) -> i64 {
            7
        }
        fn info(&self) -> &Json {
            &self.info
        }
        fn workdir(&self) -> &Path {
            Path::new("/nonexistent")
        }
        fn call<'a>(&'a self, method: &'a str, _args: Vec<Json>) -> BoxFuture<'a, Result<Json>> {
            self.calls.lock().unwrap().push(method.to_string());
            Box::pin(async { Ok(Json::Null) })
        }
        fn subtask<'a>(
            &'a self,
            method: &'a str,
            _args: Vec<Json>,
            _opts: Json,
        ) -> BoxFuture<'a, Result<i64>> {
            let mut c = self.calls.lock().unwrap();
            c.push(format!("subtask {method}"));
            let n = 100 + c.len() as i64;
            Box::pin(async move { Ok(n) })
        }
        fn wait_all<'a>(
            &'a self,
            ids: &'a [i64],
            _failany: bool,
        ) -> BoxFuture<'a, Result<Vec<(i64, Json)>>> {
            Box::pin(async move { Ok(ids.iter().map(|i| (*i, json!(i * 2))).collect()) })
        }
        fn upload<'a>(&'a self, path: &'a Path) -> BoxFuture<'a, Result<String>> {
            Box::pin(async move { Ok(format!("tasks/7/7/{}", path.display())) })
        }
        fn stream_log<'a>(&'a self, _path: &'a Path) -> BoxFuture<'a, Result<()>> {
            Box::pin(async { Ok(()) })
        }
        fn as_any(&self) -> &dyn std::any::Any {
            self
        }
    }

    struct Fan;

    #[derive(serde::Deserialize)]
    struct FanParams {
        n: i64,
        label: Option<String>,
        rest: Vec<Json>,
        extra: Map<String, Json>,
    }

    impl TaskHandler for Fan {
        type Params = FanParams;
        fn signature(&self) -> &'static str {
            "fan(n, label=None, *rest, **extra)"
        }
        fn aliases(&self) -> &'static [&'static str] {
            &["fanOut"]
        }
        fn weight(&self) -> f64 {
            0.5
        }
        async fn run(&self, ctx: &dyn TaskContext, p: FanParams) -> Result<Json> {
            let mut ids = vec![];
            for _ in 0..p.n {
                ids.push(ctx.subtask("part", vec![], Json::Null).await?);
            }
            let res = ctx.wait_all(&ids, true).await?;
            Ok(json!({
                "label": p.label,
                "results": res.iter().map(|(_, r)| r.clone()).collect::<Vec<_>>(),
                "rest": p.rest,
                "extra": p.extra,
            }))
        }
    }

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn decodes_positional_keyword_and_defaults() {
        let mut r = TaskRegistry::new();
        r.register(Fan).unwrap();
        assert_eq!(r.methods(), vec!["fan", "fanOut"]);
        assert_eq!(r.weight("fanOut"), 0.5);
        assert_eq!(r.weight("other"), 1.0);
        let ctx = Fake::default();
        let out = block_on(r.run(
            &ctx,
            "fan",
            vec![
                json!(2),
                json!({"label": "x", "color": "red", "__starstar": true}),
            ],
        ))
        .unwrap();
        assert_eq!(
            out,
            json!({"label": "x", "results": [202, 204], "rest": [], "extra": {"color": "red"}})
        );
        assert_eq!(
            *ctx.calls.lock().unwrap(),
            vec!["subtask part".to_string(), "subtask part".to_string()]
        );
        let out = block_on(r.run(&ctx, "fanOut", vec![json!(0), json!("l"), json!(9)])).unwrap();
        assert_eq!(out["rest"], json!([9]));
        assert_eq!(out["label"], json!("l"));
    }

    #[test]
    fn bad_requests_are_parameter_errors() {
        let mut r = TaskRegistry::new();
        r.register(Fan).unwrap();
        let ctx = Fake::default();
        let e = block_on(r.run(&ctx, "fan", vec![])).unwrap_err();
        assert_eq!(e.fault_code(), 1019);
        assert_eq!(
            e.to_string(),
            "fan() missing 1 required positional argument: 'n'"
        );
        let e = block_on(r.run(&ctx, "fan", vec![json!("two")])).unwrap_err();
        assert_eq!(e.fault_code(), 1019);
        assert!(
            e.to_string().starts_with("fan(): invalid parameters"),
            "{e}"
        );
        let e = block_on(r.run(&ctx, "nope", vec![])).unwrap_err();
        assert_eq!(e.to_string(), "method \"nope\" is not supported");
    }

    #[test]
    fn clashes_and_bad_signatures_are_refused() {
        let mut r = TaskRegistry::new();
        r.register(Fan).unwrap();
        let e = r.register(Fan).unwrap_err();
        assert_eq!(e.fault_code(), 1016);
        let mut other = TaskRegistry::new();
        other.register(Fan).unwrap();
        assert!(r.merge(other).is_err());

        struct Bad;
        impl TaskHandler for Bad {
            type Params = Json;
            fn signature(&self) -> &'static str {
                "no parens"
            }
            async fn run(&self, _: &dyn TaskContext, _: Json) -> Result<Json> {
                Ok(Json::Null)
            }
        }
        assert!(TaskRegistry::new().register(Bad).is_err());
    }
}
