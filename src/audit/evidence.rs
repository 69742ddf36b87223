//! The evidence a run captured under `runs/<uuid8>/`: its containers' logs and the compose
//! override that labelled them must carry the run's UUID.

use std::fs::{self, File};
use std::io::{self, ErrorKind, Read};
use std::path::{Path, PathBuf};

use serde_yaml_ng::Value;
use uuid::Uuid;

use super::FindingKind;
use crate::engine::LABEL_RUN;
use crate::run::RunDir;

/// The log files of a run, sorted; empty if it captured none.
pub(crate) fn log_files(dir: &Path) -> Vec<PathBuf> {
    read_log_dir(dir).unwrap_or_default()
}

/// The log files of `dir`, sorted, or `None` if there is no such directory. The entries'
/// own types (no `stat` per file) unless one is a link.
fn read_log_dir(dir: &Path) -> Option<Vec<PathBuf>> {
    let entries = fs::read_dir(dir).ok()?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| match e.file_type() {
            Ok(t) if t.is_symlink() => e.path().is_file(),
            Ok(t) => t.is_file(),
            Err(_) => false,
        })
        .map(|e| e.path())
        .collect();
    files.sort();
    Some(files)
}

/// What the evidence check found.
pub(crate) struct EvidenceCheck {
    /// As (kind, file, message).
    pub findings: Vec<(FindingKind, String, String)>,
    /// The captured log that carries the UUID, by file name.
    pub carrier: Option<String>,
}

/// `success`: the run claims success, so its evidence directory, where there is one, must
/// hold its override and logs. (An export carries no evidence directories, so a run
/// imported into this scoreboard has none: a wholly absent directory is not a finding.)
pub(crate) fn check(runs_dir: &Path, uuid: Uuid, success: bool) -> EvidenceCheck {
    let mut found = Vec::new();
    let mut carrier = None;
    let needle = uuid.to_string();
    let dir = RunDir::new(runs_dir, uuid.into());
    let success = success && dir.path().is_dir();

    let logs = dir.logs();
    let log_files = read_log_dir(&logs).filter(|f| !f.is_empty());
    if success && log_files.is_none() {
        found.push((
            FindingKind::EvidenceMissing,
            logs.display().to_string(),
            "a successful run with no captured container logs".to_string(),
        ));
    }
    if let Some(files) = log_files {
        let mut errors = Vec::new();
        let mut carried = false;
        for file in &files {
            match contains(file, needle.as_bytes()) {
                Ok(true) => {
                    carried = true;
                    carrier = file.file_name().map(|n| n.to_string_lossy().into_owned());
                    break;
                }
                Ok(false) => {}
                Err(e) => errors.push(format!("{}: {e}", file.display())),
            }
        }
        if !carried {
            let mut message = format!(
                "none of the {} captured log files contains the run's UUID: the logs are from another run, or were replaced",
                files.len()
            );
            if !errors.is_empty() {
                message.push_str(&format!(" (unreadable: {})", errors.join("; ")));
            }
            found.push((
                FindingKind::EvidenceMissingUuid,
                logs.display().to_string(),
                message,
            ));
        }
    }

    let file = dir.override_file();
    if success && !file.is_file() {
        found.push((
            FindingKind::EvidenceMissing,
            file.display().to_string(),
            "a successful run with no compose override".to_string(),
        ));
    }
    if let Some(why) = override_problem(&file, &needle) {
        found.push((
            FindingKind::OverrideMismatch,
            file.display().to_string(),
            why,
        ));
    }
    found.extend(transcript_secrets(&dir.proposals()));
    EvidenceCheck {
        findings: found,
        carrier,
    }
}

/// The proposal transcripts kept beside a run must hold no secret of this environment:
/// what a redactor would mask is a leak.
fn transcript_secrets(dir: &Path) -> Vec<(FindingKind, String, String)> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let redactor = crate::redact::Redactor::from_env();
    entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "md" || x == "yml"))
        .filter_map(|path| {
            let text = std::fs::read_to_string(&path).ok()?;
            (redactor.text(&text) != text).then(|| {
                (
                    FindingKind::SecretInTranscript,
                    path.display().to_string(),
                    "a proposal transcript holds a secret of this environment: delete it and rotate the secret".to_string(),
                )
            })
        })
        .collect()
}

