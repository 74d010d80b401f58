//! `esignet`: the host binary.

use clap::Parser;
use esignet_host::cli::{admin_token, check, deploy, up, Cli, Command};

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Up(args) => up(args).await,
        Command::Check(args) => check(args).await,
        Command::Deploy(args) => deploy(args).await,
        Command::AdminToken(args) => admin_token(args).await,
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
