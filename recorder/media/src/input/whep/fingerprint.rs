//! The endpoint's DTLS certificate must be the one its answer names (`a=fingerprint`): that is
//! what binds the encrypted media to the HTTP exchange (and so to its TLS and bearer token).
//! webrtcbin 1.22 does not compare them (it connected to an aiortc endpoint whose answer named
//! another certificate), so the recorder does, once DTLS has connected.

/// An `a=fingerprint` of an answer: the hash function (lower case) and the hex digest as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Fingerprint {
    pub algorithm: String,
    pub digest: String,
}

/// Every `a=fingerprint` in `sdp` (session or media level).
pub fn in_sdp(sdp: &str) -> Vec<Fingerprint> {
    sdp.lines()
        .filter_map(|l| l.trim().strip_prefix("a=fingerprint:"))
        .filter_map(|v| v.trim().split_once(' '))
        .map(|(algorithm, digest)| Fingerprint {
            algorithm: algorithm.trim().to_ascii_lowercase(),
            digest: digest.trim().to_string(),
        })
        .collect()
}

/// `der` hashed with `algorithm` (`sha-1`, `sha-256`, `sha-384`, `sha-512`), as SDP writes it.
fn digest(algorithm: &str, der: &[u8]) -> Option<String> {
    let algorithm = match algorithm {
        "sha-1" => &ring::digest::SHA1_FOR_LEGACY_USE_ONLY,
        "sha-256" => &ring::digest::SHA256,
        "sha-384" => &ring::digest::SHA384,
        "sha-512" => &ring::digest::SHA512,
        _ => return None,
    };
    let d = ring::digest::digest(algorithm, der);
    Some(
        d.as_ref()
            .iter()
            .map(|b| format!("{b:02X}"))
            .collect::<Vec<_>>()
            .join(":"),
    )
}

/// Checks the certificate the endpoint presented (`peer_pem`, its first certificate) against the
/// answer's fingerprints: Ok when one of them matches; otherwise the error says which differ.
pub fn check(answer: &[Fingerprint], peer_pem: &str) -> Result<(), String> {
    let cert = pem::parse_many(peer_pem)
        .ok()
        .and_then(|blocks| blocks.into_iter().find(|b| b.tag() == "CERTIFICATE"))
        .ok_or("the endpoint's DTLS certificate cannot be read")?;
    if answer.is_empty() {
        return Err("the answer names no certificate fingerprint (a=fingerprint)".into());
    }
    let mut seen = Vec::new();
    for expected in answer {
        match digest(&expected.algorithm, cert.contents()) {
            Some(actual) if actual.eq_ignore_ascii_case(&expected.digest) => return Ok(()),
            Some(actual) => seen.push(format!("{} {actual}", expected.algorithm)),
            None => seen.push(format!(
                "{} (hash function not supported)",
                expected.algorithm
            )),
        }
    }
    Err(format!(
        "the endpoint's DTLS certificate ({}) is not the one its answer names ({}): the media \
         would not come from the endpoint that answered; refusing it",
        seen.join(", "),
        answer
            .iter()
            .map(|f| format!("{} {}", f.algorithm, f.digest))
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_presented_certificate_must_match_the_answer() {
        let (pem, fp) = super::super::cert::ecdsa().expect("a certificate");
        let right = in_sdp(&format!(
            "v=0\r\nm=video 9 X 96\r\na=fingerprint:SHA-256 {fp}\r\n"
        ));
        assert_eq!(right.len(), 1);
        assert_eq!(check(&right, pem), Ok(()));
        let lower = in_sdp(&format!("a=fingerprint:sha-256 {}", fp.to_lowercase()));
        assert_eq!(check(&lower, pem), Ok(()));
        let flipped = if fp.starts_with("00") { "11" } else { "00" };
        let wrong = in_sdp(&format!("a=fingerprint:sha-256 {flipped}{}", &fp[2..]));
        let err = check(&wrong, pem).unwrap_err();
        assert!(err.contains("not the one its answer names"), "{err}");
        assert!(err.contains(fp), "says what was presented: {err}");
        assert!(check(&[], pem).is_err());
        assert!(check(&right, "not a certificate").is_err());
    }
}
