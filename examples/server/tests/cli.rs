//! The `quota` binary (reset against a running server, dry run, tokens) and the `/metrics`
//! text checked with a real Prometheus parser.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::process::{Command, Output};

use common::{Auth, Harness};

fn quota(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quota"));
    cmd.args(args)
        .env_remove("QUOTA_ADMIN_JWT_SECRET")
        .env_remove("QUOTA_ADMIN_TOKEN")
        .env_remove("ADMIN_JWT")
        .env_remove("QUOTA_API_URL")
        .env("RUST_LOG", "warn");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

async fn quota_async(args: Vec<String>, env: Vec<(String, String)>) -> Output {
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        quota(&args, &env)
    })
    .await
    .unwrap()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reset_against_a_running_server_and_its_dry_run() {
    let h = Harness::start("memory").await;
    let (brand, _) = h.brand("starter").await;
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = [
            "reset",
            &format!("--brand={brand}"),
            "--metric=ai_generations",
            "--target=92",
            "--topup=25",
            "--api",
            &h.base,
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let token = vec![("QUOTA_ADMIN_TOKEN".to_owned(), h.admin.clone())];

    let dry = quota_async(args(&["--dry-run"]), token.clone()).await;
    assert!(dry.status.success(), "{}", text(&dry.stderr));
    let out = text(&dry.stdout);
    assert!(out.contains("dry run: nothing written"), "{out}");
    assert!(out.contains("= 460 units"), "{out}");
    assert!(out.contains("/analytics?brandId="), "{out}");
    assert!(out.contains("/monitoring?brandId="), "{out}");
    assert_eq!(h.used(&brand, "ai_generations").await, 0);

    let real = quota_async(args(&[]), token.clone()).await;
    assert!(real.status.success(), "{}", text(&real.stderr));
    let out = text(&real.stdout);
    assert!(out.contains("top-up : +25 units, completed"), "{out}");
    assert!(out.contains("after  : 460 used of 525 (87 %)"), "{out}");
    assert_eq!(h.used(&brand, "ai_generations").await, 460);

    // Without a token it says how to get one; with a bad one the server's refusal is shown.
    let none = quota_async(args(&[]), vec![]).await;
    assert!(!none.status.success());
    assert!(text(&none.stderr).contains("QUOTA_ADMIN_JWT_SECRET"));
    let bad = quota_async(args(&["--token", "nope"]), vec![]).await;
    assert_eq!(bad.status.code(), Some(1));
    assert!(text(&bad.stderr).contains("401"), "{}", text(&bad.stderr));
    assert_eq!(h.used(&brand, "ai_generations").await, 460);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_reset_exit_codes_say_what_was_refused() {
    let h = Harness::start("memory").await;
    let (brand, _) = h.brand("starter").await;
    let token = vec![("QUOTA_ADMIN_TOKEN".to_owned(), h.admin.clone())];
    let reset = |metric: &str, topup: &str| {
        [
            "reset".to_owned(),
            format!("--brand={brand}"),
            format!("--metric={metric}"),
            "--target=50".to_owned(),
            format!("--topup={topup}"),
            "--api".to_owned(),
            h.base.clone(),
        ]
        .to_vec()
    };
    // renders_2d blocks at its limit: no top-up for it. The reset applies, the top-up is
    // refused: exit 3, and the report says why.
    let part = quota_async(reset("renders_2d", "10"), token.clone()).await;
    assert_eq!(part.status.code(), Some(3), "{}", text(&part.stderr));
    assert!(
        text(&part.stdout).contains("top-up : refused"),
        "{}",
        text(&part.stdout)
    );
    assert_eq!(h.used(&brand, "renders_2d").await, 50);
    // A top-up past the domain is refused whole: exit 1, nothing changed.
    h.record(&brand, "ai_generations", 7).await;
    let refused = quota_async(reset("ai_generations", "1000000001"), token.clone()).await;
    assert_eq!(refused.status.code(), Some(1));
    let err = text(&refused.stderr);
    assert!(err.contains("1000000000"), "{err}");
    assert!(
        !err.contains('\u{1b}'),
        "no colour codes when stderr is not a terminal: {err}"
    );
    assert_eq!(h.used(&brand, "ai_generations").await, 7);
    let usage = quota_async(vec!["reset".to_owned()], vec![]).await;
    assert_eq!(usage.status.code(), Some(2), "a bad command line");
}

#[test]
fn cli_token_admin_signs_with_the_configured_secret() {
    let secret = "an-admin-secret-of-at-least-32-bytes!";
    let out = quota(&["token", "admin"], &[("QUOTA_ADMIN_JWT_SECRET", secret)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let token = text(&out.stdout).trim().to_owned();
    let secrets = quota_axum::auth::Secrets::from_config(secret, None).unwrap();
    assert!(secrets.verify_admin(&token).is_ok());
    let key = quota(
        &["token", "public", "--brand", "brand_dashboard"],
        &[("QUOTA_ADMIN_JWT_SECRET", secret)],
    );
    assert_eq!(
        secrets
            .verify_public_key(text(&key.stdout).trim())
            .as_deref(),
        Some("brand_dashboard")
    );
    let missing = quota(&["token", "admin"], &[]);
    assert!(!missing.status.success());
    let weak = quota(&["token", "admin"], &[("QUOTA_ADMIN_JWT_SECRET", "short")]);
    assert!(text(&weak.stderr).contains("at least 32 bytes"));
}

#[test]
fn cli_reset_on_a_store_refuses_memory_and_unknown_schemes() {
    let mem = quota(
        &[
            "reset",
            "--brand=b",
            "--metric=ai_generations",
            "--target=5",
            "--store",
            "memory",
        ],
        &[],
    );
    assert!(!mem.status.success());
    assert!(text(&mem.stderr).contains("--api"), "{}", text(&mem.stderr));
    let bad = quota(
        &[
            "reset",
            "--brand=b",
            "--metric=ai_generations",
            "--target=5",
            "--store",
            "mongo://x",
        ],
        &[],
    );
    assert!(
        text(&bad.stderr).contains("unknown store"),
        "{}",
        text(&bad.stderr)
    );
}

/// Feeds `exposition` to a command's stdin; `None` when the command is not installed.
fn run_with_stdin(mut cmd: Command, exposition: &str) -> Option<Output> {
    use std::io::Write as _;
    use std::process::Stdio;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child.stdin.take()?.write_all(exposition.as_bytes()).ok()?;
    child.wait_with_output().ok()
}

/// The families Python's `prometheus_client` parser reads from `exposition`, one
/// `name type samples` line each after a `families samples` line; `Err` when no python3
/// with that module is installed (`scripts/server-env.sh` installs Debian's).
fn parse_with_prometheus_client(exposition: &str) -> Result<String, String> {
    let script = "import sys\nfrom prometheus_client.parser import text_string_to_metric_families as p\nfams = list(p(sys.stdin.read()))\nprint(len(fams), sum(len(f.samples) for f in fams))\nfor f in fams:\n    print(f.name, f.type, len(f.samples))\n";
    for python in ["python3", "/usr/bin/python3"] {
        let mut cmd = Command::new(python);
        cmd.args(["-c", script]);
        let Some(out) = run_with_stdin(cmd, exposition) else {
            continue;
        };
        let err = text(&out.stderr);
        if err.contains("No module named") {
            continue;
        }
        assert!(
            out.status.success(),
            "prometheus_client rejects /metrics: {err}"
        );
        return Ok(text(&out.stdout));
    }
    Err("no python3 with prometheus_client: bash scripts/server-env.sh installs it".into())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_parse_with_a_real_prometheus_parser() {
    let h = Harness::start("memory").await;
    let (brand, key) = h.brand("free").await;
    assert_eq!(h.record(&brand, "ai_generations", 95).await.status, 200);
    let r = h
        .post("/renders", serde_json::json!({}), Auth::Key(&key))
        .await;
    assert_eq!(r.status, 202, "{}", r.text);
    h.summary(&brand).await;
    let body = h.metrics_text().await;
    for name in [
        "quota_usage",
        "quota_limit",
        "quota_usage_ratio",
        "quota_decisions_total",
        "quota_summary_latency_seconds_bucket",
        "quota_render_queue_latency_seconds_bucket",
        "quota_http_requests_total",
        "quota_http_request_duration_seconds_bucket",
    ] {
        assert!(body.contains(name), "{name} missing from /metrics");
    }
    // `promtool check metrics`, when installed, finds no parse error and one lint only: the
    // word "summary" in `quota_summary_latency_seconds`, the runbook's name with its unit
    // (units in `_seconds`, counters in `_total`, help on every family pass the lint).
    let mut promtool = Command::new("promtool");
    promtool.args(["check", "metrics"]);
    if let Some(out) = run_with_stdin(promtool, &body) {
        let report = format!("{}{}", text(&out.stdout), text(&out.stderr));
        let other: Vec<&str> = report
            .lines()
            .filter(|l| !l.trim().is_empty())
            .filter(|l| {
                *l != "quota_summary_latency_seconds metric name should not include type 'summary'"
            })
            .collect();
        assert!(other.is_empty(), "promtool: {report}");
    }
    // The reference parser reads every family with its type.
    let Some(report) = quota_testkit::require(
        quota_testkit::test_name!(),
        "no Prometheus parser",
        parse_with_prometheus_client(&body),
    ) else {
        return;
    };
    for family in [
        "quota_usage gauge",
        "quota_limit gauge",
        "quota_usage_ratio gauge",
        "quota_summary_latency_seconds histogram",
        "quota_render_queue_latency_seconds histogram",
        "quota_http_request_duration_seconds histogram",
        "quota_http_requests counter",
        "quota_decisions counter",
    ] {
        assert!(report.contains(family), "{family} not parsed: {report}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_and_exits_zero() {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
    use tokio::process::Command as Async;

    quota_server::install_crypto_provider();
    let mut child = Async::new(env!("CARGO_BIN_EXE_quota"))
        .args(["serve", "--port", "0"])
        .env_remove("QUOTA_ADMIN_JWT_SECRET")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut base = None;
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("quota server listening on ") {
            base = Some(url.trim().to_owned());
            break;
        }
    }
    let base = base.expect("the banner names the address");
    let health = reqwest::get(format!("{base}/healthz")).await.unwrap();
    assert_eq!(health.status(), 200);

    let pid = child.id().unwrap().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let status = tokio::time::timeout(std::time::Duration::from_secs(60), child.wait())
        .await
        .expect("quota exits after SIGTERM")
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    assert!(status.success(), "exit {status:?}: {stderr}");
    assert!(stderr.contains("SIGTERM received"), "{stderr}");
    assert!(
        reqwest::get(format!("{base}/healthz")).await.is_err(),
        "nothing listens after the drain"
    );
}
