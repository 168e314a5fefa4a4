//! The E-model (ITU-T G.107) reduced to R = 93.2 − Id − Ie,eff and MOS.

use tandem_dataplane::quality::{
    EModelCodec, delay_impairment, effective_equipment_impairment, mos_from_r, r_factor,
};

const G711: EModelCodec = EModelCodec::G711_PLC;

#[test]
fn perfect_connection_is_mos_4_4() {
    let r = r_factor(G711, 0.0, 1.0, 20.0);
    assert!((r - 93.2).abs() < 1e-9);
    let mos = mos_from_r(r);
    assert!((mos - 4.41).abs() < 0.01, "MOS {mos}");
}

#[test]
fn annex_b_mos_mapping() {
    // G.107 Annex B: R 50 → MOS 2.58, R 70 → 3.6, R 80 → 4.02, R 90 → 4.34.
    for (r, mos) in [(50.0, 2.58), (70.0, 3.60), (80.0, 4.02), (90.0, 4.34)] {
        assert!(
            (mos_from_r(r) - mos).abs() < 0.01,
            "R {r}: {}",
            mos_from_r(r)
        );
    }
    // Monotone over the scale.
    let mut prev = 0.0;
    for r in 0..=100 {
        let m = mos_from_r(f64::from(r));
        assert!(m >= prev);
        prev = m;
    }
}

#[test]
fn loss_impairment_follows_ie_eff() {
    // Ie,eff = 95·Ppl/(Ppl + 25.1) for G.711 with PLC, random loss.
    let ie = effective_equipment_impairment(G711, 1.0, 1.0);
    assert!((ie - 95.0 / 26.1).abs() < 1e-9);
    let ie5 = effective_equipment_impairment(G711, 5.0, 1.0);
    assert!((ie5 - 95.0 * 5.0 / 30.1).abs() < 1e-9);
    // Bursty loss hurts more.
    assert!(effective_equipment_impairment(G711, 5.0, 2.0) > ie5);
    // Without PLC, much more.
    assert!(effective_equipment_impairment(EModelCodec::G711_NO_PLC, 5.0, 1.0) > 2.0 * ie5);
    // MOS falls with loss.
    let mos: Vec<f64> = [0.0, 1.0, 2.0, 5.0, 10.0, 20.0]
        .iter()
        .map(|&p| mos_from_r(r_factor(G711, p, 1.0, 0.0)))
        .collect();
    assert!(mos.windows(2).all(|w| w[1] < w[0]), "{mos:?}");
    assert!(mos[3] > 3.5 && mos[3] < 4.0, "5 % loss: {}", mos[3]);
}

#[test]
fn delay_impairment_idd_reference_points() {
    assert_eq!(delay_impairment(50.0), 0.0);
    assert_eq!(delay_impairment(100.0), 0.0);
    // X = 1 at 200 ms: 25·(2^⅙ − 3·(1 + 3^-6)^⅙ + 2).
    let x1 = 25.0 * (2f64.powf(1.0 / 6.0) - 3.0 * (1.0 + 3f64.powi(-6)).powf(1.0 / 6.0) + 2.0);
    assert!((delay_impairment(200.0) - x1).abs() < 1e-9);
    assert!((delay_impairment(200.0) - 3.0).abs() < 0.1);
    // 400 ms one way (X = 2) costs about 24 points: MOS drops under 3.7.
    assert!((delay_impairment(400.0) - 24.1).abs() < 0.2);
    let mos = mos_from_r(r_factor(G711, 0.0, 1.0, 400.0));
    assert!(mos < 3.7 && mos > 3.4, "{mos}");
    // Monotone in delay.
    let mut prev = -1.0;
    for d in (0..1000).step_by(10) {
        let idd = delay_impairment(f64::from(d));
        assert!(idd >= prev);
        prev = idd;
    }
}

#[test]
fn nonsense_inputs_do_not_produce_nonsense() {
    assert_eq!(mos_from_r(f64::NAN), 1.0);
    assert!(r_factor(G711, f64::NAN, f64::NAN, f64::NAN).is_finite());
    assert!(r_factor(G711, 500.0, 0.0, -5.0).is_finite());
}
