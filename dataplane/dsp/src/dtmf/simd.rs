//! AVX2 versions of the two [`super::kernel`] loops, chosen at run time.
//!
//! The generic kernels are plain safe Rust written lane-innermost, and they
//! are the scalar twin: the reference, and what runs on CPUs without AVX2
//! (the baseline build vectorises them with SSE2, four lanes). Here the hot
//! loops are spelled out with `std::arch` intrinsics, eight channels per
//! register and all eight resonators per sample, which the compiler does
//! not find on its own (given all eight in the loop body it vectorises
//! along the frequencies, with gathers): twice the twin's speed. Each performs
//! the same IEEE operations in the same order as its twin (Rust never fuses
//! `a * b + c` on its own, and neither do these), so results are
//! bit-identical; `tests::wide_kernels_match_the_scalar_twin` compares
//! every state word of both after minutes of mixed signal.
//!
//! This module is the only place in the DTMF detector with `unsafe`: the
//! AVX2 functions may only run on a CPU that has AVX2 ([`Isa::detect`]
//! checks once, when a bank is built), and the unaligned loads and stores
//! take raw pointers (always 8 `f32` inside a 16-lane array).
#![allow(unsafe_code)]

use std::ops::Range;

use super::kernel::{self, Coefs, Group, LANES, M, NF};

/// Which compilation of the kernels to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// The baseline target (SSE2 on x86-64): the scalar twin.
    Baseline,
    /// AVX2, verified present at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// The AVX2 code with the 32 registers of AVX-512VL, verified present.
    #[cfg(target_arch = "x86_64")]
    Avx512Vl,
}

impl Isa {
    /// The widest variant this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            let avx2 = std::arch::is_x86_feature_detected!("avx2");
            if avx2
                && std::arch::is_x86_feature_detected!("avx512f")
                && std::arch::is_x86_feature_detected!("avx512vl")
            {
                return Isa::Avx512Vl;
            }
            if avx2 {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    }

