//! The KYC claims released at kyc-exchange: identity fields mapped to OIDC claim names (reference §6.2), with the
//! requested `claims_locales` applied to language-tagged fields (OIDC Core §5.2).
//!
//! Mapping: fullName→`name`, givenName→`given_name`, familyName→`family_name`, middleName→`middle_name`,
//! nickName→`nickname`, preferredUsername→`preferred_username`, gender→`gender`, email→`email`,
//! phone→`phone_number`, dateOfBirth→`birthdate` (`yyyy-MM-dd`), encodedPhoto→`picture` (as stored),
//! locale (else preferredLang as a BCP47 tag)→`locale`, zoneInfo→`zoneinfo`, and `address` =
//! {streetAddress→`street_address`, locality, region, country, postalCode→`postal_code`}. Accepted claims
//! outside the mapping, and fields the identity lacks, are left out.
//!
//! Locales: requested locales are read as BCP47 tags or three-letter codes (`en`, `en-US`, `eng` all mean
//! `eng`), de-duplicated in order. For a language-tagged field:
//! - no locale requested: the value in the identity's preferred language, else the first value;
//! - one locale: a plain claim in that language, falling back as above when the identity lacks it;
//! - several: one `claim#tag` member per requested locale the identity has (`name#fr`, `name#ar`; the tag is the
//!   two-letter BCP47 code of [`LANGUAGES`], or the three-letter code when unmapped), and the plain fallback
//!   claim only when none of them is present. Inside `address` the same rule applies member by member.

use serde_json::{Map, Value};

use crate::identity::{Identity, LangValue};
use crate::schema::oidc_date;

/// ISO 639-2/3 code ↔ BCP47 primary tag, for the languages the demo and eSignet's UI ship.
pub const LANGUAGES: &[(&str, &str)] = &[
    ("eng", "en"),
    ("fra", "fr"),
    ("ara", "ar"),
    ("hin", "hi"),
    ("kan", "kn"),
    ("tam", "ta"),
    ("spa", "es"),
    ("por", "pt"),
    ("deu", "de"),
    ("khm", "km"),
];

/// A requested locale as a three-letter code: `en`/`en-US`/`EN`/`eng` → `eng`; `fre` → `fra`.
pub fn to_three_letter(locale: &str) -> String {
    let primary = locale.split(['-', '_']).next().unwrap_or_default().trim().to_ascii_lowercase();
    if primary == "fre" {
        return "fra".into();
    }
    LANGUAGES.iter().find(|(_, two)| *two == primary).map(|(three, _)| three.to_string()).unwrap_or(primary)
}

/// A three-letter code as the BCP47 tag used in claim-name suffixes and `locale`.
pub fn to_tag(code: &str) -> String {
    LANGUAGES.iter().find(|(three, _)| *three == code).map(|(_, two)| two.to_string()).unwrap_or_else(|| code.into())
}

/// The claims for `accepted` claim names.
pub fn build_claims(identity: &Identity, accepted: &[String], locales: &[String]) -> Map<String, Value> {
    let mut wanted: Vec<String> = Vec::new();
    for l in locales.iter().map(|l| to_three_letter(l)).filter(|l| !l.is_empty()) {
        if !wanted.contains(&l) {
            wanted.push(l);
        }
    }
    let tagged = Tagged { locales: &wanted, preferred: &identity.preferred_lang };
    let mut out = Map::new();
    for claim in accepted {
        match claim.as_str() {
            "name" => tagged.put(&mut out, "name", &identity.full_name),
            "given_name" => tagged.put(&mut out, "given_name", &identity.given_name),
            "family_name" => tagged.put(&mut out, "family_name", &identity.family_name),
            "middle_name" => tagged.put(&mut out, "middle_name", &identity.middle_name),
            "nickname" => tagged.put(&mut out, "nickname", &identity.nick_name),
            "preferred_username" => tagged.put(&mut out, "preferred_username", &identity.preferred_username),
            "gender" => tagged.put(&mut out, "gender", &identity.gender),
            "email" => put_text(&mut out, "email", Some(&identity.email)),
            "phone_number" => put_text(&mut out, "phone_number", Some(&identity.phone)),
            "birthdate" => put_text(&mut out, "birthdate", oidc_date(&identity.date_of_birth).as_deref()),
            "picture" => put_text(&mut out, "picture", Some(&identity.encoded_photo)),
            "zoneinfo" => put_text(&mut out, "zoneinfo", identity.zone_info.as_deref()),
            "locale" => {
                let locale = identity.locale.clone().unwrap_or_else(|| to_tag(&identity.preferred_lang));
                put_text(&mut out, "locale", Some(&locale));
            }
            "address" => {
                let address = tagged.address(identity);
                if !address.is_empty() {
                    out.insert("address".into(), Value::Object(address));
                }
            }
            _ => {}
        }
    }
    out
}

