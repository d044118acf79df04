//! The host calls of the builder's main loop (upstream's TaskManager):
//! over our hub's gRPC `Host` service, or over XML-RPC `host.*` when the
//! hub does not offer it (an upstream hub). Either way the hub applies the
//! same rules (koji-core's host API).

use crate::client::{kw, Fault, Hub};
use anyhow::Result;
use koji_proto::v1::host_client::HostClient;
use koji_proto::v1::{
    FinishTaskRequest, FreeTasksRequest, RefuseTaskRequest, Session, SetTaskWeightRequest, TaskRef,
    UpdateHostRequest,
};
use serde_json::{json, Value as Json};
use tonic::transport::Channel;

/// A task as the loop sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct TaskBrief {
    pub id: i64,
    pub method: String,
    pub state: i64,
    pub host_id: Option<i64>,
    pub weight: f64,
    pub waiting: bool,
}

impl TaskBrief {
    fn from_json(j: &Json) -> TaskBrief {
        TaskBrief {
            id: j["id"].as_i64().unwrap_or_default(),
            method: j["method"].as_str().unwrap_or_default().to_string(),
            state: j["state"].as_i64().unwrap_or_default(),
            host_id: j["host_id"].as_i64(),
            weight: j["weight"].as_f64().unwrap_or(1.0),
            waiting: j["waiting"] == json!(true),
        }
    }

    fn from_proto(t: &koji_proto::v1::Task) -> TaskBrief {
        TaskBrief {
            id: t.id,
            method: t.method.clone(),
            state: t.state,
            host_id: t.host_id,
            weight: t.weight,
            waiting: t.waiting == Some(true),
        }
    }
}

/// How the host calls travel.
pub enum HostLink {
    Grpc {
        client: HostClient<Channel>,
        session: Session,
    },
    XmlRpc,
}

/// A gRPC status as the hub's fault (code from `koji-fault-code`).
fn fault(s: tonic::Status) -> anyhow::Error {
    let code = s
        .metadata()
        .get("koji-fault-code")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    match code {
        Some(code) => Fault {
            code,
            message: s.message().to_string(),
        }
        .into(),
        None => anyhow::anyhow!("gRPC: {s}"),
    }
}

impl HostLink {
    /// gRPC when the hub at `server` (its XML-RPC URL) answers the `Host`
    /// service for this session, else XML-RPC.
    pub async fn connect(server: &str, hub: &Hub) -> HostLink {
        let Some((id, key)) = hub.session() else {
            return HostLink::XmlRpc;
        };
        let session = Session {
            session_id: id,
            session_key: key,
        };
        let base = crate::push::base_url(server);
        let attempt = async {
            let mut client = HostClient::connect(base).await?;
            client.get_host_tasks(session.clone()).await?;
            anyhow::Ok(client)
        };
        match tokio::time::timeout(std::time::Duration::from_secs(10), attempt).await {
            Ok(Ok(client)) => {
                tracing::info!("host calls over gRPC");
                HostLink::Grpc { client, session }
            }
            Ok(Err(e)) => {
                tracing::info!(error = %e, "host calls over XML-RPC");
                HostLink::XmlRpc
            }
            Err(_) => {
                tracing::info!("gRPC timed out: host calls over XML-RPC");
                HostLink::XmlRpc
            }
        }
    }

    pub fn is_grpc(&self) -> bool {
        matches!(self, HostLink::Grpc { .. })
    }

