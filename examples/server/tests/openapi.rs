//! The served OpenAPI document against the server itself: every route of `/api/v1` is in it
//! (and nothing else), and real answers of every operation — successes and problems —
//! validate against the schema documented for their status and content type.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]

mod common;

use std::collections::BTreeSet;

use quota_core::Clock;
use serde_json::{Value, json};

use common::{Auth, Harness, Resp};

const WEBHOOK_SECRET: &str = "whsec_test_openapi_0123456789abcdef";

/// Every route the server serves under `/api/v1`, by method: the API of quota-axum and the
/// `quota` server's demo routes.
const ROUTES: &[(&str, &str)] = &[
    ("post", "/usage-billing/record"),
    ("post", "/usage-billing/check-quota"),
    ("get", "/usage-billing/summary"),
    ("get", "/usage-billing/plans"),
    ("post", "/usage-billing/reset"),
    ("post", "/usage-billing/share"),
    ("delete", "/usage-billing/share/{id}"),
    ("get", "/usage-billing/topups"),
    ("post", "/usage-billing/topups/checkout"),
    ("post", "/usage-billing/topups/webhook"),
    ("post", "/brands"),
    ("get", "/admin/clock"),
    ("post", "/admin/clock/advance"),
    ("get", "/openapi.json"),
    ("post", "/designs"),
    ("post", "/renders"),
];

const METHODS: &[&str] = &["get", "post", "put", "patch", "delete"];

/// The served document and a validator per answer.
struct Spec {
    doc: Value,
}

impl Spec {
    async fn fetch(h: &Harness) -> Spec {
        let r = h.get("/api/v1/openapi.json", Auth::None).await;
        assert_eq!(r.status, 200, "{}", r.text);
        assert_eq!(r.body["openapi"], "3.1.0");
        let spec = Spec {
            doc: r.body.clone(),
        };
        spec.check("get", "/openapi.json", &r);
        spec
    }

    /// Asserts that `r`, an answer of `method path`, has a documented status, the documented
    /// content type, and a body valid against the documented schema.
    fn check(&self, method: &str, path: &str, r: &Resp) {
        let op = &self.doc["paths"][path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let status = r.status.to_string();
        let documented = &op["responses"][status.as_str()];
        assert!(
            documented.is_object(),
            "{method} {path} answered {status}, which is not documented: {}",
            r.text
        );
        let Some(content) = documented["content"].as_object() else {
            assert!(
                r.text.is_empty(),
                "{method} {path} {status}: undocumented body"
            );
            return;
        };
        let ctype = r.header("content-type").unwrap_or_default();
        let ctype = ctype.split(';').next().unwrap_or_default().trim();
        let media = content.get(ctype).unwrap_or_else(|| {
            panic!("{method} {path} {status} answered {ctype}, documented: {content:?}")
        });
        let mut schema = media["schema"].clone();
        // The components beside the schema, so that its `#/components/...` references resolve.
        schema["components"] = self.doc["components"].clone();
        let validator = jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .unwrap_or_else(|e| panic!("{method} {path} {status}: bad schema: {e}"));
        let errors: Vec<String> = validator
            .iter_errors(&r.body)
            .map(|e| format!("{} at {}", e, e.instance_path()))
            .collect();
        assert!(
            errors.is_empty(),
            "{method} {path} {status} does not match its schema: {errors:#?}\nbody: {}",
            r.text
        );
    }

    /// Validates `value` against the component `name`.
    fn is_valid(&self, name: &str, value: &Value) -> bool {
        let schema = json!({
            "$ref": format!("#/components/schemas/{name}"),
            "components": self.doc["components"].clone(),
        });
        jsonschema::validator_for(&schema).unwrap().is_valid(value)
    }
}

fn operations(doc: &Value) -> BTreeSet<(String, String)> {
    let mut ops = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if METHODS.contains(&method.as_str()) {
                ops.insert((method.clone(), path.clone()));
            }
        }
    }
    ops
}

/// A concrete path for a documented one.
fn concrete(path: &str) -> String {
    format!("/api/v1{}", path.replace("{id}", "sh_abc"))
}

