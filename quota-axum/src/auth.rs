//! Authentication: admin JWTs (HS256, fixed algorithm list, `exp` checked) for the
//! `/usage-billing/*` routes, and per-brand public API keys for public calls.
//!
//! Public API keys are stateless: `pk_<brandId>_<mac>` where `mac` is a truncated
//! HMAC-SHA256 of the brand id under the key secret. Any server instance that shares the
//! secret verifies them, whatever the store, and a key names exactly one brand.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::FromRequestParts;
use hmac::{Hmac, Mac};
use http::request::Parts;
use http::{HeaderMap, header};
use quota_share::jws::{self, JwsKey};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::problem::Problem;
use crate::state::AppState;

type HmacSha256 = Hmac<Sha256>;

/// Role claim of admin tokens.
pub const ADMIN_ROLE: &str = "admin";
/// Issuer claim of tokens minted here.
pub const ISSUER: &str = "quota";
/// Prefix of public API keys.
pub const PUBLIC_KEY_PREFIX: &str = "pk_";
const MAC_BYTES: usize = 16;
/// Longest lifetime of an admin token (`exp - iat`), seconds: a leaked token is good for a
/// day at most.
pub const MAX_ADMIN_TOKEN_SECS: u64 = 24 * 3600;
/// Clock skew tolerated on an admin token's `iat` and `exp`, seconds.
const EXP_LEEWAY_SECS: u64 = 30;
const KEY_LABEL: &[u8] = b"quota-public-api-key:v1:";

/// The secrets of a server.
#[derive(Clone)]
pub struct Secrets {
    admin: Vec<u8>,
    api_keys: Vec<u8>,
    generated: bool,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("generated", &self.generated)
            .finish_non_exhaustive()
    }
}

/// Errors of the auth module.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The secret is too short to be safe.
    #[error("{0} must be at least 32 bytes long")]
    WeakSecret(&'static str),
    /// The random source failed.
    #[error("cannot generate a secret: {0}")]
    Random(String),
    /// An admin token was asked for longer than the longest lifetime.
    #[error("an admin token lives at most {max} s; {asked} s asked")]
    LifetimeTooLong {
        /// The lifetime asked, seconds.
        asked: u64,
        /// The longest, seconds.
        max: u64,
    },
}

impl Secrets {
    /// Secrets from configuration: `admin` is `QUOTA_ADMIN_JWT_SECRET`; `api_keys`
    /// (`QUOTA_API_KEY_SECRET`) defaults to a key derived from the admin secret.
    pub fn from_config(admin: &str, api_keys: Option<&str>) -> Result<Self, AuthError> {
        if admin.len() < 32 {
            return Err(AuthError::WeakSecret("QUOTA_ADMIN_JWT_SECRET"));
        }
        let api_keys = match api_keys {
            Some(k) if k.len() < 32 => return Err(AuthError::WeakSecret("QUOTA_API_KEY_SECRET")),
            Some(k) => k.as_bytes().to_vec(),
            None => derive(admin.as_bytes(), b"quota-api-key-secret:v1"),
        };
        Ok(Secrets {
            admin: admin.as_bytes().to_vec(),
            api_keys,
            generated: false,
        })
    }

