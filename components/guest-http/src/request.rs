//! An incoming request as the host hands it over (the whole body at once), with lookups for headers, query and
//! form parameters and JSON bodies.

use serde::de::DeserializeOwned;

/// One HTTP request. Header names arrive lower-case; `route` is the prefix that matched in `spin.toml`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// Upper-case method, e.g. `GET`.
    pub method: String,
    /// The path as received, without the query (percent-encoding kept).
    pub path: String,
    /// The raw query string without the leading `?`; empty when absent.
    pub query: String,
    /// The route prefix that matched, e.g. `/v1/esignet/oidc`.
    pub route: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Request {
    /// The first value of a header, the name compared case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }

    /// Every value of a header, in the order received.
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The path below the matched route, e.g. `/authorize` for path `/v1/esignet/authorize` under route
    /// `/v1/esignet`; the whole path when the route is not a prefix of it.
    pub fn subpath(&self) -> &str {
        self.path.strip_prefix(self.route.as_str()).unwrap_or(&self.path)
    }

    /// The decoded query parameters, in order, repeats kept.
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        decode_pairs(self.query.as_bytes())
    }

    /// The first decoded value of a query parameter.
    pub fn query_param(&self, name: &str) -> Option<String> {
        first_value(self.query.as_bytes(), name)
    }

    /// True when the body is declared `application/x-www-form-urlencoded`.
    pub fn is_form(&self) -> bool {
        self.content_type_is("application/x-www-form-urlencoded")
    }

    /// True when the body is declared `application/json` (parameters such as `charset` ignored).
    pub fn is_json(&self) -> bool {
        self.content_type_is("application/json")
    }

    /// The body decoded as `application/x-www-form-urlencoded`, in order, repeats kept. The content type is not
    /// checked; see [`Request::is_form`].
    pub fn form_pairs(&self) -> Vec<(String, String)> {
        decode_pairs(&self.body)
    }

    /// The first decoded value of a form field of the body.
    pub fn form_param(&self, name: &str) -> Option<String> {
        first_value(&self.body, name)
    }

    /// The body parsed as JSON into `T`.
    pub fn json<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_slice(&self.body)
    }

    /// The body as text; none when it is not UTF-8.
    pub fn body_text(&self) -> Option<&str> {
        std::str::from_utf8(&self.body).ok()
    }

    fn content_type_is(&self, expected: &str) -> bool {
        self.header("content-type")
            .and_then(|v| v.split(';').next())
            .is_some_and(|mime| mime.trim().eq_ignore_ascii_case(expected))
    }
}

fn decode_pairs(input: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(input).into_owned().collect()
}

fn first_value(input: &[u8], name: &str) -> Option<String> {
    form_urlencoded::parse(input)
        .find(|(n, _)| n == name)
        .map(|(_, v)| v.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> Request {
        Request {
            method: "POST".into(),
            path: "/v1/esignet/oauth/token".into(),
            query: "a=1&b=two%20words&a=3&plus=x+y".into(),
            route: "/v1/esignet".into(),
            headers: vec![
                ("content-type".into(), "application/x-www-form-urlencoded; charset=UTF-8".into()),
                ("x-multi".into(), "one".into()),
                ("x-multi".into(), "two".into()),
            ],
            body: b"grant_type=authorization_code&code=abc%2Fdef&redirect_uri=https%3A%2F%2Frp.test%2Fcb".to_vec(),
        }
    }

    #[test]
    fn header_lookup_ignores_case_and_keeps_repeats() {
        let req = request();
        assert_eq!(req.header("Content-Type"), Some("application/x-www-form-urlencoded; charset=UTF-8"));
        assert_eq!(req.header("X-MULTI"), Some("one"));
        assert_eq!(req.header_values("x-multi").collect::<Vec<_>>(), ["one", "two"]);
        assert_eq!(req.header("absent"), None);
    }

    #[test]
    fn query_params_are_decoded_and_first_wins() {
        let req = request();
        assert_eq!(req.query_param("a").as_deref(), Some("1"));
        assert_eq!(req.query_param("b").as_deref(), Some("two words"));
        assert_eq!(req.query_param("plus").as_deref(), Some("x y"));
        assert_eq!(req.query_param("zzz"), None);
        assert_eq!(req.query_pairs().len(), 4);
    }

    #[test]
    fn form_body_is_decoded() {
        let req = request();
        assert!(req.is_form());
        assert!(!req.is_json());
        assert_eq!(req.form_param("code").as_deref(), Some("abc/def"));
        assert_eq!(req.form_param("redirect_uri").as_deref(), Some("https://rp.test/cb"));
        assert_eq!(req.form_pairs()[0], ("grant_type".to_string(), "authorization_code".to_string()));
    }

    #[test]
    fn json_body_parses_or_reports_error() {
        let mut req = request();
        req.body = br#"{"jws":"a.b.c","algs":["RS256"]}"#.to_vec();
        let v: serde_json::Value = req.json().unwrap();
        assert_eq!(v["algs"][0], "RS256");
        req.body = b"not json".to_vec();
        assert!(req.json::<serde_json::Value>().is_err());
    }

    #[test]
    fn subpath_strips_route_prefix() {
        let mut req = request();
        assert_eq!(req.subpath(), "/oauth/token");
        req.route = "/elsewhere".into();
        assert_eq!(req.subpath(), "/v1/esignet/oauth/token");
    }

    #[test]
    fn body_text_rejects_invalid_utf8() {
        let mut req = request();
        assert!(req.body_text().is_some());
        req.body = vec![0xff, 0xfe];
        assert_eq!(req.body_text(), None);
    }
}
