//! Behaviour of the public API on realistic documents.

use std::path::{Path, PathBuf};

use super::fixture::{PATH, SEED, UUID1, UUID2, parse, parse_err, update};
use super::{HistoryRow, Metrics, Prompt, TableProblem, TaskError};

/// 0-based index of the first line containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    match text.lines().position(|l| l.contains(needle)) {
        Some(i) => i,
        None => panic!("no line contains {needle:?}"),
    }
}

fn line(text: &str, index: usize) -> &str {
    text.split_inclusive('\n').nth(index).unwrap_or_default()
}

/// Every line of `old` not listed in `changed` is byte-identical in `new`,
/// after removing the line `new` gained at `inserted` (if any).
fn assert_only_changed(old: &str, new: &str, changed: &[usize], inserted: Option<usize>) {
    let old_lines: Vec<&str> = old.split_inclusive('\n').collect();
    let mut new_lines: Vec<&str> = new.split_inclusive('\n').collect();
    if let Some(i) = inserted {
        new_lines.remove(i);
    }
    assert_eq!(old_lines.len(), new_lines.len(), "line count");
    for (i, (a, b)) in old_lines.iter().zip(&new_lines).enumerate() {
        if changed.contains(&i) {
            assert_ne!(a, b, "line {} was expected to change", i + 1);
        } else {
            assert_eq!(a, b, "line {} must be untouched", i + 1);
        }
    }
}

fn seed_with(from: &str, to: &str) -> String {
    assert!(SEED.contains(from), "fixture lacks {from:?}");
    SEED.replacen(from, to, 1)
}

fn crlf(text: &str) -> String {
    text.replace('\n', "\r\n")
}

// ---- reading ----

#[test]
fn seed_reads_name_metrics_history_and_config() {
    let p = parse(SEED);
    assert_eq!(p.name(), "docker_compose_dynamic");
    assert_eq!(p.path(), Path::new(PATH));
    assert_eq!(p.text(), SEED);
    assert_eq!(
        p.metrics(),
        Metrics {
            successes: 0,
            failures: 0,
            last_updated: "2025-07-08 18:41:00".into(),
            last_uuid: None,
        }
    );
    assert_eq!(
        p.history(),
        [HistoryRow::new(
            "v1",
            "Initial implementation with dynamic ports",
            "TBD",
            "TBD"
        )]
    );
    let yaml = p.config_yaml();
    assert!(
        yaml.starts_with("# docker-compose.dynamic.yml\nversion: '3.8'\n"),
        "{yaml}"
    );
    assert!(
        yaml.ends_with("      - \"${API_PORT:-9000}:${API_PORT:-9000}\"\n"),
        "{yaml}"
    );
    assert!(!yaml.contains("```"));
    assert_eq!(
        p.config_line(),
        line_of(SEED, "# docker-compose.dynamic.yml") + 1
    );
}

#[test]
fn yml_and_tilde_fences_are_accepted() {
    for (open, close) in [
        ("```yml", "```"),
        ("~~~yaml", "~~~"),
        ("````YAML title=x", "````"),
    ] {
        let doc = seed_with("```yaml\n# docker", &format!("{open}\n# docker")).replacen(
            "${API_PORT:-9000}\"\n```",
            &format!("${{API_PORT:-9000}}\"\n{close}"),
            1,
        );
        let p = parse(&doc);
        assert!(
            p.config_yaml()
                .starts_with("# docker-compose.dynamic.yml\n"),
            "{open}"
        );
    }
}

#[test]
fn yaml_among_other_fences_and_nested_examples() {
    let doc = "```bash\necho hi\n```\n\n````markdown\n```yaml\nnot: me\n```\n````\n\n```yaml\nreal: 1\n```\n\n```json\n{}\n```\n";
    let doc = format!("{doc}{}", metrics_section());
    let p = parse(&doc);
    assert_eq!(p.config_yaml(), "real: 1\n");
    assert_eq!(p.config_line(), 12);
}

