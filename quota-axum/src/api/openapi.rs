//! `GET /api/v1/openapi.json`: the OpenAPI 3.1 document of the API, generated from the
//! handlers' `#[utoipa::path]` attributes and the request and response types (see
//! [`super::documented`]), with the catalog-dependent schemas narrowed to the server's catalog
//! ([`super::schema::for_catalog`]).

use std::sync::Arc;

use axum::extract::State;
use axum::{Extension, Json};
use quota_core::Catalog;
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::openapi::schema::AllOfBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, RefOr, Schema};
use utoipa::{IntoResponses, Modify, OpenApi, ToSchema};

use super::schema;
use crate::state::AppState;

/// The security scheme of admin JWTs.
pub const ADMIN_JWT: &str = "adminJwt";
/// The security scheme of a brand's public API key.
pub const API_KEY: &str = "apiKey";

/// The document's frame: title, server, security schemes and the shared schemas.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Usage Quota Guardian API",
        description = "Usage billing: record and check usage against plan quotas, read the brand snapshot, \
                       reset, share links, top-ups and their Stripe webhook. Errors are RFC 9457 problems \
                       (`application/problem+json`). Request bodies are limited to the server's \
                       `--body-limit` (16 KiB by default; 256 KiB for the webhook): 413 beyond."
    ),
    servers((url = "/api/v1")),
    modifiers(&SecuritySchemes),
    components(schemas(
        Problem,
        schema::BrandId,
        schema::MetricKey,
        schema::CounterMetricKey,
        schema::TopUpMetricKey,
        schema::PlanId,
        schema::Quantity,
        schema::TopUpUnits,
        schema::CheckoutUnits,
        schema::TargetPercent,
        schema::IdempotencyKey,
        schema::ShareLinkId,
        schema::StripeSignature,
        schema::RedirectUrl,
        super::summary::Lang,
    ))
)]
pub struct ApiDoc;

struct SecuritySchemes;

impl Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            ADMIN_JWT,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some(
                        "An admin JWT (HS256, `role: admin`, `iss: quota`): `quota token admin`",
                    ))
                    .build(),
            ),
        );
        components.add_security_scheme(
            API_KEY,
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Api-Key",
                "A brand's public API key (`pk_<brandId>_<mac>`, also accepted as \
                 `Authorization: Bearer pk_...`): it reads and writes that brand only",
            ))),
        );
    }
}

/// An RFC 9457 problem, the body of every error (`application/problem+json`). Some problems
/// carry extension members: `brandId`, `metric`, `planId`, `max`, `code`, `idempotencyKey`,
/// and on a refused consume the decision's fields (`used`, `limit`, `resetsAt`...).
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// `urn:quota-guardian:problem:<slug>` (or the deployment's own base).
    #[serde(rename = "type")]
    #[schema(min_length = 1)]
    kind: String,
    /// Short summary, stable for a type.
    title: String,
    /// The HTTP status.
    #[schema(minimum = 400, maximum = 599)]
    status: u16,
    /// What went wrong with this request.
    detail: String,
}

/// The answers of a route that needs credentials.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum AuthErrors {
    /// No, malformed or invalid credentials.
    #[response(
        status = 401,
        content_type = "application/problem+json",
        headers(("WWW-Authenticate" = String, description = "`Bearer realm=\"quota\"`"))
    )]
    Unauthorized(Problem),
    /// The credentials do not give access to this brand or route.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
}

/// The answers to a JSON body the server cannot read.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum BodyErrors {
    /// Malformed JSON, or a value the schema refuses (bad id, out-of-range number).
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// The body is over the size limit.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// Wrong JSON types, missing or unknown fields, an unknown metric or plan, a quantity
    /// past the metric's ceiling.
    #[response(status = 422, content_type = "application/problem+json")]
    Unprocessable(Problem),
}

/// The answer to a parameter the server cannot read.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum ParamErrors {
    /// A missing, malformed or unknown parameter.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
}

/// The answer about a brand without subscription.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum UnknownBrand {
    /// Unknown brand.
    #[response(status = 404, content_type = "application/problem+json")]
    NotFound(Problem),
}

