//! Tandem's G.711 is bit-exact with spandsp: every 16-bit input encodes to
//! the same octet, every octet decodes to the same value, and the direct
//! A ↔ μ transcoding tables agree for all 256 codes (spandsp's tables are
//! transcribed from G.711 Tables 3 and 4; ours are computed from the rule).

use tandem_dsp::g711;
use tandem_spandsp_oracle as spandsp;

fn all_samples() -> Vec<i16> {
    (i16::MIN..=i16::MAX).collect()
}

#[test]
fn alaw_encode_matches_for_all_65536_inputs() {
    let pcm = all_samples();
    let mut theirs = vec![0u8; pcm.len()];
    spandsp::linear_to_alaw(&pcm, &mut theirs);
    let mut ours = vec![0u8; pcm.len()];
    g711::encode_alaw(&pcm, &mut ours);
    for (i, &x) in pcm.iter().enumerate() {
        assert_eq!(ours[i], theirs[i], "A-law encode of {x}");
        assert_eq!(
            g711::alaw_encode(x),
            theirs[i],
            "scalar A-law encode of {x}"
        );
    }
}

#[test]
fn ulaw_encode_matches_for_all_65536_inputs() {
    let pcm = all_samples();
    let mut theirs = vec![0u8; pcm.len()];
    spandsp::linear_to_ulaw(&pcm, &mut theirs);
    let mut ours = vec![0u8; pcm.len()];
    g711::encode_ulaw(&pcm, &mut ours);
    for (i, &x) in pcm.iter().enumerate() {
        assert_eq!(ours[i], theirs[i], "μ-law encode of {x}");
        assert_eq!(
            g711::ulaw_encode(x),
            theirs[i],
            "scalar μ-law encode of {x}"
        );
    }
}

#[test]
fn decode_matches_for_all_256_codes() {
    let codes: Vec<u8> = (0..=255).collect();
    let mut theirs = vec![0i16; 256];
    let mut ours = vec![0i16; 256];

    spandsp::alaw_to_linear(&codes, &mut theirs);
    g711::decode_alaw(&codes, &mut ours);
    assert_eq!(ours, theirs, "A-law decode");
    for &c in &codes {
        assert_eq!(g711::alaw_decode(c), theirs[usize::from(c)]);
    }

    spandsp::ulaw_to_linear(&codes, &mut theirs);
    g711::decode_ulaw(&codes, &mut ours);
    assert_eq!(ours, theirs, "μ-law decode");
    for &c in &codes {
        assert_eq!(g711::ulaw_decode(c), theirs[usize::from(c)]);
    }
}

#[test]
fn transcoding_tables_match_g711_tables_3_and_4_as_in_spandsp() {
    let codes: Vec<u8> = (0..=255).collect();
    let mut ours = vec![0u8; 256];

    g711::transcode_alaw_to_ulaw(&codes, &mut ours);
    for &c in &codes {
        let theirs = spandsp::alaw_to_ulaw_code(c);
        assert_eq!(g711::alaw_to_ulaw(c), theirs, "A→μ of {c:#04x}");
        assert_eq!(ours[usize::from(c)], theirs, "bulk A→μ of {c:#04x}");
    }

    g711::transcode_ulaw_to_alaw(&codes, &mut ours);
    for &c in &codes {
        let theirs = spandsp::ulaw_to_alaw_code(c);
        assert_eq!(g711::ulaw_to_alaw(c), theirs, "μ→A of {c:#04x}");
        assert_eq!(ours[usize::from(c)], theirs, "bulk μ→A of {c:#04x}");
    }
}

/// The G.711 tables are not "decode, then re-encode": this documents where
/// they differ, so a regression to the naive method cannot pass the test
/// above by accident of a shared bug.
#[test]
fn transcoding_differs_from_decode_reencode_where_g711_says_so() {
    let a_differs = (0..=255u8)
        .filter(|&c| g711::alaw_to_ulaw(c) != g711::ulaw_encode(g711::alaw_decode(c)))
        .count();
    let u_differs = (0..=255u8)
        .filter(|&c| g711::ulaw_to_alaw(c) != g711::alaw_encode(g711::ulaw_decode(c)))
        .count();
    assert_eq!(a_differs, 2 * 16, "A→μ: segment 5 of each sign");
    // μ → A: segment 5 and the μ-law magnitude indices 48, 49 and 64 of
    // each sign, plus low levels where the naive path (with A-law's one's
    // complement of negative samples) lands on the other A-law neighbour.
    assert_eq!(u_differs, 44, "μ→A");
}
