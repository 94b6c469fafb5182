//! The simulated checkout: a local page (rendered by the server at
//! `/checkout/simulated/<session>`) whose buttons confirm or cancel the payment. Nobody pays:
//! a server offers it in development only. Sessions live in this process until their
//! checkout expires (then a confirm or cancel is refused and the session is pruned); at most
//! [`MAX_SESSIONS`] are kept, settled ones being dropped first past that.

use std::sync::Arc;

use async_trait::async_trait;
use dashmap::DashMap;
use dashmap::mapref::entry::Entry;
use quota_core::{Clock, SystemClock};

use crate::provider::{CheckoutRequest, CheckoutSession, PaymentError, PaymentProvider, random_id};

/// Path prefix of the simulated checkout page.
pub const SIMULATED_CHECKOUT_PATH: &str = "/checkout/simulated/";

/// Sessions kept before settled ones are dropped (their replays then answer "unknown").
pub const MAX_SESSIONS: usize = 100_000;

/// Where a simulated session stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SimulatedState {
    /// Waiting for the buyer.
    Open,
    /// Paid.
    Confirmed,
    /// Given up.
    Cancelled,
}

/// A simulated session, for rendering its page.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatedSession {
    /// The session id.
    pub session_id: String,
    /// What was asked.
    pub request: CheckoutRequest,
    /// Where it stands.
    pub state: SimulatedState,
}

/// Where to send the buyer after a confirm or cancel, and which top-up to settle.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SimulatedRedirect {
    /// `successUrl` after a confirm, `cancelUrl` after a cancel.
    pub redirect_url: String,
    /// The top-up to complete (confirm) or fail (cancel).
    pub topup_id: String,
    /// The state reached.
    pub state: SimulatedState,
    /// True when the session already was in that state (a double click or a reload).
    pub replayed: bool,
}

/// A simulated confirm or cancel is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SimulatedError {
    /// No such session.
    #[error("unknown checkout session {0:?}")]
    UnknownSession(String),
    /// The checkout expired before it was paid or cancelled.
    #[error("checkout session {0:?} has expired")]
    Expired(String),
    /// Confirming a cancelled session or cancelling a confirmed one.
    #[error("checkout session {session:?} is already {state:?}")]
    AlreadySettled {
        /// The session.
        session: String,
        /// Its state.
        state: SimulatedState,
    },
}

/// A [`PaymentProvider`] that keeps sessions in memory and pays on a button press.
#[derive(Debug)]
pub struct SimulatedProvider {
    base_url: String,
    sessions: DashMap<String, SimulatedSession>,
    clock: Arc<dyn Clock>,
}

impl Default for SimulatedProvider {
    fn default() -> Self {
        SimulatedProvider {
            base_url: String::new(),
            sessions: DashMap::new(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl SimulatedProvider {
    /// Checkout URLs are relative (`/checkout/simulated/<session>`), time from the system
    /// clock.
    pub fn new() -> Self {
        Self::default()
    }

    /// Checkout URLs are `base_url` + `/checkout/simulated/<session>` (e.g. the server's own
    /// public URL).
    pub fn with_base_url(base_url: &str) -> Self {
        SimulatedProvider {
            base_url: base_url.trim_end_matches('/').to_owned(),
            ..Self::default()
        }
    }

    /// Reads time (expiry) from `clock`, the guard's.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// A session, to render its page.
    pub fn session(&self, session_id: &str) -> Option<SimulatedSession> {
        self.sessions.get(session_id).map(|s| s.clone())
    }

    /// Whether a session's checkout has expired.
    pub fn is_expired(&self, session: &SimulatedSession) -> bool {
        session
            .request
            .expires_at
            .is_some_and(|at| at <= self.clock.now())
    }

    /// Sessions held.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is held.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Drops expired sessions and, past [`MAX_SESSIONS`], settled ones.
    fn prune(&self) {
        let now = self.clock.now();
        self.sessions
            .retain(|_, s| s.request.expires_at.is_none_or(|at| at > now));
        if self.sessions.len() >= MAX_SESSIONS {
            self.sessions.retain(|_, s| s.state == SimulatedState::Open);
        }
    }

    /// The buyer paid: returns `successUrl` and the top-up to complete. Idempotent.
    pub fn confirm(&self, session_id: &str) -> Result<SimulatedRedirect, SimulatedError> {
        self.settle(session_id, SimulatedState::Confirmed)
    }

    /// The buyer gave up: returns `cancelUrl` and the top-up to fail. Idempotent.
    pub fn cancel(&self, session_id: &str) -> Result<SimulatedRedirect, SimulatedError> {
        self.settle(session_id, SimulatedState::Cancelled)
    }

    fn settle(
        &self,
        session_id: &str,
        to: SimulatedState,
    ) -> Result<SimulatedRedirect, SimulatedError> {
        let Entry::Occupied(mut entry) = self.sessions.entry(session_id.to_owned()) else {
            return Err(SimulatedError::UnknownSession(
                session_id.chars().take(80).collect(),
            ));
        };
        let session = entry.get_mut();
        if session.state == SimulatedState::Open
            && session
                .request
                .expires_at
                .is_some_and(|at| at <= self.clock.now())
        {
            return Err(SimulatedError::Expired(session_id.to_owned()));
        }
        let replayed = session.state == to;
        if session.state != SimulatedState::Open && !replayed {
            return Err(SimulatedError::AlreadySettled {
                session: session_id.to_owned(),
                state: session.state,
            });
        }
        session.state = to;
        let redirect_url = if to == SimulatedState::Confirmed {
            session.request.success_url.clone()
        } else {
            session.request.cancel_url.clone()
        };
        Ok(SimulatedRedirect {
            redirect_url,
            topup_id: session.request.topup_id.clone(),
            state: to,
            replayed,
        })
    }
}

#[async_trait]
impl PaymentProvider for SimulatedProvider {
    fn name(&self) -> &'static str {
        "simulated"
    }

    async fn create_checkout(
        &self,
        request: &CheckoutRequest,
    ) -> Result<CheckoutSession, PaymentError> {
        self.prune();
        let session_id = random_id("sim_")?;
        let checkout_url = format!("{}{SIMULATED_CHECKOUT_PATH}{session_id}", self.base_url);
        self.sessions.insert(
            session_id.clone(),
            SimulatedSession {
                session_id: session_id.clone(),
                request: request.clone(),
                state: SimulatedState::Open,
            },
        );
        Ok(CheckoutSession::new(session_id, checkout_url))
    }
}
