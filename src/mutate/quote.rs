//! `quote-ports`: a `ports:` entry like `2222:22` written without quotes is a base-60
//! number to a YAML 1.1 reader; quoting it changes nothing for Compose and everything for
//! those readers. Only the quotes are added: the value and the rest of the line stay.

use super::apply::{Plan, list};
use super::edit::{Op, RawEdit, render_path};
use super::tree;
use super::types::Facts;
use crate::compose::ComposeFile;
use crate::compose::locate::Locator;
use crate::compose::ports::{PortSpec, ports};

pub(crate) fn quote_ports(file: &ComposeFile, _: &Facts) -> Option<Plan> {
    let text = Locator::new(&file.text);
    let mut ops = Vec::new();
    let mut sites = Vec::new();
    for svc in tree::services(&file.doc) {
        for entry in ports(&svc).into_iter().filter(|p| p.editable) {
            let PortSpec::Short(s) = entry.spec else {
                continue;
            };
            if !s.contains(':') {
                continue;
            }
            let Some(raw) = text.raw(&entry.path) else {
                continue;
            };
            let raw = raw.trim_end();
            // Quoted already, or written in a way a plain pair of quotes would change.
            if raw != s || raw.contains(['"', '\'', '#', '\\']) {
                continue;
            }
            let at = entry.path.to_vec();
            sites.push(format!("{} `{s}`", render_path(&at)));
            ops.push(Op::SetStr {
                at,
                value: s.to_string(),
                raw: RawEdit::Replace(vec![(s.to_string(), format!("\"{s}\""))]),
            });
        }
    }
    Plan::of(ops, || {
        format!(
            "Quote the ports {}: unquoted, a YAML 1.1 reader takes `xx:yy` with yy below 60 \
             for a base-60 number.",
            list(&sites)
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutate::Rendering;
    use crate::mutate::apply_rendered;

    #[test]
    fn only_the_quotes_are_added() {
        let text = "services:\n  a:\n    ports:\n      - 2222:22   # ssh\n      - \"80:80\"\n      - '81:81'\n      - 3000\n  b:\n    ports: [7000:70]\n";
        let file = ComposeFile::parse("t.yml", text, 1).unwrap();
        let (m, how) = apply_rendered("quote-ports", &file, &Facts::default())
            .unwrap()
            .unwrap();
        assert_eq!(how, Rendering::Lossless);
        assert_eq!(
            m.yaml,
            "services:\n  a:\n    ports:\n      - \"2222:22\"   # ssh\n      - \"80:80\"\n      - '81:81'\n      - 3000\n  b:\n    ports: [\"7000:70\"]\n"
        );
        let quoted = ComposeFile::parse("t.yml", &m.yaml, 1).unwrap();
        assert!(
            apply_rendered("quote-ports", &quoted, &Facts::default())
                .unwrap()
                .is_none()
        );
    }
}
