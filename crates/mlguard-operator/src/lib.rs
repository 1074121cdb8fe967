//! mlguard-operator: keeps each MLTenant's rendered objects applied.
//!
//! Owns: the reconcile of one MLTenant ([`reconcile`]): validate it as `mlguard tenant render`
//! does (a Degraded condition and nothing applied when it is invalid), render it, server-side
//! apply every object with field manager `mlguard` and an owner reference to the tenant
//! (Namespaces excepted: deleting a tenant must never delete a team's data), and write the
//! status (Ready / Degraded, observedGeneration); the finalizer that runs cleanup; the
//! Controller wiring that re-reconciles when an owned object drifts or is deleted ([`run`]).
//!
//! Must not: decide what a tenant renders into (mlguard-tenant does) or judge objects
//! (mlguard-controls does).
//!
//! Also: leader election with a Lease ([`leader`]), the install manifests ([`manifests`])
//! and the health endpoints; the snapshot of a live cluster that `mlguard scan --cluster`
//! reads ([`snapshot`]).
//!
//! Kubernetes events on each tenant (Applied, Invalid, ApplyFailed) and Prometheus metrics
//! ([`metrics`]) on the health address.
//!

pub mod leader;
pub mod manifests;
pub mod metrics;
pub mod snapshot;

use futures::StreamExt;
use kube::api::{ApiResource, DynamicObject, GroupVersionKind, Patch, PatchParams};
use kube::runtime::controller::Action;
use kube::{Api, Client, ResourceExt};
use mlguard_tenant::spec::{Condition, MLTenant, MLTenantStatus};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;

pub const FIELD_MANAGER: &str = "mlguard";
pub const FINALIZER: &str = "mlguard.io/cleanup";
/// How long the controller waits for more changes of a tenant before reconciling it.
pub const DEBOUNCE: Duration = Duration::from_secs(1);

#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    #[error("Kubernetes API")]
    Kube(#[from] kube::Error),
    #[error("{0} has no plural known to mlguard")]
    UnknownKind(String),
    #[error("MLTenant without a name or uid")]
    Unnamed,
    #[error("finalizer: {0}")]
    Finalizer(String),
    #[error("starting the async runtime: {0}")]
    Runtime(String),
    #[error("Kubernetes client configuration: {0}")]
    Config(String),
    #[error("lost the leader-election Lease; exiting so that a restart makes this replica a candidate again")]
    LeaseLost,
}

/// What reconcile needs.
#[derive(Clone)]
pub struct Context {
    pub client: Client,
    pub metrics: Arc<metrics::Metrics>,
    /// Publishes Kubernetes events on the tenant; `None` sends none.
    pub recorder: Option<kube::runtime::events::Recorder>,
    /// Failures in a row per tenant, for exponential backoff.
    pub backoff: Arc<Backoff>,
    /// Every MLTenant, from the controller's cache (set by [`run_with`]): a namespace that
    /// two tenants claim goes to the older one, and the newer is Degraded.
    pub tenants: Arc<std::sync::OnceLock<kube::runtime::reflector::Store<MLTenant>>>,
}

impl Context {
    pub fn new(client: Client) -> Self {
        let reporter = kube::runtime::events::Reporter {
            controller: "mlguard-operator".to_owned(),
            instance: std::env::var("POD_NAME").ok(),
        };
        Context {
            recorder: Some(kube::runtime::events::Recorder::new(
                client.clone(),
                reporter,
            )),
            ..Context::quiet(client)
        }
    }

    /// A context that publishes no events.
    pub fn quiet(client: Client) -> Self {
        Context {
            client,
            metrics: Arc::new(metrics::Metrics::new()),
            recorder: None,
            backoff: Arc::default(),
            tenants: Arc::default(),
        }
    }

