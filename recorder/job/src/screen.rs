//! What a composition shows of the room's events (chat, captions, emoji reactions, a named
//! active speaker), kept so that a continuation on another pod (issue 18) shows it too: the
//! recorder reports it in [`crate::control::JobStatus::screen`], the operator keeps it in the
//! Recording's status and hands it to the continuation in [`crate::ResumeSpec::screen`], which
//! replays it before its first frame. Params (banners, toasts, titles) need nothing of this:
//! the continuation's job carries them as last patched. Pure.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::control::JobEvent;

/// Messages kept per recording: compositions show the latest few lines of each source.
pub const SCREEN_MESSAGES: usize = 20;

/// The standard source a message goes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MessageSource {
    ChatMessages,
    Transcript,
    EmojiReactions,
}

/// One chat, transcript or emoji message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScreenMessage {
    pub source: MessageSource,
    #[serde(default)]
    pub sender_display_name: String,
    pub text: String,
}

/// The room events that decide what is on screen, oldest message first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScreenEvents {
    /// The latest chat, transcript and emoji messages, at most 20 (`SCREEN_MESSAGES`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub messages: Vec<ScreenMessage>,
    /// The participant an `activeSpeaker` event named (until one names `null`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_speaker: Option<String>,
}

impl ScreenEvents {
    pub fn is_empty(&self) -> bool {
        self.messages.is_empty() && self.active_speaker.is_none()
    }

    /// Takes `event` in: a message is appended (the oldest dropped past [`SCREEN_MESSAGES`]),
    /// an active-speaker event replaces the named speaker.
    pub fn record(&mut self, event: &JobEvent) {
        let (source, sender, text) = match event {
            JobEvent::ActiveSpeaker { participant_id } => {
                self.active_speaker = participant_id.clone();
                return;
            }
            JobEvent::Chat {
                sender_display_name,
                text,
            } => (MessageSource::ChatMessages, sender_display_name, text),
            JobEvent::Transcript {
                sender_display_name,
                text,
            } => (MessageSource::Transcript, sender_display_name, text),
            JobEvent::Emoji {
                sender_display_name,
                text,
            } => (MessageSource::EmojiReactions, sender_display_name, text),
        };
        self.messages.push(ScreenMessage {
            source,
            sender_display_name: sender.clone(),
            text: text.clone(),
        });
        if self.messages.len() > SCREEN_MESSAGES {
            let extra = self.messages.len() - SCREEN_MESSAGES;
            self.messages.drain(..extra);
        }
    }

    /// The events that put this on screen again, in order (the messages, then the speaker).
    pub fn replay(&self) -> Vec<JobEvent> {
        let mut events: Vec<JobEvent> = self
            .messages
            .iter()
            .map(|m| {
                let (sender_display_name, text) = (m.sender_display_name.clone(), m.text.clone());
                match m.source {
                    MessageSource::ChatMessages => JobEvent::Chat {
                        sender_display_name,
                        text,
                    },
                    MessageSource::Transcript => JobEvent::Transcript {
                        sender_display_name,
                        text,
                    },
                    MessageSource::EmojiReactions => JobEvent::Emoji {
                        sender_display_name,
                        text,
                    },
                }
            })
            .collect();
        if let Some(id) = &self.active_speaker {
            events.push(JobEvent::ActiveSpeaker {
                participant_id: Some(id.clone()),
            });
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chat(text: &str) -> JobEvent {
        JobEvent::Chat {
            sender_display_name: "Ann".into(),
            text: text.into(),
        }
    }

    #[test]
    fn the_latest_messages_are_kept_and_replayed_in_order() {
        let mut s = ScreenEvents::default();
        assert!(s.is_empty());
        for i in 0..SCREEN_MESSAGES + 5 {
            s.record(&chat(&format!("m{i}")));
        }
        s.record(&JobEvent::Emoji {
            sender_display_name: String::new(),
            text: "🎉".into(),
        });
        assert_eq!(s.messages.len(), SCREEN_MESSAGES);
        assert_eq!(s.messages[0].text, "m6");
        let replayed = s.replay();
        assert_eq!(replayed[0], chat("m6"));
        assert!(matches!(replayed.last(), Some(JobEvent::Emoji { text, .. }) if text == "🎉"));
        // Replaying into a fresh record gives the same record back.
        let mut again = ScreenEvents::default();
        for e in &replayed {
            again.record(e);
        }
        assert_eq!(again, s);
    }

    #[test]
    fn a_named_speaker_holds_until_handed_back_to_the_audio_levels() {
        let mut s = ScreenEvents::default();
        let named = |id: Option<&str>| JobEvent::ActiveSpeaker {
            participant_id: id.map(String::from),
        };
        s.record(&named(Some("bob")));
        assert_eq!(s.active_speaker.as_deref(), Some("bob"));
        assert_eq!(s.replay(), [named(Some("bob"))]);
        s.record(&named(None));
        assert!(s.is_empty());
        assert!(s.replay().is_empty());
    }

    #[test]
    fn it_reads_back_what_it_writes() {
        let mut s = ScreenEvents::default();
        s.record(&JobEvent::Transcript {
            sender_display_name: "Bo".into(),
            text: "hello".into(),
        });
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"messages": [{"source": "transcript", "senderDisplayName": "Bo", "text": "hello"}]})
        );
        assert_eq!(serde_json::from_value::<ScreenEvents>(json).unwrap(), s);
    }
}