/// The answers when the store fails.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub enum StoreErrors {
    /// An unexpected failure.
    #[response(status = 500, content_type = "application/problem+json")]
    Internal(Problem),
    /// The store is unavailable: try again.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// The served document, shared by the requests.
#[derive(Clone)]
pub struct Spec(pub Arc<Document>);

impl std::fmt::Debug for Spec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spec")
            .field("paths", &self.0.paths.paths.len())
            .finish()
    }
}

/// The document for a server running `catalog` on `public_origin` (checkout redirects must
/// stay on it): `base` with the catalog-dependent schemas
/// (metric keys, plan ids, the per-request quantity and the top-up units, per metric when the
/// metrics' bounds differ) narrowed to it.
pub fn document(base: &Document, catalog: &Catalog, public_origin: Option<&str>) -> Document {
    let mut doc = base.clone();
    let components = doc.components.get_or_insert_with(Default::default);
    for (name, object) in super::schema::for_catalog(catalog) {
        components
            .schemas
            .insert(name.to_owned(), RefOr::T(Schema::Object(object)));
    }
    if let Some(origin) = public_origin {
        components.schemas.insert(
            "RedirectUrl".to_owned(),
            RefOr::T(Schema::Object(super::schema::redirect_url_on(origin))),
        );
    }
    let bounds = [
        (
            super::schema::quantity_by_metric(catalog),
            &["RecordBody", "CheckBody"][..],
        ),
        (
            super::schema::topup_units_by_metric(catalog),
            &["CheckoutBody"][..],
        ),
    ];
    for (bound, names) in bounds {
        let Some(bound) = bound else { continue };
        for name in names {
            if let Some(body) = components.schemas.remove(*name) {
                let both = AllOfBuilder::new().item(body).item(bound.clone()).build();
                components
                    .schemas
                    .insert((*name).to_owned(), RefOr::T(Schema::AllOf(both)));
            }
        }
    }
    doc
}

/// `GET /openapi.json`: this document.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    operation_id = "openapi",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document of this API", body = Object),
    )
)]
pub async fn spec(
    State(state): State<AppState>,
    Extension(Spec(base)): Extension<Spec>,
) -> Json<Value> {
    let origin = state.payments.redirects.origin();
    let doc = document(&base, state.guard.catalog(), Some(&origin));
    Json(serde_json::to_value(&doc).unwrap_or_else(|_| Value::Object(Map::new())))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn valid(doc: &Value, name: &str, value: &Value) -> bool {
        let schema = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": doc["components"].clone(),
        });
        jsonschema::validator_for(&schema).is_ok_and(|v| v.is_valid(value))
    }

    #[test]
    fn quantities_are_bounded_per_metric_when_the_ceilings_differ() {
        let Ok(catalog) = Catalog::from_toml(
            r#"
            currency = "EUR"
            [[metrics]]
            key = "calls"
            kind = "counter"
            [[metrics]]
            key = "exports"
            kind = "counter"
            max_per_request = 5
            [[plans]]
            id = "base"
            price = 0
            [plans.limits.calls]
            included = 100
            [plans.limits.exports]
            included = 10
            "#,
        ) else {
            unreachable!("a valid catalog");
        };
        let base = super::super::documented().into_openapi();
        let doc = serde_json::to_value(document(&base, &catalog, None)).unwrap_or_default();
        for body in ["RecordBody", "CheckBody"] {
            for (metric, quantity, ok) in [
                ("calls", 1_000, true),
                ("exports", 5, true),
                ("exports", 6, false),
                ("reports", 1, false),
            ] {
                let value = json!({ "brandId": "acme", "metric": metric, "quantity": quantity });
                assert_eq!(valid(&doc, body, &value), ok, "{body} {value}");
            }
            assert!(valid(
                &doc,
                body,
                &json!({ "brandId": "acme", "metric": "exports" })
            ));
        }
        // One ceiling for all: the plain bound.
        let demo =
            serde_json::to_value(document(&base, &Catalog::demo(), None)).unwrap_or_default();
        assert!(demo["components"]["schemas"]["RecordBody"]["allOf"].is_null());
    }
}
