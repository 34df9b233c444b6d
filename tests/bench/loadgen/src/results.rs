//! The results file: one JSON object per line, a measurement labelled with its tier and name.
//! Appended to by every measuring command, read whole by the summary.

use crate::revocation_lag::Observation;
use crate::stats::Measurement;
use anyhow::Context;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::Path;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Record {
    pub tier: String,
    pub name: String,
    #[serde(flatten)]
    pub measurement: Measurement,
    /// The revocation-lag bench only: every revocation as replica B saw it, so the summary
    /// computes its figures from the observations themselves.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revocations: Vec<Observation>,
}

/// Appends one measurement and echoes it on stdout for the script's round-by-round lines.
pub fn append(
    path: &Path,
    tier: &str,
    name: &str,
    measurement: &Measurement,
) -> anyhow::Result<()> {
    append_record(
        path,
        &Record {
            tier: tier.to_owned(),
            name: name.to_owned(),
            measurement: measurement.clone(),
            revocations: Vec::new(),
        },
    )
}

/// Appends a whole record, echoed on stdout as [`append`] does.
pub fn append_record(path: &Path, record: &Record) -> anyhow::Result<()> {
    let line = serde_json::to_string(record)?;
    let mut file = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("opening {}", path.display()))?;
    writeln!(file, "{line}")?;
    println!("{line}");
    Ok(())
}

pub fn read(path: &Path) -> anyhow::Result<Vec<Record>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).with_context(|| format!("bad record: {line}")))
        .collect()
}