#[test]
fn indented_yaml_fences_are_not_the_config() {
    // 2-space (list item) and 4-space (indented code) yaml blocks around the real one.
    let doc = format!(
        "1. example:\n\n  ```yaml\n  a: 1\n  ```\n\n    ```yaml\n    b: 2\n    ```\n\n```yaml\nc: 3\n```\n{}",
        metrics_section()
    );
    assert_eq!(parse(&doc).config_yaml(), "c: 3\n");
}

#[test]
fn empty_config_block_is_allowed() {
    let doc = format!("```yaml\n```\n{}", metrics_section());
    let p = parse(&doc);
    assert_eq!((p.config_yaml(), p.config_line()), ("", 2));
}

fn metrics_section() -> &'static str {
    "- **Success/Failure Ratio**: 3:1 (Target: 10:1 to graduate)\n- **Last Updated**: now\n- **Last UUID**: `3f1c9a52-8d7e-4b6a-9c0f-1e2d3c4b5a69`\n- **Evolution History**:\n  | Version | Change & Reason | Result | UUID |\n  | :-- | :-- | :-- | :-- |\n"
}

#[test]
fn minimal_document_reads_real_last_uuid_and_empty_table() {
    let doc = format!("```yaml\nx: 1\n```\n{}", metrics_section());
    let p = parse(&doc);
    assert_eq!(p.metrics().successes, 3);
    assert_eq!(p.metrics().failures, 1);
    assert_eq!(p.metrics().last_uuid.as_deref(), Some(UUID1));
    assert!(p.history().is_empty());
}

// ---- errors ----

#[test]
fn error_no_yaml_block() {
    let doc = format!("```text\nx: 1\n```\n{}", metrics_section());
    assert_eq!(
        parse_err(&doc),
        "prompts/docker_compose_dynamic.md: no ```yaml block found — the task's candidate compose config must be in exactly one fenced ```yaml block"
    );
}

#[test]
fn error_no_yaml_block_hints_at_indented_one() {
    let doc = format!("- x\n  ```yaml\n  a: 1\n  ```\n{}", metrics_section());
    let msg = parse_err(&doc);
    assert!(
        msg.contains("the ```yaml fence at line 2 is indented"),
        "{msg}"
    );
}

#[test]
fn error_second_yaml_block() {
    let doc = seed_with("```python\nimport socket", "```yaml\nimport socket");
    let first = line_of(SEED, "# docker-compose.dynamic.yml");
    let second = line_of(SEED, "```python") + 1;
    assert_eq!(
        parse_err(&doc),
        format!(
            "prompts/docker_compose_dynamic.md:{second}: second ```yaml block (first at line {first}) — keep exactly one candidate config; label examples with another language, e.g. ```text"
        )
    );
}

#[test]
fn error_unterminated_fence() {
    let doc = seed_with(
        "        return s.getsockname()[1]\n```\n",
        "        return s.getsockname()[1]\n",
    );
    let open = line_of(SEED, "```python") + 1;
    assert_eq!(
        parse_err(&doc),
        format!(
            "prompts/docker_compose_dynamic.md:{open}: the fenced block ````python` opened here is never closed — add a line `\u{60}\u{60}\u{60}` after its content"
        )
    );
}

#[test]
fn error_missing_fields_name_field_and_format() {
    let cases = [
        (
            "- **Success/Failure Ratio**: 0:0 (Target: 10:1 to graduate)\n",
            "Success/Failure Ratio",
            "- **Success/Failure Ratio**: 0:0 (Target: 10:1 to graduate)",
        ),
        (
            "- **Last Updated**: 2025-07-08 18:41:00\n",
            "Last Updated",
            "- **Last Updated**: 2025-07-08 18:41:00",
        ),
        (
            "- **Last UUID**: `None - first execution`\n",
            "Last UUID",
            "- **Last UUID**: `None - first execution`",
        ),
        (
            "- **Evolution History**:\n",
            "Evolution History",
            "- **Evolution History**: (followed by the table)",
        ),
    ];
    for (line, field, expected) in cases {
        // Remove every occurrence: a later prose mention must not stand in.
        let doc = SEED
            .replace(line, "")
            .replace("- **Last Updated**: is set", "- is set");
        assert_eq!(
            parse_err(&doc),
            format!(
                "prompts/docker_compose_dynamic.md: missing the `**{field}**` line — add it to the `## 📊 TASK METRICS & HISTORY` section as `{expected}`"
            )
        );
    }
}

