//! WHEP (WebRTC-HTTP egress): the recorder is the client. It offers to receive one video and one
//! audio track, POSTs the offer to the endpoint, applies the answer, and DELETEs the session
//! (the answer's `Location`) when the pipeline stops.
//!
//! ```text
//! webrtcbin (recvonly: video VP8/H264, audio Opus; max-bundle)
//!   ├─ src_N (RTP video) ─► decodebin ─► [video]
//!   └─ src_M (RTP audio) ─► decodebin ─► [audio]
//!
//! on-negotiation-needed ─► (thread) create-offer ─► set-local-description ─► ICE gathering done
//!   ─► POST offer (application/sdp) ─► 201 + answer + Location ─► set-remote-description
//! ```
//!
//! Candidates are gathered before the POST (no trickle), so one request does the whole exchange.
//! A failure at any step is posted as an error on webrtcbin, so the bus, the single error
//! channel, hands it to the supervisor, which retries with backoff.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_sdp as gst_sdp;
use gstreamer_webrtc as gst_webrtc;

use super::pipeline::{Wiring, build_err, link_decoded_pads, make};
use super::uri::redact;
use crate::MediaError;
use vcs_job::control::error_chain;

/// How long ICE gathering and each HTTP request may take.
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// The codecs offered, in order of preference.
const VIDEO_CAPS: &str = "application/x-rtp,media=video,encoding-name=VP8,payload=96,\
                          clock-rate=90000; application/x-rtp,media=video,encoding-name=H264,\
                          payload=102,clock-rate=90000,packetization-mode=(string)1,\
                          profile-level-id=(string)42e01f";
const AUDIO_CAPS: &str =
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000";

/// The WHEP session's resource URL once the endpoint has answered.
pub(super) type Session = Arc<Mutex<Option<String>>>;

/// Gathered ICE candidates: (media line index, candidate line).
type Candidates = Arc<Mutex<Vec<(u32, String)>>>;

/// Adds webrtcbin and its decoders to `pipeline`; negotiation starts when it plays.
pub(super) fn build(
    pipeline: &gst::Pipeline,
    endpoint: &str,
    wiring: &Wiring,
) -> Result<Session, MediaError> {
    let webrtc = make("webrtcbin", wiring)?;
    webrtc.set_property_from_str("bundle-policy", "max-bundle");
    pipeline.add(&webrtc).map_err(|e| build_err(wiring, e))?;
    for (wanted, caps) in [(wiring.video, VIDEO_CAPS), (wiring.audio, AUDIO_CAPS)] {
        if !wanted {
            continue;
        }
        let caps: gst::Caps = caps.parse().map_err(|e| build_err(wiring, e))?;
        webrtc.emit_by_name::<gst_webrtc::WebRTCRTPTransceiver>(
            "add-transceiver",
            &[&gst_webrtc::WebRTCRTPTransceiverDirection::Recvonly, &caps],
        );
    }
    decode_tracks(&webrtc, pipeline, wiring);
    let candidates = collect_candidates(&webrtc);
    let session: Session = Arc::default();
    negotiate_when_needed(&webrtc, endpoint, &session, candidates, &wiring.what);
    Ok(session)
}

/// Each RTP stream webrtcbin opens goes through its own decodebin into the branches.
fn decode_tracks(webrtc: &gst::Element, pipeline: &gst::Pipeline, wiring: &Wiring) {
    let pipeline = pipeline.downgrade();
    let wiring = wiring.clone();
    webrtc.connect_pad_added(move |_, pad| {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        let Some(pipeline) = pipeline.upgrade() else {
            return;
        };
        let linked = make("decodebin", &wiring).and_then(|dec| {
            pipeline.add(&dec).map_err(|e| build_err(&wiring, e))?;
            link_decoded_pads(&dec, &pipeline, &wiring);
            dec.sync_state_with_parent()
                .map_err(|e| build_err(&wiring, e))?;
            let sink = dec.static_pad("sink").expect("decodebin has a sink pad");
            pad.link(&sink).map_err(|e| build_err(&wiring, e))?;
            Ok(())
        });
        if let Err(e) = linked {
            let cause = error_chain(&e);
            tracing::error!(input = %wiring.what, %cause, "cannot decode a WHEP track");
        }
    });
}

