//! One function per subcommand; each takes its parsed arguments and the printer.

mod db;
mod db_update;
mod scan;
mod service;

use std::process::ExitCode;

use crate::cli::{Cli, Command};
use crate::printer::Printer;

/// How a command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything worked.
    Success,
    /// The command failed, or produced an incomplete result.
    Failure,
    /// Findings remained and `--exit-code N` asked for this code.
    Findings(u8),
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        match s {
            ExitStatus::Success => ExitCode::SUCCESS,
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Findings(code) => ExitCode::from(code),
        }
    }
}

pub fn run(cli: Cli, printer: &Printer) -> anyhow::Result<ExitStatus> {
    match cli.command {
        Command::Scan(args) => scan::scan(*args, printer),
        Command::Db(command) => db::db(command, printer),
        Command::Serve(args) => service::serve(*args),
        Command::Agent(args) => service::agent(*args),
        Command::Worker(args) => service::worker(*args),
        Command::Admin(command) => service::admin(command, printer),
    }
}
