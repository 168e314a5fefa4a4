//! Erlang B and Erlang C, and the staffing forecast built on them
//! (CALLCENTER.md, "KPI definitions", the Erlang formulas for staffing).
//!
//! - **Offered traffic** A = λ · AHT, in Erlangs ([`traffic`]).
//! - **Erlang B** ([`erlang_b`]): the probability that a call finds all N
//!   trunks of a group busy and is lost, by the recursion
//!   B₀ = 1, Bₙ = A·Bₙ₋₁ / (n + A·Bₙ₋₁). Every step stays in \[0, 1\], so
//!   it neither overflows nor loses precision the way the textbook
//!   Aⁿ/n! ÷ Σ Aᵏ/k! does; it is exact to a few ulps for N in the tens of
//!   thousands and A in the thousands.
//! - **Erlang C** ([`erlang_c`]): the probability that a call has to wait
//!   in a queue served by N agents, C = N·B / (N − A(1 − B)) with B the
//!   Erlang B of (N, A). The queue is stable only while **N > A**; with
//!   A ≥ N it grows without bound and every function here returns `None`
//!   rather than a meaningless number.
//! - **Service level** ([`service_level`]): P(wait ≤ t) = 1 − C·e^(−(N−A)·t/AHT).
//! - **Average speed of answer** ([`asa`]): ASA = C·AHT / (N − A), over all
//!   calls (those that do not wait count as zero).
//! - **Occupancy** ([`occupancy`]): A / N.
//! - **Staffing** ([`agents_needed`]): the smallest N > A whose service
//!   level meets a target, with the [`Forecast`] at that N.
//!
//! All functions are pure, never panic, and return `None` for inputs
//! outside their domain: NaN, infinite or negative traffic or rates,
//! zero AHT where it divides, or more than [`MAX_SERVERS`] servers.
//!
//! ```
//! use std::time::Duration;
//! use tandem_callcenter::erlang;
//!
//! // 100 calls per half hour, 3 minutes each: 10 Erlangs. How many agents
//! // answer 80 % of calls within 20 s?
//! let f = erlang::agents_needed(100.0 / 1800.0, Duration::from_secs(180),
//!     Duration::from_secs(20), 0.80, 100).unwrap();
//! assert_eq!(f.agents, 14);
//! assert!((f.service_level - 0.888).abs() < 0.001);
//! ```

use std::time::Duration;

/// The largest number of trunks or agents the functions accept. Erlang B
/// costs one step per server; a call center is far smaller than this.
pub const MAX_SERVERS: u32 = 1_000_000;

/// Offered traffic A = λ · AHT in Erlangs, for `arrival_rate_per_s` calls
/// per second each lasting `aht` on average. `None` if the rate is
/// negative, NaN or infinite (or the product overflows to infinity).
pub fn traffic(arrival_rate_per_s: f64, aht: Duration) -> Option<f64> {
    let a = arrival_rate_per_s * aht.as_secs_f64();
    (arrival_rate_per_s.is_finite() && arrival_rate_per_s >= 0.0 && a.is_finite()).then_some(a)
}

/// Whether `a` is a usable traffic value: finite and not negative.
fn valid_traffic(a: f64) -> bool {
    a.is_finite() && a >= 0.0
}

/// One step of the Erlang B recursion: Bₙ from Bₙ₋₁.
fn b_step(n: u32, a: f64, prev: f64) -> f64 {
    let ab = a * prev;
    // n ≥ 1, so the denominator is at least 1.
    ab / (f64::from(n) + ab)
}

/// Erlang B: the probability that a call offered `traffic` Erlangs finds
/// all `servers` busy (blocking, grade of service of a trunk group).
///
/// `erlang_b(0, a)` is 1 (no trunk, every call is lost). `None` if the
/// traffic is negative, NaN or infinite, or `servers` > [`MAX_SERVERS`].
pub fn erlang_b(servers: u32, traffic: f64) -> Option<f64> {
    if !valid_traffic(traffic) || servers > MAX_SERVERS {
        return None;
    }
    let mut b = 1.0;
    for n in 1..=servers {
        b = b_step(n, traffic, b);
        if b == 0.0 {
            // Underflowed (or A = 0): every later step is 0 too.
            break;
        }
    }
    Some(b)
}

/// Erlang C from Erlang B for the same (N, A), N > A ≥ 0.
fn c_from_b(n: u32, a: f64, b: f64) -> f64 {
    let n = f64::from(n);
    // n > a, so the denominator is n − a + a·b > 0.
    (n * b / (n - a * (1.0 - b))).clamp(0.0, 1.0)
}