fn put_text(out: &mut Map<String, Value>, name: &str, value: Option<&str>) {
    if let Some(v) = value.filter(|v| !v.is_empty()) {
        out.insert(name.into(), Value::String(v.into()));
    }
}

/// The locale rule for language-tagged values.
struct Tagged<'a> {
    locales: &'a [String],
    preferred: &'a str,
}

impl Tagged<'_> {
    fn put(&self, out: &mut Map<String, Value>, name: &str, values: &[LangValue]) {
        if values.is_empty() {
            return;
        }
        let in_lang = |lang: &str| values.iter().find(|v| v.language == lang).map(|v| v.value.clone());
        let fallback = || in_lang(self.preferred).or_else(|| values.first().map(|v| v.value.clone()));
        match self.locales {
            [] => put_text(out, name, fallback().as_deref()),
            [only] => put_text(out, name, in_lang(only).or_else(fallback).as_deref()),
            several => {
                let mut any = false;
                for lang in several {
                    if let Some(v) = in_lang(lang) {
                        out.insert(format!("{name}#{}", to_tag(lang)), Value::String(v));
                        any = true;
                    }
                }
                if !any {
                    put_text(out, name, fallback().as_deref());
                }
            }
        }
    }

    fn address(&self, identity: &Identity) -> Map<String, Value> {
        let mut address = Map::new();
        self.put(&mut address, "street_address", &identity.street_address);
        self.put(&mut address, "locality", &identity.locality);
        self.put(&mut address, "region", &identity.region);
        self.put(&mut address, "country", &identity.country);
        put_text(&mut address, "postal_code", Some(&identity.postal_code));
        address
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::identity::tests::sample_identity;

    fn claims(accepted: &[&str], locales: &[&str]) -> Value {
        let accepted: Vec<String> = accepted.iter().map(|s| s.to_string()).collect();
        let locales: Vec<String> = locales.iter().map(|s| s.to_string()).collect();
        Value::Object(build_claims(&sample_identity(), &accepted, &locales))
    }

    #[test]
    fn locale_codes() {
        assert_eq!(to_three_letter("en"), "eng");
        assert_eq!(to_three_letter("en-US"), "eng");
        assert_eq!(to_three_letter("FRA"), "fra");
        assert_eq!(to_three_letter("fre"), "fra");
        assert_eq!(to_three_letter("xx"), "xx");
        assert_eq!(to_tag("ara"), "ar");
        assert_eq!(to_tag("xyz"), "xyz");
    }

    #[test]
    fn without_locales_the_preferred_language_wins() {
        // The sample prefers fra; familyName has eng only, so the first value is used.
        let c = claims(&["name", "family_name", "email", "phone_number", "birthdate", "locale"], &[]);
        assert_eq!(
            c,
            json!({"name": "Jeanne Doe", "family_name": "Doe", "email": "jane.doe@example.com",
                   "phone_number": "+911234567890", "birthdate": "1990-01-31", "locale": "fr"})
        );
    }

    #[test]
    fn one_locale_gives_plain_claims_with_fallback() {
        let c = claims(&["name", "gender", "family_name"], &["ar"]);
        assert_eq!(c, json!({"name": "جين دو", "gender": "Femme", "family_name": "Doe"}));
        let c = claims(&["name"], &["en-GB"]);
        assert_eq!(c, json!({"name": "Jane Doe"}));
    }

    #[test]
    fn several_locales_give_tagged_claims() {
        let c = claims(&["name", "given_name", "family_name"], &["fr", "ar", "fra"]);
        assert_eq!(
            c,
            json!({"name#fr": "Jeanne Doe", "name#ar": "جين دو", "given_name#fr": "Jeanne",
                   "family_name": "Doe"})
        );
    }

    #[test]
    fn address_is_structured_and_tagged_member_by_member() {
        let c = claims(&["address"], &["eng", "fra"]);
        assert_eq!(
            c,
            json!({"address": {"street_address#en": "1 Main Street", "locality#en": "Springfield",
                   "locality#fr": "Springfield", "region#en": "North", "region#fr": "Nord",
                   "country#en": "Freedonia", "postal_code": "12345"}})
        );
        let c = claims(&["address"], &[]);
        assert_eq!(c["address"]["region"], "Nord");
        assert_eq!(c["address"]["country"], "Freedonia");
    }

    #[test]
    fn unknown_and_absent_claims_are_left_out() {
        let c = claims(&["shoe_size", "middle_name", "zoneinfo", "picture"], &[]);
        assert_eq!(c, json!({"picture": "iVBORw0KGgo"}));
    }
}
