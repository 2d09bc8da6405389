//! The preview's HTTP side: the embedded page, the MJPEG frame stream, the page's edits and
//! queries. Everything the page needs is in the binary (`include_str!`): no build step, no npm.
//!
//! | method | path | what |
//! |---|---|---|
//! | GET | `/` `/app.js` `/style.css` | the page |
//! | GET | `/stream.mjpeg` | frames as `multipart/x-mixed-replace` JPEG parts, each with `X-Frame`, `X-Time`, `X-Applied`, `X-Ms` and `X-Stages` headers |
//! | GET | `/stream.ws` | the same frames over a WebSocket: one binary message each, a JSON header (`frame`, `time`, `applied`, `ms`, `stages`), a NUL byte, the JPEG (the page uses it with `?transport=ws`) |
//! | GET | `/api/state` | [`Status`](super::session::Status) |
//! | POST | `/api/edit` | an [`Edit`] (JSON tagged by `type`); answers `{"edit": n}` |
//! | GET | `/api/scene` | the current frame's scene JSON |
//! | GET | `/api/snapshot.png` | the current frame as PNG |
//! | GET | `/api/export` | the session as an events file |

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Json;
use axum::Router;
use axum::body::Body;
use axum::extract::State;
use axum::extract::ws::{Message, WebSocketUpgrade};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use tokio::sync::oneshot;

use super::session::{Edit, Frame, Handle, Query};

const INDEX_HTML: &str = include_str!("page/index.html");
const APP_JS: &str = include_str!("page/app.js");
const STYLE_CSS: &str = include_str!("page/style.css");

pub fn router(handle: Arc<Handle>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| static_file(INDEX_HTML, "text/html; charset=utf-8")),
        )
        .route(
            "/app.js",
            get(|| static_file(APP_JS, "text/javascript; charset=utf-8")),
        )
        .route(
            "/style.css",
            get(|| static_file(STYLE_CSS, "text/css; charset=utf-8")),
        )
        .route("/stream.mjpeg", get(stream))
        .route("/stream.ws", get(stream_ws))
        .route("/api/state", get(state))
        .route("/api/edit", post(edit))
        .route("/api/scene", get(scene))
        .route("/api/snapshot.png", get(snapshot))
        .route("/api/export", get(export))
        .with_state(handle)
}

async fn static_file(body: &'static str, content_type: &'static str) -> Response {
    ([(header::CONTENT_TYPE, content_type)], body).into_response()
}

/// One multipart part: headers the page reads (frame number, time, the last edit shown, the
/// frame's cost), then the JPEG.
fn part(f: &Frame) -> Vec<u8> {
    let head = format!(
        "--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {}\r\nX-Frame: {}\r\nX-Time: {:.3}\r\nX-Applied: {}\r\nX-Ms: {:.1}\r\nX-Stages: engine={:.1} paint={:.1} jpeg={:.1}\r\n\r\n",
        f.jpeg.len(),
        f.number,
        f.time,
        f.applied,
        f.ms,
        f.stages[0],
        f.stages[1],
        f.stages[2]
    );
    let mut out = Vec::with_capacity(head.len() + f.jpeg.len() + 2);
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(&f.jpeg);
    out.extend_from_slice(b"\r\n");
    out
}

/// MJPEG: every published frame as it comes (a slow reader skips to the newest one).
async fn stream(State(handle): State<Arc<Handle>>) -> Response {
    let mut frames = handle.frames.clone();
    frames.mark_changed();
    let parts = futures::stream::unfold(frames, |mut frames| async move {
        frames.changed().await.ok()?;
        let frame = frames.borrow_and_update().clone();
        Some((Ok::<_, Infallible>(part(&frame)), frames))
    });
    (
        [
            (
                header::CONTENT_TYPE,
                "multipart/x-mixed-replace; boundary=frame",
            ),
            (header::CACHE_CONTROL, "no-store"),
        ],
        Body::from_stream(parts),
    )
        .into_response()
}

/// The frames over a WebSocket, for comparing with MJPEG: the same JPEGs, framed by the
/// protocol instead of by multipart boundaries.
async fn stream_ws(State(handle): State<Arc<Handle>>, ws: WebSocketUpgrade) -> Response {
    let mut frames = handle.frames.clone();
    ws.on_upgrade(move |mut socket| async move {
        frames.mark_changed();
        while frames.changed().await.is_ok() {
            let f = frames.borrow_and_update().clone();
            let header = json!({
                "frame": f.number,
                "time": f.time,
                "applied": f.applied,
                "ms": f.ms,
                "stages": format!(
                    "engine={:.1} paint={:.1} jpeg={:.1}",
                    f.stages[0], f.stages[1], f.stages[2]
                ),
            });
            let mut message = header.to_string().into_bytes();
            message.push(0);
            message.extend_from_slice(&f.jpeg);
            if socket.send(Message::Binary(message.into())).await.is_err() {
                break;
            }
        }
    })
}

async fn state(State(handle): State<Arc<Handle>>) -> Response {
    Json(handle.status()).into_response()
}

/// Applies an edit; params are checked against the composition's declared params first, as a
/// recording's are.
async fn edit(State(handle): State<Arc<Handle>>, Json(edit): Json<Edit>) -> Response {
    if let Edit::Params { params } = &edit {
        let interface = handle.status().interface;
        if let Err(e) = vcs_engine::check_params(&interface, params) {
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": e.to_string()})),
            )
                .into_response();
        }
    }
    let n = handle.edit(edit);
    Json(json!({ "edit": n })).into_response()
}

async fn ask<T>(handle: &Handle, query: impl FnOnce(oneshot::Sender<T>) -> Query) -> Option<T> {
    let (tx, rx) = oneshot::channel();
    handle.query(query(tx));
    rx.await.ok()
}

async fn scene(State(handle): State<Arc<Handle>>) -> Response {
    match ask(&handle, Query::Scene).await.flatten() {
        Some(scene) => Json(scene).into_response(),
        None => not_yet(),
    }
}

async fn snapshot(State(handle): State<Arc<Handle>>) -> Response {
    match ask(&handle, Query::Snapshot).await.flatten() {
        Some(png) => ([(header::CONTENT_TYPE, "image/png")], png).into_response(),
        None => not_yet(),
    }
}

async fn export(State(handle): State<Arc<Handle>>) -> Response {
    let events = ask(&handle, Query::Export).await.unwrap_or(Value::Null);
    (
        [(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"preview-events.json\"",
        )],
        Json(events),
    )
        .into_response()
}

fn not_yet() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"error": "no frame yet: the composition has not rendered one"})),
    )
        .into_response()
}

/// Params from a `--params` file: a JSON object of values by id.
pub fn params_object(v: &Value) -> Option<BTreeMap<String, Value>> {
    v.as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
}
