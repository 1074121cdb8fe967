//! A fake Kubernetes API server on loopback, for running the real controller end to end.
//!
//! Plain HTTP/1.1 (keep-alive), JSON only. It keeps objects in memory by
//! (group/version, plural, namespace, name) and implements what the operator uses: list and
//! watch (chunked stream of ADDED/MODIFIED/DELETED events from a resourceVersion), get,
//! server-side apply (PATCH `application/apply-patch+yaml`, creating or replacing and recording
//! the field manager), merge patch of `/status`, JSON patch (the finalizer's), delete (with
//! replace (PUT, with the resourceVersion as a precondition), create (409 AlreadyExists when
//! the name is taken), discovery of the group/versions registered with `serve`, paged lists
//! (`limit`/`continue`) and metadata-only lists (PartialObjectMetadataList), finalizers blocking it: deletionTimestamp is set and the object stays until they are
//! gone; then dependents are garbage-collected through their owner references), event creation,
//! 409 Conflict for a JSON patch whose `test` fails or a write whose resourceVersion is stale,
//! the status subresource (writes to an MLTenant leave its status alone), and a watch that
//! from a resourceVersion replays what it missed from a watch cache (410 Expired when that is
//! older than the cache), as the API server's does.

#![allow(dead_code)]

use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;

type Key = (String, String, String, String); // (apiPrefix, plural, namespace, name)

#[derive(Default)]
struct State {
    objects: BTreeMap<Key, Value>,
    rv: u64,
    next_uid: u64,
    /// Requests by (method, plural), for assertions.
    pub requests: BTreeMap<(String, String), usize>,
    /// Discovery: APIResourceList by group/version (`v1`, `apps/v1`).
    discovery: BTreeMap<String, Value>,
    /// The watch cache: recent events, oldest first, so a watch from a resourceVersion
    /// replays what it missed (or gets 410 Expired when that is older than the cache).
    history: VecDeque<Event>,
    /// Open watches: (prefix, plural, namespace or empty for all, sender).
    watchers: Vec<(String, String, String, mpsc::UnboundedSender<Event>)>,
}

/// (resourceVersion, prefix, plural, type, object)
type Event = (u64, String, String, String, Value);

/// Events kept in the watch cache.
const HISTORY: usize = 100_000;

impl State {
    fn emit(&mut self, prefix: &str, plural: &str, kind: &str, obj: Value) {
        let rv = obj["metadata"]["resourceVersion"]
            .as_str()
            .and_then(|v| v.parse().ok())
            .unwrap_or(self.rv);
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let ev: Event = (
            rv,
            prefix.to_owned(),
            plural.to_owned(),
            kind.to_owned(),
            obj,
        );
        self.watchers.retain(|(p, pl, wns, tx)| {
            if p != prefix || pl != plural || (!wns.is_empty() && *wns != ns) {
                return !tx.is_closed();
            }
            tx.send(ev.clone()).is_ok()
        });
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(ev);
    }
}

#[derive(Clone)]
pub struct FakeApi {
    state: Arc<Mutex<State>>,
    pub url: String,
}

struct Path {
    prefix: String,
    plural: String,
    namespace: String,
    name: Option<String>,
    status: bool,
}

impl Path {
    fn key(&self, name: &str) -> Key {
        (
            self.prefix.clone(),
            self.plural.clone(),
            self.namespace.clone(),
            name.to_owned(),
        )
    }
}

fn parse_path(p: &str) -> Option<Path> {
    let parts: Vec<&str> = p.trim_matches('/').split('/').collect();
    let (prefix, rest) = match *parts.first()? {
        "api" => (format!("api/{}", parts.get(1)?), &parts[2..]),
        "apis" => (
            format!("apis/{}/{}", parts.get(1)?, parts.get(2)?),
            &parts[3..],
        ),
        _ => return None,
    };
    let (namespace, rest) = if rest.first() == Some(&"namespaces") && rest.len() >= 3 {
        (rest[1].to_owned(), &rest[2..])
    } else {
        (String::new(), rest)
    };
    let plural = rest.first()?.to_string();
    let name = rest.get(1).map(|s| (*s).to_owned());
    let status = rest.get(2) == Some(&"status");
    Some(Path {
        prefix,
        plural,
        namespace,
        name,
        status,
    })
}

