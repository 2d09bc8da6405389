//! The offline events file (Daily's format; docs/composition-api.md): the composition's state at
//! frame 0 and, per frame, the video input slots, params and standard-source messages that change
//! at that frame. `scene --events`, `still --events` and `render --events` read it;
//! `vcs-recorder preview` writes it ("Export").

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::inspect::InspectError;

/// A whole events file.
#[derive(Debug, Clone, Default)]
pub struct EventsFile {
    /// `outputSize` `{w, h}`, when given.
    pub output_size: Option<(u32, u32)>,
    /// `fps`, when given.
    pub fps: Option<u32>,
    /// `initialState`: applied before the first frame.
    pub initial: Option<FrameEvents>,
    /// `eventsByFrame`, by frame number.
    pub by_frame: BTreeMap<u64, FrameEvents>,
}

/// What changes at one frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameEvents {
    /// `activeVideoInputSlots`: the video inputs as the composition sees them.
    pub slots: Option<Value>,
    /// `params` set at this frame.
    pub params: BTreeMap<String, Value>,
    /// `standardSourceMessage` (one or a list): `(sourceId, data)`.
    pub messages: Vec<(String, Value)>,
}

impl EventsFile {
    /// Reads and parses `path`; errors name the file.
    pub fn read(path: &Path) -> Result<EventsFile, InspectError> {
        let text = std::fs::read_to_string(path).map_err(|source| InspectError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let value: Value = serde_json::from_str(&text).map_err(|source| InspectError::Json {
            path: path.display().to_string(),
            source,
        })?;
        if !value.is_object() {
            return Err(InspectError::Shape {
                path: path.display().to_string(),
                message: "an events file is a JSON object (initialState, eventsByFrame, …)",
            });
        }
        Ok(EventsFile::from_json(&value))
    }

    /// The events of an already parsed file; fields it does not know are ignored, as Daily's
    /// tools do.
    pub fn from_json(v: &Value) -> EventsFile {
        let output_size = v
            .get("outputSize")
            .and_then(|s| Some((s.get("w")?.as_u64()? as u32, s.get("h")?.as_u64()? as u32)));
        EventsFile {
            output_size,
            fps: v.get("fps").and_then(Value::as_u64).map(|f| f as u32),
            initial: v.get("initialState").map(FrameEvents::from_json),
            by_frame: v
                .get("eventsByFrame")
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| {
                            Some((k.trim().parse().ok()?, FrameEvents::from_json(v)))
                        })
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    /// Takes out every event due at or before `frame` (frames a live recording skipped
    /// included), in frame order.
    pub fn take_due(&mut self, frame: u64) -> Vec<FrameEvents> {
        let later = self.by_frame.split_off(&(frame + 1));
        std::mem::replace(&mut self.by_frame, later)
            .into_values()
            .collect()
    }
}

impl FrameEvents {
    fn from_json(v: &Value) -> FrameEvents {
        let mut messages = Vec::new();
        let mut push_msg = |m: &Value| {
            if let Some(id) = m.get("sourceId").and_then(Value::as_str) {
                messages.push((
                    id.to_string(),
                    m.get("data").cloned().unwrap_or(Value::Null),
                ));
            }
        };
        match v.get("standardSourceMessage") {
            Some(Value::Array(a)) => a.iter().for_each(&mut push_msg),
            Some(m) => push_msg(m),
            None => {}
        }
        FrameEvents {
            slots: v.get("activeVideoInputSlots").cloned(),
            params: v
                .get("params")
                .and_then(Value::as_object)
                .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
            messages,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_file_parses_into_initial_state_and_frames() {
        let file = EventsFile::from_json(&json!({
            "outputSize": {"w": 640, "h": 360},
            "fps": 15,
            "initialState": {"params": {"title": "Hi"}},
            "eventsByFrame": {
                "30": {"params": {"showTitle": false}},
                " 5": {"standardSourceMessage": {"sourceId": "chatMessages", "data": {"text": "yo"}}},
                "x": {"params": {"ignored": true}}
            }
        }));
        assert_eq!(file.output_size, Some((640, 360)));
        assert_eq!(file.fps, Some(15));
        assert_eq!(file.initial.expect("initial").params["title"], "Hi");
        assert_eq!(file.by_frame.keys().copied().collect::<Vec<_>>(), [5, 30]);
        assert_eq!(file.by_frame[&5].messages[0].0, "chatMessages");
    }

    #[test]
    fn due_events_come_out_once_in_order_including_skipped_frames() {
        let mut file = EventsFile::from_json(&json!({"eventsByFrame": {
            "2": {"params": {"a": 1}}, "3": {"params": {"a": 2}}, "9": {"params": {"a": 3}}
        }}));
        assert!(file.take_due(1).is_empty());
        let due = file.take_due(4);
        assert_eq!(due.len(), 2);
        assert_eq!(due[1].params["a"], 2);
        assert!(file.take_due(4).is_empty());
        assert_eq!(file.take_due(100).len(), 1);
    }
}
