//! `GET /v1/esignet/login`: where `/authorize` sends the browser. A placeholder until the HTML login pages
//! exist: it lists the authorization parameters it received and explains that the login runs through the
//! `/authorization/*` API. Every value is HTML-escaped, and the page forbids scripts, framing and sniffing.

use esignet_sdk::{Request, Response};

/// The placeholder page for this request.
pub fn page(req: &Request, issuer: &str) -> Response {
    let rows: String = req
        .query_pairs()
        .iter()
        .map(|(name, value)| {
            format!(
                "<tr><th>{}</th><td>{}</td></tr>\n",
                escape(name),
                escape(value)
            )
        })
        .collect();
    let body = format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>eSignet login</title></head>\n\
         <body>\n<h1>eSignet login</h1>\n\
         <p>The login UI of this server is API-driven: a client calls <code>POST /v1/esignet/authorization/v3/oauth-details</code> \
         with these parameters, then <code>send-otp</code>, <code>v3/authenticate</code> and <code>auth-code</code>, \
         and sends the browser to the returned redirect URI.</p>\n\
         <p>Issuer: <code>{}</code></p>\n<table>\n{}</table>\n</body>\n</html>\n",
        escape(issuer),
        rows
    );
    Response::html(body)
        .with_header("cache-control", "no-store")
        .with_header(
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'",
        )
        .with_header("x-frame-options", "DENY")
        .with_header("x-content-type-options", "nosniff")
        .with_header("referrer-policy", "no-referrer")
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

    #[test]
    fn lists_parameters_escaped() {
        let req = Request {
            method: "GET".into(),
            query: "client_id=c1&state=%3Cscript%3Ealert(1)%3C%2Fscript%3E".into(),
            ..Request::default()
        };
        let r = page(&req, "http://x/v1/esignet");
        let text = String::from_utf8(r.body).unwrap();
        assert!(text.contains("<tr><th>client_id</th><td>c1</td></tr>"));
        assert!(text.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(!text.contains("<script>"));
        assert_eq!(
            r.headers
                .iter()
                .filter(|(n, _)| n == "content-security-policy")
                .count(),
            1
        );
    }
}
