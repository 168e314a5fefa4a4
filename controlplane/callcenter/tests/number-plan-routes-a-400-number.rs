//! A whole 400-number plan driven through three simulated weeks around
//! China's National Day: the calendar (weekdays, holidays, an adjusted
//! working day), region routing, exact ratios, screening and forwarding,
//! all in virtual time.

use std::time::Duration;

use tandem_call::Cause;
use tandem_callcenter::plan::*;
use tandem_callcenter::{Date, Timestamp, Weekday};

const OFFICE_A: &str = "number:13800000001";
const OFFICE_B: &str = "number:13800000002";

/// Local midnight (UTC+08:00) of a date.
fn midnight(date: Date) -> Timestamp {
    Timestamp::from_date(date) - Duration::from_secs(8 * 3600)
}

fn date(s: &str) -> Date {
    Date::parse(s).unwrap()
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn range(start: &str, end: &str, route: &str) -> TimeRangeConfig {
    TimeRangeConfig {
        start: start.into(),
        end: end.into(),
        route: route.into(),
    }
}

fn weekly(days: &str, start: &str, end: &str, route: &str) -> SegmentConfig {
    SegmentConfig {
        days: vec![days.into()],
        start: start.into(),
        end: end.into(),
        route: route.into(),
    }
}

fn config() -> PlanConfig {
    let holiday = |d: &str, segments| HolidayConfig {
        date: d.into(),
        segments,
    };
    PlanConfig {
        number: "4008009000".into(),
        routes: vec![
            RouteConfig {
                name: "office".into(),
                destinations: vec![
                    WeightedConfig::new(OFFICE_A, 3),
                    WeightedConfig::new(OFFICE_B, 1),
                ],
                by_region: vec![RegionRouteConfig {
                    region: "south".into(),
                    destinations: vec![WeightedConfig::new("trunk:gz-branch", 1)],
                }],
            },
            RouteConfig {
                name: "weekend".into(),
                destinations: vec![WeightedConfig::new("queue:weekend", 1)],
                by_region: vec![],
            },
            RouteConfig {
                name: "night".into(),
                destinations: vec![WeightedConfig::new("agent:night-desk", 1)],
                by_region: vec![],
            },
            RouteConfig {
                name: "duty".into(),
                destinations: vec![WeightedConfig::new("number:13900000009", 1)],
                by_region: vec![],
            },
        ],
        regions: ["020", "0755", "1380000"]
            .iter()
            .map(|p| RegionConfig {
                prefix: p.to_string(),
                region: "south".into(),
            })
            .collect(),
        schedule: Some(ScheduleConfig {
            segments: vec![
                weekly("mon-fri", "09:00", "12:00", "office"),
                weekly("mon-fri", "13:30", "18:00", "office"),
                weekly("sat", "10:00", "16:00", "weekend"),
                weekly("mon-sun", "00:00", "07:00", "night"),
                weekly("mon-sun", "22:00", "24:00", "night"),
            ],
            holidays: vec![
                holiday("2026-10-01", vec![]),
                holiday("2026-10-02", vec![]),
                holiday("2026-10-03", vec![]),
                holiday("2026-10-04", vec![range("10:00", "16:00", "duty")]),
                holiday("2026-10-05", vec![range("10:00", "16:00", "duty")]),
                holiday("2026-10-06", vec![range("10:00", "16:00", "duty")]),
                holiday("2026-10-07", vec![range("10:00", "16:00", "duty")]),
            ],
            workdays: vec![WorkdayConfig {
                date: "2026-10-10".into(), // a Saturday worked as a Friday
                as_weekday: "fri".into(),
            }],
            ..ScheduleConfig::default()
        }),
        restriction: RestrictionConfig {
            blacklist: strings(&["17012345678"]),
            deny: strings(&["001"]),
            ..RestrictionConfig::default()
        },
        after_hours: "voicemail:main".into(),
        forwarding: ForwardingConfig {
            busy: strings(&["number:13700000001", "number:13700000002"]),
            no_answer: strings(&["queue:overflow"]),
            ..ForwardingConfig::default()
        },
        ringback: Some("prompts/brand-ringback.wav".into()),
        ..PlanConfig::default()
    }
}

/// The calendar, written out independently of the plan: the route open
/// at `minute` of `date`, or `None` when closed.
fn expected_route(date: Date, weekday: Weekday, minute: u16) -> Option<&'static str> {
    let hm = |h: u16, m: u16| h * 60 + m;
    let night = minute < hm(7, 0) || minute >= hm(22, 0);
    if date.month == 10 && (1..=3).contains(&date.day) {
        return None;
    }
    if date.month == 10 && (4..=7).contains(&date.day) {
        return (hm(10, 0)..hm(16, 0)).contains(&minute).then_some("duty");
    }
    let weekday = if date == Date::new(2026, 10, 10).unwrap() {
        Weekday::Fri
    } else {
        weekday
    };
    if night {
        return Some("night");
    }
    match weekday {
        Weekday::Sat => (hm(10, 0)..hm(16, 0))
            .contains(&minute)
            .then_some("weekend"),
        Weekday::Sun => None,
        _ => ((hm(9, 0)..hm(12, 0)).contains(&minute) || (hm(13, 30)..hm(18, 0)).contains(&minute))
            .then_some("office"),
    }
}

