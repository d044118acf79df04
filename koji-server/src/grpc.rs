//! The native gRPC API (koji-proto), served on the same port as XML-RPC.
//! Like every transport, it only converts: the answers come from the hub.

use axum::extract::ConnectInfo;
use koji_core::hub::auth::Credentials;
use koji_core::Hub;
use koji_proto::v1::builder_server::{Builder, BuilderServer};
use koji_proto::v1::hub_server::{Hub as HubService, HubServer};
use koji_proto::v1::{HelloReply, HelloRequest, TaskEvent, WatchTasksRequest};
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;
use tonic::{Request, Response, Status};

pub struct GrpcHub {
    hub: Hub,
}

#[tonic::async_trait]
impl HubService for GrpcHub {
    async fn hello(&self, _req: Request<HelloRequest>) -> Result<Response<HelloReply>, Status> {
        Ok(Response::new(HelloReply {
            greeting: "Hello World".into(),
            koji_version: koji_core::KOJI_VERSION.into(),
            api_version: koji_core::API_VERSION,
        }))
    }
}

/// A hub error as a gRPC status (the fault text is kept).
fn status(e: koji_core::Error) -> Status {
    match e.fault_code() {
        1002 | 1006 | 1007 => Status::unauthenticated(e.to_string()),
        1004 => Status::permission_denied(e.to_string()),
        _ => Status::internal(e.to_string()),
    }
}

type EventStream = Pin<Box<dyn futures::Stream<Item = Result<TaskEvent, Status>> + Send>>;

#[tonic::async_trait]
impl Builder for GrpcHub {
    type WatchTasksStream = EventStream;

    async fn watch_tasks(
        &self,
        req: Request<WatchTasksRequest>,
    ) -> Result<Response<Self::WatchTasksStream>, Status> {
        // sessions are bound to the client's address: no address, no session
        let ip = req
            .extensions()
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| c.0.ip().to_string())
            .ok_or_else(|| Status::unauthenticated("the client's address is unknown"))?;
        let r = req.into_inner();
        let creds = Credentials {
            session_id: r.session_id,
            session_key: r.session_key,
            callnum: None,
        };
        let caller = self
            .hub
            .auth()
            .authenticate(&creds, &ip, "host.getID")
            .await
            .map_err(status)?;
        // only a host may follow its tasks
        self.hub.host_api().get_id(&caller).await.map_err(status)?;
        let hub = self.hub.clone();
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tokio::spawn(async move {
            let mut events = hub.task_events().subscribe();
            let mut generation = hub.db().generation();
            let mut last = None;
            loop {
                let state = match hub.host_api().watch_state(&caller).await {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = tx.send(Err(status(e))).await;
                        return;
                    }
                };
                if last.as_ref() != Some(&state) {
                    let ev = TaskEvent {
                        assigned: state.0.clone(),
                        open: state.1.clone(),
                    };
                    if tx.send(Ok(ev)).await.is_err() {
                        return; // the builder went away
                    }
                    last = Some(state);
                }
                // this hub's task changes wake at once; other hubs' commits
                // (PostgreSQL) are seen through the database generation
                loop {
                    tokio::select! {
                        r = events.changed() => {
                            if r.is_err() {
                                return;
                            }
                            break;
                        }
                        _ = tokio::time::sleep(Duration::from_millis(250)) => {
                            let g = hub.db().generation();
                            if g != generation {
                                generation = g;
                                break;
                            }
                        }
                        _ = tx.closed() => return,
                    }
                }
            }
        });
        Ok(Response::new(Box::pin(tokio_stream_from(rx))))
    }
}

/// A stream of what `rx` receives.
fn tokio_stream_from<T: Send + 'static>(
    rx: tokio::sync::mpsc::Receiver<T>,
) -> impl futures::Stream<Item = T> + Send {
    futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|v| (v, rx)) })
}

/// The gRPC services as an axum router.
pub fn router(hub: Hub) -> axum::Router {
    tonic::service::Routes::new(HubServer::new(GrpcHub { hub: hub.clone() }))
        .add_service(BuilderServer::new(GrpcHub { hub }))
        .into_axum_router()
}
