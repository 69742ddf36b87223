//! `lint --fix`: the findings' fixes as minimal edits of the author's bytes.
//!
//! A fix is a mutation from the catalog, made with the same lossless editor `iterate
//! --apply` uses, so both write the same minimal diffs. A step is kept only when:
//! - the editor made it in place (a fix that would need the file re-serialised — an edit
//!   through an anchor, a merge key or a flow collection — is reported, not made);
//! - every byte it changes lies inside an entry one of its findings points at (so a
//!   suppressed or turned-off site, or a comment elsewhere, is never touched);
//! - the result adds no lint error;
//! - it changes more than timings (`quick-healthcheck` is the author's call: reported).
//!
//! Validation with `compose config` is the caller's: it needs the engine's CLI.

use std::ops::Range;

use crate::compose::ComposeFile;
use crate::lint::fix::{Edit, Fix, FixPlan, Skipped, edits, inside, union, widen};
use crate::lint::{Finding, Level, Options, lint_with};
use crate::mutate::{self, Facts, Rendering};

/// Why `--fix` leaves a mutation that only changes timings to the author.
const AUTHORS_TIMINGS: &str = "it changes the author's healthcheck timings, so it is \
    reported, not made: edit them as the message says, or let `iterate` propose it for a \
    task whose protocol block raises the rule (`lint: {errors: [slow-healthcheck]}`)";

/// Plans the fixes of `file`'s findings (as `lint_with(file, opts)` reports them).
pub fn plan(file: &ComposeFile, opts: &Options) -> FixPlan {
    let original = lint_with(file, opts);
    let mut current = file.clone();
    let mut findings = original.clone();
    let mut out = FixPlan {
        allowed: sites_of(&file.text, original.iter().filter(|f| f.mutation.is_some())),
        ..FixPlan::default()
    };
    let facts = Facts::default();
    for info in mutate::catalog() {
        let id = info.id;
        let sites = sites_of(
            &current.text,
            findings.iter().filter(|f| f.mutation == Some(id)),
        );
        if sites.is_empty() {
            continue;
        }
        if mutate::quickens(id) {
            out.skipped.push(Skipped {
                mutation: id,
                reason: AUTHORS_TIMINGS.to_string(),
            });
            continue;
        }
        let (m, how) = match mutate::apply_rendered(id, &current, &facts) {
            Ok(Some(done)) => done,
            Ok(None) => continue,
            Err(e) => {
                out.skipped.push(Skipped {
                    mutation: id,
                    reason: e.to_string(),
                });
                continue;
            }
        };
        let skip = |reason: &str| Skipped {
            mutation: id,
            reason: reason.to_string(),
        };
        if how == Rendering::Reserialised {
            out.skipped.push(skip(
                "the edit cannot be made in place (it runs through an anchor, a merge key or \
                 a flow collection), so it is reported, not made",
            ));
            continue;
        }
        let edits = edits(&current.text, &m.yaml);
        if !edits.iter().all(|e| inside(e, &sites)) {
            out.skipped.push(skip(
                "the edit would also change lines no finding of it points at (a suppressed \
                 or turned-off site, or a shared anchor), so it is reported, not made",
            ));
            continue;
        }
        let Ok(next) = ComposeFile::parse(&file.origin, &m.yaml, file.first_line) else {
            out.skipped.push(skip("the edited file no longer loads"));
            continue;
        };
        let after = lint_with(&next, opts);
        if let Some(new) = new_error(&findings, &after) {
            out.skipped.push(Skipped {
                mutation: id,
                reason: format!("the edit would add lint error {} at {}", new.rule, new.path),
            });
            continue;
        }
        out.applied.push((id, m.reason));
        current = next;
        findings = after;
    }
    // A finding the planner could not reach (its node comes through an anchor or a merge
    // key) is still there: say so rather than stay silent.
    for info in mutate::catalog() {
        if out.skipped.iter().any(|s| s.mutation == info.id) {
            continue;
        }
        let left: Vec<String> = findings
            .iter()
            .filter(|f| f.mutation == Some(info.id))
            .map(|f| f.path.clone())
            .collect();
        if !left.is_empty() {
            out.skipped.push(Skipped {
                mutation: info.id,
                reason: format!(
                    "still reported at {}: the node comes through an anchor or a merge key \
                     (or is written in a way the fix does not cover), so it is reported, not \
                     edited",
                    left.join(", ")
                ),
            });
        }
    }
    out.text = current.text.clone();
    out.edits = edits(&file.text, &out.text);
    for f in &original {
        let (Some(id), Some(span)) = (f.mutation, f.span.clone()) else {
            continue;
        };
        let Some((_, reason)) = out.applied.iter().find(|(a, _)| *a == id) else {
            continue;
        };
        let site = widen(&file.text, span);
        let mine: Vec<Edit> = out
            .edits
            .iter()
            .filter(|e| e.start <= site.end && site.start <= e.end)
            .cloned()
            .collect();
        if !mine.is_empty() {
            out.fixes.insert(
                f.fingerprint.clone(),
                Fix {
                    mutation: id,
                    description: reason.clone(),
                    edits: mine,
                },
            );
        }
    }
    out
}

