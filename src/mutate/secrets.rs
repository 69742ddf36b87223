//! A config as the harness records it: every literal secret in an `environment:` entry
//! replaced by a reference to the variable that is to carry it. Not a catalog mutation —
//! the redactor's view of a config, written with the same lossless editor so the record
//! differs from the author's file only where a secret was.

use super::edit::{Op, RawEdit};
use super::render::render;
use super::tree::{self, EnvEntry};
use super::types::MutateError;
use crate::compose::ComposeFile;
use crate::compose::interp;
use crate::compose::secrets::{not_a_secret, secret_setting, urls};

/// One literal secret and the variable that replaces it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Literal {
    pub name: String,
    pub value: String,
}

/// Every literal secret of `file`'s environments: a secret-looking key's literal value
/// (or literal default), and a password written into a URL.
pub fn literal_secrets(file: &ComposeFile) -> Vec<Literal> {
    plan(file).into_iter().flat_map(|(_, l)| l).collect()
}

/// `file`'s text with every literal secret replaced by `${NAME}`; `None` when it has none.
pub fn secrets_as_references(file: &ComposeFile) -> Result<Option<String>, MutateError> {
    let planned = plan(file);
    if planned.is_empty() {
        return Ok(None);
    }
    let ops: Vec<Op> = planned.into_iter().map(|(op, _)| op).collect();
    Ok(Some(render(file, &ops)?.text))
}

fn plan(file: &ComposeFile) -> Vec<(Op, Vec<Literal>)> {
    tree::services(&file.doc)
        .iter()
        .flat_map(tree::environment)
        .filter_map(|entry| entry_op(&entry))
        .collect()
}

/// The edit of one entry and the secrets it takes out.
fn entry_op(entry: &EnvEntry) -> Option<(Op, Vec<Literal>)> {
    // `tree::environment` yields only entries with text; any other has nothing to edit.
    let (text, value) = (entry.text?, entry.text_value()?);
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut found = Vec::new();
    if secret_setting(&entry.key) {
        if !value.contains('$') {
            if !not_a_secret(value) {
                pairs.push((value.to_string(), format!("${{{}}}", entry.key)));
                found.push(literal(&entry.key, value));
            }
        } else {
            // `${DB_PASSWORD:-hunter2}`: the default is what runs where the variable is unset.
            let default = interp::unset_or_as_written(value);
            if !not_a_secret(&default) && value.contains(&default) {
                pairs.push((format!("-{default}}}"), "-}".to_string()));
                found.push(literal(&entry.key, &default));
            }
        }
    }
    if pairs.is_empty() {
        for url in urls(value) {
            if let Some(pw) = url.literal_password() {
                let name = format!("{}_PASSWORD", entry.key);
                pairs.push((format!(":{pw}@"), format!(":${{{name}}}@")));
                found.push(literal(&name, pw));
            }
        }
    }
    if pairs.is_empty() {
        return None;
    }
    let mut scalar = text.to_string();
    for (from, to) in &pairs {
        scalar = scalar.replacen(from.as_str(), to, 1);
    }
    let op = Op::SetStr {
        at: entry.path.to_vec(),
        value: scalar,
        raw: RawEdit::Replace(pairs),
    };
    Some((op, found))
}

fn literal(name: &str, value: &str) -> Literal {
    Literal {
        name: name.to_string(),
        value: value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ComposeFile {
        ComposeFile::parse("t.yml", text, 1).unwrap()
    }

    #[test]
    fn literal_secrets_become_references_and_nothing_else_changes() {
        let text = "services:\n  app:\n    image: postgres:16   # the db\n    environment:\n      POSTGRES_PASSWORD: postgres\n      'SMTP_PASS': \"hunter2!\"\n      DB_PASSWORD: ${DB_PASSWORD:-changeme}\n      DATABASE_URL: postgres://app:s3cret@db/app\n      API_KEY: ${API_KEY:-}\n      LOG_LEVEL: info\n  worker:\n    image: w\n    environment:\n      - GCP_CREDENTIALS=eyJhbGciOi\n      - MYSQL_ALLOW_EMPTY_PASSWORD=yes\n";
        let out = secrets_as_references(&file(text)).unwrap().unwrap();
        assert_eq!(
            out,
            "services:\n  app:\n    image: postgres:16   # the db\n    environment:\n      POSTGRES_PASSWORD: ${POSTGRES_PASSWORD}\n      'SMTP_PASS': \"${SMTP_PASS}\"\n      DB_PASSWORD: ${DB_PASSWORD:-}\n      DATABASE_URL: postgres://app:${DATABASE_URL_PASSWORD}@db/app\n      API_KEY: ${API_KEY:-}\n      LOG_LEVEL: info\n  worker:\n    image: w\n    environment:\n      - GCP_CREDENTIALS=${GCP_CREDENTIALS}\n      - MYSQL_ALLOW_EMPTY_PASSWORD=yes\n"
        );
        let names: Vec<(String, String)> = literal_secrets(&file(text))
            .into_iter()
            .map(|l| (l.name, l.value))
            .collect();
        assert_eq!(
            names,
            vec![
                ("POSTGRES_PASSWORD".into(), "postgres".into()),
                ("SMTP_PASS".into(), "hunter2!".into()),
                ("DB_PASSWORD".into(), "changeme".into()),
                ("DATABASE_URL_PASSWORD".into(), "s3cret".into()),
                ("GCP_CREDENTIALS".into(), "eyJhbGciOi".into()),
            ]
        );
    }

    #[test]
    fn a_config_without_literal_secrets_is_left_alone() {
        let text = "services:\n  a:\n    image: x\n    environment:\n      ANTHROPIC_API_KEY: ${ANTHROPIC_API_KEY}\n      REDIS_URL: redis://redis:6379\n";
        assert_eq!(secrets_as_references(&file(text)).unwrap(), None);
    }
}
