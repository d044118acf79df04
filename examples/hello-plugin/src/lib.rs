//! An example task plugin for koji-rs.
//!
//! It adds two task types to a builder:
//!
//! - `hello(name, count=1, fail=False)`: the parent. It writes `hello.log`
//!   (streamed to the task's output while it runs), asks the hub for its
//!   API version, makes `count` `helloPart` subtasks, waits for all of
//!   them and answers a greeting with their results. With `fail` it fails
//!   with upstream's `BuildError`.
//! - `helloPart(name, index)`: writes `part-INDEX.txt`, uploads it and
//!   answers where it went.
//!
//! The hub needs nothing: any task method can be created with `makeTask`
//! (admin), and the scheduler gives it to a host whose builder runs it.
//! `kojid-hello` (src/main.rs) is kojid with these handlers registered.

use koji_core::task::{TaskContext, TaskHandler, TaskRegistry};
use koji_core::{Error, Result};
use serde::Deserialize;
use serde_json::{json, Value as Json};
use std::io::Write as _;

/// The `hello` parent task.
pub struct Hello;

#[derive(Deserialize)]
pub struct HelloParams {
    pub name: String,
    pub count: u32,
    pub fail: bool,
}

impl TaskHandler for Hello {
    type Params = HelloParams;

    fn signature(&self) -> &'static str {
        "hello(name, count=1, fail=False)"
    }

    fn weight(&self) -> f64 {
        0.2
    }

    async fn run(&self, ctx: &dyn TaskContext, p: HelloParams) -> Result<Json> {
        let log_path = ctx.workdir().join("hello.log");
        ctx.stream_log(&log_path).await?;
        let mut log = std::fs::OpenOptions::new().append(true).open(&log_path)?;
        writeln!(log, "greeting {} in {} parts", p.name, p.count)?;
        if p.fail {
            writeln!(log, "{} does not want to be greeted", p.name)?;
            return Err(Error::Build(format!("{} refused to be greeted", p.name)));
        }
        let api = ctx.call("getAPIVersion", vec![]).await?;
        let mut parts = vec![];
        for i in 0..p.count {
            let id = ctx
                .subtask(
                    "helloPart",
                    vec![json!(p.name), json!(i)],
                    json!({"label": format!("part{i}")}),
                )
                .await?;
            writeln!(log, "part {i} is task {id}")?;
            parts.push(id);
        }
        let results = ctx.wait_all(&parts, true).await?;
        writeln!(log, "all {} parts done", results.len())?;
        Ok(json!({
            "greeting": format!("Hello, {}!", p.name),
            "api_version": api,
            "parts": results.into_iter().map(|(_, r)| r).collect::<Vec<_>>(),
        }))
    }
}

/// The `helloPart` subtask.
pub struct HelloPart;

#[derive(Deserialize)]
pub struct HelloPartParams {
    pub name: String,
    pub index: u32,
}

impl TaskHandler for HelloPart {
    type Params = HelloPartParams;

    fn signature(&self) -> &'static str {
        "helloPart(name, index)"
    }

    async fn run(&self, ctx: &dyn TaskContext, p: HelloPartParams) -> Result<Json> {
        let log_path = ctx.workdir().join("part.log");
        ctx.stream_log(&log_path).await?;
        let file = ctx.workdir().join(format!("part-{}.txt", p.index));
        std::fs::write(&file, format!("part {} of {}\n", p.index, p.name))?;
        let uploaded = ctx.upload(&file).await?;
        std::fs::write(&log_path, format!("uploaded {uploaded}\n"))?;
        Ok(json!({"index": p.index, "file": uploaded}))
    }
}

/// The plugin's handlers.
pub fn registry() -> TaskRegistry {
    let mut r = TaskRegistry::new();
    // distinct names: cannot clash
    let _ = r.register(Hello);
    let _ = r.register(HelloPart);
    r
}
