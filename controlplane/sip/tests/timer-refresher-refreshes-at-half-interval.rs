//! RFC 4028 §10 on a fake clock: the refresher refreshes at half the
//! interval and is re-armed by each successful refresh; the other side
//! sends BYE at interval − min(32 s, interval/3) when no refresh comes.

use std::time::{Duration, Instant};

use rsip::SipMessage;
use tandem_sip::dialog::Role;
use tandem_sip::message;
use tandem_sip::session_timer::{
    Negotiated, Refresher, SessionTimer, TimerConfig, TimerOutput, UacNegotiation,
};

/// The fake clock's origin: only offsets from it matter.
#[allow(clippy::disallowed_methods)]
fn epoch() -> Instant {
    Instant::now()
}

fn s(secs: u64) -> Duration {
    Duration::from_secs(secs)
}

/// Runs the timer to its next deadline and returns (when, what).
fn next(timer: &mut SessionTimer, start: Instant) -> Option<(Duration, TimerOutput)> {
    let at = timer.poll_timeout()?;
    timer.handle_timeout(at);
    let out = timer.poll_output()?;
    Some((at - start, out))
}

#[test]
fn refresher_refreshes_every_half_interval_while_refreshes_succeed() {
    let start = epoch();
    // The UAC negotiated 1800 s with refresher=uac from the callee's 2xx.
    let ok = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP a;branch=z9hG4bK1\r\n\
              From: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\n\
              Require: timer\r\nx: 1800;refresher=uac\r\nContent-Length: 0\r\n\r\n";
    let SipMessage::Response(ok) = message::parse(ok.as_bytes()).unwrap() else {
        unreachable!()
    };
    let negotiated = UacNegotiation::new(&TimerConfig::default(), None)
        .handle_2xx(&ok)
        .unwrap()
        .unwrap();
    assert_eq!(
        negotiated,
        Negotiated {
            interval: 1800,
            refresher: Refresher::Uac
        }
    );

    let mut timer = SessionTimer::new(start, negotiated, Role::Uac);
    assert!(timer.is_refresher());
    let mut refreshed_at = Duration::ZERO;
    for _ in 0..3 {
        let (when, what) = next(&mut timer, start).unwrap();
        assert_eq!(what, TimerOutput::Refresh);
        assert_eq!(when, refreshed_at + s(900));
        // The re-INVITE's 2xx comes back 2 s later and re-arms the clock.
        refreshed_at = when + s(2);
        timer.handle_refreshed(start + refreshed_at, negotiated, Role::Uac);
    }
    // Now the refresh fails: nothing re-arms, and the session expires at
    // 1800 − 32 s after the last successful refresh.
    let (when, what) = next(&mut timer, start).unwrap();
    assert_eq!((when, what), (refreshed_at + s(900), TimerOutput::Refresh));
    let (when, what) = next(&mut timer, start).unwrap();
    assert_eq!((when, what), (refreshed_at + s(1768), TimerOutput::Expired));
    assert_eq!(timer.poll_timeout(), None);
}

#[test]
fn non_refresher_sends_bye_when_no_refresh_arrives() {
    let start = epoch();
    // We answered (UAS) with refresher=uac: the caller refreshes, not us.
    let negotiated = Negotiated {
        interval: 90,
        refresher: Refresher::Uac,
    };
    let mut timer = SessionTimer::new(start, negotiated, Role::Uas);
    assert!(!timer.is_refresher());
    // A refresh arrives at 50 s and re-arms the clock.
    timer.handle_timeout(start + s(50));
    assert_eq!(timer.poll_output(), None);
    timer.handle_refreshed(start + s(50), negotiated, Role::Uas);
    // 90 − min(32, 30) = 60 s after it.
    assert_eq!(
        next(&mut timer, start),
        Some((s(110), TimerOutput::Expired))
    );
}

#[test]
fn a_refresh_can_swap_the_refresher() {
    let start = epoch();
    let mut timer = SessionTimer::new(
        start,
        Negotiated {
            interval: 600,
            refresher: Refresher::Uas,
        },
        Role::Uac,
    );
    assert!(!timer.is_refresher());
    // The callee re-INVITEs (it is the UAC of that transaction) and the
    // answer makes us, its UAS, the refresher.
    timer.handle_refreshed(
        start + s(100),
        Negotiated {
            interval: 600,
            refresher: Refresher::Uas,
        },
        Role::Uas,
    );
    assert!(timer.is_refresher());
    assert_eq!(
        next(&mut timer, start),
        Some((s(400), TimerOutput::Refresh))
    );
}
