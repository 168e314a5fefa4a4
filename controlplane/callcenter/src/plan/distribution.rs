//! Proportional distribution by smooth weighted round robin.

use super::destination::Destination;

/// A destination with its share of calls.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Weighted {
    /// Where calls go.
    pub destination: Destination,
    /// Its relative share, at least 1.
    pub weight: u32,
}

/// Why a list of weighted destinations was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DistributionError {
    /// No destinations.
    Empty,
    /// The destination at this index has weight 0.
    ZeroWeight(usize),
}

/// A list of destinations chosen in proportion to their weights.
///
/// The algorithm of nginx's upstream module (`ngx_http_upstream_round_robin.c`,
/// "smooth weighted balancing"): each pick adds every destination's weight
/// to its running score, chooses the highest score (the first listed on a
/// tie) and subtracts the total weight from the winner. The scores sum to
/// zero after every pick and return to all-zero after `total` picks, so
/// the sequence repeats with period `total` and **any `total` consecutive
/// calls reach each destination exactly `weight` times**, interleaved
/// (weights 5:1:1 give `a a b a c a a`, not `a a a a a b c`). No random
/// numbers: the same calls give the same choices, in tests and in
/// production.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Distribution {
    entries: Vec<Weighted>,
    /// Running scores, one per entry.
    current: Vec<i64>,
    total: i64,
}

impl Distribution {
    /// A distribution over `entries` (at least one, every weight ≥ 1),
    /// with all scores at zero.
    pub fn new(entries: Vec<Weighted>) -> Result<Distribution, DistributionError> {
        if entries.is_empty() {
            return Err(DistributionError::Empty);
        }
        if let Some(i) = entries.iter().position(|w| w.weight == 0) {
            return Err(DistributionError::ZeroWeight(i));
        }
        let total = entries.iter().map(|w| i64::from(w.weight)).sum();
        Ok(Distribution {
            current: vec![0; entries.len()],
            entries,
            total,
        })
    }

    /// The destinations and weights, in config order.
    pub fn entries(&self) -> &[Weighted] {
        &self.entries
    }

    /// The sum of the weights: the period of the sequence.
    pub fn total_weight(&self) -> u64 {
        self.total as u64
    }

    /// The index of the next destination (one step of smooth weighted
    /// round robin).
    pub fn pick(&mut self) -> usize {
        let mut best = 0;
        for (i, w) in self.entries.iter().enumerate() {
            self.current[i] += i64::from(w.weight);
            if self.current[i] > self.current[best] {
                best = i;
            }
        }
        self.current[best] -= self.total;
        best
    }

    /// The next destination first, then the others in config order: the
    /// candidates of one call.
    pub fn next_candidates(&mut self) -> Vec<Destination> {
        let first = self.pick();
        let mut out = Vec::with_capacity(self.entries.len());
        out.push(self.entries[first].destination.clone());
        out.extend(
            self.entries
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != first)
                .map(|(_, w)| w.destination.clone()),
        );
        out
    }

    /// Replaces the destinations (a runtime change): the scores restart
    /// from zero, so the new ratios hold exactly from the next call on.
    pub fn set_entries(&mut self, entries: Vec<Weighted>) -> Result<(), DistributionError> {
        *self = Distribution::new(entries)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(weights: &[u32]) -> Distribution {
        Distribution::new(
            weights
                .iter()
                .enumerate()
                .map(|(i, &weight)| Weighted {
                    destination: Destination::Agent(i.to_string()),
                    weight,
                })
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn picks_are_smooth_like_nginx() {
        let mut d = dist(&[5, 1, 1]);
        let seq: Vec<usize> = (0..7).map(|_| d.pick()).collect();
        assert_eq!(seq, [0, 0, 1, 0, 2, 0, 0]);
        let mut d = dist(&[1]);
        assert!((0..10).all(|_| d.pick() == 0));
    }

    #[test]
    fn every_window_of_total_calls_matches_the_weights_exactly() {
        for weights in [
            &[3, 2, 1][..],
            &[7, 7],
            &[1, 10, 100, 3],
            &[2, 3, 5, 7, 11, 13],
        ] {
            let mut d = dist(weights);
            let total = d.total_weight() as usize;
            let seq: Vec<usize> = (0..total * 4).map(|_| d.pick()).collect();
            for window in seq.windows(total) {
                let mut counts = vec![0u32; weights.len()];
                for &i in window {
                    counts[i] += 1;
                }
                assert_eq!(counts, weights, "{weights:?}");
            }
        }
    }

    #[test]
    fn empty_lists_and_zero_weights_are_refused() {
        assert_eq!(Distribution::new(vec![]), Err(DistributionError::Empty));
        let w = |weight| Weighted {
            destination: Destination::Hangup,
            weight,
        };
        assert_eq!(
            Distribution::new(vec![w(1), w(0)]),
            Err(DistributionError::ZeroWeight(1))
        );
        let mut d = Distribution::new(vec![w(u32::MAX), w(u32::MAX)]).unwrap();
        assert_eq!((d.pick(), d.pick(), d.pick()), (0, 1, 0));
    }

    #[test]
    fn candidates_put_the_pick_first_and_replacement_restarts() {
        let mut d = dist(&[1, 2]);
        let names = |c: Vec<Destination>| c.iter().map(|d| d.to_string()).collect::<Vec<_>>();
        assert_eq!(names(d.next_candidates()), ["agent:1", "agent:0"]);
        assert_eq!(names(d.next_candidates()), ["agent:0", "agent:1"]);
        d.set_entries(dist(&[1, 3]).entries().to_vec()).unwrap();
        let seq: Vec<usize> = (0..4).map(|_| d.pick()).collect();
        assert_eq!(seq, [1, 0, 1, 1]);
        assert!(d.set_entries(vec![]).is_err());
    }
}
