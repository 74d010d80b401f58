use super::*;
use crate::test_support::transaction;
use esignet_core::random::OsRandom;

fn row(hash: &str, expires_at: Option<i64>) -> ConsentRow {
    ConsentRow {
        stored: StoredConsent {
            hash: hash.into(),
            expires_at,
        },
        accepted_claims: vec!["name".into()],
        permitted_scopes: vec![],
    }
}

#[test]
fn nothing_requested_is_nocapture_and_reuses_nothing() {
    let mut t = transaction("scope=openid");
    assert!(nothing_requested(&t));
    let stored = row("x", None);
    decide(&mut t, Some(&stored), 100).unwrap();
    assert_eq!(t.consent_action, Some(ConsentAction::NoCapture));
    assert!(t.accepted_claims.is_empty());
}

#[test]
fn capture_without_record_nocapture_with_equal_hash() {
    let mut t = transaction("scope=openid%20profile");
    decide(&mut t, None, 100).unwrap();
    assert_eq!(t.consent_action, Some(ConsentAction::Capture));
    let hash = requested_hash(&t).unwrap();
    let mut t = transaction("scope=openid%20profile");
    decide(&mut t, Some(&row(&hash, Some(200))), 100).unwrap();
    assert_eq!(t.consent_action, Some(ConsentAction::NoCapture));
    assert_eq!(t.accepted_claims, vec!["name"]);
    let mut t = transaction("scope=openid%20profile");
    decide(&mut t, Some(&row(&hash, Some(100))), 100).unwrap();
    assert_eq!(t.consent_action, Some(ConsentAction::Capture), "expired");
    let mut t = transaction("scope=openid%20email");
    decide(&mut t, Some(&row(&hash, None)), 100).unwrap();
    assert_eq!(
        t.consent_action,
        Some(ConsentAction::Capture),
        "other request"
    );
    let mut t = transaction("scope=openid%20profile&prompt=consent");
    decide(&mut t, Some(&row(&hash, None)), 100).unwrap();
    assert_eq!(
        t.consent_action,
        Some(ConsentAction::Capture),
        "prompt=consent"
    );
}

#[test]
fn row_values_hold_json_text() {
    let mut t = transaction("scope=openid%20profile%20Manage-VID");
    t.accepted_claims = vec!["name".into()];
    t.permitted_scopes = vec!["Manage-VID".into()];
    let r = row_values(&t, "psut-1", 1_000, "id-1", "id-2").unwrap();
    assert_eq!(r.detail.len(), 11);
    assert_eq!(r.detail[0].as_str(), Some("id-1"));
    assert_eq!(r.history[0].as_str(), Some("id-2"));
    assert_eq!(
        format!("{:?}", &r.detail[1..]),
        format!("{:?}", &r.history[1..])
    );
    assert_eq!(r.detail[2].as_str(), Some("psut-1"));
    let claims: Json = serde_json::from_str(r.detail[3].as_str().unwrap()).unwrap();
    assert!(claims["userinfo"]["email"].is_array());
    assert_eq!(claims["id_token"]["acr"]["essential"], true);
    assert_eq!(r.detail[4].as_str(), Some(r#"{"Manage-VID":true}"#));
    assert_eq!(r.detail[5].as_i64(), Some(1_000));
    assert_eq!(r.detail[6].as_i64(), Some(1_000 + 30 * 60));
    assert!(r.detail[7].is_null());
    assert_eq!(
        r.detail[8].as_str(),
        Some(requested_hash(&t).unwrap().as_str())
    );
    assert_eq!(r.detail[9].as_str(), Some(r#"["name"]"#));
    assert_eq!(r.detail[10].as_str(), Some(r#"["Manage-VID"]"#));
}

#[test]
fn ids_are_uuid_v4() {
    let a = new_id(&mut OsRandom).unwrap();
    let b = new_id(&mut OsRandom).unwrap();
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
    assert_eq!(&a[14..15], "4");
    assert!(matches!(&a[19..20], "8" | "9" | "a" | "b"));
}
