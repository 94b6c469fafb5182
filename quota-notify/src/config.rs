//! Settings: which sinks, where, in which language, and how hard to retry. Built with a typed
//! builder or read from the environment ([`NotifyConfig::from_env`]).

use std::sync::Arc;
use std::time::Duration;

use crate::alert::Lang;
use crate::error::NotifyError;
pub use crate::sink::email::EmailConfig;
pub use crate::sink::slack::SlackConfig;
pub use crate::sink::webhook::WebhookConfig;
use crate::sink::{EmailSink, Sink, SlackSink, WebhookSink, is_http_url};

/// Exponential backoff with jitter, capped, and a give-up point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RetryPolicy {
    /// Attempts before a message goes to the dead letters (default 8).
    pub max_attempts: u32,
    /// Delay after the first failure (default 2 s); doubles after each failure.
    pub base_delay: Duration,
    /// Longest delay between two attempts (default 10 min).
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(600),
        }
    }
}

impl RetryPolicy {
    /// A policy.
    pub fn new(max_attempts: u32, base_delay: Duration, max_delay: Duration) -> Self {
        RetryPolicy {
            max_attempts,
            base_delay,
            max_delay,
        }
    }

    /// The delay after failed attempt number `attempt` (1-based): `base * 2^(attempt-1)`
    /// capped at `max_delay`, then "equal jitter": a uniform pick in `[d/2, d]` driven by
    /// `entropy`, so that messages failing together do not all come back together.
    pub fn delay(&self, attempt: u32, entropy: u64) -> Duration {
        let exp = attempt.saturating_sub(1).min(32);
        let factor = 1u32.checked_shl(exp).unwrap_or(u32::MAX);
        let full = self
            .base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay);
        let half = full.checked_div(2).unwrap_or_default();
        let span = u64::try_from(full.saturating_sub(half).as_millis()).unwrap_or(u64::MAX);
        let pick = entropy.checked_rem(span.saturating_add(1)).unwrap_or(0);
        half.saturating_add(Duration::from_millis(pick))
    }
}

/// Everything the listener and the dispatcher need.
#[derive(Clone, Debug)]
pub struct NotifyConfig {
    frontend_url: String,
    lang: Lang,
    min_threshold: u16,
    slack: Option<SlackConfig>,
    email: Option<EmailConfig>,
    webhook: Option<WebhookConfig>,
    retry: RetryPolicy,
    lease: Duration,
    delivery_timeout: Duration,
    poll_interval: Duration,
    batch_size: usize,
}

impl NotifyConfig {
    /// A builder with defaults: English, all thresholds, no sink, 8 attempts from 2 s to
    /// 10 min, 10 s delivery timeout, 60 s lease, polling every second, 32 per batch.
    pub fn builder() -> NotifyConfigBuilder {
        NotifyConfigBuilder {
            config: NotifyConfig {
                frontend_url: "http://localhost:3333".into(),
                lang: Lang::En,
                min_threshold: 0,
                slack: None,
                email: None,
                webhook: None,
                retry: RetryPolicy::default(),
                lease: Duration::from_secs(60),
                delivery_timeout: Duration::from_secs(10),
                poll_interval: Duration::from_secs(1),
                batch_size: 32,
            },
        }
    }

    /// Reads the process environment: `FRONTEND_URL`, `SLACK_WEBHOOK_URL`, `SMTP_URL` +
    /// `ALERT_EMAIL_TO` (comma separated) + `ALERT_EMAIL_FROM`, `QUOTA_WEBHOOK_URL` +
    /// `QUOTA_WEBHOOK_SECRET`, `QUOTA_ALERT_LANG` (`fr`/`en`), `QUOTA_ALERT_MIN_THRESHOLD`
    /// (percent) and `QUOTA_ALERT_MAX_ATTEMPTS`. Unset sinks are off.
    pub fn from_env() -> Result<NotifyConfig, NotifyError> {
        NotifyConfig::from_vars(|k| std::env::var(k).ok())
    }