    /// Runs [`kernel::goertzel`] compiled for `self`.
    #[inline]
    pub(crate) fn goertzel(self, g: &mut Group, slot: usize, span: Range<usize>, k: &Coefs) {
        match self {
            Isa::Baseline => kernel::goertzel(g, slot, span, k),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is only constructed by `detect` after
            // `is_x86_feature_detected!("avx2")` returned true.
            Isa::Avx2 => unsafe { goertzel_avx2(g, slot, span, k) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512Vl` is only constructed by `detect` after
            // AVX2, AVX-512F and AVX-512VL were all detected.
            Isa::Avx512Vl => unsafe { goertzel_avx512vl(g, slot, span, k) },
        }
    }

    /// Runs [`kernel::close_sub_block`] compiled for `self`.
    #[inline]
    pub(crate) fn close_sub_block(
        self,
        g: &mut Group,
        slot: usize,
        k: &Coefs,
        rot_re: &[f32; NF],
        rot_im: &[f32; NF],
        gate: f32,
    ) -> u32 {
        match self {
            Isa::Baseline => kernel::close_sub_block(g, slot, k, rot_re, rot_im, gate),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: constructed only after AVX2 was detected (see `detect`).
            Isa::Avx2 => unsafe { close_avx2(g, slot, k, rot_re, rot_im, gate) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: constructed only after AVX2, AVX-512F and AVX-512VL
            // were detected.
            Isa::Avx512Vl => unsafe { close_avx512vl(g, slot, k, rot_re, rot_im, gate) },
        }
    }
}

/// Both hot loops with AVX2 intrinsics, for one set of target features:
/// `"avx2"`, and `"avx2,avx512f,avx512vl"` where the same 256-bit code gets
/// sixteen more registers, enough to hold all 16 resonator states, the 8
/// coefficients and the sample without spilling.
macro_rules! avx_kernels {
    ($features:literal, $goertzel:ident, $close:ident) => {
        /// [`kernel::goertzel`] written with AVX2 intrinsics, eight lanes per
        /// register, all eight resonators advanced per sample so that their
        /// independent chains hide each other's latency.
        ///
        /// Same operations, same order as the generic code: `(x - s2) + c·s1` and
        /// `e + x·x`, each rounded once, so results are bit-identical.
        ///
        /// # Safety
        /// The CPU must support every feature in the function's `target_feature`.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $goertzel(g: &mut Group, slot: usize, span: Range<usize>, k: &Coefs) {
            use std::arch::x86_64::{
                __m256, _mm256_add_ps, _mm256_loadu_ps, _mm256_mul_ps, _mm256_set1_ps,
                _mm256_setzero_ps, _mm256_storeu_ps, _mm256_sub_ps,
            };
            const V: usize = 8;
            let c: [__m256; NF] = std::array::from_fn(|f| _mm256_set1_ps(k.two_cos[f]));
            for o in (0..LANES).step_by(V) {
                let mut a = [_mm256_setzero_ps(); NF];
                let mut b = [_mm256_setzero_ps(); NF];
                for f in 0..NF {
                    // SAFETY: `o + V <= LANES`, so each load reads 8 f32 inside
                    // one `[f32; LANES]` array.
                    unsafe {
                        a[f] = _mm256_loadu_ps(g.s1[f][o..o + V].as_ptr());
                        b[f] = _mm256_loadu_ps(g.s2[f][o..o + V].as_ptr());
                    }
                }
                // SAFETY: as above, 8 f32 inside `g.energy`.
                let mut e = unsafe { _mm256_loadu_ps(g.energy[o..o + V].as_ptr()) };
                for xn in &g.x[slot][span.clone()] {
                    // SAFETY: 8 f32 inside the `[f32; LANES]` row `xn`.
                    let xv = unsafe { _mm256_loadu_ps(xn[o..o + V].as_ptr()) };
                    for f in 0..NF {
                        let s = _mm256_add_ps(_mm256_sub_ps(xv, b[f]), _mm256_mul_ps(c[f], a[f]));
                        b[f] = a[f];
                        a[f] = s;
                    }
                    e = _mm256_add_ps(e, _mm256_mul_ps(xv, xv));
                }
                for f in 0..NF {
                    // SAFETY: 8 f32 inside one `[f32; LANES]` array each, which
                    // `&mut g` lets us write.
                    unsafe {
                        _mm256_storeu_ps(g.s1[f][o..o + V].as_mut_ptr(), a[f]);
                        _mm256_storeu_ps(g.s2[f][o..o + V].as_mut_ptr(), b[f]);
                    }
                }
                // SAFETY: 8 f32 inside `g.energy`.
                unsafe { _mm256_storeu_ps(g.energy[o..o + V].as_mut_ptr(), e) };
            }
        }

        /// [`kernel::close_sub_block`] with AVX2 intrinsics, eight lanes per
        /// register; the same operations in the same order as the generic code
        /// (sums start from zero and run oldest slot first), so bit-identical.
        ///
        /// # Safety
        /// The CPU must support every feature in the function's `target_feature`.
        #[cfg(target_arch = "x86_64")]
        #[target_feature(enable = $features)]
        unsafe fn $close(
            g: &mut Group,
            slot: usize,
            k: &Coefs,
            rot_re: &[f32; NF],
            rot_im: &[f32; NF],
            gate: f32,
        ) -> u32 {
            use std::arch::x86_64::{
                _CMP_GE_OQ, _CMP_GT_OQ, _mm256_add_ps, _mm256_and_ps, _mm256_cmp_ps,
                _mm256_loadu_ps, _mm256_max_ps, _mm256_movemask_ps, _mm256_mul_ps, _mm256_set1_ps,
                _mm256_setzero_ps, _mm256_storeu_ps, _mm256_sub_ps,
            };
            const V: usize = 8;
            let zero = _mm256_setzero_ps();
            let mut mask = 0u32;
            for o in (0..LANES).step_by(V) {
                let mut lo = zero;
                let mut hi = zero;
                for f in 0..NF {
                    let (c, s) = (_mm256_set1_ps(k.cos[f]), _mm256_set1_ps(k.sin[f]));
                    let (rr, ri) = (_mm256_set1_ps(rot_re[f]), _mm256_set1_ps(rot_im[f]));
                    // SAFETY: `o + V <= LANES`: 8 f32 inside one `[f32; LANES]`.
                    let (s1, s2) = unsafe {
                        (
                            _mm256_loadu_ps(g.s1[f][o..o + V].as_ptr()),
                            _mm256_loadu_ps(g.s2[f][o..o + V].as_ptr()),
                        )
                    };
                    let yr = _mm256_sub_ps(s1, _mm256_mul_ps(c, s2));
                    let yi = _mm256_mul_ps(s, s2);
                    let wr = _mm256_sub_ps(_mm256_mul_ps(yr, rr), _mm256_mul_ps(yi, ri));
                    let wi = _mm256_add_ps(_mm256_mul_ps(yr, ri), _mm256_mul_ps(yi, rr));
                    // SAFETY: 8 f32 inside one `[f32; LANES]` each, written
                    // through `&mut g`.
                    unsafe {
                        _mm256_storeu_ps(g.w_re[slot][f][o..o + V].as_mut_ptr(), wr);
                        _mm256_storeu_ps(g.w_im[slot][f][o..o + V].as_mut_ptr(), wi);
                        _mm256_storeu_ps(g.s1[f][o..o + V].as_mut_ptr(), zero);
                        _mm256_storeu_ps(g.s2[f][o..o + V].as_mut_ptr(), zero);
                    }
                    let (mut xr, mut xi) = (zero, zero);
                    for m in 0..M {
                        // SAFETY: 8 f32 inside one `[f32; LANES]` each.
                        unsafe {
                            xr =
                                _mm256_add_ps(xr, _mm256_loadu_ps(g.w_re[m][f][o..o + V].as_ptr()));
                            xi =
                                _mm256_add_ps(xi, _mm256_loadu_ps(g.w_im[m][f][o..o + V].as_ptr()));
                        }
                    }
                    let t = _mm256_add_ps(_mm256_mul_ps(xr, xr), _mm256_mul_ps(xi, xi));
                    // SAFETY: 8 f32 inside `g.t[f]`.
                    unsafe { _mm256_storeu_ps(g.t[f][o..o + V].as_mut_ptr(), t) };
                    if f < 4 {
                        lo = _mm256_max_ps(lo, t);
                    } else {
                        hi = _mm256_max_ps(hi, t);
                    }
                }
                // SAFETY: 8 f32 inside `g.energy`, `g.e[slot]`, `g.e[m]`, `g.e_win`.
                let e_win = unsafe {
                    let e = _mm256_loadu_ps(g.energy[o..o + V].as_ptr());
                    _mm256_storeu_ps(g.e[slot][o..o + V].as_mut_ptr(), e);
                    _mm256_storeu_ps(g.energy[o..o + V].as_mut_ptr(), zero);
                    let mut e_win = zero;
                    for m in 0..M {
                        e_win = _mm256_add_ps(e_win, _mm256_loadu_ps(g.e[m][o..o + V].as_ptr()));
                    }
                    _mm256_storeu_ps(g.e_win[o..o + V].as_mut_ptr(), e_win);
                    e_win
                };
                let live = _mm256_cmp_ps::<_CMP_GT_OQ>(e_win, zero);
                let strong = _mm256_cmp_ps::<_CMP_GE_OQ>(
                    _mm256_add_ps(lo, hi),
                    _mm256_mul_ps(_mm256_set1_ps(gate), e_win),
                );
                let bits = _mm256_movemask_ps(_mm256_and_ps(live, strong)) as u32;
                mask |= bits << o;
            }
            mask
        }
    };
}

avx_kernels!("avx2", goertzel_avx2, close_avx2);
avx_kernels!("avx2,avx512f,avx512vl", goertzel_avx512vl, close_avx512vl);
