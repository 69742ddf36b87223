//! `lint --fix`: the findings' fixes as minimal edits of the author's bytes.
//!
//! A fix is a mutation from the catalog, made with the same lossless editor `iterate
//! --apply` uses, so both write the same minimal diffs. A step is kept only when:
//! - the editor made it in place (a fix that would need the file re-serialised — an edit
//!   through an anchor, a merge key or a flow collection — is reported, not made);
//! - every byte it changes lies inside an entry one of its findings points at (so a
//!   suppressed or turned-off site, or a comment elsewhere, is never touched);
//! - the result adds no lint error.
//!
//! Validation with `compose config` is the caller's: it needs the engine's CLI.

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Serialize;

use super::finding::{Finding, Level};
use super::run::{Options, lint_with};
use crate::compose::ComposeFile;
use crate::mutate::{self, ImageFacts, Rendering};

/// One replacement in a text: bytes `start..end` become `text`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub text: String,
}

/// The fix of one finding: the edits of the file that belong to it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Fix {
    pub mutation: &'static str,
    pub description: String,
    pub edits: Vec<Edit>,
}

/// A fix that was not made, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    pub mutation: &'static str,
    pub reason: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FixPlan {
    /// The fixed text (the original when nothing could be fixed).
    pub text: String,
    /// The mutations made, with their reasons, in order.
    pub applied: Vec<(&'static str, String)>,
    pub skipped: Vec<Skipped>,
    /// Every edit, on the original bytes, in order; nothing outside them changed.
    pub edits: Vec<Edit>,
    /// By finding fingerprint: the edits that fix it.
    pub fixes: BTreeMap<String, Fix>,
    /// The byte ranges of the original text the fixes were allowed to touch.
    pub allowed: Vec<Range<usize>>,
}

impl FixPlan {
    pub fn changed(&self) -> bool {
        !self.edits.is_empty()
    }
}

/// Plans the fixes of `file`'s findings (as `lint_with(file, opts)` reports them).
pub fn plan(file: &ComposeFile, opts: &Options) -> FixPlan {
    let original = lint_with(file, opts);
    let mut current = file.clone();
    let mut findings = original.clone();
    let mut out = FixPlan {
        allowed: sites_of(&file.text, original.iter().filter(|f| f.mutation.is_some())),
        ..FixPlan::default()
    };
    let facts = ImageFacts::default();
    for info in mutate::catalog() {
        let id = info.id;
        let sites = sites_of(
            &current.text,
            findings.iter().filter(|f| f.mutation == Some(id)),
        );
        if sites.is_empty() {
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

/// An entry's span grown to whole lines, and over the blank lines after it (removing a
/// key removes the blank line that set it apart).
pub fn widen(text: &str, span: Range<usize>) -> Range<usize> {
    let start = text[..span.start.min(text.len())]
        .rfind('\n')
        .map_or(0, |i| i + 1);
    let mut end = span.end.min(text.len());
    if end > 0 && text.as_bytes()[end - 1] != b'\n' {
        end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    }
    while end < text.len() {
        let next = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
        if text[end..next].trim().is_empty() {
            end = next;
        } else {
            break;
        }
    }
    start..end
}

/// Overlapping or touching ranges joined: one diff hunk may cover two neighbouring sites.
fn union(mut ranges: Vec<Range<usize>>) -> Vec<Range<usize>> {
    ranges.sort_by_key(|r| (r.start, r.end));
    let mut out: Vec<Range<usize>> = Vec::new();
    for r in ranges {
        match out.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => out.push(r),
        }
    }
    out
}

/// Whether the edit lies wholly inside one of `sites`.
pub fn inside(e: &Edit, sites: &[Range<usize>]) -> bool {
    sites.iter().any(|s| s.start <= e.start && e.end <= s.end)
}

/// The line-level differences of two texts as replacements on the first.
pub fn edits(old: &str, new: &str) -> Vec<Edit> {
    let diff = similar::TextDiff::from_lines(old, new);
    let old_lines = line_starts(old);
    let new_lines = line_starts(new);
    let mut out = Vec::new();
    for op in diff.ops() {
        if op.tag() == similar::DiffTag::Equal {
            continue;
        }
        let (o, n) = (op.old_range(), op.new_range());
        out.push(Edit {
            start: old_lines[o.start],
            end: old_lines[o.end],
            text: new[new_lines[n.start]..new_lines[n.end]].to_string(),
        });
    }
    out
}

/// Byte offset of every line start, and the text's length as the end of the last line.
fn line_starts(text: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        text.match_indices('\n')
            .map(|(i, _)| i + 1)
            .filter(|&i| i < text.len()),
    );
    starts.push(text.len());
    starts
}

/// `text` with `edits` (sorted, not overlapping) made.
pub fn apply_edits(text: &str, edits: &[Edit]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> ComposeFile {
        ComposeFile::parse("t.yml", text, 1).unwrap()
    }

    const SEEDISH: &str = "# keep me\nversion: '3.8'\n\nservices:\n  api:\n    image: x:1   # pinned\n    container_name: api_1\n    restart: unless-stopped\n    ports:\n      - \"8001:8000\"   # the API\n    environment:\n      KEY: ${KEY}\n      'QUOTED': \"as written\"\n";

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
        assert!(plan.text.contains("\"127.0.0.1::8000\""), "{}", plan.text);
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
        let text = "x-ports: &ports\n  - \"8001:8000\"\nservices:\n  a:\n    image: x:1\n    ports: *ports\n";
        let plan = plan(&file(text), &Options::default());
        assert!(
            plan.text
                .starts_with("x-ports: &ports\n  - \"8001:8000\"\n"),
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
                "( {0,6})(services|ports|image|- |container_name|version|environment|restart|networks|name|<<|&a|\\*a)(: )?(\\[|\\{|\"|x|8001:8000|\\$\\{A\\}|1)?",
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
                0 => "    ports:\n      - 8001:8000\n",
                1 => "    ports: [\"8001:8000\", 9000]\n",
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
    fn widen_takes_whole_lines_and_trailing_blank_lines() {
        let t = "a: 1\nb: 2\n\n\nc: 3\n";
        assert_eq!(&t[widen(t, 5..9)], "b: 2\n\n\n");
        assert_eq!(&t[widen(t, 0..4)], "a: 1\n");
    }
}
