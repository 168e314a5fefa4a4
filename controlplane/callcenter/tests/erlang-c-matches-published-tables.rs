//! Erlang B and C against published tables and against values computed
//! independently, in 80-digit decimal arithmetic, from the direct formula
//! B = (Aⁿ/n!) ÷ Σₖ Aᵏ/k! (a Python `decimal` script; the crate uses the
//! recursion instead).

use std::time::Duration;

use tandem_callcenter::erlang;

fn rel_close(got: f64, want: f64, rel: f64) {
    assert!(((got - want) / want).abs() <= rel, "got {got}, want {want}");
}

#[test]
fn erlang_b_grade_of_service_table() {
    // The classic Erlang B table: traffic carried by N trunks at 1 % and 2 %
    // blocking. The table rounds A to 3 decimals, so B is 1 % or 2 % to
    // within that rounding; the exact B at the rounded A is from the
    // decimal script.
    for (n, a, exact) in [
        (10, 4.461, 0.009_997_786_687_902_762),
        (20, 12.031, 0.010_002_591_800_192_995),
        (50, 37.901, 0.009_998_689_503_524_33),
        (100, 84.064, 0.009_999_682_902_650_272),
        (10, 5.084, 0.019_999_908_599_264_597),
        (20, 13.182, 0.020_004_967_089_307_713),
    ] {
        let b = erlang_b_checked(n, a);
        rel_close(b, exact, 1e-12);
        let gos = if exact < 0.015 { 0.01 } else { 0.02 };
        rel_close(b, gos, 1e-3);
    }
}

fn erlang_b_checked(n: u32, a: f64) -> f64 {
    erlang::erlang_b(n, a).expect("valid input")
}

#[test]
fn erlang_b_and_c_stay_exact_for_thousands_of_agents() {
    for (n, a, b, c) in [
        (
            1000,
            980.0,
            0.013_831_210_129_111_206,
            0.412_200_292_365_281_5,
        ),
        (
            5000,
            4950.0,
            0.005_742_151_844_491_104,
            0.366_098_219_422_723_47,
        ),
        (
            10_000,
            9900.0,
            0.002_858_126_738_856_586_5,
            0.222_776_928_864_148_24,
        ),
        (
            10_000,
            9500.0,
            9.642_737_926_005_892e-9,
            1.928_547_231_868_143e-7,
        ),
    ] {
        rel_close(erlang_b_checked(n, a), b, 1e-9);
        rel_close(erlang::erlang_c(n, a).unwrap(), c, 1e-9);
    }
    // At N = A exactly Erlang B is defined; Erlang C is not.
    rel_close(
        erlang_b_checked(10_000, 10_000.0),
        0.007_936_563_248_805_671,
        1e-9,
    );
    assert_eq!(erlang::erlang_c(10_000, 10_000.0), None);
}

#[test]
fn the_ten_erlang_worked_example() {
    // 100 calls in half an hour with a 180 s handle time is 10 Erlangs;
    // the well-known worked example tabulates, for 80 % within 20 s:
    //   agents  P(wait)  SL      ASA     occupancy
    //   11      68.2 %   39.0 %  122.8 s 90.9 %
    //   12      44.9 %   64.0 %   40.4 s 83.3 %
    //   13      28.5 %   79.6 %   17.1 s 76.9 %
    //   14      17.4 %   88.8 %    7.8 s 71.4 %
    //   15      10.2 %   94.1 %    3.7 s 66.7 %
    let aht = Duration::from_secs(180);
    let t = Duration::from_secs(20);
    let table = [
        (11, 0.682, 0.390, 122.8, 0.909),
        (12, 0.449, 0.640, 40.4, 0.833),
        (13, 0.285, 0.796, 17.1, 0.769),
        (14, 0.174, 0.888, 7.8, 0.714),
        (15, 0.102, 0.941, 3.7, 0.667),
    ];
    for (n, pw, sl, asa, occ) in table {
        let c = erlang::erlang_c(n, 10.0).unwrap();
        assert!((c - pw).abs() < 0.0005, "N={n}: P(wait) {c}");
        let got = erlang::service_level(n, 10.0, aht, t).unwrap();
        assert!((got - sl).abs() < 0.0005, "N={n}: SL {got}");
        let got = erlang::asa(n, 10.0, aht).unwrap().as_secs_f64();
        assert!((got - asa).abs() < 0.05, "N={n}: ASA {got}");
        let got = erlang::occupancy(n, 10.0).unwrap();
        assert!((got - occ).abs() < 0.0005, "N={n}: occupancy {got}");
    }
    let f = erlang::agents_needed(100.0 / 1800.0, aht, t, 0.80, 1000).unwrap();
    assert_eq!(f.agents, 14);
}

#[test]
fn staffing_forecasts_match_an_independent_search() {
    // The decimal script searched N = ⌊A⌋+1, ⌊A⌋+2, … with the direct
    // formula: (λ, AHT, T, target) → (N, SL, ASA s).
    let cases = [
        // 48 Erlangs: 720 calls an hour, 240 s each, 80/20.
        (
            720.0 / 3600.0,
            240,
            20,
            0.80,
            54,
            0.817_247_521_014_683_6,
            12.052_315_975_050_774,
        ),
        // 2000 Erlangs: 10 calls a second, 200 s each, 95/20.
        (
            10.0,
            200,
            20,
            0.95,
            2023,
            0.950_223_942_897_510_6,
            4.317_178_047_143_524,
        ),
    ];
    for (rate, aht, t, target, n, sl, asa) in cases {
        let f = erlang::agents_needed(
            rate,
            Duration::from_secs(aht),
            Duration::from_secs(t),
            target,
            100_000,
        )
        .unwrap();
        assert_eq!(f.agents, n);
        rel_close(f.service_level, sl, 1e-9);
        rel_close(f.asa.as_secs_f64(), asa, 1e-6);
        // One agent fewer misses the target.
        let fewer = erlang::service_level(
            n - 1,
            f.traffic,
            Duration::from_secs(aht),
            Duration::from_secs(t),
        )
        .unwrap();
        assert!(fewer < target, "{fewer}");
    }
}
