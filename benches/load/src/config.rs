//! Where the scenarios go and with which credentials: the runbook's environment variables
//! (`BASE_URL`/`API_BASE`, `BRAND_ID`, `API_TOKEN`/`AUTH_TOKEN`, `PUBLIC_API_KEY`,
//! `FRONTEND_URL`), checked before a single request leaves.

use std::fmt;
use std::net::IpAddr;

use reqwest::Url;

/// The server root when neither `BASE_URL` nor `API_BASE` is set (`quota serve`'s default).
pub const DEFAULT_BASE_URL: &str = "http://127.0.0.1:3333";
/// The brand `quota serve` seeds.
pub const DEFAULT_BRAND: &str = "brand_dashboard";

/// A configuration the scenarios refuse to run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError(pub String);

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ConfigError {}

/// The server under load and the credentials to use on it.
#[derive(Debug, Clone)]
pub struct Target {
    /// The server root (`/designs`, `/renders`, `/share/quota/<token>`, `/healthz`).
    pub root: Url,
    /// The API base (`.../api/v1`).
    pub api: Url,
    /// The brand every request is made for.
    pub brand: String,
    /// Admin JWT (`API_TOKEN` or `AUTH_TOKEN`).
    pub token: String,
    /// The brand's public API key (`PUBLIC_API_KEY`), for `/designs` and `/renders`.
    pub public_key: Option<String>,
    /// The frontend base the checkout success and cancel URLs point at (`FRONTEND_URL`; the
    /// server's root by default: the server refuses redirects off its public origin).
    pub frontend: String,
}

fn parse_url(name: &str, value: &str) -> Result<Url, ConfigError> {
    let trimmed = value.trim().trim_end_matches('/');
    let url = Url::parse(trimmed)
        .map_err(|e| ConfigError(format!("{name}={value:?} is not a URL: {e}")))?;
    if url.scheme() != "http" {
        return Err(ConfigError(format!(
            "{name}={value:?}: the load scenarios speak plain http on loopback only"
        )));
    }
    Ok(url)
}

fn with_path(base: &Url, suffix: &str) -> Result<Url, ConfigError> {
    let joined = format!("{}{suffix}", base.as_str().trim_end_matches('/'));
    Url::parse(&joined).map_err(|e| ConfigError(format!("{joined:?} is not a URL: {e}")))
}

/// Whether `url` names this machine (`localhost`, `127.0.0.0/8`, `::1`).
pub fn is_loopback(url: &Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(h) => h
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

impl Target {
    /// Reads the runbook's variables through `var` (the process environment in the binary).
    ///
    /// `API_BASE` wins over `BASE_URL` for the API; the root is `API_BASE` without its
    /// `/api/v1` suffix, or `BASE_URL`. `API_TOKEN` wins over `AUTH_TOKEN`.
    pub fn from_vars(var: impl Fn(&str) -> Option<String>) -> Result<Target, ConfigError> {
        let var = |name: &str| var(name).filter(|v| !v.trim().is_empty());
        let (root, api) = match (var("API_BASE"), var("BASE_URL")) {
            (Some(api), base) => {
                let api = parse_url("API_BASE", &api)?;
                let root = match base {
                    Some(b) => parse_url("BASE_URL", &b)?,
                    None => match api.as_str().trim_end_matches('/').strip_suffix("/api/v1") {
                        Some(r) => parse_url("API_BASE", r)?,
                        None => {
                            return Err(ConfigError(format!(
                                "API_BASE={:?} does not end in /api/v1: set BASE_URL to the server root as well",
                                api.as_str()
                            )));
                        }
                    },
                };
                (root, api)
            }
            (None, base) => {
                let root = parse_url("BASE_URL", base.as_deref().unwrap_or(DEFAULT_BASE_URL))?;
                let api = with_path(&root, "/api/v1")?;
                (root, api)
            }
        };
        let token = var("API_TOKEN")
            .or_else(|| var("AUTH_TOKEN"))
            .ok_or_else(|| {
                ConfigError(
                "set API_TOKEN (or AUTH_TOKEN) to the admin JWT `quota serve` prints as ADMIN_JWT"
                    .into(),
            )
            })?;
        Ok(Target {
            api,
            brand: var("BRAND_ID").unwrap_or_else(|| DEFAULT_BRAND.to_owned()),
            token: token.trim().to_owned(),
            public_key: var("PUBLIC_API_KEY").map(|k| k.trim().to_owned()),
            // The server only redirects to its own public origin: the root by default.
            frontend: var("FRONTEND_URL")
                .unwrap_or_else(|| root.as_str().to_owned())
                .trim_end_matches('/')
                .to_owned(),
            root,
        })
    }

    /// Refuses a server that is not on this machine unless `allow_remote`.
    pub fn check_loopback(&self, allow_remote: bool) -> Result<(), ConfigError> {
        if allow_remote {
            return Ok(());
        }
        for url in [&self.root, &self.api] {
            if !is_loopback(url) {
                return Err(ConfigError(format!(
                    "{} is not a loopback address: the scenarios load this machine only (pass --allow-remote to load another one on purpose)",
                    url.as_str()
                )));
            }
        }
        Ok(())
    }

    /// `root` + `path` (path starts with `/`).
    pub fn root_url(&self, path: &str) -> Result<Url, ConfigError> {
        with_path(&self.root, path)
    }

    /// `api` + `path` (path starts with `/`).
    pub fn api_url(&self, path: &str) -> Result<Url, ConfigError> {
        with_path(&self.api, path)
    }
}
