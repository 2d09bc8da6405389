//! Simulated participants as the page edits them, and what the composition sees of them: video
//! input slots and room peers (vcs-api.md §5 in the design; docs/composition-api.md).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use vcs_engine::{VideoInputSlot, VideoKind};

/// One simulated participant.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Participant {
    pub id: String,
    pub display_name: String,
    /// `camera` or `screenshare`.
    #[serde(rename = "type", default = "camera")]
    pub kind: String,
    #[serde(default)]
    pub paused: bool,
    /// The dominant (active) speaker.
    #[serde(default)]
    pub dominant: bool,
    /// The `--participant` URI its video comes from (as safe to show); none for a placeholder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
}

/// The real participants' frame sizes by id: `None` while one has no frame yet.
pub type RealSizes = BTreeMap<String, Option<(u32, u32)>>;

fn camera() -> String {
    "camera".into()
}

/// The participants the page starts with when no `--inputs` file gives them.
pub fn default_participants() -> Vec<Participant> {
    ["Alice", "Bob"]
        .iter()
        .enumerate()
        .map(|(i, name)| Participant {
            id: format!("p{}", i + 1),
            display_name: (*name).into(),
            kind: camera(),
            paused: false,
            dominant: i == 0,
            uri: None,
        })
        .collect()
}

/// Participants for `--participant name=URI` flags, showing their inputs' video.
pub fn from_flags(flags: &[vcs_job::Participant]) -> Vec<Participant> {
    flags
        .iter()
        .map(|p| Participant {
            id: p.id.clone(),
            display_name: p.name().to_string(),
            kind: camera(),
            paused: false,
            dominant: false,
            uri: p.camera.as_deref().map(vcs_media::input::uri::redact),
        })
        .collect()
}

/// Participants from an `--inputs` file's slots (entries that are not objects are skipped).
pub fn from_slots(slots: &Value) -> Vec<Participant> {
    let Some(slots) = slots.as_array() else {
        return Vec::new();
    };
    slots
        .iter()
        .enumerate()
        .filter(|(_, s)| s.is_object())
        .map(|(i, s)| Participant {
            id: s["id"]
                .as_str()
                .map_or_else(|| i.to_string(), str::to_string),
            display_name: s["displayName"].as_str().unwrap_or_default().into(),
            kind: s["type"].as_str().unwrap_or("camera").into(),
            paused: s["paused"].as_bool().unwrap_or(false),
            dominant: s["dominant"].as_bool().unwrap_or(false),
            uri: None,
        })
        .collect()
}

/// The video input slots the composition reads (`useActiveVideo`). A participant with real
/// video (in `real`) has its frame's size, and shows as paused until its first frame.
pub fn input_slots(participants: &[Participant], real: &RealSizes) -> Vec<VideoInputSlot> {
    participants
        .iter()
        .map(|p| (p, real.get(&p.id)))
        .map(|(p, real)| VideoInputSlot {
            id: p.id.clone(),
            kind: if p.kind == "screenshare" {
                VideoKind::Screenshare
            } else {
                VideoKind::Camera
            },
            display_name: p.display_name.clone(),
            paused: p.paused || real.is_some_and(|size| size.is_none()),
            dominant: p.dominant,
            frame_size: real.copied().flatten().unwrap_or((1280, 720)),
        })
        .collect()
}

/// [`input_slots`] as JSON (an events file's `activeVideoInputSlots`).
pub fn slots(participants: &[Participant], real: &RealSizes) -> Value {
    Value::Array(
        input_slots(participants, real)
            .iter()
            .map(VideoInputSlot::to_json)
            .collect(),
    )
}

/// The room peers the composition reads (`useMediaInput`/`useRoom` peers).
pub fn peers(participants: &[Participant]) -> Value {
    Value::Array(
        participants
            .iter()
            .map(|p| {
                let video = json!({"id": p.id, "paused": p.paused});
                let mut peer = json!({
                    "id": p.id,
                    "displayName": p.display_name,
                    "audio": {"id": p.id, "paused": false, "dominant": p.dominant},
                });
                let key = if p.kind == "screenshare" {
                    "screenshareVideo"
                } else {
                    "video"
                };
                peer[key] = video;
                peer
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip_through_an_inputs_file() {
        let ps = default_participants();
        let none = RealSizes::new();
        assert_eq!(from_slots(&slots(&ps, &none)), ps);
        assert_eq!(slots(&ps, &none)[0]["dominant"], true);
    }

    #[test]
    fn a_real_participant_is_paused_until_its_first_frame_and_has_its_size() {
        let ps = default_participants();
        let mut real = RealSizes::from([("p1".to_string(), None)]);
        assert!(input_slots(&ps, &real)[0].paused);
        assert!(!input_slots(&ps, &real)[1].paused);
        real.insert("p1".into(), Some((640, 360)));
        let slot = &input_slots(&ps, &real)[0];
        assert!(!slot.paused);
        assert_eq!(slot.frame_size, (640, 360));
    }
}
