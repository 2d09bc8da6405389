//! WHEP (WebRTC-HTTP egress, RFC 9725): the recorder is the client. It offers to receive one
//! video and one audio track, POSTs the offer to the endpoint, applies the answer, and DELETEs the
//! session (the answer's `Location`) when the pipeline stops.
//!
//! ```text
//! webrtcbin (recvonly: video VP8/H264, audio Opus; max-bundle; ECDSA P-256 DTLS; no UPnP)
//!   ├─ src_N (RTP video) ─► decodebin ─► [video]
//!   └─ src_M (RTP audio) ─► decodebin ─► [audio]
//!
//! on-negotiation-needed ─► (thread) create-offer ─► set-local-description ─► ICE gathering done
//!   ─► POST offer (application/sdp, bearer token) ─► 201 + answer + Location (+ Link ICE servers,
//!   Accept-Patch) ─► [PATCH the first trickled candidates] ─► set-remote-description
//!   ─► [PATCH later candidates, then a=end-of-candidates]
//! DTLS connected ─► the endpoint's certificate checked against the answer's a=fingerprint
//! ```
//!
//! The first offer to an endpoint waits for gathering and carries every candidate; to an
//! endpoint that has answered `Accept-Patch: application/trickle-ice-sdpfrag`, offers go out at
//! once and candidates follow by PATCH (see `trickle.rs`). An ICE restart is a new session.
//! Either DTLS role works (`a=setup:actpass`). A failure at any step (HTTP, a promise webrtcbin
//! rejects, no candidate, ICE, DTLS, a certificate that is not the answer's) is posted as an
//! error on webrtcbin naming the endpoint and the step, so the bus, the single error channel,
//! hands it to the supervisor, which retries with backoff; an input that never delivered fails
//! the job.
//!
//! ICE on hosts whose only address is loopback: libnice leaves loopback interfaces out, so such a
//! host gathers nothing and the attempt fails at once with a message that says so.

mod cert;
pub mod fingerprint;
pub mod http;
mod peer;
pub mod sdpfrag;
mod trickle;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_sdp as gst_sdp;
use gstreamer_webrtc as gst_webrtc;

use super::pipeline::{Wiring, audio_branch, build_err, link_to_branch, make, video_branch};
use super::uri::redact;
use crate::MediaError;
use http::{Endpoint, IceServer};
use peer::PeerCertificate;
use vcs_job::control::error_chain;

/// How long ICE gathering may take.
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);
/// How long the DTLS handshake may take once ICE has connected (it takes milliseconds).
const DTLS_TIMEOUT: Duration = Duration::from_secs(4);

/// The codecs offered, in order of preference.
const VIDEO_CAPS: &str = "application/x-rtp,media=video,encoding-name=VP8,payload=96,\
                          clock-rate=90000; application/x-rtp,media=video,encoding-name=H264,\
                          payload=102,clock-rate=90000,packetization-mode=(string)1,\
                          profile-level-id=(string)42e01f";
const AUDIO_CAPS: &str =
    "application/x-rtp,media=audio,encoding-name=OPUS,payload=111,clock-rate=48000";

/// How a WHEP input retries: at most a second apart, so a participant is back within about a
/// second of the SFU's return (a refused POST costs the endpoint nothing), instead of waiting out
/// a backoff that had grown to 10 s.
pub fn reconnect_policy() -> super::supervisor::Policy {
    super::supervisor::Policy {
        max_backoff: Duration::from_secs(1),
        ..Default::default()
    }
}

/// The WHEP session once the endpoint has answered: its resource URL and the token to DELETE it.
#[derive(Default)]
pub(super) struct SessionState {
    url: Option<String>,
    token: Option<String>,
}

pub(super) type Session = Arc<Mutex<SessionState>>;

/// Gathered ICE candidates: (media line index, candidate line).
type Candidates = Arc<Mutex<Vec<(u32, String)>>>;

