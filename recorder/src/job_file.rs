//! A job spec ([`vcs_job::JobSpec`]) read from a YAML/JSON file and/or command-line overrides.

use std::path::{Path, PathBuf};

use vcs_job::{JobSpec, Mp4Output, Output, Participant, SpecError, VideoSize, VideoSizeError};

/// A job that could not be read or is not valid. Messages give the file, the field path and,
/// for syntax errors, the line and column.
#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error("cannot read job spec {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}{}: {field}: {message}", path.display(), location.map(|(l, c)| format!(":{l}:{c}")).unwrap_or_default())]
    Parse {
        path: PathBuf,
        /// Line and column, 1-based, when the parser knows them.
        location: Option<(usize, usize)>,
        /// Field path such as `participants[0].camera`, or `.` for the document.
        field: String,
        message: String,
    },
    #[error("{origin}: {error}")]
    Invalid { origin: String, error: SpecError },
    #[error("{flag}: {message}")]
    Flag { flag: String, message: String },
}

/// Reads a job spec from a `.json`, `.yaml` or `.yml` file.
pub fn read_job_file(path: &Path) -> Result<JobSpec, JobError> {
    let text = std::fs::read_to_string(path).map_err(|source| JobError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_job(&text, path)
}

/// Parses a job spec; JSON when the file name ends in `.json`, YAML (a superset) otherwise.
pub fn parse_job(text: &str, path: &Path) -> Result<JobSpec, JobError> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let parse_error = |field: String, location, message: String| JobError::Parse {
        path: path.to_path_buf(),
        location,
        field: if field.is_empty() { ".".into() } else { field },
        message,
    };
    if is_json {
        let de = &mut serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let location = Some((inner.line(), inner.column()));
            parse_error(field, location, strip_location(&inner.to_string()))
        })
    } else {
        let de = serde_yaml_ng::Deserializer::from_str(text);
        serde_path_to_error::deserialize(de).map_err(|e| {
            let field = e.path().to_string();
            let inner = e.into_inner();
            let location = inner.location().map(|l| (l.line(), l.column()));
            parse_error(field, location, strip_location(&inner.to_string()))
        })
    }
}

/// Parser messages end with their own "at line L column C"; we print the location up front.
fn strip_location(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_string(),
        None => message.to_string(),
    }
}

/// A `--participant name=URI` flag (`render`, `preview`) as a participant whose camera and audio
/// both come from the URI (the URI itself is checked when its input starts).
pub fn participant_from_flag(flag: &str) -> Result<Participant, JobError> {
    let (name, uri) = flag
        .split_once('=')
        .filter(|(name, uri)| !name.is_empty() && !uri.is_empty())
        .ok_or_else(|| JobError::Flag {
            flag: format!("--participant {flag}"),
            message: "expected name=URI, such as alice=test:red".into(),
        })?;
    Ok(Participant {
        id: name.to_string(),
        display_name: None,
        camera: Some(uri.to_string()),
        screenshare: None,
        audio: Some(uri.to_string()),
    })
}

/// Job settings given as command-line flags; they override the job file.
#[derive(Debug, Clone, Default)]
pub struct JobOverrides {
    pub composition: Option<String>,
    /// `id=value` pairs; the value is JSON when it parses as JSON, else a string.
    pub params: Vec<String>,
    /// `name=URI` pairs; the URI feeds the participant's camera and audio.
    pub participants: Vec<String>,
    pub duration_secs: Option<f64>,
    pub size: Option<String>,
    pub fps: Option<u32>,
    pub output: Option<PathBuf>,
}

impl JobOverrides {
    /// Applies the flags on top of `base` (or an empty job) and validates the result.
    pub fn apply(&self, base: Option<JobSpec>, origin: &str) -> Result<JobSpec, JobError> {
        let mut job = base.unwrap_or_default();
        if let Some(c) = &self.composition {
            job.composition.name = c.clone();
        }
        for p in &self.params {
            let (id, value) = vcs_engine::param_from_flag(p).map_err(|_| JobError::Flag {
                flag: format!("--param {p}"),
                message: "expected id=value".into(),
            })?;
            job.composition.params.insert(id, value);
        }
        for p in &self.participants {
            let participant = participant_from_flag(p)?;
            job.participants
                .retain(|existing| existing.id != participant.id);
            job.participants.push(participant);
        }
        if let Some(d) = self.duration_secs {
            job.duration_secs = Some(d);
        }
        if let Some(size) = &self.size {
            let size: VideoSize = size.parse().map_err(|e: VideoSizeError| JobError::Flag {
                flag: format!("--size {size}"),
                message: e.to_string(),
            })?;
            job.video.width = size.width();
            job.video.height = size.height();
        }
        if let Some(fps) = self.fps {
            job.video.fps = fps;
        }
        if let Some(out) = &self.output {
            // Adds a local MP4 next to the job's own outputs (an S3 archive stays as it is);
            // a job that already writes this very file is left alone.
            let path = out.to_string_lossy().into_owned();
            let already = job
                .outputs
                .iter()
                .any(|o| o.mp4.as_ref().and_then(|m| m.path.as_deref()) == Some(path.as_str()));
            if !already {
                job.outputs.push(Output {
                    name: unused_name(&job.outputs, "mp4"),
                    mp4: Some(Mp4Output {
                        path: Some(path),
                        s3: None,
                    }),
                    ..Default::default()
                });
            }
        }
        job.validate().map_err(|error| JobError::Invalid {
            origin: origin.to_string(),
            error,
        })?;
        Ok(job)
    }
}

