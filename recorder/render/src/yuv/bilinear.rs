//! Two-tap (bilinear) resampling of one plane, for what is left after halving: a crop at most
//! twice the output's size, or smaller (zoom, a small source in a big tile).
//!
//! Each output sample is the linear interpolation of the two source samples around its centre
//! (`fast_image_resize`'s bilinear "interpolation", which this replaces here): rows first, into
//! a row of 16-bit sums that keeps the fraction, then columns, rounded once. Written for cost:
//! the weights are made once for a geometry and kept for the next frames (the library built one
//! small vector per output sample on every call: thousands of allocations a frame), the row pass
//! runs over whole rows of fixed weights, which the compiler vectorises, and the column pass,
//! whose reads differ per sample, gathers them with AVX2 where the CPU has it
//! ([`super::bilinear_avx2`]).

use super::bilinear_avx2 as avx2;
use super::scale::{Crop, Plane};

/// Fixed-point weights: 1.0 is `ONE`.
const ONE: u32 = 256;

/// For each output sample of one dimension: the first of the two source samples it lies
/// between, and the weight of the second (the sample after the first; past the last source
/// sample's centre the weight is 0, so that second sample is never read as more than nothing).
#[derive(Default)]
struct Taps {
    first: Vec<u32>,
    /// `first[i] - first[0]`: where each output sample reads in a row that starts at the
    /// first sample any of them reads.
    offset: Vec<u32>,
    weight: Vec<u32>,
    /// What they were made for: `(start, len, out, size)`, the floats as bits.
    made_for: Option<(u64, u64, u32, u32)>,
}

impl Taps {
    /// Taps for `out` samples over `[start, start + len)` of `size` source samples: output
    /// sample `i` is centred at `start + (i + 0.5) × len / out`; past the first or last source
    /// sample's centre it takes that sample.
    fn make(&mut self, start: f64, len: f64, out: u32, size: u32) {
        let step = len / out as f64;
        let last = size.saturating_sub(1) as f64;
        self.first.clear();
        self.offset.clear();
        self.weight.clear();
        for i in 0..out {
            let at = (start + (i as f64 + 0.5) * step - 0.5).clamp(0.0, last);
            let first = at.floor();
            let weight = ((at - first) * ONE as f64).round() as u32;
            self.first.push(first as u32);
            self.weight.push(weight);
        }
        let lo = self.first.first().copied().unwrap_or(0);
        self.offset.extend(self.first.iter().map(|&f| f - lo));
        self.made_for = Some((start.to_bits(), len.to_bits(), out, size));
    }

    /// The second source sample of output sample `i`.
    fn second(&self, i: usize, size: u32) -> u32 {
        (self.first[i] + 1).min(size - 1)
    }
}

/// Taps kept for this many recent (start, length, output, source) sizes: the Y, U and V planes
/// of a frame's tiles, which are made again every frame with the same geometry.
const KEPT_TAPS: usize = 8;

/// Resamples planes with two taps a dimension, keeping its buffers between calls.
#[derive(Default)]
pub struct Bilinear {
    /// Recently made taps, the oldest replaced first.
    taps: Vec<Taps>,
    oldest: usize,
    /// Two output rows after the row pass: 16-bit sums, `ONE` times the samples, and one
    /// sample more that only a tap of weight 0 reads.
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
        let c = self.taps_for(crop.left, crop.width, w, src.width);
        let r = self.taps_for(crop.top, crop.height, h, src.rows);
        let (columns, rows) = (&self.taps[c], &self.taps[r]);
        // Only the source columns the taps read go through the row pass.
        let lo = columns.first.first().copied().unwrap_or(0) as usize;
        let hi = columns.second(columns.first.len() - 1, src.width) as usize + 1;
        let row = |r: u32| &src.data[r as usize * stride..][lo..hi];
        let (w, h) = (w as usize, h as usize);
        // Output rows two at a time: the column pass reads each tap once for both.
        let [upper, lower] = &mut self.row;
        upper.resize(hi - lo + 1, 0);
        lower.resize(hi - lo + 1, 0);
        let mix_row = |y: usize, out: &mut [u16]| {
            let second = rows.second(y, src.rows);
            mix_rows(row(rows.first[y]), row(second), rows.weight[y], out);
        };
        for (k, pair) in out[..w * h].chunks_mut(2 * w).enumerate() {
            let y = 2 * k;
            mix_row(y, upper);
            let (top, bottom) = pair.split_at_mut(w);
            if bottom.is_empty() {
                mix_columns(columns, [upper, upper], [top, &mut []]);
            } else {
                mix_row(y + 1, lower);
                mix_columns(columns, [upper, lower], [top, bottom]);
            }
        }
        true
    }

    /// The index in `self.taps` of the taps for `out` samples over `[start, start + len)` of
    /// `size`, made unless they are kept.
    fn taps_for(&mut self, start: f64, len: f64, out: u32, size: u32) -> usize {
        let key = (start.to_bits(), len.to_bits(), out, size);
        if let Some(i) = self.taps.iter().position(|t| t.made_for == Some(key)) {
            return i;
        }
        let i = if self.taps.len() < KEPT_TAPS {
            self.taps.push(Taps::default());
            self.taps.len() - 1
        } else {
            let i = self.oldest;
            self.oldest = (self.oldest + 1) % KEPT_TAPS;
            i
        };
        self.taps[i].make(start, len, out, size);
        i
    }
}

