//! The HTML shell of every page: language choice, the inline style sheet, the header with its
//! language links, and the response headers (no caching, a strict CSP). Every page is built
//! with [`maud::html!`], which escapes every spliced value (text and attribute values alike).

use std::fmt::Write as _;

use axum::response::{Html, IntoResponse, Response};
use http::{HeaderMap, HeaderValue, StatusCode, header};
use maud::{DOCTYPE, Markup, PreEscaped, html};

/// The page language: `?lang=`, else the first of `Accept-Language`, else French.
pub(crate) fn page_lang(query: Option<&str>, headers: &HeaderMap) -> &'static str {
    let pick = |s: &str| {
        let s = s.trim().to_ascii_lowercase();
        if s.starts_with("en") {
            Some("en")
        } else if s.starts_with("fr") {
            Some("fr")
        } else {
            None
        }
    };
    if let Some(l) = query.and_then(pick) {
        return l;
    }
    headers
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').find_map(|part| pick(part.split(';').next()?)))
        .unwrap_or("fr")
}

/// Everything but RFC 3986 unreserved characters.
const QUERY_COMPONENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// Percent-encodes a query component.
pub(crate) fn url_encode(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, QUERY_COMPONENT).to_string()
}

/// `path?k=v&...`, every key and value encoded.
pub(crate) fn with_query(path: &str, params: &[(&str, &str)]) -> String {
    let mut out = path.to_owned();
    for (i, (k, v)) in params.iter().enumerate() {
        out.push(if i == 0 { '?' } else { '&' });
        out.push_str(&url_encode(k));
        out.push('=');
        out.push_str(&url_encode(v));
    }
    out
}

/// The `lang-fr` / `lang-en` links: the same path and query with `lang` replaced.
pub(crate) fn lang_links(path: &str, query: &[(String, String)], lang: &str) -> Markup {
    let href = |code: &str| {
        let mut params: Vec<(&str, &str)> = query
            .iter()
            .filter(|(k, _)| k != "lang")
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        params.push(("lang", code));
        with_query(path, &params)
    };
    html! {
        nav class="langs" aria-label="Langue / Language" {
            @for (code, label) in [("fr", "Français"), ("en", "English")] {
                a data-testid={ "lang-" (code) } lang=(code) hreflang=(code) href=(href(code))
                    aria-current=[(code == lang).then_some("true")] { (label) }
            }
        }
    }
}

