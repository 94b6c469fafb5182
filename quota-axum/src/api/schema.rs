//! OpenAPI schemas of the values the API checks by hand rather than through their Rust type:
//! identifiers (the rules of `quota_core::ids`), idempotency keys, share link ids, Stripe
//! signatures, redirect URLs and the numeric bounds of `quota_core::domain`. Each is a named
//! component; [`for_catalog`] narrows the catalog-dependent ones (metric keys, plan ids, the
//! per-request quantity) to the catalog a server runs with.

use std::borrow::Cow;
use std::collections::BTreeMap;

use quota_core::domain::{DEFAULT_MAX_PER_REQUEST, DEFAULT_MAX_TOPUP_UNITS, MAX_TOPUP_UNITS};
use quota_core::ids::{MAX_BRAND_ID_LEN, MAX_IDEMPOTENCY_KEY_LEN, MAX_KEY_LEN};
use quota_core::reset::MAX_TARGET_PERCENT;
use quota_core::{Catalog, MetricKind};
use serde_json::Value;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{AnyOfBuilder, Object, ObjectBuilder, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

/// `validate_brand_id`: 1 to 128 ASCII letters, digits or `_ - . : @`.
pub const BRAND_ID_PATTERN: &str = "^[A-Za-z0-9_.:@-]{1,128}$";
/// `validate_metric_key`: a lower-case letter, then lower-case letters, digits or `_`.
pub const METRIC_KEY_PATTERN: &str = "^[a-z][a-z0-9_]{0,63}$";
/// `validate_plan_id`: a lower-case letter, then lower-case letters, digits, `_` or `-`.
pub const PLAN_ID_PATTERN: &str = "^[a-z][a-z0-9_-]{0,63}$";
/// An idempotency key: 1 to 255 visible ASCII characters (`!` to `~`).
pub const IDEMPOTENCY_KEY_PATTERN: &str = "^[!-~]{1,255}$";
/// Longest share link id: `sh_` and up to 77 letters or digits.
pub const MAX_SHARE_LINK_ID_LEN: usize = 80;
/// A share link id as issued: `sh_` followed by ASCII letters and digits.
pub const SHARE_LINK_ID_PATTERN: &str = "^sh_[A-Za-z0-9]{1,77}$";
/// A `Stripe-Signature` as Stripe sends it: the timestamp, then one or more 64-hex-digit
/// HMAC-SHA256 signatures (`v1`, and `v0` test signatures the server ignores).
pub const STRIPE_SIGNATURE_PATTERN: &str =
    "^t=[0-9]{1,12}(,v[01]=[0-9a-f]{64})*,v1=[0-9a-f]{64}(,v[01]=[0-9a-f]{64})*$";
/// Longest `Stripe-Signature` header read.
pub const MAX_STRIPE_SIGNATURE_LEN: usize = 4096;
/// A redirect after checkout: a path on this site (not `//host`) or an absolute http(s) URL,
/// without control characters.
pub const REDIRECT_URL_PATTERN: &str = "^(/([^/\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*)?|https?://[^\\x00-\\x1f\\x7f-\\x9f]*)$";
/// Longest redirect URL, in bytes (the pattern keeps it to ASCII, so characters too).
pub const MAX_REDIRECT_URL_LEN: usize = 2048;

fn string(pattern: &str, min: usize, max: usize, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .pattern(Some(pattern))
        .min_length(Some(min))
        .max_length(Some(max))
        .description(Some(description))
}

fn integer(min: u64, max: u64, description: &str) -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(min))
        .maximum(Some(max))
        .description(Some(description))
}

macro_rules! component {
    ($(#[$doc:meta])* $name:ident => $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy)]
        pub struct $name;

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                let object: Object = $schema;
                RefOr::T(Schema::Object(object))
            }
        }

        impl ToSchema for $name {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed(stringify!($name))
            }
        }
    };
}

