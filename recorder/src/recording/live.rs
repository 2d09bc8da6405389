//! Live changes to a running recording ([`LiveCommand`]s), applied between two frames.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::json;
use vcs_job::control::{JobEvent, JobPatch};

use vcs_engine::events_file::{EventsFile, FrameEvents};

use super::{RecordError, Recorder, ScheduledEvents};

/// A live change, applied at the next frame.
#[derive(Debug, Clone)]
pub enum LiveCommand {
    /// Applied at the next frame; the outcome goes to `reply` when given. A patch that cannot
    /// be applied changes nothing and never stops the recording.
    Patch {
        patch: JobPatch,
        reply: Option<std::sync::mpsc::Sender<Result<(), RecordError>>>,
    },
    Events(Vec<JobEvent>),
    /// Finish: EOS through the encoder, every output finalised and uploaded.
    Stop,
}

impl Recorder<'_> {
    /// Applies one command that arrived before frame `self.frames`.
    pub(super) fn apply(&mut self, cmd: LiveCommand) -> Result<(), RecordError> {
        match cmd {
            LiveCommand::Stop => self.stopping = true,
            LiveCommand::Patch { patch, reply } => {
                let now = Duration::from_secs_f64(self.frames as f64 / self.job.video.fps as f64);
                let result = self.apply_patch(patch, now);
                if let Err(e) = &result {
                    tracing::warn!(error = %vcs_job::control::error_chain(e), "live change not applied");
                }
                match reply {
                    Some(reply) => {
                        let _ = reply.send(result);
                    }
                    None => result?,
                }
            }
            LiveCommand::Events(events) => self.push_events(events),
        }
        Ok(())
    }

    /// Room events: a named active speaker overrides the detected one; chat, transcript and
    /// emoji become the composition's standard-source messages.
    pub(super) fn push_events(&mut self, events: Vec<JobEvent>) {
        for e in &events {
            self.screen.record(e);
        }
        self.status.lock().expect("status lock").screen = self.screen.clone();
        for e in events {
            self.message_key += 1;
            let (source, sender, text) = match e {
                JobEvent::ActiveSpeaker { participant_id } => {
                    self.named_speaker = participant_id;
                    continue;
                }
                JobEvent::Chat {
                    sender_display_name,
                    text,
                } => ("chatMessages", sender_display_name, text),
                JobEvent::Transcript {
                    sender_display_name,
                    text,
                } => ("transcript", sender_display_name, text),
                JobEvent::Emoji {
                    sender_display_name,
                    text,
                } => ("emojiReactions", sender_display_name, text),
            };
            self.engine.push_standard_source_message(
                source,
                json!({"key": self.message_key, "senderDisplayName": sender, "text": text}),
            );
        }
    }

    /// Applies a live change. Everything is checked before anything changes, so a bad patch
    /// leaves the recording as it was.
    fn apply_patch(&mut self, patch: JobPatch, now: Duration) -> Result<(), RecordError> {
        vcs_engine::check_params(self.engine.interface(), &patch.params).map_err(|e| {
            RecordError::Invalid {
                field: format!("params.{}", e.id),
                message: e.message,
            }
        })?;
        let params = with_defaults_for_nulls(patch.params.clone(), self.engine.interface());
        let mut next = self.job.clone();
        next.composition.params.extend(params.clone());
        if let Some(list) = &patch.participants {
            next.participants = list.clone();
        }
        for name in &patch.remove_outputs {
            let before = next.outputs.len();
            next.outputs.retain(|o| &o.name != name);
            if next.outputs.len() == before {
                return Err(RecordError::Invalid {
                    field: "removeOutputs".into(),
                    message: format!("no output named \"{name}\""),
                });
            }
        }
        next.outputs.extend(patch.add_outputs.iter().cloned());
        next.validate()?;
        if let Some(list) = &patch.participants {
            self.participants.set(list, now)?;
        }
        if !params.is_empty() {
            self.engine.set_params(&params);
        }
        for name in &patch.remove_outputs {
            let summary = self.encoder.remove_output(name)?;
            self.outputs.removed(summary);
        }
        for (i, o) in patch.add_outputs.iter().enumerate() {
            let target = self.outputs.add(o)?;
            if let Err(e) = self.encoder.add_output(target) {
                // Everything before this output applied and keeps recording; the job says so.
                self.outputs.forget_last(&o.name);
                let not_added = patch.add_outputs.len() - i;
                next.outputs.truncate(next.outputs.len() - not_added);
                self.job = next;
                return Err(super::outputs::output_error(
                    &format!("addOutputs[{}]", o.name),
                    e,
                ));
            }
        }
        self.job = next;
        Ok(())
    }
}

/// The events file as the recording applies it: its initial state folded into frame 0, and every
/// frame's params checked against what the composition declares, so a bad file fails before
/// anything is recorded (naming the file, the frame and the param).
pub(super) fn check_scheduled(
    scheduled: ScheduledEvents,
    interface: &serde_json::Value,
) -> Result<EventsFile, RecordError> {
    let ScheduledEvents { origin, mut file } = scheduled;
    if let Some(initial) = file.initial.take() {
        let at_zero = file.by_frame.remove(&0).unwrap_or_default();
        let mut merged = initial;
        merged.params.extend(at_zero.params);
        merged.messages.extend(at_zero.messages);
        merged.slots = at_zero.slots.or(merged.slots);
        file.by_frame.insert(0, merged);
    }
    for (frame, events) in &file.by_frame {
        vcs_engine::check_params(interface, &events.params).map_err(|e| RecordError::Invalid {
            field: format!("{origin}: eventsByFrame.{frame}.params.{}", e.id),
            message: e.message,
        })?;
    }
    Ok(file)
}

impl Recorder<'_> {
    /// Applies the events file's events due by `frame` (those of skipped frames too).
    pub(super) fn apply_scheduled(&mut self, frame: u64) {
        for FrameEvents {
            params, messages, ..
        } in self.events.take_due(frame)
        {
            if !params.is_empty() {
                self.engine.set_params(&params);
            }
            for (source, data) in messages {
                self.engine.push_standard_source_message(&source, data);
            }
        }
    }
}

/// A `null` param value in a patch means "back to the default" (the composition's
/// `compositionInterface.params[].defaultValue`).
fn with_defaults_for_nulls(
    mut params: BTreeMap<String, serde_json::Value>,
    interface: &serde_json::Value,
) -> BTreeMap<String, serde_json::Value> {
    for (id, value) in params.iter_mut() {
        if value.is_null()
            && let Some(default) = interface["params"].as_array().and_then(|ps| {
                ps.iter()
                    .find(|p| p["id"] == *id)
                    .map(|p| p["defaultValue"].clone())
            })
        {
            *value = default;
        }
    }
    params
}
