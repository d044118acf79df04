//! The native gRPC API (koji-proto), served on the same port as XML-RPC.
//! Like every transport, it only converts: the answers come from the hub.

use axum::extract::ConnectInfo;
use koji_core::hub::auth::Credentials;
use koji_core::Caller;
use koji_core::Hub;
use koji_proto::v1::builder_server::{Builder, BuilderServer};
use koji_proto::v1::host_server::{Host, HostServer};
use koji_proto::v1::hub_server::{Hub as HubService, HubServer};
use koji_proto::v1::{
    Empty, FinishTaskRequest, FreeTasksRequest, HelloReply, HelloRequest, OpenTaskReply,
    RefuseTaskRequest, Session, SetTaskWeightRequest, Task, TaskEvent, TaskList, TaskRef,
    UpdateHostRequest, WatchTasksRequest,
};
use serde_json::{json, Value as Json};
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

/// A hub error as a gRPC status: the fault text, and upstream's fault
/// code in the `koji-fault-code` metadata.
fn status(e: koji_core::Error) -> Status {
    let code = e.fault_code();
    let mut st = match code {
        1002 | 1006 | 1007 => Status::unauthenticated(e.to_string()),
        1004 => Status::permission_denied(e.to_string()),
        _ => Status::internal(e.to_string()),
    };
    st.metadata_mut().insert(
        "koji-fault-code",
        tonic::metadata::MetadataValue::from(code),
    );
    st
}

/// The caller of a request made with a host session: the session must be
/// valid for the client's address (sessions are bound to it) and belong
/// to a host.
async fn host_caller<T>(
    hub: &Hub,
    req: &Request<T>,
    session: Option<&Session>,
    method: &str,
) -> Result<Caller, Status> {
    let ip = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip().to_string())
        .ok_or_else(|| Status::unauthenticated("the client's address is unknown"))?;
    let s = session.ok_or_else(|| Status::unauthenticated("no session"))?;
    let creds = Credentials {
        session_id: s.session_id,
        session_key: s.session_key.clone(),
        callnum: None,
    };
    let caller = hub
        .auth()
        .authenticate(&creds, &ip, method)
        .await
        .map_err(status)?;
    hub.host_api().get_id(&caller).await.map_err(status)?;
    Ok(caller)
}

/// A task as the hub's host calls describe it.
fn task_of(j: &Json) -> Task {
    Task {
        id: j["id"].as_i64().unwrap_or_default(),
        method: j["method"].as_str().unwrap_or_default().to_string(),
        state: j["state"].as_i64().unwrap_or_default(),
        host_id: j["host_id"].as_i64(),
        weight: j["weight"].as_f64().unwrap_or_default(),
        waiting: j["waiting"].as_bool(),
        alert: j["alert"] == json!(true),
        arch: j["arch"].as_str().unwrap_or_default().to_string(),
        channel_id: j["channel_id"].as_i64().unwrap_or_default(),
        priority: j["priority"].as_i64().unwrap_or_default(),
        parent: j["parent"].as_i64(),
    }
}

fn tasks(list: Vec<Json>) -> TaskList {
    TaskList {
        tasks: list.iter().map(task_of).collect(),
    }
}

#[tonic::async_trait]
impl Host for GrpcHub {
    async fn update_host(
        &self,
        req: Request<UpdateHostRequest>,
    ) -> Result<Response<Empty>, Status> {
        let caller = host_caller(
            &self.hub,
            &req,
            req.get_ref().session.as_ref(),
            "host.updateHost",
        )
        .await?;
        let r = req.into_inner();
        let data = json!({"methods": r.methods, "maxjobs": r.maxjobs});
        self.hub
            .host_api()
            .update_host(&caller, &json!(r.task_load), &json!(r.ready), &data)
            .await
            .map_err(status)?;
        Ok(Response::new(Empty {}))
    }

