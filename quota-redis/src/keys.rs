//! Key names (the layout is documented at the crate root).

use quota_core::StoreError;
use quota_core::period::PeriodKey;
use quota_core::store::CounterKey;

#[derive(Debug)]
pub(crate) struct Keys {
    prefix: String,
}

/// A brand id becomes a hash tag: it must be non-empty and brace-free so that the tag is
/// exactly the brand (core ids are stricter still, see `quota_core::ids::validate_brand_id`).
pub(crate) fn check_brand(brand: &str) -> Result<(), StoreError> {
    if brand.is_empty() || brand.contains(['{', '}']) {
        return Err(StoreError::Backend {
            message: format!(
                "brand id {brand:?} cannot be stored in Redis: it must be non-empty and contain no braces"
            ),
            source: None,
        });
    }
    Ok(())
}

impl Keys {
    pub(crate) fn new(prefix: String) -> Self {
        Keys { prefix }
    }

    /// `<prefix>:share-revoked:<id>`: a revoked share link (expires with the link).
    pub(crate) fn share_revoked(&self, id: &str) -> String {
        format!("{}:share-revoked:{id}", self.prefix)
    }

    /// `<prefix>:{<brand>}:`, the start of every key of the brand.
    pub(crate) fn base(&self, brand: &str) -> String {
        format!("{}:{{{brand}}}:", self.prefix)
    }

    pub(crate) fn counter(&self, k: CounterKey<'_>) -> String {
        format!(
            "{}:{{{}}}:c:{}:{}",
            self.prefix, k.brand, k.metric, k.period
        )
    }

    pub(crate) fn claims(&self, k: CounterKey<'_>) -> String {
        format!(
            "{}:{{{}}}:a:{}:{}",
            self.prefix, k.brand, k.metric, k.period
        )
    }

    pub(crate) fn metrics(&self, brand: &str, period: PeriodKey) -> String {
        format!("{}:{{{brand}}}:m:{period}", self.prefix)
    }

    pub(crate) fn idempotency(&self, brand: &str, key: &str) -> String {
        format!("{}:{{{brand}}}:i:{key}", self.prefix)
    }

    pub(crate) fn gauges(&self, brand: &str) -> String {
        format!("{}:{{{brand}}}:g", self.prefix)
    }

    /// The timeline: a sorted set scored by the events' times in Unix µs.
    pub(crate) fn timeline(&self, brand: &str) -> String {
        format!("{}:{{{brand}}}:e", self.prefix)
    }

    /// The last sequence number given to an event of the brand.
    pub(crate) fn timeline_seq(&self, brand: &str) -> String {
        format!("{}:{{{brand}}}:es", self.prefix)
    }

    pub(crate) fn topup(&self, brand: &str, id: &str) -> String {
        format!("{}:{{{brand}}}:tu:{id}", self.prefix)
    }

    pub(crate) fn topup_list(&self, brand: &str) -> String {
        format!("{}:{{{brand}}}:tul", self.prefix)
    }

    pub(crate) fn subscription(&self, brand: &str) -> String {
        format!("{}:{{{brand}}}:s", self.prefix)
    }

    pub(crate) fn topup_index(&self, id: &str) -> String {
        format!("{}:topup:{id}", self.prefix)
    }

    pub(crate) fn subscribed_brands(&self) -> String {
        format!("{}:subs", self.prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_of_a_brand_carries_the_brand_as_hash_tag() {
        let keys = Keys::new("q".into());
        let k = CounterKey::new("acme", "ai_generations", PeriodKey(20261101));
        assert_eq!(keys.counter(k), "q:{acme}:c:ai_generations:20261101");
        assert_eq!(keys.idempotency("acme", "x{y}"), "q:{acme}:i:x{y}");
        assert!(keys.topup("acme", "t1").starts_with(&keys.base("acme")));
        assert_eq!(keys.timeline("acme"), "q:{acme}:e");
        assert_eq!(keys.timeline_seq("acme"), "q:{acme}:es");
        assert!(!keys.topup_index("t1").contains('{'));
    }

    #[test]
    fn brands_that_would_break_the_hash_tag_are_refused() {
        for bad in ["", "a}b", "a{b"] {
            let e = check_brand(bad).unwrap_err();
            assert!(
                matches!(&e, StoreError::Backend { message, .. } if message.contains("braces")),
                "{e}"
            );
        }
        check_brand("org:42").unwrap();
    }
}