#[test]
fn error_field_inside_a_fence_does_not_count() {
    // The ````markdown example also has a ratio line; it must not be used.
    let doc = seed_with(
        "- **Success/Failure Ratio**: 0:0 (Target: 10:1 to graduate)\n",
        "",
    );
    assert!(parse_err(&doc).contains("missing the `**Success/Failure Ratio**` line"));
}

#[test]
fn error_malformed_ratio() {
    let doc = seed_with("**: 0:0 (Target", "**: zero (Target");
    let n = line_of(SEED, "Success/Failure Ratio") + 1;
    assert_eq!(
        parse_err(&doc),
        format!(
            "prompts/docker_compose_dynamic.md:{n}: cannot read `**Success/Failure Ratio**` from `- **Success/Failure Ratio**: zero (Target: 10:1 to graduate)` — write the line as `- **Success/Failure Ratio**: 0:0 (Target: 10:1 to graduate)`"
        )
    );
}

fn table_error(doc: &str) -> (usize, TableProblem) {
    match Prompt::parse(PathBuf::from(PATH), doc.to_string()) {
        Err(TaskError::Table { line, problem, .. }) => (line, problem),
        other => panic!("expected a table error, got {other:?}"),
    }
}

#[test]
fn error_broken_tables() {
    let header = line_of(SEED, "| Version |") + 1;
    let cases = [
        (
            "  | Version | Change & Reason | Result | UUID |\n  | :------ | :-------------- | :----- | :--- |\n  | v1      | Initial implementation with dynamic ports | TBD | TBD |\n",
            "\n",
            header,
            TableProblem::MissingHeader,
        ),
        (
            "| Version | Change & Reason | Result | UUID |",
            "| Version | Change | Result |",
            header,
            TableProblem::HeaderCells(3),
        ),
        (
            "  | :------ | :-------------- | :----- | :--- |\n",
            "",
            header + 1,
            TableProblem::BadSeparator,
        ),
        (
            "  | :------ | :-------------- | :----- | :--- |\n  | v1      | Initial implementation with dynamic ports | TBD | TBD |\n",
            "",
            header + 1,
            TableProblem::MissingSeparator,
        ),
        (
            "| :------ | :-------------- | :----- | :--- |",
            "| :------ | :-------------- | :----- |",
            header + 1,
            TableProblem::BadSeparator,
        ),
        (
            "dynamic ports | TBD | TBD |",
            "dynamic | ports | TBD | TBD |",
            header + 2,
            TableProblem::RowCells(5),
        ),
    ];
    for (from, to, line, problem) in cases {
        assert_eq!(
            table_error(&seed_with(from, to)),
            (line, problem.clone()),
            "{from:?}"
        );
    }
    let msg = parse_err(&seed_with(
        "dynamic ports | TBD | TBD |",
        "dynamic | ports | TBD | TBD |",
    ));
    assert!(
        msg.starts_with(&format!(
            "{PATH}:{}: broken Evolution History table: this row has 5 cells",
            header + 2
        )),
        "{msg}"
    );
    assert!(msg.contains("`\\|`"), "{msg}");
}

#[test]
fn error_bad_file_name() {
    let err = Prompt::parse(PathBuf::from("/"), SEED.to_string());
    assert!(matches!(err, Err(TaskError::BadFileName { .. })), "{err:?}");
}

