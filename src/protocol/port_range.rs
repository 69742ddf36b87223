//! Range mode: when a task pins its host ports to a range (`--port-range A-B`), each
//! instance's published ports are leased from one file shared by every harness on the
//! machine, under a lock — never scan-then-bind without one, which is how the seed's finder
//! let two launches pick the same port. A lease names its harness's identity (boot, PID
//! namespace, pid, start time, uid), so the leases of a harness that is provably gone are
//! taken back by the next allocation; those of one this process cannot judge are kept.

use std::collections::BTreeSet;
use std::fmt;
use std::io::{Read, Seek, Write};
use std::path::PathBuf;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use serde_yaml_ng::Value;
use uuid::Uuid;

use crate::compose::ComposeFile;
use crate::compose::ports::{PortSpec, ports};
use crate::compose::service::services;
use crate::owner::{Fate, Owner, unknown_owner};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PortRange {
    pub first: u16,
    pub last: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum RangeError {
    #[error(
        "--port-range {range}: {free} of its ports are free (the rest are leased by running harnesses or bound by other programs), and one instance of this config publishes {needed} — widen the range, or wait for the other runs to end"
    )]
    Exhausted {
        range: PortRange,
        needed: usize,
        free: usize,
    },
    #[error(
        "cannot use the port lease file `{path}`: {source} — check that the directory is writable"
    )]
    Leases {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.first, self.last)
    }
}

/// `--port-range` as typed; each says how to write it.
#[derive(Debug, thiserror::Error)]
pub enum RangeParseError {
    #[error("`{0}` is not a range — {FIX}")]
    NotARange(String),
    #[error("`{0}` is not a port from 1024 to 65535 — {FIX}")]
    NotAPort(String),
    #[error("`{0}` runs backwards — {FIX}")]
    Backwards(String),
}

const FIX: &str = "write it as FIRST-LAST, e.g. 20000-20099 (ports 1024-65535)";

impl FromStr for PortRange {
    type Err = RangeParseError;

    fn from_str(text: &str) -> Result<PortRange, RangeParseError> {
        let (a, b) = text
            .split_once('-')
            .ok_or_else(|| RangeParseError::NotARange(text.to_string()))?;
        let port = |s: &str| {
            s.trim()
                .parse::<u16>()
                .ok()
                .filter(|p| *p >= 1024)
                .ok_or_else(|| RangeParseError::NotAPort(s.to_string()))
        };
        let (first, last) = (port(a)?, port(b)?);
        if first > last {
            return Err(RangeParseError::Backwards(text.to_string()));
        }
        Ok(PortRange { first, last })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Lease {
    port: u16,
    pid: u32,
    run: Uuid,
    /// Absent in leases of older harnesses: those are never taken back (see `fate`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    owner: Option<Owner>,
}

impl Lease {
    fn fate(&self) -> Fate {
        match &self.owner {
            Some(owner) => owner.fate(),
            None => unknown_owner(&self.pid.to_string()),
        }
    }
}

impl PortRange {
    /// How many of the range's ports a new run could lease now.
    pub fn free(&self) -> Result<usize, RangeError> {
        with_leases(|leases| Ok((self.candidates(leases).count(), false)))
    }

    /// Leases `needed` ports for `run`, or says the range is exhausted.
    pub fn lease(&self, run: Uuid, needed: usize) -> Result<Vec<u16>, RangeError> {
        with_leases(|leases| {
            let ports: Vec<u16> = self.candidates(leases).take(needed).collect();
            if ports.len() < needed {
                return Err(RangeError::Exhausted {
                    range: *self,
                    needed,
                    free: ports.len(),
                });
            }
            let pid = std::process::id();
            let owner = Owner::current().cloned();
            leases.extend(ports.iter().map(|&port| Lease {
                port,
                pid,
                run,
                owner: owner.clone(),
            }));
            Ok((ports, true))
        })
    }

    /// Gives back every port of a run.
    pub fn release(run: Uuid) -> Result<(), RangeError> {
        with_leases(|leases| {
            leases.retain(|l| l.run != run);
            Ok(((), true))
        })
    }

    /// Ports of the range that no live harness leases and that nothing else has bound.
    fn candidates<'a>(&self, leases: &'a [Lease]) -> impl Iterator<Item = u16> + 'a {
        let taken: BTreeSet<u16> = leases.iter().map(|l| l.port).collect();
        (self.first..=self.last)
            .filter(move |p| !taken.contains(p))
            .filter(|p| std::net::TcpListener::bind(("127.0.0.1", *p)).is_ok())
    }
}

/// One lease file per machine (the engine's ports are the machine's).
fn lease_file() -> PathBuf {
    std::env::temp_dir().join("harness-port-leases.json")
}

/// Runs `f` on the leases of live harnesses, under the file's lock; writes them back when
/// `f` says it changed them.
fn with_leases<T>(
    f: impl FnOnce(&mut Vec<Lease>) -> Result<(T, bool), RangeError>,
) -> Result<T, RangeError> {
    let path = lease_file();
    let io = |source| RangeError::Leases {
        path: path.clone(),
        source,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io)?;
    let mut lock = fd_lock::RwLock::new(file);
    let mut file = lock.write().map_err(io)?;
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(io)?;
    // A damaged file only costs the leases in it: ports are checked by binding as well.
    let mut leases: Vec<Lease> = serde_json::from_str(&text).unwrap_or_default();
    leases.retain(|l| !l.fate().collectable());
    let (out, changed) = f(&mut leases)?;
    if changed {
        let text = serde_json::to_string(&leases).unwrap_or_else(|_| "[]".into());
        file.set_len(0).map_err(io)?;
        file.rewind().map_err(io)?;
        file.write_all(text.as_bytes()).map_err(io)?;
    }
    Ok(out)
}

