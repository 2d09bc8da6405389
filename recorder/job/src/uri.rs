//! Track and output URIs: which kinds the recorder understands, and one rule for showing a URI
//! in a log line or an error, where it must never carry a secret.
//!
//! Secrets ride in three places: userinfo (`rtsp://admin:pw@cam/`), the query string
//! (`?token=…`, `?passphrase=…`) and, for RTMP, the path after the application (the stream key,
//! which nginx-rtmp also uses as the play name, so pull URLs carry it too). [`redact`] drops the
//! first two and replaces the stream key with `…`; `test:` URIs are kept whole, their options are
//! not secret and say what the source is. A string that does not parse as a URL gets the same
//! treatment by plain text splitting, so a typo never leaks the password it contains.

use url::Url;

/// The track URI kinds the recorder understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UriScheme {
    Test,
    File,
    Http,
    Rtsp,
    Srt,
    Rtmp,
    Whep,
}

impl UriScheme {
    pub const ALL_PREFIXES: &'static str =
        "test:, file:, http:, https:, rtsp:, srt:, rtmp:, rtmps:, whep+http:, whep+https:";

    /// The scheme of `uri`, or `None` when it is not a URI or not one we can record.
    pub fn of(uri: &str) -> Option<Self> {
        Self::from_scheme(Url::parse(uri.trim()).ok()?.scheme())
    }

    /// The kind a (lower-case) scheme names.
    pub fn from_scheme(scheme: &str) -> Option<Self> {
        Some(match scheme {
            "test" => Self::Test,
            "file" => Self::File,
            "http" | "https" => Self::Http,
            "rtsp" | "rtsps" | "rtspt" => Self::Rtsp,
            "srt" => Self::Srt,
            "rtmp" | "rtmps" => Self::Rtmp,
            "whep+http" | "whep+https" => Self::Whep,
            _ => return None,
        })
    }
}

/// What a log line or an error may show of `uri`: no userinfo, query or fragment, and no RTMP
/// stream key (`rtmp://host/app/…`). `test:` URIs are returned whole.
pub fn redact(uri: &str) -> String {
    let uri = uri.trim();
    if is_test(uri) {
        return uri.to_string();
    }
    // Without `//` (`admin:pw@cam`) everything after the colon is an opaque path to `url`.
    let Some(mut url) = Url::parse(uri).ok().filter(|u| !u.cannot_be_a_base()) else {
        return redact_text(uri);
    };
    // Cannot fail: only URLs without a host refuse them, and those have no userinfo to drop.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    url.set_query(None);
    url.set_fragment(None);
    if is_rtmp(url.scheme()) {
        let app = url
            .path_segments()
            .and_then(|mut s| s.next())
            .unwrap_or("")
            .to_string();
        url.set_path("");
        // Appended as text: `set_path` would percent-encode the ellipsis.
        return if app.is_empty() {
            format!("{url}/…")
        } else {
            format!("{url}/{app}/…")
        };
    }
    url.to_string()
}

/// [`redact`] for a string `url` cannot parse, by plain splitting: drop everything from the first
/// `?` or `#`, and the userinfo before the last `@` of the authority.
fn redact_text(uri: &str) -> String {
    let base = uri.split(['?', '#']).next().unwrap_or("");
    let (scheme, rest) = match base.find("://") {
        Some(i) => base.split_at(i + 3),
        None => ("", base),
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    if is_rtmp(&scheme.trim_end_matches("://").to_ascii_lowercase()) {
        return match path.split('/').nth(1).filter(|app| !app.is_empty()) {
            Some(app) => format!("{scheme}{host}/{app}/…"),
            None => format!("{scheme}{host}/…"),
        };
    }
    format!("{scheme}{host}{path}")
}

/// Removes `uri`'s secrets from `text`, such as an error from a GStreamer element that quotes its
/// location: the URI itself becomes its [`redact`]ed form, and its userinfo, query and RTMP
/// stream key become `…` wherever else they appear.
pub fn scrub(text: &str, uri: &str) -> String {
    let uri = uri.trim();
    let mut out = text.replace(uri, &redact(uri));
    if is_test(uri) {
        return out;
    }
    // Matched verbatim in the message, so taken from the string as given rather than from its
    // normalised parse (which may percent-encode or lower-case them).
    for secret in secrets(uri) {
        out = out.replace(secret, "…");
    }
    out
}

/// The parts of `uri` as written that may be secret: userinfo, query, RTMP stream key.
fn secrets(uri: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let without_fragment = uri.split('#').next().unwrap_or("");
    let (base, query) = without_fragment
        .split_once('?')
        .unwrap_or((without_fragment, ""));
    found.push(query);
    if let Some((scheme, rest)) = base.split_once("://") {
        let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
        if let Some((userinfo, _)) = authority.rsplit_once('@') {
            found.push(userinfo);
        }
        if is_rtmp(&scheme.to_ascii_lowercase()) {
            // `/app/key…`: everything after the application.
            let key = path.splitn(3, '/').nth(2).unwrap_or("");
            // A very short key would match ordinary words in the message.
            if key.len() >= 4 {
                found.push(key);
            }
        }
    }
    found.retain(|s| !s.is_empty());
    found
}

fn is_test(uri: &str) -> bool {
    uri.get(..5)
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case("test:"))
}

