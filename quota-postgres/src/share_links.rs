//! Share-link revocations: a revoked token id stays refused until it would have expired.

use chrono::{DateTime, Utc};
use quota_core::store::StoreResult;

use crate::store::PostgresStore;

impl PostgresStore {
    /// Revokes the share link `token_id` of `brand`. Returns `true` when this call revoked
    /// it, `false` when it already was. `expires_at` (the token's own expiry) lets
    /// [`PostgresStore::purge_revocations`] drop the row once the token is dead anyway.
    pub async fn revoke_share_link(
        &self,
        token_id: &str,
        brand: &str,
        at: DateTime<Utc>,
        expires_at: Option<DateTime<Utc>>,
    ) -> StoreResult<bool> {
        self.bounded(async {
            let done = sqlx::query(
                "INSERT INTO share_link_revocations (token_id, brand, revoked_at, expires_at)
                 VALUES ($1, $2, $3, $4) ON CONFLICT (token_id) DO NOTHING",
            )
            .bind(token_id)
            .bind(brand)
            .bind(at)
            .bind(expires_at)
            .execute(&self.pool)
            .await
            .map_err(|e| self.err("revoke_share_link", e))?;
            Ok(done.rows_affected() == 1)
        })
        .await
    }

    /// Whether `token_id` was revoked.
    pub async fn is_share_link_revoked(&self, token_id: &str) -> StoreResult<bool> {
        self.bounded(async {
            let row: Option<(i32,)> =
                sqlx::query_as("SELECT 1 FROM share_link_revocations WHERE token_id = $1")
                    .bind(token_id)
                    .fetch_optional(&self.pool)
                    .await
                    .map_err(|e| self.err("is_share_link_revoked", e))?;
            Ok(row.is_some())
        })
        .await
    }

    /// Deletes revocations of tokens that expired before `now` (they are refused anyway).
    pub async fn purge_revocations(&self, now: DateTime<Utc>) -> StoreResult<u64> {
        self.bounded(async {
            let done = sqlx::query("DELETE FROM share_link_revocations WHERE expires_at < $1")
                .bind(now)
                .execute(&self.pool)
                .await
                .map_err(|e| self.err("purge_revocations", e))?;
            Ok(done.rows_affected())
        })
        .await
    }
}
