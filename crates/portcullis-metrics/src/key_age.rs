//! `portcullis_signing_key_age_seconds{kid}`: an age grows by itself, so it is computed from
//! the key's creation time at each scrape rather than stored.

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{SystemTime, UNIX_EPOCH};

pub(crate) const NAME: &str = "portcullis_signing_key_age_seconds";
// A collector writes its help text as given (the registry adds the full stop to the others).
const HELP: &str = "Age of the signing key in use, by key id.";

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KidLabel {
    kid: String,
}

/// The signing key in use: its id and creation time (Unix seconds). Shared by the handle that
/// sets it and the collector that reports it.
#[derive(Clone, Debug, Default)]
pub(crate) struct SigningKeyAge {
    key: Arc<Mutex<Option<(String, i64)>>>,
}

impl SigningKeyAge {
    pub fn set(&self, kid: &str, created_at_unix: i64) {
        let mut key = self.key.lock().unwrap_or_else(PoisonError::into_inner);
        *key = Some((kid.to_owned(), created_at_unix));
    }

    fn current(&self) -> Option<(String, i64)> {
        self.key
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}

impl Collector for SigningKeyAge {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Some((kid, created)) = self.current() else {
            return Ok(());
        };
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                i64::try_from(since.as_secs()).unwrap_or(i64::MAX)
            });
        // A clock set back before the key's creation reads as a new key, never a negative age.
        let age = ConstGauge::new(now.saturating_sub(created).max(0));
        let mut metric = encoder.encode_descriptor(NAME, HELP, None, age.metric_type())?;
        age.encode(metric.encode_family(&KidLabel { kid })?)
    }
}