#[test]
fn error_load_missing_and_not_utf8() {
    let dir = TempDir::new("load");
    let missing = dir.path().join("nope.md");
    let msg = Prompt::load(&missing)
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        msg.starts_with(&format!(
            "{}: cannot read the task prompt:",
            missing.display()
        )),
        "{msg}"
    );

    let bad = dir.path().join("bad.md");
    std::fs::write(&bad, b"# t\nok\n\xff\xfe\n").expect("write");
    match Prompt::load(&bad) {
        Err(
            e @ TaskError::NotUtf8 {
                line: 3, offset: 7, ..
            },
        ) => {
            assert!(e.to_string().contains("re-save the file as UTF-8"), "{e}")
        }
        other => panic!("expected NotUtf8, got {other:?}"),
    }
}

#[test]
fn load_reads_a_valid_file() {
    let dir = TempDir::new("ok");
    let file = dir.path().join("docker_compose_dynamic.md");
    std::fs::write(&file, SEED).expect("write");
    let p = Prompt::load(&file).expect("load");
    assert_eq!((p.name(), p.text()), ("docker_compose_dynamic", SEED));
}

#[test]
fn error_record_run_rejects_non_uuid() {
    let err = parse(SEED).record_run(&update(1, "v1", "x", "not-a-uuid"));
    assert!(matches!(err, Err(TaskError::InvalidUuid { .. })), "{err:?}");
}

// ---- record_run ----

#[test]
fn record_run_replaces_tbd_row_then_appends() {
    let p = parse(SEED);
    let first = p
        .record_run(&update(
            1,
            "v1",
            "Initial implementation with dynamic ports",
            UUID1,
        ))
        .expect("first run");
    let at = |needle| line_of(SEED, needle);
    let changed = [
        at("**Execution UUID**"),
        at("**Success/Failure Ratio**"),
        at("**Last Updated**"),
        at("**Last UUID**"),
        at("| v1 "),
    ];
    assert_only_changed(SEED, &first, &changed, None);
    let expect_lines = [
        format!("**Execution UUID**: `{UUID1}`\n"),
        "- **Success/Failure Ratio**: 1:0 (Target: 10:1 to graduate)\n".to_string(),
        "- **Last Updated**: 2025-07-09 10:00:00\n".to_string(),
        format!("- **Last UUID**: `{UUID1}`\n"),
        format!("  | v1 | Initial implementation with dynamic ports | ✅ Success | {UUID1} |\n"),
    ];
    for (i, expected) in changed.iter().zip(&expect_lines) {
        assert_eq!(line(&first, *i), expected);
    }

    let p = parse(&first);
    assert_eq!(p.text(), first, "output parses and is kept verbatim");
    let mut second_update = update(1, "v2", "Wait for healthchecks", UUID2);
    second_update.failures = 1;
    second_update.last_updated = "2025-07-10 08:30:00".into();
    let second = p.record_run(&second_update).expect("second run");
    let row = at("| v1 ");
    assert_only_changed(&first, &second, &changed[..4], Some(row + 1));
    assert_eq!(
        line(&second, row + 1),
        format!("  | v2 | Wait for healthchecks | ✅ Success | {UUID2} |\n")
    );
    assert_eq!(
        line(&second, at("Ratio**")),
        "- **Success/Failure Ratio**: 1:1 (Target: 10:1 to graduate)\n"
    );

    let p = parse(&second);
    assert_eq!(p.history().len(), 2);
    assert_eq!(p.metrics().last_uuid.as_deref(), Some(UUID2));
}

#[test]
fn record_run_appends_when_tbd_row_is_another_version() {
    let out = parse(SEED)
        .record_run(&update(1, "v2", "new", UUID1))
        .expect("run");
    let rows = parse(&out).history().to_vec();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].result, "TBD");
    assert_eq!(rows[1], HistoryRow::new("v2", "new", "✅ Success", UUID1));
}

#[test]
fn record_run_preserves_crlf() {
    let doc = crlf(SEED);
    let first = parse(&doc)
        .record_run(&update(1, "v1", "x", UUID1))
        .expect("first");
    let second = parse(&first)
        .record_run(&update(2, "v2", "y", UUID2))
        .expect("second");
    assert!(
        !second.replace("\r\n", "").contains('\n'),
        "no bare LF introduced"
    );
    let lf_second = parse(SEED)
        .record_run(&update(1, "v1", "x", UUID1))
        .and_then(|t| parse(&t).record_run(&update(2, "v2", "y", UUID2)))
        .expect("lf runs");
    assert_eq!(second, crlf(&lf_second));
}

