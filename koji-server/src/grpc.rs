//! The native gRPC API (koji-proto), served on the same port as XML-RPC.
//! Like every transport, it only converts: the answers come from the hub.

use koji_core::Hub;
use koji_proto::v1::hub_server::{Hub as HubService, HubServer};
use koji_proto::v1::{HelloReply, HelloRequest};
use tonic::{Request, Response, Status};

pub struct GrpcHub {
    #[allow(dead_code)] // used by the services the next issues add
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

/// The gRPC services as an axum router.
pub fn router(hub: Hub) -> axum::Router {
    tonic::service::Routes::new(HubServer::new(GrpcHub { hub })).into_axum_router()
}
