//! Subscriptions (brand -> plan, `SubscriptionStore`).

use async_trait::async_trait;
use quota_core::store::StoreResult;
use quota_core::{StoreError, Subscription, SubscriptionStore};
use sqlx::types::Json;

use crate::store::PostgresStore;

#[async_trait]
impl SubscriptionStore for PostgresStore {
    async fn put_subscription(&self, sub: &Subscription) -> StoreResult<()> {
        self.bounded(async {
            let doc = serde_json::to_value(sub)
                .map_err(|e| StoreError::backend("cannot encode subscription", e))?;
            sqlx::query(
                "INSERT INTO subscriptions (brand, plan, anchor, since, doc, updated_at)
                 VALUES ($1, $2, $3, $4, $5, now())
                 ON CONFLICT (brand) DO UPDATE
                 SET plan = EXCLUDED.plan, anchor = EXCLUDED.anchor, since = EXCLUDED.since,
                     doc = EXCLUDED.doc, updated_at = now()",
            )
            .bind(&sub.brand)
            .bind(&sub.plan)
            .bind(i16::from(sub.anchor.get()))
            .bind(sub.since)
            .bind(Json(doc))
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("put_subscription", e))?;
            Ok(())
        })
        .await
    }

    async fn subscription(&self, brand: &str) -> StoreResult<Option<Subscription>> {
        self.bounded(async {
            let row: Option<(Json<Subscription>,)> =
                sqlx::query_as("SELECT doc FROM subscriptions WHERE brand = $1")
                    .bind(brand)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.err("subscription", e))?;
            Ok(row.map(|(Json(s),)| s))
        })
        .await
    }

    async fn subscriptions(&self) -> StoreResult<Vec<Subscription>> {
        self.bounded(async {
            // COLLATE "C": byte order, the same order as Rust's `str` comparison.
            let rows: Vec<(Json<Subscription>,)> =
                sqlx::query_as(r#"SELECT doc FROM subscriptions ORDER BY brand COLLATE "C""#)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(|e| self.err("subscriptions", e))?;
            Ok(rows.into_iter().map(|(Json(s),)| s).collect())
        })
        .await
    }
}
