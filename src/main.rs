//! `spoolscan`: scan huge NDJSON files and agent transcripts in bounded memory.

mod cli;

use std::io;

use clap::{CommandFactory, Parser, Subcommand};

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
    /// Run CMD with its stdout and stderr spooled to disk, then scan its stdout like `scan`.
    /// Exits with the command's status (124 on timeout, 128+N when killed by signal N, 125
    /// when spoolscan failed, 126/127 when the command cannot be run).
    Run(cli::run::RunArgs),
    /// Summarize an agent CLI's transcript (Codex, Claude Code, Gemini CLI): final answer,
    /// model, session, usage, cost, errors and status, as one JSON object.
    Summarize(cli::summarize::SummarizeArgs),
    /// Print a shell completion script to stdout (bash, zsh, fish, elvish, powershell), e.g.
    /// `spoolscan completions bash > ~/.local/share/bash-completion/completions/spoolscan`.
    Completions {
        /// The shell.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff) to stdout, e.g. `spoolscan man > spoolscan.1`.
    Man,
}

fn main() {
    cli::harden::setup();
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Scan(args) => cli::scan::run(args),
        Command::Run(args) => cli::run::run(args),
        Command::Summarize(args) => match cli::summarize::run(args) {
            0 => Ok(()),
            code => Err(Exit::Code(code)),
        },
        Command::Completions { shell } => {
            clap_complete::generate(*shell, &mut Cli::command(), "spoolscan", &mut io::stdout());
            Ok(())
        }
        Command::Man => clap_mangen::Man::new(Cli::command())
            .render(&mut io::stdout())
            .map_err(|e| Exit::Io(format!("writing the man page: {e}"))),
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
