//! One validator per client-management request field, each failing with that field's own eSignet error code.
//!
//! Text that reaches the UI or a browser (names, URIs) must be printable: control characters, Unicode bidi
//! overrides and `<`/`>` are refused everywhere, so no `<script` or header-splitting value is ever stored.
//! Identifiers (`clientId`, `relyingPartyId`) use the RFC 3986 unreserved set, so they need no escaping in a
//! path, a cache key or a log. Redirect URIs follow the matching policy of [`crate::client::redirect_uri_matches`]
//! (wildcards only in the path) plus registration rules: https; http only on a loopback host; or a private-use
//! scheme in reverse-domain form (RFC 8252 §7.1) such as `io.rp.app:/cb`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::iso639::is_language_code;
use crate::client::redirect_uri::{is_acceptable_uri, split, Parts};
use crate::client::{ClientStatus, NO_LANGUAGE};
use crate::error::EsignetError;

/// Longest client id and relying-party id.
const MAX_ID_LEN: usize = 100;
/// Longest `clientName`.
const MAX_NAME_LEN: usize = 256;
/// Longest name in `clientNameLangMap`.
const MAX_LANG_NAME_LEN: usize = 50;
/// Longest logo or redirect URI.
const MAX_URI_LEN: usize = 2048;

/// Claims a client may register for (`userClaims`); discovery's `claims_supported` plus eSignet's extras.
pub const SUPPORTED_CLAIMS: [&str; 21] = [
    "name",
    "given_name",
    "middle_name",
    "family_name",
    "nickname",
    "preferred_username",
    "profile",
    "picture",
    "website",
    "email",
    "email_verified",
    "gender",
    "birthdate",
    "zoneinfo",
    "locale",
    "phone_number",
    "phone_number_verified",
    "address",
    "updated_at",
    "individual_id",
    "registration_type",
];

/// Whether `s` is safe to show: no control characters, no bidi overrides or isolates, no `<` or `>`.
pub fn is_safe_text(s: &str) -> bool {
    !s.chars().any(|c| {
        c.is_control() || matches!(c, '<' | '>' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
    })
}

fn is_identifier(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_LEN
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// `clientId`: 1..100 characters of `A-Z a-z 0-9 - . _ ~`.
pub fn client_id(v: &Value) -> Result<String, EsignetError> {
    match v.as_str() {
        Some(s) if is_identifier(s) => Ok(s.to_owned()),
        _ => Err(EsignetError::InvalidClientId),
    }
}

/// `relyingPartyId`: 1..100 characters of `A-Z a-z 0-9 - . _ ~`.
pub fn rp_id(v: &Value) -> Result<String, EsignetError> {
    match v.as_str() {
        Some(s) if is_identifier(s) => Ok(s.to_owned()),
        _ => Err(EsignetError::InvalidRpId),
    }
}

/// `clientName`: not blank, at most 256 characters, safe text.
pub fn client_name(v: &Value) -> Result<String, EsignetError> {
    match v.as_str() {
        Some(s) if !s.trim().is_empty() && s.chars().count() <= MAX_NAME_LEN && is_safe_text(s) => {
            Ok(s.to_owned())
        }
        _ => Err(EsignetError::InvalidClientName),
    }
}

/// `clientNameLangMap`: an object of ISO 639-3 code → name (not blank, safe, at most 50 characters).
pub fn client_name_lang_map(v: &Value) -> Result<BTreeMap<String, String>, EsignetError> {
    let obj = v.as_object().ok_or(EsignetError::InvalidClientName)?;
    let mut map = BTreeMap::new();
    for (lang, name) in obj {
        if !is_language_code(lang) {
            return Err(EsignetError::InvalidLanguageCode);
        }
        let name = match name.as_str() {
            Some(n) if !n.trim().is_empty() && is_safe_text(n) => n,
            _ => return Err(EsignetError::InvalidClientNameValue),
        };
        if name.chars().count() > MAX_LANG_NAME_LEN {
            return Err(EsignetError::InvalidClientNameLength);
        }
        map.insert(lang.clone(), name.to_owned());
    }
    Ok(map)
}

/// A lang map in additionalConfig (`purpose.title`, `purpose.subTitle`): `@none` or ISO 639-3 keys, safe text.
pub fn display_lang_map(v: &Value, max_len: usize) -> bool {
    v.as_object().is_some_and(|o| {
        o.iter().all(|(lang, text)| {
            (lang == NO_LANGUAGE || is_language_code(lang))
                && text
                    .as_str()
                    .is_some_and(|t| t.chars().count() <= max_len && is_safe_text(t))
        })
    })
}

/// `status`: `ACTIVE` or `INACTIVE`.
pub fn status(v: &Value) -> Result<ClientStatus, EsignetError> {
    match v.as_str() {
        Some("ACTIVE") => Ok(ClientStatus::Active),
        Some("INACTIVE") => Ok(ClientStatus::Inactive),
        _ => Err(EsignetError::InvalidStatus),
    }
}

/// A JSON array of `min..=max` distinct non-blank strings, each accepted by `ok`; otherwise `err`.
pub fn string_list(
    v: &Value,
    min: usize,
    max: usize,
    err: EsignetError,
    ok: impl Fn(&str) -> bool,
) -> Result<Vec<String>, EsignetError> {
    let items = v.as_array().ok_or(err)?;
    if items.len() < min || items.len() > max {
        return Err(err);
    }
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        match item.as_str() {
            Some(s) if !s.trim().is_empty() && ok(s) && !out.iter().any(|o| o == s) => {
                out.push(s.to_owned())
            }
            _ => return Err(err),
        }
    }
    Ok(out)
}

/// `userClaims`: up to 30 distinct claims from [`SUPPORTED_CLAIMS`]; `invalid_claim` otherwise.
pub fn user_claims(v: &Value) -> Result<Vec<String>, EsignetError> {
    string_list(v, 0, 30, EsignetError::InvalidClaim, |c| {
        SUPPORTED_CLAIMS.contains(&c)
    })
}

/// `grantTypes`: 1..3 of `authorization_code`; `unsupported_grant_type` otherwise.
pub fn grant_types(v: &Value) -> Result<Vec<String>, EsignetError> {
    string_list(v, 1, 3, EsignetError::UnsupportedGrantType, |g| {
        g == "authorization_code"
    })
}

/// `clientAuthMethods`: 1..3 of `private_key_jwt`; `invalid_client_auth` otherwise.
pub fn auth_methods(v: &Value) -> Result<Vec<String>, EsignetError> {
    string_list(v, 1, 3, EsignetError::InvalidClientAuth, |m| {
        m == "private_key_jwt"
    })
}

/// Whether an authority is `host[:port]` with a DNS name, IPv4 address or bracketed IPv6 address.
fn is_host_port(authority: &str) -> bool {
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => (&authority[..i], Some(&authority[i + 1..])),
        _ => (authority, None),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    let host_ok = if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        !inner.is_empty()
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.')
    } else {
        !host.is_empty()
            && host.split('.').all(|label| {
                !label.is_empty()
                    && label.len() <= 63
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-')
            })
    };
    port_ok && host_ok
}

