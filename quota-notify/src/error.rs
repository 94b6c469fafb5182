//! Errors: bad configuration, and the outcome of one failed delivery.

use std::fmt;

/// The notifier cannot be set up.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NotifyError {
    /// A setting is missing or malformed.
    #[error("invalid alert configuration: {0}")]
    Config(String),
    /// The listener or dispatcher was started outside a tokio runtime.
    #[error("no tokio runtime: start the alert listener and dispatcher from inside a runtime")]
    NoRuntime,
}

/// Whether a failed delivery is worth trying again.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FailureKind {
    /// The sink is down, slow, rate-limiting or answered 5xx: try again later.
    Retryable,
    /// The sink refused the message for good (4xx, bad address, unreadable payload): retrying
    /// cannot help, so the message goes to the dead letters at once.
    Permanent,
}

/// One delivery attempt failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub struct DeliveryError {
    /// Retry or give up.
    pub kind: FailureKind,
    /// What happened, for the logs and the outbox's `last_error`.
    pub message: String,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn retryable(message: impl Into<String>) -> Self {
        DeliveryError {
            kind: FailureKind::Retryable,
            message: message.into(),
        }
    }

    /// A failure retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        DeliveryError {
            kind: FailureKind::Permanent,
            message: message.into(),
        }
    }

    /// Whether retrying may help.
    pub fn is_retryable(&self) -> bool {
        self.kind == FailureKind::Retryable
    }

    /// Classifies an HTTP status: 408, 425, 429 and 5xx are retryable, other 4xx permanent.
    pub fn from_http_status(sink: &str, status: u16, body: &str) -> Self {
        let body: String = body.chars().take(200).collect();
        let message = format!("{sink} answered HTTP {status}: {body}");
        if matches!(status, 408 | 425 | 429) || status >= 500 {
            DeliveryError::retryable(message)
        } else {
            DeliveryError::permanent(message)
        }
    }
}

impl fmt::Display for DeliveryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            FailureKind::Retryable => "retryable",
            FailureKind::Permanent => "permanent",
        };
        write!(f, "{kind} delivery failure: {}", self.message)
    }
}
