//! The future `QuotaGuard::consume` returns.

use std::future::Future;

use crate::decision::Decision;
use crate::error::{QuotaError, Result};

/// The future of [`QuotaGuard::consume`](crate::QuotaGuard::consume): already complete when the decision was made
/// synchronously (cached brand, in-process store, nothing to announce), else boxed.
#[must_use = "futures do nothing unless awaited"]
pub struct ConsumeFuture<'a> {
    state: ConsumeState<'a>,
}

type BoxedDecision<'a> = std::pin::Pin<Box<dyn Future<Output = Result<Decision>> + Send + 'a>>;

enum ConsumeState<'a> {
    Ready(Result<Decision>),
    Boxed(BoxedDecision<'a>),
    Done,
}

impl<'a> ConsumeFuture<'a> {
    pub(crate) fn ready(result: Result<Decision>) -> Self {
        ConsumeFuture {
            state: ConsumeState::Ready(result),
        }
    }

    pub(crate) fn boxed(fut: impl Future<Output = Result<Decision>> + Send + 'a) -> Self {
        ConsumeFuture {
            state: ConsumeState::Boxed(Box::pin(fut)),
        }
    }

    /// The decision, if it was made without waiting (then polling is not needed).
    pub fn now_or_never(self) -> std::result::Result<Result<Decision>, Self> {
        match self.state {
            ConsumeState::Ready(result) => Ok(result),
            state => Err(ConsumeFuture { state }),
        }
    }
}

impl Future for ConsumeFuture<'_> {
    type Output = Result<Decision>;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Self::Output> {
        let state = &mut self.get_mut().state;
        if let ConsumeState::Boxed(fut) = state {
            return fut.as_mut().poll(cx);
        }
        match std::mem::replace(state, ConsumeState::Done) {
            ConsumeState::Ready(result) => std::task::Poll::Ready(result),
            _ => std::task::Poll::Ready(Err(QuotaError::InvalidArgument(
                "consume future polled after completion".into(),
            ))),
        }
    }
}

impl std::fmt::Debug for ConsumeFuture<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.state {
            ConsumeState::Ready(_) => "ready",
            ConsumeState::Boxed(_) => "pending",
            ConsumeState::Done => "done",
        };
        f.debug_struct("ConsumeFuture")
            .field("state", &state)
            .finish()
    }
}
