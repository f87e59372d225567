//! Calendar periods (a day, a week from Monday, a month) in a time zone, as UTC instants: the
//! bounds of calendar quota windows and of per-key daily and monthly spend limits.
//!
//! A [`Zone`] is a standard offset from UTC plus, for zones that keep summer time, the rule
//! their transitions follow today. The gateway knows a table of common IANA names (see
//! [`Zone::parse`]) and any fixed offset (`UTC`, `UTC+05:30`, `-03:00`); it does not carry the
//! whole tz database (measured: `chrono-tz` adds about 0.9 MB to the Worker's 4 MB of wasm,
//! 126 KB compressed), so it answers for the rules in force now, which are the only ones a
//! quota window that starts now needs.
//!
//! Periods start at local midnight, which no rule of the table moves (every transition it
//! knows happens between 01:00 and 03:00 local time), so a day is 23, 24 or 25 hours long and
//! months follow the civil calendar (Jan 31 is followed by Feb 1, Feb 29 in leap years).

use serde::{Deserialize, Serialize};

use crate::time::{civil_from_days, days_from_civil};

const MINUTE_MS: i64 = 60_000;
const DAY_MS: i64 = 86_400_000;

/// The summer-time rule a zone follows (as in force today).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Dst {
    /// No summer time.
    None,
    /// European Union and UK: last Sunday of March to last Sunday of October, 01:00 UTC.
    Eu,
    /// United States and Canada: second Sunday of March, 02:00 local, to the first Sunday of
    /// November, 02:00 local summer time.
    Us,
    /// South-eastern Australia: first Sunday of October, 02:00 local, to the first Sunday of
    /// April, 03:00 local summer time.
    AuSouth,
    /// New Zealand: last Sunday of September, 02:00 local, to the first Sunday of April, 03:00
    /// local summer time.
    Nz,
}

/// A time zone: its standard offset and its summer-time rule (one hour ahead).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Zone {
    /// Minutes east of UTC outside summer time.
    pub offset_minutes: i32,
    pub dst: Dst,
}

/// Which Sunday of a month.
#[derive(Clone, Copy)]
enum Sunday {
    Nth(i64),
    Last,
}

/// A transition: the Sunday, and the time of day in minutes, in UTC or in local standard time.
#[derive(Clone, Copy)]
struct Transition {
    month: i64,
    sunday: Sunday,
    minutes: i64,
    utc: bool,
}

