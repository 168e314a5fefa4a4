//! Test-only oracle: a thin, safe wrapper over Debian's `libspandsp`.
//!
//! Tandem's DSP is proven bit-exact against spandsp (G.711 per ITU-T G.711 /
//! G.191 rounding, G.722 at 64 kbit/s) and its DTMF detector is compared with
//! spandsp's `dtmf_rx` on the same battery. Benchmarks in `bench/` run both
//! side by side. This crate is a dev-dependency only: the `tandem` binary
//! never links spandsp.
//!
//! Every FFI call passes slices with their lengths; buffers handed to C are
//! sized by the wrapper, so callers cannot cause out-of-bounds writes.
#![allow(unsafe_code)]

use std::ffi::{c_char, c_int, c_void};

unsafe extern "C" {
    fn tandem_oracle_linear_to_alaw(input: *const i16, out: *mut u8, n: c_int);
    fn tandem_oracle_alaw_to_linear(input: *const u8, out: *mut i16, n: c_int);
    fn tandem_oracle_linear_to_ulaw(input: *const i16, out: *mut u8, n: c_int);
    fn tandem_oracle_ulaw_to_linear(input: *const u8, out: *mut i16, n: c_int);
    fn alaw_to_ulaw(alaw: u8) -> u8;
    fn ulaw_to_alaw(ulaw: u8) -> u8;
    fn tandem_oracle_g722_encoder_new() -> *mut c_void;
    fn tandem_oracle_g722_encoder_free(s: *mut c_void);
    fn tandem_oracle_g722_encoder_new_8k() -> *mut c_void;
    fn tandem_oracle_g722_decoder_new_8k() -> *mut c_void;
    fn tandem_oracle_g722_encode(s: *mut c_void, pcm: *const i16, n: c_int, out: *mut u8) -> c_int;
    fn tandem_oracle_g722_decoder_new() -> *mut c_void;
    fn tandem_oracle_g722_decoder_free(s: *mut c_void);
    fn tandem_oracle_g722_decode(s: *mut c_void, code: *const u8, n: c_int, out: *mut i16)
    -> c_int;
    fn tandem_oracle_dtmf_rx_new() -> *mut c_void;
    fn tandem_oracle_dtmf_rx_free(s: *mut c_void);
    fn tandem_oracle_dtmf_rx_parms(
        s: *mut c_void,
        filter_dialtone: c_int,
        twist: c_int,
        reverse_twist: c_int,
        threshold: c_int,
    );
    fn tandem_oracle_dtmf_rx(s: *mut c_void, amp: *const i16, n: c_int);
    fn tandem_oracle_dtmf_rx_get(s: *mut c_void, digits: *mut c_char, max: c_int) -> c_int;
}

fn len_c(n: usize) -> c_int {
    c_int::try_from(n).expect("buffer longer than c_int::MAX samples")
}

/// Encodes linear samples to A-law with spandsp's `linear_to_alaw`.
pub fn linear_to_alaw(input: &[i16], out: &mut [u8]) {
    assert_eq!(input.len(), out.len());
    // SAFETY: both slices are valid for `input.len()` elements (checked above).
    unsafe { tandem_oracle_linear_to_alaw(input.as_ptr(), out.as_mut_ptr(), len_c(input.len())) }
}

/// Decodes A-law codes to linear with spandsp's `alaw_to_linear`.
pub fn alaw_to_linear(input: &[u8], out: &mut [i16]) {
    assert_eq!(input.len(), out.len());
    // SAFETY: both slices are valid for `input.len()` elements (checked above).
    unsafe { tandem_oracle_alaw_to_linear(input.as_ptr(), out.as_mut_ptr(), len_c(input.len())) }
}

/// Encodes linear samples to μ-law with spandsp's `linear_to_ulaw`.
pub fn linear_to_ulaw(input: &[i16], out: &mut [u8]) {
    assert_eq!(input.len(), out.len());
    // SAFETY: both slices are valid for `input.len()` elements (checked above).
    unsafe { tandem_oracle_linear_to_ulaw(input.as_ptr(), out.as_mut_ptr(), len_c(input.len())) }
}

