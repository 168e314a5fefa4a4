//! Time-of-day routing: a weekly calendar, holidays and adjusted working

use std::collections::BTreeMap;
use std::fmt;

use super::error::ConfigError;
use crate::time::{Date, LocalTime, Timestamp, Weekday};

/// China Standard Time, UTC+08:00, in minutes.
pub const CHINA_UTC_OFFSET_MINUTES: i32 = 480;

/// Why a time of day did not parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeError {
    /// Not `H:MM` or `HH:MM` (digits, a colon, two digits).
    Syntax,
    /// The hour is above 24.
    Hour(u32),
    /// The minute is above 59.
    Minute(u32),
    /// `24:MM` with minutes other than `00`.
    PastMidnight,
}

impl fmt::Display for TimeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeError::Syntax => f.write_str("expected HH:MM"),
            TimeError::Hour(h) => write!(f, "hour {h} is above 24"),
            TimeError::Minute(m) => write!(f, "minute {m} is above 59"),
            TimeError::PastMidnight => f.write_str("only 24:00 is allowed after 23:59"),
        }
    }
}

impl std::error::Error for TimeError {}

/// Parses a time of day `HH:MM` (or `H:MM`) into minutes since midnight,
/// `00:00` = 0 … `24:00` = 1440 (the end of the day, for segment ends).
pub fn parse_hhmm(s: &str) -> Result<u16, TimeError> {
    let (h, m) = s.split_once(':').ok_or(TimeError::Syntax)?;
    let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if !(digits(h) && digits(m)) || h.len() > 2 || m.len() != 2 {
        return Err(TimeError::Syntax);
    }
    let (h, m): (u32, u32) = (
        h.parse().map_err(|_| TimeError::Syntax)?,
        m.parse().map_err(|_| TimeError::Syntax)?,
    );
    if h > 24 {
        return Err(TimeError::Hour(h));
    }
    if m > 59 {
        return Err(TimeError::Minute(m));
    }
    if h == 24 && m != 0 {
        return Err(TimeError::PastMidnight);
    }
    Ok((h * 60 + m) as u16)
}

/// Formats minutes since midnight as `HH:MM`.
pub fn format_hhmm(minute: u16) -> String {
    format!("{:02}:{:02}", minute / 60, minute % 60)
}

/// A weekly segment as written in config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SegmentConfig {
    /// Days it applies to: `mon` … `sun`, or ranges such as `mon-fri`.
    pub days: Vec<String>,
    /// First minute, `HH:MM`.
    pub start: String,
    /// End (exclusive), `HH:MM`, up to `24:00`.
    pub end: String,
    /// The name of the route serving calls in this segment.
    pub route: String,
}

/// A segment of one specific date (a holiday), as written in config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TimeRangeConfig {
    /// First minute, `HH:MM`.
    pub start: String,
    /// End (exclusive), `HH:MM`, up to `24:00`.
    pub end: String,
    /// The name of the route serving calls in this segment.
    pub route: String,
}

/// A holiday as written in config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HolidayConfig {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The day's own segments; empty means closed all day.
    pub segments: Vec<TimeRangeConfig>,
}

/// An adjusted working day as written in config.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkdayConfig {
    /// `YYYY-MM-DD`.
    pub date: String,
    /// The weekday whose segments it follows (`mon` … `sun`).
    pub as_weekday: String,
}

/// A calendar as written in config.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleConfig {
    /// The fixed UTC offset of the local time, in minutes (−840 … 840).
    /// Default 480 (China Standard Time).
    pub utc_offset_minutes: i32,
    /// The weekly segments.
    pub segments: Vec<SegmentConfig>,
    /// Holidays (closed, or with their own segments).
    pub holidays: Vec<HolidayConfig>,
    /// Adjusted working days.
    pub workdays: Vec<WorkdayConfig>,
}

impl Default for ScheduleConfig {
    fn default() -> Self {
        ScheduleConfig {
            utc_offset_minutes: CHINA_UTC_OFFSET_MINUTES,
            segments: Vec::new(),
            holidays: Vec::new(),
            workdays: Vec::new(),
        }
    }
}

fn err(field: String, message: String) -> ConfigError {
    ConfigError::new(field, message)
}

/// One validated segment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    /// First minute of the local day, 0–1439.
    pub start_minute: u16,
    /// End minute (exclusive), 1–1440.
    pub end_minute: u16,
    /// The route serving calls in it.
    pub route: String,
}

