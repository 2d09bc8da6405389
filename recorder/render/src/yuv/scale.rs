//! Scaling one plane (one byte per sample) of a decoded frame into a tile.
//!
//! A crop at least twice the output's size is first halved — each sample the mean of a 2×2
//! block, once per factor of two — and the rest (less than 2:1) is bilinear ([`Bilinear`]); a
//! crop the output's size on whole samples is copied. The reason is cost: a 720p participant in
//! a 564×317 grid tile is 2.27:1, which as one area-average convolution was the largest cost
//! after decoding and encoding (issue 20), while a 2×2 mean is a single cheap pass and leaves a
//! bilinear step over a quarter of the samples. The 2×2 mean is the area average at 2:1, so
//! quality is that of an area average.

use fast_image_resize as fr;

use super::bilinear::Bilinear;

/// A plane to read: `width`×`rows` samples, rows `stride` bytes apart.
#[derive(Clone, Copy)]
pub struct Plane<'a> {
    pub data: &'a [u8],
    pub stride: usize,
    pub width: u32,
    pub rows: u32,
}

/// The source region to scale, in samples of its plane (fractional: it comes from the layer's
/// affine map).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Crop {
    pub left: f64,
    pub top: f64,
    pub width: f64,
    pub height: f64,
}

/// Scales planes, keeping its buffers between calls.
#[derive(Default)]
pub struct PlaneScaler {
    bilinear: Bilinear,
    resizer: fr::Resizer,
    /// The last halving's samples, and the buffer the next one writes.
    halved: Vec<u8>,
    next: Vec<u8>,
}

/// Whole samples `[start, end)` to halve so the halved plane holds all of `[a, a + len)`; halved
/// sample `i` is the block at `start + 2i`, so a crop on a whole sample stays on one.
fn halving_span(a: f64, len: f64, size: u32) -> (usize, usize) {
    let start = a.floor().max(0.0) as usize;
    let end = ((a + len).ceil().max(0.0) as usize).min(size as usize);
    (start.min(end), end)
}

impl PlaneScaler {
    /// Scales `crop` of `src` into `out` (`w`×`h`, tightly packed). Returns `false` when there
    /// is nothing to scale or `src` is shorter than it says.
    pub fn scale(&mut self, src: Plane<'_>, crop: Crop, out: &mut [u8], w: u32, h: u32) -> bool {
        if w == 0 || h == 0 || crop.width <= 0.0 || crop.height <= 0.0 {
            return false;
        }
        let mut crop = crop;
        // Geometry of the plane in `self.halved`, once there is one.
        let mut level: Option<(u32, u32)> = None;
        while crop.width >= 2.0 * w as f64 && crop.height >= 2.0 * h as f64 {
            let from = latest(src, &self.halved, level);
            let xs = halving_span(crop.left, crop.width, from.width);
            let ys = halving_span(crop.top, crop.height, from.rows);
            let Some(size) = halve(from, xs, ys, &mut self.next) else {
                return false;
            };
            std::mem::swap(&mut self.halved, &mut self.next);
            level = Some(size);
            let (left, top) = (
                (crop.left - xs.0 as f64) / 2.0,
                (crop.top - ys.0 as f64) / 2.0,
            );
            crop = Crop {
                left,
                top,
                width: (crop.width / 2.0).min(size.0 as f64 - left),
                height: (crop.height / 2.0).min(size.1 as f64 - top),
            };
        }
        let from = latest(src, &self.halved, level);
        if let Some(copied) = copy_whole(from, crop, out, w, h) {
            return copied;
        }
        // Bilinear once the crop is at most twice the output (every source sample still counts);
        // an area average for what halving left beyond that (a crop squeezed in one direction
        // only).
        if crop.width <= 2.0 * w as f64 && crop.height <= 2.0 * h as f64 {
            return self.bilinear.scale(from, crop, out, w, h);
        }
        resize_box(&mut self.resizer, from, crop, out, w, h)
    }
}

/// `src`, or its last halving (`halved`, of size `level`) if there was one.
fn latest<'a>(src: Plane<'a>, halved: &'a [u8], level: Option<(u32, u32)>) -> Plane<'a> {
    match level {
        None => src,
        Some((width, rows)) => Plane {
            data: halved,
            stride: width as usize,
            width,
            rows,
        },
    }
}

