//! Rough cost of issuing and verifying a share token (release build, one thread):
//! `cargo run -p quota-share --release --example token_cost`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use quota_core::clock::FakeClock;
use quota_share::{MemoryRevocations, ShareIssuer, ShareKey, ShareKeyring, ShareTtl, token};

fn main() {
    let now = chrono::Utc::now();
    let ring = ShareKeyring::new(ShareKey::new("k1", [1u8; 32]).unwrap())
        .rotate(ShareKey::new("k2", [2u8; 32]).unwrap())
        .unwrap();
    let issuer = ShareIssuer::new(
        Arc::new(ring.clone()),
        ShareTtl::default(),
        "http://localhost:3000",
        Arc::new(FakeClock::at(now)),
    )
    .unwrap();
    let n = 200_000u32;

    let t = Instant::now();
    for _ in 0..n {
        black_box(issuer.issue(black_box("brand_dashboard"), None).unwrap());
    }
    let issue = t.elapsed() / n;

    let tok = issuer.issue("brand_dashboard", None).unwrap().token;
    let t = Instant::now();
    for _ in 0..n {
        black_box(token::verify(&ring, black_box(&tok), now).unwrap());
    }
    let verify = t.elapsed() / n;

    let mut bad = tok.clone().into_bytes();
    let last = bad.len() - 2;
    bad[last] = if bad[last] == b'A' { b'B' } else { b'A' };
    let bad = String::from_utf8(bad).unwrap();
    let t = Instant::now();
    for _ in 0..n {
        black_box(token::verify(&ring, black_box(&bad), now).unwrap_err());
    }
    let reject = t.elapsed() / n;

    let rev = MemoryRevocations::new();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let t = Instant::now();
    rt.block_on(async {
        for _ in 0..n {
            black_box(
                quota_share::verify_and_check(&ring, &rev, black_box(&tok), now)
                    .await
                    .unwrap(),
            );
        }
    });
    let full = t.elapsed() / n;

    println!("token length: {} bytes", tok.len());
    println!("issue (sign + random id):            {issue:?} per token");
    println!("verify (valid, HS256 + JSON):        {verify:?} per token");
    println!("verify (bad signature):              {reject:?} per token");
    println!("verify_and_check (memory revocations): {full:?} per token");
}
