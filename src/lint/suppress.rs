//! Inline suppression comments, read from the author's text:
//!
//! ```yaml
//! # harness-lint disable-file no-resource-limits image-not-pinned
//! services:
//!   api:
//!     privileged: true  # harness-lint disable-line privileged
//!     # harness-lint disable-next-line cap-add
//!     cap_add: [NET_ADMIN]
//! ```
//!
//! Without rule ids a comment silences every rule on its line (or file).

/// Which rules are silenced where. Lines are 1-based lines of the text.
#[derive(Debug, Default)]
pub(crate) struct Suppressions {
    file: Vec<Scope>,
    lines: Vec<(usize, Scope)>,
}

#[derive(Debug, Clone)]
enum Scope {
    All,
    Rules(Vec<String>),
}

impl Scope {
    fn covers(&self, rule: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Rules(ids) => ids.iter().any(|id| id == rule),
        }
    }
}

const MARK: &str = "harness-lint";

impl Suppressions {
    pub(crate) fn parse(text: &str) -> Suppressions {
        let mut s = Suppressions::default();
        for (i, line) in text.lines().enumerate() {
            let Some((directive, scope)) = comment(line) else {
                continue;
            };
            let n = i + 1;
            match directive {
                "disable-file" => s.file.push(scope),
                "disable-line" => s.lines.push((n, scope)),
                "disable-next-line" => s.lines.push((n + 1, scope)),
                _ => {}
            }
        }
        s
    }

    /// Whether a finding of `rule` on `line` (of the text; `None` when unlocated) is
    /// silenced.
    pub(crate) fn hides(&self, rule: &str, line: Option<usize>) -> bool {
        self.file.iter().any(|s| s.covers(rule))
            || line.is_some_and(|l| self.lines.iter().any(|(at, s)| *at == l && s.covers(rule)))
    }
}

/// `# harness-lint <directive> [rule…]` anywhere a YAML comment can start: at the start of
/// the line or after whitespace.
fn comment(line: &str) -> Option<(&str, Scope)> {
    let mut from = 0;
    while let Some(at) = line[from..].find('#') {
        let hash = from + at;
        from = hash + 1;
        let starts_comment = hash == 0
            || line[..hash]
                .chars()
                .next_back()
                .is_some_and(char::is_whitespace);
        if !starts_comment {
            continue;
        }
        let mut words = line[hash + 1..].split_whitespace();
        if words.next() != Some(MARK) {
            continue;
        }
        let directive = words.next()?;
        let ids: Vec<String> = words
            .map(|w| w.trim_matches(',').to_string())
            .filter(|w| !w.is_empty())
            .collect();
        let scope = if ids.is_empty() {
            Scope::All
        } else {
            Scope::Rules(ids)
        };
        return Some((directive, scope));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_next_line_and_file() {
        let s = Suppressions::parse(
            "# harness-lint disable-file image-not-pinned\na: 1  # harness-lint disable-line privileged, cap-add\n# harness-lint disable-next-line\nb: 2\nc: \"#harness-lint disable-line\"\n",
        );
        assert!(s.hides("image-not-pinned", None));
        assert!(s.hides("image-not-pinned", Some(9)));
        assert!(s.hides("privileged", Some(2)));
        assert!(s.hides("cap-add", Some(2)));
        assert!(!s.hides("literal-secret", Some(2)));
        assert!(s.hides("literal-secret", Some(4)));
        assert!(!s.hides("privileged", Some(3)));
        assert!(!s.hides("privileged", Some(5)));
        assert!(!s.hides("privileged", None));
    }

    #[test]
    fn a_hash_inside_a_word_is_no_comment() {
        let s = Suppressions::parse("url: http://x/#harness-lint disable-line\n");
        assert!(!s.hides("privileged", Some(1)));
    }
}
