//! The rule catalog as `harness lint --rules` prints it.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::lint::RuleInfo;

/// One row per rule: its id, level, whether it is on, its fix and where it comes from.
pub fn rules_table(rules: &[RuleInfo]) -> Table {
    let mut table = Table::new();
    let header = ["rule", "level", "on", "fix", "anchor", "what it finds"];
    table.load_style(UTF8_FULL_CONDENSED).set_header(header);
    for r in rules {
        table.add_row([
            r.id,
            r.level.as_str(),
            if r.default_on { "yes" } else { "off" },
            r.mutation.unwrap_or("-"),
            r.anchor,
            r.description,
        ]);
    }
    table
}
