//! The bilinear column pass ([`super::bilinear`]) sixteen samples at a time with AVX2.
//!
//! The column pass reads two neighbouring row sums for each output sample at a different place
//! per sample, which the compiler does not vectorise: in the real-input bench it was the
//! largest cost of the frame loop after the decoders and the encoder. AVX2 gathers the pairs
//! (each pair one 32-bit read), and the arithmetic is the scalar pass's, so the samples are the
//! same to the bit (a test holds both to that).

/// Mixes the first multiple of sixteen output samples of `out` from `sums` with the taps
/// (`offset` into the sums, `weight` of the second sample); returns how many it wrote, 0 when
/// the CPU has no AVX2 (the caller does the rest one sample at a time). A second output row
/// that is empty is left alone.
pub(super) fn mix_columns(
    offset: &[u32],
    weight: &[u32],
    sums: [&[u16]; 2],
    out: [&mut [u8]; 2],
) -> usize {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        return x86::mix_columns(offset, weight, sums, out);
    }
    let _ = (offset, weight, sums, out);
    0
}

#[cfg(target_arch = "x86_64")]
#[expect(
    unsafe_code,
    reason = "AVX2 gathers, loads and stores take raw pointers; the loops stay inside the \
              slices' lengths and every gathered offset is clamped to the rows"
)]
mod x86 {
    use std::arch::x86_64::*;

    /// [`super::mix_columns`] once the CPU is known to have AVX2.
    pub(super) fn mix_columns(
        offset: &[u32],
        weight: &[u32],
        sums: [&[u16]; 2],
        out: [&mut [u8]; 2],
    ) -> usize {
        let [a, b] = sums;
        let [top, bottom] = out;
        let two_rows = !bottom.is_empty();
        let mut n = offset.len().min(weight.len()).min(top.len());
        if two_rows {
            n = n.min(bottom.len());
        }
        let n = n / 16 * 16;
        // Each gather reads the 32 bits at sample `offset[i]`: samples `offset[i]` and
        // `offset[i] + 1`. Offsets are clamped to the last such pair of the shorter row (a tap
        // past it would be a bug in the taps, which this turns into wrong samples rather than
        // reads outside the rows); offsets must fit an i32.
        let shortest = if two_rows {
            a.len().min(b.len())
        } else {
            a.len()
        };
        if n == 0 || shortest < 2 || shortest > i32::MAX as usize {
            return 0;
        }
        let last_pair = (shortest - 2) as u32;
        // SAFETY: the caller checked that the CPU has AVX2.
        unsafe {
            mix(
                &offset[..n],
                &weight[..n],
                last_pair,
                a,
                two_rows.then_some(b),
                top,
                bottom,
            )
        };
        n
    }

    /// Sixteen samples a step over all of `offset` (a multiple of 16 long, as `weight`; `top`
    /// and a `bottom` row given as long or longer; `last_pair + 1` inside `a` and `b`).
    #[target_feature(enable = "avx2")]
    fn mix(
        offset: &[u32],
        weight: &[u32],
        last_pair: u32,
        a: &[u16],
        b: Option<&[u16]>,
        top: &mut [u8],
        bottom: &mut [u8],
    ) {
        for k in (0..offset.len()).step_by(16) {
            let load = |v: &[u32], at: usize| {
                // SAFETY: `at + 8 <= v.len()`: `k + 16 <= len` and `at` is `k` or `k + 8`.
                unsafe { _mm256_loadu_si256(v.as_ptr().add(at).cast()) }
            };
            let last = _mm256_set1_epi32(last_pair as i32);
            let (o0, o1) = (
                _mm256_min_epu32(load(offset, k), last),
                _mm256_min_epu32(load(offset, k + 8), last),
            );
            let (w0, w1) = (load(weight, k), load(weight, k + 8));
            let row = |src: &[u16]| {
                let base = src.as_ptr().cast::<i32>();
                // SAFETY: each lane reads the two samples from its offset on (scale 2: samples
                // are 16-bit), and no offset is past `last_pair`, whose pair is inside `src`.
                let (g0, g1) = unsafe {
                    (
                        _mm256_i32gather_epi32::<2>(base, o0),
                        _mm256_i32gather_epi32::<2>(base, o1),
                    )
                };
                to_bytes(lerp(g0, w0), lerp(g1, w1))
            };
            // SAFETY: `k + 16 <= top.len()`, and `<= bottom.len()` when there is a second row.
            unsafe {
                _mm_storeu_si128(top.as_mut_ptr().add(k).cast(), row(a));
                if let Some(b) = b {
                    _mm_storeu_si128(bottom.as_mut_ptr().add(k).cast(), row(b));
                }
            }
        }
    }

    /// Per 32-bit lane `p | q << 16` and weight `f`: `(p × 256 + (q - p) × f + 2^15) >> 16`,
    /// the scalar pass's [`super::super::bilinear`] `lerp`.
    #[target_feature(enable = "avx2")]
    fn lerp(pairs: __m256i, f: __m256i) -> __m256i {
        let p = _mm256_and_si256(pairs, _mm256_set1_epi32(0xffff));
        let q = _mm256_srli_epi32::<16>(pairs);
        let mixed = _mm256_add_epi32(
            _mm256_slli_epi32::<8>(p),
            _mm256_mullo_epi32(_mm256_sub_epi32(q, p), f),
        );
        _mm256_srli_epi32::<16>(_mm256_add_epi32(mixed, _mm256_set1_epi32(1 << 15)))
    }

    /// Sixteen 32-bit lanes of 0..=255, eight in each of `lo` and `hi`, as sixteen bytes in
    /// order.
    #[target_feature(enable = "avx2")]
    fn to_bytes(lo: __m256i, hi: __m256i) -> __m128i {
        // Per 128-bit half: lo 0-3, hi 0-3 | lo 4-7, hi 4-7; the quarters put back in order.
        let words = _mm256_permute4x64_epi64::<0b11_01_10_00>(_mm256_packus_epi32(lo, hi));
        // Each half's eight words as bytes, twice; the first copy of each half kept.
        let bytes = _mm256_packus_epi16(words, words);
        _mm256_castsi256_si128(_mm256_permute4x64_epi64::<0b00_00_10_00>(bytes))
    }
}