fn new_error<'a>(before: &[Finding], after: &'a [Finding]) -> Option<&'a Finding> {
    after.iter().find(|f| {
        f.level == Level::Error
            && !before
                .iter()
                .any(|b| b.level == Level::Error && b.rule == f.rule && b.path == f.path)
    })
}

/// The entries `findings` point at, as whole lines; neighbours joined; a list they make
/// up entirely grown over its key.
fn sites_of<'a>(text: &str, findings: impl Iterator<Item = &'a Finding>) -> Vec<Range<usize>> {
    let joined = union(
        findings
            .filter_map(|f| f.span.clone().map(|s| widen(text, s)))
            .collect(),
    );
    union(joined.into_iter().map(|r| with_bare_key(text, r)).collect())
}

/// `site` and the `key:` line above it when the site is that key's whole block list: a
/// fix that empties a list removes its key (an empty block list is null, which Compose
/// rejects), and the key holds nothing a finding does not point at.
fn with_bare_key(text: &str, site: Range<usize>) -> Range<usize> {
    let indent = |l: &str| l.len() - l.trim_start().len();
    let Some(before) = site.start.checked_sub(1).map(|end| &text[..end]) else {
        return site;
    };
    let key_start = before.rfind('\n').map_or(0, |i| i + 1);
    let key_line = text[key_start..site.start].trim_end();
    let key = key_line.trim_start();
    let first = text[site.start..].lines().next().unwrap_or_default();
    let bare_key = key.ends_with(':') && !key.starts_with(['-', '#']) && !key.contains(": ");
    if !bare_key || !first.trim_start().starts_with("- ") || indent(first) < indent(key_line) {
        return site;
    }
    let ends_block = text[site.end..].lines().next().is_none_or(|next| {
        indent(next) < indent(first)
            || (indent(next) == indent(first) && !next.trim_start().starts_with('-'))
    });
    if ends_block {
        key_start..site.end
    } else {
        site
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::fix::apply_edits;

    fn file(text: &str) -> ComposeFile {
        ComposeFile::parse("t.yml", text, 1).unwrap()
    }

    const SEEDISH: &str = "# keep me\nversion: '3.8'\n\nservices:\n  api:\n    image: x:1   # pinned\n    container_name: api_1\n    restart: unless-stopped\n    ports:\n      - \"7001:7000\"   # the API\n    environment:\n      KEY: ${KEY}\n      'QUOTED': \"as written\"\n";

    #[test]
    fn fixes_are_minimal_edits_inside_their_findings() {
        let f = file(SEEDISH);
        let plan = plan(&f, &Options::default());
        let ids: Vec<&str> = plan.applied.iter().map(|(id, _)| *id).collect();
        assert_eq!(
            ids,
            vec![
                "engine-assigned-port",
                "drop-container-name",
                "env-default",
                "drop-version-key"
            ]
        );
        assert_eq!(apply_edits(SEEDISH, &plan.edits), plan.text);
        for e in &plan.edits {
            assert!(inside(e, &plan.allowed), "{e:?}");
        }
        for keep in [
            "# keep me",
            "# pinned",
            "# the API",
            "'QUOTED': \"as written\"",
        ] {
            assert!(plan.text.contains(keep), "{keep}\n{}", plan.text);
        }
        assert!(plan.text.contains("\"127.0.0.1::7000\""), "{}", plan.text);
        assert!(plan.text.contains("${KEY:-}"), "{}", plan.text);
        assert!(!plan.text.contains("container_name"));
        assert!(!plan.fixes.is_empty());
        let after = crate::lint::lint(&file(&plan.text));
        assert!(
            after
                .iter()
                .all(|f| f.mutation.is_none() || f.level == Level::Info),
            "{after:#?}"
        );
    }

    #[test]
    fn a_slow_healthcheck_is_reported_not_made_the_timings_are_the_author_s() {
        let text = "services:\n  a:\n    image: x:1\n    restart: unless-stopped\n    healthcheck:\n      test: [CMD, x]\n      interval: 30s\n      retries: 3\n";
        let plan = plan(&file(text), &Options::default());
        assert_eq!(plan.text, text);
        let skipped = plan
            .skipped
            .iter()
            .find(|s| s.mutation == "quick-healthcheck")
            .expect("reported");
        assert!(
            skipped.reason.contains("author's healthcheck timings"),
            "{}",
            skipped.reason
        );
    }

    #[test]
    fn a_suppressed_site_is_never_edited() {
        let text = "services:\n  a:\n    image: x:1\n    container_name: a_1  # harness-lint disable-line fixed-container-name\n  b:\n    image: x:1\n    container_name: b_1\n";
        let plan = plan(&file(text), &Options::default());
        assert!(
            plan.applied
                .iter()
                .all(|(id, _)| *id != "drop-container-name")
        );
        assert!(
            plan.text.contains("container_name: a_1") && plan.text.contains("container_name: b_1")
        );
        let skipped = plan
            .skipped
            .iter()
            .find(|s| s.mutation == "drop-container-name")
            .expect("reported");
        assert!(
            skipped.reason.contains("no finding of it points at"),
            "{skipped:?}"
        );
    }

    #[test]
    fn an_edit_through_an_anchor_is_reported_not_made() {
        let text = "x-ports: &ports\n  - \"7001:7000\"\nservices:\n  a:\n    image: x:1\n    ports: *ports\n";
        let plan = plan(&file(text), &Options::default());
        assert!(
            plan.text
                .starts_with("x-ports: &ports\n  - \"7001:7000\"\n"),
            "{}",
            plan.text
        );
        assert!(plan.text.contains("    ports: *ports\n"), "{}", plan.text);
        assert!(
            plan.skipped
                .iter()
                .any(|s| s.mutation == "engine-assigned-port"),
            "{plan:#?}"
        );
    }

    #[test]
    fn an_edit_inside_a_merged_anchor_is_reported_not_made() {
        let text = "x-base: &base\n  container_name: shared   # every service gets it\n  restart: always\nservices:\n  a:\n    <<: *base\n    image: x:1\n";
        let plan = plan(&file(text), &Options::default());
        assert!(
            plan.text
                .contains("container_name: shared   # every service gets it")
        );
        assert!(
            plan.skipped
                .iter()
                .any(|s| s.mutation == "drop-container-name"),
            "{plan:#?}"
        );
        for e in &plan.edits {
            assert!(inside(e, &plan.allowed), "{e:?}");
        }
    }

    proptest::proptest! {
        /// Whatever compose-shaped text comes in, planning its fixes never panics, and the
        /// fixed text is the original with edits only inside the entries of its findings.
        #[test]
        fn fixes_stay_inside_their_findings_on_any_input(
            lines in proptest::collection::vec(
                "( {0,6})(services|ports|image|- |container_name|version|environment|restart|networks|name|<<|&a|\\*a)(: )?(\\[|\\{|\"|x|7001:7000|\\$\\{A\\}|1)?",
                0..24,
            )
        ) {
            let text = lines.join("\n");
            if let Ok(f) = ComposeFile::parse("p.yml", &text, 1) {
                let planned = plan(&f, &Options::default());
                proptest::prop_assert_eq!(apply_edits(&f.text, &planned.edits), planned.text.clone());
                for e in &planned.edits {
                    proptest::prop_assert!(inside(e, &planned.allowed), "{:?}", e);
                }
            }
        }
    }

    /// A service with some of the fixable problems, written in one of several styles.
    fn service(i: usize, bits: u8, style: u8) -> String {
        let mut s = format!("  s{i}:\n    image: x:1\n");
        if bits & 1 != 0 {
            s.push_str(&format!("    container_name: c{i}   # named\n"));
        }
        if bits & 2 != 0 {
            s.push_str(match style % 3 {
                0 => "    ports:\n      - 7001:7000\n",
                1 => "    ports: [\"7001:7000\", 9000]\n",
                _ => "    ports:\n      - target: 80\n        published: 8080\n",
            });
        }
        if bits & 4 != 0 {
            s.push_str("    environment:\n      A: ${A}\n      B: \"${B:?set B}\"\n");
        }
        if bits & 8 != 0 {
            s.push_str("    restart: \"no\"\n");
        }
        if bits & 16 != 0 {
            s.push_str("    <<: *base\n");
        }
        s
    }

    proptest::proptest! {
        /// Files built from fixable problems in assorted styles, anchors included: every
        /// edit lies inside an entry a finding points at, and the result parses.
        #[test]
        fn fixes_stay_inside_their_findings_on_generated_files(
            services in proptest::collection::vec((0u8..32, 0u8..3), 1..5),
            version in proptest::bool::ANY,
        ) {
            let mut text = String::from("x-base: &base\n  container_name: shared\n  restart: always\n");
            if version {
                text.push_str("version: '3.8'\n\n");
            }
            text.push_str("services:\n");
            for (i, (bits, style)) in services.iter().enumerate() {
                text.push_str(&service(i, *bits, *style));
            }
            let f = ComposeFile::parse("p.yml", &text, 1).expect("generated file parses");
            let planned = plan(&f, &Options::default());
            proptest::prop_assert_eq!(apply_edits(&f.text, &planned.edits), planned.text.clone());
            for e in &planned.edits {
                proptest::prop_assert!(inside(e, &planned.allowed), "{:?} in\n{}", e, text);
            }
            proptest::prop_assert!(ComposeFile::parse("p.yml", &planned.text, 1).is_ok());
            proptest::prop_assert!(planned.text.contains("x-base: &base\n  container_name: shared\n"));
        }
    }

    #[test]
    fn every_mutation_lint_names_is_in_the_catalog() {
        for rule in crate::lint::rules() {
            if let Some(m) = rule.mutation {
                let info = mutate::catalog().iter().find(|i| i.id == m);
                assert!(
                    info.is_some_and(|i| i.lint_rules.contains(&rule.id)),
                    "{}",
                    rule.id
                );
            }
        }
    }
}
