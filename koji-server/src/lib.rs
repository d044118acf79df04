//! The hub process: one axum router on one port.
//!
//! - `/kojihub`   XML-RPC in upstream's flavour ([`kojihub`])
//! - `/koji/`     the web UI (koji-web)
//! - `/kojifiles/` the content store, read-only
//! - gRPC (`/koji.v1.Hub/...`) the native typed API
//!
//! Handlers convert between the wire and koji-core's types; every decision
//! is made by [`koji_core::Hub`].

pub mod builder;
mod files;
pub mod grpc;
pub mod kojihub;
pub mod tls;

use axum::Router;
use koji_core::Hub;
use std::net::SocketAddr;

/// The whole HTTP surface of a hub.
pub fn router(hub: Hub) -> Router {
    let files = tower_files(hub.config().topdir.clone());
    Router::new()
        .merge(kojihub::router(hub.clone()))
        .merge(grpc::router(hub))
        .nest("/koji", koji_web::router())
        .nest_service("/kojifiles", files)
}

/// The content store, read-only (see [`files`]).
fn tower_files(topdir: std::path::PathBuf) -> Router {
    files::router(topdir)
}

/// Serves `hub` on `listener` until `shutdown` resolves.
pub async fn serve(
    hub: Hub,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_router(router(hub), listener, shutdown).await
}

async fn serve_router(
    app: Router,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt as _;
    // no Nagle: a gRPC answer goes out as several writes (headers, data,
    // trailers), and waiting for the client's delayed ACK between them
    // cost each call 40 ms
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// Serves `hub` on `listener` and, when given, over HTTPS on `tls` (see
/// [`tls`]), until `shutdown` resolves.
pub async fn serve_with_tls(
    hub: Hub,
    listener: tokio::net::TcpListener,
    tls: Option<tls::TlsListener>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let Some(tls) = tls else {
        return serve(hub, listener, shutdown).await;
    };
    let app = router(hub);
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.changed().await;
    };
    tokio::spawn(async move {
        shutdown.await;
        let _ = tx.send(true);
    });
    let (plain, secure) = tokio::join!(
        serve_router(app.clone(), listener, stopped(rx.clone())),
        tls::serve(app, tls, stopped(rx)),
    );
    plain.and(secure)
}