    async fn event(&self, t: &MLTenant, warning: bool, reason: &str, note: String) {
        let Some(r) = &self.recorder else { return };
        let ev = kube::runtime::events::Event {
            type_: if warning {
                kube::runtime::events::EventType::Warning
            } else {
                kube::runtime::events::EventType::Normal
            },
            reason: reason.to_owned(),
            note: Some(note),
            action: "Reconcile".to_owned(),
            secondary: None,
        };
        if let Err(e) = r.publish(&ev, &kube::Resource::object_ref(t, &())).await {
            tracing::warn!(error = %e, "publishing an event failed");
        }
    }
}

impl std::fmt::Debug for Context {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context").finish_non_exhaustive()
    }
}

/// The API resource of a rendered object's apiVersion and kind.
pub fn api_resource(api_version: &str, kind: &str) -> Result<ApiResource, Error> {
    let plural = match kind {
        "Namespace" => "namespaces",
        "NetworkPolicy" => "networkpolicies",
        "Role" => "roles",
        "RoleBinding" => "rolebindings",
        "ResourceQuota" => "resourcequotas",
        "LimitRange" => "limitranges",
        "LocalQueue" => "localqueues",
        "SecretProviderClass" => "secretproviderclasses",
        "PeerAuthentication" => "peerauthentications",
        _ => return Err(Error::UnknownKind(format!("{api_version} {kind}"))),
    };
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    Ok(ApiResource::from_gvk_with_plural(
        &GroupVersionKind::gvk(group, version, kind),
        plural,
    ))
}

/// One object to apply.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub resource: ApiResource,
    pub namespace: Option<String>,
    pub name: String,
    pub object: Value,
}

/// Read the tenant as `mlguard tenant render` reads a file (same validation), from its JSON.
fn read_tenant(t: &MLTenant) -> Result<mlguard_tenant::Tenant, Vec<String>> {
    let name = t.name_any();
    let doc = json!({
        "apiVersion": mlguard_tenant::spec::API_VERSION,
        "kind": mlguard_tenant::spec::KIND,
        "metadata": {"name": name},
        "spec": t.spec,
    });
    let file = format!("mltenant/{name}");
    let text = doc.to_string();
    let (objs, errs, _) =
        mlguard_core::load::load_text(&file, &text, &mlguard_core::LoadOptions::default());
    if !errs.is_empty() {
        return Err(errs.iter().map(ToString::to_string).collect());
    }
    let pairs: Vec<_> = objs.into_iter().map(|o| (file.clone(), o)).collect();
    let (mut ts, errs) = mlguard_tenant::read(&pairs);
    if !errs.is_empty() {
        return Err(errs
            .iter()
            .map(|e| {
                let field = e
                    .field
                    .as_deref()
                    .map(|f| format!("{f}: "))
                    .unwrap_or_default();
                format!("{field}{}", e.message)
            })
            .collect());
    }
    ts.pop().ok_or_else(|| vec!["no tenant read".to_owned()])
}

