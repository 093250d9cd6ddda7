//! The `afsubmit` binary: submit Afanasy job files into an afpool pool (see `afpool::submit`).
//! Exit codes: 0 every file submitted, 1 any failed, 2 afserver or the pool store unavailable for
//! all of them.

use clap::Parser;

use afpool::submit::{self, args::SubmitArgs};

#[tokio::main]
async fn main() {
    afpool::logging::init();
    let args = SubmitArgs::parse();
    let result = match args.options() {
        Ok(opts) => submit::run(&opts, &args.job.files).await,
        Err(e) => Err(e),
    };
    if let Err(e) = result {
        eprintln!("afsubmit: {e:#}");
        std::process::exit(afpool::exit_code(&e));
    }
}
