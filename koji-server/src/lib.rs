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
use tokio_util::task::TaskTracker;

/// The whole HTTP surface of a hub. Every request runs to completion on a
/// task of its own, whether or not its client is still there (see
/// [`run_to_completion`]); `handlers` tracks those tasks.
pub fn router(hub: Hub) -> Router {
    router_tracked(hub, TaskTracker::new())
}

fn router_tracked(hub: Hub, handlers: TaskTracker) -> Router {
    let files = tower_files(hub.config().topdir.clone());
    Router::new()
        .merge(kojihub::router(hub.clone()))
        .merge(grpc::router(hub))
        .nest("/koji", koji_web::router())
        .nest_service("/kojifiles", files)
        .layer(axum::middleware::from_fn_with_state(
            handlers,
            run_to_completion,
        ))
}

/// How long a stopping hub waits for requests still being handled.
const DRAIN: std::time::Duration = std::time::Duration::from_secs(30);

/// Runs a request's handler on a task of its own. A client that goes away
/// (a task process killed by a cancel while it talks to the hub, a `koji`
/// interrupted with ^C) makes the server drop the future serving it; the
/// handler would then stop at whatever `.await` it had reached, between
/// two statements of a transaction or while one is on the wire, as
/// upstream's hub (mod_wsgi finishes a request whatever the client does)
/// never does. Detached, the call commits or rolls back as it would have,
/// and its database connection goes back to the pool in a known state.
/// A stopping hub waits for these tasks (up to [`DRAIN`]).
async fn run_to_completion(
    axum::extract::State(handlers): axum::extract::State<TaskTracker>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    let grpc = req
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"));
    match handlers.spawn(next.run(req)).await {
        Ok(resp) => resp,
        Err(e) => {
            tracing::error!(error = %e, "request handler failed");
            if grpc {
                // gRPC's INTERNAL, as tonic answers a failed handler
                (
                    [
                        (axum::http::header::CONTENT_TYPE, "application/grpc"),
                        (axum::http::HeaderName::from_static("grpc-status"), "13"),
                        (
                            axum::http::HeaderName::from_static("grpc-message"),
                            "internal error",
                        ),
                    ],
                    "",
                )
                    .into_response()
            } else {
                (
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                    "internal error",
                )
                    .into_response()
            }
        }
    }
}

/// Waits for the requests still being handled once serving has stopped.
async fn drain(handlers: &TaskTracker) {
    handlers.close();
    if tokio::time::timeout(DRAIN, handlers.wait()).await.is_err() {
        tracing::warn!(
            left = handlers.len(),
            "requests still being handled after {DRAIN:?}; stopping anyway"
        );
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
    let handlers = TaskTracker::new();
    let res = serve_router(router_tracked(hub, handlers.clone()), listener, shutdown).await;
    drain(&handlers).await;
    res
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
    let handlers = TaskTracker::new();
    let app = router_tracked(hub, handlers.clone());
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
    drain(&handlers).await;
    plain.and(secure)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::io::AsyncWriteExt as _;
    use tokio::sync::mpsc;

    /// What the handler says next (None after 10 s of silence).
    async fn next(rx: &mut mpsc::UnboundedReceiver<&'static str>) -> Option<&'static str> {
        tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await
            .ok()
            .flatten()
    }

    /// A handler whose client hangs up half-way still runs to its end; a
    /// stopping server waits for it.
    #[tokio::test]
    async fn a_call_whose_client_goes_away_still_completes() {
        for detached in [false, true] {
            // the handler says when it starts, when it ends, and when it is
            // dropped before its end
            let (tx, mut rx) = mpsc::unbounded_channel::<&'static str>();
            struct Guard(mpsc::UnboundedSender<&'static str>, bool);
            impl Drop for Guard {
                fn drop(&mut self) {
                    if !self.1 {
                        let _ = self.0.send("dropped");
                    }
                }
            }
            let mut app = Router::new().route(
                "/slow",
                axum::routing::post(move || {
                    let tx = tx.clone();
                    async move {
                        let mut guard = Guard(tx.clone(), false);
                        let _ = tx.send("started");
                        // long enough for the server to see the client gone
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        guard.1 = true;
                        let _ = tx.send("finished");
                        "ok"
                    }
                }),
            );
            let handlers = TaskTracker::new();
            if detached {
                app = app.layer(axum::middleware::from_fn_with_state(
                    handlers.clone(),
                    run_to_completion,
                ));
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
            assert_eq!(next(&mut rx).await, Some("started"));
            drop(conn);
            let end = if detached { "finished" } else { "dropped" };
            assert_eq!(next(&mut rx).await, Some(end), "detached: {detached}");
            let _ = stop.send(());
            let _ = server.await;
            drain(&handlers).await;
        }
    }
}
