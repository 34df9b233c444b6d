//! Password hashing with argon2id (OWASP parameters: m = 19 MiB, t = 2, p = 1), run on a pool
//! of one low-priority thread per core ([`HashPool`]), so a login flood cannot starve token
//! verification on the async workers. How long a hash waited for its turn is measured
//! (`portcullis_password_hash_wait_seconds`): a growing wait is a login flood, or too few cores.
//!
//! Each hashing thread keeps its argon2 working memory between logins: allocating and zeroing
//! 19 MiB for every check costs several percent of the check itself, so the process holds one
//! such block per core for good.

use crate::hash_pool::{HashPool, WorkerLost};
use crate::secret::{random_bytes, Password, SecretError};
use argon2::password_hash::{self, Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use portcullis_metrics::Metrics;
use std::cell::RefCell;
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
        let kept_blocks = argon2.params().block_count();
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
            let matches = matches_stored(password.expose().as_bytes(), &parsed, kept_blocks);
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

thread_local! {
    /// This thread's argon2 working memory, kept from one check to the next.
    static WORKING_MEMORY: RefCell<Vec<Block>> = const { RefCell::new(Vec::new()) };
}

/// Whether `password` yields the output recorded in `stored`, under the algorithm, version and
/// parameters recorded there. The work runs in this thread's kept memory, grown to at most
/// `kept_blocks` (today's parameters); an older hash that asks for more gets a one-off
/// allocation. The outputs are compared by `Output`'s constant-time equality.
fn matches_stored(password: &[u8], stored: &PasswordHash<'_>, kept_blocks: usize) -> bool {
    let (Some(salt), Some(expected)) = (stored.salt, stored.hash) else {
        return false;
    };
    let Ok(hasher) = hasher_for(stored) else {
        return false;
    };
    let mut salt_bytes = [0u8; 64];
    let Ok(salt) = salt.decode_b64(&mut salt_bytes) else {
        return false;
    };
    let blocks = hasher.params().block_count();
    let computed = if blocks > kept_blocks {
        let mut once = vec![Block::default(); blocks];
        output_in(&hasher, password, salt, expected.len(), &mut once)
    } else {
        WORKING_MEMORY.with_borrow_mut(|memory| {
            if memory.len() < blocks {
                memory.resize(blocks, Block::default());
            }
            output_in(
                &hasher,
                password,
                salt,
                expected.len(),
                &mut memory[..blocks],
            )
        })
    };
    computed.is_ok_and(|computed| computed == expected)
}

/// The argon2 instance a stored hash was made with.
fn hasher_for(stored: &PasswordHash<'_>) -> password_hash::Result<Argon2<'static>> {
    let algorithm = Algorithm::try_from(stored.algorithm)?;
    let version = stored
        .version
        .map(Version::try_from)
        .transpose()?
        .unwrap_or_default();
    Ok(Argon2::new(algorithm, version, Params::try_from(stored)?))
}

fn output_in(
    hasher: &Argon2<'_>,
    password: &[u8],
    salt: &[u8],
    length: usize,
    memory: &mut [Block],
) -> password_hash::Result<Output> {
    Output::init_with(length, |out| {
        hasher
            .hash_password_into_with_memory(password, salt, out, &mut *memory)
            .map_err(password_hash::Error::from)
    })
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

    mod kept_memory {
        use super::super::*;
        use argon2::password_hash::PasswordVerifier;
        use proptest::prelude::*;

        /// A stored hash made by the crate's own hasher, with the given shape.
        fn stored_hash(
            password: &[u8],
            algorithm: Algorithm,
            version: Version,
            params: Params,
        ) -> String {
            let salt = SaltString::encode_b64(&[7; 16]).expect("salt");
            Argon2::new(algorithm, version, params)
                .hash_password(password, &salt)
                .expect("hash")
                .to_string()
        }

        fn crate_verdict(password: &[u8], stored: &str) -> bool {
            let parsed = PasswordHash::new(stored).expect("parse");
            Argon2::default().verify_password(password, &parsed).is_ok()
        }

        fn kept_verdict(password: &[u8], stored: &str, kept_blocks: usize) -> bool {
            matches_stored(
                password,
                &PasswordHash::new(stored).expect("parse"),
                kept_blocks,
            )
        }

        fn algorithm() -> impl Strategy<Value = Algorithm> {
            prop_oneof![
                Just(Algorithm::Argon2id),
                Just(Algorithm::Argon2i),
                Just(Algorithm::Argon2d)
            ]
        }

        fn version() -> impl Strategy<Value = Version> {
            prop_oneof![Just(Version::V0x13), Just(Version::V0x10)]
        }

        proptest! {
            #![proptest_config(ProptestConfig::with_cases(96))]

            /// Whatever the stored hash's shape, and whatever the thread's memory held before,
            /// checking in kept memory gives the crate's own verdict, for the right password
            /// and for a wrong one.
            #[test]
            fn kept_memory_agrees_with_the_crate(
                password in proptest::collection::vec(any::<u8>(), 0..40),
                wrong in proptest::collection::vec(any::<u8>(), 0..40),
                algorithm in algorithm(),
                version in version(),
                m_cost in 8u32..96,
                t_cost in 1u32..3,
                p_cost in 1u32..3,
                output_len in 10usize..65,
                kept_blocks in 0usize..128,
            ) {
                let params = Params::new(m_cost.max(8 * p_cost), t_cost, p_cost, Some(output_len))
                    .expect("params");
                let stored = stored_hash(&password, algorithm, version, params);
                prop_assert!(kept_verdict(&password, &stored, kept_blocks));
                prop_assert_eq!(
                    kept_verdict(&wrong, &stored, kept_blocks),
                    crate_verdict(&wrong, &stored)
                );
            }
        }

        #[test]
        fn memory_kept_from_a_larger_hash_still_checks_a_smaller_one_and_back() {
            let big = Params::new(64, 2, 1, None).expect("params");
            let small = Params::new(8, 1, 1, None).expect("params");
            let big_hash = stored_hash(b"big", Algorithm::Argon2id, Version::V0x13, big);
            let small_hash = stored_hash(b"small", Algorithm::Argon2id, Version::V0x13, small);
            for _ in 0..3 {
                assert!(kept_verdict(b"big", &big_hash, 64));
                assert!(kept_verdict(b"small", &small_hash, 64));
                assert!(!kept_verdict(b"big", &small_hash, 64));
                assert!(!kept_verdict(b"small", &big_hash, 64));
            }
        }

        #[test]
        fn a_hash_without_salt_or_output_never_matches() {
            assert!(!kept_verdict(b"x", "$argon2id$v=19$m=8,t=1,p=1", 8));
        }
    }
}
