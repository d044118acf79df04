//! kojid: the builder daemon with the built-in task handlers.

fn main() -> anyhow::Result<()> {
    koji_worker::cli::main(koji_worker::handlers::builtins())
}