/// Writes each 2×2 block of columns `xs` and rows `ys` of `src` as its mean into `out`; an odd
/// last column or row is averaged with itself. Returns the halved size, `None` if `src` is
/// shorter than it says.
fn halve(
    src: Plane<'_>,
    xs: (usize, usize),
    ys: (usize, usize),
    out: &mut Vec<u8>,
) -> Option<(u32, u32)> {
    let (cols, rows) = (xs.1 - xs.0, ys.1 - ys.0);
    let (hw, hh) = (cols.div_ceil(2), rows.div_ceil(2));
    if hw == 0 || hh == 0 || src.stride < xs.1 {
        return None;
    }
    out.resize(hw * hh, 0);
    let row = |y: usize| src.data.get(y * src.stride + xs.0..y * src.stride + xs.1);
    for (j, dst) in out.chunks_exact_mut(hw).enumerate() {
        let y0 = ys.0 + 2 * j;
        let (a, b) = (row(y0)?, row((y0 + 1).min(ys.1 - 1))?);
        let pairs = cols / 2;
        let wide = pairs / 16 * 16;
        for ((d, a), b) in dst[..wide]
            .chunks_exact_mut(16)
            .zip(a.chunks_exact(32))
            .zip(b.chunks_exact(32))
        {
            mean_of_blocks(a, b, d);
        }
        for (i, d) in dst[wide..pairs].iter_mut().enumerate() {
            let x = 2 * (wide + i);
            let sum = a[x] as u16 + a[x + 1] as u16 + b[x] as u16 + b[x + 1] as u16;
            *d = ((sum + 2) >> 2) as u8;
        }
        if cols % 2 == 1 {
            dst[pairs] = ((a[cols - 1] as u16 + b[cols - 1] as u16 + 1) >> 1) as u8;
        }
    }
    Some((hw as u32, hh as u32))
}

/// The rounded means of the sixteen 2×2 blocks of 32 samples of two rows. Written over fixed-size
/// arrays so the compiler turns it into SIMD (twice as fast as the 64-bit-word trick it
/// replaces, with no `unsafe`); more blocks at once no longer vectorise.
#[inline]
fn mean_of_blocks(a: &[u8], b: &[u8], out: &mut [u8]) {
    let a: &[u8; 32] = a.try_into().expect("32 samples of the upper row");
    let b: &[u8; 32] = b.try_into().expect("32 samples of the lower row");
    let out: &mut [u8; 16] = out.try_into().expect("16 means");
    for (i, d) in out.iter_mut().enumerate() {
        let sum = a[2 * i] as u16 + a[2 * i + 1] as u16 + b[2 * i] as u16 + b[2 * i + 1] as u16;
        *d = ((sum + 2) >> 2) as u8;
    }
}

/// A crop of exactly `w`×`h` whole samples copied row by row; `None` when the crop is not that.
fn copy_whole(src: Plane<'_>, crop: Crop, out: &mut [u8], w: u32, h: u32) -> Option<bool> {
    const EPS: f64 = 1e-6;
    let whole = |v: f64| (v - v.round()).abs() < EPS && v.round() >= 0.0;
    let fits = whole(crop.left)
        && whole(crop.top)
        && (crop.width - w as f64).abs() < EPS
        && (crop.height - h as f64).abs() < EPS;
    if !fits {
        return None;
    }
    let (x0, y0, w) = (
        crop.left.round() as usize,
        crop.top.round() as usize,
        w as usize,
    );
    for (j, dst) in out.chunks_exact_mut(w).take(h as usize).enumerate() {
        let at = (y0 + j) * src.stride + x0;
        let Some(row) = src.data.get(at..at + w) else {
            return Some(false);
        };
        dst.copy_from_slice(row);
    }
    Some(true)
}

/// `crop` of `src` into `out` as an area average (`fast_image_resize`'s box convolution).
fn resize_box(
    resizer: &mut fr::Resizer,
    src: Plane<'_>,
    crop: Crop,
    out: &mut [u8],
    w: u32,
    h: u32,
) -> bool {
    // Rows are `stride` apart, so the plane is viewed `stride` samples wide; the crop keeps to
    // the real width.
    let Some(data) = src.data.get(..src.stride * src.rows as usize) else {
        return false;
    };
    let view = fr::images::ImageRef::new(src.stride as u32, src.rows, data, fr::PixelType::U8);
    let Ok(view) = view else {
        return false;
    };
    let Ok(mut dst) = fr::images::Image::from_slice_u8(w, h, out, fr::PixelType::U8) else {
        return false;
    };
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Box))
        .crop(crop.left, crop.top, crop.width, crop.height);
    resizer.resize(&view, &mut dst, &options).is_ok()
}

#[cfg(test)]
pub(in crate::yuv) mod tests {
    use super::*;

