//! What a service names that must exist elsewhere, or Compose rejects the project: the
//! top-level `secrets:` and `configs:` entries it uses, and its `env_file:` files.

use std::path::Path as FsPath;

use serde_yaml_ng::{Mapping, Value};

use super::catalog::{MISSING_ENV_FILE, UNDEFINED_CONFIG, UNDEFINED_SECRET};
use super::finding::{Path, RuleInfo, Sink};
use super::run::Ctx;
use super::yaml::{self, Service, untag};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    let top = ctx.doc.as_mapping();
    for svc in &ctx.services {
        undefined(svc, top, "secrets", &UNDEFINED_SECRET, sink);
        undefined(svc, top, "configs", &UNDEFINED_CONFIG, sink);
        if let Some(dir) = ctx.dir {
            env_files(svc, dir, sink);
        }
    }
}

/// Each item of the service's `secrets:`/`configs:` (`- name` or `- source: name`) whose
/// name the top-level mapping of the same key does not define.
fn undefined(
    svc: &Service<'_>,
    top: Option<&Mapping>,
    key: &str,
    rule: &RuleInfo,
    sink: &mut Sink,
) {
    let defined = top.and_then(|t| yaml::get_map(t, key));
    for (i, item) in yaml::get_seq(svc.body, key)
        .unwrap_or_default()
        .iter()
        .enumerate()
    {
        let name = match untag(item) {
            Value::Mapping(m) => yaml::get_str(m, "source"),
            v => yaml::scalar(v),
        };
        let Some(name) = name.filter(|n| !n.is_empty()) else {
            continue;
        };
        if defined.is_some_and(|d| yaml::get(d, &name).is_some()) {
            continue;
        }
        let singular = key.trim_end_matches('s');
        sink.add(
            rule,
            &svc.path.key(key).index(i),
            format!(
                "`{}` uses {singular} `{name}`, which the top-level `{key}:` does not define: \
                 Compose rejects the project — define it there (`file:` or `environment:`), \
                 or fix the name",
                svc.name
            ),
        );
    }
}

/// One `env_file:` entry: where it is in the file, its path, and whether Compose needs it.
struct EnvFile {
    at: Path,
    path: String,
    required: bool,
}

fn env_file_entries(svc: &Service<'_>) -> Vec<EnvFile> {
    let at = svc.path.key("env_file");
    let entry = |at: Path, v: &Value| -> Option<EnvFile> {
        match untag(v) {
            Value::Mapping(m) => Some(EnvFile {
                at,
                path: yaml::get_str(m, "path")?,
                // `required: false` (Compose 2.24) lets the file be absent.
                required: !matches!(
                    yaml::get(m, "required").map(untag),
                    Some(Value::Bool(false))
                ),
            }),
            v => Some(EnvFile {
                at,
                path: yaml::scalar(v)?,
                required: true,
            }),
        }
    };
    match yaml::get(svc.body, "env_file").map(untag) {
        Some(Value::Sequence(items)) => items
            .iter()
            .enumerate()
            .filter_map(|(i, v)| entry(at.index(i), v))
            .collect(),
        Some(v) => entry(at, v).into_iter().collect(),
        None => Vec::new(),
    }
}

/// A required `env_file:` that is not there: `compose config` and `up` fail on it. A path
/// with a variable in it is not judged (its value is the machine's).
fn env_files(svc: &Service<'_>, dir: &FsPath, sink: &mut Sink) {
    for f in env_file_entries(svc) {
        if !f.required || f.path.is_empty() || f.path.contains('$') {
            continue;
        }
        if dir.join(&f.path).is_file() {
            continue;
        }
        sink.add(
            &MISSING_ENV_FILE,
            &f.at,
            format!(
                "`{}` reads env file `{}`, which does not exist beside the compose file: \
                 Compose refuses to start the project — create it, fix the path, or mark it \
                 `required: false`",
                svc.name, f.path
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::compose::ComposeFile;
    use crate::lint::tests::{lint_yaml, rule_paths};
    use crate::lint::{Finding, Options, lint_with};

    #[test]
    fn secrets_and_configs_must_be_defined_at_the_top() {
        let f = lint_yaml(
            "services:\n  a:\n    image: x:1\n    secrets: [db, {source: ghost, target: g}]\n    configs: [c, nope]\nsecrets:\n  db: {file: ./db.txt}\nconfigs:\n  c: {file: ./c.conf}\n",
        );
        assert_eq!(
            rule_paths(&f, "undefined-secret"),
            vec!["services.a.secrets[1]"]
        );
        assert_eq!(
            rule_paths(&f, "undefined-config"),
            vec!["services.a.configs[1]"]
        );
        let f = lint_yaml("services:\n  a:\n    image: x:1\n    secrets: [s]\n");
        assert_eq!(
            rule_paths(&f, "undefined-secret"),
            vec!["services.a.secrets[0]"]
        );
    }

    fn in_dir(dir: &std::path::Path, text: &str) -> Vec<Finding> {
        let file = ComposeFile::parse("compose.yaml", text, 1).expect("parses");
        let opts = Options {
            dir: Some(dir.to_path_buf()),
            ..Options::default()
        };
        lint_with(&file, &opts)
            .into_iter()
            .filter(|f| f.rule == "missing-env-file")
            .collect()
    }

    #[test]
    fn a_missing_required_env_file_is_an_error() {
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("here.env"), "A=1\n").expect("env");
        let f = in_dir(
            dir.path(),
            "services:\n  a:\n    image: x:1\n    env_file:\n      - here.env\n      - gone.env\n      - path: optional.env\n        required: false\n      - path: needed.env\n      - ${VAR}.env\n  b:\n    image: x:1\n    env_file: ./absent.env\n",
        );
        let paths: Vec<&str> = f.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            vec![
                "services.a.env_file[1]",
                "services.a.env_file[3]",
                "services.b.env_file"
            ]
        );
        assert!(f[0].line.is_some());
        // Without a directory (a task's candidate) nothing is judged.
        let file = ComposeFile::parse("t.yml", "services:\n  a:\n    env_file: gone.env\n", 1)
            .expect("parses");
        let quiet = lint_with(&file, &Options::default());
        assert!(quiet.iter().all(|f| f.rule != "missing-env-file"));
    }
}
