//! `/api/v1/admin/clock`: the dev clock (only with `quota serve --dev-clock`).

use std::borrow::Cow;

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Schema, Type};
use utoipa::openapi::{KnownFormat, RefOr, SchemaFormat};
use utoipa::{PartialSchema, ToSchema};

use super::openapi::{AuthErrors, BodyErrors, Problem as ProblemSchema};
use crate::auth::Caller;
use crate::devclock::MAX_ADVANCE_SECS;
use crate::extract::ApiJson;
use crate::problem::Problem;
use crate::state::AppState;

/// Body of `POST /admin/clock/advance`: exactly one of the fields (a `null` counts as
/// absent).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Advance {
    #[serde(default, deserialize_with = "super::whole::optional")]
    seconds: Option<i64>,
    #[serde(default, deserialize_with = "super::whole::optional")]
    days: Option<i64>,
    to: Option<DateTime<Utc>>,
}

/// The most days one advance may move.
const MAX_ADVANCE_DAYS: i64 = MAX_ADVANCE_SECS / 86_400;

impl PartialSchema for Advance {
    fn schema() -> RefOr<Schema> {
        let whole = |max: i64, what: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(max))
                .description(Some(what))
        };
        let seconds = whole(MAX_ADVANCE_SECS, "Seconds to move forward");
        let days = whole(MAX_ADVANCE_DAYS, "Days to move forward");
        let to = ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some(
                "The time to move to: later than the clock's now, by at most 400 days (else 409)",
            ));
        // One branch per field: that field is a value, and nothing else holds one.
        let branch = |name: &str, schema: ObjectBuilder| {
            let mut b = ObjectBuilder::new()
                .schema_type(Type::Object)
                .property(name, schema)
                .required(name)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for other in ["seconds", "days", "to"].into_iter().filter(|o| *o != name) {
                b = b.property(other, ObjectBuilder::new().schema_type(Type::Null));
            }
            b.build()
        };
        OneOfBuilder::new()
            .item(branch("seconds", seconds))
            .item(branch("days", days))
            .item(branch("to", to))
            .description(Some(
                "Exactly one of `seconds`, `days` or `to` (the others absent or null)",
            ))
            .into()
    }
}

impl ToSchema for Advance {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("ClockAdvance")
    }
}

/// The server's clock.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClockView {
    /// Whether the dev clock is on (`--dev-clock`).
    enabled: bool,
    /// The server's time.
    now: DateTime<Utc>,
    /// How far the dev clock is ahead of the system clock.
    offset_seconds: i64,
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
#[utoipa::path(
    get,
    path = "/admin/clock",
    tag = "admin",
    operation_id = "clock",
    summary = "Admin: the server's clock",
    responses(
        (status = 200, description = "The clock", body = ClockView),
        AuthErrors,
    ),
    security(("adminJwt" = []))
)]
pub async fn show(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ClockView>, Problem> {
    caller.require_admin()?;
    Ok(Json(ClockView {
        enabled: state.dev_clock.is_some(),
        now: state.guard.clock().now(),
        offset_seconds: state
            .dev_clock
            .as_ref()
            .map_or(0, |c| c.offset().num_seconds()),
    }))
}

/// `POST /admin/clock/advance`: moves the server's time forward.
#[utoipa::path(
    post,
    path = "/admin/clock/advance",
    tag = "admin",
    operation_id = "advanceClock",
    summary = "Admin: move the dev clock forward (403 unless the server runs with --dev-clock)",
    request_body = Advance,
    responses(
        (status = 200, description = "The new time", body = ClockView),
        (status = 409, description = "`to` is not in the clock's future, or more than 400 days ahead",
            body = ProblemSchema, content_type = "application/problem+json"),
        AuthErrors, BodyErrors,
    ),
    security(("adminJwt" = []))
)]
pub async fn advance(
    State(state): State<AppState>,
    caller: Caller,
    ApiJson(body): ApiJson<Advance>,
) -> Result<Json<ClockView>, Problem> {
    caller.require_admin()?;
    let clock = state.dev_clock.as_ref().ok_or_else(disabled)?;
    let moved = match (body.seconds, body.days, body.to) {
        (Some(s), None, None) => clock.advance_secs(s).map_err(Problem::bad_request),
        (None, Some(d), None) => clock
            .advance_secs(d.saturating_mul(86_400))
            .map_err(Problem::bad_request),
        // Whether `to` is reachable depends on the clock's time: a conflict with its state.
        (None, None, Some(at)) => clock.advance_to(at).map_err(|detail| {
            Problem::new(
                StatusCode::CONFLICT,
                "clock-conflict",
                "Time out of reach",
                detail,
            )
        }),
        _ => {
            return Err(Problem::bad_request(
                "give exactly one of `seconds`, `days` or `to`",
            ));
        }
    };
    let now = moved?;
    state.refresh_gauges().await;
    Ok(Json(ClockView {
        enabled: true,
        now,
        offset_seconds: clock.offset().num_seconds(),
    }))
}