    /// Like [`NotifyConfig::from_env`] with another source of variables (tests).
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<NotifyConfig, NotifyError> {
        let get = |k: &str| {
            var(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut b = NotifyConfig::builder();
        if let Some(url) = get("FRONTEND_URL") {
            b = b.frontend_url(url);
        }
        if let Some(lang) = get("QUOTA_ALERT_LANG") {
            b = b.lang(Lang::parse(&lang));
        }
        if let Some(min) = get("QUOTA_ALERT_MIN_THRESHOLD") {
            let min = min.parse().map_err(|_| {
                NotifyError::Config(format!(
                    "QUOTA_ALERT_MIN_THRESHOLD={min:?} is not a percent (0 to 1000)"
                ))
            })?;
            b = b.min_threshold(min);
        }
        if let Some(max) = get("QUOTA_ALERT_MAX_ATTEMPTS") {
            let max: u32 = max.parse().map_err(|_| {
                NotifyError::Config(format!("QUOTA_ALERT_MAX_ATTEMPTS={max:?} is not a count"))
            })?;
            let retry = b.config.retry;
            b = b.retry(RetryPolicy {
                max_attempts: max,
                ..retry
            });
        }
        if let Some(url) = get("SLACK_WEBHOOK_URL") {
            b = b.slack(url);
        }
        match (get("SMTP_URL"), get("ALERT_EMAIL_TO")) {
            (Some(smtp), Some(to)) => {
                let to: Vec<String> = to
                    .split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect();
                let from =
                    get("ALERT_EMAIL_FROM").unwrap_or_else(|| "quota-guardian@localhost".into());
                b = b.email(smtp, to, from);
            }
            (None, None) => {}
            (Some(_), None) => {
                return Err(NotifyError::Config(
                    "SMTP_URL is set but ALERT_EMAIL_TO is not: say who gets the alerts".into(),
                ));
            }
            (None, Some(_)) => {
                return Err(NotifyError::Config(
                    "ALERT_EMAIL_TO is set but SMTP_URL is not: say which server sends them".into(),
                ));
            }
        }
        match (get("QUOTA_WEBHOOK_URL"), get("QUOTA_WEBHOOK_SECRET")) {
            (Some(url), Some(secret)) => b = b.webhook(url, secret),
            (None, _) => {}
            (Some(_), None) => {
                return Err(NotifyError::Config(
                    "QUOTA_WEBHOOK_URL is set but QUOTA_WEBHOOK_SECRET is not: webhooks are always signed".into(),
                ));
            }
        }
        b.build()
    }

    /// Base URL of the cockpit, for the links in alerts.
    pub fn frontend_url(&self) -> &str {
        &self.frontend_url
    }

    /// The same configuration with the cockpit links under `url`, when it is an http(s) URL
    /// (anything else leaves the links as they were).
    #[must_use]
    pub fn with_frontend_url(mut self, url: &str) -> Self {
        if is_http_url(url) {
            self.frontend_url = url.trim_end_matches('/').to_owned();
        }
        self
    }

    /// Language of the texts.
    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Crossings and resolutions of thresholds below this percent are not delivered
    /// (`blocked` always is).
    pub fn min_threshold(&self) -> u16 {
        self.min_threshold
    }

    /// Slack settings, if on.
    pub fn slack(&self) -> Option<&SlackConfig> {
        self.slack.as_ref()
    }

    /// Email settings, if on.
    pub fn email(&self) -> Option<&EmailConfig> {
        self.email.as_ref()
    }

    /// Webhook settings, if on.
    pub fn webhook(&self) -> Option<&WebhookConfig> {
        self.webhook.as_ref()
    }

    /// Retry policy.
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// How long a claimed message stays invisible to other dispatchers.
    pub fn lease(&self) -> Duration {
        self.lease
    }

    /// Longest time one delivery may take.
    pub fn delivery_timeout(&self) -> Duration {
        self.delivery_timeout
    }

    /// Pause between two polls of an empty outbox.
    pub fn poll_interval(&self) -> Duration {
        self.poll_interval
    }

    /// Messages claimed per poll.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Names of the configured sinks (`slack`, `email`, `webhook`).
    pub fn sink_names(&self) -> Vec<String> {
        let mut names = Vec::new();
        if self.slack.is_some() {
            names.push(crate::sink::SLACK.to_owned());
        }
        if self.email.is_some() {
            names.push(crate::sink::EMAIL.to_owned());
        }
        if self.webhook.is_some() {
            names.push(crate::sink::WEBHOOK.to_owned());
        }
        names
    }

    /// The sinks this configuration turns on, each request cut off after
    /// [`NotifyConfig::delivery_timeout`].
    pub fn sinks(&self) -> Result<Vec<Arc<dyn Sink>>, NotifyError> {
        let timeout = self.delivery_timeout;
        let mut sinks: Vec<Arc<dyn Sink>> = Vec::new();
        if let Some(c) = &self.slack {
            sinks.push(Arc::new(SlackSink::new(c.clone(), timeout)?));
        }
        if let Some(c) = &self.email {
            sinks.push(Arc::new(EmailSink::new(c, timeout)?));
        }
        if let Some(c) = &self.webhook {
            sinks.push(Arc::new(WebhookSink::new(c.clone(), timeout)?));
        }
        Ok(sinks)
    }
}

/// Builds a [`NotifyConfig`]; [`NotifyConfigBuilder::build`] validates it.
#[derive(Clone, Debug)]
#[must_use]
pub struct NotifyConfigBuilder {
    config: NotifyConfig,
}

impl NotifyConfigBuilder {
    /// Base URL of the cockpit (`FRONTEND_URL`).
    pub fn frontend_url(mut self, url: impl Into<String>) -> Self {
        self.config.frontend_url = url.into();
        self
    }

    /// Language of the texts.
    pub fn lang(mut self, lang: Lang) -> Self {
        self.config.lang = lang;
        self
    }

    /// Lowest threshold delivered (percent).
    pub fn min_threshold(mut self, percent: u16) -> Self {
        self.config.min_threshold = percent;
        self
    }

    /// Turns Slack on.
    pub fn slack(mut self, webhook_url: impl Into<String>) -> Self {
        self.config.slack = Some(SlackConfig {
            webhook_url: webhook_url.into(),
        });
        self
    }

    /// Turns email on.
    pub fn email(
        mut self,
        smtp_url: impl Into<String>,
        to: Vec<String>,
        from: impl Into<String>,
    ) -> Self {
        self.config.email = Some(EmailConfig {
            smtp_url: smtp_url.into(),
            to,
            from: from.into(),
        });
        self
    }

    /// Turns the signed webhook on.
    pub fn webhook(mut self, url: impl Into<String>, secret: impl Into<String>) -> Self {
        self.config.webhook = Some(WebhookConfig {
            url: url.into(),
            secret: secret.into(),
        });
        self
    }

    /// Retry policy.
    pub fn retry(mut self, retry: RetryPolicy) -> Self {
        self.config.retry = retry;
        self
    }

    /// Lease of claimed messages (at least 3 delivery timeouts).
    pub fn lease(mut self, lease: Duration) -> Self {
        self.config.lease = lease;
        self
    }

    /// Longest time one delivery may take.
    pub fn delivery_timeout(mut self, timeout: Duration) -> Self {
        self.config.delivery_timeout = timeout;
        self
    }

    /// Pause between two polls of an empty outbox.
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.config.poll_interval = interval;
        self
    }

    /// Messages claimed per poll (1 to 1000).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.config.batch_size = size;
        self
    }

