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
                Ok(None) => continue,
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
        if self.offered.load(std::sync::atomic::Ordering::Relaxed) {
            Answer::Nothing("no other mutation in the catalog answers what failed".into())
        } else {
            Answer::Nothing("no mutation in the catalog answers what failed".into())
        }
    }
}
