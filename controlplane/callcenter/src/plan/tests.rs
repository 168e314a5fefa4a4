//! Unit tests of the whole plan: validation, the order of evaluation, the
//! PIN dialogue and run-time changes.

use super::*;
use crate::time::Date;

fn cst(date: &str, hhmm: &str) -> Timestamp {
    let d = Timestamp::from_date(Date::parse(date).unwrap());
    let m = u64::from(parse_hhmm(hhmm).unwrap());
    Timestamp::from_millis(d.as_millis() + m * 60_000 - 8 * 3_600_000)
}

fn w(to: &str, weight: u32) -> WeightedConfig {
    WeightedConfig::new(to, weight)
}

fn config() -> PlanConfig {
    PlanConfig {
        number: "4001234567".into(),
        routes: vec![
            RouteConfig {
                name: "day".into(),
                destinations: vec![w("number:13800000001", 2), w("number:13800000002", 1)],
                by_region: vec![RegionRouteConfig {
                    region: "sz".into(),
                    destinations: vec![w("trunk:sz", 1)],
                }],
            },
            RouteConfig {
                name: "night".into(),
                destinations: vec![w("queue:night", 1)],
                by_region: vec![],
            },
        ],
        regions: vec![
            RegionConfig {
                prefix: "0755".into(),
                region: "sz".into(),
            },
            RegionConfig {
                prefix: "1381234".into(),
                region: "sz".into(),
            },
        ],
        schedule: Some(ScheduleConfig {
            segments: vec![
                SegmentConfig {
                    days: vec!["mon-fri".into()],
                    start: "09:00".into(),
                    end: "18:00".into(),
                    route: "day".into(),
                },
                SegmentConfig {
                    days: vec!["mon-fri".into()],
                    start: "18:00".into(),
                    end: "22:00".into(),
                    route: "night".into(),
                },
            ],
            ..ScheduleConfig::default()
        }),
        after_hours: "voicemail:main".into(),
        forwarding: ForwardingConfig {
            busy: vec!["number:13900000001".into()],
            ..ForwardingConfig::default()
        },
        ..PlanConfig::default()
    }
}

fn connect(d: Decision) -> Route {
    match d {
        Decision::Connect(r) => *r,
        other => panic!("expected Connect, got {other:?}"),
    }
}

fn first(r: &Route) -> String {
    r.destinations[0].to_string()
}

#[test]
fn config_errors_name_the_field() {
    let e = |f: &dyn Fn(&mut PlanConfig)| {
        let mut c = config();
        f(&mut c);
        NumberPlan::new(&c).unwrap_err().to_string()
    };
    assert_eq!(
        e(&|c| c.schedule.as_mut().unwrap().segments[1].start = "25:00".into()),
        "schedule.segments[1].start: \"25:00\" is not a time HH:MM (hour 25 is above 24)"
    );
    assert_eq!(
        e(&|c| c.routes[0].destinations[1].weight = 0),
        "routes[0].destinations[1].weight: is 0; weights are at least 1 \
         (remove the destination to stop its calls)"
    );
    assert_eq!(
        e(&|c| c.routes[1].destinations.clear()),
        "routes[1].destinations: lists no destination"
    );
    assert_eq!(
        e(&|c| c.routes[0].destinations[0].to = "sales".into()),
        "routes[0].destinations[0].to: \"sales\" expected trunk:, number:, agent:, queue:, \
         ivr:, voicemail: followed by a name, or hangup"
    );
    assert_eq!(
        e(&|c| c.schedule.as_mut().unwrap().segments[1].route = "nite".into()),
        "schedule.segments[1].route: \"nite\" is not the name of a route"
    );
    assert_eq!(
        e(&|c| c.routes[0].by_region[0].region = "gz".into()),
        "routes[0].by_region[0].region: \"gz\" is not a region of the region table"
    );
    assert_eq!(
        e(&|c| c.regions[1].prefix = "0755".into()),
        "regions[1].prefix: \"0755\" is listed twice"
    );
    assert_eq!(
        e(&|c| c.routes[1].name = "day".into()),
        "routes[1].name: \"day\" names two routes"
    );
    assert_eq!(e(&|c| c.routes.clear()), "routes: lists no route");
    assert_eq!(
        e(&|c| c.number = "400-123".into()),
        "number: \"400-123\" is not a telephone number (digits only)"
    );
    assert_eq!(
        e(&|c| c.forwarding.no_answer = vec!["hangup".into(); 3]),
        "forwarding.no_answer: has 3 targets; at most 2"
    );
    assert_eq!(
        e(&|c| c.forwarding.hop_limit = 9),
        "forwarding.hop_limit: 9 is above 4"
    );
    assert_eq!(
        e(&|c| c.forwarding.no_answer_timeout_secs = 0),
        "forwarding.no_answer_timeout_secs: 0 is not between 1 and 300"
    );
    assert_eq!(
        e(&|c| c.pin = Some(PinConfig {
            prompt: None,
            retry_prompt: None,
            pin: "12".into(),
            max_attempts: 3
        })),
        "pin.pin: must be 4 to 6 digits"
    );
    assert_eq!(
        e(&|c| c.restriction.deny = vec!["+86".into()]),
        "restriction.deny[0]: \"+86\" has '+' at position 0; only 0-9, '*' and '#' are allowed"
    );
    assert_eq!(
        e(&|c| c.after_hours = "voicemail:".into()),
        "after_hours: \"voicemail:\" has no name after the colon"
    );
    assert_eq!(
        e(&|c| c.ringback = Some(" ".into())).split(':').next(),
        Some("ringback")
    );
}

