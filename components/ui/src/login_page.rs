//! `GET /v1/esignet/login`: the login pages `/authorize` sends the browser to (with the original query). The
//! page is a static shell (`assets/login.html`) in the language negotiated from `ui_locales`, with `lang` and
//! `dir` set and the language switcher filled in; `assets/login.js` then runs the login through the UI API.
//! Nothing of the request other than the language choice reaches the HTML.
//!
//! Headers: a strict CSP (scripts, styles and connections from this origin only, no inline script, images also
//! from `https:` for client logos, no framing, no forms posting anywhere, no `<base>`), `X-Frame-Options: DENY`,
//! `Referrer-Policy: no-referrer` (the query holds `state` and `nonce`), `nosniff`, `no-store`.

use esignet_sdk::{Request, Response};

use crate::assets::{version, HTML};
use crate::i18n::{negotiate, Language, LANGUAGES};

/// The page's Content-Security-Policy.
pub const CSP: &str =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' https: data:; \
    connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'none'; \
    frame-ancestors 'none'";

/// The page for this request.
pub fn page(req: &Request) -> Response {
    let lang = negotiate(req.query_param("ui_locales").as_deref());
    Response::html(render(lang))
        .with_header("cache-control", "no-store")
        .with_header("content-security-policy", CSP)
        .with_header("x-frame-options", "DENY")
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
        .with_header("cross-origin-opener-policy", "same-origin")
}

/// The page in `lang`.
fn render(lang: &Language) -> String {
    let options: String = LANGUAGES
        .iter()
        .map(|l| {
            let selected = if l.code == lang.code { " selected" } else { "" };
            format!(
                "<option value=\"{}\" lang=\"{}\"{selected}>{}</option>",
                escape(l.code),
                escape(l.code),
                escape(&l.meta().name)
            )
        })
        .collect();
    let text = |key: &str| escape(&lang.text(key).unwrap_or_default());
    HTML.replace("{{v}}", &version())
        .replace("{{lang}}", &escape(lang.code))
        .replace("{{dir}}", lang.dir())
        .replace("{{title}}", &text("title"))
        .replace("{{noscript}}", &text("noscript"))
        .replace("{{languages}}", &options)
}

/// HTML text escaping (also safe inside attribute values).
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(query: &str) -> (Response, String) {
        let req = Request {
            method: "GET".into(),
            query: query.into(),
            ..Request::default()
        };
        let r = page(&req);
        let text = String::from_utf8(r.body.clone()).unwrap();
        (r, text)
    }

    #[test]
    fn language_direction_and_switcher() {
        let (_, en) = get("client_id=c1");
        assert!(en.contains("<html lang=\"en\" dir=\"ltr\">"));
        assert!(en.contains("<option value=\"en\" lang=\"en\" selected>English</option>"));
        assert!(en.contains("<option value=\"ar\" lang=\"ar\">العربية</option>"));
        let (_, ar) = get("client_id=c1&ui_locales=ar%20en");
        assert!(ar.contains("<html lang=\"ar\" dir=\"rtl\">"));
        assert!(ar.contains("<title>تسجيل الدخول</title>"));
        assert!(!ar.contains("{{"), "every placeholder is filled");
    }

    #[test]
    fn nothing_of_the_query_reaches_the_page_and_headers_are_strict() {
        let (r, text) = get("state=%3Cscript%3Ealert(1)%3C%2Fscript%3E&ui_locales=%22%3E%3Cx");
        assert!(!text.contains("alert(1)") && !text.contains("<x"));
        assert!(text.contains("<html lang=\"en\""));
        assert!(!text.contains("<script>"), "no inline script");
        let csp = r.header("content-security-policy").unwrap();
        assert!(csp.contains("default-src 'self'") && csp.contains("frame-ancestors 'none'"));
        assert!(!csp.contains("unsafe"));
        assert_eq!(r.header("x-frame-options"), Some("DENY"));
        assert_eq!(r.header("referrer-policy"), Some("no-referrer"));
        assert!(r.header("content-type").unwrap().starts_with("text/html"));
    }
}
