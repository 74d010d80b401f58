//! Client registration and update requests of the client-management API (reference §2.5): which fields each
//! endpoint takes, their validation, and how a valid request becomes or changes a [`ClientRecord`].
//!
//! [`validate_request`] checks the `request` object of one endpoint ([`Api`] × [`Operation`]): an unknown
//! member is `invalid_request` (eSignet ignores them; we refuse so a misspelt field is never silently dropped),
//! a missing required field or an invalid value gets that field's own code, and every failing field is
//! reported (message `"<field>: <code>"`, as eSignet's bean validation writes it). Nothing is returned to store
//! unless every field passed. PUT takes eSignet's required update fields and replaces them; PATCH takes any
//! subset. Optional members left out keep their stored value; `clientName` replaces the `@none` name and
//! `clientNameLangMap` replaces the per-language names. `null` counts as absent.

pub mod access;
mod additional_config;
mod fields;
mod iso639;
mod jwk;
mod record;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{ClientName, ClientStatus, NO_LANGUAGE};
use crate::claims::AmrAcrMapping;
use crate::error::EsignetError;

pub use fields::{
    client_id as validate_client_id, is_registrable_redirect_uri, is_safe_text, SUPPORTED_CLAIMS,
};
pub use iso639::is_language_code;
pub use jwk::{validate_public_jwk, KeyUse, ValidatedKey};
pub use record::{
    insert_record_sql, select_record_sql, update_record_sql, Cell, ClientRecord, RECORD_COLUMNS,
};

/// Which family of endpoints a request came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/client-mgmt/oidc-client` (deprecated v1): no `clientNameLangMap`, no `additionalConfig`.
    OidcClient,
    /// `/client-mgmt/oauth-client` (deprecated v2): adds `clientNameLangMap`.
    OauthClient,
    /// `/client-mgmt/client` (current): adds `additionalConfig`, and PATCH with `encPublicKey`.
    Client,
}

/// What the request does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// POST: register a client.
    Create,
    /// PUT: replace the updatable fields.
    Update,
    /// PATCH: change some fields.
    Patch,
}

/// One invalid field: its request name and the code it fails with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldError {
    /// The request member, e.g. `redirectUris` (`request` for a request-level failure).
    pub field: &'static str,
    /// The eSignet code.
    pub error: EsignetError,
}

/// The validated fields of a request; `None` = not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClientChanges {
    pub client_id: Option<String>,
    pub client_name: Option<String>,
    pub client_name_lang_map: Option<BTreeMap<String, String>>,
    pub public_key: Option<ValidatedKey>,
    pub enc_public_key: Option<ValidatedKey>,
    pub relying_party_id: Option<String>,
    pub user_claims: Option<Vec<String>>,
    pub auth_context_refs: Option<Vec<String>>,
    pub logo_uri: Option<String>,
    pub redirect_uris: Option<Vec<String>>,
    pub grant_types: Option<Vec<String>>,
    pub client_auth_methods: Option<Vec<String>>,
    pub status: Option<ClientStatus>,
    pub additional_config: Option<Value>,
}

const CREATE_REQUIRED: &[&str] = &[
    "clientId",
    "clientName",
    "publicKey",
    "relyingPartyId",
    "userClaims",
    "authContextRefs",
    "logoUri",
    "redirectUris",
    "grantTypes",
    "clientAuthMethods",
];
const UPDATE_REQUIRED: &[&str] = &[
    "logoUri",
    "redirectUris",
    "userClaims",
    "authContextRefs",
    "status",
    "grantTypes",
    "clientName",
    "clientAuthMethods",
];

