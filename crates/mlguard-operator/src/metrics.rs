//! Prometheus metrics of the operator, served on the health address at `/metrics`
//! (OpenMetrics text).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

type Labels = Vec<(String, String)>;

pub struct Metrics {
    registry: Registry,
    reconciles: Family<Labels, Counter>,
    duration: Histogram,
    objects: Gauge,
    total: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("mlguard_operator");
        let reconciles = Family::<Labels, Counter>::default();
        registry.register(
            "reconciles",
            "MLTenant reconciles by outcome (applied, invalid, error)",
            reconciles.clone(),
        );
        let duration = Histogram::new(exponential_buckets(0.005, 2.0, 12));
        registry.register(
            "reconcile_duration_seconds",
            "Time to reconcile one MLTenant",
            duration.clone(),
        );
        let objects = Gauge::default();
        registry.register(
            "applied_objects",
            "Objects applied by the last successful reconcile",
            objects.clone(),
        );
        Metrics {
            registry,
            reconciles,
            duration,
            objects,
            total: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// Count one reconcile.
    pub fn record(&self, outcome: &str, seconds: f64, applied: Option<usize>) {
        self.reconciles
            .get_or_create(&vec![("outcome".to_owned(), outcome.to_owned())])
            .inc();
        self.duration.observe(seconds);
        self.total
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(n) = applied {
            self.objects.set(i64::try_from(n).unwrap_or(i64::MAX));
        }
    }

    /// Reconciles recorded so far, of any outcome.
    pub fn reconciles(&self) -> u64 {
        self.total.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut s = String::new();
        let _ = encode(&mut s, &self.registry);
        s
    }
}