    /// Checks the settings.
    pub fn build(self) -> Result<NotifyConfig, NotifyError> {
        let c = self.config;
        let bad = |m: String| Err(NotifyError::Config(m));
        if !is_http_url(&c.frontend_url) {
            return bad(format!(
                "FRONTEND_URL {:?} must start with http:// or https://",
                c.frontend_url
            ));
        }
        if c.min_threshold > 1000 {
            return bad(format!(
                "minimum threshold {} % is over 1000 %",
                c.min_threshold
            ));
        }
        if let Some(s) = &c.slack {
            s.validate()?;
        }
        if let Some(e) = &c.email {
            e.validate()?;
        }
        if let Some(w) = &c.webhook {
            w.validate()?;
        }
        if c.retry.max_attempts == 0 {
            return bad("max attempts must be at least 1".into());
        }
        if c.retry.base_delay.is_zero() || c.retry.max_delay < c.retry.base_delay {
            return bad("retry delays must satisfy 0 < base <= max".into());
        }
        if c.delivery_timeout.is_zero() || c.lease < c.delivery_timeout.saturating_mul(3) {
            return bad(format!(
                "the lease ({:?}) must be at least 3 delivery timeouts ({:?}) so a delivery ends before another dispatcher may take the message",
                c.lease, c.delivery_timeout
            ));
        }
        if c.batch_size == 0 || c.batch_size > 1000 {
            return bad(format!("batch size {} is outside 1..=1000", c.batch_size));
        }
        if c.poll_interval.is_zero() {
            return bad("the poll interval must be positive".into());
        }
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_caps() {
        let p = RetryPolicy::new(8, Duration::from_secs(2), Duration::from_secs(60));
        for entropy in [0, 7, 999_999, u64::MAX] {
            for (attempt, full) in [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (40, 60)] {
                let d = p.delay(attempt, entropy);
                let full = Duration::from_secs(full);
                assert!(
                    d >= full / 2 && d <= full,
                    "attempt {attempt}: {d:?} vs {full:?}"
                );
            }
        }
        assert_ne!(p.delay(3, 1), p.delay(3, 2000), "jitter spreads retries");
    }

    #[test]
    fn env_needs_pairs_and_secrets() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        let c = NotifyConfig::from_vars(vars(&[
            ("SLACK_WEBHOOK_URL", "http://127.0.0.1:9/hook"),
            ("SMTP_URL", "smtp://127.0.0.1:2525"),
            ("ALERT_EMAIL_TO", "ops@example.com, cs@example.com"),
            ("QUOTA_ALERT_LANG", "fr"),
            ("FRONTEND_URL", "https://app.example"),
        ]));
        let c = c.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(c.sink_names(), vec!["slack", "email"]);
        assert_eq!(c.lang(), Lang::Fr);
        assert_eq!(
            c.email().map(|e| e.to.clone()),
            Some(vec!["ops@example.com".into(), "cs@example.com".into()])
        );
        let refusal = |pairs: &'static [(&'static str, &'static str)]| match NotifyConfig::from_vars(
            vars(pairs),
        ) {
            Err(NotifyError::Config(m)) => m,
            other => unreachable!("{pairs:?}: {other:?}"),
        };
        assert_eq!(
            refusal(&[("SMTP_URL", "smtp://h")]),
            "SMTP_URL is set but ALERT_EMAIL_TO is not: say who gets the alerts"
        );
        assert_eq!(
            refusal(&[("QUOTA_WEBHOOK_URL", "http://h")]),
            "QUOTA_WEBHOOK_URL is set but QUOTA_WEBHOOK_SECRET is not: webhooks are always signed"
        );
        assert_eq!(
            refusal(&[("SLACK_WEBHOOK_URL", "ftp://h")]),
            "SLACK_WEBHOOK_URL must start with http:// or https://"
        );
        assert!(NotifyConfig::from_vars(vars(&[])).is_ok_and(|c| c.sink_names().is_empty()));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let c = NotifyConfig::builder()
            .slack("https://hooks.example/services/T0/B0/SECRET")
            .webhook("https://h.example/x", "0123456789abcdefSECRET")
            .build()
            .unwrap_or_else(|e| unreachable!("{e}"));
        let shown = format!("{c:?}");
        assert!(!shown.contains("SECRET"), "{shown}");
    }
}
