//! `GET /api/v1/openapi.json`: a hand-written OpenAPI 3.1 description of the API.

use axum::Json;
use serde_json::{Value, json};

fn problem_response(description: &str) -> Value {
    json!({ "description": description,
            "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/Problem" } } } })
}

fn json_ok(description: &str, schema: &str) -> Value {
    json!({ "description": description,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

fn body(schema: &str) -> Value {
    json!({ "required": true,
            "content": { "application/json": { "schema": { "$ref": format!("#/components/schemas/{schema}") } } } })
}

/// The document.
pub fn document() -> Value {
    let errors = json!({
        "400": problem_response("Malformed or invalid input"),
        "401": problem_response("Missing or invalid credentials"),
        "403": problem_response("The credentials do not give access to this brand or route"),
        "404": problem_response("Unknown brand"),
        "413": problem_response("Body over the size limit"),
        "415": problem_response("Body is not application/json"),
        "422": problem_response("Unknown metric, wrong types, out-of-range numbers"),
        "503": problem_response("Store unavailable")
    });
    let with = |mut ok: Value| {
        if let (Some(o), Some(e)) = (ok.as_object_mut(), errors.as_object()) {
            for (k, v) in e {
                o.insert(k.clone(), v.clone());
            }
        }
        ok
    };
    json!({
      "openapi": "3.1.0",
      "info": { "title": "Usage Quota Guardian QA server", "version": env!("CARGO_PKG_VERSION") },
      "servers": [{ "url": "/api/v1" }],
      "security": [{ "adminJwt": [] }, { "apiKey": [] }],
      "paths": {
        "/usage-billing/record": { "post": {
            "summary": "Consume units atomically (idempotent with Idempotency-Key or idempotencyKey)",
            "parameters": [{ "name": "Idempotency-Key", "in": "header", "schema": { "type": "string" } }],
            "requestBody": body("RecordRequest"),
            "responses": with(json!({ "200": json_ok("Admitted", "UsageDecision"),
                                      "429": problem_response("Quota exceeded (Retry-After until the period ends)") })) } },
        "/usage-billing/check-quota": { "post": {
            "summary": "Would the quantity be admitted? No side effect",
            "requestBody": body("CheckRequest"),
            "responses": with(json!({ "200": json_ok("The answer", "UsageDecision") })) } },
        "/usage-billing/summary": { "get": {
            "summary": "The brand's snapshot: plan card, metrics, projections, recommendation, timeline",
            "parameters": [{ "name": "brandId", "in": "query", "required": true, "schema": { "type": "string" } },
                           { "name": "lang", "in": "query", "schema": { "type": "string", "enum": ["fr", "en"] } }],
            "responses": with(json!({ "200": { "description": "The snapshot" } })) } },
        "/usage-billing/plans": { "get": {
            "summary": "The plan catalog",
            "responses": with(json!({ "200": { "description": "Currency, thresholds, metrics and plans" } })) } },
        "/usage-billing/reset": { "post": {
            "summary": "Admin: the runbook's quota reset (dryRun writes nothing)",
            "requestBody": body("ResetRequest"),
            "responses": with(json!({ "200": json_ok("What was (or would be) done", "ResetReport") })) } },
        "/usage-billing/share": { "post": {
            "summary": "Admin: a signed, expiring read-only link to a brand's snapshot ($FRONTEND_URL/share/quota/<token>)",
            "requestBody": body("ShareRequest"),
            "responses": with(json!({ "201": json_ok("url, token, expiresAt, id", "ShareLink") })) } },
        "/usage-billing/share/{id}": { "delete": {
            "summary": "Admin: revoke a share link (its page answers 410 from now on)",
            "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
            "responses": with(json!({ "204": { "description": "Revoked" } })) } },
        "/usage-billing/topups/checkout": { "post": {
            "summary": "Start a top-up: a pending top-up and its checkout URL (simulated page, or Stripe Checkout)",
            "requestBody": body("CheckoutRequest"),
            "responses": with(json!({ "201": { "description": "checkoutUrl, sessionId, topupId, amount" },
                                      "502": problem_response("The payment provider failed") })) } },
        "/usage-billing/topups": { "get": {
            "summary": "The brand's top-ups, newest first",
            "parameters": [{ "name": "brandId", "in": "query", "required": true, "schema": { "type": "string" } }],
            "responses": with(json!({ "200": { "description": "brandId, topups" } })) } },
        "/usage-billing/topups/webhook": { "post": {
            "summary": "Stripe webhook (raw body, Stripe-Signature t=,v1=; 300 s tolerance): completes a top-up once",
            "security": [],
            "responses": with(json!({ "200": { "description": "received, result: completed | already_completed | failed | ignored" },
                                      "409": problem_response("The top-up failed earlier and cannot be completed") })) } },
        "/brands": { "post": {
            "summary": "Admin: create a brand and get its public API key",
            "requestBody": body("CreateBrand"),
            "responses": with(json!({ "201": { "description": "Created, with apiKey" },
                                      "409": problem_response("The brand exists") })) } },
        "/admin/clock": { "get": { "summary": "Admin: the server's clock",
            "responses": with(json!({ "200": { "description": "now, offsetSeconds, enabled" } })) } },
        "/admin/clock/advance": { "post": {
            "summary": "Admin: move the dev clock forward (only with --dev-clock)",
            "requestBody": { "required": true, "content": { "application/json": { "schema": {
                "type": "object", "properties": { "seconds": { "type": "integer" }, "days": { "type": "integer" },
                "to": { "type": "string", "format": "date-time" } } } } } },
            "responses": with(json!({ "200": { "description": "The new time" } })) } },
        "/designs": { "post": { "summary": "Public demo route: one ai_generations", "security": [{ "apiKey": [] }],
            "responses": with(json!({ "202": { "description": "Queued; RateLimit-Policy and RateLimit headers" },
                                      "429": problem_response("Quota exceeded") })) } },
        "/renders": { "post": { "summary": "Public demo route: one renders_2d", "security": [{ "apiKey": [] }],
            "responses": with(json!({ "202": { "description": "Queued; RateLimit-Policy and RateLimit headers" },
                                      "429": problem_response("Quota exceeded") })) } }
      },
      "components": {
        "securitySchemes": {
          "adminJwt": { "type": "http", "scheme": "bearer", "bearerFormat": "JWT" },
          "apiKey": { "type": "apiKey", "in": "header", "name": "X-Api-Key" }
        },
        "schemas": {
          "Problem": { "type": "object", "properties": {
              "type": { "type": "string" }, "title": { "type": "string" },
              "status": { "type": "integer" }, "detail": { "type": "string" } } },
          "RecordRequest": { "type": "object", "required": ["brandId", "metric"], "additionalProperties": false,
              "properties": { "brandId": { "type": "string" }, "metric": { "type": "string" },
                "quantity": { "type": "integer", "minimum": 1, "default": 1 }, "idempotencyKey": { "type": "string" } } },
          "CheckRequest": { "type": "object", "required": ["brandId", "metric"], "additionalProperties": false,
              "properties": { "brandId": { "type": "string" }, "metric": { "type": "string" },
                "quantity": { "type": "integer", "minimum": 1, "default": 1 } } },
          "UsageDecision": { "type": "object", "properties": {
              "brandId": { "type": "string" }, "metric": { "type": "string" }, "quantity": { "type": "integer" },
              "allowed": { "type": "boolean" }, "outcome": { "type": "string", "enum": ["allowed", "overage", "denied"] },
              "used": { "type": "integer" }, "limit": { "type": ["integer", "null"] },
              "remaining": { "type": ["integer", "null"] }, "percent": { "type": ["integer", "null"] },
              "status": { "type": "string", "enum": ["ok", "info", "warning", "critical", "blocked"] },
              "replayed": { "type": "boolean" }, "resetsAt": { "type": ["string", "null"] },
              "suggestedPlan": { "type": "string" } } },
          "ResetRequest": { "type": "object", "required": ["brandId", "metric", "target"], "additionalProperties": false,
              "properties": { "brandId": { "type": "string" }, "metric": { "type": "string" },
                "target": { "type": "integer", "minimum": 0, "maximum": 1000 },
                "topup": { "type": "integer", "minimum": 1 }, "dryRun": { "type": "boolean" } } },
          "ResetReport": { "type": "object" },
          "ShareRequest": { "type": "object", "required": ["brandId"], "additionalProperties": false,
              "properties": { "brandId": { "type": "string" }, "ttlMs": { "type": "integer", "minimum": 1 } } },
          "ShareLink": { "type": "object", "properties": { "url": { "type": "string" }, "token": { "type": "string" },
              "expiresAt": { "type": "string", "format": "date-time" }, "id": { "type": "string" } } },
          "CheckoutRequest": { "type": "object", "required": ["brandId", "metric", "units", "successUrl", "cancelUrl"],
              "additionalProperties": false,
              "properties": { "brandId": { "type": "string" }, "metric": { "type": "string" },
                "units": { "type": "integer", "minimum": 1 }, "successUrl": { "type": "string" },
                "cancelUrl": { "type": "string" } } },
          "CreateBrand": { "type": "object", "required": ["brandId", "planId"], "additionalProperties": false,
              "properties": { "brandId": { "type": "string" }, "planId": { "type": "string" } } }
        }
      }
    })
}

/// The handler.
pub async fn spec() -> Json<Value> {
    Json(document())
}