fn query(q: &str, key: &str) -> Option<String> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v.to_owned())
}

fn merge(a: &mut Value, b: &Value) {
    match (a, b) {
        (Value::Object(a), Value::Object(b)) => {
            for (k, v) in b {
                if v.is_null() {
                    a.remove(k);
                } else {
                    merge(a.entry(k.clone()).or_insert(Value::Null), v);
                }
            }
        }
        (a, b) => *a = b.clone(),
    }
}

impl FakeApi {
    pub async fn start() -> FakeApi {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let api = FakeApi {
            state: Arc::default(),
            url,
        };
        let srv = api.clone();
        tokio::spawn(async move {
            loop {
                let Ok((sock, _)) = listener.accept().await else {
                    return;
                };
                let srv = srv.clone();
                tokio::spawn(async move {
                    let _ = srv.handle(sock).await;
                });
            }
        });
        api
    }

    /// Serve discovery for `group_version` (`v1`, `apps/v1`): the plurals and kinds listed,
    /// with whether each is namespaced.
    pub fn serve(&self, group_version: &str, resources: &[(&str, &str, bool)]) {
        let list = json!({
            "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version,
            "resources": resources.iter().map(|(plural, kind, namespaced)| json!({
                "name": plural, "singularName": "", "namespaced": namespaced, "kind": kind,
                "verbs": ["get", "list", "watch", "create", "update", "patch", "delete"],
            })).collect::<Vec<_>>(),
        });
        self.state
            .lock()
            .expect("lock")
            .discovery
            .insert(group_version.to_owned(), list);
    }

    /// The last resourceVersion handed out: how many writes changed something.
    pub fn resource_version(&self) -> u64 {
        self.state.lock().expect("lock").rv
    }

    /// Events by (plural, type) in the watch cache.
    pub fn event_counts(&self) -> BTreeMap<(String, String), usize> {
        let st = self.state.lock().expect("lock");
        let mut m = BTreeMap::new();
        for e in &st.history {
            *m.entry((e.2.clone(), e.3.clone())).or_default() += 1;
        }
        m
    }

    /// A kube client for this server.
    pub fn client(&self) -> kube::Client {
        let cfg = kube::Config::new(self.url.parse().expect("url"));
        kube::Client::try_from(cfg).expect("client")
    }

    pub fn get(&self, prefix: &str, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let st = self.state.lock().expect("lock");
        st.objects
            .get(&(prefix.into(), plural.into(), ns.into(), name.into()))
            .cloned()
    }

    pub fn count(&self, prefix: &str, plural: &str) -> usize {
        let st = self.state.lock().expect("lock");
        st.objects
            .keys()
            .filter(|k| k.0 == prefix && k.1 == plural)
            .count()
    }

    pub fn requests(&self, method: &str, plural: &str) -> usize {
        let st = self.state.lock().expect("lock");
        st.requests
            .get(&(method.to_owned(), plural.to_owned()))
            .copied()
            .unwrap_or(0)
    }