    async fn get_tasks(&self, req: Request<Session>) -> Result<Response<TaskList>, Status> {
        let caller = host_caller(&self.hub, &req, Some(req.get_ref()), "host.getTasks").await?;
        let list = self
            .hub
            .host_api()
            .get_tasks(&caller)
            .await
            .map_err(status)?;
        Ok(Response::new(tasks(list)))
    }

    async fn get_host_tasks(&self, req: Request<Session>) -> Result<Response<TaskList>, Status> {
        let caller = host_caller(&self.hub, &req, Some(req.get_ref()), "host.getHostTasks").await?;
        let list = self
            .hub
            .host_api()
            .get_host_tasks(&caller)
            .await
            .map_err(status)?;
        Ok(Response::new(tasks(list)))
    }

    async fn open_task(&self, req: Request<TaskRef>) -> Result<Response<OpenTaskReply>, Status> {
        let caller = host_caller(
            &self.hub,
            &req,
            req.get_ref().session.as_ref(),
            "host.openTask",
        )
        .await?;
        let id = req.get_ref().task_id;
        let info = self
            .hub
            .host_api()
            .open_task(&caller, &json!(id))
            .await
            .map_err(status)?;
        Ok(Response::new(if info.is_null() {
            OpenTaskReply::default()
        } else {
            OpenTaskReply {
                opened: true,
                task: Some(task_of(&info)),
                request: info["request"].as_str().unwrap_or_default().to_string(),
            }
        }))
    }

    async fn set_task_weight(
        &self,
        req: Request<SetTaskWeightRequest>,
    ) -> Result<Response<Empty>, Status> {
        let caller = host_caller(
            &self.hub,
            &req,
            req.get_ref().session.as_ref(),
            "host.setTaskWeight",
        )
        .await?;
        let r = req.into_inner();
        self.hub
            .host_api()
            .set_task_weight(&caller, &json!(r.task_id), &json!(r.weight))
            .await
            .map_err(status)?;
        Ok(Response::new(Empty {}))
    }

    async fn refuse_task(
        &self,
        req: Request<RefuseTaskRequest>,
    ) -> Result<Response<Empty>, Status> {
        let caller = host_caller(
            &self.hub,
            &req,
            req.get_ref().session.as_ref(),
            "host.refuseTask",
        )
        .await?;
        let r = req.into_inner();
        self.hub
            .host_api()
            .refuse_task(&caller, &json!(r.task_id), r.soft, &json!(r.msg))
            .await
            .map_err(status)?;
        Ok(Response::new(Empty {}))
    }

    async fn free_tasks(&self, req: Request<FreeTasksRequest>) -> Result<Response<Empty>, Status> {
        let caller = host_caller(
            &self.hub,
            &req,
            req.get_ref().session.as_ref(),
            "host.freeTasks",
        )
        .await?;
        let r = req.into_inner();
        self.hub
            .host_api()
            .free_tasks(&caller, &json!(r.task_ids))
            .await
            .map_err(status)?;
        Ok(Response::new(Empty {}))
    }

    async fn fail_task(&self, req: Request<FinishTaskRequest>) -> Result<Response<Empty>, Status> {
        self.finish(req, true).await
    }

    async fn close_task(&self, req: Request<FinishTaskRequest>) -> Result<Response<Empty>, Status> {
        self.finish(req, false).await
    }
}

impl GrpcHub {
    async fn finish(
        &self,
        req: Request<FinishTaskRequest>,
        failed: bool,
    ) -> Result<Response<Empty>, Status> {
        let method = if failed {
            "host.failTask"
        } else {
            "host.closeTask"
        };
        let caller = host_caller(&self.hub, &req, req.get_ref().session.as_ref(), method).await?;
        let r = req.into_inner();
        self.hub
            .host_api()
            .finish_task(&caller, &json!(r.task_id), &json!(r.response), failed)
            .await
            .map_err(status)?;
        Ok(Response::new(Empty {}))
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
        .add_service(BuilderServer::new(GrpcHub { hub: hub.clone() }))
        .add_service(HostServer::new(GrpcHub { hub }))
        .into_axum_router()
}
