//! The one summary of `just bench` (issue 14 §5): every figure beside its same-run baseline,
//! the ratio, the target and whether it is met; printed as a table and written as JSON. The
//! targets live here and nowhere else. Rounds of one measurement are pooled: throughput and
//! CPU per request over all their requests, latencies as the mean of the rounds' percentiles.

use crate::results::{self, Record};
use anyhow::Context;
use serde::Serialize;
use std::path::Path;

/// Which number of a measurement a row compares.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(rename_all = "snake_case")]
enum Metric {
    Throughput,
    P50,
    P99,
    CpuPerRequest,
}

impl Metric {
    fn unit(self) -> &'static str {
        match self {
            Self::Throughput => "req/s",
            Self::P50 | Self::P99 => "ms",
            Self::CpuPerRequest => "µs CPU/req",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Self::Throughput => "throughput",
            Self::P50 => "p50",
            Self::P99 => "p99",
            Self::CpuPerRequest => "CPU per request",
        }
    }
}

/// A ratio the figure must reach (throughput) or stay under (latency).
#[derive(Debug, Clone, Copy, Serialize)]
struct Target {
    ratio: f64,
    at_least: bool,
}

const AT_LEAST: bool = true;

/// One comparison: `subject` against `baseline`, both measured on `tiers` in this run.
struct Comparison {
    subject: &'static str,
    baseline: &'static str,
    metric: Metric,
    tiers: &'static [&'static str],
    target: Option<Target>,
}

const BOTH: &[&str] = &["embedded", "production"];

const fn compare(
    subject: &'static str,
    baseline: &'static str,
    metric: Metric,
    tiers: &'static [&'static str],
    target: Option<(bool, f64)>,
) -> Comparison {
    let target = match target {
        Some((at_least, ratio)) => Some(Target { ratio, at_least }),
        None => None,
    };
    Comparison {
        subject,
        baseline,
        metric,
        tiers,
        target,
    }
}

/// Every row of the table, in order. CPU and most latency rows have no target: they say where
/// the time goes, and the issue sets none for them.
const COMPARISONS: &[Comparison] = &[
    compare(
        "verify",
        "healthz",
        Metric::Throughput,
        &["embedded"],
        Some((AT_LEAST, 0.70)),
    ),
    compare(
        "verify",
        "healthz",
        Metric::Throughput,
        &["production"],
        Some((AT_LEAST, 0.50)),
    ),
    compare("verify", "healthz", Metric::P99, BOTH, None),
    compare("verify", "healthz", Metric::CpuPerRequest, BOTH, None),
    compare(
        "proxied",
        "proxy-verify",
        Metric::Throughput,
        &["embedded"],
        Some((AT_LEAST, 0.40)),
    ),
    compare(
        "refresh",
        "rotation-sqlx",
        Metric::Throughput,
        BOTH,
        Some((AT_LEAST, 0.60)),
    ),
    compare("refresh", "rotation-sqlx", Metric::P50, BOTH, None),
    compare("refresh", "rotation-sqlx", Metric::P99, BOTH, None),
    compare(
        "refresh",
        "rotation-sqlx",
        Metric::CpuPerRequest,
        BOTH,
        None,
    ),
    compare(
        "login",
        "argon2id",
        Metric::Throughput,
        BOTH,
        Some((AT_LEAST, 0.90)),
    ),
    compare("login", "argon2id", Metric::P99, BOTH, None),
    compare("login", "argon2id", Metric::CpuPerRequest, BOTH, None),
    compare(
        "verify-during-login-flood",
        "verify-idle",
        Metric::P99,
        BOTH,
        Some((!AT_LEAST, 2.0)),
    ),
];

/// The rounds of one measurement, pooled.
#[derive(Debug, Clone, Serialize)]
struct Pooled {
    rounds: usize,
    requests: u64,
    per_second: f64,
    p50_ms: f64,
    p99_ms: f64,
    cpu_us_per_request: Option<f64>,
}

