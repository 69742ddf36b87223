//! Health: wait for a dependency to be healthy, replace a healthcheck test its image
//! cannot run with the image's own (keeping the author's timings), and — where the task
//! asks for it — make a slow check quick with the same patience.

use serde_yaml_ng::{Mapping, Value};

use super::apply::{Plan, list};
use super::edit::{Op, Seg, child};
use super::tree::{self, Health, Service};
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::duration::seconds;
use crate::compose::healthcheck::{SUGGESTED_INTERVAL, Test, healthcheck};
use crate::compose::{duration, interp};

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
        let Some(broken) = broken_check(&svc, facts) else {
            continue;
        };
        let at = svc.at("healthcheck").to_vec();
        ops.push(Op::SetFlow {
            at: at.clone(),
            key: "test".to_string(),
            value: Value::Sequence(broken.own.iter().cloned().map(Value::String).collect()),
        });
        let timings = timings(&svc);
        for t in &timings {
            if let Timing::Dropped { key, .. } = t {
                ops.push(Op::Remove {
                    at: child(&at, Seg::key(key)),
                });
            }
        }
        sites.push(format!("{}{}.", broken.sentence, keeps(&timings)));
    }
    Plan::of(ops, || sites.join(" "))
}

/// Every healthcheck whose interval lint's `slow-healthcheck` prices gets the interval it
/// suggests and the retries that keep its patience. The catalog offers it only as the fix
/// of that rule's error, which a task's block has to ask for: by default the author's
/// timings stay. An interval or retries written with a variable is the author's knob and
/// stays too.
pub(crate) fn quick_healthcheck(file: &ComposeFile, _facts: &Facts) -> Option<Plan> {
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in tree::services(&file.doc) {
        let Some(hc) = healthcheck(&svc) else {
            continue;
        };
        let written = |v: &Option<String>| v.clone().unwrap_or_default();
        let (interval, retries) = (written(&hc.interval), written(&hc.retries));
        if interval.contains('$') || retries.contains('$') {
            continue;
        }
        let Some(quick) = hc.quicker() else {
            continue;
        };
        let at = svc.at("healthcheck").to_vec();
        let set = |key: &str, value: Value| Op::Set {
            at: at.clone(),
            key: key.to_string(),
            value,
        };
        ops.push(set("interval", Value::String(seconds(SUGGESTED_INTERVAL))));
        ops.push(set("retries", Value::Number(quick.retries.into())));
        let retries = match quick.default_retries {
            true => "Docker's default 3 retries".to_string(),
            false => format!("retries {retries}"),
        };
        sites.push(format!(
            "`{}`'s healthcheck: interval {interval} → {}, {retries} → {}, the same {} \
             before it is unhealthy; Docker runs the first check one interval after start, \
             so every deploy waited ≥ {interval} for it.",
            svc.name,
            seconds(SUGGESTED_INTERVAL),
            quick.retries,
            seconds(quick.patience),
        ));
    }
    Plan::of(ops, || sites.join(" "))
}

struct Broken {
    /// Why the check cannot pass, and what takes its place.
    sentence: String,
    /// The image's own check, in exec form.
    own: Vec<String>,
}

/// Why the service's healthcheck cannot run in its image, if it cannot and the image has
/// an exec-form check of its own to put in its place (a `CMD-SHELL` one could not run
/// either).
fn broken_check(svc: &Service<'_>, facts: &Facts) -> Option<Broken> {
    let own = image_test(svc, facts).filter(|t| t.first().is_some_and(|w| w == "CMD"))?;
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
    let sentence = format!(
        "Replace `{}`'s healthcheck test: it runs `{command}` {why}, but {image} has no \
         shell (nor curl or wget), so the check can never pass; the image's own check `{}` \
         takes its place",
        svc.name,
        shown(&own)
    );
    Some(Broken { sentence, own })
}

/// The healthcheck fields that say when and how often to check, in the order a reason
/// names them.
const TIMINGS: [&str; 5] = [
    "interval",
    "timeout",
    "retries",
    "start_period",
    "start_interval",
];