#[test]
fn schedule_region_and_ratio_decide_the_destination() {
    let mut plan = NumberPlan::new(&config()).unwrap();
    let mon = |t| cst("2026-10-05", t);
    // Default region: 2:1 between the two mobiles, chosen one first.
    let picks: Vec<String> = (0..6)
        .map(|_| first(&connect(plan.route(mon("10:00"), "13912345678"))))
        .collect();
    assert_eq!(
        picks,
        [
            "number:13800000001",
            "number:13800000002",
            "number:13800000001"
        ]
        .repeat(2)
    );
    let r = connect(plan.route(mon("10:00"), "+8613912345678"));
    assert_eq!(r.destinations.len(), 2);
    assert_eq!(r.route.as_deref(), Some("day"));
    assert_eq!(r.region, None);
    assert!(!r.after_hours && r.pass_caller_id);
    assert_eq!(r.forwarding.busy.len(), 1);
    // Shenzhen fixed line and mobile block → the Shenzhen trunk.
    for caller in [
        "075512345678",
        "0086755 12345678".replace(' ', "").as_str(),
        "013812345678",
    ] {
        let r = connect(plan.route(mon("10:00"), caller));
        assert_eq!(r.region.as_deref(), Some("sz"), "{caller}");
        assert_eq!(first(&r), "trunk:sz");
    }
    // The night route has no Shenzhen list: the default serves everyone.
    let r = connect(plan.route(mon("20:00"), "075512345678"));
    assert_eq!(
        (first(&r), r.region.as_deref()),
        ("queue:night".into(), Some("sz"))
    );
    // Closed: after-hours destination alone, no forwarding.
    let r = connect(plan.route(mon("23:00"), "13912345678"));
    assert!(r.after_hours);
    assert_eq!(r.destinations, [Destination::Voicemail("main".into())]);
    assert_eq!(r.forwarding, Forwarding::none());
    assert_eq!(r.route, None);
    assert_eq!(r.schedule.unwrap().segment, None);
    // Withheld numbers are served, by the default list.
    let r = connect(plan.route(mon("10:00"), "anonymous"));
    assert_eq!(r.caller, None);
    assert_eq!(r.region, None);
    assert_eq!(plan.region_of("+8613812345678"), Some("sz"));
}

#[test]
fn a_plan_without_schedule_is_always_open_on_its_first_route() {
    let mut c = config();
    c.schedule = None;
    let mut plan = NumberPlan::new(&c).unwrap();
    let r = connect(plan.route(cst("2026-10-04", "03:00"), "13912345678"));
    assert_eq!(r.route.as_deref(), Some("day"));
    assert_eq!(r.schedule, None);
    assert!(!r.after_hours);
}

#[test]
fn the_pin_is_asked_after_screening_and_before_routing() {
    let mut c = config();
    c.pin = Some(PinConfig {
        prompt: None,
        retry_prompt: None,
        pin: "2580".into(),
        ..PinConfig::default()
    });
    c.restriction.blacklist = vec!["170".into()];
    let mut plan = NumberPlan::new(&c).unwrap();
    let now = cst("2026-10-05", "10:00");
    // Blacklisted callers are refused without a prompt.
    let Decision::Refuse(r) = plan.route(now, "17012345678") else {
        panic!()
    };
    assert!(matches!(r.reason, RefusalReason::Blacklisted { .. }));

    let Decision::CollectPin(mut entry) = plan.route(now, "+8613912345678") else {
        panic!()
    };
    assert_eq!((entry.pin_len(), entry.max_attempts()), (4, 3));
    assert_eq!(entry.caller(), Some("13912345678"));
    assert_eq!(
        plan.enter_pin(now, &mut entry, "1111"),
        PinResult::TryAgain { attempts_left: 2 }
    );
    assert_eq!(
        plan.enter_pin(now, &mut entry, ""),
        PinResult::TryAgain { attempts_left: 1 }
    );
    let PinResult::Connect(r) = plan.enter_pin(now, &mut entry, "2580#") else {
        panic!()
    };
    assert_eq!(r.caller.as_deref(), Some("13912345678"));
    assert_eq!(r.route.as_deref(), Some("day"));

    // Three wrong tries end the call, and so does any try after that.
    let Decision::CollectPin(mut entry) = plan.route(now, "13912345678") else {
        panic!()
    };
    for _ in 0..2 {
        assert!(matches!(
            plan.enter_pin(now, &mut entry, "0000"),
            PinResult::TryAgain { .. }
        ));
    }
    let exhausted = PinResult::Refuse(Refusal::new(RefusalReason::PinAttemptsExhausted));
    assert_eq!(plan.enter_pin(now, &mut entry, "0000"), exhausted);
    assert_eq!(plan.enter_pin(now, &mut entry, "2580"), exhausted);
    assert_eq!(entry.attempts_left(), 0);

    // The PIN is checked against the plan at the time of entry; a right
    // PIN after hours reaches the after-hours destination.
    let Decision::CollectPin(mut entry) = plan.route(now, "13912345678") else {
        panic!()
    };
    let PinResult::Connect(r) = plan.enter_pin(cst("2026-10-05", "23:00"), &mut entry, "2580")
    else {
        panic!()
    };
    assert!(r.after_hours);
}

