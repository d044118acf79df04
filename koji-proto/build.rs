//! Compiles the .proto files with protox (pure Rust): no system protoc.
fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protos = ["proto/koji/v1/hub.proto"];
    for p in protos {
        println!("cargo:rerun-if-changed={p}");
    }
    let fds = protox::compile(protos, ["proto"])?;
    tonic_prost_build::configure()
        .build_server(true)
        .build_client(true)
        .compile_fds(fds)?;
    Ok(())
}