enum Timing {
    /// Valid, or interpolated (`${X:-5s}`): as the author wrote it.
    Kept { key: &'static str, written: String },
    /// Neither Compose nor the engine would take it as written.
    Dropped {
        key: &'static str,
        written: String,
        why: &'static str,
    },
}

fn timings(svc: &Service<'_>) -> Vec<Timing> {
    let Some(hc) = tree::get_map(svc.body, "healthcheck") else {
        return Vec::new();
    };
    TIMINGS
        .iter()
        .filter_map(|key| tree::get(hc, key).map(|v| timing(key, v)))
        .collect()
}

fn timing(key: &'static str, v: &Value) -> Timing {
    let written = tree::scalar(v).unwrap_or_else(|| {
        serde_yaml_ng::to_string(v)
            .unwrap_or_default()
            .trim()
            .to_string()
    });
    let why = match v {
        Value::String(s) if s.contains('$') => None,
        _ if key == "retries" => retries_problem(v),
        Value::String(s) => duration_problem(s),
        Value::Number(_) => Some("a number without a unit, which Compose refuses"),
        _ => Some("not a duration"),
    };
    match why {
        None => Timing::Kept { key, written },
        Some(why) => Timing::Dropped { key, written, why },
    }
}

fn retries_problem(v: &Value) -> Option<&'static str> {
    let n = match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        _ => None,
    };
    match n {
        Some(n) if n > 0 => None,
        _ => Some("not a positive whole number"),
    }
}

fn duration_problem(text: &str) -> Option<&'static str> {
    if text.trim_start().starts_with('-') {
        return Some("negative, which the engine refuses");
    }
    match duration::parse(text) {
        None => {
            Some("not a duration Compose reads (a number with a unit: `30s`, `1m30s`, `500ms`)")
        }
        Some(d) if !duration::engine_accepts(d) => Some("under 1ms, which the engine refuses"),
        Some(_) => None,
    }
}