/// IANA names the gateway knows: (name, standard offset in minutes, rule).
const ZONES: &[(&str, i32, Dst)] = &[
    ("Europe/London", 0, Dst::Eu),
    ("Europe/Dublin", 0, Dst::Eu),
    ("Europe/Lisbon", 0, Dst::Eu),
    ("Atlantic/Canary", 0, Dst::Eu),
    ("Europe/Paris", 60, Dst::Eu),
    ("Europe/Berlin", 60, Dst::Eu),
    ("Europe/Madrid", 60, Dst::Eu),
    ("Europe/Rome", 60, Dst::Eu),
    ("Europe/Amsterdam", 60, Dst::Eu),
    ("Europe/Brussels", 60, Dst::Eu),
    ("Europe/Luxembourg", 60, Dst::Eu),
    ("Europe/Vienna", 60, Dst::Eu),
    ("Europe/Zurich", 60, Dst::Eu),
    ("Europe/Stockholm", 60, Dst::Eu),
    ("Europe/Oslo", 60, Dst::Eu),
    ("Europe/Copenhagen", 60, Dst::Eu),
    ("Europe/Warsaw", 60, Dst::Eu),
    ("Europe/Prague", 60, Dst::Eu),
    ("Europe/Budapest", 60, Dst::Eu),
    ("Europe/Belgrade", 60, Dst::Eu),
    ("Europe/Athens", 120, Dst::Eu),
    ("Europe/Helsinki", 120, Dst::Eu),
    ("Europe/Kyiv", 120, Dst::Eu),
    ("Europe/Kiev", 120, Dst::Eu),
    ("Europe/Bucharest", 120, Dst::Eu),
    ("Europe/Sofia", 120, Dst::Eu),
    ("Europe/Riga", 120, Dst::Eu),
    ("Europe/Vilnius", 120, Dst::Eu),
    ("Europe/Tallinn", 120, Dst::Eu),
    ("Europe/Istanbul", 180, Dst::None),
    ("Europe/Moscow", 180, Dst::None),
    ("America/New_York", -300, Dst::Us),
    ("America/Toronto", -300, Dst::Us),
    ("America/Detroit", -300, Dst::Us),
    ("America/Chicago", -360, Dst::Us),
    ("America/Winnipeg", -360, Dst::Us),
    ("America/Denver", -420, Dst::Us),
    ("America/Edmonton", -420, Dst::Us),
    ("America/Phoenix", -420, Dst::None),
    ("America/Los_Angeles", -480, Dst::Us),
    ("America/Vancouver", -480, Dst::Us),
    ("America/Anchorage", -540, Dst::Us),
    ("America/Halifax", -240, Dst::Us),
    ("America/St_Johns", -210, Dst::Us),
    ("Pacific/Honolulu", -600, Dst::None),
    ("America/Mexico_City", -360, Dst::None),
    ("America/Bogota", -300, Dst::None),
    ("America/Lima", -300, Dst::None),
    ("America/Caracas", -240, Dst::None),
    ("America/Sao_Paulo", -180, Dst::None),
    ("America/Argentina/Buenos_Aires", -180, Dst::None),
    ("America/Montevideo", -180, Dst::None),
    ("Africa/Lagos", 60, Dst::None),
    ("Africa/Johannesburg", 120, Dst::None),
    ("Africa/Nairobi", 180, Dst::None),
    ("Asia/Riyadh", 180, Dst::None),
    ("Asia/Tehran", 210, Dst::None),
    ("Asia/Dubai", 240, Dst::None),
    ("Asia/Karachi", 300, Dst::None),
    ("Asia/Kolkata", 330, Dst::None),
    ("Asia/Calcutta", 330, Dst::None),
    ("Asia/Kathmandu", 345, Dst::None),
    ("Asia/Dhaka", 360, Dst::None),
    ("Asia/Bangkok", 420, Dst::None),
    ("Asia/Jakarta", 420, Dst::None),
    ("Asia/Ho_Chi_Minh", 420, Dst::None),
    ("Asia/Shanghai", 480, Dst::None),
    ("Asia/Hong_Kong", 480, Dst::None),
    ("Asia/Taipei", 480, Dst::None),
    ("Asia/Singapore", 480, Dst::None),
    ("Asia/Manila", 480, Dst::None),
    ("Australia/Perth", 480, Dst::None),
    ("Asia/Tokyo", 540, Dst::None),
    ("Asia/Seoul", 540, Dst::None),
    ("Australia/Darwin", 570, Dst::None),
    ("Australia/Adelaide", 570, Dst::AuSouth),
    ("Australia/Brisbane", 600, Dst::None),
    ("Australia/Sydney", 600, Dst::AuSouth),
    ("Australia/Melbourne", 600, Dst::AuSouth),
    ("Australia/Hobart", 600, Dst::AuSouth),
    ("Australia/Canberra", 600, Dst::AuSouth),
    ("Pacific/Auckland", 720, Dst::Nz),
];

impl Default for Zone {
    fn default() -> Zone {
        Zone::UTC
    }
}

impl Zone {
    pub const UTC: Zone = Zone {
        offset_minutes: 0,
        dst: Dst::None,
    };

    /// A zone by IANA name (from the table above, any case), or a fixed offset: `UTC`, `GMT`,
    /// `Etc/UTC`, `UTC+05:30`, `UTC-3`, `+09:00`.
    pub fn parse(name: &str) -> Option<Zone> {
        let name = name.trim();
        if let Some(&(_, offset_minutes, dst)) = ZONES
            .iter()
            .find(|(known, _, _)| known.eq_ignore_ascii_case(name))
        {
            return Some(Zone {
                offset_minutes,
                dst,
            });
        }
        let upper = name.to_ascii_uppercase();
        let rest = ["ETC/UTC", "ETC/GMT", "UTC", "GMT", "Z"]
            .iter()
            .find_map(|prefix| upper.strip_prefix(prefix))
            .unwrap_or(&upper);
        if rest.is_empty() {
            return Some(Zone::UTC);
        }
        let (sign, digits) = match rest.split_at_checked(1)? {
            ("+", digits) => (1, digits),
            ("-", digits) => (-1, digits),
            _ => return None,
        };
        let (hours, minutes) = digits.split_once(':').unwrap_or((digits, "0"));
        let small = |text: &str| {
            (!text.is_empty() && text.len() <= 2 && text.bytes().all(|b| b.is_ascii_digit()))
                .then(|| text.parse::<i32>().ok())
                .flatten()
        };
        let (hours, minutes) = (small(hours)?, small(minutes)?);
        (hours <= 14 && minutes < 60).then_some(Zone {
            offset_minutes: sign * (hours * 60 + minutes),
            dst: Dst::None,
        })
    }

