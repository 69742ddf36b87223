//! Health: wait for a dependency to be healthy, and drop a healthcheck its image cannot
//! run so the image's own applies.

use serde_yaml_ng::{Mapping, Value};

use super::apply::{Plan, list};
use super::edit::{Op, Seg, child};
use super::tree::{self, Health, Service};
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::healthcheck::{Test, healthcheck};
use crate::compose::interp;

const HEALTHY: &str = "service_healthy";

pub(crate) fn depends_on_healthy(file: &ComposeFile, facts: &Facts) -> Option<Plan> {
    let all = tree::services(&file.doc);
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in &all {
        let healthy = |dep: &str| has_health(&all, dep, facts);
        let before = ops.len();
        let deps = match svc.body.get("depends_on") {
            Some(Value::Sequence(items)) => list_form(svc, items, &healthy, &mut ops),
            Some(Value::Mapping(m)) => mapping_form(svc, m, &healthy, &mut ops),
            _ => Vec::new(),
        };
        if ops.len() > before {
            let deps: Vec<String> = deps.iter().map(|d| format!("`{d}`")).collect();
            sites.push(format!("`{}` on {}", svc.name, list(&deps)));
        }
    }
    Plan::of(ops, || {
        format!(
            "Wait for healthy dependencies with `condition: {HEALTHY}` ({}): a plain \
             depends_on waits only until the container has started, so the dependent service \
             races a dependency that is not ready to serve yet.",
            list(&sites)
        )
    })
}

