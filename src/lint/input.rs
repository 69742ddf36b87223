//! What Compose reads beside a compose file: the `.env` that gives variables their values,
//! and the override file it merges in when no `-f` is given.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml_ng::{Mapping, Value};

/// The override file Compose merges into `compose_file` when it is run without `-f`.
pub fn override_for(compose_file: &Path) -> Option<PathBuf> {
    let name = compose_file.file_name()?.to_str()?;
    let candidates = match name {
        "compose.yaml" | "compose.yml" => ["compose.override.yaml", "compose.override.yml"],
        "docker-compose.yml" | "docker-compose.yaml" => [
            "docker-compose.override.yml",
            "docker-compose.override.yaml",
        ],
        _ => return None,
    };
    candidates
        .iter()
        .map(|c| compose_file.with_file_name(c))
        .find(|p| p.is_file())
}

/// Service keys whose lists an override adds to rather than replaces.
const APPENDED: [&str; 13] = [
    "ports",
    "expose",
    "external_links",
    "dns",
    "dns_search",
    "tmpfs",
    "cap_add",
    "cap_drop",
    "security_opt",
    "devices",
    "volumes",
    "configs",
    "secrets",
];
/// Service keys whose `KEY=value` lists merge by key.
const BY_KEY: [&str; 3] = ["environment", "labels", "extra_hosts"];

/// `over` merged into `base` the way Compose merges an override file: mappings key by key,
/// the lists above appended (without repeats) or merged by key, everything else replaced.
pub fn merge(base: &Value, over: &Value) -> Value {
    merge_at(base, over, "")
}

fn merge_at(base: &Value, over: &Value, key: &str) -> Value {
    match (base, over) {
        (Value::Mapping(b), Value::Mapping(o)) => {
            let mut out: Mapping = b.clone();
            for (k, v) in o {
                let name = k.as_str().unwrap_or_default();
                let merged = match out.get(k) {
                    Some(existing) => merge_at(existing, v, name),
                    None => v.clone(),
                };
                out.insert(k.clone(), merged);
            }
            Value::Mapping(out)
        }
        (Value::Sequence(b), Value::Sequence(o)) if APPENDED.contains(&key) => {
            let mut out = b.clone();
            for v in o {
                if !out.contains(v) {
                    out.push(v.clone());
                }
            }
            Value::Sequence(out)
        }
        (Value::Sequence(b), Value::Sequence(o)) if BY_KEY.contains(&key) => {
            let name = |v: &Value| {
                v.as_str()
                    .map(|s| s.split(['=', ':']).next().unwrap_or(s).trim().to_string())
            };
            let mut out: Vec<Value> = b
                .iter()
                .filter(|v| !o.iter().any(|ov| name(ov).is_some() && name(ov) == name(v)))
                .cloned()
                .collect();
            out.extend(o.iter().cloned());
            Value::Sequence(out)
        }
        _ => over.clone(),
    }
}

/// The names the `.env` beside `compose_file` sets (empty when there is none). Values are
/// not kept: lint only needs to know a variable has one, and must never print it.
pub fn dotenv_names(compose_file: &Path) -> BTreeSet<String> {
    let dir = compose_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    crate::user_file::read_to_string(&dir.join(".env"))
        .map(|text| parse_names(&text))
        .unwrap_or_default()
}

