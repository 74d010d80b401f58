//! The login pages' languages: one JSON file per language in `components/ui/i18n/`, compiled into the
//! component and served as `/v1/esignet/login/assets/i18n/<code>.json`.
//!
//! Each file is a flat object of texts plus `_meta` = `{name, dir, iso3}`: the name shown in the language
//! switcher, `ltr` or `rtl`, and the ISO 639-2 code eSignet uses in `clientName` maps and `ui_locales`
//! (`eng`, `fra`, `ara`). To add a language, copy `en.json` to `<code>.json`, translate it, and add one line to
//! [`LANGUAGES`]; the unit tests check that every file has exactly the English keys. The first entry is the
//! default when `ui_locales` names no language offered.

use serde::Deserialize;
use serde_json::Value;

/// One compiled-in language file.
#[derive(Debug)]
pub struct Language {
    /// The BCP 47 primary language subtag (`en`), also the file name.
    pub code: &'static str,
    /// The file's JSON text.
    pub json: &'static str,
}

/// Every language the pages offer, the default first.
pub const LANGUAGES: &[Language] = &[
    Language {
        code: "en",
        json: include_str!("../i18n/en.json"),
    },
    Language {
        code: "fr",
        json: include_str!("../i18n/fr.json"),
    },
    Language {
        code: "ar",
        json: include_str!("../i18n/ar.json"),
    },
];

/// The default language (checked at compile time to exist).
pub const DEFAULT: &Language = &LANGUAGES[0];

/// A file's `_meta` member.
#[derive(Debug, Default, Deserialize, PartialEq, Eq)]
pub struct Meta {
    /// Name in the language itself.
    #[serde(default)]
    pub name: String,
    /// `ltr` or `rtl`.
    #[serde(default)]
    pub dir: String,
    /// ISO 639-2 code (`eng`).
    #[serde(default)]
    pub iso3: String,
}

impl Language {
    fn parsed(&self) -> Value {
        serde_json::from_str(self.json).unwrap_or(Value::Null)
    }

    /// The file's `_meta` (empty members when absent or malformed).
    pub fn meta(&self) -> Meta {
        self.parsed()
            .get("_meta")
            .cloned()
            .and_then(|m| serde_json::from_value(m).ok())
            .unwrap_or_default()
    }

    /// `rtl` for right-to-left languages, else `ltr`.
    pub fn dir(&self) -> &'static str {
        if self.meta().dir == "rtl" {
            "rtl"
        } else {
            "ltr"
        }
    }

    /// The text of `key`, if the file has it.
    pub fn text(&self, key: &str) -> Option<String> {
        self.parsed()
            .get(key)
            .and_then(Value::as_str)
            .map(str::to_owned)
    }
}

/// The language file called `code`.
pub fn find(code: &str) -> Option<&'static Language> {
    LANGUAGES.iter().find(|l| l.code == code)
}

/// The first language of `ui_locales` (space-separated BCP 47 tags, or eSignet's three-letter codes) that is
/// offered; the default otherwise.
pub fn negotiate(ui_locales: Option<&str>) -> &'static Language {
    let metas: Vec<(&'static Language, Meta)> = LANGUAGES.iter().map(|l| (l, l.meta())).collect();
    for tag in ui_locales.unwrap_or_default().split_whitespace() {
        let tag = tag.to_ascii_lowercase();
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        let found = metas.iter().find(|(l, m)| {
            l.code == tag || l.code == primary || (!m.iso3.is_empty() && m.iso3 == primary)
        });
        if let Some((l, _)) = found {
            return l;
        }
    }
    DEFAULT
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn keys(l: &Language) -> BTreeSet<String> {
        l.parsed().as_object().unwrap().keys().cloned().collect()
    }

    #[test]
    fn every_file_is_complete_and_well_formed() {
        let english = keys(DEFAULT);
        assert!(english.contains("error.auth_failed") && english.contains("consent.allow"));
        for l in LANGUAGES {
            assert_eq!(
                keys(l),
                english,
                "{}.json must have exactly the keys of en.json",
                l.code
            );
            let meta = l.meta();
            assert!(!meta.name.is_empty(), "{}: _meta.name", l.code);
            assert!(
                meta.dir == "ltr" || meta.dir == "rtl",
                "{}: _meta.dir",
                l.code
            );
            assert_eq!(meta.iso3.len(), 3, "{}: _meta.iso3", l.code);
            let ok =
                l.code.len() >= 2 && l.code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-');
            assert!(ok, "language code {:?}", l.code);
            for (key, value) in l.parsed().as_object().unwrap() {
                assert!(
                    key == "_meta" || value.is_string(),
                    "{}: {key} must be a string",
                    l.code
                );
            }
        }
        assert_eq!(find("ar").map(Language::dir), Some("rtl"));
        assert_eq!(DEFAULT.dir(), "ltr");
    }

    #[test]
    fn negotiation_takes_the_first_offered_language() {
        assert_eq!(negotiate(None).code, "en");
        assert_eq!(negotiate(Some("ar")).code, "ar");
        assert_eq!(negotiate(Some("de fr-CA ar")).code, "fr");
        assert_eq!(negotiate(Some("ara")).code, "ar");
        assert_eq!(negotiate(Some("AR_eg")).code, "ar");
        assert_eq!(negotiate(Some("xx yy")).code, "en");
        assert_eq!(negotiate(Some("")).code, "en");
    }
}