/// `base`, or `base-2`, `base-3`… : the first name no output has.
fn unused_name(outputs: &[Output], base: &str) -> String {
    let taken = |name: &str| outputs.iter().any(|o| o.name == name);
    if !taken(base) {
        return base.to_string();
    }
    (2..)
        .map(|n| format!("{base}-{n}"))
        .find(|name| !taken(name))
        .unwrap_or_else(|| base.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_participant_flag_is_name_equals_uri() {
        let p = participant_from_flag("alice=test:red?pattern=ball").unwrap();
        assert_eq!(p.id, "alice");
        assert_eq!(p.camera.as_deref(), Some("test:red?pattern=ball"));
        assert_eq!(p.audio, p.camera);
        for bad in ["alice", "=test:red", "alice="] {
            let e = participant_from_flag(bad).unwrap_err().to_string();
            assert!(e.starts_with(&format!("--participant {bad}:")), "{e}");
        }
    }

    #[test]
    fn yaml_errors_give_file_line_and_field_path() {
        let yaml = "composition:\n  name: demo\nparticipants:\n  - id: a\n    camra: test:red\n";
        let e = parse_job(yaml, Path::new("job.yaml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("job.yaml:5:"), "{e}");
        assert!(e.contains("participants[0].camra"), "{e}");
        assert!(e.contains("unknown field `camra`"), "{e}");
    }

    #[test]
    fn json_errors_give_the_field_path() {
        let json = r#"{"composition": {"name": "demo"}, "video": {"fps": "thirty"}}"#;
        let e = parse_job(json, Path::new("job.json"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("job.json:1:"), "{e}");
        assert!(e.contains("video.fps"), "{e}");
    }

    #[test]
    fn flags_override_the_file_and_are_validated() {
        let base = parse_job(
            "composition: {name: demo}\nparticipants: [{id: a, camera: 'test:'}]\n",
            Path::new("j.yaml"),
        )
        .unwrap();
        let flags = JobOverrides {
            params: vec!["title=Hello".into(), "countdownSecs=5".into()],
            participants: vec!["b=test:blue".into()],
            size: Some("640x360".into()),
            duration_secs: Some(3.0),
            output: Some("x.mp4".into()),
            ..Default::default()
        };
        let job = flags.apply(Some(base), "j.yaml").unwrap();
        assert_eq!(job.composition.params["title"], "Hello");
        assert_eq!(job.composition.params["countdownSecs"], 5);
        assert_eq!(job.participants.len(), 2);
        assert_eq!((job.video.width, job.video.height), (640, 360));
        assert_eq!(
            job.outputs[0].mp4.as_ref().unwrap().path.as_deref(),
            Some("x.mp4")
        );

        let with_s3 = parse_job(
            "composition: {name: demo}\noutputs: [{name: mp4, mp4: {s3: {bucket: b, key: k.mp4}}}]\n",
            Path::new("j.yaml"),
        )
        .unwrap();
        let job2 = flags.apply(Some(with_s3), "j.yaml").unwrap();
        assert_eq!(job2.outputs.len(), 2, "-o adds, it does not replace");
        assert!(job2.outputs[0].mp4.as_ref().unwrap().s3.is_some());
        assert_eq!(job2.outputs[1].name, "mp4-2");

        let bad = JobOverrides {
            participants: vec!["c=gopher://x".into()],
            ..Default::default()
        };
        let e = bad.apply(Some(job), "flags").unwrap_err().to_string();
        assert!(
            e.contains("participants[2].camera") && e.contains("unknown URI scheme"),
            "{e}"
        );
    }
}
