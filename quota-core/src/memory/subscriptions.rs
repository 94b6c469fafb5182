//! `SubscriptionStore` for [`MemoryStore`].

use async_trait::async_trait;

use crate::SubscriptionStore;
use crate::store::StoreResult;
use crate::subscription::Subscription;

use super::MemoryStore;

#[async_trait]
impl SubscriptionStore for MemoryStore {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        self.inner
            .subscriptions
            .insert(sub.brand.as_str().into(), sub.clone());
        Ok(())
    }

    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        Ok(self
            .inner
            .subscriptions
            .get(brand)
            .map(|s| s.value().clone()))
    }

    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        let mut all: Vec<Subscription> = self
            .inner
            .subscriptions
            .iter()
            .map(|s| s.value().clone())
            .collect();
        all.sort_by(|a, b| a.brand.cmp(&b.brand));
        Ok(all)
    }
}
