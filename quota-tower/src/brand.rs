//! Who is calling: the brand a request is charged to.
//!
//! A [`BrandResolver`] looks at the request head and answers at once ([`Resolution::Resolved`],
//! [`Resolution::Unresolved`]) or later ([`Resolution::Pending`], e.g. an API key looked up in a
//! database). Three resolvers ship: [`HeaderBrand`] (a trusted header set by a gateway),
//! [`ApiKeyBrand`] (a public API key mapped to its brand by an [`ApiKeyLookup`]) and
//! [`ExtensionBrand`] (a [`Brand`] put in the request extensions by an earlier auth layer, the
//! default). Any `Fn(RequestHead<'_>) -> Option<Brand>` is a resolver too.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::hash::{Hash, Hasher};
use std::pin::Pin;
use std::sync::Arc;

use http::header::{AUTHORIZATION, HeaderName};
use http::{Extensions, HeaderMap, HeaderValue, Method, Request, Uri};

/// A boxed error from a resolver's backend.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// A boxed, sendable future.
pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

/// A brand id, cheap to clone: taken from a header it shares the header's bytes, otherwise
/// it is an `Arc<str>` or a `&'static str`.
#[derive(Clone)]
pub struct Brand(Repr);

#[derive(Clone)]
enum Repr {
    // Invariant: `to_str()` succeeds (checked when built).
    Header(HeaderValue),
    Shared(Arc<str>),
    Static(&'static str),
}

impl Brand {
    /// A brand from a string.
    pub fn new(id: impl Into<Arc<str>>) -> Self {
        Brand(Repr::Shared(id.into()))
    }

    /// A brand from a static string (no allocation).
    pub const fn from_static(id: &'static str) -> Self {
        Brand(Repr::Static(id))
    }

    /// A brand from a header value, sharing its bytes; `None` if it is empty or not visible
    /// ASCII.
    pub fn from_header_value(value: &HeaderValue) -> Option<Self> {
        let s = value.to_str().ok()?;
        if s.is_empty() {
            return None;
        }
        Some(Brand(Repr::Header(value.clone())))
    }

    /// The brand id.
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Header(v) => v.to_str().unwrap_or_default(),
            Repr::Shared(s) => s,
            Repr::Static(s) => s,
        }
    }
}

impl fmt::Debug for Brand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Brand").field(&self.as_str()).finish()
    }
}

impl fmt::Display for Brand {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq for Brand {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Brand {}

impl Hash for Brand {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl From<&'static str> for Brand {
    fn from(s: &'static str) -> Self {
        Brand::from_static(s)
    }
}

impl From<String> for Brand {
    fn from(s: String) -> Self {
        Brand::new(s)
    }
}

/// The parts of a request a resolver or a meter may look at (the body is never touched).
#[derive(Clone, Copy, Debug)]
pub struct RequestHead<'a> {
    method: &'a Method,
    uri: &'a Uri,
    headers: &'a HeaderMap,
    extensions: &'a Extensions,
}

impl<'a> RequestHead<'a> {
    /// The head of `req`.
    pub fn new<B>(req: &'a Request<B>) -> Self {
        RequestHead {
            method: req.method(),
            uri: req.uri(),
            headers: req.headers(),
            extensions: req.extensions(),
        }
    }

    /// The method.
    pub fn method(&self) -> &'a Method {
        self.method
    }

    /// The URI.
    pub fn uri(&self) -> &'a Uri {
        self.uri
    }

    /// The headers.
    pub fn headers(&self) -> &'a HeaderMap {
        self.headers
    }

    /// The extensions.
    pub fn extensions(&self) -> &'a Extensions {
        self.extensions
    }
}

/// The answer of a [`BrandResolver`].
#[non_exhaustive]
pub enum Resolution {
    /// The brand is known.
    Resolved(Brand),
    /// No brand can be found for this request (missing or malformed credentials): 401.
    Unresolved(&'static str),
    /// The brand must be looked up. `Ok(None)` = unknown credentials (401); `Err` = the lookup
    /// failed (503).
    Pending(BoxFuture<Result<Option<Brand>, BoxError>>),
}

impl fmt::Debug for Resolution {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Resolution::Resolved(b) => f.debug_tuple("Resolved").field(b).finish(),
            Resolution::Unresolved(why) => f.debug_tuple("Unresolved").field(why).finish(),
            Resolution::Pending(_) => f.write_str("Pending"),
        }
    }
}

/// Finds the brand a request is charged to.
pub trait BrandResolver: Send + Sync + 'static {
    /// Resolves the brand of a request from its head.
    fn resolve(&self, req: RequestHead<'_>) -> Resolution;
}

