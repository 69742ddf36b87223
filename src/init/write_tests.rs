use std::path::PathBuf;

use super::*;
use crate::compose::ComposeFile;
use crate::init::infer;
use crate::spec::ProtocolSpec;
use crate::task::Prompt;

const CONFIG: &str = "services:\n  web:\n    image: w\n    ports: [\"127.0.0.1::8080\", \"127.0.0.1::9090\"]\n    environment:\n      OPENAI_API_KEY: ${OPENAI_API_KEY:-}\n      CACHE_URL: redis://cache:6379\n  cache:\n    image: redis:7\n    healthcheck:\n      test: [CMD, redis-cli, ping]\n";

/// The draft `init` would have after a deployment that answered everything.
fn confirmed() -> Draft {
    let file = ComposeFile::parse("c.yml", CONFIG, 1).unwrap();
    let mut d = infer(&file);
    d.deployed = true;
    d.apps[0].http = vec![HttpEndpoint {
        port: 8080,
        path: "/health".into(),
        status: 200,
        json: vec![JsonCheck {
            pointer: "/status".into(),
            is: Some("string".into()),
            equals: None,
        }],
    }];
    d.apps[0].websocket = vec![WsEndpoint {
        port: 9090,
        path: "/ws".into(),
        request: None,
        complete: Default::default(),
    }];
    let reported = |pointer: &str| Reported {
        port: 8080,
        path: "/health".into(),
        pointer: pointer.into(),
    };
    d.dependencies[0].reported = Some(reported("/cache/connected"));
    d.keys[0].reported = Some(reported("/api_key_present"));
    d
}

fn prompt_text(config: &str, draft: &Draft) -> String {
    let src = Source {
        name: "compose.yml",
        text: config,
        task: "prompts/shop.md",
        now: "2026-01-01 00:00:00",
    };
    prompt(&src, draft)
}

#[test]
fn the_prompt_reads_back_as_a_fresh_task_with_the_config_verbatim() {
    let text = prompt_text(CONFIG, &confirmed());
    let p = Prompt::parse(PathBuf::from("prompts/shop.md"), text).unwrap();
    assert_eq!(p.name(), "shop");
    assert_eq!(p.config_yaml(), CONFIG);
    let m = p.metrics();
    assert_eq!((m.successes, m.failures, m.last_uuid), (0, 0, None));
    assert_eq!(p.history().len(), 1);
    assert!(p.history()[0].result == "TBD" && p.history()[0].uuid == "TBD");
    assert!(p.protocol_block().is_some());
}

#[test]
fn the_written_block_passes_the_spec_validation() {
    let text = prompt_text(CONFIG, &confirmed());
    let p = Prompt::parse(PathBuf::from("prompts/shop.md"), text).unwrap();
    let own = ComposeFile::parse("shop.md", p.config_yaml(), p.config_line()).unwrap();
    let spec = ProtocolSpec::of_prompt(&p, &own, None).unwrap();
    assert_eq!(spec.from_project(), None);
    let f = spec.file();
    assert_eq!(f.apps[0].http[0].json[0].is.as_deref(), Some("string"));
    assert_eq!(f.apps[0].websocket[0].path, "/ws");
    assert_eq!(
        f.dependencies[0].reported.as_ref().unwrap().pointer,
        "/cache/connected"
    );
    assert!(!f.keys[0].required);
    assert_eq!(f.restart.recover, vec!["web"]);
    assert_eq!(f.instances, 2);
}

#[test]
fn persistence_is_written_in_the_store_or_left_as_a_placeholder() {
    let mut d = confirmed();
    d.persistence = vec![
        Persist::Exec {
            service: "cache".into(),
            volume: "cache".into(),
            write: vec![
                "redis-cli".into(),
                "SET".into(),
                "{key}".into(),
                "{value}".into(),
            ],
            read: vec!["redis-cli".into(), "GET".into(), "{key}".into()],
        },
        Persist::Unknown {
            service: "db".into(),
            volume: "pg".into(),
        },
    ];
    let block = protocol_block(&d);
    let doc: Value = serde_yaml_ng::from_str(&block).unwrap();
    let entries = doc["persistence"].as_sequence().unwrap();
    assert_eq!(
        entries.len(),
        1,
        "the unknown one is only a comment:\n{block}"
    );
    assert_eq!(entries[0]["service"], Value::from("cache"));
    let write: Vec<&str> = entries[0]["exec"]["write"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(write, ["redis-cli", "SET", "{key}", "{value}"]);
    assert!(
        block.contains("# TODO(harness init): persistence[db]"),
        "{block}"
    );
}

#[test]
fn gaps_are_commented_placeholders_and_the_block_still_reads() {
    let file = ComposeFile::parse("c.yml", CONFIG, 1).unwrap();
    let d = infer(&file);
    let block = protocol_block(&d);
    assert!(
        block.contains("    # TODO(harness init): apps[web].http: not deployed"),
        "{block}"
    );
    assert!(
        block.contains("    # http:\n    #   - port: 8080"),
        "{block}"
    );
    assert!(
        block.contains("    # TODO(harness init): apps[web].websocket"),
        "{block}"
    );
    let doc: Value = serde_yaml_ng::from_str(&block).unwrap();
    assert_eq!(doc["apps"][0]["service"], Value::from("web"));
    assert!(doc["apps"][0].get("http").is_none());
    // The prompt still reads as a task; the block waits for its gaps to be filled.
    let text = prompt_text(CONFIG, &d);
    assert!(
        text.contains("from the config alone (`--no-deploy`)"),
        "{text}"
    );
    assert!(Prompt::parse(PathBuf::from("t.md"), text).is_ok());
    let confirmed = prompt_text(CONFIG, &confirmed());
    assert!(confirmed.contains("from the config and one deployment of it"));
}

#[test]
fn a_config_holding_a_fence_gets_a_longer_one() {
    let config = "services:\n  a:\n    image: x\n    command: |\n      ```\n";
    assert_eq!(fence_for(config), "````");
    let text = prompt_text(config, &confirmed());
    let p = Prompt::parse(PathBuf::from("t.md"), text).unwrap();
    assert_eq!(p.config_yaml(), config);
}

#[test]
fn scalars_read_back_as_the_same_strings() {
    for (s, written) in [
        ("/health", "/health"),
        ("redis-cli", "redis-cli"),
        ("{key}", "\"{key}\""),
        ("true", "\"true\""),
        ("7000", "\"7000\""),
        ("a b", "\"a b\""),
        ("", "\"\""),
        ("/a~1b", "\"/a~1b\""),
    ] {
        assert_eq!(scalar(s), written);
        let back: Value = serde_yaml_ng::from_str(&format!("x: {}", scalar(s))).unwrap();
        assert_eq!(back["x"], Value::from(s), "{s}");
    }
}
