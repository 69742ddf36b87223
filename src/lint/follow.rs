//! What Compose reads besides the file it is given: the files `include:` names (their
//! services, networks, volumes, secrets and configs join the project) and the service
//! definitions `extends:` names (merged under the service that extends them, as an
//! override merges). The result is one project for the rules, with a map from each node
//! back to the file — and the path in that file — that holds it, so a finding is reported
//! where it can be fixed.
//!
//! Bounded: at most [`DEPTH`] levels of `include:`/`extends:` are followed, and a file is
//! read once. What cannot be read (a missing file, an unknown service, a cycle) is a
//! `not-followed` finding at the `include:` or `extends:` that names it.

use std::path::{Path as FsPath, PathBuf};

use serde_yaml_ng::{Mapping, Value};

use super::finding::Path;
use super::input;
use super::yaml::{self, untag};
use crate::compose::ComposeFile;
use crate::compose::path::Seg;

/// How deep `include:` and `extends:` chains are followed.
const DEPTH: usize = 8;
/// The top-level sections an included file contributes.
const SECTIONS: [&str; 5] = ["services", "networks", "volumes", "secrets", "configs"];

/// One file of the project; the first is the file lint was given.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: PathBuf,
    pub file: ComposeFile,
}

/// A node of the project that one file holds: `at` in the project is `prefix` there.
#[derive(Debug, Clone)]
struct Origin {
    at: Path,
    source: usize,
    prefix: Path,
}

#[derive(Debug, Clone)]
pub struct Followed {
    /// The project: the first file with its includes and extends resolved.
    pub doc: Value,
    pub sources: Vec<Source>,
    /// In priority order: where two origins cover a node, the first that holds it wins.
    origins: Vec<Origin>,
    /// What could not be followed: the source, the `include:`/`extends:` path, why.
    pub unread: Vec<(usize, Path, String)>,
}

/// Whether the file pulls in anything lint would follow.
pub fn pulls_in(doc: &Value) -> bool {
    let Some(top) = doc.as_mapping() else {
        return false;
    };
    yaml::get(top, "include").is_some()
        || yaml::get_map(top, "services").is_some_and(|s| {
            s.values().any(|b| {
                b.as_mapping()
                    .is_some_and(|m| yaml::get(m, "extends").is_some())
            })
        })
}

/// `file` (read from `path`) with what it includes and extends.
pub fn follow(path: &FsPath, file: ComposeFile) -> Followed {
    let mut f = Followed {
        doc: Value::Null,
        sources: vec![Source {
            path: path.to_path_buf(),
            file,
        }],
        origins: Vec::new(),
        unread: Vec::new(),
    };
    let (doc, origins) = f.expand(0, 0);
    f.doc = doc;
    f.origins = origins;
    f
}

impl Followed {
    /// The source that holds the node at `at` of the project, and its path there.
    pub fn origin(&self, at: &Path) -> (usize, Path) {
        let here = at.lookup(&self.doc);
        let mut fallback = None;
        for o in self.origins.iter().filter(|o| starts_with(at, &o.at)) {
            let mut there = o.prefix.clone();
            for seg in &at.segs()[o.at.segs().len()..] {
                there = match seg {
                    Seg::Key(k) => there.key(k),
                    Seg::Index(i) => there.index(*i),
                };
            }
            let found = there.lookup(&self.sources[o.source].file.doc);
            if found.is_some() && found == here {
                return (o.source, there);
            }
            if found.is_some() && fallback.is_none() {
                fallback = Some((o.source, there));
            }
        }
        // Nothing holds it as it is (a value merged from two files): the first file
        // that declares its entry, else the file lint was given.
        fallback
            .or_else(|| {
                let o = self.origins.iter().find(|o| starts_with(at, &o.at))?;
                Some((o.source, o.prefix.clone()))
            })
            .unwrap_or((0, at.clone()))
    }

    /// Source `src`'s document with its extends merged and its includes added, and the
    /// origins of what it holds (none for its own nodes: a node no origin covers belongs
    /// to the top file).
    fn expand(&mut self, src: usize, depth: usize) -> (Value, Vec<Origin>) {
        let mut doc = self.sources[src].file.doc.clone();
        let mut origins = Vec::new();
        let names: Vec<String> = services_of(&doc)
            .map(|s| s.keys().map(yaml::key_string).collect())
            .unwrap_or_default();
        for name in names {
            let (body, chain) = self.service(src, &name, depth);
            if let Some(services) = doc.get_mut("services").and_then(Value::as_mapping_mut) {
                services.insert(Value::String(name.clone()), body);
            }
            let at = Path::root().key("services").key(&name);
            origins.extend(chain.into_iter().map(|(source, prefix)| Origin {
                at: at.clone(),
                source,
                prefix,
            }));
        }
        if src != 0 {
            // Everything a pulled-in file holds is its own, at its own path.
            for section in SECTIONS {
                for key in section_keys(&doc, section) {
                    let at = Path::root().key(section).key(&key);
                    origins.push(Origin {
                        at: at.clone(),
                        source: src,
                        prefix: at,
                    });
                }
            }
        }
        self.include(src, depth, &mut doc, &mut origins);
        (doc, origins)
    }