/// The ICE servers each endpoint named in its last answer's `Link` headers: the answer comes after
/// gathering, so they serve from the next connection on (reconnects).
fn known_ice_servers() -> &'static Mutex<HashMap<String, Vec<IceServer>>> {
    static SERVERS: OnceLock<Mutex<HashMap<String, Vec<IceServer>>>> = OnceLock::new();
    SERVERS.get_or_init(Mutex::default)
}

/// Adds webrtcbin and its decoders to `pipeline`; negotiation starts when it plays.
pub(super) fn build(
    pipeline: &gst::Pipeline,
    endpoint: &str,
    wiring: &Wiring,
) -> Result<Session, MediaError> {
    let endpoint = Endpoint::parse(endpoint);
    let (pem, _) = cert::ecdsa().map_err(|message| MediaError::Build {
        what: wiring.what.clone(),
        message,
    })?;
    let webrtc = make("webrtcbin", wiring)?;
    webrtc.set_property_from_str("bundle-policy", "max-bundle");
    let peer = Arc::new(PeerCertificate::default());
    use_certificate(&webrtc, pem, &peer);
    configure_ice(&webrtc, &endpoint.url);
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
    let receiving = Arc::new(AtomicBool::new(false));
    decode_tracks(&webrtc, pipeline, wiring, &receiving);
    watch_connection(&webrtc, &endpoint.url, receiving);
    peer::check_when_connected(&webrtc, &endpoint.url, &peer);
    let candidates = collect_candidates(&webrtc);
    let session: Session = Arc::new(Mutex::new(SessionState {
        url: None,
        token: endpoint.token.clone(),
    }));
    negotiate_when_needed(&webrtc, endpoint, &session, candidates, peer, &wiring.what);
    Ok(session)
}

/// Every DTLS transport webrtcbin makes presents the ECDSA certificate: set on `dtlssrtpdec`
/// (what `GstWebRTCDTLSTransport:certificate` sets) as it is created, before the offer reads its
/// fingerprint and before the handshake. The decoder is kept for the peer's certificate check.
fn use_certificate(webrtc: &gst::Element, pem: &'static str, peer: &Arc<PeerCertificate>) {
    let peer = peer.clone();
    webrtc.connect("deep-element-added", false, move |args| {
        if let Ok(element) = args[2].get::<gst::Element>()
            && element.factory().is_some_and(|f| f.name() == "dtlssrtpdec")
        {
            element.set_property("pem", pem);
            peer.keep_decoder(&element);
        }
        None
    });
}

/// No UPnP-IGD lookup (an SSDP multicast and 200 ms per gather, useless for a recorder), and the
/// ICE servers the endpoint named before.
fn configure_ice(webrtc: &gst::Element, endpoint: &str) {
    if let Some(agent) = webrtc
        .property::<Option<glib::Object>>("ice-agent")
        .and_then(|ice| {
            ice.find_property("agent")
                .map(|_| ice.property::<Option<glib::Object>>("agent"))
        })
        .flatten()
        && agent.find_property("upnp").is_some()
    {
        agent.set_property("upnp", false);
    }
    let servers = known_ice_servers()
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(endpoint)
        .cloned()
        .unwrap_or_default();
    for uri in servers.iter().filter_map(IceServer::gst_uri) {
        if uri.starts_with("stun") {
            webrtc.set_property("stun-server", &uri);
        } else {
            webrtc.emit_by_name::<bool>("add-turn-server", &[&uri]);
        }
    }
}

