//! Operating the server over real HTTP: `/metrics` behind its token, request ids in and out,
//! generic 401s and human JSON errors (in-process), and against the `quota` binary itself:
//! `/readyz` turning 503 when its Redis goes away, and JSON logs with one line per request.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::{Auth, Harness};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader, Lines};
use tokio::net::{TcpListener, TcpStream};
use tokio::process::{Child, ChildStderr, Command};
use tokio::task::JoinHandle;

const METRICS_TOKEN: &str = "scrape-token-0123456789";

#[tokio::test]
async fn metrics_answers_401_without_the_token_when_one_is_set() {
    let h = Harness::start_with("memory", |c| {
        c.metrics_token = Some(METRICS_TOKEN.into());
    })
    .await;
    let r = h.get("/metrics", Auth::None).await;
    r.assert_problem(401);
    assert!(
        r.header("www-authenticate")
            .is_some_and(|v| v.starts_with("Bearer")),
        "{:?}",
        r.headers
    );
    assert!(!r.text.contains("brand_dashboard"), "{}", r.text);
    h.get("/metrics", Auth::Bearer("scrape-token-0123456780"))
        .await
        .assert_problem(401);
    // An admin JWT is no scrape token either.
    h.get("/metrics", Auth::Admin).await.assert_problem(401);
    let r = h.get("/metrics", Auth::Bearer(METRICS_TOKEN)).await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("quota_usage{"), "{}", r.text);
    h.server.stop().await.unwrap();

    // Without a token /metrics stays open (the default).
    let open = Harness::start("memory").await;
    assert_eq!(open.get("/metrics", Auth::None).await.status, 200);
    open.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_weak_metrics_token_is_refused_at_start() {
    let mut cfg = quota_server::ServeConfig::for_tests();
    cfg.metrics_token = Some("short".into());
    let err = quota_server::spawn(cfg).await.unwrap_err();
    assert!(err.to_string().contains("QUOTA_METRICS_TOKEN"), "{err}");
}

#[tokio::test]
async fn request_ids_are_echoed_and_generated_when_absent_or_unfit() {
    let h = Harness::start("memory").await;
    let with = |id: &'static str| {
        h.http
            .get(format!("{}/healthz", h.base))
            .header("x-request-id", id)
    };
    let r = h.send(with("req-42.abc"), Auth::None).await;
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-request-id").as_deref(), Some("req-42.abc"));

    let a = h.get("/healthz", Auth::None).await;
    let b = h.get("/healthz", Auth::None).await;
    let (a, b) = (
        a.header("x-request-id").unwrap(),
        b.header("x-request-id").unwrap(),
    );
    assert_eq!(a.len(), 32, "{a}");
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit()), "{a}");
    assert_ne!(a, b, "a fresh id per request");

    // An id with characters a log line should not carry is replaced.
    let r = h.send(with("two words\"and a quote"), Auth::None).await;
    let got = r.header("x-request-id").unwrap();
    assert_eq!(got.len(), 32, "{got}");
    // Refusals and unknown routes carry one too.
    let r = h
        .send(
            h.http
                .get(format!("{}/no/such/route", h.base))
                .header("x-request-id", "lost-1"),
            Auth::None,
        )
        .await;
    assert_eq!(r.status, 404);
    assert_eq!(r.header("x-request-id").as_deref(), Some("lost-1"));
    let r = h.get("/api/v1/usage-billing/plans", Auth::None).await;
    assert_eq!(r.status, 401);
    assert!(r.header("x-request-id").is_some());
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn auth_failures_are_one_generic_401() {
    let h = Harness::start("memory").await;
    let expired = h
        .server
        .state
        .secrets
        .admin_token_expiring(1_000_000)
        .unwrap();
    let forged_key = h
        .server
        .public_key("brand_dashboard")
        .replace("_dash", "_xash");
    let plans = "/api/v1/usage-billing/plans";
    let mut details = Vec::new();
    for auth in [
        Auth::Bearer("not.a.jwt"),
        Auth::Bearer(&expired),
        Auth::Bearer("eyJhbGciOiJub25lIn0.eyJyb2xlIjoiYWRtaW4ifQ."),
        Auth::Key(&forged_key),
    ] {
        let r = h.get(plans, auth).await;
        let body = r.assert_problem(401);
        details.push(body["detail"].as_str().unwrap().to_owned());
    }
    details.dedup();
    assert_eq!(details.len(), 1, "{details:?}");
    let detail = &details[0];
    for leak in [
        "signature",
        "issuer",
        "role",
        "unsigned",
        "jws",
        "base64",
        "alg",
    ] {
        assert!(!detail.to_lowercase().contains(leak), "{leak} in {detail}");
    }
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn bad_json_gets_a_human_message_naming_the_field() {
    let h = Harness::start("memory").await;
    let record = "/api/v1/usage-billing/record";
    let r = h
        .post(
            record,
            json!({ "brandId": 5, "metric": "ai_generations", "quantity": 1 }),
            Auth::Admin,
        )
        .await;
    let body = r.assert_problem(422);
    assert_eq!(body["field"], "brandId", "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("field `brandId`: invalid type"),
        "{detail}"
    );
    assert!(!detail.contains("Failed to deserialize"), "{detail}");

    let r = h
        .post(record, json!({ "metric": "ai_generations" }), Auth::Admin)
        .await;
    let body = r.assert_problem(422);
    assert_eq!(body["field"], "brandId", "{body}");

    let raw = h
        .http
        .post(format!("{}{record}", h.base))
        .header("content-type", "application/json")
        .body("{\"brandId\": ");
    let r = h.send(raw, Auth::Admin).await;
    let body = r.assert_problem(400);
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.starts_with("the body is not valid JSON: "),
        "{detail}"
    );
    assert!(!detail.contains("Failed to parse"), "{detail}");

    let text = h
        .http
        .post(format!("{}{record}", h.base))
        .header("content-type", "text/plain")
        .body("{}");
    let r = h.send(text, Auth::Admin).await;
    let body = r.assert_problem(415);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("application/json")
    );
    h.server.stop().await.unwrap();
}

