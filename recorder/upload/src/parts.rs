//! Pure bookkeeping for a multipart upload of a growing file: which byte ranges become which
//! parts, and which uploaded parts no longer match the file.
//!
//! Parts are fixed-size slices of the file from offset 0 (`part_size` each, the last one
//! shorter), so part N always covers the same bytes no matter when it was uploaded. That is what
//! lets the final check re-upload just the parts the muxer rewrote (mp4mux patches its header
//! at the end) under the same part number: S3 keeps the last upload of each number.

use sha2::{Digest, Sha256};

/// S3's smallest allowed part, except for the last one.
pub const MIN_PART_SIZE: u64 = 5 * 1024 * 1024;

/// A byte range of the file that is (or will be) one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PartSpan {
    /// 1-based, as S3 numbers parts.
    pub number: i32,
    pub offset: u64,
    pub len: u64,
}

/// A part S3 has accepted, with the hash of the bytes that were sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct UploadedPart {
    pub span: PartSpan,
    pub sha256: [u8; 32],
    pub etag: String,
}

pub(crate) fn hash(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

/// The span of part `number` (1-based) when parts are `part_size` long.
pub(crate) fn span(number: i32, part_size: u64, file_len: u64) -> PartSpan {
    let offset = (number as u64 - 1) * part_size;
    PartSpan {
        number,
        offset,
        len: part_size.min(file_len.saturating_sub(offset)),
    }
}

/// Full parts that can be uploaded while the file still grows: every complete `part_size`
/// slice after the `uploaded` ones. The tail is left for the end, because only the last part
/// may be shorter than 5 MiB.
pub(crate) fn ready_while_growing(uploaded: usize, part_size: u64, file_len: u64) -> Vec<PartSpan> {
    let full = (file_len / part_size) as usize;
    (uploaded + 1..=full)
        .map(|n| span(n as i32, part_size, file_len))
        .collect()
}

/// Every part of the finished file: full slices plus a shorter tail (none if empty).
pub(crate) fn final_layout(part_size: u64, file_len: u64) -> Vec<PartSpan> {
    let count = file_len.div_ceil(part_size).max(1);
    (1..=count as i32)
        .map(|n| span(n, part_size, file_len))
        .collect()
}

/// Whether an uploaded part still holds exactly the bytes the final file has in `want`.
pub(crate) fn still_matches(uploaded: &UploadedPart, want: &PartSpan, current: &[u8; 32]) -> bool {
    uploaded.span == *want && uploaded.sha256 == *current
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn only_full_parts_are_ready_while_the_file_grows() {
        assert!(ready_while_growing(0, 5 * MIB, 4 * MIB).is_empty());
        let ready = ready_while_growing(0, 5 * MIB, 12 * MIB);
        assert_eq!(
            ready,
            [
                PartSpan {
                    number: 1,
                    offset: 0,
                    len: 5 * MIB
                },
                PartSpan {
                    number: 2,
                    offset: 5 * MIB,
                    len: 5 * MIB
                },
            ]
        );
        assert!(ready_while_growing(2, 5 * MIB, 12 * MIB).is_empty());
        assert_eq!(ready_while_growing(2, 5 * MIB, 15 * MIB)[0].number, 3);
    }

    #[test]
    fn final_layout_ends_with_the_short_tail() {
        let layout = final_layout(5 * MIB, 18 * MIB);
        assert_eq!(layout.len(), 4);
        assert_eq!(
            layout[3],
            PartSpan {
                number: 4,
                offset: 15 * MIB,
                len: 3 * MIB
            }
        );
        assert_eq!(final_layout(5 * MIB, 10 * MIB).len(), 2);
        assert_eq!(
            final_layout(5 * MIB, 0),
            [PartSpan {
                number: 1,
                offset: 0,
                len: 0
            }]
        );
    }

    #[test]
    fn a_rewritten_part_no_longer_matches() {
        let span = span(1, 5 * MIB, 18 * MIB);
        let uploaded = UploadedPart {
            span,
            sha256: hash(b"old header"),
            etag: "e".into(),
        };
        assert!(still_matches(&uploaded, &span, &hash(b"old header")));
        assert!(!still_matches(&uploaded, &span, &hash(b"new header")));
        let shorter = PartSpan { len: 3, ..span };
        assert!(!still_matches(&uploaded, &shorter, &hash(b"old header")));
    }
}