    pub fn all(&self, prefix: &str, plural: &str) -> Vec<Value> {
        let st = self.state.lock().expect("lock");
        st.objects
            .iter()
            .filter(|(k, _)| k.0 == prefix && k.1 == plural)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// Store (create or replace) an object as a client would, emitting the watch event.
    pub fn put(&self, prefix: &str, plural: &str, obj: Value) -> Value {
        let mut st = self.state.lock().expect("lock");
        self.store(&mut st, prefix, plural, obj, None)
    }

    fn store(
        &self,
        st: &mut State,
        prefix: &str,
        plural: &str,
        mut obj: Value,
        manager: Option<&str>,
    ) -> Value {
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let key = (prefix.to_owned(), plural.to_owned(), ns, name);
        st.rv += 1;
        let old = st.objects.get(&key).cloned();
        let kind = if old.is_some() { "MODIFIED" } else { "ADDED" };
        let meta = obj["metadata"].as_object_mut().expect("metadata");
        match &old {
            Some(o) => {
                for k in [
                    "uid",
                    "creationTimestamp",
                    "finalizers",
                    "deletionTimestamp",
                ] {
                    if !meta.contains_key(k) {
                        if let Some(v) = o["metadata"].get(k) {
                            meta.insert(k.into(), v.clone());
                        }
                    }
                }
                let gen = o["metadata"]["generation"].as_i64().unwrap_or(1);
                let changed = o.get("spec") != obj.get("spec");
                obj["metadata"]["generation"] = json!(if changed { gen + 1 } else { gen });
                if obj.get("status").is_none() {
                    if let Some(s) = o.get("status") {
                        obj["status"] = s.clone();
                    }
                }
            }
            None => {
                st.next_uid += 1;
                meta.insert("uid".into(), json!(format!("uid-{}", st.next_uid)));
                meta.insert("creationTimestamp".into(), json!("2026-11-27T00:00:00Z"));
                meta.insert("generation".into(), json!(1));
            }
        }
        if let Some(m) = manager {
            obj["metadata"]["managedFields"] =
                json!([{"manager": m, "operation": "Apply", "apiVersion": obj["apiVersion"]}]);
        }
        // A write that changes nothing is a no-op, as on the API server: same resourceVersion,
        // no watch event.
        if let Some(o) = &old {
            let mut a = o.clone();
            a["metadata"]["resourceVersion"] = Value::Null;
            let mut b = obj.clone();
            b["metadata"]["resourceVersion"] = Value::Null;
            if manager.is_none() {
                b["metadata"]["managedFields"] = a["metadata"]["managedFields"].clone();
            }
            if a == b {
                st.rv -= 1;
                return o.clone();
            }
        }
        obj["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        if let Some(m) = manager {
            obj["metadata"]["managedFields"] =
                json!([{"manager": m, "operation": "Apply", "apiVersion": obj["apiVersion"]}]);
        }
        st.objects.insert(key, obj.clone());
        st.emit(prefix, plural, kind, obj.clone());
        obj
    }

    /// Delete an object: with finalizers, mark it; else remove it and collect its dependents.
    pub fn delete(&self, prefix: &str, plural: &str, ns: &str, name: &str) -> Option<Value> {
        let mut st = self.state.lock().expect("lock");
        self.delete_locked(&mut st, prefix, plural, ns, name)
    }

    fn delete_locked(
        &self,
        st: &mut State,
        prefix: &str,
        plural: &str,
        ns: &str,
        name: &str,
    ) -> Option<Value> {
        let key = (
            prefix.to_owned(),
            plural.to_owned(),
            ns.to_owned(),
            name.to_owned(),
        );
        let obj = st.objects.get(&key)?.clone();
        let has_finalizers = obj["metadata"]["finalizers"]
            .as_array()
            .is_some_and(|a| !a.is_empty());
        if has_finalizers {
            let mut o = obj;
            o["metadata"]["deletionTimestamp"] = json!("2026-11-27T00:00:01Z");
            return Some(self.store(st, prefix, plural, o, None));
        }
        st.objects.remove(&key);
        st.rv += 1;
        let mut gone = obj.clone();
        gone["metadata"]["resourceVersion"] = json!(st.rv.to_string());
        st.emit(prefix, plural, "DELETED", gone);
        // Garbage collection of dependents.
        let uid = obj["metadata"]["uid"].clone();
        let deps: Vec<Key> = st
            .objects
            .iter()
            .filter(|(_, v)| {
                v["metadata"]["ownerReferences"]
                    .as_array()
                    .is_some_and(|a| a.iter().any(|r| r["uid"] == uid))
            })
            .map(|(k, _)| k.clone())
            .collect();
        for k in deps {
            self.delete_locked(st, &k.0, &k.1, &k.2, &k.3);
        }
        Some(obj)
    }

    /// Serve one connection: requests one after another (keep-alive) until the client closes
    /// it; a watch streams until it ends and then closes.
    async fn handle(&self, sock: TcpStream) -> std::io::Result<()> {
        let mut r = BufReader::new(sock);
        loop {
            let mut line = String::new();
            if r.read_line(&mut line).await? == 0 {
                return Ok(());
            }
            let mut it = line.split_whitespace();
            let method = it.next().unwrap_or_default().to_owned();
            let target = it.next().unwrap_or_default().to_owned();
            let mut len = 0usize;
            let mut ctype = String::new();
            let mut accept = String::new();
            loop {
                let mut h = String::new();
                if r.read_line(&mut h).await? == 0 {
                    return Ok(());
                }
                let h = h.trim_end();
                if h.is_empty() {
                    break;
                }
                if let Some((k, v)) = h.split_once(':') {
                    match k.to_ascii_lowercase().as_str() {
                        "content-length" => len = v.trim().parse().unwrap_or(0),
                        "content-type" => ctype = v.trim().to_owned(),
                        "accept" => accept = v.trim().to_owned(),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0u8; len];
            r.read_exact(&mut body).await?;
            let is_watch = target
                .split_once('?')
                .is_some_and(|(_, q)| query(q, "watch").as_deref() == Some("true"));
            if is_watch {
                return self
                    .request(r.into_inner(), &method, &target, (&ctype, &accept), body)
                    .await;
            }
            self.request(r.get_mut(), &method, &target, (&ctype, &accept), body)
                .await?;
        }
    }

    async fn request<S: std::borrow::BorrowMut<TcpStream>>(
        &self,
        mut conn: S,
        method: &str,
        target: &str,
        (ctype, accept): (&str, &str),
        body: Vec<u8>,
    ) -> std::io::Result<()> {
        let sock: &mut TcpStream = conn.borrow_mut();
        let method = method.to_owned();
        let target = target.to_owned();
        let ctype = ctype.to_owned();
        let (path, q) = target.split_once('?').unwrap_or((&target, ""));
        let Some(p) = parse_path(path) else {
            // Discovery of a group/version: the resources registered with `serve`.
            let gv = path.trim_matches('/');
            let gv = gv
                .strip_prefix("apis/")
                .or_else(|| gv.strip_prefix("api/"))
                .unwrap_or(gv)
                .to_owned();
            let found = self.state.lock().expect("lock").discovery.get(&gv).cloned();
            return match found {
                Some(list) => respond(sock, 200, &list).await,
                None => respond(sock, 404, &json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404})).await,
            };
        };
        {
            let mut st = self.state.lock().expect("lock");
            *st.requests
                .entry((method.clone(), p.plural.clone()))
                .or_default() += 1;
        }
        let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        match (method.as_str(), &p.name) {
            ("GET", None) if query(q, "watch").as_deref() == Some("true") => {
                self.watch(sock, &p, q).await
            }
            ("GET", None) => {
                let list = {
                    let st = self.state.lock().expect("lock");
                    let all: Vec<&Value> = st
                        .objects
                        .iter()
                        .filter(|(k, _)| {
                            k.0 == p.prefix
                                && k.1 == p.plural
                                && (p.namespace.is_empty() || k.2 == p.namespace)
                        })
                        .map(|(_, v)| v)
                        .collect();
                    // Pages: `limit`, and `continue` as the offset of the next page.
                    let from: usize = query(q, "continue")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(0);
                    let limit: usize = query(q, "limit")
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(usize::MAX);
                    let end = from.saturating_add(limit).min(all.len());
                    let metadata_only = accept.contains("as=PartialObjectMetadataList");
                    let items: Vec<Value> = all[from.min(end)..end]
                        .iter()
                        .map(|v| {
                            if metadata_only {
                                json!({"apiVersion": "meta.k8s.io/v1", "kind": "PartialObjectMetadata", "metadata": v["metadata"]})
                            } else {
                                (*v).clone()
                            }
                        })
                        .collect();
                    let mut meta = json!({"resourceVersion": st.rv.to_string()});
                    if end < all.len() {
                        meta["continue"] = json!(end.to_string());
                    }
                    if metadata_only {
                        json!({"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1", "metadata": meta, "items": items})
                    } else {
                        json!({"kind": "List", "apiVersion": "v1", "metadata": meta, "items": items})
                    }
                };
                respond(sock, 200, &list).await
            }
            ("GET", Some(name)) => match self.get(&p.prefix, &p.plural, &p.namespace, name) {
                Some(o) => respond(sock, 200, &o).await,
                None => respond(sock, 404, &not_found(name)).await,
            },
            ("POST", None) => {
                // Events (and creations): store as given.
                let mut o = body;
                if o["metadata"]["name"].is_null() {
                    o["metadata"]["name"] = json!(format!("ev-{}", rand_suffix()));
                }
                if !p.namespace.is_empty() {
                    o["metadata"]["namespace"] = json!(p.namespace);
                }
                let stored = {
                    let mut st = self.state.lock().expect("lock");
                    let key = (
                        p.prefix.clone(),
                        p.plural.clone(),
                        p.namespace.clone(),
                        o["metadata"]["name"]
                            .as_str()
                            .unwrap_or_default()
                            .to_owned(),
                    );
                    if st.objects.contains_key(&key) {
                        None
                    } else {
                        Some(self.store(&mut st, &p.prefix, &p.plural, o, None))
                    }
                };
                match stored {
                    Some(o) => respond(sock, 201, &o).await,
                    None => {
                        respond(sock, 409, &failure(409, "AlreadyExists", "already exists")).await
                    }
                }
            }
            ("PUT", Some(name)) => {
                // Replace, with the body's resourceVersion as a precondition.
                let result = {
                    let mut st = self.state.lock().expect("lock");
                    let key = p.key(name);
                    match st.objects.get(&key).cloned() {
                        None => Err(404),
                        Some(c)
                            if body["metadata"]["resourceVersion"].is_string()
                                && c["metadata"]["resourceVersion"]
                                    != body["metadata"]["resourceVersion"] =>
                        {
                            Err(409)
                        }
                        Some(_) => {
                            let mut o = body;
                            if !p.namespace.is_empty() {
                                o["metadata"]["namespace"] = json!(p.namespace);
                            }
                            Ok(self.store(&mut st, &p.prefix, &p.plural, o, None))
                        }
                    }
                };
                respond_result(sock, result, name).await
            }
            ("PATCH", Some(name)) => {
                let result = {
                    let mut st = self.state.lock().expect("lock");
                    let key = p.key(name);
                    let current = st.objects.get(&key).cloned();
                    // A resourceVersion in the body is a precondition: 409 when stale.
                    let stale = match (&current, body["metadata"]["resourceVersion"].as_str()) {
                        (Some(c), Some(rv)) => {
                            c["metadata"]["resourceVersion"].as_str() != Some(rv)
                        }
                        _ => false,
                    };
                    // The status subresource: writes to the object leave status alone.
                    let keep_status = (!p.status
                        && STATUS_SUBRESOURCE.contains(&p.plural.as_str()))
                    .then(|| current_status(&current));
                    let keep = |o: &mut Value| {
                        if let Some(s) = &keep_status {
                            if s.is_null() {
                                if let Some(m) = o.as_object_mut() {
                                    m.remove("status");
                                }
                            } else {
                                o["status"] = s.clone();
                            }
                        }
                    };
                    let result = if stale {
                        Err(409)
                    } else if ctype.starts_with("application/apply-patch") {
                        let mut o = body;
                        if !p.namespace.is_empty() {
                            o["metadata"]["namespace"] = json!(p.namespace);
                        }
                        if let Some(c) = &current {
                            // Apply replaces the manager's fields; keep status and finalizers.
                            if let Some(f) = c["metadata"].get("finalizers") {
                                o["metadata"]["finalizers"] = f.clone();
                            }
                        }
                        keep(&mut o);
                        let m = query(q, "fieldManager").unwrap_or_default();
                        Ok(self.store(&mut st, &p.prefix, &p.plural, o, Some(&m)))
                    } else if let Some(mut c) = current {
                        if ctype.starts_with("application/json-patch") {
                            // As the API server's JSON patch library does, a `test` for null
                            // passes on a missing path.
                            let ops: Vec<Value> = body
                                .as_array()
                                .cloned()
                                .unwrap_or_default()
                                .into_iter()
                                .filter(|op| {
                                    !(op["op"] == "test"
                                        && op["value"].is_null()
                                        && op["path"]
                                            .as_str()
                                            .is_some_and(|p| c.pointer(p).is_none()))
                                })
                                .collect();
                            let patch: Result<json_patch::Patch, _> =
                                serde_json::from_value(Value::Array(ops));
                            match patch
                                .map_err(|_| ())
                                .and_then(|pt| json_patch::patch(&mut c, &pt).map_err(|_| ()))
                            {
                                Ok(()) => {
                                    keep(&mut c);
                                    let stored = self.store(&mut st, &p.prefix, &p.plural, c, None);
                                    // Finalizers gone on a deleting object: it goes.
                                    let deleting =
                                        !stored["metadata"]["deletionTimestamp"].is_null();
                                    let none_left = stored["metadata"]["finalizers"]
                                        .as_array()
                                        .is_none_or(|a| a.is_empty());
                                    if deleting && none_left {
                                        self.delete_locked(
                                            &mut st,
                                            &p.prefix,
                                            &p.plural,
                                            &p.namespace,
                                            name,
                                        );
                                    }
                                    Ok(stored)
                                }
                                Err(_) => Err(409),
                            }
                        } else {
                            // Merge patch (status or object).
                            if p.status {
                                let s = body.get("status").cloned().unwrap_or(Value::Null);
                                merge(&mut c["status"], &s);
                            } else {
                                merge(&mut c, &body);
                                keep(&mut c);
                            }
                            Ok(self.store(&mut st, &p.prefix, &p.plural, c, None))
                        }
                    } else {
                        Err(404)
                    };
                    result
                };
                respond_result(sock, result, name).await
            }
            ("DELETE", Some(name)) => match self.delete(&p.prefix, &p.plural, &p.namespace, name) {
                Some(o) => respond(sock, 200, &o).await,
                None => respond(sock, 404, &not_found(name)).await,
            },
            _ => respond(sock, 405, &json!({"kind": "Status", "code": 405})).await,
        }
    }

    async fn watch(&self, sock: &mut TcpStream, p: &Path, q: &str) -> std::io::Result<()> {
        let from: u64 = query(q, "resourceVersion")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let timeout = query(q, "timeoutSeconds")
            .and_then(|v| v.parse().ok())
            .unwrap_or(290u64);
        let (tx, mut rx) = mpsc::unbounded_channel::<Event>();
        let expired = {
            let mut st = self.state.lock().expect("lock");
            // Older than the cache: the client must list again.
            let oldest = st.history.front().map_or(st.rv, |e| e.0);
            if from > 0 && from + 1 < oldest {
                true
            } else {
                for ev in st.history.iter().filter(|e| e.0 > from) {
                    let ns = ev.4["metadata"]["namespace"].as_str().unwrap_or_default();
                    if ev.1 == p.prefix
                        && ev.2 == p.plural
                        && (p.namespace.is_empty() || ns == p.namespace)
                    {
                        let _ = tx.send(ev.clone());
                    }
                }
                st.watchers
                    .push((p.prefix.clone(), p.plural.clone(), p.namespace.clone(), tx));
                false
            }
        };
        sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n").await?;
        let chunk = |v: Value| {
            let line = v.to_string() + "\n";
            format!("{:x}\r\n{line}\r\n", line.len())
        };
        if expired {
            let gone = json!({"type": "ERROR", "object": {"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Expired", "code": 410, "message": "too old resource version"}});
            sock.write_all(chunk(gone).as_bytes()).await?;
            return sock.write_all(b"0\r\n\r\n").await;
        }
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(timeout);
        loop {
            let ev = tokio::select! {
                ev = rx.recv() => ev,
                () = tokio::time::sleep_until(deadline) => break,
            };
            let Some((_, _, _, kind, obj)) = ev else {
                break;
            };
            if sock
                .write_all(chunk(json!({"type": kind, "object": obj})).as_bytes())
                .await
                .is_err()
            {
                return Ok(());
            }
        }
        sock.write_all(b"0\r\n\r\n").await
    }
}

/// Plurals served with a status subresource.
const STATUS_SUBRESOURCE: &[&str] = &["mltenants"];

fn current_status(current: &Option<Value>) -> Value {
    current.as_ref().map_or(Value::Null, |c| {
        c.get("status").cloned().unwrap_or(Value::Null)
    })
}

fn rand_suffix() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::Relaxed)
}

