//! RFC 3398 §8.2.6.1: every row of "Response received → Cause value in
//! the REL", the codes the RFC leaves open, and the class defaults.

use tandem_call::Cause;

/// The RFC's table, row by row.
const RFC3398_8_2_6_1: &[(u16, u8)] = &[
    (400, 41),  // Bad Request → Temporary failure
    (401, 21),  // Unauthorized → Call rejected
    (402, 21),  // Payment required → Call rejected
    (403, 21),  // Forbidden → Call rejected
    (404, 1),   // Not Found → Unallocated number
    (405, 63),  // Method not allowed → Service or option unavailable
    (406, 79),  // Not acceptable → Service/option not implemented
    (407, 21),  // Proxy authentication required → Call rejected
    (408, 102), // Request timeout → Recovery on timer expiry
    (410, 22),  // Gone → Number changed (w/o diagnostic)
    (413, 127), // Request Entity too long → Interworking
    (414, 127), // Request-URI too long → Interworking
    (415, 79),  // Unsupported media type → Service/option not implemented
    (416, 127), // Unsupported URI Scheme → Interworking
    (420, 127), // Bad extension → Interworking
    (421, 127), // Extension Required → Interworking
    (423, 127), // Interval Too Brief → Interworking
    (480, 18),  // Temporarily unavailable → No user responding
    (481, 41),  // Call/Transaction Does not Exist → Temporary Failure
    (482, 25),  // Loop Detected → Exchange routing error
    (483, 25),  // Too many hops → Exchange routing error
    (484, 28),  // Address incomplete → Invalid Number Format
    (485, 1),   // Ambiguous → Unallocated number
    (486, 17),  // Busy here → User busy
    (500, 41),  // Server internal error → Temporary failure
    (501, 79),  // Not implemented → Not implemented, unspecified
    (502, 38),  // Bad gateway → Network out of order
    (503, 41),  // Service unavailable → Temporary failure
    (504, 102), // Server time-out → Recovery on timer expiry
    (505, 127), // Version Not Supported → Interworking
    (513, 127), // Message Too Large → Interworking
    (600, 17),  // Busy everywhere → User busy
    (603, 21),  // Decline → Call rejected
    (604, 1),   // Does not exist anywhere → Unallocated number
];

#[test]
fn every_row_of_the_rfc_table() {
    for &(status, cause) in RFC3398_8_2_6_1 {
        assert_eq!(
            Cause::from_sip_status(status).value(),
            cause,
            "SIP {status} should map to cause {cause}"
        );
    }
}

#[test]
fn request_terminated_is_normal_clearing() {
    // Not in RFC 3398: our own CANCEL, i.e. the PSTN caller abandoned.
    assert_eq!(Cause::from_sip_status(487), Cause::NORMAL_CLEARING);
}

#[test]
fn not_acceptable_without_warning_code() {
    // "By Warning header" in the RFC; the defaults without one.
    assert_eq!(Cause::from_sip_status(488), Cause::INTERWORKING);
    assert_eq!(
        Cause::from_sip_status(606),
        Cause::BEARER_CAPABILITY_NOT_AVAILABLE
    );
}

#[test]
fn unknown_codes_take_their_class_x00() {
    // RFC 3261 §8.1.3.2: an unknown final response is treated as x00.
    for status in [409, 422, 429, 499] {
        assert_eq!(Cause::from_sip_status(status), Cause::from_sip_status(400));
    }
    for status in [506, 555, 580, 599] {
        assert_eq!(Cause::from_sip_status(status), Cause::from_sip_status(500));
    }
    for status in [601, 607, 608, 699] {
        assert_eq!(Cause::from_sip_status(status), Cause::from_sip_status(600));
    }
}

#[test]
fn non_failure_codes_are_interworking_not_a_panic() {
    for status in [0, 100, 180, 200, 302, 399, 700, 999, u16::MAX] {
        assert_eq!(Cause::from_sip_status(status), Cause::INTERWORKING);
    }
}