/// The one style sheet (inline: no external resource). Colours keep text at 4.5:1 or more
/// on white; grids collapse to one column on narrow screens.
const CSS: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1a1a1a;background:#f6f7f9;line-height:1.45}\
header.top{background:#1d2a3a;color:#fff;padding:.6rem 1rem;display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;justify-content:space-between}\
header.top a{color:#fff}\
header.top .brand{font-weight:700}\
nav{display:flex;flex-wrap:wrap;gap:.25rem .9rem}\
form.logout{margin:0}\
main{max-width:1080px;margin:0 auto;padding:1rem}\
h1{font-size:1.5rem;margin:.5rem 0;overflow-wrap:anywhere}\
.brand-id{overflow-wrap:anywhere}\
h2{font-size:1.15rem;margin:0 0 .5rem}\
h3{font-size:1rem;margin:0}\
a{color:#0b57d0}\
.muted{color:#555}\
.card{background:#fff;border:1px solid #d5d9e0;border-radius:8px;padding:1rem;margin:0 0 1rem;min-width:0}\
.grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(100%,300px),1fr));gap:1rem;margin-bottom:1rem}\
.grid>.card{margin:0}\
.row{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center;justify-content:space-between}\
dl.kv{display:grid;grid-template-columns:auto 1fr;gap:.15rem .75rem;margin:.5rem 0}\
dl.kv dt{color:#444}\
dl.kv dd{margin:0;font-weight:600;text-align:right;white-space:nowrap}\
.money{white-space:nowrap}\
.badge{display:inline-block;border-radius:999px;padding:.1rem .6rem;font-size:.85rem;font-weight:700;border:1px solid currentColor}\
.b-ok{color:#1b5e20;background:#e8f5e9}\
.b-info{color:#0d47a1;background:#e3f2fd}\
.b-warning{color:#8a4b00;background:#fff3e0}\
.b-critical{color:#b00020;background:#fdecea}\
.b-overage{color:#5b2a86;background:#f3e8fd}\
.b-blocked{color:#fff;background:#b00020;border-color:#b00020}\
.s-stable{color:#1b5e20}\
.s-under_strain{color:#8a4b00}\
.s-immediate_action{color:#b00020}\
.projection{border-top:1px solid #e3e6ea;margin-top:.5rem;padding-top:.5rem}\
.projection p{margin:.2rem 0}\
figure.chart{margin:.5rem 0 0}\
svg.chart{width:100%;height:auto;display:block;font-size:10px}\
svg.chart text{fill:#444}\
svg.chart .axis line{stroke:#8a94a3;stroke-width:1}\
svg.chart .axis line.grid{stroke:#e3e6ea}\
svg.chart .actual{fill:none;stroke:#0b57d0;stroke-width:2;stroke-linejoin:round}\
svg.chart .point{fill:#0b57d0}\
svg.chart .median{stroke:#8a4b00;stroke-width:2;stroke-dasharray:5 4}\
svg.chart .band{fill:#8a4b00;fill-opacity:.18;stroke:none}\
svg.chart .limit{stroke:#b00020;stroke-width:1.5}\
svg.chart text.limit-label{fill:#b00020;font-weight:600}\
svg.chart .today{stroke:#1a1a1a;stroke-width:1;stroke-dasharray:2 2}\
ul.legend{list-style:none;display:flex;flex-wrap:wrap;gap:.2rem .9rem;padding:0;margin:.3rem 0 0;font-size:.85rem}\
ul.legend li{display:flex;align-items:center;gap:.3rem}\
.sw{display:inline-block;width:1.3rem;height:.7rem}\
.sw-actual{border-top:2px solid #0b57d0;height:0}\
.sw-median{border-top:2px dashed #8a4b00;height:0}\
.sw-band{background:rgba(138,75,0,.18)}\
.sw-limit{border-top:2px solid #b00020;height:0}\
.sw-today{border-left:1px dashed #1a1a1a;width:0;height:.9rem}\
.chart-note{font-size:.85rem;margin:.3rem 0 0}\
ol.timeline{list-style:none;padding:0;margin:0}\
ol.timeline li{padding:.4rem 0;border-bottom:1px solid #eceef1;display:flex;flex-wrap:wrap;gap:.25rem .6rem;align-items:center}\
.table-wrap{overflow-x:auto}\
table{border-collapse:collapse;width:100%}\
td,th{border-bottom:1px solid #e3e6ea;padding:.4rem;text-align:left}\
form.inline{display:flex;flex-wrap:wrap;gap:.5rem;align-items:flex-end}\
label{display:flex;flex-direction:column;font-size:.9rem;gap:.2rem}\
input,select,button{font:inherit;padding:.4rem .6rem;border:1px solid #8a94a3;border-radius:6px;max-width:100%}\
button,.button{background:#0b57d0;color:#fff;border-color:#0b57d0;cursor:pointer;text-decoration:none;display:inline-block;padding:.4rem .8rem;border-radius:6px}\
button.secondary,.button.secondary{background:#fff;color:#0b57d0}\
.toast{border-radius:8px;padding:.75rem 1rem;margin:0 0 1rem;font-weight:600}\
.toast.ok{background:#e8f5e9;color:#1b5e20;border:1px solid #1b5e20}\
.toast.cancel{background:#fff3e0;color:#6d3a00;border:1px solid #8a4b00}\
.error{background:#fdecea;color:#8c0016;border:1px solid #b00020;border-radius:8px;padding:.75rem 1rem;margin:0 0 1rem}\
.share-url{display:flex;flex-wrap:wrap;gap:.5rem}\
.share-url input{flex:1 1 16rem;min-width:0}\
.upgrade{margin-top:.5rem}\
";

/// What kind of page: admin pages may run the nonce'd inline script; public pages run none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Audience {
    /// Admin pages (cockpit, monitoring): behind the admin token.
    Admin,
    /// Public pages (login, plans, messages).
    Public,
    /// The share page: its URL holds the token, so it never leaves in a `Referer`.
    Share,
}

/// A page to answer.
#[derive(Debug)]
pub(crate) struct Page<'a> {
    /// `fr` or `en`.
    pub(crate) lang: &'a str,
    /// The `<title>`.
    pub(crate) title: &'a str,
    /// The header content (site name, navigation, language links).
    pub(crate) header: Markup,
    /// The `<main>` content.
    pub(crate) main: Markup,
    /// An inline script, run under a per-response nonce (admin pages only).
    pub(crate) script: Option<&'static str>,
    /// Who may see it.
    pub(crate) audience: Audience,
}

impl Page<'_> {
    /// The response: the document with no-store caching and a CSP that allows no external
    /// resource and no inline script but the page's own (by nonce).
    pub(crate) fn respond(self, status: StatusCode) -> Response {
        let nonce = self.script.map(|_| nonce());
        let script = self.script.zip(nonce.as_deref());
        let doc = document(self.lang, self.title, &self.header, &self.main, script);
        let mut res = (status, Html(doc)).into_response();
        let h = res.headers_mut();
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        h.insert("x-robots-tag", HeaderValue::from_static("noindex"));
        h.insert(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        );
        h.insert(
            header::REFERRER_POLICY,
            // `no-referrer` would also make browsers send `Origin: null` on same-origin form
            // posts (login), which the origin check refuses: only the share page needs it.
            HeaderValue::from_static(match self.audience {
                Audience::Admin | Audience::Public => "same-origin",
                Audience::Share => "no-referrer",
            }),
        );
        let script_src = nonce.map_or_else(
            || "script-src 'none'".to_owned(),
            |n| format!("script-src 'nonce-{n}'"),
        );
        // Share pages submit nothing; the cockpit's top-up form ends on the checkout page,
        // which may be Stripe's: form-action is left open there.
        let forms = match self.audience {
            Audience::Admin => "",
            Audience::Public => "; form-action 'self'",
            Audience::Share => "; form-action 'none'",
        };
        let csp = format!(
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; {script_src}; base-uri 'none'; frame-ancestors 'none'{forms}"
        );
        if let Ok(v) = HeaderValue::from_str(&csp) {
            h.insert(header::CONTENT_SECURITY_POLICY, v);
        }
        res
    }
}

/// A random CSP nonce (hex; a new one per response).
fn nonce() -> String {
    let mut bytes = [0u8; 16];
    if getrandom::fill(&mut bytes).is_err() {
        // No randomness: a fixed nonce would let injected scripts run; run none instead.
        return "unavailable".to_owned();
    }
    bytes.iter().fold(String::with_capacity(32), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The document: head with the style sheet, header, main, then the script (with its nonce)
/// if any.
fn document(
    lang: &str,
    title: &str,
    header: &Markup,
    main: &Markup,
    script: Option<(&'static str, &str)>,
) -> String {
    html! {
        // maud's own `<!DOCTYPE html>` constant (pre-escaped by maud).
        (DOCTYPE) "\n"
        html lang=(lang) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width,initial-scale=1";
                meta name="robots" content="noindex";
                title { (title) }
                // The fixed CSS constant: `<style>` is raw text, escaping would turn `>` into `&gt;`.
                style { (PreEscaped(CSS)) }
            }
            body {
                "\n"
                header class="top" { (header) }
                "\n"
                main { "\n" (main) "\n" }
                "\n"
                @if let Some((code, nonce)) = script {
                    // A `&'static str` script of this crate: `<script>` is raw text (`"`, `&&` stay as is).
                    script nonce=(nonce) { (PreEscaped(code)) }
                    "\n"
                }
            }
        }
        "\n"
    }
    .into_string()
}

/// The header of pages without navigation.
pub(crate) fn brand_header() -> Markup {
    html! { span class="brand" { "Usage Quota Guardian" } }
}

/// [`brand_header`] and the language links of `path?query`.
pub(crate) fn public_header(path: &str, query: &[(String, String)], lang: &str) -> Markup {
    html! { (brand_header()) (lang_links(path, query, lang)) }
}

/// The header of the admin pages: the site, its pages, `/metrics`, the language links.
pub(crate) fn admin_header(lang: &str, path: &str, query: &[(String, String)]) -> Markup {
    let l = crate::pages::i18n::labels(lang);
    let local = |page: &str| with_query(page, &[("lang", lang)]);
    html! {
        a class="brand" href=(local("/analytics")) { "Usage Quota Guardian" }
        nav aria-label="Navigation" {
            a data-testid="link-cockpit" href=(local("/analytics")) { (l.cockpit) }
            a data-testid="link-plans" href=(local("/plans")) { (l.plans) }
            a data-testid="link-monitoring" href=(local("/monitoring")) { (l.monitoring) }
            a data-testid="link-metrics" href="/metrics" { "/metrics" }
        }
        (lang_links(path, query, lang))
        form class="logout" method="post" action="/logout" data-testid="logout-form" {
            input type="hidden" name="lang" value=(lang);
            button type="submit" data-testid="logout-button" { (l.sign_out) }
        }
    }
}

/// A simple message page (errors: 400, 403, 404, 503...).
pub(crate) fn message_page(
    status: StatusCode,
    lang: &str,
    title: &str,
    text: &str,
    audience: Audience,
) -> Response {
    Page {
        lang,
        title,
        header: brand_header(),
        main: html! {
            section class="card" data-testid="message" {
                h1 { (title) }
                p { (text) }
            }
        },
        script: None,
        audience,
    }
    .respond(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_document_escapes_its_title_and_keeps_the_style_sheet_raw() {
        let doc = document(
            "en",
            "<script>alert('x') & \"y\"</script>",
            &brand_header(),
            &html! { p { "<b>" } },
            Some(("var a=\"<\"&&1;", "n0nce")),
        );
        assert!(doc.starts_with("<!DOCTYPE html>\n<html lang=\"en\"><head>"));
        assert!(doc.contains(
            "<title>&lt;script&gt;alert('x') &amp; &quot;y&quot;&lt;/script&gt;</title>"
        ));
        assert!(doc.contains(&format!("<style>{CSS}</style>")));
        assert!(doc.contains("<p>&lt;b&gt;</p>"));
        assert!(doc.contains("<script nonce=\"n0nce\">var a=\"<\"&&1;</script>"));
    }

    #[test]
    fn language_links_keep_the_other_parameters() {
        let q = vec![
            ("brandId".to_owned(), "b 1&x".to_owned()),
            ("lang".to_owned(), "fr".to_owned()),
        ];
        let html = lang_links("/analytics", &q, "fr").into_string();
        assert!(html.contains("href=\"/analytics?brandId=b%201%26x&amp;lang=en\""));
        assert!(html.contains("data-testid=\"lang-fr\""));
        assert!(html.contains("lang=\"fr\" hreflang=\"fr\" href=\"/analytics?brandId=b%201%26x&amp;lang=fr\" aria-current=\"true\">Français</a>"));
        assert!(html.contains("href=\"/analytics?brandId=b%201%26x&amp;lang=en\">English</a>"));
    }

    #[test]
    fn language_comes_from_the_query_then_accept_language_then_french() {
        let mut h = HeaderMap::new();
        assert_eq!(page_lang(None, &h), "fr");
        h.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("de, en-GB;q=0.8"),
        );
        assert_eq!(page_lang(None, &h), "en");
        assert_eq!(page_lang(Some("fr"), &h), "fr");
    }
}
