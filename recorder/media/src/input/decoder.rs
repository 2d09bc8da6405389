//! Settings for the video decoders uridecodebin and decodebin pick: libav's (`avdec_h264`, ...)
//! decode on one thread up to 1080p.
//!
//! libav's default is frame threading over every core: each thread keeps its own frames in
//! flight, and every frame comes out a frame later per extra thread. A recording decodes several
//! inputs at once, each already on its own thread, and one 1080p H.264 stream decodes in a small
//! part of one core, so for a recorder frame threading only costs: measured on four 720p inputs
//! on 2 cores, one thread each decoded with 9 % less CPU and 9 MB less memory per input, and
//! nothing arrives later. A bigger picture keeps libav's default (a 4K input may need the cores).

use gstreamer as gst;
use gstreamer::prelude::*;

/// The largest picture decoded on one thread: 1080p (H.264 codes 1080 lines as 1088).
const ONE_THREAD_MAX_PIXELS: i64 = 1920 * 1088;

/// libav's `max-threads` for a picture of `width`×`height`: 1, or 0 (libav's choice) above
/// 1080p.
pub fn max_threads(width: i32, height: i32) -> i32 {
    if (width as i64) * (height as i64) <= ONE_THREAD_MAX_PIXELS {
        1
    } else {
        0
    }
}

/// For an element a decodebin added (its `deep-element-added`): a libav video decoder gets its
/// thread count from the picture size when its input caps arrive, before it opens the codec
/// (libav reads `max-threads` then). Other elements are left alone.
pub fn tune(element: &gst::Element) {
    // Only libav's video decoders have `max-threads`.
    if element.find_property("max-threads").is_none() {
        return;
    }
    let Some(sink) = element.static_pad("sink") else {
        return;
    };
    let decoder = element.downgrade();
    sink.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
        if let Some(gst::PadProbeData::Event(event)) = &info.data
            && let gst::EventView::Caps(caps) = event.view()
            && let Some(s) = caps.caps().structure(0)
            && let (Ok(w), Ok(h)) = (s.get::<i32>("width"), s.get::<i32>("height"))
            && let Some(decoder) = decoder.upgrade()
        {
            decoder.set_property("max-threads", max_threads(w, h));
        }
        gst::PadProbeReturn::Ok
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_thread_up_to_1080p_and_libav_s_choice_above() {
        assert_eq!(max_threads(1280, 720), 1);
        assert_eq!(max_threads(1920, 1080), 1);
        assert_eq!(max_threads(1920, 1088), 1);
        assert_eq!(max_threads(1080, 1920), 1);
        assert_eq!(max_threads(3840, 2160), 0);
    }

    /// A real H.264 stream through `avdec_h264`: the decoder is set to one thread by the time
    /// it has decoded, and decodes.
    #[test]
    fn avdec_h264_decodes_on_the_thread_count_its_caps_ask_for() {
        crate::init().expect("GStreamer");
        let pipeline = gst::parse::launch(
            "videotestsrc num-buffers=3 ! video/x-raw,width=320,height=240 ! x264enc \
             ! h264parse ! avdec_h264 name=dec ! fakesink",
        )
        .expect("x264enc and avdec_h264 (scripts/install-deps installs them)")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let dec = pipeline.by_name("dec").expect("the decoder");
        assert_eq!(dec.property::<i32>("max-threads"), 0, "libav's default");
        tune(&dec);
        pipeline.set_state(gst::State::Playing).expect("plays");
        let bus = pipeline.bus().expect("a bus");
        let msg = bus
            .timed_pop_filtered(
                gst::ClockTime::from_seconds(60),
                &[gst::MessageType::Eos, gst::MessageType::Error],
            )
            .expect("EOS or an error within 60 s");
        pipeline.set_state(gst::State::Null).expect("stops");
        assert!(matches!(msg.view(), gst::MessageView::Eos(_)), "{msg:?}");
        assert_eq!(dec.property::<i32>("max-threads"), 1);
    }
}
