//! koji-core: the library behind koji-rs.
//!
//! - [`hub`]: the service. A [`hub::Hub`] holds the database pool, the
//!   content-store root and the configuration; its async methods are the API,
//!   grouped by area (`hub.users()`, `hub.tags()`, ...), each taking a
//!   [`hub::Caller`].
//! - [`api`]: upstream Koji's call surface (method names, positional and
//!   keyword parameters, defaults) bound onto the hub, shared by every
//!   transport that speaks upstream's protocol.
//! - [`xmlrpc`]: the XML-RPC codec in upstream's flavour (`<nil/>`, `<i8>`).
//! - [`db`]: connection, transactions and events, migrations, upstream's schema.
//! - [`error`]: one error enum carrying upstream's fault codes.
//! - [`model`]: plain types and state enums with upstream's numbers.
//! - [`mock`]: mock configuration as upstream's `genMockConfig` writes it.
//! - [`task`]: the [`task::TaskHandler`] trait builders and plugins
//!   implement, and the [`task::TaskRegistry`] of task methods.

pub mod api;
pub mod comps;
pub mod db;
pub mod error;
pub mod hub;
pub mod ini;
pub mod mock;
pub mod model;
pub mod multilib;
pub mod pathinfo;
pub mod policy;
pub mod task;
#[doc(hidden)]
pub mod testing;
pub mod util;
pub mod xmlrpc;

pub use error::{Error, Result};
pub use hub::{Caller, ClientCert, ClientTls, Hub, HubConfig};

/// The version of upstream Koji whose API this hub implements.
pub const KOJI_VERSION: &str = "1.35.0";
/// Upstream's `getAPIVersion` answer.
pub const API_VERSION: i64 = 1;
