//! YUV colour spaces: which matrix and range a frame's numbers are in, and the affine maps between
//! them and RGB. All maps here are linear plus an offset, which is what lets graphics be blended
//! in YUV exactly as in RGB (see `overlay.rs`).

/// The YCbCr matrix of a frame (ITU-R BT.601, BT.709 or BT.2020 non-constant luminance).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Matrix {
    Bt601,
    Bt709,
    Bt2020,
}

impl Matrix {
    /// (Kr, Kb) of the standard.
    fn kr_kb(self) -> (f32, f32) {
        match self {
            Matrix::Bt601 => (0.299, 0.114),
            Matrix::Bt709 => (0.2126, 0.0722),
            Matrix::Bt2020 => (0.2627, 0.0593),
        }
    }
}

/// A frame's matrix and range: limited ("TV", Y 16..=235, chroma 16..=240) or full (0..=255).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct YuvSpace {
    pub matrix: Matrix,
    pub full_range: bool,
}

impl YuvSpace {
    /// What the recorder encodes (GStreamer's default for I420 at that size, signalled in the
    /// stream): BT.709 from 720 lines up, BT.601 below, limited range.
    pub fn for_output(height: u32) -> Self {
        Self {
            matrix: if height >= 720 {
                Matrix::Bt709
            } else {
                Matrix::Bt601
            },
            full_range: false,
        }
    }

    /// (luma scale, luma offset, chroma scale) from normalised Y' (0..1) / Pb, Pr (±0.5) to code
    /// values.
    fn scales(self) -> (f32, f32, f32) {
        if self.full_range {
            (255.0, 0.0, 255.0)
        } else {
            (219.0, 16.0, 224.0)
        }
    }

    /// RGB (0..=255 each, possibly premultiplied by `alpha`/255) to Y, U, V code values of a
    /// colour premultiplied the same way: the offsets (16, 128) are scaled by `alpha` too, so the
    /// result composes over a frame as `out = value + (1 - alpha) × beneath`.
    pub fn rgb_to_yuv_premultiplied(self, rgb: [f32; 3], alpha: f32) -> [f32; 3] {
        let (kr, kb) = self.matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (ys, yo, cs) = self.scales();
        let [r, g, b] = rgb.map(|c| c / 255.0);
        let a = alpha / 255.0;
        let y = kr * r + kg * g + kb * b;
        let pb = (b - y) / (2.0 * (1.0 - kb));
        let pr = (r - y) / (2.0 * (1.0 - kr));
        [y * ys + yo * a, pb * cs + 128.0 * a, pr * cs + 128.0 * a]
    }

    /// Y, U, V code values to RGB 0..=255 (rounded, clamped).
    pub fn yuv_to_rgb(self, y: u8, u: u8, v: u8) -> [u8; 3] {
        let [r, g, b] = self.to_rgb_unit([y as f32, u as f32, v as f32]);
        [r, g, b].map(|c| (c * 255.0).round().clamp(0.0, 255.0) as u8)
    }

    /// Y, U, V code values to normalised R, G, B (nominally 0..1, unclamped).
    fn to_rgb_unit(self, [y, u, v]: [f32; 3]) -> [f32; 3] {
        let (kr, kb) = self.matrix.kr_kb();
        let kg = 1.0 - kr - kb;
        let (ys, yo, cs) = self.scales();
        let y = (y - yo) / ys;
        let pb = (u - 128.0) / cs;
        let pr = (v - 128.0) / cs;
        let r = y + 2.0 * (1.0 - kr) * pr;
        let b = y + 2.0 * (1.0 - kb) * pb;
        let g = (y - kr * r - kb * b) / kg;
        [r, g, b]
    }

    /// The map from this space's code values to `to`'s, or `None` when they are the same space.
    pub fn transform_to(self, to: YuvSpace) -> Option<YuvTransform> {
        if self == to {
            return None;
        }
        // Affine, so three basis columns and the image of (0, 0, 0) define it exactly.
        let map = |yuv: [f32; 3]| {
            let [r, g, b] = self.to_rgb_unit(yuv);
            to.rgb_to_yuv_premultiplied([r * 255.0, g * 255.0, b * 255.0], 255.0)
        };
        let origin = map([0.0; 3]);
        let mut m = [[0i32; 3]; 3];
        for col in 0..3 {
            let mut basis = [0.0; 3];
            basis[col] = 1.0;
            let image = map(basis);
            for (row, m_row) in m.iter_mut().enumerate() {
                m_row[col] = ((image[row] - origin[row]) * FIXED_ONE as f32).round() as i32;
            }
        }
        let offset = origin.map(|o| (o * FIXED_ONE as f32).round() as i32 + FIXED_ONE / 2);
        Some(YuvTransform { m, offset })
    }
}

const FIXED_BITS: u32 = 14;
const FIXED_ONE: i32 = 1 << FIXED_BITS;

/// An affine map between two YUV spaces in 2.14 fixed point, applied to code values.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct YuvTransform {
    m: [[i32; 3]; 3],
    /// Includes the rounding half.
    offset: [i32; 3],
}

impl YuvTransform {
    /// The row-th output component of (y, u, v), clamped to 0..=255.
    #[inline]
    pub fn component(&self, row: usize, y: u8, u: u8, v: u8) -> u8 {
        let m = self.m[row];
        let sum = m[0] * y as i32 + m[1] * u as i32 + m[2] * v as i32 + self.offset[row];
        (sum >> FIXED_BITS).clamp(0, 255) as u8
    }
}
