//! `/api/v1/admin/clock`: the dev clock (only with `quota serve --dev-clock`).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::auth::Caller;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /admin/clock/advance`: exactly one of the fields.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Advance {
    seconds: Option<i64>,
    days: Option<i64>,
    to: Option<DateTime<Utc>>,
}

fn disabled() -> Problem {
    Problem::new(
        StatusCode::FORBIDDEN,
        "dev-clock-disabled",
        "Dev clock disabled",
        "the dev clock is off: start the server with `quota serve --dev-clock` to move time",
    )
}

/// `GET /admin/clock`.
pub async fn show(State(state): State<AppState>, caller: Caller) -> Result<Json<Value>, Problem> {
    caller.require_admin()?;
    Ok(Json(json!({
        "enabled": state.dev_clock.is_some(),
        "now": state.guard.clock().now(),
        "offsetSeconds": state.dev_clock.as_ref().map_or(0, |c| c.offset().num_seconds()),
    })))
}

/// `POST /admin/clock/advance`: moves the server's time forward.
pub async fn advance(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Advance>,
) -> Result<Json<Value>, Problem> {
    caller.require_admin()?;
    let clock = state.dev_clock.as_ref().ok_or_else(disabled)?;
    let moved = match (body.seconds, body.days, body.to) {
        (Some(s), None, None) => clock.advance_secs(s),
        (None, Some(d), None) => clock.advance_secs(d.saturating_mul(86_400)),
        (None, None, Some(at)) => clock.advance_to(at),
        _ => {
            return Err(Problem::bad_request(
                "give exactly one of `seconds`, `days` or `to`",
            ));
        }
    };
    let now = moved.map_err(Problem::bad_request)?;
    state.refresh_gauges().await;
    Ok(Json(json!({
        "enabled": true,
        "now": now,
        "offsetSeconds": clock.offset().num_seconds(),
    })))
}
