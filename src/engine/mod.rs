//! The engine: the Compose CLI drives the lifecycle, the Docker API (bollard) observes it.

mod compose_cli;
mod docker;
mod error;
mod override_file;
mod probe_container;
mod wait;

pub use compose_cli::{CmdOutput, ComposeCli, Flavor, Project};
pub use docker::{
    ContainerInfo, Docker, Events, ImageInfo, Leftovers, PROJECT_LABEL, PublishedPort,
    is_anonymous_volume,
};
pub use error::EngineError;
pub use override_file::{
    LABEL_OWNER, LABEL_PID, LABEL_RUN, LABEL_SESSION, LABEL_TASK, override_yaml, run_labels,
};
pub use probe_container::ProbeContainer;
pub use wait::{Ready, Verdict, WaitFailure, failure_of, wait_for, wait_ready, will_restart};
