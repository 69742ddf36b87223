//! Variables and environment: references that break on an unset variable and secrets
//! written into the file (service URLs that point a container at itself: `loopback`).

use std::collections::BTreeSet;

use serde_yaml_ng::Value;

use super::catalog::{INVALID_INTERPOLATION, LITERAL_SECRET, REQUIRED_VARIABLE};
use super::finding::{Path, Sink};
use super::run::Ctx;
use super::yaml::{self, EnvEntry, key_string, untag};
use crate::compose::interp::{self, Op};
use crate::compose::secrets::{not_a_secret, secret_setting, urls};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    if let Some(top) = ctx.doc.as_mapping() {
        for (k, v) in top {
            let key = key_string(k);
            // Extension fields are anchors for the services that use them; a variable in
            // one is reported where it is used, not twice.
            let extension = key.starts_with("x-");
            walk(v, &Path::root().key(&key), extension, ctx.dotenv, sink);
        }
    }
    for svc in &ctx.services {
        for entry in yaml::environment(svc) {
            literal_secret(&entry, sink);
        }
    }
}

/// Compose interpolates every value in the file (never a key), so every string counts.
fn walk(v: &Value, path: &Path, extension: bool, known: &BTreeSet<String>, sink: &mut Sink) {
    match untag(v) {
        Value::String(s) => references(s, path, extension, known, sink),
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &path.index(i), extension, known, sink);
            }
        }
        Value::Mapping(m) => {
            for (k, item) in m {
                walk(item, &path.key(&key_string(k)), extension, known, sink);
            }
        }
        _ => {}
    }
}

fn references(s: &str, path: &Path, extension: bool, known: &BTreeSet<String>, sink: &mut Sink) {
    if !s.contains('$') {
        return;
    }
    let parsed = interp::parse(s);
    if parsed.invalid {
        sink.add(
            &INVALID_INTERPOLATION,
            path,
            "a `${` here starts no valid variable reference, so Compose rejects the whole \
             file (\"invalid interpolation format\") — write `$$` for a literal dollar"
                .to_string(),
        );
    }
    if extension {
        return;
    }
    let mut seen: Vec<&str> = Vec::new();
    for r in &parsed.refs {
        // The sibling `.env` gives it a value wherever the file is deployed from here.
        if seen.contains(&r.name.as_str()) || known.contains(&r.name) {
            continue;
        }
        let (message, choice) = match r.op {
            Op::Plain => (
                format!(
                    "`{}` has no default: wherever {} is unset Compose substitutes an empty \
                 string with only a warning — write `${{{}:-}}` (or a real default) so an \
                 unset variable is a decision, not an accident",
                    r.text, r.name, r.name
                ),
                true,
            ),
            Op::Required => (
                format!(
                    "`{}` stops Compose (\"required variable {} is missing a value\") wherever \
                 it is unset — give it a default (`${{{}:-}}`) and let the service report \
                 what is missing",
                    r.text, r.name, r.name
                ),
                false,
            ),
            Op::Default | Op::Alternative => continue,
        };
        seen.push(&r.name);
        // An empty value may be what the author meant (`TZ=${TIMEZONE}`); a `:?` stops
        // Compose whatever was meant.
        match choice {
            true => sink.add_choice(&REQUIRED_VARIABLE, path, message),
            false => sink.add(&REQUIRED_VARIABLE, path, message),
        }
    }
}

