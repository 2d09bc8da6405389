//! Where a growing fragmented MP4 can be cut so that every prefix plays: after a complete
//! top-level box that is not a `moof` (so after `ftyp`/`moov`, and after each fragment's `mdat`).
//!
//! Pure: callers read box headers from the file and feed them here.

/// A top-level box header: its total size in bytes and its four-character type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct BoxHeader {
    pub size: u64,
    pub kind: [u8; 4],
}

/// Bytes to read at a box's start to know its size (a 64-bit `largesize` needs 16).
pub(crate) const HEADER_LEN: usize = 16;

/// Parses the header at the start of `bytes` (fewer than 8 bytes: not yet written). `None` also
/// for a box "to end of file" (size 0) or an impossible size, neither of which ends while the
/// file grows, so nothing after it is cut.
pub(crate) fn parse_header(bytes: &[u8]) -> Option<BoxHeader> {
    let size32 = u32::from_be_bytes(bytes.get(0..4)?.try_into().ok()?);
    let kind: [u8; 4] = bytes.get(4..8)?.try_into().ok()?;
    let size = match size32 {
        0 => return None,
        1 => u64::from_be_bytes(bytes.get(8..16)?.try_into().ok()?),
        n => u64::from(n),
    };
    (size >= 8).then_some(BoxHeader { size, kind })
}

/// Progress of a scan through the file's top-level boxes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Scan {
    /// Start of the next box not yet seen complete.
    pub next_box: u64,
    /// End of the last complete box a prefix may end at (see the module doc).
    pub cut: u64,
}

impl Scan {
    /// Takes in the box that starts at `next_box`, when the file (`file_len` bytes) holds all
    /// of it. Returns false when the box is not complete yet: read its header again later.
    pub(crate) fn advance(&mut self, header: BoxHeader, file_len: u64) -> bool {
        let end = self.next_box.saturating_add(header.size);
        if end > file_len {
            return false;
        }
        self.next_box = end;
        if &header.kind != b"moof" {
            self.cut = end;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(size: u32, kind: &[u8; 4]) -> Vec<u8> {
        let mut bytes = size.to_be_bytes().to_vec();
        bytes.extend_from_slice(kind);
        bytes
    }

    #[test]
    fn headers_parse_with_32_and_64_bit_sizes() {
        assert_eq!(
            parse_header(&header(24, b"ftyp")),
            Some(BoxHeader {
                size: 24,
                kind: *b"ftyp"
            })
        );
        let mut large = header(1, b"mdat");
        large.extend_from_slice(&(5u64 << 32).to_be_bytes());
        assert_eq!(parse_header(&large).map(|h| h.size), Some(5 << 32));
        assert_eq!(parse_header(&header(0, b"mdat")), None, "to end of file");
        assert_eq!(parse_header(&header(4, b"mdat")), None, "impossible size");
        assert_eq!(parse_header(&[0, 0, 0]), None, "not yet written");
    }

    #[test]
    fn cuts_fall_after_whole_fragments_only() {
        let mut scan = Scan::default();
        let file_len = 24 + 100 + 50 + 1000 + 60;
        let boxes = [
            (24, b"ftyp"),
            (100, b"moov"),
            (50, b"moof"),
            (1000, b"mdat"),
        ];
        for (size, kind) in boxes {
            let before = scan.cut;
            assert!(scan.advance(BoxHeader { size, kind: *kind }, file_len));
            if kind == b"moof" {
                assert_eq!(scan.cut, before, "never between a moof and its mdat");
            }
        }
        assert_eq!(scan.cut, 1174);
        // The next fragment's moof is written, its mdat only partly.
        assert!(scan.advance(
            BoxHeader {
                size: 50,
                kind: *b"moof"
            },
            file_len + 50
        ));
        assert!(!scan.advance(
            BoxHeader {
                size: 900,
                kind: *b"mdat"
            },
            file_len + 60
        ));
        assert_eq!(scan.cut, 1174);
    }
}
