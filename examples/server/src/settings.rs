//! The secrets and integrations of `quota serve`: every environment variable the server reads
//! is a flag here (clap `env`), so `quota serve --help` lists them all with their meaning. A
//! flag and its variable are the same setting; secrets are better kept in the environment (a
//! command line is visible to other users of the machine), and `--help` never shows their
//! values.

use clap::Args;
use quota_notify::NotifyConfig;
use quota_payments::StripeConfig;
use quota_share::ShareTtl;

/// Secrets, share links, Stripe, alert delivery and `/metrics` access.
#[derive(Debug, Clone, Default, Args)]
#[command(next_help_heading = "Secrets and integrations")]
pub struct ServeSettings {
    /// Admin JWT secret (32 bytes or more); without it the server runs in dev mode: secrets
    /// generated for the run, printed with an admin JWT in the banner.
    #[arg(long, env = "QUOTA_ADMIN_JWT_SECRET", hide_env_values = true)]
    pub admin_jwt_secret: Option<String>,
    /// Secret of the brands' public API keys (32 bytes or more); derived from the admin secret
    /// when unset.
    #[arg(long, env = "QUOTA_API_KEY_SECRET", hide_env_values = true)]
    pub api_key_secret: Option<String>,
    /// Bearer token that `/metrics` asks for (16 to 512 visible ASCII characters); `/metrics`
    /// is open when unset.
    #[arg(long, env = "QUOTA_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Brands with usage series (`quota_usage`, `quota_limit`, `quota_usage_ratio`) on
    /// `/metrics`, first come first served, 0 to 100000; 0 turns the per-brand series off
    /// (1000 when unset).
    #[arg(long, env = "QUOTA_METRICS_BRAND_SERIES")]
    pub metrics_brand_series: Option<String>,
    /// Where the cockpit's "Talk to an expert" leads: an `https://` page or a `mailto:`
    /// address; the button is hidden when unset.
    #[arg(long, env = "QUOTA_EXPERT_URL")]
    pub expert_url: Option<String>,
    /// Share-link signing keys, `kid:secret,...`, the active one first; generated for the run
    /// when unset.
    #[arg(long, env = "QUOTA_SHARE_KEYS", hide_env_values = true)]
    pub share_keys: Option<String>,
    /// Default lifetime of share links, milliseconds (7 days when unset; at most 30 days).
    #[arg(long, env = "QUOTA_SHARE_TTL_MS")]
    pub share_ttl_ms: Option<String>,
    /// Stripe secret key: top-ups go through Stripe Checkout and plans are priced from Stripe;
    /// the simulated checkout when unset.
    #[arg(long, env = "STRIPE_SECRET_KEY", hide_env_values = true)]
    pub stripe_secret_key: Option<String>,
    /// Stripe API base URL (a local fake in tests); `https://api.stripe.com` when unset.
    #[arg(long, env = "STRIPE_API_BASE")]
    pub stripe_api_base: Option<String>,
    /// Stripe webhook signing secrets, comma-separated while rolling; generated for the run
    /// when unset.
    #[arg(long, env = "STRIPE_WEBHOOK_SECRET", hide_env_values = true)]
    pub stripe_webhook_secret: Option<String>,
    /// Slack incoming webhook URL for alerts.
    #[arg(long, env = "SLACK_WEBHOOK_URL", hide_env_values = true)]
    pub slack_webhook_url: Option<String>,
    /// SMTP server for alert emails (`smtp://user:pass@host:port`; with `ALERT_EMAIL_TO`).
    #[arg(long, env = "SMTP_URL", hide_env_values = true)]
    pub smtp_url: Option<String>,
    /// Who gets alert emails, comma-separated (with `SMTP_URL`).
    #[arg(long, env = "ALERT_EMAIL_TO")]
    pub alert_email_to: Option<String>,
    /// Sender of alert emails; `quota-guardian@localhost` when unset.
    #[arg(long, env = "ALERT_EMAIL_FROM")]
    pub alert_email_from: Option<String>,
    /// Signed webhook URL for alerts (with `QUOTA_WEBHOOK_SECRET`).
    #[arg(long, env = "QUOTA_WEBHOOK_URL")]
    pub webhook_url: Option<String>,
    /// Secret that signs the alert webhooks (`X-Quota-Signature`).
    #[arg(long, env = "QUOTA_WEBHOOK_SECRET", hide_env_values = true)]
    pub webhook_secret: Option<String>,
    /// Language of the alert messages, `fr` or `en` (`en` when unset).
    #[arg(long, env = "QUOTA_ALERT_LANG")]
    pub alert_lang: Option<String>,
    /// Thresholds below this percent are not delivered (0 when unset: all are).
    #[arg(long, env = "QUOTA_ALERT_MIN_THRESHOLD")]
    pub alert_min_threshold: Option<String>,
    /// Delivery attempts before an alert goes to the dead letters (8 when unset).
    #[arg(long, env = "QUOTA_ALERT_MAX_ATTEMPTS")]
    pub alert_max_attempts: Option<String>,
}

