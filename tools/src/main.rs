//! `magpiectl`: Magpie's admin and scripting CLI. See `magpiectl --help`.

mod admin;
mod cli;
mod client_cmds;
mod error;
mod inspect;
mod output;
mod profile;

use clap::Parser;
use cli::{Cli, Command};
use client_cmds::Ctx;
use error::{CliError, Result};
use output::Output;
use profile::ProfileStore;

fn main() {
    let cli = Cli::parse();
    let out = Output { json: cli.global.json };
    if let Err(e) = run(cli, out) {
        if out.json {
            eprintln!("{}", e.to_json());
        } else {
            eprintln!("error: {e}");
        }
        std::process::exit(1);
    }
}

fn run(cli: Cli, out: Output) -> Result<()> {
    if let Command::Inspect(args) = cli.command {
        // Pure decoding: no profile, no runtime.
        return inspect::run(out, args);
    }
    let ctx = Ctx { profiles: ProfileStore::locate(&cli.global.profile)?, global: cli.global, out };
    // One thread is plenty for one connection, and keeps the CLI light next to an engine.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| CliError::from(e).context("starting the async runtime"))?;
    runtime.block_on(async {
        match cli.command {
            Command::Admin(args) => admin::run(&ctx, args).await,
            command => client_cmds::run(&ctx, command).await,
        }
    })
}
