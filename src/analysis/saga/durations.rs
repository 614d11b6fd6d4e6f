//! Durations of saga steps and whole instances, in HDR histograms: bounded
//! in memory whatever their number.

use std::collections::HashMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use super::instance::SagaState;

/// Durations in milliseconds, bounded in memory whatever their number.
#[derive(Debug, Clone)]
pub struct Durations(Histogram<u64>);

impl Default for Durations {
    fn default() -> Self {
        // 1 ms to a day, 3 significant digits.
        Durations(Histogram::new_with_bounds(1, 86_400_000, 3).expect("valid bounds"))
    }
}

/// p50, p95, p99 and max of some durations, in ms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub max: u64,
}

impl Durations {
    pub fn record_ns(&mut self, ns: i64) {
        let ms = (ns.max(0) / 1_000_000).clamp(1, 86_400_000) as u64;
        let _ = self.0.record(ms);
    }

    pub fn percentiles(&self) -> Option<Percentiles> {
        let h = &self.0;
        (!h.is_empty()).then(|| Percentiles {
            count: h.len(),
            p50: h.value_at_quantile(0.50),
            p95: h.value_at_quantile(0.95),
            p99: h.value_at_quantile(0.99),
            max: h.max(),
        })
    }
}

/// Aggregates of one saga type.
#[derive(Debug, Clone, Default)]
pub struct TypeStats {
    /// Time from step k to step k + 1 (index k).
    pub steps: Vec<Durations>,
    /// From the first event to the last step.
    pub end_to_end: Durations,
    /// Instances forgotten beyond [`MAX_INSTANCES`], by state.
    pub forgotten: HashMap<SagaState, u64>,
}
