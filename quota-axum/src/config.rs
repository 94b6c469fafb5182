//! What the routes need to know about the deployment: the public URL every absolute link is
//! built from, the body limit, the brand the pages open on, the store's name, the token
//! that guards `/metrics`, and where "Talk to an expert" leads.

use sha2::{Digest, Sha256};

/// Default request body limit (bytes).
pub const DEFAULT_BODY_LIMIT: usize = 16 * 1024;

/// The deployment settings the routes read.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AppConfig {
    /// Base URL of the pages (`https://quota.example.com`): share, cockpit and reset links are
    /// built from it, never from the request.
    pub public_url: String,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    /// The brand the cockpit and the monitoring page open on when no `brandId` is given.
    pub default_brand: String,
    /// The store's name on `/healthz` and `/monitoring` (`memory`, `redis`, `postgres`).
    pub store_name: &'static str,
    /// The bearer token `/metrics` asks for; open to anyone when `None`.
    pub metrics_token: Option<MetricsToken>,
    /// Where the cockpit's "Talk to an expert" leads; the button is not shown when `None`.
    pub expert_url: Option<ExpertUrl>,
}

/// Longest accepted expert URL, bytes.
pub const MAX_EXPERT_URL: usize = 2048;

/// Where the cockpit's "Talk to an expert" button leads (`QUOTA_EXPERT_URL`): an `https://`
/// or `http://` page, or a `mailto:` address (the cockpit adds the brand as the subject when
/// the address has none).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpertUrl(url::Url);

impl ExpertUrl {
    /// Checks the URL: absolute, `https`, `http` or `mailto`, at most [`MAX_EXPERT_URL`]
    /// bytes.
    ///
    /// ```
    /// use quota_axum::config::ExpertUrl;
    /// assert!(ExpertUrl::new("mailto:experts@example.com").is_ok());
    /// assert!(ExpertUrl::new("https://example.com/contact").is_ok());
    /// assert!(ExpertUrl::new("javascript:alert(1)").is_err());
    /// ```
    pub fn new(raw: &str) -> Result<Self, String> {
        if raw.len() > MAX_EXPERT_URL {
            return Err(format!(
                "QUOTA_EXPERT_URL must be at most {MAX_EXPERT_URL} bytes"
            ));
        }
        let url = url::Url::parse(raw)
            .map_err(|e| format!("QUOTA_EXPERT_URL is not an absolute URL: {e}"))?;
        match url.scheme() {
            "https" | "http" if url.host().is_some() => Ok(ExpertUrl(url)),
            "mailto" if url.path().contains('@') => Ok(ExpertUrl(url)),
            _ => Err(
                "QUOTA_EXPERT_URL must be an https:// or http:// page or a mailto: address"
                    .to_owned(),
            ),
        }
    }

    /// The link for `brand`'s cockpit: the URL as configured, with the brand as the subject of
    /// a `mailto:` address that has none.
    pub fn link_for(&self, brand: &str) -> String {
        let mut url = self.0.clone();
        if url.scheme() == "mailto" && !url.query_pairs().any(|(k, _)| k == "subject") {
            url.query_pairs_mut()
                .append_pair("subject", &format!("Usage Quota Guardian — {brand}"));
        }
        url.into()
    }
}

/// The bearer token that guards `/metrics` (`QUOTA_METRICS_TOKEN`): 16 to 512 visible ASCII
/// characters. `Debug` never shows it; comparisons take the same time whatever matches.
#[derive(Clone, PartialEq, Eq)]
pub struct MetricsToken([u8; 32]);

impl std::fmt::Debug for MetricsToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsToken(<redacted>)")
    }
}

/// Shortest accepted `/metrics` token, characters.
pub const MIN_METRICS_TOKEN: usize = 16;
/// Longest accepted `/metrics` token, characters.
pub const MAX_METRICS_TOKEN: usize = 512;

