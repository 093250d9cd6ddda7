//! The `afpool` command line (clap): the `Cli`, its subcommands and their own flags. Raw flags live
//! here; `config` turns them into settings. The flags `afsubmit` shares (config file, store,
//! routing) are in [`crate::args`], below every command line.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::args::{GlobalArgs, RoutingArgs};
use crate::commands::pool::PoolCommand;

/// afpool: render pools for the CGRU Afanasy render manager.
///
/// Run `afpool serve` between submitters and afserver: artists' af.py, afcmd, AfStarter and the web
/// GUI point at the proxy (CGRU_AF_SERVERPORT or the studio config.json), and jobs that name a pool
/// run only on that pool's hosts. Manage pools with `afpool pool`.
#[derive(Debug, Parser)]
#[command(name = "afpool", version, about, long_about)]
pub struct Cli {
    /// Config file and pool store.
    #[command(flatten)]
    pub globals: GlobalArgs,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the proxy between submitters and afserver.
    Serve(ServeArgs),
    /// Manage pools: list, show, create, rename, delete, add and remove hosts.
    #[command(subcommand)]
    Pool(PoolCommand),
    /// Default pool rules: which pool a job gets when it names none (CEL conditions tried in
    /// order, then what jobs matching none get).
    #[command(subcommand)]
    Rules(crate::commands::rules::RulesCommand),
    /// List every render afserver knows with the pools it belongs to, and pool members afserver
    /// does not know (often a typo that silently shrinks a pool).
    Hosts(HostsArgs),
    /// Explain where job files would run and why, sending nothing: the pool and how it was found,
    /// its hosts, the renders the job can and cannot run on, the masks before and after, the
    /// verdict and the rewritten job (the same as `afsubmit --dry-run`).
    Explain(crate::commands::explain::ExplainArgs),
    /// Show the audit log: every pool change (who, when, hosts before and after) and every
    /// routed, held, rejected or re-targeted job, oldest first; filter by age, pool or job.
    Audit(crate::commands::audit::AuditArgs),
    /// Run only the older pools tool's Pool Server (TCP 9999, `GET POOLS`) for its old clients
    /// (patched Blender addon, AfStarter, af.py), answering from the pool store.
    LegacyPoolServer(crate::commands::legacy::LegacyPoolServerArgs),
    /// Install or remove afpool's entries in the CGRU Keeper menu ("Manage Pools...", "Start
    /// Pools Proxy", "Pools Proxy Status"), replacing the older pools tool's entries.
    #[command(subcommand)]
    Keeper(crate::commands::keeper::KeeperCommand),
    /// Find machines on the network (TCP connects to a few ports, reverse DNS), show whether
    /// afserver knows each and which pools hold it, and optionally add them to a pool.
    Scan(crate::commands::scan::ScanArgs),
    /// List live pool jobs: id, name, user, pool, state and progress from afserver, and how many
    /// of the pool's hosts are online.
    Jobs(crate::commands::jobs::JobsArgs),
    /// Check the whole set-up, one line per check (`ok`, `warn` or `fail`, with the fix): run it
    /// on day one and after every change.
    #[command(long_about = DOCTOR_ABOUT)]
    Doctor(DoctorArgs),
    /// Validate the config file as `afpool serve` reads it, starting nothing, and print the
    /// settings it gives (exit 1 when invalid).
    CheckConfig(crate::commands::check_config::CheckConfigArgs),
    /// Print the shell completion script of `afpool` (or `afsubmit`) for bash, zsh, fish, ...
    Completions(crate::commands::completions_args::CompletionsArgs),
    /// Write the man pages of afpool, its subcommands and afsubmit into DIR (for packaging).
    #[command(hide = true)]
    GenerateMan(crate::commands::completions_args::ManArgs),
}

const DOCTOR_ABOUT: &str = "Check the whole set-up, one line per check: `ok`, `warn` or `fail`, \
what was found and, for warn and fail, the fix. Exits 0 when no check fails, 1 otherwise.

Checks: afserver reachable at the upstream, its version and round-trip time, its render list; \
the proxy's listen address free or held by afpool serve; the pool store read and written \
(file: path, mode, jobs.json and audit.jsonl beside it; MongoDB: afpools.pools and its name_1 \
index, the jobs and audit collections, a test write); every pool against afserver's renders \
(members afserver does not know, with the name probably meant: a typo, FQDN vs short name, \
case), empty pools, masks too large for afserver, pools sharing hosts (information); \
afserver's users whose host-mask type (find or regex) is not assume_mask_type; and where this \
shell's CGRU (config.json, CGRU_AF_SERVERNAME, CGRU_AF_SERVERPORT) sends jobs: to the proxy or \
around it. Nothing is changed (the MongoDB write goes to a scratch collection, dropped after).

Run it with the settings afpool serve uses (the same --config, --store and AFPOOL_* variables), \
and once more in an artist's shell for the CGRU lines.

Examples:
  afpool doctor
  afpool --config /etc/afpool/afpool.toml doctor
  afpool doctor --json | jq -c 'select(.status != \"ok\")'";