    /// Fresh random secrets (dev mode: nothing configured).
    pub fn generate() -> Result<Self, AuthError> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).map_err(|e| AuthError::Random(e.to_string()))?;
        let admin = hex::encode(bytes);
        let mut s = Secrets::from_config(&admin, None)?;
        s.generated = true;
        Ok(s)
    }

    /// Whether the secrets were generated for this run (dev mode).
    pub fn generated(&self) -> bool {
        self.generated
    }

    /// Signs an admin JWT valid for `ttl_secs`, at most [`MAX_ADMIN_TOKEN_SECS`]
    /// ([`AuthError::LifetimeTooLong`] past it).
    pub fn admin_token(&self, ttl_secs: u64) -> Result<String, AuthError> {
        if ttl_secs > MAX_ADMIN_TOKEN_SECS {
            return Err(AuthError::LifetimeTooLong {
                asked: ttl_secs,
                max: MAX_ADMIN_TOKEN_SECS,
            });
        }
        self.admin_token_expiring(unix_now().saturating_add(ttl_secs))
    }

    /// Signs an admin JWT that expires at `exp` (Unix seconds).
    pub fn admin_token_expiring(&self, exp: u64) -> Result<String, AuthError> {
        let claims = AdminClaims {
            sub: "quota-admin".into(),
            role: ADMIN_ROLE.into(),
            iss: ISSUER.into(),
            iat: unix_now().min(exp),
            exp,
        };
        Ok(jws::sign(&JwsKey::new(&self.admin), None, &claims))
    }

    /// Verifies an admin JWT: HS256 only ([`quota_share::jws`]), signature, `exp` (30 s of
    /// leeway for clock skew), issuer and role.
    pub fn verify_admin(&self, token: &str) -> Result<AdminClaims, String> {
        let key = JwsKey::new(&self.admin);
        let claims: AdminClaims =
            jws::verify(token, |_| Some(&key)).map_err(|e| format!("invalid admin token: {e}"))?;
        if claims.exp.saturating_add(EXP_LEEWAY_SECS) <= unix_now() {
            return Err("invalid admin token: expired".into());
        }
        let now = unix_now();
        if claims.iat > now.saturating_add(EXP_LEEWAY_SECS) {
            return Err("invalid admin token: issued in the future".into());
        }
        if claims.exp.saturating_sub(claims.iat) > MAX_ADMIN_TOKEN_SECS {
            return Err(format!(
                "invalid admin token: valid for more than {} h",
                MAX_ADMIN_TOKEN_SECS / 3600
            ));
        }
        if claims.iss != ISSUER {
            return Err(format!(
                "invalid admin token: issuer {:?} is not {ISSUER:?}",
                claims.iss
            ));
        }
        if claims.role != ADMIN_ROLE {
            return Err(format!(
                "token role {:?} is not {ADMIN_ROLE:?}",
                claims.role
            ));
        }
        Ok(claims)
    }

    /// The key of the pages' session tokens ([`crate::session`]): derived from the admin
    /// secret under a label of its own, so a session token is no admin JWT and back.
    pub(crate) fn session_key(&self) -> Vec<u8> {
        derive(&self.admin, b"quota-session-key:v1")
    }

    /// The public API key of `brand`.
    pub fn public_key(&self, brand: &str) -> String {
        let mac = self.mac(brand).finalize().into_bytes();
        let short = mac.get(..MAC_BYTES).unwrap_or(&mac);
        format!("{PUBLIC_KEY_PREFIX}{brand}_{}", hex::encode(short))
    }

    /// The brand a public API key belongs to, if the key is genuine.
    pub fn verify_public_key(&self, key: &str) -> Option<String> {
        let rest = key.strip_prefix(PUBLIC_KEY_PREFIX)?;
        let (brand, mac_hex) = rest.rsplit_once('_')?;
        quota_core::ids::validate_brand_id(brand).ok()?;
        let mac = hex::decode(mac_hex).ok()?;
        if mac.len() != MAC_BYTES {
            return None;
        }
        self.mac(brand)
            .verify_truncated_left(&mac)
            .ok()
            .map(|()| brand.to_owned())
    }

    fn mac(&self, brand: &str) -> HmacSha256 {
        let mut mac = keyed(&self.api_keys);
        mac.update(KEY_LABEL);
        mac.update(brand.as_bytes());
        mac
    }
}

/// Claims of an admin JWT.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct AdminClaims {
    /// Subject.
    pub sub: String,
    /// Must be `admin`.
    pub role: String,
    /// Issuer (`quota`).
    pub iss: String,
    /// Issued at (Unix seconds).
    pub iat: u64,
    /// Expiry (Unix seconds).
    pub exp: u64,
}

/// Who is calling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An admin (JWT).
    Admin,
    /// A brand, through its public API key.
    Brand(String),
}