    /// `host.updateHost(task_load, ready, {methods, maxjobs})`.
    pub async fn update_host(
        &mut self,
        hub: &Hub,
        load: f64,
        ready: bool,
        methods: Vec<String>,
        maxjobs: usize,
    ) -> Result<()> {
        match self {
            HostLink::Grpc { client, session } => {
                client
                    .update_host(UpdateHostRequest {
                        session: Some(session.clone()),
                        task_load: load,
                        ready,
                        methods,
                        maxjobs: maxjobs as i64,
                    })
                    .await
                    .map_err(fault)?;
            }
            HostLink::XmlRpc => {
                hub.call(
                    "host.updateHost",
                    vec![
                        json!(load),
                        json!(ready),
                        json!({"methods": methods, "maxjobs": maxjobs}),
                    ],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// `host.getTasks()`: the tasks assigned to this host.
    pub async fn get_tasks(&mut self, hub: &Hub) -> Result<Vec<TaskBrief>> {
        Ok(match self {
            HostLink::Grpc { client, session } => client
                .get_tasks(session.clone())
                .await
                .map_err(fault)?
                .into_inner()
                .tasks
                .iter()
                .map(TaskBrief::from_proto)
                .collect(),
            HostLink::XmlRpc => list(hub.call("host.getTasks", vec![]).await?),
        })
    }

    /// `host.getHostTasks()`: the tasks this host holds open.
    pub async fn get_host_tasks(&mut self, hub: &Hub) -> Result<Vec<TaskBrief>> {
        Ok(match self {
            HostLink::Grpc { client, session } => client
                .get_host_tasks(session.clone())
                .await
                .map_err(fault)?
                .into_inner()
                .tasks
                .iter()
                .map(TaskBrief::from_proto)
                .collect(),
            HostLink::XmlRpc => list(hub.call("host.getHostTasks", vec![]).await?),
        })
    }

    /// `host.openTask(id)`: whether it was opened.
    pub async fn open_task(&mut self, hub: &Hub, id: i64) -> Result<bool> {
        Ok(match self {
            HostLink::Grpc { client, session } => {
                client
                    .open_task(TaskRef {
                        session: Some(session.clone()),
                        task_id: id,
                    })
                    .await
                    .map_err(fault)?
                    .into_inner()
                    .opened
            }
            HostLink::XmlRpc => !hub.call("host.openTask", vec![json!(id)]).await?.is_null(),
        })
    }

    /// `host.setTaskWeight(id, weight)`.
    pub async fn set_task_weight(&mut self, hub: &Hub, id: i64, weight: f64) -> Result<()> {
        match self {
            HostLink::Grpc { client, session } => {
                client
                    .set_task_weight(SetTaskWeightRequest {
                        session: Some(session.clone()),
                        task_id: id,
                        weight,
                    })
                    .await
                    .map_err(fault)?;
            }
            HostLink::XmlRpc => {
                hub.call("host.setTaskWeight", vec![json!(id), json!(weight)])
                    .await?;
            }
        }
        Ok(())
    }

    /// `host.refuseTask(id, soft, msg)`.
    pub async fn refuse_task(&mut self, hub: &Hub, id: i64, soft: bool, msg: &str) -> Result<()> {
        match self {
            HostLink::Grpc { client, session } => {
                client
                    .refuse_task(RefuseTaskRequest {
                        session: Some(session.clone()),
                        task_id: id,
                        soft,
                        msg: msg.to_string(),
                    })
                    .await
                    .map_err(fault)?;
            }
            HostLink::XmlRpc => {
                hub.call(
                    "host.refuseTask",
                    vec![json!(id), kw(json!({"soft": soft, "msg": msg}))],
                )
                .await?;
            }
        }
        Ok(())
    }

    /// `host.freeTasks(ids)`.
    pub async fn free_tasks(&mut self, hub: &Hub, ids: &[i64]) -> Result<()> {
        match self {
            HostLink::Grpc { client, session } => {
                client
                    .free_tasks(FreeTasksRequest {
                        session: Some(session.clone()),
                        task_ids: ids.to_vec(),
                    })
                    .await
                    .map_err(fault)?;
            }
            HostLink::XmlRpc => {
                hub.call("host.freeTasks", vec![json!(ids)]).await?;
            }
        }
        Ok(())
    }

    /// `host.failTask(id, response)`: `response` is the encoded fault.
    pub async fn fail_task(&mut self, hub: &Hub, id: i64, response: &str) -> Result<()> {
        match self {
            HostLink::Grpc { client, session } => {
                client
                    .fail_task(FinishTaskRequest {
                        session: Some(session.clone()),
                        task_id: id,
                        response: response.to_string(),
                    })
                    .await
                    .map_err(fault)?;
            }
            HostLink::XmlRpc => {
                hub.call("host.failTask", vec![json!(id), json!(response)])
                    .await?;
            }
        }
        Ok(())
    }
}

fn list(v: Json) -> Vec<TaskBrief> {
    v.as_array()
        .map(|a| a.iter().map(TaskBrief::from_json).collect())
        .unwrap_or_default()
}
