//! Prometheus metrics (the `prometheus` crate; one registry per `App`, no globals): requests
//! and latency by route and status, authentication failures by reason, key-cache hits and
//! misses, password hashes waiting or running, open event queues.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
    TextEncoder,
};

/// The metrics of one process.
pub struct Metrics {
    registry: Registry,
    pub requests: IntCounterVec,
    pub latency: HistogramVec,
    pub auth_failures: IntCounterVec,
    pub key_cache_hits: IntCounter,
    pub key_cache_misses: IntCounter,
    pub password_hashes_in_flight: IntGauge,
    event_queues: IntGauge,
}

impl Metrics {
    pub fn new() -> prometheus::Result<Metrics> {
        let registry = Registry::new_custom(Some("tessera".into()), None)?;
        let requests = IntCounterVec::new(
            Opts::new(
                "http_requests_total",
                "HTTP requests by route, method and status",
            ),
            &["route", "method", "status"],
        )?;
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "http_request_duration_seconds",
                "HTTP request latency by route",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
                60.0,
            ]),
            &["route", "method"],
        )?;
        let auth_failures = IntCounterVec::new(
            Opts::new("auth_failures_total", "Refused credentials by reason"),
            &["reason"],
        )?;
        let key_cache_hits = IntCounter::new(
            "key_cache_hits_total",
            "API-key lookups served from the cache",
        )?;
        let key_cache_misses = IntCounter::new(
            "key_cache_misses_total",
            "API-key lookups that went to the store",
        )?;
        let password_hashes_in_flight = IntGauge::new(
            "password_hashes_in_flight",
            "Argon2 hashes running or waiting for a permit",
        )?;
        let event_queues = IntGauge::new("event_queues", "Open event queues on this node")?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(latency.clone()))?;
        registry.register(Box::new(auth_failures.clone()))?;
        registry.register(Box::new(key_cache_hits.clone()))?;
        registry.register(Box::new(key_cache_misses.clone()))?;
        registry.register(Box::new(password_hashes_in_flight.clone()))?;
        registry.register(Box::new(event_queues.clone()))?;
        Ok(Metrics {
            registry,
            requests,
            latency,
            auth_failures,
            key_cache_hits,
            key_cache_misses,
            password_hashes_in_flight,
            event_queues,
        })
    }
}

impl crate::App {
    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Prometheus' text format of every metric.
    pub fn render_metrics(&self) -> String {
        let m = &self.inner.metrics;
        m.event_queues.set(self.events().len() as i64);
        let mut out = Vec::new();
        if TextEncoder::new()
            .encode(&m.registry.gather(), &mut out)
            .is_err()
        {
            return String::new();
        }
        String::from_utf8(out).unwrap_or_default()
    }
}
