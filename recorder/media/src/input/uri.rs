//! What an input URI asks for: its kind, checked once when the input starts, and a form of it that
//! is safe to log (no userinfo, no query string: both can hold tokens).
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
    let (scheme, rest) = uri
        .split_once(':')
        .ok_or_else(|| format!("\"{}\" has no scheme; {SUPPORTED}", redact(uri)))?;
    let scheme = scheme.to_ascii_lowercase();
    let need_host = |rest: &str| -> Result<(), String> {
        let host = rest
            .strip_prefix("//")
            .map(|r| r.split(['/', '?', '#']).next().unwrap_or(""))
            .map(|h| h.rsplit('@').next().unwrap_or(""))
            .unwrap_or("");
        if host.is_empty() {
            Err(format!(
                "\"{}\" names no host; write {scheme}://host[:port]/...",
                redact(uri)
            ))
        } else {
            Ok(())
        }
    };
    match scheme.as_str() {
        "test" => TestSource::parse(uri, index)
            .map(Kind::Test)
            .map_err(|e| e.message),
        "file" => {
            let path = rest
                .strip_prefix("//")
                .filter(|p| p.starts_with('/'))
                .ok_or_else(|| {
                    format!(
                        "\"{}\" is not an absolute file URI; write file:///absolute/path",
                        redact(uri)
                    )
                })?;
            let path = PathBuf::from(percent_decode(path.split(['?', '#']).next().unwrap_or("")));
            if !path.is_file() {
                return Err(format!(
                    "{} does not exist or is not a file; check the path",
                    path.display()
                ));
            }
            Ok(Kind::File(path))
        }
        "http" | "https" => need_host(rest).map(|()| Kind::Http),
        "rtsp" | "rtsps" | "rtspt" => need_host(rest).map(|()| Kind::Rtsp),
        "srt" => {
            // srt://:PORT (listener) has no host, which is valid.
            if !rest.starts_with("//") {
                return Err(format!(
                    "\"{}\" is not an SRT URI; write srt://host:port",
                    redact(uri)
                ));
            }
            Ok(Kind::Srt)
        }
        "rtmp" | "rtmps" => need_host(rest).map(|()| Kind::Rtmp),
        "whep+http" | "whep+https" => {
            need_host(rest)?;
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

/// The URI without userinfo, query or fragment, for logs and errors (both can hold tokens).
/// `test:` URIs are kept whole: their options are not secret and say what the source is.
pub fn redact(uri: &str) -> String {
    if uri.starts_with("test:") {
        return uri.to_string();
    }
    let base = uri.split(['?', '#']).next().unwrap_or("");
    let Some((scheme, rest)) = base.split_once("://") else {
        return base.to_string();
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => rest.split_at(i),
        None => (rest, ""),
    };
    let host = authority.rsplit('@').next().unwrap_or("");
    format!("{scheme}://{host}{path}")
}

/// Removes `uri`'s secrets (query string, userinfo) from `text`, e.g. an error message from an
/// element that quotes its location.
pub fn scrub(text: &str, uri: &str) -> String {
    let mut out = text.replace(uri, &redact(uri));
    let base = uri.split('#').next().unwrap_or("");
    if let Some((_, query)) = base.split_once('?')
        && !query.is_empty()
        && !uri.starts_with("test:")
    {
        out = out.replace(query, "…");
    }
    if let Some((_, rest)) = uri.split_once("://") {
        let authority = rest.split('/').next().unwrap_or("");
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            out = out.replace(userinfo, "…");
        }
    }
    out
}

/// Decodes `%XX` escapes in a file URI's path (spaces and non-ASCII names).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
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
    fn redacted_uris_keep_no_tokens() {
        for (uri, want) in [
            (
                "rtmp://user:pw@live.example:1935/app/key?token=abc",
                "rtmp://live.example:1935/app/key",
            ),
            (
                "whep+https://sfu.example/whep?access_token=x#f",
                "whep+https://sfu.example/whep",
            ),
            (
                "srt://1.2.3.4:9000?passphrase=hunter22",
                "srt://1.2.3.4:9000",
            ),
            ("test:red?tone=440", "test:red?tone=440"),
        ] {
            assert_eq!(redact(uri), want);
        }
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let uri = "rtmp://bob:pw@live.example/app/key?token=abc";
        let msg = format!("could not open {uri}; also token=abc and bob:pw");
        let out = scrub(&msg, uri);
        assert!(!out.contains("abc") && !out.contains("pw"), "{out}");
        assert!(out.contains("rtmp://live.example/app/key"), "{out}");
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