/// The members an endpoint accepts, and those it requires.
fn accepted(api: Api, op: Operation) -> (Vec<&'static str>, &'static [&'static str]) {
    let (mut fields, required): (Vec<&'static str>, &'static [&'static str]) = match op {
        Operation::Create => (CREATE_REQUIRED.to_vec(), CREATE_REQUIRED),
        Operation::Update => (UPDATE_REQUIRED.to_vec(), UPDATE_REQUIRED),
        Operation::Patch => (UPDATE_REQUIRED.to_vec(), &[]),
    };
    if api != Api::OidcClient {
        fields.push("clientNameLangMap");
    }
    if api == Api::Client {
        fields.push("additionalConfig");
    }
    if op == Operation::Patch {
        fields.push("encPublicKey");
    }
    (fields, required)
}

/// The code a field fails with when missing or invalid.
fn field_code(field: &str) -> EsignetError {
    match field {
        "clientId" => EsignetError::InvalidClientId,
        "clientName" | "clientNameLangMap" => EsignetError::InvalidClientName,
        "publicKey" | "encPublicKey" => EsignetError::InvalidPublicKey,
        "relyingPartyId" => EsignetError::InvalidRpId,
        "userClaims" => EsignetError::InvalidClaim,
        "authContextRefs" => EsignetError::InvalidAcr,
        "logoUri" => EsignetError::InvalidUri,
        "redirectUris" => EsignetError::InvalidRedirectUri,
        "grantTypes" => EsignetError::UnsupportedGrantType,
        "clientAuthMethods" => EsignetError::InvalidClientAuth,
        "status" => EsignetError::InvalidStatus,
        "additionalConfig" => EsignetError::InvalidAdditionalConfig,
        _ => EsignetError::InvalidRequest,
    }
}

/// Validates the `request` object of one endpoint. See the module docs.
pub fn validate_request(
    request: &Value,
    api: Api,
    op: Operation,
    acrs: &AmrAcrMapping,
) -> Result<ClientChanges, Vec<FieldError>> {
    let Some(obj) = request.as_object() else {
        return Err(vec![FieldError {
            field: "request",
            error: EsignetError::InvalidRequest,
        }]);
    };
    let (fields, required) = accepted(api, op);
    if obj.keys().any(|k| !fields.contains(&k.as_str())) {
        return Err(vec![FieldError {
            field: "request",
            error: EsignetError::InvalidRequest,
        }]);
    }
    let mut changes = ClientChanges::default();
    let mut errors = Vec::new();
    for field in fields {
        let value = obj.get(field).filter(|v| !v.is_null());
        match value {
            None if required.contains(&field) => errors.push(FieldError {
                field,
                error: field_code(field),
            }),
            None => {}
            Some(v) => {
                if let Err(error) = set_field(&mut changes, field, v, acrs) {
                    errors.push(FieldError { field, error });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(changes)
    } else {
        Err(errors)
    }
}

fn set_field(
    c: &mut ClientChanges,
    field: &str,
    v: &Value,
    acrs: &AmrAcrMapping,
) -> Result<(), EsignetError> {
    match field {
        "clientId" => c.client_id = Some(fields::client_id(v)?),
        "clientName" => c.client_name = Some(fields::client_name(v)?),
        "clientNameLangMap" => c.client_name_lang_map = Some(fields::client_name_lang_map(v)?),
        "publicKey" => c.public_key = Some(validate_public_jwk(v, KeyUse::Signature)?),
        "encPublicKey" => c.enc_public_key = Some(validate_public_jwk(v, KeyUse::Encryption)?),
        "relyingPartyId" => c.relying_party_id = Some(fields::rp_id(v)?),
        "userClaims" => c.user_claims = Some(fields::user_claims(v)?),
        "authContextRefs" => {
            c.auth_context_refs = Some(fields::string_list(
                v,
                1,
                30,
                EsignetError::InvalidAcr,
                |a| acrs.knows_acr(a),
            )?)
        }
        "logoUri" => c.logo_uri = Some(fields::logo_uri(v)?),
        "redirectUris" => c.redirect_uris = Some(fields::redirect_uris(v)?),
        "grantTypes" => c.grant_types = Some(fields::grant_types(v)?),
        "clientAuthMethods" => c.client_auth_methods = Some(fields::auth_methods(v)?),
        "status" => c.status = Some(fields::status(v)?),
        "additionalConfig" => c.additional_config = Some(additional_config::additional_config(v)?),
        _ => return Err(EsignetError::InvalidRequest),
    }
    Ok(())
}

/// Checks a row about to be stored (after [`ClientChanges::into_new_record`] or [`ClientChanges::apply_to`]):
/// `userinfo_response_type: JWE` needs an encryption key, given in the same request or already stored
/// (`additionalConfig: invalid_additional_config` otherwise; a create can never carry one).
pub fn check_record(row: &ClientRecord) -> Result<(), FieldError> {
    let jwe = row
        .additional_config
        .as_deref()
        .and_then(|c| serde_json::from_str::<Value>(c).ok())
        .is_some_and(|c| c.get("userinfo_response_type").and_then(Value::as_str) == Some("JWE"));
    if jwe && row.enc_public_key.as_deref().is_none_or(str::is_empty) {
        return Err(FieldError {
            field: "additionalConfig",
            error: EsignetError::InvalidAdditionalConfig,
        });
    }
    Ok(())
}

fn json_list(list: &[String]) -> String {
    Value::from(list.to_vec()).to_string()
}

fn status_text(s: ClientStatus) -> &'static str {
    match s {
        ClientStatus::Active => "ACTIVE",
        ClientStatus::Inactive => "INACTIVE",
    }
}

impl ClientChanges {
    /// The row a validated create request registers (status ACTIVE, `cr_dtimes` = `now`); `invalid_request`
    /// if a create-time field is missing (not possible after [`validate_request`] with [`Operation::Create`]).
    pub fn into_new_record(self, now: i64) -> Result<ClientRecord, EsignetError> {
        let missing = EsignetError::InvalidRequest;
        let key = self.public_key.clone().ok_or(missing)?;
        let mut row = ClientRecord {
            id: self.client_id.clone().ok_or(missing)?,
            name: String::new(),
            rp_id: self.relying_party_id.clone().ok_or(missing)?,
            logo_uri: None,
            redirect_uris: String::new(),
            claims: String::new(),
            acr_values: String::new(),
            public_key: key.json,
            public_key_hash: key.hash,
            enc_public_key: None,
            enc_public_key_hash: None,
            enc_public_key_cert: None,
            grant_types: String::new(),
            auth_methods: String::new(),
            status: status_text(ClientStatus::Active).to_owned(),
            additional_config: Some(Value::Object(Map::new()).to_string()),
            cr_dtimes: now,
            upd_dtimes: None,
        };
        if self.client_name.is_none() || self.logo_uri.is_none() || self.redirect_uris.is_none() {
            return Err(missing);
        }
        self.apply_to(&mut row, now);
        row.upd_dtimes = None;
        Ok(row)
    }

    /// Applies the given fields to a stored row and stamps `upd_dtimes`.
    pub fn apply_to(self, row: &mut ClientRecord, now: i64) {
        if self.client_name.is_some() || self.client_name_lang_map.is_some() {
            let mut name = ClientName::from_stored(&row.name).0;
            if let Some(langs) = self.client_name_lang_map {
                name.retain(|k, _| k == NO_LANGUAGE);
                name.extend(langs);
            }
            if let Some(default) = self.client_name {
                name.insert(NO_LANGUAGE.to_owned(), default);
            }
            row.name = serde_json::to_string(&name).unwrap_or_default();
        }
        if let Some(v) = self.relying_party_id {
            row.rp_id = v;
        }
        if let Some(v) = self.logo_uri {
            row.logo_uri = Some(v);
        }
        let lists = [
            (self.redirect_uris, &mut row.redirect_uris),
            (self.user_claims, &mut row.claims),
            (self.auth_context_refs, &mut row.acr_values),
            (self.grant_types, &mut row.grant_types),
            (self.client_auth_methods, &mut row.auth_methods),
        ];
        for (given, column) in lists {
            if let Some(list) = given {
                *column = json_list(&list);
            }
        }
        if let Some(k) = self.public_key {
            row.public_key = k.json;
            row.public_key_hash = k.hash;
        }
        if let Some(k) = self.enc_public_key {
            row.enc_public_key = Some(k.json);
            row.enc_public_key_hash = Some(k.hash);
            row.enc_public_key_cert = None;
        }
        if let Some(s) = self.status {
            row.status = status_text(s).to_owned();
        }
        if let Some(c) = self.additional_config {
            row.additional_config = Some(c.to_string());
        }
        row.upd_dtimes = Some(now);
    }
}
