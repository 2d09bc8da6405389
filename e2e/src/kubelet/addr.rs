//! Pod addresses: each pod gets its own loopback address (Linux routes all of 127.0.0.0/8 to
//! the loopback interface), as each real pod gets its own IP, so every pod can listen on the
//! same port.

use std::net::{Ipv4Addr, TcpListener};
use std::sync::atomic::{AtomicU32, Ordering};

/// Addresses handed out so far in this process; the start is spread by process id so that two
/// test processes on one machine (two helpers, two clusters) rarely try the same ones.
static NEXT: AtomicU32 = AtomicU32::new(0);

/// The `n`th address of the range 127.1.0.1 – 127.254.255.254, skipping `.0` and `.255`.
fn nth(n: u32) -> Ipv4Addr {
    let span = 254 * 256 * 254;
    let n = n % span;
    let (second, rest) = (1 + n / (256 * 254), n % (256 * 254));
    let (third, fourth) = (rest / 254, 1 + rest % 254);
    Ipv4Addr::new(127, second as u8, third as u8, fourth as u8)
}

/// A fresh loopback address on which every port of `ports` can be bound right now.
pub fn allocate(ports: &[u16]) -> Ipv4Addr {
    let base = std::process::id().wrapping_mul(7919);
    for _ in 0..10_000 {
        let ip = nth(base.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)));
        if ports.iter().all(|p| TcpListener::bind((ip, *p)).is_ok()) {
            return ip;
        }
    }
    panic!("no loopback address in 127.1.0.0-127.254.255.255 has ports {ports:?} free");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_stay_inside_loopback_and_avoid_network_and_broadcast_octets() {
        assert_eq!(nth(0), Ipv4Addr::new(127, 1, 0, 1));
        assert_eq!(nth(253), Ipv4Addr::new(127, 1, 0, 254));
        assert_eq!(nth(254), Ipv4Addr::new(127, 1, 1, 1));
        for n in [0, 1, 253, 254, 65_000, 16_000_000, u32::MAX] {
            let ip = nth(n);
            assert!(ip.is_loopback(), "{ip}");
            let [_, b, _, d] = ip.octets();
            assert!((1..=254).contains(&b) && (1..=254).contains(&d), "{ip}");
        }
        let a = allocate(&[]);
        let b = allocate(&[]);
        assert_ne!(a, b);
    }
}
