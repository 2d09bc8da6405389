//! Composition in YUV: decoded video stays I420 from the decoder to the encoder.
//!
//! Video layers are scaled per plane ([`scale`]: 2×2 means, then two-tap bilinear, its column
//! pass with AVX2 where the CPU has it), cropped, zoomed, rounded and blended straight into the output's I420 frame
//! ([`YuvCompositor`]); a layer's scaled planes are kept ([`tile`]) so a frame that did not
//! change since the last tick (a 15 or 24 fps input in a 30 fps output) is not scaled again, and
//! a layer hidden under an opaque one is not drawn. The graphics strata stay RGBA (tiny-skia
//! draws them) and are converted to premultiplied YUV only when they were rasterised again
//! ([`overlay`]), then blended only over the spans they cover.
//!
//! The reason is cost: converting every decoded frame to RGBA at full size, scaling and composing
//! in RGBA and converting back for the encoder cost more than the decoding (issue 20).
//!
//! Chroma is 4:2:0: chroma sample (i, j) stands for luma pixels 2i..2i+2 × 2j..2j+2. A layer
//! edge at an odd luma position half-covers the chroma samples along it, which are blended at
//! the average coverage of their luma pixels, so colour does not bleed past a layer's edge nor
//! leave a fringe of the colour beneath.

mod bilinear;
mod bilinear_avx2;
mod compositor;
pub mod overlay;
pub mod scale;
mod space;
#[cfg(test)]
mod tests;
pub mod tile;

pub use compositor::{VideoLayerRef, YuvCompositor};
pub use space::{Matrix, YuvSpace, YuvTransform};

/// Where the three planes of an I420 frame lie in its buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct I420Layout {
    pub width: u32,
    pub height: u32,
    /// Byte offsets of the Y, U and V planes.
    pub offsets: [usize; 3],
    /// Bytes per row of each plane.
    pub strides: [usize; 3],
}

impl I420Layout {
    /// GStreamer's default layout for I420 of this size (`gst_video_info_set_format`): rows
    /// rounded up to 4 bytes, planes back to back, chroma planes of the rounded-up half size.
    pub fn gstreamer(width: u32, height: u32) -> Self {
        let round4 = |v: usize| v.div_ceil(4) * 4;
        let (w, h2) = (width as usize, (height as usize).div_ceil(2) * 2);
        let y_stride = round4(w);
        let c_stride = round4(w.div_ceil(2) * 2 / 2);
        let u = y_stride * h2;
        let v = u + c_stride * (h2 / 2);
        Self {
            width,
            height,
            offsets: [0, u, v],
            strides: [y_stride, c_stride, c_stride],
        }
    }

    /// Chroma plane size: half the luma size, rounded up.
    pub fn chroma_size(&self) -> (u32, u32) {
        (self.width.div_ceil(2), self.height.div_ceil(2))
    }

    /// Size and stride of plane `i`.
    fn plane_size(&self, i: usize) -> (u32, u32) {
        if i == 0 {
            (self.width, self.height)
        } else {
            self.chroma_size()
        }
    }

    /// Bytes a buffer needs to hold every plane.
    pub fn frame_len(&self) -> usize {
        (0..3)
            .map(|i| self.offsets[i] + self.strides[i] * self.plane_size(i).1 as usize)
            .max()
            .unwrap_or(0)
    }

    /// Planes in Y, U, V order with ascending offsets, each stride holding its row: what this
    /// module can read and write.
    pub fn is_valid(&self) -> bool {
        self.width > 0
            && self.height > 0
            && self.offsets[0] <= self.offsets[1]
            && self.offsets[1] <= self.offsets[2]
            && (0..3).all(|i| self.strides[i] >= self.plane_size(i).0 as usize)
            && (0..2).all(|i| {
                self.offsets[i] + self.strides[i] * self.plane_size(i).1 as usize
                    <= self.offsets[i + 1]
            })
    }

    /// The three planes of `data` (which must be [`frame_len`](Self::frame_len) bytes or more).
    pub fn planes<'a>(&self, data: &'a [u8]) -> [&'a [u8]; 3] {
        [0, 1, 2].map(|i| {
            let rows = self.plane_size(i).1 as usize;
            &data[self.offsets[i]..self.offsets[i] + self.strides[i] * rows]
        })
    }

    /// The three planes of `data`, writable.
    pub fn planes_mut<'a>(&self, data: &'a mut [u8]) -> [&'a mut [u8]; 3] {
        let (y, rest) = data.split_at_mut(self.offsets[1]);
        let (u, v) = rest.split_at_mut(self.offsets[2] - self.offsets[1]);
        let rows = |i: usize| self.strides[i] * self.plane_size(i).1 as usize;
        let y = &mut y[self.offsets[0]..self.offsets[0] + rows(0)];
        let u = &mut u[..rows(1)];
        let v = &mut v[..rows(2)];
        [y, u, v]
    }
}

/// A decoded I420 frame to draw.
#[derive(Clone, Copy)]
pub struct I420Ref<'a> {
    pub layout: I420Layout,
    pub space: YuvSpace,
    pub data: &'a [u8],
}

impl I420Ref<'_> {
    /// The frame can be read as its layout says.
    pub fn is_valid(&self) -> bool {
        self.layout.is_valid() && self.data.len() >= self.layout.frame_len()
    }

    /// The pixel at (`x`, `y`) as RGB (tests, diagnostics).
    pub fn rgb(&self, x: u32, y: u32) -> [u8; 3] {
        let [py, pu, pv] = self.layout.planes(self.data);
        let s = self.layout.strides;
        let (x, y) = (x as usize, y as usize);
        let (cx, cy) = (x / 2, y / 2);
        self.space
            .yuv_to_rgb(py[y * s[0] + x], pu[cy * s[1] + cx], pv[cy * s[2] + cx])
    }
}

/// Converts an I420 frame to tightly packed RGBA (alpha 255), for what shows a composed frame as
/// a picture (the live preview, stills, tests).
pub fn i420_to_rgba(frame: &I420Ref<'_>) -> Vec<u8> {
    let (w, h) = (frame.layout.width as usize, frame.layout.height as usize);
    let mut out = Vec::with_capacity(w * h * 4);
    for y in 0..h {
        for x in 0..w {
            let [r, g, b] = frame.rgb(x as u32, y as u32);
            out.extend_from_slice(&[r, g, b, 255]);
        }
    }
    out
}
