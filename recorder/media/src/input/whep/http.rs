//! WHEP's HTTP side (RFC 9725): POST the offer, take the answer, the session's `Location` and the
//! ICE servers from `Link` headers; DELETE the session at the end. A bearer token rides in the
//! endpoint URL's password (`whep+https://:TOKEN@sfu.example/whep/room`), never in logs.

use std::time::Duration;

use super::super::uri::redact;

/// How long each HTTP request may take.
const HTTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Where to POST offers, and the bearer token to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The URL without userinfo.
    pub url: String,
    pub token: Option<String>,
}

impl Endpoint {
    /// Splits the token (the URL's password, or its username when there is no password) off
    /// `endpoint` (an `http(s)` URL).
    pub fn parse(endpoint: &str) -> Endpoint {
        let Ok(mut url) = url::Url::parse(endpoint) else {
            return Endpoint {
                url: endpoint.to_string(),
                token: None,
            };
        };
        let token = url
            .password()
            .or(Some(url.username()))
            .filter(|t| !t.is_empty())
            // Userinfo is percent-encoded (a token may hold any character).
            .map(|t| {
                percent_encoding::percent_decode_str(t)
                    .decode_utf8_lossy()
                    .into_owned()
            });
        let _ = url.set_username("");
        let _ = url.set_password(None);
        Endpoint {
            url: url.to_string(),
            token,
        }
    }
}

/// An ICE server the endpoint named in a `Link: <…>; rel="ice-server"` header.
#[derive(Debug, Clone, PartialEq)]
pub struct IceServer {
    /// `stun:host:port` or `turn(s):host:port?transport=…`.
    pub uri: String,
    pub username: Option<String>,
    pub credential: Option<String>,
}

impl IceServer {
    /// The form webrtcbin takes: `stun://host:port`, `turn://user:pass@host:port?transport=udp`.
    pub fn gst_uri(&self) -> Option<String> {
        let (scheme, rest) = self.uri.split_once(':')?;
        let userinfo = match (scheme, &self.username, &self.credential) {
            ("turn" | "turns", Some(u), Some(c)) => {
                format!("{}:{}@", encode_userinfo(u), encode_userinfo(c))
            }
            ("turn" | "turns", _, _) => return None,
            _ => String::new(),
        };
        matches!(scheme, "stun" | "stuns" | "turn" | "turns")
            .then(|| format!("{scheme}://{userinfo}{}", rest.trim_start_matches("//")))
    }
}

fn encode_userinfo(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The ICE servers among `Link` header values.
pub fn ice_servers<'a>(links: impl IntoIterator<Item = &'a str>) -> Vec<IceServer> {
    let mut out = Vec::new();
    for header in links {
        // One header may hold several links, comma-separated (commas do not occur in ICE URIs).
        for link in header.split(',') {
            let Some((target, params)) = link
                .trim()
                .strip_prefix('<')
                .and_then(|l| l.split_once('>'))
            else {
                continue;
            };
            let param = |name: &str| {
                params.split(';').find_map(|p| {
                    let (k, v) = p.trim().split_once('=')?;
                    (k.trim().eq_ignore_ascii_case(name))
                        .then(|| v.trim().trim_matches('"').to_string())
                })
            };
            if param("rel").as_deref() == Some("ice-server") {
                out.push(IceServer {
                    uri: target.to_string(),
                    username: param("username"),
                    credential: param("credential"),
                });
            }
        }
    }
    out
}

/// What the endpoint answered to an offer.
#[derive(Debug)]
pub struct Answer {
    pub sdp: String,
    /// The session's resource (absolute), to DELETE at the end.
    pub session: Option<String>,
    pub ice_servers: Vec<IceServer>,
    /// The endpoint takes trickled candidates (`Accept-Patch: application/trickle-ice-sdpfrag`).
    pub accepts_trickle: bool,
    /// The session's entity tag, for `If-Match` on PATCH.
    pub etag: Option<String>,
}

fn agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .build(),
    )
}

/// POSTs `offer`; an error says what went wrong in words a user can act on.
pub fn post_offer(endpoint: &Endpoint, offer: &str) -> Result<Answer, String> {
    let mut request = agent(HTTP_TIMEOUT)
        .post(&endpoint.url)
        .header("Content-Type", "application/sdp")
        .header("Accept", "application/sdp");
    if let Some(token) = &endpoint.token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    let mut response = request
        .send(offer)
        .map_err(|e| format!("cannot reach the endpoint: {e}"))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    if status != 201 && status != 200 {
        let hint = match status {
            401 | 403 => "; check the bearer token (the URL's password)",
            404 => "; check the URL",
            _ => "",
        };
        let body: String = body.chars().take(200).collect();
        return Err(format!(
            "the endpoint refused the offer with HTTP {status}{hint}: {}",
            body.trim()
        ));
    }
    let headers = response.headers();
    let session = headers
        .get("location")
        .and_then(|l| l.to_str().ok())
        .map(|l| resolve(&endpoint.url, l));
    let ice_servers = ice_servers(
        headers
            .get_all("link")
            .iter()
            .filter_map(|v| v.to_str().ok()),
    );
    let accepts_trickle = headers
        .get_all("accept-patch")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(super::sdpfrag::accepts_trickle);
    let etag = headers
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if !body.trim_start().starts_with("v=0") {
        return Err("the endpoint's answer is not SDP".into());
    }
    Ok(Answer {
        sdp: body,
        session,
        ice_servers,
        accepts_trickle,
        etag,
    })
}

