//! When an upstream says it can be tried again, read from its answer's headers.
//!
//! Every format's upstreams may send the standard `Retry-After` (seconds, or an HTTP date) and
//! the common `retry-after-ms`; vendors add their own rate-limit reset headers, which each
//! format reads in its descriptor with the parsers here (`FormatSpec::retry_after_ms`).

use crate::time::{parse_http_date, parse_rfc3339};

/// The longest wait the gateway believes (a day): anything longer is a bug upstream.
const MAX_WAIT_MS: u64 = 86_400_000;

/// The wait in `retry-after-ms`, else `Retry-After`.
pub fn standard(header: &dyn Fn(&str) -> Option<String>, now_ms: u64) -> Option<u64> {
    if let Some(ms) = header("retry-after-ms").and_then(|v| seconds_ms(&v, 1.0)) {
        return Some(ms);
    }
    let value = header("retry-after")?;
    seconds_ms(&value, 1000.0).or_else(|| {
        parse_http_date(value.trim()).map(|at| at.saturating_sub(now_ms).min(MAX_WAIT_MS))
    })
}

/// A decimal number of units (`"1.5"`) as milliseconds, `unit_ms` each.
fn seconds_ms(value: &str, unit_ms: f64) -> Option<u64> {
    let amount: f64 = value.trim().parse().ok()?;
    (amount.is_finite() && amount >= 0.0)
        .then(|| ((amount * unit_ms).ceil() as u64).min(MAX_WAIT_MS))
}

/// A Go duration as vendors write reset times (`"1s"`, `"6m0s"`, `"20ms"`, `"1h2m3.5s"`), in
/// milliseconds.
pub fn go_duration_ms(text: &str) -> Option<u64> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0.0f64;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let (number, after) = rest.split_at(digits);
        let amount: f64 = number.parse().ok()?;
        let (unit_ms, after) = [("ms", 1.0), ("us", 0.001), ("µs", 0.001), ("ns", 0.000_001)]
            .into_iter()
            .chain([("h", 3_600_000.0), ("m", 60_000.0), ("s", 1_000.0)])
            .find_map(|(unit, ms)| after.strip_prefix(unit).map(|after| (ms, after)))?;
        total += amount * unit_ms;
        rest = after;
    }
    total
        .is_finite()
        .then(|| (total.ceil() as u64).min(MAX_WAIT_MS))
}

/// An RFC 3339 reset time as a wait from `now_ms`.
pub fn until_rfc3339_ms(text: &str, now_ms: u64) -> Option<u64> {
    parse_rfc3339(text).map(|at| at.saturating_sub(now_ms).min(MAX_WAIT_MS))
}

/// The longest of the waits of the limits that are used up: `limits` pairs a limit's
/// remaining count with its reset wait. A limit with requests or tokens left does not hold
/// anyone back, so its reset is ignored.
pub fn exhausted_limits_wait(
    limits: impl IntoIterator<Item = (Option<String>, Option<u64>)>,
) -> Option<u64> {
    limits
        .into_iter()
        .filter(|(remaining, _)| remaining.as_deref().map(str::trim) == Some("0"))
        .filter_map(|(_, wait)| wait)
        .max()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn standard_headers() {
        let now = 1_764_102_506_000;
        assert_eq!(
            standard(&headers(&[("retry-after", "20")]), now),
            Some(20_000)
        );
        assert_eq!(
            standard(&headers(&[("retry-after", "0.2")]), now),
            Some(200)
        );
        assert_eq!(
            standard(
                &headers(&[("retry-after", "20"), ("retry-after-ms", "1500")]),
                now
            ),
            Some(1_500)
        );
        assert_eq!(
            standard(
                &headers(&[("retry-after", "Tue, 25 Nov 2025 20:28:36 GMT")]),
                now
            ),
            Some(10_000)
        );
        assert_eq!(
            standard(
                &headers(&[("retry-after", "Tue, 25 Nov 2025 20:28:16 GMT")]),
                now
            ),
            Some(0)
        );
        assert_eq!(
            standard(&headers(&[("retry-after", "99999999999")]), now),
            Some(MAX_WAIT_MS)
        );
        for bad in ["", "-1", "NaN", "soon", "inf"] {
            assert_eq!(
                standard(&headers(&[("retry-after", bad)]), now),
                None,
                "{bad}"
            );
        }
        assert_eq!(standard(&headers(&[]), now), None);
    }

    #[test]
    fn go_durations() {
        for (text, ms) in [
            ("1s", Some(1_000)),
            ("6m0s", Some(360_000)),
            ("20ms", Some(20)),
            ("1h2m3.5s", Some(3_723_500)),
            ("0.5s", Some(500)),
            ("17.222s", Some(17_222)),
            ("", None),
            ("5", None),
            ("5x", None),
            ("s", None),
        ] {
            assert_eq!(go_duration_ms(text), ms, "{text}");
        }
    }

    #[test]
    fn only_exhausted_limits_hold_back() {
        assert_eq!(
            exhausted_limits_wait([
                (Some("0".to_owned()), Some(6_000)),
                (Some("12".to_owned()), Some(60_000)),
                (Some("0".to_owned()), Some(1_000)),
            ]),
            Some(6_000)
        );
        assert_eq!(
            exhausted_limits_wait([(Some("3".to_owned()), Some(6_000))]),
            None
        );
        assert_eq!(exhausted_limits_wait([(None, Some(6_000))]), None);
    }
}