fn literal_secret(entry: &EnvEntry, sink: &mut Sink) {
    let Some(raw) = entry.value.as_deref() else {
        return;
    };
    let key = &entry.key;
    if secret_setting(key) {
        let parsed = interp::parse(raw);
        let message = if !parsed.has_refs() {
            (!not_a_secret(raw)).then(|| {
                format!(
                    "`{key}` is set to a literal value in the file: anyone who can read the \
                     file or `docker inspect` the container has it — pass it in from the \
                     environment or a `secrets:` file"
                )
            })
        } else {
            let defaulted = parsed.refs.iter().any(|r| r.op == Op::Default);
            (defaulted && !not_a_secret(&parsed.unset)).then(|| {
                format!(
                    "`{key}` has a literal default in the file, used wherever its variable \
                     is unset — drop the default (`:-`) value and pass the secret in"
                )
            })
        };
        if let Some(message) = message {
            sink.add(&LITERAL_SECRET, &entry.path, message);
            return;
        }
    }
    if urls(raw).iter().any(|u| u.literal_password().is_some()) {
        sink.add(
            &LITERAL_SECRET,
            &entry.path,
            format!(
                "the connection string in `{key}` carries a literal password: anyone who \
                 can read the file or `docker inspect` the container has it — put a \
                 variable in its place (`user:${{DB_PASSWORD}}@host`) or use a secret"
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::lint::finding::Level;
    use crate::lint::tests::{at, lint_yaml, rule_paths};

    const REQ: &str = "required-variable";
    const SECRET: &str = "literal-secret";

    fn svc(body: &str) -> String {
        format!("services:\n  app:\n    image: x\n{body}")
    }

    #[test]
    fn variables_without_a_default_anywhere_in_the_file() {
        let f = lint_yaml(&format!(
            "services:\n  app:\n{}",
            "    environment:\n      ANTHROPIC_API_KEY: ${ANTHROPIC_API_KEY}\n      A: $HOME/x\n      B: ${B:-x}\n      C: ${C-}\n      D: $$E\n    volumes:\n      - ${DATA}:/data\n    image: app:${TAG}\n",
        ));
        assert_eq!(
            rule_paths(&f, REQ),
            vec![
                "services.app.environment.A",
                "services.app.environment.ANTHROPIC_API_KEY",
                "services.app.image",
                "services.app.volumes[0]",
            ]
        );
        let hit = at(&f, "services.app.environment.ANTHROPIC_API_KEY", REQ);
        assert_eq!(hit.level, Level::Error);
        assert_eq!(hit.mutation, Some("env-default"));
        assert!(
            hit.message.contains("${ANTHROPIC_API_KEY:-}"),
            "{}",
            hit.message
        );
    }

    #[test]
    fn mandatory_variables_and_list_form() {
        let f = lint_yaml(&svc(
            "    environment:\n      - TZ=${TIMEZONE}\n      - K=${K:?set K}\n      - OK=${OK:-1}\n",
        ));
        assert_eq!(
            rule_paths(&f, REQ),
            vec!["services.app.environment[0]", "services.app.environment[1]"]
        );
        let hit = at(&f, "services.app.environment[1]", REQ);
        assert!(hit.message.contains("missing a value"), "{}", hit.message);
    }

    #[test]
    fn nested_defaults_and_extensions() {
        let f = lint_yaml(
            "x-env: &env\n  A: ${A}\nservices:\n  app:\n    environment:\n      <<: *env\n      B: ${B:-${C}}\n",
        );
        assert_eq!(
            rule_paths(&f, REQ),
            vec!["services.app.environment.A", "services.app.environment.B"]
        );
    }

    #[test]
    fn malformed_braces_are_reported_and_shell_dollars_are_not() {
        let f = lint_yaml(&svc(
            "    command: sh -c 'echo ${'\n    healthcheck:\n      test: [CMD-SHELL, \"x $$(cat f) $(date)\"]\n",
        ));
        assert_eq!(
            rule_paths(&f, "invalid-interpolation"),
            vec!["services.app.command"]
        );
    }

    #[test]
    fn literal_secrets_are_errors_without_the_value() {
        let f = lint_yaml(&svc(
            "    environment:\n      SA_PASSWORD: example_123\n      GITHUB_TOKEN: ghp_abc\n      API_KEY: 12345\n      JWT_SECRET: s3cr3t\n      DB_PASSWD: gitea\n",
        ));
        assert_eq!(
            rule_paths(&f, SECRET),
            vec![
                "services.app.environment.API_KEY",
                "services.app.environment.DB_PASSWD",
                "services.app.environment.GITHUB_TOKEN",
                "services.app.environment.JWT_SECRET",
                "services.app.environment.SA_PASSWORD",
            ]
        );
        for f in &f {
            for v in ["example_123", "ghp_abc", "12345", "s3cr3t", "gitea"] {
                assert!(!f.message.contains(v), "{}", f.message);
            }
        }
    }

    #[test]
    fn the_redactors_secret_names_are_literal_secrets_too() {
        let f = lint_yaml(&svc(
            "    environment:\n      STRIPE_APIKEY: sk_live_1\n      SMTP_PASS: mailpw\n      GCP_CREDENTIALS: eyJ0eXAi\n      SSH_PRIVATE_KEY: AAAAB3\n      TOKENIZER: bpe\n",
        ));
        assert_eq!(
            rule_paths(&f, SECRET),
            vec![
                "services.app.environment.GCP_CREDENTIALS",
                "services.app.environment.SMTP_PASS",
                "services.app.environment.SSH_PRIVATE_KEY",
                "services.app.environment.STRIPE_APIKEY",
            ]
        );
    }

    #[test]
    fn references_switches_and_paths_are_not_secrets() {
        let f = lint_yaml(&svc(
            "    environment:\n      - ANTHROPIC_API_KEY=${ANTHROPIC_API_KEY:-}\n      - WEBPASSWORD=${PIHOLE_PW}\n      - MYSQL_ROOT_PASSWORD_FILE=/run/secrets/db-password\n      - DATABASE_PASSWORD=/run/secrets/db-password\n      - MYSQL_ALLOW_EMPTY_PASSWORD=yes\n      - POSTGRES_PASSWORD=\n      - REDIS_PASSWORD\n      - SSH_PUBLIC_KEY=ssh-ed25519 AAAA\n      - LOG_LEVEL=info\n",
        ));
        assert_eq!(rule_paths(&f, SECRET), Vec::<String>::new());
    }

    #[test]
    fn a_literal_default_is_a_literal_secret() {
        let f = lint_yaml(&svc(
            "    environment:\n      DB_PASSWORD: ${DB_PASSWORD:-hunter2}\n",
        ));
        let hit = at(&f, "services.app.environment.DB_PASSWORD", SECRET);
        assert!(!hit.message.contains("hunter2"));
    }

    #[test]
    fn passwords_in_connection_strings() {
        let f = lint_yaml(&svc(
            "    environment:\n      DATABASE_URL: mysql://root:whalehello@db:3306/mysql\n      A_URL: postgres://u:${PW}@db/x\n      B_URL: postgres://u@db/x\n      C_URL: redis://:pw@redis:6379\n",
        ));
        assert_eq!(
            rule_paths(&f, SECRET),
            vec![
                "services.app.environment.C_URL",
                "services.app.environment.DATABASE_URL"
            ]
        );
        assert!(f.iter().all(|f| !f.message.contains("whalehello")));
    }
}
