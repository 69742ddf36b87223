use super::*;
use crate::spec::DependencyCheck;

fn draft(text: &str) -> Draft {
    infer(&ComposeFile::parse("c.yml", text, 1).unwrap())
}

const STACK: &str = r#"services:
  web:
    image: shop/web:1
    ports:
      - "127.0.0.1::8080"
      - "${WS_PORT:-9090}:9090"
      - "5353:5353/udp"
    environment:
      CACHE_URL: redis://cache:6379/0
      DB_HOST: db
      OPENAI_API_KEY: ${OPENAI_API_KEY:-}
      GITHUB_TOKEN: ${GITHUB_TOKEN}
      DB_PASSWORD: ${DB_PASSWORD:-}
      SESSION_SECRET: literal-not-a-variable
      PUBLIC_URL: http://localhost:8080
      EVENTS_URL: ws://web:9090/ws/events
    healthcheck:
      test: ["CMD-SHELL", "curl -fsS http://localhost:8080/healthz || exit 1"]
  cache:
    image: redis:7-alpine
    ports: ["6379:6379"]
    healthcheck:
      test: ["CMD", "redis-cli", "ping"]
    volumes:
      - cache_data:/data
  db:
    image: postgres:16
    volumes:
      - pg_data:/var/lib/postgresql/data
      - ./init.sql:/docker-entrypoint-initdb.d/init.sql
  ui:
    image: rediscommander/redis-commander
    ports: ["127.0.0.1::8081"]
volumes:
  cache_data:
  pg_data:
"#;

#[test]
fn apps_are_the_services_that_publish_ports_and_are_no_store() {
    let d = draft(STACK);
    let apps: Vec<(&str, &[u16])> = d
        .apps
        .iter()
        .map(|a| (a.service.as_str(), a.ports.as_slice()))
        .collect();
    assert_eq!(
        apps,
        vec![("web", &[8080, 9090][..]), ("ui", &[8081][..])],
        "udp is not probed; a store publishing its port is still a store"
    );
    assert_eq!(d.recover, vec!["web", "ui"]);
    assert_eq!(d.instances, 2);
}

#[test]
fn the_healthcheck_url_is_the_http_endpoint_and_ws_paths_are_hints() {
    let d = draft(STACK);
    let web = &d.apps[0];
    assert_eq!(web.http.len(), 1);
    assert_eq!(
        (web.http[0].port, web.http[0].path.as_str()),
        (8080, "/healthz")
    );
    assert_eq!(web.ws_hints, vec!["/ws/events"]);
    assert!(d.apps[1].http.is_empty(), "no healthcheck, no guess");
}

#[test]
fn dependencies_are_stores_reached_by_url_host_variable_or_image() {
    let d = draft(STACK);
    let deps: Vec<(&str, Option<&DependencyCheck>)> = d
        .dependencies
        .iter()
        .map(|x| (x.service.as_str(), x.check.as_ref()))
        .collect();
    assert_eq!(
        deps,
        vec![
            (
                "cache",
                Some(&DependencyCheck::Exec {
                    command: vec!["redis-cli".into(), "ping".into()],
                    expect: None
                })
            ),
            ("db", Some(&DependencyCheck::Tcp { port: 5432 })),
        ]
    );
    assert!(d.dependencies[0].because.contains("redis://cache"));
    assert!(d.dependencies[1].because.contains("DB_HOST"));
    assert_eq!(
        d.dependencies[0].aliases,
        vec!["redis"],
        "its scheme and image"
    );
    assert_eq!(d.dependencies[1].aliases, vec!["postgres"]);
}

#[test]
fn keys_are_key_like_variables_optional_with_an_empty_default() {
    let d = draft(STACK);
    let keys: Vec<(&str, bool)> = d
        .keys
        .iter()
        .map(|k| (k.env.as_str(), k.required))
        .collect();
    assert_eq!(
        keys,
        vec![("OPENAI_API_KEY", false), ("GITHUB_TOKEN", true)],
        "passwords and literal values are not API keys"
    );
}

#[test]
fn persistence_is_a_store_with_a_named_volume() {
    let d = draft(STACK);
    assert_eq!(d.persistence.len(), 2);
    match &d.persistence[0] {
        Persist::Exec {
            service,
            volume,
            write,
            read,
        } => {
            assert_eq!((service.as_str(), volume.as_str()), ("cache", "cache_data"));
            assert_eq!(write, &["redis-cli", "SET", "{key}", "{value}"]);
            assert_eq!(read, &["redis-cli", "GET", "{key}"]);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        &d.persistence[1],
        Persist::Unknown { service, volume } if service == "db" && volume == "pg_data"
    ));
    let gaps = d.gaps();
    assert!(
        gaps.iter().any(|g| g.field == "persistence[db]"),
        "{gaps:?}"
    );
}

#[test]
fn a_store_without_a_port_or_command_is_a_gap() {
    let d = draft(
        "services:\n  app:\n    image: a\n    ports: ['7000']\n    environment:\n      Q: amqp://queue\n  queue:\n    image: my/queue\n",
    );
    assert_eq!(d.dependencies.len(), 1);
    assert!(d.dependencies[0].check.is_none());
    let fields: Vec<String> = d.gaps().into_iter().map(|g| g.field).collect();
    assert_eq!(
        fields,
        vec![
            "apps[app].http",
            "apps[app].websocket",
            "dependencies[queue].check"
        ]
    );
}

#[test]
fn a_stack_without_published_ports_has_no_app_and_says_so() {
    let d = draft("services:\n  worker:\n    image: w\n");
    assert!(d.apps.is_empty() && d.recover.is_empty());
    assert_eq!(d.gaps()[0].field, "apps");
}

#[test]
fn websocket_paths_are_found_standing_alone_or_as_a_urls_path() {
    let log = r#"INFO listening api=0.0.0.0:1 websocket=0.0.0.0:2 path=/ws/chat
{"msg":"ready","socket":"/socket","url":"wss://edge:443/websocket/v2"}
GET /app/ws 404 /wsx /ws."#;
    assert_eq!(
        ws_paths_in(log),
        vec!["/ws/chat", "/socket", "/websocket/v2", "/ws"],
        "`/app/ws` is not a WebSocket path, `/wsx` is another word"
    );
}

#[test]
fn a_variable_named_for_a_websocket_path_gives_its_path() {
    assert!(super::names_a_websocket("WS_PATH") && super::names_a_websocket("websocket_route"));
    assert!(!super::names_a_websocket("WEBSOCKET_PORT") && !super::names_a_websocket("KV_PATH"));
}
