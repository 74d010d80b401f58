//! The login pages' static files, compiled in: the ES modules `login.js` (screens), `api.js` (the UI API) and
//! `texts.js` (translations), `login.css` and the language files, served under `/v1/esignet/login/assets/`.
//!
//! Caching: the page links `login.js`, `login.css` and the language files with `?v=<VERSION>` (a hash of every
//! asset), so those are cached for a day and a new build is picked up at once. The modules `login.js` imports
//! (`api.js`, `texts.js`) cannot carry the version, so they are revalidated on every use (`no-cache`); every
//! asset has the version as `ETag` and a matching `If-None-Match` gets 304.

use esignet_sdk::Response;

use crate::i18n::{self, LANGUAGES};

/// The page template (see `login_page`).
pub const HTML: &str = include_str!("../assets/login.html");
/// The page's script (an ES module).
pub const LOGIN_JS: &str = include_str!("../assets/login.js");
/// The UI API module.
pub const API_JS: &str = include_str!("../assets/api.js");
/// The translation module.
pub const TEXTS_JS: &str = include_str!("../assets/texts.js");
/// The page's style sheet.
pub const CSS: &str = include_str!("../assets/login.css");

/// Where the files are served.
pub const PREFIX: &str = "/v1/esignet/login/assets/";

const JS_TYPE: &str = "text/javascript; charset=utf-8";
/// Linked with `?v=`: cached for a day.
const VERSIONED: &str = "public, max-age=86400";
/// Imported without a version: revalidated each time.
const REVALIDATED: &str = "no-cache";

const fn fnv1a(mut hash: u64, bytes: &[u8]) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

const fn version_hash() -> u64 {
    let files = [HTML, LOGIN_JS, API_JS, TEXTS_JS, CSS];
    let mut hash = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < files.len() {
        hash = fnv1a(hash, files[i].as_bytes());
        i += 1;
    }
    i = 0;
    while i < LANGUAGES.len() {
        hash = fnv1a(hash, LANGUAGES[i].json.as_bytes());
        i += 1;
    }
    hash
}

/// A hash of every asset, computed at compile time.
const VERSION: u64 = version_hash();

/// The asset version the page puts in its links.
pub fn version() -> String {
    format!("{:012x}", VERSION & 0xffff_ffff_ffff)
}

/// The asset at `path` (a full request path), `None` when there is none; 304 when `if_none_match` names the
/// current version.
pub fn serve(path: &str, if_none_match: Option<&str>) -> Option<Response> {
    let name = path.strip_prefix(PREFIX)?;
    let (body, content_type, cache) = match name {
        "login.js" => (LOGIN_JS, JS_TYPE, VERSIONED),
        "api.js" => (API_JS, JS_TYPE, REVALIDATED),
        "texts.js" => (TEXTS_JS, JS_TYPE, REVALIDATED),
        "login.css" => (CSS, "text/css; charset=utf-8", VERSIONED),
        _ => {
            let code = name.strip_prefix("i18n/")?.strip_suffix(".json")?;
            let json = i18n::find(code)?.json;
            (json, "application/json; charset=utf-8", VERSIONED)
        }
    };
    let etag = format!("\"{}\"", version());
    let fresh = if_none_match.is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let response = Response {
        status: if fresh { 304 } else { 200 },
        headers: Vec::new(),
        body: if fresh {
            Vec::new()
        } else {
            body.as_bytes().to_vec()
        },
    };
    Some(
        response
            .with_header("content-type", content_type)
            .with_header("cache-control", cache)
            .with_header("etag", &etag)
            .with_header("x-content-type-options", "nosniff")
            .with_header(
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_known_files_only() {
        let js = serve("/v1/esignet/login/assets/login.js", None).unwrap();
        assert_eq!(js.header("content-type"), Some(JS_TYPE));
        assert_eq!(js.body, LOGIN_JS.as_bytes());
        let api = serve("/v1/esignet/login/assets/api.js", None).unwrap();
        assert_eq!(api.header("cache-control"), Some("no-cache"));
        let ar = serve("/v1/esignet/login/assets/i18n/ar.json", None).unwrap();
        assert!(String::from_utf8(ar.body).unwrap().contains("\"rtl\""));
        for bad in [
            "/v1/esignet/login/assets/i18n/xx.json",
            "/v1/esignet/login/assets/i18n/../login.js",
            "/v1/esignet/login/assets/login.html",
            "/v1/esignet/login/assets/",
            "/v1/esignet/login/login.js",
        ] {
            assert!(serve(bad, None).is_none(), "{bad}");
        }
        assert_eq!(version().len(), 12);
    }

    #[test]
    fn current_etag_gets_304() {
        let etag = format!("\"{}\"", version());
        let r = serve(
            "/v1/esignet/login/assets/api.js",
            Some(&format!("\"x\", {etag}")),
        )
        .unwrap();
        assert_eq!((r.status, r.body.len()), (304, 0));
        let r = serve("/v1/esignet/login/assets/api.js", Some("\"old\"")).unwrap();
        assert_eq!(r.status, 200);
    }

    #[test]
    fn pages_stay_small() {
        let total = HTML.len()
            + LOGIN_JS.len()
            + API_JS.len()
            + TEXTS_JS.len()
            + CSS.len()
            + crate::i18n::DEFAULT.json.len();
        assert!(
            total < 40 * 1024,
            "page + scripts + style + one language = {total} bytes"
        );
    }
}
