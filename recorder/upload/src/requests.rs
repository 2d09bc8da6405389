//! The S3 calls the uploader makes, each inside the outage retry loop and the request limit.
//!
//! Kept in one place so every call classifies failures the same way and sets the same content
//! type, whether it comes from a whole-object put or a multipart upload.

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
use bytes::Bytes;

use crate::error::{Location, classify};
use crate::retry::{Outcome, until_done};
use crate::uploader::Shared;

/// PutObject of `body` at `location`.
pub(crate) async fn put_object(
    shared: &Shared,
    client: &Client,
    location: &Location,
    body: Bytes,
) -> Outcome<()> {
    let mut ctx = shared.retry_context();
    let outcome = until_done(&mut ctx, "put object", location, || {
        let request = client
            .put_object()
            .bucket(&location.bucket)
            .key(&location.key)
            .set_content_type(content_type(&location.key).map(str::to_string))
            .body(ByteStream::from(body.clone()));
        async move {
            let _permit = shared.request_permit().await;
            request.send().await.map_err(|err| classify(err, location))
        }
    })
    .await;
    outcome.map(|_| ())
}

/// DeleteObject at `location` (deleting a missing object succeeds in S3).
pub(crate) async fn delete_object(
    shared: &Shared,
    client: &Client,
    location: &Location,
) -> Outcome<()> {
    let mut ctx = shared.retry_context();
    let outcome = until_done(&mut ctx, "delete object", location, || {
        let request = client
            .delete_object()
            .bucket(&location.bucket)
            .key(&location.key);
        async move {
            let _permit = shared.request_permit().await;
            request.send().await.map_err(|err| classify(err, location))
        }
    })
    .await;
    outcome.map(|_| ())
}

/// CreateMultipartUpload; returns the upload id.
pub(crate) async fn create_multipart_upload(
    shared: &Shared,
    client: &Client,
    location: &Location,
) -> Outcome<String> {
    let mut ctx = shared.retry_context();
    let outcome = until_done(&mut ctx, "create multipart upload", location, || {
        let request = client
            .create_multipart_upload()
            .bucket(&location.bucket)
            .key(&location.key)
            .set_content_type(content_type(&location.key).map(str::to_string));
        async move {
            let _permit = shared.request_permit().await;
            request.send().await.map_err(|err| classify(err, location))
        }
    })
    .await;
    outcome.map(|response| response.upload_id().unwrap_or_default().to_string())
}

/// UploadPart `number` of `upload_id`; returns the part's ETag.
pub(crate) async fn upload_part(
    shared: &Shared,
    client: &Client,
    location: &Location,
    upload_id: &str,
    number: i32,
    body: Bytes,
) -> Outcome<String> {
    let mut ctx = shared.retry_context();
    let what = format!("upload part {number}");
    let outcome = until_done(&mut ctx, &what, location, || {
        let request = client
            .upload_part()
            .bucket(&location.bucket)
            .key(&location.key)
            .upload_id(upload_id)
            .part_number(number)
            .body(ByteStream::from(body.clone()));
        async move {
            let _permit = shared.request_permit().await;
            request.send().await.map_err(|err| classify(err, location))
        }
    })
    .await;
    outcome.map(|response| response.e_tag().unwrap_or_default().to_string())
}

/// CompleteMultipartUpload with `(part number, ETag)` pairs in ascending order.
pub(crate) async fn complete_multipart_upload(
    shared: &Shared,
    client: &Client,
    location: &Location,
    upload_id: &str,
    parts: &[(i32, String)],
) -> Outcome<()> {
    let completed = CompletedMultipartUpload::builder()
        .set_parts(Some(
            parts
                .iter()
                .map(|(number, etag)| {
                    CompletedPart::builder()
                        .part_number(*number)
                        .e_tag(etag)
                        .build()
                })
                .collect(),
        ))
        .build();
    let mut ctx = shared.retry_context();
    let outcome = until_done(&mut ctx, "complete multipart upload", location, || {
        let request = client
            .complete_multipart_upload()
            .bucket(&location.bucket)
            .key(&location.key)
            .upload_id(upload_id)
            .multipart_upload(completed.clone());
        async move {
            let _permit = shared.request_permit().await;
            request.send().await.map_err(|err| classify(err, location))
        }
    })
    .await;
    outcome.map(|_| ())
}

/// MIME type for the recorder's outputs, so players can fetch them straight from the bucket.
pub(crate) fn content_type(key: &str) -> Option<&'static str> {
    let extension = key.rsplit_once('.').map(|(_, e)| e.to_ascii_lowercase())?;
    Some(match extension.as_str() {
        "m3u8" => "application/vnd.apple.mpegurl",
        "m4s" => "video/iso.segment",
        "ts" => "video/mp2t",
        "mp4" | "m4v" => "video/mp4",
        "m4a" => "audio/mp4",
        "json" => "application/json",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::content_type;

    #[test]
    fn outputs_get_their_mime_types() {
        assert_eq!(
            content_type("rec/index.m3u8"),
            Some("application/vnd.apple.mpegurl")
        );
        assert_eq!(content_type("rec/seg00001.M4S"), Some("video/iso.segment"));
        assert_eq!(content_type("rec/out.mp4"), Some("video/mp4"));
        assert_eq!(content_type("rec/notes"), None);
    }
}
