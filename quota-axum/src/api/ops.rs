//! The operator routes beyond `/healthz`: `/readyz` (may this instance take traffic: the
//! store answers, and how many alerts wait in the outbox) and the bearer token that guards
//! `/metrics` when one is configured ([`crate::config::MetricsToken`]).

use std::time::{Duration, Instant};

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};

use crate::problem::Problem;
use crate::state::AppState;

/// How long the store may take to answer the readiness probe.
pub const READY_TIMEOUT: Duration = Duration::from_secs(2);

/// `GET /readyz`: 200 with the store's name, its answer time and the alert backlog when the
/// store answers a ping (and the outbox can be read) within [`READY_TIMEOUT`]; otherwise a
/// 503 problem (`store-unavailable`) with `Retry-After`. `/healthz` stays the liveness probe:
/// it answers as long as the process serves HTTP.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let started = Instant::now();
    let store = state.config.store_name;
    let probe = async {
        state.guard.store().ping().await?;
        match &state.alerts {
            Some(alerts) => alerts.delivery.backlog().await.map(Some),
            None => Ok(None),
        }
    };
    match tokio::time::timeout(READY_TIMEOUT, probe).await {
        Ok(Ok(backlog)) => {
            let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            let outbox = backlog.map(|b| {
                serde_json::json!({ "pending": b.pending, "due": b.due, "inFlight": b.in_flight })
            });
            axum::Json(serde_json::json!({
                "status": "ready",
                "store": store,
                "storeAnsweredInMs": elapsed_ms,
                "outbox": outbox,
            }))
            .into_response()
        }
        Ok(Err(error)) => {
            tracing::warn!(%error, store, "readiness: the store does not answer");
            not_ready(store, "does not answer")
        }
        Err(_) => {
            tracing::warn!(store, "readiness: the store did not answer in time");
            not_ready(store, "did not answer within 2 s")
        }
    }
}

fn not_ready(store: &str, why: &str) -> Response {
    Problem::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "store-unavailable",
        "Not ready",
        format!("the {store} store {why}: this instance cannot serve quota decisions"),
    )
    .with("store", store)
    .with_header(header::RETRY_AFTER, HeaderValue::from_static("5"))
    .into_response()
}

/// Lets a `/metrics` scrape through: always when no token is configured, else only with
/// `Authorization: Bearer <token>` (a 401 problem otherwise).
pub fn metrics_allowed(state: &AppState, headers: &HeaderMap) -> Result<(), Problem> {
    let Some(token) = &state.config.metrics_token else {
        return Ok(());
    };
    let presented = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        });
    match presented {
        Some(t) if token.matches(t.trim()) => Ok(()),
        _ => Err(Problem::unauthorized(
            "/metrics needs `Authorization: Bearer <QUOTA_METRICS_TOKEN>`",
        )
        .with_header(
            header::WWW_AUTHENTICATE,
            HeaderValue::from_static("Bearer realm=\"metrics\""),
        )),
    }
}
