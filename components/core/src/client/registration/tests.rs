//! Tests of request validation per endpoint, field by field, and of merging a request into a stored row.

use serde_json::{json, Value};

use super::*;
use crate::client::ClientDetail;
use crate::hashing::b64url;

fn acrs() -> AmrAcrMapping {
    AmrAcrMapping::default_mapping().unwrap()
}

fn ec_key(seed: u8) -> Value {
    json!({"kty": "EC", "crv": "P-256", "x": b64url(&[seed; 32]), "y": b64url(&[2u8; 32]), "alg": "ES256"})
}

fn create_request() -> Value {
    json!({
        "clientId": "health-portal",
        "clientName": "Health portal",
        "clientNameLangMap": {"eng": "Health portal", "fra": "Portail santé"},
        "publicKey": ec_key(1),
        "relyingPartyId": "rp-health",
        "userClaims": ["name", "email"],
        "authContextRefs": ["mosip:idp:acr:generated-code"],
        "logoUri": "https://rp.test/logo.png",
        "redirectUris": ["https://rp.test/cb", "http://localhost:3000/cb", "io.rp.app:/cb", "https://rp.test/app/*"],
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"],
        "additionalConfig": {"userinfo_response_type": "JWS", "require_pkce": true, "consent_expire_in_mins": 60}
    })
}

fn update_request() -> Value {
    json!({
        "clientName": "Health portal 2",
        "logoUri": "https://rp.test/logo2.png",
        "redirectUris": ["https://rp.test/cb2"],
        "userClaims": ["name"],
        "authContextRefs": ["mosip:idp:acr:static-code"],
        "status": "ACTIVE",
        "grantTypes": ["authorization_code"],
        "clientAuthMethods": ["private_key_jwt"]
    })
}

fn errors(r: Result<ClientChanges, Vec<FieldError>>) -> Vec<(&'static str, &'static str)> {
    r.err()
        .unwrap_or_default()
        .into_iter()
        .map(|e| (e.field, e.error.code()))
        .collect()
}

fn create(req: &Value, api: Api) -> Result<ClientChanges, Vec<FieldError>> {
    validate_request(req, api, Operation::Create, &acrs())
}

#[test]
fn a_full_create_becomes_a_row_a_reader_understands() {
    let changes = create(&create_request(), Api::Client).unwrap();
    let record = changes.into_new_record(1_700_000_000).unwrap();
    assert_eq!(record.status, "ACTIVE");
    assert_eq!(record.upd_dtimes, None);
    assert_eq!(
        record.name,
        r#"{"@none":"Health portal","eng":"Health portal","fra":"Portail santé"}"#
    );
    let cells = record.params();
    let detail = ClientDetail::from_columns(|name| {
        let i = RECORD_COLUMNS.iter().position(|c| *c == name)?;
        match &cells[i] {
            Cell::Text(s) => Some(s.clone()),
            Cell::Integer(v) => Some(v.to_string()),
            Cell::Null => None,
        }
    })
    .unwrap();
    assert_eq!(detail.id, "health-portal");
    assert!(detail.accepts_redirect_uri("https://rp.test/app/x"));
    assert!(detail.require_pkce());
    assert_eq!(detail.public_key["crv"], "P-256");
    let back = ClientRecord::from_columns(|name| {
        RECORD_COLUMNS
            .iter()
            .position(|c| *c == name)
            .map(|i| cells[i].clone())
    })
    .unwrap();
    assert_eq!(back, record);
}

#[test]
fn deprecated_apis_take_fewer_fields() {
    let mut v1 = create_request();
    v1.as_object_mut().unwrap().remove("additionalConfig");
    assert!(create(&v1, Api::OauthClient).is_ok());
    assert_eq!(
        errors(create(&v1, Api::OidcClient)),
        vec![("request", "invalid_request")]
    );
    v1.as_object_mut().unwrap().remove("clientNameLangMap");
    assert!(create(&v1, Api::OidcClient).is_ok());
    assert_eq!(
        errors(create(&create_request(), Api::OauthClient)),
        vec![("request", "invalid_request")]
    );
}

#[test]
fn unknown_members_and_non_objects_are_invalid_request() {
    let mut r = create_request();
    r["clientSecret"] = json!("x");
    assert_eq!(
        errors(create(&r, Api::Client)),
        vec![("request", "invalid_request")]
    );
    assert_eq!(
        errors(create(&json!([]), Api::Client)),
        vec![("request", "invalid_request")]
    );
    let mut r = create_request();
    r["status"] = json!("ACTIVE");
    assert_eq!(
        errors(create(&r, Api::Client)),
        vec![("request", "invalid_request")]
    );
}

