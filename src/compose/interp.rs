//! The lexical pieces of Compose's `${VAR…}` interpolation, shared by lint and the
//! mutation catalog.

/// Index in `s` (which starts with `{`) of the brace that closes it; defaults may nest
/// further references (`${A:-${B}}`).
pub fn matching_brace(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Length of the variable name at the start of `s` (0 when there is none).
pub fn name_len(s: &str) -> usize {
    s.char_indices()
        .find(|(i, c)| !(*c == '_' || c.is_ascii_alphabetic() || (*i > 0 && c.is_ascii_digit())))
        .map(|(i, _)| i)
        .unwrap_or(s.len())
}
