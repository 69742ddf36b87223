//! A realistic seed prompt plus helpers shared by the tests.

use std::path::PathBuf;

use super::{HistoryRow, Prompt, RunUpdate};

pub(crate) const SEED: &str = include_str!("testdata/docker_compose_dynamic.md");
pub(crate) const PATH: &str = "prompts/docker_compose_dynamic.md";
pub(crate) const UUID1: &str = "3f1c9a52-8d7e-4b6a-9c0f-1e2d3c4b5a69";
pub(crate) const UUID2: &str = "a0b1c2d3-e4f5-4a6b-8c7d-9e0f1a2b3c4d";

pub(crate) fn parse(text: &str) -> Prompt {
    match Prompt::parse(PathBuf::from(PATH), text.to_string()) {
        Ok(p) => p,
        Err(e) => panic!("fixture should parse: {e}"),
    }
}

pub(crate) fn parse_err(text: &str) -> String {
    match Prompt::parse(PathBuf::from(PATH), text.to_string()) {
        Ok(_) => panic!("expected a parse error"),
        Err(e) => e.to_string(),
    }
}

pub(crate) fn update(successes: u64, version: &str, change: &str, uuid: &str) -> RunUpdate {
    RunUpdate {
        successes,
        failures: 0,
        last_updated: "2025-07-09 10:00:00".to_string(),
        last_uuid: uuid.to_string(),
        row: HistoryRow::new(version, change, "✅ Success", uuid),
    }
}
