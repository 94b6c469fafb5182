//! Share-link revocations: a key per revoked link, expiring with the link, so every instance
//! that shares the Redis refuses it.

use chrono::{DateTime, Utc};
use quota_core::StoreError;
use quota_core::store::StoreResult;

use crate::store::RedisStore;

impl RedisStore {
    /// Revokes a share link until `until` (the key expires then, with the link): every
    /// instance that shares this Redis refuses it. Ids are opaque (1 to 128 visible ASCII
    /// characters).
    pub async fn revoke_share_link(
        &self,
        id: &str,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> StoreResult<()> {
        check_share_id(id)?;
        let ms = until
            .signed_duration_since(now)
            .num_milliseconds()
            .max(1_000);
        let key = self.inner.keys.share_revoked(id);
        let mut cmd = redis::cmd("SET");
        cmd.arg(key).arg(1).arg("PX").arg(ms);
        self.query::<()>("revoke share link", &cmd).await
    }

    /// Whether a share link was revoked (and its revocation has not expired).
    pub async fn is_share_link_revoked(&self, id: &str) -> StoreResult<bool> {
        check_share_id(id)?;
        let mut cmd = redis::cmd("EXISTS");
        cmd.arg(self.inner.keys.share_revoked(id));
        Ok(self.query::<u64>("is share link revoked", &cmd).await? > 0)
    }
}

fn check_share_id(id: &str) -> StoreResult<()> {
    if id.is_empty() || id.len() > 128 || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(StoreError::OutOfRange(
            "a share link id is 1 to 128 visible ASCII characters".into(),
        ));
    }
    Ok(())
}
