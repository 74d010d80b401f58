//! Redirect-URI matching: exact by default, path-only wildcards for registered patterns.
//!
//! Policy (stricter than eSignet's Ant matcher, which ran over the whole URI string and so let `*` reach into
//! the host):
//! - The given URI must be an absolute RFC 3986 URI in printable ASCII: a scheme, no fragment (`#`), no userinfo
//!   (`@` in the authority), no backslash, space, quote or other character outside the URI set, and every `%`
//!   followed by two hex digits. Anything else never matches.
//! - A registered URI without `*` matches only the byte-identical string (OIDC Core §3.1.2.1 simple string
//!   comparison): no case folding of scheme or host, no default-port, percent-encoding or trailing-slash
//!   normalisation.
//! - A registered URI with `*` is a pattern. Its scheme, authority (host and port) and query compare
//!   byte-for-byte with the given URI's (a pattern without a query only matches URIs without one); a `*` in any
//!   of them makes the pattern match nothing. Only the path may hold wildcards: a segment that is exactly `**`
//!   matches zero or more whole segments; any other segment containing `*` matches one segment, `*` standing for
//!   any run of characters within it. Wildcards never match an empty segment (`//`, trailing `/`), a dot segment
//!   (`.`, `..`, also percent-encoded), or a segment carrying an encoded `/` or `\` (`%2F`, `%5C`).

/// Longest URI considered (the `redirect_uris` column holds 2048 characters).
const MAX_URI_LEN: usize = 2048;

/// Whether `given` matches one of `registered`, under the policy in the module docs.
pub fn redirect_uri_matches(registered: &[String], given: &str) -> bool {
    if !is_acceptable_uri(given) {
        return false;
    }
    registered.iter().any(|r| {
        if r.contains('*') {
            pattern_matches(r, given)
        } else {
            r == given
        }
    })
}

/// A URI split into its RFC 3986 parts (the fragment is never accepted, so it has no part).
pub(crate) struct Parts<'a> {
    pub(crate) scheme: &'a str,
    pub(crate) authority: Option<&'a str>,
    pub(crate) path: &'a str,
    pub(crate) query: Option<&'a str>,
}

pub(crate) fn split(uri: &str) -> Option<Parts<'_>> {
    let colon = uri.find(':')?;
    let scheme = &uri[..colon];
    let mut sc = scheme.chars();
    let first_ok = sc.next().is_some_and(|c| c.is_ascii_alphabetic());
    if !first_ok || !sc.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.')) {
        return None;
    }
    let rest = &uri[colon + 1..];
    let (before_query, query) = match rest.find('?') {
        Some(q) => (&rest[..q], Some(&rest[q + 1..])),
        None => (rest, None),
    };
    let (authority, path) = match before_query.strip_prefix("//") {
        Some(hier) => {
            let end = hier.find('/').unwrap_or(hier.len());
            (Some(&hier[..end]), &hier[end..])
        }
        None => (None, before_query),
    };
    Some(Parts {
        scheme,
        authority,
        path,
        query,
    })
}

/// Printable-ASCII absolute URI without fragment, userinfo or bad escapes (see the module docs).
pub(crate) fn is_acceptable_uri(uri: &str) -> bool {
    if uri.is_empty() || uri.len() > MAX_URI_LEN {
        return false;
    }
    let b = uri.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        let allowed = c.is_ascii_alphanumeric() || b"-._~:/?[]!$&'()*+,;=%".contains(&c);
        if !allowed {
            return false; // includes '#', '@', '\\', space, controls, non-ASCII
        }
        if c == b'%'
            && !(b.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
                && b.get(i + 2).is_some_and(u8::is_ascii_hexdigit))
        {
            return false;
        }
    }
    split(uri).is_some()
}

fn pattern_matches(pattern: &str, given: &str) -> bool {
    let (Some(p), Some(g)) = (split(pattern), split(given)) else {
        return false;
    };
    let fixed_has_star = p.scheme.contains('*')
        || p.authority.is_some_and(|a| a.contains('*'))
        || p.query.is_some_and(|q| q.contains('*'));
    if fixed_has_star || p.scheme != g.scheme || p.authority != g.authority || p.query != g.query {
        return false;
    }
    let p_segs: Vec<&str> = segments(p.path);
    let g_segs: Vec<&str> = segments(g.path);
    match_segments(&p_segs, &g_segs)
}

fn segments(path: &str) -> Vec<&str> {
    if path.is_empty() {
        Vec::new()
    } else {
        path.strip_prefix('/').unwrap_or(path).split('/').collect()
    }
}

/// Whether a given segment may be consumed by a wildcard.
fn wildcard_may_take(seg: &str) -> bool {
    if seg.is_empty() {
        return false;
    }
    let lower = seg.to_ascii_lowercase();
    if lower.contains("%2f") || lower.contains("%5c") {
        return false;
    }
    let dots = lower.replace("%2e", ".");
    dots != "." && dots != ".."
}

/// Matches path segments with a DP table: `ok[i][j]` = pattern[i..] matches given[j..].
fn match_segments(pattern: &[&str], given: &[&str]) -> bool {
    let (n, m) = (pattern.len(), given.len());
    let mut ok = vec![vec![false; m + 1]; n + 1];
    ok[n][m] = true;
    for i in (0..n).rev() {
        for j in (0..=m).rev() {
            let p = pattern[i];
            ok[i][j] = if p == "**" {
                ok[i + 1][j] || (j < m && wildcard_may_take(given[j]) && ok[i][j + 1])
            } else if p.contains('*') {
                j < m && wildcard_may_take(given[j]) && glob(p, given[j]) && ok[i + 1][j + 1]
            } else {
                j < m && p == given[j] && ok[i + 1][j + 1]
            };
        }
    }
    ok[0][0]
}