/// A Status of failure.
fn failure(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code, "message": message})
}

fn conflict() -> Value {
    failure(
        409,
        "Conflict",
        "the object has been modified; please apply your changes to the latest version and try again",
    )
}

/// A kubeconfig in `dir` whose context `context` reaches `url` (plain HTTP, a dummy token).
pub fn kubeconfig(url: &str, dir: &std::path::Path, context: &str) -> std::path::PathBuf {
    let path = dir.join("kubeconfig");
    std::fs::write(
        &path,
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster: {{server: \"{url}\"}}\nusers:\n- name: fake\n  user: {{token: not-a-secret}}\ncontexts:\n- name: {context}\n  context: {{cluster: fake, user: fake}}\ncurrent-context: {context}\n"
        ),
    )
    .expect("kubeconfig");
    path
}

/// Poll `f` every 50 ms until it holds; panic naming `what` after 30 s.
pub async fn wait(what: &str, mut f: impl FnMut() -> bool) {
    let start = std::time::Instant::now();
    while start.elapsed() < std::time::Duration::from_secs(30) {
        if f() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}");
}

fn not_found(name: &str) -> Value {
    failure(404, "NotFound", &format!("{name} not found"))
}

/// 200 with the object, 409 Conflict, or 404 for `name`.
async fn respond_result(
    sock: &mut TcpStream,
    result: Result<Value, u16>,
    name: &str,
) -> std::io::Result<()> {
    match result {
        Ok(o) => respond(sock, 200, &o).await,
        Err(409) => respond(sock, 409, &conflict()).await,
        Err(c) => respond(sock, c, &not_found(name)).await,
    }
}

async fn respond(sock: &mut TcpStream, code: u16, body: &Value) -> std::io::Result<()> {
    let text = body.to_string();
    let reason = match code {
        200 => "OK",
        201 => "Created",
        404 => "Not Found",
        409 => "Conflict",
        _ => "Error",
    };
    let head = format!(
        "HTTP/1.1 {code} {reason}\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
        text.len()
    );
    sock.write_all(head.as_bytes()).await?;
    sock.write_all(text.as_bytes()).await
}