/// What the session resource made of a PATCH.
#[derive(Debug, PartialEq)]
pub enum Patched {
    /// Taken; the body (a fragment with the endpoint's own new candidates, or empty).
    Accepted(String),
    /// The endpoint does not do this kind of PATCH (HTTP 405, 415 or 501).
    Unsupported(u16),
}

/// PATCHes the session resource `session` with `body` of `content_type`; any other refusal or a
/// network error is an error saying which.
pub fn patch(
    session: &str,
    token: Option<&str>,
    etag: Option<&str>,
    content_type: &str,
    body: &str,
) -> Result<Patched, String> {
    let mut request = agent(HTTP_TIMEOUT)
        .patch(session)
        .header("Content-Type", content_type);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    if let Some(etag) = etag {
        request = request.header("If-Match", etag);
    }
    let mut response = request
        .send(body)
        .map_err(|e| format!("PATCH {}: {e}", redact(session)))?;
    let status = response.status().as_u16();
    let body = response.body_mut().read_to_string().unwrap_or_default();
    match status {
        200..=299 => Ok(Patched::Accepted(body)),
        405 | 415 | 501 => Ok(Patched::Unsupported(status)),
        _ => Err(format!(
            "PATCH {}: HTTP {status}: {}",
            redact(session),
            body.chars().take(200).collect::<String>().trim()
        )),
    }
}

/// The session URL from the answer's `Location`, which may be relative to the endpoint.
pub fn resolve(endpoint: &str, location: &str) -> String {
    url::Url::parse(endpoint)
        .and_then(|base| base.join(location))
        .map(String::from)
        // The endpoint was parsed when the input started; keep the location as given otherwise.
        .unwrap_or_else(|_| location.to_string())
}

/// Ends the session (HTTP DELETE of its resource), best effort: the SFU times it out anyway.
pub fn delete(session: &str, token: Option<&str>, what: &str) {
    let mut request = agent(Duration::from_secs(2)).delete(session);
    if let Some(token) = token {
        request = request.header("Authorization", &format!("Bearer {token}"));
    }
    match request.call() {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => {
            tracing::warn!(input = %what, session = %redact(session), status = r.status().as_u16(), "WHEP session not deleted")
        }
        Err(e) => {
            tracing::warn!(input = %what, session = %redact(session), cause = %e, "WHEP session not deleted")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_locations_resolve_against_the_endpoint() {
        let ep = "https://sfu.example:8443/whep/room1?token=x";
        for (loc, want) in [
            ("/sessions/42", "https://sfu.example:8443/sessions/42"),
            ("sessions/42", "https://sfu.example:8443/whep/sessions/42"),
            ("https://other/s/1", "https://other/s/1"),
        ] {
            assert_eq!(resolve(ep, loc), want);
        }
    }

    #[test]
    fn the_token_is_the_urls_password() {
        let ep = Endpoint::parse("https://:s%40cret@sfu.example/whep/r");
        assert_eq!(ep.url, "https://sfu.example/whep/r");
        assert_eq!(ep.token.as_deref(), Some("s@cret"));
        let ep = Endpoint::parse("http://tok@127.0.0.1:8/whep");
        assert_eq!(ep.token.as_deref(), Some("tok"));
        assert_eq!(Endpoint::parse("http://h/w").token, None);
    }

    #[test]
    fn ice_servers_come_from_link_headers() {
        let servers = ice_servers([
            "<stun:stun.example.net:3478>; rel=\"ice-server\"",
            "<turn:turn.example.net?transport=udp>; rel=\"ice-server\"; username=\"u\"; \
             credential=\"p w\"; credential-type=\"password\", </other>; rel=\"next\"",
        ]);
        assert_eq!(servers.len(), 2, "{servers:?}");
        assert_eq!(
            servers[0].gst_uri().as_deref(),
            Some("stun://stun.example.net:3478")
        );
        assert_eq!(
            servers[1].gst_uri().as_deref(),
            Some("turn://u:p%20w@turn.example.net?transport=udp")
        );
    }
}
