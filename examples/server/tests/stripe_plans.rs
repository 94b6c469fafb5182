//! Plans priced in Stripe: `quota serve` with `STRIPE_SECRET_KEY` reads the active prices of a
//! (local, fake) Stripe API and builds its catalog from them.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::needless_pass_by_value
)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use quota_core::{Catalog, OveragePolicy};
use quota_payments::StripeConfig;
use quota_server::stripe_plans::catalog_from_stripe;
use quota_server::{ServeConfig, spawn};
use serde_json::{Value, json};

type Seen = Arc<Mutex<Vec<(String, HashMap<String, String>)>>>;

fn product(name: &str, metadata: Value) -> Value {
    json!({ "id": format!("prod_{name}"), "object": "product", "name": name, "metadata": metadata })
}

/// A fake `GET /v1/prices` answering `pages` (one per call, following `starting_after`).
async fn fake_stripe(pages: Vec<Value>) -> (String, Seen) {
    let seen: Seen = Arc::default();
    let pages = Arc::new(pages);
    let app = Router::new()
        .route(
            "/v1/prices",
            get(
                |State((seen, pages)): State<(Seen, Arc<Vec<Value>>)>,
                 headers: HeaderMap,
                 Query(q): Query<HashMap<String, String>>| async move {
                    let auth = headers
                        .get("authorization")
                        .map(|v| v.to_str().unwrap().to_owned())
                        .unwrap_or_default();
                    let index = usize::from(q.contains_key("starting_after"));
                    seen.lock().unwrap().push((auth, q));
                    Json(pages[index.min(pages.len() - 1)].clone())
                },
            ),
        )
        .with_state((Arc::clone(&seen), pages));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

fn two_pages() -> Vec<Value> {
    vec![
        json!({ "object": "list", "has_more": true, "data": [
            { "id": "price_starter", "unit_amount": 3900, "currency": "eur",
              "product": product("Starter 2027", json!({
                  "quota_plan": "starter",
                  "quota_included_ai_generations": "800",
                  "quota_overage_ai_generations": "charge:7:1:5000",
                  "quota_included_renders_2d": "150" })) },
            // Not a plan: no quota_plan metadata, or a product that is not expanded.
            { "id": "price_addon", "unit_amount": 500, "currency": "eur",
              "product": product("Add-on", json!({})) },
            { "id": "price_raw", "unit_amount": 100, "currency": "eur", "product": "prod_raw" }
        ]}),
        json!({ "object": "list", "has_more": false, "data": [
            { "id": "price_pro", "unit_amount": 12900, "currency": "eur",
              "product": product("Pro", json!({ "quota_plan": "pro" })) }
        ]}),
    ]
}

#[tokio::test]
async fn prices_and_limits_come_from_stripe_with_the_base_catalog_filling_the_gaps() {
    let (base, seen) = fake_stripe(two_pages()).await;
    let stripe = StripeConfig::new("sk_test_plans").api_base(&base);
    let demo = Catalog::demo();
    let catalog = catalog_from_stripe(&stripe, &demo).await.unwrap();

    let ids: Vec<&str> = catalog.plans().iter().map(|p| p.id.as_str()).collect();
    assert_eq!(
        ids,
        ["starter", "pro"],
        "only prices whose product names a plan"
    );
    let starter = catalog.plan("starter").unwrap();
    assert_eq!(starter.name, "Starter 2027");
    assert_eq!(starter.price.amount_minor, 3900);
    assert_eq!(starter.price.currency.as_str(), "EUR");
    let ai = starter.limit("ai_generations").unwrap();
    assert_eq!(ai.included, Some(800));
    assert!(matches!(
        ai.overage,
        OveragePolicy::Charge {
            unit_price: 7,
            cap: Some(5000),
            ..
        }
    ));
    assert_eq!(starter.limit("renders_2d").unwrap().included, Some(150));
    // Left out of the metadata: the demo catalog's starter limit.
    assert_eq!(
        starter.limit("team_members"),
        demo.plan("starter").unwrap().limit("team_members")
    );
    let pro = catalog.plan("pro").unwrap();
    assert_eq!(pro.price.amount_minor, 12900);
    assert_eq!(pro.limits, demo.plan("pro").unwrap().limits);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "both pages were read");
    assert!(seen.iter().all(|(auth, _)| auth == "Bearer sk_test_plans"));
    assert_eq!(seen[0].1.get("active").map(String::as_str), Some("true"));
    assert_eq!(
        seen[1].1.get("starting_after").map(String::as_str),
        Some("price_raw")
    );
}

#[tokio::test]
async fn malformed_metadata_and_empty_price_lists_are_refused_with_the_reason() {
    let bad = vec![json!({ "has_more": false, "data": [
        { "id": "price_x", "unit_amount": 100, "currency": "eur",
          "product": product("X", json!({ "quota_plan": "x",
              "quota_included_ai_generations": "lots" })) } ]})];
    let (base, _) = fake_stripe(bad).await;
    let err = catalog_from_stripe(&StripeConfig::new("sk").api_base(&base), &Catalog::demo())
        .await
        .unwrap_err();
    assert!(err.contains("quota_included_ai_generations"), "{err}");
    assert!(err.contains("plan \"x\""), "{err}");

    let (base, _) = fake_stripe(vec![json!({ "has_more": false, "data": [] })]).await;
    let err = catalog_from_stripe(&StripeConfig::new("sk").api_base(&base), &Catalog::demo())
        .await
        .unwrap_err();
    assert!(err.contains("quota_plan"), "{err}");

    let err = catalog_from_stripe(
        &StripeConfig::new("sk").api_base("http://127.0.0.1:9"),
        &Catalog::demo(),
    )
    .await
    .unwrap_err();
    assert!(err.contains("unreachable"), "{err}");
}

#[tokio::test]
async fn quota_serve_with_a_stripe_key_serves_the_stripe_prices() {
    let (base, _) = fake_stripe(two_pages()).await;
    let mut cfg = ServeConfig::for_tests();
    cfg.stripe = Some(StripeConfig::new("sk_test_plans").api_base(&base));
    let server = spawn(cfg).await.unwrap();
    quota_server::install_crypto_provider();
    let plans: Value = reqwest::Client::new()
        .get(format!("{}/api/v1/usage-billing/plans", server.base_url()))
        .bearer_auth(server.admin_token())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let ids: Vec<&str> = plans["plans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["starter", "pro"], "{plans}");
    assert_eq!(plans["plans"][0]["price"]["amountMinor"], 3900);
    server.stop().await.unwrap();
}
