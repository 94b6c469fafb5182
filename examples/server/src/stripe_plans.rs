//! Plans priced in Stripe. With `STRIPE_SECRET_KEY` set, `quota serve` reads the active prices
//! (`GET /v1/prices?active=true&expand[]=data.product`, paginated) and builds its catalog from
//! them, as the runbook's `quota:reset` does ("STRIPE_SECRET_KEY (pour charger les plans)"):
//!
//! - a price whose product carries the metadata `quota_plan = <plan id>` is a plan; the price's
//!   `unit_amount` and `currency` are the plan's monthly price, the product's name its name;
//! - per metric, the product metadata `quota_included_<metric>` (`"<units>"` or `"unlimited"`)
//!   and `quota_overage_<metric>` (`"block"` or `"charge:<unit_price>[:<per_units>[:<cap>]]"`,
//!   minor units) set the limit;
//! - what the metadata leaves out comes from the plan of the same id in the base catalog (the
//!   `--plans` file or the demo catalog), so Stripe can own the prices and the file the limits.
//!
//! The metrics and the default thresholds always come from the base catalog.

use std::collections::BTreeMap;
use std::num::NonZeroU64;

use quota_core::{Catalog, Currency, Limit, Money, OveragePolicy, Plan};
use quota_payments::StripeConfig;
use serde::Deserialize;

/// Most pages of 100 prices read.
const MAX_PAGES: usize = 10;

#[derive(Debug, Deserialize)]
struct PriceList {
    data: Vec<Price>,
    #[serde(default)]
    has_more: bool,
}

