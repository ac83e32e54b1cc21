//! The `keelhaul` command: parse, run, report errors once, exit with a meaningful code.

mod cli;
mod commands;
mod printer;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = cli::Cli::parse();
    let service = matches!(
        cli.command,
        cli::Command::Serve(_) | cli::Command::Worker(_) | cli::Command::Agent(_)
    );
    let printer = printer::Printer::new(&cli.global, service);
    match commands::run(cli, &printer) {
        Ok(status) => status.into(),
        Err(e) => {
            printer.error_chain(&e);
            commands::ExitStatus::Failure.into()
        }
    }
}