#[test]
fn runtime_changes_take_effect_on_the_next_call() {
    let mut plan = NumberPlan::new(&config()).unwrap();
    let now = cst("2026-10-05", "10:00");
    let caller = "13912345678";
    assert_eq!(
        first(&connect(plan.route(now, caller))),
        "number:13800000001"
    );

    plan.set_destinations("day", &[w("agent:1001", 1), w("agent:1002", 1)])
        .unwrap();
    let picks: Vec<String> = (0..4)
        .map(|_| first(&connect(plan.route(now, caller))))
        .collect();
    assert_eq!(
        picks,
        ["agent:1001", "agent:1002", "agent:1001", "agent:1002"]
    );
    let e = plan
        .set_destinations("day", &[w("agent:1001", 0)])
        .unwrap_err();
    assert_eq!(e.field, "destinations[0].weight");
    assert_eq!(
        plan.set_destinations("dya", &[w("agent:1", 1)])
            .unwrap_err()
            .field,
        "route"
    );

    plan.set_region_destinations("night", "sz", &[w("ivr:sz-night", 1)])
        .unwrap();
    let r = connect(plan.route(cst("2026-10-05", "19:00"), "075512345678"));
    assert_eq!(first(&r), "ivr:sz-night");
    assert!(plan.clear_region_destinations("night", "sz"));
    assert!(!plan.clear_region_destinations("night", "sz"));
    let r = connect(plan.route(cst("2026-10-05", "19:00"), "075512345678"));
    assert_eq!(first(&r), "queue:night");
    assert!(
        plan.set_region_destinations("night", "gz", &[w("ivr:x", 1)])
            .is_err()
    );

    plan.set_after_hours(Destination::Hangup);
    let r = connect(plan.route(cst("2026-10-05", "23:00"), caller));
    assert_eq!(r.destinations, [Destination::Hangup]);

    plan.restriction_mut().block("139").unwrap();
    assert!(matches!(plan.route(now, caller), Decision::Refuse(_)));
    plan.restriction_mut().unblock("139");
    assert!(matches!(plan.route(now, caller), Decision::Connect(_)));

    plan.set_forwarding(&ForwardingConfig {
        hop_limit: 1,
        ..ForwardingConfig::default()
    })
    .unwrap();
    assert_eq!(connect(plan.route(now, caller)).forwarding.hop_limit, 1);

    // The operator closes the line for a day.
    let mut sc = config().schedule.unwrap();
    sc.holidays.push(HolidayConfig {
        date: "2026-10-05".into(),
        segments: vec![],
    });
    plan.set_schedule(Some(&sc)).unwrap();
    assert!(connect(plan.route(now, caller)).after_hours);
    sc.segments[0].route = "lunch".into();
    assert_eq!(
        plan.set_schedule(Some(&sc)).unwrap_err().to_string(),
        "schedule.segments[0].route: \"lunch\" is not the name of a route"
    );
    assert!(connect(plan.route(now, caller)).after_hours);
    plan.set_schedule(None).unwrap();
    assert_eq!(
        connect(plan.route(now, caller)).route.as_deref(),
        Some("day")
    );
}

#[test]
fn reconfiguring_keeps_the_ratio_of_unchanged_lists() {
    let mut plan = NumberPlan::new(&config()).unwrap();
    let now = cst("2026-10-05", "10:00");
    let caller = "13912345678";
    let mut picks = vec![first(&connect(plan.route(now, caller)))];
    // Re-saving the same config (and changing something else) mid-cycle
    // does not restart the 2:1 cycle.
    let mut c = config();
    c.ringback = Some("prompts/welcome.wav".into());
    plan.reconfigure(&c).unwrap();
    picks.extend((0..2).map(|_| first(&connect(plan.route(now, caller)))));
    assert_eq!(
        picks,
        [
            "number:13800000001",
            "number:13800000002",
            "number:13800000001"
        ]
    );
    assert_eq!(
        connect(plan.route(now, caller)).ringback.as_deref(),
        Some("prompts/welcome.wav")
    );
    // A bad config leaves the plan as it was.
    c.routes.clear();
    assert!(plan.reconfigure(&c).is_err());
    assert_eq!(plan.route_names().collect::<Vec<_>>(), ["day", "night"]);
}
