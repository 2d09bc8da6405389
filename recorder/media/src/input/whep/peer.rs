//! The endpoint's DTLS certificate checked against its answer (see `fingerprint.rs` for why):
//! the DTLS decoders webrtcbin makes are kept as they are added, the answer's fingerprints when
//! it comes, and once the connection is up the certificate the endpoint presented is compared.

use std::sync::Mutex;

use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_webrtc as gst_webrtc;

use super::super::uri::redact;
use super::fingerprint::{self, Fingerprint};

/// What the endpoint's DTLS certificate is checked against: the DTLS decoders (one per transport;
/// bundled, one carries the session) and the fingerprints the answer named.
#[derive(Default)]
pub struct PeerCertificate {
    decoders: Mutex<Vec<glib::WeakRef<gst::Element>>>,
    expected: Mutex<Vec<Fingerprint>>,
}

impl PeerCertificate {
    /// Keeps a `dtlssrtpdec` webrtcbin made.
    pub fn keep_decoder(&self, dtlssrtpdec: &gst::Element) {
        self.decoders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(dtlssrtpdec.downgrade());
    }

    /// The fingerprints the answer named.
    pub fn expect(&self, fingerprints: Vec<Fingerprint>) {
        *self.expected.lock().unwrap_or_else(|e| e.into_inner()) = fingerprints;
    }

    /// The certificate the endpoint presented (PEM), from the decoder that completed DTLS.
    fn presented(&self) -> String {
        self.decoders
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter_map(|weak| weak.upgrade())
            .filter_map(|dtls| dtls.property::<Option<String>>("peer-pem"))
            .find(|pem| !pem.is_empty())
            .unwrap_or_default()
    }
}

/// Once connected, the certificate the endpoint presented must be the one its answer named
/// (webrtcbin does not check); otherwise an error naming the endpoint ends the attempt.
pub fn check_when_connected(
    webrtc: &gst::Element,
    endpoint: &str,
    peer: &std::sync::Arc<PeerCertificate>,
) {
    let (endpoint, peer) = (redact(endpoint), peer.clone());
    webrtc.connect_notify(Some("connection-state"), move |webrtc, _| {
        let state = webrtc.property::<gst_webrtc::WebRTCPeerConnectionState>("connection-state");
        if state != gst_webrtc::WebRTCPeerConnectionState::Connected {
            return;
        }
        let expected = peer
            .expected
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if let Err(cause) = fingerprint::check(&expected, &peer.presented()) {
            gst::element_error!(
                webrtc,
                gst::ResourceError::OpenRead,
                ("WHEP {endpoint}: {cause}")
            );
        }
    });
}
