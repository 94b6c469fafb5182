//! Where a checkout may send the buyer back: only to the configured public origin.
//!
//! `successUrl` and `cancelUrl` come from the caller; the payment page redirects the buyer's
//! browser to them. An open redirect there would lend the site's name to any other host, so
//! a URL is accepted only when, parsed as a browser parses it (WHATWG URL, the `url`
//! crate), it lands on the origin of the configured public URL (scheme, host and port; the
//! default port may be written or not, case does not matter). A path (`/analytics?...`) is
//! resolved against that origin. Everything else is refused: another host, another scheme or
//! port, a scheme-relative `//host`, `/\host` (a backslash is a slash to a browser),
//! credentials (`https://public.example@evil.example` names the host `evil.example`; userinfo
//! on the right host is refused too), control characters, anything longer than
//! [`MAX_REDIRECT_LEN`]. An accepted URL is handed on absolute and normalized, built from the
//! configuration, never from the request's `Host`.

use url::Url;

/// Longest accepted `successUrl` / `cancelUrl`, bytes.
pub const MAX_REDIRECT_LEN: usize = 2048;

/// A redirect target is refused: why, for a 422 problem.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
#[non_exhaustive]
pub struct RedirectError {
    /// `successUrl` or `cancelUrl`.
    pub field: &'static str,
    /// Why.
    pub reason: String,
}

/// The origin redirects must stay on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedirectPolicy {
    base: Url,
}

impl RedirectPolicy {
    /// Redirects on the origin of `public_url` (an absolute `http(s)` URL without
    /// credentials); `Err` with the reason otherwise.
    pub fn new(public_url: &str) -> Result<Self, String> {
        let base = Url::parse(public_url)
            .map_err(|e| format!("public URL {public_url:?} is not an absolute URL: {e}"))?;
        if !matches!(base.scheme(), "http" | "https") || base.host_str().is_none() {
            return Err(format!("public URL {public_url:?} must be an http(s) URL"));
        }
        if !base.username().is_empty() || base.password().is_some() {
            return Err(format!(
                "public URL {public_url:?} must not carry credentials"
            ));
        }
        Ok(RedirectPolicy { base })
    }

    /// The public origin, `scheme://host[:port]` (ASCII).
    pub fn origin(&self) -> String {
        self.base.origin().ascii_serialization()
    }

    /// Checks `raw` (the value of `field`) and returns it absolute and normalized.
    pub fn resolve(&self, field: &'static str, raw: &str) -> Result<String, RedirectError> {
        let refuse = |reason: String| RedirectError { field, reason };
        let origin = self.origin();
        if raw.len() > MAX_REDIRECT_LEN {
            return Err(refuse(format!("is longer than {MAX_REDIRECT_LEN} bytes")));
        }
        // A URL parser drops tabs and newlines silently: refuse them before it does.
        if raw.chars().any(char::is_control) {
            return Err(refuse("holds a control character".into()));
        }
        let url = match Url::parse(raw) {
            Ok(url) => url,
            Err(url::ParseError::RelativeUrlWithoutBase) if raw.starts_with('/') => self
                .base
                .join(raw)
                .map_err(|e| refuse(format!("is not a valid path: {e}")))?,
            Err(_) => {
                return Err(refuse(format!(
                    "must be a path starting with / or an absolute URL on {origin}"
                )));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(refuse("must not carry credentials (user@host)".into()));
        }
        if url.origin() != self.base.origin() {
            let got = url.origin().ascii_serialization();
            return Err(refuse(format!(
                "must stay on {origin} (got {got}): redirects to another origin are refused"
            )));
        }
        Ok(url.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RedirectPolicy {
        RedirectPolicy::new("https://public.example").unwrap()
    }

    #[test]
    fn paths_and_urls_on_the_public_origin_are_accepted_absolute() {
        let p = policy();
        for (raw, want) in [
            (
                "/analytics?topup=success",
                "https://public.example/analytics?topup=success",
            ),
            ("https://public.example/x", "https://public.example/x"),
            ("HTTPS://PUBLIC.EXAMPLE/x", "https://public.example/x"),
            ("https://public.example:443/x", "https://public.example/x"),
            ("/a/../b", "https://public.example/b"),
        ] {
            assert_eq!(p.resolve("successUrl", raw).unwrap(), want, "{raw}");
        }
    }

    #[test]
    fn every_other_target_is_refused() {
        let p = policy();
        for raw in [
            "https://evil.example/x",
            "//evil.example",
            "//evil.example/analytics",
            "/\\evil.example",
            "/\\/evil.example",
            "\\\\evil.example",
            "http://public.example/x",
            "https://public.example:8443/x",
            "https://public.example@evil.example/x",
            "https://user:pw@public.example/x",
            "https://public.example.evil.example/x",
            "https://evil.example#https://public.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "analytics",
            "",
            "/x\n",
            "/\tx",
            "https://public.example/\u{7f}",
        ] {
            let e = p.resolve("cancelUrl", raw).unwrap_err();
            assert_eq!(e.field, "cancelUrl");
            assert!(!e.reason.is_empty(), "{raw}");
        }
        let long = format!("/{}", "a".repeat(MAX_REDIRECT_LEN));
        assert!(p.resolve("successUrl", &long).is_err());
    }

    #[test]
    fn the_public_url_must_be_http_without_credentials() {
        assert!(RedirectPolicy::new("ftp://x.example").is_err());
        assert!(RedirectPolicy::new("/relative").is_err());
        assert!(RedirectPolicy::new("https://u:p@x.example").is_err());
        assert_eq!(
            RedirectPolicy::new("http://127.0.0.1:3333/")
                .unwrap()
                .origin(),
            "http://127.0.0.1:3333"
        );
    }
}
