use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_yaml_ng::Value;

use super::config::Config;
use super::dotenv::Dotenv;
use super::finding::{Finding, Path, Sink};
use super::follow::Followed;
use super::locate::Locator;
use super::profile::Profile;
use super::suppress::Suppressions;
use super::yaml::{self, Service};
use super::{
    catalog, declared, env, images, loopback, networks, ports, project, references, security,
    services, slow,
};
use crate::compose::ComposeFile;

/// What a lint run knows beyond the file itself.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Rule levels and rules turned off or on.
    pub config: Config,
    /// Which choices are errors; the library's default is the harness's own gate
    /// (`multi-instance`), `harness lint` on a file defaults to `default`.
    pub profile: Profile,
    /// Variables the sibling `.env` sets. Compose reads that file, so a reference to one
    /// of them has a value.
    pub dotenv: BTreeSet<String>,
    /// Their values, read only to resolve a URL's host and port; never printed.
    pub dotenv_values: Dotenv,
    /// Report what `# harness-lint disable-…` comments would silence.
    pub ignore_suppressions: bool,
    /// The directory the file's relative paths resolve against (the compose file's);
    /// `None` for a task's candidate, whose files are not beside it: then no rule
    /// judges whether a file exists.
    pub dir: Option<PathBuf>,
}

/// What every rule reads: the document with merge keys applied, and its services.
pub(crate) struct Ctx<'a> {
    pub doc: &'a Value,
    pub services: Vec<Service<'a>>,
    /// Set from the sibling `.env`.
    pub dotenv: &'a BTreeSet<String>,
    /// What the sibling `.env` sets them to.
    pub dotenv_values: &'a Dotenv,
    /// The author's text with positions, for the rules that judge how something is
    /// written (quoting) rather than what it means.
    pub text: Option<&'a Locator<'a>>,
    /// See [`Options::dir`].
    pub dir: Option<&'a std::path::Path>,
}

impl<'a> Ctx<'a> {
    pub(crate) fn service(&self, name: &str) -> Option<&Service<'a>> {
        self.services.iter().find(|s| s.name == name)
    }

    /// The text of the node at `path` as written, where it could be found exactly.
    pub(crate) fn raw(&self, path: &Path) -> Option<&'a str> {
        self.text?.raw(path)
    }

    /// Runs to completion rather than serving (see [`crate::compose::depends::is_one_shot`]).
    pub(crate) fn is_one_shot(&self, svc: &Service<'_>) -> bool {
        let all = self.services.iter().flat_map(yaml::depends_on);
        crate::compose::depends::is_one_shot(svc, all)
    }
}

/// Every finding for the file under the default config, sorted by path then rule, with
/// its line and column. This is the harness's own gate (the protocol's `lint` step, the
/// proposer's check of a mutation): suppression comments do not apply, so a candidate —
/// or a proposer writing one — cannot silence its own penalties.
pub fn lint(file: &ComposeFile) -> Vec<Finding> {
    gate(file, &Config::default())
}

/// As [`lint`], with the levels of `config` — a task's gate, its block's raised rules
/// (see [`Config::raised`]).
pub fn gate(file: &ComposeFile, config: &Config) -> Vec<Finding> {
    lint_with(
        file,
        &Options {
            config: config.clone(),
            ignore_suppressions: true,
            ..Options::default()
        },
    )
}

/// As [`lint`], under `opts`.
pub fn lint_with(file: &ComposeFile, opts: &Options) -> Vec<Finding> {
    let locator = Locator::new(&file.text);
    let mut findings = lint_doc(&file.doc, opts, Some(&locator));
    for f in &mut findings {
        place(f, file, &locator);
    }
    if opts.ignore_suppressions {
        return findings;
    }
    unsuppressed(findings, file)
}

/// `over` (an override file) merged into `base` as Compose merges them, linted as one
/// project. Each finding is reported in the file whose text holds its node: the override
/// where it sets the node, else the base. Returns `(base's, override's)`.
pub fn lint_merged(
    base: &ComposeFile,
    over: &ComposeFile,
    opts: &Options,
) -> (Vec<Finding>, Vec<Finding>) {
    let merged = super::input::merge(&base.doc, &over.doc);
    let base_text = Locator::new(&base.text);
    let over_text = Locator::new(&over.text);
    let (mut in_base, mut in_over) = (Vec::new(), Vec::new());
    for mut f in lint_doc(&merged, opts, Some(&base_text)) {
        // A value the override sets is the override's; a mapping both files write (a
        // service) stays with the base, where it was declared.
        let exact = |l: &Locator<'_>| l.locate(&f.at).is_some_and(|l| l.exact);
        let leaf =
            f.at.lookup(&over.doc)
                .is_some_and(|v| !v.is_mapping() && !v.is_sequence());
        if exact(&over_text) && (leaf || !exact(&base_text)) {
            place(&mut f, over, &over_text);
            in_over.push(f);
        } else {
            place(&mut f, base, &base_text);
            in_base.push(f);
        }
    }
    if opts.ignore_suppressions {
        return (in_base, in_over);
    }
    (unsuppressed(in_base, base), unsuppressed(in_over, over))
}

