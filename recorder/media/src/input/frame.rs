//! A decoded video frame as the decoder left it: I420 (other YUV layouts are turned into I420 by
//! `videoconvert`, a copy at most; nothing is converted to RGB), with the colour matrix and range
//! it was coded in, so the compositor can scale it in YUV and convert only a frame of another
//! matrix or range.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use gstreamer as gst;
use gstreamer_video as gst_video;

/// The YCbCr matrix a frame was coded with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum YuvMatrix {
    Bt601,
    Bt709,
    Bt2020,
}

/// One decoded I420 frame. Cloning is cheap (the pixels are shared).
#[derive(Clone)]
pub struct VideoFrame {
    pub width: u32,
    pub height: u32,
    /// Byte offsets of the Y, U and V planes in `data`.
    pub offsets: [usize; 3],
    /// Bytes per row of each plane (chroma planes are `(width + 1) / 2` × `(height + 1) / 2`).
    pub strides: [usize; 3],
    pub matrix: YuvMatrix,
    /// Full range (0..=255) rather than limited (Y 16..=235).
    pub full_range: bool,
    /// Unique per decoded frame in this process: equal ids are the same picture, so what was made
    /// from it can be kept.
    pub id: u64,
    /// Position on the input's timeline (0 when the input started).
    pub pts: Duration,
    pub data: Arc<gst::buffer::MappedBuffer<gst::buffer::Readable>>,
}

static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// A fresh frame id.
pub(super) fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

impl VideoFrame {
    /// A decoded sample as a frame: its layout from the buffer's video meta (or the caps'
    /// default), its matrix and range from the caps. Errors when it is not I420 or too short.
    pub(super) fn from_sample(
        sample: &gst::Sample,
        pts: Duration,
        buffer: gst::Buffer,
    ) -> Result<VideoFrame, String> {
        let caps = sample.caps().ok_or("frame without caps")?;
        let info = gst_video::VideoInfo::from_caps(caps).map_err(|e| e.to_string())?;
        if info.format() != gst_video::VideoFormat::I420 {
            return Err(format!("frame in {:?}, not I420", info.format()));
        }
        let (offsets, strides) = match buffer.meta::<gst_video::VideoMeta>() {
            Some(m) => (m.offset().to_vec(), m.stride().to_vec()),
            None => (info.offset().to_vec(), info.stride().to_vec()),
        };
        let as_array = |v: &[usize]| -> Result<[usize; 3], String> {
            v.get(..3)
                .and_then(|s| s.try_into().ok())
                .ok_or_else(|| "frame without three planes".to_owned())
        };
        let offsets = as_array(&offsets)?;
        let strides = as_array(
            &strides
                .iter()
                .map(|&s| usize::try_from(s).unwrap_or(0))
                .collect::<Vec<_>>(),
        )?;
        let colorimetry = info.colorimetry();
        let matrix = match colorimetry.matrix() {
            gst_video::VideoColorMatrix::Bt709 | gst_video::VideoColorMatrix::Smpte240m => {
                YuvMatrix::Bt709
            }
            gst_video::VideoColorMatrix::Bt2020 => YuvMatrix::Bt2020,
            gst_video::VideoColorMatrix::Bt601 | gst_video::VideoColorMatrix::Fcc => {
                YuvMatrix::Bt601
            }
            // Unknown: GStreamer's own default for the size.
            _ if info.height() >= 720 => YuvMatrix::Bt709,
            _ => YuvMatrix::Bt601,
        };
        let full_range = colorimetry.range() == gst_video::VideoColorRange::Range0_255;
        let data = buffer
            .into_mapped_buffer_readable()
            .map_err(|_| "cannot map frame")?;
        let frame = VideoFrame {
            width: info.width(),
            height: info.height(),
            offsets,
            strides,
            matrix,
            full_range,
            id: next_id(),
            pts,
            data: Arc::new(data),
        };
        if data_len(&frame) > frame.data.len() {
            return Err(format!(
                "frame of {} bytes is smaller than its {}x{} planes",
                frame.data.len(),
                frame.width,
                frame.height
            ));
        }
        Ok(frame)
    }

    /// A frame of one colour (placeholders, tests), BT.601 limited range.
    pub fn solid(width: u32, height: u32, rgba: [u8; 4], pts: Duration) -> VideoFrame {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let [y, u, v] = rgb_to_limited_601([rgba[0], rgba[1], rgba[2]]);
        let mut bytes = vec![y; w * h];
        bytes.extend(std::iter::repeat_n(u, cw * ch));
        bytes.extend(std::iter::repeat_n(v, cw * ch));
        let data = gst::Buffer::from_mut_slice(bytes)
            .into_mapped_buffer_readable()
            .expect("a fresh buffer maps");
        VideoFrame {
            width,
            height,
            offsets: [0, w * h, w * h + cw * ch],
            strides: [w, cw, cw],
            matrix: YuvMatrix::Bt601,
            full_range: false,
            id: next_id(),
            pts,
            data: Arc::new(data),
        }
    }

    /// The pixel at (`x`, `y`), which must be inside the frame, as RGBA (alpha 255).
    pub fn pixel(&self, x: u32, y: u32) -> [u8; 4] {
        let (x, y) = (x as usize, y as usize);
        let sample = |plane: usize, px: usize, py: usize| {
            self.data[self.offsets[plane] + py * self.strides[plane] + px] as f32
        };
        let (yy, u, v) = (
            sample(0, x, y),
            sample(1, x / 2, y / 2),
            sample(2, x / 2, y / 2),
        );
        // The inverse of the frame's matrix (vcs-render's YuvSpace does the same for composing;
        // this is for reading a pixel in tests and diagnostics only).
        let (kr, kb) = match self.matrix {
            YuvMatrix::Bt601 => (0.299, 0.114),
            YuvMatrix::Bt709 => (0.2126, 0.0722),
            YuvMatrix::Bt2020 => (0.2627, 0.0593),
        };
        let (ys, yo, cs) = if self.full_range {
            (255.0, 0.0, 255.0)
        } else {
            (219.0, 16.0, 224.0)
        };
        let (luma, pb, pr) = ((yy - yo) / ys, (u - 128.0) / cs, (v - 128.0) / cs);
        let r = luma + 2.0 * (1.0 - kr) * pr;
        let b = luma + 2.0 * (1.0 - kb) * pb;
        let g = (luma - kr * r - kb * b) / (1.0 - kr - kb);
        let c = |v: f32| (v * 255.0).round().clamp(0.0, 255.0) as u8;
        [c(r), c(g), c(b), 255]
    }
}

/// Bytes the frame's planes reach.
fn data_len(f: &VideoFrame) -> usize {
    let ch = f.height.div_ceil(2) as usize;
    let rows = [f.height as usize, ch, ch];
    (0..3)
        .map(|i| f.offsets[i] + f.strides[i] * rows[i])
        .max()
        .unwrap_or(0)
}

fn rgb_to_limited_601([r, g, b]: [u8; 3]) -> [u8; 3] {
    let [r, g, b] = [r, g, b].map(|c| c as f32 / 255.0);
    let y = 0.299 * r + 0.587 * g + 0.114 * b;
    let pb = (b - y) / 1.772;
    let pr = (r - y) / 1.402;
    [16.0 + 219.0 * y, 128.0 + 224.0 * pb, 128.0 + 224.0 * pr].map(|v| v.round() as u8)
}

impl std::fmt::Debug for VideoFrame {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VideoFrame")
            .field("width", &self.width)
            .field("height", &self.height)
            .field("id", &self.id)
            .field("pts", &self.pts)
            .finish_non_exhaustive()
    }
}