/// The objects of `t`, with owner references, in apply order (Namespaces first). Pure.
pub fn plan(t: &MLTenant) -> Result<Vec<Planned>, Vec<String>> {
    let tenant = read_tenant(t)?;
    let owner = match (t.metadata.name.as_deref(), t.metadata.uid.as_deref()) {
        (Some(name), Some(uid)) => Some(json!({
            "apiVersion": mlguard_tenant::spec::API_VERSION,
            "kind": mlguard_tenant::spec::KIND,
            "name": name,
            "uid": uid,
            "controller": true,
            "blockOwnerDeletion": true,
        })),
        _ => None,
    };
    let mut out = Vec::new();
    for mut obj in mlguard_tenant::render(&tenant) {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_owned();
        let kind = obj["kind"].as_str().unwrap_or_default().to_owned();
        let resource = api_resource(&api_version, &kind).map_err(|e| vec![e.to_string()])?;
        let name = obj["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let namespace = obj["metadata"]["namespace"].as_str().map(str::to_owned);
        // Namespaces hold the team's data: never garbage-collected with the tenant.
        if kind != "Namespace" {
            if let Some(o) = &owner {
                obj["metadata"]["ownerReferences"] = json!([o]);
            }
        }
        out.push(Planned {
            resource,
            namespace,
            name,
            object: obj,
        });
    }
    Ok(out)
}

/// RFC 3339 in UTC, seconds precision, from the system clock.
fn now() -> String {
    k8s_openapi::jiff::Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

/// The status for an outcome: Ready True, or Degraded with its reason and message.
pub fn status(generation: Option<i64>, outcome: Result<usize, (&str, String)>) -> MLTenantStatus {
    let t = now();
    let cond = |kind: &str, status: &str, reason: &str, message: String| Condition {
        kind: kind.to_owned(),
        status: status.to_owned(),
        reason: reason.to_owned(),
        message,
        last_transition_time: t.clone(),
        observed_generation: generation,
    };
    let conditions = match outcome {
        Ok(n) => vec![
            cond("Ready", "True", "Applied", format!("{n} objects applied")),
            cond("Degraded", "False", "Applied", String::new()),
        ],
        Err((reason, message)) => vec![
            cond("Ready", "False", reason, message.clone()),
            cond("Degraded", "True", reason, message),
        ],
    };
    MLTenantStatus {
        conditions,
        observed_generation: generation,
    }
}

/// The status to write given the current one: a condition keeps its lastTransitionTime while
/// its status does not change; `None` when nothing changed, so an idle tenant costs no write
/// (and no watch event that would wake the controller again).
pub fn settle(current: Option<&MLTenantStatus>, mut new: MLTenantStatus) -> Option<MLTenantStatus> {
    if let Some(cur) = current {
        for c in &mut new.conditions {
            if let Some(old) = cur
                .conditions
                .iter()
                .find(|o| o.kind == c.kind && o.status == c.status)
            {
                c.last_transition_time.clone_from(&old.last_transition_time);
            }
        }
        if *cur == new {
            return None;
        }
    }
    Some(new)
}

/// Write the status when it changed; whether it did.
async fn write_status(client: &Client, t: &MLTenant, st: &MLTenantStatus) -> Result<bool, Error> {
    let Some(st) = settle(t.status.as_ref(), st.clone()) else {
        return Ok(false);
    };
    let name = t.metadata.name.as_deref().ok_or(Error::Unnamed)?;
    let api: Api<MLTenant> = Api::all(client.clone());
    api.patch_status(
        name,
        &PatchParams::default(),
        &Patch::Merge(json!({"status": st})),
    )
    .await?;
    Ok(true)
}

/// Apply what `t` renders into, and write its status. Invalid tenants are Degraded and
/// nothing is applied.
pub async fn apply(t: &MLTenant, ctx: &Context) -> Result<Action, Error> {
    let start = std::time::Instant::now();
    let client = &ctx.client;
    t.metadata.name.as_deref().ok_or(Error::Unnamed)?;
    let generation = t.metadata.generation;
    // Degraded for a reason only a change can fix: nothing applied, no retry until then.
    let refuse = |reason: &'static str, msg: String| async move {
        if write_status(client, t, &status(generation, Err((reason, msg.clone())))).await? {
            ctx.event(t, true, reason, msg).await;
        }
        ctx.metrics
            .record("invalid", start.elapsed().as_secs_f64(), None);
        ctx.backoff.succeeded(&t.name_any());
        Ok::<_, Error>(Action::await_change())
    };
    let planned = match plan(t) {
        Ok(p) => p,
        Err(errs) => return refuse("Invalid", errs.join("; ")).await,
    };
    if let Some(store) = ctx.tenants.get() {
        let conflicts = namespace_conflicts(t, &store.state());
        if !conflicts.is_empty() {
            return refuse("NamespaceConflict", conflicts.join("; ")).await;
        }
    }
    let below = quota_below_usage(client, &planned).await?;
    if !below.is_empty() {
        // Re-checked when usage falls: usage is not watched, so poll.
        refuse("QuotaBelowUsage", below.join("; ")).await?;
        return Ok(Action::requeue(Duration::from_secs(60)));
    }
    let pp = PatchParams::apply(FIELD_MANAGER).force();
    for p in &planned {
        let api: Api<DynamicObject> = match &p.namespace {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &p.resource),
            None => Api::all_with(client.clone(), &p.resource),
        };
        if let Err(e) = api.patch(&p.name, &pp, &Patch::Apply(&p.object)).await {
            let msg = format!("applying {} {}: {e}", p.resource.kind, p.name);
            write_status(
                client,
                t,
                &status(generation, Err(("ApplyFailed", msg.clone()))),
            )
            .await?;
            ctx.event(t, true, "ApplyFailed", msg).await;
            ctx.metrics
                .record("error", start.elapsed().as_secs_f64(), None);
            return Err(e.into());
        }
    }
    // An event when the status changes (new generation, or back to Ready), not on every
    // periodic or drift-triggered reconcile.
    if write_status(client, t, &status(generation, Ok(planned.len()))).await? {
        ctx.event(
            t,
            false,
            "Applied",
            format!("{} objects applied", planned.len()),
        )
        .await;
    }
    ctx.backoff.succeeded(&t.name_any());
    ctx.metrics.record(
        "applied",
        start.elapsed().as_secs_f64(),
        Some(planned.len()),
    );
    // Re-check periodically as well as on every change of an owned object.
    Ok(Action::requeue(Duration::from_secs(300)))
}

