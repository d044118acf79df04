//! Generated gRPC types and services of the koji-rs native API.

pub mod v1 {
    tonic::include_proto!("koji.v1");
}
