//! Time as the call-center services see it: a [`Timestamp`] in
//! milliseconds since the Unix epoch (UTC), passed in by the caller.
//!
//! The services need wall-clock time, not only a monotonic one: a number
//! plan routes by weekday, holiday and minute of the day, and KPI rows are
//! kept per 15-minute interval of the calendar. So time is a plain number
//! that a simulation can start anywhere and jump forward, instead of
//! `std::time::Instant`, which cannot be built from a date. Nothing in this
//! crate reads a clock (STYLE.md rule 1; `clippy.toml` bans it).
//!
//! Civil dates use the proleptic Gregorian calendar with the day-count
//! algorithms of H. Hinnant's "chrono-Compatible Low-Level Date
//! Algorithms" (days from civil and back), and a fixed UTC offset per
//! platform: the 400 platforms this serves use one zone without daylight
//! saving (China Standard Time, UTC+08:00).

use std::fmt;
use std::ops::{Add, Sub};
use std::time::Duration;

/// A point in time: milliseconds since 1970-01-01T00:00:00Z.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The epoch itself.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// `ms` milliseconds after the epoch.
    pub const fn from_millis(ms: u64) -> Self {
        Timestamp(ms)
    }

    /// `s` seconds after the epoch.
    pub const fn from_secs(s: u64) -> Self {
        Timestamp(s.saturating_mul(1000))
    }

    /// Milliseconds since the epoch.
    pub const fn as_millis(self) -> u64 {
        self.0
    }

    /// Whole seconds since the epoch.
    pub const fn as_secs(self) -> u64 {
        self.0 / 1000
    }

    /// The time elapsed since `earlier`, or zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(self.0.saturating_sub(earlier.0))
    }

    /// Midnight UTC of a civil date (year, month 1–12, day 1–31). A date
    /// before 1970 (only possible by building a [`Date`] by hand) gives
    /// the epoch; out-of-range months and days roll over as in Hinnant's
    /// algorithm. Dates read from config go through [`Date::new`], which
    /// refuses both.
    pub fn from_date(date: Date) -> Self {
        let days = days_from_civil(date.year, date.month, date.day);
        Timestamp((days.max(0) as u64).saturating_mul(86_400_000))
    }

    /// The civil date and time of day at this instant, seen at a fixed UTC
    /// offset of `offset_minutes` (480 for UTC+08:00).
    pub fn local(self, offset_minutes: i32) -> LocalTime {
        let local_ms = self.0 as i64 + i64::from(offset_minutes) * 60_000;
        let days = local_ms.div_euclid(86_400_000);
        let ms_of_day = local_ms.rem_euclid(86_400_000);
        let (year, month, day) = civil_from_days(days);
        // 1970-01-01 was a Thursday.
        let weekday = Weekday::from_monday0(((days + 3).rem_euclid(7)) as u8);
        LocalTime {
            date: Date { year, month, day },
            weekday,
            minute_of_day: (ms_of_day / 60_000) as u16,
        }
    }
}

impl Add<Duration> for Timestamp {
    type Output = Timestamp;
    fn add(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_add(d.as_millis().min(u128::from(u64::MAX)) as u64),
        )
    }
}

impl Sub<Duration> for Timestamp {
    type Output = Timestamp;
    fn sub(self, d: Duration) -> Timestamp {
        Timestamp(
            self.0
                .saturating_sub(d.as_millis().min(u128::from(u64::MAX)) as u64),
        )
    }
}

impl fmt::Display for Timestamp {
    /// RFC 3339 in UTC, to the millisecond.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = self.local(0);
        let m = t.minute_of_day;
        let ms = self.0 % 60_000;
        write!(
            f,
            "{}T{:02}:{:02}:{:02}.{:03}Z",
            t.date,
            m / 60,
            m % 60,
            ms / 1000,
            ms % 1000
        )
    }
}

/// A civil date in the proleptic Gregorian calendar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// The year, e.g. 2026.
    pub year: i32,
    /// The month, 1–12.
    pub month: u8,
    /// The day of the month, 1–31.
    pub day: u8,
}

