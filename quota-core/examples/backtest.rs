//! The forecaster's backtest, in full: per trace kind and checkpoint, the forecaster's and
//! the naive line's mean absolute percentage error (MAPE), the 80 % band's coverage and
//! its mean width (in % of the real total), and how often the recommended plan matches a
//! brute-force cheapest feasible plan.
//!
//! ```text
//! cargo run --release -p quota-core --example backtest [-- <brands per kind> [<first seed>]]
//! ```
#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::cast_precision_loss,
    clippy::arithmetic_side_effects,
    clippy::indexing_slicing
)]

#[path = "../tests/support/backtest.rs"]
mod backtest;

use backtest::{CHECKPOINTS, brute_force_plan, recommendation_at, run, table};
use quota_core::Catalog;

fn main() {
    let mut args = std::env::args().skip(1);
    let per_kind: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(300);
    let first_seed: u64 = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let catalog = Catalog::demo();
    let (brands, cases) = run(&catalog, first_seed, per_kind);
    let (rows, overall) = table(&cases);
    println!(
        "{} brands per kind (seeds {first_seed}..{}), 2 counters each, checkpoints {CHECKPOINTS:?}: {} projections\n",
        per_kind,
        first_seed.saturating_add(per_kind),
        cases.len()
    );
    println!("| kind | day | forecaster MAPE | naive MAPE | band coverage | band width |");
    println!("|---|---|---:|---:|---:|---:|");
    for (kind, day, s) in &rows {
        let day = day.map_or_else(|| "all".to_owned(), |d| d.to_string());
        let strong = |x: String| if day == "all" { format!("**{x}**") } else { x };
        println!(
            "| {} | {day} | {} | {} | {} | {} |",
            kind.name(),
            strong(format!("{:.1} %", s.mape * 100.0)),
            strong(format!("{:.1} %", s.naive_mape * 100.0)),
            strong(format!("{:.0} %", s.coverage * 100.0)),
            strong(format!("{:.0} %", s.width * 100.0)),
        );
    }
    println!(
        "| **all kinds** | 7–21 | **{:.1} %** | **{:.1} %** | **{:.0} %** | **{:.0} %** |",
        overall.mape * 100.0,
        overall.naive_mape * 100.0,
        overall.coverage * 100.0,
        overall.width * 100.0
    );
    for metric in backtest::METRICS {
        let s = backtest::score(cases.iter().filter(|c| c.metric == metric));
        println!(
            "\n{metric}: forecaster MAPE {:.1} %, naive {:.1} %, coverage {:.0} %, width {:.0} %",
            s.mape * 100.0,
            s.naive_mape * 100.0,
            s.coverage * 100.0,
            s.width * 100.0
        );
    }
    // The recommendation against brute force, and how often the plan chosen on the median
    // is also the one the real totals call for.
    let (mut same, mut right, mut n) = (0usize, 0usize, 0usize);
    for b in &brands {
        for (i, t) in CHECKPOINTS.into_iter().enumerate() {
            let (r, median, _) = recommendation_at(&catalog, b, t);
            let chosen = r.recommended.as_ref().map(|p| p.plan.clone());
            same += usize::from(chosen == brute_force_plan(&catalog, &b.plan, &median));
            let mut truth: Vec<(&str, u64)> = b
                .traces
                .iter()
                .zip(backtest::METRICS)
                .map(|(tr, m)| (m, tr[i].total()))
                .collect();
            truth.push(("team_members", b.seats));
            right += usize::from(chosen == brute_force_plan(&catalog, &b.plan, &truth));
            n += 1;
        }
    }
    println!(
        "\nrecommendation = brute-force cheapest feasible plan for the median: {same}/{n}; \
         = the plan the real totals call for: {right}/{n} ({:.0} %)",
        right as f64 * 100.0 / n.max(1) as f64
    );
}