    /// Adds what `src`'s `include:` entries define and `doc` does not.
    fn include(&mut self, src: usize, depth: usize, doc: &mut Value, origins: &mut Vec<Origin>) {
        let Some(entries) = doc.as_mapping_mut().and_then(|m| m.remove("include")) else {
            return;
        };
        let list = match untag(&entries) {
            Value::Sequence(items) => items.clone(),
            other => vec![other.clone()],
        };
        for (i, entry) in list.iter().enumerate() {
            let at = Path::root().key("include").index(i);
            for rel in include_paths(entry) {
                if depth >= DEPTH {
                    self.unread.push((src, at.clone(), too_deep()));
                    continue;
                }
                let child = match self.load(src, &rel) {
                    Ok(c) => c,
                    Err(why) => {
                        self.unread.push((src, at.clone(), why));
                        continue;
                    }
                };
                let (sub, sub_origins) = self.expand(child, depth + 1);
                for section in SECTIONS {
                    let Some(theirs) = sub.get(section).and_then(Value::as_mapping) else {
                        continue;
                    };
                    let Some(ours) = section_mut(doc, section) else {
                        continue;
                    };
                    for (k, v) in theirs {
                        if ours.contains_key(k) {
                            continue;
                        }
                        ours.insert(k.clone(), v.clone());
                        let entry = Path::root().key(section).key(&yaml::key_string(k));
                        origins.extend(
                            sub_origins
                                .iter()
                                .filter(|o| starts_with(&o.at, &entry))
                                .cloned(),
                        );
                    }
                }
            }
        }
    }

    /// Service `name` of `src` with what it extends merged in, and the chain of
    /// (source, path) that define it, the service itself first.
    fn service(&mut self, src: usize, name: &str, depth: usize) -> (Value, Vec<(usize, Path)>) {
        let at = Path::root().key("services").key(name);
        let Some(body) = at.lookup(&self.sources[src].file.doc).cloned() else {
            return (Value::Null, Vec::new());
        };
        let mut chain = vec![(src, at.clone())];
        let Some((file, base)) = extends(&body) else {
            return (body, chain);
        };
        let mut own = body;
        if let Some(m) = own.as_mapping_mut() {
            m.remove("extends");
        }
        let ext = at.key("extends");
        if depth >= DEPTH {
            self.unread.push((src, ext, too_deep()));
            return (own, chain);
        }
        let base_src = match file {
            Some(rel) => match self.load(src, &rel) {
                Ok(b) => b,
                Err(why) => {
                    self.unread.push((src, ext, why));
                    return (own, chain);
                }
            },
            None => src,
        };
        let base_at = Path::root().key("services").key(&base);
        if base_at.lookup(&self.sources[base_src].file.doc).is_none() {
            let why = format!(
                "`extends` names service `{base}`, which `{}` does not define: Compose \
                 rejects the file — fix the name",
                self.sources[base_src].path.display()
            );
            self.unread.push((src, ext, why));
            return (own, chain);
        }
        let (base_body, base_chain) = self.service(base_src, &base, depth + 1);
        chain.extend(base_chain);
        (input::merge(&base_body, &own), chain)
    }

    /// The source for `rel`, relative to `from`'s directory: read once.
    fn load(&mut self, from: usize, rel: &str) -> Result<usize, String> {
        if rel.contains('$') {
            return Err(format!(
                "`{rel}` depends on a variable, so lint cannot tell which file it is: lint \
                 that file on its own"
            ));
        }
        let dir = self.sources[from]
            .path
            .parent()
            .unwrap_or(FsPath::new(""))
            .to_path_buf();
        let path = dir.join(rel);
        if let Some(i) = self.sources.iter().position(|s| s.path == path) {
            return Ok(i);
        }
        let name = path.display().to_string();
        let text = crate::user_file::read_to_string(&path)
            .map_err(|e| format!("`{name}` cannot be read ({e}): fix the path"))?;
        let file = ComposeFile::parse(&name, &text, 1)
            .map_err(|e| format!("`{name}` is not a compose file lint can read: {e}"))?;
        self.sources.push(Source { path, file });
        Ok(self.sources.len() - 1)
    }
}

fn too_deep() -> String {
    format!("more than {DEPTH} levels of `include:`/`extends:`, or a cycle: not followed further")
}

fn starts_with(path: &Path, prefix: &Path) -> bool {
    path.segs().starts_with(prefix.segs())
}

fn services_of(doc: &Value) -> Option<&Mapping> {
    doc.get("services").and_then(Value::as_mapping)
}

fn section_keys(doc: &Value, section: &str) -> Vec<String> {
    doc.get(section)
        .and_then(Value::as_mapping)
        .map(|m| m.keys().map(yaml::key_string).collect())
        .unwrap_or_default()
}

