//! Secret configuration values (`key_encryption_key`, `webhook_secret`): read from the file or
//! the environment like any string, but never printable, so a `{:?}` of the config is safe, and
//! never serialized, so neither is a config written out.

use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// A secret read from configuration. `Debug` prints `[redacted]`; only [`Secret::expose`]
/// gives the text, at the one place that turns it into a key.
#[derive(Clone, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("[redacted]")
    }
}

impl From<String> for Secret {
    fn from(text: String) -> Self {
        Self(text)
    }
}

impl From<&str> for Secret {
    fn from(text: &str) -> Self {
        Self(text.to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_prints_the_secret() {
        let secret = Secret::from("hunter2-hunter2-hunter2");
        let printed = format!("{secret:?} {:?}", Some(secret.clone()));
        assert!(!printed.contains("hunter2"), "{printed}");
        assert_eq!(printed, "[redacted] Some([redacted])");
        assert_eq!(secret.expose(), "hunter2-hunter2-hunter2");
    }

    #[test]
    fn serializing_never_writes_the_secret() {
        let secret = Secret::from("hunter2-hunter2-hunter2");
        assert_eq!(
            serde_json::to_string(&secret).expect("serializes"),
            "\"[redacted]\""
        );
    }
}
