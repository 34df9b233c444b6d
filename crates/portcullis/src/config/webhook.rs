//! The security-event webhook's keys (`webhook_url`, `webhook_secret`, `webhook_kinds`),
//! checked and turned into [`WebhookSettings`]. The webhook is its own crate, not the service
//! layer's: the binary starts it and hands it to the gateway as its event sink.

use super::Config;
use anyhow::{bail, Context};
use portcullis_core::EventKind;
use portcullis_webhook::WebhookSettings;

impl Config {
    /// `None` when no `webhook_url` is set.
    pub(crate) fn webhook_settings(&self) -> anyhow::Result<Option<WebhookSettings>> {
        let Some(url) = &self.webhook_url else {
            return Ok(None);
        };
        if !(url.starts_with("https://") || url.starts_with("http://")) {
            bail!("webhook_url must be an http(s) URL");
        }
        let secret = self
            .webhook_secret
            .as_ref()
            .map(|secret| secret.expose())
            .filter(|secret| secret.len() >= 16)
            .context("webhook_secret (at least 16 characters) is required with webhook_url")?;
        let kinds = self
            .webhook_kinds
            .iter()
            .map(|kind| {
                EventKind::parse(kind)
                    .with_context(|| format!("unknown event kind {kind:?} in webhook_kinds"))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(Some(WebhookSettings::new(
            url.clone(),
            secret.as_bytes().to_vec(),
            kinds,
        )))
    }
}