/// The namespaces of `t` that an older tenant (by creation time, then name) also claims.
/// Pure.
pub fn namespace_conflicts(t: &MLTenant, all: &[Arc<MLTenant>]) -> Vec<String> {
    let key = |x: &MLTenant| (x.metadata.creation_timestamp.clone(), x.name_any());
    let mine = key(t);
    let mut out = Vec::new();
    for other in all {
        if other.name_any() == t.name_any() || key(other) > mine {
            continue;
        }
        for ns in &t.spec.namespaces {
            if other.spec.namespaces.iter().any(|o| o.name == ns.name) {
                out.push(format!(
                    "namespace `{}` already belongs to MLTenant `{}`",
                    ns.name,
                    other.name_any()
                ));
            }
        }
    }
    out.sort();
    out
}

/// The quota limits in `planned` below what their namespace already uses (from the live
/// ResourceQuota's status): lowering a quota under usage is refused, not applied.
async fn quota_below_usage(client: &Client, planned: &[Planned]) -> Result<Vec<String>, Error> {
    use k8s_openapi::api::core::v1::ResourceQuota;
    use mlguard_tenant::spec::quantity_value;
    let mut out = Vec::new();
    for p in planned
        .iter()
        .filter(|p| p.resource.kind == "ResourceQuota")
    {
        let Some(ns) = &p.namespace else { continue };
        let api: Api<ResourceQuota> = Api::namespaced(client.clone(), ns);
        let Some(live) = api.get_opt(&p.name).await? else {
            continue;
        };
        let used = live.status.and_then(|s| s.used).unwrap_or_default();
        let Some(hard) = p.object["spec"]["hard"].as_object() else {
            continue;
        };
        for (k, v) in hard {
            let (Some(h), Some(u)) = (
                v.as_str().and_then(quantity_value),
                used.get(k).and_then(|q| quantity_value(&q.0)),
            ) else {
                continue;
            };
            if h < u {
                out.push(format!(
                    "namespace `{ns}`: {k} {} is below the {} already in use",
                    v.as_str().unwrap_or_default(),
                    used[k].0
                ));
            }
        }
    }
    Ok(out)
}

