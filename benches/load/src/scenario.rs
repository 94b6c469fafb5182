//! The two scenarios of the runbook's section 5, one request per scheduled slot, in a fixed
//! round-robin so the mix is the same at every rate:
//!
//! - `usage-quota-guardian`: `GET /api/v1/usage-billing/summary`, `POST /designs`,
//!   `POST /renders` (public API key, metered by the quota layer), `POST
//!   /api/v1/usage-billing/record`;
//! - `quota-share-topup`: `POST /api/v1/usage-billing/share`, `GET /share/quota/<token>` (the
//!   newest link), `POST /api/v1/usage-billing/topups/checkout`.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use reqwest::{Client, Method, RequestBuilder, StatusCode};
use serde_json::{Value, json};

use crate::config::{ConfigError, Target};
use crate::stats::{Outcome, Recorder};
use crate::threshold::Threshold;

/// `GET /api/v1/usage-billing/summary` latency (the runbook's gate: p(90) < 400 ms).
pub const QUOTA_SUMMARY_LATENCY: &str = "quota_summary_latency";
/// `POST /designs` latency.
pub const DESIGN_QUEUE_LATENCY: &str = "design_queue_latency";
/// `POST /renders` latency.
pub const RENDER_QUEUE_LATENCY: &str = "render_queue_latency";
/// `POST /api/v1/usage-billing/record` latency.
pub const USAGE_RECORD_LATENCY: &str = "usage_record_latency";
/// `POST /api/v1/usage-billing/share` latency.
pub const SHARE_CREATE_LATENCY: &str = "share_create_latency";
/// `GET /share/quota/<token>` latency.
pub const SHARE_PAGE_LATENCY: &str = "share_page_latency";
/// `POST /api/v1/usage-billing/topups/checkout` latency.
pub const TOPUP_CHECKOUT_LATENCY: &str = "topup_checkout_latency";

/// The metric `POST /usage-billing/record` and the checkout use (charged overage on every
/// demo plan, so a top-up is allowed).
const RECORD_METRIC: &str = "ai_generations";

/// Which scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Summary reads, designs, renders and record calls.
    UsageQuotaGuardian,
    /// Share-link creation and page fetch, top-up checkout.
    QuotaShareTopup,
}

/// One kind of request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// `GET /api/v1/usage-billing/summary?brandId=`.
    Summary,
    /// `POST /designs`.
    Design,
    /// `POST /renders`.
    Render,
    /// `POST /api/v1/usage-billing/record`.
    Record,
    /// `POST /api/v1/usage-billing/share`.
    ShareCreate,
    /// `GET /share/quota/<token>`.
    SharePage,
    /// `POST /api/v1/usage-billing/topups/checkout`.
    Checkout,
}

impl Step {
    /// The metric this step's latency is recorded under.
    pub fn metric(self) -> &'static str {
        match self {
            Step::Summary => QUOTA_SUMMARY_LATENCY,
            Step::Design => DESIGN_QUEUE_LATENCY,
            Step::Render => RENDER_QUEUE_LATENCY,
            Step::Record => USAGE_RECORD_LATENCY,
            Step::ShareCreate => SHARE_CREATE_LATENCY,
            Step::SharePage => SHARE_PAGE_LATENCY,
            Step::Checkout => TOPUP_CHECKOUT_LATENCY,
        }
    }

    /// The status this step expects.
    pub fn expected(self) -> StatusCode {
        match self {
            Step::Summary | Step::Record | Step::SharePage => StatusCode::OK,
            Step::Design | Step::Render => StatusCode::ACCEPTED,
            Step::ShareCreate | Step::Checkout => StatusCode::CREATED,
        }
    }

    /// Whether this step consumes quota, so a 429 is the quota saying no (expected).
    pub fn metered(self) -> bool {
        matches!(self, Step::Design | Step::Render | Step::Record)
    }

    /// How an answer of `status` counts.
    pub fn classify(self, status: StatusCode) -> Outcome {
        if status == self.expected() {
            Outcome::Ok
        } else if status == StatusCode::TOO_MANY_REQUESTS && self.metered() {
            Outcome::Denied
        } else {
            Outcome::Failed(format!("status {}", status.as_u16()))
        }
    }
}

