//! Two-tap (bilinear) resampling of one plane, for what is left after halving: a crop at most
//! twice the output's size, or smaller (zoom, a small source in a big tile).
//!
//! Each output sample is the linear interpolation of the two source samples around its centre
//! (`fast_image_resize`'s bilinear "interpolation", which this replaces here): rows first, into
//! a row of 16-bit sums that keeps the fraction, then columns, rounded once. Written for cost:
//! the weights are made once per call into buffers kept between calls (the library built one
//! small vector per output sample on every call: thousands of allocations a frame), and the row
//! pass runs over whole rows of fixed weights, which the compiler vectorises.

use super::scale::{Crop, Plane};

/// Fixed-point weights: 1.0 is `ONE`.
const ONE: u32 = 256;

/// For each output sample of one dimension: the two source samples and the weight of the second.
#[derive(Default)]
struct Taps {
    first: Vec<u32>,
    second: Vec<u32>,
    weight: Vec<u32>,
}

impl Taps {
    /// Taps for `out` samples over `[start, start + len)` of `size` source samples: output
    /// sample `i` is centred at `start + (i + 0.5) × len / out`; past the first or last source
    /// sample's centre it takes that sample.
    fn make(&mut self, start: f64, len: f64, out: u32, size: u32) {
        let step = len / out as f64;
        let last = size.saturating_sub(1) as f64;
        self.first.clear();
        self.second.clear();
        self.weight.clear();
        for i in 0..out {
            let at = (start + (i as f64 + 0.5) * step - 0.5).clamp(0.0, last);
            let first = at.floor();
            let weight = ((at - first) * ONE as f64).round() as u32;
            let first = first as u32;
            self.first.push(first);
            self.second.push((first + 1).min(size - 1));
            self.weight.push(weight);
        }
    }
}

/// Resamples planes with two taps a dimension, keeping its buffers between calls.
#[derive(Default)]
pub struct Bilinear {
    columns: Taps,
    rows: Taps,
    /// Two output rows after the row pass: 16-bit sums, `ONE` times the samples.
    row: [Vec<u16>; 2],
}

impl Bilinear {
    /// Scales `crop` of `src` into `out` (`w`×`h`, tightly packed). Returns `false` when `src` is
    /// shorter than it says or `out` too small.
    pub fn scale(&mut self, src: Plane<'_>, crop: Crop, out: &mut [u8], w: u32, h: u32) -> bool {
        if w == 0
            || h == 0
            || src.width == 0
            || src.rows == 0
            || out.len() < w as usize * h as usize
        {
            return false;
        }
        let (width, stride) = (src.width as usize, src.stride);
        if stride < width || src.data.len() < stride * (src.rows as usize - 1) + width {
            return false;
        }
        self.columns.make(crop.left, crop.width, w, src.width);
        self.rows.make(crop.top, crop.height, h, src.rows);
        // Only the source columns the taps read go through the row pass.
        let lo = self.columns.first.first().copied().unwrap_or(0) as usize;
        let hi = self.columns.second.last().map_or(lo, |&c| c as usize + 1);
        let row = |r: u32| &src.data[r as usize * stride..][lo..hi];
        let (w, h) = (w as usize, h as usize);
        // Output rows two at a time: the column pass reads each tap once for both.
        let [upper, lower] = &mut self.row;
        upper.resize(hi - lo, 0);
        lower.resize(hi - lo, 0);
        for (k, pair) in out[..w * h].chunks_mut(2 * w).enumerate() {
            let y = 2 * k;
            let rows = &self.rows;
            mix_rows(
                row(rows.first[y]),
                row(rows.second[y]),
                rows.weight[y],
                upper,
            );
            let (top, bottom) = pair.split_at_mut(w);
            if bottom.is_empty() {
                mix_columns(&self.columns, lo, [upper, upper], [top, &mut []]);
            } else {
                let y = y + 1;
                mix_rows(
                    row(rows.first[y]),
                    row(rows.second[y]),
                    rows.weight[y],
                    lower,
                );
                mix_columns(&self.columns, lo, [upper, lower], [top, bottom]);
            }
        }
        true
    }
}

/// The column pass of two output rows from their row sums (`sums[i]` holds source column
/// `lo + i`); a second output row that is empty is left alone.
fn mix_columns(taps: &Taps, lo: usize, sums: [&[u16]; 2], out: [&mut [u8]; 2]) {
    let [a, b] = sums;
    let [top, bottom] = out;
    let sample = |row: &[u16], i: u32, j: u32, f: u32| {
        let (p, q) = (row[i as usize - lo] as u32, row[j as usize - lo] as u32);
        ((p * (ONE - f) + q * f + ONE * ONE / 2) / (ONE * ONE)) as u8
    };
    let taps = taps.first.iter().zip(&taps.second).zip(&taps.weight);
    if bottom.is_empty() {
        for (d, ((&i, &j), &f)) in top.iter_mut().zip(taps) {
            *d = sample(a, i, j, f);
        }
        return;
    }
    for ((d, e), ((&i, &j), &f)) in top.iter_mut().zip(bottom.iter_mut()).zip(taps) {
        *d = sample(a, i, j, f);
        *e = sample(b, i, j, f);
    }
}

