//! Tests for [`super::validate_authorize`]: ES-06 a–e, ES-09 a–c, CF-01, CF-02 a–g.

use serde_json::json;

use super::*;
use crate::client::ClientDetail;

const CC: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
const ISSUER: &str = "https://esignet.test/v1/esignet";

fn client(id: &str, additional: Value) -> ClientDetail {
    serde_json::from_value(json!({
        "id": id, "name": {"@none": id}, "rp_id": "rp", "redirect_uris": ["https://rp.test/cb"],
        "claims": ["name", "email"], "acr_values": ["mosip:idp:acr:generated-code"],
        "public_key": {"kty": "RSA"}, "status": "ACTIVE", "additional_config": additional
    }))
    .unwrap()
}

fn base_query() -> String {
    format!(
        "response_type=code&client_id=client-a&redirect_uri=https%3A%2F%2Frp.test%2Fcb&scope=openid\
         &state={}&nonce=n-0123456789abcdef0123456789abcdef&code_challenge={CC}&code_challenge_method=S256",
        "s".repeat(128)
    )
}

fn run(query: &str, c: &ClientDetail) -> Result<ValidatedAuthorize, AuthorizeFailure> {
    validate_authorize(
        &AuthorizeRequest::from_query(query),
        Some(c),
        &AuthorizePolicy::default(),
        false,
    )
}

fn assert_redirected(
    r: Result<ValidatedAuthorize, AuthorizeFailure>,
    code: EsignetError,
    oauth: &str,
) {
    let f = r.unwrap_err();
    assert_eq!(f.error, code);
    let url = f.redirect_url(ISSUER).expect("error must be redirected");
    assert!(
        url.starts_with(&format!("https://rp.test/cb?error={oauth}&")),
        "{url}"
    );
    assert!(
        url.contains(&format!("&state={}&", "s".repeat(128))),
        "{url}"
    );
}

#[test]
fn happy_path() {
    let v = run(&base_query(), &client("client-a", json!({}))).unwrap();
    assert_eq!(v.client_id, "client-a");
    assert_eq!(v.redirect_uri, "https://rp.test/cb");
    assert_eq!(v.scopes.openid, vec!["openid"]);
    assert_eq!(v.pkce.unwrap().code_challenge, CC);
    assert_eq!(v.state.unwrap().len(), 128);
}

#[test]
fn es06_pkce_required_client_variants() {
    let p = client("client-p", json!({"require_pkce": true}));
    let q = base_query().replace("client-a", "client-p");
    let without = q.replace(
        &format!("&code_challenge={CC}&code_challenge_method=S256"),
        "",
    );
    let cases = [
        (without.clone(), EsignetError::UsePkce),
        (
            format!("{without}&code_challenge={CC}&code_challenge_method=plain"),
            EsignetError::UnsupportedPkceChallengeMethod,
        ),
        (
            format!("{without}&code_challenge={CC}"),
            EsignetError::InvalidPkceChallenge,
        ),
        (
            format!("{without}&code_challenge_method=S256"),
            EsignetError::InvalidPkceChallenge,
        ),
        (
            format!(
                "{without}&code_challenge={}&code_challenge_method=S256",
                "a".repeat(20)
            ),
            EsignetError::InvalidPkceChallenge,
        ),
    ];
    for (query, code) in cases {
        assert_redirected(run(&query, &p), code, "invalid_request");
    }
    assert!(run(&q, &p).is_ok());
}

#[test]
fn server_profile_forces_pkce_and_par() {
    let a = client("client-a", json!({}));
    let without = base_query().replace(
        &format!("&code_challenge={CC}&code_challenge_method=S256"),
        "",
    );
    let req = AuthorizeRequest::from_query(&without);
    let policy = AuthorizePolicy {
        require_pkce: true,
        ..AuthorizePolicy::default()
    };
    assert_eq!(
        validate_authorize(&req, Some(&a), &policy, false)
            .unwrap_err()
            .error,
        EsignetError::UsePkce
    );
    let par = AuthorizePolicy {
        require_par: true,
        ..AuthorizePolicy::default()
    };
    let req = AuthorizeRequest::from_query(&base_query());
    assert_eq!(
        validate_authorize(&req, Some(&a), &par, false)
            .unwrap_err()
            .error,
        EsignetError::InvalidRequest
    );
    assert!(validate_authorize(&req, Some(&a), &par, true).is_ok());
    let d = client(
        "client-a",
        json!({"require_pushed_authorization_requests": true}),
    );
    assert_eq!(
        validate_authorize(&req, Some(&d), &AuthorizePolicy::default(), false)
            .unwrap_err()
            .error,
        EsignetError::InvalidRequest
    );
}

