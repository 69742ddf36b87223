//! Runs a program and measures it the way the kernel accounts for it: wall time, the CPU of
//! the process itself (read from /proc while it is a zombie, before it is reaped, so its
//! children's time is not mixed in), the CPU including its reaped children (wait4's rusage),
//! and its peak resident memory.

use std::io::Read;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug, Clone, Default)]
pub struct Measured {
    /// Exit code; None when a signal ended it.
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub wall_ms: f64,
    /// user + sys of the process alone.
    pub self_cpu_ms: f64,
    /// user + sys of the process and every child it waited for (docker-compose, …).
    pub total_cpu_ms: f64,
    pub max_rss_kb: i64,
    pub started_unix_ns: i64,
    pub ended_unix_ns: i64,
    pub timed_out: bool,
}

pub fn unix_ns() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// Runs `cmd` to its end, or SIGTERM (then SIGKILL 15 s later) after `timeout`.
pub fn run(cmd: &mut Command, timeout: Duration) -> std::io::Result<Measured> {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started_unix_ns = unix_ns();
    let started = Instant::now();
    let mut child = cmd.spawn()?;
    let pid = child.id() as libc::pid_t;
    let mut out = child.stdout.take().expect("piped");
    let mut err = child.stderr.take().expect("piped");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err.read_to_string(&mut s);
        s
    });
    let done = Arc::new(AtomicBool::new(false));
    let timed_out = Arc::new(AtomicBool::new(false));
    let watchdog = {
        let done = done.clone();
        let timed_out = timed_out.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + timeout;
            while Instant::now() < deadline {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            timed_out.store(true, Ordering::SeqCst);
            // SAFETY: plain kill(2) on our own, not yet reaped child.
            unsafe { libc::kill(pid, libc::SIGTERM) };
            let hard = Instant::now() + Duration::from_secs(15);
            while Instant::now() < hard {
                if done.load(Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            // SAFETY: as above.
            unsafe { libc::kill(pid, libc::SIGKILL) };
        })
    };
    // Wait for the exit without reaping, so /proc/<pid>/stat still holds its own times.
    // SAFETY: waitid with a zeroed siginfo_t out-parameter on our child's pid.
    let rc = unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOWAIT,
        )
    };
    let wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    let ended_unix_ns = unix_ns();
    let self_cpu_ms = if rc == 0 { own_cpu_ms(pid) } else { f64::NAN };
    let mut status = 0;
    // SAFETY: zeroed rusage out-parameter; reaps our child (std's Child is never waited on).
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let reaped = unsafe { libc::wait4(pid, &mut status, 0, &mut usage) };
    done.store(true, Ordering::SeqCst);
    let _ = watchdog.join();
    drop(child);
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if reaped != pid {
        return Err(std::io::Error::last_os_error());
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 * 1000.0 + t.tv_usec as f64 / 1000.0;
    let code = if libc::WIFEXITED(status) {
        Some(libc::WEXITSTATUS(status))
    } else {
        None
    };
    Ok(Measured {
        code,
        stdout,
        stderr,
        wall_ms,
        self_cpu_ms,
        total_cpu_ms: tv(usage.ru_utime) + tv(usage.ru_stime),
        max_rss_kb: usage.ru_maxrss,
        started_unix_ns,
        ended_unix_ns,
        timed_out: timed_out.load(Ordering::SeqCst),
    })
}

/// utime + stime (fields 14 and 15 of /proc/<pid>/stat) of the process itself, in ms.
fn own_cpu_ms(pid: libc::pid_t) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // The command name may hold spaces and parentheses: fields start after the last ')'.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        return f64::NAN;
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // fields[0] is field 3 (state); utime is field 14, stime field 15.
    let ticks = |i: usize| {
        fields
            .get(i - 3)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(f64::NAN)
    };
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    (ticks(14) + ticks(15)) * 1000.0 / hz
}
