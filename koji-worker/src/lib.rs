//! kojid, the builder: takes tasks from a hub and runs them.
//!
//! - [`client`]: the hub's XML-RPC endpoint as upstream's client uses it
//!   (sessions, call numbers, keyword arguments, raw uploads).
//! - [`config`]: upstream's `kojid.conf` options that apply.
//! - [`daemon`]: the main loop (upstream's TaskManager): checks in with
//!   `host.updateHost`, takes assigned tasks (`host.getTasks`,
//!   `host.openTask`), runs each in its own child process on its own
//!   subsession, notices canceled or reassigned tasks and kills their
//!   process group, frees its tasks when it stops.
//! - [`runner`]: what the child process does: runs the task's handler in
//!   its own working directory and closes or fails the task with
//!   upstream's encodings; [`runner::TaskCtx`] gives handlers subtasks,
//!   waits, uploads and logs that stream while they grow.
//! - [`push`]: the hub's `Builder.WatchTasks` gRPC stream, which wakes
//!   the daemon the moment tasks are assigned or canceled (polling every
//!   `sleeptime` stays as the fallback).
//! - [`handlers`]: `build`, `buildSRPMFromSCM`, `buildArch`, `tagBuild`,
//!   `dependantTask`, `waitrepo`, `newRepo`, `createrepo`, `sleep`, as
//!   [`koji_core::task::TaskHandler`]s.
//! - [`buildroot`]: buildroots from a tag's repo (the `build` group and
//!   BuildRequires resolved against the repo's metadata, unpacked and
//!   layered over the builder's own system).
//! - [`cli`]: the `kojid` program; a plugin's own kojid is
//!   `koji_worker::cli::main(registry)` with the built-ins plus its
//!   handlers (see `examples/hello-plugin`).

pub mod buildroot;
pub mod cli;
pub mod client;
pub mod config;
pub mod daemon;
pub mod handlers;
pub mod host_link;
pub mod push;
pub mod repodata;
pub mod runner;