impl Segment {
    /// Whether the segment covers `minute` of the day.
    pub fn contains(&self, minute: u16) -> bool {
        (self.start_minute..self.end_minute).contains(&minute)
    }
}

impl fmt::Display for Segment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}-{} {}",
            format_hhmm(self.start_minute),
            format_hhmm(self.end_minute),
            self.route
        )
    }
}

/// Which calendar rule decided a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DayKind {
    /// An ordinary day of the week.
    Weekday(Weekday),
    /// A listed holiday.
    Holiday(Date),
    /// An adjusted working day following another weekday's segments.
    AdjustedWorkday {
        /// The date.
        date: Date,
        /// The weekday whose segments it follows.
        follows: Weekday,
    },
}

/// What the calendar says at one instant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleMatch {
    /// The local date and time the decision was made for.
    pub local: LocalTime,
    /// Which rule decided the day.
    pub day: DayKind,
    /// The segment covering the minute, or `None`: closed.
    pub segment: Option<Segment>,
}

/// A validated calendar.
///
/// days, at a fixed UTC offset.
///
/// A day is one of three kinds, looked up in this order:
///
/// 1. a **holiday** (`holidays`): its own segments, or none at all
///    (closed all day);
/// 2. an **adjusted working day** (`workdays`, China's 调休 days such as a
///    Sunday worked as a Friday): the segments of the weekday it follows;
/// 3. an ordinary **weekday**: the weekly segments listing that day.
///
/// A segment is `start..end` in minutes of the local day (end exclusive,
/// `00:00`–`24:00`, `start < end`, so it never wraps midnight: a night
/// shift is two segments, `22:00-24:00` and `00:00-08:00` of the next
/// day). Segments of one day may not overlap. Each names the route that
/// serves calls in it; a minute covered by no segment is *closed*.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    offset: i32,
    weekly: [Vec<Segment>; 7],
    holidays: BTreeMap<Date, Vec<Segment>>,
    workdays: BTreeMap<Date, Weekday>,
}

/// Parses `mon`, `mon-fri` (wrapping allowed: `sat-mon`) into weekdays.
fn parse_days(s: &str) -> Option<Vec<Weekday>> {
    match s.split_once('-') {
        None => Some(vec![Weekday::parse(s.trim())?]),
        Some((a, b)) => {
            let (a, b) = (Weekday::parse(a.trim())?, Weekday::parse(b.trim())?);
            let span = (b.monday0() + 7 - a.monday0()) % 7;
            Some(
                (0..=span)
                    .map(|i| Weekday::from_monday0(a.monday0() + i))
                    .collect(),
            )
        }
    }
}

fn parse_range(field: &str, start: &str, end: &str, route: &str) -> Result<Segment, ConfigError> {
    let time = |name: &str, v: &str| {
        parse_hhmm(v).map_err(|e| {
            err(
                format!("{field}.{name}"),
                format!("{v:?} is not a time HH:MM ({e})"),
            )
        })
    };
    let (s, e) = (time("start", start)?, time("end", end)?);
    if s >= e {
        return Err(err(
            format!("{field}.end"),
            format!(
                "{end:?} is not after start {start:?} (a segment may not wrap midnight; split it in two)"
            ),
        ));
    }
    if route.trim().is_empty() {
        return Err(err(format!("{field}.route"), "is empty".into()));
    }
    Ok(Segment {
        start_minute: s,
        end_minute: e,
        route: route.to_owned(),
    })
}

/// Sorts a day's segments (with their fields) and refuses overlaps.
fn sort_and_check(day: &str, list: &mut [(Segment, String)]) -> Result<(), ConfigError> {
    list.sort_by_key(|(s, _)| s.start_minute);
    for pair in list.windows(2) {
        let ((a, fa), (b, fb)) = (&pair[0], &pair[1]);
        if b.start_minute < a.end_minute {
            return Err(err(fb.clone(), format!("{b} overlaps {fa} ({a}) on {day}")));
        }
    }
    Ok(())
}