/// The dependency has a healthcheck: in the file, or from its image where the file
/// does not disable it.
fn has_health(all: &[Service<'_>], dep: &str, facts: &Facts) -> bool {
    let Some(target) = all.iter().find(|s| s.name == dep) else {
        return false;
    };
    match tree::health(target.body) {
        Health::Present => true,
        Health::Disabled => false,
        Health::Missing => image_test(target, facts).is_some(),
    }
}

/// `depends_on: [a, b]` becomes a mapping; the dependencies without a healthcheck keep
/// their meaning with `service_started`.
fn list_form(
    svc: &Service<'_>,
    items: &[Value],
    healthy: &dyn Fn(&str) -> bool,
    ops: &mut Vec<Op>,
) -> Vec<String> {
    let names: Option<Vec<String>> = items
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect();
    let Some(names) = names else {
        return Vec::new();
    };
    let fixed: Vec<String> = names.iter().filter(|n| healthy(n)).cloned().collect();
    if fixed.is_empty() {
        return fixed;
    }
    let mut m = Mapping::new();
    for name in &names {
        let condition = if healthy(name) {
            HEALTHY
        } else {
            "service_started"
        };
        m.insert(Value::String(name.clone()), condition_map(condition));
    }
    ops.push(Op::Set {
        at: svc.path.to_vec(),
        key: "depends_on".to_string(),
        value: Value::Mapping(m),
    });
    fixed
}

fn condition_map(condition: &str) -> Value {
    let mut c = Mapping::new();
    c.insert("condition".into(), condition.into());
    Value::Mapping(c)
}

fn mapping_form(
    svc: &Service<'_>,
    deps: &Mapping,
    healthy: &dyn Fn(&str) -> bool,
    ops: &mut Vec<Op>,
) -> Vec<String> {
    let base = svc.at("depends_on").to_vec();
    let mut fixed = Vec::new();
    for (k, v) in deps {
        let Some(name) = tree::key_name(k) else {
            continue;
        };
        if !healthy(name) {
            continue;
        }
        let at = child(&base, Seg::key(name));
        let op = match v {
            Value::Null => Op::Set {
                at: base.clone(),
                key: name.to_string(),
                value: condition_map(HEALTHY),
            },
            Value::Mapping(opts) => match opts.get("condition").and_then(Value::as_str) {
                Some(HEALTHY | "service_completed_successfully") => continue,
                Some(_) => Op::SetStr {
                    at: child(&at, Seg::key("condition")),
                    value: HEALTHY.to_string(),
                    raw: super::edit::RawEdit::Render,
                },
                None => Op::Set {
                    at,
                    key: "condition".to_string(),
                    value: HEALTHY.into(),
                },
            },
            _ => continue,
        };
        ops.push(op);
        fixed.push(name.to_string());
    }
    fixed
}

/// The image's own HEALTHCHECK command, unless it is absent or `NONE`.
fn image_test(svc: &Service<'_>, facts: &Facts) -> Option<Vec<String>> {
    let image = svc.image()?;
    let test = facts
        .healthcheck
        .get(&image)
        .or_else(|| facts.healthcheck.get(&interp::unset_or_as_written(&image)))?;
    match test.first().map(String::as_str) {
        None | Some("NONE") => None,
        _ => Some(test.clone()),
    }
}

fn has_shell(svc: &Service<'_>, facts: &Facts) -> Option<bool> {
    let image = svc.image()?;
    facts
        .has_shell
        .get(&image)
        .or_else(|| facts.has_shell.get(&interp::unset_or_as_written(&image)))
        .copied()
}

pub(crate) fn image_healthcheck(file: &ComposeFile, facts: &Facts) -> Option<Plan> {
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in tree::services(&file.doc) {
        if let Some(site) = broken_check(&svc, facts) {
            ops.push(Op::Remove {
                at: svc.at("healthcheck").to_vec(),
            });
            sites.push(site);
        }
    }
    Plan::of(ops, || {
        format!(
            "{}. Without the block the image's own HEALTHCHECK applies.",
            sites.join("; ")
        )
    })
}

/// Why the service's healthcheck cannot run in its image, if it cannot and the image has
/// a check of its own to fall back on.
fn broken_check(svc: &Service<'_>, facts: &Facts) -> Option<String> {
    let own = image_test(svc, facts)?;
    if has_shell(svc, facts)? {
        return None;
    }
    let hc = healthcheck(svc)?;
    if hc.disabled() {
        return None;
    }
    let (command, why) = match hc.test? {
        Test::Shell(command) => (command, "through /bin/sh"),
        Test::Exec(words) if needs_missing_tool(&words) => (
            words.join(" "),
            "with a program a shell-less image does not have",
        ),
        _ => return None,
    };
    let image = svc.image().unwrap_or_default();
    Some(format!(
        "Remove `{}`'s healthcheck: it runs `{command}` {why}, but {image} has no shell \
         (nor curl or wget), so the check can never pass; the image checks itself with `{}`",
        svc.name,
        shown(&own)
    ))
}

/// Programs only an image with a userland (and so a shell) carries.
fn needs_missing_tool(words: &[String]) -> bool {
    let Some(program) = words.first() else {
        return false;
    };
    let base = program.rsplit('/').next().unwrap_or(program);
    ["curl", "wget", "sh", "bash", "nc"].contains(&base)
}

fn shown(test: &[String]) -> String {
    match test.split_first() {
        Some((first, rest)) if first == "CMD" || first == "CMD-SHELL" => rest.join(" "),
        _ => test.join(" "),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::mutate::tests::{
        applied, applied_with, changed_lines, not_applicable, not_applicable_with,
    };

    const DEP: &str = "depends-on-healthy";
    const HC: &str = "image-healthcheck";

    #[test]
    fn list_form_becomes_conditions() {
        let text = "services:\n  db:\n    image: postgres\n    healthcheck:\n      test: [CMD, pg_isready]\n  cache:\n    image: memcached\n  app:\n    image: app\n    depends_on:\n      - db\n      - cache\n    restart: always\n";
        let m = applied(DEP, text);
        assert_eq!(
            m.yaml,
            "services:\n  db:\n    image: postgres\n    healthcheck:\n      test: [CMD, pg_isready]\n  cache:\n    image: memcached\n  app:\n    image: app\n    depends_on:\n      db:\n        condition: service_healthy\n      cache:\n        condition: service_started\n    restart: always\n"
        );
        assert!(m.reason.contains("`app` on `db`"), "{}", m.reason);
    }

    #[test]
    fn mapping_form_gets_the_condition_in_place() {
        let text = "services:\n  db:\n    healthcheck: {test: [CMD, true]}\n  a:\n    depends_on:\n      db:\n        condition: service_started  # was\n  b:\n    depends_on:\n      db:\n  c:\n    depends_on:\n      db:\n        restart: true\n";
        let m = applied(DEP, text);
        assert_eq!(
            m.yaml,
            "services:\n  db:\n    healthcheck: {test: [CMD, true]}\n  a:\n    depends_on:\n      db:\n        condition: service_healthy  # was\n  b:\n    depends_on:\n      db:\n        condition: service_healthy\n  c:\n    depends_on:\n      db:\n        restart: true\n        condition: service_healthy\n"
        );
    }

    #[test]
    fn an_image_healthcheck_counts_for_the_dependency() {
        let text =
            "services:\n  api:\n    image: harness/executor:local\n  web:\n    depends_on: [api]\n";
        not_applicable(DEP, text);
        let facts = Facts {
            healthcheck: HashMap::from([(
                "harness/executor:local".to_string(),
                vec![
                    "CMD".into(),
                    "/usr/local/bin/executor".into(),
                    "healthcheck".into(),
                ],
            )]),
            ..Facts::default()
        };
        let m = applied_with(DEP, text, &facts);
        assert!(m.yaml.contains("condition: service_healthy"), "{}", m.yaml);
    }

    #[test]
    fn nothing_to_wait_for() {
        not_applicable(
            DEP,
            "services:\n  db:\n    image: x\n  a:\n    depends_on: [db, ghost]\n",
        );
        not_applicable(
            DEP,
            "services:\n  db:\n    healthcheck: {test: [CMD, true]}\n  a:\n    depends_on:\n      db: {condition: service_healthy}\n",
        );
        not_applicable(
            DEP,
            "services:\n  db:\n    healthcheck: {disable: true}\n  a:\n    depends_on: [db]\n",
        );
    }

    fn executor_facts(shell: bool) -> Facts {
        Facts {
            healthcheck: HashMap::from([(
                "harness/executor:local".to_string(),
                vec![
                    "CMD".into(),
                    "/usr/local/bin/executor".into(),
                    "healthcheck".into(),
                ],
            )]),
            has_shell: HashMap::from([("harness/executor:local".to_string(), shell)]),
            ..Facts::default()
        }
    }

    #[test]
    fn a_shell_healthcheck_in_a_shell_less_image_goes() {
        let text = "services:\n  cc_execute:\n    image: harness/executor:local\n    restart: unless-stopped\n    # curl is not in the image\n    healthcheck:\n      test: |\n        curl -f http://localhost:8000/health || exit 1\n      interval: 30s\n    networks:\n      - net\n";
        let m = applied_with(HC, text, &executor_facts(false));
        assert_eq!(
            m.yaml,
            "services:\n  cc_execute:\n    image: harness/executor:local\n    restart: unless-stopped\n    # curl is not in the image\n    networks:\n      - net\n"
        );
        assert_eq!(changed_lines(text, &m.yaml), 4);
        assert!(
            m.reason
                .contains("`curl -f http://localhost:8000/health || exit 1` through /bin/sh"),
            "{}",
            m.reason
        );
        assert!(
            m.reason.contains("/usr/local/bin/executor healthcheck"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn curl_as_a_program_goes_too() {
        let text = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:8000/health\"]\n";
        let m = applied_with(HC, text, &executor_facts(false));
        assert_eq!(
            m.yaml,
            "services:\n  api:\n    image: harness/executor:local\n"
        );
    }

    #[test]
    fn a_check_the_image_can_run_stays() {
        let shell = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test: curl -f http://localhost/\n";
        not_applicable_with(HC, shell, &executor_facts(true));
        not_applicable(HC, shell);
        let own = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test: [CMD, executor, healthcheck]\n";
        not_applicable_with(HC, own, &executor_facts(false));
        let other = "services:\n  api:\n    image: other\n    healthcheck:\n      test: curl x\n";
        not_applicable_with(HC, other, &executor_facts(false));
    }
}
