//! The task prompt `harness init` writes: the seed's sections (metrics, evolution history,
//! the config in a ```yaml block, the ```harness-protocol block, verification steps), so
//! `harness run --task` reads it back with no edit. What init could not find is a
//! commented placeholder in the block, next to where it belongs.

use std::fmt::Write as _;

use serde_yaml_ng::Value;

use super::draft::{AppDraft, DepDraft, Draft, Gap, KeyDraft, Persist};
use crate::spec::{DependencyCheck, HttpEndpoint, JsonCheck, Reported, WsEndpoint};

/// What the prompt is written from.
pub struct Source<'a> {
    /// The compose file as given, for the title and the history.
    pub name: &'a str,
    /// Its text, copied verbatim into the config block.
    pub text: &'a str,
    /// Where the prompt is written, for the commands it shows.
    pub task: &'a str,
    /// `Last Updated`, as the recorder writes it.
    pub now: &'a str,
}

/// The whole prompt.
pub fn prompt(src: &Source<'_>, draft: &Draft) -> String {
    let fence = fence_for(src.text);
    let mut config = src.text.to_string();
    if !config.ends_with('\n') {
        config.push('\n');
    }
    let name = src.name.replace('|', "/");
    let roles = roles(draft);
    let block = protocol_block(draft);
    let task = src.task;
    let now = src.now;
    let from = if draft.deployed {
        "the config and one deployment of it"
    } else {
        "the config alone (`--no-deploy`)"
    };
    format!(
        "# {name} — Gamified Self-Improving Prompt

## 🔐 Anti-Hallucination UUID
**Execution UUID**: `[GENERATE WITH uuid.uuid4()]`

## 📊 TASK METRICS & HISTORY
- **Success/Failure Ratio**: 0:0 (Target: 10:1 to graduate)
- **Last Updated**: {now}
- **Last UUID**: `None - first execution`
- **Evolution History**:
  | Version | Change & Reason | Result | UUID |
  | :------ | :-------------- | :----- | :--- |
  | v1      | Initial config from {name}; protocol written by `harness init` | TBD | TBD |

### Verification Command
```bash
# Verify the last execution actually happened: every run leaves its UUID in runs/, here and in the scoreboard
grep -r \"<Last UUID>\" runs/ prompts/
sqlite3 scoreboard.db \"SELECT uuid, success FROM run WHERE uuid = '<Last UUID>'\"
```

---
## 🎯 GAMIFICATION RULES

### HOW TO WIN (Graduate)
1. Achieve 10 successful deployments for every 1 failure
2. Every check the protocol below declares passes, on ports the engine assigns
3. No hardcoded host ports, container names or global network names

### HOW TO LOSE (Penalties)
1. **Port Conflicts = Instant Failure** ❌
2. **Hardcoded Values = Failure** ❌
3. **Missing API Key Handling = Failure** ❌ (for the keys declared optional)

---
## 🏛️ ARCHITECT'S BRIEFING (Immutable)

### 1. Purpose
Make the stack of `{name}` deploy reliably, any number of instances at once:
{roles}
### 2. Core Requirements
- [ ] Generate UUID4 at start of execution
- [ ] Dynamic port allocation (no hardcoding)
- [ ] Support for multiple instances
- [ ] Clear error messages and recovery
- [ ] Save deployment info with UUID verification

---
## 🤖 IMPLEMENTATION WORKSPACE

### **Docker Compose Template**
The candidate config. `harness run` deploys exactly this block; `harness iterate --apply`
rewrites it.

{fence}yaml
{config}{fence}

### **Protocol**
What `harness run` checks, read from this block (YAML in a fence labelled
`harness-protocol`; the schema is in the harness's README, \"The protocol block\").
Written by `harness init` from {from}; lines starting
`# TODO(harness init)` mark what it could not find — fill them in or delete them.

```harness-protocol
{block}```

---
## 🧪 VERIFICATION STEPS

### Step 1: The whole protocol
**Goal**: Every check of the protocol block passes
**Command**: `harness run --task {task}`
**Expected**: The deployment comes up on engine-assigned ports and every step passes

### Step 2: Iterate to graduation
**Goal**: A config that passes 10 runs for every failure
**Command**: `harness iterate --task {task} --apply --until-graduated`
**Expected**: Each failure answered by a mutation of the config, until it graduates

---
## 📈 METRICS UPDATE TEMPLATE

After each run the harness updates the metrics section and adds a row:

```markdown
| v2 | drop-container-name: Remove the fixed names | ✅ Success | a4f5c2d1-... |
```
"
    )
}

/// The services and their roles, one list item each, for the briefing.
fn roles(draft: &Draft) -> String {
    let mut out = String::new();
    for app in &draft.apps {
        let ports: Vec<String> = app.ports.iter().map(u16::to_string).collect();
        let _ = writeln!(
            out,
            "- `{}`: the app (container ports {})",
            app.service,
            ports.join(", ")
        );
    }
    for dep in &draft.dependencies {
        let _ = writeln!(out, "- `{}`: a dependency ({})", dep.service, dep.because);
    }
    for key in &draft.keys {
        let how = if key.required { "required" } else { "optional" };
        let _ = writeln!(out, "- `{}`: an API key ({how})", key.env);
    }
    out
}

/// A fence longer than any backtick run that starts a line of the config.
fn fence_for(text: &str) -> String {
    let longest = text
        .lines()
        .map(|l| l.trim_start().chars().take_while(|&c| c == '`').count())
        .max()
        .unwrap_or(0);
    "`".repeat(longest.max(2) + 1)
}

/// The ```harness-protocol block's content.
pub fn protocol_block(draft: &Draft) -> String {
    let mut out = String::new();
    apps(&mut out, draft);
    dependencies(&mut out, &draft.dependencies);
    keys(&mut out, &draft.keys);
    persistence(&mut out, &draft.persistence);
    if draft.recover.is_empty() {
        out.push_str("restart:\n  recover: []\n");
    } else {
        let _ = writeln!(out, "restart:\n  recover: {}", flow(&draft.recover));
    }
    let _ = writeln!(out, "instances: {}", draft.instances);
    out
}

fn todo(out: &mut String, indent: &str, gap: &Gap) {
    let _ = writeln!(
        out,
        "{indent}# TODO(harness init): {}: {}",
        gap.field, gap.why
    );
}

fn apps(out: &mut String, draft: &Draft) {
    if draft.apps.is_empty() {
        for gap in draft.gaps().iter().filter(|g| g.field == "apps") {
            todo(out, "", gap);
        }
        out.push_str("apps: []\n");
        return;
    }
    out.push_str("apps:\n");
    for app in &draft.apps {
        let _ = writeln!(out, "  - service: {}", scalar(&app.service));
        http(out, draft, app);
        websocket(out, draft, app);
    }
}

fn http(out: &mut String, draft: &Draft, app: &AppDraft) {
    if let Some(gap) = draft.http_gap(app) {
        todo(out, "    ", &gap);
        let port = app.ports.first().copied().unwrap_or(80);
        let _ = writeln!(
            out,
            "    # http:\n    #   - port: {port}\n    #     path: /health\n    #     status: 200"
        );
        return;
    }
    out.push_str("    http:\n");
    for e in &app.http {
        http_endpoint(out, e);
    }
}

fn http_endpoint(out: &mut String, e: &HttpEndpoint) {
    let _ = writeln!(
        out,
        "      - port: {}\n        path: {}\n        status: {}",
        e.port,
        scalar(&e.path),
        e.status
    );
    if e.json.is_empty() {
        return;
    }
    out.push_str("        json:\n");
    for JsonCheck {
        pointer,
        is,
        equals,
    } in &e.json
    {
        let _ = writeln!(out, "          - pointer: {}", scalar(pointer));
        if let Some(is) = is {
            let _ = writeln!(out, "            is: {}", scalar(is));
        }
        if let Some(v) = equals {
            let _ = writeln!(out, "            equals: {v}");
        }
    }
}

fn websocket(out: &mut String, draft: &Draft, app: &AppDraft) {
    if let Some(gap) = draft.ws_gap(app) {
        todo(out, "    ", &gap);
        let port = app.ports.last().copied().unwrap_or(80);
        let path = app.ws_hints.first().map_or("/ws", String::as_str);
        let _ = writeln!(
            out,
            "    # websocket:\n    #   - port: {port}\n    #     path: {}",
            scalar(path)
        );
        return;
    }
    out.push_str("    websocket:\n");
    for WsEndpoint { port, path, .. } in &app.websocket {
        let _ = writeln!(out, "      - port: {port}\n        path: {}", scalar(path));
    }
}

fn dependencies(out: &mut String, deps: &[DepDraft]) {
    if deps.is_empty() {
        out.push_str("dependencies: []\n");
        return;
    }
    out.push_str("dependencies:\n");
    for dep in deps {
        let _ = writeln!(out, "  # {}: {}", dep.service, dep.because);
        let Some(check) = &dep.check else {
            let gap = Gap {
                field: format!("dependencies[{}].check", dep.service),
                why: "no CMD healthcheck and no port to connect to".into(),
            };
            todo(out, "  ", &gap);
            let _ = writeln!(
                out,
                "  # - service: {}\n  #   check:\n  #     tcp: {{port: 5432}}",
                scalar(&dep.service)
            );
            continue;
        };
        let _ = writeln!(out, "  - service: {}\n    check:", scalar(&dep.service));
        match check {
            DependencyCheck::Exec { command, expect } => {
                let _ = writeln!(out, "      exec:\n        command: {}", flow(command));
                if let Some(expect) = expect {
                    let _ = writeln!(out, "        expect: {}", scalar(expect));
                }
            }
            DependencyCheck::Tcp { port } => {
                let _ = writeln!(out, "      tcp: {{port: {port}}}");
            }
        }
        if let Some(r) = &dep.reported {
            let _ = writeln!(out, "    reported: {}", reported(r));
        }
    }
}

fn keys(out: &mut String, keys: &[KeyDraft]) {
    if keys.is_empty() {
        out.push_str("keys: []\n");
        return;
    }
    out.push_str("keys:\n");
    for key in keys {
        let _ = writeln!(
            out,
            "  - env: {}\n    required: {}",
            scalar(&key.env),
            key.required
        );
        if let Some(r) = &key.reported {
            let _ = writeln!(out, "    reported: {}", reported(r));
        }
        match key.warns {
            true => out.push_str("    warns: true\n"),
            false => out
                .push_str("    warns: false  # true when the app must log a warning without it\n"),
        }
    }
}

fn persistence(out: &mut String, entries: &[Persist]) {
    let known: Vec<&Persist> = entries
        .iter()
        .filter(|p| matches!(p, Persist::Exec { .. }))
        .collect();
    if known.is_empty() {
        out.push_str("persistence: []\n");
    } else {
        out.push_str("persistence:\n");
    }
    for p in entries {
        match p {
            Persist::Exec {
                service,
                write,
                read,
                ..
            } => {
                let _ = writeln!(
                    out,
                    "  - service: {}\n    exec:\n      write: {}\n      read: {}",
                    scalar(service),
                    flow(write),
                    flow(read)
                );
            }
            Persist::Unknown { service, volume } => {
                let gap = Gap {
                    field: format!("persistence[{service}]"),
                    why: format!(
                        "`{service}` keeps data on volume `{volume}`; say how to write and read it back"
                    ),
                };
                todo(out, "  ", &gap);
                let _ = writeln!(
                    out,
                    "  # - service: {}\n  #   exec:\n  #     write: [<command that stores \"{{value}}\" under \"{{key}}\">]\n  #     read: [<command that prints it>]",
                    scalar(service)
                );
            }
        }
    }
}

fn reported(r: &Reported) -> String {
    format!(
        "{{port: {}, path: {}, pointer: {}}}",
        r.port,
        scalar(&r.path),
        scalar(&r.pointer)
    )
}

fn flow(items: &[String]) -> String {
    let items: Vec<String> = items.iter().map(|s| scalar(s)).collect();
    format!("[{}]", items.join(", "))
}

/// A string as YAML reads it back unchanged: plain when it is a simple word or path,
/// else double-quoted (a JSON string is a YAML double-quoted scalar).
fn scalar(s: &str) -> String {
    let simple = s
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '/')
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '_' | '-' | '.'));
    let reads_back =
        simple && serde_yaml_ng::from_str::<Value>(s).ok() == Some(Value::String(s.to_string()));
    if reads_back {
        s.to_string()
    } else {
        serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
    }
}

#[cfg(test)]
#[path = "write_tests.rs"]
mod tests;
