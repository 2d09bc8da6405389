//! What an input URI asks for: its kind, checked once when the input starts. Its form that is safe
//! to log is `vcs_job::uri`'s [`redact`] (re-exported here with [`scrub`]).
//!
//! | scheme                         | kind            | offline? | finite? |
//! |--------------------------------|-----------------|----------|---------|
//! | `test:`                        | [`Kind::Test`]  | yes      | no      |
//! | `file:`                        | [`Kind::File`]  | yes      | yes     |
//! | `http:` `https:`               | [`Kind::Http`]  | no       | yes     |
//! | `rtsp:` `rtsps:` `rtspt:`      | [`Kind::Rtsp`]  | no       | no      |
//! | `srt:`                         | [`Kind::Srt`]   | no       | no      |
//! | `rtmp:` `rtmps:`               | [`Kind::Rtmp`]  | no       | no      |
//! | `whep+http:` `whep+https:`     | [`Kind::Whep`]  | no       | no      |

use std::path::PathBuf;

use url::Url;
pub use vcs_job::uri::{redact, scrub};

use crate::testsrc::TestSource;

/// One input URI, understood.
#[derive(Debug, Clone, PartialEq)]
pub enum Kind {
    /// Synthetic: a pattern on a colour with the name on it, and a sine tone.
    Test(TestSource),
    /// A local media file (`file:///abs/path`).
    File(PathBuf),
    /// A media file over HTTP(S).
    Http,
    /// An RTSP pull.
    Rtsp,
    /// An SRT pull (the recorder calls a listener, or listens when the URI says `mode=listener`).
    Srt,
    /// An RTMP(S) pull from a server.
    Rtmp,
    /// WebRTC-HTTP egress: the recorder is the WHEP client of this endpoint (`http(s)://...`).
    Whep { endpoint: String },
}

impl Kind {
    /// Whether a source of this kind ends by itself (its end is [`InputState::Ended`], not a
    /// loss to retry).
    ///
    /// [`InputState::Ended`]: vcs_job::control::InputState::Ended
    pub fn is_finite(&self) -> bool {
        matches!(self, Kind::File(_) | Kind::Http)
    }

    /// Whether the source can be rendered offline (pulled as fast as the machine allows, with
    /// exact timestamps). Network sources run at their sender's pace only.
    pub fn can_render_offline(&self) -> bool {
        matches!(self, Kind::Test(_) | Kind::File(_))
    }

    /// Whether the source is a network stream that arrives at the sender's pace.
    pub fn is_network_stream(&self) -> bool {
        matches!(
            self,
            Kind::Rtsp | Kind::Srt | Kind::Rtmp | Kind::Whep { .. }
        )
    }
}

/// Parses `uri` for the participant at `index` (which picks a bare `test:` URI's colour and
/// tone). Errors say what is wrong and what would work; they quote only the [`redact`]ed URI.
pub fn parse(uri: &str, index: usize) -> Result<Kind, String> {
    let uri = uri.trim();
    if uri
        .get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("test:"))
    {
        // Our own format (`test:#ff8800?tone=440`), not a URL: `#` starts a colour.
        return TestSource::parse(uri, index)
            .map(Kind::Test)
            .map_err(|e| e.message);
    }
    let url = match Url::parse(uri) {
        Ok(url) => url,
        Err(url::ParseError::RelativeUrlWithoutBase) => {
            return Err(format!("\"{}\" has no scheme; {SUPPORTED}", redact(uri)));
        }
        // `srt://:PORT` listens (and has no host, which `url` refuses for every scheme).
        Err(url::ParseError::EmptyHost) if scheme_of(uri) == "srt" => return Ok(Kind::Srt),
        Err(url::ParseError::EmptyHost) => return Err(no_host(uri)),
        Err(e) => {
            return Err(format!(
                "\"{}\" is not a URI ({e}); {SUPPORTED}",
                redact(uri)
            ));
        }
    };
    let need_host = || {
        if url.host_str().is_none_or(str::is_empty) {
            Err(no_host(uri))
        } else {
            Ok(())
        }
    };
    match url.scheme() {
        "file" => file_path(uri, &url).map(Kind::File),
        "http" | "https" => need_host().map(|()| Kind::Http),
        "rtsp" | "rtsps" | "rtspt" => need_host().map(|()| Kind::Rtsp),
        "srt" if url.cannot_be_a_base() => Err(format!(
            "\"{}\" is not an SRT URI; write srt://host:port",
            redact(uri)
        )),
        "srt" => Ok(Kind::Srt),
        "rtmp" | "rtmps" => need_host().map(|()| Kind::Rtmp),
        "whep+http" | "whep+https" => {
            need_host()?;
            Ok(Kind::Whep {
                endpoint: uri["whep+".len()..].to_string(),
            })
        }
        other => Err(format!(
            "\"{}\": scheme \"{other}\" is not supported; {SUPPORTED}",
            redact(uri)
        )),
    }
}

