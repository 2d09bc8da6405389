//! Simulated participants as the page edits them, and what the composition sees of them: video
//! input slots and room peers (vcs-api.md §5 in the design; docs/composition-api.md).

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
}

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
        })
        .collect()
}

/// The video input slots the composition reads (`useActiveVideo`).
pub fn input_slots(participants: &[Participant]) -> Vec<VideoInputSlot> {
    participants
        .iter()
        .map(|p| VideoInputSlot {
            id: p.id.clone(),
            kind: if p.kind == "screenshare" {
                VideoKind::Screenshare
            } else {
                VideoKind::Camera
            },
            display_name: p.display_name.clone(),
            paused: p.paused,
            dominant: p.dominant,
            frame_size: (1280, 720),
        })
        .collect()
}

/// [`input_slots`] as JSON (an events file's `activeVideoInputSlots`).
pub fn slots(participants: &[Participant]) -> Value {
    Value::Array(
        input_slots(participants)
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
        assert_eq!(from_slots(&slots(&ps)), ps);
        assert_eq!(slots(&ps)[0]["dominant"], true);
    }
}
