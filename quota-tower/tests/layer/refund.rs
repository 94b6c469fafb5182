//! Units given back when the inner service fails.

use super::*;

#[tokio::test]
async fn refunds_the_units_when_the_service_answers_5xx() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app = app(&calls).layer(layer(guard.clone()).refund_on_server_errors());
    let res = send(&app, request("POST", "/fail", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(body_text(res).await, "boom");
    assert_eq!(used(&guard, "renders_2d").await, 0, "the 2 units came back");
    assert_eq!(
        send(&app, request("POST", "/renders", Some(BRAND)))
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        used(&guard, "renders_2d").await,
        1,
        "a success keeps its unit"
    );
    assert_eq!(calls.get(), 2);
}

#[tokio::test]
async fn keeps_the_units_of_a_5xx_without_refund_policy() {
    let (app, _, guard, _) = setup().await;
    let res = send(&app, request("POST", "/fail", Some(BRAND))).await;
    assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(used(&guard, "renders_2d").await, 2);
}

#[tokio::test]
async fn refunds_only_the_configured_statuses() {
    let (guard, _) = guard().await;
    let calls = Calls::default();
    let app =
        app(&calls).layer(layer(guard.clone()).refund_on(|s| s == StatusCode::SERVICE_UNAVAILABLE));
    send(&app, request("POST", "/fail", Some(BRAND))).await;
    assert_eq!(
        used(&guard, "renders_2d").await,
        2,
        "500 is not in the list"
    );
}
