//! The fake API server's object store: resourceVersions, generations, status subresources,
//! finalizers and deletion, label selectors and a change log that watches replay.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use serde_json::{Value, json};

/// One stored object's address. `resource` is `pods` or `vcs.dev/recordings`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Key {
    pub resource: String,
    pub namespace: String,
    pub name: String,
}

/// One change, as watches see it.
#[derive(Clone, Debug)]
pub struct Change {
    pub rv: u64,
    pub key: Key,
    pub old: Option<Value>,
    /// The object after the change; for deletions, its last state.
    pub new: Value,
    pub deleted: bool,
}

/// Why a request failed, as an HTTP status and Kubernetes reason.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiError {
    pub code: u16,
    pub reason: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn not_found(k: &Key) -> Self {
        Self {
            code: 404,
            reason: "NotFound",
            message: format!("{} {:?} not found", k.resource, k.name),
        }
    }
    pub fn conflict(k: &Key, msg: &str) -> Self {
        Self {
            code: 409,
            reason: "Conflict",
            message: format!(
                "Operation cannot be fulfilled on {} {:?}: {msg}",
                k.resource, k.name
            ),
        }
    }
    pub fn bad_request(msg: impl Into<String>) -> Self {
        Self {
            code: 400,
            reason: "BadRequest",
            message: msg.into(),
        }
    }
}

/// Resources whose `status` is a subresource: main writes keep the old status, status writes
/// keep everything else.
pub fn has_status(resource: &str) -> bool {
    matches!(
        resource,
        "pods" | "vcs.dev/recordings" | "vcs.dev/recorderpools"
    )
}

#[derive(Default)]
pub struct Store {
    rv: u64,
    uids: u64,
    pub objects: BTreeMap<Key, Value>,
    /// Changes not yet sent to live watches.
    pub log: Vec<Arc<Change>>,
    /// Every change, for watches that start from a resourceVersion.
    pub history: Vec<Arc<Change>>,
}

/// Now, as the API server writes timestamps (`metav1.Time`, whole seconds).
pub fn now() -> Value {
    json!(Time(Timestamp::now()))
}

