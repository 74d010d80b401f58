//! The identity record of the mock identity system and the admin API's create/update parsing.
//!
//! A request object is checked member by member against [`crate::schema`]: every failing field gives one error
//! whose code names it (`invalid_individualid`, `invalid_fullname`, ... — `invalid_` + the field in lower case,
//! message `"<field>: <code>"`), an unknown member gives `invalid_request`. Create needs every required field;
//! update needs `individualId` and replaces only the fields given (a `null` member counts as absent). The PIN
//! and password are split off into [`Secrets`] so that they are hashed and never stored in the identity JSON.
//! `Debug` output of both types is redacted: they hold personal data.

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::schema::{check, rule_of, stored_date, FIELDS};

/// One value of a language-tagged field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LangValue {
    pub language: String,
    pub value: String,
}

/// A stored identity, without its PIN and password.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    pub individual_id: String,
    pub full_name: Vec<LangValue>,
    pub given_name: Vec<LangValue>,
    pub family_name: Vec<LangValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub middle_name: Vec<LangValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub nick_name: Vec<LangValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred_username: Vec<LangValue>,
    pub gender: Vec<LangValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub street_address: Vec<LangValue>,
    pub locality: Vec<LangValue>,
    pub region: Vec<LangValue>,
    pub country: Vec<LangValue>,
    pub preferred_lang: String,
    /// `yyyy/MM/dd`.
    pub date_of_birth: String,
    pub postal_code: String,
    pub encoded_photo: String,
    pub email: String,
    pub phone: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zone_info: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locale: Option<String>,
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity([redacted])")
    }
}

/// The write-only members of a create or update request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets {
    pub pin: Option<String>,
    pub password: Option<String>,
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secrets([redacted])")
    }
}

/// One schema violation, as it goes into the error envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub code: String,
    pub message: String,
}

impl FieldError {
    fn field(name: &str) -> Self {
        let code = format!("invalid_{}", name.to_ascii_lowercase());
        FieldError { message: format!("{name}: {code}"), code }
    }

    fn unknown(name: &str) -> Self {
        let shown: String = name.chars().take(64).collect();
        FieldError { code: "invalid_request".into(), message: format!("{shown}: invalid_request") }
    }
}

/// Create needs every required field; update only `individualId`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Create,
    Update,
}

/// Checks a request object; empty when it is valid.
pub fn validate(obj: &Map<String, Value>, mode: Mode) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for &(name, rule, required) in FIELDS {
        match obj.get(name) {
            None | Some(Value::Null) => {
                if required && (mode == Mode::Create || name == "individualId") {
                    errors.push(FieldError::field(name));
                }
            }
            Some(v) if !check(rule, v) => errors.push(FieldError::field(name)),
            Some(_) => {}
        }
    }
    errors.extend(obj.keys().filter(|k| rule_of(k).is_none()).map(|k| FieldError::unknown(k)));
    errors
}

/// Parses a create request into the identity to store and its secrets.
pub fn parse_create(request: &Value) -> Result<(Identity, Secrets), Vec<FieldError>> {
    let obj = request.as_object().ok_or_else(|| vec![FieldError::unknown("request")])?;
    let errors = validate(obj, Mode::Create);
    if !errors.is_empty() {
        return Err(errors);
    }
    build(obj.clone())
}

/// The `individualId` of an update request, when it is a valid one.
pub fn update_target(request: &Value) -> Option<&str> {
    let id = request.get("individualId")?;
    check(crate::schema::Rule::IndividualId, id).then(|| id.as_str()).flatten()
}

/// Applies an update request to a stored identity: the fields given replace the stored ones.
pub fn apply_update(stored: &Identity, request: &Value) -> Result<(Identity, Secrets), Vec<FieldError>> {
    let obj = request.as_object().ok_or_else(|| vec![FieldError::unknown("request")])?;
    let errors = validate(obj, Mode::Update);
    if !errors.is_empty() {
        return Err(errors);
    }
    let Ok(Value::Object(mut merged)) = serde_json::to_value(stored) else {
        return Err(vec![FieldError::unknown("identity")]);
    };
    for (k, v) in obj {
        if !v.is_null() {
            merged.insert(k.clone(), v.clone());
        }
    }
    build(merged)
}

fn text(obj: &Map<String, Value>, name: &str) -> Option<String> {
    obj.get(name).and_then(Value::as_str).map(str::to_string)
}

fn build(mut obj: Map<String, Value>) -> Result<(Identity, Secrets), Vec<FieldError>> {
    let secrets = Secrets { pin: text(&obj, "pin"), password: text(&obj, "password") };
    obj.remove("pin");
    obj.remove("password");
    obj.retain(|_, v| !v.is_null());
    if let Some(date) = obj.get("dateOfBirth").and_then(Value::as_str).and_then(stored_date) {
        obj.insert("dateOfBirth".into(), Value::String(date));
    }
    let identity: Identity =
        serde_json::from_value(Value::Object(obj)).map_err(|_| vec![FieldError::unknown("request")])?;
    Ok((identity, secrets))
}