impl<F> BrandResolver for F
where
    F: Fn(RequestHead<'_>) -> Option<Brand> + Send + Sync + 'static,
{
    fn resolve(&self, req: RequestHead<'_>) -> Resolution {
        match self(req) {
            Some(b) => Resolution::Resolved(b),
            None => Resolution::Unresolved("no brand found for this request"),
        }
    }
}

/// The brand is the value of a header set by a trusted gateway (never expose this to
/// clients directly: they could name any brand).
#[derive(Clone, Debug)]
pub struct HeaderBrand {
    header: HeaderName,
}

impl HeaderBrand {
    /// Reads the brand from `header`.
    pub fn new(header: HeaderName) -> Self {
        HeaderBrand { header }
    }
}

impl BrandResolver for HeaderBrand {
    fn resolve(&self, req: RequestHead<'_>) -> Resolution {
        match req.headers().get(&self.header) {
            None => Resolution::Unresolved("the brand header is missing"),
            Some(v) => match Brand::from_header_value(v) {
                Some(b) => Resolution::Resolved(b),
                None => Resolution::Unresolved("the brand header is empty or not ASCII"),
            },
        }
    }
}

/// The brand is a [`Brand`] that an earlier layer (authentication) put in the request
/// extensions. The default resolver.
#[derive(Clone, Copy, Debug, Default)]
pub struct ExtensionBrand;

impl BrandResolver for ExtensionBrand {
    fn resolve(&self, req: RequestHead<'_>) -> Resolution {
        match req.extensions().get::<Brand>() {
            Some(b) => Resolution::Resolved(b.clone()),
            None => Resolution::Unresolved("no authenticated brand on the request"),
        }
    }
}

/// Maps a public API key to its brand (a database, a cache, a config file...).
#[async_trait::async_trait]
pub trait ApiKeyLookup: Send + Sync + 'static {
    /// The brand owning `key`; `Ok(None)` when the key is unknown or revoked.
    async fn brand_for_key(&self, key: &str) -> Result<Option<Brand>, BoxError>;
}

/// A fixed table of keys, for tests and small deployments.
#[async_trait::async_trait]
impl ApiKeyLookup for HashMap<String, Brand> {
    async fn brand_for_key(&self, key: &str) -> Result<Option<Brand>, BoxError> {
        Ok(self.get(key).cloned())
    }
}

/// The brand is found from a public API key carried in a header (`x-api-key` by default, or
/// `Authorization: Bearer <key>` when the header is `authorization`).
pub struct ApiKeyBrand<L> {
    header: HeaderName,
    lookup: Arc<L>,
}

impl<L> Clone for ApiKeyBrand<L> {
    fn clone(&self) -> Self {
        ApiKeyBrand {
            header: self.header.clone(),
            lookup: Arc::clone(&self.lookup),
        }
    }
}

impl<L> fmt::Debug for ApiKeyBrand<L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiKeyBrand")
            .field("header", &self.header)
            .finish_non_exhaustive()
    }
}

impl<L: ApiKeyLookup> ApiKeyBrand<L> {
    /// Keys in the `x-api-key` header.
    pub fn new(lookup: L) -> Self {
        ApiKeyBrand {
            header: HeaderName::from_static("x-api-key"),
            lookup: Arc::new(lookup),
        }
    }

    /// Reads the key from another header (`authorization` expects `Bearer <key>`).
    #[must_use]
    pub fn header(mut self, header: HeaderName) -> Self {
        self.header = header;
        self
    }

    /// The lookup.
    pub fn lookup(&self) -> &L {
        &self.lookup
    }
}

/// The key part of a credential header value.
fn key_of(header: &HeaderName, value: &HeaderValue) -> Option<HeaderValue> {
    if header != AUTHORIZATION {
        return (!value.is_empty()).then(|| value.clone());
    }
    let s = value.to_str().ok()?;
    let (scheme, rest) = s.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("bearer") {
        return None;
    }
    let key = rest.trim();
    if key.is_empty() {
        return None;
    }
    HeaderValue::from_str(key).ok()
}

impl<L: ApiKeyLookup> BrandResolver for ApiKeyBrand<L> {
    fn resolve(&self, req: RequestHead<'_>) -> Resolution {
        let Some(value) = req.headers().get(&self.header) else {
            return Resolution::Unresolved("the API key is missing");
        };
        let Some(key) = key_of(&self.header, value) else {
            return Resolution::Unresolved("the API key is malformed");
        };
        let lookup = Arc::clone(&self.lookup);
        Resolution::Pending(Box::pin(async move {
            let Ok(key) = key.to_str() else {
                return Ok(None);
            };
            lookup.brand_for_key(key).await
        }))
    }
}
