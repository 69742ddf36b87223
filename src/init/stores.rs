//! The stores' checks tried in the trial deployment: a healthcheck command's one-word
//! answer (`PONG`) becomes what the check expects, and the persistence commands must
//! write a value and read it back, else they are left to the author.

use super::draft::{DepDraft, Draft, Persist};
use super::probe::Tried;
use crate::engine::Docker;
use crate::protocol::Deployment;
use crate::spec::DependencyCheck;

/// Longest answer taken as a fixed reply rather than a report that may change.
const WORD: usize = 32;

pub async fn confirm(
    docker: &Docker,
    draft: &mut Draft,
    deployment: &Deployment,
    tried: &mut Vec<Tried>,
) {
    for dep in &mut draft.dependencies {
        expect_answer(docker, dep, deployment, tried).await;
    }
    for entry in &mut draft.persistence {
        round_trip(docker, entry, deployment, tried).await;
    }
}

async fn expect_answer(
    docker: &Docker,
    dep: &mut DepDraft,
    deployment: &Deployment,
    tried: &mut Vec<Tried>,
) {
    let Some(DependencyCheck::Exec { command, expect }) = &mut dep.check else {
        return;
    };
    let Some(container) = deployment.container_of(|c| c.service == dep.service) else {
        return;
    };
    let words: Vec<&str> = command.iter().map(String::as_str).collect();
    let answer = docker.exec(&container.id, &words).await;
    tried.push(Tried {
        url: format!("exec {} {}", dep.service, command.join(" ")),
        answer: match &answer {
            Ok((code, _)) => format!("exit {code}"),
            Err(e) => e.to_string(),
        },
    });
    if let Ok((0, output)) = answer {
        let output = output.trim();
        let one_word = !output.is_empty()
            && output.len() <= WORD
            && output.chars().all(|c| c.is_ascii_alphanumeric());
        if one_word {
            *expect = Some(output.to_string());
        }
    }
}

/// Writes a value with the entry's `write` command and reads it with `read`; an entry
/// whose commands do not do that becomes a gap.
async fn round_trip(
    docker: &Docker,
    entry: &mut Persist,
    deployment: &Deployment,
    tried: &mut Vec<Tried>,
) {
    let Persist::Exec {
        service,
        volume,
        write,
        read,
    } = entry
    else {
        return;
    };
    let Some(container) = deployment.container_of(|c| c.service == *service) else {
        return;
    };
    let value = format!("harness-init-{}", uuid::Uuid::new_v4().simple());
    let fill = |words: &[String]| -> Vec<String> {
        words
            .iter()
            .map(|w| {
                w.replace("{key}", "harness-init-probe")
                    .replace("{value}", &value)
            })
            .collect()
    };
    let mut ok = true;
    for (command, check_output) in [(fill(write), false), (fill(read), true)] {
        let words: Vec<&str> = command.iter().map(String::as_str).collect();
        let answer = docker.exec(&container.id, &words).await;
        let passed = match &answer {
            Ok((0, out)) => !check_output || out.contains(&value),
            _ => false,
        };
        tried.push(Tried {
            url: format!("exec {service} {}", command.join(" ")),
            answer: if passed {
                "ok".into()
            } else {
                "did not write and read back".into()
            },
        });
        ok &= passed;
        if !passed {
            break;
        }
    }
    if !ok {
        *entry = Persist::Unknown {
            service: service.clone(),
            volume: volume.clone(),
        };
    }
}
