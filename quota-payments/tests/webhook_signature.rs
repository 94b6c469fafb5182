#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects
)]
//! `Stripe-Signature` verification against the documented scheme:
//! `t=<ts>,v1=hex(HMAC-SHA256(secret, "<ts>.<raw body>"))`.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use proptest::prelude::*;
use quota_payments::{
    CheckoutEventKind, StripeEvent, WebhookError, WebhookSecret, sign_payload, v1_signature,
};

const SECRET: &str = "whsec_test_secret";
const T: i64 = 1_700_000_000;
const BODY: &[u8] = br#"{"id":"evt_1","type":"ping"}"#;

fn at(ts: i64) -> DateTime<Utc> {
    DateTime::from_timestamp(ts, 0).unwrap()
}

/// The documented scheme, written out independently of the crate.
fn reference_v1(secret: &str, ts: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
    mac.update(format!("{ts}.").as_bytes());
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[test]
fn the_signature_matches_a_vector_computed_elsewhere() {
    // Computed with Python: hmac.new(b"whsec_test_secret", b"1700000000." + body, sha256).
    let expected = "74a11abdd08483d064a2a1571e7881b084c522f9f3ccd0b800ec8c74aba47fc2";
    assert_eq!(reference_v1(SECRET, T, BODY), expected);
    assert_eq!(v1_signature(BODY, SECRET, T), expected);
    assert_eq!(
        sign_payload(BODY, SECRET, T),
        format!("t={T},v1={expected}")
    );
    let header = format!("t={T},v1={expected}");
    WebhookSecret::new(SECRET)
        .verify(BODY, Some(&header), at(T))
        .unwrap();
}

#[test]
fn a_valid_signature_within_the_tolerance_is_accepted() {
    let header = format!("t={T},v1={}", reference_v1(SECRET, T, BODY));
    let secret = WebhookSecret::new(SECRET);
    for now in [T - 300, T, T + 299, T + 300] {
        assert_eq!(secret.verify(BODY, Some(&header), at(now)), Ok(()), "{now}");
    }
    // Unknown schemes (v0) and spaces are ignored.
    let header = format!("t={T}, v0=abc, v1={}", reference_v1(SECRET, T, BODY));
    assert_eq!(secret.verify(BODY, Some(&header), at(T)), Ok(()));
}

#[test]
fn a_stale_or_future_timestamp_is_refused() {
    let header = sign_payload(BODY, SECRET, T);
    let secret = WebhookSecret::new(SECRET);
    assert_eq!(
        secret.verify(BODY, Some(&header), at(T + 301)),
        Err(WebhookError::Stale {
            age_secs: 301,
            tolerance_secs: 300
        })
    );
    assert!(matches!(
        secret.verify(BODY, Some(&header), at(T - 301)),
        Err(WebhookError::Stale { age_secs: -301, .. })
    ));
    // The tolerance is configurable.
    let strict = WebhookSecret::new(SECRET).tolerance(Duration::from_secs(10));
    assert!(matches!(
        strict.verify(BODY, Some(&header), at(T + 11)),
        Err(WebhookError::Stale { .. })
    ));
    assert_eq!(strict.verify(BODY, Some(&header), at(T + 10)), Ok(()));
}

#[test]
fn a_wrong_secret_or_a_tampered_body_is_refused() {
    let header = sign_payload(BODY, "whsec_other", T);
    assert_eq!(
        WebhookSecret::new(SECRET).verify(BODY, Some(&header), at(T)),
        Err(WebhookError::SignatureMismatch)
    );
    let header = sign_payload(BODY, SECRET, T);
    assert_eq!(
        WebhookSecret::new(SECRET).verify(br#"{"id":"evt_2","type":"ping"}"#, Some(&header), at(T)),
        Err(WebhookError::SignatureMismatch)
    );
    // Moving the timestamp breaks the signature even inside the tolerance.
    let moved = format!("t={},v1={}", T + 1, reference_v1(SECRET, T, BODY));
    assert_eq!(
        WebhookSecret::new(SECRET).verify(BODY, Some(&moved), at(T)),
        Err(WebhookError::SignatureMismatch)
    );
}

#[test]
fn any_of_several_v1_signatures_may_match() {
    // Stripe sends one v1 per active secret while a secret is rolled.
    let header = format!(
        "t={T},v1={},v1=zz,v1={}",
        reference_v1("whsec_new", T, BODY),
        reference_v1(SECRET, T, BODY)
    );
    assert_eq!(
        WebhookSecret::new(SECRET).verify(BODY, Some(&header), at(T)),
        Ok(())
    );
}

#[test]
fn our_side_may_hold_the_previous_secret_too() {
    let both = WebhookSecret::parse("whsec_new, whsec_old").unwrap();
    for s in ["whsec_new", "whsec_old"] {
        assert_eq!(
            both.verify(BODY, Some(&sign_payload(BODY, s, T)), at(T)),
            Ok(()),
            "{s}"
        );
    }
    assert!(WebhookSecret::parse(" , ").is_none());
    assert_eq!(
        both.verify(BODY, Some(&sign_payload(BODY, "whsec_x", T)), at(T)),
        Err(WebhookError::SignatureMismatch)
    );
}

#[test]
fn malformed_headers_get_typed_errors() {
    let s = WebhookSecret::new(SECRET);
    assert_eq!(
        s.verify(BODY, None, at(T)),
        Err(WebhookError::MissingHeader)
    );
    for h in ["", "garbage", "t=abc,v1=00", "v1=00", "t=1,t=2,v1=00"] {
        assert!(
            matches!(
                s.verify(BODY, Some(h), at(T)),
                Err(WebhookError::MalformedHeader(_))
            ),
            "{h:?}"
        );
    }
    for h in [
        format!("t={T}"),
        format!("t={T},v0=abc"),
        format!("t={T},v1=nothex"),
    ] {
        assert_eq!(
            s.verify(BODY, Some(&h), at(T)),
            Err(WebhookError::NoSignature),
            "{h}"
        );
    }
    assert!(matches!(
        s.verify(BODY, Some(&"t=1,".repeat(2000)), at(T)),
        Err(WebhookError::MalformedHeader("too long"))
    ));
}

#[test]
fn checkout_events_are_parsed() {
    let completed = br#"{"id":"evt_1","type":"checkout.session.completed","data":{"object":{
        "id":"cs_1","object":"checkout.session","payment_status":"paid",
        "client_reference_id":"tu_ref","metadata":{"topup_id":"tu_meta","brand":"b"}}}}"#;
    let e = StripeEvent::parse(completed).unwrap();
    assert_eq!(e.kind, CheckoutEventKind::Paid);
    assert_eq!(e.session_id.as_deref(), Some("cs_1"));
    assert_eq!(e.topup_id.as_deref(), Some("tu_meta"));

    let unpaid = br#"{"id":"evt_2","type":"checkout.session.completed","data":{"object":{
        "id":"cs_1","object":"checkout.session","payment_status":"unpaid","client_reference_id":"tu_ref"}}}"#;
    let e = StripeEvent::parse(unpaid).unwrap();
    assert_eq!(e.kind, CheckoutEventKind::AwaitingPayment);
    assert_eq!(e.topup_id.as_deref(), Some("tu_ref"));

    let expired = br#"{"id":"evt_3","type":"checkout.session.expired","data":{"object":{"id":"cs_1","object":"checkout.session"}}}"#;
    assert_eq!(
        StripeEvent::parse(expired).unwrap().kind,
        CheckoutEventKind::Failed
    );

    let other = br#"{"id":"evt_4","type":"charge.refunded","data":{"object":{"id":"ch_1","object":"charge"}}}"#;
    let e = StripeEvent::parse(other).unwrap();
    assert_eq!(e.kind, CheckoutEventKind::Other("charge.refunded".into()));
    assert_eq!(e.session_id, None);

    assert!(matches!(
        StripeEvent::parse(b"not json"),
        Err(WebhookError::InvalidPayload(_))
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn random_headers_are_refused_for_what_they_lack(h in any::<String>(), body in any::<Vec<u8>>()) {
        let s = WebhookSecret::new(SECRET);
        let err = s.verify(&body, Some(&h), at(T)).unwrap_err();
        prop_assert!(
            matches!(
                err,
                WebhookError::MalformedHeader(_)
                    | WebhookError::NoSignature
                    | WebhookError::Stale { .. }
                    | WebhookError::SignatureMismatch
            ),
            "{err:?}"
        );
    }

    #[test]
    fn random_bodies_parse_only_as_json_events(body in any::<Vec<u8>>()) {
        match StripeEvent::parse(&body) {
            Err(e) => prop_assert!(matches!(e, WebhookError::InvalidPayload(_)), "{e:?}"),
            Ok(event) => {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
                prop_assert!(v["type"].is_string() && v["data"]["object"].is_object());
                prop_assert_eq!(v["id"].as_str().unwrap_or_default(), event.id.as_str());
            }
        }
    }

    #[test]
    fn a_paid_session_event_parses_back_to_its_ids(
        evt in "evt_[A-Za-z0-9]{1,24}",
        session in "cs_[A-Za-z0-9]{1,40}",
        topup in "tu_[a-z0-9]{1,32}",
        in_metadata in any::<bool>(),
    ) {
        let mut object = serde_json::json!({
            "id": session, "object": "checkout.session", "payment_status": "paid",
        });
        if in_metadata {
            object["metadata"] = serde_json::json!({ "topup_id": topup });
        } else {
            object["client_reference_id"] = serde_json::json!(topup);
        }
        let body = serde_json::to_vec(&serde_json::json!({
            "id": evt, "object": "event", "type": "checkout.session.completed",
            "data": { "object": object },
        }))
        .unwrap();
        let e = StripeEvent::parse(&body).unwrap();
        prop_assert_eq!(e.id, evt);
        prop_assert_eq!(e.kind, CheckoutEventKind::Paid);
        prop_assert_eq!(e.session_id, Some(session));
        prop_assert_eq!(e.topup_id, Some(topup));
        // Signed, it verifies; one byte changed, it does not.
        let header = sign_payload(&body, SECRET, T);
        let s = WebhookSecret::new(SECRET);
        prop_assert_eq!(s.verify(&body, Some(&header), at(T)), Ok(()));
        let mut tampered = body.clone();
        tampered.push(b' ');
        prop_assert_eq!(s.verify(&tampered, Some(&header), at(T)), Err(WebhookError::SignatureMismatch));
    }

    #[test]
    fn a_signature_over_another_body_never_verifies(body in any::<Vec<u8>>(), other in any::<Vec<u8>>()) {
        prop_assume!(body != other);
        let header = sign_payload(&body, SECRET, T);
        let s = WebhookSecret::new(SECRET);
        prop_assert_eq!(s.verify(&body, Some(&header), at(T)), Ok(()));
        prop_assert_eq!(s.verify(&other, Some(&header), at(T)), Err(WebhookError::SignatureMismatch));
    }
}