/// Each RTP stream webrtcbin opens goes through its own decodebin into the branch of its kind
/// (the caps say which); a track the answer left out is simply never linked.
fn decode_tracks(
    webrtc: &gst::Element,
    pipeline: &gst::Pipeline,
    wiring: &Wiring,
    receiving: &Arc<AtomicBool>,
) {
    let pipeline = pipeline.downgrade();
    let wiring = wiring.clone();
    let receiving = receiving.clone();
    webrtc.connect_pad_added(move |_, pad| {
        if pad.direction() != gst::PadDirection::Src {
            return;
        }
        receiving.store(true, Ordering::SeqCst);
        let Some(pipeline) = pipeline.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let media = caps
            .structure(0)
            .and_then(|s| s.get::<String>("media").ok())
            .unwrap_or_default();
        tracing::debug!(input = %wiring.what, %caps, "WHEP track");
        let wanted = match media.as_str() {
            "video" => wiring.video,
            "audio" => wiring.audio,
            _ => false,
        };
        if !wanted {
            return;
        }
        let linked = make("decodebin", &wiring).and_then(|dec| {
            dec.connect("deep-element-added", false, |args| {
                if let Ok(element) = args[2].get::<gst::Element>() {
                    super::decoder::tune(&element);
                }
                None
            });
            pipeline.add(&dec).map_err(|e| build_err(&wiring, e))?;
            link_decoded(&dec, &pipeline, &wiring, media == "video");
            dec.sync_state_with_parent()
                .map_err(|e| build_err(&wiring, e))?;
            let sink = dec.static_pad("sink").expect("decodebin has a sink pad");
            pad.link(&sink).map_err(|e| build_err(&wiring, e))?;
            Ok(())
        });
        if let Err(e) = linked {
            let cause = error_chain(&e);
            tracing::error!(input = %wiring.what, %media, %cause, "cannot decode a WHEP track");
        }
    });
}

/// Links one track's decodebin output to a new video or audio branch.
fn link_decoded(dec: &gst::Element, pipeline: &gst::Pipeline, wiring: &Wiring, video: bool) {
    let pipeline = pipeline.downgrade();
    let wiring = wiring.clone();
    dec.connect_pad_added(move |_, pad| {
        let Some(pipeline) = pipeline.upgrade() else {
            return;
        };
        let branch = if video {
            video_branch(&pipeline, &wiring)
        } else {
            audio_branch(&pipeline, &wiring)
        };
        if let Err(e) = branch.and_then(|b| link_to_branch(pad, &b, &wiring)) {
            let cause = error_chain(&e);
            tracing::error!(input = %wiring.what, video, %cause, "cannot link a decoded WHEP track");
        }
    });
}

