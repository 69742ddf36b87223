//! Tolerant readers over the YAML tree: lint sees files Compose itself would reject, and
//! must answer with findings, never a panic.

// Shared with the mutation catalog: both read files Compose itself may reject.
pub(crate) use crate::compose::depends::{Dependency, depends_on};
pub(crate) use crate::compose::env::{EnvEntry, environment};
pub(crate) use crate::compose::healthcheck::{Health, health};
pub(crate) use crate::compose::read::{get, get_map, get_seq, get_str, scalar, untag};
pub(crate) use crate::compose::service::{Service, key_string, services};

/// `a`, `a and b`, `a, b and c`: lists in messages read like sentences.
pub(crate) fn sentence(items: &[String]) -> String {
    match items {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}
