//! One measurement: how many requests in how long, their median and 99th-percentile latency,
//! and the CPU time the measured process spent on them. Percentiles are nearest-rank over every
//! sample, sorted once; no sampling, no histogram buckets.

use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Measurement {
    pub requests: u64,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    /// CPU time (user + system) of the measured process over the run, when it was measured.
    pub cpu_us: Option<f64>,
}

impl Measurement {
    /// Summarises latency samples taken over `elapsed`.
    pub fn from_samples(
        mut samples: Vec<Duration>,
        elapsed: Duration,
        cpu: Option<Duration>,
    ) -> Self {
        samples.sort_unstable();
        Self {
            requests: samples.len() as u64,
            seconds: elapsed.as_secs_f64(),
            p50_ms: millis(percentile(&samples, 0.50)),
            p99_ms: millis(percentile(&samples, 0.99)),
            cpu_us: cpu.map(|cpu| cpu.as_secs_f64() * 1e6),
        }
    }

    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.seconds
    }
}

/// Nearest-rank percentile of sorted samples; zero when there are none.
pub fn percentile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let samples: Vec<_> = (1..=100).map(Duration::from_millis).collect();
        let measured = Measurement::from_samples(samples, Duration::from_secs(2), None);
        assert_eq!(measured.requests, 100);
        assert!((measured.p50_ms - 50.0).abs() < 1e-9);
        assert!((measured.p99_ms - 99.0).abs() < 1e-9);
        assert!((measured.per_second() - 50.0).abs() < 1e-9);
    }

    #[test]
    fn no_samples_is_zero_latency() {
        let measured = Measurement::from_samples(Vec::new(), Duration::from_secs(1), None);
        assert_eq!(measured.p99_ms, 0.0);
    }
}