impl Identity {
    /// The language-tagged values of a field by its schema name; empty for other fields.
    pub fn lang_values(&self, field: &str) -> &[LangValue] {
        match field {
            "fullName" => &self.full_name,
            "givenName" => &self.given_name,
            "familyName" => &self.family_name,
            "middleName" => &self.middle_name,
            "nickName" => &self.nick_name,
            "preferredUsername" => &self.preferred_username,
            "gender" => &self.gender,
            "streetAddress" => &self.street_address,
            "locality" => &self.locality,
            "region" => &self.region,
            "country" => &self.country,
            _ => &[],
        }
    }

    /// The value of a plain text field by its schema name.
    pub fn text_value(&self, field: &str) -> Option<&str> {
        match field {
            "individualId" => Some(&self.individual_id),
            "preferredLang" => Some(&self.preferred_lang),
            "dateOfBirth" => Some(&self.date_of_birth),
            "postalCode" => Some(&self.postal_code),
            "encodedPhoto" => Some(&self.encoded_photo),
            "email" => Some(&self.email),
            "phone" => Some(&self.phone),
            "zoneInfo" => self.zone_info.as_deref(),
            "locale" => self.locale.as_deref(),
            _ => None,
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use serde_json::json;

    use super::*;

    pub fn sample() -> Value {
        json!({
            "individualId": "8267411571",
            "pin": "545411",
            "password": "Demo-Pass-2024",
            "fullName": [{"language": "eng", "value": "Jane Doe"}, {"language": "fra", "value": "Jeanne Doe"},
                         {"language": "ara", "value": "جين دو"}],
            "givenName": [{"language": "eng", "value": "Jane"}, {"language": "fra", "value": "Jeanne"}],
            "familyName": [{"language": "eng", "value": "Doe"}],
            "gender": [{"language": "eng", "value": "Female"}, {"language": "fra", "value": "Femme"}],
            "streetAddress": [{"language": "eng", "value": "1 Main Street"}],
            "locality": [{"language": "eng", "value": "Springfield"}, {"language": "fra", "value": "Springfield"}],
            "region": [{"language": "eng", "value": "North"}, {"language": "fra", "value": "Nord"}],
            "country": [{"language": "eng", "value": "Freedonia"}],
            "preferredLang": "fra",
            "dateOfBirth": "1990-01-31",
            "postalCode": "12345",
            "encodedPhoto": "iVBORw0KGgo",
            "email": "jane.doe@example.com",
            "phone": "+911234567890"
        })
    }

    pub fn sample_identity() -> Identity {
        parse_create(&sample()).unwrap().0
    }

    #[test]
    fn create_splits_secrets_and_normalises_the_date() {
        let (identity, secrets) = parse_create(&sample()).unwrap();
        assert_eq!(identity.date_of_birth, "1990/01/31");
        assert_eq!(secrets.pin.as_deref(), Some("545411"));
        assert_eq!(secrets.password.as_deref(), Some("Demo-Pass-2024"));
        let stored = serde_json::to_string(&identity).unwrap();
        assert!(!stored.contains("545411") && !stored.contains("Demo-Pass") && !stored.contains("\"pin\""));
        assert_eq!(format!("{identity:?} {secrets:?}"), "Identity([redacted]) Secrets([redacted])");
    }

    #[test]
    fn create_reports_each_bad_field_by_name() {
        let mut req = sample();
        req["individualId"] = json!("12ab");
        req["email"] = json!("nope");
        req.as_object_mut().unwrap().remove("fullName");
        req["shoeSize"] = json!(42);
        let codes: Vec<String> = parse_create(&req).unwrap_err().into_iter().map(|e| e.code).collect();
        assert_eq!(codes, ["invalid_individualid", "invalid_fullname", "invalid_email", "invalid_request"]);
        let err = &validate(req.as_object().unwrap(), Mode::Create)[0];
        assert_eq!(err.message, "individualId: invalid_individualid");
    }

    #[test]
    fn update_replaces_only_given_fields() {
        let stored = sample_identity();
        let req = json!({"individualId": "8267411571", "email": "new@example.org", "pin": "121212",
                         "nickName": [{"language": "eng", "value": "JD"}], "phone": null});
        let (updated, secrets) = apply_update(&stored, &req).unwrap();
        assert_eq!(updated.email, "new@example.org");
        assert_eq!(updated.phone, stored.phone);
        assert_eq!(updated.nick_name[0].value, "JD");
        assert_eq!(updated.full_name, stored.full_name);
        assert_eq!((secrets.pin.as_deref(), secrets.password), (Some("121212"), None));
        assert_eq!(update_target(&req), Some("8267411571"));
    }

    #[test]
    fn update_needs_a_valid_individual_id_and_valid_fields() {
        let stored = sample_identity();
        let codes = |req: Value| -> Vec<String> {
            apply_update(&stored, &req).unwrap_err().into_iter().map(|e| e.code).collect()
        };
        assert_eq!(codes(json!({"email": "a@example.com"})), ["invalid_individualid"]);
        assert_eq!(codes(json!({"individualId": "8267411571", "dateOfBirth": "31/01/1990"})), ["invalid_dateofbirth"]);
        assert_eq!(update_target(&json!({"individualId": "1"})), None);
    }

    #[test]
    fn field_lookups() {
        let identity = sample_identity();
        assert_eq!(identity.lang_values("fullName").len(), 3);
        assert!(identity.lang_values("email").is_empty());
        assert_eq!(identity.text_value("email"), Some("jane.doe@example.com"));
        assert_eq!(identity.text_value("zoneInfo"), None);
    }
}
