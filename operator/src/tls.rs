//! The TLS crypto provider, chosen explicitly.
//!
//! rustls picks a process-wide provider from its crate features only when exactly one of
//! `ring` and `aws-lc-rs` is enabled. A workspace build enables both (kube's client asks for
//! `ring`, the recorder's AWS SDK for `aws-lc-rs`, and Cargo unifies the features of the one
//! rustls they share), so the first TLS client of the process panics with "Could not
//! automatically determine the process-level CryptoProvider". Every process that builds a kube
//! client (the operator, the e2e harness, benches, tools) calls [`install_crypto_provider`]
//! first; `tests/crypto_provider.rs` fails if one of them can panic this way again.

/// Installs rustls' `ring` provider (the one kube is built for) as the process default, unless
/// one is installed already. Idempotent and cheap: call it at the start of `main`.
pub fn install_crypto_provider() {
    if rustls::crypto::CryptoProvider::get_default().is_none() {
        // Losing a race against another thread installing one is fine: there is one now.
        let _ = rustls::crypto::ring::default_provider().install_default();
    }
}
