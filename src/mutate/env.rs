//! Environment and variables: `env-default` gives every reference a default, and
//! `service-host` points a container's localhost URL at the service that listens there.

use serde_yaml_ng::Value;

use super::apply::{Plan, list};
use super::edit::{Op, Path, RawEdit, Seg, child, render_path};
use super::tree::{self, EnvEntry, Service};
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::conventions::{loopback, not_service_to_service};
use crate::compose::interp;
use crate::compose::listener::{listener, urls};

pub(crate) fn env_default(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    if let Some(top) = file.doc.as_mapping() {
        for (k, v) in top {
            if let Some(key) = tree::key_name(k) {
                // Extension fields too: an anchor there is where its aliases get fixed.
                walk(v, &vec![Seg::key(key)], &mut ops, &mut sites);
            }
        }
    }
    Plan::of(ops, || {
        format!(
            "Give every variable without a default an empty one ({}): where a variable is \
             unset, Compose otherwise substitutes an empty string with only a warning, or \
             stops outright for `${{VAR:?}}`; with `${{VAR:-}}` the service starts and can \
             say itself what is missing.",
            list(&sites)
        )
    })
}

/// Compose interpolates every value in the file (never a key).
fn walk(v: &Value, path: &Path, ops: &mut Vec<Op>, sites: &mut Vec<String>) {
    match tree::untag(v) {
        Value::String(s) if interp::lacks_default(s) => {
            let Some(value) = interp::with_defaults(s) else {
                return;
            };
            let refs = interp::without_default(s);
            sites.push(format!("{} at {}", code_list(&refs), render_path(path)));
            ops.push(Op::SetStr {
                at: path.clone(),
                value,
                raw: RawEdit::EnvDefault,
            });
        }
        Value::Sequence(items) => {
            for (i, item) in items.iter().enumerate() {
                walk(item, &child(path, Seg::Index(i)), ops, sites);
            }
        }
        Value::Mapping(m) => {
            for (k, item) in m {
                if let Some(key) = tree::key_name(k) {
                    walk(item, &child(path, Seg::key(key)), ops, sites);
                }
            }
        }
        _ => {}
    }
}

fn code_list(refs: &[String]) -> String {
    let items: Vec<String> = refs.iter().map(|r| format!("`{r}`")).collect();
    list(&items)
}

pub(crate) fn service_host(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let all = tree::services(&file.doc);
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in &all {
        if svc.shares_network_namespace() {
            continue;
        }
        for entry in tree::environment(svc) {
            if let Some((op, site)) = repoint(&all, svc, &entry) {
                ops.push(op);
                sites.push(site);
            }
        }
    }
    Plan::of(ops, || {
        format!(
            "Point {} at the service that listens there: inside a container localhost is the \
             container itself, so the connection is refused; on the project network a \
             service is reached by its name.",
            list(&sites)
        )
    })
}

