//! The catalog as a proposer: each call answers with the next mutation the evidence asks
//! for that applies to the file (see [`super::wanted`]).

use std::collections::VecDeque;
use std::sync::Mutex;

use super::context::ProposerContext;
use super::proposer::{Answer, Candidate, Proposer, Provenance};
use crate::compose::ComposeFile;
use crate::mutate::{self, Facts};

pub struct CatalogProposer {
    current: ComposeFile,
    facts: Facts,
    /// The mutations still to try, most urgent first, with the evidence each answers.
    wanted: Mutex<VecDeque<(&'static str, String)>>,
    /// Whether any mutation was offered: "nothing" then means "nothing more".
    offered: std::sync::atomic::AtomicBool,
    /// The mutations the evidence asked for that found nothing to change, with that
    /// evidence: said in the answer, so "nothing answers" is not a mystery.
    inapplicable: Mutex<Vec<String>>,
}

impl CatalogProposer {
    pub fn new(
        current: ComposeFile,
        facts: Facts,
        wanted: Vec<(&'static str, String)>,
    ) -> CatalogProposer {
        CatalogProposer {
            current,
            facts,
            wanted: Mutex::new(wanted.into()),
            offered: std::sync::atomic::AtomicBool::new(false),
            inapplicable: Mutex::new(Vec::new()),
        }
    }

    fn next_wanted(&self) -> Option<(&'static str, String)> {
        // A poisoned lock only means another try panicked: the list itself is intact.
        let mut wanted = self.wanted.lock().unwrap_or_else(|e| e.into_inner());
        wanted.pop_front()
    }
}

impl Proposer for CatalogProposer {
    fn name(&self) -> &'static str {
        "catalog"
    }

    fn open_ended(&self) -> bool {
        false
    }

    async fn propose(&self, _ctx: &ProposerContext) -> Answer {
        let started = std::time::Instant::now();
        while let Some((id, answers)) = self.next_wanted() {
            match mutate::apply(id, &self.current, &self.facts) {
                Ok(None) => {
                    if let Ok(mut list) = self.inapplicable.lock() {
                        list.push(format!("{id} ({answers})"));
                    }
                    continue;
                }
                Err(e) => {
                    return Answer::Unusable {
                        label: id,
                        reason: e.to_string(),
                    };
                }
                Ok(Some(m)) => {
                    self.offered
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    return Answer::Candidate(Box::new(Candidate {
                        label: m.id,
                        reason: m.reason,
                        answers,
                        yaml: m.yaml,
                        provenance: Provenance {
                            proposer: "catalog".into(),
                            latency_ms: started.elapsed().as_millis() as u64,
                            ..Provenance::default()
                        },
                        transcript: None,
                    }));
                }
            }
        }
        let mut why = if self.offered.load(std::sync::atomic::Ordering::Relaxed) {
            "no other mutation in the catalog answers what failed".to_string()
        } else {
            "no mutation in the catalog answers what failed".to_string()
        };
        let inapplicable = self.inapplicable.lock().map(|l| l.join("; "));
        if let Ok(list) = inapplicable.as_deref()
            && !list.is_empty()
        {
            why.push_str(&format!(
                "; asked for, but found nothing it changes in this file: {list}"
            ));
        }
        Answer::Nothing(why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_wanted_mutation_that_finds_nothing_to_change_is_named_in_the_answer() {
        let text = "services:\n  api:\n    image: a\n    healthcheck:\n      test: [CMD, x]\n      interval: \"${EVERY:-30s}\"\n";
        let file = ComposeFile::parse("t.yml", text, 1).expect("parses");
        let wanted = vec![(
            crate::mutate::catalog()
                .iter()
                .find(|m| m.id == "quick-healthcheck")
                .expect("in the catalog")
                .id,
            "lint slow-healthcheck at services.api.healthcheck.interval".to_string(),
        )];
        let catalog = CatalogProposer::new(file, Facts::default(), wanted);
        match catalog.propose(&ProposerContext::default()).await {
            Answer::Nothing(why) => assert!(
                why.contains(
                    "found nothing it changes in this file: quick-healthcheck (lint \
                     slow-healthcheck at services.api.healthcheck.interval)"
                ),
                "{why}"
            ),
            _ => panic!("a variable interval is the author's: nothing to propose"),
        }
    }
}
