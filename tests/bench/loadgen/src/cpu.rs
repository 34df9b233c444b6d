//! CPU time of a process (user + system, from `/proc/<pid>/stat`), read before and after a run
//! so CPU per request excludes setup such as registering users. Linux only, as the bench is.

use anyhow::Context;
use std::time::Duration;

/// Whose CPU time is measured: the gateway under load, or this process running a baseline.
#[derive(Debug, Clone, Copy)]
pub enum Process {
    This,
    Pid(u32),
}

impl Process {
    pub fn from_pid(pid: Option<u32>) -> Option<Self> {
        pid.map(Self::Pid)
    }

    pub fn cpu_time(self) -> anyhow::Result<Duration> {
        let path = match self {
            Self::This => "/proc/self/stat".to_owned(),
            Self::Pid(pid) => format!("/proc/{pid}/stat"),
        };
        let stat = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        let ticks = ticks(&stat).with_context(|| format!("unexpected {path}: {stat}"))?;
        let per_second = rustix::param::clock_ticks_per_second().max(1);
        Ok(Duration::from_secs_f64(ticks as f64 / per_second as f64))
    }
}

/// utime + stime, fields 14 and 15; counted after the `)` closing the command name, which may
/// itself hold spaces.
fn ticks(stat: &str) -> Option<u64> {
    let after_name = &stat[stat.rfind(')')? + 1..];
    let mut fields = after_name.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

/// Measures the CPU time `process` spends while `work` runs.
pub struct Stopwatch {
    process: Option<Process>,
    start: Option<Duration>,
}

impl Stopwatch {
    pub fn start(process: Option<Process>) -> anyhow::Result<Self> {
        let start = process.map(Process::cpu_time).transpose()?;
        Ok(Self { process, start })
    }

    pub fn stop(self) -> anyhow::Result<Option<Duration>> {
        match (self.process, self.start) {
            (Some(process), Some(start)) => Ok(Some(process.cpu_time()?.saturating_sub(start))),
            _ => Ok(None),
        }
    }
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_utime_and_stime_past_a_name_with_spaces() {
        let stat = "42 (a (weird) name) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0";
        assert_eq!(ticks(stat), Some(300));
    }

    #[test]
    fn this_process_has_a_cpu_time() {
        assert!(Process::This.cpu_time().is_ok());
    }
}