impl Pooled {
    fn of(records: &[&Record]) -> Option<Self> {
        let rounds = records.len();
        if rounds == 0 {
            return None;
        }
        let requests: u64 = records.iter().map(|r| r.measurement.requests).sum();
        let seconds: f64 = records.iter().map(|r| r.measurement.seconds).sum();
        let mean =
            |f: fn(&Record) -> f64| records.iter().map(|r| f(r)).sum::<f64>() / rounds as f64;
        let cpu: Option<f64> = records.iter().map(|r| r.measurement.cpu_us).sum();
        Some(Self {
            rounds,
            requests,
            per_second: requests as f64 / seconds,
            p50_ms: mean(|r| r.measurement.p50_ms),
            p99_ms: mean(|r| r.measurement.p99_ms),
            cpu_us_per_request: cpu
                .filter(|_| requests > 0)
                .map(|cpu| cpu / requests as f64),
        })
    }

    fn get(&self, metric: Metric) -> Option<f64> {
        match metric {
            Metric::Throughput => Some(self.per_second),
            Metric::P50 => Some(self.p50_ms),
            Metric::P99 => Some(self.p99_ms),
            Metric::CpuPerRequest => self.cpu_us_per_request,
        }
    }
}

#[derive(Debug, Serialize)]
struct Row {
    tier: String,
    figure: String,
    metric: Metric,
    unit: &'static str,
    value: f64,
    baseline_name: String,
    baseline: f64,
    ratio: f64,
    target: Option<Target>,
    met: Option<bool>,
}

#[derive(Debug, Serialize)]
struct Summary {
    cores: usize,
    rows: Vec<Row>,
    measurements: Vec<Record>,
}

fn rows(records: &[Record]) -> Vec<Row> {
    let pooled = |tier: &str, name: &str| {
        let matching: Vec<_> = records
            .iter()
            .filter(|r| r.tier == tier && r.name == name)
            .collect();
        Pooled::of(&matching)
    };
    let mut rows = Vec::new();
    for tier in BOTH {
        for comparison in COMPARISONS.iter().filter(|c| c.tiers.contains(tier)) {
            let (Some(subject), Some(baseline)) = (
                pooled(tier, comparison.subject),
                pooled(tier, comparison.baseline),
            ) else {
                continue;
            };
            let metric = comparison.metric;
            let (Some(value), Some(base)) = (subject.get(metric), baseline.get(metric)) else {
                continue;
            };
            let ratio = value / base;
            let met = comparison.target.map(|target| {
                if target.at_least {
                    ratio >= target.ratio
                } else {
                    ratio <= target.ratio
                }
            });
            rows.push(Row {
                tier: (*tier).to_owned(),
                figure: comparison.subject.to_owned(),
                metric,
                unit: metric.unit(),
                value,
                baseline_name: comparison.baseline.to_owned(),
                baseline: base,
                ratio,
                target: comparison.target,
                met,
            });
        }
    }
    rows
}

fn number(value: f64) -> String {
    if value >= 100.0 {
        format!("{value:.0}")
    } else if value >= 10.0 {
        format!("{value:.1}")
    } else {
        format!("{value:.2}")
    }
}

fn print_table(rows: &[Row]) {
    println!(
        "| tier | figure | metric | value | baseline | ratio | target | met |\n| --- | --- | --- | ---: | --- | ---: | --- | --- |"
    );
    for row in rows {
        let target = row.target.map_or_else(
            || "—".to_owned(),
            |t| format!("{} {:.2}×", if t.at_least { "≥" } else { "≤" }, t.ratio),
        );
        let met = match row.met {
            Some(true) => "yes",
            Some(false) => "NO",
            None => "—",
        };
        println!(
            "| {} | {} | {} | {} {} | {}: {} | {:.2}× | {} | {} |",
            row.tier,
            row.figure,
            row.metric.label(),
            number(row.value),
            row.unit,
            row.baseline_name,
            number(row.baseline),
            row.ratio,
            target,
            met
        );
    }
}

/// Prints the table for `results` and writes it, with the raw measurements, to `json`.
pub fn write(results: &Path, json: &Path) -> anyhow::Result<()> {
    let measurements = results::read(results)?;
    let rows = rows(&measurements);
    print_table(&rows);
    let summary = Summary {
        cores: crate::cpu::cores(),
        rows,
        measurements,
    };
    if let Some(dir) = json.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(json, serde_json::to_string_pretty(&summary)?)
        .with_context(|| format!("writing {}", json.display()))
}