/// ICE and DTLS failures become errors naming the endpoint and the step, at once (webrtcbin
/// itself only logs them).
fn watch_connection(webrtc: &gst::Element, endpoint: &str, receiving: Arc<AtomicBool>) {
    let endpoint = redact(endpoint);
    // A peer that rejects the handshake may just go quiet: no alert, and GStreamer's DTLS
    // transport waits for ever (as DTLS server it has even completed its side). ICE connected and
    // no DTLS, or no RTP at all, within the limit is that failure.
    let timed = Arc::new(AtomicBool::new(false));
    let url = endpoint.clone();
    webrtc.connect_notify(Some("ice-connection-state"), move |webrtc, _| {
        let ice = webrtc.property::<gst_webrtc::WebRTCICEConnectionState>("ice-connection-state");
        if !matches!(
            ice,
            gst_webrtc::WebRTCICEConnectionState::Connected
                | gst_webrtc::WebRTCICEConnectionState::Completed
        ) || timed.swap(true, Ordering::SeqCst)
        {
            return;
        }
        let (weak, url, receiving) = (webrtc.downgrade(), url.clone(), receiving.clone());
        std::thread::spawn(move || {
            std::thread::sleep(DTLS_TIMEOUT);
            let Some(webrtc) = weak.upgrade() else { return };
            let state = webrtc.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
            let cause = if state != gst_webrtc::WebRTCPeerConnectionState::Connected {
                "the DTLS handshake did not complete"
            } else if !receiving.load(Ordering::SeqCst) {
                "DTLS completed on the recorder's side but no media came"
            } else {
                return;
            };
            gst::element_error!(
                webrtc,
                gst::ResourceError::OpenRead,
                ("WHEP {url}: {cause} within {} s of ICE connecting: the endpoint rejected the recorder's certificate (ECDSA P-256) or accepts none of its cipher suites", DTLS_TIMEOUT.as_secs())
            );
        });
    });
    webrtc.connect_notify(Some("connection-state"), move |webrtc, _| {
        let state = webrtc.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
        if state != gst_webrtc::WebRTCPeerConnectionState::Failed {
            return;
        }
        let ice = webrtc.property::<gst_webrtc::WebRTCICEConnectionState>("ice-connection-state");
        let cause = if ice == gst_webrtc::WebRTCICEConnectionState::Failed {
            "ICE failed: no candidate pair between the recorder and the endpoint works; check \
             that the endpoint's candidates are reachable from here"
        } else {
            "the DTLS handshake failed: the endpoint and the recorder (ECDSA P-256 certificate) \
             found no cipher suite or certificate both accept"
        };
        gst::element_error!(
            webrtc,
            gst::ResourceError::OpenRead,
            ("WHEP {endpoint}: {cause}")
        );
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
    endpoint: Endpoint,
    session: &Session,
    candidates: Candidates,
    peer: Arc<PeerCertificate>,
    what: &str,
) {
    let session = session.clone();
    let what = what.to_string();
    // One offer per pipeline: WHEP has no renegotiation; a new session is a new pipeline.
    let offered = AtomicBool::new(false);
    webrtc.connect("on-negotiation-needed", false, move |args| {
        let Ok(webrtc) = args[0].get::<gst::Element>() else {
            return None;
        };
        if offered.swap(true, Ordering::SeqCst) {
            return None;
        }
        let (endpoint, session, candidates, peer, what) = (
            endpoint.clone(),
            session.clone(),
            candidates.clone(),
            peer.clone(),
            what.clone(),
        );
        // Blocking HTTP must not run on GStreamer's signalling thread.
        std::thread::spawn(move || {
            if let Err(message) = negotiate(&webrtc, &endpoint, &session, &candidates, &peer) {
                tracing::warn!(input = %what, cause = %message, "WHEP negotiation failed");
                gst::element_error!(
                    webrtc,
                    gst::ResourceError::OpenRead,
                    ("WHEP {}: {message}", redact(&endpoint.url))
                );
            }
        });
        None
    });
}

/// Emits `signal` with a promise and waits for its reply: webrtcbin answers a rejected
/// description with an `error` field, which becomes the error here.
fn call(
    webrtc: &gst::Element,
    signal: &str,
    arg: &dyn ToValue,
) -> Result<Option<gst::Structure>, String> {
    let promise = gst::Promise::new();
    webrtc.emit_by_name::<()>(signal, &[arg, &promise]);
    match promise.wait() {
        gst::PromiseResult::Replied => {}
        other => return Err(format!("{signal}: no reply from webrtcbin ({other:?})")),
    }
    let reply = promise.get_reply().map(|r| r.to_owned());
    if let Some(error) = reply
        .as_ref()
        .and_then(|r| r.get::<glib::Error>("error").ok())
    {
        return Err(format!("{signal} failed: {error}"));
    }
    Ok(reply)
}

/// Offer, gather (or trickle), POST, answer. Errors say which step failed.
fn negotiate(
    webrtc: &gst::Element,
    endpoint: &Endpoint,
    session: &Session,
    candidates: &Mutex<Vec<(u32, String)>>,
    peer: &PeerCertificate,
) -> Result<(), String> {
    let (_, fingerprint) = cert::ecdsa()?;
    let offer = call(webrtc, "create-offer", &None::<gst::Structure>)?
        .and_then(|r| r.get::<gst_webrtc::WebRTCSessionDescription>("offer").ok())
        .ok_or("webrtcbin made no offer")?;
    call(webrtc, "set-local-description", &offer)?;
    let gather_deadline = Instant::now() + GATHER_TIMEOUT;
    let trickling = trickle::known(&endpoint.url);
    let gathered = if trickling {
        false
    } else {
        wait_for_gathering(webrtc, candidates)?
    };
    let local = webrtc
        .property::<Option<gst_webrtc::WebRTCSessionDescription>>("local-description")
        .ok_or("no local description")?;
    let sdp = local.sdp().as_text().map_err(|e| e.to_string())?;
    let (sdp, in_offer) = if trickling {
        (sdpfrag::trickle_offer(&sdp), 0)
    } else {
        let gathered_so_far = candidates.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let sdp = complete_offer(&sdp, &gathered_so_far, gathered);
        (sdp, gathered_so_far.len())
    };
    let sdp = with_fingerprint(&sdp, fingerprint);

    let answer = http::post_offer(endpoint, &sdp)?;
    session.lock().unwrap_or_else(|e| e.into_inner()).url = answer.session.clone();
    trickle::remember(&endpoint.url, answer.accepts_trickle);
    peer.expect(fingerprint::in_sdp(&answer.sdp));
    if answer.session.is_none() {
        tracing::warn!(endpoint = %redact(&endpoint.url), "the WHEP answer has no Location: the session cannot be deleted at the end");
    }
    if !answer.ice_servers.is_empty() {
        known_ice_servers()
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(endpoint.url.clone(), answer.ice_servers);
    }
    // Candidates still to come go by PATCH when the endpoint takes them (and the offer did not
    // end them); the first ones before the answer is applied, so the endpoint knows the
    // recorder's addresses before the recorder's checks reach it.
    let mut trickle = match (&answer.session, answer.accepts_trickle && !gathered) {
        (Some(url), true) => Some(trickle::Trickle {
            webrtc,
            endpoint: &endpoint.url,
            session: url.clone(),
            token: endpoint.token.clone(),
            etag: answer.etag.clone(),
            ice: sdpfrag::OfferIce::of(&sdp),
            sent: in_offer,
        }),
        _ => None,
    };
    if let Some(t) = &mut trickle {
        wait_for_first_candidate(webrtc, candidates, gather_deadline);
        if !t.step(candidates, false) {
            trickle = None;
        }
    }
    let sdp = gst_sdp::SDPMessage::parse_buffer(answer.sdp.as_bytes())
        .map_err(|_| "the answer is not SDP".to_string())?;
    let answer = gst_webrtc::WebRTCSessionDescription::new(gst_webrtc::WebRTCSDPType::Answer, sdp);
    call(webrtc, "set-remote-description", &answer)?;
    if let Some(t) = trickle {
        t.run(candidates, gather_deadline);
    }
    if trickling
        && candidates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty()
    {
        return Err(NO_CANDIDATE.into());
    }
    Ok(())
}

/// Waits (until `deadline`) for a first local candidate or the end of gathering.
fn wait_for_first_candidate(
    webrtc: &gst::Element,
    candidates: &Mutex<Vec<(u32, String)>>,
    deadline: Instant,
) {
    while candidates
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
        && !trickle::gathered(webrtc)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(5));
    }
}