#[test]
fn three_weeks_of_calls_follow_the_calendar_regions_and_ratios() {
    let mut plan = NumberPlan::new(&config()).unwrap();
    let start = midnight(date("2026-09-28")); // a Monday
    let step = Duration::from_secs(10 * 60);
    let callers = [
        ("+8613912345678", None),        // Beijing mobile, international form
        ("02088889999", Some("south")),  // Guangzhou fixed line
        ("013800001234", Some("south")), // southern mobile block with a trunk 0
        ("0086170 12345678", None),      // blacklisted, with a space (unknown form)
        ("008617012345678", None),       // blacklisted
        ("+12125550100", None),          // foreign: the deny list has 001
    ];
    let mut office_default = Vec::new();
    let mut per_route = std::collections::BTreeMap::<&str, u32>::new();
    let mut now = start;
    let mut n = 0usize;
    while now < start + Duration::from_secs(21 * 86_400) {
        let (calling, region) = callers[n % callers.len()];
        n += 1;
        let local = now.local(CHINA_UTC_OFFSET_MINUTES);
        let expected = expected_route(local.date, local.weekday, local.minute_of_day);
        let at = format!(
            "{} {:?} {}",
            local.date,
            local.weekday,
            format_hhmm(local.minute_of_day)
        );
        match plan.route(now, calling) {
            Decision::Refuse(r) => {
                assert_eq!(r.cause, Cause::CALL_REJECTED);
                match calling {
                    "008617012345678" => assert_eq!(
                        r.reason,
                        RefusalReason::Blacklisted {
                            prefix: "17012345678".into()
                        }
                    ),
                    "+12125550100" => assert_eq!(
                        r.reason,
                        RefusalReason::Denied {
                            prefix: "001".into()
                        }
                    ),
                    other => panic!("{other} refused at {at}: {r:?}"),
                }
            }
            Decision::CollectPin(_) => panic!("no PIN is configured"),
            Decision::Connect(route) => {
                assert!(
                    !matches!(calling, "008617012345678" | "+12125550100"),
                    "{calling} connected at {at}"
                );
                assert_eq!(route.route.as_deref(), expected, "{calling} at {at}");
                assert_eq!(
                    route.ringback.as_deref(),
                    Some("prompts/brand-ringback.wav")
                );
                assert!(route.pass_caller_id);
                match expected {
                    None => {
                        assert!(route.after_hours, "{at}");
                        assert_eq!(route.destinations, [Destination::Voicemail("main".into())]);
                        assert_eq!(route.forwarding.hop_limit, 0);
                    }
                    Some(name) => {
                        *per_route.entry(name).or_default() += 1;
                        assert!(!route.after_hours);
                        assert_eq!(route.forwarding.no_answer_timeout, Duration::from_secs(20));
                        let first = route.destinations[0].to_string();
                        if name == "office" {
                            assert_eq!(route.region.as_deref(), region, "{calling}");
                            if region.is_some() {
                                assert_eq!(first, "trunk:gz-branch");
                            } else {
                                office_default.push(first);
                            }
                        }
                    }
                }
                if calling == "0086170 12345678" {
                    // Not a keypad string: an unknown caller, served.
                    assert_eq!(route.caller, None);
                }
            }
        }
        now = now + step;
    }

    // Every kind of day was seen (the only ordinary Saturday is 10-17).
    assert!(per_route["office"] > 0 && per_route["duty"] > 0 && per_route["weekend"] > 0);
    assert!(per_route["night"] > 0);
    // Every window of 4 office calls from the default region went 3:1.
    assert!(office_default.len() >= 40, "{}", office_default.len());
    for window in office_default.windows(4) {
        let a = window.iter().filter(|d| *d == OFFICE_A).count();
        let b = window.iter().filter(|d| *d == OFFICE_B).count();
        assert_eq!((a, b), (3, 1), "{window:?}");
    }
}

