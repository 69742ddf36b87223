//! Host paths that hold a user's credentials, shared by lint (which reports a mount of
//! one) and the mutation catalog (which removes it), so both agree on what counts.
//!
//! A mount source is judged as it is on a machine where no variable but `HOME` is set:
//! `$HOME`, `${HOME}` and `${HOME:-…}` read as `~` (`HOME` is always set where Compose
//! runs), every other `${VAR:-default}` as its default — what the stack mounts when the
//! author's override is absent.

use super::interp::{matching_brace, name_len};

/// A credential store under a user's home directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Store {
    /// Relative to the home directory, `/`-separated.
    pub path: &'static str,
    /// What a reader of the store gets, for messages.
    pub holds: &'static str,
}

const STORES: [Store; 10] = [
    Store {
        path: ".ssh",
        holds: "SSH private keys",
    },
    Store {
        path: ".aws",
        holds: "AWS access keys",
    },
    Store {
        path: ".kube",
        holds: "Kubernetes cluster credentials",
    },
    Store {
        path: ".docker",
        holds: "registry logins (config.json)",
    },
    Store {
        path: ".claude",
        holds: "Claude login tokens",
    },
    Store {
        path: ".config/gcloud",
        holds: "Google Cloud credentials",
    },
    Store {
        path: ".azure",
        holds: "Azure login tokens",
    },
    Store {
        path: ".netrc",
        holds: "machine passwords",
    },
    Store {
        path: ".gnupg",
        holds: "GnuPG private keys",
    },
    Store {
        path: ".git-credentials",
        holds: "Git passwords and tokens",
    },
];

/// Deeper nesting than any real file keeps a hostile string from exhausting the stack.
const MAX_DEPTH: usize = 16;

/// `raw` with every reference to `HOME` written `~`; other references kept, with the
/// same rewrite inside their defaults (`${CLAUDE_HOME:-$HOME/.claude}`).
pub fn home_as_tilde(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    rewrite(raw, &mut out, 0);
    out
}

fn rewrite(s: &str, out: &mut String, depth: usize) {
    if depth > MAX_DEPTH {
        out.push_str(s);
        return;
    }
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at + 1..];
        if let Some(after) = tail.strip_prefix('$') {
            out.push_str("$$");
            rest = after;
        } else if tail.starts_with('{') {
            let Some(close) = matching_brace(tail) else {
                out.push('$');
                rest = tail;
                continue;
            };
            let inner = &tail[1..close];
            if &inner[..name_len(inner)] == "HOME" {
                out.push('~');
            } else {
                out.push_str("${");
                rewrite(inner, out, depth + 1);
                out.push('}');
            }
            rest = &tail[close + 1..];
        } else if name_len(tail) == 4 && tail.starts_with("HOME") {
            out.push('~');
            rest = &tail[4..];
        } else {
            out.push('$');
            rest = tail;
        }
    }
    out.push_str(rest);
}

/// The credential stores a mount of `source` (interpolated, `~` for the home directory)
/// hands the container: the one it lies in, or every one below it when it is the home
/// directory or a parent of a store (`~/.config`). Empty for project-relative paths:
/// they name the project's own files.
pub fn exposed_stores(source: &str) -> Vec<Store> {
    let s = source.trim();
    let parts: Vec<&str> = s
        .split('/')
        .filter(|p| !p.is_empty() && *p != ".")
        .collect();
    if s.starts_with('~') {
        return under_home(parts.get(1..).unwrap_or_default());
    }
    if !s.starts_with('/') {
        return Vec::new();
    }
    match parts.as_slice() {
        ["root", rest @ ..] | ["home" | "Users", _, rest @ ..] => under_home(rest),
        _ => anywhere(&parts),
    }
}

/// `rest` relative to a home directory: inside a store, or above one.
fn under_home(rest: &[&str]) -> Vec<Store> {
    STORES
        .iter()
        .filter(|st| {
            let store: Vec<&str> = st.path.split('/').collect();
            rest.starts_with(&store) || store.starts_with(rest)
        })
        .copied()
        .collect()
}

/// An absolute path outside the usual homes (`/srv/deploy/.ssh`): a store's directory
/// anywhere in it is still the store.
fn anywhere(parts: &[&str]) -> Vec<Store> {
    STORES
        .iter()
        .filter(|st| {
            let store: Vec<&str> = st.path.split('/').collect();
            parts.windows(store.len()).any(|w| w == store.as_slice())
        })
        .copied()
        .collect()
}

/// The Docker engine's socket: control of the engine, which is root on the host.
pub fn is_docker_socket(source: &str) -> bool {
    source.trim().trim_end_matches('/').ends_with("docker.sock")
}

/// How a finding names what a mount exposes: `~/.ssh (SSH private keys)`, or the list.
pub fn describe(stores: &[Store]) -> String {
    let named: Vec<String> = stores
        .iter()
        .map(|s| format!("~/{} ({})", s.path, s.holds))
        .collect();
    match named.as_slice() {
        [] => String::new(),
        [one] => one.clone(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(source: &str) -> Vec<&'static str> {
        exposed_stores(source).iter().map(|s| s.path).collect()
    }

    #[test]
    fn home_references_read_as_tilde() {
        assert_eq!(home_as_tilde("$HOME/.ssh"), "~/.ssh");
        assert_eq!(home_as_tilde("${HOME}/.ssh:/x"), "~/.ssh:/x");
        assert_eq!(home_as_tilde("${HOME:-/root}/.aws"), "~/.aws");
        assert_eq!(
            home_as_tilde("${CLAUDE_HOME:-$HOME/.claude}:/c"),
            "${CLAUDE_HOME:-~/.claude}:/c"
        );
        assert_eq!(home_as_tilde("$HOMEDIR/x $$HOME"), "$HOMEDIR/x $$HOME");
        assert_eq!(home_as_tilde("${BROKEN"), "${BROKEN");
    }

    #[test]
    fn every_store_is_found_inside_and_above() {
        for store in STORES {
            for source in [
                format!("~/{}", store.path),
                format!("~/{}/", store.path),
                format!("/home/alice/{}", store.path),
                format!("/root/{}/deeper/file", store.path),
                format!("/Users/bob/{}", store.path),
                format!("/srv/ci/{}", store.path),
            ] {
                assert_eq!(paths(&source), vec![store.path], "{source}");
            }
        }
        assert_eq!(paths("~/.docker/config.json"), vec![".docker"]);
        assert_eq!(paths("~/.config"), vec![".config/gcloud"]);
        assert_eq!(paths("~").len(), STORES.len());
        assert_eq!(paths("/home/alice").len(), STORES.len());
    }

    #[test]
    fn look_alikes_and_project_paths_are_not_stores() {
        for source in [
            "~/.claude-themes",
            "~/claude",
            "~/.config/other",
            "~/projects/app",
            "./claude",
            "./.claude",
            "data/.ssh",
            "/home",
            "/srv/app/data",
            "/etc",
            "",
        ] {
            assert!(paths(source).is_empty(), "{source}");
        }
    }

    #[test]
    fn docker_sockets() {
        assert!(is_docker_socket("/var/run/docker.sock"));
        assert!(is_docker_socket("/run/docker.sock"));
        assert!(!is_docker_socket("/var/run/docker"));
    }
}