#[tokio::test]
async fn every_route_is_documented_and_every_documented_operation_is_routed() {
    let h = Harness::start("memory").await;
    let spec = Spec::fetch(&h).await;
    let documented = operations(&spec.doc);
    let routes: BTreeSet<(String, String)> = ROUTES
        .iter()
        .map(|(m, p)| ((*m).to_owned(), (*p).to_owned()))
        .collect();
    assert_eq!(documented, routes, "the document and the route list differ");

    let ids: Vec<&str> = routes
        .iter()
        .map(|(m, p)| spec.doc["paths"][p][m]["operationId"].as_str().unwrap())
        .collect();
    assert_eq!(
        ids.iter().collect::<BTreeSet<_>>().len(),
        ids.len(),
        "operation ids repeat: {ids:?}"
    );

    // The router answers each documented operation (not the fallback's 404 or a 405), and
    // a 405 for every other method on a documented path: no route hides there.
    let paths: BTreeSet<&str> = routes.iter().map(|(_, p)| p.as_str()).collect();
    for path in paths {
        for method in METHODS {
            let url = format!("{}{}", h.base, concrete(path));
            let rb = h
                .http
                .request(method.to_uppercase().parse().unwrap(), url)
                .header("content-type", "application/json")
                .body("{}");
            let r = h.send(rb, Auth::None).await;
            if routes.contains(&((*method).to_owned(), path.to_owned())) {
                assert!(
                    r.status != 405 && !r.text.contains("no route for"),
                    "{method} {path} is documented but not routed: {} {}",
                    r.status,
                    r.text
                );
            } else {
                assert_eq!(
                    r.status, 405,
                    "{method} {path} is routed but not documented"
                );
            }
        }
    }
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_identifier_schemas_accept_what_the_server_accepts() {
    let h = Harness::start("memory").await;
    let spec = Spec::fetch(&h).await;
    // Checkout redirects stay on the server's public origin (here its own address).
    let on_site = format!("{}/analytics?topup=success", h.base);
    let userinfo = format!("{}@evil.example/x", h.base);
    for (name, good, bad) in [
        (
            "BrandId",
            vec!["brand_dashboard", "org:42", "a@b", "acme-co.eu"],
            vec!["", "a b", "a{b}", "é", "x/y"],
        ),
        (
            "MetricKey",
            vec!["ai_generations", "renders_2d", "team_members"],
            vec!["", "video_minutes", "AI", "2d"],
        ),
        (
            "CounterMetricKey",
            vec!["ai_generations"],
            vec!["team_members"],
        ),
        ("TopUpMetricKey", vec!["ai_generations"], vec!["renders_2d"]),
        (
            "PlanId",
            vec!["free", "starter", "pro", "scale"],
            vec!["gold", "-pro"],
        ),
        ("IdempotencyKey", vec!["job-1", "a!~"], vec!["", "a b", "é"]),
        (
            "ShareLinkId",
            vec!["sh_abc123"],
            vec!["sh_", "abc", "sh_a-b"],
        ),
        (
            "StripeSignature",
            vec![concat!(
                "t=1700000000,v1=",
                "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
            )],
            vec!["t=abc,v1=zz", "v1=00"],
        ),
        (
            "RedirectUrl",
            vec!["/analytics?topup=success", "/", &on_site],
            vec![
                "//evil.example",
                "/\\evil.example",
                "javascript:alert(1)",
                "",
                "https://app.example/ok",
                &userinfo,
            ],
        ),
    ] {
        for v in good {
            assert!(spec.is_valid(name, &json!(v)), "{name} refuses {v:?}");
        }
        for v in bad {
            assert!(!spec.is_valid(name, &json!(v)), "{name} accepts {v:?}");
        }
    }
    let long = "b".repeat(128);
    assert!(spec.is_valid("BrandId", &json!(long)));
    assert!(!spec.is_valid("BrandId", &json!(format!("{long}b"))));
    assert!(spec.is_valid("Quantity", &json!(1_000_000_000u64)));
    assert!(!spec.is_valid("Quantity", &json!(1_000_000_001u64)));
    assert!(!spec.is_valid("Quantity", &json!(0)));
    // A checkout's units stop at the demo metrics' `maxTopupUnits` (10^6), as the server
    // does; a reset's top-up at the store's bound (10^9).
    assert!(spec.is_valid("CheckoutUnits", &json!(1_000_000u64)));
    assert!(!spec.is_valid("CheckoutUnits", &json!(1_000_001u64)));
    assert!(spec.is_valid("TopUpUnits", &json!(1_000_000_000u64)));
    assert!(!spec.is_valid("TopUpUnits", &json!(1_000_000_001u64)));
    assert!(spec.is_valid("TargetPercent", &json!(1000)));
    assert!(!spec.is_valid("TargetPercent", &json!(1001)));
    // The validator resolves references and refuses what does not match.
    assert!(!spec.is_valid("UsageView", &json!({})));
    assert!(!spec.is_valid("Catalog", &json!({ "currency": "euro" })));
    assert!(!spec.is_valid(
        "Problem",
        &json!({ "type": "x", "title": "t", "status": 200 })
    ));
    h.server.stop().await.unwrap();
}

fn stripe_signature(body: &[u8], t: i64) -> String {
    quota_payments::sign_payload(body, WEBHOOK_SECRET, t)
}

#[tokio::test]
async fn real_answers_match_their_documented_schemas() {
    let h = Harness::start_with("memory", |c| {
        c.dev_clock = true;
        c.webhook_secret = Some(WEBHOOK_SECRET.into());
    })
    .await;
    let spec = &Spec::fetch(&h).await;
    let check = |m: &'static str, p: &'static str| move |r: &Resp| spec.check(m, p, r);

    // Brands.
    let (brand, key) = h.brand("free").await;
    let created = h
        .post(
            "/api/v1/brands",
            json!({ "brandId": "openapi_brand", "planId": "starter" }),
            Auth::Admin,
        )
        .await;
    assert_eq!(created.status, 201);
    let brands = check("post", "/brands");
    brands(&created);
    for (body, auth, status) in [
        (
            json!({ "brandId": "openapi_brand", "planId": "starter" }),
            Auth::Admin,
            409,
        ),
        (
            json!({ "brandId": "a{b}", "planId": "starter" }),
            Auth::Admin,
            400,
        ),
        (
            json!({ "brandId": "x", "planId": "gold" }),
            Auth::Admin,
            422,
        ),
        (json!({ "brandId": "x" }), Auth::Admin, 422),
        (json!({ "brandId": "x", "planId": "free" }), Auth::None, 401),
        (
            json!({ "brandId": "x", "planId": "free" }),
            Auth::Key(&key),
            403,
        ),
    ] {
        let r = h.post("/api/v1/brands", body, auth).await;
        assert_eq!(r.status, status, "{}", r.text);
        brands(&r);
    }

    // Record and check-quota: admitted, billed, refused, conflicting keys, bad input.
    let record = check("post", "/usage-billing/record");
    for (body, status) in [
        (
            json!({ "brandId": brand, "metric": "ai_generations", "quantity": 90 }),
            200,
        ),
        (
            json!({ "brandId": brand, "metric": "ai_generations", "quantity": 20 }),
            200,
        ),
        (
            json!({ "brandId": brand, "metric": "renders_2d", "quantity": 20 }),
            200,
        ),
        (json!({ "brandId": brand, "metric": "renders_2d" }), 429),
        (json!({ "brandId": brand, "metric": "video_minutes" }), 422),
        (
            json!({ "brandId": brand, "metric": "ai_generations", "quantity": 1.5 }),
            422,
        ),
        (
            json!({ "brandId": "nobody_here", "metric": "ai_generations" }),
            404,
        ),
        (
            json!({ "brandId": brand, "metric": "ai_generations", "quantity": 0 }),
            400,
        ),
    ] {
        let r = h
            .post("/api/v1/usage-billing/record", body, Auth::Admin)
            .await;
        assert_eq!(r.status, status, "{}", r.text);
        record(&r);
    }
    let keyed = h
        .http
        .post(format!("{}/api/v1/usage-billing/record", h.base))
        .header("Idempotency-Key", "a")
        .json(&json!({ "brandId": brand, "metric": "ai_generations", "idempotencyKey": "b" }));
    let r = h.send(keyed, Auth::Admin).await;
    assert_eq!(r.status, 409, "{}", r.text);
    record(&r);
    let raw = h
        .http
        .post(format!("{}/api/v1/usage-billing/record", h.base))
        .header("content-type", "text/plain")
        .body("{}");
    let r = h.send(raw, Auth::Admin).await;
    assert_eq!(r.status, 415, "{}", r.text);
    record(&r);
    let check_quota = check("post", "/usage-billing/check-quota");
    for metric in ["ai_generations", "renders_2d", "team_members"] {
        let r = h
            .post(
                "/api/v1/usage-billing/check-quota",
                json!({ "brandId": brand, "metric": metric, "quantity": 3 }),
                Auth::Key(&key),
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        check_quota(&r);
    }

    // Summary (with a timeline and a projection) and plans.
    let summary = check("get", "/usage-billing/summary");
    for (query, status) in [
        ("", 200),
        ("&lang=en", 200),
        ("&lang=de", 400),
        ("&x=1", 400),
    ] {
        let r = h
            .get(
                &format!("/api/v1/usage-billing/summary?brandId={brand}{query}"),
                Auth::Admin,
            )
            .await;
        assert_eq!(r.status, status, "{}", r.text);
        summary(&r);
    }
    let r = h.get("/api/v1/usage-billing/plans", Auth::Key(&key)).await;
    assert_eq!(r.status, 200);
    check("get", "/usage-billing/plans")(&r);

    // Reset, dry run and applied.
    let reset = check("post", "/usage-billing/reset");
    for dry in [true, false] {
        let r = h
            .post(
                "/api/v1/usage-billing/reset",
                json!({ "brandId": brand, "metric": "ai_generations", "target": 92, "topup": 10, "dryRun": dry }),
                Auth::Admin,
            )
            .await;
        assert_eq!(r.status, 200, "{}", r.text);
        reset(&r);
    }
    let r = h
        .post(
            "/api/v1/usage-billing/reset",
            json!({ "brandId": brand, "metric": "team_members", "target": 50 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 422, "{}", r.text);
    reset(&r);

    // Share links.
    let r = h
        .post(
            "/api/v1/usage-billing/share",
            json!({ "brandId": brand, "ttlMs": 60_000 }),
            Auth::Admin,
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.text);
    check("post", "/usage-billing/share")(&r);
    let id = r.body["id"].as_str().unwrap().to_owned();
    assert!(spec.is_valid("ShareLinkId", &json!(id)));
    let revoke = check("delete", "/usage-billing/share/{id}");
    for (id, status) in [(id.as_str(), 204), ("nope", 400)] {
        let rb = h
            .http
            .delete(format!("{}/api/v1/usage-billing/share/{id}", h.base));
        let r = h.send(rb, Auth::Admin).await;
        assert_eq!(r.status, status, "{}", r.text);
        revoke(&r);
    }

    // Top-ups: checkout, refusals, history, the webhook.
    let checkout = check("post", "/usage-billing/topups/checkout");
    let mut started = Value::Null;
    let on_site = format!("{}/ko", h.base);
    for (metric, who, cancel, status) in [
        ("ai_generations", brand.as_str(), on_site.as_str(), 201),
        ("renders_2d", brand.as_str(), "/ko", 409),
        ("ai_generations", "nobody_here", "/ko", 404),
        (
            "ai_generations",
            brand.as_str(),
            "https://app.example/ko",
            422,
        ),
    ] {
        let r = h
            .post(
                "/api/v1/usage-billing/topups/checkout",
                json!({ "brandId": who, "metric": metric, "units": 25,
                        "successUrl": "/ok", "cancelUrl": cancel }),
                Auth::Admin,
            )
            .await;
        assert_eq!(r.status, status, "{}", r.text);
        checkout(&r);
        if status == 201 {
            started = r.body.clone();
        }
    }
    let event = json!({
        "id": "evt_openapi", "object": "event", "type": "checkout.session.completed",
        "data": { "object": {
            "id": started["sessionId"], "object": "checkout.session", "payment_status": "paid",
            "client_reference_id": started["topupId"], "metadata": { "topup_id": started["topupId"] },
        }},
    });
    let body = serde_json::to_vec(&event).unwrap();
    let now = h.clock.now().timestamp();
    let webhook = check("post", "/usage-billing/topups/webhook");
    for (sig, status) in [
        (Some(stripe_signature(&body, now)), 200),
        (Some(stripe_signature(&body, now - 3600)), 401),
        (None, 400),
    ] {
        let mut rb = h
            .http
            .post(format!("{}/api/v1/usage-billing/topups/webhook", h.base))
            .header("content-type", "application/json")
            .body(body.clone());
        if let Some(sig) = &sig {
            assert!(spec.is_valid("StripeSignature", &json!(sig)), "{sig}");
            rb = rb.header("Stripe-Signature", sig);
        }
        let r = h.send(rb, Auth::None).await;
        assert_eq!(r.status, status, "{}", r.text);
        webhook(&r);
    }
    // Over 256 KiB, or not JSON: documented problems too.
    for (ctype, len, status) in [
        ("application/json", 256 * 1024 + 1, 413),
        ("text/plain", 10, 415),
    ] {
        let rb = h
            .http
            .post(format!("{}/api/v1/usage-billing/topups/webhook", h.base))
            .header("content-type", ctype)
            .body(vec![b' '; len]);
        let r = h.send(rb, Auth::None).await;
        r.assert_problem(status);
        webhook(&r);
    }
    let r = h
        .get(
            &format!("/api/v1/usage-billing/topups?brandId={brand}"),
            Auth::Key(&key),
        )
        .await;
    assert_eq!(r.status, 200);
    assert_eq!(r.body["topups"][0]["status"], "completed", "{}", r.text);
    check("get", "/usage-billing/topups")(&r);

    // The summary again, now with top-ups and a reset in its timeline.
    let r = h
        .get(
            &format!("/api/v1/usage-billing/summary?brandId={brand}"),
            Auth::Admin,
        )
        .await;
    assert!(
        r.body["timeline"].as_array().unwrap().len() >= 2,
        "{}",
        r.text
    );
    summary(&r);

    // The demo routes.
    let designs = check("post", "/designs");
    for (auth, status) in [
        (Auth::Key(&key), 202),
        (Auth::Admin, 403),
        (Auth::None, 401),
    ] {
        let rb = h.http.post(format!("{}/api/v1/designs", h.base));
        let r = h.send(rb, auth).await;
        assert_eq!(r.status, status, "{}", r.text);
        designs(&r);
    }
    // Past the free plan's 20 renders (recorded above): 429.
    let (_, fresh) = h.brand("free").await;
    for (key, status) in [(fresh.as_str(), 202), (key.as_str(), 429)] {
        let rb = h.http.post(format!("{}/api/v1/renders", h.base));
        let r = h.send(rb, Auth::Key(key)).await;
        assert_eq!(r.status, status, "{}", r.text);
        check("post", "/renders")(&r);
    }
    // The dev clock.
    let r = h.get("/api/v1/admin/clock", Auth::Admin).await;
    check("get", "/admin/clock")(&r);
    let advance = check("post", "/admin/clock/advance");
    // The schema admits exactly the bodies the server reads (`to` in the past is valid but
    // out of reach: 409).
    for (body, status) in [
        (json!({ "days": 1 }), 200),
        (json!({ "seconds": 60, "days": null }), 200),
        (json!({ "to": "2020-01-01T00:00:00Z" }), 409),
        (json!({ "days": 1, "seconds": 1 }), 400),
        (json!({ "seconds": 0 }), 400),
        (json!({}), 400),
    ] {
        let r = h
            .post("/api/v1/admin/clock/advance", body.clone(), Auth::Admin)
            .await;
        assert_eq!(r.status, status, "{body}: {}", r.text);
        advance(&r);
        assert_eq!(
            spec.is_valid("ClockAdvance", &body),
            status != 400,
            "{body}"
        );
    }

    h.server.stop().await.unwrap();
}
