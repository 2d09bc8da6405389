//! "Export": the session so far as an offline events file (`initialState` + `eventsByFrame`), the
//! format `vcs-recorder scene --events` reads, so what was tried in the browser replays unchanged.

use std::collections::BTreeMap;

use serde_json::{Map, Value, json};

/// What happened in the session, by the frame it was applied at.
#[derive(Debug)]
pub struct EventLog {
    composition: String,
    width: u32,
    height: u32,
    fps: u32,
    initial_slots: Value,
    initial_params: BTreeMap<String, Value>,
    by_frame: BTreeMap<u64, Map<String, Value>>,
    last_frame: u64,
}

impl EventLog {
    pub fn new(
        composition: &str,
        (width, height): (u32, u32),
        fps: u32,
        initial_slots: Value,
        initial_params: BTreeMap<String, Value>,
    ) -> EventLog {
        EventLog {
            composition: composition.into(),
            width,
            height,
            fps,
            initial_slots,
            initial_params,
            by_frame: BTreeMap::new(),
            last_frame: 0,
        }
    }

    fn at(&mut self, frame: u64) -> &mut Map<String, Value> {
        self.last_frame = self.last_frame.max(frame);
        self.by_frame.entry(frame).or_default()
    }

    pub fn params(&mut self, frame: u64, params: &BTreeMap<String, Value>) {
        let entry = self.at(frame).entry("params").or_insert_with(|| json!({}));
        for (k, v) in params {
            entry[k] = v.clone();
        }
    }

    pub fn slots(&mut self, frame: u64, slots: Value) {
        self.at(frame).insert("activeVideoInputSlots".into(), slots);
    }

    pub fn message(&mut self, frame: u64, source_id: &str, data: Value) {
        let entry = self
            .at(frame)
            .entry("standardSourceMessage")
            .or_insert_with(|| json!([]));
        if let Some(list) = entry.as_array_mut() {
            list.push(json!({"sourceId": source_id, "data": data}));
        }
    }

    /// Marks `frame` as reached (the export's duration covers it).
    pub fn reached(&mut self, frame: u64) {
        self.last_frame = self.last_frame.max(frame);
    }

    pub fn to_json(&self) -> Value {
        json!({
            "compositionId": self.composition,
            "durationInFrames": self.last_frame + 1,
            "fps": self.fps,
            "outputSize": {"w": self.width, "h": self.height},
            "initialState": {
                "activeVideoInputSlots": self.initial_slots,
                "params": self.initial_params,
            },
            "eventsByFrame": self
                .by_frame
                .iter()
                .map(|(f, e)| (f.to_string(), Value::Object(e.clone())))
                .collect::<Map<_, _>>(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_land_at_their_frames() {
        let mut log = EventLog::new("demo", (1280, 720), 30, json!([]), BTreeMap::new());
        log.params(12, &BTreeMap::from([("title".to_string(), json!("Hi"))]));
        log.message(12, "chatMessages", json!({"text": "yo"}));
        log.reached(40);
        let v = log.to_json();
        assert_eq!(v["durationInFrames"], 41);
        assert_eq!(v["eventsByFrame"]["12"]["params"]["title"], "Hi");
        assert_eq!(
            v["eventsByFrame"]["12"]["standardSourceMessage"][0]["sourceId"],
            "chatMessages"
        );
    }
}