impl Schedule {
    /// Validates a calendar. Field paths in errors are relative to the
    /// schedule (`segments[2].start`).
    pub fn new(config: &ScheduleConfig) -> Result<Schedule, ConfigError> {
        if !(-840..=840).contains(&config.utc_offset_minutes) {
            return Err(err(
                "utc_offset_minutes".into(),
                format!("{} is not between -840 and 840", config.utc_offset_minutes),
            ));
        }
        let mut weekly: [Vec<(Segment, String)>; 7] = Default::default();
        for (i, sc) in config.segments.iter().enumerate() {
            let field = format!("segments[{i}]");
            let seg = parse_range(&field, &sc.start, &sc.end, &sc.route)?;
            if sc.days.is_empty() {
                return Err(err(format!("{field}.days"), "lists no day".into()));
            }
            let mut days = [false; 7];
            for (j, d) in sc.days.iter().enumerate() {
                let parsed = parse_days(d).ok_or_else(|| {
                    err(
                        format!("{field}.days[{j}]"),
                        format!("{d:?} is not a weekday (mon … sun) or a range (mon-fri)"),
                    )
                })?;
                for w in parsed {
                    days[usize::from(w.monday0())] = true;
                }
            }
            for (w, on) in days.iter().enumerate() {
                if *on {
                    weekly[w].push((seg.clone(), field.clone()));
                }
            }
        }
        for (w, list) in weekly.iter_mut().enumerate() {
            let name = format!("{:?}", Weekday::from_monday0(w as u8)).to_ascii_lowercase();
            sort_and_check(&name, list)?;
        }

        let mut holidays = BTreeMap::new();
        for (i, h) in config.holidays.iter().enumerate() {
            let field = format!("holidays[{i}]");
            let date = Date::parse(&h.date).ok_or_else(|| {
                err(
                    format!("{field}.date"),
                    format!("{:?} is not a date YYYY-MM-DD", h.date),
                )
            })?;
            let mut list = Vec::new();
            for (j, r) in h.segments.iter().enumerate() {
                let f = format!("{field}.segments[{j}]");
                list.push((parse_range(&f, &r.start, &r.end, &r.route)?, f));
            }
            sort_and_check(&h.date, &mut list)?;
            let segments = list.into_iter().map(|(s, _)| s).collect();
            if holidays.insert(date, segments).is_some() {
                return Err(err(
                    format!("{field}.date"),
                    format!("{date} is listed twice"),
                ));
            }
        }

        let mut workdays = BTreeMap::new();
        for (i, w) in config.workdays.iter().enumerate() {
            let field = format!("workdays[{i}]");
            let date = Date::parse(&w.date).ok_or_else(|| {
                err(
                    format!("{field}.date"),
                    format!("{:?} is not a date YYYY-MM-DD", w.date),
                )
            })?;
            let day = Weekday::parse(w.as_weekday.trim()).ok_or_else(|| {
                err(
                    format!("{field}.as_weekday"),
                    format!("{:?} is not a weekday (mon … sun)", w.as_weekday),
                )
            })?;
            if holidays.contains_key(&date) {
                return Err(err(
                    format!("{field}.date"),
                    format!("{date} is also a holiday"),
                ));
            }
            if workdays.insert(date, day).is_some() {
                return Err(err(
                    format!("{field}.date"),
                    format!("{date} is listed twice"),
                ));
            }
        }

        Ok(Schedule {
            offset: config.utc_offset_minutes,
            weekly: weekly.map(|l| l.into_iter().map(|(s, _)| s).collect()),
            holidays,
            workdays,
        })
    }

    /// The UTC offset in minutes.
    pub fn utc_offset_minutes(&self) -> i32 {
        self.offset
    }