/// Keeps every local ICE candidate webrtcbin gathers, for the offer.
fn collect_candidates(webrtc: &gst::Element) -> Candidates {
    let candidates: Candidates = Arc::default();
    let kept = candidates.clone();
    webrtc.connect("on-ice-candidate", false, move |args| {
        if let (Ok(mline), Ok(candidate)) = (args[1].get::<u32>(), args[2].get::<String>()) {
            kept.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((mline, candidate));
        }
        None
    });
    candidates
}

/// Runs [`negotiate`] on a thread of its own the first time webrtcbin asks; a failure becomes
/// an error on webrtcbin, so the bus hands it to the supervisor.
fn negotiate_when_needed(
    webrtc: &gst::Element,
    endpoint: &str,
    session: &Session,
    candidates: Candidates,
    what: &str,
) {
    let endpoint = endpoint.to_string();
    let session = session.clone();
    let what = what.to_string();
    // One offer per pipeline: WHEP has no renegotiation; a new session is a new pipeline.
    let offered = std::sync::atomic::AtomicBool::new(false);
    webrtc.connect("on-negotiation-needed", false, move |args| {
        let Ok(webrtc) = args[0].get::<gst::Element>() else {
            return None;
        };
        if offered.swap(true, std::sync::atomic::Ordering::SeqCst) {
            return None;
        }
        let (endpoint, session, candidates, what) = (
            endpoint.clone(),
            session.clone(),
            candidates.clone(),
            what.clone(),
        );
        // Blocking HTTP must not run on GStreamer's signalling thread.
        std::thread::spawn(move || {
            if let Err(message) = negotiate(&webrtc, &endpoint, &session, &candidates) {
                tracing::warn!(input = %what, cause = %message, "WHEP negotiation failed");
                gst::element_error!(
                    webrtc,
                    gst::ResourceError::OpenRead,
                    ("WHEP {}: {message}", redact(&endpoint))
                );
            }
        });
        None
    });
}

/// Offer, gather, POST, answer. Errors say which step failed.
fn negotiate(
    webrtc: &gst::Element,
    endpoint: &str,
    session: &Session,
    candidates: &Mutex<Vec<(u32, String)>>,
) -> Result<(), String> {
    let promise = gst::Promise::new();
    webrtc.emit_by_name::<()>("create-offer", &[&None::<gst::Structure>, &promise]);
    promise.wait();
    let offer = promise
        .get_reply()
        .and_then(|r| r.value("offer").ok())
        .and_then(|v| v.get::<gst_webrtc::WebRTCSessionDescription>().ok())
        .ok_or("webrtcbin made no offer")?;
    webrtc.emit_by_name::<()>("set-local-description", &[&offer, &None::<gst::Promise>]);

    let deadline = Instant::now() + GATHER_TIMEOUT;
    while webrtc.property::<gst_webrtc::WebRTCICEGatheringState>("ice-gathering-state")
        != gst_webrtc::WebRTCICEGatheringState::Complete
    {
        if Instant::now() > deadline {
            break; // send what has been gathered; host candidates come first
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let local = webrtc
        .property::<Option<gst_webrtc::WebRTCSessionDescription>>("local-description")
        .ok_or("no local description")?;
    let sdp = local.sdp().as_text().map_err(|e| e.to_string())?;
    let sdp = with_candidates(&sdp, &candidates.lock().unwrap_or_else(|e| e.into_inner()));

    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(HTTP_TIMEOUT))
            .http_status_as_error(false)
            .build(),
    );
    let mut response = agent
        .post(endpoint)
        .header("Content-Type", "application/sdp")
        .send(sdp.as_str())
        .map_err(|e| format!("POST of the offer failed: {e}"))?;
    let status = response.status().as_u16();
    if status != 201 && status != 200 {
        return Err(format!(
            "the endpoint answered HTTP {status} to the offer; check the URL and its token"
        ));
    }
    if let Some(location) = response
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
    {
        *session.lock().unwrap_or_else(|e| e.into_inner()) = Some(resolve(endpoint, location));
    }
    let answer = response
        .body_mut()
        .read_to_string()
        .map_err(|e| format!("reading the answer: {e}"))?;
    let answer = gst_sdp::SDPMessage::parse_buffer(answer.as_bytes())
        .map_err(|_| "the answer is not SDP".to_string())?;
    let answer =
        gst_webrtc::WebRTCSessionDescription::new(gst_webrtc::WebRTCSDPType::Answer, answer);
    webrtc.emit_by_name::<()>("set-remote-description", &[&answer, &None::<gst::Promise>]);
    Ok(())
}

