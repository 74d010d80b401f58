//! Fixtures for the unit tests: a client and a started transaction built through `esignet-core`.

use esignet_core::authorize::{validate_authorize, AuthorizePolicy, AuthorizeRequest};
use esignet_core::claims::{resolve_acrs, resolve_claims, AmrAcrMapping, ScopeClaims};
use esignet_core::client::ClientDetail;
use esignet_core::ids::TransactionId;
use esignet_core::transaction::OidcTransaction;
use serde_json::json;

/// A client registered for name, email and phone_number, OTP or PIN.
pub fn client() -> ClientDetail {
    serde_json::from_value(json!({
        "id": "client-a", "name": {"@none": "Health portal"}, "rp_id": "rp-a",
        "redirect_uris": ["https://rp.test/cb"], "claims": ["name", "email", "phone_number"],
        "acr_values": ["mosip:idp:acr:generated-code", "mosip:idp:acr:static-code"],
        "public_key": {}, "status": "ACTIVE", "additional_config": {"consent_expire_in_mins": 30}
    }))
    .unwrap_or_else(|e| unreachable!("fixture: {e}"))
}

/// A transaction for `client()` started from an authorize query (`client_id`/`redirect_uri`/`response_type`
/// are added).
pub fn transaction(query: &str) -> OidcTransaction {
    let client = client();
    let q =
        format!("client_id=client-a&redirect_uri=https://rp.test/cb&response_type=code&{query}");
    let request = AuthorizeRequest::from_query(&q);
    let v = validate_authorize(&request, Some(&client), &AuthorizePolicy::default(), false)
        .unwrap_or_else(|e| unreachable!("fixture: {e:?}"));
    let claims = resolve_claims(
        &client.claims,
        &v.scopes.openid,
        &v.claims,
        &ScopeClaims::default(),
    );
    let acrs = resolve_acrs(&client.acr_values, None, &v.acr_values).unwrap_or_default();
    let groups = AmrAcrMapping::default_mapping()
        .map(|m| m.auth_factor_groups(&acrs))
        .unwrap_or_default();
    OidcTransaction::start(
        TransactionId::new("txn-1234567890"),
        &v,
        &client,
        &claims,
        &acrs,
        groups,
        10,
    )
    .unwrap_or_else(|e| unreachable!("fixture: {e}"))
}
