//! The waiting-time histogram of a queue's answered calls.

use std::time::Duration;

/// Bucket edges every queue's histogram has, before its own service-level
/// threshold is added: 5, 10, 15, 20, 30, 45, 60, 90, 120, 180 and 300 s.
pub const DEFAULT_WAIT_BUCKETS: [Duration; 11] = [
    Duration::from_secs(5),
    Duration::from_secs(10),
    Duration::from_secs(15),
    Duration::from_secs(20),
    Duration::from_secs(30),
    Duration::from_secs(45),
    Duration::from_secs(60),
    Duration::from_secs(90),
    Duration::from_secs(120),
    Duration::from_secs(180),
    Duration::from_secs(300),
];

/// Counts of waits per bucket (not cumulative), the last one above every
/// edge (`+Inf`).
#[derive(Debug, Clone)]
pub(crate) struct Histogram {
    /// Upper bounds (inclusive) in ms, sorted, without duplicates.
    edges_ms: Vec<u64>,
    /// `edges_ms.len() + 1` counts.
    counts: Vec<u64>,
    sum_ms: u64,
    count: u64,
}

impl Histogram {
    /// An empty histogram with [`DEFAULT_WAIT_BUCKETS`] plus `threshold`.
    pub(crate) fn new(threshold: Duration) -> Histogram {
        let mut edges_ms: Vec<u64> = DEFAULT_WAIT_BUCKETS
            .iter()
            .chain([&threshold])
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .collect();
        edges_ms.sort_unstable();
        edges_ms.dedup();
        let counts = vec![0; edges_ms.len() + 1];
        Histogram {
            edges_ms,
            counts,
            sum_ms: 0,
            count: 0,
        }
    }

    /// Counts one wait of `ms` milliseconds in the first bucket whose
    /// upper bound is ≥ it (Prometheus `le`).
    pub(crate) fn observe(&mut self, ms: u64) {
        let i = self.edges_ms.partition_point(|&edge| edge < ms);
        if let Some(c) = self.counts.get_mut(i) {
            *c = c.saturating_add(1);
        }
        self.sum_ms = self.sum_ms.saturating_add(ms);
        self.count = self.count.saturating_add(1);
    }
}

/// A read-only view of a queue's waiting-time histogram of **answered**
/// calls, cumulative like a Prometheus histogram: bucket `le` counts the
/// answered calls that waited at most `le`.
///
/// The queue's service-level threshold T is always an edge, so
/// `count_within(T) ÷ count()` is exactly the share of answered calls
/// answered within T. (The service-level KPI divides by offered calls
/// instead, which the histogram does not see: see
/// [`Counters::service_level`](super::Counters::service_level).)
#[derive(Debug, Clone, Copy)]
pub struct WaitHistogram<'a> {
    pub(crate) histogram: &'a Histogram,
}

impl<'a> WaitHistogram<'a> {
    /// `(le, cumulative count)` for each finite edge, in increasing order
    /// (the `+Inf` bucket is [`count`](Self::count)).
    pub fn buckets(&self) -> impl Iterator<Item = (Duration, u64)> + 'a {
        let h = self.histogram;
        h.edges_ms
            .iter()
            .zip(h.counts.iter())
            .scan(0u64, |acc, (edge, count)| {
                *acc = acc.saturating_add(*count);
                Some((Duration::from_millis(*edge), *acc))
            })
    }

    /// Answered calls that waited at most `le`, if `le` is one of the
    /// edges.
    pub fn count_within(&self, le: Duration) -> Option<u64> {
        self.buckets().find(|(edge, _)| *edge == le).map(|(_, c)| c)
    }

    /// Number of answered calls observed.
    pub fn count(&self) -> u64 {
        self.histogram.count
    }

    /// Sum of their waits.
    pub fn sum(&self) -> Duration {
        Duration::from_millis(self.histogram.sum_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_threshold_becomes_an_edge_and_buckets_are_cumulative() {
        let mut h = Histogram::new(Duration::from_secs(25));
        for ms in [0, 5_000, 5_001, 25_000, 25_001, 400_000] {
            h.observe(ms);
        }
        let v = WaitHistogram { histogram: &h };
        let b: Vec<(u64, u64)> = v.buckets().map(|(d, c)| (d.as_secs(), c)).collect();
        assert_eq!(
            b,
            [
                (5, 2),
                (10, 3),
                (15, 3),
                (20, 3),
                (25, 4),
                (30, 5),
                (45, 5),
                (60, 5),
                (90, 5),
                (120, 5),
                (180, 5),
                (300, 5)
            ]
        );
        assert_eq!(v.count(), 6);
        assert_eq!(v.count_within(Duration::from_secs(25)), Some(4));
        assert_eq!(v.count_within(Duration::from_secs(26)), None);
        assert_eq!(v.sum(), Duration::from_millis(460_002));
    }

    #[test]
    fn a_default_threshold_is_not_duplicated() {
        let h = Histogram::new(Duration::from_secs(20));
        assert_eq!(h.edges_ms.len(), 11);
        let h = Histogram::new(Duration::from_millis(12_500));
        assert_eq!(h.edges_ms.len(), 12);
        let h = Histogram::new(Duration::MAX);
        assert_eq!(h.edges_ms.last(), Some(&u64::MAX));
    }
}