impl Scenario {
    /// The subcommand name.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::UsageQuotaGuardian => "usage-quota-guardian",
            Scenario::QuotaShareTopup => "quota-share-topup",
        }
    }

    /// The round-robin of requests.
    pub fn steps(self) -> &'static [Step] {
        match self {
            Scenario::UsageQuotaGuardian => {
                &[Step::Summary, Step::Design, Step::Render, Step::Record]
            }
            Scenario::QuotaShareTopup => &[Step::ShareCreate, Step::SharePage, Step::Checkout],
        }
    }

    /// The `i`-th request of a run.
    pub fn step(self, i: u64) -> Step {
        let steps = self.steps();
        let len = u64::try_from(steps.len()).unwrap_or(1).max(1);
        let at = usize::try_from(i.checked_rem(len).unwrap_or(0)).unwrap_or(0);
        steps.get(at).copied().unwrap_or(Step::Summary)
    }

    /// The runbook's thresholds: `http_req_failed` < 2 % everywhere, and
    /// `quota_summary_latency` p(90) < 400 ms where summaries are read.
    pub fn default_thresholds(self) -> Vec<Threshold> {
        let mut out = vec![Threshold {
            metric: crate::stats::HTTP_REQ_FAILED.to_owned(),
            stat: crate::threshold::Stat::Rate,
            inclusive: false,
            bound: 0.02,
        }];
        if self == Scenario::UsageQuotaGuardian {
            out.push(Threshold {
                metric: QUOTA_SUMMARY_LATENCY.to_owned(),
                stat: crate::threshold::Stat::Quantile(0.9),
                inclusive: false,
                bound: 400.0,
            });
        }
        out
    }
}

/// A failed set-up (before any load): the server is down, a credential is wrong...
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SetupError(pub String);

impl std::fmt::Display for SetupError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SetupError {}

impl From<ConfigError> for SetupError {
    fn from(e: ConfigError) -> Self {
        SetupError(e.0)
    }
}

/// Builds the HTTP client: plain http, keep-alive pool, a timeout per request.
pub fn client(timeout: Duration, pool: usize) -> Result<Client, SetupError> {
    // Another crate of the workspace may enable reqwest's `rustls-no-provider`: with that
    // feature on and no provider installed, building a client panics.
    let _ = rustls::crypto::ring::default_provider().install_default();
    Client::builder()
        .timeout(timeout)
        .connect_timeout(timeout)
        .pool_max_idle_per_host(pool)
        .tcp_nodelay(true)
        .build()
        .map_err(|e| SetupError(format!("cannot build the HTTP client: {e}")))
}

/// A scenario bound to a server.
#[derive(Debug)]
pub struct Load {
    scenario: Scenario,
    client: Client,
    target: Target,
    recorder: Recorder,
    // The newest share token (the page step reads the link the create step made).
    token: Mutex<String>,
}

impl Load {
    /// Checks the server answers and the credentials work, and prepares what the scenario
    /// needs (a first share link).
    pub async fn setup(
        scenario: Scenario,
        client: Client,
        target: Target,
        recorder: Recorder,
    ) -> Result<Load, SetupError> {
        let health = target.root_url("/healthz")?;
        let res = client.get(health.clone()).send().await.map_err(|e| {
            SetupError(format!(
                "{health} does not answer ({e}): is `quota serve` running there?"
            ))
        })?;
        if !res.status().is_success() {
            return Err(SetupError(format!("{health} answered {}", res.status())));
        }
        let load = Load {
            scenario,
            client,
            target,
            recorder,
            token: Mutex::new(String::new()),
        };
        match scenario {
            Scenario::UsageQuotaGuardian => {
                if load.target.public_key.is_none() {
                    return Err(SetupError(
                        "set PUBLIC_API_KEY to the brand's public key (`quota serve` prints it as PUBLIC_KEY): POST /designs and /renders need it".into(),
                    ));
                }
                let (status, body) = load.send(Step::Summary).await?;
                if status != StatusCode::OK {
                    return Err(SetupError(format!(
                        "the summary of {:?} answered {status}: {body}",
                        load.target.brand
                    )));
                }
            }
            Scenario::QuotaShareTopup => {
                let (status, body) = load.send(Step::ShareCreate).await?;
                if status != StatusCode::CREATED {
                    return Err(SetupError(format!(
                        "creating a share link for {:?} answered {status}: {body}",
                        load.target.brand
                    )));
                }
                load.keep_token(&body);
            }
        }
        Ok(load)
    }