#[test]
fn record_run_escapes_pipes_and_strips_newlines() {
    let mut u = update(1, "v1|a", "use a | b\nand\r\nc \\| d", UUID1);
    u.row.result = "❌ Failure\n(timeout)".into();
    u.last_updated = "2025-07-09\n10:00".into();
    let out = parse(SEED).record_run(&u).expect("run");
    let row = line_of(&out, "use a");
    assert_eq!(
        line(&out, row - 1),
        "  | v1      | Initial implementation with dynamic ports | TBD | TBD |\n",
        "a different version leaves the TBD row alone"
    );
    assert_eq!(
        line(&out, row),
        format!("  | v1\\|a | use a \\| b and  c \\\\| d | ❌ Failure (timeout) | {UUID1} |\n")
    );
    assert!(out.contains("- **Last Updated**: 2025-07-09 10:00\n"));
    let back = parse(&out);
    assert_eq!(
        back.history()[1],
        HistoryRow::new(
            "v1|a",
            "use a | b and  c \\| d",
            "❌ Failure (timeout)",
            UUID1
        )
    );
}

#[test]
fn record_run_without_trailing_newline_or_rows() {
    let doc = format!("```yaml\nx: 1\n```\n{}", metrics_section());
    let doc = doc.trim_end_matches('\n');
    let out = parse(doc)
        .record_run(&update(4, "v1", "first", UUID2))
        .expect("run");
    assert!(out.starts_with("```yaml\nx: 1\n```\n- **Success/Failure Ratio**: 4:0 (Target"));
    assert!(
        out.ends_with(&format!(
            "  | :-- | :-- | :-- | :-- |\n  | v1 | first | ✅ Success | {UUID2} |"
        )),
        "{out}"
    );
    assert_eq!(parse(&out).history().len(), 1);
}

#[test]
fn record_run_adds_backticks_and_skips_missing_execution_uuid() {
    let doc = seed_with(
        "- **Last UUID**: `None - first execution`",
        "- **Last UUID**:",
    )
    .replace("**Execution UUID**: `[GENERATE WITH uuid.uuid4()]`\n", "");
    let out = parse(&doc)
        .record_run(&update(1, "v1", "x", &UUID1.to_uppercase()))
        .expect("run");
    assert!(
        out.contains(&format!("- **Last UUID**: `{UUID1}`\n")),
        "uuid normalised, in backticks"
    );
    assert!(!out.contains("Execution UUID"));
}

// ---- replace_config ----

#[test]
fn replace_config_keeps_everything_else() {
    let p = parse(SEED);
    let yaml = "services:\n  web:\n    image: nginx\n";
    let out = p.replace_config(yaml).expect("replace");
    let start = SEED.find("# docker-compose.dynamic.yml").expect("start");
    let end = start + p.config_yaml().len();
    let new_end = start + yaml.len();
    assert_eq!(&out[..start], &SEED[..start]);
    assert_eq!(&out[new_end..], &SEED[end..]);
    let back = parse(&out);
    assert_eq!(
        (back.config_yaml(), back.config_line()),
        (yaml, p.config_line())
    );
}

#[test]
fn replace_config_adds_final_newline_and_uses_file_line_endings() {
    let doc = crlf(SEED);
    let out = parse(&doc).replace_config("a: 1\nb: 2").expect("replace");
    assert_eq!(parse(&out).config_yaml(), "a: 1\r\nb: 2\r\n");
    assert!(!out.replace("\r\n", "").contains('\n'));
}

#[test]
fn replace_config_rejects_a_closing_fence() {
    let p = parse(SEED);
    match p.replace_config("a: |\n  x\n```\n") {
        Err(e @ TaskError::ConfigClosesFence { .. }) => {
            let n = p.config_line() + 2;
            assert!(e.to_string().starts_with(&format!("{PATH}:{n}: ")), "{e}");
        }
        other => panic!("expected ConfigClosesFence, got {other:?}"),
    }
    assert!(
        p.replace_config("a: |\n    ```\n").is_ok(),
        "indented backticks are content"
    );
}

