//! `spoolscan`: scan huge NDJSON files and agent transcripts in bounded memory.

mod cli;

use clap::{Parser, Subcommand};

use cli::Exit;

/// Scan huge NDJSON files (agent CLI transcripts) in bounded memory.
#[derive(Parser, Debug)]
#[command(name = "spoolscan", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Print the retained lines of FILE (or stdin), byte-identical, LF-terminated.
    Scan(cli::scan::ScanArgs),
}

fn main() {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Scan(args) => cli::scan::run(args),
    };
    if let Err(e) = result {
        match &e {
            Exit::Usage(m) => eprintln!("spoolscan: error: {m}"),
            Exit::Io(m) => eprintln!("spoolscan: {m}"),
            Exit::Code(_) => {}
        }
        std::process::exit(e.code());
    }
}