    /// The offset from UTC in force at `utc_ms`, in ms.
    pub fn offset_ms_at(&self, utc_ms: i64) -> i64 {
        let standard = i64::from(self.offset_minutes) * MINUTE_MS;
        let Some((start, end)) = self.transitions() else {
            return standard;
        };
        let (year, _, _) = civil(utc_ms.saturating_add(standard));
        let at = |t: Transition| -> i64 {
            let day = sunday(year, t.month, t.sunday);
            let local = day * DAY_MS + t.minutes * MINUTE_MS;
            if t.utc { local } else { local - standard }
        };
        let (begins, ends) = (at(start), at(end));
        let summer = if begins < ends {
            utc_ms >= begins && utc_ms < ends
        } else {
            // Southern hemisphere: summer time spans the new year.
            utc_ms >= begins || utc_ms < ends
        };
        if summer {
            standard + 60 * MINUTE_MS
        } else {
            standard
        }
    }

    fn transitions(&self) -> Option<(Transition, Transition)> {
        let local = |month, sunday, minutes| Transition {
            month,
            sunday,
            minutes,
            utc: false,
        };
        match self.dst {
            Dst::None => None,
            Dst::Eu => Some((
                Transition {
                    month: 3,
                    sunday: Sunday::Last,
                    minutes: 60,
                    utc: true,
                },
                Transition {
                    month: 10,
                    sunday: Sunday::Last,
                    minutes: 60,
                    utc: true,
                },
            )),
            // Ends at 02:00 summer time, which is 01:00 standard time.
            Dst::Us => Some((local(3, Sunday::Nth(2), 120), local(11, Sunday::Nth(1), 60))),
            // Ends at 03:00 summer time, 02:00 standard time.
            Dst::AuSouth => Some((
                local(10, Sunday::Nth(1), 120),
                local(4, Sunday::Nth(1), 120),
            )),
            Dst::Nz => Some((local(9, Sunday::Last, 120), local(4, Sunday::Nth(1), 120))),
        }
    }

    /// The UTC instant of local midnight starting day `days` (days since 1970-01-01, local).
    fn midnight(&self, days: i64) -> i64 {
        let local = days * DAY_MS;
        let guess = local - i64::from(self.offset_minutes) * MINUTE_MS;
        local - self.offset_ms_at(guess)
    }
}

/// A calendar period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Period {
    Day,
    /// Monday to Sunday.
    Week,
    Month,
}

impl Period {
    /// `daily`, `weekly` or `monthly`.
    pub fn parse(text: &str) -> Option<Period> {
        match text.trim().to_ascii_lowercase().as_str() {
            "daily" | "day" => Some(Period::Day),
            "weekly" | "week" => Some(Period::Week),
            "monthly" | "month" => Some(Period::Month),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Period::Day => "daily",
            Period::Week => "weekly",
            Period::Month => "monthly",
        }
    }

