//! What Compose reads beside a compose file: the `.env` that gives variables their values.

use std::collections::BTreeSet;
use std::path::Path;

/// The names the `.env` beside `compose_file` sets (empty when there is none). Values are
/// not kept: lint only needs to know a variable has one, and must never print it.
pub fn dotenv_names(compose_file: &Path) -> BTreeSet<String> {
    let dir = compose_file
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::read_to_string(dir.join(".env"))
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

    #[test]
    fn a_dotenv_beside_the_file_is_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".env"), "TAG=1\n").unwrap();
        let names = dotenv_names(&dir.path().join("compose.yml"));
        assert!(names.contains("TAG"));
        assert!(dotenv_names(Path::new("/nonexistent/compose.yml")).is_empty());
    }
}
