//! Top-ups (`TopUpStore`): the record in the brand's slot, the id -> top-up index outside it.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use quota_core::domain::MAX_UNITS;
use quota_core::store::{CounterKey, StoreResult};
use quota_core::topup::{TopUpStatus, TopUpTransition, UsageTopUp};
use quota_core::{StoreError, TopUpStore};
use redis::Value;

use crate::keys::check_brand;
use crate::store::{PAST_DOMAIN, RedisStore, corrupt, parse_json, to_json};

/// The statuses in the order the scripts number them.
const STATUSES: [TopUpStatus; 5] = [
    TopUpStatus::Pending,
    TopUpStatus::Completed,
    TopUpStatus::Failed,
    TopUpStatus::Expired,
    TopUpStatus::Cancelled,
];

impl RedisStore {
    pub(crate) async fn topup_index(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let key = self.inner.keys.topup_index(id);
        let json: Option<String> = self
            .query("get top-up", redis::cmd("GET").arg(&key))
            .await?;
        json.map(|j| parse_json::<UsageTopUp>(&j, "top-up"))
            .transpose()
    }

    async fn topup_record(&self, brand: &str, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let key = self.inner.keys.topup(brand, id);
        let (base, status, settled): (Option<String>, Option<String>, Option<String>) = self
            .query(
                "get top-up",
                redis::cmd("HMGET")
                    .arg(&key)
                    .arg("base")
                    .arg("status")
                    .arg("settled"),
            )
            .await?;
        match (base, status) {
            (Some(base), Some(status)) => {
                build_topup(&base, &status, settled.as_deref().unwrap_or("")).map(Some)
            }
            _ => Ok(None),
        }
    }
}

/// Every status, comma-framed, in the order the scripts number them (`,pending,...,`).
fn status_list(statuses: impl IntoIterator<Item = TopUpStatus>) -> String {
    statuses
        .into_iter()
        .fold(",".to_owned(), |acc, s| acc + s.as_str() + ",")
}

fn build_topup(base: &str, status: &str, settled: &str) -> StoreResult<UsageTopUp> {
    let mut topup: UsageTopUp = parse_json(base, "top-up")?;
    topup.status = TopUpStatus::parse(status)
        .ok_or_else(|| corrupt(format!("top-up {:?} has status {status:?}", topup.id)))?;
    if !settled.is_empty() {
        topup.settled_at = parse_json(settled, "top-up settlement")?;
    }
    Ok(topup)
}

/// How [`RedisStore::claim_topup_id`] found a top-up id.
pub(crate) enum Claim {
    /// This call claimed it: the index key.
    New(String),
    /// It was claimed already, by a write of this very top-up that failed half-way or
    /// succeeded (the record's script tells which).
    Own,
}

impl RedisStore {
    /// Claims a top-up id in the id -> top-up index (`SET NX` with the top-up's JSON). An
    /// index that holds this top-up's JSON already is a retry's ([`Claim::Own`]); any other
    /// holder is a [`StoreError::Conflict`].
    pub(crate) async fn claim_topup_id(&self, id: &str, json: &str) -> StoreResult<Claim> {
        let index = self.inner.keys.topup_index(id);
        let set: Value = self
            .query(
                "insert top-up",
                redis::cmd("SET").arg(&index).arg(json).arg("NX"),
            )
            .await?;
        if set != Value::Nil {
            return Ok(Claim::New(index));
        }
        let existing: Option<String> = self
            .query("insert top-up", redis::cmd("GET").arg(&index))
            .await?;
        if existing.as_deref() == Some(json) {
            Ok(Claim::Own)
        } else {
            Err(StoreError::Conflict(format!(
                "top-up {id:?} already exists"
            )))
        }
    }
}