/// A TCP proxy to a real Redis on a port-0 listener; [`Proxy::stop`] closes the listener
/// and every connection through it: to the server, the store is gone.
struct Proxy {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Proxy {
    async fn to(upstream: String) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            // Dropped with the task: aborts every connection.
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    if let Ok(mut outbound) = TcpStream::connect(&upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
            }
        });
        Proxy { addr, task }
    }

    async fn stop(self) {
        self.task.abort();
        let _ = self.task.await;
    }
}

/// `quota serve --port 0` with `args`; its stderr lines.
fn start_quota(args: &[&str], env: &[(&str, &str)]) -> (Child, Lines<BufReader<ChildStderr>>) {
    quota_server::install_crypto_provider();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quota"));
    cmd.args(["serve", "--port", "0"])
        .args(args)
        .env_remove("QUOTA_ADMIN_JWT_SECRET")
        .env_remove("QUOTA_METRICS_TOKEN")
        .env_remove("QUOTA_LOG_FORMAT")
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let stderr = BufReader::new(child.stderr.take().unwrap()).lines();
    (child, stderr)
}

/// The base URL the text banner names on stdout. The rest of stdout is read on in the
/// background: a closed pipe would make the server's next line of output fail.
async fn banner_url(child: &mut Child) -> String {
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(line) = lines.next_line().await.unwrap() {
        if let Some(url) = line.strip_prefix("quota server listening on ") {
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return url.trim().to_owned();
        }
    }
    panic!("no banner");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readyz_answers_503_when_the_redis_store_of_the_binary_goes_away() {
    let Some(redis) = quota_testkit::service::url_or_skip(
        "readyz_answers_503_when_the_redis_store_of_the_binary_goes_away",
        "REDIS_URL",
        "redis://127.0.0.1:6379",
        "run `source scripts/redis-env.sh` to start one",
    ) else {
        return;
    };
    let host = redis
        .trim_start_matches("redis://")
        .split(['/', '?'])
        .next()
        .unwrap()
        .to_owned();
    let proxy = Proxy::to(host).await;
    let store = format!(
        "redis://{}/?prefix={}",
        proxy.addr,
        common::unique("readyz")
    );
    let (mut child, mut stderr) = start_quota(&["--store", &store], &[]);
    // Read on, so that the warnings of a lost store never fill the pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = stderr.next_line().await {} });
    let base = banner_url(&mut child).await;
    let http = reqwest::Client::new();

    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["status"], "ready", "{body}");
    assert_eq!(body["store"], "redis", "{body}");

    proxy.stop().await;
    let r = http.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(r.status(), 503);
    assert_eq!(
        r.headers()["content-type"].to_str().unwrap(),
        "application/problem+json"
    );
    assert!(r.headers().contains_key("retry-after"));
    let body: Value = r.json().await.unwrap();
    assert_eq!(
        body["type"], "urn:quota-guardian:problem:store-unavailable",
        "{body}"
    );
    assert_eq!(body["store"], "redis");
    // Liveness is another question: the process still serves.
    let r = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    child.kill().await.unwrap();
}

