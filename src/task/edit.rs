//! Byte-range splicing: the only way the prompt text is changed, so whatever
//! is outside the ranges is copied verbatim.

use std::ops::Range;

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

    /// Applies all edits; `Err` describes overlapping or out-of-bounds ranges,
    /// which would be a bug in the caller's layout, not in the document.
    pub fn apply(mut self, text: &str) -> Result<String, String> {
        // Stable sort keeps insertions at the same offset in push order.
        self.edits.sort_by_key(|(r, _)| (r.start, r.end));
        let mut out = String::with_capacity(text.len() + 256);
        let mut pos = 0;
        for (range, with) in &self.edits {
            let kept = text
                .get(pos..range.start)
                .ok_or_else(|| format!("edit at bytes {range:?} overlaps or is out of bounds"))?;
            if range.end < range.start || text.get(range.clone()).is_none() {
                return Err(format!("edit range {range:?} is invalid"));
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
