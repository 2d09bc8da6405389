//! A graphics stratum (premultiplied RGBA, as tiny-skia draws it) as premultiplied YUV 4:2:0 with
//! its alpha, converted once per rasterisation and blended over a frame where it covers.
//!
//! RGB → YUV is affine, so source-over carries across: for a premultiplied colour `c` of alpha
//! `a`, `yuv(c + (1 - a) × beneath) = yuv_p(c) + (1 - a) × yuv(beneath)` with `yuv_p` the
//! conversion whose offsets (16, 128) are scaled by `a`. Chroma takes the mean of its four luma
//! pixels' premultiplied colours and alphas, which is the same blend averaged over the block.

use super::{I420Layout, YuvSpace};

/// A premultiplied YUV overlay of one output size.
#[derive(Clone, Debug, Default)]
pub struct Overlay {
    width: u32,
    /// Premultiplied Y and alpha per luma pixel, `width` per row.
    y: Vec<u8>,
    alpha: Vec<u8>,
    /// Premultiplied U, V and the mean alpha per chroma sample, `(width + 1) / 2` per row.
    u: Vec<u8>,
    v: Vec<u8>,
    chroma_alpha: Vec<u8>,
    /// Per luma row, the columns `[x0, x1)` with any alpha; per chroma row likewise.
    spans: Vec<(u32, u32)>,
    chroma_spans: Vec<(u32, u32)>,
}

impl Overlay {
    /// Converts `premul` (`width`×`height` RGBA, premultiplied, tightly packed) into `space`.
    /// Only the spans with coverage are converted: graphics are mostly transparent.
    pub fn from_premultiplied(premul: &[u8], width: u32, height: u32, space: YuvSpace) -> Self {
        let (w, h) = (width as usize, height as usize);
        let (cw, ch) = (w.div_ceil(2), h.div_ceil(2));
        let mut o = Overlay {
            width,
            y: vec![0; w * h],
            alpha: vec![0; w * h],
            u: vec![0; cw * ch],
            v: vec![0; cw * ch],
            chroma_alpha: vec![0; cw * ch],
            spans: Vec::with_capacity(h),
            chroma_spans: Vec::with_capacity(ch),
        };
        if premul.len() < w * h * 4 {
            return o;
        }
        for row in premul.chunks_exact(w * 4).take(h) {
            o.spans.push(covered_span(row));
        }
        for (py, &(x0, x1)) in o.spans.iter().enumerate() {
            for px in x0 as usize..x1 as usize {
                let p = &premul[(py * w + px) * 4..][..4];
                let [yy, _, _] =
                    space.rgb_to_yuv_premultiplied([p[0], p[1], p[2]].map(f32::from), p[3] as f32);
                o.y[py * w + px] = yy.round().clamp(0.0, 255.0) as u8;
                o.alpha[py * w + px] = p[3];
            }
        }
        for cy in 0..ch {
            let rows = [2 * cy, (2 * cy + 1).min(h - 1)];
            let span = union(o.spans[rows[0]], o.spans[rows[1]]);
            let span = if span.0 < span.1 {
                (span.0 / 2, span.1.div_ceil(2))
            } else {
                (0, 0)
            };
            o.chroma_spans.push(span);
            for cx in span.0 as usize..span.1 as usize {
                // The block's mean premultiplied colour and alpha; a block cut by the frame's
                // odd right or bottom edge repeats its last column or row.
                let (mut sum, mut a) = ([0f32; 3], 0f32);
                for py in rows {
                    for px in [2 * cx, (2 * cx + 1).min(w - 1)] {
                        let p = &premul[(py * w + px) * 4..][..4];
                        for c in 0..3 {
                            sum[c] += p[c] as f32 / 4.0;
                        }
                        a += p[3] as f32 / 4.0;
                    }
                }
                let [_, u, v] = space.rgb_to_yuv_premultiplied(sum, a);
                let i = cy * cw + cx;
                o.u[i] = u.round().clamp(0.0, 255.0) as u8;
                o.v[i] = v.round().clamp(0.0, 255.0) as u8;
                o.chroma_alpha[i] = a.round() as u8;
            }
        }
        o
    }

    /// Source-over of this overlay onto `frame` (laid out as `layout`, of the overlay's size).
    pub fn blend_onto(&self, frame: &mut [u8], layout: &I420Layout) {
        if layout.width != self.width || self.spans.len() != layout.height as usize {
            return;
        }
        let [py, pu, pv] = layout.planes_mut(frame);
        let w = self.width as usize;
        let cw = w.div_ceil(2);
        for (row, &(x0, x1)) in self.spans.iter().enumerate() {
            let (x0, x1) = (x0 as usize, x1 as usize);
            let dst = &mut py[row * layout.strides[0]..][x0..x1];
            let range = row * w + x0..row * w + x1;
            over(dst, &self.y[range.clone()], &self.alpha[range]);
        }
        for (row, &(x0, x1)) in self.chroma_spans.iter().enumerate() {
            let (x0, x1) = (x0 as usize, x1 as usize);
            let range = row * cw + x0..row * cw + x1;
            let a = &self.chroma_alpha[range.clone()];
            over(
                &mut pu[row * layout.strides[1]..][x0..x1],
                &self.u[range.clone()],
                a,
            );
            over(
                &mut pv[row * layout.strides[2]..][x0..x1],
                &self.v[range],
                a,
            );
        }
    }

    /// Whether nothing is covered.
    pub fn is_empty(&self) -> bool {
        self.spans.iter().all(|&(a, b)| a >= b)
    }
}

/// `dst = src + (255 - a) × dst / 255`, per sample. One arithmetic form for every alpha (no
/// branch per sample), which vectorises: it is exact at the ends too, since a premultiplied
/// sample is 0 where its alpha is 0 and `div255(255 × d) = d`.
fn over(dst: &mut [u8], src: &[u8], alpha: &[u8]) {
    for ((d, &s), &a) in dst.iter_mut().zip(src).zip(alpha) {
        *d = (s as u32 + div255(*d as u32 * (255 - a as u32))).min(255) as u8;
    }
}

fn div255(v: u32) -> u32 {
    (v + 128 + ((v + 128) >> 8)) >> 8
}

/// The columns `[first, last + 1)` of a premultiplied RGBA row with any alpha; `(0, 0)` if none.
fn covered_span(row: &[u8]) -> (u32, u32) {
    let covered = |px: &[u8]| px[3] != 0;
    match row.chunks_exact(4).position(covered) {
        None => (0, 0),
        Some(first) => {
            let last = row.chunks_exact(4).rposition(covered).unwrap_or(first);
            (first as u32, last as u32 + 1)
        }
    }
}

fn union(a: (u32, u32), b: (u32, u32)) -> (u32, u32) {
    match (a.0 < a.1, b.0 < b.1) {
        (false, false) => (0, 0),
        (true, false) => a,
        (false, true) => b,
        (true, true) => (a.0.min(b.0), a.1.max(b.1)),
    }
}