/// The next stderr line, parsed: every line must be one JSON object.
async fn next_json(lines: &mut Lines<BufReader<ChildStderr>>) -> Option<Value> {
    let line = lines.next_line().await.unwrap()?;
    assert!(!line.contains('\u{1b}'), "ANSI codes in a JSON log: {line}");
    Some(serde_json::from_str(&line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}")))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_are_one_object_per_line_with_the_request_fields() {
    let (mut child, mut lines) = start_quota(&["--log-format", "json"], &[("RUST_LOG", "info")]);
    let guard = Duration::from_secs(60);
    let base = tokio::time::timeout(guard, async {
        loop {
            let v = next_json(&mut lines).await.expect("a listening event");
            if v["fields"]["message"] == "listening" {
                return v["fields"]["url"].as_str().unwrap().to_owned();
            }
        }
    })
    .await
    .expect("the server starts");
    let http = reqwest::Client::new();
    let ok = http
        .get(format!("{base}/healthz"))
        .header("x-request-id", "json-log-1")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    let refused = http
        .get(format!(
            "{base}/api/v1/usage-billing/summary?brandId=brand_dashboard"
        ))
        .header("x-request-id", "json-log-2")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);

    let mut seen = Vec::new();
    tokio::time::timeout(guard, async {
        while seen.len() < 2 {
            let v = next_json(&mut lines).await.expect("the request lines");
            if v["fields"]["message"] == "answered" {
                seen.push(v);
            }
        }
    })
    .await
    .expect("one line per request");
    let by_id = |id: &str| {
        seen.iter()
            .find(|v| v["span"]["request_id"] == id)
            .unwrap_or_else(|| panic!("no line for {id}: {seen:?}"))
            .clone()
    };
    let health = by_id("json-log-1");
    assert_eq!(health["level"], "INFO");
    assert_eq!(health["span"]["name"], "request");
    assert_eq!(health["span"]["method"], "GET");
    assert_eq!(health["span"]["route"], "/healthz");
    assert_eq!(health["fields"]["status"], 200);
    assert!(health["fields"]["latency_ms"].is_u64(), "{health}");
    assert!(health["timestamp"].is_string());
    let summary = by_id("json-log-2");
    assert_eq!(summary["span"]["route"], "/api/v1/usage-billing/summary");
    assert_eq!(summary["fields"]["status"], 401);

    // The drain is logged as JSON too, and nothing is written to stdout.
    let pid = child.id().unwrap().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let mut drained = false;
    tokio::time::timeout(guard, async {
        while let Some(v) = next_json(&mut lines).await {
            drained |= v["fields"]["message"] == "draining";
        }
    })
    .await
    .expect("stderr closes at exit");
    assert!(drained, "the drain is logged");
    let status = child.wait().await.unwrap();
    assert!(status.success(), "{status:?}");
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .await
        .unwrap();
    assert_eq!(stdout, "", "JSON mode writes logs only");
}