    /// The period of `zone` containing `now_ms`: its start and end (the next one's start), in
    /// ms since the epoch (UTC).
    pub fn bounds(self, zone: &Zone, now_ms: u64) -> (u64, u64) {
        let now = i64::try_from(now_ms).unwrap_or(i64::MAX / 2);
        let local_days = now
            .saturating_add(zone.offset_ms_at(now))
            .div_euclid(DAY_MS);
        let (first, next) = match self {
            Period::Day => (local_days, local_days + 1),
            Period::Week => {
                // 1970-01-01 was a Thursday: Monday is day 4 of the cycle.
                let monday = local_days - (local_days + 3).rem_euclid(7);
                (monday, monday + 7)
            }
            Period::Month => {
                let (year, month, _) = civil(local_days * DAY_MS);
                let (next_year, next_month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
                (days_of(year, month, 1), days_of(next_year, next_month, 1))
            }
        };
        let ms = |days: i64| u64::try_from(zone.midnight(days)).unwrap_or(0);
        (ms(first), ms(next))
    }
}

/// The civil date of local ms (from 1970).
fn civil(local_ms: i64) -> (i64, i64, i64) {
    let days = u64::try_from(local_ms.div_euclid(DAY_MS)).unwrap_or(0);
    let (y, m, d) = civil_from_days(days);
    (y as i64, m as i64, d as i64)
}

fn days_of(year: i64, month: i64, day: i64) -> i64 {
    let clamp = |v: i64| u64::try_from(v).unwrap_or(0);
    days_from_civil(clamp(year.max(1970)), clamp(month), clamp(day)) as i64
}

/// The day (since the epoch) of the chosen Sunday of `month` in `year`.
fn sunday(year: i64, month: i64, which: Sunday) -> i64 {
    let weekday = |days: i64| (days + 4).rem_euclid(7); // 0 = Sunday
    match which {
        Sunday::Nth(n) => {
            let first = days_of(year, month, 1);
            first + (7 - weekday(first)) % 7 + (n - 1) * 7
        }
        Sunday::Last => {
            let (y, m) = if month == 12 {
                (year + 1, 1)
            } else {
                (year, month + 1)
            };
            let last = days_of(y, m, 1) - 1;
            last - weekday(last)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{parse_rfc3339, rfc3339};

    fn at(text: &str) -> u64 {
        parse_rfc3339(text).unwrap_or(0)
    }

    fn bounds(period: Period, zone: &str, now: &str) -> (String, String) {
        let zone = Zone::parse(zone).unwrap_or(Zone {
            offset_minutes: 9999,
            dst: Dst::None,
        });
        let (start, end) = period.bounds(&zone, at(now));
        (rfc3339(start), rfc3339(end))
    }

    fn pair(a: &str, b: &str) -> (String, String) {
        (a.to_owned(), b.to_owned())
    }

    #[test]
    fn names_and_offsets_parse() {
        assert_eq!(Zone::parse("utc"), Some(Zone::UTC));
        assert_eq!(Zone::parse("Etc/UTC"), Some(Zone::UTC));
        assert_eq!(
            Zone::parse("UTC+05:30").map(|z| z.offset_minutes),
            Some(330)
        );
        assert_eq!(Zone::parse("-03:00").map(|z| z.offset_minutes), Some(-180));
        assert_eq!(Zone::parse("GMT-3").map(|z| z.offset_minutes), Some(-180));
        assert_eq!(Zone::parse("europe/paris").map(|z| z.dst), Some(Dst::Eu));
        for bad in ["Mars/Olympus", "UTC+15", "UTC+1:60", "+", "UTC+abc", "5"] {
            assert_eq!(Zone::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn summer_time_transitions() {
        let paris = Zone::parse("Europe/Paris").unwrap_or(Zone::UTC);
        // 2026: last Sunday of March is the 29th, of October the 25th, at 01:00 UTC.
        assert_eq!(
            paris.offset_ms_at(at("2026-03-29T00:59:59Z") as i64),
            3_600_000
        );
        assert_eq!(
            paris.offset_ms_at(at("2026-03-29T01:00:00Z") as i64),
            7_200_000
        );
        assert_eq!(
            paris.offset_ms_at(at("2026-10-25T00:59:59Z") as i64),
            7_200_000
        );
        assert_eq!(
            paris.offset_ms_at(at("2026-10-25T01:00:00Z") as i64),
            3_600_000
        );
        let new_york = Zone::parse("America/New_York").unwrap_or(Zone::UTC);
        // 2026: March 8 02:00 EST = 07:00 UTC; November 1 02:00 EDT = 06:00 UTC.
        assert_eq!(
            new_york.offset_ms_at(at("2026-03-08T06:59:59Z") as i64),
            -18_000_000
        );
        assert_eq!(
            new_york.offset_ms_at(at("2026-03-08T07:00:00Z") as i64),
            -14_400_000
        );
        assert_eq!(
            new_york.offset_ms_at(at("2026-11-01T05:59:59Z") as i64),
            -14_400_000
        );
        assert_eq!(
            new_york.offset_ms_at(at("2026-11-01T06:00:00Z") as i64),
            -18_000_000
        );
        let sydney = Zone::parse("Australia/Sydney").unwrap_or(Zone::UTC);
        // Summer in January; standard time in July; 2026: ends April 5 03:00 AEDT = April 4
        // 16:00 UTC, starts October 4 02:00 AEST = October 3 16:00 UTC.
        assert_eq!(
            sydney.offset_ms_at(at("2026-01-15T00:00:00Z") as i64),
            39_600_000
        );
        assert_eq!(
            sydney.offset_ms_at(at("2026-07-15T00:00:00Z") as i64),
            36_000_000
        );
        assert_eq!(
            sydney.offset_ms_at(at("2026-04-04T15:59:59Z") as i64),
            39_600_000
        );
        assert_eq!(
            sydney.offset_ms_at(at("2026-04-04T16:00:00Z") as i64),
            36_000_000
        );
        assert_eq!(
            sydney.offset_ms_at(at("2026-10-03T15:59:59Z") as i64),
            36_000_000
        );
        assert_eq!(
            sydney.offset_ms_at(at("2026-10-03T16:00:00Z") as i64),
            39_600_000
        );
        let auckland = Zone::parse("Pacific/Auckland").unwrap_or(Zone::UTC);
        // 2026: starts September 27 02:00 NZST = September 26 14:00 UTC.
        assert_eq!(
            auckland.offset_ms_at(at("2026-09-26T13:59:59Z") as i64),
            43_200_000
        );
        assert_eq!(
            auckland.offset_ms_at(at("2026-09-26T14:00:00Z") as i64),
            46_800_000
        );
    }

    #[test]
    fn days_across_zones_and_summer_time() {
        assert_eq!(
            bounds(Period::Day, "UTC", "2026-05-10T23:59:59Z"),
            pair("2026-05-10T00:00:00Z", "2026-05-11T00:00:00Z")
        );
        // 23:30 UTC is already the next day in Tokyo and still the same day in New York.
        assert_eq!(
            bounds(Period::Day, "Asia/Tokyo", "2026-05-10T23:30:00Z"),
            pair("2026-05-10T15:00:00Z", "2026-05-11T15:00:00Z")
        );
        assert_eq!(
            bounds(Period::Day, "America/New_York", "2026-05-10T23:30:00Z"),
            pair("2026-05-10T04:00:00Z", "2026-05-11T04:00:00Z")
        );
        assert_eq!(
            bounds(Period::Day, "Asia/Kolkata", "2026-05-10T18:29:59Z"),
            pair("2026-05-09T18:30:00Z", "2026-05-10T18:30:00Z")
        );
        // The spring-forward day is 23 hours long, the fall-back day 25.
        assert_eq!(
            bounds(Period::Day, "Europe/Paris", "2026-03-29T12:00:00Z"),
            pair("2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z")
        );
        assert_eq!(
            bounds(Period::Day, "Europe/Paris", "2026-10-25T12:00:00Z"),
            pair("2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z")
        );
        assert_eq!(
            bounds(Period::Day, "America/Los_Angeles", "2026-03-08T12:00:00Z"),
            pair("2026-03-08T08:00:00Z", "2026-03-09T07:00:00Z")
        );
    }

    #[test]
    fn weeks_start_on_monday() {
        // 2026-05-10 is a Sunday.
        assert_eq!(
            bounds(Period::Week, "UTC", "2026-05-10T12:00:00Z"),
            pair("2026-05-04T00:00:00Z", "2026-05-11T00:00:00Z")
        );
        assert_eq!(
            bounds(Period::Week, "Asia/Tokyo", "2026-05-10T16:00:00Z"),
            pair("2026-05-10T15:00:00Z", "2026-05-17T15:00:00Z")
        );
        // A week across the autumn change in Europe is 169 hours long.
        let (start, end) = Period::Week.bounds(
            &Zone::parse("Europe/Berlin").unwrap_or(Zone::UTC),
            at("2026-10-22T12:00:00Z"),
        );
        assert_eq!(end - start, 169 * 3_600_000);
    }

    #[test]
    fn months_end_where_the_calendar_says() {
        assert_eq!(
            bounds(Period::Month, "UTC", "2026-01-31T23:59:59Z"),
            pair("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")
        );
        assert_eq!(
            bounds(Period::Month, "UTC", "2026-02-01T00:00:00Z"),
            pair("2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z")
        );
        // February of a leap year has 29 days; of 2100, 28.
        assert_eq!(
            bounds(Period::Month, "UTC", "2028-02-29T12:00:00Z"),
            pair("2028-02-01T00:00:00Z", "2028-03-01T00:00:00Z")
        );
        let (start, end) = Period::Month.bounds(&Zone::UTC, at("2100-02-10T00:00:00Z"));
        assert_eq!(end - start, 28 * 86_400_000);
        assert_eq!(
            bounds(Period::Month, "UTC", "2026-12-31T23:00:00Z"),
            pair("2026-12-01T00:00:00Z", "2027-01-01T00:00:00Z")
        );
        // January 31, 20:00 in New York is February 1 in UTC: still January there.
        assert_eq!(
            bounds(Period::Month, "America/New_York", "2026-02-01T01:00:00Z"),
            pair("2026-01-01T05:00:00Z", "2026-02-01T05:00:00Z")
        );
        // March in Paris: starts in winter time, ends in summer time.
        assert_eq!(
            bounds(Period::Month, "Europe/Paris", "2026-03-15T00:00:00Z"),
            pair("2026-02-28T23:00:00Z", "2026-03-31T22:00:00Z")
        );
        // October in Sydney: starts in standard time, ends in summer time.
        assert_eq!(
            bounds(Period::Month, "Australia/Sydney", "2026-10-15T00:00:00Z"),
            pair("2026-09-30T14:00:00Z", "2026-10-31T13:00:00Z")
        );
    }
}
