//! Open checkouts per brand: how many a brand may have at once, and how long one stays open.
//!
//! Every checkout starts a pending top-up that expires [`PendingCheckouts::ttl`] after it
//! started (or at its period's end): the store itself refuses to complete it later, on
//! every backend, so expiry does not depend on this process. The cap, on the other hand, is
//! an admission limit of this process (like the burst limiter): a slot is taken before the
//! top-up is stored (concurrent requests cannot pass the cap together) and given back when
//! the checkout settles here (simulated page, webhook), when it fails, or when it expires.
//! Several server instances each apply it, so a brand may hold up to `instances x cap` open
//! checkouts; after a restart the expiry bounds what was open before.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

/// Default open checkouts per brand.
pub const DEFAULT_MAX_PENDING_PER_BRAND: usize = 20;
/// Highest accepted cap.
pub const MAX_PENDING_PER_BRAND: usize = 1_000_000;
/// Default lifetime of a checkout.
pub const DEFAULT_CHECKOUT_TTL: Duration = Duration::from_secs(3600);
/// Shortest lifetime: Stripe Checkout sessions live 30 minutes at least.
pub const MIN_CHECKOUT_TTL: Duration = Duration::from_secs(30 * 60);
/// Longest lifetime: Stripe Checkout sessions live 24 hours at most.
pub const MAX_CHECKOUT_TTL: Duration = Duration::from_secs(24 * 3600);

/// Every how many reservations every brand is pruned (not only the one asking).
const SWEEP_EVERY: u64 = 256;

#[derive(Debug)]
struct Slot {
    id: u64,
    topup: Option<String>,
    expires_at: DateTime<Utc>,
}

/// A slot taken by [`PendingCheckouts::reserve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation(u64);

/// The brand already has the cap of checkouts open here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CapReached {
    /// The cap.
    pub max: usize,
}

/// The open checkouts of each brand, in this process.
#[derive(Debug)]
pub struct PendingCheckouts {
    max_per_brand: usize,
    ttl: Duration,
    brands: Mutex<HashMap<String, Vec<Slot>>>,
    next: AtomicU64,
}

impl Default for PendingCheckouts {
    fn default() -> Self {
        PendingCheckouts {
            max_per_brand: DEFAULT_MAX_PENDING_PER_BRAND,
            ttl: DEFAULT_CHECKOUT_TTL,
            brands: Mutex::new(HashMap::new()),
            next: AtomicU64::new(0),
        }
    }
}

impl PendingCheckouts {
    /// At most `max_per_brand` (1 to [`MAX_PENDING_PER_BRAND`]) open checkouts per brand,
    /// each open `ttl` ([`MIN_CHECKOUT_TTL`] to [`MAX_CHECKOUT_TTL`]); the reason otherwise.
    pub fn new(max_per_brand: usize, ttl: Duration) -> Result<Self, String> {
        if max_per_brand == 0 || max_per_brand > MAX_PENDING_PER_BRAND {
            return Err(format!(
                "open checkouts per brand must be within 1..={MAX_PENDING_PER_BRAND}, got {max_per_brand}"
            ));
        }
        if ttl < MIN_CHECKOUT_TTL || ttl > MAX_CHECKOUT_TTL {
            return Err(format!(
                "a checkout's lifetime must be within {}..={} s, got {} s",
                MIN_CHECKOUT_TTL.as_secs(),
                MAX_CHECKOUT_TTL.as_secs(),
                ttl.as_secs()
            ));
        }
        Ok(PendingCheckouts {
            max_per_brand,
            ttl,
            ..PendingCheckouts::default()
        })
    }

    /// How long a checkout stays open.
    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// [`PendingCheckouts::ttl`] as a chrono duration.
    pub fn ttl_chrono(&self) -> chrono::Duration {
        chrono::Duration::from_std(self.ttl).unwrap_or(chrono::Duration::MAX)
    }

