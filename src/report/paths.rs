//! Relative links from the report's directory to run files, computed from the paths.

use std::path::{Component, Path, PathBuf};

/// `path` made absolute (against the current directory) and resolved: through the file
/// system where it exists, lexically (`.` and `..`) where it does not.
pub(crate) fn absolute(path: &Path) -> PathBuf {
    if let Ok(p) = path.canonicalize() {
        return p;
    }
    // Canonicalise the longest existing ancestor, then append the rest lexically.
    let joined = if path.is_absolute() {
        path.to_path_buf()
    } else {
        std::env::current_dir()
            .map(|cwd| cwd.join(path))
            .unwrap_or_else(|_| path.to_path_buf())
    };
    let mut out = PathBuf::new();
    for c in joined.components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => {
                out.push(other);
                if let Ok(p) = out.canonicalize() {
                    out = p;
                }
            }
        }
    }
    out
}

/// The link from a page in `from_dir` to `target`, both absolute: relative when they share
/// a root (`../runs/x.json`), a `file://` URL otherwise. Every segment is percent-encoded.
pub(crate) fn href(from_dir: &Path, target: &Path) -> String {
    let from: Vec<Component<'_>> = from_dir.components().collect();
    let to: Vec<Component<'_>> = target.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let shares_root = from[..common]
        .iter()
        .any(|c| matches!(c, Component::RootDir));
    if !shares_root {
        return file_url(target);
    }
    let mut segments: Vec<String> = vec!["..".to_string(); from.len() - common];
    segments.extend(
        to[common..]
            .iter()
            .map(|c| encode(&c.as_os_str().to_string_lossy())),
    );
    segments.join("/")
}

fn file_url(target: &Path) -> String {
    let mut url = String::from("file://");
    for c in target.components() {
        match c {
            Component::RootDir => {}
            Component::Prefix(p) => {
                url.push('/');
                url.push_str(&p.as_os_str().to_string_lossy().replace('\\', "/"));
            }
            other => {
                url.push('/');
                url.push_str(&encode(&other.as_os_str().to_string_lossy()));
            }
        }
    }
    url
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_climb_to_the_common_ancestor_and_encode_segments() {
        assert_eq!(
            href(Path::new("/w/out/report"), Path::new("/w/runs/a b#.json")),
            "../../runs/a%20b%23.json"
        );
        assert_eq!(
            href(Path::new("/w"), Path::new("/w/runs/x.json")),
            "runs/x.json"
        );
        assert_eq!(href(Path::new("/"), Path::new("/x.json")), "x.json");
    }

    #[test]
    fn absolute_resolves_dot_dot_of_paths_that_do_not_exist() {
        let dir = tempfile::tempdir().unwrap();
        let base = dir.path().canonicalize().unwrap();
        let p = absolute(&base.join("nope/../runs/./x.json"));
        assert_eq!(p, base.join("runs/x.json"));
    }
}
