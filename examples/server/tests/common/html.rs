//! Reading the pages in tests: elements by `data-testid`, their text and attributes, and an
//! HTTP client for the browser side (cookie, forms, no redirect following).
#![allow(dead_code)]

use super::{Harness, Resp};

/// The byte range of the first element carrying `data-testid="<id>"` at or after `from`:
/// (start of the start tag, end of the start tag, end of the element).
fn locate(html: &str, id: &str, from: usize) -> Option<(usize, usize, usize)> {
    let needle = format!("data-testid=\"{id}\"");
    let at = html[from..].find(&needle)? + from;
    let open = html[..at].rfind('<')?;
    let tag: String = html[open + 1..]
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    let head_end = html[at..].find('>')? + at + 1;
    if matches!(tag.as_str(), "input" | "br" | "img" | "meta") || html[..head_end].ends_with("/>") {
        return Some((open, head_end, head_end));
    }
    let (open_tag, close_tag) = (format!("<{tag}"), format!("</{tag}>"));
    let mut depth = 1usize;
    let mut i = head_end;
    while depth > 0 {
        let next_open = html[i..].find(&open_tag).map(|p| p + i);
        let next_close = html[i..].find(&close_tag).map(|p| p + i)?;
        match next_open {
            Some(o) if o < next_close && html[o + open_tag.len()..].starts_with([' ', '>']) => {
                depth += 1;
                i = o + open_tag.len();
            }
            _ => {
                depth -= 1;
                i = next_close + close_tag.len();
            }
        }
    }
    Some((open, head_end, i))
}

/// Text without tags (each tag counts as a space), whitespace collapsed.
pub(crate) fn strip(fragment: &str) -> String {
    let mut out = String::new();
    let mut in_tag = false;
    for c in fragment.chars() {
        match c {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// The whole markup of the first element with this test id.
pub(crate) fn outer<'a>(html: &'a str, id: &str) -> Option<&'a str> {
    locate(html, id, 0).map(|(s, _, e)| &html[s..e])
}

/// The text of the first element with this test id.
pub(crate) fn text(html: &str, id: &str) -> Option<String> {
    locate(html, id, 0).map(|(_, h, e)| strip(&html[h..e]))
}

/// The texts of every element with this test id, in document order.
pub(crate) fn texts(html: &str, id: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut from = 0;
    while let Some((_, h, e)) = locate(html, id, from) {
        out.push(strip(&html[h..e]));
        from = h;
    }
    out
}

/// How many elements carry this test id.
pub(crate) fn count(html: &str, id: &str) -> usize {
    html.matches(&format!("data-testid=\"{id}\"")).count()
}

/// An attribute of the first element with this test id.
pub(crate) fn attr(html: &str, id: &str, name: &str) -> Option<String> {
    let (s, h, _) = locate(html, id, 0)?;
    let head = &html[s..h];
    let key = format!(" {name}=\"");
    let at = head.find(&key)? + key.len();
    let end = head[at..].find('"')? + at;
    Some(head[at..end].to_owned())
}

/// The card of one metric.
pub(crate) fn metric_card<'a>(html: &'a str, metric: &str) -> &'a str {
    let at = html
        .find(&format!("data-metric=\"{metric}\""))
        .unwrap_or_else(|| panic!("no card for {metric}"));
    let end = html[at..].find("</article>").unwrap() + at;
    &html[at..end]
}

/// The `Location` of a redirect (panics with the answer when there is none).
pub(crate) fn location(r: &Resp) -> String {
    r.header("location")
        .unwrap_or_else(|| panic!("no Location ({}): {}", r.status, r.text))
}

/// How many elements with this test id a page of a demo-catalog brand shows: one per metric
/// (3), one per counter metric for the curve and projection (2: the seats gauge has none),
/// one per timeline event, else one.
pub(crate) fn expected_count(id: &str, events: usize) -> usize {
    match id {
        "metric-card" | "metric-used" | "metric-limit" | "metric-percent" | "metric-badge"
        | "metric-remaining" | "metric-topups" => 3,
        "usage-chart" | "chart-actual" | "chart-projection" | "chart-limit"
        | "chart-limit-label" | "chart-band" | "chart-today" | "chart-x-axis" | "chart-y-axis"
        | "chart-legend" | "chart-figure" | "projection-band" | "projection-status"
        | "projection-end" | "projection-days" => 2,
        "timeline-item" | "severity-badge" => events,
        _ => 1,
    }
}

/// Events in a brand's timeline, as the API reads them.
pub(crate) async fn timeline_len(h: &Harness, brand: &str) -> usize {
    h.summary(brand).await["timeline"].as_array().unwrap().len()
}

/// `a=1&b=2`, percent-encoded.
pub(crate) fn form_body(fields: &[(&str, &str)]) -> String {
    let enc = |s: &str| {
        s.bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect::<String>()
    };
    fields
        .iter()
        .map(|(k, v)| format!("{}={}", enc(k), enc(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A browser: sends the admin cookie (when given) and never follows redirects.
pub(crate) struct Browser<'h> {
    pub(crate) h: &'h Harness,
    pub(crate) client: reqwest::Client,
    pub(crate) cookie: Option<String>,
}

impl<'h> Browser<'h> {
    /// A browser with no cookie.
    pub(crate) fn anonymous(h: &'h Harness) -> Self {
        Browser {
            h,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookie: None,
        }
    }

    /// A browser holding a sign-in session cookie (as `/login` sets it).
    pub(crate) fn admin(h: &'h Harness) -> Self {
        let state = &h.server.state;
        let (session, _) = state
            .sessions
            .open(&state.secrets, u64::MAX)
            .expect("a session");
        let mut b = Browser::anonymous(h);
        b.cookie = Some(format!("quota_admin={session}"));
        b
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("http") {
            path.to_owned()
        } else {
            format!("{}{path}", self.h.base)
        }
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Resp {
        let rb = match &self.cookie {
            Some(c) => rb.header("cookie", c),
            None => rb,
        };
        self.h.send(rb, super::Auth::None).await
    }

    /// GET a page.
    pub(crate) async fn get(&self, path: &str) -> Resp {
        self.send(self.client.get(self.url(path))).await
    }

    /// GET with extra headers.
    pub(crate) async fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> Resp {
        let mut rb = self.client.get(self.url(path));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb).await
    }

    /// POST a form, with extra headers.
    pub(crate) async fn post_form(
        &self,
        path: &str,
        fields: &[(&str, &str)],
        headers: &[(&str, &str)],
    ) -> Resp {
        let mut rb = self
            .client
            .post(self.url(path))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form_body(fields));
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        self.send(rb).await
    }
}
