//! Small helpers every pipeline builder uses: launch descriptions with context in errors, element
//! lookup, and the bus as the single error channel.

use gstreamer as gst;
use gstreamer::prelude::*;

use crate::MediaError;

/// Builds a pipeline from a launch description, naming `what` in errors.
pub(crate) fn launch(desc: &str, what: &str) -> Result<gst::Pipeline, MediaError> {
    let element = gst::parse::launch(desc).map_err(|source| MediaError::Launch {
        what: what.to_string(),
        source,
    })?;
    element
        .downcast::<gst::Pipeline>()
        .map_err(|_| MediaError::Build {
            what: what.to_string(),
            message: "description is not a pipeline".into(),
        })
}

pub(crate) fn by_name(pipeline: &gst::Pipeline, name: &str) -> Result<gst::Element, MediaError> {
    pipeline.by_name(name).ok_or_else(|| MediaError::Build {
        what: name.to_string(),
        message: "element missing from pipeline".into(),
    })
}

/// Sets `pipeline` playing; a refusal names `what` and says what the bus said.
pub(crate) fn play(pipeline: &gst::Pipeline, what: &str) -> Result<(), MediaError> {
    pipeline
        .set_state(gst::State::Playing)
        .map(|_| ())
        .map_err(|source| MediaError::StateChange {
            what: what.to_string(),
            detail: bus_error(pipeline),
            source,
        })
}

/// The first error waiting on the pipeline's bus, with the element path and debug string.
pub(crate) fn bus_error(pipeline: &gst::Pipeline) -> Option<String> {
    let bus = pipeline.bus()?;
    while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
        if let gst::MessageView::Error(e) = msg.view() {
            return Some(format_error(e));
        }
    }
    None
}

pub(crate) fn format_error(e: &gst::message::Error) -> String {
    let path = e
        .src()
        .map(|s| s.path_string().to_string())
        .unwrap_or_else(|| "?".into());
    match e.debug() {
        Some(debug) => format!("{path}: {} ({debug})", e.error()),
        None => format!("{path}: {}", e.error()),
    }
}
