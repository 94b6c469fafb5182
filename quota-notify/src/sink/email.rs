//! Email over SMTP with lettre (`SMTP_URL`, `ALERT_EMAIL_TO`).
//!
//! Plain SMTP only (`smtp://[user:password@]host[:port]`): this crate is built without TLS,
//! which suits a local relay (a sidecar or the host's MTA) that forwards with TLS. `smtps://`
//! and `?tls=` URLs are refused at configuration time rather than silently sent in clear.

use std::time::Duration;

use async_trait::async_trait;
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::extension::ClientId;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{Delivery, EMAIL, Sink, redact_url};
use crate::error::{DeliveryError, NotifyError};

/// Email over SMTP.
#[derive(Clone, PartialEq, Eq)]
pub struct EmailConfig {
    /// `smtp://[user:password@]host[:port]` (plain SMTP; see the module docs about TLS).
    pub smtp_url: String,
    /// Recipients.
    pub to: Vec<String>,
    /// Sender address.
    pub from: String,
}

impl std::fmt::Debug for EmailConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmailConfig")
            .field("smtp_url", &redact_url(&self.smtp_url))
            .field("to", &self.to)
            .field("from", &self.from)
            .finish()
    }
}

impl EmailConfig {
    /// Checks the settings (what [`crate::NotifyConfigBuilder::build`] runs).
    pub(crate) fn validate(&self) -> Result<(), NotifyError> {
        if self.to.is_empty() {
            return Err(NotifyError::Config(
                "ALERT_EMAIL_TO names no recipient".into(),
            ));
        }
        SmtpTarget::parse(&self.smtp_url).map(|_| ())
    }
}

/// Where and how to connect, parsed from `SMTP_URL`.
#[derive(Clone, PartialEq, Eq)]
pub struct SmtpTarget {
    /// Host name or address.
    pub host: String,
    /// Port (25 when absent).
    pub port: u16,
    /// User and password, percent-decoded.
    pub credentials: Option<(String, String)>,
    /// Name to send in EHLO (the URL path), if any.
    pub hello_name: Option<String>,
}

impl std::fmt::Debug for SmtpTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmtpTarget")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("credentials", &self.credentials.as_ref().map(|(u, _)| u))
            .finish_non_exhaustive()
    }
}

impl SmtpTarget {
    /// Parses `smtp://[user:password@]host[:port][/hello-name]`.
    pub fn parse(url: &str) -> Result<SmtpTarget, NotifyError> {
        let bad = |why: &str| NotifyError::Config(format!("SMTP_URL: {why}"));
        let parsed = reqwest::Url::parse(url).map_err(|e| bad(&e.to_string()))?;
        if parsed.scheme() != "smtp" {
            return Err(bad(&format!(
                "scheme {:?} is not supported: this build speaks plain smtp:// only (relay through a local MTA for TLS)",
                parsed.scheme()
            )));
        }
        if parsed.query_pairs().any(|(k, _)| k == "tls") {
            return Err(bad(
                "tls= is not supported: this build speaks plain smtp:// only",
            ));
        }
        let host = parsed
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad("no host"))?
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned();
        let decode = |s: &str| -> Result<String, NotifyError> {
            percent_decode(s).ok_or_else(|| bad("bad percent-encoding in the credentials"))
        };
        let credentials = match parsed.password() {
            Some(p) => Some((decode(parsed.username())?, decode(p)?)),
            None => None,
        };
        let path = parsed.path().trim_matches('/');
        Ok(SmtpTarget {
            host,
            port: parsed.port().unwrap_or(25),
            credentials,
            hello_name: (!path.is_empty()).then(|| path.to_owned()),
        })
    }
}

/// `%XX`-decodes a URL's user or password (UTF-8 required).
fn percent_decode(s: &str) -> Option<String> {
    percent_encoding::percent_decode_str(s)
        .decode_utf8()
        .ok()
        .map(std::borrow::Cow::into_owned)
}

