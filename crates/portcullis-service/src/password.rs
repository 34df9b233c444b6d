//! Password hashing with argon2id (OWASP parameters: m = 19 MiB, t = 2, p = 1), run on a pool
//! of one low-priority thread per core ([`HashPool`]), so a login flood cannot starve token
//! verification on the async workers. How long a hash waited for its turn is measured
//! (`portcullis_password_hash_wait_seconds`): a growing wait is a login flood, or too few cores.

use crate::hash_pool::{HashPool, WorkerLost};
use crate::secret::{random_bytes, Password, SecretError};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use portcullis_metrics::Metrics;
use std::sync::Arc;
use std::time::Instant;

/// Why a password could not be hashed or checked. None of these is about the password itself:
/// a wrong password is `PasswordCheck { valid: false, .. }`.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    #[error("the argon2 parameters are invalid")]
    Params(#[source] argon2::Error),
    #[error(transparent)]
    Salt(#[from] SecretError),
    #[error("argon2 could not hash the password")]
    Hash(#[source] argon2::password_hash::Error),
    #[error("the password hashing threads could not be started")]
    Pool(#[source] std::io::Error),
    #[error("the password hashing task failed")]
    Task(#[source] WorkerLost),
}

/// The outcome of checking a password.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordCheck {
    pub valid: bool,
    /// The stored hash used other parameters than today's and should be replaced.
    pub needs_rehash: bool,
}

#[derive(Clone)]
pub struct Passwords {
    argon2: Argon2<'static>,
    pool: HashPool,
    /// Verified against when the user does not exist, so both paths cost the same.
    dummy_hash: Arc<String>,
    metrics: Metrics,
}

impl Passwords {
    pub fn new(metrics: Metrics) -> Result<Self, PasswordError> {
        let params = Params::new(19 * 1024, 2, 1, None).map_err(PasswordError::Params)?;
        Self::with_params(params, metrics)
    }

    pub fn with_params(params: Params, metrics: Metrics) -> Result<Self, PasswordError> {
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1);
        let dummy_hash = hash_now(&argon2, "portcullis dummy password")?;
        Ok(Self {
            argon2,
            pool: HashPool::new(cores).map_err(PasswordError::Pool)?,
            dummy_hash: Arc::new(dummy_hash),
            metrics,
        })
    }

    pub async fn hash(&self, password: &Password) -> Result<String, PasswordError> {
        let argon2 = self.argon2.clone();
        let password = password.clone();
        self.run_bounded(move || hash_now(&argon2, password.expose()))
            .await?
    }

    /// Checks `password` against `stored`, or against a dummy hash when there is no user.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<PasswordCheck, PasswordError> {
        let argon2 = self.argon2.clone();
        let password = password.clone();
        let exists = stored.is_some();
        let dummy = self.dummy_hash.to_string();
        let stored = stored.map_or_else(|| dummy.clone(), str::to_owned);
        self.run_bounded(move || {
            // An unusable stored hash (an account without a password) still costs one full
            // verification, so it cannot be told apart from a wrong password by timing.
            let (parsed, usable) = match PasswordHash::new(&stored) {
                Ok(parsed) => (parsed, true),
                Err(_) => match PasswordHash::new(&dummy) {
                    Ok(parsed) => (parsed, false),
                    Err(_) => {
                        return PasswordCheck {
                            valid: false,
                            needs_rehash: false,
                        }
                    }
                },
            };
            // Always run the full verification first: skipping it for unknown users would make
            // "no such account" measurably faster than "wrong password".
            let matches = argon2
                .verify_password(password.expose().as_bytes(), &parsed)
                .is_ok();
            let valid = matches && exists && usable;
            let wanted = argon2.params();
            let same_cost = Params::try_from(&parsed).is_ok_and(|stored| {
                (stored.m_cost(), stored.t_cost(), stored.p_cost())
                    == (wanted.m_cost(), wanted.t_cost(), wanted.p_cost())
            });
            let needs_rehash = parsed.algorithm.as_str() != "argon2id" || !same_cost;
            PasswordCheck {
                valid,
                needs_rehash,
            }
        })
        .await
    }

    async fn run_bounded<T: Send + 'static>(
        &self,
        work: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, PasswordError> {
        let queued = Instant::now();
        let metrics = self.metrics.clone();
        self.pool
            .run(move || {
                metrics.password_hash_wait(queued.elapsed());
                work()
            })
            .await
            .map_err(PasswordError::Task)
    }
}

fn hash_now(argon2: &Argon2<'_>, password: &str) -> Result<String, PasswordError> {
    let salt = random_bytes::<16>()?;
    let salt = SaltString::encode_b64(&salt).map_err(PasswordError::Hash)?;
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(PasswordError::Hash)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_old_parameters_ask_for_an_upgrade() {
        let metrics = Metrics::new();
        let weak = Passwords::with_params(
            Params::new(1024, 1, 1, None).expect("params"),
            metrics.clone(),
        )
        .expect("weak");
        let strong = Passwords::new(metrics.clone()).expect("strong");
        let password = Password::new("correct horse");
        let old_hash = weak.hash(&password).await.expect("hash");
        let check = strong
            .verify(&password, Some(&old_hash))
            .await
            .expect("verify");
        assert_eq!(
            check,
            PasswordCheck {
                valid: true,
                needs_rehash: true
            }
        );
        let new_hash = strong.hash(&password).await.expect("hash");
        assert!(new_hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        let check = strong
            .verify(&password, Some(&new_hash))
            .await
            .expect("verify");
        assert_eq!(
            check,
            PasswordCheck {
                valid: true,
                needs_rehash: false
            }
        );
        let wrong = strong
            .verify(&Password::new("wrong horse"), Some(&new_hash))
            .await
            .expect("verify");
        assert!(!wrong.valid);
        let missing = strong.verify(&password, None).await.expect("verify");
        assert!(
            !missing.valid,
            "the dummy hash never matches, even its own password"
        );
        let exposed = metrics.encode_prometheus().expect("metrics encode");
        assert!(
            exposed.contains("portcullis_password_hash_wait_seconds_count 6\n"),
            "each of the six hashes and checks waited for a slot once: {exposed}"
        );
    }
}
