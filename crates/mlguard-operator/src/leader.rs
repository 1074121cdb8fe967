//! Leader election with a coordination.k8s.io/v1 Lease, so that two replicas of the operator
//! are safe: only the holder reconciles.
//!
//! The protocol is client-go's: the Lease names its holder and when it last renewed; a
//! candidate takes it when it is free, held by itself, or not renewed for
//! `leaseDurationSeconds`. Every write carries the resourceVersion it read, so of two
//! candidates racing for the same Lease the API server lets one win (the other gets 409).
//! The holder renews every [`LeaseConfig::renew`]; when it cannot renew before the lease
//! would expire, or finds another holder, it has lost, and stops (the process exits and is
//! restarted as a candidate). On graceful shutdown it releases the Lease so the other replica
//! takes over at once rather than after the lease duration.

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, PostParams};
use kube::Client;
use std::time::Duration;

/// Where the Lease is and how long it lasts.
#[derive(Debug, Clone)]
pub struct LeaseConfig {
    pub namespace: String,
    pub name: String,
    /// This replica's identity (the pod name).
    pub identity: String,
    /// How long a Lease stays held without renewal.
    pub duration: Duration,
    /// How often the holder renews, and a candidate retries.
    pub renew: Duration,
}

impl LeaseConfig {
    /// From the environment: POD_NAMESPACE (default `mlguard-system`) and POD_NAME (default the
    /// host name and process id), Lease `mlguard-operator`, 15 s held, renewed every 5 s.
    pub fn from_env() -> Self {
        let identity = std::env::var("POD_NAME").unwrap_or_else(|_| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_owned())
                .unwrap_or_else(|_| "mlguard".to_owned());
            format!("{host}-{}", std::process::id())
        });
        LeaseConfig {
            namespace: std::env::var("POD_NAMESPACE")
                .unwrap_or_else(|_| crate::manifests::NAMESPACE.to_owned()),
            name: "mlguard-operator".to_owned(),
            identity,
            duration: Duration::from_secs(15),
            renew: Duration::from_secs(5),
        }
    }
}

/// A candidate for, then the holder of, the Lease.
#[derive(Debug)]
pub struct Elector {
    api: Api<Lease>,
    cfg: LeaseConfig,
}

/// Whether a Lease as read may be taken by `me` at `now`.
pub fn may_take(lease: &Lease, me: &str, now: Timestamp) -> bool {
    let Some(spec) = &lease.spec else { return true };
    match spec.holder_identity.as_deref() {
        None | Some("") => true,
        Some(h) if h == me => true,
        Some(_) => {
            let secs = i64::from(spec.lease_duration_seconds.unwrap_or(15));
            let Some(renewed) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
                return true;
            };
            renewed.0.as_second().saturating_add(secs) < now.as_second()
        }
    }
}

impl Elector {
    pub fn new(client: Client, cfg: LeaseConfig) -> Self {
        Elector {
            api: Api::namespaced(client, &cfg.namespace),
            cfg,
        }
    }

    pub fn config(&self) -> &LeaseConfig {
        &self.cfg
    }

    fn spec(&self, acquired: Option<MicroTime>) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        LeaseSpec {
            holder_identity: Some(self.cfg.identity.clone()),
            lease_duration_seconds: Some(
                i32::try_from(self.cfg.duration.as_secs()).unwrap_or(i32::MAX),
            ),
            acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
            renew_time: Some(now),
            ..LeaseSpec::default()
        }
    }

    /// One attempt to take or renew the Lease: `Ok(true)` when this replica holds it now.
    pub async fn try_acquire(&self) -> Result<bool, kube::Error> {
        let pp = PostParams::default();
        match self.api.get_opt(&self.cfg.name).await? {
            None => {
                let lease = Lease {
                    metadata: ObjectMeta {
                        name: Some(self.cfg.name.clone()),
                        namespace: Some(self.cfg.namespace.clone()),
                        ..ObjectMeta::default()
                    },
                    spec: Some(self.spec(None)),
                };
                match self.api.create(&pp, &lease).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
            Some(mut lease) => {
                if !may_take(&lease, &self.cfg.identity, Timestamp::now()) {
                    return Ok(false);
                }
                let ours = lease
                    .spec
                    .as_ref()
                    .and_then(|s| s.holder_identity.as_deref())
                    == Some(self.cfg.identity.as_str());
                let acquired = ours
                    .then(|| lease.spec.as_ref().and_then(|s| s.acquire_time.clone()))
                    .flatten();
                let transitions = lease
                    .spec
                    .as_ref()
                    .and_then(|s| s.lease_transitions)
                    .unwrap_or(0);
                let mut spec = self.spec(acquired);
                spec.lease_transitions = Some(if ours { transitions } else { transitions + 1 });
                lease.spec = Some(spec);
                // The resourceVersion read is kept: a stale one is a 409, and the race is lost.
                match self.api.replace(&self.cfg.name, &pp, &lease).await {
                    Ok(_) => Ok(true),
                    Err(kube::Error::Api(e)) if e.code == 409 => Ok(false),
                    Err(e) => Err(e),
                }
            }
        }
    }

    /// Wait until this replica holds the Lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire().await {
                Ok(true) => {
                    tracing::info!(identity = %self.cfg.identity, lease = %self.cfg.name, "leading");
                    return;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election"),
            }
            tokio::time::sleep(self.cfg.renew).await;
        }
    }

    /// Renew until the Lease is lost (another holder, or no successful renewal within its
    /// duration); returns then.
    pub async fn hold(&self) {
        let mut last = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(self.cfg.renew).await;
            match self.try_acquire().await {
                Ok(true) => last = tokio::time::Instant::now(),
                Ok(false) => {
                    tracing::error!(identity = %self.cfg.identity, "lost the lease to another replica");
                    return;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "renewing the lease");
                    if last.elapsed() >= self.cfg.duration {
                        tracing::error!(identity = %self.cfg.identity, "could not renew the lease in time");
                        return;
                    }
                }
            }
        }
    }

    /// Give the Lease up (on graceful shutdown), if this replica still holds it.
    pub async fn release(&self) {
        let Ok(Some(mut lease)) = self.api.get_opt(&self.cfg.name).await else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.cfg.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        spec.renew_time = None;
        spec.acquire_time = None;
        if let Err(e) = self
            .api
            .replace(&self.cfg.name, &PostParams::default(), &lease)
            .await
        {
            tracing::warn!(error = %e, "releasing the lease");
        }
    }
}