impl Caller {
    /// Refuses a brand key that tries to read or write another brand (403).
    pub fn may_access(&self, brand: &str) -> Result<(), Problem> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Brand(own) if own == brand => Ok(()),
            Caller::Brand(own) => Err(Problem::forbidden(format!(
                "the API key of brand {own:?} cannot access brand {brand:?}"
            ))
            .with("brandId", brand)),
        }
    }

    /// Refuses anything but an admin (403).
    pub fn require_admin(&self) -> Result<(), Problem> {
        match self {
            Caller::Admin => Ok(()),
            Caller::Brand(_) => Err(Problem::forbidden(
                "this route needs an admin token; public API keys cannot use it",
            )),
        }
    }
}

/// The detail of every 401 for credentials that were sent but do not verify: the same for a
/// bad signature, an expiry, a foreign issuer or a forged key, so the answer teaches an
/// attacker nothing (the reason is logged at debug level).
pub const BAD_CREDENTIALS: &str =
    "the credentials are invalid or expired: send a valid admin JWT or public API key";
/// The detail of the 401 for a request without credentials.
pub const NO_CREDENTIALS: &str =
    "send an admin JWT (`Authorization: Bearer <jwt>`) or a public API key (`X-Api-Key`)";

fn refused(reason: &str) -> Problem {
    tracing::debug!(reason, "credentials refused");
    Problem::unauthorized(BAD_CREDENTIALS)
}

/// Reads the credentials of a request: `Authorization: Bearer <jwt | pk_...>` or `X-Api-Key`.
/// Every refusal is a 401 with [`BAD_CREDENTIALS`] (or [`NO_CREDENTIALS`]).
pub fn authenticate(secrets: &Secrets, headers: &HeaderMap) -> Result<Caller, Problem> {
    let bearer = match headers.get(header::AUTHORIZATION) {
        None => None,
        Some(v) => {
            let v = v
                .to_str()
                .map_err(|_| refused("the Authorization header is not ASCII"))?;
            let token = v
                .strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
                .ok_or_else(|| refused("the Authorization header is not `Bearer <token>`"))?;
            Some(token.trim())
        }
    };
    let api_key = match headers.get("x-api-key") {
        None => None,
        Some(v) => Some(
            v.to_str()
                .map_err(|_| refused("the X-Api-Key header is not ASCII"))?
                .trim(),
        ),
    };
    match (bearer, api_key) {
        (Some(t), _) if !t.starts_with(PUBLIC_KEY_PREFIX) => secrets
            .verify_admin(t)
            .map(|_| Caller::Admin)
            .map_err(|e| refused(&e)),
        (Some(key), _) | (None, Some(key)) => secrets
            .verify_public_key(key)
            .map(Caller::Brand)
            .ok_or_else(|| refused("unknown or malformed public API key")),
        (None, None) => Err(Problem::unauthorized(NO_CREDENTIALS)),
    }
}

/// How the API tells who calls: the pluggable part of the routes' auth. [`Secrets`] (admin
/// JWT or a brand's public API key) is the default; an app with its own sessions or keys
/// implements this and puts it in [`AppState::auth`].
///
/// ```
/// use http::HeaderMap;
/// use quota_axum::Problem;
/// use quota_axum::auth::{Authenticator, Caller};
///
/// /// Trusts a header set by the app's own gateway.
/// #[derive(Debug)]
/// struct GatewayAuth;
///
/// impl Authenticator for GatewayAuth {
///     fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Problem> {
///         match headers.get("x-gateway-brand").and_then(|v| v.to_str().ok()) {
///             Some(brand) => Ok(Caller::Brand(brand.to_owned())),
///             None => Err(Problem::unauthorized("no gateway identity")),
///         }
///     }
/// }
/// ```
pub trait Authenticator: std::fmt::Debug + Send + Sync + 'static {
    /// The caller of a request with these headers, or the 401/403 problem to answer.
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Problem>;
}

