//! Trickle ICE over WHEP (RFC 9725 §4.3): local candidates gathered after the offer go to the
//! session resource by `PATCH` (`application/trickle-ice-sdpfrag`), ended by
//! `a=end-of-candidates`; candidates in the response are the endpoint's, added to webrtcbin.
//!
//! Whether an endpoint takes them is only known from its answer (`Accept-Patch`), so the first
//! offer to an endpoint waits for gathering and carries every candidate; once an endpoint has
//! said it takes trickled candidates, offers to it (reconnects) go out at once and the candidates
//! follow. An endpoint that refuses a PATCH (405, 415, 501) or fails one ends the trickling,
//! never the session: the connection relies on what the offer had (and on the endpoint learning
//! the recorder's address from its checks), and the next offer carries every candidate again.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_webrtc as gst_webrtc;

use super::super::uri::redact;
use super::http::{self, Patched};
use super::sdpfrag::OfferIce;

/// Endpoints whose last answer took trickled candidates.
fn trickling() -> &'static Mutex<HashSet<String>> {
    static ENDPOINTS: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    ENDPOINTS.get_or_init(Mutex::default)
}

/// Whether offers to `endpoint` may go out before gathering (it took trickled candidates).
pub fn known(endpoint: &str) -> bool {
    trickling()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .contains(endpoint)
}

/// Records whether `endpoint` takes trickled candidates, from its last answer or PATCH.
pub fn remember(endpoint: &str, accepts: bool) {
    let mut set = trickling().lock().unwrap_or_else(|e| e.into_inner());
    if accepts {
        set.insert(endpoint.to_string());
    } else {
        set.remove(endpoint);
    }
}

/// Whether webrtcbin has gathered every local candidate.
pub fn gathered(webrtc: &gst::Element) -> bool {
    webrtc.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
        == gst_webrtc::WebRTCICEGatheringState::Complete
}

/// One session's trickling: the candidates sent so far, where to send the rest.
pub struct Trickle<'a> {
    pub webrtc: &'a gst::Element,
    pub endpoint: &'a str,
    /// The session resource (the answer's `Location`).
    pub session: String,
    pub token: Option<String>,
    pub etag: Option<String>,
    pub ice: OfferIce,
    /// How many of the gathered candidates the endpoint has (in the offer or PATCHed).
    pub sent: usize,
}

impl Trickle<'_> {
    /// PATCHes the candidates gathered since the last call, ended when gathering is over (or
    /// `end`); false once there is nothing more to send (ended, refused or failed).
    pub fn step(&mut self, candidates: &Mutex<Vec<(u32, String)>>, end: bool) -> bool {
        let end = end || gathered(self.webrtc);
        let new: Vec<(u32, String)> =
            candidates.lock().unwrap_or_else(|e| e.into_inner())[self.sent..].to_vec();
        if new.is_empty() && !end {
            return true;
        }
        let fragment = self.ice.fragment(&new, end);
        let patched = http::patch(
            &self.session,
            self.token.as_deref(),
            self.etag.as_deref(),
            "application/trickle-ice-sdpfrag",
            &fragment,
        );
        let endpoint = redact(self.endpoint);
        match patched {
            Ok(Patched::Accepted(body)) => {
                self.sent += new.len();
                for (mline, candidate) in self.ice.remote_candidates(&body) {
                    self.webrtc
                        .emit_by_name::<()>("add-ice-candidate", &[&mline, &candidate]);
                }
                tracing::debug!(%endpoint, candidates = new.len(), end, "WHEP candidates trickled");
                !end
            }
            Ok(Patched::Unsupported(status)) => {
                tracing::info!(%endpoint, status, "the WHEP endpoint takes no trickled candidates: the next offer carries them all");
                remember(self.endpoint, false);
                false
            }
            Err(cause) => {
                tracing::warn!(%endpoint, %cause, "trickling WHEP candidates failed: the next offer carries them all");
                remember(self.endpoint, false);
                false
            }
        }
    }

    /// Sends candidates as they are gathered until gathering completes, or ends them at
    /// `deadline` with what there is.
    pub fn run(mut self, candidates: &Mutex<Vec<(u32, String)>>, deadline: Instant) {
        while self.step(candidates, Instant::now() >= deadline) {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}
