//! A track's sample description as it must match between parts: less what the muxer measured.

use std::ops::Range;

use super::parse::boxes;

/// The `stsd` box with the bitrates the muxer measured zeroed (`btrt`, and the buffer size and
/// bitrates of an `esds` decoder configuration): mp4mux writes them when it ends a file, so
/// parts recorded alike differ there, and players do not rely on them.
pub(super) fn without_bitrates(stsd: &[u8], handler: &[u8; 4]) -> Vec<u8> {
    let mut out = stsd.to_vec();
    // Sample entry fields before the child boxes: visual 78 bytes, audio 28 (ISO 14496-12).
    let fields = match handler {
        b"vide" => 78,
        b"soun" => 28,
        _ => return out,
    };
    for (_, _, entry) in boxes(stsd, 16.min(stsd.len())..stsd.len()) {
        let children = (entry.start + fields).min(entry.end)..entry.end;
        for (kind, _, payload) in boxes(stsd, children) {
            match &kind {
                b"btrt" => out[payload].fill(0),
                b"esds" => {
                    if let Some(at) = decoder_config_bitrates(stsd, payload) {
                        out[at..at + 11].fill(0);
                    }
                }
                _ => {}
            }
        }
    }
    out
}

/// Where an `esds`'s DecoderConfigDescriptor keeps bufferSizeDB, maxBitrate and avgBitrate
/// (11 bytes), found by walking its descriptors (ISO 14496-1).
fn decoder_config_bitrates(b: &[u8], esds: Range<usize>) -> Option<usize> {
    // A descriptor: tag, then a length of 1 to 4 bytes, 7 bits each.
    let header = |mut at: usize| -> Option<(u8, usize)> {
        let tag = *b.get(at)?;
        at += 1;
        for _ in 0..4 {
            let byte = *b.get(at)?;
            at += 1;
            if byte & 0x80 == 0 {
                break;
            }
        }
        Some((tag, at))
    };
    let (tag, mut at) = header(esds.start + 4)?;
    if tag != 0x03 {
        return None;
    }
    let flags = *b.get(at + 2)?;
    at += 3;
    if flags & 0x80 != 0 {
        at += 2; // dependsOn_ES_ID
    }
    if flags & 0x40 != 0 {
        at += 1 + usize::from(*b.get(at)?); // URL
    }
    if flags & 0x20 != 0 {
        at += 2; // OCR_ES_Id
    }
    let (tag, at) = header(at)?;
    (tag == 0x04 && at + 13 <= esds.end).then_some(at + 2)
}
