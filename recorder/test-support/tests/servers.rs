//! The servers start, answer, survive a stop/restart on the same port, and keep what they hold.

use std::net::TcpStream;

use vcs_test_support::{RtmpServer, S3Server, TempDir};

#[test]
fn s3_server_answers_and_keeps_objects_across_a_restart() {
    let dir = TempDir::new("test-support-s3");
    let mut s3 = S3Server::start(&dir.path().join("s3"));
    s3.create_bucket("rec");
    std::fs::write(s3.object_path("rec", "a.txt"), "hello").expect("write object");
    let port = s3.port;
    s3.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
    s3.restart();
    assert_eq!(s3.port, port);
    // An unsigned request is answered (with an S3 error document), so the server is up.
    let agent = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .build(),
    );
    let reply = agent
        .get(format!("{}/rec/a.txt", s3.endpoint()))
        .call()
        .expect("s3s-fs answers");
    assert!(reply.status().is_client_error(), "{reply:?}");
    assert_eq!(
        std::fs::read_to_string(s3.object_path("rec", "a.txt")).expect("read object"),
        "hello"
    );
    let target = s3.target("rec", "k");
    assert_eq!(target.endpoint.as_deref(), Some(s3.endpoint().as_str()));
}

#[test]
fn s3_server_can_keep_its_own_temporary_root() {
    let s3 = S3Server::start_temporary();
    let root = s3.root.clone();
    assert!(root.is_dir());
    assert_eq!(s3.forget_multipart_uploads(), 0);
    drop(s3);
    assert!(
        !root.exists(),
        "the temporary root is removed with the server"
    );
}

#[test]
fn rtmp_server_listens_and_restarts_on_the_same_port() {
    let dir = TempDir::new("test-support-rtmp");
    let mut rtmp = RtmpServer::start(&dir.path().join("rtmp"));
    let port = rtmp.port;
    assert!(rtmp.url("k").ends_with(&format!(":{port}/live/k")));
    rtmp.stop();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err(), "stopped");
    rtmp.restart();
    assert!(TcpStream::connect(("127.0.0.1", port)).is_ok());
    assert!(rtmp.recordings().is_empty());
}
