//! `quota`: the Usage Quota Guardian QA server and support CLI.
#![forbid(unsafe_code)]

use clap::Parser;
use quota_server::cli::Command;
use quota_server::logging::{self, LogArgs, LogFormat};

fn main() -> std::process::ExitCode {
    quota_server::install_crypto_provider();
    let cli = quota_server::cli::Cli::parse();
    // `quota serve` has its logging flags; the other commands log as text under RUST_LOG.
    let log = match &cli.command {
        Command::Serve(a) => a.log.clone(),
        _ => LogArgs::from_env(),
    };
    logging::init(&log);
    let json = log.log_format == LogFormat::Json;
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            fail(json, &format!("cannot start the runtime: {e}"));
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(quota_server::cli::run(cli)) {
        Ok(code) => std::process::ExitCode::from(code),
        Err(e) => {
            fail(json, &e);
            std::process::ExitCode::FAILURE
        }
    }
}

/// Says why `quota` stops: a log event in JSON mode, a `quota: ...` line otherwise.
fn fail(json: bool, error: &str) {
    if json {
        tracing::error!(error, "quota stopped");
    } else {
        eprintln!("quota: {error}");
    }
}
