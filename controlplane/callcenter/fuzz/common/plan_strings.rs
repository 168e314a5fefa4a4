//! The number plan's text parsers and its routing, on untrusted strings:
//! destinations, `HH:MM` times, dates, weekdays, prefixes (the trie), and
//! calling numbers through a plan with every feature on.

use tandem_callcenter::plan::{
    Destination, ForwardingConfig, ListMode, NumberPlan, PlanConfig, PrefixTable, RegionConfig,
    RestrictionConfig, RouteConfig, ScheduleConfig, SegmentConfig, WeightedConfig, format_hhmm,
    parse_hhmm,
};
use tandem_callcenter::{Date, Timestamp, Weekday};

fn plan() -> NumberPlan {
    let config = PlanConfig {
        number: "4008001234".into(),
        restriction: RestrictionConfig {
            blacklist: vec!["1350000".into()],
            mode: ListMode::Deny,
            allow: vec!["0101".into()],
            deny: vec!["010".into(), "*9".into()],
        },
        schedule: Some(ScheduleConfig {
            segments: vec![SegmentConfig {
                days: vec!["mon-fri".into()],
                start: "09:00".into(),
                end: "18:00".into(),
                route: "day".into(),
            }],
            ..ScheduleConfig::default()
        }),
        regions: vec![RegionConfig {
            prefix: "021".into(),
            region: "shanghai".into(),
        }],
        routes: vec![RouteConfig {
            name: "day".into(),
            destinations: vec![
                WeightedConfig::new("queue:sales", 3),
                WeightedConfig::new("number:13800000000", 1),
            ],
            by_region: Vec::new(),
        }],
        after_hours: "voicemail:night".into(),
        forwarding: ForwardingConfig {
            busy: vec!["number:13900000000".into()],
            ..ForwardingConfig::default()
        },
        ..PlanConfig::default()
    };
    NumberPlan::new(&config).expect("the fuzz plan is valid")
}

/// Every parser gets the whole input (as lossy UTF-8) and each
/// newline-separated piece; none may panic, and what parses must print
/// back to something that parses the same.
pub(crate) fn plan_strings(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut table = PrefixTable::new();
    let mut plan = plan();
    for (i, piece) in std::iter::once(text.as_ref())
        .chain(text.split('\n'))
        .enumerate()
    {
        if let Ok(d) = Destination::parse(piece) {
            assert_eq!(
                Destination::parse(&d.to_string()),
                Ok(d.clone()),
                "{piece:?}"
            );
        }
        if let Ok(m) = parse_hhmm(piece) {
            assert!(m <= 24 * 60);
            assert_eq!(parse_hhmm(&format_hhmm(m)), Ok(m));
        }
        if let Some(d) = Date::parse(piece) {
            assert_eq!(Date::parse(&d.to_string()), Some(d));
            let t = Timestamp::from_date(d);
            assert_eq!(t.local(0).date, d);
        }
        let _ = Weekday::parse(piece);
        if table.insert(piece, i).is_ok() {
            assert_eq!(table.get(piece), Some(&i));
            assert_eq!(
                table.longest_match(piece).map(|(p, _)| p.len()),
                Some(piece.len())
            );
        }
        let _ = table.longest_match(piece);
        for t in [1_790_000_000_000u64, 1_790_030_000_000] {
            let _ = plan.route(Timestamp(t), piece);
        }
        let _ = plan.normalise(piece);
        let _ = plan.region_of(piece);
    }
}