impl MetricsToken {
    /// Checks the token's shape (what `QUOTA_METRICS_TOKEN` must hold).
    pub fn new(token: &str) -> Result<Self, String> {
        if !(MIN_METRICS_TOKEN..=MAX_METRICS_TOKEN).contains(&token.len())
            || !token.bytes().all(|b| b.is_ascii_graphic())
        {
            return Err(format!(
                "QUOTA_METRICS_TOKEN must be {MIN_METRICS_TOKEN} to {MAX_METRICS_TOKEN} visible ASCII characters (no space)"
            ));
        }
        Ok(MetricsToken(Sha256::digest(token.as_bytes()).into()))
    }

    /// Whether `presented` is the token (compared as SHA-256 digests, in constant time).
    pub fn matches(&self, presented: &str) -> bool {
        let digest: [u8; 32] = Sha256::digest(presented.as_bytes()).into();
        digest
            .iter()
            .zip(self.0.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
    }
}

impl AppConfig {
    /// Settings with `public_url` and the defaults: a 16 KiB body limit, pages opening on
    /// `brand_dashboard`, store named `memory`.
    pub fn new(public_url: impl Into<String>) -> Self {
        AppConfig {
            public_url: public_url.into(),
            body_limit: DEFAULT_BODY_LIMIT,
            default_brand: "brand_dashboard".into(),
            store_name: "memory",
            metrics_token: None,
            expert_url: None,
        }
    }

    /// Shows "Talk to an expert", leading to `url`.
    #[must_use]
    pub fn expert_url(mut self, url: ExpertUrl) -> Self {
        self.expert_url = Some(url);
        self
    }

    /// Guards `/metrics` with a bearer token.
    #[must_use]
    pub fn metrics_token(mut self, token: MetricsToken) -> Self {
        self.metrics_token = Some(token);
        self
    }

    /// Sets the body limit.
    #[must_use]
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Sets the brand the pages open on.
    #[must_use]
    pub fn default_brand(mut self, brand: impl Into<String>) -> Self {
        self.default_brand = brand.into();
        self
    }

    /// Sets the store's displayed name.
    #[must_use]
    pub fn store_name(mut self, name: &'static str) -> Self {
        self.store_name = name;
        self
    }

    /// The cockpit and monitoring links of `brand`, from [`AppConfig::public_url`].
    pub fn brand_links(&self, brand: &str) -> (String, String) {
        let base = self.public_url.trim_end_matches('/');
        (
            format!("{base}/analytics?brandId={brand}"),
            format!("{base}/monitoring?brandId={brand}"),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expert_urls_are_pages_or_mail_addresses() {
        for bad in [
            "",
            "/contact",
            "javascript:alert(1)",
            "data:text/html,x",
            "mailto:",
            "ftp://example.com/",
            "https://",
        ] {
            assert!(ExpertUrl::new(bad).is_err(), "{bad}");
        }
        assert!(ExpertUrl::new(&format!("https://example.com/{}", "a".repeat(3000))).is_err());
        let mail = ExpertUrl::new("mailto:experts@example.com").unwrap();
        assert_eq!(
            mail.link_for("brand_a"),
            "mailto:experts@example.com?subject=Usage+Quota+Guardian+%E2%80%94+brand_a"
        );
        let with_subject = ExpertUrl::new("mailto:experts@example.com?subject=Hi").unwrap();
        assert_eq!(
            with_subject.link_for("b"),
            "mailto:experts@example.com?subject=Hi"
        );
        let page = ExpertUrl::new("https://example.com/contact").unwrap();
        assert_eq!(page.link_for("b"), "https://example.com/contact");
    }

    #[test]
    fn the_metrics_token_matches_itself_only_and_stays_hidden() {
        let t = MetricsToken::new("a-scrape-token-of-20").unwrap_or_else(|e| unreachable!("{e}"));
        assert!(t.matches("a-scrape-token-of-20"));
        assert!(!t.matches("a-scrape-token-of-21"));
        assert!(!t.matches(""));
        assert!(!format!("{t:?}").contains("scrape"));
        assert!(MetricsToken::new("short").is_err());
        assert!(MetricsToken::new("has a space in it, long enough").is_err());
    }
}
