//! Who gets in: the login form, the `quota_admin` cookie, the API's credentials on the
//! pages, and the refusal of cross-origin posts.

use crate::STORE;
use crate::common::html::{Browser, count, location};
use crate::common::{Auth, Harness};

#[tokio::test]
async fn without_credentials_the_admin_pages_send_to_the_login_form() {
    let h = Harness::start(STORE).await;
    let b = Browser::anonymous(&h);
    let r = b.get("/analytics?brandId=brand_dashboard&lang=en").await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(
        location(&r),
        "/login?next=%2Fanalytics%3FbrandId%3Dbrand_dashboard%26lang%3Den"
    );
    let r = b.get("/monitoring").await;
    assert_eq!(r.status, 303);
    assert_eq!(location(&r), "/login?next=%2Fmonitoring");
    // A stale or forged cookie is no better than none.
    let mut stale = Browser::anonymous(&h);
    stale.cookie = Some("quota_admin=not.a.jwt".into());
    let r = stale.get("/analytics").await;
    assert_eq!(r.status, 303);
    assert!(location(&r).starts_with("/login?next="));
    // Nor does a POST get through.
    let r = b
        .post_form(
            "/analytics/share",
            &[("brandId", "brand_dashboard"), ("lang", "fr")],
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    assert!(location(&r).starts_with("/login?next="));

    // The form, in the language of the page asked for.
    let r = b.get("/login?next=%2Fanalytics%3Flang%3Den").await;
    assert_eq!(r.status, 200);
    assert!(r.text.contains("<html lang=\"en\">"));
    assert!(r.text.contains("Admin token"), "{}", r.text);
    let r = b.get("/login?next=%2Fanalytics").await;
    assert!(
        r.text
            .contains("<label for=\"token\">Jeton administrateur</label>")
    );
    assert!(r.text.contains("name=\"token\""));
    assert!(r.text.contains("name=\"next\" value=\"/analytics\""));
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn login_sets_the_cookie_and_the_cookie_opens_the_cockpit() {
    let h = Harness::start(STORE).await;
    let b = Browser::anonymous(&h);
    let r = b
        .post_form(
            "/login",
            &[("token", &h.admin), ("next", "/analytics?lang=en")],
            &[],
        )
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(location(&r), "/analytics?lang=en");
    let cookie = r.header("set-cookie").unwrap();
    let value = cookie.split(';').next().unwrap().to_owned();
    assert!(value.starts_with("quota_admin=ey"), "{cookie}");
    assert_ne!(
        value,
        format!("quota_admin={}", h.admin),
        "the cookie holds a session, not the admin JWT"
    );
    for part in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(part), "{part} missing: {cookie}");
    }
    assert!(!cookie.contains("Secure"), "http public URL: {cookie}");
    let max_age: u64 = cookie
        .split("Max-Age=")
        .nth(1)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(
        (28_700..=28_800).contains(&max_age),
        "Max-Age {max_age} is not the session's lifetime (8 h)"
    );

    let mut logged = Browser::anonymous(&h);
    logged.cookie = Some(value);
    let r = logged.get("/analytics?lang=en").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(r.text.contains("Quota cockpit"));
    assert_eq!(r.header("cache-control").as_deref(), Some("no-store"));
    let csp = r.header("content-security-policy").unwrap();
    assert!(csp.contains("default-src 'none'") && csp.contains("script-src 'nonce-"));
    assert!(!csp.contains("unsafe-eval") && !csp.contains("script-src 'unsafe-inline'"));

    // Only local paths are followed after login.
    for next in ["//evil.example/x", "https://evil.example/", "analytics"] {
        let r = b
            .post_form("/login", &[("token", &h.admin), ("next", next)], &[])
            .await;
        assert_eq!(location(&r), "/analytics", "{next}");
    }

    // A bad token: 401 and the form again with a clear message; a brand key: 403.
    let r = b
        .post_form("/login", &[("token", "nope"), ("next", "/analytics")], &[])
        .await;
    assert_eq!(r.status, 401);
    assert!(r.header("set-cookie").is_none());
    assert!(r.text.contains("Jeton refusé"), "{}", r.text);
    assert_eq!(count(&r.text, "login-form"), 1);
    let key = h.server.public_key("brand_dashboard");
    let r = b
        .post_form(
            "/login",
            &[("token", &key), ("next", "/analytics"), ("lang", "en")],
            &[],
        )
        .await;
    assert_eq!(r.status, 403);
    assert!(r.text.contains("not an admin token"), "{}", r.text);

    // The API's credentials work on the pages as well.
    let r = h.get("/analytics", Auth::Admin).await;
    assert_eq!(r.status, 200);
    let r = h.get("/analytics", Auth::Key(&key)).await;
    assert_eq!(r.status, 403);
    let r = h.get("/monitoring", Auth::Bearer("bad.token.here")).await;
    assert_eq!(r.status, 401);
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_cross_origin_post_is_refused_and_changes_nothing() {
    let h = Harness::start(STORE).await;
    let b = Browser::admin(&h);
    let form = [
        ("brandId", "brand_dashboard"),
        ("metric", "ai_generations"),
        ("units", "10"),
        ("lang", "fr"),
    ];
    for headers in [
        vec![("origin", "http://evil.example")],
        vec![("origin", "null")],
        vec![("sec-fetch-site", "cross-site")],
        vec![
            ("sec-fetch-site", "same-site"),
            ("origin", "http://sub.example"),
        ],
    ] {
        for path in ["/analytics/topup", "/analytics/share", "/login"] {
            let r = b.post_form(path, &form, &headers).await;
            assert_eq!(r.status, 403, "{path} {headers:?}: {}", r.text);
            assert!(r.header("set-cookie").is_none());
        }
    }
    let history = h
        .get(
            "/api/v1/usage-billing/topups?brandId=brand_dashboard",
            Auth::Admin,
        )
        .await;
    assert_eq!(history.body["topups"].as_array().unwrap().len(), 0);
    // The same form from this origin goes through.
    let own = format!("http://{}", h.server.addr);
    let r = b
        .post_form("/analytics/topup", &form, &[("origin", own.as_str())])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    let r = b
        .post_form(
            "/analytics/share",
            &form,
            &[("origin", "null"), ("sec-fetch-site", "same-origin")],
        )
        .await;
    assert_eq!(
        r.status, 303,
        "a same-origin post with a no-referrer Origin: {}",
        r.text
    );
    assert!(location(&r).contains("&shared="));
    h.server.stop().await.unwrap();
}
