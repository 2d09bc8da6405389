//! An in-process Kubernetes API server that a real `kube::Client` talks to (as a tower
//! service, no socket): list and watch, get, create, replace, merge patch, server-side apply (as
//! a merge of the applied fields, which is how the controllers use it), delete with
//! preconditions, the status subresource, resourceVersion conflicts, finalizers.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, StreamBody, combinators::UnsyncBoxBody};
use hyper::body::Frame;
use serde_json::{Value, json};
use tokio::sync::broadcast;

use super::store::{ApiError, Change, Key, Store, fields_match, merge, selector_matches};

type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Write counts by `VERB resource[/sub]`, for "a settled object is not written" checks.
pub type WriteCounts = BTreeMap<String, u64>;

struct Inner {
    store: Mutex<Store>,
    changes: broadcast::Sender<Arc<Change>>,
    write_latency: Mutex<Duration>,
    writes: Mutex<WriteCounts>,
}

/// The fake API server. Cheap to clone; all clones share one store.
#[derive(Clone)]
pub struct FakeApi {
    inner: Arc<Inner>,
}

impl Default for FakeApi {
    fn default() -> Self {
        Self::new()
    }
}

impl FakeApi {
    pub fn new() -> Self {
        let (changes, _) = broadcast::channel(1 << 16);
        Self {
            inner: Arc::new(Inner {
                store: Mutex::new(Store::default()),
                changes,
                write_latency: Mutex::new(Duration::ZERO),
                writes: Mutex::new(BTreeMap::new()),
            }),
        }
    }

    /// A client for this server, default namespace `default`.
    pub fn client(&self) -> kube::Client {
        let inner = self.inner.clone();
        let svc = tower::service_fn(move |req: Request<kube::client::Body>| {
            let inner = inner.clone();
            async move { Ok::<_, Infallible>(handle(inner, req).await) }
        });
        kube::Client::new(svc, "default")
    }

    /// Every write waits this long first (other requests go on meanwhile).
    pub fn set_write_latency(&self, d: Duration) {
        *self.inner.write_latency.lock().expect("lock") = d;
    }

    pub fn writes(&self) -> WriteCounts {
        self.inner.writes.lock().expect("lock").clone()
    }

    /// Every stored object of `resource` (`pods`, `vcs.dev/recordings`).
    pub fn objects(&self, resource: &str) -> Vec<Value> {
        self.inner.store.lock().expect("lock").list(resource, None)
    }

    /// Subscribes to changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.inner.changes.subscribe()
    }

    /// Applies `f` to the stored object directly (as another actor would, e.g. a kubelet),
    /// as a status write when `status` is set.
    pub fn modify(
        &self,
        key: &Key,
        status: bool,
        f: impl FnOnce(&mut Value),
    ) -> Result<Value, ApiError> {
        let mut store = self.inner.store.lock().expect("lock");
        let mut obj = store.get(key)?;
        f(&mut obj);
        let r = store.update(key, obj, status, None);
        self.publish(&mut store);
        r
    }

    fn publish(&self, store: &mut Store) {
        publish(&self.inner, store);
    }
}

/// Sends the store's pending changes to live watches; called with the store locked, so a watch
/// that subscribes under the same lock sees every change exactly once (history or live).
fn publish(inner: &Inner, store: &mut Store) {
    for c in store.log.drain(..) {
        let _ = inner.changes.send(c);
    }
}

struct Route {
    resource: String,
    namespace: Option<String>,
    name: Option<String>,
    sub: Option<String>,
}

fn parse_path(path: &str) -> Option<Route> {
    let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, rest) = match parts.as_slice() {
        ["api", "v1", rest @ ..] => (String::new(), rest),
        ["apis", g, _v, rest @ ..] => ((*g).to_string(), rest),
        _ => return None,
    };
    let (namespace, rest) = match rest {
        ["namespaces", ns, rest @ ..] if !rest.is_empty() => (Some((*ns).to_string()), rest),
        _ => (None, rest),
    };
    let (plural, name, sub) = match rest {
        [p] => (*p, None, None),
        [p, n] => (*p, Some(*n), None),
        [p, n, s] => (*p, Some(*n), Some(*s)),
        _ => return None,
    };
    let resource = if group.is_empty() {
        plural.to_string()
    } else {
        format!("{group}/{plural}")
    };
    Some(Route {
        resource,
        namespace,
        name: name.map(str::to_string),
        sub: sub.map(str::to_string),
    })
}

fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(v) => {
                        out.push(v);
                        i += 3;
                    }
                    None => {
                        out.push(b'%');
                        i += 1;
                    }
                }
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn query(req: &Request<kube::client::Body>) -> BTreeMap<String, String> {
    req.uri()
        .query()
        .unwrap_or("")
        .split('&')
        .filter_map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (decode(k), decode(v)))
                .or(Some((decode(kv), String::new())))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect()
}

fn json_response(code: u16, v: &Value) -> Response<Body> {
    Response::builder()
        .status(StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(v.to_string())).boxed_unsync())
        .expect("static response parts are valid")
}

fn error_response(e: &ApiError) -> Response<Body> {
    json_response(
        e.code,
        &json!({"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":e.message,"reason":e.reason,"code":e.code}),
    )
}

async fn handle(inner: Arc<Inner>, req: Request<kube::client::Body>) -> Response<Body> {
    let Some(route) = parse_path(req.uri().path()) else {
        return error_response(&ApiError {
            code: 404,
            reason: "NotFound",
            message: format!("no route for {}", req.uri().path()),
        });
    };
    let q = query(&req);
    let method = req.method().clone();
    let content_type = req
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    if method != Method::GET {
        let verb = format!(
            "{method} {}{}",
            route.resource,
            route
                .sub
                .as_ref()
                .map(|s| format!("/{s}"))
                .unwrap_or_default()
        );
        *inner.writes.lock().expect("lock").entry(verb).or_default() += 1;
        let latency = *inner.write_latency.lock().expect("lock");
        if !latency.is_zero() {
            tokio::time::sleep(latency).await;
        }
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error_response(&ApiError::bad_request(format!("reading body: {e}"))),
    };
    let parsed: Option<Value> = if body.is_empty() {
        None
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => Some(v),
            Err(e) => {
                return error_response(&ApiError::bad_request(format!("body is not JSON: {e}")));
            }
        }
    };
    if method == Method::GET
        && route.name.is_none()
        && q.get("watch").is_some_and(|w| w == "true" || w == "1")
    {
        return watch(&inner, route, &q);
    }
    let ns = route.namespace.clone().unwrap_or_default();
    let key = |name: &str| Key {
        resource: route.resource.clone(),
        namespace: ns.clone(),
        name: name.to_string(),
    };
    let mut store = inner.store.lock().expect("lock");
    let result = match (&method, route.name.as_deref()) {
        (&Method::GET, None) => {
            let label = q.get("labelSelector").cloned().unwrap_or_default();
            let field = q.get("fieldSelector").cloned().unwrap_or_default();
            let items: Vec<Value> = store
                .list(&route.resource, route.namespace.as_deref())
                .into_iter()
                .filter(|o| selector_matches(&label, o) && fields_match(&field, o))
                .collect();
            Ok(
                json!({"apiVersion":"v1","kind":"List","metadata":{"resourceVersion":store.resource_version().to_string()},"items":items}),
            )
        }
        (&Method::GET, Some(n)) => store.get(&key(n)),
        (&Method::POST, None) => store.create(&route.resource, &ns, parsed.unwrap_or(Value::Null)),
        (&Method::PUT, Some(n)) => {
            let v = parsed.unwrap_or(Value::Null);
            let pre = v
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
            store.update(
                &key(n),
                v,
                route.sub.as_deref() == Some("status"),
                pre.as_deref(),
            )
        }
        (&Method::PATCH, Some(n)) => {
            let patch = parsed.unwrap_or(Value::Null);
            let pre = patch
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .map(str::to_string);
            let status = route.sub.as_deref() == Some("status");
            if content_type.contains("json-patch") {
                Err(ApiError { code: 415, reason: "UnsupportedMediaType", message: "the fake API server speaks merge patches and server-side apply, not JSON patches".into() })
            } else {
                match store.get(&key(n)) {
                    Ok(mut obj) => {
                        merge(&mut obj, &patch);
                        store.update(&key(n), obj, status, pre.as_deref())
                    }
                    Err(e) if content_type.contains("apply-patch") && !status => {
                        let _ = e;
                        store.create(&route.resource, &ns, patch)
                    }
                    Err(e) => Err(e),
                }
            }
        }
        (&Method::DELETE, Some(n)) => {
            let pre = parsed
                .as_ref()
                .and_then(|v| v.pointer("/preconditions/resourceVersion"))
                .and_then(Value::as_str)
                .map(str::to_string);
            store.delete(&key(n), pre.as_deref())
        }
        _ => Err(ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: format!("{method} not supported here"),
        }),
    };
    publish(&inner, &mut store);
    drop(store);
    match result {
        Ok(v) => json_response(if method == Method::POST { 201 } else { 200 }, &v),
        Err(e) => error_response(&e),
    }
}