/// Adds gathered candidates to the SDP's media sections that lack them (webrtcbin's local
/// description may not carry them), and ends each section's candidates.
pub fn with_candidates(sdp: &str, candidates: &[(u32, String)]) -> String {
    let mut out = String::new();
    let mut mline: Option<u32> = None;
    let mut has_candidates = false;
    let flush = |out: &mut String, mline: Option<u32>, has: bool| {
        if let Some(m) = mline
            && !has
        {
            for (_, c) in candidates.iter().filter(|(i, _)| *i == m) {
                out.push_str(&format!("a={c}\r\n"));
            }
            out.push_str("a=end-of-candidates\r\n");
        }
    };
    for line in sdp.lines() {
        if line.starts_with("m=") {
            flush(&mut out, mline, has_candidates);
            mline = Some(mline.map_or(0, |m| m + 1));
            has_candidates = false;
        }
        if line.starts_with("a=candidate:") {
            has_candidates = true;
        }
        if line.starts_with("a=end-of-candidates") {
            has_candidates = true;
        }
        out.push_str(line);
        out.push_str("\r\n");
    }
    flush(&mut out, mline, has_candidates);
    out
}

/// The session URL from the answer's `Location`, which may be relative to the endpoint.
fn resolve(endpoint: &str, location: &str) -> String {
    url::Url::parse(endpoint)
        .and_then(|base| base.join(location))
        .map(String::from)
        // The endpoint was parsed when the input started; keep the location as given otherwise.
        .unwrap_or_else(|_| location.to_string())
}

/// Ends the WHEP session (HTTP DELETE of its resource), best effort: the SFU times it out anyway.
pub(super) fn end_session(session: &Session, what: &str) {
    let Some(url) = session.lock().unwrap_or_else(|e| e.into_inner()).take() else {
        return;
    };
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(2)))
            .build(),
    );
    if let Err(e) = agent.delete(&url).call() {
        tracing::warn!(input = %what, session = %redact(&url), cause = %e, "WHEP session not deleted");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_locations_resolve_against_the_endpoint() {
        let ep = "https://sfu.example:8443/whep/room1?token=x";
        for (loc, want) in [
            ("/sessions/42", "https://sfu.example:8443/sessions/42"),
            ("sessions/42", "https://sfu.example:8443/whep/sessions/42"),
            ("https://other/s/1", "https://other/s/1"),
        ] {
            assert_eq!(resolve(ep, loc), want);
        }
    }

    #[test]
    fn candidates_are_added_to_sections_without_them() {
        let sdp = "v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=candidate:9 1 UDP 1 1.2.3.4 5 typ host\r\n";
        let out = with_candidates(
            sdp,
            &[
                (0, "candidate:1 1 UDP 2 127.0.0.1 4000 typ host".into()),
                (1, "candidate:2 1 UDP 2 127.0.0.1 4001 typ host".into()),
            ],
        );
        let video = &out[out.find("m=video").unwrap()..out.find("m=audio").unwrap()];
        assert!(video.contains("a=candidate:1 1 UDP 2 127.0.0.1 4000"));
        assert!(video.contains("a=end-of-candidates"));
        let audio = &out[out.find("m=audio").unwrap()..];
        assert!(!audio.contains("127.0.0.1 4001"), "kept its own: {audio}");
    }
}