/// Decodes μ-law codes to linear with spandsp's `ulaw_to_linear`.
pub fn ulaw_to_linear(input: &[u8], out: &mut [i16]) {
    assert_eq!(input.len(), out.len());
    // SAFETY: both slices are valid for `input.len()` elements (checked above).
    unsafe { tandem_oracle_ulaw_to_linear(input.as_ptr(), out.as_mut_ptr(), len_c(input.len())) }
}

/// spandsp's direct A-law → μ-law transcoding table (G.711 Table 3/4).
pub fn alaw_to_ulaw_code(alaw: u8) -> u8 {
    // SAFETY: pure function on a byte.
    unsafe { alaw_to_ulaw(alaw) }
}

/// spandsp's direct μ-law → A-law transcoding table.
pub fn ulaw_to_alaw_code(ulaw: u8) -> u8 {
    // SAFETY: pure function on a byte.
    unsafe { ulaw_to_alaw(ulaw) }
}

/// spandsp G.722 encoder, 64 kbit/s, 16 kHz input, unpacked octets.
pub struct G722Encoder(*mut c_void, bool);

impl G722Encoder {
    /// A fresh encoder in the G.722 reset state.
    pub fn new() -> Self {
        // SAFETY: allocates and initialises a state; NULL only on OOM.
        let s = unsafe { tandem_oracle_g722_encoder_new() };
        assert!(!s.is_null(), "g722_encode_init failed");
        Self(s, false)
    }

    /// A fresh encoder with `G722_SAMPLE_RATE_8000`: 8 kHz samples in,
    /// one octet each out (the higher band not coded).
    pub fn new_8k() -> Self {
        // SAFETY: allocates and initialises a state; NULL only on OOM.
        let s = unsafe { tandem_oracle_g722_encoder_new_8k() };
        assert!(!s.is_null(), "g722_encode_init failed");
        Self(s, true)
    }

    /// Encodes 16 kHz samples (an even count) into `pcm.len() / 2` octets
    /// (8 kHz samples into as many octets for [`new_8k`](Self::new_8k)).
    pub fn encode(&mut self, pcm: &[i16], out: &mut [u8]) -> usize {
        let most = if self.1 { pcm.len() } else { pcm.len() / 2 + 1 };
        assert!(out.len() >= most);
        // SAFETY: state is live; `out` holds `most` octets, the most
        // g722_encode writes for `pcm.len()` samples in this mode.
        let n = unsafe {
            tandem_oracle_g722_encode(self.0, pcm.as_ptr(), len_c(pcm.len()), out.as_mut_ptr())
        };
        usize::try_from(n).expect("g722_encode returned a negative count")
    }
}

impl Default for G722Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for G722Encoder {
    fn drop(&mut self) {
        // SAFETY: the state was allocated by g722_encode_init and is freed once.
        unsafe { tandem_oracle_g722_encoder_free(self.0) }
    }
}

/// spandsp G.722 decoder, 64 kbit/s, 16 kHz output.
pub struct G722Decoder(*mut c_void);

impl G722Decoder {
    /// A fresh decoder in the G.722 reset state.
    pub fn new() -> Self {
        // SAFETY: allocates and initialises a state; NULL only on OOM.
        let s = unsafe { tandem_oracle_g722_decoder_new() };
        assert!(!s.is_null(), "g722_decode_init failed");
        Self(s)
    }

    /// A fresh decoder with `G722_SAMPLE_RATE_8000`: one 8 kHz sample per
    /// octet (the higher band not decoded).
    pub fn new_8k() -> Self {
        // SAFETY: allocates and initialises a state; NULL only on OOM.
        let s = unsafe { tandem_oracle_g722_decoder_new_8k() };
        assert!(!s.is_null(), "g722_decode_init failed");
        Self(s)
    }

