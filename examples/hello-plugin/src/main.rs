//! `kojid-hello`: kojid with the built-in task handlers and this plugin's.
//! Takes every option kojid takes (`kojid-hello --config kojid.conf`).

fn main() -> anyhow::Result<()> {
    let mut registry = koji_worker::handlers::builtins();
    registry.merge(koji_plugin_hello::registry())?;
    koji_worker::cli::main(registry)
}
