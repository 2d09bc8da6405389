//! Trickle ICE SDP fragments (RFC 8840, `application/trickle-ice-sdpfrag`) as WHEP (RFC 9725)
//! sends them by PATCH: the offer's ICE credentials and media sections, the candidates gathered
//! since the last fragment, `a=end-of-candidates` once gathering is over. Pure text; the HTTP and
//! webrtcbin side is in `trickle.rs`.

/// What of the offer every fragment repeats: its ICE credentials and its media sections.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OfferIce {
    ufrag: String,
    pwd: String,
    /// Each media section's `m=` line and `a=mid`, in order (the index is the mline index).
    sections: Vec<(String, Option<String>)>,
}

impl OfferIce {
    /// Reads the credentials (media-level, else session-level) and sections of `sdp`.
    pub fn of(sdp: &str) -> OfferIce {
        let mut ice = OfferIce::default();
        for line in sdp.lines() {
            if line.starts_with("m=") {
                ice.sections.push((line.to_string(), None));
            } else if let Some(mid) = line.strip_prefix("a=mid:") {
                if let Some(section) = ice.sections.last_mut() {
                    section.1 = Some(mid.trim().to_string());
                }
            } else if let Some(ufrag) = line.strip_prefix("a=ice-ufrag:") {
                if ice.ufrag.is_empty() {
                    ice.ufrag = ufrag.trim().to_string();
                }
            } else if let Some(pwd) = line.strip_prefix("a=ice-pwd:")
                && ice.pwd.is_empty()
            {
                ice.pwd = pwd.trim().to_string();
            }
        }
        ice
    }

    /// The fragment carrying `candidates` (mline index, `candidate:…` as webrtcbin gives them),
    /// ended (`a=end-of-candidates` in the first section, the bundle's transport) when `end`.
    pub fn fragment(&self, candidates: &[(u32, String)], end: bool) -> String {
        let mut out = format!("a=ice-ufrag:{}\r\na=ice-pwd:{}\r\n", self.ufrag, self.pwd);
        for (index, (mline, mid)) in self.sections.iter().enumerate() {
            let index = u32::try_from(index).unwrap_or(u32::MAX);
            let here: Vec<&String> = candidates
                .iter()
                .filter(|(i, _)| *i == index)
                .map(|(_, c)| c)
                .collect();
            let ends_here = end && index == 0;
            if here.is_empty() && !ends_here {
                continue;
            }
            out.push_str(mline);
            out.push_str("\r\n");
            if let Some(mid) = mid {
                out.push_str(&format!("a=mid:{mid}\r\n"));
            }
            for c in here {
                out.push_str(&format!("a={}\r\n", c.trim_start_matches("a=")));
            }
            if ends_here {
                out.push_str("a=end-of-candidates\r\n");
            }
        }
        out
    }

    /// The candidates in a fragment the endpoint sent back (a PATCH response), with the mline
    /// index of the section they belong to (by `a=mid`, else by position; the first when
    /// neither says).
    pub fn remote_candidates(&self, fragment: &str) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        let mut index = 0u32;
        let mut seen_m = 0u32;
        for line in fragment.lines() {
            let line = line.trim();
            if line.starts_with("m=") {
                index = seen_m;
                seen_m += 1;
            } else if let Some(mid) = line.strip_prefix("a=mid:") {
                if let Some(i) = self
                    .sections
                    .iter()
                    .position(|(_, m)| m.as_deref() == Some(mid))
                {
                    index = u32::try_from(i).unwrap_or(0);
                }
            } else if let Some(c) = line.strip_prefix("a=")
                && c.starts_with("candidate:")
            {
                out.push((index, c.to_string()));
            }
        }
        out
    }
}

