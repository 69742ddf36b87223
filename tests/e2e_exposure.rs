//! A published port that binds beyond loopback fails the run as `exposed_port`, read back
//! from the engine's inspect after deploy — not only flagged by lint.

mod common;

use std::process::Command;

use common::{REPO, Workspace, engine_available, ensure_images};
use serde_json::Value;

/// The host's address on Docker's default bridge: not loopback, yet reachable from this
/// host only — so the test exposes nothing to the network, unlike 0.0.0.0 would.
fn bridge_ip() -> Option<String> {
    let out = Command::new("ip")
        .args(["-4", "-o", "addr", "show", "docker0"])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let cidr = text
        .split_whitespace()
        .skip_while(|w| *w != "inet")
        .nth(1)?;
    cidr.split('/').next().map(str::to_string)
}

#[test]
fn a_port_published_beyond_loopback_fails_the_deploy_as_exposed_port() {
    if !engine_available("a_port_published_beyond_loopback") {
        return;
    }
    let Some(ip) = bridge_ip() else {
        eprintln!(
            "SKIPPED a_port_published_beyond_loopback: no docker0 bridge address on this host"
        );
        return;
    };
    ensure_images();
    let ws = Workspace::new("e2e_exposed");
    let reference =
        std::fs::read_to_string(std::path::Path::new(REPO).join("docker/docker-compose.yml"))
            .expect("read the reference config");
    let config = ws.dir.path().join("exposed.yml");
    let bound = reference.replacen("\"127.0.0.1::8003\"", &format!("\"{ip}::8003\""), 1);
    assert_ne!(bound, reference);
    std::fs::write(&config, bound).expect("write");
    let out = ws
        .harness()
        .args([
            "--json",
            "run",
            "--steps",
            "lint,deploy,missing_key,multi_instance,shutdown",
            "--config",
        ])
        .arg(&config)
        .arg("--task")
        .arg(ws.task())
        .output()
        .expect("spawn");
    let run: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(out.status.code(), Some(1), "{run:#}");
    let steps = run["steps"].as_array().expect("steps");
    let step = |name: &str| steps.iter().find(|s| s["name"] == name).expect(name);
    // Lint has no rule against a specific address; the engine's own report catches it.
    assert_eq!(step("lint")["status"], "pass", "{run:#}");
    let deploy = step("deploy");
    assert_eq!(deploy["signature"], "exposed_port", "{deploy:#}");
    let exposed = deploy["evidence"]["exposed"].to_string();
    assert!(
        exposed.contains(&format!("{ip}:")) && exposed.contains("->8003"),
        "{exposed}"
    );
    // The extra instances are read back too.
    for name in ["missing_key", "multi_instance"] {
        assert_eq!(step(name)["signature"], "exposed_port", "{:#}", step(name));
    }
    assert_eq!(step("shutdown")["status"], "pass", "{run:#}");
    assert!(ws.leftovers().is_empty(), "{:?}", ws.leftovers());
}