/// Whether (N, A) is a stable queue: A valid and N > A.
fn stable(agents: u32, traffic: f64) -> bool {
    valid_traffic(traffic) && f64::from(agents) > traffic && agents <= MAX_SERVERS
}

/// Erlang C: the probability that a call has to wait for one of `agents`
/// agents when `traffic` Erlangs are offered.
///
/// Defined only while agents > traffic (otherwise the queue grows without
/// bound): `None` if agents ≤ traffic, if the traffic is negative, NaN or
/// infinite, or if `agents` > [`MAX_SERVERS`].
pub fn erlang_c(agents: u32, traffic: f64) -> Option<f64> {
    if !stable(agents, traffic) {
        return None;
    }
    let b = erlang_b(agents, traffic)?;
    Some(c_from_b(agents, traffic, b))
}

/// P(wait ≤ t) = 1 − C·e^(−(N−A)·t/AHT) from a known Erlang C.
fn sl_from_c(c: f64, agents: u32, traffic: f64, aht: Duration, threshold: Duration) -> f64 {
    let exponent = -(f64::from(agents) - traffic) * threshold.as_secs_f64() / aht.as_secs_f64();
    (1.0 - c * exponent.exp()).clamp(0.0, 1.0)
}

/// ASA = C·AHT / (N − A) from a known Erlang C, as a duration (saturating
/// at [`Duration::MAX`] when N − A is tiny).
fn asa_from_c(c: f64, agents: u32, traffic: f64, aht: Duration) -> Duration {
    let secs = c * aht.as_secs_f64() / (f64::from(agents) - traffic);
    Duration::try_from_secs_f64(secs).unwrap_or(Duration::MAX)
}

/// Service level: the probability that a call waits at most `threshold`
/// with `agents` agents, `traffic` Erlangs and average handle time `aht`:
/// 1 − C·e^(−(N−A)·t/AHT), in \[0, 1\].
///
/// `None` where [`erlang_c`] is, and when `aht` is zero.
pub fn service_level(agents: u32, traffic: f64, aht: Duration, threshold: Duration) -> Option<f64> {
    if aht.is_zero() {
        return None;
    }
    let c = erlang_c(agents, traffic)?;
    Some(sl_from_c(c, agents, traffic, aht, threshold))
}

/// Average speed of answer over all calls, waiting or not:
/// C·AHT / (N − A). `None` where [`erlang_c`] is.
pub fn asa(agents: u32, traffic: f64, aht: Duration) -> Option<Duration> {
    let c = erlang_c(agents, traffic)?;
    Some(asa_from_c(c, agents, traffic, aht))
}

/// Agent occupancy A / N: the share of time agents spend handling calls.
/// `None` unless agents > traffic (at A ≥ N the queue is unstable and the
/// agents are always busy however many calls wait).
pub fn occupancy(agents: u32, traffic: f64) -> Option<f64> {
    stable(agents, traffic).then(|| traffic / f64::from(agents))
}

/// What a staffing level achieves, as computed by [`agents_needed`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Forecast {
    /// Agents needed (on the phones, before shrinkage for breaks and
    /// absence).
    pub agents: u32,
    /// The offered traffic A = λ·AHT in Erlangs.
    pub traffic: f64,
    /// Erlang C: the probability that a call waits at all.
    pub probability_of_wait: f64,
    /// P(wait ≤ threshold) at this staffing, in \[0, 1\].
    pub service_level: f64,
    /// Average speed of answer over all calls.
    pub asa: Duration,
    /// Occupancy A / N, in \[0, 1).
    pub occupancy: f64,
}

