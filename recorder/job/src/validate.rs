//! Checks a parsed [`JobSpec`] beyond what its types say: bounds, unique ids, URI schemes and
//! one kind per output. Every error names the field path and what to do about it.

use std::collections::HashSet;

use url::Url;

use crate::limits::{
    AUDIO_KBPS, MAX_DURATION_SECS, MAX_FPS, MAX_PARAM_BYTES, MAX_PARTICIPANTS, VIDEO_KBPS,
    check_edge,
};
use crate::uri::{UriScheme, redact};
use crate::{JobSpec, Output};

/// A spec that parsed but cannot be recorded.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    /// Field path in the spec, such as `participants[1].camera`.
    pub path: String,
    pub message: String,
}

// Written by hand: this crate keeps its dependencies to the formats its values carry, so the
// operator's CRD can embed it cheaply (no error-derive macros either).
impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path, self.message)
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl JobSpec {
    /// Checks the spec; returns the first problem found.
    pub fn validate(&self) -> Result<(), SpecError> {
        if self.composition.name.trim().is_empty() {
            return Err(SpecError::new(
                "composition.name",
                "is empty; give a built-in name such as \"demo\" or a path to a composition",
            ));
        }
        let v = &self.video;
        for (field, value) in [("video.width", v.width), ("video.height", v.height)] {
            check_edge(value).map_err(|e| SpecError::new(field, e.to_string()))?;
        }
        if !(1..=MAX_FPS).contains(&v.fps) {
            return Err(SpecError::new(
                "video.fps",
                format!("{} is outside 1..={MAX_FPS}", v.fps),
            ));
        }
        let (lo, hi) = VIDEO_KBPS;
        if !(lo..=hi).contains(&v.bitrate_kbps) {
            return Err(SpecError::new(
                "video.bitrateKbps",
                format!("{} is outside {lo}..={hi}", v.bitrate_kbps),
            ));
        }
        let (lo, hi) = AUDIO_KBPS;
        if !(lo..=hi).contains(&self.audio.bitrate_kbps) {
            return Err(SpecError::new(
                "audio.bitrateKbps",
                format!("{} is outside {lo}..={hi}", self.audio.bitrate_kbps),
            ));
        }
        if let Some(d) = self.duration_secs
            && !(d.is_finite() && d > 0.0 && d <= f64::from(MAX_DURATION_SECS))
        {
            return Err(SpecError::new(
                "durationSecs",
                format!("{d} is not a number of seconds in (0, {MAX_DURATION_SECS}]"),
            ));
        }
        for (id, value) in &self.composition.params {
            let bytes = value.to_string().len();
            if bytes > MAX_PARAM_BYTES {
                return Err(SpecError::new(
                    format!("composition.params.{id}"),
                    format!("is {bytes} bytes; a param value takes at most {MAX_PARAM_BYTES}"),
                ));
            }
        }
        if self.participants.len() > MAX_PARTICIPANTS {
            return Err(SpecError::new(
                "participants",
                format!(
                    "{} participants; a recording takes at most {MAX_PARTICIPANTS}",
                    self.participants.len()
                ),
            ));
        }
        let mut ids = HashSet::new();
        for (i, p) in self.participants.iter().enumerate() {
            if p.id.is_empty() {
                return Err(SpecError::new(format!("participants[{i}].id"), "is empty"));
            }
            if !ids.insert(p.id.as_str()) {
                return Err(SpecError::new(
                    format!("participants[{i}].id"),
                    format!(
                        "\"{}\" is used by an earlier participant; ids must be unique",
                        p.id
                    ),
                ));
            }
            for (track, uri) in [
                ("camera", &p.camera),
                ("screenshare", &p.screenshare),
                ("audio", &p.audio),
            ] {
                if let Some(uri) = uri {
                    check_track_uri(uri)
                        .map_err(|m| SpecError::new(format!("participants[{i}].{track}"), m))?;
                }
            }
        }
        let mut names = HashSet::new();
        for (i, o) in self.outputs.iter().enumerate() {
            if !names.insert(o.name.as_str()) {
                return Err(SpecError::new(
                    format!("outputs[{i}].name"),
                    format!(
                        "\"{}\" is used by an earlier output; names must be unique",
                        o.name
                    ),
                ));
            }
            validate_output(i, o)?;
        }
        check_distinct_destinations(&self.outputs)
    }
}

