//! The language codes a client name may be given in: the ISO 639-3 (= ISO 639-2/T) codes of the languages that
//! have an ISO 639-1 code, which is the set eSignet accepts (Java's `Locale.getISOLanguages()` mapped to their
//! three-letter form). The list is sorted, so lookups are a binary search.

/// The accepted codes, sorted.
const CODES: [&str; 184] = [
    "aar", "abk", "afr", "aka", "amh", "ara", "arg", "asm", "ava", "ave", "aym", "aze", "bak",
    "bam", "bel", "ben", "bis", "bod", "bos", "bre", "bul", "cat", "ces", "cha", "che", "chu",
    "chv", "cor", "cos", "cre", "cym", "dan", "deu", "div", "dzo", "ell", "eng", "epo", "est",
    "eus", "ewe", "fao", "fas", "fij", "fin", "fra", "fry", "ful", "gla", "gle", "glg", "glv",
    "grn", "guj", "hat", "hau", "hbs", "heb", "her", "hin", "hmo", "hrv", "hun", "hye", "ibo",
    "ido", "iii", "iku", "ile", "ina", "ind", "ipk", "isl", "ita", "jav", "jpn", "kal", "kan",
    "kas", "kat", "kau", "kaz", "khm", "kik", "kin", "kir", "kom", "kon", "kor", "kua", "kur",
    "lao", "lat", "lav", "lim", "lin", "lit", "ltz", "lub", "lug", "mah", "mal", "mar", "mkd",
    "mlg", "mlt", "mon", "mri", "msa", "mya", "nau", "nav", "nbl", "nde", "ndo", "nep", "nld",
    "nno", "nob", "nor", "nya", "oci", "oji", "ori", "orm", "oss", "pan", "pli", "pol", "por",
    "pus", "que", "roh", "ron", "run", "rus", "sag", "san", "sin", "slk", "slv", "sme", "smo",
    "sna", "snd", "som", "sot", "spa", "sqi", "srd", "srp", "ssw", "sun", "swa", "swe", "tah",
    "tam", "tat", "tel", "tgk", "tgl", "tha", "tir", "ton", "tsn", "tso", "tuk", "tur", "twi",
    "uig", "ukr", "urd", "uzb", "ven", "vie", "vol", "wln", "wol", "xho", "yid", "yor", "zha",
    "zho", "zul",
];

/// Whether `code` is an accepted ISO 639-3 language code (lower-case, exactly as listed).
pub fn is_language_code(code: &str) -> bool {
    CODES.binary_search(&code).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_and_known() {
        assert!(CODES.windows(2).all(|w| w[0] < w[1]));
        for c in ["eng", "fra", "ara", "hin", "tam", "kan", "zho", "deu"] {
            assert!(is_language_code(c), "{c}");
        }
        for c in ["en", "ENG", "xyz", "@none", "", "engl"] {
            assert!(!is_language_code(c), "{c}");
        }
    }
}
