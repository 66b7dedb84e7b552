//! `remora`: the user's command line. Argument parsing and wiring only; the work is in
//! the library.

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

// Items are many small allocations; mimalloc makes them markedly cheaper than glibc's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(name = "remora", version, about = "Programmable network observability for Kubernetes", arg_required_else_help = true)]
struct Cli {
    /// Print the settings each command reads (flags, environment variables, defaults)
    /// as JSON, and exit.
    #[arg(long)]
    print_settings: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

// Parsed once at start-up: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Replay capture files offline: items on stdout, a summary on stderr.
    Replay(remora::replay::ReplayArgs),
    /// Capture live on this machine's interfaces, as replay does with files (until
    /// Ctrl-C, --duration or --count).
    Capture(remora::capture::CaptureArgs),
    /// Work with scripts: sync a folder to the cluster (--source DIR [--watch]), list,
    /// get, delete, check.
    Scripts(remora::scripts::ScriptsArgs),
    /// KFL, the filter language.
    #[command(subcommand)]
    Kfl(remora::kfl::KflCommand),
    /// Items from the hub that match a KFL query, newest first.
    Query(remora::query::QueryArgs),
    /// The scripts' console lines of every pod, from the hub, as they come.
    Console(remora::query::ConsoleArgs),
    /// The cluster's jobs (`jobs.schedule` in scripts), from the hub.
    #[command(subcommand)]
    Jobs(remora::jobs::JobsCommand),
    /// The address of the hub's dashboard, with your token (open it in a browser).
    Dashboard(remora::dashboard::DashboardArgs),
    /// The sidecars connected to the hub, with their counters.
    Sidecars(remora::sidecars::SidecarsArgs),
    /// Capture files from the hub.
    #[command(subcommand)]
    Pcap(remora::pcap::PcapCommand),
    /// Whether Remora's install works: webhook, Service, certificate, namespaces, and
    /// pods running without the sidecar (with the command that fixes each).
    Check(remora::check::CheckArgs),
    /// Add the sidecar to manifests as the webhook would (Pods, workloads' pod
    /// templates, Lists): for GitOps, for review, or where no webhook can run.
    Inject(remora::inject::InjectArgs),
    /// Take out of manifests what `remora inject` (or the webhook) added.
    Uninject(remora::inject::UninjectArgs),
    /// The injector's webhook certificates, for installs without cert-manager.
    #[command(subcommand)]
    Certs(remora::certs::CertsCommand),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let command = match (cli.print_settings, cli.command) {
        (true, _) => {
            println!("{}", remora_service::settings::describe(&Cli::command(), &[]));
            return ExitCode::SUCCESS;
        }
        (false, Some(command)) => command,
        (false, None) => {
            let _ = Cli::command().print_help();
            return ExitCode::from(2);
        }
    };
    let result = match command {
        Command::Replay(args) => remora::replay::run(args),
        Command::Capture(args) => remora::capture::run(args),
        Command::Scripts(args) => remora::scripts::run(args),
        Command::Kfl(command) => remora::kfl::run(command),
        Command::Certs(command) => remora::certs::run(command),
        Command::Check(args) => remora::check::run(args),
        Command::Query(args) => remora::query::run(args),
        Command::Dashboard(args) => remora::dashboard::run(args),
        Command::Console(args) => remora::query::console(args),
        Command::Jobs(command) => remora::jobs::run(command),
        Command::Pcap(command) => remora::pcap::run(command),
        Command::Sidecars(args) => remora::sidecars::run(args),
        Command::Inject(args) => remora::inject::inject(args),
        Command::Uninject(args) => remora::inject::uninject(args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("remora: error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