/// Two outputs writing the same local file or folder, or the same S3 object or prefix, would
/// overwrite each other.
fn check_distinct_destinations(outputs: &[Output]) -> Result<(), SpecError> {
    let mut seen: Vec<(String, String)> = Vec::new();
    for (i, o) in outputs.iter().enumerate() {
        let (kind, path, s3) = match (&o.mp4, &o.hls) {
            (Some(m), _) => ("mp4", &m.path, &m.s3),
            (_, Some(h)) => ("hls", &h.path, &h.s3),
            _ => continue,
        };
        let mut mine = Vec::new();
        if let Some(p) = path {
            let normal = std::path::Path::new(p)
                .components()
                .collect::<std::path::PathBuf>();
            mine.push((
                format!("outputs[{i}].{kind}.path"),
                format!("file {}", normal.display()),
            ));
        }
        if let Some(t) = s3 {
            mine.push((
                format!("outputs[{i}].{kind}.s3.key"),
                format!(
                    "s3://{}/{} at {}",
                    t.bucket,
                    t.key.trim_end_matches('/'),
                    t.endpoint.as_deref().unwrap_or("AWS")
                ),
            ));
        }
        for (field, destination) in mine {
            if let Some((earlier, _)) = seen.iter().find(|(_, d)| *d == destination) {
                return Err(SpecError::new(
                    field,
                    format!("{destination} is also written by {earlier}; give each output its own"),
                ));
            }
            seen.push((field, destination));
        }
    }
    Ok(())
}

/// A URI of a kind the recorder can record. Errors quote only the [`redact`]ed URI: a spec's
/// URIs may hold tokens.
fn check_track_uri(uri: &str) -> Result<(), String> {
    let scheme = match Url::parse(uri.trim()) {
        Ok(url) => url.scheme().to_string(),
        // `srt://:PORT` (listen) has no host, and the recorder takes it; so does `url`'s parser
        // for every other scheme but SRT. The input checks hosts when it starts.
        Err(url::ParseError::EmptyHost) => uri.split(':').next().unwrap_or("").to_lowercase(),
        Err(e) => {
            return Err(format!(
                "\"{}\" is not a URI ({e}); use one of {}",
                redact(uri),
                UriScheme::ALL_PREFIXES
            ));
        }
    };
    match UriScheme::from_scheme(&scheme) {
        Some(_) => Ok(()),
        None => Err(format!(
            "unknown URI scheme in \"{}\"; use one of {}",
            redact(uri),
            UriScheme::ALL_PREFIXES
        )),
    }
}

