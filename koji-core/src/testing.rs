//! Test support shared by koji-core's and the other crates' tests: a fresh
//! hub on a temporary SQLite file and one on a new PostgreSQL database.
//!
//! PostgreSQL is found at `KOJI_TEST_PG` (default
//! `postgres://postgres@127.0.0.1:5432/test`); each hub gets its own
//! database, dropped when the [`TestHub`] is dropped. Set
//! `KOJI_TEST_NO_POSTGRES=1` to run on SQLite alone; otherwise an
//! unreachable PostgreSQL fails the test with a clear message.

use crate::api::{Ctx, Registry};
use crate::db::Backend;
use crate::error::{Error, Result};
use crate::hub::auth::Credentials;
use crate::{Caller, Hub, HubConfig};
use sea_orm::ConnectionTrait;
use serde_json::Value as Json;
use std::sync::Arc;

/// The PostgreSQL server tests use.
pub fn pg_admin_url() -> String {
    std::env::var("KOJI_TEST_PG")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_string())
}

/// Whether tests should skip PostgreSQL.
pub fn skip_postgres() -> bool {
    std::env::var("KOJI_TEST_NO_POSTGRES").is_ok_and(|v| !v.is_empty() && v != "0")
}

/// The backends every integration test runs on.
pub fn backends() -> Vec<Backend> {
    if skip_postgres() {
        vec![Backend::Sqlite]
    } else {
        vec![Backend::Sqlite, Backend::Postgres]
    }
}

/// A fresh, migrated, empty database of `backend`; returns its URL and a
/// guard that removes it.
pub async fn fresh_db(backend: Backend) -> Result<(String, DbGuard)> {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    let unique = format!("koji_t_{}_{}", std::process::id(), n);
    match backend {
        Backend::Sqlite => {
            let dir = tempfile::tempdir()?;
            let path = dir.path().join("koji.db");
            Ok((format!("sqlite://{}", path.display()), DbGuard::Sqlite(dir)))
        }
        Backend::Postgres => {
            let admin = pg_admin_url();
            let conn = sea_orm::Database::connect(&admin).await.map_err(|e| {
                Error::Configuration(format!(
                    "PostgreSQL is not reachable at {admin} ({e}); start it or set KOJI_TEST_NO_POSTGRES=1"
                ))
            })?;
            conn.execute_unprepared(&format!("CREATE DATABASE {unique}"))
                .await?;
            let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
            Ok((
                format!("{base}/{unique}"),
                DbGuard::Postgres {
                    admin,
                    name: unique,
                },
            ))
        }
    }
}

/// Removes a test database when dropped.
pub enum DbGuard {
    Sqlite(tempfile::TempDir),
    Postgres { admin: String, name: String },
}

impl Drop for DbGuard {
    fn drop(&mut self) {
        if let DbGuard::Postgres { admin, name } = self {
            let (admin, name) = (admin.clone(), name.clone());
            // best effort, on a thread of its own: we may be inside a runtime
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build();
                if let Ok(rt) = rt {
                    rt.block_on(async {
                        if let Ok(c) = sea_orm::Database::connect(&admin).await {
                            let _ = c
                                .execute_unprepared(&format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                ))
                                .await;
                        }
                    });
                }
            })
            .join();
        }
    }
}

/// A hub on a fresh database, with an `admin` user (password `admin`).
pub struct TestHub {
    pub hub: Hub,
    pub backend: Backend,
    pub url: String,
    _guard: DbGuard,
    _topdir: tempfile::TempDir,
}

impl TestHub {
    pub async fn new(backend: Backend) -> Result<TestHub> {
        TestHub::new_with(backend, |_| {}).await
    }

    /// A hub whose configuration `tune` adjusts first.
    pub async fn new_with(backend: Backend, tune: impl Fn(&mut HubConfig)) -> Result<TestHub> {
        let (url, guard) = fresh_db(backend).await?;
        let topdir = tempfile::tempdir()?;
        let mut config = HubConfig {
            topdir: topdir.path().to_path_buf(),
            ..HubConfig::default()
        };
        // tests run the scheduler whenever a host asks
        config.scheduler.run_interval = 0.0;
        tune(&mut config);
        let hub = Hub::open(&url, config).await?;
        hub.users().bootstrap_admin("admin", "admin").await?;
        Ok(TestHub {
            hub,
            backend,
            url,
            _guard: guard,
            _topdir: topdir,
        })
    }

    /// One hub per backend of [`backends`].
    pub async fn each() -> Result<Vec<TestHub>> {
        let mut out = vec![];
        for b in backends() {
            out.push(TestHub::new(b).await?);
        }
        Ok(out)
    }

    /// Logs `user` in with `password`, as a client at 127.0.0.1 would.
    pub async fn login(&self, user: &str, password: &str) -> Result<Caller> {
        self.hub
            .auth()
            .login_caller(user, password, "127.0.0.1")
            .await
    }

    /// The admin's session.
    pub async fn admin(&self) -> Result<Caller> {
        self.login("admin", "admin").await
    }

    /// Creates a normal user with `password` and the given permissions.
    pub async fn user(&self, name: &str, password: &str, perms: &[&str]) -> Result<Caller> {
        let id = self.hub.users().insert_user(name, 0, 0, None).await?;
        self.hub.auth().set_password(name, password).await?;
        for p in perms {
            let perm = self
                .hub
                .users()
                .lookup_perm(&Json::from(*p))
                .await?
                .ok_or_else(|| Error::Generic(format!("no permission {p}")))?;
            self.hub.users().insert_perm(id, perm.id, id).await?;
        }
        self.login(name, password).await
    }

    /// Registers build host `name` (arches as `addHost` takes them), logs
    /// it in with an exclusive session, as a builder does.
    pub async fn host(&self, name: &str, arches: &[&str]) -> Result<Caller> {
        let admin = self.admin().await?;
        self.call(&admin, "addHost", serde_json::json!([name, arches]))
            .await?;
        self.hub.auth().set_password(name, name).await?;
        let caller = self.login(name, name).await?;
        self.hub.auth().exclusive_session(&caller, false).await?;
        let s = caller
            .session
            .as_ref()
            .ok_or_else(|| Error::Generic("no session".into()))?;
        self.hub
            .auth()
            .authenticate(
                &Credentials {
                    session_id: s.id,
                    session_key: s.key.clone(),
                    callnum: None,
                },
                "127.0.0.1",
                "host.getID",
            )
            .await
    }

    /// Calls an upstream API method as `caller`, with XML-RPC style
    /// parameters (use [`kw`] for keyword arguments).
    pub async fn call(&self, caller: &Caller, method: &str, params: Json) -> Result<Json> {
        let params = match params {
            Json::Array(a) => a,
            Json::Null => vec![],
            other => vec![other],
        };
        let ctx = Ctx {
            hub: self.hub.clone(),
            caller: Arc::new(caller.clone()),
        };
        Registry::standard().dispatch(ctx, method, params).await
    }

    /// A label for assertion messages.
    pub fn label(&self) -> &'static str {
        match self.backend {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Marks a JSON object as keyword arguments (`__starstar`).
pub fn kw(v: Json) -> Json {
    match v {
        Json::Object(mut m) => {
            m.insert("__starstar".into(), Json::Bool(true));
            Json::Object(m)
        }
        other => other,
    }
}
