//! Who owns a run, and whether that owner is provably gone. A PID alone proves nothing: in
//! another PID namespace, on another boot or host, or under another user, `kill(pid, 0)`
//! answers about some other process. So every run records the whole identity of its
//! harness, and only an owner seen from its own boot and namespace can be judged dead.

use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::sync::OnceLock;

use nix::errno::Errno;
use sha2::{Digest, Sha256};

/// The identity of a harness process, as written into the `dev.harness.owner` label.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Owner {
    /// The kernel's boot id: another host or a reboot has another one.
    pub boot: String,
    /// The inode of the PID namespace the pid is numbered in.
    pub pidns: u64,
    pub pid: u32,
    /// Clock ticks after boot at which the process started (`/proc/<pid>/stat` field 22):
    /// a reused pid has another.
    pub start: u64,
    pub uid: u32,
}

/// What gc may do with a run, given its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate {
    Alive,
    /// Provably gone: its objects may be collected.
    Dead(&'static str),
    /// Nothing this process can see proves the owner gone: left to the reaper or to a
    /// person (`harness gc --force RUN`).
    NotOurs(String),
}

impl Fate {
    pub fn collectable(&self) -> bool {
        matches!(self, Fate::Dead(_))
    }
}

impl Owner {
    /// This process, or `None` when /proc cannot tell (its runs are then never judged dead).
    pub fn current() -> Option<&'static Owner> {
        static ME: OnceLock<Option<Owner>> = OnceLock::new();
        ME.get_or_init(|| {
            let pid = std::process::id();
            let me = Owner {
                boot: boot_id()?,
                pidns: pid_namespace()?,
                pid,
                start: start_time(pid)?,
                uid: nix::unistd::getuid().as_raw(),
            };
            Some(me)
        })
        .as_ref()
    }

    /// Reads back a label written by [`Owner`]'s `Display`.
    pub fn parse(label: &str) -> Option<Owner> {
        let mut fields = std::collections::HashMap::new();
        for pair in label.split(',') {
            let (k, v) = pair.split_once('=')?;
            fields.insert(k, v);
        }
        Some(Owner {
            boot: fields.get("boot").filter(|b| !b.is_empty())?.to_string(),
            pidns: fields.get("pidns")?.parse().ok()?,
            pid: fields.get("pid")?.parse().ok()?,
            start: fields.get("start")?.parse().ok()?,
            uid: fields.get("uid")?.parse().ok()?,
        })
    }

    /// Looks at the system from this process and judges the recorded owner.
    pub fn fate(&self) -> Fate {
        let Some(me) = Owner::current() else {
            return Fate::NotOurs("this process cannot read its own identity from /proc".into());
        };
        let Ok(pid) = i32::try_from(self.pid) else {
            return Fate::NotOurs(format!("pid {} is not a pid", self.pid));
        };
        let signal = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None);
        decide(self, me, signal, start_time(self.pid))
    }
}

impl fmt::Display for Owner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "boot={},pidns={},pid={},start={},uid={}",
            self.boot, self.pidns, self.pid, self.start, self.uid
        )
    }
}

/// The rule, free of the system: `signal` is `kill(pid, 0)` as this process saw it and
/// `start_now` the start time of whatever holds the pid now.
pub fn decide(
    recorded: &Owner,
    me: &Owner,
    signal: Result<(), Errno>,
    start_now: Option<u64>,
) -> Fate {
    if recorded.boot != me.boot {
        return Fate::NotOurs("its harness ran on another host or before a reboot".into());
    }
    if recorded.pidns != me.pidns {
        return Fate::NotOurs(format!(
            "its harness runs in another PID namespace ({})",
            recorded.pidns
        ));
    }
    if recorded.uid != me.uid {
        return Fate::NotOurs(format!(
            "its harness runs as another user (uid {})",
            recorded.uid
        ));
    }
    match signal {
        Err(Errno::ESRCH) => Fate::Dead("its harness process is gone"),
        Ok(()) => match start_now {
            Some(start) if start != recorded.start => {
                Fate::Dead("its harness is gone; its pid now belongs to another process")
            }
            // Started at the recorded moment, or unreadable: nothing proves it gone.
            _ => Fate::Alive,
        },
        Err(Errno::EPERM) => Fate::NotOurs(format!(
            "pid {} exists and belongs to someone else (EPERM)",
            recorded.pid
        )),
        Err(e) => Fate::NotOurs(format!("kill(pid {}, 0) failed: {e}", recorded.pid)),
    }
}

/// What a run without an owner label (an older harness's) gets: its `dev.harness.pid` alone
/// cannot say which namespace or boot the number belongs to, so it is never judged dead.
pub fn unknown_owner(pid: &str) -> Fate {
    Fate::NotOurs(format!(
        "recorded by an older harness with pid `{pid}` only, which proves nothing about another namespace or boot"
    ))
}

