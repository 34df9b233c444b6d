//! The login baseline (issue 14 §3): argon2id verifications of the right password with the
//! gateway's own parameters (`portcullis-service/src/password.rs`: m = 19 MiB, t = 2, p = 1),
//! one thread per core, nothing else. A login can go no faster than this on the same machine.
//! Each thread keeps its working memory from one verification to the next, as the gateway's
//! hashing threads do: the fastest way the crate offers, so the ratio flatters nobody.

use crate::cpu::{self, Process, Stopwatch};
use crate::gateway_client::PASSWORD;
use crate::stats::Measurement;
use anyhow::anyhow;
use argon2::password_hash::{Output, PasswordHash, PasswordHasher, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use std::time::{Duration, Instant};

/// The gateway's parameters; a change there must be made here too, or the ratio means nothing.
fn gateway_argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(19 * 1024, 2, 1, None).map_err(|error| anyhow!("{error}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

pub fn run(duration: Duration) -> anyhow::Result<Measurement> {
    let argon2 = gateway_argon2()?;
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| anyhow!("{e}"))?;
    let stored = argon2
        .hash_password(PASSWORD.as_bytes(), &salt)
        .map_err(|error| anyhow!("{error}"))?
        .to_string();
    let cpu = Stopwatch::start(Some(Process::This))?;
    let start = Instant::now();
    let deadline = start + duration;
    let samples = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..cpu::cores())
            .map(|_| scope.spawn(|| verify_until(&argon2, &stored, deadline)))
            .collect();
        workers
            .into_iter()
            .map(|worker| {
                worker
                    .join()
                    .map_err(|_| anyhow!("a hashing thread panicked"))?
            })
            .collect::<anyhow::Result<Vec<_>>>()
    })?;
    let elapsed = start.elapsed();
    let samples = samples.into_iter().flatten().collect();
    Ok(Measurement::from_samples(samples, elapsed, cpu.stop()?))
}

fn verify_until(
    argon2: &Argon2<'_>,
    stored: &str,
    deadline: Instant,
) -> anyhow::Result<Vec<Duration>> {
    let mut samples = Vec::new();
    let mut memory = vec![Block::default(); argon2.params().block_count()];
    let mut salt = [0u8; 64];
    loop {
        let started = Instant::now();
        if started >= deadline {
            return Ok(samples);
        }
        // Parsed every time, as the gateway parses the stored hash of every login.
        let parsed = PasswordHash::new(stored).map_err(|error| anyhow!("{error}"))?;
        let (Some(salt_b64), Some(expected)) = (parsed.salt, parsed.hash) else {
            return Err(anyhow!("the baseline's own hash has no salt or output"));
        };
        let salt = salt_b64.decode_b64(&mut salt).map_err(|e| anyhow!("{e}"))?;
        let computed = Output::init_with(expected.len(), |out| {
            argon2
                .hash_password_into_with_memory(PASSWORD.as_bytes(), salt, out, &mut memory)
                .map_err(argon2::password_hash::Error::from)
        })
        .map_err(|error| anyhow!("{error}"))?;
        if computed != expected {
            return Err(anyhow!("the baseline's own hash did not verify"));
        }
        samples.push(started.elapsed());
    }
}