fn meta(o: &Value, field: &str) -> Option<String> {
    o.pointer(&format!("/metadata/{field}"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// An equality/existence label selector (`a=b,c!=d,e,!f`).
pub fn selector_matches(selector: &str, obj: &Value) -> bool {
    let labels = obj.pointer("/metadata/labels").and_then(Value::as_object);
    let get = |k: &str| labels.and_then(|l| l.get(k)).and_then(Value::as_str);
    selector
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .all(|term| {
            if let Some((k, v)) = term.split_once("!=") {
                get(k.trim()) != Some(v.trim())
            } else if let Some((k, v)) = term.split_once('=') {
                get(k.trim().trim_end_matches('=')) == Some(v.trim().trim_start_matches('='))
            } else if let Some(k) = term.strip_prefix('!') {
                get(k).is_none()
            } else {
                get(term).is_some()
            }
        })
}

/// A `metadata.name=x,metadata.namespace=y` field selector.
pub fn fields_match(selector: &str, obj: &Value) -> bool {
    selector.split(',').filter(|s| !s.is_empty()).all(|term| {
        let (k, v, eq) = match term.split_once("!=") {
            Some((k, v)) => (k, v, false),
            None => match term.split_once('=') {
                Some((k, v)) => (k, v.trim_start_matches('='), true),
                None => return true,
            },
        };
        let actual = match k {
            "metadata.name" => meta(obj, "name"),
            "metadata.namespace" => meta(obj, "namespace"),
            _ => return true,
        };
        (actual.as_deref() == Some(v)) == eq
    })
}

impl Store {
    pub fn resource_version(&self) -> u64 {
        self.rv
    }

    fn record(&mut self, key: Key, old: Option<Value>, new: Value, deleted: bool) {
        let c = Arc::new(Change {
            rv: self.rv,
            key,
            old,
            new,
            deleted,
        });
        self.log.push(c.clone());
        self.history.push(c);
    }

    fn bump(&mut self, obj: &mut Value) {
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
    }

    pub fn get(&self, key: &Key) -> Result<Value, ApiError> {
        self.objects
            .get(key)
            .cloned()
            .ok_or_else(|| ApiError::not_found(key))
    }

    pub fn list(&self, resource: &str, namespace: Option<&str>) -> Vec<Value> {
        self.objects
            .iter()
            .filter(|(k, _)| k.resource == resource && namespace.is_none_or(|n| n == k.namespace))
            .map(|(_, v)| v.clone())
            .collect()
    }

    pub fn create(
        &mut self,
        resource: &str,
        namespace: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        if !obj.get("metadata").is_some_and(Value::is_object) {
            obj["metadata"] = json!({});
        }
        let name = match meta(&obj, "name") {
            Some(n) if !n.is_empty() => n,
            _ => match meta(&obj, "generateName") {
                Some(prefix) => {
                    self.uids += 1;
                    format!("{prefix}{:05x}", (self.uids * 2_654_435_761) % 0xfffff)
                }
                None => {
                    return Err(ApiError::bad_request(
                        "metadata.name or generateName is required",
                    ));
                }
            },
        };
        let key = Key {
            resource: resource.into(),
            namespace: namespace.into(),
            name: name.clone(),
        };
        if self.objects.contains_key(&key) {
            return Err(ApiError {
                code: 409,
                reason: "AlreadyExists",
                message: format!("{resource} {name:?} already exists"),
            });
        }
        self.uids += 1;
        let m = &mut obj["metadata"];
        m["name"] = json!(name);
        if !namespace.is_empty() {
            m["namespace"] = json!(namespace);
        }
        m["uid"] = json!(format!("uid-{:08}", self.uids));
        m["creationTimestamp"] = now();
        m["generation"] = json!(1);
        if let Some(o) = m.as_object_mut() {
            o.remove("deletionTimestamp");
            o.remove("resourceVersion");
        }
        if has_status(resource)
            && let Some(o) = obj.as_object_mut()
        {
            o.remove("status");
        }
        self.bump(&mut obj);
        self.objects.insert(key.clone(), obj.clone());
        self.record(key, None, obj.clone(), false);
        Ok(obj)
    }

    /// Writes `new` as the object's next state (after a replace or a patch computed by the
    /// caller), enforcing the subresource split, generation and finalizer rules.
    pub fn update(
        &mut self,
        key: &Key,
        mut new: Value,
        status_only: bool,
        precondition: Option<&str>,
    ) -> Result<Value, ApiError> {
        let old = self.get(key)?;
        let old_rv = meta(&old, "resourceVersion");
        if let Some(want) = precondition
            && Some(want) != old_rv.as_deref()
        {
            return Err(ApiError::conflict(
                key,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        if has_status(&key.resource) {
            if status_only {
                let status = new.get("status").cloned();
                new = old.clone();
                match status {
                    Some(s) => new["status"] = s,
                    None => {
                        new.as_object_mut().map(|o| o.remove("status"));
                    }
                }
            } else {
                match old.get("status") {
                    Some(s) => new["status"] = s.clone(),
                    None => {
                        new.as_object_mut().map(|o| o.remove("status"));
                    }
                }
            }
        }
        // Identity and server-owned metadata cannot be changed by writes.
        for f in [
            "name",
            "namespace",
            "uid",
            "creationTimestamp",
            "generation",
            "deletionTimestamp",
        ] {
            match old["metadata"].get(f) {
                Some(v) => new["metadata"][f] = v.clone(),
                None => {
                    new["metadata"].as_object_mut().map(|o| o.remove(f));
                }
            }
        }
        let spec_changed = {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(o) = v.as_object_mut() {
                    o.remove("metadata");
                    o.remove("status");
                }
                v
            };
            strip(&old) != strip(&new)
        };
        if spec_changed {
            let g = old["metadata"]["generation"].as_i64().unwrap_or(1);
            new["metadata"]["generation"] = json!(g + 1);
        }
        let mut cmp = new.clone();
        cmp["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
        if cmp == old {
            // A no-op write does not bump the resourceVersion, as on a real API server.
            return Ok(old);
        }
        self.bump(&mut new);
        if new.pointer("/metadata/deletionTimestamp").is_some() && finalizers_empty(&new) {
            self.objects.remove(key);
            self.record(key.clone(), Some(old), new.clone(), true);
            return Ok(new);
        }
        self.objects.insert(key.clone(), new.clone());
        self.record(key.clone(), Some(old), new.clone(), false);
        Ok(new)
    }

    pub fn delete(&mut self, key: &Key, precondition: Option<&str>) -> Result<Value, ApiError> {
        let old = self.get(key)?;
        if let Some(want) = precondition
            && Some(want) != meta(&old, "resourceVersion").as_deref()
        {
            return Err(ApiError::conflict(
                key,
                "the resourceVersion in the precondition does not match",
            ));
        }
        if finalizers_empty(&old) {
            let mut gone = old.clone();
            self.bump(&mut gone);
            self.objects.remove(key);
            self.record(key.clone(), Some(old), gone.clone(), true);
            return Ok(gone);
        }
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok(old);
        }
        let mut new = old.clone();
        new["metadata"]["deletionTimestamp"] = now();
        self.bump(&mut new);
        self.objects.insert(key.clone(), new.clone());
        self.record(key.clone(), Some(old), new.clone(), false);
        Ok(new)
    }
}

fn finalizers_empty(o: &Value) -> bool {
    o.pointer("/metadata/finalizers")
        .and_then(Value::as_array)
        .is_none_or(|f| f.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(n: &str) -> Key {
        Key {
            resource: "vcs.dev/recordings".into(),
            namespace: "default".into(),
            name: n.into(),
        }
    }

    /// A store holding `obj` (a Recording named `a`), and `obj` as created.
    fn store_with(obj: Value) -> (Store, Value) {
        let mut s = Store::default();
        let created = s.create("vcs.dev/recordings", "default", obj).unwrap();
        (s, created)
    }

    #[test]
    fn stale_resource_version_is_a_conflict_and_noop_writes_keep_the_version() {
        let (mut s, o) = store_with(json!({"metadata":{"name":"a"},"spec":{"x":1}}));
        let rv = meta(&o, "resourceVersion").unwrap();
        let same = s.update(&key("a"), o.clone(), false, Some(&rv)).unwrap();
        assert_eq!(meta(&same, "resourceVersion").unwrap(), rv);
        let mut changed = o.clone();
        changed["spec"]["x"] = json!(2);
        let c = s
            .update(&key("a"), changed.clone(), false, Some(&rv))
            .unwrap();
        assert_eq!(c["metadata"]["generation"], json!(2));
        let err = s.update(&key("a"), changed, false, Some(&rv)).unwrap_err();
        assert_eq!(err.code, 409);
    }

    #[test]
    fn status_writes_do_not_touch_spec_and_spec_writes_do_not_touch_status() {
        let (mut s, o) =
            store_with(json!({"metadata":{"name":"a"},"spec":{"x":1},"status":{"s":1}}));
        assert!(o.get("status").is_none(), "status is dropped on create");
        let mut w = o.clone();
        w["spec"]["x"] = json!(5);
        w["status"] = json!({"s": 2});
        let after = s.update(&key("a"), w.clone(), true, None).unwrap();
        assert_eq!(
            (after["spec"]["x"].clone(), after["status"]["s"].clone()),
            (json!(1), json!(2))
        );
        assert_eq!(after["metadata"]["generation"], json!(1));
        let after = s.update(&key("a"), w, false, None).unwrap();
        assert_eq!(
            (after["spec"]["x"].clone(), after["status"]["s"].clone()),
            (json!(5), json!(2))
        );
    }

    #[test]
    fn finalizers_hold_deletion_until_removed() {
        let (mut s, _) = store_with(json!({"metadata":{"name":"a","finalizers":["f"]}}));
        let d = s.delete(&key("a"), None).unwrap();
        assert!(d.pointer("/metadata/deletionTimestamp").is_some());
        assert!(s.get(&key("a")).is_ok());
        let mut w = d.clone();
        w["metadata"]["finalizers"] = json!([]);
        s.update(&key("a"), w, false, None).unwrap();
        assert_eq!(s.get(&key("a")).unwrap_err().code, 404);
        assert!(s.log.last().unwrap().deleted);
    }

    #[test]
    fn selectors_and_merge_patches() {
        let o = json!({"metadata":{"name":"p","labels":{"a":"1","b":"2"}}});
        assert!(selector_matches("a=1,b", &o));
        assert!(selector_matches("a==1,c!=3,!c", &o));
        assert!(!selector_matches("a=2", &o));
        assert!(!selector_matches("!a", &o));
        assert!(fields_match("metadata.name=p", &o));
        assert!(!fields_match("metadata.name=q", &o));
        let mut t = json!({"a":{"b":1,"c":2},"d":[1]});
        json_patch::merge(&mut t, &json!({"a":{"b":null,"e":3},"d":[2]}));
        assert_eq!(t, json!({"a":{"c":2,"e":3},"d":[2]}));
    }
}
