//! RFC 3398 §7.2.4.1: every row of "ISUP Cause value → SIP response",
//! the location note (+), and the defaults for everything else.

use tandem_call::{Cause, CauseLocation};

/// The RFC's table, row by row (22 "with diagnostic" → 301 is not modelled:
/// the call model carries no diagnostic).
const RFC3398_7_2_4_1: &[(u8, u16)] = &[
    (1, 404),   // unallocated number → Not Found
    (2, 404),   // no route to network → Not Found
    (3, 404),   // no route to destination → Not Found
    (17, 486),  // user busy → Busy Here
    (18, 408),  // no user responding → Request Timeout
    (19, 480),  // no answer from the user → Temporarily Unavailable
    (20, 480),  // subscriber absent → Temporarily Unavailable
    (21, 403),  // call rejected → Forbidden
    (22, 410),  // number changed (w/o diagnostic) → Gone
    (23, 410),  // redirection to new destination → Gone
    (26, 404),  // non-selected user clearing → Not Found
    (27, 502),  // destination out of order → Bad Gateway
    (28, 484),  // address incomplete → Address Incomplete
    (29, 501),  // facility rejected → Not Implemented
    (31, 480),  // normal unspecified → Temporarily Unavailable
    (34, 503),  // no circuit available → Service Unavailable
    (38, 503),  // network out of order → Service Unavailable
    (41, 503),  // temporary failure → Service Unavailable
    (42, 503),  // switching equipment congestion → Service Unavailable
    (47, 503),  // resource unavailable → Service Unavailable
    (55, 403),  // incoming calls barred within CUG → Forbidden
    (57, 403),  // bearer capability not authorized → Forbidden
    (58, 503),  // bearer capability not presently available → Service Unavailable
    (65, 488),  // bearer capability not implemented → Not Acceptable Here
    (70, 488),  // only restricted digital bearer available → Not Acceptable Here
    (79, 501),  // service or option not implemented → Not Implemented
    (87, 403),  // user not member of CUG → Forbidden
    (88, 503),  // incompatible destination → Service Unavailable
    (102, 504), // recovery on timer expiry → Server Time-out
    (111, 500), // protocol error → Server Internal Error
    (127, 500), // interworking unspecified → Server Internal Error
];

fn cause(v: u8) -> Cause {
    Cause::new(v).expect("test values are 1..=127")
}

#[test]
fn every_row_of_the_rfc_table() {
    for &(c, status) in RFC3398_7_2_4_1 {
        assert_eq!(
            cause(c).to_sip_status(),
            status,
            "cause {c} should map to SIP {status}"
        );
    }
}

#[test]
fn causes_outside_the_table_answer_500() {
    // 16 is normally a BYE/CANCEL; 44 and 69 are defined but not listed.
    for c in [16, 44, 69, 6, 9, 95, 103] {
        assert_eq!(cause(c).to_sip_status(), 500, "cause {c}");
    }
}

#[test]
fn undefined_values_answer_as_their_class_unspecified() {
    // Q.850: an unknown value is read as the unspecified cause of its class.
    assert_eq!(cause(35).to_sip_status(), 503); // as 47
    assert_eq!(cause(24).to_sip_status(), 480); // as 31
    assert_eq!(cause(75).to_sip_status(), 501); // as 79
    assert_eq!(cause(120).to_sip_status(), 500); // as 127
}

#[test]
fn call_rejected_by_the_user_is_decline() {
    let c = Cause::CALL_REJECTED;
    assert_eq!(c.to_sip_status_at(Some(CauseLocation::User)), 603);
    assert_eq!(c.to_sip_status_at(Some(CauseLocation::PublicRemote)), 403);
    assert_eq!(c.to_sip_status_at(None), 403);
    assert_eq!(
        Cause::USER_BUSY.to_sip_status_at(Some(CauseLocation::User)),
        486
    );
}

#[test]
fn every_value_has_an_answer() {
    for v in 1..=127u8 {
        let s = cause(v).to_sip_status();
        assert!((400..700).contains(&s), "cause {v} → {s}");
    }
}
