//! What the routes need to know about the deployment: the public URL every absolute link is
//! built from, the body limit, the brand the pages open on, and the store's name.

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
        }
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
