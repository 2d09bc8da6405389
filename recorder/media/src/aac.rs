//! Which AAC encoder the one encode uses, and how far its output lags its input.
//!
//! FFmpeg's encoder (`avenc_aac`, gst-libav) sounds best and is preferred where it is installed
//! (a developer's machine). The recorder image leaves gst-libav out: FFmpeg's libraries bring
//! some 150 MB of codecs the recorder never loads, so there the VisualOn encoder (`voaacenc`,
//! gst-plugins-bad, 120 KB) is used. `VCS_AAC_ENCODER` picks one by name.
//!
//! Every AAC encoder's output lags its input by a fixed number of samples (its priming). Nothing
//! downstream takes that into account (no MP4 edit list, FLV, TS), so the fan-out moves audio
//! back by it; the figures were measured by encoding a click and decoding it with FFmpeg.

use gstreamer as gst;

use crate::MediaError;

/// Picks the encoder by name instead of by what is installed.
pub const ENCODER_ENV: &str = "VCS_AAC_ENCODER";

/// An AAC encoder element and its priming.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AacEncoder {
    /// The GStreamer element factory.
    pub factory: &'static str,
    /// Samples at 48 kHz by which the decoded audio lags what went in.
    pub priming_samples: u64,
}

/// The encoders the recorder knows the priming of, best first.
pub const KNOWN: [AacEncoder; 2] = [
    AacEncoder {
        factory: "avenc_aac",
        priming_samples: 1024,
    },
    AacEncoder {
        factory: "voaacenc",
        priming_samples: 1600,
    },
];

impl AacEncoder {
    /// The priming as a duration at 48 kHz.
    pub fn priming(&self) -> gst::ClockTime {
        gst::ClockTime::from_nseconds(self.priming_samples * 1_000_000_000 / 48_000)
    }

    /// `VCS_AAC_ENCODER`'s choice when set, else the best one installed.
    pub fn find() -> Result<AacEncoder, MediaError> {
        crate::init()?;
        let wanted = std::env::var(ENCODER_ENV).ok().filter(|v| !v.is_empty());
        choose(wanted.as_deref(), |factory| {
            gst::ElementFactory::find(factory).is_some()
        })
    }
}

/// The choice itself: `wanted` by name (it must be known and installed), else the first
/// installed of [`KNOWN`].
fn choose(
    wanted: Option<&str>,
    installed: impl Fn(&str) -> bool,
) -> Result<AacEncoder, MediaError> {
    let names = || KNOWN.map(|e| e.factory).join(", ");
    match wanted {
        Some(name) => {
            let encoder = KNOWN.iter().find(|e| e.factory == name).ok_or_else(|| {
                MediaError::AacEncoder(format!(
                    "{ENCODER_ENV}={name} is not an AAC encoder the recorder knows: use one of {}",
                    names()
                ))
            })?;
            if installed(encoder.factory) {
                Ok(*encoder)
            } else {
                Err(MediaError::AacEncoder(format!(
                    "{ENCODER_ENV}={name}, but GStreamer has no {name} element (run scripts/install-deps)"
                )))
            }
        }
        None => KNOWN
            .iter()
            .find(|e| installed(e.factory))
            .copied()
            .ok_or_else(|| {
                MediaError::AacEncoder(format!(
                    "no AAC encoder is installed: the recorder needs one of {} \
                     (gstreamer1.0-libav or gstreamer1.0-plugins-bad; run scripts/install-deps)",
                    names()
                ))
            }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_best_installed_encoder_is_chosen() {
        let chosen = choose(None, |f| f == "voaacenc").expect("voaacenc is installed");
        assert_eq!(chosen.factory, "voaacenc");
        let chosen = choose(None, |_| true).expect("both are installed");
        assert_eq!(chosen.factory, "avenc_aac");
    }

    #[test]
    fn a_named_encoder_must_be_known_and_installed() {
        let chosen = choose(Some("voaacenc"), |_| true).expect("known and installed");
        assert_eq!(chosen.priming_samples, 1600);
        let unknown = choose(Some("faac"), |_| true).unwrap_err().to_string();
        assert!(
            unknown.contains("VCS_AAC_ENCODER=faac") && unknown.contains("avenc_aac, voaacenc"),
            "{unknown}"
        );
        let missing = choose(Some("avenc_aac"), |f| f != "avenc_aac")
            .unwrap_err()
            .to_string();
        assert!(missing.contains("no avenc_aac element"), "{missing}");
    }

    #[test]
    fn nothing_installed_is_a_clear_error() {
        let none = choose(None, |_| false).unwrap_err().to_string();
        assert!(none.contains("no AAC encoder is installed"), "{none}");
    }
}
