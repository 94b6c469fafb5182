//! Subscriptions (brand -> plan, `SubscriptionStore`): the record in the brand's slot and
//! the set of subscribed brands.

use async_trait::async_trait;
use quota_core::store::StoreResult;
use quota_core::{Subscription, SubscriptionStore};
use redis::Value;

use crate::keys::check_brand;
use crate::store::{RedisStore, parse_json, to_json};

#[async_trait]
impl SubscriptionStore for RedisStore {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        check_brand(&sub.brand)?;
        let json = to_json(sub, "subscription")?;
        let keys = &self.inner.keys;
        // Two slots on a cluster, so two commands: the record first, then the listing.
        let _ok: Value = self
            .query(
                "put subscription",
                redis::cmd("SET")
                    .arg(keys.subscription(&sub.brand))
                    .arg(json),
            )
            .await?;
        let _added: i64 = self
            .query(
                "put subscription",
                redis::cmd("SADD")
                    .arg(keys.subscribed_brands())
                    .arg(&sub.brand),
            )
            .await?;
        Ok(())
    }

    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        check_brand(brand)?;
        let json: Option<String> = self
            .query(
                "subscription",
                redis::cmd("GET").arg(self.inner.keys.subscription(brand)),
            )
            .await?;
        json.map(|j| parse_json(&j, "subscription")).transpose()
    }

    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        let mut brands: Vec<String> = self
            .query(
                "subscriptions",
                redis::cmd("SMEMBERS").arg(self.inner.keys.subscribed_brands()),
            )
            .await?;
        brands.sort_unstable();
        let mut out = Vec::with_capacity(brands.len());
        for brand in brands {
            if check_brand(&brand).is_err() {
                continue;
            }
            if let Some(sub) = self.subscription(&brand).await? {
                out.push(sub);
            }
        }
        out.sort_by(|a, b| a.brand.cmp(&b.brand));
        Ok(out)
    }
}
