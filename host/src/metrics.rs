//! Prometheus metrics: requests by component and status, latency and instantiation histograms, requests in
//! flight, guest and plugin failures (traps, timeouts, memory), deploys.

use std::collections::HashMap;
use std::sync::atomic::AtomicI64;
use std::sync::Arc;
use std::time::Duration;

use arc_swap::ArcSwap;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    component: String,
    status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ComponentLabel {
    component: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FailureLabels {
    component: String,
    kind: String,
}

pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<ComponentLabel, Histogram>,
    instantiation: Family<ComponentLabel, Histogram>,
    in_flight: Gauge<i64, AtomicI64>,
    guest_failures: Family<FailureLabels, Counter>,
    plugin_failures: Family<FailureLabels, Counter>,
    deploys: Family<ComponentLabel, Counter>,
    /// Per-component handles on the metrics above that every request updates, so that the request path neither
    /// allocates label strings nor takes the families' locks: a lock-free map read, then atomic updates (the
    /// handles share their values with the families, which are what `render` encodes).
    handles: ArcSwap<HashMap<String, Arc<ComponentHandles>>>,
}

struct ComponentHandles {
    latency: Histogram,
    instantiation: Histogram,
    /// Request counters by status, added as statuses first occur (a handful per component).
    by_status: ArcSwap<Vec<(u16, Counter)>>,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.0, 18))
}

fn instantiation_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.000_001, 2.0, 16))
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Metrics {
        let mut registry = Registry::with_prefix("esignet");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<ComponentLabel, Histogram>::new_with_constructor(latency_histogram as fn() -> Histogram);
        let instantiation =
            Family::<ComponentLabel, Histogram>::new_with_constructor(instantiation_histogram as fn() -> Histogram);
        let in_flight = Gauge::<i64, AtomicI64>::default();
        let guest_failures = Family::<FailureLabels, Counter>::default();
        let plugin_failures = Family::<FailureLabels, Counter>::default();
        let deploys = Family::<ComponentLabel, Counter>::default();
        registry.register("http_requests", "HTTP requests served, by component and status", requests.clone());
        registry.register("http_request_duration_seconds", "Request latency by component", latency.clone());
        registry.register(
            "instantiation_duration_seconds",
            "Time to instantiate a fresh component instance",
            instantiation.clone(),
        );
        registry.register("http_requests_in_flight", "Requests being served now", in_flight.clone());
        registry.register("guest_failures", "Guest traps, timeouts and memory exhaustion", guest_failures.clone());
        registry.register("plugin_failures", "Plugin calls that trapped, timed out or ran out of memory", plugin_failures.clone());
        registry.register("deploys", "Component versions deployed", deploys.clone());
        Metrics {
            registry,
            requests,
            latency,
            instantiation,
            in_flight,
            guest_failures,
            plugin_failures,
            deploys,
            handles: ArcSwap::from_pointee(HashMap::new()),
        }
    }

    /// Runs `f` on the component's handles, created on its first request. The common path is a lock-free read
    /// that touches no shared reference count.
    fn with_handles<R>(&self, component: &str, f: impl FnOnce(&ComponentHandles) -> R) -> R {
        if let Some(h) = self.handles.load().get(component) {
            return f(h);
        }
        let label = ComponentLabel { component: component.to_string() };
        let created = Arc::new(ComponentHandles {
            latency: self.latency.get_or_create(&label).clone(),
            instantiation: self.instantiation.get_or_create(&label).clone(),
            by_status: ArcSwap::from_pointee(Vec::new()),
        });
        // Two threads may race to add the same component; either entry shares the families' values.
        self.handles.rcu(|map| {
            let mut map = HashMap::clone(map);
            map.entry(component.to_string()).or_insert_with(|| created.clone());
            map
        });
        f(&created)
    }

    pub fn request(&self, component: &str, status: u16, elapsed: Duration) {
        self.with_handles(component, |h| {
            let counters = h.by_status.load();
            match counters.iter().find(|(s, _)| *s == status) {
                Some((_, counter)) => {
                    counter.inc();
                }
                None => {
                    let counter =
                        self.requests.get_or_create(&RequestLabels { component: component.to_string(), status }).clone();
                    counter.inc();
                    h.by_status.rcu(|v| {
                        let mut v = Vec::clone(v);
                        if !v.iter().any(|(s, _)| *s == status) {
                            v.push((status, counter.clone()));
                        }
                        v
                    });
                }
            }
            h.latency.observe(elapsed.as_secs_f64());
        })
    }

    pub fn instantiated(&self, component: &str, elapsed: Duration) {
        self.with_handles(component, |h| h.instantiation.observe(elapsed.as_secs_f64()))
    }

    pub fn in_flight(&self) -> &Gauge<i64, AtomicI64> {
        &self.in_flight
    }

    pub fn guest_failure(&self, component: &str, kind: &str) {
        self.guest_failures.get_or_create(&FailureLabels { component: component.to_string(), kind: kind.to_string() }).inc();
    }

    pub fn plugin_failure(&self, component: &str, kind: &str) {
        self.plugin_failures.get_or_create(&FailureLabels { component: component.to_string(), kind: kind.to_string() }).inc();
    }

    pub fn deployed(&self, component: &str) {
        self.deploys.get_or_create(&ComponentLabel { component: component.to_string() }).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        if encode(&mut out, &self.registry).is_err() {
            out.clear();
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cached_handles_update_the_rendered_families() {
        let m = Metrics::new();
        m.request("a", 200, Duration::from_millis(1));
        m.request("a", 200, Duration::from_millis(1));
        m.request("a", 404, Duration::from_millis(1));
        m.request("b", 200, Duration::from_millis(1));
        m.instantiated("a", Duration::from_micros(5));
        m.instantiated("a", Duration::from_micros(5));
        let text = m.render();
        assert!(text.contains(r#"esignet_http_requests_total{component="a",status="200"} 2"#), "{text}");
        assert!(text.contains(r#"esignet_http_requests_total{component="a",status="404"} 1"#), "{text}");
        assert!(text.contains(r#"esignet_http_requests_total{component="b",status="200"} 1"#), "{text}");
        assert!(text.contains(r#"esignet_http_request_duration_seconds_count{component="a"} 3"#), "{text}");
        assert!(text.contains(r#"esignet_instantiation_duration_seconds_count{component="a"} 2"#), "{text}");
    }
}
