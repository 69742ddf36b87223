//! Mounts of the host's credentials to remove: a credential store (`~/.ssh`, `~/.claude`,
//! …, or the home directory above them) and the Docker socket.

use super::apply::{Plan, list};
use super::edit::{Op, Seg, child, render_path};
use super::services::mounts;
use super::tree;
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::credentials::{describe, exposed_stores, is_docker_socket};

pub(crate) fn drop_credential_mount(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in tree::services(&file.doc) {
        let all = mounts(&svc);
        let doomed: Vec<(usize, String)> = all
            .iter()
            .filter(|m| !m.tmpfs && !m.source.is_empty())
            .filter_map(|m| exposes(&m.source).map(|what| (m.index, what)))
            .collect();
        if doomed.is_empty() {
            continue;
        }
        let volumes = svc.at("volumes").to_vec();
        let count = tree::get_seq(svc.body, "volumes").map_or(0, |v| v.len());
        for (index, what) in &doomed {
            sites.push(format!(
                "{what} from `{}` ({})",
                svc.name,
                render_path(&child(&volumes, Seg::Index(*index)))
            ));
        }
        if doomed.len() == count {
            // An empty `volumes:` is null, which Compose rejects; the key goes instead.
            ops.push(Op::Remove { at: volumes });
        } else {
            // Last first: each removal moves the later items up.
            for (index, _) in doomed.iter().rev() {
                ops.push(Op::RemoveItem {
                    at: child(&volumes, Seg::Index(*index)),
                });
            }
        }
    }
    Plan::of(ops, || {
        format!(
            "Remove the mount of {}: it hands the container the host user's credentials, \
             which a compromised or careless service can read and use; a service that needs \
             a secret gets that one secret through its environment or a `secrets:` file.",
            list(&sites)
        )
    })
}

/// What mounting `source` hands over, for the reason; `None` when it is no credential.
fn exposes(source: &str) -> Option<String> {
    let source = source.trim();
    if is_docker_socket(source) {
        return Some(format!(
            "the Docker socket `{source}` (control of the engine)"
        ));
    }
    match exposed_stores(source).as_slice() {
        [] => None,
        [one] => Some(format!("`{source}` ({})", one.holds)),
        many => Some(format!("`{source}`, which holds {}", describe(many))),
    }
}

#[cfg(test)]
mod tests {
    use crate::mutate::tests::{applied, changed_lines, not_applicable};

    #[test]
    fn the_seed_claude_mount_goes_and_the_project_mounts_stay() {
        let text = "services:\n  app:\n    image: x\n    volumes:\n      - ./logs:/app/logs\n      # host login, read-only\n      - ${CLAUDE_HOME:-~/.claude}:/home/appuser/.claude:ro\n      - ./data:/app/data\n    restart: always\n";
        let m = applied("drop-credential-mount", text);
        assert_eq!(
            m.yaml,
            "services:\n  app:\n    image: x\n    volumes:\n      - ./logs:/app/logs\n      # host login, read-only\n      - ./data:/app/data\n    restart: always\n"
        );
        assert_eq!(changed_lines(text, &m.yaml), 1);
        assert!(
            m.reason
                .contains("`~/.claude` (Claude login tokens) from `app` (services.app.volumes[1])"),
            "{}",
            m.reason
        );
    }

    #[test]
    fn several_in_one_list_and_long_syntax() {
        let text = "services:\n  a:\n    image: x\n    volumes:\n      - $HOME/.ssh:/root/.ssh:ro\n      - ./src:/src\n      - type: bind\n        source: ${HOME}/.config/gcloud\n        target: /gcloud\n      - /var/run/docker.sock:/var/run/docker.sock\n";
        let m = applied("drop-credential-mount", text);
        assert_eq!(
            m.yaml,
            "services:\n  a:\n    image: x\n    volumes:\n      - ./src:/src\n"
        );
    }

    #[test]
    fn a_list_left_empty_goes_with_its_key() {
        let text = "services:\n  a:\n    image: x\n    volumes:\n      - ~/.aws:/root/.aws\n    restart: always\n  b:\n    image: y\n    volumes: [\"${NETRC:-~/.netrc}:/root/.netrc:ro\"]\n";
        let m = applied("drop-credential-mount", text);
        assert_eq!(
            m.yaml,
            "services:\n  a:\n    image: x\n    restart: always\n  b:\n    image: y\n"
        );
    }

    #[test]
    fn look_alikes_stay() {
        not_applicable(
            "drop-credential-mount",
            "services:\n  a:\n    image: x\n    volumes:\n      - ~/.claude-themes:/themes\n      - ./claude:/claude\n      - data:/data\n      - type: tmpfs\n        target: /tmp\nvolumes:\n  data:\n",
        );
    }
}
