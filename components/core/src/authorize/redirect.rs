//! Building the URLs the browser is sent back to the client with.
//!
//! Parameters are appended to the redirect URI's existing query (with `&`, or `?` if it has none) and
//! percent-encoded except for RFC 3986 unreserved characters, so `state` round-trips byte-for-byte whatever
//! query decoder the client uses (a space is `%20`, never `+`). Success carries `code`, `state`, `iss`
//! (RFC 9207); failure carries `error`, `error_description` (the eSignet code), `state`, `iss`.

use crate::error::EsignetError;
use crate::ids::AuthCode;

/// RFC 6749 §4.1.2.1 / OIDC Core §3.1.2.6: an authorization error may go to the redirect URI only when the
/// client is known and the redirect URI is valid for it; otherwise the OP shows its own error page.
pub fn error_redirect_allowed(client_found: bool, redirect_valid: bool) -> bool {
    client_found && redirect_valid
}

/// Percent-encodes everything but `A-Z a-z 0-9 - . _ ~`.
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Appends `params` (skipping `None` values) to `uri`'s query.
pub fn append_query(uri: &str, params: &[(&str, Option<&str>)]) -> String {
    let mut out = uri.to_owned();
    let mut sep = if !uri.contains('?') {
        "?"
    } else if uri.ends_with('?') || uri.ends_with('&') {
        ""
    } else {
        "&"
    };
    for (name, value) in params {
        if let Some(v) = value {
            out.push_str(sep);
            out.push_str(&percent_encode(name));
            out.push('=');
            out.push_str(&percent_encode(v));
            sep = "&";
        }
    }
    out
}

/// The success redirect: `code`, `state` (if sent), `iss`.
pub fn code_redirect(
    redirect_uri: &str,
    code: &AuthCode,
    state: Option<&str>,
    issuer: &str,
) -> String {
    append_query(
        redirect_uri,
        &[
            ("code", Some(code.as_str())),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    )
}

/// The error redirect: `error` (OAuth value), `error_description` (eSignet code), `state` (if sent), `iss`.
pub fn error_redirect(
    redirect_uri: &str,
    error: EsignetError,
    state: Option<&str>,
    issuer: &str,
) -> String {
    append_query(
        redirect_uri,
        &[
            ("error", Some(error.authorize_error())),
            ("error_description", Some(error.code())),
            ("state", state),
            ("iss", Some(issuer)),
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_rule() {
        assert!(error_redirect_allowed(true, true));
        assert!(!error_redirect_allowed(true, false));
        assert!(!error_redirect_allowed(false, true));
        assert!(!error_redirect_allowed(false, false));
    }

    #[test]
    fn builds_error_redirect_with_state_verbatim() {
        let state = "a b+c/é&=";
        let url = error_redirect(
            "https://rp.test/cb",
            EsignetError::LoginRequired,
            Some(state),
            "https://op.test",
        );
        assert_eq!(
            url,
            "https://rp.test/cb?error=login_required&error_description=login_required\
             &state=a%20b%2Bc%2F%C3%A9%26%3D&iss=https%3A%2F%2Fop.test"
        );
        let decoded: Vec<(String, String)> =
            form_urlencoded::parse(url.split_once('?').unwrap().1.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
        assert_eq!(decoded[2], ("state".to_owned(), state.to_owned()));
    }

    #[test]
    fn appends_to_existing_query_and_skips_absent() {
        let code = AuthCode::new("c0de");
        assert_eq!(
            code_redirect("https://rp.test/cb?x=1", &code, None, "https://op"),
            "https://rp.test/cb?x=1&code=c0de&iss=https%3A%2F%2Fop"
        );
        assert_eq!(
            error_redirect("io.rp.app:/cb", EsignetError::UsePkce, Some("s"), "i"),
            "io.rp.app:/cb?error=invalid_request&error_description=use_pkce&state=s&iss=i"
        );
    }
}