fn is_rtmp(scheme: &str) -> bool {
    matches!(scheme, "rtmp" | "rtmps")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uri_schemes_are_recognised() {
        assert_eq!(UriScheme::of("test:"), Some(UriScheme::Test));
        assert_eq!(UriScheme::of("whep+https://sfu/x"), Some(UriScheme::Whep));
        assert_eq!(UriScheme::of("RTSP://cam"), Some(UriScheme::Rtsp));
        assert_eq!(UriScheme::of("nope"), None);
        assert_eq!(UriScheme::of("ftp://x"), None);
    }

    #[test]
    fn redacted_uris_keep_no_tokens() {
        for (uri, want) in [
            (
                "rtmp://user:pw@live.example:1935/app/key?token=abc",
                "rtmp://live.example:1935/app/…",
            ),
            (
                "whep+https://sfu.example/whep?access_token=x#f",
                "whep+https://sfu.example/whep",
            ),
            (
                "srt://1.2.3.4:9000?passphrase=hunter22",
                "srt://1.2.3.4:9000",
            ),
            (
                "rtsp://admin:secret@cam.local/live",
                "rtsp://cam.local/live",
            ),
            ("test:red?tone=440", "test:red?tone=440"),
        ] {
            assert_eq!(redact(uri), want, "{uri}");
        }
    }

    #[test]
    fn redacted_rtmp_urls_keep_host_and_app_but_not_keys_or_credentials() {
        for (url, want) in [
            (
                "rtmp://a.example:1935/live/secret-key",
                "rtmp://a.example:1935/live/…",
            ),
            (
                "rtmps://user:pw@b.example/app/k?x=1",
                "rtmps://b.example/app/…",
            ),
            ("rtmp://host", "rtmp://host/…"),
        ] {
            assert_eq!(redact(url), want, "{url}");
        }
    }

    #[test]
    fn strings_that_do_not_parse_lose_their_secrets_too() {
        for (uri, want) in [
            ("rtmp://user:secret@/app/key", "rtmp:///app/…"),
            (
                "rtsp://admin:secret@cam:99999/x?token=t",
                "rtsp://cam:99999/x",
            ),
            ("http://[::1/x?sig=abc", "http://[::1/x"),
            ("nonsense", "nonsense"),
        ] {
            assert!(Url::parse(uri).is_err(), "{uri} parses");
            assert_eq!(redact(uri), want, "{uri}");
        }
        // Parses, but as an opaque path (`admin:` is taken for a scheme).
        assert_eq!(redact("admin:secret@cam"), "cam");
    }

    #[test]
    fn secrets_are_scrubbed_from_messages() {
        let uri = "rtmp://bob:pw@live.example/app/key?token=abc";
        let msg = format!("could not open {uri}; also token=abc and bob:pw");
        let out = scrub(&msg, uri);
        assert!(!out.contains("abc") && !out.contains("pw"), "{out}");
        assert!(out.contains("rtmp://live.example/app/…"), "{out}");

        let url = "rtmp://h/live/sk_12345";
        let m = scrub(
            "could not connect to rtmp://h/live/sk_12345 (stream sk_12345)",
            url,
        );
        assert!(!m.contains("sk_12345"), "{m}");
        assert!(m.contains("rtmp://h/live/…"), "{m}");
    }
}
