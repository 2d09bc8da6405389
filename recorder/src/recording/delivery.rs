//! What each input delivered over the recording, and the verdict on a finished recording: the
//! faults that make it fall short of the job, each with its own exit code.
//!
//! Pure bookkeeping: the recorder feeds it the inputs' states once per tick and the outputs'
//! reports at the end.

use std::time::Duration;

use vcs_job::control::{Fault, FaultKind, InputDelivery, InputState, InputStatus, OutputKind};

use super::outputs::OutputReport;

/// An output may end this much short of the recording (the muxers end on whole frames and
/// segments; RTMP drops the last moments at EOS) before it counts as incomplete.
pub const DELIVERY_TOLERANCE: Duration = Duration::from_secs(1);

/// An input that is still connecting, without an error, when a recording this short ends had no
/// fair chance to deliver (a recording stopped right after its first frame): it is not a fault.
/// One that failed (refused, unreachable, bad stream) is, however short the recording.
pub const CONNECT_GRACE: Duration = Duration::from_secs(5);

/// Per input track: connected at all, seconds live, gaps.
#[derive(Default)]
pub struct InputTally {
    tracks: Vec<(InputDelivery, InputState)>,
}

impl InputTally {
    /// Takes in the inputs' states after `dt` of recording.
    pub fn observe(&mut self, inputs: &[InputStatus], dt: Duration) {
        for input in inputs {
            let i = match self
                .tracks
                .iter()
                .position(|(d, _)| d.participant == input.participant && d.track == input.track)
            {
                Some(i) => i,
                None => {
                    self.tracks.push((
                        InputDelivery {
                            participant: input.participant.clone(),
                            track: input.track,
                            connected: false,
                            live_secs: 0.0,
                            gaps: 0,
                            last_error: None,
                            av_offset_ms: None,
                        },
                        InputState::Connecting,
                    ));
                    self.tracks.len() - 1
                }
            };
            let (delivery, last) = &mut self.tracks[i];
            if input.state == InputState::Live {
                delivery.connected = true;
                delivery.live_secs += dt.as_secs_f64();
            }
            if *last == InputState::Live && input.state == InputState::Stalled {
                delivery.gaps += 1;
            }
            if input.last_error.is_some() {
                delivery.last_error.clone_from(&input.last_error);
            }
            if input.av_offset_ms.is_some() {
                delivery.av_offset_ms = input.av_offset_ms;
            }
            *last = input.state;
        }
    }

    pub fn deliveries(&self) -> Vec<InputDelivery> {
        self.tracks.iter().map(|(d, _)| d.clone()).collect()
    }
}

/// The faults of a finished recording of `recorded` seconds, most serious kind first.
pub fn faults(
    recorded: Duration,
    outputs: &[OutputReport],
    inputs: &[InputDelivery],
    composition_failed: bool,
) -> Vec<Fault> {
    let mut faults = Vec::new();
    for o in outputs {
        let short = recorded.saturating_sub(o.duration);
        // What the sink queued before its first connect attempt failed counts as sent, so an
        // RTMP output that never got past the handshake (a refused port, or a server that
        // accepts and never answers) is told by its bytes: rtmp2sink counts none before.
        let never_connected =
            o.kind == OutputKind::Rtmp && (o.bytes == 0 || o.duration < Duration::from_millis(500));
        let message = if o.failed() {
            let error = o.last_error.as_deref().unwrap_or("unknown error");
            Some(if never_connected {
                format!("never connected: {error}")
            } else {
                format!(
                    "failed after {:.1} s of {:.1} s: {error}",
                    o.duration.as_secs_f64(),
                    recorded.as_secs_f64(),
                )
            })
        } else if o.whole_recording && short > DELIVERY_TOLERANCE {
            let what = if never_connected {
                "never connected; delivered"
            } else {
                "delivered"
            };
            Some(format!(
                "{what} {:.1} s of {:.1} s ({:.1} s missing{}){}",
                o.duration.as_secs_f64(),
                recorded.as_secs_f64(),
                short.as_secs_f64(),
                if o.reconnects > 0 {
                    format!(", {} reconnects", o.reconnects)
                } else {
                    String::new()
                },
                o.last_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ))
        } else {
            None
        };
        if let Some(message) = message {
            faults.push(Fault {
                kind: FaultKind::OutputIncomplete,
                subject: format!("outputs.{}", o.name),
                message,
            });
        }
    }
    for i in inputs
        .iter()
        .filter(|i| !i.connected && (i.last_error.is_some() || recorded >= CONNECT_GRACE))
    {
        faults.push(Fault {
            kind: FaultKind::InputNeverConnected,
            subject: format!(
                "participants.{}.{}",
                i.participant,
                super::participants::track_field(i.track)
            ),
            message: format!(
                "never delivered media{}",
                i.last_error
                    .as_deref()
                    .map(|e| format!(": {e}"))
                    .unwrap_or_default()
            ),
        });
    }
    if composition_failed {
        faults.push(Fault {
            kind: FaultKind::CompositionFailed,
            subject: "composition".into(),
            message: "the composition kept failing; the video shows its last good scene".into(),
        });
    }
    faults.sort_by_key(|f| f.kind);
    faults
}

