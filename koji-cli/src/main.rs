//! `koji`: the command line client. A skeleton for now; the upstream python
//! `koji` client works against our hub in the meantime.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "koji", version, about = "koji-rs command line client")]
struct Opts {
    #[arg(trailing_var_arg = true)]
    args: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    let _opts = Opts::parse();
    anyhow::bail!(
        "this koji client is not implemented yet; use the upstream client (pip install koji==1.36.1) pointed at this hub"
    )
}