impl Date {
    /// A date, if it exists (checks the month's length and leap years) and
    /// falls in 1970–9999: a [`Timestamp`] starts at the Unix epoch, and
    /// no schedule or report needs an earlier day.
    pub fn new(year: i32, month: u8, day: u8) -> Option<Date> {
        if !(1970..=9999).contains(&year)
            || !(1..=12).contains(&month)
            || day == 0
            || day > days_in_month(year, month)
        {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Date> {
        let mut it = s.splitn(3, '-');
        let (y, m, d) = (it.next()?, it.next()?, it.next()?);
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return None;
        }
        let all_digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
        if !(all_digits(y) && all_digits(m) && all_digits(d)) {
            return None;
        }
        Date::new(y.parse().ok()?, m.parse().ok()?, d.parse().ok()?)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A day of the week, ISO 8601 order (Monday first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

impl Weekday {
    /// All seven, Monday first.
    pub const ALL: [Weekday; 7] = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
        Weekday::Sat,
        Weekday::Sun,
    ];

    /// 0 for Monday … 6 for Sunday (values above 6 wrap).
    pub fn from_monday0(n: u8) -> Weekday {
        Weekday::ALL[usize::from(n % 7)]
    }

    /// 0 for Monday … 6 for Sunday.
    pub fn monday0(self) -> u8 {
        self as u8
    }

    /// The three-letter English abbreviation used in config (`mon` … `sun`).
    pub fn parse(s: &str) -> Option<Weekday> {
        const NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let lower = s.to_ascii_lowercase();
        NAMES
            .iter()
            .position(|n| *n == lower)
            .map(|i| Weekday::ALL[i])
    }
}

/// A civil date and minute of the day at some UTC offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocalTime {
    /// The date.
    pub date: Date,
    /// Its day of the week.
    pub weekday: Weekday,
    /// Minutes since local midnight, 0–1439.
    pub minute_of_day: u16,
}

fn is_leap(y: i32) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i32, m: u8) -> u8 {
    match m {
        2 if is_leap(y) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a civil date (Hinnant, `days_from_civil`).
fn days_from_civil(y: i32, m: u8, d: u8) -> i64 {
    let (m, d) = (i64::from(m), i64::from(d));
    let y = i64::from(y) - i64::from(m <= 2);
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count since 1970-01-01 (Hinnant, `civil_from_days`).
fn civil_from_days(z: i64) -> (i32, u8, u8) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_instants_have_their_civil_dates() {
        // 2026-11-25T23:22:40Z was a Wednesday; at UTC+08:00 it is Thursday 07:22.
        let t = Timestamp::from_secs(1_795_648_960);
        let utc = t.local(0);
        assert_eq!(utc.date, Date::new(2026, 11, 25).unwrap());
        assert_eq!(utc.weekday, Weekday::Wed);
        assert_eq!(utc.minute_of_day, 23 * 60 + 22);
        let cst = t.local(480);
        assert_eq!(cst.date, Date::new(2026, 11, 26).unwrap());
        assert_eq!(cst.weekday, Weekday::Thu);
        assert_eq!(cst.minute_of_day, 7 * 60 + 22);
        assert_eq!(t.to_string(), "2026-11-25T23:22:40.000Z");
    }

    #[test]
    fn days_round_trip_across_four_centuries() {
        for days in (-800_000..800_000).step_by(97) {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days, "{y}-{m}-{d}");
        }
        assert_eq!(
            Timestamp::from_date(Date::new(2000, 3, 1).unwrap())
                .local(0)
                .weekday,
            Weekday::Wed
        );
    }

    #[test]
    fn dates_are_validated() {
        assert!(Date::new(2024, 2, 29).is_some());
        assert!(Date::new(2023, 2, 29).is_none());
        assert!(Date::new(2100, 2, 29).is_none());
        assert!(Date::new(2000, 2, 29).is_some());
        assert!(Date::new(1969, 12, 31).is_none(), "before the epoch");
        assert_eq!(Date::parse("0790-10-01"), None);
        assert!(Date::new(2026, 13, 1).is_none());
        assert_eq!(Date::parse("2026-10-01"), Date::new(2026, 10, 1));
        assert_eq!(Date::parse("2026-1-01"), None);
        assert_eq!(Date::parse("2026-02-30"), None);
        assert_eq!(Date::parse("+026-02-03"), None);
        assert_eq!(Weekday::parse("SAT"), Some(Weekday::Sat));
    }
}