/// The mapping of `section`, created (or replacing a null) when absent; `None` when the
/// document is not a mapping.
fn section_mut<'d>(doc: &'d mut Value, section: &str) -> Option<&'d mut Mapping> {
    let slot = doc
        .as_mapping_mut()?
        .entry(Value::String(section.to_string()))
        .or_insert(Value::Mapping(Mapping::new()));
    if !slot.is_mapping() {
        *slot = Value::Mapping(Mapping::new());
    }
    slot.as_mapping_mut()
}

/// An `include:` entry's files: `- a.yml`, or `- path: a.yml` / `path: [a.yml, b.yml]`.
fn include_paths(entry: &Value) -> Vec<String> {
    match untag(entry) {
        Value::Mapping(m) => match yaml::get(m, "path").map(untag) {
            Some(Value::Sequence(items)) => items.iter().filter_map(yaml::scalar).collect(),
            Some(v) => yaml::scalar(v).into_iter().collect(),
            None => Vec::new(),
        },
        v => yaml::scalar(v).into_iter().collect(),
    }
}

/// `extends: base` (a service of the same file) or `extends: {service: base, file: f}`.
fn extends(body: &Value) -> Option<(Option<String>, String)> {
    match untag(body.get("extends")?) {
        Value::Mapping(m) => Some((yaml::get_str(m, "file"), yaml::get_str(m, "service")?)),
        v => Some((None, yaml::scalar(v)?)),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path as FsPath;

    use super::follow;
    use crate::compose::ComposeFile;
    use crate::lint::{Finding, Options, lint_followed};

    fn write(dir: &FsPath, name: &str, text: &str) {
        std::fs::write(dir.join(name), text).expect("write");
    }

    /// `(file name, rule, path, line)` of every finding of `rules`.
    fn lint_dir(dir: &FsPath, rules: &[&str]) -> Vec<(String, String, String, usize)> {
        let path = dir.join("compose.yaml");
        let text = std::fs::read_to_string(&path).expect("read");
        let file = ComposeFile::parse("compose.yaml", &text, 1).expect("parses");
        let followed = follow(&path, file);
        let per = lint_followed(&followed, &Options::default());
        let mut out = Vec::new();
        for (source, findings) in followed.sources.iter().zip(per) {
            let name = source.path.file_name().expect("name").to_string_lossy();
            for Finding {
                rule, path, line, ..
            } in findings.into_iter().filter(|f| rules.contains(&f.rule))
            {
                out.push((
                    name.to_string(),
                    rule.to_string(),
                    path,
                    line.expect("line"),
                ));
            }
        }
        out
    }

    fn row(file: &str, rule: &str, path: &str, line: usize) -> (String, String, String, usize) {
        (file.into(), rule.into(), path.into(), line)
    }

    #[test]
    fn extends_findings_land_in_the_file_that_holds_the_node() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "base.yml",
            "services:\n  web:\n    image: x:1\n    privileged: true\n    container_name: w\n",
        );
        write(
            dir.path(),
            "compose.yaml",
            "services:\n  api:\n    extends:\n      file: base.yml\n      service: web\n    container_name: api\n  job:\n    extends: api\n    cap_add: [SYS_ADMIN]\n",
        );
        let got = lint_dir(
            dir.path(),
            &[
                "privileged",
                "fixed-container-name",
                "cap-add",
                "not-followed",
            ],
        );
        assert_eq!(
            got,
            vec![
                row(
                    "compose.yaml",
                    "fixed-container-name",
                    "services.api.container_name",
                    6
                ),
                row("compose.yaml", "cap-add", "services.job.cap_add[0]", 9),
                row("base.yml", "privileged", "services.web.privileged", 4),
            ]
        );
    }

    #[test]
    fn included_services_are_part_of_the_project_and_reported_in_their_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "db.yml",
            "services:\n  db:\n    image: postgres:16\n    privileged: true\nvolumes:\n  data:\n",
        );
        write(
            dir.path(),
            "compose.yaml",
            "include:\n  - db.yml\n  - path: [gone.yml]\nservices:\n  api:\n    image: x:1\n    depends_on: [db]\n    volumes: [\"data:/d\"]\n",
        );
        let got = lint_dir(
            dir.path(),
            &[
                "privileged",
                "depends-on-unknown-service",
                "unused-volume",
                "not-followed",
            ],
        );
        assert_eq!(
            got,
            vec![
                row("compose.yaml", "not-followed", "include[1]", 3),
                row("db.yml", "privileged", "services.db.privileged", 4),
            ]
        );
    }

    #[test]
    fn a_cycle_and_an_unknown_service_are_not_followed_without_a_hang() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(
            dir.path(),
            "compose.yaml",
            "include: [compose.yaml]\nservices:\n  a:\n    extends: b\n  b:\n    extends: a\n  c:\n    extends: ghost\n",
        );
        let got = lint_dir(dir.path(), &["not-followed"]);
        assert!(got.iter().any(|r| r.2 == "services.c.extends"), "{got:?}");
        assert!(got.iter().any(|r| r.2 == "services.a.extends"), "{got:?}");
    }
}
