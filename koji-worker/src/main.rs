//! kojid: the builder daemon. A skeleton until the tasks issue lands: it
//! parses upstream's options and says plainly that it cannot build yet.

use clap::Parser;

#[derive(Parser, Debug)]
#[command(name = "kojid", version, about = "koji-rs builder daemon")]
struct Opts {
    /// Configuration file (upstream's kojid.conf format).
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// Hub URL.
    #[arg(long)]
    server: Option<String>,
    #[arg(long)]
    user: Option<String>,
    #[arg(long)]
    password: Option<String>,
    #[arg(long)]
    topdir: Option<std::path::PathBuf>,
    #[arg(long)]
    workdir: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let _opts = Opts::parse();
    anyhow::bail!("kojid: building tasks is not implemented yet in this version of koji-rs")
}
