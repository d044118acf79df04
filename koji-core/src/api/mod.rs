//! Upstream Koji's call surface: method names, parameters (positional or
//! keyword, with upstream's defaults) and the binding of each call onto the
//! hub. Every transport that speaks upstream's protocol dispatches through a
//! [`Registry`]; the registry decides nothing itself.
//!
//! Values are `serde_json::Value`: the XML-RPC codec converts to and from it.

mod args;
mod methods;

pub use args::{py_type as py_type_of, truthy, Args, Param, Spec};

use crate::error::{Error, Result};
use crate::hub::{Caller, Hub};
use futures::future::BoxFuture;
use serde::Serialize;
use serde_json::{json, Value as Json};
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// What a method handler receives besides its arguments.
#[derive(Clone)]
pub struct Ctx {
    pub hub: Hub,
    pub caller: Arc<Caller>,
}

/// What a method implementation returns.
pub type HandlerFuture = BoxFuture<'static, Result<Json>>;

/// A method implementation.
pub type Handler = fn(Ctx, Args) -> HandlerFuture;

/// One method of the API.
pub struct Method {
    pub name: String,
    pub spec: Spec,
    pub doc: &'static str,
    pub handler: Handler,
    /// A pure read of data that only changes through committed transactions:
    /// its answers may be served from the hub's result cache.
    pub cacheable: bool,
}

/// The methods a hub answers, by name.
#[derive(Default)]
pub struct Registry {
    methods: BTreeMap<String, Method>,
}

impl Registry {
    /// The registry with every method koji-rs implements.
    pub fn standard() -> &'static Registry {
        static REG: OnceLock<Registry> = OnceLock::new();
        REG.get_or_init(|| {
            let mut r = Registry::default();
            methods::register(&mut r);
            r
        })
    }

    /// Adds a method from its upstream signature, e.g.
    /// `"getTag(tagInfo, strict=False, event=None, blocked=False)"`.
    pub fn add(&mut self, signature: &str, doc: &'static str, handler: Handler) {
        let spec = match Spec::parse(signature) {
            Ok(s) => s,
            Err(e) => panic!("bad signature {signature:?}: {e}"),
        };
        let name = spec.name.clone();
        assert!(
            !self.methods.contains_key(&name),
            "method {name} registered twice"
        );
        self.methods.insert(
            name.clone(),
            Method {
                name,
                spec,
                doc,
                handler,
                cacheable: false,
            },
        );
    }

    /// Declares `names` pure reads whose answers may be cached.
    pub fn mark_cacheable(&mut self, names: &[&str]) {
        for n in names {
            match self.methods.get_mut(*n) {
                Some(m) => m.cacheable = true,
                None => panic!("mark_cacheable: no method {n}"),
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Method> {
        self.methods.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.methods.keys().map(String::as_str)
    }

    pub fn methods(&self) -> impl Iterator<Item = &Method> {
        self.methods.values()
    }

    /// Calls `name` with XML-RPC style parameters (a trailing struct with
    /// `__starstar` carries keyword arguments). Unknown methods fail as
    /// upstream's do: `GenericError: Invalid method: NAME`.
    pub async fn call(&self, ctx: Ctx, name: &str, params: Vec<Json>) -> Result<Json> {
        self.call_shared(ctx, name, params)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`Registry::call`], the answer shared with the result cache (no copy
    /// of a cached or cacheable answer is made).
    pub async fn call_shared(&self, ctx: Ctx, name: &str, params: Vec<Json>) -> Result<Arc<Json>> {
        let method = self
            .get(name)
            .ok_or_else(|| Error::Generic(format!("Invalid method: {name}")))?;
        if !method.cacheable {
            let args = method.spec.bind(params)?;
            return (method.handler)(ctx, args).await.map(Arc::new);
        }
        // read the generation first: a commit racing with the computation
        // then leaves an entry nobody will read again, never a stale hit
        let generation = ctx.hub.db().generation();
        let key = format!("{name}\0{}", Json::Array(params.clone()));
        if let Some(hit) = ctx.hub.results().get(&key, generation) {
            return Ok(hit);
        }
        let args = method.spec.bind(params)?;
        let hub = ctx.hub.clone();
        let value = Arc::new((method.handler)(ctx, args).await?);
        let weight = match &*value {
            Json::Array(items) => items.len(),
            _ => 1,
        };
        hub.results()
            .put_weighted(key, generation, value.clone(), weight);
        Ok(value)
    }

    /// Dispatches one XML-RPC call, handling `multiCall`/`system.multicall`
    /// here: each inner call runs in turn and its fault is reported in place
    /// (`{faultCode, faultString}`) while a success is wrapped in a list.
    pub async fn dispatch(&self, ctx: Ctx, name: &str, params: Vec<Json>) -> Result<Json> {
        self.dispatch_shared(ctx, name, params)
            .await
            .map(Arc::unwrap_or_clone)
    }

    /// [`Registry::dispatch`], the answer shared with the result cache:
    /// what a transport encodes from, without copying it first.
    pub async fn dispatch_shared(
        &self,
        ctx: Ctx,
        name: &str,
        params: Vec<Json>,
    ) -> Result<Arc<Json>> {
        if name == "multiCall" || name == "system.multicall" {
            let calls = match params.into_iter().next() {
                Some(Json::Array(calls)) => calls,
                _ => {
                    return Err(Error::Parameter(
                        "multiCall() expects a list of calls".into(),
                    ))
                }
            };
            let mut out = Vec::with_capacity(calls.len());
            for call in calls {
                let res = match call {
                    Json::Object(mut m) => {
                        let name = m
                            .remove("methodName")
                            .and_then(|v| v.as_str().map(str::to_owned))
                            .unwrap_or_default();
                        let params = match m.remove("params") {
                            Some(Json::Array(p)) => p,
                            _ => vec![],
                        };
                        self.call_one(ctx.clone(), &name, params)
                            .await
                            .map(Arc::unwrap_or_clone)
                    }
                    _ => Err(Error::Generic("multicall entries must be structs".into())),
                };
                out.push(match res {
                    Ok(v) => Json::Array(vec![v]),
                    Err(e) => json!({"faultCode": e.fault_code(), "faultString": e.to_string()}),
                });
            }
            return Ok(Arc::new(Json::Array(out)));
        }
        self.call_one(ctx, name, params).await
    }

    async fn call_one(&self, ctx: Ctx, name: &str, params: Vec<Json>) -> Result<Arc<Json>> {
        crate::hub::Auth::enforce_lock(&ctx.caller, name)?;
        self.call_shared(ctx, name, params).await
    }

    /// `_listapi`: upstream's description of every method.
    pub fn listapi(&self) -> Json {
        Json::Array(
            self.methods
                .values()
                .map(|m| {
                    json!({
                        "name": m.name,
                        "doc": if m.doc.is_empty() { Json::Null } else { Json::from(m.doc) },
                        "argspec": m.spec.argspec(),
                        "argdesc": m.spec.argdesc(),
                        "args": m.spec.args_list(),
                    })
                })
                .collect(),
        )
    }
}

/// Serializes a handler's answer. An answer that is already a JSON value
/// is passed on as it is: `to_value` would copy it element by element
/// (for a whole tag's listing, tens of thousands of maps).
pub fn ok<T: Serialize + 'static>(v: T) -> Result<Json> {
    let mut slot = Some(v);
    if let Some(json) = (&mut slot as &mut dyn std::any::Any).downcast_mut::<Option<Json>>() {
        return Ok(json.take().unwrap_or_default());
    }
    match slot {
        Some(v) => Ok(serde_json::to_value(v)?),
        None => Ok(Json::Null),
    }
}
