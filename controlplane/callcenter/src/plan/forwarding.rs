//! Forward on busy and on no answer, with a hop limit.

use std::time::Duration;

use super::destination::Destination;

/// The most busy targets (and, separately, no-answer targets) a number
/// may have.
pub const MAX_FORWARD_TARGETS: usize = 2;
/// The highest hop limit accepted (enough to use all four targets).
pub const MAX_HOP_LIMIT: u8 = 4;
/// The default hop limit.
pub const DEFAULT_HOP_LIMIT: u8 = 2;
/// The default time a destination rings before it counts as no answer.
pub const DEFAULT_NO_ANSWER_TIMEOUT: Duration = Duration::from_secs(20);

/// Why a destination did not take the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// It was busy (SIP 486/600, cause 17).
    Busy,
    /// It rang for the no-answer timeout, or did not respond (cause 18/19).
    NoAnswer,
}

/// A number's forwarding settings (validated by the plan).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Forwarding {
    /// Targets on busy, in order (at most [`MAX_FORWARD_TARGETS`]).
    pub busy: Vec<Destination>,
    /// Targets on no answer, in order (at most [`MAX_FORWARD_TARGETS`]).
    pub no_answer: Vec<Destination>,
    /// How long a destination rings before the call is forwarded on no
    /// answer (or, without no-answer targets, given up).
    pub no_answer_timeout: Duration,
    /// The most forwards of one call, of either kind.
    pub hop_limit: u8,
}

impl Default for Forwarding {
    /// No targets, a 20 s no-answer timeout and a hop limit of 2.
    fn default() -> Self {
        Forwarding {
            busy: Vec::new(),
            no_answer: Vec::new(),
            no_answer_timeout: DEFAULT_NO_ANSWER_TIMEOUT,
            hop_limit: DEFAULT_HOP_LIMIT,
        }
    }
}

impl Forwarding {
    /// No forwarding at all (after hours, the call goes to one place).
    pub fn none() -> Self {
        Forwarding {
            hop_limit: 0,
            ..Forwarding::default()
        }
    }
}

/// The answer of [`ForwardState::next`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ForwardStep<'a> {
    /// Ring this target next.
    To(&'a Destination),
    /// The call has been forwarded `hop_limit` times already.
    HopLimitReached,
    /// No (further) target is configured for this kind of failure.
    NoTarget,
}

/// Forwarding progress of one call: hops so far, and how far each
/// target list has been used. Start with `ForwardState::default()`.
///
/// Carriers allow up to two busy targets and two no-answer targets per
/// number, and at most two forwarding hops per call (CALLCENTER.md). A
/// call first rings its bound destination; each failure asks
/// [`ForwardState::next`] where to go. Busy failures walk the busy
/// targets in order, no-answer failures the no-answer targets, and every
/// forward counts one hop against the limit whatever its kind: so with
/// the default limit of 2, "busy, then no answer" rings the first busy
/// target and then the first no-answer target, and a third failure ends
/// the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ForwardState {
    hops: u8,
    busy_used: u8,
    no_answer_used: u8,
}

impl ForwardState {
    /// Forwards made so far.
    pub fn hops(&self) -> u8 {
        self.hops
    }

    /// The last destination failed with `failure`: where to go next. A
    /// [`ForwardStep::To`] counts one hop.
    pub fn next<'a>(&mut self, forwarding: &'a Forwarding, failure: Failure) -> ForwardStep<'a> {
        if self.hops >= forwarding.hop_limit {
            return ForwardStep::HopLimitReached;
        }
        let (list, used) = match failure {
            Failure::Busy => (&forwarding.busy, &mut self.busy_used),
            Failure::NoAnswer => (&forwarding.no_answer, &mut self.no_answer_used),
        };
        match list.get(usize::from(*used)) {
            Some(target) => {
                *used += 1;
                self.hops += 1;
                ForwardStep::To(target)
            }
            None => ForwardStep::NoTarget,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fwd(hop_limit: u8) -> Forwarding {
        Forwarding {
            busy: vec![
                Destination::Number("13800000001".into()),
                Destination::Number("13800000002".into()),
            ],
            no_answer: vec![
                Destination::Queue("overflow".into()),
                Destination::Voicemail("main".into()),
            ],
            hop_limit,
            ..Forwarding::default()
        }
    }

    fn name(step: ForwardStep<'_>) -> String {
        match step {
            ForwardStep::To(d) => d.to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn the_hop_limit_counts_forwards_of_either_kind() {
        let f = fwd(2);
        let mut s = ForwardState::default();
        assert_eq!(name(s.next(&f, Failure::Busy)), "number:13800000001");
        assert_eq!(name(s.next(&f, Failure::NoAnswer)), "queue:overflow");
        assert_eq!(s.hops(), 2);
        assert_eq!(s.next(&f, Failure::Busy), ForwardStep::HopLimitReached);
        assert_eq!(s.next(&f, Failure::NoAnswer), ForwardStep::HopLimitReached);

        let mut s = ForwardState::default();
        assert_eq!(name(s.next(&f, Failure::Busy)), "number:13800000001");
        assert_eq!(name(s.next(&f, Failure::Busy)), "number:13800000002");
        assert_eq!(s.next(&f, Failure::Busy), ForwardStep::HopLimitReached);
    }

    #[test]
    fn target_lists_run_out_before_a_high_limit() {
        let f = fwd(4);
        let mut s = ForwardState::default();
        assert_eq!(name(s.next(&f, Failure::Busy)), "number:13800000001");
        assert_eq!(name(s.next(&f, Failure::Busy)), "number:13800000002");
        assert_eq!(s.next(&f, Failure::Busy), ForwardStep::NoTarget);
        assert_eq!(s.hops(), 2);
        assert_eq!(name(s.next(&f, Failure::NoAnswer)), "queue:overflow");
        assert_eq!(name(s.next(&f, Failure::NoAnswer)), "voicemail:main");
        assert_eq!(s.next(&f, Failure::NoAnswer), ForwardStep::HopLimitReached);
    }

    #[test]
    fn no_forwarding_means_no_hops() {
        let mut s = ForwardState::default();
        assert_eq!(
            s.next(&Forwarding::none(), Failure::Busy),
            ForwardStep::HopLimitReached
        );
        assert_eq!(
            s.next(&Forwarding::default(), Failure::Busy),
            ForwardStep::NoTarget
        );
        assert_eq!(
            Forwarding::default().no_answer_timeout,
            Duration::from_secs(20)
        );
        let f = fwd(0);
        assert_eq!(s.next(&f, Failure::NoAnswer), ForwardStep::HopLimitReached);
    }
}