/// A harness's session: the reaper trusts a session only to its key's holder, and the run's
/// objects carry the id, which is derived from the key and so cannot be claimed from it.
pub struct Session {
    pub key: String,
    pub id: String,
}

impl Session {
    /// This process's session, the same for all its runs and reaper connections.
    pub fn current() -> &'static Session {
        static ME: OnceLock<Session> = OnceLock::new();
        ME.get_or_init(|| {
            // Two v4 UUIDs: 244 bits from the OS's random source.
            let key = format!(
                "{}{}",
                uuid::Uuid::new_v4().simple(),
                uuid::Uuid::new_v4().simple()
            );
            Session {
                id: session_id(&key),
                key,
            }
        })
    }
}

/// The label value for a session key: a prefix of its SHA-256 (128 bits).
pub fn session_id(key: &str) -> String {
    let digest = Sha256::digest(format!("harness-session\0{key}").as_bytes());
    hex::encode(&digest[..16])
}

fn boot_id() -> Option<String> {
    let text = std::fs::read_to_string("/proc/sys/kernel/random/boot_id").ok()?;
    Some(text.trim().to_string()).filter(|b| !b.is_empty())
}

fn pid_namespace() -> Option<u64> {
    std::fs::metadata("/proc/self/ns/pid").ok().map(|m| m.ino())
}

/// Field 22 of `/proc/<pid>/stat`; the command name before it may hold spaces and
/// parentheses, so fields are counted from the last `)`.
pub fn start_time(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_start(&stat)
}

fn parse_start(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    // After `)` comes field 3 (state): field 22 is the 20th.
    rest.split_whitespace().nth(19)?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn me() -> Owner {
        Owner {
            boot: "b".into(),
            pidns: 1,
            pid: 10,
            start: 100,
            uid: 1000,
        }
    }

    fn run(pid: u32, start: u64) -> Owner {
        Owner { pid, start, ..me() }
    }

    #[test]
    fn only_esrch_or_a_reused_pid_is_death() {
        let r = run(42, 500);
        assert!(decide(&r, &me(), Err(Errno::ESRCH), None).collectable());
        assert!(
            decide(&r, &me(), Ok(()), Some(501)).collectable(),
            "the pid now belongs to a process started later"
        );
        assert_eq!(decide(&r, &me(), Ok(()), Some(500)), Fate::Alive);
        assert_eq!(decide(&r, &me(), Ok(()), None), Fate::Alive);
    }

    #[test]
    fn eperm_is_alive_not_dead() {
        let fate = decide(&run(1, 5), &me(), Err(Errno::EPERM), Some(6));
        assert!(!fate.collectable(), "{fate:?}");
        assert!(
            matches!(fate, Fate::NotOurs(ref why) if why.contains("EPERM")),
            "{fate:?}"
        );
    }

    #[test]
    fn another_namespace_boot_or_user_is_not_ours_even_when_the_pid_is_free() {
        for other in [
            Owner {
                pidns: 2,
                ..run(42, 500)
            },
            Owner {
                boot: "c".into(),
                ..run(42, 500)
            },
            Owner {
                uid: 0,
                ..run(42, 500)
            },
        ] {
            let fate = decide(&other, &me(), Err(Errno::ESRCH), None);
            assert!(matches!(fate, Fate::NotOurs(_)), "{other}: {fate:?}");
        }
        assert!(!unknown_owner("42").collectable());
    }

    #[test]
    fn labels_round_trip() {
        let r = run(42, 500);
        assert_eq!(Owner::parse(&r.to_string()), Some(r));
        assert_eq!(Owner::parse(""), None);
        assert_eq!(Owner::parse("boot=,pidns=1,pid=2,start=3,uid=4"), None);
        assert_eq!(Owner::parse("pid=2"), None);
    }

    #[test]
    fn this_process_is_alive_and_a_reaped_child_is_dead() {
        let me = Owner::current().expect("/proc is readable here");
        assert_eq!(me.fate(), Fate::Alive);
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id();
        let start = start_time(pid);
        child.wait().unwrap();
        let gone = Owner {
            pid,
            start: start.unwrap_or(0),
            ..me.clone()
        };
        assert!(gone.fate().collectable(), "{:?}", gone.fate());
        assert_eq!(
            Owner {
                start: me.start + 1,
                ..me.clone()
            }
            .fate(),
            Fate::Dead("its harness is gone; its pid now belongs to another process")
        );
    }

    #[test]
    fn start_time_skips_a_command_name_with_spaces_and_parens() {
        let stat = "77 (a) b) c) S 1 77 77 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 123456 1000 10";
        assert_eq!(parse_start(stat), Some(123456));
    }

    #[test]
    fn session_ids_derive_from_keys() {
        let s = Session::current();
        assert_eq!(s.id, session_id(&s.key));
        assert_eq!(s.id.len(), 32);
        assert_ne!(session_id("a"), session_id("b"));
    }
}
