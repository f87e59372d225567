//! Human durations in config: a sequence of `<integer><unit>` with units ms, s, m, h, d, w
//! (`"250ms"`, `"90s"`, `"5h"`, `"1h30m"`, `"7d"`).

/// Milliseconds in `text`, or `None` if it is not a positive duration.
pub fn parse_duration_ms(text: &str) -> Option<u64> {
    let mut total: u64 = 0;
    let mut digits = String::new();
    let mut saw_unit = false;
    let mut chars = text.trim().chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        let unit_ms: u64 = match c {
            'm' if chars.peek() == Some(&'s') => {
                chars.next();
                1
            }
            's' => 1_000,
            'm' => 60_000,
            'h' => 3_600_000,
            'd' => 86_400_000,
            'w' => 604_800_000,
            _ => return None,
        };
        let amount: u64 = digits.parse().ok()?;
        digits.clear();
        total = total.checked_add(amount.checked_mul(unit_ms)?)?;
        saw_unit = true;
    }
    (digits.is_empty() && saw_unit && total > 0).then_some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration_ms("5h"), Some(18_000_000));
        assert_eq!(parse_duration_ms("1h30m"), Some(5_400_000));
        assert_eq!(parse_duration_ms("90s"), Some(90_000));
        assert_eq!(parse_duration_ms("7d"), Some(604_800_000));
        assert_eq!(parse_duration_ms("250ms"), Some(250));
        assert_eq!(parse_duration_ms("1m30s500ms"), Some(90_500));
        for bad in ["", "5", "h", "5x", "0h", "-1h", "1.5h", "ms", "5mss"] {
            assert_eq!(parse_duration_ms(bad), None, "{bad}");
        }
    }
}
