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

/// The whole HTTP surface of a hub. Every request runs to completion on a
/// task of its own, whether or not its client is still there (see
/// [`run_to_completion`]).
pub fn router(hub: Hub) -> Router {
    let files = tower_files(hub.config().topdir.clone());
    Router::new()
        .merge(kojihub::router(hub.clone()))
        .merge(grpc::router(hub))
        .nest("/koji", koji_web::router())
        .nest_service("/kojifiles", files)
        .layer(axum::middleware::from_fn(run_to_completion))
}

/// Runs a request's handler on a task of its own. A client that goes away
/// (a task process killed by a cancel while it talks to the hub, a `koji`
/// interrupted with ^C) makes the server drop the future serving it; the
/// handler would then stop at whatever `.await` it had reached, between
/// two statements of a transaction or while one is on the wire, as
/// upstream's hub (mod_wsgi finishes a request whatever the client does)
/// never does. Detached, the call commits or rolls back as it would have,
/// and its database connection goes back to the pool in a known state.
async fn run_to_completion(
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    match tokio::spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "request handler failed");
            (
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "internal error",
            )
                .into_response()
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Arc;
    use tokio::io::AsyncWriteExt as _;

    /// A handler whose client hangs up half-way still runs to its end.
    #[tokio::test]
    async fn a_call_whose_client_goes_away_still_completes() {
        for detached in [false, true] {
            let done = Arc::new(AtomicBool::new(false));
            let flag = done.clone();
            let mut app = Router::new().route(
                "/slow",
                axum::routing::post(move || {
                    let flag = flag.clone();
                    async move {
                        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
                        flag.store(true, Ordering::SeqCst);
                        "ok"
                    }
                }),
            );
            if detached {
                app = app.layer(axum::middleware::from_fn(run_to_completion));
            }
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(serve_router(app, listener, async {
                let _ = stopped.await;
            }));
            let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
            conn.write_all(b"POST /slow HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n")
                .await
                .unwrap();
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
            drop(conn);
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
            assert_eq!(
                done.load(Ordering::SeqCst),
                detached,
                "detached: {detached} (without the layer the server drops the handler)"
            );
            let _ = stop.send(());
            let _ = server.await;
        }
    }
}
