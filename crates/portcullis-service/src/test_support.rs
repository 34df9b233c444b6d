//! Test support (feature `test-support`, never enabled in the shipped binary's own build): signs
//! an arbitrary JOSE header and payload with the gateway's real signing key, so the behavioural
//! suite can prove that well-signed but wrong tokens (bad `typ`, `crit`, future `nbf`, ...) are
//! refused.

use crate::gateway::Gateway;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde_json::Value;

impl Gateway {
    /// The current key id, for building headers.
    pub fn signing_kid(&self) -> String {
        self.access.signing_kid().to_owned()
    }

    /// `base64url(header).base64url(payload).signature` under the current signing key.
    pub fn sign_raw(&self, header: &Value, payload: &Value) -> String {
        let message = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(payload.to_string())
        );
        let signature = self
            .access
            .sign_message(message.as_bytes())
            .unwrap_or_default();
        format!("{message}.{signature}")
    }
}