#[test]
fn each_invalid_field_has_its_own_code() {
    let cases: Vec<(&str, Value, &str)> = vec![
        ("clientId", json!(""), "invalid_client_id"),
        ("clientId", json!("x".repeat(101)), "invalid_client_id"),
        ("clientId", json!("a b"), "invalid_client_id"),
        ("clientId", json!("a/b"), "invalid_client_id"),
        ("clientName", json!(" "), "invalid_client_name"),
        ("clientName", json!("x".repeat(257)), "invalid_client_name"),
        (
            "clientName",
            json!("<script>alert(1)</script>"),
            "invalid_client_name",
        ),
        ("clientName", json!("a\nb"), "invalid_client_name"),
        ("clientName", json!("a\u{202e}b"), "invalid_client_name"),
        (
            "clientNameLangMap",
            json!({"xx": "n"}),
            "invalid_language_code",
        ),
        (
            "clientNameLangMap",
            json!({"@none": "n"}),
            "invalid_language_code",
        ),
        (
            "clientNameLangMap",
            json!({"eng": ""}),
            "invalid_client_name_value",
        ),
        (
            "clientNameLangMap",
            json!({"eng": 5}),
            "invalid_client_name_value",
        ),
        (
            "clientNameLangMap",
            json!({"eng": "<script"}),
            "invalid_client_name_value",
        ),
        (
            "clientNameLangMap",
            json!({"eng": "x".repeat(51)}),
            "invalid_client_name_length",
        ),
        ("clientNameLangMap", json!(["eng"]), "invalid_client_name"),
        (
            "publicKey",
            json!({"kty": "oct", "k": "AAAA"}),
            "invalid_public_key",
        ),
        ("publicKey", json!("key"), "invalid_public_key"),
        ("relyingPartyId", json!(""), "invalid_rp_id"),
        ("relyingPartyId", json!("r".repeat(101)), "invalid_rp_id"),
        ("userClaims", json!(["name", "ssn"]), "invalid_claim"),
        ("userClaims", json!(["name", "name"]), "invalid_claim"),
        ("userClaims", json!("name"), "invalid_claim"),
        ("authContextRefs", json!([]), "invalid_acr"),
        (
            "authContextRefs",
            json!(["mosip:idp:acr:unknown"]),
            "invalid_acr",
        ),
        ("logoUri", json!("http://rp.test/logo.png"), "invalid_uri"),
        ("logoUri", json!("logo.png"), "invalid_uri"),
        ("logoUri", json!("javascript:alert(1)"), "invalid_uri"),
        (
            "logoUri",
            json!("https://user@rp.test/logo.png"),
            "invalid_uri",
        ),
        ("redirectUris", json!([]), "invalid_redirect_uri"),
        (
            "redirectUris",
            json!([
                "https://a.test/1",
                "https://a.test/2",
                "https://a.test/3",
                "https://a.test/4",
                "https://a.test/5",
                "https://a.test/6"
            ]),
            "invalid_redirect_uri",
        ),
        (
            "redirectUris",
            json!(["javascript:alert(1)"]),
            "invalid_redirect_uri",
        ),
        ("grantTypes", json!(["implicit"]), "unsupported_grant_type"),
        ("grantTypes", json!([]), "unsupported_grant_type"),
        (
            "clientAuthMethods",
            json!(["client_secret_basic"]),
            "invalid_client_auth",
        ),
        (
            "additionalConfig",
            json!({"foo": 1}),
            "invalid_additional_config",
        ),
        (
            "additionalConfig",
            json!({"consent_expire_in_mins": 5}),
            "invalid_additional_config",
        ),
    ];
    for (field, value, code) in cases {
        let mut r = create_request();
        r[field] = value.clone();
        assert_eq!(
            errors(create(&r, Api::Client)),
            vec![(field, code)],
            "{field} = {value}"
        );
    }
}

#[test]
fn missing_required_fields_get_their_codes_and_all_are_reported() {
    let r = json!({"clientId": "c1"});
    let got = errors(create(&r, Api::Client));
    assert_eq!(got.len(), 9);
    assert!(got.contains(&("publicKey", "invalid_public_key")));
    assert!(got.contains(&("redirectUris", "invalid_redirect_uri")));
    let mut two = create_request();
    two["logoUri"] = json!(null);
    two["grantTypes"] = json!(["password"]);
    assert_eq!(
        errors(create(&two, Api::Client)),
        vec![
            ("logoUri", "invalid_uri"),
            ("grantTypes", "unsupported_grant_type")
        ]
    );
}

#[test]
fn put_requires_update_fields_and_patch_takes_any_subset() {
    let a = acrs();
    assert!(validate_request(&update_request(), Api::Client, Operation::Update, &a).is_ok());
    let mut partial = update_request();
    partial.as_object_mut().unwrap().remove("status");
    assert_eq!(
        errors(validate_request(
            &partial,
            Api::Client,
            Operation::Update,
            &a
        )),
        vec![("status", "invalid_status")]
    );
    assert!(validate_request(&partial, Api::Client, Operation::Patch, &a).is_ok());
    let key_change = json!({"publicKey": ec_key(3)});
    assert_eq!(
        errors(validate_request(
            &key_change,
            Api::Client,
            Operation::Patch,
            &a
        )),
        vec![("request", "invalid_request")]
    );
    let enc_on_put = json!({"encPublicKey": ec_key(3)});
    assert_eq!(
        errors(validate_request(
            &enc_on_put,
            Api::Client,
            Operation::Update,
            &a
        )),
        vec![("request", "invalid_request")]
    );
    let enc = json!({"encPublicKey": ec_key(3)});
    assert_eq!(
        errors(validate_request(&enc, Api::Client, Operation::Patch, &a)),
        vec![("encPublicKey", "invalid_public_key")]
    );
    let status = json!({"status": "DELETED"});
    assert_eq!(
        errors(validate_request(&status, Api::Client, Operation::Patch, &a)),
        vec![("status", "invalid_status")]
    );
}