/// The column pass of two output rows from their row sums (`sums[i]` holds the source column
/// of offset `i`, and one more sample past the last the taps read); a second output row that is
/// empty is left alone. Sixteen samples at a time with AVX2 where the CPU has it.
fn mix_columns(taps: &Taps, sums: [&[u16]; 2], out: [&mut [u8]; 2]) {
    let [top, bottom] = out;
    let done = avx2::mix_columns(&taps.offset, &taps.weight, sums, [&mut *top, &mut *bottom]);
    // What AVX2 did not do (all of it without AVX2): at most `done` is within every slice.
    let bottom_done = done.min(bottom.len());
    mix_columns_scalar(
        &taps.offset[done..],
        &taps.weight[done..],
        sums,
        [&mut top[done..], &mut bottom[bottom_done..]],
    );
}

/// [`mix_columns`] one sample at a time.
fn mix_columns_scalar(offset: &[u32], weight: &[u32], sums: [&[u16]; 2], out: [&mut [u8]; 2]) {
    let [a, b] = sums;
    let [top, bottom] = out;
    let taps = offset.iter().zip(weight);
    if bottom.is_empty() {
        for (d, (&i, &f)) in top.iter_mut().zip(taps) {
            *d = lerp(a, i as usize, f);
        }
        return;
    }
    for ((d, e), (&i, &f)) in top.iter_mut().zip(bottom.iter_mut()).zip(taps) {
        *d = lerp(a, i as usize, f);
        *e = lerp(b, i as usize, f);
    }
}

/// `row[i] × (ONE - f) + row[i + 1] × f`, rounded to a sample (`row` holds `ONE` times the
/// samples), computed as `p × ONE + (q - p) × f`: one product.
#[inline]
fn lerp(row: &[u16], i: usize, f: u32) -> u8 {
    let [p, q]: [u16; 2] = row[i..i + 2].try_into().expect("two samples");
    let (p, q, f) = (p as i32, q as i32, f as i32);
    ((p * ONE as i32 + (q - p) * f + (ONE * ONE / 2) as i32) >> 16) as u8
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

    /// The AVX2 column pass writes what the scalar one does, to the bit: every tap weight, both
    /// one and two rows, lengths around its sixteen-sample steps, offsets up to the last pair.
    #[test]
    fn the_avx2_column_pass_equals_the_scalar_one() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("skipped: this CPU has no AVX2, so only the scalar pass runs here");
            return;
        }
        let sums: [Vec<u16>; 2] = [0u32, 1].map(|r| {
            (0..200u32)
                // Row sums are at most 255 × ONE.
                .map(|i| {
                    ((i.wrapping_mul(2654435761).wrapping_add(r) >> 8) % (255 * ONE + 1)) as u16
                })
                .collect()
        });
        for len in [16usize, 17, 31, 32, 33, 47, 64, 99] {
            // Offsets rising by 0, 1 or 2 (a ratio between 1:1 and 2:1), ending on the last pair.
            let mut offset: Vec<u32> = (0..len as u32).map(|i| i * 3 / 2).collect();
            let last = (sums[0].len() - 2) as u32;
            *offset.last_mut().expect("taps") = last;
            let weight: Vec<u32> = (0..len as u32).map(|i| i * 37 % (ONE + 1)).collect();
            for two_rows in [false, true] {
                let mut simd = [vec![0u8; len], vec![0u8; if two_rows { len } else { 0 }]];
                let mut scalar = simd.clone();
                let [t, b] = &mut simd;
                let done = avx2::mix_columns(&offset, &weight, [&sums[0], &sums[1]], [t, b]);
                assert_eq!(done, len / 16 * 16);
                let [t, b] = &mut scalar;
                mix_columns_scalar(&offset, &weight, [&sums[0], &sums[1]], [t, b]);
                for row in 0..2 {
                    let n = done.min(simd[row].len());
                    assert_eq!(
                        simd[row][..n],
                        scalar[row][..n],
                        "{len} taps, two rows: {two_rows}, row {row}"
                    );
                }
            }
        }
    }

    #[test]
    fn a_short_plane_is_refused() {
        let src = [0u8; 10];
        let mut out = [0u8; 4];
        assert!(!Bilinear::default().scale(plane(&src, 4, 4), whole(4, 4), &mut out, 2, 2));
    }
}
