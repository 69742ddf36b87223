//! The reaper's secret: 256 random bits, made when a reaper is started, kept in a 0600 file
//! of the user's runtime (or cache) directory and copied into the reaper's container. A
//! harness proves it knows the secret by an HMAC of a nonce the reaper chose for that
//! connection, so a recorded proof is worth nothing on the next one.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use super::ReaperError;

const SECRET_BYTES: usize = 32;
/// Separates these MACs from any other use of the key, and binds them to the protocol.
const DOMAIN: &str = "harness-reaper-hello";

#[derive(Clone, PartialEq, Eq)]
pub struct Secret([u8; SECRET_BYTES]);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([REDACTED])")
    }
}

impl Secret {
    pub fn generate() -> Result<Secret, ReaperError> {
        let mut bytes = [0u8; SECRET_BYTES];
        getrandom::fill(&mut bytes).map_err(|e| ReaperError::Secret {
            path: PathBuf::from("(the OS random source)"),
            problem: e.to_string(),
        })?;
        Ok(Secret(bytes))
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(text: &str) -> Option<Secret> {
        let bytes = hex::decode(text.trim()).ok()?;
        Some(Secret(bytes.try_into().ok()?))
    }

    /// Reads a secret file, refusing one that others than its owner may read.
    pub fn read(path: &Path) -> Result<Secret, ReaperError> {
        let problem = |problem: String| ReaperError::Secret {
            path: path.to_path_buf(),
            problem,
        };
        let meta = std::fs::metadata(path).map_err(|e| problem(e.to_string()))?;
        if meta.permissions().mode() & 0o077 != 0 {
            return Err(problem(format!(
                "has mode {:o}; only its owner may read it (0600)",
                meta.permissions().mode() & 0o777
            )));
        }
        let text = std::fs::read_to_string(path).map_err(|e| problem(e.to_string()))?;
        Secret::from_hex(&text).ok_or_else(|| problem("is not a reaper secret".into()))
    }

    /// Replaces the file at `path` whole: a new 0600 file renamed over it, so no reader
    /// ever sees a partly written or briefly readable secret.
    pub fn write(&self, path: &Path) -> Result<(), ReaperError> {
        let problem = |e: std::io::Error| ReaperError::Secret {
            path: path.to_path_buf(),
            problem: e.to_string(),
        };
        let dir = path.parent().unwrap_or(Path::new("."));
        private_dir(dir).map_err(problem)?;
        let temp = dir.join(format!(
            ".{}.{}.tmp",
            path.file_name()
                .map(|n| n.to_string_lossy())
                .unwrap_or_default(),
            uuid::Uuid::new_v4().simple()
        ));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&temp)?;
            file.write_all(self.to_hex().as_bytes())?;
            file.sync_all()?;
            std::fs::rename(&temp, path)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&temp);
        }
        written.map_err(problem)
    }

    /// The proof a hello carries: an HMAC over the reaper's nonce and every field of the
    /// hello, so none of them can be swapped under a valid proof.
    pub fn proof(&self, nonce: &str, session_key: &str, grace_ms: u64) -> String {
        self.mac(nonce, session_key, grace_ms)
            .map(|mac| hex::encode(mac.finalize().into_bytes()))
            .unwrap_or_default()
    }

    /// Checks a proof in constant time.
    pub fn verify(&self, nonce: &str, session_key: &str, grace_ms: u64, proof: &str) -> bool {
        let Ok(proof) = hex::decode(proof) else {
            return false;
        };
        self.mac(nonce, session_key, grace_ms)
            .is_some_and(|mac| mac.verify_slice(&proof).is_ok())
    }

    /// `None` never happens: HMAC takes keys of any length.
    fn mac(&self, nonce: &str, session_key: &str, grace_ms: u64) -> Option<Hmac<Sha256>> {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(&self.0).ok()?;
        for part in [DOMAIN, nonce, session_key, &grace_ms.to_string()] {
            // Length-prefixed, so no two different field lists read as the same bytes.
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        Some(mac)
    }
}

/// A fresh nonce for one connection: 128 bits from the OS's random source.
pub fn nonce() -> Result<String, ReaperError> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| ReaperError::Secret {
        path: PathBuf::from("(the OS random source)"),
        problem: e.to_string(),
    })?;
    Ok(hex::encode(bytes))
}

/// Where this user's reaper secrets live: `$XDG_RUNTIME_DIR/harness` (per user, memory
/// backed, gone at logout), else `$XDG_CACHE_HOME/harness`, else `~/.cache/harness`.
pub fn default_dir() -> Option<PathBuf> {
    let var = |name: &str| {
        std::env::var_os(name)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(runtime) = var("XDG_RUNTIME_DIR").filter(|d| d.is_dir()) {
        return Some(runtime.join("harness"));
    }
    if let Some(cache) = var("XDG_CACHE_HOME") {
        return Some(cache.join("harness"));
    }
    var("HOME").map(|home| home.join(".cache").join("harness"))
}

/// Creates `dir` (0700) if missing and refuses one that others may enter.
fn private_dir(dir: &Path) -> std::io::Result<()> {
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
    {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let mode = std::fs::metadata(dir)?.permissions().mode();
    if mode & 0o022 != 0 {
        return Err(std::io::Error::other(format!(
            "`{}` has mode {:o}: others could replace the secret in it",
            dir.display(),
            mode & 0o777
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_proof_verifies_only_with_the_same_secret_nonce_and_hello() {
        let secret = Secret::generate().unwrap();
        let other = Secret::generate().unwrap();
        assert_ne!(secret, other);
        let proof = secret.proof("n1", "key", 10_000);
        assert!(secret.verify("n1", "key", 10_000, &proof));
        assert!(!other.verify("n1", "key", 10_000, &proof), "wrong secret");
        assert!(
            !secret.verify("n2", "key", 10_000, &proof),
            "replayed on another nonce"
        );
        assert!(
            !secret.verify("n1", "other", 10_000, &proof),
            "another session"
        );
        assert!(!secret.verify("n1", "key", 1, &proof), "another grace");
        assert!(!secret.verify("n1", "key", 10_000, ""), "no proof");
        assert!(!secret.verify("n1", "key", 10_000, "zz"), "not hex");
    }

    #[test]
    fn the_file_is_0600_in_a_0700_dir_and_reads_back() {
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("harness").join("r.key");
        let secret = Secret::generate().unwrap();
        secret.write(&path).unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), 0o600);
        assert_eq!(mode(path.parent().unwrap()), 0o700);
        assert_eq!(Secret::read(&path).unwrap(), secret);
        let next = Secret::generate().unwrap();
        next.write(&path).unwrap();
        assert_eq!(Secret::read(&path).unwrap(), next, "replaced whole");
        assert_eq!(
            std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
            1
        );
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = Secret::read(&path).unwrap_err();
        assert!(err.to_string().contains("0600"), "{err}");
        assert!(
            !format!("{next:?}").contains(&next.to_hex()),
            "Debug hides it"
        );
    }
}
