//! What a recorder leaves in the bucket, next to a growing MP4, so that another process can
//! finish the object if the recorder dies (kill -9, OOM, a lost node).
//!
//! Two kinds of small objects under `<key>.vcs-recovery/<run>/` (one folder per recording run,
//! `run` sorting in start-time order):
//! - `upload.json`, the journal: the multipart upload's id and every part S3 has accepted, with
//!   its byte range and ETag. Rewritten after each part (one small PUT per ~8 MiB).
//! - `tail-<offset>`: the bytes after the last part, as they reach a fragment boundary, one
//!   object per checkpoint named by its start offset. Deleted once a part covers them.
//!
//! Every part and checkpoint ends at a fragment boundary, so parts 1..n followed by the tail
//! objects in offset order are a prefix of the file that plays. The journal is written only
//! after S3 accepted the part it adds, and tail objects are deleted only after that, so at any
//! moment the journal plus the tail cover everything uploaded.

use serde::{Deserialize, Serialize};

/// The folder of recovery objects for the object at `key`.
pub(crate) fn prefix(key: &str) -> String {
    format!("{key}.vcs-recovery/")
}

/// A new run's name: start time in milliseconds (zero-padded, so names sort by time) and pid.
pub(crate) fn run_id() -> String {
    let millis = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis());
    format!("{millis:015}-{}", std::process::id())
}

pub(crate) fn journal_key(key: &str, run: &str) -> String {
    format!("{}{run}/upload.json", prefix(key))
}

pub(crate) fn tail_key(key: &str, run: &str, offset: u64) -> String {
    // Zero-padded so that listing order is offset order.
    format!("{}{run}/tail-{offset:020}", prefix(key))
}

/// A recovery object of `key`, from its object key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum RecoveryObject {
    Journal { run: String },
    Tail { run: String, offset: u64 },
}

pub(crate) fn parse_key(key: &str, object_key: &str) -> Option<RecoveryObject> {
    let (run, name) = object_key.strip_prefix(&prefix(key))?.split_once('/')?;
    let run = run.to_string();
    if name == "upload.json" {
        return Some(RecoveryObject::Journal { run });
    }
    let offset = name.strip_prefix("tail-")?.parse().ok()?;
    Some(RecoveryObject::Tail { run, offset })
}

/// `upload.json`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Journal {
    pub upload_id: String,
    /// Parts S3 accepted, in part-number order from 1, contiguous in the file from offset 0.
    pub parts: Vec<JournalPart>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JournalPart {
    pub number: i32,
    pub offset: u64,
    pub len: u64,
    pub etag: String,
}

impl Journal {
    /// Bytes of the file the parts cover (they start at 0 and follow each other).
    pub fn covered(&self) -> u64 {
        self.parts.last().map_or(0, |p| p.offset + p.len)
    }

    /// The longest run of parts from part 1 at offset 0 that follow each other without a hole;
    /// anything after a hole cannot be used.
    pub(crate) fn contiguous(mut self) -> Self {
        let mut end = 0;
        let keep = self
            .parts
            .iter()
            .enumerate()
            .take_while(|(i, p)| {
                let ok = p.number == *i as i32 + 1 && p.offset == end;
                end = p.offset + p.len;
                ok
            })
            .count();
        self.parts.truncate(keep);
        self
    }
}

/// A tail object: bytes `offset..offset + len` of the file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TailChunk {
    pub key: String,
    pub offset: u64,
    pub len: u64,
}

/// The tail chunks that continue the file exactly at `from`, in order: each starts where the
/// previous ended. Chunks before `from` (already in a part) and after a hole are left out.
pub(crate) fn chain_from(from: u64, mut chunks: Vec<TailChunk>) -> Vec<TailChunk> {
    chunks.sort_by_key(|c| c.offset);
    let mut end = from;
    let mut chain = Vec::new();
    for chunk in chunks {
        if chunk.offset == end && chunk.len > 0 {
            end += chunk.len;
            chain.push(chunk);
        }
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(number: i32, offset: u64, len: u64) -> JournalPart {
        JournalPart {
            number,
            offset,
            len,
            etag: format!("e{number}"),
        }
    }

    fn chunk(offset: u64, len: u64) -> TailChunk {
        TailChunk {
            key: tail_key("k", "r", offset),
            offset,
            len,
        }
    }

    #[test]
    fn recovery_keys_sort_by_offset_and_parse_back() {
        let run = run_id();
        let (a, b) = (
            tail_key("rec/a.mp4", &run, 9),
            tail_key("rec/a.mp4", &run, 10_000_000),
        );
        assert!(a < b);
        assert_eq!(
            parse_key("rec/a.mp4", &b),
            Some(RecoveryObject::Tail {
                run: run.clone(),
                offset: 10_000_000
            })
        );
        assert_eq!(
            parse_key("rec/a.mp4", &journal_key("rec/a.mp4", &run)),
            Some(RecoveryObject::Journal { run })
        );
        assert_eq!(parse_key("rec/b.mp4", &a), None);
        assert_eq!(parse_key("rec/a.mp4", "rec/a.mp4"), None);
    }

    #[test]
    fn only_parts_that_follow_each_other_from_zero_count() {
        let journal = Journal {
            upload_id: "u".into(),
            parts: vec![part(1, 0, 10), part(2, 10, 10), part(4, 30, 10)],
        };
        let journal = journal.contiguous();
        assert_eq!(journal.parts.len(), 2);
        assert_eq!(journal.covered(), 20);
    }

    #[test]
    fn the_tail_chain_starts_where_the_parts_end_and_stops_at_a_hole() {
        let chunks = vec![chunk(30, 5), chunk(10, 8), chunk(18, 12), chunk(40, 3)];
        let chain = chain_from(18, chunks.clone());
        assert_eq!(chain, [chunk(18, 12), chunk(30, 5)]);
        assert!(chain_from(19, chunks).is_empty());
    }

    #[test]
    fn the_journal_reads_back_what_it_wrote() {
        let journal = Journal {
            upload_id: "abc".into(),
            parts: vec![part(1, 0, 5 << 20)],
        };
        let json = serde_json::to_string(&journal).expect("serialise");
        assert!(json.contains("\"uploadId\":\"abc\""), "{json}");
        assert_eq!(
            serde_json::from_str::<Journal>(&json).expect("parse"),
            journal
        );
    }
}