#[derive(Debug, Deserialize)]
struct Price {
    id: String,
    unit_amount: Option<i64>,
    currency: String,
    product: Product,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Product {
    Expanded {
        name: String,
        #[serde(default)]
        metadata: BTreeMap<String, String>,
    },
    // Not expanded: only the id; such a price cannot name a plan.
    Id(serde::de::IgnoredAny),
}

/// Reads the active Stripe prices and builds the catalog (see the module docs).
pub async fn catalog_from_stripe(stripe: &StripeConfig, base: &Catalog) -> Result<Catalog, String> {
    crate::install_crypto_provider();
    let client = reqwest::Client::builder()
        .timeout(stripe.get_timeout())
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
    let url = format!("{}/v1/prices", stripe.get_api_base());
    let mut prices = Vec::new();
    let mut after: Option<String> = None;
    for _ in 0..MAX_PAGES {
        let mut query = vec![
            ("active", "true".to_owned()),
            ("limit", "100".to_owned()),
            ("expand[]", "data.product".to_owned()),
        ];
        if let Some(a) = &after {
            query.push(("starting_after", a.clone()));
        }
        let res = client
            .get(&url)
            .bearer_auth(stripe.secret_key())
            .query(&query)
            .send()
            .await
            .map_err(|e| format!("Stripe prices unreachable at {url}: {e}"))?;
        let status = res.status();
        if !status.is_success() {
            return Err(format!("Stripe answered {status} to GET {url}"));
        }
        let page: PriceList = res
            .json()
            .await
            .map_err(|e| format!("Stripe price list does not parse: {e}"))?;
        after = page.data.last().map(|p| p.id.clone());
        let more = page.has_more && after.is_some();
        prices.extend(page.data);
        if !more {
            break;
        }
    }
    catalog_from_prices(prices, base)
}

fn catalog_from_prices(prices: Vec<Price>, base: &Catalog) -> Result<Catalog, String> {
    let mut plans = Vec::new();
    let mut currency = None;
    for price in prices {
        let Product::Expanded { name, metadata } = price.product else {
            continue;
        };
        let Some(plan_id) = metadata.get("quota_plan") else {
            continue;
        };
        let amount = price
            .unit_amount
            .ok_or_else(|| format!("price {} of plan {plan_id:?} has no unit_amount", price.id))?;
        let cur = Currency::parse(&price.currency.to_ascii_uppercase())
            .map_err(|e| format!("price {}: {e}", price.id))?;
        currency.get_or_insert(cur);
        let fallback = base.plan(plan_id);
        let mut plan = Plan::new(plan_id.clone(), name, Money::new(amount, cur));
        for metric in base.metrics() {
            let limit = metadata_limit(
                &metadata,
                &metric.key,
                fallback.and_then(|p| p.limit(&metric.key)),
            )
            .map_err(|e| format!("plan {plan_id:?}: {e}"))?;
            plan = plan.with_limit(metric.key.clone(), limit);
        }
        if let Some(t) = fallback.and_then(|p| p.thresholds.clone()) {
            plan = plan.with_thresholds(t);
        }
        plans.push(plan);
    }
    let currency =
        currency.ok_or("no active Stripe price has a product with `quota_plan` metadata")?;
    Catalog::new(
        currency,
        base.metrics().to_vec(),
        plans,
        Some(base.thresholds().to_vec()),
    )
    .map_err(|e| format!("the catalog built from Stripe prices is invalid: {e}"))
}

fn metadata_limit(
    metadata: &BTreeMap<String, String>,
    metric: &str,
    fallback: Option<&Limit>,
) -> Result<Limit, String> {
    let included_key = format!("quota_included_{metric}");
    let overage_key = format!("quota_overage_{metric}");
    let included = match metadata.get(&included_key).map(|s| s.trim()) {
        Some("unlimited") => None,
        Some(n) => Some(
            n.parse::<u64>()
                .map_err(|_| format!("{included_key} = {n:?}: expected units or \"unlimited\""))?,
        ),
        None => match fallback {
            Some(l) => l.included,
            None => {
                return Err(format!(
                    "no limit for metric {metric:?}: add product metadata {included_key}"
                ));
            }
        },
    };
    let overage = match metadata.get(&overage_key) {
        Some(text) => parse_overage(text).map_err(|e| format!("{overage_key} = {text:?}: {e}"))?,
        None => fallback.map_or(OveragePolicy::Block, |l| l.overage),
    };
    let mut limit = match included {
        Some(n) => Limit::with_policy(n, overage),
        None => Limit::unlimited(),
    };
    if let Some(f) = fallback {
        limit = limit.grace(f.grace_percent);
    }
    Ok(limit)
}

/// `block` or `charge:<unit_price>[:<per_units>[:<cap>]]`.
fn parse_overage(text: &str) -> Result<OveragePolicy, String> {
    let mut parts = text.trim().split(':');
    match parts.next() {
        Some("block") if parts.next().is_none() => Ok(OveragePolicy::Block),
        Some("charge") => {
            let num = |p: Option<&str>, what: &str| -> Result<Option<u64>, String> {
                p.map(|s| {
                    s.parse::<u64>()
                        .map_err(|_| format!("{what} {s:?} is not a number"))
                })
                .transpose()
            };
            let unit_price = num(parts.next(), "unit price")?.ok_or("charge needs a unit price")?;
            let per = num(parts.next(), "per units")?.unwrap_or(1);
            let cap = num(parts.next(), "cap")?;
            if parts.next().is_some() {
                return Err("too many fields".into());
            }
            let per_units = NonZeroU64::new(per).ok_or("per units must be at least 1")?;
            Ok(OveragePolicy::Charge {
                unit_price,
                per_units,
                cap,
            })
        }
        _ => Err("expected block or charge:<unit_price>[:<per_units>[:<cap>]]".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overage_metadata_parses_or_is_refused() {
        assert_eq!(parse_overage("block"), Ok(OveragePolicy::Block));
        assert_eq!(
            parse_overage("charge:8:10:500"),
            Ok(OveragePolicy::Charge {
                unit_price: 8,
                per_units: NonZeroU64::new(10).unwrap(),
                cap: Some(500)
            })
        );
        for bad in [
            "",
            "charge",
            "charge:x",
            "charge:1:0",
            "block:1",
            "charge:1:1:1:1",
            "free",
        ] {
            assert!(parse_overage(bad).is_err(), "{bad:?}");
        }
    }
}
