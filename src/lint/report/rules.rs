//! The rule catalog as `harness lint --rules` prints it.

use comfy_table::{Table, presets::UTF8_FULL_CONDENSED};

use crate::lint::{Profile, RuleInfo};

/// One row per rule: its id, its level under each profile, whether it is on, its fix and
/// where it comes from.
pub fn rules_table(rules: &[RuleInfo]) -> Table {
    let mut table = Table::new();
    let header = [
        "rule",
        "default",
        "multi-instance",
        "on",
        "fix",
        "anchor",
        "what it finds",
    ];
    table.load_style(UTF8_FULL_CONDENSED).set_header(header);
    for r in rules {
        table.add_row([
            r.id,
            Profile::Default.rule_level(r).as_str(),
            Profile::MultiInstance.rule_level(r).as_str(),
            if r.default_on { "yes" } else { "off" },
            r.mutation.unwrap_or("-"),
            r.anchor,
            r.description,
        ]);
    }
    table
}
