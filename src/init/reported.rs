//! Where an app reports on its dependencies and keys, read from the JSON its health
//! endpoint answered: `{"redis": {"connected": true}}` (or `false`) reports the `redis` dependency,
//! `{"api_key_present": false}` the key whose name shares `api` and `key`. A dependency
//! is looked for under its service name first, then under its aliases (`redis`).

use serde_json::Value;

use super::draft::Draft;
use crate::spec::Reported;

/// Booleans that say a dependency is reachable, under the dependency's own key.
const CONNECTED: [&str; 6] = ["connected", "ok", "healthy", "up", "reachable", "available"];

/// Words in a boolean's name that make it about a key.
const KEY_WORDS: [&str; 3] = ["key", "token", "secret"];

/// Fills `reported` of each dependency and key from the bodies `(container port, path,
/// body)` the apps answered with; left `None` where nothing fits.
pub fn fill(draft: &mut Draft, bodies: &[(u16, String, Value)]) {
    for dep in &mut draft.dependencies {
        let names: Vec<&str> = std::iter::once(dep.service.as_str())
            .chain(dep.aliases.iter().map(String::as_str))
            .collect();
        dep.reported = first(bodies, |body| {
            names.iter().find_map(|n| dependency_pointer(body, n))
        });
    }
    for key in &mut draft.keys {
        key.reported = first(bodies, |body| key_pointer(body, &key.env));
    }
}

/// An optional key the trial ran without warns when an app's log has a warning line
/// naming it; `unset` says which keys the trial ran without.
pub fn warnings(draft: &mut Draft, logs: &[String], unset: impl Fn(&str) -> bool) {
    for key in draft
        .keys
        .iter_mut()
        .filter(|k| !k.required && unset(&k.env))
    {
        key.warns = logs.iter().flat_map(|l| l.lines()).any(|line| {
            line.contains(key.env.as_str()) && line.to_ascii_lowercase().contains("warn")
        });
    }
}

/// The first body `pointer_in` finds a pointer in, as the endpoint that reports it.
fn first(
    bodies: &[(u16, String, Value)],
    pointer_in: impl Fn(&Value) -> Option<String>,
) -> Option<Reported> {
    bodies.iter().find_map(|(port, path, body)| {
        Some(Reported {
            port: *port,
            path: path.clone(),
            pointer: pointer_in(body)?,
        })
    })
}

/// `/<dep>/connected` (or a sibling word) holding a boolean, or a top-level
/// `<dep>_connected` boolean. `false` counts too: the app does report on the dependency,
/// and a run then fails until it reaches it (a store URL on localhost, say).
fn dependency_pointer(body: &Value, service: &str) -> Option<String> {
    let object = body.as_object()?;
    let service = service.to_ascii_lowercase();
    for (name, value) in object {
        let lower = name.to_ascii_lowercase();
        if !lower.contains(&service) {
            continue;
        }
        if let Some(inner) = value.as_object() {
            let flag = inner.iter().find(|(k, v)| {
                CONNECTED.contains(&k.to_ascii_lowercase().as_str()) && v.is_boolean()
            });
            if let Some((k, _)) = flag {
                return Some(format!("/{}/{}", escape(name), escape(k)));
            }
        } else if value.is_boolean() && CONNECTED.iter().any(|c| lower.contains(c)) {
            return Some(format!("/{}", escape(name)));
        }
    }
    None
}

/// The top-level boolean about a key whose name shares the most words with `env`; none
/// when two share as many.
fn key_pointer(body: &Value, env: &str) -> Option<String> {
    let words: Vec<String> = env
        .to_ascii_lowercase()
        .split('_')
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect();
    let mut scored: Vec<(usize, &String)> = body
        .as_object()?
        .iter()
        .filter(|(_, v)| v.is_boolean())
        .filter_map(|(name, _)| {
            let lower = name.to_ascii_lowercase();
            if !KEY_WORDS.iter().any(|w| lower.contains(w)) {
                return None;
            }
            let score = words.iter().filter(|w| lower.contains(w.as_str())).count();
            (score > 0).then_some((score, name))
        })
        .collect();
    scored.sort_by_key(|s| std::cmp::Reverse(s.0));
    match scored.as_slice() {
        [(best, name), rest @ ..] if rest.first().is_none_or(|(next, _)| next < best) => {
            Some(format!("/{}", escape(name)))
        }
        _ => None,
    }
}

/// A key as one JSON-pointer segment (RFC 6901).
pub fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_dependency_is_reported_under_its_own_key() {
        let body = json!({"status": "ok", "cache": {"target": "x", "connected": true}});
        assert_eq!(
            dependency_pointer(&body, "cache").as_deref(),
            Some("/cache/connected")
        );
        let flat = json!({"db_ok": true, "db": "x"});
        assert_eq!(dependency_pointer(&flat, "db").as_deref(), Some("/db_ok"));
        // Not reached during the trial is still where the app reports it.
        let down = json!({"cache": {"connected": false}});
        assert_eq!(
            dependency_pointer(&down, "cache").as_deref(),
            Some("/cache/connected")
        );
        let not_a_flag = json!({"cache": {"connected": "yes"}});
        assert_eq!(dependency_pointer(&not_a_flag, "cache"), None);
    }

    #[test]
    fn a_key_warns_when_the_trial_ran_without_it_and_a_log_line_warns_about_it() {
        let key = |env: &str| crate::init::KeyDraft {
            env: env.into(),
            required: false,
            reported: None,
            warns: false,
        };
        let mut draft = Draft {
            keys: vec![key("A_KEY"), key("B_KEY"), key("C_KEY")],
            ..Draft::default()
        };
        let logs = vec![
            "INFO A_KEY loaded\nWARN B_KEY not set\n".to_string(),
            "WARN C_KEY not set".into(),
        ];
        warnings(&mut draft, &logs, |env| env != "C_KEY");
        let warns: Vec<bool> = draft.keys.iter().map(|k| k.warns).collect();
        assert_eq!(
            warns,
            [false, true, false],
            "C_KEY was set: its absence was not seen"
        );
    }

    #[test]
    fn a_key_is_reported_by_the_boolean_sharing_most_words() {
        let body = json!({"api_key_present": false, "status": "ok", "other_token_set": true});
        assert_eq!(
            key_pointer(&body, "OPENAI_API_KEY").as_deref(),
            Some("/api_key_present")
        );
        assert_eq!(
            key_pointer(&body, "GITHUB_TOKEN").as_deref(),
            Some("/other_token_set")
        );
        let tie = json!({"a_key": true, "b_key": true});
        assert_eq!(key_pointer(&tie, "X_KEY"), None, "a tie names nothing");
        assert_eq!(escape("a/b~c"), "a~1b~0c");
    }
}