fn watch(inner: &Arc<Inner>, route: Route, q: &BTreeMap<String, String>) -> Response<Body> {
    let from: u64 = q
        .get("resourceVersion")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let label = q.get("labelSelector").cloned().unwrap_or_default();
    let field = q.get("fieldSelector").cloned().unwrap_or_default();
    let timeout = q
        .get("timeoutSeconds")
        .and_then(|v| v.parse().ok())
        .unwrap_or(300u64);
    // Subscribe under the store lock: every change is then either in the history read here or
    // arrives live with a higher resourceVersion.
    let (rx, initial, replay, last) = {
        let store = inner.store.lock().expect("lock");
        let rx = inner.changes.subscribe();
        let (initial, replay) = if from == 0 {
            (
                store.list(&route.resource, route.namespace.as_deref()),
                Vec::new(),
            )
        } else {
            (
                Vec::new(),
                store
                    .history
                    .iter()
                    .filter(|c| c.rv > from)
                    .cloned()
                    .collect::<Vec<_>>(),
            )
        };
        (rx, initial, replay, store.resource_version())
    };
    let matches = move |o: &Value| selector_matches(&label, o) && fields_match(&field, o);
    let filter = {
        let route_res = route.resource.clone();
        let ns = route.namespace.clone();
        move |c: &Change| -> Option<Value> {
            if c.key.resource != route_res || ns.as_ref().is_some_and(|n| *n != c.key.namespace) {
                return None;
            }
            let now_m = !c.deleted && matches(&c.new);
            let was_m = c.old.as_ref().is_some_and(&matches);
            let ty = match (was_m, now_m) {
                (false, true) => "ADDED",
                (true, true) => "MODIFIED",
                (true, false) => "DELETED",
                (false, false) => return None,
            };
            Some(json!({"type": ty, "object": c.new}))
        }
    };
    let filter = Arc::new(filter);
    let f2 = filter.clone();
    let initial_events: Vec<Value> = initial
        .into_iter()
        .filter_map(|o| {
            f2(&Change {
                rv: 0,
                key: Key {
                    resource: route.resource.clone(),
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
            })
        })
        .collect();
    let replayed: Vec<Value> = replay.iter().filter_map(|c| filter(c)).collect();
    let head = futures::stream::iter(initial_events.into_iter().chain(replayed));
    let live = futures::stream::unfold((rx, filter, last), |(mut rx, filter, last)| async move {
        loop {
            match rx.recv().await {
                Ok(c) if c.rv <= last => continue,
                Ok(c) => {
                    if let Some(ev) = filter(&c) {
                        return Some((ev, (rx, filter, c.rv)));
                    }
                }
                // Lagged or closed: end the watch; the client re-lists or re-watches.
                Err(_) => return None,
            }
        }
    });
    let deadline = tokio::time::sleep(Duration::from_secs(timeout));
    let stream = head
        .chain(live)
        .take_until(deadline)
        .map(|ev| Ok::<_, Infallible>(Frame::data(Bytes::from(format!("{ev}\n")))));
    Response::builder()
        .status(200)
        .header("content-type", "application/json")
        .body(StreamBody::new(stream).boxed_unsync())
        .expect("static response parts are valid")
}
