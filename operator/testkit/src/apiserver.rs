//! The fake API server: routes a `kube::Client`'s requests (as a tower service, no socket) to
//! the [`Store`]: list and watch, get, create, replace, merge patch, server-side apply (as a
//! merge of the applied fields, which is how the controllers use it), delete with preconditions,
//! the status subresource, resourceVersion conflicts, finalizers.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, combinators::UnsyncBoxBody};
use serde_json::{Value, json};
use tokio::sync::broadcast;

use crate::store::{ApiError, Change, Key, Store, fields_match, selector_matches};
use crate::watch;

pub(crate) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// Write counts by `VERB resource[/sub]`, for "a settled object is not written" checks.
pub type WriteCounts = BTreeMap<String, u64>;

pub(crate) struct Inner {
    store: Mutex<Store>,
    changes: broadcast::Sender<Arc<Change>>,
    write_latency: Mutex<Duration>,
    writes: Mutex<WriteCounts>,
}

impl Inner {
    /// The store; a panic while it was held leaves plain data behind, still usable.
    pub(crate) fn store(&self) -> MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.changes.subscribe()
    }

    /// Sends the store's pending changes to live watches; called with the store locked, so a
    /// watch that subscribes under the same lock sees every change exactly once (history or
    /// live).
    fn publish(&self, store: &mut Store) {
        for c in store.log.drain(..) {
            let _ = self.changes.send(c);
        }
    }
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
        *self
            .inner
            .write_latency
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = d;
    }

    pub fn writes(&self) -> WriteCounts {
        self.inner
            .writes
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Every stored object of `resource` (`pods`, `vcs.dev/recordings`).
    pub fn objects(&self, resource: &str) -> Vec<Value> {
        self.inner.store().list(resource, None)
    }

    /// The stored object at `key`, if any.
    pub fn object(&self, key: &Key) -> Option<Value> {
        self.inner.store().get(key).ok()
    }

    /// Subscribes to changes from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Arc<Change>> {
        self.inner.subscribe()
    }

    /// Applies `f` to the stored object directly (as another actor would, e.g. a kubelet),
    /// as a status write when `status` is set.
    pub fn modify(
        &self,
        key: &Key,
        status: bool,
        f: impl FnOnce(&mut Value),
    ) -> Result<Value, ApiError> {
        let mut store = self.inner.store();
        let mut obj = store.get(key)?;
        f(&mut obj);
        let r = store.update(key, obj, status, None);
        self.inner.publish(&mut store);
        r
    }
}

/// Where a request goes: `/api/v1/...` or `/apis/<group>/<version>/...`, optionally namespaced,
/// with an object name and a subresource.
pub(crate) struct Route {
    /// `pods`, or `<group>/<plural>` (`vcs.dev/recordings`).
    pub resource: String,
    pub namespace: Option<String>,
    pub name: Option<String>,
    pub sub: Option<String>,
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

/// The query string, decoded.
pub(crate) type Query = BTreeMap<String, String>;

fn query(req: &Request<kube::client::Body>) -> Query {
    form_urlencoded::parse(req.uri().query().unwrap_or("").as_bytes())
        .filter(|(k, _)| !k.is_empty())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
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

/// Counts a write and waits the injected latency.
async fn before_write(inner: &Inner, method: &Method, route: &Route) {
    let sub = route
        .sub
        .as_ref()
        .map(|s| format!("/{s}"))
        .unwrap_or_default();
    let verb = format!("{method} {}{sub}", route.resource);
    *inner
        .writes
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .entry(verb)
        .or_default() += 1;
    let latency = *inner
        .write_latency
        .lock()
        .unwrap_or_else(|p| p.into_inner());
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
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
        before_write(&inner, &method, &route).await;
    }
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => return error_response(&ApiError::bad_request(format!("reading body: {e}"))),
    };
    let body: Option<Value> = if body.is_empty() {
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
        return watch::respond(&inner, route, &q);
    }
    let result = {
        let mut store = inner.store();
        let result = dispatch(&mut store, &method, &route, &q, &content_type, body);
        inner.publish(&mut store);
        result
    };
    match result {
        Ok(v) => json_response(if method == Method::POST { 201 } else { 200 }, &v),
        Err(e) => error_response(&e),
    }
}

/// The `metadata.resourceVersion` a write carries as its precondition.
fn precondition(v: Option<&Value>, pointer: &str) -> Option<String> {
    v?.pointer(pointer)?.as_str().map(str::to_string)
}

/// Carries out one non-watch request on the store.
fn dispatch(
    store: &mut Store,
    method: &Method,
    route: &Route,
    q: &Query,
    content_type: &str,
    body: Option<Value>,
) -> Result<Value, ApiError> {
    let ns = route.namespace.clone().unwrap_or_default();
    let key = |name: &str| Key {
        resource: route.resource.clone(),
        namespace: ns.clone(),
        name: name.to_string(),
    };
    let status = route.sub.as_deref() == Some("status");
    match (method, route.name.as_deref()) {
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
        (&Method::POST, None) => store.create(&route.resource, &ns, body.unwrap_or(Value::Null)),
        (&Method::PUT, Some(n)) => {
            let pre = precondition(body.as_ref(), "/metadata/resourceVersion");
            store.update(&key(n), body.unwrap_or(Value::Null), status, pre.as_deref())
        }
        (&Method::PATCH, Some(_)) if content_type.contains("json-patch") => Err(ApiError {
            code: 415,
            reason: "UnsupportedMediaType",
            message:
                "the fake API server speaks merge patches and server-side apply, not JSON patches"
                    .into(),
        }),
        (&Method::PATCH, Some(n)) => {
            let patch = body.unwrap_or(Value::Null);
            let pre = precondition(Some(&patch), "/metadata/resourceVersion");
            match store.get(&key(n)) {
                Ok(mut obj) => {
                    json_patch::merge(&mut obj, &patch);
                    store.update(&key(n), obj, status, pre.as_deref())
                }
                // Server-side apply creates what is not there yet.
                Err(_) if content_type.contains("apply-patch") && !status => {
                    store.create(&route.resource, &ns, patch)
                }
                Err(e) => Err(e),
            }
        }
        (&Method::DELETE, Some(n)) => {
            let pre = precondition(body.as_ref(), "/preconditions/resourceVersion");
            store.delete(&key(n), pre.as_deref())
        }
        _ => Err(ApiError {
            code: 405,
            reason: "MethodNotAllowed",
            message: format!("{method} not supported here"),
        }),
    }
}