const NO_CANDIDATE: &str = "ICE gathered no local candidate: the host has no usable address \
                            (libnice leaves loopback interfaces out); give the recorder a \
                            non-loopback address the endpoint can reach";

/// Waits until webrtcbin has gathered every candidate (true), or [`GATHER_TIMEOUT`] passed (false:
/// what was gathered is sent, the rest may follow by PATCH); none at all is an error at once: an
/// offer without candidates never connects.
fn wait_for_gathering(
    webrtc: &gst::Element,
    candidates: &Mutex<Vec<(u32, String)>>,
) -> Result<bool, String> {
    let deadline = Instant::now() + GATHER_TIMEOUT;
    loop {
        let complete = trickle::gathered(webrtc);
        let gathered = !candidates
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .is_empty();
        if complete || Instant::now() > deadline {
            return if gathered {
                Ok(complete)
            } else {
                Err(NO_CANDIDATE.into())
            };
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The offer as sent: gathered candidates added to the media sections that lack them (webrtcbin's
/// local description may not carry them); when gathering is over (`ended`), every section's
/// candidates ended (`a=end-of-candidates`) and no `a=ice-options:trickle`: nothing more will
/// come. Otherwise the rest may follow by PATCH.
pub fn complete_offer(sdp: &str, candidates: &[(u32, String)], ended: bool) -> String {
    let mut out = String::new();
    let mut mline: Option<u32> = None;
    let mut has_candidates = false;
    let mut has_end = false;
    let flush = |out: &mut String, mline: Option<u32>, has: bool, has_end: bool| {
        if let Some(m) = mline {
            if !has {
                for (_, c) in candidates.iter().filter(|(i, _)| *i == m) {
                    out.push_str(&format!("a={c}\r\n"));
                }
            }
            if ended && !has_end {
                out.push_str("a=end-of-candidates\r\n");
            }
        }
    };
    for line in sdp.lines() {
        if line.starts_with("m=") {
            flush(&mut out, mline, has_candidates, has_end);
            mline = Some(mline.map_or(0, |m| m + 1));
            has_candidates = false;
            has_end = false;
        }
        if ended && line == "a=ice-options:trickle" {
            continue;
        }
        has_candidates |= line.starts_with("a=candidate:");
        has_end |= line.starts_with("a=end-of-candidates");
        out.push_str(line);
        out.push_str("\r\n");
    }
    flush(&mut out, mline, has_candidates, has_end);
    out
}

/// The offer with every `a=fingerprint` naming the certificate the recorder presents: webrtcbin
/// (1.22) writes a fingerprint that is not its certificate's once the certificate is replaced, and
/// a peer that checks it (every peer should) then fails DTLS.
pub fn with_fingerprint(sdp: &str, fingerprint: &str) -> String {
    sdp.lines()
        .map(|line| {
            if line.starts_with("a=fingerprint:") {
                format!("a=fingerprint:sha-256 {fingerprint}\r\n")
            } else {
                format!("{line}\r\n")
            }
        })
        .collect()
}

/// Ends the WHEP session (HTTP DELETE of its resource), best effort: the SFU times it out anyway.
pub(super) fn end_session(session: &Session, what: &str) {
    let state = std::mem::take(&mut *session.lock().unwrap_or_else(|e| e.into_inner()));
    if let Some(url) = state.url {
        http::delete(&url, state.token.as_deref(), what);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offers_carry_every_candidate_and_end_them() {
        let sdp = "v=0\r\na=ice-options:trickle\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:0\r\n\
                   m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:1\r\na=candidate:9 1 UDP 1 1.2.3.4 5 typ host\r\n";
        let gathered = [
            (0, "candidate:1 1 UDP 2 127.0.0.1 4000 typ host".into()),
            (1, "candidate:2 1 UDP 2 127.0.0.1 4001 typ host".into()),
        ];
        let out = complete_offer(sdp, &gathered, true);
        assert!(!out.contains("trickle"), "{out}");
        let video = &out[out.find("m=video").unwrap()..out.find("m=audio").unwrap()];
        assert!(video.contains("a=candidate:1 1 UDP 2 127.0.0.1 4000"));
        assert!(video.contains("a=end-of-candidates"));
        let audio = &out[out.find("m=audio").unwrap()..];
        assert!(!audio.contains("127.0.0.1 4001"), "kept its own: {audio}");
        assert!(audio.contains("a=end-of-candidates"), "{audio}");
        // Gathering not over: the rest may be trickled.
        let open = complete_offer(sdp, &gathered, false);
        assert!(open.contains("a=ice-options:trickle"), "{open}");
        assert!(!open.contains("a=end-of-candidates"), "{open}");
        assert!(open.contains("127.0.0.1 4000"), "{open}");
    }
}
