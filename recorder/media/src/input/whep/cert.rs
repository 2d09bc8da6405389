//! The DTLS certificate the recorder presents: ECDSA P-256, made once per process.
//!
//! webrtcbin's own certificate is RSA, and many DTLS clients (aiortc, and so every SFU built on
//! it) offer only ECDHE-ECDSA cipher suites: with an RSA certificate the handshake ends in "no
//! shared cipher" whenever the server answers `a=setup:active`. Browsers and SFUs use ECDSA
//! P-256, which every stack accepts.

use std::sync::OnceLock;

/// The certificate and its private key (PKCS#8), one PEM text, as GStreamer's DTLS elements take
/// it (`dtlssrtpdec`'s `pem`); and the certificate's SHA-256 fingerprint as SDP writes it
/// (`AB:CD:…`).
pub fn ecdsa() -> Result<(&'static str, &'static str), String> {
    static PEM: OnceLock<Result<(String, String), String>> = OnceLock::new();
    PEM.get_or_init(|| {
        let key = rcgen::KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)
            .map_err(|e| format!("generating the ECDSA P-256 DTLS key: {e}"))?;
        let cert = rcgen::CertificateParams::new(vec!["vcs-recorder".to_string()])
            .and_then(|params| params.self_signed(&key))
            .map_err(|e| format!("making the DTLS certificate: {e}"))?;
        let digest = ring::digest::digest(&ring::digest::SHA256, cert.der());
        let fingerprint: Vec<String> = digest.as_ref().iter().map(|b| format!("{b:02X}")).collect();
        Ok((
            format!("{}{}", cert.pem(), key.serialize_pem()),
            fingerprint.join(":"),
        ))
    })
    .as_ref()
    .map(|(pem, fp)| (pem.as_str(), fp.as_str()))
    .map_err(Clone::clone)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_certificate_is_ecdsa_and_made_once() {
        let (pem, fingerprint) = ecdsa().expect("a certificate");
        assert!(pem.starts_with("-----BEGIN CERTIFICATE-----"), "{pem}");
        assert!(pem.contains("-----BEGIN PRIVATE KEY-----"), "{pem}");
        assert_eq!(fingerprint.len(), 32 * 3 - 1, "{fingerprint}");
        assert!(std::ptr::eq(pem, ecdsa().expect("the same").0));
    }
}