#[test]
fn output_is_idempotent() {
    let p = parse(SEED);
    assert_eq!(p.replace_config(p.config_yaml()).expect("same"), SEED);
    let out = p.record_run(&update(1, "v1", "x", UUID1)).expect("run");
    let again = parse(&out);
    assert_eq!(again.text(), out);
    assert_eq!(
        again.replace_config(again.config_yaml()).expect("same"),
        out
    );
}

// ---- save ----

#[test]
fn save_replaces_atomically_and_keeps_permissions() {
    use std::os::unix::fs::PermissionsExt;
    let dir = TempDir::new("save");
    let file = dir.path().join("p.md");
    std::fs::write(&file, "old").expect("write");
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    Prompt::save(&file, "new ✅").expect("save");
    assert_eq!(std::fs::read_to_string(&file).expect("read"), "new ✅");
    let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
    assert_eq!(mode & 0o777, 0o640);
    let entries: Vec<_> = std::fs::read_dir(dir.path()).expect("ls").collect();
    assert_eq!(entries.len(), 1, "temp file cleaned up");
}

#[test]
fn save_writes_through_symlinks_and_reports_errors() {
    let dir = TempDir::new("link");
    let real = dir.path().join("real.md");
    let link = dir.path().join("link.md");
    std::fs::write(&real, "old").expect("write");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    Prompt::save(&link, "new").expect("save");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("meta")
            .file_type()
            .is_symlink()
    );
    assert_eq!(std::fs::read_to_string(&real).expect("read"), "new");

    let nowhere = dir.path().join("missing-dir").join("p.md");
    match Prompt::save(&nowhere, "x") {
        Err(e @ TaskError::Write { .. }) => {
            assert!(
                e.to_string()
                    .starts_with(&format!("{}: cannot save", nowhere.display()))
            )
        }
        other => panic!("expected Write error, got {other:?}"),
    }
}

/// Minimal temp dir (the crate has no tempfile dependency here).
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("task-test-{tag}-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("mkdir");
        TempDir(dir)
    }

    fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- the protocol block ----

#[test]
fn the_protocol_block_survives_every_rewrite() {
    // The shipped prompt, as `run` records into it and `iterate --apply` rewrites it.
    let shipped = std::fs::read_to_string("prompts/docker_compose_dynamic.md").expect("read");
    let block = |text: &str| {
        let p = parse(text);
        let (content, line) = p.protocol_block().expect("a protocol block");
        (content.to_string(), line)
    };
    let (original, _) = block(&shipped);
    assert!(original.contains("apps:"), "{original}");
    let recorded = parse(&shipped)
        .record_run(&update(1, "v1", "first", UUID1))
        .expect("record");
    let applied = parse(&recorded)
        .replace_config("services:\n  web:\n    image: nginx\n")
        .expect("apply");
    let appended = parse(&applied)
        .record_run(&update(1, "v2", "second", UUID2))
        .expect("record again");
    for text in [&recorded, &applied, &appended] {
        assert_eq!(block(text).0, original);
    }
    assert_eq!(parse(&appended).history().len(), 2);
    assert_eq!(
        parse(&appended).config_yaml(),
        "services:\n  web:\n    image: nginx\n"
    );
}

#[test]
fn a_prompt_without_a_protocol_block_has_none() {
    assert!(parse(SEED).protocol_block().is_none());
}

#[test]
fn error_second_protocol_block() {
    let one = "```harness-protocol\napps: []\n```\n";
    let doc = seed_with(
        "### Verification",
        &format!("{one}\n{one}\n### Verification"),
    );
    let first = line_of(&doc, "```harness-protocol") + 1;
    let err = parse_err(&doc);
    assert!(
        err.contains(&format!(
            ":{}: second ```harness-protocol block (first at line {first})",
            first + 4
        )),
        "{err}"
    );
}