#[test]
fn es09_prompt() {
    let a = client("client-a", json!({}));
    assert_redirected(
        run(&format!("{}&prompt=none", base_query()), &a),
        EsignetError::LoginRequired,
        "login_required",
    );
    let login = run(&format!("{}&prompt=login", base_query()), &a).unwrap();
    assert_eq!(login.prompt, vec![Prompt::Login]);
    assert_redirected(
        run(&format!("{}&prompt=none%20login", base_query()), &a),
        EsignetError::InvalidRequest,
        "invalid_request",
    );
    assert_redirected(
        run(&format!("{}&prompt=bogus", base_query()), &a),
        EsignetError::InvalidPrompt,
        "invalid_request",
    );
}

#[test]
fn prompt_none_reports_other_errors_first() {
    let a = client("client-a", json!({}));
    let q = format!("{}&prompt=none", base_query()).replace("scope=openid", "scope=profile");
    assert_redirected(run(&q, &a), EsignetError::InvalidScope, "invalid_scope");
}

#[test]
fn cf02_request_tolerance() {
    let a = client("client-a", json!({}));
    // (a) response_type omitted
    assert_redirected(
        run(&base_query().replace("response_type=code&", ""), &a),
        EsignetError::InvalidResponseType,
        "unsupported_response_type",
    );
    assert_redirected(
        run(
            &base_query().replace("response_type=code", "response_type=token"),
            &a,
        ),
        EsignetError::InvalidResponseType,
        "unsupported_response_type",
    );
    // (b) unknown parameter
    assert!(run(&format!("{}&extra=foobar", base_query()), &a).is_ok());
    // (c) nonce omitted
    let no_nonce = run(
        &base_query().replace("&nonce=n-0123456789abcdef0123456789abcdef", ""),
        &a,
    )
    .unwrap();
    assert_eq!(no_nonce.nonce, None);
    // (d) reversed order, (e) unknown scope
    assert_eq!(
        run(
            &base_query().replace("scope=openid", "scope=email%20openid"),
            &a
        )
        .unwrap()
        .scopes
        .openid,
        vec!["email", "openid"]
    );
    assert_eq!(
        run(
            &base_query().replace("scope=openid", "scope=openid%20foo"),
            &a
        )
        .unwrap()
        .scopes
        .openid,
        vec!["openid"]
    );
    // (f) double space tolerated, tab rejected
    assert_eq!(
        run(
            &base_query().replace("scope=openid", "scope=openid%20%20profile"),
            &a
        )
        .unwrap()
        .scopes
        .openid,
        vec!["openid", "profile"]
    );
    assert_redirected(
        run(
            &base_query().replace("scope=openid", "scope=openid%20openid%09profile"),
            &a,
        ),
        EsignetError::InvalidScope,
        "invalid_scope",
    );
    // (g) no openid
    assert_redirected(
        run(&base_query().replace("scope=openid", "scope=profile"), &a),
        EsignetError::InvalidScope,
        "invalid_scope",
    );
}

#[test]
fn cf01_client_and_redirect_errors_are_not_redirected() {
    let a = client("client-a", json!({}));
    let unregistered =
        run(&base_query().replace("rp.test%2Fcb", "rp.test%2Fcb-x1"), &a).unwrap_err();
    assert_eq!(unregistered.error, EsignetError::InvalidRedirectUri);
    assert_eq!(unregistered.redirect_url(ISSUER), None);
    let missing = run(
        &base_query().replace("&redirect_uri=https%3A%2F%2Frp.test%2Fcb", ""),
        &a,
    )
    .unwrap_err();
    assert_eq!(missing.error, EsignetError::InvalidRedirectUri);
    assert_eq!(missing.redirect_url(ISSUER), None);
    let req = AuthorizeRequest::from_query(&base_query());
    let unknown = validate_authorize(&req, None, &AuthorizePolicy::default(), false).unwrap_err();
    assert_eq!(
        (unknown.error, unknown.redirect_url(ISSUER)),
        (EsignetError::InvalidClientId, None)
    );
    let mismatch = run(&base_query(), &client("client-b", json!({}))).unwrap_err();
    assert_eq!(
        (mismatch.error, mismatch.redirect_url(ISSUER)),
        (EsignetError::InvalidClientId, None)
    );
    let mut inactive = client("client-a", json!({}));
    inactive.status = crate::client::ClientStatus::Inactive;
    assert_eq!(
        run(&base_query(), &inactive)
            .unwrap_err()
            .redirect_url(ISSUER),
        None
    );
}

