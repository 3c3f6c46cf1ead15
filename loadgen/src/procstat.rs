//! A server process's memory and CPU from `/proc`: peak RSS (`VmHWM`) and
//! CPU seconds (user + system), so a run reports what the server cost, not
//! only what the clients saw.

use std::time::Duration;

/// Memory and CPU of one process at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ProcSample {
    /// Peak resident set size so far, in KiB (`VmHWM`).
    pub peak_rss_kib: u64,
    /// Resident set size now, in KiB (`VmRSS`).
    pub rss_kib: u64,
    /// CPU time used so far (user + system).
    pub cpu: Duration,
}

/// Reads the sample of `pid`, or `None` when the process is gone or `/proc`
/// is not there (not Linux).
pub fn sample(pid: u32) -> Option<ProcSample> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| -> Option<u64> {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|n| n.parse().ok())
    };
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    Some(ProcSample {
        peak_rss_kib: field("VmHWM:")?,
        rss_kib: field("VmRSS:")?,
        cpu: cpu_time(&stat)?,
    })
}

/// utime + stime from a `/proc/<pid>/stat` line. The command name (field 2)
/// may hold spaces, so fields are counted after its closing parenthesis.
fn cpu_time(stat: &str) -> Option<Duration> {
    let after = stat.get(stat.rfind(')')? + 1..)?;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // After the name: state is field 3, utime field 14, stime field 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    let ticks = clock_ticks_per_second();
    Some(Duration::from_secs_f64((utime + stime) as f64 / ticks))
}

/// `USER_HZ`: 100 on every Linux architecture this runs on.
fn clock_ticks_per_second() -> f64 {
    100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cpu_time_past_a_name_with_spaces() {
        let line = "42 (a b) S 1 42 42 0 -1 4194304 100 0 0 0 250 50 0 0 20 0 1 0 1 1 1";
        assert_eq!(cpu_time(line), Some(Duration::from_secs(3)));
    }

    #[test]
    fn samples_this_process() {
        let s = sample(std::process::id()).expect("own /proc entry");
        assert!(s.peak_rss_kib >= s.rss_kib && s.rss_kib > 0);
    }
}