/// Whether `path` contains `needle`, read in chunks so a large log is never held whole.
fn contains(path: &Path, needle: &[u8]) -> io::Result<bool> {
    const CHUNK: u64 = 64 * 1024;
    if needle.is_empty() {
        return Ok(true);
    }
    let mut file = File::open(path)?;
    // Sized to the file: most logs are a few hundred bytes, and a zeroed 64 KiB buffer
    // per file is what a 100 000-run audit spent its time on.
    let len = file.metadata().map_or(CHUNK, |m| m.len().min(CHUNK));
    let mut buf = vec![0u8; len as usize + needle.len()];
    let finder = memchr::memmem::Finder::new(needle);
    let mut kept = 0;
    loop {
        let n = file.read(&mut buf[kept..])?;
        if n == 0 {
            return Ok(false);
        }
        let end = kept + n;
        if finder.find(&buf[..end]).is_some() {
            return Ok(true);
        }
        let tail = (needle.len() - 1).min(end);
        buf.copy_within(end - tail..end, 0);
        kept = tail;
    }
}

/// Every `dev.harness.run` label of the override must be the run's UUID, and there must be
/// one. No override (a run that never deployed) is no problem.
fn override_problem(path: &Path, uuid: &str) -> Option<String> {
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::IsADirectory) => {
            return None;
        }
        Err(e) => return Some(format!("cannot read the override: {e}")),
    };
    let doc: Value = match serde_yaml_ng::from_str(&text) {
        Ok(d) => d,
        Err(e) => return Some(format!("the override is not valid YAML: {e}")),
    };
    let mut labels = Vec::new();
    collect_labels(&doc, &mut labels);
    if labels.is_empty() {
        return Some(format!(
            "the override has no `{LABEL_RUN}` label: the containers were not labelled with this run"
        ));
    }
    let wrong: Vec<&String> = labels.iter().filter(|v| v.as_str() != uuid).collect();
    if wrong.is_empty() {
        return None;
    }
    let mut shown: Vec<&str> = wrong.iter().map(|s| s.as_str()).collect();
    shown.sort_unstable();
    shown.dedup();
    Some(format!(
        "{} of {} `{LABEL_RUN}` labels are not the run's UUID: {}",
        wrong.len(),
        labels.len(),
        shown.join(", ")
    ))
}

fn collect_labels(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                if k.as_str() == Some("labels")
                    && let Value::Mapping(labels) = v
                {
                    for (lk, lv) in labels {
                        if lk.as_str() == Some(LABEL_RUN) {
                            out.push(match lv {
                                Value::String(s) => s.clone(),
                                other => serde_yaml_ng::to_string(other)
                                    .unwrap_or_default()
                                    .trim()
                                    .to_string(),
                            });
                        }
                    }
                }
                collect_labels(v, out);
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_labels(v, out)),
        Value::Tagged(tagged) => collect_labels(&tagged.value, out),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_transcript_holding_a_secret_is_found() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("01-llm.md"),
            "## request\nredacted [REDACTED]\n",
        )
        .unwrap();
        assert!(transcript_secrets(dir.path()).is_empty());
        let leak = format!("## request\nkey {}\n", crate::redact::dummy_key());
        std::fs::write(dir.path().join("02-llm.md"), leak).unwrap();
        let found = transcript_secrets(dir.path());
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(found[0].1.ends_with("02-llm.md"));
        assert!(!found[0].2.contains(crate::redact::dummy_key()));
    }

    #[test]
    fn finds_a_needle_across_chunk_boundaries() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.log");
        let needle = b"3f1c9a52-8d7e-4b6a-9c0f-1e2d3c4b5a69";
        for offset in [0, 64 * 1024 - 10, 64 * 1024 - 36, 64 * 1024, 200_000] {
            let mut text = vec![b'x'; offset];
            text.extend_from_slice(needle);
            text.extend_from_slice(b"\ntrailing");
            std::fs::write(&path, &text).unwrap();
            assert!(contains(&path, needle).unwrap(), "offset {offset}");
        }
        std::fs::write(&path, vec![b'y'; 300_000]).unwrap();
        assert!(!contains(&path, needle).unwrap());
    }

    #[test]
    fn override_labels_must_all_be_the_run() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.yml");
        let u = "3f1c9a52-8d7e-4b6a-9c0f-1e2d3c4b5a69";
        std::fs::write(
            &path,
            format!("services:\n  web:\n    labels:\n      dev.harness.run: {u}\n"),
        )
        .unwrap();
        assert_eq!(override_problem(&path, u), None);
        std::fs::write(
            &path,
            format!(
                "services:\n  web:\n    labels:\n      dev.harness.run: {u}\n  api:\n    labels:\n      dev.harness.run: other\n"
            ),
        )
        .unwrap();
        assert!(override_problem(&path, u).unwrap().contains("other"));
        std::fs::write(&path, "services:\n  web: {}\n").unwrap();
        assert!(override_problem(&path, u).is_some());
    }
}