/// Reconcile one tenant: apply, or on deletion clean up (owned objects are garbage-collected
/// through their owner references; Namespaces are kept) and release the finalizer.
pub async fn reconcile(t: Arc<MLTenant>, ctx: Arc<Context>) -> Result<Action, Error> {
    let api: Api<MLTenant> = Api::all(ctx.client.clone());
    kube::runtime::finalizer(&api, FINALIZER, t, |event| async {
        match event {
            kube::runtime::finalizer::Event::Apply(t) => apply(&t, &ctx).await,
            kube::runtime::finalizer::Event::Cleanup(_) => Ok(Action::await_change()),
        }
    })
    .await
    .map_err(|e| Error::Finalizer(e.to_string()))
}

/// Exponential backoff per tenant: 2 s after the first failure, doubling to 5 minutes, and
/// reset by a reconcile that ends (applied, or Degraded for a reason only a change can fix).
#[derive(Debug, Default)]
pub struct Backoff {
    failures: std::sync::Mutex<std::collections::HashMap<String, u32>>,
}

impl Backoff {
    pub const FIRST: Duration = Duration::from_secs(2);
    pub const MAX: Duration = Duration::from_secs(300);

    /// Record a failure of `tenant`; the delay before its next try.
    pub fn failed(&self, tenant: &str) -> Duration {
        let mut f = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let n = f.entry(tenant.to_owned()).or_default();
        *n = n.saturating_add(1);
        Self::FIRST
            .saturating_mul(1u32 << (*n - 1).min(16))
            .min(Self::MAX)
    }

    pub fn succeeded(&self, tenant: &str) {
        self.failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(tenant);
    }
}

/// Back off after an error, exponentially per tenant.
pub fn error_policy(t: Arc<MLTenant>, e: &Error, ctx: Arc<Context>) -> Action {
    let name = t.name_any();
    let delay = ctx.backoff.failed(&name);
    tracing::warn!(tenant = %name, error = %e, retry_in = ?delay, "reconcile failed");
    Action::requeue(delay)
}

/// Serve `/healthz` and `/readyz` (200 `ok`), `/metrics`, and 404 otherwise, on `addr` until the process
/// ends. A plain HTTP/1.1 responder: the kubelet's probes are its only clients.
pub async fn serve_health(
    addr: std::net::SocketAddr,
    metrics: Arc<metrics::Metrics>,
) -> std::io::Result<()> {
    serve_health_on(tokio::net::TcpListener::bind(addr).await?, metrics).await
}

/// [`serve_health`] on a bound listener; `/metrics` serves the OpenMetrics text.
pub async fn serve_health_on(
    listener: tokio::net::TcpListener,
    metrics: Arc<metrics::Metrics>,
) -> std::io::Result<()> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    loop {
        let (mut sock, _) = listener.accept().await?;
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 1024];
            let n = match tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf)).await {
                Ok(Ok(n)) => n,
                _ => return,
            };
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split_whitespace().nth(1).unwrap_or_default();
            let get = head.starts_with("GET ");
            let (status, ctype, body) = match path {
                "/healthz" | "/readyz" if get => ("200 OK", "text/plain", "ok".to_owned()),
                "/metrics" if get => (
                    "200 OK",
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                    metrics.encode(),
                ),
                _ => ("404 Not Found", "text/plain", String::new()),
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}

/// Run the controller until SIGTERM or Ctrl-C: reconcile every MLTenant, and again whenever
/// an object it owns changes or is deleted (drift repair), and every 5 minutes; only while
/// holding the leader-election Lease ([`leader`]).
pub async fn run(client: Client) -> Result<(), Error> {
    run_leading(
        Arc::new(Context::new(client)),
        leader::LeaseConfig::from_env(),
    )
    .await
}