    /// The cap per brand.
    pub fn max_per_brand(&self) -> usize {
        self.max_per_brand
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Vec<Slot>>> {
        self.brands
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes a slot for a checkout of `brand` at `now`, open until `now + ttl`; refused
    /// when the brand already has the cap open.
    pub fn reserve(&self, brand: &str, now: DateTime<Utc>) -> Result<Reservation, CapReached> {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        let expires_at = now
            .checked_add_signed(self.ttl_chrono())
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let mut brands = self.lock();
        if id % SWEEP_EVERY == SWEEP_EVERY - 1 {
            brands.retain(|_, slots| {
                slots.retain(|s| s.expires_at > now);
                !slots.is_empty()
            });
        }
        let slots = brands.entry(brand.to_owned()).or_default();
        slots.retain(|s| s.expires_at > now);
        if slots.len() >= self.max_per_brand {
            return Err(CapReached {
                max: self.max_per_brand,
            });
        }
        slots.push(Slot {
            id,
            topup: None,
            expires_at,
        });
        Ok(Reservation(id))
    }

    /// The slot now holds `topup`, open until `expires_at`.
    pub fn attach(&self, brand: &str, slot: Reservation, topup: &str, expires_at: DateTime<Utc>) {
        if let Some(s) = self
            .lock()
            .get_mut(brand)
            .and_then(|slots| slots.iter_mut().find(|s| s.id == slot.0))
        {
            s.topup = Some(topup.to_owned());
            s.expires_at = expires_at.min(s.expires_at);
        }
    }

    /// Gives a slot back (the checkout could not start).
    pub fn release(&self, brand: &str, slot: Reservation) {
        self.remove(brand, |s| s.id == slot.0);
    }

    /// The checkout of `topup` settled (paid, failed or cancelled): its slot is free.
    pub fn settled(&self, brand: &str, topup: &str) {
        self.remove(brand, |s| s.topup.as_deref() == Some(topup));
    }

    fn remove(&self, brand: &str, which: impl Fn(&Slot) -> bool) {
        let mut brands = self.lock();
        if let Some(slots) = brands.get_mut(brand) {
            slots.retain(|s| !which(s));
            if slots.is_empty() {
                brands.remove(brand);
            }
        }
    }

    /// Checkouts of `brand` open at `now`.
    pub fn open(&self, brand: &str, now: DateTime<Utc>) -> usize {
        self.lock().get(brand).map_or(0, |slots| {
            slots.iter().filter(|s| s.expires_at > now).count()
        })
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
    }

    #[test]
    fn the_cap_holds_until_a_checkout_settles_or_expires() {
        let p = PendingCheckouts::new(2, MIN_CHECKOUT_TTL).unwrap();
        let a = p.reserve("b", t0()).unwrap();
        p.attach("b", a, "tu_a", t0() + chrono::Duration::hours(1));
        let b = p.reserve("b", t0()).unwrap();
        assert_eq!(p.reserve("b", t0()), Err(CapReached { max: 2 }));
        assert!(p.reserve("other", t0()).is_ok(), "per brand");
        p.release("b", b);
        let c = p.reserve("b", t0()).unwrap();
        p.attach("b", c, "tu_c", t0() + chrono::Duration::hours(1));
        assert!(p.reserve("b", t0()).is_err());
        p.settled("b", "tu_a");
        assert_eq!(p.open("b", t0()), 1);
        p.reserve("b", t0()).unwrap();
        assert!(p.reserve("b", t0()).is_err());
        // At the TTL (30 min, shorter than the top-up's hour) every slot is free again.
        let later = t0() + chrono::Duration::minutes(30);
        assert_eq!(p.open("b", later), 0);
        assert!(p.reserve("b", later).is_ok());
    }

    #[test]
    fn settings_are_bounded() {
        assert!(PendingCheckouts::new(0, DEFAULT_CHECKOUT_TTL).is_err());
        assert!(PendingCheckouts::new(MAX_PENDING_PER_BRAND + 1, DEFAULT_CHECKOUT_TTL).is_err());
        assert!(PendingCheckouts::new(20, Duration::from_secs(60)).is_err());
        assert!(PendingCheckouts::new(20, MAX_CHECKOUT_TTL + Duration::from_secs(1)).is_err());
        assert!(PendingCheckouts::new(20, MAX_CHECKOUT_TTL).is_ok());
    }

    #[test]
    fn a_sweep_drops_the_expired_slots_of_every_brand() {
        let p = PendingCheckouts::new(5, MIN_CHECKOUT_TTL).unwrap();
        for i in 0..100 {
            p.reserve(&format!("b{i}"), t0()).unwrap();
        }
        let later = t0() + chrono::Duration::hours(1);
        for _ in 0..SWEEP_EVERY {
            let r = p.reserve("x", later).unwrap();
            p.release("x", r);
        }
        assert!(p.lock().len() <= 1, "{}", p.lock().len());
    }
}