    /// The scenario.
    pub fn scenario(&self) -> Scenario {
        self.scenario
    }

    fn keep_token(&self, body: &str) {
        if let Some(t) = serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("token").and_then(Value::as_str).map(str::to_owned))
        {
            *self.token.lock().unwrap_or_else(PoisonError::into_inner) = t;
        }
    }

    fn request(&self, step: Step) -> Result<RequestBuilder, ConfigError> {
        let t = &self.target;
        let admin = |method: Method, path: &str| -> Result<RequestBuilder, ConfigError> {
            Ok(self
                .client
                .request(method, t.api_url(path)?)
                .bearer_auth(&t.token))
        };
        let public = |path: &str| -> Result<RequestBuilder, ConfigError> {
            Ok(self
                .client
                .post(t.root_url(path)?)
                .header("x-api-key", t.public_key.as_deref().unwrap_or_default())
                .json(&json!({ "source": "quota-load" })))
        };
        Ok(match step {
            Step::Summary => {
                let mut url = t.api_url("/usage-billing/summary")?;
                url.query_pairs_mut().append_pair("brandId", &t.brand);
                self.client.get(url).bearer_auth(&t.token)
            }
            Step::Design => public("/designs")?,
            Step::Render => public("/renders")?,
            Step::Record => admin(Method::POST, "/usage-billing/record")?
                .json(&json!({ "brandId": t.brand, "metric": RECORD_METRIC, "quantity": 1 })),
            Step::ShareCreate => {
                admin(Method::POST, "/usage-billing/share")?.json(&json!({ "brandId": t.brand }))
            }
            Step::SharePage => {
                let token = self
                    .token
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .clone();
                self.client
                    .get(t.root_url(&format!("/share/quota/{token}"))?)
            }
            Step::Checkout => admin(Method::POST, "/usage-billing/topups/checkout")?.json(&json!({
                "brandId": t.brand,
                "metric": RECORD_METRIC,
                "units": 100,
                "successUrl": format!("{}/billing?topup=success", t.frontend),
                "cancelUrl": format!("{}/billing?topup=cancel", t.frontend),
            })),
        })
    }

    async fn send(&self, step: Step) -> Result<(StatusCode, String), SetupError> {
        let res = self
            .request(step)?
            .send()
            .await
            .map_err(|e| SetupError(format!("{step:?}: {e}")))?;
        let status = res.status();
        let body = res
            .text()
            .await
            .map_err(|e| SetupError(format!("{step:?}: reading the body: {e}")))?;
        Ok((status, body))
    }

    /// Runs the `i`-th request of the run and records it.
    pub async fn run(&self, i: u64) {
        let step = self.scenario.step(i);
        let req = match self.request(step) {
            Ok(r) => r,
            Err(e) => {
                self.recorder
                    .record(step.metric(), Duration::ZERO, Outcome::Failed(e.0));
                return;
            }
        };
        let started = Instant::now();
        let answer = match req.send().await {
            Ok(res) => {
                let status = res.status();
                res.text().await.map(|body| (status, body))
            }
            Err(e) => Err(e),
        };
        let latency = started.elapsed();
        let outcome = match answer {
            Ok((status, body)) => {
                let outcome = step.classify(status);
                if step == Step::ShareCreate && outcome == Outcome::Ok {
                    self.keep_token(&body);
                }
                outcome
            }
            Err(e) if e.is_timeout() => Outcome::Failed("timeout".into()),
            Err(e) if e.is_connect() => Outcome::Failed("connect error".into()),
            Err(_) => Outcome::Failed("transport error".into()),
        };
        self.recorder.record(step.metric(), latency, outcome);
    }
}
