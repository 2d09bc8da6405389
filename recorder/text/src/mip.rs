//! Box-filtered halving for bitmaps drawn much smaller than their pixels (emoji strikes are
//! 136 px, photos can be thousands): tiny-skia's bilinear and bicubic filters sample only a
//! few source pixels, so beyond 2× reduction they alias. Halving first keeps every draw within
//! a 2× reduction.

use tiny_skia::Pixmap;

/// `p` at half size, each pixel the mean of a 2×2 block (premultiplied, so averaging is right).
/// Odd edges reuse the last row/column. `None` once a side would reach 0.
pub fn halve(p: &Pixmap) -> Option<Pixmap> {
    let (w, h) = (p.width(), p.height());
    let (hw, hh) = (w / 2, h / 2);
    let mut out = Pixmap::new(hw, hh)?;
    let src = p.data();
    let stride = w as usize * 4;
    let dst = out.data_mut();
    for y in 0..hh as usize {
        let (r0, r1) = (2 * y * stride, (2 * y + 1).min(h as usize - 1) * stride);
        for x in 0..hw as usize {
            let (c0, c1) = (8 * x, (8 * x + 4).min(stride - 4));
            for ch in 0..4 {
                let sum = u16::from(src[r0 + c0 + ch])
                    + u16::from(src[r0 + c1 + ch])
                    + u16::from(src[r1 + c0 + ch])
                    + u16::from(src[r1 + c1 + ch]);
                dst[(y * hw as usize + x) * 4 + ch] = ((sum + 2) / 4) as u8;
            }
        }
    }
    Some(out)
}

/// Halves `p` until drawing it at `scale` (drawn px per source px) reduces by at most 2×.
/// Returns the reduced pixmap (if any halving happened) and the scale to draw it at.
pub fn reduce_for(p: &Pixmap, mut scale: f32) -> (Option<Pixmap>, f32) {
    let mut reduced: Option<Pixmap> = None;
    while scale > 0.0 && scale < 0.5 {
        let next = match &reduced {
            Some(r) => halve(r),
            None => halve(p),
        };
        match next {
            Some(n) => {
                reduced = Some(n);
                scale *= 2.0;
            }
            None => break,
        }
    }
    (reduced, scale)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halving_averages_blocks() {
        let mut p = Pixmap::new(4, 2).unwrap();
        // Left 2×2 block: two opaque white, two transparent → half-covered grey.
        let d = p.data_mut();
        d[0..4].copy_from_slice(&[255; 4]);
        d[16..20].copy_from_slice(&[255; 4]);
        let h = halve(&p).unwrap();
        assert_eq!((h.width(), h.height()), (2, 1));
        assert_eq!(&h.data()[0..4], &[128; 4]);
        assert_eq!(&h.data()[4..8], &[0; 4]);
    }

    #[test]
    fn reduces_until_within_two_times() {
        let p = Pixmap::new(128, 128).unwrap();
        let (r, s) = reduce_for(&p, 0.1);
        assert_eq!(r.unwrap().width(), 16);
        assert!((s - 0.8).abs() < 1e-6);
        let (r, s) = reduce_for(&p, 0.7);
        assert!(r.is_none());
        assert_eq!(s, 0.7);
    }
}