/// Most brands `QUOTA_METRICS_BRAND_SERIES` may allow: each one adds three series per metric.
pub const MAX_BRAND_SERIES: usize = 100_000;

/// A setting's value, `None` when unset or blank.
fn set(value: Option<&String>) -> Option<String> {
    value
        .map(|v| v.trim())
        .filter(|v| !v.is_empty())
        .map(str::to_owned)
}

impl ServeSettings {
    /// The admin JWT secret, when set.
    pub fn admin_secret(&self) -> Option<String> {
        set(self.admin_jwt_secret.as_ref())
    }

    /// The API key secret, when set.
    pub fn api_key_secret(&self) -> Option<String> {
        set(self.api_key_secret.as_ref())
    }

    /// The `/metrics` token, when set.
    pub fn metrics_token(&self) -> Option<String> {
        set(self.metrics_token.as_ref())
    }

    /// The brand-series cap of `/metrics` ([`quota_axum::metrics::DEFAULT_BRAND_SERIES`] when
    /// unset).
    pub fn metrics_brand_series(&self) -> Result<usize, String> {
        let Some(raw) = set(self.metrics_brand_series.as_ref()) else {
            return Ok(quota_axum::metrics::DEFAULT_BRAND_SERIES);
        };
        raw.parse::<usize>()
            .ok()
            .filter(|n| *n <= MAX_BRAND_SERIES)
            .ok_or_else(|| {
                format!(
                    "QUOTA_METRICS_BRAND_SERIES: {raw:?} is not a number of brands from 0 to {MAX_BRAND_SERIES}"
                )
            })
    }

    /// The expert URL, when set.
    pub fn expert_url(&self) -> Option<String> {
        set(self.expert_url.as_ref())
    }

    /// The share keys, when set.
    pub fn share_keys(&self) -> Option<String> {
        set(self.share_keys.as_ref())
    }

    /// The share-link lifetimes.
    pub fn share_ttl(&self) -> Result<ShareTtl, String> {
        ShareTtl::from_env_value(self.share_ttl_ms.as_deref()).map_err(|e| e.to_string())
    }

    /// Stripe Checkout, when a secret key is set.
    pub fn stripe(&self) -> Option<StripeConfig> {
        let key = set(self.stripe_secret_key.as_ref())?;
        let config = StripeConfig::new(key);
        Some(match set(self.stripe_api_base.as_ref()) {
            Some(base) => config.api_base(&base),
            None => config,
        })
    }

    /// The Stripe webhook secrets, when set.
    pub fn stripe_webhook_secret(&self) -> Option<String> {
        set(self.stripe_webhook_secret.as_ref())
    }

    /// Alert delivery; the cockpit links in alerts follow `frontend_url` like the rest of
    /// the server.
    pub fn notify(&self, frontend_url: Option<&str>) -> Result<NotifyConfig, String> {
        NotifyConfig::from_vars(|name| match name {
            "FRONTEND_URL" => frontend_url.map(str::to_owned),
            "SLACK_WEBHOOK_URL" => self.slack_webhook_url.clone(),
            "SMTP_URL" => self.smtp_url.clone(),
            "ALERT_EMAIL_TO" => self.alert_email_to.clone(),
            "ALERT_EMAIL_FROM" => self.alert_email_from.clone(),
            "QUOTA_WEBHOOK_URL" => self.webhook_url.clone(),
            "QUOTA_WEBHOOK_SECRET" => self.webhook_secret.clone(),
            "QUOTA_ALERT_LANG" => self.alert_lang.clone(),
            "QUOTA_ALERT_MIN_THRESHOLD" => self.alert_min_threshold.clone(),
            "QUOTA_ALERT_MAX_ATTEMPTS" => self.alert_max_attempts.clone(),
            other => {
                // A variable quota-notify reads that has no flag here: the env-in-help test
                // (tests/config_env.rs) names it.
                tracing::warn!(
                    variable = other,
                    "alert setting without a `quota serve` flag"
                );
                None
            }
        })
        .map_err(|e| e.to_string())
    }
}