impl Authenticator for Secrets {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Problem> {
        authenticate(self, headers)
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = Problem;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        state.auth.authenticate(&parts.headers)
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    match HmacSha256::new_from_slice(key) {
        Ok(m) => m,
        // HMAC takes keys of any length.
        Err(_) => unreachable!("HMAC accepts any key length"),
    }
}

fn derive(secret: &[u8], label: &[u8]) -> Vec<u8> {
    let mut mac = keyed(secret);
    mac.update(label);
    mac.finalize().into_bytes().to_vec()
}

/// Seconds since the Unix epoch on the system clock: what token and session lifetimes are
/// measured against (never the dev clock).
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> Secrets {
        Secrets::from_config("0123456789abcdef0123456789abcdef", None).unwrap_or_else(|_| {
            unreachable!("valid secret");
        })
    }

    #[test]
    fn public_keys_name_one_brand_and_resist_forgery() {
        let s = secrets();
        let k = s.public_key("brand_dashboard");
        assert_eq!(s.verify_public_key(&k).as_deref(), Some("brand_dashboard"));
        let forged = k.replace("brand_dashboard", "brand_other");
        assert_eq!(s.verify_public_key(&forged), None);
        assert_eq!(s.verify_public_key("pk_brand_zz"), None);
        let other = Secrets::generate().unwrap_or_else(|_| unreachable!());
        assert_eq!(other.verify_public_key(&k), None);
    }

    #[test]
    fn admin_tokens_verify_and_expire() {
        let s = secrets();
        let t = s.admin_token(60).unwrap_or_default();
        assert!(s.verify_admin(&t).is_ok());
        let other = Secrets::generate().unwrap_or_else(|_| unreachable!());
        assert!(other.verify_admin(&t).is_err());
        assert!(s.verify_admin("not.a.jwt").is_err());
    }

    #[test]
    fn admin_tokens_are_refused_when_expired_unsigned_or_foreign() {
        let s = secrets();
        let key = JwsKey::new(b"0123456789abcdef0123456789abcdef");
        let claims = |iss: &str, role: &str, exp: u64| AdminClaims {
            sub: "t".into(),
            role: role.into(),
            iss: iss.into(),
            iat: unix_now(),
            exp,
        };
        let later = unix_now() + 600;
        assert!(
            s.verify_admin(&jws::sign(&key, None, &claims(ISSUER, ADMIN_ROLE, later)))
                .is_ok()
        );
        let expired = jws::sign(&key, None, &claims(ISSUER, ADMIN_ROLE, unix_now() - 31));
        assert_eq!(
            s.verify_admin(&expired).unwrap_err(),
            "invalid admin token: expired"
        );
        let foreign = jws::sign(&key, None, &claims("someone", ADMIN_ROLE, later));
        assert!(s.verify_admin(&foreign).unwrap_err().contains("issuer"));
        let brandish = jws::sign(&key, None, &claims(ISSUER, "brand", later));
        assert!(s.verify_admin(&brandish).unwrap_err().contains("role"));
        // `alg: none` with the same claims and no signature.
        let t = jws::sign(&key, None, &claims(ISSUER, ADMIN_ROLE, later));
        let claims_part = t.split('.').nth(1).unwrap_or_default();
        let unsigned = format!("eyJhbGciOiJub25lIn0.{claims_part}.");
        assert!(s.verify_admin(&unsigned).unwrap_err().contains("unsigned"));
        // Longer than a day, or issued in the future.
        let mut long = claims(ISSUER, ADMIN_ROLE, later);
        long.iat = later - MAX_ADMIN_TOKEN_SECS - 1;
        let long = jws::sign(&key, None, &long);
        assert!(
            s.verify_admin(&long)
                .unwrap_err()
                .contains("more than 24 h")
        );
        let mut ahead = claims(ISSUER, ADMIN_ROLE, later);
        ahead.iat = unix_now() + 120;
        let ahead = jws::sign(&key, None, &ahead);
        assert!(s.verify_admin(&ahead).unwrap_err().contains("future"));
        assert!(matches!(
            s.admin_token(MAX_ADMIN_TOKEN_SECS + 1),
            Err(AuthError::LifetimeTooLong { .. })
        ));
        assert!(s.admin_token(MAX_ADMIN_TOKEN_SECS).is_ok());
    }
}
