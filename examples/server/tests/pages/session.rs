//! The sign-in session: `POST /logout` ends it (the old cookie no longer opens a page), the
//! cookie is `Secure` under an https public URL, and a session is no API token nor an admin
//! JWT a cookie.

use crate::STORE;
use crate::common::html::{Browser, location};
use crate::common::{Auth, Harness};

async fn login(b: &Browser<'_>, token: &str) -> String {
    let r = b
        .post_form("/login", &[("token", token), ("next", "/analytics")], &[])
        .await;
    assert_eq!(r.status, 303, "{}", r.text);
    r.header("set-cookie").unwrap()
}

#[tokio::test]
async fn logout_clears_the_cookie_and_the_old_cookie_no_longer_opens_the_cockpit() {
    let h = Harness::start(STORE).await;
    let anonymous = Browser::anonymous(&h);
    let set = login(&anonymous, &h.admin).await;
    let cookie = set.split(';').next().unwrap().to_owned();
    let mut b = Browser::anonymous(&h);
    b.cookie = Some(cookie.clone());

    // Signed in: the cockpit shows the logout form, a POST to /logout.
    let r = b.get("/analytics?lang=fr").await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(
        r.text
            .contains(r#"<form class="logout" method="post" action="/logout""#),
        "{}",
        r.text
    );
    assert!(r.text.contains("Se déconnecter"));

    // A link cannot sign anyone out; another origin cannot either.
    let r = b.get("/logout").await;
    assert_eq!(r.status, 405);
    let r = b
        .post_form("/logout", &[], &[("origin", "http://evil.example")])
        .await;
    assert_eq!(r.status, 403);
    assert!(r.header("set-cookie").is_none());
    assert_eq!(b.get("/analytics").await.status, 200, "still signed in");

    let r = b.post_form("/logout", &[("lang", "en")], &[]).await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert_eq!(location(&r), "/login?lang=en");
    let cleared = r.header("set-cookie").unwrap();
    assert!(cleared.starts_with("quota_admin=;"), "{cleared}");
    for part in ["Max-Age=0", "HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cleared.contains(part), "{part} missing: {cleared}");
    }

    // The old cookie, replayed, is refused: the session was revoked, not just forgotten.
    let r = b.get("/analytics").await;
    assert_eq!(r.status, 303, "{}", r.text);
    assert!(location(&r).starts_with("/login?next="));
    let r = b
        .post_form(
            "/analytics/share",
            &[("brandId", "brand_dashboard"), ("lang", "fr")],
            &[],
        )
        .await;
    assert_eq!(r.status, 303);
    // Logging out again (stale cookie, or none) still clears it.
    let r = b.post_form("/logout", &[], &[]).await;
    assert_eq!(r.status, 303);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    // A new sign-in opens a new session.
    let again = login(&anonymous, &h.admin).await;
    b.cookie = Some(again.split(';').next().unwrap().to_owned());
    assert_eq!(b.get("/analytics").await.status, 200);
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn a_session_is_no_api_token_and_an_admin_jwt_is_no_session() {
    let h = Harness::start(STORE).await;
    let set = login(&Browser::anonymous(&h), &h.admin).await;
    let session = set
        .split(';')
        .next()
        .unwrap()
        .strip_prefix("quota_admin=")
        .unwrap()
        .to_owned();
    let r = h
        .get("/api/v1/usage-billing/plans", Auth::Bearer(&session))
        .await;
    r.assert_problem(401);
    let mut raw = Browser::anonymous(&h);
    raw.cookie = Some(format!("quota_admin={}", h.admin));
    let r = raw.get("/analytics").await;
    assert_eq!(
        r.status, 303,
        "the admin JWT itself is not a session cookie"
    );
    h.server.stop().await.unwrap();
}

#[tokio::test]
async fn the_cookie_is_secure_when_the_public_url_is_https() {
    let h = Harness::start_with(STORE, |c| {
        c.frontend_url = Some("https://quota.example.com".into());
    })
    .await;
    let b = Browser::anonymous(&h);
    let set = login(&b, &h.admin).await;
    assert!(set.contains("; Secure"), "{set}");
    let r = b.post_form("/logout", &[], &[]).await;
    assert!(r.header("set-cookie").unwrap().contains("; Secure"));
    h.server.stop().await.unwrap();
}
