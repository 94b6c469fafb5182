//! `quota-load`: the runbook's load scenarios (`usage-quota-guardian`, `quota-share-topup`).
#![forbid(unsafe_code)]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use quota_load::{Load, Pace, Recorder, Scenario, Target, Threshold, client, parse_duration, run};

/// Load scenarios of the runbook (section 5) against `quota serve`, configured by
/// BASE_URL/API_BASE, BRAND_ID, API_TOKEN/AUTH_TOKEN, PUBLIC_API_KEY and FRONTEND_URL.
/// Exit status: 0 every threshold holds, 1 a threshold is broken, 2 the run could not start.
#[derive(Debug, Parser)]
#[command(name = "quota-load", version)]
struct Cli {
    #[command(subcommand)]
    scenario: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Summary reads, POST /designs, POST /renders (public API key) and record calls.
    UsageQuotaGuardian(RunArgs),
    /// Share-link creation and page fetch, top-up checkout.
    QuotaShareTopup(RunArgs),
}

#[derive(Debug, Args)]
struct RunArgs {
    /// Requests started a second (open model: independent of the answers' latency).
    #[arg(long, default_value_t = 50.0)]
    rate: f64,
    /// How long requests are started for (`5s`, `500ms`, `2m`).
    #[arg(long, default_value = "10s", value_parser = parse_duration)]
    duration: Duration,
    /// At most this many requests.
    #[arg(long, default_value_t = 100_000)]
    max_requests: u64,
    /// At most this many requests in flight; past it a slot is dropped and counted.
    #[arg(long, default_value_t = 256)]
    max_in_flight: usize,
    /// Timeout of one request.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    timeout: Duration,
    /// An extra threshold, k6 style: `quota_summary_latency:p(99)<10` (ms),
    /// `http_req_failed:rate<0.001`, `dropped_iterations:count<1`. Repeatable.
    #[arg(long = "threshold", value_name = "SPEC")]
    thresholds: Vec<Threshold>,
    /// Drop the runbook's thresholds (http_req_failed rate<0.02, quota_summary_latency p(90)<400).
    #[arg(long)]
    no_default_thresholds: bool,
    /// Allow a server that is not on this machine.
    #[arg(long)]
    allow_remote: bool,
}

async fn start(scenario: Scenario, args: RunArgs) -> Result<bool, String> {
    let pace = Pace {
        rate: args.rate,
        duration: args.duration,
        max_requests: args.max_requests,
        max_in_flight: args.max_in_flight,
    };
    pace.validate()?;
    let target = Target::from_vars(|name| std::env::var(name).ok()).map_err(|e| e.0)?;
    target.check_loopback(args.allow_remote).map_err(|e| e.0)?;
    let mut thresholds = if args.no_default_thresholds {
        Vec::new()
    } else {
        scenario.default_thresholds()
    };
    thresholds.extend(args.thresholds);
    let recorder = Recorder::default();
    let http = client(args.timeout, args.max_in_flight).map_err(|e| e.0)?;
    println!(
        "quota-load {}: {} at {}/s for {:?} (at most {} requests, {} in flight) on {}",
        scenario.name(),
        scenario
            .steps()
            .iter()
            .map(|s| s.metric())
            .collect::<Vec<_>>()
            .join(" + "),
        pace.rate,
        pace.duration,
        pace.max_requests,
        pace.max_in_flight,
        target.root
    );
    let load = Load::setup(scenario, http, target, recorder.clone())
        .await
        .map_err(|e| e.0)?;
    let stats = run(Arc::new(load), pace, &recorder).await;
    print!("{}", stats.render(scenario.name()));
    println!("\n  thresholds:");
    let mut ok = true;
    for t in &thresholds {
        let v = t.check(&stats);
        ok &= v.passed;
        println!("    {v}");
    }
    println!();
    Ok(ok)
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (scenario, args) = match cli.scenario {
        Command::UsageQuotaGuardian(a) => (Scenario::UsageQuotaGuardian, a),
        Command::QuotaShareTopup(a) => (Scenario::QuotaShareTopup, a),
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("quota-load: cannot start the runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match rt.block_on(start(scenario, args)) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("quota-load: a threshold is broken");
            ExitCode::from(1)
        }
        Err(e) => {
            eprintln!("quota-load: {e}");
            ExitCode::from(2)
        }
    }
}
