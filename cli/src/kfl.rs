//! `remora kfl check QUERY`: how a query is read, or what is wrong with it.

use std::process::ExitCode;

use remora_kfl::Query;

#[derive(Debug, clap::Subcommand)]
pub enum KflCommand {
    /// Parse a query: print it with every operation in parentheses, its warnings, limit
    /// and redactions; or the error with a caret under its position.
    Check {
        /// The query (quote it for the shell).
        query: String,
    },
}

pub fn run(command: KflCommand) -> anyhow::Result<ExitCode> {
    let KflCommand::Check { query } = command;
    match Query::compile(&query) {
        Ok(q) => {
            println!("ok: {}", q.explain());
            for warning in q.warnings() {
                println!("warning: {warning}");
            }
            if let Some(limit) = q.limit() {
                println!("limit: {limit}");
            }
            for path in q.redactions() {
                println!("redact: {path}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            println!("error: {e}\n{}", e.caret());
            Ok(ExitCode::FAILURE)
        }
    }
}