/// Sends alerts by email.
#[derive(Debug)]
pub struct EmailSink {
    from: Mailbox,
    to: Vec<Mailbox>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl EmailSink {
    /// A sink for `config`, each SMTP exchange cut off after `timeout`.
    pub fn new(config: &EmailConfig, timeout: Duration) -> Result<Self, NotifyError> {
        let target = SmtpTarget::parse(&config.smtp_url)?;
        let mailbox = |s: &str| {
            s.parse::<Mailbox>()
                .map_err(|e| NotifyError::Config(format!("bad email address {s:?}: {e}")))
        };
        let from = mailbox(&config.from)?;
        let to = config
            .to
            .iter()
            .map(|s| mailbox(s))
            .collect::<Result<Vec<_>, _>>()?;
        if to.is_empty() {
            return Err(NotifyError::Config(
                "ALERT_EMAIL_TO names no recipient".into(),
            ));
        }
        // Plain SMTP by design (see the module docs), hence the "dangerous" builder.
        let mut builder =
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.as_str())
                .port(target.port)
                .timeout(Some(timeout));
        if let Some((user, password)) = target.credentials {
            builder = builder.credentials(Credentials::new(user, password));
        }
        if let Some(name) = target.hello_name {
            builder = builder.hello_name(ClientId::Domain(name));
        }
        Ok(EmailSink {
            from,
            to,
            transport: builder.build(),
        })
    }

    fn message(&self, d: &Delivery<'_>) -> Result<Message, DeliveryError> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(d.alert.title(d.lang))
            // The outbox id as Message-ID: a retried send that did go through can be
            // recognised downstream.
            .message_id(Some(format!("<{}@quota-guardian>", message_id_part(d.id))))
            .header(ContentType::TEXT_PLAIN);
        for to in &self.to {
            b = b.to(to.clone());
        }
        b.body(d.alert.body(d.lang))
            .map_err(|e| DeliveryError::permanent(format!("email: cannot build the message: {e}")))
    }
}

/// Keeps the characters a Message-ID left part may carry.
fn message_id_part(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+' | '=') {
                c
            } else {
                '.'
            }
        })
        .collect()
}

#[async_trait]
impl Sink for EmailSink {
    fn name(&self) -> &str {
        EMAIL
    }

    async fn deliver(&self, d: &Delivery<'_>) -> Result<(), DeliveryError> {
        let message = self.message(d)?;
        match self.transport.send(message).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(DeliveryError::permanent(format!("email: {e}"))),
            Err(e) => Err(DeliveryError::retryable(format!("email: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_plain_smtp_urls_and_refuses_tls_ones() {
        let t = SmtpTarget::parse("smtp://al%40ice:p%3Ass@127.0.0.1:2525/relay.local");
        let t = t.unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(t.host, "127.0.0.1");
        assert_eq!(t.port, 2525);
        assert_eq!(t.credentials, Some(("al@ice".into(), "p:ss".into())));
        assert_eq!(t.hello_name.as_deref(), Some("relay.local"));
        assert!(!format!("{t:?}").contains("p:ss"));
        assert_eq!(
            SmtpTarget::parse("smtp://mail").map(|t| t.port).ok(),
            Some(25)
        );
        let refusal = |url: &str| match SmtpTarget::parse(url) {
            Err(NotifyError::Config(m)) => m,
            other => unreachable!("{url}: {other:?}"),
        };
        let m = refusal("smtps://mail");
        assert!(
            m.starts_with("SMTP_URL: scheme \"smtps\" is not supported"),
            "{m}"
        );
        let m = refusal("smtp://mail?tls=required");
        assert!(m.starts_with("SMTP_URL: tls= is not supported"), "{m}");
        let m = refusal("not a url");
        assert!(
            m.starts_with("SMTP_URL: relative URL without a base"),
            "{m}"
        );
    }
}
