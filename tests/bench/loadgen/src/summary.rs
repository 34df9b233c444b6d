//! The one summary of `just bench` (issue 14 §5): every figure beside its same-run baseline,
//! the ratio, the target and whether it is met; printed as a table and written as JSON. The
//! targets live here and nowhere else. Rounds of one measurement are pooled: throughput and
//! CPU per request over all their requests, latencies as the mean of the rounds' percentiles.
//! Revocation lag (§1) is the one figure without a baseline: its target is in milliseconds,
//! and its percentiles are computed from every revocation of the tier.

use crate::results::{self, Record};
use crate::revocation_lag::LagStats;
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

/// Bounds on revocation lag, in milliseconds.
#[derive(Debug, Clone, Copy, Serialize)]
struct LagTarget {
    p99_ms: f64,
    max_ms: f64,
}

/// How far the figure may exceed its baseline, in the metric's unit (CPU per request).
#[derive(Debug, Clone, Copy, Serialize)]
struct MarginTarget {
    at_most_above: f64,
}

/// A row's target: a ratio to its baseline, a margin over it, or (revocation lag) bounds in
/// milliseconds. The JSON of a ratio target is `{ratio, at_least}`, of a margin
/// `{at_most_above}`, of a lag target `{p99_ms, max_ms}`.
#[derive(Debug, Clone, Copy, Serialize)]
#[serde(untagged)]
enum RowTarget {
    Ratio(Target),
    Margin(MarginTarget),
    Lag(LagTarget),
}

/// The name the revocation-lag bench records its runs under.
pub const LAG: &str = "revocation-lag";

/// Revocation lag's target, by tier. Production replicas are separate servers sharing Postgres
/// and Redis, as a deployment runs them: the target holds there. The embedded tier's
/// "replicas" are two processes on one machine following one SQLite file (the second polls it
/// every 100 ms), not a way to deploy several servers, so its figure is informative.
const LAG_TARGETS: &[(&str, Option<LagTarget>)] = &[
    ("embedded", None),
    (
        "production",
        Some(LagTarget {
            p99_ms: 10.0,
            max_ms: 100.0,
        }),
    ),
];

const AT_LEAST: bool = true;

/// One comparison: `subject` against `baseline`, both measured on `tiers` in this run.
struct Comparison {
    subject: &'static str,
    baseline: &'static str,
    metric: Metric,
    tiers: &'static [&'static str],
    target: Option<RowTarget>,
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
        Some((at_least, ratio)) => Some(RowTarget::Ratio(Target { ratio, at_least })),
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

/// A comparison whose target is a margin over the baseline rather than a ratio.
const fn compare_margin(
    subject: &'static str,
    baseline: &'static str,
    metric: Metric,
    tiers: &'static [&'static str],
    at_most_above: f64,
) -> Comparison {
    Comparison {
        subject,
        baseline,
        metric,
        tiers,
        target: Some(RowTarget::Margin(MarginTarget { at_most_above })),
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
        Some((AT_LEAST, 0.90)),
    ),
    compare(
        "verify",
        "healthz",
        Metric::Throughput,
        &["production"],
        Some((AT_LEAST, 0.85)),
    ),
    compare("verify", "healthz", Metric::P99, BOTH, None),
    compare_margin("verify", "healthz", Metric::CpuPerRequest, BOTH, 5.0),
    compare(
        "proxied",
        "proxy-verify",
        Metric::Throughput,
        &["embedded"],
        Some((AT_LEAST, 0.40)),
    ),
    compare("proxied", "proxy-verify", Metric::P99, &["embedded"], None),
    compare(
        "proxied",
        "proxy-verify",
        Metric::CpuPerRequest,
        &["embedded"],
        None,
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
    /// None for revocation lag, which has no baseline.
    baseline_name: Option<String>,
    baseline: Option<f64>,
    ratio: Option<f64>,
    target: Option<RowTarget>,
    met: Option<bool>,
    /// Revocation lag only: p50, max and the stale answers beside the p99 in `value`.
    #[serde(skip_serializing_if = "Option::is_none")]
    lag: Option<LagStats>,
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
            let met = comparison.target.map(|target| match target {
                RowTarget::Ratio(target) if target.at_least => ratio >= target.ratio,
                RowTarget::Ratio(target) => ratio <= target.ratio,
                RowTarget::Margin(margin) => value - base <= margin.at_most_above,
                RowTarget::Lag(_) => false,
            });
            rows.push(Row {
                tier: (*tier).to_owned(),
                figure: comparison.subject.to_owned(),
                metric,
                unit: metric.unit(),
                value,
                baseline_name: Some(comparison.baseline.to_owned()),
                baseline: Some(base),
                ratio: Some(ratio),
                target: comparison.target,
                met,
                lag: None,
            });
        }
        rows.extend(lag_row(records, tier));
    }
    rows
}

