//! The per-sample arithmetic, structure-of-arrays: one [`Group`] holds
//! [`LANES`] channels, every array is `[frequency or sub-block][lane]`.
//!
//! The two functions here are the scalar twin of the AVX2 versions in
//! [`super::simd`]: the reference they are tested against bit for bit, and
//! what runs on CPUs without AVX2. Nothing branches on the signal, so a
//! lane never influences another.
//!
//! The lane loops index several arrays with the same `l` on purpose: each
//! line reads as the vector operation it mirrors.
#![allow(clippy::needless_range_loop)]

use std::ops::Range;

/// Channels per group: two AVX2 registers or one AVX-512 register of `f32`.
pub(crate) const LANES: usize = 16;
/// Samples per sub-block (5 ms): the Goertzel filters restart at each.
pub(crate) const SUB: usize = 40;
/// Sub-blocks per analysis window (20 ms).
pub(crate) const M: usize = 4;
/// The eight DTMF frequencies of Q.23: four of the low group, then four of
/// the high group.
pub(crate) const NF: usize = 8;

/// One lane-vector of `f32`.
pub(crate) type Lanes = [f32; LANES];

/// Per-frequency constants shared by all lanes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Coefs {
    /// `2 cos ω` for the Goertzel recursion.
    pub(crate) two_cos: [f32; NF],
    /// `cos ω` and `sin ω` to turn the recursion's state into a DFT value.
    pub(crate) cos: [f32; NF],
    pub(crate) sin: [f32; NF],
}

/// The state of [`LANES`] channels, structure-of-arrays.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Group {
    /// Goertzel state `s[n-1]` and `s[n-2]`, per frequency and lane.
    pub(crate) s1: [Lanes; NF],
    pub(crate) s2: [Lanes; NF],
    /// Σx² of the current sub-block.
    pub(crate) energy: Lanes,
    /// The last [`M`] sub-blocks' DFT values at each frequency, rotated to a
    /// common time origin (see [`close_sub_block`]), indexed by
    /// `sub-block index % M`.
    pub(crate) w_re: [[Lanes; NF]; M],
    pub(crate) w_im: [[Lanes; NF]; M],
    /// The last [`M`] sub-blocks' Σx², same ring.
    pub(crate) e: [Lanes; M],
    /// Window energy at each frequency, |Σ W|², after the last sub-block.
    pub(crate) t: [Lanes; NF],
    /// Window Σx² after the last sub-block.
    pub(crate) e_win: Lanes,
    /// The last [`M`] sub-blocks' samples, same ring: the rare full check
    /// of a candidate digit looks for harmonics in them.
    pub(crate) x: [[Lanes; SUB]; M],
}

impl Group {
    pub(crate) fn new() -> Self {
        let z = [0.0; LANES];
        Self {
            s1: [z; NF],
            s2: [z; NF],
            energy: z,
            w_re: [[z; NF]; M],
            w_im: [[z; NF]; M],
            e: [z; M],
            t: [z; NF],
            e_win: z,
            x: [[z; SUB]; M],
        }
    }

    /// Clears one lane, as if its channel had been silent forever.
    pub(crate) fn reset_lane(&mut self, lane: usize) {
        for f in 0..NF {
            self.s1[f][lane] = 0.0;
            self.s2[f][lane] = 0.0;
            self.t[f][lane] = 0.0;
            for m in 0..M {
                self.w_re[m][f][lane] = 0.0;
                self.w_im[m][f][lane] = 0.0;
            }
        }
        for m in 0..M {
            self.e[m][lane] = 0.0;
            for row in &mut self.x[m] {
                row[lane] = 0.0;
            }
        }
        self.energy[lane] = 0.0;
        self.e_win[lane] = 0.0;
    }
}

/// Runs the eight Goertzel resonators and the energy sum over
/// `g.x[slot][span]` (`[n][lane]`, part or all of one sub-block).
///
/// The update is written `(x - s2) + c·s1` so that only one multiply and
/// one add sit on the loop-carried path. (The AVX2 version runs all eight
/// frequencies per sample instead, which hides that latency better; the
/// operations per frequency and lane are the same, in the same order.)
#[inline(always)]
pub(crate) fn goertzel(g: &mut Group, slot: usize, span: Range<usize>, k: &Coefs) {
    let x = &g.x[slot][span];
    // One frequency at a time, all lanes of a sample together: the only
    // independent work in the loop body lies along the lanes, so the
    // compiler's vectoriser uses them (it picks the frequency axis, with
    // gathers, when all eight frequencies sit in the body).
    for f in 0..NF {
        let c = k.two_cos[f];
        let mut a = g.s1[f];
        let mut b = g.s2[f];
        for xn in x {
            for l in 0..LANES {
                let s = (xn[l] - b[l]) + c * a[l];
                b[l] = a[l];
                a[l] = s;
            }
        }
        g.s1[f] = a;
        g.s2[f] = b;
    }
    let mut e = g.energy;
    for xn in x {
        for l in 0..LANES {
            e[l] += xn[l] * xn[l];
        }
    }
    g.energy = e;
}

/// Ends sub-block number `k` (`slot = k % M`): reads each resonator out as a
/// DFT value, rotates it by `rot[f] = e^{-jωSUBk}` so that the values of
/// consecutive sub-blocks add up to the DFT of the whole window, restarts
/// the resonators, and recomputes the window's per-frequency energy and
/// total energy. Returns a bit mask of the lanes worth a closer look: those
/// whose strongest low-group and high-group bins together hold at least
/// `gate` of the window energy (`gate` already scaled by `WIN / 2`).
#[inline(always)]
pub(crate) fn close_sub_block(
    g: &mut Group,
    slot: usize,
    k: &Coefs,
    rot_re: &[f32; NF],
    rot_im: &[f32; NF],
    gate: f32,
) -> u32 {
    for f in 0..NF {
        let (c, s, rr, ri) = (k.cos[f], k.sin[f], rot_re[f], rot_im[f]);
        for l in 0..LANES {
            // y = s1 - e^{-jω} s2 = Σ x[m] e^{jω(SUB-1-m)}.
            let yr = g.s1[f][l] - c * g.s2[f][l];
            let yi = s * g.s2[f][l];
            g.w_re[slot][f][l] = yr * rr - yi * ri;
            g.w_im[slot][f][l] = yr * ri + yi * rr;
            g.s1[f][l] = 0.0;
            g.s2[f][l] = 0.0;
        }
    }
    g.e[slot] = g.energy;
    g.energy = [0.0; LANES];

    let mut e_win = [0.0f32; LANES];
    for m in 0..M {
        for l in 0..LANES {
            e_win[l] += g.e[m][l];
        }
    }
    g.e_win = e_win;
    for f in 0..NF {
        let mut xr = [0.0f32; LANES];
        let mut xi = [0.0f32; LANES];
        for m in 0..M {
            for l in 0..LANES {
                xr[l] += g.w_re[m][f][l];
                xi[l] += g.w_im[m][f][l];
            }
        }
        for l in 0..LANES {
            g.t[f][l] = xr[l] * xr[l] + xi[l] * xi[l];
        }
    }
    let mut mask = 0u32;
    for l in 0..LANES {
        let lo = g.t[0][l].max(g.t[1][l]).max(g.t[2][l].max(g.t[3][l]));
        let hi = g.t[4][l].max(g.t[5][l]).max(g.t[6][l].max(g.t[7][l]));
        let hit = e_win[l] > 0.0 && lo + hi >= gate * e_win[l];
        mask |= u32::from(hit) << l;
    }
    mask
}
