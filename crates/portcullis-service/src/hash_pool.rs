//! The threads that run argon2: one per core, each below the priority of everything else in the
//! process. Hashing a password is the one piece of work a client can make the gateway do in
//! bulk; at a lower priority it takes every core nobody else wants, and yields at once to the
//! async workers answering `/auth/verify`, so a login flood slows logins, not the front door.
//! Jobs wait their turn in one queue; how long each waited is measured by the caller.
//!
//! Why a raised nice value and not Linux's `SCHED_IDLE`: an idle-class thread is preempted even
//! sooner, but it gets next to nothing while any other thread on the machine wants the core,
//! the gateway's or another process's. Three busy loops on two cores held a registration for
//! over 30 seconds; a verify flood would stop logins outright. At nice +10 hashing still gets
//! about a tenth of each contended core, and a login flood measured the same verify latency.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use thread_priority::{ThreadPriority, ThreadPriorityValue};
use tokio::sync::oneshot;

/// The hashing threads' priority on the portable 0–99 scale, where the default is 50; on Linux
/// it maps to a nice value of about +10: a CPU-bound thread at nice 10 gets about a tenth of a
/// core that a thread at nice 0 also wants, and all of it when no one else does.
const HASHING_PRIORITY: u8 = 25;

type Job = Box<dyn FnOnce() + Send>;

/// A fixed set of low-priority threads fed from one queue. The threads end when the last handle
/// is dropped.
#[derive(Clone)]
pub(crate) struct HashPool {
    jobs: Sender<Job>,
}

/// The job's thread stopped before answering (it cannot in practice: a panicking job is
/// caught and only loses its own answer).
#[derive(Debug, thiserror::Error)]
#[error("the password hashing thread did not answer")]
pub struct WorkerLost;

impl HashPool {
    /// Starts `threads` threads (at least one); fails when the system starts none.
    pub fn new(threads: usize) -> std::io::Result<Self> {
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads.max(1) {
            let queue = Arc::clone(&queue);
            std::thread::Builder::new()
                .name(format!("argon2-{index}"))
                .spawn(move || work(&queue))?;
        }
        Ok(Self { jobs })
    }

    /// Runs `job` on one of the pool's threads and waits for its answer.
    pub async fn run<T: Send + 'static>(
        &self,
        job: impl FnOnce() -> T + Send + 'static,
    ) -> Result<T, WorkerLost> {
        let (answer, answered) = oneshot::channel();
        let job: Job = Box::new(move || {
            let _ = answer.send(job());
        });
        self.jobs.send(job).map_err(|_| WorkerLost)?;
        answered.await.map_err(|_| WorkerLost)
    }
}

fn work(queue: &Mutex<Receiver<Job>>) {
    lower_priority();
    loop {
        // The lock is held only while taking one job off the queue.
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(job) = next else {
            return;
        };
        // A panicking job drops its answer (its caller sees `WorkerLost`); the thread goes on.
        let _ = catch_unwind(AssertUnwindSafe(job));
    }
}

/// Lowers this thread's priority. Where the platform refuses, hashing runs at the normal
/// priority: slower verification under a login flood, nothing worse, so it is only logged.
fn lower_priority() {
    let lowered = ThreadPriorityValue::try_from(HASHING_PRIORITY)
        .map_err(|error| error.to_string())
        .and_then(|value| {
            thread_priority::set_current_thread_priority(ThreadPriority::Crossplatform(value))
                .map_err(|error| error.to_string())
        });
    if let Err(error) = lowered {
        tracing::warn!(%error, "could not lower the priority of a password hashing thread");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The calling thread's nice value, as the kernel reports it (field 19 of its stat line).
    #[cfg(target_os = "linux")]
    fn own_nice() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let after_name = &stat[stat.rfind(')').expect("name") + 2..];
        after_name
            .split(' ')
            .nth(16)
            .and_then(|field| field.parse().ok())
            .expect("nice")
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn jobs_run_on_the_pools_threads_below_the_callers_priority() {
        let pool = HashPool::new(2).expect("pool");
        let (name, nice) = pool
            .run(|| (std::thread::current().name().map(str::to_owned), own_nice()))
            .await
            .expect("answered");
        assert!(name.is_some_and(|name| name.starts_with("argon2-")));
        assert!(
            nice >= own_nice() + 5,
            "the hashing thread runs at nice {nice}, the caller at {}",
            own_nice()
        );
    }

    #[tokio::test]
    async fn a_panicking_job_loses_its_answer_and_the_thread_goes_on() {
        let pool = HashPool::new(1).expect("pool");
        let lost = pool.run(|| -> u8 { panic!("boom") }).await;
        assert!(lost.is_err());
        assert_eq!(pool.run(|| 7).await.expect("answered"), 7);
    }
}