component!(
    /// A brand id.
    BrandId => string(BRAND_ID_PATTERN, 1, MAX_BRAND_ID_LEN, "A brand id: 1 to 128 ASCII letters, digits or _ - . : @")
        .examples([Value::from("brand_dashboard")])
        .build()
);

component!(
    /// A metric of the catalog.
    MetricKey => metric_key(None, "A metric of the catalog")
);

component!(
    /// A counter of the catalog (the reset works on period usage).
    CounterMetricKey => metric_key(None, "A counter of the catalog")
);

component!(
    /// A counter some plan sells top-ups of (its overage policy charges).
    TopUpMetricKey => metric_key(None, "A counter that some plan sells top-ups of (overage policy `charge`)")
);

component!(
    /// A plan of the catalog.
    PlanId => string(PLAN_ID_PATTERN, 1, MAX_KEY_LEN, "A plan of the catalog").build()
);

component!(
    /// Units of one request.
    Quantity => quantity(DEFAULT_MAX_PER_REQUEST)
);

component!(
    /// Units of one top-up.
    TopUpUnits => integer(1, MAX_TOPUP_UNITS, "Units of one top-up").build()
);

component!(
    /// Units of one checkout: at most the metric's `maxTopupUnits`.
    CheckoutUnits => integer(
        1,
        DEFAULT_MAX_TOPUP_UNITS,
        "Units of one checkout (at most the metric's `maxTopupUnits`)",
    )
    .build()
);

component!(
    /// The usage a reset leaves, in percent of the included units.
    TargetPercent => integer(
        0,
        u64::from(MAX_TARGET_PERCENT),
        "The usage to leave, in percent of the plan's included units",
    )
    .build()
);

component!(
    /// An idempotency key.
    IdempotencyKey => string(
        IDEMPOTENCY_KEY_PATTERN,
        1,
        MAX_IDEMPOTENCY_KEY_LEN,
        "1 to 255 visible ASCII characters; a key is bound to its first request (route, metric and quantity)",
    )
    .build()
);

component!(
    /// A share link id.
    ShareLinkId => string(
        SHARE_LINK_ID_PATTERN,
        4,
        MAX_SHARE_LINK_ID_LEN,
        "The `id` of a share link, as returned when it was issued",
    )
    .build()
);

component!(
    /// A `Stripe-Signature` header.
    StripeSignature => string(
        STRIPE_SIGNATURE_PATTERN,
        1,
        MAX_STRIPE_SIGNATURE_LEN,
        "`t=<unix seconds>,v1=<hex HMAC-SHA256(secret, \"<t>.<raw body>\")>`; 300 s tolerance",
    )
    .build()
);

component!(
    /// Where checkout sends the buyer back.
    RedirectUrl => string(
        REDIRECT_URL_PATTERN,
        1,
        MAX_REDIRECT_URL_LEN,
        "A path on this site (starting with one `/`) or an absolute http(s) URL",
    )
    .build()
);

/// `RedirectUrl` for a server whose public origin is `origin` (`scheme://host[:port]`): a
/// path on this site, or an absolute URL on that origin, as the checkout accepts them.
pub fn redirect_url_on(origin: &str) -> Object {
    let mut escaped = String::with_capacity(origin.len());
    for c in origin.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    let pattern = format!(
        "^(/([^/\\\\\\x00-\\x1f\\x7f-\\x9f][^\\x00-\\x1f\\x7f-\\x9f]*)?|{escaped}(/[^\\x00-\\x1f\\x7f-\\x9f]*)?)$"
    );
    string(
        &pattern,
        1,
        MAX_REDIRECT_URL_LEN,
        &format!(
            "A path on this site (starting with one `/`, not `//` or `/\\`) or a URL on {origin}"
        ),
    )
    .build()
}

fn quantity(max: u64) -> Object {
    integer(
        1,
        max,
        "Units of one request: 1 to the metric's `maxPerRequest` (see GET /usage-billing/plans)",
    )
    .default(Some(Value::from(1)))
    .build()
}