#[async_trait]
impl TopUpStore for RedisStore {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        check_brand(&topup.brand)?;
        let keys = &self.inner.keys;
        let conflict = || StoreError::Conflict(format!("top-up {:?} already exists", topup.id));
        let json = to_json(topup, "top-up")?;
        // The id -> top-up index lives outside the brand's slot, so it is claimed first.
        let _claim = self.claim_topup_id(&topup.id, &json).await?;
        let settled = to_json(&topup.settled_at, "top-up settlement")?;
        let [inserted] = self
            .script_ints::<1>(
                "insert top-up",
                &self.inner.scripts.insert_topup,
                &[
                    &keys.topup(&topup.brand, &topup.id),
                    &keys.topup_list(&topup.brand),
                ],
                &[&topup.id, &json, topup.status.as_str(), &settled],
            )
            .await?;
        if inserted == 1 {
            Ok(())
        } else {
            Err(conflict())
        }
    }

    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let Some(base) = self.topup_index(id).await? else {
            return Ok(None);
        };
        check_brand(&base.brand)?;
        self.topup_record(&base.brand, id).await
    }

    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        let not_found = || StoreError::NotFound(format!("top-up {id:?}"));
        let base = self.topup_index(id).await?.ok_or_else(not_found)?;
        check_brand(&base.brand)?;
        let target = if to == TopUpStatus::Completed && base.expires_at <= at {
            TopUpStatus::Expired
        } else {
            to
        };
        // Which statuses may become `to` is the core's rule; the script only checks it.
        let allowed = status_list(STATUSES.into_iter().filter(|s| s.can_become(to)));
        let keys = &self.inner.keys;
        let counter_key = CounterKey::new(&base.brand, &base.metric, base.period);
        let settled = to_json(&Some(at), "top-up settlement")?;
        let reply: Vec<i64> = {
            let mut inv = self.inner.scripts.set_topup_status.prepare_invoke();
            inv.key(keys.topup(&base.brand, id))
                .key(keys.counter(counter_key))
                .key(keys.metrics(&base.brand, base.period))
                .arg(to.as_str())
                .arg(target.as_str())
                .arg(&settled)
                .arg(base.units.min(PAST_DOMAIN))
                .arg(self.period_expire_at(base.period))
                .arg(&base.metric)
                .arg(&allowed)
                .arg(status_list(STATUSES));
            let mut conn = self.inner.conn.clone();
            self.bounded("set top-up status", inv.invoke_async(&mut conn))
                .await?
        };
        match reply.as_slice() {
            [1] => {
                let mut topup = base;
                topup.status = target;
                topup.settled_at = Some(at);
                Ok(TopUpTransition::new(topup, true))
            }
            [0] => {
                // Already in a final status, which never changes again: reading it back
                // after the script is not racy.
                let topup = self
                    .topup_record(&base.brand, id)
                    .await?
                    .ok_or_else(not_found)?;
                Ok(TopUpTransition::new(topup, false))
            }
            [-1] => Err(not_found()),
            [-3] => Err(StoreError::OutOfRange(format!(
                "top-up {id:?} would take the period's top-up units past {MAX_UNITS}"
            ))),
            [-2, current] => {
                let current = usize::try_from(*current)
                    .ok()
                    .and_then(|i| STATUSES.get(i))
                    .map_or("in an unknown status", TopUpStatus::as_str);
                Err(StoreError::Conflict(format!(
                    "top-up {id:?} is {current} and cannot become {to}"
                )))
            }
            other => Err(corrupt(format!(
                "the set top-up status script answered {other:?}"
            ))),
        }
    }

    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.list_topups(brand, 0).await
    }

    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        if limit == 0 {
            check_brand(brand)?;
            return Ok(Vec::new());
        }
        self.list_topups(brand, limit).await
    }
}

impl RedisStore {
    /// The newest `limit` top-ups of a brand (0 = all), newest first, in one script.
    async fn list_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        check_brand(brand)?;
        let keys = &self.inner.keys;
        let mut inv = self.inner.scripts.list_topups.prepare_invoke();
        inv.key(keys.topup_list(brand))
            .arg(keys.base(brand))
            .arg(limit);
        let mut conn = self.inner.conn.clone();
        let flat: Vec<String> = self
            .bounded("list top-ups", inv.invoke_async(&mut conn))
            .await?;
        flat.chunks(3)
            .map(|r| match r {
                [base, status, settled] => build_topup(base, status, settled),
                _ => Err(corrupt(
                    "the list top-ups script answered a malformed reply",
                )),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_is_listed_once_and_parses_back() {
        let list = status_list(STATUSES);
        assert_eq!(list, ",pending,completed,failed,expired,cancelled,");
        for (i, name) in list.trim_matches(',').split(',').enumerate() {
            assert_eq!(TopUpStatus::parse(name), Some(STATUSES[i]));
        }
    }
}