/// Wait for the Lease, then run the controller until a signal (the Lease is released) or
/// until the Lease is lost ([`Error::LeaseLost`]: the caller exits, and a restart makes this
/// replica a candidate again).
pub async fn run_leading(ctx: Arc<Context>, lease: leader::LeaseConfig) -> Result<(), Error> {
    let elector = Arc::new(leader::Elector::new(ctx.client.clone(), lease));
    elector.acquire().await;
    let (lost_tx, lost_rx) = tokio::sync::oneshot::channel::<()>();
    // Renewal stops with this future, however it ends (a dropped future must not leave a
    // task renewing a Lease for a controller that no longer runs).
    let holder = AbortOnDrop({
        let elector = elector.clone();
        tokio::spawn(async move {
            elector.hold().await;
            let _ = lost_tx.send(());
        })
    });
    let lost = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let trigger = {
        let lost = lost.clone();
        async move {
            if lost_rx.await.is_ok() {
                lost.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        }
    };
    let result = controller(ctx, Some(Box::pin(trigger))).await;
    drop(holder);
    if lost.load(std::sync::atomic::Ordering::SeqCst) {
        return Err(Error::LeaseLost);
    }
    elector.release().await;
    result
}

/// The controller without leader election (one replica, or tests), with a given context (its
/// metrics are the ones the health address serves).
pub async fn run_with(ctx: Arc<Context>) -> Result<(), Error> {
    controller(ctx, None).await
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

type Trigger = std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send + Sync>>;

async fn controller(ctx: Arc<Context>, stop: Option<Trigger>) -> Result<(), Error> {
    let client = ctx.client.clone();
    use k8s_openapi::api::core::v1::{LimitRange, ResourceQuota};
    use k8s_openapi::api::networking::v1::NetworkPolicy;
    use k8s_openapi::api::rbac::v1::{Role, RoleBinding};
    use kube::runtime::{watcher, Controller};
    let tenants: Api<MLTenant> = Api::all(client.clone());
    // Fail early, with a clear error, when the CRD is not installed.
    tenants
        .list(&kube::api::ListParams::default().limit(1))
        .await?;
    let wc = watcher::Config::default;
    let mut controller = Controller::new(tenants, wc());
    let _ = ctx.tenants.set(controller.store());
    if let Some(stop) = stop {
        controller = controller.graceful_shutdown_on(stop);
    }
    // The first apply of a tenant's objects sends a burst of watch events, each a reason to
    // reconcile it again: wait for the burst to end, and reconcile once.
    controller
        .with_config(kube::runtime::controller::Config::default().debounce(DEBOUNCE))
        .owns(Api::<NetworkPolicy>::all(client.clone()), wc())
        .owns(Api::<Role>::all(client.clone()), wc())
        .owns(Api::<RoleBinding>::all(client.clone()), wc())
        .owns(Api::<ResourceQuota>::all(client.clone()), wc())
        .owns(Api::<LimitRange>::all(client.clone()), wc())
        .shutdown_on_signal()
        .run(reconcile, error_policy, ctx)
        .for_each(|res| async move {
            match res {
                Ok((obj, _)) => tracing::info!(tenant = %obj.name, "reconciled"),
                Err(e) => tracing::warn!(error = %e, "reconcile failed"),
            }
        })
        .await;
    Ok(())
}

/// `mlguard operator run`: the health endpoints and the controller, with the client from the
/// environment (in-cluster service account, or KUBECONFIG / ~/.kube/config).
pub fn main(health_addr: std::net::SocketAddr) -> Result<(), Error> {
    let _ = tracing_subscriber::fmt()
        .with_target(false)
        .with_writer(std::io::stderr)
        .try_init();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::Runtime(e.to_string()))?;
    rt.block_on(async move {
        let client = Client::try_default().await?;
        let ctx = Arc::new(Context::new(client));
        let metrics = ctx.metrics.clone();
        tokio::spawn(async move {
            if let Err(e) = serve_health(health_addr, metrics).await {
                tracing::error!(error = %e, %health_addr, "health endpoints stopped");
            }
        });
        run_leading(ctx, leader::LeaseConfig::from_env()).await
    })
}