/// How many host ports one instance of `candidate` needs from the range: every published
/// port the engine would otherwise pick (`127.0.0.1::8080`, `8080`).
pub fn needed(candidate: &ComposeFile) -> usize {
    published(candidate).len()
}

/// The candidate with each engine-picked host port replaced by one of `ports`, in order.
/// Written as JSON (which YAML reads as it is): every string stays quoted, so Compose v1's
/// YAML 1.1 cannot take a `no` for false as it would in a re-serialised YAML file.
pub fn pin(candidate: &ComposeFile, ports: &[u16]) -> String {
    let mut doc = candidate.doc.clone();
    // JSON has no merge keys: apply them as YAML would have.
    let _ = doc.apply_merge();
    let mut next = ports.iter();
    for (service, index) in published(candidate) {
        let Some(entry) = doc
            .get_mut("services")
            .and_then(|s| s.get_mut(service.as_str()))
            .and_then(|s| s.get_mut("ports"))
            .and_then(|p| p.get_mut(index))
        else {
            continue;
        };
        let (Some(text), Some(port)) = (entry.as_str(), next.next()) else {
            continue;
        };
        if let Some(container) = unpinned(text) {
            *entry = Value::from(format!("127.0.0.1:{port}:{container}"));
        }
    }
    serde_json::to_string_pretty(&doc).unwrap_or_default()
}

/// `(service, index in its ports)` of each short-syntax entry whose host port is unset.
fn published(candidate: &ComposeFile) -> Vec<(String, usize)> {
    let mut found = Vec::new();
    // `pin` addresses entries by name and index in plain JSON: tagged nodes are left be.
    for svc in services(&candidate.doc).iter().filter(|s| s.editable) {
        for entry in ports(svc).into_iter().filter(|p| p.editable) {
            if let PortSpec::Short(text) = entry.spec
                && unpinned(text).is_some()
            {
                found.push((svc.name.clone(), entry.index));
            }
        }
    }
    found
}

/// The container port (with its protocol) of an entry that leaves the host port to the
/// engine: `8080`, `127.0.0.1::8080`, `8080/udp`.
fn unpinned(entry: &str) -> Option<&str> {
    let parts: Vec<&str> = entry.rsplitn(3, ':').collect();
    match parts.as_slice() {
        [container] => Some(container),
        [container, "", _ip] => Some(container),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_parse_or_say_how_to_write_them() {
        assert_eq!(
            "20000-20009".parse::<PortRange>().unwrap(),
            PortRange {
                first: 20000,
                last: 20009
            }
        );
        for bad in ["20000", "b-c", "20010-20000", "80-90", "20000-70000"] {
            let err = bad.parse::<PortRange>().unwrap_err().to_string();
            assert!(err.contains("FIRST-LAST"), "{bad}: {err}");
        }
    }

    #[test]
    fn only_engine_picked_ports_are_pinned() {
        let candidate = ComposeFile::parse(
            "c.yml",
            "services:\n  a:\n    image: x\n    ports: ['127.0.0.1::7000', '7003', '127.0.0.1:9000:9000']\n  b:\n    image: y\n",
            1,
        )
        .unwrap();
        assert_eq!(needed(&candidate), 2);
        let pinned = pin(&candidate, &[21000, 21001]);
        let doc: Value = serde_yaml_ng::from_str(&pinned).unwrap();
        assert!(
            pinned.starts_with('{'),
            "JSON, read by Compose as YAML: {pinned}"
        );
        let ports = doc["services"]["a"]["ports"].as_sequence().unwrap();
        assert_eq!(ports[0], Value::from("127.0.0.1:21000:7000"));
        assert_eq!(ports[1], Value::from("127.0.0.1:21001:7003"));
        assert_eq!(
            ports[2],
            Value::from("127.0.0.1:9000:9000"),
            "a pinned port stays"
        );
    }

    #[test]
    fn leases_exclude_each_other_until_released() {
        // A range of its own, far from anything the other tests use.
        let range = PortRange {
            first: 47311,
            last: 47313,
        };
        let (a, b) = (Uuid::new_v4(), Uuid::new_v4());
        let first = range.lease(a, 2).unwrap();
        let second = range.lease(b, 1).unwrap();
        assert!(!first.contains(&second[0]));
        let err = range.lease(Uuid::new_v4(), 1).unwrap_err();
        assert!(
            matches!(err, RangeError::Exhausted { free: 0, .. }),
            "{err}"
        );
        PortRange::release(a).unwrap();
        assert_eq!(range.free().unwrap(), 2);
        PortRange::release(b).unwrap();
    }

    #[test]
    fn only_leases_of_provably_gone_owners_are_taken_back() {
        let me = Owner::current().unwrap().clone();
        let lease = |owner: Option<Owner>| Lease {
            port: 1,
            pid: 4194305,
            run: Uuid::new_v4(),
            owner,
        };
        assert!(!lease(Some(me.clone())).fate().collectable());
        let gone = Owner {
            pid: 4194305,
            ..me.clone()
        };
        assert!(lease(Some(gone.clone())).fate().collectable());
        let elsewhere = Owner {
            pidns: me.pidns + 1,
            ..gone
        };
        assert!(
            !lease(Some(elsewhere)).fate().collectable(),
            "another namespace"
        );
        assert!(
            !lease(None).fate().collectable(),
            "an older harness's lease"
        );
        let old: Lease = serde_json::from_str(
            r#"{"port":1,"pid":2,"run":"5c1c8f4e-9a43-4c50-9d59-6d7b8b1d2f3a"}"#,
        )
        .unwrap();
        assert_eq!(old.owner, None, "older lease files still read");
    }
}