    /// Every route name a segment refers to (with repeats).
    pub fn route_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.weekly
            .iter()
            .chain(self.holidays.values())
            .flatten()
            .map(|s| s.route.as_str())
    }

    /// The day kind and segment at `now`.
    pub fn at(&self, now: Timestamp) -> ScheduleMatch {
        let local = now.local(self.offset);
        let (day, segments) = if let Some(list) = self.holidays.get(&local.date) {
            (DayKind::Holiday(local.date), list)
        } else if let Some(&follows) = self.workdays.get(&local.date) {
            (
                DayKind::AdjustedWorkday {
                    date: local.date,
                    follows,
                },
                &self.weekly[usize::from(follows.monday0())],
            )
        } else {
            (
                DayKind::Weekday(local.weekday),
                &self.weekly[usize::from(local.weekday.monday0())],
            )
        };
        let segment = segments
            .iter()
            .find(|s| s.contains(local.minute_of_day))
            .cloned();
        ScheduleMatch {
            local,
            day,
            segment,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seg(days: &[&str], start: &str, end: &str, route: &str) -> SegmentConfig {
        SegmentConfig {
            days: days.iter().map(|d| d.to_string()).collect(),
            start: start.into(),
            end: end.into(),
            route: route.into(),
        }
    }

    /// Local time (UTC+8) → timestamp.
    fn cst(date: &str, hhmm: &str) -> Timestamp {
        let d = Timestamp::from_date(Date::parse(date).unwrap());
        let m = u64::from(parse_hhmm(hhmm).unwrap());
        Timestamp::from_millis(d.as_millis() + m * 60_000 - 8 * 3_600_000)
    }

    fn office() -> Schedule {
        Schedule::new(&ScheduleConfig {
            segments: vec![
                seg(&["mon-fri"], "09:00", "12:00", "day"),
                seg(&["mon-fri"], "13:30", "18:00", "day"),
                seg(&["sat"], "10:00", "16:00", "weekend"),
                seg(&["mon-sun"], "22:00", "24:00", "night"),
                seg(&["mon-sun"], "00:00", "06:00", "night"),
            ],
            holidays: vec![
                HolidayConfig {
                    date: "2026-10-01".into(),
                    segments: vec![],
                },
                HolidayConfig {
                    date: "2026-10-02".into(),
                    segments: vec![TimeRangeConfig {
                        start: "10:00".into(),
                        end: "12:00".into(),
                        route: "holiday".into(),
                    }],
                },
            ],
            workdays: vec![WorkdayConfig {
                date: "2026-10-11".into(), // a Sunday
                as_weekday: "fri".into(),
            }],
            ..ScheduleConfig::default()
        })
        .unwrap()
    }

    fn route_at(s: &Schedule, t: Timestamp) -> Option<String> {
        s.at(t).segment.map(|s| s.route)
    }

    #[test]
    fn times_parse_with_good_errors() {
        assert_eq!(parse_hhmm("00:00"), Ok(0));
        assert_eq!(parse_hhmm("9:05"), Ok(545));
        assert_eq!(parse_hhmm("23:59"), Ok(1439));
        assert_eq!(parse_hhmm("24:00"), Ok(1440));
        assert_eq!(parse_hhmm("25:00"), Err(TimeError::Hour(25)));
        assert_eq!(parse_hhmm("12:60"), Err(TimeError::Minute(60)));
        assert_eq!(parse_hhmm("24:01"), Err(TimeError::PastMidnight));
        for bad in [
            "",
            "9",
            "09:5",
            "09-00",
            "+9:00",
            "009:00",
            "09:00:00",
            "٠٩:٠٠",
            " 9:00",
        ] {
            assert_eq!(parse_hhmm(bad), Err(TimeError::Syntax), "{bad:?}");
        }
        assert_eq!(format_hhmm(1440), "24:00");
    }

    #[test]
    fn segments_are_chosen_by_local_weekday_and_minute() {
        let s = office();
        // 2026-10-05 is a Monday.
        assert_eq!(route_at(&s, cst("2026-10-05", "08:59")), None);
        assert_eq!(
            route_at(&s, cst("2026-10-05", "09:00")).as_deref(),
            Some("day")
        );
        assert_eq!(
            route_at(&s, cst("2026-10-05", "11:59")).as_deref(),
            Some("day")
        );
        assert_eq!(route_at(&s, cst("2026-10-05", "12:00")), None);
        assert_eq!(
            route_at(&s, cst("2026-10-05", "13:30")).as_deref(),
            Some("day")
        );
        assert_eq!(
            route_at(&s, cst("2026-10-10", "10:00")).as_deref(),
            Some("weekend")
        );
        assert_eq!(route_at(&s, cst("2026-10-04", "10:00")), None); // a Sunday
    }

    #[test]
    fn the_day_turns_at_local_midnight_not_utc_midnight() {
        let s = office();
        // Friday 2026-10-09 23:59 CST is 15:59 UTC; a minute later it is
        // Saturday in Beijing but still Friday in UTC.
        let fri = cst("2026-10-09", "23:59");
        let sat = cst("2026-10-10", "00:00");
        assert_eq!(fri.local(0).weekday, Weekday::Fri);
        assert_eq!(sat.local(0).weekday, Weekday::Fri);
        assert_eq!(s.at(fri).day, DayKind::Weekday(Weekday::Fri));
        assert_eq!(s.at(sat).day, DayKind::Weekday(Weekday::Sat));
        assert_eq!(route_at(&s, fri).as_deref(), Some("night"));
        assert_eq!(route_at(&s, sat).as_deref(), Some("night"));
        // Saturday's "weekend" segment ends at 16:00 local (08:00 UTC).
        assert_eq!(
            route_at(&s, cst("2026-10-10", "15:59")).as_deref(),
            Some("weekend")
        );
        assert_eq!(route_at(&s, cst("2026-10-10", "16:00")), None);
    }

    #[test]
    fn holidays_and_adjusted_working_days_override_the_week() {
        let s = office();
        // National Day, a Thursday: closed all day, night shift included.
        let m = s.at(cst("2026-10-01", "10:00"));
        assert_eq!(m.day, DayKind::Holiday(Date::new(2026, 10, 1).unwrap()));
        assert_eq!(m.segment, None);
        assert_eq!(route_at(&s, cst("2026-10-01", "23:00")), None);
        // ... but the night shift of 09-30 (the evening before) still runs.
        assert_eq!(
            route_at(&s, cst("2026-09-30", "23:00")).as_deref(),
            Some("night")
        );
        // 10-02 has its own hours.
        assert_eq!(
            route_at(&s, cst("2026-10-02", "11:00")).as_deref(),
            Some("holiday")
        );
        assert_eq!(route_at(&s, cst("2026-10-02", "14:00")), None);
        // Sunday 10-11 is worked as a Friday.
        let m = s.at(cst("2026-10-11", "09:30"));
        assert_eq!(
            m.day,
            DayKind::AdjustedWorkday {
                date: Date::new(2026, 10, 11).unwrap(),
                follows: Weekday::Fri
            }
        );
        assert_eq!(m.segment.map(|s| s.route).as_deref(), Some("day"));
        // The Sunday before was an ordinary, closed Sunday.
        assert_eq!(route_at(&s, cst("2026-10-04", "09:30")), None);
    }

    #[test]
    fn bad_calendars_are_refused_with_the_field_named() {
        let bad = |c: ScheduleConfig| Schedule::new(&c).unwrap_err().to_string();
        let one = |s: SegmentConfig| ScheduleConfig {
            segments: vec![seg(&["mon"], "00:00", "01:00", "a"), s],
            ..ScheduleConfig::default()
        };
        assert_eq!(
            bad(one(seg(&["mon"], "25:00", "26:00", "a"))),
            "segments[1].start: \"25:00\" is not a time HH:MM (hour 25 is above 24)"
        );
        assert!(bad(one(seg(&["mon"], "18:00", "09:00", "a"))).starts_with("segments[1].end:"));
        assert!(bad(one(seg(&["mon"], "09:00", "09:00", "a"))).starts_with("segments[1].end:"));
        assert!(bad(one(seg(&["mo"], "09:00", "10:00", "a"))).starts_with("segments[1].days[0]:"));
        assert!(bad(one(seg(&[], "09:00", "10:00", "a"))).starts_with("segments[1].days:"));
        assert!(bad(one(seg(&["mon"], "09:00", "10:00", " "))).starts_with("segments[1].route:"));
        let overlap = bad(one(seg(&["sun-tue"], "00:30", "02:00", "b")));
        assert!(
            overlap.starts_with("segments[1]: 00:30-02:00 b overlaps segments[0]"),
            "{overlap}"
        );
        let c = ScheduleConfig {
            holidays: vec![HolidayConfig {
                date: "2026-02-30".into(),
                segments: vec![],
            }],
            ..ScheduleConfig::default()
        };
        assert!(bad(c).starts_with("holidays[0].date: \"2026-02-30\""));
        let c = ScheduleConfig {
            holidays: vec![HolidayConfig {
                date: "2026-10-01".into(),
                segments: vec![],
            }],
            workdays: vec![WorkdayConfig {
                date: "2026-10-01".into(),
                as_weekday: "mon".into(),
            }],
            ..ScheduleConfig::default()
        };
        assert!(bad(c).contains("also a holiday"));
        let c = ScheduleConfig {
            utc_offset_minutes: 10_000,
            ..ScheduleConfig::default()
        };
        assert!(bad(c).starts_with("utc_offset_minutes"));
    }

    #[test]
    fn a_whole_day_segment_spans_midnight_to_midnight() {
        let s = Schedule::new(&ScheduleConfig {
            segments: vec![seg(&["sat-mon"], "00:00", "24:00", "all")],
            ..ScheduleConfig::default()
        })
        .unwrap();
        assert_eq!(
            route_at(&s, cst("2026-10-04", "23:59")).as_deref(),
            Some("all")
        );
        assert_eq!(
            route_at(&s, cst("2026-10-05", "00:00")).as_deref(),
            Some("all")
        );
        assert_eq!(route_at(&s, cst("2026-10-06", "00:00")), None); // Tuesday
        assert_eq!(s.route_names().count(), 3);
    }
}