/// `*` matches any run of bytes; everything else matches itself.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, s) = (pattern.as_bytes(), s.as_bytes());
    let (mut pi, mut si) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while si < s.len() {
        if pi < p.len() && p[pi] == b'*' {
            star = Some((pi, si));
            pi += 1;
        } else if pi < p.len() && p[pi] == s[si] {
            pi += 1;
            si += 1;
        } else if let Some((sp, ss)) = star {
            pi = sp + 1;
            si = ss + 1;
            star = Some((sp, ss + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reg(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn exact_match_only_byte_identical() {
        let r = reg(&["https://rp.test/cb", "io.rp.app:/cb"]);
        assert!(redirect_uri_matches(&r, "https://rp.test/cb"));
        assert!(redirect_uri_matches(&r, "io.rp.app:/cb"));
        for bad in [
            "https://rp.test/cb/",
            "https://rp.test/cb?x=1",
            "https://RP.test/cb",
            "HTTPS://rp.test/cb",
            "https://rp.test:443/cb",
            "https://rp.test/c%62",
            "https://rp.test/cb#frag",
            "https://rp.test.evil.com/cb",
            "https://rp.test@evil/cb",
            "https://rp.test/cb-random",
            "https://rp.test/./cb",
            " https://rp.test/cb",
            "",
        ] {
            assert!(!redirect_uri_matches(&r, bad), "{bad}");
        }
    }

    #[test]
    fn registered_uri_with_fragment_never_matches() {
        assert!(!redirect_uri_matches(
            &reg(&["https://rp.test/cb#x"]),
            "https://rp.test/cb#x"
        ));
    }

    #[test]
    fn single_star_stays_in_one_segment() {
        let r = reg(&["https://rp.test/userprofile/*"]);
        assert!(redirect_uri_matches(&r, "https://rp.test/userprofile/abc"));
        assert!(redirect_uri_matches(&r, "https://rp.test/userprofile/a%41"));
        for bad in [
            "https://rp.test/userprofile/a/b",
            "https://rp.test/userprofile/",
            "https://rp.test/userprofile",
            "https://rp.test/userprofile/..",
            "https://rp.test/userprofile/%2e%2E",
            "https://rp.test/userprofile/.",
            "https://rp.test/userprofile/a%2Fb",
            "https://rp.test/userprofile/a%5cb",
            "https://rp.test/userprofile/a%zz",
            "https://rp.test/userprofile/x?q=1",
            "https://rp.test/userprofile/x#frag",
            "https://rp.test.evil.com/userprofile/x",
            "https://rp.test@evil/userprofile/x",
            "https://rp.test\\@evil/userprofile/x",
            "https://evil/userprofile/x",
            "http://rp.test/userprofile/x",
            "https://rp.test:8443/userprofile/x",
            "https://RP.TEST/userprofile/x",
            "https://rp.test/other/x",
        ] {
            assert!(!redirect_uri_matches(&r, bad), "{bad}");
        }
    }

    #[test]
    fn double_star_spans_segments_but_not_upwards() {
        let r = reg(&["https://rp.test/app/**"]);
        for good in [
            "https://rp.test/app",
            "https://rp.test/app/a",
            "https://rp.test/app/a/b/c",
        ] {
            assert!(redirect_uri_matches(&r, good), "{good}");
        }
        for bad in [
            "https://rp.test/app/../admin",
            "https://rp.test/app/a//b",
            "https://rp.test/app/a/",
            "https://rp.test/appx",
            "https://rp.test/app/a?next=https://evil",
        ] {
            assert!(!redirect_uri_matches(&r, bad), "{bad}");
        }
        let mid = reg(&["https://rp.test/**/cb"]);
        assert!(redirect_uri_matches(&mid, "https://rp.test/cb"));
        assert!(redirect_uri_matches(&mid, "https://rp.test/x/y/cb"));
        assert!(!redirect_uri_matches(&mid, "https://rp.test/x/y/cb2"));
    }

    #[test]
    fn glob_within_segment_and_fixed_query() {
        let r = reg(&["https://rp.test/cb-*.html?app=1"]);
        assert!(redirect_uri_matches(&r, "https://rp.test/cb-x.html?app=1"));
        assert!(!redirect_uri_matches(&r, "https://rp.test/cb-x.html"));
        assert!(!redirect_uri_matches(&r, "https://rp.test/cb-x.html?app=2"));
        assert!(!redirect_uri_matches(
            &r,
            "https://rp.test/cb-x/y.html?app=1"
        ));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(glob("a*", "a"));
        assert!(!glob("a*c", "ab"));
    }

    #[test]
    fn wildcards_outside_the_path_never_match() {
        for p in [
            "https://*.rp.test/cb",
            "https://rp.test:*/cb",
            "https://rp.test/cb?x=*",
            "*://rp.test/cb",
        ] {
            let r = reg(&[p]);
            assert!(!redirect_uri_matches(&r, "https://a.rp.test/cb"), "{p}");
            assert!(!redirect_uri_matches(&r, "https://rp.test/cb"), "{p}");
            assert!(!redirect_uri_matches(&r, "https://rp.test/cb?x=1"), "{p}");
        }
    }

    #[test]
    fn private_use_scheme_pattern() {
        let r = reg(&["io.rp.app:/cb/*"]);
        assert!(redirect_uri_matches(&r, "io.rp.app:/cb/done"));
        assert!(!redirect_uri_matches(&r, "io.rp.app://cb/done"));
        assert!(!redirect_uri_matches(&r, "io.rp.evil:/cb/done"));
    }
}
