//! The pages' sign-in session: what the `quota_admin` cookie holds. Not the admin JWT pasted
//! into `/login` (good for up to 24 h, and usable on the API) but a session token of its own:
//! an HS256 token signed with a key derived from the admin secret under another label, so it
//! is refused as an API bearer token and an admin JWT is refused as a cookie. It lives
//! [`SESSION_TTL_SECS`] at most, and never past the admin JWT it was opened with.
//!
//! `POST /logout` clears the cookie and revokes the session's id in this process until the
//! session expires, so a copy of the cookie replayed to the same instance is refused. Several
//! instances sharing the admin secret each keep their own revocations: another instance
//! accepts a logged-out session until it expires (at most [`SESSION_TTL_SECS`]), the price
//! of needing no shared session store. A stolen cookie is bounded by that lifetime either way,
//! and rotating `QUOTA_ADMIN_JWT_SECRET` ends every session at once.

use std::collections::HashMap;
use std::sync::Mutex;

use quota_share::jws::{self, JwsKey};
use serde::{Deserialize, Serialize};

use crate::auth::{Secrets, unix_now};

/// Longest lifetime of a sign-in session, seconds: a working day.
pub const SESSION_TTL_SECS: u64 = 8 * 3600;
/// Most revoked sessions remembered at once (expired ones are dropped first).
pub const MAX_REVOKED: usize = 10_000;
/// The `typ` claim of session tokens.
const SESSION_TYPE: &str = "quota-session";

/// Claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionClaims {
    /// Random session id (hex), what a logout revokes.
    pub sid: String,
    /// Always `quota-session`.
    pub typ: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
}

/// Why a session token is refused (logged, never shown: the pages answer with the login form).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum SessionError {
    /// Not a token signed with the session key (an admin JWT, another server's, forged).
    #[error("not a session token of this server")]
    Invalid,
    /// Past its expiry.
    #[error("the session expired")]
    Expired,
    /// Closed by `POST /logout`.
    #[error("the session was closed by a logout")]
    Revoked,
    /// No randomness for a session id.
    #[error("no randomness for a session id: {0}")]
    Random(String),
}

/// Issues, checks and revokes sessions; one per server process.
#[derive(Debug, Default)]
pub struct Sessions {
    /// Revoked session id -> its expiry (Unix seconds).
    revoked: Mutex<HashMap<String, u64>>,
}

impl Sessions {
    /// No session revoked.
    pub fn new() -> Self {
        Sessions::default()
    }

    /// A session token valid until `min(now + SESSION_TTL_SECS, not_after)`.
    pub fn open(&self, secrets: &Secrets, not_after: u64) -> Result<(String, u64), SessionError> {
        let mut id = [0u8; 16];
        getrandom::fill(&mut id).map_err(|e| SessionError::Random(e.to_string()))?;
        let now = unix_now();
        let exp = now.saturating_add(SESSION_TTL_SECS).min(not_after);
        let claims = SessionClaims {
            sid: hex::encode(id),
            typ: SESSION_TYPE.into(),
            iat: now,
            exp,
        };
        let token = jws::sign(&JwsKey::new(&secrets.session_key()), None, &claims);
        Ok((token, exp))
    }

    /// The claims of a live session token: signed with the session key, of the session type,
    /// not expired, not longer than [`SESSION_TTL_SECS`], not revoked.
    pub fn check(&self, secrets: &Secrets, token: &str) -> Result<SessionClaims, SessionError> {
        let key = JwsKey::new(&secrets.session_key());
        let claims: SessionClaims =
            jws::verify(token, |_| Some(&key)).map_err(|_| SessionError::Invalid)?;
        if claims.typ != SESSION_TYPE
            || claims.exp.saturating_sub(claims.iat) > SESSION_TTL_SECS
            || claims.sid.is_empty()
            || claims.sid.len() > 64
        {
            return Err(SessionError::Invalid);
        }
        if claims.exp <= unix_now() {
            return Err(SessionError::Expired);
        }
        let revoked = self
            .revoked
            .lock()
            .map_or(true, |r| r.contains_key(&claims.sid));
        if revoked {
            return Err(SessionError::Revoked);
        }
        Ok(claims)
    }

    /// Revokes a live session until it expires. Returns `false` when the list is full of
    /// sessions that have not expired yet ([`MAX_REVOKED`]): the session then ends at its
    /// expiry only.
    pub fn revoke(&self, claims: &SessionClaims) -> bool {
        let Ok(mut revoked) = self.revoked.lock() else {
            return false;
        };
        if revoked.len() >= MAX_REVOKED {
            let now = unix_now();
            revoked.retain(|_, exp| *exp > now);
        }
        if revoked.len() >= MAX_REVOKED && !revoked.contains_key(&claims.sid) {
            return false;
        }
        revoked.insert(claims.sid.clone(), claims.exp);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::from_config("0123456789abcdef0123456789abcdef", None)
            .unwrap_or_else(|_| unreachable!("valid secret"))
    }

    #[test]
    fn sessions_and_admin_tokens_do_not_stand_in_for_each_other() {
        let s = secrets();
        let sessions = Sessions::new();
        let far = unix_now() + 100_000;
        let (token, exp) = sessions.open(&s, far).unwrap_or_else(|_| unreachable!());
        assert!(
            exp <= unix_now() + SESSION_TTL_SECS,
            "capped at the session lifetime"
        );
        assert!(sessions.check(&s, &token).is_ok());
        assert!(s.verify_admin(&token).is_err(), "a session is no API token");
        let admin = s.admin_token(600).unwrap_or_default();
        assert_eq!(sessions.check(&s, &admin), Err(SessionError::Invalid));
        let other = Secrets::generate().unwrap_or_else(|_| unreachable!());
        assert_eq!(sessions.check(&other, &token), Err(SessionError::Invalid));
    }

    #[test]
    fn a_session_ends_with_its_admin_token_and_at_logout() {
        let s = secrets();
        let sessions = Sessions::new();
        let (short, exp) = sessions
            .open(&s, unix_now() + 60)
            .unwrap_or_else(|_| unreachable!());
        assert!(exp <= unix_now() + 60, "never past the admin token");
        let claims = sessions
            .check(&s, &short)
            .unwrap_or_else(|_| unreachable!());
        assert!(sessions.revoke(&claims));
        assert_eq!(sessions.check(&s, &short), Err(SessionError::Revoked));
        let (gone, _) = sessions
            .open(&s, unix_now().saturating_sub(1))
            .unwrap_or_else(|_| unreachable!());
        assert_eq!(sessions.check(&s, &gone), Err(SessionError::Expired));
    }
}