fn metric_key(keys: Option<Vec<&str>>, description: &str) -> Object {
    let mut b = string(METRIC_KEY_PATTERN, 1, MAX_KEY_LEN, description);
    if let Some(keys) = keys.filter(|k| !k.is_empty()) {
        b = b.enum_values(Some(keys));
    }
    b.build()
}

/// The catalog-dependent components for `catalog`: metric keys and plan ids listed, and the
/// quantity bounded by the largest `maxPerRequest`, the top-up units by the largest
/// `maxTopupUnits`.
pub fn for_catalog(catalog: &Catalog) -> Vec<(&'static str, Object)> {
    let metrics = catalog.metrics();
    let all: Vec<&str> = metrics.iter().map(|m| m.key.as_str()).collect();
    let counters: Vec<&str> = metrics
        .iter()
        .filter(|m| m.kind == MetricKind::Counter)
        .map(|m| m.key.as_str())
        .collect();
    let topups: Vec<&str> = topup_metrics(catalog).map(|m| m.key.as_str()).collect();
    let plans: Vec<&str> = catalog.plans().iter().map(|p| p.id.as_str()).collect();
    let max = metrics
        .iter()
        .map(|m| m.max_per_request)
        .max()
        .unwrap_or(DEFAULT_MAX_PER_REQUEST);
    let mut plan = string(PLAN_ID_PATTERN, 1, MAX_KEY_LEN, "A plan of the catalog");
    if !plans.is_empty() {
        plan = plan.enum_values(Some(plans));
    }
    vec![
        (
            "MetricKey",
            metric_key(Some(all), "A metric of the catalog"),
        ),
        (
            "CounterMetricKey",
            metric_key(Some(counters), "A counter of the catalog"),
        ),
        (
            "TopUpMetricKey",
            metric_key(
                Some(topups),
                "A counter that some plan sells top-ups of (overage policy `charge`)",
            ),
        ),
        ("PlanId", plan.build()),
        ("Quantity", quantity(max)),
        (
            "CheckoutUnits",
            integer(
                1,
                topup_metrics(catalog)
                    .map(|m| m.max_topup_units)
                    .max()
                    .unwrap_or(DEFAULT_MAX_TOPUP_UNITS),
                "Units of one checkout (at most the metric's `maxTopupUnits`)",
            )
            .build(),
        ),
    ]
}

/// The per-metric bound of `quantity` when the catalog's metrics have different
/// `maxPerRequest`: one branch per ceiling, naming its metrics (`None` when one bound fits
/// all, as [`for_catalog`]'s `Quantity` says).
pub fn quantity_by_metric(catalog: &Catalog) -> Option<Schema> {
    let bounds = catalog
        .metrics()
        .iter()
        .map(|m| (m.key.as_str(), m.max_per_request));
    by_metric(
        bounds,
        "quantity",
        "The quantity is bounded by the metric's own `maxPerRequest`",
    )
}

/// The per-metric bound of a checkout's `units` when the top-up metrics have different
/// `maxTopupUnits` (`None` when one bound fits all, as [`for_catalog`]'s `CheckoutUnits`
/// says).
pub fn topup_units_by_metric(catalog: &Catalog) -> Option<Schema> {
    let bounds = topup_metrics(catalog).map(|m| (m.key.as_str(), m.max_topup_units));
    by_metric(
        bounds,
        "units",
        "The units are bounded by the metric's own `maxTopupUnits`",
    )
}

/// The counters some plan sells top-ups of.
fn topup_metrics(catalog: &Catalog) -> impl Iterator<Item = &quota_core::MetricDef> {
    catalog.metrics().iter().filter(|m| {
        m.kind == MetricKind::Counter
            && catalog
                .plans()
                .iter()
                .any(|p| p.limit(&m.key).is_some_and(|l| l.accepts_topups()))
    })
}

