//! Q.850 §2.2.5 cause values (range, names, classes) and §2.2.3 locations.

use tandem_call::{Cause, CauseClass, CauseLocation, InvalidCause};

#[test]
fn values_outside_1_to_127_are_refused() {
    assert_eq!(Cause::new(0), None);
    assert_eq!(Cause::new(128), None);
    assert_eq!(Cause::new(255), None);
    assert_eq!(Cause::try_from(200u8), Err(InvalidCause(200)));
    assert_eq!(Cause::try_from(16u8), Ok(Cause::NORMAL_CLEARING));
    assert_eq!(u8::from(Cause::INTERWORKING), 127);
}

#[test]
fn named_constants_have_q850_values() {
    let expected: &[(Cause, u8)] = &[
        (Cause::UNALLOCATED_NUMBER, 1),
        (Cause::NO_ROUTE_DESTINATION, 3),
        (Cause::NORMAL_CLEARING, 16),
        (Cause::USER_BUSY, 17),
        (Cause::NO_USER_RESPONSE, 18),
        (Cause::NO_ANSWER, 19),
        (Cause::CALL_REJECTED, 21),
        (Cause::NUMBER_CHANGED, 22),
        (Cause::DESTINATION_OUT_OF_ORDER, 27),
        (Cause::INVALID_NUMBER_FORMAT, 28),
        (Cause::NORMAL_UNSPECIFIED, 31),
        (Cause::NO_CIRCUIT_AVAILABLE, 34),
        (Cause::NETWORK_OUT_OF_ORDER, 38),
        (Cause::TEMPORARY_FAILURE, 41),
        (Cause::SWITCHING_EQUIPMENT_CONGESTION, 42),
        (Cause::REQUESTED_CHANNEL_NOT_AVAILABLE, 44),
        (Cause::RESOURCE_UNAVAILABLE, 47),
        (Cause::INCOMING_CALLS_BARRED_WITHIN_CUG, 55),
        (Cause::BEARER_CAPABILITY_NOT_AUTHORIZED, 57),
        (Cause::BEARER_CAPABILITY_NOT_AVAILABLE, 58),
        (Cause::SERVICE_NOT_AVAILABLE, 63),
        (Cause::BEARER_CAPABILITY_NOT_IMPLEMENTED, 65),
        (Cause::SERVICE_NOT_IMPLEMENTED, 79),
        (Cause::USER_NOT_MEMBER_OF_CUG, 87),
        (Cause::INCOMPATIBLE_DESTINATION, 88),
        (Cause::RECOVERY_ON_TIMER_EXPIRY, 102),
        (Cause::PROTOCOL_ERROR, 111),
        (Cause::INTERWORKING, 127),
    ];
    for &(c, v) in expected {
        assert_eq!(c.value(), v);
        assert!(c.is_defined(), "{v} has a Q.850 name");
    }
}

#[test]
fn display_uses_q850_names() {
    assert_eq!(
        Cause::NORMAL_CLEARING.to_string(),
        "16 (normal call clearing)"
    );
    assert_eq!(
        Cause::SWITCHING_EQUIPMENT_CONGESTION.to_string(),
        "42 (switching equipment congestion)"
    );
    assert_eq!(
        Cause::RECOVERY_ON_TIMER_EXPIRY.to_string(),
        "102 (recovery on timer expiry)"
    );
    assert_eq!(
        Cause::new(35).unwrap().to_string(),
        "35 (unassigned, resource unavailable class)"
    );
    for v in 1..=127 {
        assert!(!Cause::new(v).unwrap().to_string().is_empty());
    }
}

#[test]
fn classes_and_unknown_values() {
    assert_eq!(Cause::USER_BUSY.class(), CauseClass::NormalEvent);
    assert_eq!(
        Cause::NO_CIRCUIT_AVAILABLE.class(),
        CauseClass::ResourceUnavailable
    );
    assert_eq!(
        Cause::SERVICE_NOT_AVAILABLE.class(),
        CauseClass::ServiceNotAvailable
    );
    assert_eq!(
        Cause::SERVICE_NOT_IMPLEMENTED.class(),
        CauseClass::ServiceNotImplemented
    );
    assert_eq!(
        Cause::USER_NOT_MEMBER_OF_CUG.class(),
        CauseClass::InvalidMessage
    );
    assert_eq!(Cause::PROTOCOL_ERROR.class(), CauseClass::ProtocolError);
    assert_eq!(Cause::INTERWORKING.class(), CauseClass::Interworking);
    assert_eq!(
        Cause::new(35).unwrap().normalized(),
        Cause::RESOURCE_UNAVAILABLE
    );
    assert_eq!(Cause::USER_BUSY.normalized(), Cause::USER_BUSY);
}

#[test]
fn location_codes_round_trip() {
    for code in 0..16u8 {
        match CauseLocation::from_code(code) {
            Some(l) => assert_eq!(l.code(), code),
            None => assert!(matches!(code, 6 | 8 | 9 | 11..=15)),
        }
    }
    assert_eq!(CauseLocation::BeyondInterworking.to_string(), "BI");
}
