//! Byte-range splicing: the only way the prompt text is changed, so whatever
//! is outside the ranges is copied verbatim.

use std::ops::Range;

/// Overlapping or out-of-bounds ranges: a bug in the caller's layout, not in the document.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum SpliceError {
    #[error("edit at bytes {0:?} overlaps or is out of bounds")]
    Overlap(Range<usize>),
    #[error("edit range {0:?} is invalid")]
    Invalid(Range<usize>),
}

#[derive(Debug, Default)]
pub(crate) struct Edits {
    edits: Vec<(Range<usize>, String)>,
}

impl Edits {
    pub fn replace(&mut self, range: Range<usize>, with: String) {
        self.edits.push((range, with));
    }

    pub fn insert(&mut self, at: usize, text: String) {
        self.edits.push((at..at, text));
    }

    /// Applies all edits; `Err` names the first overlapping or out-of-bounds range.
    pub fn apply(mut self, text: &str) -> Result<String, SpliceError> {
        // Stable sort keeps insertions at the same offset in push order.
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        let mut out = String::with_capacity(text.len() + 256);
        let mut pos = 0;
        for (range, with) in &self.edits {
            let kept = text
                .get(pos..range.start)
                .ok_or_else(|| SpliceError::Overlap(range.clone()))?;
            if range.end < range.start || text.get(range.clone()).is_none() {
                return Err(SpliceError::Invalid(range.clone()));
            }
            out.push_str(kept);
            out.push_str(with);
            pos = range.end;
        }
        out.push_str(text.get(pos..).unwrap_or_default());
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splices_and_rejects_overlaps() {
        let mut e = Edits::default();
        e.replace(4..5, "X".into());
        e.insert(0, ">".into());
        e.insert(9, "!".into());
        assert_eq!(e.apply("abc\ndef\nz").as_deref(), Ok(">abc\nXef\nz!"));

        let mut e = Edits::default();
        e.replace(0..3, "".into());
        e.replace(2..4, "".into());
        assert!(e.apply("abcdef").is_err());

        let mut e = Edits::default();
        e.replace(0..1, "".into());
        assert!(e.apply("é").is_err(), "splitting a char must not panic");
    }
}
