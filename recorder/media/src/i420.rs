//! The composed RGBA frame to the I420 the encoder takes, in one SIMD pass (yuvutils-rs) on the
//! thread that pushes it: GStreamer's `videoconvert` takes its generic unpack, matrix and chroma
//! path for RGBA → I420 and cost a recording as much as a sixth of x264 itself.
//!
//! The colorimetry is GStreamer's default for I420 at the frame size (BT.709 from 720p up,
//! BT.601 below, limited range), set on the caps so x264 signals the same in the stream.

use gstreamer_video as gst_video;
use yuvutils_rs::{
    BufferStoreMut, YuvConversionMode, YuvPlanarImageMut, YuvRange, YuvStandardMatrix,
    rgba_to_yuv420,
};

/// Converts `width`×`height` RGBA frames (tightly packed) to I420 as `info` describes it.
pub struct I420 {
    pub info: gst_video::VideoInfo,
    matrix: YuvStandardMatrix,
    range: YuvRange,
}

impl I420 {
    /// Even `width` and `height`.
    pub fn new(width: u32, height: u32) -> Result<Self, String> {
        let info = gst_video::VideoInfo::builder(gst_video::VideoFormat::I420, width, height)
            .build()
            .map_err(|e| format!("I420 {width}x{height}: {e}"))?;
        let c = info.colorimetry();
        let matrix = match c.matrix() {
            gst_video::VideoColorMatrix::Bt709 => YuvStandardMatrix::Bt709,
            gst_video::VideoColorMatrix::Bt601 => YuvStandardMatrix::Bt601,
            other => return Err(format!("unexpected default colour matrix {other:?}")),
        };
        let range = match c.range() {
            gst_video::VideoColorRange::Range0_255 => YuvRange::Full,
            _ => YuvRange::Limited,
        };
        Ok(Self {
            info,
            matrix,
            range,
        })
    }

    /// Bytes of one I420 frame: the planes back to back at GStreamer's offsets and strides.
    pub fn frame_len(&self) -> usize {
        self.info.size()
    }

    /// Writes `rgba` as I420 into `out` ([`frame_len`](Self::frame_len) bytes).
    pub fn convert(&self, rgba: &[u8], out: &mut [u8]) -> Result<(), String> {
        let (w, h) = (self.info.width(), self.info.height());
        let offsets = self.info.offset();
        let strides = self.info.stride();
        let (y, rest) = out.split_at_mut(offsets[1]);
        let (u, v) = rest.split_at_mut(offsets[2] - offsets[1]);
        let mut planes = YuvPlanarImageMut {
            y_plane: BufferStoreMut::Borrowed(y),
            y_stride: strides[0] as u32,
            u_plane: BufferStoreMut::Borrowed(u),
            u_stride: strides[1] as u32,
            v_plane: BufferStoreMut::Borrowed(v),
            v_stride: strides[2] as u32,
            width: w,
            height: h,
        };
        rgba_to_yuv420(
            &mut planes,
            rgba,
            w * 4,
            self.range,
            self.matrix,
            YuvConversionMode::Balanced,
        )
        .map_err(|e| format!("RGBA → I420: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rgba(w: u32, h: u32, rgb: [u8; 3]) -> Vec<u8> {
        (0..w * h)
            .flat_map(|_| [rgb[0], rgb[1], rgb[2], 255])
            .collect()
    }

    #[test]
    fn colours_land_where_the_standard_puts_them() {
        crate::init().unwrap();
        // 720p and up: BT.709 limited. White is Y 235; pure red is Y 63, Cr 240.
        let c = I420::new(1280, 720).unwrap();
        let mut out = vec![0; c.frame_len()];
        c.convert(&rgba(1280, 720, [255, 255, 255]), &mut out)
            .unwrap();
        assert!((234..=236).contains(&out[0]), "white Y {}", out[0]);
        c.convert(&rgba(1280, 720, [255, 0, 0]), &mut out).unwrap();
        let (y, v) = (out[0], out[c.info.offset()[2]]);
        assert!((62..=64).contains(&y), "red Y {y}");
        assert!((239..=241).contains(&v), "red Cr {v}");
        // Below 720p: BT.601, where pure red is Y 81.
        let c = I420::new(640, 360).unwrap();
        let mut out = vec![0; c.frame_len()];
        c.convert(&rgba(640, 360, [255, 0, 0]), &mut out).unwrap();
        assert!((80..=82).contains(&out[0]), "BT.601 red Y {}", out[0]);
    }
}