#[test]
fn updates_merge_names_and_keep_what_is_not_given() {
    let a = acrs();
    let mut record = create(&create_request(), Api::Client)
        .unwrap()
        .into_new_record(100)
        .unwrap();
    let created = record.clone();

    let patch = json!({"clientName": "New name", "status": "INACTIVE"});
    validate_request(&patch, Api::Client, Operation::Patch, &a)
        .unwrap()
        .apply_to(&mut record, 200);
    assert_eq!(
        record.name,
        r#"{"@none":"New name","eng":"Health portal","fra":"Portail santé"}"#
    );
    assert_eq!(record.status, "INACTIVE");
    assert_eq!(record.redirect_uris, created.redirect_uris);
    assert_eq!(record.upd_dtimes, Some(200));
    assert_eq!(record.cr_dtimes, 100);

    let langs = json!({"clientNameLangMap": {"ara": "بوابة"}});
    validate_request(&langs, Api::Client, Operation::Patch, &a)
        .unwrap()
        .apply_to(&mut record, 300);
    assert_eq!(record.name, r#"{"@none":"New name","ara":"بوابة"}"#);

    validate_request(&update_request(), Api::OidcClient, Operation::Update, &a)
        .unwrap()
        .apply_to(&mut record, 400);
    assert_eq!(record.status, "ACTIVE");
    assert_eq!(record.redirect_uris, r#"["https://rp.test/cb2"]"#);
    assert_eq!(record.acr_values, r#"["mosip:idp:acr:static-code"]"#);
    assert_eq!(record.public_key_hash, created.public_key_hash);
    assert_eq!(record.additional_config, created.additional_config);

    let n = b64url(&[&[0xc5u8][..], &[7u8; 255][..]].concat());
    let enc = json!({"encPublicKey": {"kty": "RSA", "n": n, "e": "AQAB", "use": "enc"}});
    validate_request(&enc, Api::Client, Operation::Patch, &a)
        .unwrap()
        .apply_to(&mut record, 500);
    assert!(record
        .enc_public_key
        .as_deref()
        .is_some_and(|k| k.contains("\"use\":\"enc\"")));
    assert_eq!(
        record.enc_public_key_hash.as_ref().map(String::len),
        Some(64)
    );
}

#[test]
fn legacy_plain_names_become_maps_on_update() {
    let mut record = create(&create_request(), Api::Client)
        .unwrap()
        .into_new_record(1)
        .unwrap();
    record.name = "Legacy".into();
    let langs = json!({"clientNameLangMap": {"eng": "English"}});
    validate_request(&langs, Api::Client, Operation::Patch, &acrs())
        .unwrap()
        .apply_to(&mut record, 2);
    assert_eq!(record.name, r#"{"@none":"Legacy","eng":"English"}"#);
}

#[test]
fn statements_list_every_column() {
    assert_eq!(
        insert_record_sql().matches('$').count(),
        RECORD_COLUMNS.len()
    );
    let update = update_record_sql();
    assert!(
        update.contains("name = $2")
            && update.contains("upd_dtimes = $18")
            && update.ends_with("cr_dtimes = $17")
    );
    assert!(!update.contains("SET id"));
    assert!(select_record_sql().starts_with("SELECT id, name, rp_id"));
}

#[test]
fn jwe_userinfo_needs_an_encryption_key() {
    let a = acrs();
    let mut jwe = create_request();
    jwe["additionalConfig"]["userinfo_response_type"] = json!("JWE");
    let row = create(&jwe, Api::Client)
        .unwrap()
        .into_new_record(1)
        .unwrap();
    let err = check_record(&row).unwrap_err();
    assert_eq!(
        (err.field, err.error.code()),
        ("additionalConfig", "invalid_additional_config")
    );
    let mut stored = create(&create_request(), Api::Client)
        .unwrap()
        .into_new_record(1)
        .unwrap();
    assert!(check_record(&stored).is_ok());
    let config = json!({"additionalConfig": {"userinfo_response_type": "JWE"}});
    let mut no_key = stored.clone();
    validate_request(&config, Api::Client, Operation::Patch, &a)
        .unwrap()
        .apply_to(&mut no_key, 2);
    assert!(check_record(&no_key).is_err());
    stored.enc_public_key = Some("{\"kty\":\"RSA\"}".to_owned());
    let mut with_key = stored.clone();
    validate_request(&config, Api::Client, Operation::Patch, &a)
        .unwrap()
        .apply_to(&mut with_key, 2);
    assert!(check_record(&with_key).is_ok());
}
