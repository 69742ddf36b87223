//! No input may panic, and edits on any parseable prompt must pass their own
//! read-back check (an `EditCheck` error would mean a layout bug).

use std::path::PathBuf;

use proptest::prelude::*;
use proptest::sample::Index;

use super::fixture::{SEED, UUID1};
use super::{HistoryRow, Prompt, RunUpdate, TaskError};

/// Markdown-ish fragments so random documents reach the deeper parsers.
fn fragment() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("```yaml\n".to_string()),
        Just("```yml\n".to_string()),
        Just("```\n".to_string()),
        Just("~~~bash\n".to_string()),
        Just("````\n".to_string()),
        Just("   ```yaml\n".to_string()),
        Just("- **Success/Failure Ratio**: 1:2 (x)\n".to_string()),
        Just("- **Success/Failure Ratio**: ".to_string()),
        Just("- **Last Updated**: t\n".to_string()),
        Just("- **Last UUID**: `".to_string()),
        Just("**Execution UUID**: ".to_string()),
        Just("- **Evolution History**:\n".to_string()),
        Just("  | a | b | c | d |\n".to_string()),
        Just("| --- | :-: | --: | - |\n".to_string()),
        Just("| v1 | x | TBD | TBD |".to_string()),
        Just("|".to_string()),
        Just("\\".to_string()),
        Just("`".to_string()),
        Just("\r\n".to_string()),
        Just("\n".to_string()),
        Just("\r".to_string()),
        Just(":".to_string()),
        "[0-9]{1,25}",
        "\\PC{0,6}",
        any::<String>(),
    ]
}

fn markdownish() -> impl Strategy<Value = String> {
    prop::collection::vec(fragment(), 0..40).prop_map(|v| v.concat())
}

#[derive(Debug, Clone)]
enum Mutation {
    Delete(Index),
    Duplicate(Index),
    Insert(Index, String),
    Replace(Index, String),
    Truncate(Index, Index),
    Swap(Index, Index),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Delete),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), fragment()).prop_map(|(i, s)| Mutation::Insert(i, s)),
        (any::<Index>(), fragment()).prop_map(|(i, s)| Mutation::Replace(i, s)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::Truncate(i, j)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::Swap(i, j)),
    ]
}

fn mutate(seed: &str, mutations: &[Mutation]) -> String {
    let mut lines: Vec<String> = seed.split_inclusive('\n').map(str::to_string).collect();
    for m in mutations {
        if lines.is_empty() {
            break;
        }
        let n = lines.len();
        match m {
            Mutation::Delete(i) => {
                lines.remove(i.index(n));
            }
            Mutation::Duplicate(i) => {
                let l = lines[i.index(n)].clone();
                lines.insert(i.index(n), l);
            }
            Mutation::Insert(i, s) => lines.insert(i.index(n), s.clone()),
            Mutation::Replace(i, s) => lines[i.index(n)] = s.clone(),
            Mutation::Truncate(i, at) => {
                let line = &mut lines[i.index(n)];
                let cut = line
                    .char_indices()
                    .map(|(b, _)| b)
                    .nth(at.index(line.chars().count().max(1)));
                if let Some(cut) = cut {
                    line.truncate(cut);
                }
            }
            Mutation::Swap(i, j) => lines.swap(i.index(n), j.index(n)),
        }
    }
    lines.concat()
}

fn run_update() -> impl Strategy<Value = RunUpdate> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<String>(),
        prop_oneof![Just("v1".to_string()), any::<String>()],
        markdownish(),
        any::<String>(),
        any::<String>(),
        any::<u128>(),
    )
        .prop_map(
            |(successes, failures, last_updated, version, change, result, cell_uuid, id)| {
                RunUpdate {
                    successes,
                    failures,
                    last_updated,
                    last_uuid: uuid::Uuid::from_u128(id).to_string(),
                    row: HistoryRow::new(version, change, result, cell_uuid),
                }
            },
        )
}

/// Exercises every entry point; only `EditCheck` (a bug) is a failure.
fn exercise(text: String, update: &RunUpdate, yaml: &str) -> Result<(), TestCaseError> {
    let Ok(prompt) = Prompt::parse(PathBuf::from("prompts/fuzz.md"), text) else {
        return Ok(());
    };
    let _ = (
        prompt.metrics(),
        prompt.history(),
        prompt.config_yaml(),
        prompt.config_line(),
    );
    for result in [prompt.record_run(update), prompt.replace_config(yaml)] {
        if let Err(e @ TaskError::EditCheck { .. }) = result {
            return Err(TestCaseError::fail(e.to_string()));
        }
    }
    Ok(())
}

/// 512 by default; `PROPTEST_CASES` still overrides for longer soak runs.
fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(512)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(text in any::<String>(), update in run_update(), yaml in any::<String>()) {
        exercise(text, &update, &yaml)?;
    }

    #[test]
    fn markdownish_strings_never_panic(text in markdownish(), update in run_update(), yaml in markdownish()) {
        exercise(text, &update, &yaml)?;
    }

    #[test]
    fn mutated_seed_never_panics(
        mutations in prop::collection::vec(mutation(), 1..6),
        crlf in any::<bool>(),
        update in run_update(),
        yaml in markdownish(),
    ) {
        let seed = if crlf { SEED.replace('\n', "\r\n") } else { SEED.to_string() };
        exercise(mutate(&seed, &mutations), &update, &yaml)?;
    }

    /// On a valid prompt every well-formed update succeeds and reads back.
    #[test]
    fn any_update_on_seed_reads_back(update in run_update(), crlf in any::<bool>()) {
        let seed = if crlf { SEED.replace('\n', "\r\n") } else { SEED.to_string() };
        let prompt = Prompt::parse(PathBuf::from("p.md"), seed.clone())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let out = prompt.record_run(&update).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let back = Prompt::parse(PathBuf::from("p.md"), out.clone())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back.history().last(), Some(&update.row.cleaned()));
        prop_assert_eq!(back.config_yaml(), prompt.config_yaml());
        prop_assert_eq!(out.lines().count(), seed.lines().count() + back.history().len() - 1);
        if crlf {
            prop_assert!(!out.replace("\r\n", "").contains('\n'));
        }
        // Untouched regions: before the first edited value, and after the table.
        let head = seed.find("**Execution UUID**: `").map_or(0, |i| i + 21);
        let tail = seed.find("## 🎯 GOAL").unwrap_or(seed.len());
        prop_assert_eq!(&out[..head], &seed[..head]);
        prop_assert!(out.ends_with(&seed[tail..]));
    }

    #[test]
    fn non_uuid_is_rejected_not_panicking(value in any::<String>()) {
        let prompt = Prompt::parse(PathBuf::from("p.md"), SEED.to_string())
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut update = super::fixture::update(1, "v1", "x", UUID1);
        update.last_uuid = value.clone();
        let ok = uuid::Uuid::try_parse(value.trim()).is_ok();
        prop_assert_eq!(prompt.record_run(&update).is_ok(), ok);
    }
}
