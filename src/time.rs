//! Wall-clock formatting and parsing without `std::time` (which panics on
//! wasm32-unknown-unknown): the edge passes milliseconds since the Unix epoch in.

/// RFC 3339 UTC with seconds precision, e.g. `2026-11-25T20:28:26Z`.
pub fn rfc3339(unix_ms: u64) -> String {
    let seconds = unix_ms / 1000;
    let days = seconds / 86_400;
    let rem = seconds % 86_400;
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The UTC date (`YYYY-MM-DD`) of a moment.
pub fn utc_date(unix_ms: u64) -> String {
    let (year, month, day) = civil_from_days(unix_ms / 86_400_000);
    format!("{year:04}-{month:02}-{day:02}")
}

/// Milliseconds since the epoch of an RFC 3339 time (`2026-11-30T10:00:00Z`,
/// `2026-11-30T10:00:00.250+01:00`); `None` for anything else or a time before 1970.
pub fn parse_rfc3339(text: &str) -> Option<u64> {
    let text = text.trim();
    let (date, rest) = text.split_at_checked(10)?;
    let mut fields = date.split('-');
    let year = number(fields.next()?, 4)?;
    let month = number(fields.next()?, 2)?;
    let day = number(fields.next()?, 2)?;
    let rest = rest.strip_prefix(['T', 't', ' '])?;
    let (time, zone) = match rest.find(['Z', 'z', '+', '-']) {
        Some(at) => rest.split_at(at),
        None => return None,
    };
    let (clock, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut parts = clock.split(':');
    let hour = number(parts.next()?, 2)?;
    let minute = number(parts.next()?, 2)?;
    let second = number(parts.next()?, 2)?;
    if parts.next().is_some() || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let millis = fraction
        .bytes()
        .chain(std::iter::repeat(b'0'))
        .take(3)
        .fold(0u64, |acc, digit| acc * 10 + u64::from(digit - b'0'));
    let offset_s: i64 = match zone {
        "Z" | "z" => 0,
        _ => {
            let sign = if zone.starts_with('-') { -1 } else { 1 };
            let (h, m) = zone.get(1..)?.split_once(':')?;
            sign * (number(h, 2)? as i64 * 3600 + number(m, 2)? as i64 * 60)
        }
    };
    let local_s = seconds_of(year, month, day, hour, minute, second)?;
    let utc_s = u64::try_from(i64::try_from(local_s).ok()?.checked_sub(offset_s)?).ok()?;
    utc_s.checked_mul(1000)?.checked_add(millis)
}

/// Milliseconds since the epoch of an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, the only form
/// servers may send).
pub fn parse_http_date(text: &str) -> Option<u64> {
    let mut words = text.split_whitespace();
    let _weekday = words.next()?;
    let day = number(words.next()?, 2)?;
    let month_name = words.next()?;
    let month = MONTHS
        .iter()
        .position(|m| m.eq_ignore_ascii_case(month_name))? as u64
        + 1;
    let year = number(words.next()?, 4)?;
    let mut clock = words.next()?.split(':');
    let hour = number(clock.next()?, 2)?;
    let minute = number(clock.next()?, 2)?;
    let second = number(clock.next()?, 2)?;
    if words.next()? != "GMT" || words.next().is_some() || clock.next().is_some() {
        return None;
    }
    seconds_of(year, month, day, hour, minute, second)?.checked_mul(1000)
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// A run of exactly `digits` ASCII digits.
fn number(text: &str, digits: usize) -> Option<u64> {
    (text.len() == digits && text.bytes().all(|b| b.is_ascii_digit()))
        .then(|| text.parse().ok())
        .flatten()
}

fn seconds_of(year: u64, month: u64, day: u64, hour: u64, minute: u64, second: u64) -> Option<u64> {
    let valid = (1970..=9999).contains(&year)
        && (1..=12).contains(&month)
        && (1..=31).contains(&day)
        && hour < 24
        && minute < 60
        && second < 61;
    valid.then(|| days_from_civil(year, month, day) * 86_400 + hour * 3600 + minute * 60 + second)
}

/// Howard Hinnant's civil-to-days algorithm, for dates from 1970.
pub(crate) fn days_from_civil(year: u64, month: u64, day: u64) -> u64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year / 400;
    let yoe = year - era * 400;
    let mp = if month > 2 { month - 3 } else { month + 9 };
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Howard Hinnant's days-to-civil algorithm, for days since 1970-01-01.
pub(crate) fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_764_102_506_000), "2025-11-25T20:28:26Z");
        assert_eq!(rfc3339(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc_date(1_764_102_506_999), "2025-11-25");
    }

    #[test]
    fn parses() {
        assert_eq!(
            parse_rfc3339("2025-11-25T20:28:26Z"),
            Some(1_764_102_506_000)
        );
        assert_eq!(
            parse_rfc3339("2025-11-25T21:28:26.5+01:00"),
            Some(1_764_102_506_500)
        );
        assert_eq!(
            parse_rfc3339("2025-11-25T19:28:26.123456-01:00"),
            Some(1_764_102_506_123)
        );
        assert_eq!(parse_rfc3339("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Some(0));
        for bad in [
            "",
            "2025-11-25",
            "2025-11-25T20:28Z",
            "2025-13-01T00:00:00Z",
            "x025-11-25T20:28:26Z",
            "1969-12-31T23:59:59Z",
            "2025-11-25T20:28:26",
        ] {
            assert_eq!(parse_rfc3339(bad), None, "{bad}");
        }
        assert_eq!(
            parse_http_date("Tue, 25 Nov 2025 20:28:26 GMT"),
            Some(1_764_102_506_000)
        );
        assert_eq!(parse_http_date("Tue, 25 Nov 2025 20:28:26 UTC"), None);
        assert_eq!(parse_http_date("garbage"), None);
        for ms in [0, 951_782_400_000, 1_764_102_506_000, 4_102_444_800_000] {
            assert_eq!(parse_rfc3339(&rfc3339(ms)), Some(ms));
        }
    }
}