fn host_of(authority: &str) -> &str {
    match authority.rfind(':') {
        Some(i) if !authority[i..].contains(']') => &authority[..i],
        _ => authority,
    }
}

fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|seg| {
        let s = seg.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    })
}

/// Parts of a printable absolute URI with a lower-case scheme and no fragment, userinfo or dot segment.
fn parse_uri(uri: &str) -> Option<Parts<'_>> {
    if uri.len() > MAX_URI_LEN || !is_acceptable_uri(uri) {
        return None;
    }
    let parts = split(uri)?;
    let lower_scheme = parts.scheme.bytes().all(|b| !b.is_ascii_uppercase());
    (lower_scheme && !has_dot_segment(parts.path)).then_some(parts)
}

/// `logoUri`: an absolute https URL without wildcards; `invalid_uri` otherwise.
pub fn logo_uri(v: &Value) -> Result<String, EsignetError> {
    let s = v.as_str().ok_or(EsignetError::InvalidUri)?;
    let ok = !s.contains('*')
        && parse_uri(s)
            .is_some_and(|p| p.scheme == "https" && p.authority.is_some_and(is_host_port));
    if ok {
        Ok(s.to_owned())
    } else {
        Err(EsignetError::InvalidUri)
    }
}

/// Whether `uri` may be registered as a redirect URI (see the module docs).
pub fn is_registrable_redirect_uri(uri: &str) -> bool {
    let Some(p) = parse_uri(uri) else {
        return false;
    };
    let fixed_star = p.scheme.contains('*')
        || p.authority.is_some_and(|a| a.contains('*'))
        || p.query.is_some_and(|q| q.contains('*'));
    if fixed_star {
        return false;
    }
    match p.scheme {
        "https" => p.authority.is_some_and(is_host_port),
        "http" => p.authority.is_some_and(|a| {
            is_host_port(a) && matches!(host_of(a), "localhost" | "127.0.0.1" | "[::1]")
        }),
        scheme => {
            // Private-use scheme: reverse-domain form, so `javascript:`, `data:`, `file:` never qualify.
            let reverse_domain = scheme.contains('.')
                && scheme.split('.').all(|l| {
                    !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                });
            let authority_ok = p.authority.is_none_or(|a| a.is_empty() || is_host_port(a));
            reverse_domain && authority_ok && !(p.authority.is_none() && p.path.is_empty())
        }
    }
}

/// `redirectUris`: 1..5 distinct registrable URIs; `invalid_redirect_uri` otherwise.
pub fn redirect_uris(v: &Value) -> Result<Vec<String>, EsignetError> {
    string_list(
        v,
        1,
        5,
        EsignetError::InvalidRedirectUri,
        is_registrable_redirect_uri,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirect_uri_registration_policy() {
        for ok in [
            "https://rp.test/cb",
            "https://rp.test:8443/cb?x=1",
            "https://rp.test",
            "http://localhost:3000/callback",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "io.rp.app:/cb",
            "com.example.app:/oauth2/redirect",
            "https://rp.test/app/**",
            "https://rp.test/cb-*.html",
        ] {
            assert!(is_registrable_redirect_uri(ok), "{ok}");
        }
        for bad in [
            "http://rp.test/cb",
            "http://localhost.evil.test/cb",
            "https://*.rp.test/cb",
            "https://rp.test*/cb",
            "https://rp.test:*/cb",
            "https://rp.test/cb?x=*",
            "*://rp.test/cb",
            "https://rp.test/cb#frag",
            "https://user:pw@rp.test/cb",
            "https://rp.test/a/../b",
            "https://rp.test/%2e%2e/b",
            "HTTPS://rp.test/cb",
            "https:///cb",
            "https://rp..test/cb",
            "https://rp.test:99999999/cb",
            "javascript:alert(1)",
            "javascript://rp.test/%0aalert(1)",
            "data:text/html,<script>alert(1)</script>",
            "vbscript:msgbox",
            "file:///etc/passwd",
            "myapp:/cb",
            "io.rp.app:",
            "/relative/cb",
            "https://rp.test/<script>",
            "https://rp.test/\u{0}",
            "https://rp.test/ cb",
            "",
        ] {
            assert!(!is_registrable_redirect_uri(bad), "{bad}");
        }
    }
}