fn validate_output(i: usize, o: &Output) -> Result<(), SpecError> {
    let at = |field: &str| format!("outputs[{i}]{field}");
    let kinds = [o.mp4.is_some(), o.hls.is_some(), o.rtmp.is_some()];
    if kinds.iter().filter(|k| **k).count() != 1 {
        return Err(SpecError::new(
            at(""),
            "must set exactly one output kind: mp4, hls or rtmp",
        ));
    }
    let destination =
        |kind: &str, path: &Option<String>, s3: &Option<crate::S3Target>| match (path, s3) {
            (None, None) => Err(SpecError::new(
                at(&format!(".{kind}")),
                "needs a local `path`, an `s3` target, or both",
            )),
            (Some(p), _) if p.is_empty() => Err(SpecError::new(
                at(&format!(".{kind}.path")),
                "is empty; give the file or folder to write",
            )),
            (_, Some(t)) if t.bucket.is_empty() => Err(SpecError::new(
                at(&format!(".{kind}.s3.bucket")),
                "is empty",
            )),
            _ => Ok(()),
        };
    if let Some(mp4) = &o.mp4 {
        destination("mp4", &mp4.path, &mp4.s3)?;
    }
    if let Some(hls) = &o.hls {
        destination("hls", &hls.path, &hls.s3)?;
        if let Some(s) = hls.segment_secs
            && !(s.is_finite() && (0.5..=60.0).contains(&s))
        {
            return Err(SpecError::new(
                at(".hls.segmentSecs"),
                format!("{s} is outside 0.5..=60 seconds"),
            ));
        }
    }
    if let Some(rtmp) = &o.rtmp {
        // Never quoted: the URL holds the stream key.
        let url = Url::parse(&rtmp.url).ok().filter(|u| u.has_host());
        if !url.is_some_and(|u| matches!(u.scheme(), "rtmp" | "rtmps")) {
            return Err(SpecError::new(
                at(".rtmp.url"),
                "must be an rtmp://host/app/key or rtmps:// URL",
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CompositionSpec, Mp4Output, Participant, RtmpOutput};

    fn spec() -> JobSpec {
        JobSpec {
            composition: CompositionSpec {
                name: "demo".into(),
                ..Default::default()
            },
            participants: vec![Participant {
                id: "alice".into(),
                camera: Some("test:red".into()),
                ..Default::default()
            }],
            duration_secs: Some(2.0),
            outputs: vec![Output {
                name: "main".into(),
                mp4: Some(Mp4Output {
                    path: Some("out.mp4".into()),
                    s3: None,
                }),
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    #[test]
    fn a_complete_spec_is_valid() {
        assert_eq!(spec().validate(), Ok(()));
    }

    #[test]
    fn each_problem_names_its_field_path() {
        type Breakage = fn(&mut JobSpec);
        let cases: Vec<(Breakage, &str)> = vec![
            (|s| s.composition.name.clear(), "composition.name"),
            (|s| s.video.width = 1281, "video.width"),
            (|s| s.video.height = 0, "video.height"),
            (|s| s.video.fps = 0, "video.fps"),
            (|s| s.duration_secs = Some(f64::NAN), "durationSecs"),
            (|s| s.duration_secs = Some(-1.0), "durationSecs"),
            (
                |s| s.participants[0].camera = Some("gopher://x".into()),
                "participants[0].camera",
            ),
            (
                |s| s.participants.push(s.participants[0].clone()),
                "participants[1].id",
            ),
            (
                |s| {
                    s.participants = (0..=crate::MAX_PARTICIPANTS)
                        .map(|i| Participant {
                            id: format!("p{i}"),
                            ..s.participants[0].clone()
                        })
                        .collect()
                },
                "participants",
            ),
            (
                |s| {
                    s.composition.params.insert(
                        "title".into(),
                        serde_json::Value::String("x".repeat(crate::MAX_PARAM_BYTES)),
                    );
                },
                "composition.params.title",
            ),
            (|s| s.outputs[0].mp4 = None, "outputs[0]"),
            (|s| s.outputs.push(s.outputs[0].clone()), "outputs[1].name"),
            (
                |s| {
                    let mut twin = s.outputs[0].clone();
                    twin.name = "twin".into();
                    s.outputs.push(twin);
                },
                "outputs[1].mp4.path",
            ),
            (
                |s| {
                    s.outputs[0].rtmp = Some(RtmpOutput {
                        url: "rtmp://x/a/k".into(),
                    })
                },
                "outputs[0]",
            ),
            (
                |s| s.outputs[0].mp4.as_mut().unwrap().path = None,
                "outputs[0].mp4",
            ),
            (
                |s| {
                    s.outputs[0] = Output {
                        name: "live".into(),
                        rtmp: Some(RtmpOutput {
                            url: "http://x".into(),
                        }),
                        ..Default::default()
                    }
                },
                "outputs[0].rtmp.url",
            ),
        ];
        for (break_it, path) in cases {
            let mut s = spec();
            break_it(&mut s);
            let err = s.validate().expect_err(path);
            assert_eq!(err.path, path, "{err}");
        }
    }

    #[test]
    fn unknown_fields_are_rejected_with_their_path() {
        let json = r#"{"composition":{"name":"demo","parms":{}}}"#;
        let de = &mut serde_json::Deserializer::from_str(json);
        let err = serde_path_to_error::deserialize::<_, JobSpec>(de).unwrap_err();
        assert_eq!(err.path().to_string(), "composition.parms");
    }
}