/// `out = a × (ONE - f) + b × f` per sample, unrounded.
fn mix_rows(a: &[u8], b: &[u8], f: u32, out: &mut [u16]) {
    let (wa, wb) = ((ONE - f) as u16, f as u16);
    for ((o, &p), &q) in out.iter_mut().zip(a).zip(b) {
        *o = p as u16 * wa + q as u16 * wb;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yuv::scale::tests::{plane, whole};

    #[test]
    fn the_same_size_is_a_copy() {
        let src: Vec<u8> = (0..35).map(|i| (i * 37 % 256) as u8).collect();
        let mut out = vec![0; 35];
        assert!(Bilinear::default().scale(plane(&src, 7, 5), whole(7, 5), &mut out, 7, 5));
        assert_eq!(out, src);
    }

    #[test]
    fn a_sample_between_two_is_their_weighted_mean() {
        // 4 → 3 samples: centres at 0.1667, 1.5, 2.8333 of the source.
        let src = [0u8, 60, 120, 240];
        let mut out = [0u8; 3];
        assert!(Bilinear::default().scale(plane(&src, 4, 1), whole(4, 1), &mut out, 3, 1));
        assert_eq!(out, [10, 90, 220]);
    }

    #[test]
    fn rows_are_weighted_like_columns() {
        #[rustfmt::skip]
        let src = [
            0u8, 0,
            60, 60,
            120, 120,
            240, 240,
        ];
        let mut out = [0u8; 3];
        assert!(Bilinear::default().scale(plane(&src, 2, 4), whole(1, 4), &mut out, 1, 3));
        assert_eq!(out, [10, 90, 220]);
    }

    #[test]
    fn edges_take_the_edge_sample_and_a_crop_reads_its_own_region() {
        // Upscaling 2 → 4: the outer samples' centres fall outside the first and last source
        // centres, so they are those samples.
        let src = [100u8, 200];
        let mut out = [0u8; 4];
        assert!(Bilinear::default().scale(plane(&src, 2, 1), whole(2, 1), &mut out, 4, 1));
        assert_eq!(out, [100, 125, 175, 200]);
        // A crop of columns 2..4 of a plane with a stride wider than it.
        let src = [0u8, 0, 100, 200, 0, 9, 9, 9, 9, 9, 9, 9];
        let crop = Crop {
            left: 2.0,
            top: 0.0,
            width: 2.0,
            height: 1.0,
        };
        let p = Plane {
            data: &src,
            stride: 6,
            width: 5,
            rows: 2,
        };
        let mut out = [0u8; 2];
        assert!(Bilinear::default().scale(p, crop, &mut out, 2, 1));
        assert_eq!(out, [100, 200]);
    }

    /// The library this replaces, on the sizes a 2×2 grid of 720p participants needs after
    /// halving (and an upscale), with crops off whole samples: within one level everywhere.
    #[test]
    fn agrees_with_fast_image_resize_bilinear() {
        use fast_image_resize as fr;
        let (sw, sh) = (640u32, 360u32);
        let src: Vec<u8> = (0..sw * sh)
            .map(|i| ((i % sw) * 7 + (i / sw) * 13 + (i as u64 * 2654435761 % 61) as u32) as u8)
            .collect();
        let cases = [
            (whole(sw, sh), 564, 317),
            (whole(sw, sh), 333, 181),
            (
                Crop {
                    left: 10.25,
                    top: 3.5,
                    width: 600.5,
                    height: 300.75,
                },
                401,
                299,
            ),
            (whole(sw, sh), 900, 500),
        ];
        let view = fr::images::ImageRef::new(sw, sh, &src, fr::PixelType::U8).expect("a view");
        for (crop, w, h) in cases {
            let mut ours = vec![0u8; (w * h) as usize];
            assert!(Bilinear::default().scale(plane(&src, sw, sh), crop, &mut ours, w, h));
            let mut theirs = fr::images::Image::new(w, h, fr::PixelType::U8);
            let options = fr::ResizeOptions::new()
                .resize_alg(fr::ResizeAlg::Interpolation(fr::FilterType::Bilinear))
                .crop(crop.left, crop.top, crop.width, crop.height);
            fr::Resizer::new()
                .resize(&view, &mut theirs, &options)
                .expect("resized");
            let worst = ours
                .iter()
                .zip(theirs.buffer())
                .map(|(&a, &b)| a.abs_diff(b))
                .max();
            assert!(worst <= Some(1), "{w}×{h} from {crop:?}: off by {worst:?}");
        }
    }

    #[test]
    fn a_short_plane_is_refused() {
        let src = [0u8; 10];
        let mut out = [0u8; 4];
        assert!(!Bilinear::default().scale(plane(&src, 4, 4), whole(4, 4), &mut out, 2, 2));
    }
}
