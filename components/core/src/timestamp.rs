//! eSignet's envelope timestamp format, `yyyy-MM-dd'T'HH:mm:ss.SSS'Z'` (UTC, always milliseconds).
//!
//! Parsing is strict, like the Java formatter eSignet uses: exactly 24 characters, every field two or four
//! digits, a real calendar date, hours 00–23, minutes and seconds 00–59, a literal `Z`. Formatting never fails;
//! it is the same shape JavaScript's `Date.prototype.toISOString` produces for years 0000–9999.

/// Formats epoch milliseconds as `yyyy-MM-ddTHH:mm:ss.SSSZ`.
pub fn format_utc_ms(epoch_ms: i64) -> String {
    let days = epoch_ms.div_euclid(86_400_000);
    let ms_of_day = epoch_ms.rem_euclid(86_400_000);
    let (y, m, d) = civil_from_days(days);
    let (hh, rest) = (ms_of_day / 3_600_000, ms_of_day % 3_600_000);
    let (mm, rest) = (rest / 60_000, rest % 60_000);
    let (ss, ms) = (rest / 1000, rest % 1000);
    format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{ms:03}Z")
}

/// Parses `yyyy-MM-ddTHH:mm:ss.SSSZ` into epoch milliseconds; `None` if it is not exactly that.
pub fn parse_utc_ms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 24 {
        return None;
    }
    let sep = [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (23, b'Z'),
    ];
    if sep.iter().any(|&(i, c)| b[i] != c) {
        return None;
    }
    let num = |from: usize, to: usize| -> Option<i64> {
        b[from..to].iter().try_fold(0i64, |acc, &c| {
            c.is_ascii_digit().then(|| acc * 10 + i64::from(c - b'0'))
        })
    };
    let (y, mo, d) = (num(0, 4)?, num(5, 7)?, num(8, 10)?);
    let (h, mi, se, ms) = (num(11, 13)?, num(14, 16)?, num(17, 19)?, num(20, 23)?);
    if !(1..=12).contains(&mo) || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || se > 59
    {
        return None;
    }
    let days = days_from_civil(y, mo, d);
    Some(days * 86_400_000 + h * 3_600_000 + mi * 60_000 + se * 1000 + ms)
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: i64) -> i64 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_known_instants() {
        assert_eq!(format_utc_ms(0), "1970-01-01T00:00:00.000Z");
        assert_eq!(format_utc_ms(1_700_000_000_123), "2023-11-14T22:13:20.123Z");
        assert_eq!(format_utc_ms(951_782_400_000), "2000-02-29T00:00:00.000Z");
        assert_eq!(format_utc_ms(-1), "1969-12-31T23:59:59.999Z");
    }

    #[test]
    fn parses_and_round_trips() {
        assert_eq!(
            parse_utc_ms("2023-11-14T22:13:20.123Z"),
            Some(1_700_000_000_123)
        );
        for t in [0, 1_700_000_000_123, 4_102_444_799_999, 951_782_400_000] {
            assert_eq!(parse_utc_ms(&format_utc_ms(t)), Some(t));
        }
    }

    #[test]
    fn rejects_near_misses() {
        for s in [
            "2023-11-14T22:13:20Z",
            "2023-11-14T22:13:20.12Z",
            "2023-11-14T22:13:20.123",
            "2023-11-14 22:13:20.123Z",
            "2023-11-14T22:13:20.123+00:00",
            "2023-02-29T00:00:00.000Z",
            "2023-13-01T00:00:00.000Z",
            "2023-00-01T00:00:00.000Z",
            "2023-11-14T24:00:00.000Z",
            "2023-11-14T22:60:00.000Z",
            "2023-11-14T22:13:60.000Z",
            "2023-11-1aT22:13:20.123Z",
            "+023-11-14T22:13:20.123Z",
            "2023-11-14T22:13:20.123z",
        ] {
            assert_eq!(parse_utc_ms(s), None, "{s}");
        }
        assert!(parse_utc_ms("2024-02-29T00:00:00.000Z").is_some());
    }
}