/// The offer to POST when candidates will follow by PATCH: no candidate, no end, and
/// `a=ice-options:trickle` in every media section (so the endpoint waits for them).
pub fn trickle_offer(sdp: &str) -> String {
    let mut out = String::new();
    let mut in_media = false;
    let mut has_option = false;
    let close = |out: &mut String, in_media: bool, has_option: bool| {
        if in_media && !has_option {
            out.push_str("a=ice-options:trickle\r\n");
        }
    };
    for line in sdp.lines() {
        if line.starts_with("m=") {
            close(&mut out, in_media, has_option);
            in_media = true;
            has_option = false;
        }
        if line.starts_with("a=candidate:") || line.starts_with("a=end-of-candidates") {
            continue;
        }
        has_option |= in_media && line == "a=ice-options:trickle";
        out.push_str(line);
        out.push_str("\r\n");
    }
    close(&mut out, in_media, has_option);
    out
}

/// Whether an `Accept-Patch` header value admits trickle ICE fragments.
pub fn accepts_trickle(accept_patch: &str) -> bool {
    accept_patch.split(',').any(|t| {
        t.split(';').next().is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/trickle-ice-sdpfrag")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const OFFER: &str = "v=0\r\na=group:BUNDLE video0 audio1\r\na=ice-options:trickle\r\n\
        m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=ice-ufrag:Uf\r\na=ice-pwd:Pw\r\na=mid:video0\r\n\
        a=candidate:1 1 UDP 2 127.0.0.1 4000 typ host\r\n\
        m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=ice-ufrag:Uf\r\na=ice-pwd:Pw\r\na=mid:audio1\r\n";

    #[test]
    fn fragments_carry_credentials_section_candidates_and_the_end() {
        let ice = OfferIce::of(OFFER);
        let frag = ice.fragment(
            &[(0, "candidate:7 1 UDP 9 127.0.0.1 5000 typ host".into())],
            false,
        );
        assert_eq!(
            frag,
            "a=ice-ufrag:Uf\r\na=ice-pwd:Pw\r\nm=video 9 UDP/TLS/RTP/SAVPF 96 102\r\n\
             a=mid:video0\r\na=candidate:7 1 UDP 9 127.0.0.1 5000 typ host\r\n"
        );
        let end = ice.fragment(&[], true);
        assert!(
            end.ends_with("a=mid:video0\r\na=end-of-candidates\r\n"),
            "{end}"
        );
        assert!(!end.contains("m=audio"), "{end}");
        let audio = ice.fragment(
            &[(1, "candidate:8 1 UDP 9 10.0.0.1 5 typ host".into())],
            true,
        );
        assert!(audio.contains("m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:audio1\r\na=candidate:8"));
    }

    #[test]
    fn remote_candidates_map_to_their_section() {
        let ice = OfferIce::of(OFFER);
        let frag = "a=ice-ufrag:x\r\na=ice-pwd:y\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n\
                    a=mid:audio1\r\na=candidate:3 1 udp 5 192.0.2.1 7 typ host\r\na=end-of-candidates\r\n";
        assert_eq!(
            ice.remote_candidates(frag),
            [(1, "candidate:3 1 udp 5 192.0.2.1 7 typ host".to_string())]
        );
        assert!(ice.remote_candidates("").is_empty());
    }

    #[test]
    fn trickle_offers_carry_no_candidate_and_announce_trickle() {
        let offer = trickle_offer(OFFER);
        assert!(!offer.contains("a=candidate"), "{offer}");
        assert!(!offer.contains("end-of-candidates"), "{offer}");
        assert_eq!(offer.matches("a=ice-options:trickle").count(), 3, "{offer}");
    }

    #[test]
    fn accept_patch_admits_trickle_or_not() {
        assert!(accepts_trickle("application/trickle-ice-sdpfrag"));
        assert!(accepts_trickle(
            "application/sdp, Application/Trickle-ICE-Sdpfrag; q=1"
        ));
        assert!(!accepts_trickle("application/sdp"));
        assert!(!accepts_trickle(""));
    }
}
