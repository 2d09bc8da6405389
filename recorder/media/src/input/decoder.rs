//! Settings for the video decoders uridecodebin and decodebin pick: libav's (`avdec_h264`, ...)
//! decode on one thread up to 1080p.
//!
//! libav's default is frame threading over every core: each thread keeps its own frames in
//! flight, and every frame comes out a frame later per extra thread. A recording decodes several
//! inputs at once, each already on its own thread, and one 1080p H.264 stream decodes in a small
//! part of one core, so for a recorder frame threading only costs: measured on four 720p inputs
//! on 2 cores, one thread each decoded with 9 % less CPU and 9 MB less memory per input, and
//! nothing arrives later. A bigger picture keeps libav's default (a 4K input may need the cores).
//!
//! The appsink that takes decoded frames says it reads `GstVideoMeta` (planes at any offset and
//! stride: [`super::VideoFrame`] takes its layout from the meta), so libav decodes straight into
//! the buffers the recorder reads ("direct rendering"). Without it libav's padded planes do not
//! fit GStreamer's default layout and `avdec_h264` copied every decoded frame into one that did
//! (`GST_DEBUG=libav:6` logs "get output buffer" once per copied frame: 152 in the first second
//! of a 4-up recording before, none after). The saving is small next to decoding (a 720p frame
//! is 1.4 MB to copy), part of what the real-input bench measured (issue 20).

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_video as gst_video;

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

/// Makes `sink` (the pad of the element that reads decoded frames) answer the allocation query
/// with `GstVideoMeta` support, so decoders upstream may hand over their own padded buffers
/// rather than copy them. GStreamer 1.22's appsink proposes nothing itself.
pub fn accept_video_meta(sink: &gst::Pad) {
    sink.add_probe(gst::PadProbeType::QUERY_DOWNSTREAM, |_, info| {
        if let Some(gst::PadProbeData::Query(query)) = &mut info.data
            && let gst::QueryViewMut::Allocation(q) = query.view_mut()
        {
            q.add_allocation_meta::<gst_video::VideoMeta>(None);
            // Answered: the decoder keeps its own pool, now with the meta.
            return gst::PadProbeReturn::Handled;
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

    /// The first frame `avdec_h264` hands an appsink, with or without [`accept_video_meta`].
    fn first_decoded_buffer(accept_meta: bool) -> gst::Buffer {
        crate::init().expect("GStreamer");
        let pipeline = gst::parse::launch(
            "videotestsrc num-buffers=2 ! video/x-raw,width=320,height=240 ! x264enc \
             ! h264parse ! avdec_h264 ! appsink name=sink",
        )
        .expect("x264enc and avdec_h264 (scripts/install-deps installs them)")
        .downcast::<gst::Pipeline>()
        .expect("a pipeline");
        let sink = pipeline
            .by_name("sink")
            .and_then(|s| s.downcast::<gstreamer_app::AppSink>().ok())
            .expect("the appsink");
        if accept_meta {
            accept_video_meta(&sink.static_pad("sink").expect("a sink pad"));
        }
        pipeline.set_state(gst::State::Playing).expect("plays");
        let sample = sink
            .try_pull_sample(gst::ClockTime::from_seconds(60))
            .expect("a decoded frame within 60 s");
        pipeline.set_state(gst::State::Null).expect("stops");
        sample.buffer_owned().expect("a buffer")
    }

    /// Told that the reader takes `GstVideoMeta`, libav hands over its own (padded) buffers,
    /// which carry the meta; without it, it copies each frame into GStreamer's default layout
    /// (no meta): the copy this saves.
    #[test]
    fn decoded_frames_come_without_a_copy_when_the_sink_reads_video_meta() {
        let direct = first_decoded_buffer(true);
        let meta = direct
            .meta::<gst_video::VideoMeta>()
            .expect("libav's buffer, with its layout in a VideoMeta");
        assert!(
            meta.stride()[0] >= 320 && meta.offset()[1] >= 320 * 240,
            "{:?} {:?}",
            meta.stride(),
            meta.offset()
        );
        let copied = first_decoded_buffer(false);
        assert!(
            copied.meta::<gst_video::VideoMeta>().is_none(),
            "without the probe avdec_h264 copies into the default layout"
        );
    }
}