/// What the reason says about the block's timings: what it keeps, what it drops and why.
fn keeps(timings: &[Timing]) -> String {
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for t in timings {
        match t {
            Timing::Kept { key, written } => kept.push(format!("{key} {written}")),
            Timing::Dropped { key, written, why } => {
                dropped.push(format!("`{key}: {written}` ({why})"));
            }
        }
    }
    let mut out = String::new();
    if !kept.is_empty() {
        out = format!("; the block keeps the author's {}", kept.join(", "));
    }
    if !dropped.is_empty() {
        out.push_str(if kept.is_empty() {
            "; the block drops "
        } else {
            " and drops "
        });
        out.push_str(&format!(
            "{}, so the image's own setting (or Docker's default) applies there",
            list(&dropped)
        ));
    }
    if out.is_empty() {
        out.push_str("; the block sets no timings of its own");
    }
    out
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

    const OWN: &str = "test: [\"CMD\", \"/usr/local/bin/executor\", \"healthcheck\"]";

    #[test]
    fn a_shell_test_in_a_shell_less_image_becomes_the_images_own() {
        let text = "services:\n  api:\n    image: harness/executor:local\n    restart: unless-stopped\n    # curl is not in the image\n    healthcheck:\n      test: |\n        curl -f http://localhost:7000/health || exit 1\n      interval: 30s\n      timeout: 10s\n      retries: 3\n    networks:\n      - net\n";
        let m = applied_with(HC, text, &executor_facts(false));
        assert_eq!(
            m.yaml,
            format!(
                "services:\n  api:\n    image: harness/executor:local\n    restart: unless-stopped\n    # curl is not in the image\n    healthcheck:\n      {OWN}\n      interval: 30s\n      timeout: 10s\n      retries: 3\n    networks:\n      - net\n"
            )
        );
        assert_eq!(changed_lines(text, &m.yaml), 2);
        for part in [
            "`curl -f http://localhost:7000/health || exit 1` through /bin/sh",
            "the image's own check `/usr/local/bin/executor healthcheck` takes its place",
            "keeps the author's interval 30s, timeout 10s, retries 3.",
        ] {
            assert!(m.reason.contains(part), "{part}: {}", m.reason);
        }
        assert!(!m.reason.contains("drops"), "{}", m.reason);
    }

    #[test]
    fn curl_as_a_program_is_replaced_too_in_either_list_style() {
        let flow = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test: [\"CMD\", \"curl\", \"-f\", \"http://localhost:7000/health\"]\n";
        let m = applied_with(HC, flow, &executor_facts(false));
        assert_eq!(
            m.yaml,
            format!(
                "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      {OWN}\n"
            )
        );
        assert!(
            m.reason.contains("the block sets no timings of its own"),
            "{}",
            m.reason
        );
        let block = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test:\n        - CMD-SHELL\n        - wget -q http://localhost/\n      retries: 5\n  other:\n    image: x\n";
        let m = applied_with(HC, block, &executor_facts(false));
        let doc: Value = serde_yaml_ng::from_str(&m.yaml).unwrap();
        let hc = &doc["services"]["api"]["healthcheck"];
        assert_eq!(
            hc["test"],
            serde_yaml_ng::from_str::<Value>("[CMD, /usr/local/bin/executor, healthcheck]")
                .unwrap()
        );
        assert_eq!(hc["retries"].as_u64(), Some(5));
        assert!(m.yaml.ends_with("  other:\n    image: x\n"), "{}", m.yaml);
    }

    #[test]
    fn invalid_timings_go_with_their_reason_and_interpolated_ones_stay() {
        let text = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test: curl -f http://localhost/\n      interval: 10us\n      timeout: 30\n      retries: 0\n      start_period: ${START:-5s}\n      start_interval: 1m30s\n";
        let m = applied_with(HC, text, &executor_facts(false));
        assert_eq!(
            m.yaml,
            format!(
                "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      {OWN}\n      start_period: ${{START:-5s}}\n      start_interval: 1m30s\n"
            )
        );
        for part in [
            "keeps the author's start_period ${START:-5s}, start_interval 1m30s",
            "drops `interval: 10us` (under 1ms, which the engine refuses), \
             `timeout: 30` (a number without a unit, which Compose refuses) and `retries: 0` \
             (not a positive whole number), so the image's own setting (or Docker's default) \
             applies there",
        ] {
            assert!(m.reason.contains(part), "{part}: {}", m.reason);
        }
        let odd = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test: curl x\n      interval: -5s\n      timeout: 5 s\n      retries: \"4\"\n";
        let m = applied_with(HC, odd, &executor_facts(false));
        assert_eq!(
            m.yaml,
            format!(
                "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      {OWN}\n      retries: \"4\"\n"
            )
        );
        assert!(
            m.reason.contains("`interval: -5s` (negative"),
            "{}",
            m.reason
        );
        assert!(
            m.reason.contains("`timeout: 5 s` (not a duration"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn an_image_check_that_needs_a_shell_is_no_replacement() {
        let mut facts = executor_facts(false);
        facts.healthcheck.insert(
            "harness/executor:local".into(),
            vec!["CMD-SHELL".into(), "executor healthcheck".into()],
        );
        let text = "services:\n  api:\n    image: harness/executor:local\n    healthcheck:\n      test: curl -f http://localhost/\n";
        not_applicable_with(HC, text, &facts);
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

    const QUICK: &str = "quick-healthcheck";

    #[test]
    fn a_slow_check_gets_a_quick_interval_with_the_same_patience() {
        let text = "services:\n  api:\n    image: a\n    healthcheck:\n      test: [CMD, check]\n      interval: 30s # the author's\n      timeout: 10s\n      retries: 3\n  cache:\n    image: b\n    healthcheck:\n      test: [CMD, ping]\n      interval: 1m\n  quick:\n    image: c\n    healthcheck:\n      test: [CMD, ping]\n      interval: 5s\n";
        let m = applied(QUICK, text);
        assert_eq!(
            m.yaml,
            "services:\n  api:\n    image: a\n    healthcheck:\n      test: [CMD, check]\n      interval: 2s # the author's\n      timeout: 10s\n      retries: 45\n  cache:\n    image: b\n    healthcheck:\n      test: [CMD, ping]\n      interval: 2s\n      retries: 90\n  quick:\n    image: c\n    healthcheck:\n      test: [CMD, ping]\n      interval: 5s\n"
        );
        for part in [
            "`api`'s healthcheck: interval 30s → 2s, retries 3 → 45, the same 90s before it is unhealthy",
            "`cache`'s healthcheck: interval 1m → 2s, Docker's default 3 retries → 90, the same 180s",
        ] {
            assert!(m.reason.contains(part), "{part} in {}", m.reason);
        }
        // What lint's fix says is what the mutation writes.
        let f = ComposeFile::parse("t", text, 1).expect("parses");
        let said: Vec<String> = crate::lint::lint(&f)
            .into_iter()
            .filter(|f| f.rule == "slow-healthcheck")
            .map(|f| f.message)
            .collect();
        assert!(
            said[0].contains("`interval: 2s` with `retries: 45`"),
            "{said:?}"
        );
        assert!(
            said[1].contains("`interval: 2s` with `retries: 90`"),
            "{said:?}"
        );
    }

    #[test]
    fn a_quick_or_variable_or_disabled_check_keeps_its_timings() {
        for hc in [
            "{test: [CMD, x], interval: 5s}",
            "{test: [CMD, x], interval: \"${HC_EVERY:-30s}\"}",
            "{test: [CMD, x], interval: 30s, retries: \"${HC_TRIES:-3}\"}",
            "{test: [CMD, x], interval: 30s, retries: 0}",
            "{test: [NONE], interval: 30s}",
            "{disable: true, interval: 30s}",
            "{test: [CMD, x]}",
        ] {
            not_applicable(
                QUICK,
                &format!("services:\n  api:\n    image: a\n    healthcheck: {hc}\n"),
            );
        }
    }
}