/// The process exit code for a recording with these faults: 0 without any.
pub fn exit_code(faults: &[Fault]) -> u8 {
    faults
        .iter()
        .map(|f| f.kind)
        .min()
        .map_or(0, FaultKind::exit_code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use vcs_job::control::{OutputState, TrackKind};

    fn output(kind: OutputKind, secs: f64, state: OutputState) -> OutputReport {
        OutputReport {
            name: "o".into(),
            kind,
            state,
            files: Vec::new(),
            s3: None,
            objects: 0,
            bytes: 0,
            uploaded_bytes: 0,
            duration: Duration::from_secs_f64(secs),
            reconnects: 0,
            last_error: None,
            whole_recording: true,
        }
    }

    fn input(state: InputState) -> InputStatus {
        InputStatus {
            participant: "alice".into(),
            track: TrackKind::Camera,
            state,
            retries: 0,
            last_error: None,
            av_offset_ms: None,
        }
    }

    #[test]
    fn inputs_count_live_seconds_gaps_and_never_connecting() {
        let mut tally = InputTally::default();
        let tick = Duration::from_millis(500);
        for state in [
            InputState::Connecting,
            InputState::Live,
            InputState::Live,
            InputState::Stalled,
            InputState::Live,
        ] {
            tally.observe(&[input(state)], tick);
        }
        let d = &tally.deliveries()[0];
        assert!(d.connected);
        assert_eq!(d.gaps, 1);
        assert!((d.live_secs - 1.5).abs() < 1e-9);
        assert_eq!(d.av_offset_ms, None, "nothing measured yet");

        // The last measured lip-sync offset goes with the delivery (and so to the Recording).
        let mut measured = input(InputState::Live);
        measured.av_offset_ms = Some(-12.5);
        tally.observe(&[measured], tick);
        tally.observe(&[input(InputState::Live)], tick);
        assert_eq!(tally.deliveries()[0].av_offset_ms, Some(-12.5));

        let mut never = InputTally::default();
        never.observe(&[input(InputState::Connecting)], tick);
        let f = faults(Duration::from_secs(10), &[], &never.deliveries(), false);
        assert_eq!(f[0].kind, FaultKind::InputNeverConnected);
        assert_eq!(f[0].subject, "participants.alice.camera");
        assert_eq!(exit_code(&f), 4);
        // Stopped right after its first frame: still connecting is no fault yet…
        let short = Duration::from_secs(1);
        assert!(faults(short, &[], &never.deliveries(), false).is_empty());
        // …but an input that failed is, however short the recording.
        let mut refused = input(InputState::Connecting);
        refused.last_error = Some("connection refused".into());
        let mut failed = InputTally::default();
        failed.observe(&[refused], tick);
        assert_eq!(
            exit_code(&faults(short, &[], &failed.deliveries(), false)),
            4
        );
    }

    #[test]
    fn an_output_short_of_the_recording_is_incomplete_and_wins_the_exit_code() {
        let recorded = Duration::from_secs(20);
        let full = output(OutputKind::Mp4, 19.97, OutputState::Done);
        assert!(faults(recorded, &[full], &[], false).is_empty());
        let holed = output(OutputKind::Rtmp, 4.3, OutputState::Done);
        let never = output(OutputKind::Rtmp, 0.0, OutputState::Done);
        let f = faults(recorded, &[holed, never], &[], true);
        assert_eq!(f.len(), 3);
        assert!(
            f[0].message.contains("delivered 4.3 s of 20.0 s"),
            "{}",
            f[0].message
        );
        assert!(
            f[1].message.starts_with("never connected"),
            "{}",
            f[1].message
        );
        assert_eq!(exit_code(&f), 3);
        assert_eq!(exit_code(&[]), 0);
    }
}
