//! `TopUpStore` for [`MemoryStore`]: top-up records and the allowance they add.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::TopUpStore;
use crate::domain::{MAX_UNITS, add_units};
use crate::error::StoreError;
use crate::store::StoreResult;
use crate::topup::{TopUpStatus, TopUpTransition, UsageTopUp};

use super::{MemoryStore, lock, metric_mut};

#[async_trait]
impl TopUpStore for MemoryStore {
    async fn insert_topup(&self, topup: &UsageTopUp) -> StoreResult<()> {
        let brand = self.brand(&topup.brand);
        let mut data = lock(&brand);
        match self.inner.topup_brand.entry(topup.id.as_str().into()) {
            dashmap::Entry::Occupied(_) => {
                return Err(StoreError::Conflict(format!(
                    "top-up {:?} already exists",
                    topup.id
                )));
            }
            dashmap::Entry::Vacant(v) => {
                v.insert(topup.brand.as_str().into());
            }
        }
        data.topups.push(topup.clone());
        Ok(())
    }

    async fn topup(&self, id: &str) -> StoreResult<Option<UsageTopUp>> {
        let Some(brand) = self.inner.topup_brand.get(id).map(|b| b.value().clone()) else {
            return Ok(None);
        };
        let brand = self.brand(&brand);
        let data = lock(&brand);
        Ok(data.topups.iter().find(|t| t.id == id).cloned())
    }

    async fn set_topup_status(
        &self,
        id: &str,
        to: TopUpStatus,
        at: DateTime<Utc>,
    ) -> StoreResult<TopUpTransition> {
        let not_found = || StoreError::NotFound(format!("top-up {id:?}"));
        let brand_id = self
            .inner
            .topup_brand
            .get(id)
            .map(|b| b.value().clone())
            .ok_or_else(not_found)?;
        let brand = self.brand(&brand_id);
        let mut data = lock(&brand);
        let data = &mut *data;
        let topup = data
            .topups
            .iter_mut()
            .find(|t| t.id == id)
            .ok_or_else(not_found)?;
        if topup.status == to && to != TopUpStatus::Pending {
            return Ok(TopUpTransition::new(topup.clone(), false));
        }
        if !topup.status.can_become(to) {
            return Err(StoreError::Conflict(format!(
                "top-up {id:?} is {} and cannot become {to}",
                topup.status
            )));
        }
        let target = if to == TopUpStatus::Completed && topup.expires_at <= at {
            TopUpStatus::Expired
        } else {
            to
        };
        if target == TopUpStatus::Completed {
            let mut counter =
                metric_mut(&mut data.metrics, &topup.metric).counter_mut(topup.period);
            counter.topup_units = add_units(counter.topup_units, topup.units).ok_or_else(|| {
                StoreError::OutOfRange(format!(
                    "top-up {id:?} would take the period's top-up units past {MAX_UNITS}"
                ))
            })?;
        }
        topup.status = target;
        topup.settled_at = Some(at);
        Ok(TopUpTransition::new(topup.clone(), true))
    }

    async fn topups(&self, brand: &str) -> StoreResult<Vec<UsageTopUp>> {
        self.recent_topups(brand, usize::MAX).await
    }

    async fn recent_topups(&self, brand: &str, limit: usize) -> StoreResult<Vec<UsageTopUp>> {
        let Some(brand) = self.existing_brand(brand) else {
            return Ok(Vec::new());
        };
        let data = lock(&brand);
        Ok(data.topups.iter().rev().take(limit).cloned().collect())
    }
}
