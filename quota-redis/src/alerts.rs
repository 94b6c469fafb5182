//! Alert claims (exactly once per threshold across instances) and the timeline
//! (`AlertStore`).

use async_trait::async_trait;
use chrono::SubsecRound;
use quota_core::AlertStore;
use quota_core::report::TimelineEvent;
use quota_core::store::{CounterKey, StoreResult};

use crate::keys::check_brand;
use crate::store::{RedisStore, corrupt, parse_json, to_json};

/// The timeline member of an event: the zero-padded sequence number, `:`, the JSON.
fn parse_event(member: &str) -> StoreResult<TimelineEvent> {
    let (seq, json) = member
        .split_once(':')
        .ok_or_else(|| corrupt(format!("timeline member {member:?} has no sequence number")))?;
    let seq: u64 = seq
        .parse()
        .map_err(|_| corrupt(format!("timeline sequence {seq:?} is not a number")))?;
    Ok(parse_json::<TimelineEvent>(json, "timeline event")?.with_seq(seq))
}

/// An event as the timeline keeps it: its time to the microsecond (the precision of its
/// score), without a sequence number (the member carries it). Returns the score and JSON.
pub(crate) fn stored_event(event: &TimelineEvent) -> StoreResult<(i64, String)> {
    let mut stored = event.clone();
    stored.at = event.at.trunc_subsecs(6);
    stored.seq = 0;
    Ok((
        stored.at.timestamp_micros(),
        to_json(&stored, "timeline event")?,
    ))
}

#[async_trait]
impl AlertStore for RedisStore {
    async fn claim_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        check_brand(key.brand)?;
        let keys = &self.inner.keys;
        let [claimed] = self
            .script_ints::<1>(
                "claim alert",
                &self.inner.scripts.claim_alert,
                &[&keys.claims(key), &keys.metrics(key.brand, key.period)],
                &[
                    &threshold.to_string(),
                    &self.period_expire_at(key.period).to_string(),
                    key.metric,
                ],
            )
            .await?;
        Ok(claimed == 1)
    }

    async fn release_alert(&self, key: CounterKey<'_>, threshold: u16) -> StoreResult<bool> {
        check_brand(key.brand)?;
        let removed: i64 = self
            .query(
                "release alert",
                redis::cmd("SREM")
                    .arg(self.inner.keys.claims(key))
                    .arg(threshold),
            )
            .await?;
        Ok(removed == 1)
    }

    async fn claimed_alerts(&self, key: CounterKey<'_>) -> StoreResult<Vec<u16>> {
        check_brand(key.brand)?;
        let members: Vec<String> = self
            .query(
                "claimed alerts",
                redis::cmd("SMEMBERS").arg(self.inner.keys.claims(key)),
            )
            .await?;
        let mut out = members
            .iter()
            .map(|m| {
                m.parse::<u16>()
                    .map_err(|_| corrupt(format!("alert claim {m:?} is not a threshold")))
            })
            .collect::<StoreResult<Vec<u16>>>()?;
        out.sort_unstable();
        Ok(out)
    }

    async fn append_event(&self, event: &TimelineEvent) -> StoreResult<u64> {
        check_brand(&event.brand)?;
        let (score, json) = stored_event(event)?;
        let keys = &self.inner.keys;
        let [seq] = self
            .script_ints::<1>(
                "append event",
                &self.inner.scripts.append_event,
                &[
                    &keys.timeline(&event.brand),
                    &keys.timeline_seq(&event.brand),
                ],
                &[&score.to_string(), &json],
            )
            .await?;
        u64::try_from(seq).map_err(|_| corrupt(format!("timeline sequence {seq}")))
    }

    async fn events(&self, brand: &str, limit: usize) -> StoreResult<Vec<TimelineEvent>> {
        check_brand(brand)?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        // Newest first: by score (time) descending, and members of one score (zero-padded
        // sequence numbers first) descending.
        let stop = i64::try_from(limit).map_or(-1, |l| l.saturating_sub(1));
        let raw: Vec<String> = self
            .query(
                "events",
                redis::cmd("ZREVRANGE")
                    .arg(self.inner.keys.timeline(brand))
                    .arg(0)
                    .arg(stop),
            )
            .await?;
        raw.iter().map(|m| parse_event(m)).collect()
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use quota_core::StoreError;
    use quota_core::period::PeriodKey;
    use quota_core::report::EventKind;
    use quota_core::threshold::Severity;

    use super::*;

    #[test]
    fn a_stored_event_keeps_microseconds_and_reads_back_with_its_sequence() {
        let at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
            + chrono::Duration::nanoseconds(123_456_789);
        let event = TimelineEvent::new(
            "b",
            at,
            PeriodKey(20261101),
            None,
            Severity::Info,
            EventKind::PeriodReset {
                reason: "r".into(),
                level: None,
            },
        )
        .with_seq(77);
        let (score, json) = stored_event(&event).unwrap();
        assert_eq!(score, at.timestamp_micros());
        let back = parse_event(&format!("{:020}:{json}", 12)).unwrap();
        let mut want = event.with_seq(12);
        want.at = Utc.with_ymd_and_hms(2026, 11, 25, 12, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456);
        assert_eq!(back, want);
        for bad in ["", "12", "x:{}", "12:{"] {
            let e = parse_event(bad).unwrap_err();
            assert!(matches!(e, StoreError::Corrupt(_)), "{bad:?}: {e}");
        }
    }
}
