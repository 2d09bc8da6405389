//! Pure bookkeeping for a multipart upload of a growing file: which byte ranges become which
//! parts, and which uploaded parts no longer match the file.
//!
//! Parts are slices of the file from offset 0 (`part_size` each, or up to a fragment boundary
//! for an MP4; the last one shorter), and part N keeps the bytes it was given no matter when it
//! is re-sent. That is what
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

/// The next part to upload while the file still grows, if at least `part_size` bytes beyond
/// the `sent` parts (which end at `covered`) are ready up to `ready`. Only the last part may be
/// shorter than 5 MiB, so the tail waits for the end. With `up_to_ready` the part runs to
/// `ready` (a fragment boundary) instead of being exactly `part_size` long.
pub(crate) fn next_while_growing(
    sent: usize,
    covered: u64,
    part_size: u64,
    ready: u64,
    up_to_ready: bool,
) -> Option<PartSpan> {
    if ready < covered.saturating_add(part_size) {
        return None;
    }
    Some(PartSpan {
        number: sent as i32 + 1,
        offset: covered,
        len: if up_to_ready {
            ready - covered
        } else {
            part_size
        },
    })
}

/// Every part of the finished file: the parts already sent (while they fit in the file), then
/// `part_size` slices of the rest with a shorter tail (one empty part for an empty file).
pub(crate) fn final_layout(sent: &[PartSpan], part_size: u64, file_len: u64) -> Vec<PartSpan> {
    let mut layout: Vec<PartSpan> = sent
        .iter()
        .take_while(|p| p.offset + p.len <= file_len)
        .copied()
        .collect();
    let mut offset = layout.last().map_or(0, |p| p.offset + p.len);
    while offset < file_len || layout.is_empty() {
        let len = part_size.min(file_len - offset);
        layout.push(PartSpan {
            number: layout.len() as i32 + 1,
            offset,
            len,
        });
        offset += len;
    }
    layout
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
    fn a_part_is_ready_once_part_size_bytes_wait() {
        assert_eq!(next_while_growing(0, 0, 5 * MIB, 4 * MIB, false), None);
        assert_eq!(
            next_while_growing(0, 0, 5 * MIB, 12 * MIB, false),
            Some(PartSpan {
                number: 1,
                offset: 0,
                len: 5 * MIB
            })
        );
        assert_eq!(
            next_while_growing(1, 5 * MIB, 5 * MIB, 12 * MIB, true),
            Some(PartSpan {
                number: 2,
                offset: 5 * MIB,
                len: 7 * MIB
            }),
            "cut at the fragment boundary"
        );
        assert_eq!(
            next_while_growing(2, 12 * MIB, 5 * MIB, 15 * MIB, true),
            None
        );
    }

    #[test]
    fn final_layout_keeps_sent_parts_and_ends_with_the_short_tail() {
        let layout = final_layout(&[], 5 * MIB, 18 * MIB);
        assert_eq!(layout.len(), 4);
        assert_eq!(
            layout[3],
            PartSpan {
                number: 4,
                offset: 15 * MIB,
                len: 3 * MIB
            }
        );
        assert_eq!(final_layout(&[], 5 * MIB, 10 * MIB).len(), 2);
        assert_eq!(
            final_layout(&[], 5 * MIB, 0),
            [PartSpan {
                number: 1,
                offset: 0,
                len: 0
            }]
        );
        let sent = [PartSpan {
            number: 1,
            offset: 0,
            len: 7 * MIB,
        }];
        assert_eq!(
            final_layout(&sent, 5 * MIB, 9 * MIB),
            [
                sent[0],
                PartSpan {
                    number: 2,
                    offset: 7 * MIB,
                    len: 2 * MIB
                }
            ]
        );
    }

    #[test]
    fn a_rewritten_part_no_longer_matches() {
        let span = PartSpan {
            number: 1,
            offset: 0,
            len: 5 * MIB,
        };
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