#[test]
fn the_holiday_and_the_adjusted_working_day_turn_at_local_midnight() {
    let mut plan = NumberPlan::new(&config()).unwrap();
    let caller = "13912345678";
    let route_at = |plan: &mut NumberPlan, t: Timestamp| match plan.route(t, caller) {
        Decision::Connect(r) => r,
        other => panic!("{other:?}"),
    };
    // Wednesday 2026-09-30 23:59 is night shift; a minute later it is
    // National Day (closed) in Beijing, though still the 30th in UTC.
    let eve = midnight(date("2026-10-01")) - Duration::from_secs(60);
    let r = route_at(&mut plan, eve);
    assert_eq!(r.route.as_deref(), Some("night"));
    let r = route_at(&mut plan, eve + Duration::from_secs(60));
    assert_eq!(eve.local(0).date, date("2026-09-30"));
    assert!(r.after_hours);
    assert_eq!(
        r.schedule.unwrap().day,
        DayKind::Holiday(date("2026-10-01"))
    );
    // Saturday 2026-10-10 follows Friday's hours.
    let r = route_at(
        &mut plan,
        midnight(date("2026-10-10")) + Duration::from_secs(9 * 3600),
    );
    assert_eq!(r.route.as_deref(), Some("office"));
    assert_eq!(
        r.schedule.unwrap().day,
        DayKind::AdjustedWorkday {
            date: date("2026-10-10"),
            follows: Weekday::Fri
        }
    );
}

#[test]
fn a_busy_destination_forwards_at_most_twice() {
    let mut plan = NumberPlan::new(&config()).unwrap();
    let now = midnight(date("2026-09-29")) + Duration::from_secs(10 * 3600);
    let Decision::Connect(route) = plan.route(now, "13912345678") else {
        panic!()
    };
    assert_eq!(route.destinations[0].to_string(), OFFICE_A);
    let mut fwd = ForwardState::default();
    // The office phone is busy: the first busy target.
    let ForwardStep::To(d) = fwd.next(&route.forwarding, Failure::Busy) else {
        panic!()
    };
    assert_eq!(d.to_string(), "number:13700000001");
    // It rings unanswered until the timeout: the no-answer target.
    let deadline = now + route.forwarding.no_answer_timeout;
    assert_eq!(deadline.saturating_since(now), Duration::from_secs(20));
    let ForwardStep::To(d) = fwd.next(&route.forwarding, Failure::NoAnswer) else {
        panic!()
    };
    assert_eq!(d.to_string(), "queue:overflow");
    // Two hops used: whatever happens next, the call is not forwarded.
    assert_eq!(
        fwd.next(&route.forwarding, Failure::Busy),
        ForwardStep::HopLimitReached
    );
    assert_eq!(fwd.hops(), 2);
}

#[test]
fn an_operator_change_on_wednesday_applies_to_the_next_call() {
    let mut plan = NumberPlan::new(&config()).unwrap();
    let wed_10am = midnight(date("2026-09-30")) + Duration::from_secs(10 * 3600);
    let first = |plan: &mut NumberPlan, calling: &str| match plan.route(wed_10am, calling) {
        Decision::Connect(r) => r.destinations[0].to_string(),
        other => panic!("{other:?}"),
    };
    assert_eq!(first(&mut plan, "13912345678"), OFFICE_A);
    plan.set_destinations("office", &[WeightedConfig::new("queue:sales", 1)])
        .unwrap();
    assert_eq!(first(&mut plan, "13912345678"), "queue:sales");
    // The southern branch keeps its own list.
    assert_eq!(first(&mut plan, "02088889999"), "trunk:gz-branch");
    plan.restriction_mut().set_mode(ListMode::Allow);
    plan.restriction_mut()
        .set_list_entry("020", Some(Verdict::Allow))
        .unwrap();
    assert!(matches!(
        plan.route(wed_10am, "13912345678"),
        Decision::Refuse(_)
    ));
    assert_eq!(first(&mut plan, "+862088889999"), "trunk:gz-branch");
}

#[test]
fn ten_thousand_number_blocks_place_callers_in_their_regions() {
    let mut c = config();
    // 10,000 seven-digit mobile blocks, 1350000-1359999, in 10 regions,
    // plus the area codes of the base config.
    for block in 1_350_000..1_360_000u32 {
        c.regions.push(RegionConfig {
            prefix: block.to_string(),
            region: format!("r{}", block % 10),
        });
    }
    let plan = NumberPlan::new(&c).unwrap();
    for block in (1_350_000..1_360_000u32).step_by(37) {
        let caller = format!("+86{block}{:04}", block % 10_000);
        assert_eq!(
            plan.region_of(&caller),
            Some(format!("r{}", block % 10).as_str())
        );
    }
    assert_eq!(plan.region_of("13612345678"), None);
    assert_eq!(plan.region_of("075588886666"), Some("south"));
}
