//! The threads that run argon2: one per core, each below the priority of everything else in the
//! process. Hashing a password is the one piece of work a client can make the gateway do in
//! bulk; at the lowest priority it takes every core nobody else wants, and yields at once to the
//! async workers answering `/auth/verify`, so a login flood slows logins, not the front door.
//! Jobs wait their turn in one queue; how long each waited is measured by the caller.
//!
//! On Linux the threads run under `SCHED_IDLE`: a thread of the normal class that wakes up
//! takes the core from them at once, where a raised nice value only shrinks their share and
//! still lets them finish a time slice first (a verify would wait that slice). The price is
//! the other way round: while the process's other threads keep every core busy, hashing gets
//! next to nothing, so logins wait (the wait is measured) rather than the front door. Elsewhere,
//! or where the policy is refused, the threads run at a lowered priority instead.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::sync::{Arc, Mutex};
use thread_priority::{ThreadPriority, ThreadPriorityValue};
use tokio::sync::oneshot;

/// The hashing threads' priority on the portable 0–99 scale, where the default is 50, used where
/// `SCHED_IDLE` is not: on Linux it maps to a nice value of about +10, which gets a CPU-bound
/// thread about a tenth of a core that a thread at nice 0 also wants, and all of it when no one
/// else does.
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

/// Moves this thread to the idle class, or lowers its priority where that is refused. Where
/// both are refused, hashing runs at the normal priority: slower verification under a login
/// flood, nothing worse, so it is only logged.
fn lower_priority() {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{NormalThreadSchedulePolicy, ThreadSchedulePolicy};
        let idle = thread_priority::set_thread_priority_and_policy(
            thread_priority::thread_native_id(),
            ThreadPriority::Min,
            ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle),
        );
        if idle.is_ok() {
            return;
        }
    }
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

    /// The calling thread's scheduling policy, as the kernel reports it (field 41 of its stat
    /// line).
    #[cfg(target_os = "linux")]
    fn own_policy() -> i32 {
        let stat = std::fs::read_to_string("/proc/thread-self/stat").expect("stat");
        let after_name = &stat[stat.rfind(')').expect("name") + 2..];
        after_name
            .split(' ')
            .nth(38)
            .and_then(|field| field.parse().ok())
            .expect("policy")
    }

    #[cfg(target_os = "linux")]
    #[tokio::test]
    async fn jobs_run_on_the_pools_threads_in_the_idle_class() {
        const SCHED_IDLE: i32 = 5;
        let pool = HashPool::new(2).expect("pool");
        let (name, policy) = pool
            .run(|| {
                (
                    std::thread::current().name().map(str::to_owned),
                    own_policy(),
                )
            })
            .await
            .expect("answered");
        assert!(name.is_some_and(|name| name.starts_with("argon2-")));
        assert_eq!(policy, SCHED_IDLE, "the hashing thread's policy");
        assert_eq!(own_policy(), 0, "the caller stays in the normal class");
    }

    #[tokio::test]
    async fn a_panicking_job_loses_its_answer_and_the_thread_goes_on() {
        let pool = HashPool::new(1).expect("pool");
        let lost = pool.run(|| -> u8 { panic!("boom") }).await;
        assert!(lost.is_err());
        assert_eq!(pool.run(|| 7).await.expect("answered"), 7);
    }
}
