//! The servers start, answer, survive a stop/restart on the same port, and keep what they hold.

use std::io::{Read, Write};
use std::net::TcpStream;

use vcs_testservers::{RtmpServer, S3Server};

fn temp(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vcs-testservers-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    dir
}

#[test]
fn s3_server_lists_buckets_and_keeps_objects_across_a_restart() {
    let mut s3 = S3Server::start(&temp("s3"));
    s3.create_bucket("rec");
    std::fs::write(s3.object_path("rec", "a.txt"), "hello").unwrap();
    let port = s3.port;
    s3.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
    s3.restart();
    assert_eq!(s3.port, port);
    // An unsigned request is answered (with an S3 error document), so the server is up.
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    c.write_all(b"GET /rec/a.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut reply = String::new();
    c.read_to_string(&mut reply).unwrap();
    assert!(reply.starts_with("HTTP/1.1 "), "{reply}");
    assert_eq!(
        std::fs::read_to_string(s3.object_path("rec", "a.txt")).unwrap(),
        "hello"
    );
}

#[test]
fn rtmp_server_listens_and_restarts_on_the_same_port() {
    let mut rtmp = RtmpServer::start(&temp("rtmp"));
    let port = rtmp.port;
    assert!(rtmp.url("k").ends_with(&format!(":{port}/live/k")));
    rtmp.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
    rtmp.restart();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(rtmp.recordings().is_empty());
}