/// The smallest number of agents N > A (A = λ·AHT) for which the service
/// level P(wait ≤ `sl_threshold`) is at least `sl_target` (a fraction,
/// 0.8 for "80 % within 20 s"), with what that staffing achieves.
///
/// The search starts at ⌊A⌋ + 1, the fewest agents that keep the queue
/// stable, and carries the Erlang B recursion forward one agent at a
/// time, so the whole search costs O(N) steps.
///
/// `None` if more than `max_agents` would be needed (or than
/// [`MAX_SERVERS`]), if the rate is negative, NaN or infinite, if `aht`
/// is zero, or if the target is NaN or above 1. A target at or below 0 is
/// met by ⌊A⌋ + 1 agents.
pub fn agents_needed(
    arrival_rate_per_s: f64,
    aht: Duration,
    sl_threshold: Duration,
    sl_target: f64,
    max_agents: u32,
) -> Option<Forecast> {
    if aht.is_zero() || sl_target.is_nan() || sl_target > 1.0 {
        return None;
    }
    let a = traffic(arrival_rate_per_s, aht)?;
    let max_agents = max_agents.min(MAX_SERVERS);
    let first = a.floor() + 1.0;
    if first > f64::from(max_agents) {
        return None;
    }
    // `first` ≤ max_agents ≤ MAX_SERVERS, so it fits a u32 exactly.
    let mut n = first as u32;
    let mut b = erlang_b(n, a)?;
    loop {
        let c = c_from_b(n, a, b);
        let sl = sl_from_c(c, n, a, aht, sl_threshold);
        if sl >= sl_target {
            return Some(Forecast {
                agents: n,
                traffic: a,
                probability_of_wait: c,
                service_level: sl,
                asa: asa_from_c(c, n, a, aht),
                occupancy: a / f64::from(n),
            });
        }
        if n >= max_agents {
            return None;
        }
        n += 1;
        b = b_step(n, a, b);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(got: f64, want: f64, tol: f64) {
        assert!((got - want).abs() <= tol, "got {got}, want {want}");
    }

    #[test]
    fn erlang_b_of_ten_erlangs_matches_the_factorial_formula() {
        // Expected values: exact rational A^n/n! ÷ Σ A^k/k! (Python fractions).
        for (n, want) in [
            (1, 0.909_090_909_090_909_1),
            (2, 0.819_672_131_147_541),
            (5, 0.563_952_176_855_402_7),
            (10, 0.214_582_343_107_347_33),
            (15, 0.036_496_945_472_370_79),
            (20, 0.001_869_049_852_354_305_4),
        ] {
            close(erlang_b(n, 10.0).unwrap(), want, 1e-13);
        }
        close(erlang_b(5, 3.0).unwrap(), 0.110_054_347_826_086_96, 1e-15);
    }

    #[test]
    fn erlang_b_edges() {
        assert_eq!(erlang_b(0, 5.0), Some(1.0));
        assert_eq!(erlang_b(0, 0.0), Some(1.0));
        assert_eq!(erlang_b(3, 0.0), Some(0.0));
        assert_eq!(erlang_b(3, -1.0), None);
        assert_eq!(erlang_b(3, f64::NAN), None);
        assert_eq!(erlang_b(3, f64::INFINITY), None);
        assert_eq!(erlang_b(MAX_SERVERS + 1, 1.0), None);
        // Enormous traffic on few trunks: nearly everything is lost.
        let b = erlang_b(10, 1e300).unwrap();
        assert!(b > 0.999_999 && b <= 1.0, "{b}");
        let b = erlang_b(10, f64::MAX).unwrap();
        assert!((0.0..=1.0).contains(&b), "{b}");
        // Many trunks, light traffic: underflows to 0 and stops early.
        assert_eq!(erlang_b(MAX_SERVERS, 1.0), Some(0.0));
    }

    #[test]
    fn erlang_c_of_ten_erlangs() {
        // N·B/(N − A(1 − B)) with exact B (Python fractions).
        close(erlang_c(11, 10.0).unwrap(), 0.682_118_204_689_332_4, 1e-12);
        close(erlang_c(13, 10.0).unwrap(), 0.285_270_453_036_492_95, 1e-12);
        close(erlang_c(14, 10.0).unwrap(), 0.174_131_933_595_049_83, 1e-12);
        close(erlang_c(2, 1.0).unwrap(), 1.0 / 3.0, 1e-15);
        assert_eq!(erlang_c(5, 0.0), Some(0.0));
    }

    #[test]
    fn erlang_c_guards_against_load_at_or_above_agents() {
        assert_eq!(erlang_c(10, 10.0), None);
        assert_eq!(erlang_c(10, 10.5), None);
        assert_eq!(erlang_c(0, 0.0), None);
        assert_eq!(erlang_c(0, 1.0), None);
        assert_eq!(erlang_c(10, -1.0), None);
        assert_eq!(erlang_c(10, f64::NAN), None);
        assert!(erlang_c(11, 10.999_999).unwrap() > 0.999);
        assert_eq!(occupancy(10, 10.0), None);
        assert_eq!(
            service_level(10, 10.0, Duration::from_secs(180), Duration::from_secs(20)),
            None
        );
        assert_eq!(asa(10, 12.0, Duration::from_secs(180)), None);
    }

    #[test]
    fn service_level_asa_and_occupancy_of_ten_erlangs() {
        let aht = Duration::from_secs(180);
        let t = Duration::from_secs(20);
        close(
            service_level(13, 10.0, aht, t).unwrap(),
            0.795_594_788_417_783_1,
            1e-12,
        );
        close(
            service_level(14, 10.0, aht, t).unwrap(),
            0.888_350_019_179_466_9,
            1e-12,
        );
        close(
            asa(14, 10.0, aht).unwrap().as_secs_f64(),
            7.835_937_011_777_243,
            1e-9,
        );
        close(
            asa(12, 10.0, aht).unwrap().as_secs_f64(),
            40.444_940_186_844_38,
            1e-9,
        );
        close(occupancy(14, 10.0).unwrap(), 10.0 / 14.0, 1e-15);
        // Zero threshold: the probability of not waiting at all, 1 − C.
        close(
            service_level(14, 10.0, aht, Duration::ZERO).unwrap(),
            1.0 - 0.174_131_933_595_049_83,
            1e-12,
        );
        assert_eq!(service_level(14, 10.0, Duration::ZERO, t), None);
        // No traffic: nobody waits.
        assert_eq!(service_level(1, 0.0, aht, t), Some(1.0));
        assert_eq!(asa(1, 0.0, aht), Some(Duration::ZERO));
    }

    #[test]
    fn forecast_of_the_classic_ten_erlang_example() {
        // 100 calls per 30 min, AHT 180 s, 80 % in 20 s → 14 agents,
        // SL 88.8 %, ASA 7.8 s, occupancy 71.4 % (13 agents give 79.6 %).
        let f = agents_needed(
            100.0 / 1800.0,
            Duration::from_secs(180),
            Duration::from_secs(20),
            0.8,
            100,
        )
        .unwrap();
        assert_eq!(f.agents, 14);
        close(f.traffic, 10.0, 1e-12);
        close(f.probability_of_wait, 0.174_131_933_595_049_83, 1e-12);
        close(f.service_level, 0.888_350_019_179_466_9, 1e-12);
        close(f.asa.as_secs_f64(), 7.835_937_011_777_243, 1e-9);
        close(f.occupancy, 10.0 / 14.0, 1e-15);
        // 79.6 % is not 80 %, but it is 79 %.
        let f = agents_needed(
            100.0 / 1800.0,
            Duration::from_secs(180),
            Duration::from_secs(20),
            0.79,
            100,
        )
        .unwrap();
        assert_eq!(f.agents, 13);
        // A target below what the first stable staffing gives: ⌊A⌋ + 1.
        let f = agents_needed(
            100.0 / 1800.0,
            Duration::from_secs(180),
            Duration::from_secs(20),
            0.0,
            100,
        )
        .unwrap();
        assert_eq!(f.agents, 11);
        // Not enough agents allowed.
        assert_eq!(
            agents_needed(
                100.0 / 1800.0,
                Duration::from_secs(180),
                Duration::from_secs(20),
                0.8,
                13
            ),
            None
        );
        assert_eq!(
            agents_needed(
                100.0 / 1800.0,
                Duration::from_secs(180),
                Duration::from_secs(20),
                0.8,
                10
            ),
            None
        );
    }

    #[test]
    fn forecast_edges_never_panic() {
        let aht = Duration::from_secs(180);
        let t = Duration::from_secs(20);
        // No calls: one agent, nobody waits.
        let f = agents_needed(0.0, aht, t, 0.8, 10).unwrap();
        assert_eq!(
            (f.agents, f.service_level, f.asa, f.occupancy),
            (1, 1.0, Duration::ZERO, 0.0)
        );
        assert_eq!(agents_needed(0.0, aht, t, 0.8, 0), None);
        assert_eq!(agents_needed(-1.0, aht, t, 0.8, 10), None);
        assert_eq!(agents_needed(f64::NAN, aht, t, 0.8, 10), None);
        assert_eq!(agents_needed(f64::INFINITY, aht, t, 0.8, 10), None);
        assert_eq!(agents_needed(1.0, aht, t, f64::NAN, 10), None);
        assert_eq!(agents_needed(1.0, aht, t, 1.01, 1000), None);
        assert_eq!(agents_needed(1.0, Duration::ZERO, t, 0.8, 10), None);
        assert_eq!(agents_needed(1e300, aht, t, 0.8, u32::MAX), None);
        // A target of exactly 1 is reached only where 1 − C·e^… rounds to 1.
        let f = agents_needed(1.0 / 180.0, aht, t, 1.0, 1000).unwrap();
        assert_eq!(f.service_level, 1.0);
        assert_eq!(traffic(-0.0, aht), Some(0.0));
        assert_eq!(traffic(f64::MAX, aht), None);
    }
}