/// One `anyOf` branch per distinct bound: `{metric: enum of its metrics, <field>: maximum}`.
fn by_metric<'a>(
    bounds: impl Iterator<Item = (&'a str, u64)>,
    field: &str,
    description: &str,
) -> Option<Schema> {
    let mut by_max: BTreeMap<u64, Vec<&str>> = BTreeMap::new();
    for (key, max) in bounds {
        by_max.entry(max).or_default().push(key);
    }
    if by_max.len() < 2 {
        return None;
    }
    let mut any = AnyOfBuilder::new().description(Some(description));
    for (max, keys) in by_max {
        any = any.item(
            ObjectBuilder::new()
                .property(
                    "metric",
                    ObjectBuilder::new()
                        .schema_type(Type::String)
                        .enum_values(Some(keys)),
                )
                .property(
                    field,
                    ObjectBuilder::new()
                        .schema_type(Type::Integer)
                        .maximum(Some(max)),
                ),
        );
    }
    Some(any.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator<T: ToSchema>() -> jsonschema::Validator {
        let schema = serde_json::to_value(T::schema()).unwrap_or_default();
        match jsonschema::validator_for(&schema) {
            Ok(v) => v,
            Err(e) => unreachable!("{} is not a valid schema: {e}", T::name()),
        }
    }

    /// Strings of 0 to 140 characters over an alphabet with every class the rules tell
    /// apart, from a fixed-seed generator.
    fn samples() -> Vec<String> {
        let alphabet: Vec<char> = "aZz09_-.:@ {}/é\u{7f}!~Ab".chars().collect();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let mut out = vec![
            String::new(),
            "a".repeat(64),
            "a".repeat(65),
            "b".repeat(128),
        ];
        for _ in 0..3000 {
            let len = usize::try_from(next().checked_rem(141).unwrap_or(0)).unwrap_or(0);
            let s: String = (0..len)
                .map(|_| {
                    let i = usize::try_from(next()).unwrap_or(0);
                    alphabet
                        .get(i.checked_rem(alphabet.len()).unwrap_or(0))
                        .copied()
                        .unwrap_or('a')
                })
                .collect();
            out.push(s);
            // Short ones too, where the first character matters.
            let short: String = out
                .last()
                .map(|s| s.chars().take(3).collect())
                .unwrap_or_default();
            out.push(short);
        }
        out
    }

    fn agree<T: ToSchema>(rule: impl Fn(&str) -> bool) {
        let v = validator::<T>();
        for s in samples() {
            assert_eq!(
                v.is_valid(&Value::from(s.as_str())),
                rule(&s),
                "{} and the server disagree on {s:?}",
                T::name()
            );
        }
    }

    #[test]
    fn identifier_schemas_accept_exactly_what_the_validators_accept() {
        agree::<BrandId>(|s| quota_core::ids::validate_brand_id(s).is_ok());
        agree::<MetricKey>(|s| quota_core::ids::validate_metric_key(s).is_ok());
        agree::<PlanId>(|s| quota_core::ids::validate_plan_id(s).is_ok());
        agree::<IdempotencyKey>(|s| {
            !s.is_empty()
                && s.len() <= MAX_IDEMPOTENCY_KEY_LEN
                && s.bytes().all(|b| b.is_ascii_graphic())
        });
    }

    #[test]
    fn the_catalog_narrows_metrics_plans_and_the_quantity() {
        let narrowed = for_catalog(&Catalog::demo());
        let get = |name: &str| {
            narrowed
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, o)| serde_json::to_value(o).unwrap_or_default())
                .unwrap_or_default()
        };
        assert_eq!(
            get("MetricKey")["enum"],
            serde_json::json!(["ai_generations", "renders_2d", "team_members"])
        );
        assert_eq!(
            get("CounterMetricKey")["enum"],
            serde_json::json!(["ai_generations", "renders_2d"])
        );
        assert_eq!(
            get("TopUpMetricKey")["enum"],
            serde_json::json!(["ai_generations"])
        );
        assert_eq!(
            get("PlanId")["enum"],
            serde_json::json!(["free", "starter", "pro", "scale"])
        );
        assert_eq!(get("Quantity")["maximum"], DEFAULT_MAX_PER_REQUEST);
        assert_eq!(get("Quantity")["minimum"], 1);
    }
}