/// `KEY=value` lines, with `export ` and comments as Compose's dotenv reader takes them.
pub(crate) fn parse_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|line| {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                return None;
            }
            let line = line.strip_prefix("export ").unwrap_or(line);
            let (key, _) = line.split_once('=')?;
            let key = key.trim();
            let valid = !key.is_empty()
                && key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.' || c == '-');
            valid.then(|| key.to_string())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::ComposeFile;
    use crate::lint::run::{Options, lint_with};

    #[test]
    fn names_only_from_dotenv_lines() {
        let names = parse_names("# c\nA=1\nexport B = two\n\nbad line\nC=\n=x\n");
        assert_eq!(
            names.into_iter().collect::<Vec<_>>(),
            vec!["A".to_string(), "B".to_string(), "C".to_string()]
        );
    }

    #[test]
    fn a_variable_set_in_dotenv_is_not_required() {
        let file = ComposeFile::parse(
            "t.yml",
            "services:\n  a:\n    image: x:${TAG}\n    environment:\n      K: ${K:?set K}\n",
            1,
        )
        .unwrap();
        let rules = |opts: &Options| -> Vec<String> {
            lint_with(&file, opts)
                .into_iter()
                .filter(|f| f.rule == "required-variable")
                .map(|f| f.path)
                .collect()
        };
        assert_eq!(rules(&Options::default()).len(), 2);
        let opts = Options {
            dotenv: parse_names("TAG=1\nK=secret\n"),
            ..Options::default()
        };
        assert!(rules(&opts).is_empty());
    }

    fn yaml(t: &str) -> Value {
        serde_yaml_ng::from_str(t).unwrap()
    }

    #[test]
    fn an_override_merges_as_compose_merges() {
        let base = yaml(
            "services:\n  a:\n    image: x:1\n    ports: [\"80:80\"]\n    environment: [A=1, B=2]\n    command: [one]\n",
        );
        let over = yaml(
            "services:\n  a:\n    image: x:2\n    ports: [\"80:80\", \"443:443\"]\n    environment: [B=3]\n    command: [two]\n  b:\n    image: y:1\n",
        );
        let want = yaml(
            "services:\n  a:\n    image: x:2\n    ports: [\"80:80\", \"443:443\"]\n    environment: [A=1, B=3]\n    command: [two]\n  b:\n    image: y:1\n",
        );
        assert_eq!(merge(&base, &over), want);
    }

    #[test]
    fn the_override_beside_the_file_is_found() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().join("compose.yaml");
        assert_eq!(override_for(&base), None);
        std::fs::write(dir.path().join("compose.override.yml"), "services: {}\n").unwrap();
        assert_eq!(
            override_for(&base),
            Some(dir.path().join("compose.override.yml"))
        );
        assert_eq!(override_for(&dir.path().join("stack.yml")), None);
    }

    #[test]
    fn a_dotenv_beside_the_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "TAG=1\n").unwrap();
        let names = dotenv_names(&dir.path().join("compose.yml"));
        assert!(names.contains("TAG"));
        assert!(dotenv_names(Path::new("/nonexistent/compose.yml")).is_empty());
    }
}

#[cfg(test)]
mod merged_tests {
    use crate::compose::ComposeFile;
    use crate::lint::{Options, lint_merged};

    #[test]
    fn findings_land_in_the_file_that_sets_the_node() {
        let base = ComposeFile::parse(
            "compose.yaml",
            "services:\n  api:\n    image: x:1\n    ports: [\"127.0.0.1::80\"]\n",
            1,
        )
        .unwrap();
        let over = ComposeFile::parse(
            "compose.override.yaml",
            "services:\n  api:\n    privileged: true\n    ports:\n      - \"8080:81\"\n",
            1,
        )
        .unwrap();
        let (in_base, in_over) = lint_merged(&base, &over, &Options::default());
        let at = |fs: &[crate::lint::Finding], rule: &str| -> Vec<(String, Option<usize>)> {
            fs.iter()
                .filter(|f| f.rule == rule)
                .map(|f| (f.path.clone(), f.line))
                .collect()
        };
        assert_eq!(
            at(&in_over, "privileged"),
            vec![("services.api.privileged".to_string(), Some(3))]
        );
        // The override's list is appended to the base's: its item is the second.
        assert!(
            at(&in_base, "hardcoded-host-port").len() + at(&in_over, "hardcoded-host-port").len()
                == 1
        );
        assert_eq!(
            at(&in_base, "missing-healthcheck"),
            vec![("services.api".to_string(), Some(2))]
        );
        assert!(at(&in_base, "privileged").is_empty());
    }
}
