//! `afpool doctor [--json]`: settings resolved as `afpool serve` resolves them, every check of
//! [`crate::doctor`] run, one line (or JSON object) per check printed; an error (exit 1) when
//! one failed.

use crate::cli::DoctorArgs;
use crate::config::Config;
use crate::doctor::{self, cgru::CgruEnv, Inputs, Status};
use crate::store::StoreOptions;

/// Run `afpool doctor`.
pub async fn run(mut config: Config, args: DoctorArgs) -> anyhow::Result<()> {
    if let Some(listen) = args.listen {
        config.listen = Some(listen);
    }
    if let Some(upstream) = args.upstream {
        config.upstream = Some(upstream);
    }
    args.routing.apply(&mut config.routing);
    let inputs = Inputs {
        upstream: config.upstream()?,
        listen: config.listen().to_string(),
        store: super::store_spec(&config)?,
        store_options: StoreOptions::default(),
        settings: config.routing.clone(),
        cgru: CgruEnv::from_env(),
    };
    let report = doctor::run(&inputs).await;
    if args.json {
        print!("{}", report.json_lines());
    } else {
        print!("{}", report.human());
    }
    let failed = report
        .checks
        .iter()
        .filter(|c| c.status == Status::Fail)
        .count();
    if failed > 0 {
        anyhow::bail!("{failed} check(s) failed");
    }
    Ok(())
}
