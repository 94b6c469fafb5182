//! The forecaster's goals, on a fast backtest (the full table: `cargo run --release -p
//! quota-core --example backtest`): synthetic brands of every trace kind, read at days 7,
//! 14 and 21.
#![allow(
    clippy::unwrap_used,
    clippy::indexing_slicing,
    clippy::arithmetic_side_effects,
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation
)]

#[path = "support/backtest.rs"]
mod harness;

use harness::{CHECKPOINTS, Kind, brute_force_plan, recommendation_at, run, table};
use quota_core::Catalog;

/// Brands per kind, and the first seed (seeds not used to tune the forecaster).
const BRANDS: u64 = 30;
const FIRST_SEED: u64 = 20_000;

#[test]
fn the_forecaster_beats_the_naive_line_with_a_calibrated_useful_band() {
    let catalog = Catalog::demo();
    let (_, cases) = run(&catalog, FIRST_SEED, BRANDS);
    assert_eq!(
        cases.len(),
        Kind::ALL.len() * BRANDS as usize * 2 * CHECKPOINTS.len()
    );
    let (rows, all) = table(&cases);
    let report: String = rows
        .iter()
        .map(|(kind, day, s)| {
            format!(
                "{:>20} {:>4}: MAPE {:5.1} % (naive {:5.1} %), coverage {:3.0} %, width {:3.0} %\n",
                kind.name(),
                day.map_or_else(|| "all".to_owned(), |d| d.to_string()),
                s.mape * 100.0,
                s.naive_mape * 100.0,
                s.coverage * 100.0,
                s.width * 100.0
            )
        })
        .collect();
    let summary = format!(
        "all: MAPE {:.1} % (naive {:.1} %), coverage {:.0} %, width {:.0} %",
        all.mape * 100.0,
        all.naive_mape * 100.0,
        all.coverage * 100.0,
        all.width * 100.0
    );
    println!("{report}{summary}");
    assert!(all.mape <= 0.10, "MAPE above 10 %: {summary}\n{report}");
    assert!(
        all.mape <= all.naive_mape / 2.0,
        "not half the naive line's MAPE: {summary}"
    );
    assert!(
        (0.70..=0.95).contains(&all.coverage),
        "band not calibrated: {summary}"
    );
    assert!(all.width <= 0.40, "band too wide: {summary}");
}

#[test]
fn the_recommendation_is_the_brute_force_cheapest_feasible_plan_with_its_risk() {
    let catalog = Catalog::demo();
    let (brands, _) = run(&catalog, FIRST_SEED, BRANDS);
    let mut risks = 0;
    for b in &brands {
        for t in CHECKPOINTS {
            let (r, median, high) = recommendation_at(&catalog, b, t);
            let chosen = r.recommended.as_ref().map(|p| p.plan.clone());
            let expected = brute_force_plan(&catalog, &b.plan, &median);
            assert_eq!(
                chosen, expected,
                "{:?} seed {} day {t}: {median:?}",
                b.kind, b.seed
            );
            // The risk note: set exactly when the chosen plan would block the high end.
            let blocks_high = chosen
                .as_deref()
                .is_some_and(|p| harness::brute_force_total(&catalog, p, &high).is_none());
            assert_eq!(
                r.risk.is_some(),
                blocks_high,
                "{:?} seed {} day {t}",
                b.kind,
                b.seed
            );
            if let Some(risk) = &r.risk {
                risks += 1;
                assert_eq!(
                    risk.safer_plan,
                    brute_force_plan(&catalog, &b.plan, &high),
                    "{high:?}"
                );
            }
        }
    }
    // The backtest brands sit near their plan's limits: some recommendations carry a risk.
    assert!(risks > 0);
}
