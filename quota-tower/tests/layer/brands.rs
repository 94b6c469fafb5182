//! Who pays: brands from headers, API keys, extensions and closures; failed lookups.

use super::*;

#[tokio::test]
async fn a_request_without_brand_gets_401_never_500() {
    let (app, calls, _, _) = setup().await;
    let res = send(&app, request("POST", "/renders", None)).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(res.headers()["www-authenticate"], "Bearer realm=\"quota\"");
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:unresolved-brand");
    assert_eq!(p["status"], 401);
    // A brand id the store could never hold is not resolvable either.
    let res = send(&app, request("POST", "/renders", Some("a{b}"))).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn a_brand_without_subscription_gets_403() {
    let (app, calls, _, _) = setup().await;
    let res = send(&app, request("POST", "/renders", Some("nobody"))).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let p = problem(res).await;
    assert_eq!(p["type"], "urn:quota-guardian:problem:unknown-brand");
    assert_eq!(p["brandId"], "nobody");
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn resolves_the_brand_from_an_api_key_lookup() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let keys: HashMap<String, Brand> =
        HashMap::from([("pk_live_acme".to_owned(), Brand::from_static(BRAND))]);
    let app = app(&calls).layer(
        QuotaLayer::new(guard.clone())
            .brand_from_api_key(keys)
            .routes(routes()),
    );
    let with_key = |key: &str| {
        let mut req = request("POST", "/renders", None);
        req.headers_mut().insert("x-api-key", key.parse().unwrap());
        req
    };
    assert_eq!(
        send(&app, with_key("pk_live_acme")).await.status(),
        StatusCode::OK
    );
    let res = send(&app, with_key("pk_live_stolen")).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(problem(res).await["status"], 401);
    assert_eq!(
        send(&app, request("POST", "/renders", None)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.get(), 1);
    assert_eq!(used(&guard, "renders_2d").await, 1);
}

#[tokio::test]
async fn resolves_the_brand_from_an_extension_set_by_an_auth_layer() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    // The auth layer runs first (outermost) and inserts the brand.
    let app = app(&calls)
        .layer(QuotaLayer::new(guard.clone()).routes(routes()))
        .layer(tower::util::MapRequestLayer::new(
            |mut req: http::Request<axum::body::Body>| {
                if req.headers().contains_key("x-session") {
                    req.extensions_mut().insert(Brand::from_static(BRAND));
                }
                req
            },
        ));
    let mut req = request("POST", "/renders", None);
    req.headers_mut().insert("x-session", "ok".parse().unwrap());
    assert_eq!(send(&app, req).await.status(), StatusCode::OK);
    assert_eq!(
        send(&app, request("POST", "/renders", None)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.get(), 1);
}

#[tokio::test]
async fn a_closure_can_meter_and_resolve() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(
        QuotaLayer::new(guard.clone())
            .brand_resolver(|head: RequestHead<'_>| {
                head.uri()
                    .query()
                    .and_then(|q| q.strip_prefix("brand="))
                    .map(Brand::new)
            })
            .meter(|head: RequestHead<'_>| {
                (head.uri().path() == "/renders").then(|| Cost::new("renders_2d", 3))
            }),
    );
    let res = send(&app, request("POST", "/renders?brand=acme", None)).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(used(&guard, "renders_2d").await, 3);
}

struct BrokenDirectory;

#[async_trait::async_trait]
impl quota_tower::ApiKeyLookup for BrokenDirectory {
    async fn brand_for_key(&self, _key: &str) -> Result<Option<Brand>, quota_tower::BoxError> {
        Err("directory unreachable".into())
    }
}

#[tokio::test]
async fn a_failing_key_lookup_is_a_503_not_a_401() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(
        QuotaLayer::new(guard)
            .brand_from_api_key(BrokenDirectory)
            .routes(routes()),
    );
    let mut req = request("POST", "/renders", None);
    req.headers_mut()
        .insert("x-api-key", "pk_live_acme".parse().unwrap());
    let res = send(&app, req).await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        problem(res).await["type"],
        "urn:quota-guardian:problem:store-unavailable"
    );
    assert_eq!(calls.get(), 0);
}

#[tokio::test]
async fn reads_a_bearer_api_key_from_authorization() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let keys: HashMap<String, Brand> =
        HashMap::from([("pk_live_acme".to_owned(), Brand::from_static(BRAND))]);
    let app = app(&calls).layer(
        QuotaLayer::new(guard)
            .brand_resolver(quota_tower::ApiKeyBrand::new(keys).header(http::header::AUTHORIZATION))
            .routes(routes()),
    );
    let with_auth = |value: &str| {
        let mut req = request("POST", "/renders", None);
        req.headers_mut()
            .insert("authorization", value.parse().unwrap());
        req
    };
    assert_eq!(
        send(&app, with_auth("Bearer pk_live_acme")).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        send(&app, with_auth("Basic pk_live_acme")).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(calls.get(), 1);
}
