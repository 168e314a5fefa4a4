//! Runtime selection of the vector width for the [`super::kernel`] loops.
//!
//! The kernels are plain safe Rust written lane-innermost; the baseline
//! x86-64 target only lets the compiler use SSE2 (4 lanes). Here the very
//! same source is compiled a second and third time with AVX2 and AVX-512
//! enabled, and the widest one the CPU supports is chosen once, when a bank
//! is built. Rust never contracts `a * b + c` into a fused multiply-add on
//! its own, so every variant performs the same IEEE operations in the same
//! order and the results are bit-identical; `tests::wide_kernels_match_the_
//! scalar_twin` checks that on random input.
//!
//! This module is the only place in the DTMF detector with `unsafe`: calling
//! a `#[target_feature]` function is unsafe because running AVX2 code on a
//! CPU without AVX2 is undefined behaviour.
#![allow(unsafe_code)]

use super::kernel::{self, Coefs, Group, Lanes, NF};

/// Which compilation of the kernels to run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Isa {
    /// The baseline target (SSE2 on x86-64): the scalar twin.
    Baseline,
    /// AVX2, verified present at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2,
    /// AVX-512F, verified present at run time.
    #[cfg(target_arch = "x86_64")]
    Avx512,
}

impl Isa {
    /// The widest variant this CPU runs.
    pub(crate) fn detect() -> Self {
        #[cfg(target_arch = "x86_64")]
        {
            if std::arch::is_x86_feature_detected!("avx512f") {
                return Isa::Avx512;
            }
            if std::arch::is_x86_feature_detected!("avx2") {
                return Isa::Avx2;
            }
        }
        Isa::Baseline
    }

    /// Runs [`kernel::goertzel`] compiled for `self`.
    #[inline]
    pub(crate) fn goertzel(self, g: &mut Group, x: &[Lanes], k: &Coefs) {
        match self {
            Isa::Baseline => kernel::goertzel(g, x, k),
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx2` is only constructed by `detect` after
            // `is_x86_feature_detected!("avx2")` returned true.
            Isa::Avx2 => unsafe { goertzel_avx2(g, x, k) },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `Isa::Avx512` is only constructed by `detect` after
            // `is_x86_feature_detected!("avx512f")` returned true.
            Isa::Avx512 => unsafe { goertzel_avx512(g, x, k) },
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
            // SAFETY: constructed only after AVX-512F was detected.
            Isa::Avx512 => unsafe { close_avx512(g, slot, k, rot_re, rot_im, gate) },
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn goertzel_avx2(g: &mut Group, x: &[Lanes], k: &Coefs) {
    kernel::goertzel(g, x, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn goertzel_avx512(g: &mut Group, x: &[Lanes], k: &Coefs) {
    kernel::goertzel(g, x, k)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn close_avx2(
    g: &mut Group,
    slot: usize,
    k: &Coefs,
    rot_re: &[f32; NF],
    rot_im: &[f32; NF],
    gate: f32,
) -> u32 {
    kernel::close_sub_block(g, slot, k, rot_re, rot_im, gate)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn close_avx512(
    g: &mut Group,
    slot: usize,
    k: &Coefs,
    rot_re: &[f32; NF],
    rot_im: &[f32; NF],
    gate: f32,
) -> u32 {
    kernel::close_sub_block(g, slot, k, rot_re, rot_im, gate)
}
