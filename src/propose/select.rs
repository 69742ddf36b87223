//! `--proposer catalog|llm|command|auto`: which proposers are asked, in which order.

use std::time::Duration;

use super::catalog::CatalogProposer;
use super::command::CommandProposer;
use super::context::ProposerContext;
use super::llm::{LlmConfig, LlmProposer};
use super::proposer::{Answer, Proposer};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ProposerKind {
    /// The catalog, then the command if given, then the model if one is configured.
    #[default]
    Auto,
    /// The harness's hand-written mutations.
    Catalog,
    /// A language model (Anthropic Messages API or an OpenAI-compatible server).
    Llm,
    /// The program of --proposer-command.
    Command,
}

/// How proposals are made, as the command line asks.
#[derive(Debug, Clone)]
pub struct ProposerOptions {
    pub kind: ProposerKind,
    /// `--proposer-command`.
    pub command: Option<String>,
    /// `--proposer-timeout`: a command's or a model's whole answer, retries included.
    pub timeout: Duration,
    /// `--proposal-attempts`: candidates an open-ended proposer may have rejected.
    pub attempts: u32,
}

impl Default for ProposerOptions {
    fn default() -> ProposerOptions {
        ProposerOptions {
            kind: ProposerKind::Auto,
            command: None,
            timeout: Duration::from_secs(300),
            attempts: 3,
        }
    }
}

/// Bad `--proposer` input, found before anything runs.
#[derive(Debug, thiserror::Error)]
pub enum SelectError {
    #[error(
        "--proposer command needs --proposer-command \"CMD\" (a program reading the context as JSON on stdin)"
    )]
    NoCommand,
    #[error("--proposer llm: {0}")]
    NoModel(String),
}

impl ProposerOptions {
    /// Checks what can be checked before any run: a chosen proposer must be usable.
    pub fn check(&self) -> Result<(), SelectError> {
        match self.kind {
            ProposerKind::Command if self.command.is_none() => Err(SelectError::NoCommand),
            ProposerKind::Llm => LlmConfig::from_env()
                .map(|_| ())
                .map_err(SelectError::NoModel),
            _ => Ok(()),
        }
    }

    /// The proposers to ask, in order, and those left out with why.
    pub fn lineup(&self, catalog: CatalogProposer) -> (Vec<AnyProposer>, Vec<String>) {
        let mut left_out = Vec::new();
        let mut llm = || match LlmConfig::from_env() {
            Ok(config) => Some(AnyProposer::Llm(LlmProposer {
                config,
                timeout: self.timeout,
            })),
            Err(why) => {
                left_out.push(format!("llm: {why}"));
                None
            }
        };
        let command = || {
            self.command.clone().map(|command| {
                AnyProposer::Command(CommandProposer {
                    command,
                    timeout: self.timeout,
                })
            })
        };
        let lineup = match self.kind {
            ProposerKind::Catalog => vec![AnyProposer::Catalog(Box::new(catalog))],
            ProposerKind::Command => command().into_iter().collect(),
            ProposerKind::Llm => llm().into_iter().collect(),
            ProposerKind::Auto => {
                // A command given with auto is the user's fallback of choice.
                let mut all = vec![AnyProposer::Catalog(Box::new(catalog))];
                all.extend(command());
                all.extend(llm());
                all
            }
        };
        (lineup, left_out)
    }
}

/// One of the three proposers (the trait's futures are not object-safe).
pub enum AnyProposer {
    Catalog(Box<CatalogProposer>),
    Command(CommandProposer),
    Llm(LlmProposer),
}

impl Proposer for AnyProposer {
    fn name(&self) -> &'static str {
        match self {
            AnyProposer::Catalog(p) => p.name(),
            AnyProposer::Command(p) => p.name(),
            AnyProposer::Llm(p) => p.name(),
        }
    }

    fn open_ended(&self) -> bool {
        !matches!(self, AnyProposer::Catalog(_))
    }

    async fn propose(&self, ctx: &ProposerContext) -> Answer {
        match self {
            AnyProposer::Catalog(p) => p.propose(ctx).await,
            AnyProposer::Command(p) => p.propose(ctx).await,
            AnyProposer::Llm(p) => p.propose(ctx).await,
        }
    }
}
