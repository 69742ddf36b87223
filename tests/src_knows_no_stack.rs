//! `src/` knows no stack: the reference stack's service names, ports, paths and images
//! belong to its task prompt, `docker/` (its images' recipes and the default protocol block
//! too), `examples/` and the tests.

use std::path::{Path, PathBuf};

/// What only the reference stack's files may say.
const NAMES: &[&str] = &[
    "cc_execute",
    "/ws/mcp",
    "8000",
    "8001",
    "8003",
    "8004",
    "harness/redis",
    "harness/executor",
    "ANTHROPIC_API_KEY",
    "docker_compose_dynamic",
    "docker/docker-compose.yml",
];

/// Files allowed to name the reference stack, and why.
const ALLOWED: &[(&str, &str)] = &[(
    "src/propose/llm.rs",
    "the LLM proposer reads its own API key from ANTHROPIC_API_KEY: the harness's, not the stack's",
)];

#[test]
fn src_names_no_part_of_the_reference_stack() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    for file in rust_files(&root.join("src")) {
        let rel = file
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .to_string();
        if ALLOWED.iter().any(|(path, _)| *path == rel) {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in outside_tests(&text) {
            for name in NAMES.iter().filter(|name| names(line, name)) {
                found.push(format!("{rel}:{n}: `{name}` in: {}", line.trim()));
            }
        }
    }
    assert!(
        found.is_empty(),
        "src/ names the reference stack (move it to the task's protocol block, docker/ or \
         examples/):\n{}",
        found.join("\n")
    );
}

/// The names the project's before-stop check looks for in every line of src/, inline
/// tests included: a unit test that needs a port or a service picks one of its own, so no
/// one reading src/ mistakes the reference stack's for the harness's.
const IN_TESTS_TOO: &[&str] = &["cc_execute", "/ws/mcp", "8000", "8001", "8003", "8004"];

#[test]
fn inline_tests_use_ports_and_names_of_their_own() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut found = Vec::new();
    let mut dirs = vec![root.join("src")];
    for _ in 0..10_000 {
        let Some(dir) = dirs.pop() else { break };
        for path in std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()) {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            if path.is_dir() && name != "testdata" {
                dirs.push(path);
            } else if name.ends_with(".rs")
                && !["tests.rs", "fixture.rs", "proptests.rs"].contains(&name.as_str())
            {
                let text = std::fs::read_to_string(&path).unwrap();
                for (n, line) in text.lines().enumerate() {
                    for word in IN_TESTS_TOO.iter().filter(|w| names(line, w)) {
                        found.push(format!("{}:{}: `{word}`", path.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(found.is_empty(), "{}", found.join("\n"));
}

#[test]
fn the_check_sees_a_name_where_it_is() {
    let text = "fn port() -> u16 {\n    8000\n}\n#[cfg(test)]\nmod tests {\n    const P: u16 = 8003;\n}\nconst Q: &str = \"/ws/mcp\";\n";
    let hits: Vec<(usize, &str)> = outside_tests(text)
        .filter(|(_, line)| NAMES.iter().any(|name| names(line, name)))
        .collect();
    assert_eq!(hits, [(2, "    8000"), (8, "const Q: &str = \"/ws/mcp\";")]);
    assert!(!names("port 18000 and 80001", "8000"));
    assert!(names("ports: [8000]", "8000"));
}

/// A number only as a whole number; anything else as written.
fn names(line: &str, name: &str) -> bool {
    if !name.bytes().all(|b| b.is_ascii_digit()) {
        return line.contains(name);
    }
    line.match_indices(name).any(|(at, _)| {
        let before = line[..at].chars().next_back();
        let after = line[at + name.len()..].chars().next();
        !before.is_some_and(|c| c.is_ascii_digit()) && !after.is_some_and(|c| c.is_ascii_digit())
    })
}

/// Numbered lines, without inline `#[cfg(test)] mod … { … }` blocks (closed by a `}` in
/// column 0, as rustfmt writes them).
fn outside_tests(text: &str) -> impl Iterator<Item = (usize, &str)> {
    let mut in_tests = false;
    let mut after_cfg = false;
    text.lines().enumerate().filter_map(move |(i, line)| {
        if in_tests {
            in_tests = line != "}";
            return None;
        }
        if after_cfg && line.starts_with("mod ") && line.ends_with('{') {
            in_tests = true;
            after_cfg = false;
            return None;
        }
        after_cfg = line == "#[cfg(test)]";
        (!after_cfg).then_some((i + 1, line))
    })
}

/// Every `.rs` file under `dir`, leaving out the files of test-only modules (`#[cfg(test)]
/// mod name;` → `name.rs` or `name/`) and test data.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    let mut test_only: Vec<PathBuf> = Vec::new();
    for _ in 0..10_000 {
        let Some(dir) = dirs.pop() else { break };
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        entries.sort();
        for path in entries {
            if path.file_name().is_some_and(|n| n == "testdata") {
                continue;
            }
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                test_only.extend(test_modules(&path));
                files.push(path);
            }
        }
    }
    files.retain(|f| {
        !test_only
            .iter()
            .any(|t| f.starts_with(t) || *f == t.with_extension("rs"))
    });
    files
}

/// The paths of the test-only modules `file` declares: `#[cfg(test)]`, then maybe a
/// `#[path = "x.rs"]` (relative to `file`'s directory), then `mod name;`.
fn test_modules(file: &Path) -> Vec<PathBuf> {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = file.parent().unwrap();
    let base = match file.file_name().and_then(|n| n.to_str()) {
        Some("mod.rs" | "lib.rs" | "main.rs") => dir.to_path_buf(),
        _ => file.with_extension(""),
    };
    let lines: Vec<&str> = text.lines().collect();
    let mut found = Vec::new();
    for (i, _) in lines
        .iter()
        .enumerate()
        .filter(|(_, l)| **l == "#[cfg(test)]")
    {
        let path = lines
            .get(i + 1)
            .and_then(|l| l.strip_prefix("#[path = \"")?.strip_suffix("\"]"));
        let decl = lines.get(i + 1 + usize::from(path.is_some()));
        let Some(name) = decl.and_then(|l| l.strip_prefix("mod ")?.strip_suffix(';')) else {
            continue;
        };
        found.push(match path {
            Some(path) => dir.join(path),
            None => base.join(name),
        });
    }
    found
}