    /// A tightly packed plane (rows `width` apart); also for the bilinear tests.
    pub(in crate::yuv) fn plane(data: &[u8], width: u32, rows: u32) -> Plane<'_> {
        Plane {
            data,
            stride: width as usize,
            width,
            rows,
        }
    }

    /// All of a `width`×`rows` plane.
    pub(in crate::yuv) fn whole(width: u32, rows: u32) -> Crop {
        Crop {
            left: 0.0,
            top: 0.0,
            width: width as f64,
            height: rows as f64,
        }
    }

    #[test]
    fn two_to_one_is_the_mean_of_each_block() {
        #[rustfmt::skip]
        let src = [
            0, 4, 10, 10,
            8, 4, 20, 21,
        ];
        let mut out = [0u8; 2];
        let mut s = PlaneScaler::default();
        assert!(s.scale(plane(&src, 4, 2), whole(4, 2), &mut out, 2, 1));
        // (0+4+8+4)/4 = 4; (10+10+20+21)/4 = 15.25.
        assert_eq!(out, [4, 15]);
    }

    #[test]
    fn every_block_of_a_long_row_is_its_rounded_mean() {
        // Widths around the 32-sample chunks the blocks are computed in, every value range.
        for width in [2u32, 6, 8, 10, 16, 18, 30, 34, 62, 64, 66, 96, 98, 130] {
            let src: Vec<u8> = (0..width * 2).map(|i| (i * 97 % 256) as u8).collect();
            let w = width / 2;
            let mut out = vec![0u8; w as usize];
            let mut s = PlaneScaler::default();
            assert!(s.scale(plane(&src, width, 2), whole(width, 2), &mut out, w, 1));
            let at = |r: u32, x: u32| src[(r * width + x) as usize] as u32;
            for (i, &got) in out.iter().enumerate() {
                let x = 2 * i as u32;
                let sum = at(0, x) + at(0, x + 1) + at(1, x) + at(1, x + 1);
                assert_eq!(got as u32, (sum + 2) / 4, "width {width}, block {i}");
            }
        }
    }

    #[test]
    fn four_to_one_halves_twice_and_equals_the_mean_of_sixteen() {
        let src: Vec<u8> = (0..64).map(|i| (i * 3) as u8).collect();
        let mut out = [0u8; 4];
        let mut s = PlaneScaler::default();
        assert!(s.scale(plane(&src, 8, 8), whole(8, 8), &mut out, 2, 2));
        for (k, &got) in out.iter().enumerate() {
            let (bx, by) = (k % 2 * 4, k / 2 * 4);
            let sum: u32 = (0..16)
                .map(|i| src[(by + i / 4) * 8 + bx + i % 4] as u32)
                .sum();
            let want = sum as f64 / 16.0;
            assert!(
                (got as f64 - want).abs() <= 1.0,
                "block {k}: {got} vs {want}"
            );
        }
    }

    #[test]
    fn a_one_to_one_whole_crop_is_copied_from_its_offset_and_stride() {
        // 3×2 at (1, 1) of a 5-wide plane with a stride of 6.
        let src: Vec<u8> = (0..24).collect();
        let p = Plane {
            data: &src,
            stride: 6,
            width: 5,
            rows: 4,
        };
        let crop = Crop {
            left: 1.0,
            top: 1.0,
            width: 3.0,
            height: 2.0,
        };
        let mut out = [0u8; 6];
        assert!(PlaneScaler::default().scale(p, crop, &mut out, 3, 2));
        assert_eq!(out, [7, 8, 9, 13, 14, 15]);
    }

    #[test]
    fn odd_sizes_keep_their_last_column_and_row() {
        // 5×3, left half 0 and right half 200 with the last column 100; scaled to 2×1 (2.5:1
        // and 3:1): the last column and row are read, not dropped.
        let src: Vec<u8> = (0..15)
            .map(|i| match i % 5 {
                0 | 1 => 0,
                2 | 3 => 200,
                _ => 100,
            })
            .collect();
        let mut out = [0u8; 2];
        assert!(PlaneScaler::default().scale(plane(&src, 5, 3), whole(5, 3), &mut out, 2, 1));
        assert!(out[0] < 100, "left {out:?}");
        assert!(
            (120..=200).contains(&out[1]),
            "right, with the last column {out:?}"
        );
    }

    #[test]
    fn a_crop_at_an_odd_offset_is_halved_from_its_first_sample() {
        // Columns: 0, then 100 from column 3 on. The crop [3, 11) halved to 4 columns is all
        // 100: nothing of column 2 bleeds in.
        let src: Vec<u8> = (0..12 * 4)
            .map(|i| if i % 12 >= 3 { 100 } else { 0 })
            .collect();
        let crop = Crop {
            left: 3.0,
            top: 0.0,
            width: 8.0,
            height: 4.0,
        };
        let mut out = [0u8; 8];
        assert!(PlaneScaler::default().scale(plane(&src, 12, 4), crop, &mut out, 4, 2));
        assert_eq!(out, [100; 8]);
    }

    #[test]
    fn a_plane_shorter_than_it_says_is_refused() {
        let src = [0u8; 10];
        let mut out = [0u8; 4];
        assert!(!PlaneScaler::default().scale(plane(&src, 4, 4), whole(4, 4), &mut out, 2, 2));
        assert!(!PlaneScaler::default().scale(plane(&src, 4, 4), whole(4, 4), &mut out, 4, 1));
    }
}
