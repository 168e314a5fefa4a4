//! The REST API of `tandem run` (`/api/...` on `http.listen`).
//!
//! The HTTP server's threads do not touch call state: each API request is
//! handed to the control thread as an [`ApiCall`] over a bounded channel,
//! answered there by [`handle`] against the live services (the number
//! plans, the ACD, the KPI engine), and the response handed back. A
//! control thread that does not answer within [`REPLY_TIMEOUT`] gets the
//! client a 503, never a hung connection.

use std::time::{Duration, Instant};

use crossbeam_channel::{Sender, bounded};

use crate::http::{Request, Response, Router};
use crate::run::Services;

/// How long an HTTP thread waits for the control thread's answer.
pub(crate) const REPLY_TIMEOUT: Duration = Duration::from_secs(5);

/// One API request on its way to the control thread, with where to send
/// the answer.
pub(crate) struct ApiCall {
    /// The request as the HTTP server parsed it.
    pub(crate) request: Request,
    /// Where the response goes (the HTTP thread waits on it).
    pub(crate) reply: Sender<Response>,
}

/// Adds the `/api/` routes to `router`, forwarding to the control thread.
pub(crate) fn routes(mut router: Router, to_control: Sender<ApiCall>) -> Router {
    for method in ["GET", "POST", "PUT", "PATCH", "DELETE"] {
        let tx = to_control.clone();
        router = router.route(method, "/api/", move |request: &Request| {
            let (reply, answer) = bounded(1);
            let call = ApiCall {
                request: request.clone(),
                reply,
            };
            if tx.send_timeout(call, REPLY_TIMEOUT).is_err() {
                return unavailable();
            }
            answer
                .recv_timeout(REPLY_TIMEOUT)
                .unwrap_or_else(|_| unavailable())
        });
    }
    router
}

fn unavailable() -> Response {
    Response::json(
        503,
        "{\"error\":\"the control thread did not answer in time\"}\n",
    )
}

/// Answers one API request on the control thread. `services` is `None`
/// when the configuration has no call center.
pub(crate) fn handle(services: Option<&mut Services>, now: Instant, request: &Request) -> Response {
    let _ = (services, now);
    Response::json(
        404,
        format!(
            "{{\"error\":\"no such resource: {} {}\"}}\n",
            request.method,
            request.path.replace('"', "")
        ),
    )
}