#[test]
fn other_fields() {
    let a = client("client-a", json!({}));
    assert_redirected(
        run(&format!("{}&display=fullscreen", base_query()), &a),
        EsignetError::InvalidDisplay,
        "invalid_request",
    );
    assert_eq!(
        run(&format!("{}&display=popup", base_query()), &a)
            .unwrap()
            .display
            .as_deref(),
        Some("popup")
    );
    assert_eq!(
        run(&format!("{}&max_age=600", base_query()), &a)
            .unwrap()
            .max_age,
        Some(600)
    );
    assert_redirected(
        run(&format!("{}&max_age=-1", base_query()), &a),
        EsignetError::InvalidRequest,
        "invalid_request",
    );
    assert_redirected(
        run(&format!("{}&max_age=1.5", base_query()), &a),
        EsignetError::InvalidRequest,
        "invalid_request",
    );
    assert_redirected(
        run(&format!("{}&scope=profile", base_query()), &a),
        EsignetError::InvalidRequest,
        "invalid_request",
    );
    assert_redirected(
        run(&format!("{}&request=eyJ", base_query()), &a),
        EsignetError::RequestNotSupported,
        "request_not_supported",
    );
    assert_redirected(
        run(&format!("{}&claims=%7Bx", base_query()), &a),
        EsignetError::InvalidClaim,
        "invalid_request",
    );
    let v = run(
        &format!(
            "{}&claims_locales=fr%20en&acr_values=a%20%20b&ui_locales=en",
            base_query()
        ),
        &a,
    )
    .unwrap();
    assert_eq!(v.claims_locales, vec!["fr", "en"]);
    assert_eq!(v.acr_values, vec!["a", "b"]);
}

#[test]
fn userinfo_claims_need_openid_and_json_max_age() {
    let a = client("client-a", json!({}));
    let req: AuthorizeRequest = serde_json::from_value(json!({
        "clientId": "client-a", "scope": "mosip_identity_vc_sd_jwt", "responseType": "code",
        "redirectUri": "https://rp.test/cb", "claims": {"userinfo": {"email": null}}
    }))
    .unwrap();
    let f = validate_authorize(&req, Some(&a), &AuthorizePolicy::default(), false).unwrap_err();
    assert_eq!(f.error, EsignetError::InvalidScope);
    let mut ok = req.clone();
    ok.scope = Some("openid".into());
    ok.max_age = Some(json!(0));
    assert_eq!(
        validate_authorize(&ok, Some(&a), &AuthorizePolicy::default(), false)
            .unwrap()
            .max_age,
        Some(0)
    );
    ok.max_age = Some(json!(-5));
    assert_eq!(
        validate_authorize(&ok, Some(&a), &AuthorizePolicy::default(), false)
            .unwrap_err()
            .error,
        EsignetError::InvalidRequest
    );
}

#[test]
fn oversized_parameters_and_dpop_jkt_are_invalid_request() {
    let c = client("client-a", json!({}));
    let q = base_query().replace(&"s".repeat(128), &"s".repeat(512));
    assert_eq!(run(&q, &c).unwrap().state.unwrap().len(), 512);
    let q = base_query().replace(&"s".repeat(128), &"s".repeat(513));
    assert_eq!(run(&q, &c).unwrap_err().error, EsignetError::InvalidRequest);
    for (name, max) in [
        ("nonce", MAX_STATE_NONCE_CHARS),
        ("claims_locales", MAX_LOCALES_CHARS),
        ("ui_locales", MAX_LOCALES_CHARS),
        ("acr_values", MAX_SCOPE_ACR_CHARS),
    ] {
        let base = base_query().replace("&nonce=n-0123456789abcdef0123456789abcdef", "");
        let ok = format!("{base}&{name}={}", "a".repeat(max));
        assert!(run(&ok, &c).is_ok(), "{name}");
        let long = format!("{base}&{name}={}", "a".repeat(max + 1));
        assert_redirected(
            run(&long, &c),
            EsignetError::InvalidRequest,
            "invalid_request",
        );
    }
    let long_scope = base_query().replace(
        "scope=openid",
        &format!("scope=openid{}", "%20x".repeat(600)),
    );
    assert_redirected(
        run(&long_scope, &c),
        EsignetError::InvalidRequest,
        "invalid_request",
    );
    let dpop = format!(
        "{}&dpop_jkt=0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I",
        base_query()
    );
    assert_redirected(
        run(&dpop, &c),
        EsignetError::InvalidRequest,
        "invalid_request",
    );
}
