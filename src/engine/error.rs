use std::path::PathBuf;

/// The engine could not be reached or driven at all.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(
        "cannot reach the Docker engine: {0} — start the daemon (`systemctl start docker`) or point DOCKER_HOST at it"
    )]
    Unreachable(#[source] bollard::errors::Error),
    #[error("Docker API call `{call}` failed: {source}")]
    Api {
        call: &'static str,
        #[source]
        source: bollard::errors::Error,
    },
    #[error(
        "no Compose CLI found: neither `docker compose` nor `docker-compose` runs — install Compose v2 (`scripts/setup`, or Docker's docker-compose-plugin package)"
    )]
    ComposeMissing,
    #[error(
        "HARNESS_COMPOSE={value}: the Compose CLI it forces does not run — install it \
         (v2: `scripts/setup`, or Docker's compose plugin; v1: `apt-get install docker-compose`), \
         point the variable at a Compose program, or unset it to use whichever is installed"
    )]
    ComposeForcedMissing { value: String },
    #[error(
        "HARNESS_COMPOSE={value}: expected `v1`, `v2` or the path of a Compose program \
         (e.g. /usr/local/bin/docker-compose), or unset it to use whichever is installed"
    )]
    ComposeChoice { value: String },
    #[error("cannot run `{program}`: {source}")]
    Spawn {
        program: String,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write the compose override `{path}`: {source}")]
    Override {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

impl EngineError {
    /// The engine did not answer at all (as opposed to answering with an error): the
    /// harness's or the machine's problem, never the config's.
    pub fn is_unreachable(&self) -> bool {
        match self {
            EngineError::Unreachable(_) => true,
            EngineError::Api { source, .. } => !matches!(
                source,
                bollard::errors::Error::DockerResponseServerError { .. }
            ),
            _ => false,
        }
    }
}