/// The file of `followed` and what it includes and extends, linted as one project. Each
/// finding is reported in the file that holds its node, at its path there; what could not
/// be followed is `not-followed` where it is named. One list per source, in its order.
pub fn lint_followed(followed: &Followed, opts: &Options) -> Vec<Vec<Finding>> {
    let locators: Vec<Locator<'_>> = followed
        .sources
        .iter()
        .map(|s| Locator::new(&s.file.text))
        .collect();
    let mut out: Vec<Vec<Finding>> = vec![Vec::new(); followed.sources.len()];
    for mut f in lint_doc(&followed.doc, opts, locators.first()) {
        let (src, at) = followed.origin(&f.at);
        if at != f.at {
            f.path = at.render();
            f.at = at;
        }
        place(&mut f, &followed.sources[src].file, &locators[src]);
        out[src].push(f);
    }
    for (src, at, why) in &followed.unread {
        let mut sink = Sink::default();
        sink.add(&catalog::NOT_FOLLOWED, at, why.clone());
        for mut f in sink.finish(&followed.sources[*src].file.doc) {
            if !opts.config.enabled(&catalog::NOT_FOLLOWED) {
                continue;
            }
            f.level = opts.config.level(f.rule, f.level);
            place(&mut f, &followed.sources[*src].file, &locators[*src]);
            out[*src].push(f);
        }
    }
    for (src, findings) in out.iter_mut().enumerate() {
        findings.sort_by(|a, b| a.at.cmp(&b.at).then_with(|| a.rule.cmp(b.rule)));
        // A node two services inherit (both extend it) is one problem, reported once.
        findings.dedup_by(|a, b| a.rule == b.rule && a.at == b.at);
        if !opts.ignore_suppressions {
            *findings = unsuppressed(std::mem::take(findings), &followed.sources[src].file);
        }
    }
    out
}

/// Gives a finding its line, column and span in `file`.
fn place(f: &mut Finding, file: &ComposeFile, locator: &Locator<'_>) {
    let offset = file.first_line.saturating_sub(1);
    match locator.locate(&f.at) {
        Some(loc) => {
            f.line = Some(loc.line + offset);
            f.column = Some(loc.column);
            f.span = Some(loc.span);
        }
        // A finding about the whole document (a missing top-level key) sits at its
        // first line.
        None if locator.parsed() => {
            f.line = Some(file.first_line);
            f.column = Some(1);
        }
        None => {}
    }
}

/// Drops the findings the file's suppression comments silence.
fn unsuppressed(mut findings: Vec<Finding>, file: &ComposeFile) -> Vec<Finding> {
    let offset = file.first_line.saturating_sub(1);
    let hidden = Suppressions::parse(&file.text);
    findings.retain(|f| !hidden.hides(f.rule, f.line.map(|l| l - offset)));
    findings
}

#[cfg(test)]
pub(crate) fn lint_value(doc: &Value) -> Vec<Finding> {
    lint_doc(doc, &Options::default(), None)
}

#[cfg(test)]
pub(crate) fn lint_value_with(doc: &Value, opts: &Options) -> Vec<Finding> {
    lint_doc(doc, opts, None)
}

fn lint_doc(doc: &Value, opts: &Options, text: Option<&Locator<'_>>) -> Vec<Finding> {
    // Compose applies `<<:` merges before it reads a service, so a restart policy or a
    // healthcheck inherited from an anchor counts. A merge Compose would reject is linted
    // as written.
    let mut merged = doc.clone();
    let doc = match merged.apply_merge() {
        Ok(()) => &merged,
        Err(_) => doc,
    };
    let ctx = Ctx {
        doc,
        services: yaml::services(doc),
        dotenv: &opts.dotenv,
        dotenv_values: &opts.dotenv_values,
        text,
        dir: opts.dir.as_deref(),
    };
    let mut sink = Sink::default();
    ports::check(&ctx, &mut sink);
    env::check(&ctx, &mut sink);
    loopback::check(&ctx, &mut sink);
    services::check(&ctx, &mut sink);
    slow::check(&ctx, &mut sink);
    networks::check(&ctx, &mut sink);
    security::check(&ctx, &mut sink);
    images::check(&ctx, &mut sink);
    project::check(&ctx, &mut sink);
    references::check(&ctx, &mut sink);
    declared::check(&ctx, &mut sink);
    let mut findings = sink.finish(doc);
    findings.retain(|f| catalog::rule(f.rule).is_some_and(|r| opts.config.enabled(r)));
    for f in &mut findings {
        f.level = opts
            .config
            .level(f.rule, opts.profile.level(f.rule, f.level, f.choice));
    }
    findings
}