/// `afpool doctor` flags.
#[derive(Debug, Args, Default)]
pub struct DoctorArgs {
    /// The proxy's listen address, as afpool serve is given it [default: 0.0.0.0:51100].
    #[arg(long, env = "AFPOOL_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// afserver address [default: 127.0.0.1:51000].
    #[arg(long, env = "AFPOOL_UPSTREAM", value_name = "HOST:PORT")]
    pub upstream: Option<String>,
    /// Routing options, as afpool serve reads them (assume_mask_type, mask_mode, default_pool).
    #[command(flatten)]
    pub routing: RoutingArgs,
    /// One JSON object per check, one per line: {"status","name","detail","fix"}.
    #[arg(long)]
    pub json: bool,
}

/// `afpool serve` flags.
#[derive(Debug, Args, Default)]
pub struct ServeArgs {
    /// Address to listen on [default: 0.0.0.0:51100].
    #[arg(long, env = "AFPOOL_LISTEN", value_name = "ADDR")]
    pub listen: Option<String>,
    /// afserver address [default: 127.0.0.1:51000].
    #[arg(long, env = "AFPOOL_UPSTREAM", value_name = "HOST:PORT")]
    pub upstream: Option<String>,
    /// Routing options.
    #[command(flatten)]
    pub routing: RoutingArgs,
    /// Also answer the older pools tool's clients with its Pool Server protocol on ADDR (alone:
    /// the old poolserver/config.json's address found from --legacy-config, else 0.0.0.0:9999).
    #[arg(
        long,
        env = "AFPOOL_LEGACY_POOL_SERVER",
        value_name = "ADDR",
        num_args = 0..=1,
        default_missing_value = ""
    )]
    pub legacy_pool_server: Option<String>,
    /// Address of the HTTP API and web page, or `off` [default: 127.0.0.1:51180].
    #[arg(long, env = "AFPOOL_HTTP", value_name = "ADDR")]
    pub http: Option<String>,
    /// API token file, `NAME TOKEN` per line: writes then need `Authorization: Bearer TOKEN`
    /// and are audited under NAME. Without it, writes are accepted only from this machine.
    #[arg(long, env = "AFPOOL_API_TOKENS", value_name = "FILE")]
    pub api_tokens: Option<PathBuf>,
    /// Serve the HTTP API over TLS with this PEM certificate chain (with --tls-key).
    #[arg(
        long,
        env = "AFPOOL_TLS_CERT",
        value_name = "FILE",
        requires = "tls_key"
    )]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(
        long,
        env = "AFPOOL_TLS_KEY",
        value_name = "FILE",
        requires = "tls_cert"
    )]
    pub tls_key: Option<PathBuf>,
}

/// `afpool hosts` flags.
#[derive(Debug, Args)]
pub struct HostsArgs {
    /// afserver address [default: 127.0.0.1:51000, or the config file's upstream].
    #[arg(long, env = "AFPOOL_UPSTREAM", value_name = "HOST:PORT")]
    pub upstream: Option<String>,
    /// Print JSON for scripts.
    #[arg(long)]
    pub json: bool,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{MaskMode, MaskType, Policy};

    #[test]
    fn the_command_line_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }

    #[test]
    fn routing_flags_parse_into_core_settings() {
        let cli = Cli::try_parse_from([
            "afpool",
            "serve",
            "--mask-mode",
            "both",
            "--assume-mask-type",
            "regex",
            "--on-unknown-pool",
            "reject",
            "--on-empty-pool",
            "pass",
        ])
        .unwrap();
        let Command::Serve(args) = cli.command else {
            panic!("serve expected");
        };
        let mut settings = crate::job::RouteSettings::default();
        args.routing.apply(&mut settings);
        assert_eq!(settings.mask_mode, MaskMode::Both);
        assert_eq!(settings.assume_mask_type, MaskType::Regex);
        assert_eq!(settings.on_unknown_pool, Policy::Reject);
        assert_eq!(settings.on_empty_pool, Policy::Pass);
        assert!(Cli::try_parse_from(["afpool", "serve", "--mask-mode", "nope"]).is_err());
    }

    #[test]
    fn legacy_pool_server_flags_parse() {
        let serve = |args: &[&str]| {
            let argv = ["afpool", "serve"].iter().chain(args).copied();
            match Cli::try_parse_from(argv).unwrap().command {
                Command::Serve(args) => args.legacy_pool_server,
                _ => panic!("serve expected"),
            }
        };
        assert_eq!(serve(&[]), None);
        assert_eq!(serve(&["--legacy-pool-server"]), Some(String::new()));
        let addr = serve(&["--legacy-pool-server", "127.0.0.1:9999"]);
        assert_eq!(addr.as_deref(), Some("127.0.0.1:9999"));
        let cli = Cli::try_parse_from(["afpool", "legacy-pool-server", "--listen", ":1"]).unwrap();
        assert!(matches!(cli.command, Command::LegacyPoolServer(_)));
    }

    #[test]
    fn audit_flags_parse() {
        let cli = Cli::try_parse_from(["afpool", "audit", "--since", "2h", "--job", "7"]).unwrap();
        let Command::Audit(args) = cli.command else {
            panic!("audit expected");
        };
        assert_eq!(args.since, Some(std::time::Duration::from_secs(7_200)));
        assert_eq!((args.pool, args.job, args.json), (None, Some(7), false));
        assert!(Cli::try_parse_from(["afpool", "audit", "--since", "2y"]).is_err());
    }
}