/// The tier's revocation lag over every revocation it recorded: p99 as the value, the rest
/// beside it. Met when p99 and max are within bounds and B refused every revoked token.
fn lag_row(records: &[Record], tier: &str) -> Option<Row> {
    let observations = records
        .iter()
        .filter(|r| r.tier == tier && r.name == LAG)
        .flat_map(|r| &r.revocations);
    let stats = LagStats::of(observations)?;
    let target = LAG_TARGETS
        .iter()
        .find(|(t, _)| *t == tier)
        .and_then(|(_, target)| *target);
    let met = target.map(|target| {
        stats.p99_ms <= target.p99_ms && stats.max_ms <= target.max_ms && stats.never_refused == 0
    });
    Some(Row {
        tier: tier.to_owned(),
        figure: LAG.to_owned(),
        metric: Metric::P99,
        unit: Metric::P99.unit(),
        value: stats.p99_ms,
        baseline_name: None,
        baseline: None,
        ratio: None,
        target: target.map(RowTarget::Lag),
        met,
        lag: Some(stats),
    })
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
        println!("{}", table_line(row));
    }
}

fn table_line(row: &Row) -> String {
    let target = match row.target {
        None => "—".to_owned(),
        Some(RowTarget::Ratio(t)) => {
            format!("{} {:.2}×", if t.at_least { "≥" } else { "≤" }, t.ratio)
        }
        Some(RowTarget::Margin(t)) => format!("≤ baseline + {}", number(t.at_most_above)),
        Some(RowTarget::Lag(t)) => format!("p99 ≤ {} ms, max ≤ {} ms", t.p99_ms, t.max_ms),
    };
    let met = match row.met {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "—",
    };
    // Lag to the microsecond, with what the p99 alone would hide.
    let value = match &row.lag {
        Some(lag) => format!(
            "{:.3} ms (p50 {:.3}, max {:.3}; {} stale 200s, {} never refused, of {})",
            lag.p99_ms, lag.p50_ms, lag.max_ms, lag.stale_200s, lag.never_refused, lag.revocations
        ),
        None => format!("{} {}", number(row.value), row.unit),
    };
    let baseline = match (&row.baseline_name, row.baseline) {
        (Some(name), Some(baseline)) => format!("{name}: {}", number(baseline)),
        _ => "—".to_owned(),
    };
    let ratio = row
        .ratio
        .map_or_else(|| "—".to_owned(), |ratio| format!("{ratio:.2}×"));
    format!(
        "| {} | {} | {} | {} | {} | {} | {} | {} |",
        row.tier,
        row.figure,
        row.metric.label(),
        value,
        baseline,
        ratio,
        target,
        met
    )
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::revocation_lag::{Kind, Observation};
    use crate::stats::Measurement;

    fn record(tier: &str, name: &str, requests: u64, cpu_us: Option<f64>) -> Record {
        Record {
            tier: tier.to_owned(),
            name: name.to_owned(),
            measurement: Measurement {
                requests,
                seconds: 1.0,
                p50_ms: 1.0,
                p99_ms: 2.0,
                cpu_us,
            },
            revocations: Vec::new(),
        }
    }

    /// A lag run whose revocations took 1 ms to 100 ms, then one of `slowest_ms`.
    fn lag_run(tier: &str, slowest_ms: u64) -> Record {
        let mut run = record(tier, LAG, 101, None);
        run.revocations = (1..=100)
            .chain([slowest_ms])
            .map(|ms| Observation {
                kind: Kind::nth(ms as usize),
                lag_us: ms * 1000,
                stale_200s: 0,
                refused: true,
            })
            .collect();
        run
    }

    fn row<'a>(rows: &'a [Row], tier: &str, figure: &str, metric: &str) -> Option<&'a Row> {
        rows.iter()
            .find(|row| row.tier == tier && row.figure == figure && row.metric.label() == metric)
    }

    #[test]
    fn every_throughput_figure_has_its_cpu_per_request_and_p99() {
        let mut records = Vec::new();
        for (name, baseline) in [("verify", "healthz"), ("proxied", "proxy-verify")] {
            records.push(record("embedded", name, 1000, Some(20_000.0)));
            records.push(record("embedded", baseline, 2000, Some(20_000.0)));
        }
        let rows = rows(&records);
        for figure in ["verify", "proxied"] {
            let cpu = row(&rows, "embedded", figure, "CPU per request").unwrap();
            assert!((cpu.value - 20.0).abs() < 1e-9, "{figure}");
            assert!((cpu.ratio.unwrap() - 2.0).abs() < 1e-9, "{figure}");
            assert!(row(&rows, "embedded", figure, "p99").is_some(), "{figure}");
        }
    }

    #[test]
    fn verify_cpu_is_held_to_a_margin_over_healthz_not_a_ratio() {
        // healthz: 10 µs per request. verify at 14 µs is within 5 µs of it; at 16 µs it is not.
        for (verify_cpu, met) in [(14_000.0, true), (16_000.0, false)] {
            let records = [
                record("production", "verify", 1000, Some(verify_cpu)),
                record("production", "healthz", 1000, Some(10_000.0)),
            ];
            let rows = rows(&records);
            let cpu = row(&rows, "production", "verify", "CPU per request").unwrap();
            assert_eq!(cpu.met, Some(met), "{verify_cpu}");
            assert!(
                table_line(cpu).contains("≤ baseline + 5.00"),
                "{}",
                table_line(cpu)
            );
        }
    }

    #[test]
    fn production_lag_is_held_to_its_bounds_and_embedded_lag_is_informative() {
        // p99 is the 100th of 101 revocations: 100 ms, over the 10 ms bound.
        let rows = rows(&[lag_run("embedded", 150), lag_run("production", 150)]);
        let production = row(&rows, "production", LAG, "p99").unwrap();
        assert!((production.value - 100.0).abs() < 1e-9);
        assert_eq!(production.met, Some(false));
        assert!(production.baseline.is_none() && production.ratio.is_none());
        let embedded = row(&rows, "embedded", LAG, "p99").unwrap();
        assert!(embedded.target.is_none());
        assert_eq!(embedded.met, None);
        assert!((embedded.lag.as_ref().unwrap().max_ms - 150.0).abs() < 1e-9);
    }

    #[test]
    fn lag_within_both_bounds_is_met_and_a_slow_maximum_is_not() {
        let mut fast = lag_run("production", 9);
        for observation in &mut fast.revocations {
            observation.lag_us /= 20;
        }
        let rows_fast = rows(&[fast.clone()]);
        assert_eq!(
            row(&rows_fast, "production", LAG, "p99").unwrap().met,
            Some(true)
        );

        fast.revocations.push(Observation {
            kind: Kind::Logout,
            lag_us: 100_001,
            stale_200s: 7,
            refused: true,
        });
        let rows_slow = rows(&[fast]);
        let slow = row(&rows_slow, "production", LAG, "p99").unwrap();
        assert_eq!(slow.met, Some(false));
        assert!(table_line(slow).contains("7 stale 200s"));
    }

    #[test]
    fn lag_runs_of_a_tier_are_pooled_by_revocation() {
        let rows = rows(&[lag_run("production", 1), lag_run("production", 1)]);
        let lag = row(&rows, "production", LAG, "p99").unwrap();
        assert_eq!(lag.lag.as_ref().unwrap().revocations, 202);
    }
}