const SUPPORTED: &str = "use test:, file:///path, http(s)://, rtsp://, srt://, rtmp(s):// or \
                         whep+http(s)://";

/// The scheme as written, lower-cased (for messages about URIs `url` refused).
fn scheme_of(uri: &str) -> String {
    uri.split(':').next().unwrap_or("").to_ascii_lowercase()
}

fn no_host(uri: &str) -> String {
    format!(
        "\"{}\" names no host; write {}://host[:port]/...",
        redact(uri),
        scheme_of(uri)
    )
}

/// The local file a `file:///absolute/path` URI names, percent-decoded; it must exist.
fn file_path(uri: &str, url: &Url) -> Result<PathBuf, String> {
    // `url` reads `file:relative.mp4` as `file:///relative.mp4` and `file://dir/x` as host
    // `dir`: both are mistakes worth naming rather than guessing at.
    let absolute = uri.get(5..7).is_some_and(|s| s == "//")
        && url
            .host_str()
            .is_none_or(|h| h.is_empty() || h == "localhost");
    let path = url
        .to_file_path()
        .ok()
        .filter(|_| absolute)
        .ok_or_else(|| {
            format!(
                "\"{}\" is not an absolute file URI; write file:///absolute/path",
                redact(uri)
            )
        })?;
    if !path.is_file() {
        return Err(format!(
            "{} does not exist or is not a file; check the path",
            path.display()
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_maps_to_its_kind() {
        let file = std::env::temp_dir().join("vcs input uri test.bin");
        std::fs::write(&file, b"x").unwrap();
        let file_uri = format!("file://{}", file.display().to_string().replace(' ', "%20"));
        for (uri, want) in [
            ("test:red", "Test"),
            (file_uri.as_str(), "File"),
            ("https://cdn.example/a.mp4", "Http"),
            ("rtsp://cam.local:8554/stream", "Rtsp"),
            ("srt://127.0.0.1:9000?latency=200", "Srt"),
            ("srt://:9000?mode=listener", "Srt"),
            ("rtmp://live.example/app/key", "Rtmp"),
            ("rtmps://live.example/app/key", "Rtmp"),
            ("whep+https://sfu.example/whep/room/alice", "Whep"),
        ] {
            let kind = parse(uri, 0).unwrap_or_else(|e| panic!("{uri}: {e}"));
            assert!(format!("{kind:?}").starts_with(want), "{uri}: {kind:?}");
        }
        assert_eq!(parse(&file_uri, 0).unwrap(), Kind::File(file.clone()));
        assert_eq!(
            parse("whep+http://127.0.0.1:8080/whep", 0).unwrap(),
            Kind::Whep {
                endpoint: "http://127.0.0.1:8080/whep".into()
            }
        );
    }

    #[test]
    fn bad_uris_say_what_to_write() {
        for (uri, want) in [
            ("ftp://host/file", "scheme \"ftp\" is not supported"),
            ("nonsense", "has no scheme"),
            ("file:relative.mp4", "file:///absolute/path"),
            (
                "file:///no/such/file.mp4",
                "/no/such/file.mp4 does not exist",
            ),
            ("rtsp:///path", "names no host"),
            ("rtmp://user:secret@/app", "names no host"),
            ("test:notacolour", "not a CSS colour"),
            ("srt:host", "srt://host:port"),
        ] {
            let e = parse(uri, 0).unwrap_err();
            assert!(e.contains(want), "{uri}: {e}");
            assert!(!e.contains("secret"), "{uri}: {e}");
        }
    }

    #[test]
    fn only_test_and_file_render_offline_and_only_files_end() {
        let kinds = [Kind::Http, Kind::Rtsp, Kind::Srt, Kind::Rtmp];
        assert!(kinds.iter().all(|k| !k.can_render_offline()));
        assert!(Kind::File(PathBuf::from("/x")).can_render_offline());
        assert!(Kind::File(PathBuf::from("/x")).is_finite());
        assert!(!Kind::Rtsp.is_finite());
    }
}
