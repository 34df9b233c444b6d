//! Admin API keys: created with a recognisable prefix and 256 random bits, shown once, stored
//! as SHA-256 only, presented as `Authorization: Bearer <key>` on `/admin/*`.

use crate::error::{AuthError, AuthResult};
use crate::gateway::Gateway;
use crate::refresh_token::secret_hash;
use crate::secret::random_bytes;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use portcullis_core::admin::{AdminKey, ADMIN_KEY_PREFIX};
use portcullis_core::user::InputError;
use portcullis_core::{EventKind, SecurityEvent};
use serde_json::json;

fn check_key_name(name: &str) -> AuthResult<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if ok {
        Ok(())
    } else {
        Err(AuthError::Input(InputError::InvalidKeyName))
    }
}

impl Gateway {
    /// Creates a key named `name` and returns its text, which is never stored or shown again.
    pub async fn create_admin_key(&self, name: &str, actor: &str) -> AuthResult<String> {
        check_key_name(name)?;
        let secret = random_bytes::<32>()?;
        let text = format!("{ADMIN_KEY_PREFIX}{}", URL_SAFE_NO_PAD.encode(secret));
        let key = AdminKey {
            name: name.to_owned(),
            hash: secret_hash(&text),
            created_at: Self::now(),
            revoked_at: None,
        };
        self.durable.insert_admin_key(&key).await?;
        let event = SecurityEvent::new(EventKind::AdminKeyCreated, Self::now())
            .actor(actor)
            .details(json!({ "name": name }).to_string());
        self.record(event).await;
        Ok(text)
    }

    pub async fn admin_keys(&self) -> AuthResult<Vec<AdminKey>> {
        Ok(self.durable.admin_keys().await?)
    }

    pub async fn revoke_admin_key(&self, name: &str, actor: &str) -> AuthResult<()> {
        if !self.durable.revoke_admin_key(name, Self::now()).await? {
            return Err(AuthError::NotFound);
        }
        let event = SecurityEvent::new(EventKind::AdminKeyRevoked, Self::now())
            .actor(actor)
            .details(json!({ "name": name }).to_string());
        self.record(event).await;
        Ok(())
    }

    /// The name of the live admin key presented, or `InvalidAdminKey`. Anything without the key
    /// prefix (a user's access token, say) is refused before any lookup.
    pub async fn authenticate_admin(&self, bearer: Option<&str>) -> AuthResult<String> {
        let text = bearer
            .filter(|text| text.starts_with(ADMIN_KEY_PREFIX))
            .ok_or(AuthError::InvalidAdminKey)?;
        // The lookup is by the SHA-256 of 256 random bits: its timing reveals nothing usable.
        match self.durable.admin_key_by_hash(&secret_hash(text)).await? {
            Some(key) if key.revoked_at.is_none() => Ok(key.name),
            _ => Err(AuthError::InvalidAdminKey),
        }
    }
}