fn repoint(all: &[Service<'_>], svc: &Service<'_>, entry: &EnvEntry) -> Option<(Op, String)> {
    let mut pairs = Vec::new();
    let mut targets = Vec::new();
    // `tree::environment` yields only entries with text; any other has nothing to edit.
    let (text, current) = (entry.text?, entry.text_value()?);
    for url in urls(current) {
        if !loopback(url.host) || (url.is_web() && not_service_to_service(&entry.key)) {
            continue;
        }
        let Some(target) = listener(all, svc, &url) else {
            continue;
        };
        let new = url.with_host(&target);
        if !pairs.iter().any(|(old, _)| old == url.text) {
            pairs.push((url.text.to_string(), new));
            targets.push(format!("`{target}`"));
        }
    }
    if pairs.is_empty() {
        return None;
    }
    let mut value = text.to_string();
    for (old, new) in &pairs {
        value = value.replace(old.as_str(), new);
    }
    let changes: Vec<String> = pairs
        .iter()
        .map(|(o, n)| format!("`{o}` → `{n}`"))
        .collect();
    let site = format!("{} ({})", render_path(entry.path.segs()), list(&changes),);
    let op = Op::SetStr {
        at: entry.path.to_vec(),
        value,
        raw: RawEdit::Replace(pairs),
    };
    Some((op, site))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::tests::{applied, changed_lines, not_applicable};

    const ENV: &str = "env-default";
    const HOST: &str = "service-host";

    #[test]
    fn every_reference_gets_a_default_in_place() {
        let text = "x-common: &common\n  TZ: ${TZ}\nservices:\n  app:\n    image: app:${TAG}  # pinned by CI\n    environment:\n      <<: *common\n      # the key comes from the host\n      ANTHROPIC_API_KEY: ${ANTHROPIC_API_KEY}\n      HOME_DIR: \"$HOME/x\"\n      K: ${K:?set K}\n      OK: ${OK:-1}\n      LIT: $$HOME\n    command: |\n      run --home $HOME\n";
        let m = applied(ENV, text);
        assert_eq!(
            m.yaml,
            "x-common: &common\n  TZ: ${TZ:-}\nservices:\n  app:\n    image: app:${TAG:-}  # pinned by CI\n    environment:\n      <<: *common\n      # the key comes from the host\n      ANTHROPIC_API_KEY: ${ANTHROPIC_API_KEY:-}\n      HOME_DIR: \"${HOME:-}/x\"\n      K: ${K:-}\n      OK: ${OK:-1}\n      LIT: $$HOME\n    command: |\n      run --home ${HOME:-}\n"
        );
        assert_eq!(changed_lines(text, &m.yaml), 6);
        assert!(
            m.reason
                .contains("`${ANTHROPIC_API_KEY}` at services.app.environment.ANTHROPIC_API_KEY"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn flow_context_is_quoted_where_braces_would_break_it() {
        let text = "services:\n  app:\n    command: [echo, $HOME]\n";
        let m = applied(ENV, text);
        let doc: Value = serde_yaml_ng::from_str(&m.yaml).unwrap();
        assert_eq!(
            doc["services"]["app"]["command"][1].as_str(),
            Some("${HOME:-}")
        );
    }

    #[test]
    fn nothing_without_a_default() {
        not_applicable(
            ENV,
            "services:\n  app:\n    image: x:${T:-1}\n    environment: [A=$$B, C]\n",
        );
        not_applicable(ENV, "services:\n  app:\n    command: echo ${\n");
    }

    #[test]
    fn localhost_urls_point_at_the_listening_service() {
        let text = concat!(
            "services:\n  app:\n    image: app\n    environment:\n",
            "      REDIS_URL: redis://localhost:6379/0  # cache\n",
            "      DB: \"postgresql://u:${PW:-}@127.0.0.1/db\"\n",
            "      PUBLIC_URL: http://localhost:3000\n",
            "      API: http://[::1]:7000/v1\n",
            "  worker:\n    environment:\n      - BROKER=amqp://guest@localhost\n",
            "  cache:\n    image: harness/redis:local\n",
            "  db:\n    image: postgres:16\n",
            "  mq:\n    image: rabbitmq:3\n",
            "  api:\n    build: .\n    expose: [\"7000\"]\n",
        );
        let m = applied(HOST, text);
        let want = text
            .replace("redis://localhost:6379/0", "redis://cache:6379/0")
            .replace("@127.0.0.1/db", "@db/db")
            .replace("http://[::1]:7000/v1", "http://api:7000/v1")
            .replace("guest@localhost", "guest@mq");
        assert_eq!(m.yaml, want);
        assert!(m.reason.contains("services.app.environment.REDIS_URL (`redis://localhost:6379` → `redis://cache:6379`)"), "{}", m.reason);
    }

    #[test]
    fn no_listener_or_not_a_service_url() {
        not_applicable(
            HOST,
            "services:\n  app:\n    environment:\n      REDIS_URL: redis://localhost:6379\n",
        );
        not_applicable(
            HOST,
            "services:\n  app:\n    environment:\n      REDIS_URL: redis://redis:6379\n  redis:\n    image: redis\n",
        );
        not_applicable(
            HOST,
            "services:\n  app:\n    network_mode: service:redis\n    environment:\n      REDIS_URL: redis://localhost:6379\n  redis:\n    image: redis\n",
        );
        not_applicable(
            HOST,
            "services:\n  app:\n    environment:\n      CALLBACK_URL: http://localhost:7000\n  api:\n    expose: [7000]\n",
        );
        // Two Redis servers: which one was meant is not ours to guess.
        not_applicable(
            HOST,
            "services:\n  app:\n    environment:\n      R: redis://localhost\n  r1:\n    image: redis\n  r2:\n    image: redis\n",
        );
    }
}