/// The value of the first sample of `name` whose labels include every one of `labels` (in
/// any order).
fn series(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().find_map(|line| {
        let rest = line.strip_prefix(name)?;
        let (set, value) = match rest.strip_prefix('{') {
            Some(r) => r.split_once("} ")?,
            None => ("", rest.strip_prefix(' ')?),
        };
        labels
            .iter()
            .all(|(k, v)| {
                set.split("\",")
                    .any(|kv| kv.trim_end_matches('"') == format!("{k}=\"{v}"))
            })
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

/// The families `/metrics` declares (`# TYPE name kind`), with their kind.
fn families(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, k)| (n.to_owned(), k.to_owned()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_http_requests_by_route_template_and_time_in_seconds() {
    let h = Harness::start("memory").await;
    let (brand, key) = h.brand("free").await;
    assert_eq!(h.record(&brand, "ai_generations", 3).await.status, 200);
    h.summary(&brand).await;
    assert_eq!(
        h.post("/renders", json!({}), Auth::Key(&key)).await.status,
        202
    );
    let raw_token = "not-a-share-token-4c1d";
    let share = h
        .get(&format!("/share/quota/{raw_token}"), Auth::None)
        .await;
    assert!((400..500).contains(&share.status), "{}", share.status);
    assert_eq!(
        h.get("/no/such/metric-route-77", Auth::None).await.status,
        404
    );
    let m = h.metrics_text().await;

    // Requests by method, matched route template and status class; raw paths never appear.
    let count = |labels: &[(&str, &str)]| series(&m, "quota_http_requests_total", labels);
    assert!(count(&[("method", "POST"), ("route", "/renders"), ("status", "2xx")]) >= Some(1.0));
    assert!(
        count(&[
            ("method", "POST"),
            ("route", "/api/v1/usage-billing/record"),
            ("status", "2xx")
        ]) >= Some(1.0)
    );
    assert!(
        count(&[
            ("method", "GET"),
            ("route", "/share/quota/{token}"),
            ("status", "4xx")
        ]) >= Some(1.0),
        "{m}"
    );
    assert!(count(&[("method", "GET"), ("route", "unmatched"), ("status", "4xx")]) >= Some(1.0));
    assert!(!m.contains(raw_token), "a raw path is a label value");
    assert!(
        !m.contains("metric-route-77"),
        "a raw path is a label value"
    );
    assert!(
        series(
            &m,
            "quota_http_request_duration_seconds_count",
            &[("method", "POST"), ("route", "/renders"), ("status", "2xx")]
        ) >= Some(1.0)
    );

    // Latency histograms are in seconds, under their `_seconds` names only.
    let kinds = families(&m);
    for name in [
        "quota_summary_latency_seconds",
        "quota_render_queue_latency_seconds",
        "quota_http_request_duration_seconds",
        "quota_store_latency_seconds",
    ] {
        assert!(
            kinds.iter().any(|(n, k)| n == name && k == "histogram"),
            "{name} is no histogram: {kinds:?}"
        );
    }
    for old in [
        "quota_summary_latency",
        "render_queue_latency",
        "design_queue_latency",
    ] {
        assert!(!kinds.iter().any(|(n, _)| n == old), "{old} still exported");
    }
    assert!(series(&m, "quota_summary_latency_seconds_count", &[]) >= Some(1.0));
    assert!(series(&m, "quota_summary_latency_seconds_bucket", &[("le", "0.4")]).is_some());
    assert!(series(&m, "quota_render_queue_latency_seconds_count", &[]) >= Some(1.0));
    // The store behind the guard is timed per operation; its ping answers.
    assert!(
        series(
            &m,
            "quota_store_latency_seconds_count",
            &[("op", "put_subscription")]
        ) >= Some(1.0)
    );
    assert_eq!(series(&m, "quota_store_up", &[]), Some(1.0));
    // One meaning per label set: the record route and the quota layer count apart.
    assert!(
        series(
            &m,
            "quota_decisions_total",
            &[("outcome", "allowed"), ("source", "api")]
        ) >= Some(1.0)
    );
    assert!(
        series(
            &m,
            "quota_decisions_total",
            &[("outcome", "allowed"), ("source", "layer")]
        ) >= Some(1.0)
    );
    assert!(
        !m.lines()
            .any(|l| l.starts_with("quota_decisions_total{") && !l.contains("source=")),
        "a decision without its source"
    );
    h.server.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn brands_past_the_series_cap_get_no_usage_series() {
    let h = Harness::start_with("memory", |c| {
        c.metrics_brand_series = 2;
        c.seed = false;
    })
    .await;
    let mut brands = Vec::new();
    for _ in 0..3 {
        let (brand, _) = h.brand("starter").await;
        assert_eq!(h.record(&brand, "ai_generations", 5).await.status, 200);
        brands.push(brand);
    }
    let refused_before = series(
        &h.metrics_text().await,
        "quota_brand_series_refused_total",
        &[],
    );
    assert!(refused_before >= Some(1.0), "the third brand was refused");
    let m = h.metrics_text().await;
    let used = |b: &str| {
        series(
            &m,
            "quota_usage",
            &[("brand", b), ("metric", "ai_generations")],
        )
    };
    assert_eq!(used(&brands[0]), Some(5.0));
    assert_eq!(used(&brands[1]), Some(5.0));
    assert_eq!(used(&brands[2]), None, "past the cap of 2");
    assert!(
        !m.contains(brands[2].as_str()),
        "no series names the third brand"
    );
    // Its usage is still recorded: only the series are capped.
    assert_eq!(h.used(&brands[2], "ai_generations").await, 5);
    h.server.stop().await.unwrap();

    // 0 turns the per-brand series off.
    let off = Harness::start_with("memory", |c| c.metrics_brand_series = 0).await;
    let (brand, _) = off.brand("starter").await;
    assert_eq!(off.record(&brand, "ai_generations", 1).await.status, 200);
    off.summary(&brand).await;
    assert!(!off.metrics_text().await.contains(brand.as_str()));
    off.server.stop().await.unwrap();
}

/// The `quota_*` names of the PromQL expressions of the dashboard and the alert rules.
fn deploy_metric_names() -> Vec<String> {
    fn names(expr: &str, out: &mut Vec<String>) {
        let mut rest = expr;
        while let Some(at) = rest.find("quota_") {
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            out.push(tail[..end].to_owned());
            rest = &tail[end..];
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy");
    let dashboard: Value =
        serde_json::from_str(&std::fs::read_to_string(root.join("grafana/quota.json")).unwrap())
            .expect("deploy/grafana/quota.json is JSON");
    let mut out = Vec::new();
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(!panels.is_empty());
    for panel in panels {
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty(), "{panel}");
        for t in targets {
            names(t["expr"].as_str().expect("expr"), &mut out);
        }
    }
    for var in dashboard["templating"]["list"]
        .as_array()
        .expect("templating")
    {
        if let Some(q) = var["definition"].as_str() {
            names(q, &mut out);
        }
    }
    // alerts.yml: the lines of each `expr:` (its first line and the ones indented deeper).
    let rules = std::fs::read_to_string(root.join("prometheus/alerts.yml")).unwrap();
    let mut expr_indent = None;
    let mut exprs = 0;
    for line in rules.lines() {
        let indent = line.len() - line.trim_start().len();
        match expr_indent {
            Some(i) if indent > i || line.trim().is_empty() => names(line, &mut out),
            _ => expr_indent = None,
        }
        if let Some(e) = line.trim_start().strip_prefix("expr:") {
            exprs += 1;
            names(e, &mut out);
            expr_indent = Some(indent);
        }
    }
    assert_eq!(exprs, 4, "alerts.yml holds the four rules");
    out.sort();
    out.dedup();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_and_the_alert_rules_name_only_exported_metrics() {
    use quota_notify::testing::{HttpReceiver, wait_quiet};
    use quota_notify::{NotifyConfig, RetryPolicy};

    // A Slack sink that refuses connections, one attempt per alert: they dead-letter.
    let down = HttpReceiver::reserve();
    let cfg = NotifyConfig::builder()
        .slack(down.url("/slack"))
        .min_threshold(90)
        .poll_interval(Duration::from_millis(50))
        .retry(RetryPolicy::new(
            1,
            Duration::from_secs(1),
            Duration::from_secs(1),
        ))
        .build()
        .unwrap();
    let h = Harness::start_with("memory", |c| c.notify = Some(cfg)).await;
    let (brand, key) = h.brand("starter").await;
    assert_eq!(h.record(&brand, "ai_generations", 460).await.status, 200);
    assert_eq!(
        h.post("/designs", json!({}), Auth::Key(&key)).await.status,
        202
    );
    h.summary(&brand).await;
    let alerts = h.server.state.alerts.as_ref().unwrap();
    wait_quiet(&alerts.delivery, &alerts.listener, Duration::from_secs(30)).await;
    assert!(alerts.delivery.stats().dead_lettered() >= 1);
    let m = h.metrics_text().await;
    let exported: Vec<String> = families(&m).into_iter().map(|(n, _)| n).collect();

    assert!(
        series(&m, "quota_outbox_dead_letters", &[("sink", "slack")]) >= Some(1.0),
        "{m}"
    );
    assert_eq!(
        series(&m, "quota_outbox_pending", &[("sink", "slack")]),
        Some(0.0)
    );
    assert!(series(&m, "quota_outbox_dead_lettered_total", &[]) >= Some(1.0));
    // Every family the server names is exported, but those waiting for their event.
    let waiting = [
        "quota_brand_series_refused_total",
        "quota_store_errors_total",
        "quota_store_operation_errors_total",
    ];
    for name in quota_axum::metrics::NAMES {
        assert!(
            exported.iter().any(|e| e == name) || waiting.contains(name),
            "{name} not exported: {exported:?}"
        );
    }
    for name in waiting {
        assert!(quota_axum::metrics::CONDITIONAL_NAMES.contains(&name));
    }

    let referenced = deploy_metric_names();
    assert!(referenced.len() >= 15, "{referenced:?}");
    for name in &referenced {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|s| name.strip_suffix(s))
            .filter(|base| quota_axum::metrics::NAMES.contains(base))
            .unwrap_or(name);
        assert!(
            quota_axum::metrics::NAMES.contains(&family),
            "deploy/ names {name}, which the server does not export"
        );
        assert!(
            exported.iter().any(|e| e == family) || waiting.contains(&family),
            "{name} missing from /metrics"
        );
    }
    h.server.stop().await.unwrap();
}
