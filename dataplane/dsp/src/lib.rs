//! Tandem's voice DSP kernels.
//!
//! Everything the media engine does to samples lives here, with no I/O and
//! no allocation on the per-frame path:
//!
//! | module | what | standard |
//! |---|---|---|
//! | [`g711`] | A-law / μ-law coding and direct transcoding | ITU-T G.711 (rounding as G.191) |
//! | [`g722`] | 64 kbit/s sub-band ADPCM wideband codec | ITU-T G.722 |
//! | [`resample`] | polyphase FIR rate conversion 8 ↔ 16 ↔ 48 kHz | — |
//! | [`dtmf`] | multi-channel DTMF detector | ITU-T Q.24, Q.23 |
//! | [`tone`] | DTMF and call-progress tone generation | ITU-T E.180, Q.23 |
//! | [`wav`] | RIFF/WAVE reading and writing (PCM, A-law, μ-law) | — |
//!
//! Samples are `i16` at the codec's rate; buffers are plain slices so that the
//! engine can lay them out for SIMD and cast them with `bytemuck`.
#![deny(unsafe_code)]

pub mod dtmf;
pub mod g711;
pub mod g722;
pub mod resample;
pub mod tone;
pub mod wav;
