//! Watch streams: the objects as they are (from resourceVersion 0) or the changes after a
//! resourceVersion, then live changes, as newline-delimited watch events.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::Response;
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde_json::{Value, json};

use crate::apiserver::{Body, Inner, Query, Route};
use crate::store::{Change, Key, fields_match, selector_matches};

/// The watch event for `c` as a watch with these selectors sees it, if it sees it at all: an
/// object that starts or stops matching is ADDED or DELETED for this watch.
struct Filter {
    resource: String,
    namespace: Option<String>,
    label: String,
    field: String,
}

impl Filter {
    fn matches(&self, o: &Value) -> bool {
        selector_matches(&self.label, o) && fields_match(&self.field, o)
    }

    fn event(&self, c: &Change) -> Option<Value> {
        if c.key.resource != self.resource
            || self
                .namespace
                .as_ref()
                .is_some_and(|n| *n != c.key.namespace)
        {
            return None;
        }
        let now_m = !c.deleted && self.matches(&c.new);
        let was_m = c.old.as_ref().is_some_and(|o| self.matches(o));
        let ty = match (was_m, now_m) {
            (false, true) => "ADDED",
            (true, true) => "MODIFIED",
            (true, false) => "DELETED",
            (false, false) => return None,
        };
        Some(json!({"type": ty, "object": c.new}))
    }
}

pub(crate) fn respond(inner: &Arc<Inner>, route: Route, q: &Query) -> Response<Body> {
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(300u64);
    let filter = Arc::new(Filter {
        resource: route.resource.clone(),
        namespace: route.namespace.clone(),
        label: q.get("labelSelector").cloned().unwrap_or_default(),
        field: q.get("fieldSelector").cloned().unwrap_or_default(),
    });
    // Subscribe under the store lock: every change is then either in the history read here or
    // arrives live with a higher resourceVersion.
    let (rx, head, last) = {
        let store = inner.store();
        let rx = inner.subscribe();
        let head: Vec<Value> = if from == 0 {
            store
                .list(&route.resource, route.namespace.as_deref())
                .into_iter()
                .filter_map(|o| filter.event(&as_added(&route.resource, o)))
                .collect()
        } else {
            store
                .history
                .iter()
                .filter(|c| c.rv > from)
                .filter_map(|c| filter.event(c))
                .collect()
        };
        (rx, head, store.resource_version())
    };
    let live = futures::stream::unfold((rx, filter, last), |(mut rx, filter, last)| async move {
        loop {
            match rx.recv().await {
                Ok(c) if c.rv <= last => continue,
                Ok(c) => {
                    if let Some(ev) = filter.event(&c) {
                        return Some((ev, (rx, filter, c.rv)));
                    }
                }
                // Lagged or closed: end the watch; the client re-lists or re-watches.
                Err(_) => return None,
            }
        }
    });
    let deadline = tokio::time::sleep(Duration::from_secs(timeout));
    let stream = futures::stream::iter(head)
        .chain(live)
        .take_until(deadline)
        .map(|ev| Ok::<_, Infallible>(Frame::data(Bytes::from(format!("{ev}\n")))));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(StreamBody::new(stream).boxed_unsync())
        .expect("static response parts are valid")
}

/// An existing object as the change that added it (for a watch from resourceVersion 0).
fn as_added(resource: &str, o: Value) -> Change {
    Change {
        rv: 0,
        key: Key {
            resource: resource.into(),
            namespace: o
                .pointer("/metadata/namespace")
                .and_then(Value::as_str)
                .unwrap_or("")
                .into(),
            name: String::new(),
        },
        old: None,
        new: o,
        deleted: false,
    }
}
