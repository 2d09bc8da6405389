//! WHEP (WebRTC-HTTP egress) client.

use gstreamer as gst;

use super::pipeline::Wiring;
use crate::MediaError;

pub(super) fn build(
    _pipeline: &gst::Pipeline,
    _endpoint: &str,
    wiring: &Wiring,
) -> Result<(), MediaError> {
    Err(MediaError::Build {
        what: wiring.what.clone(),
        message: "WHEP inputs are not built yet".into(),
    })
}