    /// Decodes octets into `2 * code.len()` samples (`code.len()` for
    /// [`new_8k`](Self::new_8k)); returns the count.
    pub fn decode(&mut self, code: &[u8], out: &mut [i16]) -> usize {
        assert!(out.len() >= code.len() * 2);
        // SAFETY: state is live; `out` holds two samples per input octet,
        // the most g722_decode writes in 64 kbit/s mode.
        let n = unsafe {
            tandem_oracle_g722_decode(self.0, code.as_ptr(), len_c(code.len()), out.as_mut_ptr())
        };
        usize::try_from(n).expect("g722_decode returned a negative count")
    }
}

impl Default for G722Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for G722Decoder {
    fn drop(&mut self) {
        // SAFETY: the state was allocated by g722_decode_init and is freed once.
        unsafe { tandem_oracle_g722_decoder_free(self.0) }
    }
}

/// spandsp's DTMF receiver (`dtmf_rx`), 8 kHz linear input.
pub struct DtmfRx(*mut c_void);

impl DtmfRx {
    /// A receiver with spandsp's defaults (twist 8 dB, reverse twist 4 dB
    /// in spandsp 0.0.6, threshold −26 dBm0... as compiled into the library).
    pub fn new() -> Self {
        // SAFETY: allocates and initialises a state; NULL only on OOM.
        let s = unsafe { tandem_oracle_dtmf_rx_new() };
        assert!(!s.is_null(), "dtmf_rx_init failed");
        Self(s)
    }

    /// `dtmf_rx_parms`: negative values (or threshold ≤ −99) leave a
    /// parameter unchanged.
    pub fn set_params(
        &mut self,
        filter_dialtone: i32,
        twist: i32,
        reverse_twist: i32,
        threshold_dbm0: i32,
    ) {
        // SAFETY: state is live; plain integer arguments.
        unsafe {
            tandem_oracle_dtmf_rx_parms(
                self.0,
                filter_dialtone,
                twist,
                reverse_twist,
                threshold_dbm0,
            )
        }
    }

    /// Feeds samples.
    pub fn process(&mut self, amp: &[i16]) {
        // SAFETY: state is live; the slice is valid for its length.
        unsafe { tandem_oracle_dtmf_rx(self.0, amp.as_ptr(), len_c(amp.len())) }
    }

    /// Drains the digits detected so far.
    pub fn take_digits(&mut self) -> String {
        let mut out = String::new();
        let mut buf = [0u8; 128];
        loop {
            // SAFETY: `buf` is valid for `buf.len() - 1` writes plus a NUL.
            let n = unsafe {
                tandem_oracle_dtmf_rx_get(self.0, buf.as_mut_ptr().cast(), len_c(buf.len() - 1))
            };
            let n = usize::try_from(n).unwrap_or(0).min(buf.len() - 1);
            out.extend(buf[..n].iter().map(|&b| b as char));
            if n < buf.len() - 1 {
                return out;
            }
        }
    }
}

impl Default for DtmfRx {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for DtmfRx {
    fn drop(&mut self) {
        // SAFETY: the state was allocated by dtmf_rx_init and is freed once.
        unsafe { tandem_oracle_dtmf_rx_free(self.0) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn g711_round_trip_of_a_code_is_stable() {
        let mut lin = [0i16; 256];
        let codes: Vec<u8> = (0..=255).collect();
        alaw_to_linear(&codes, &mut lin);
        let mut back = [0u8; 256];
        linear_to_alaw(&lin, &mut back);
        assert_eq!(&back[..], &codes[..]);
    }

    #[test]
    fn dtmf_rx_hears_a_clean_digit() {
        let mut rx = DtmfRx::new();
        let mut pcm = vec![0i16; 8000];
        for (n, s) in pcm.iter_mut().take(800).enumerate() {
            let t = n as f64 / 8000.0;
            let v = 5000.0
                * ((2.0 * std::f64::consts::PI * 697.0 * t).sin()
                    + (2.0 * std::f64::consts::PI * 1209.0 * t).sin());
            *s = v as i16;
        }
        rx.process(&pcm);
        assert_eq!(rx.take_digits(), "1");
    }
}
