//! The settings that let one image play different stacks: where health, the WebSocket and
//! the key-value store live, which variable holds the API key, and running with no store.
mod common;

use common::*;
use executor::Config;
use executor::routes::Paths;
use serde_json::json;

fn moved_paths() -> Paths {
    Paths {
        health: "/healthz".to_owned(),
        websocket: "/socket".to_owned(),
        kv: "/store".to_owned(),
    }
}

/// A service with a store and every path moved.
async fn moved_service(fixture: &RedisFixture) -> Service {
    let config = Config {
        paths: moved_paths(),
        ..test_config(&fixture.redis.url())
    };
    Service::start(config).await
}

async fn status_of(url: &str) -> u16 {
    http().get(url).send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn health_answers_on_health_path_only() {
    let fixture = RedisFixture::start();
    let service = moved_service(&fixture).await;

    let (status, body) = get_json(&service.url("/healthz")).await;
    assert_eq!(status, 200);
    // The body keeps its keys wherever it is served.
    assert_eq!(body["status"], "ok");
    assert_eq!(body["redis"]["connected"], true);
    assert_eq!(body["api_key_present"], false);
    assert_eq!(status_of(&service.url("/health")).await, 404);
    service.shutdown().await;
}

#[tokio::test]
async fn websocket_answers_on_ws_path_only() {
    let fixture = RedisFixture::start();
    let service = moved_service(&fixture).await;

    let mut ws = ws_connect(&service.ws_url()).await;
    assert!(service.ws_url().ends_with("/socket"));
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "execute",
        "params": {"command": "moved", "chunks": 2, "delay_ms": 0}});
    ws_send(&mut ws, &request.to_string()).await;
    let response = expect_execution(&mut ws, 7, "moved", 2).await;
    assert_eq!(response["result"]["recorded"], true);

    let old = format!("ws://{}/ws/mcp", service.running.ws_addr);
    let refused = within(WAIT, tokio_tungstenite::connect_async(old.as_str())).await;
    assert!(refused.is_err(), "the default path must not upgrade");
    service.shutdown().await;
}

#[tokio::test]
async fn kv_answers_on_kv_path_only() {
    let fixture = RedisFixture::start();
    let service = moved_service(&fixture).await;
    let client = http();

    let put = client
        .put(service.url("/store/moved"))
        .body("kept")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 204);
    let get = client
        .get(service.url("/store/moved"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.text().await.unwrap(), "kept");
    assert_eq!(status_of(&service.url("/kv/moved")).await, 404);
    service.shutdown().await;
}

#[tokio::test]
async fn without_a_store_health_is_ok_and_kv_is_503() {
    let config = Config {
        redis_url: None,
        ..test_config("unused")
    };
    let service = Service::start(config).await;

    let (status, body) = get_json(&service.url("/health")).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok", "{body}");
    assert!(
        body.get("redis").is_none(),
        "no store, no redis section: {body}"
    );

    let (status, body) = get_json(&service.url("/kv/anything")).await;
    assert_eq!(status, 503);
    assert!(
        body["error"].as_str().unwrap().contains("REDIS_URL"),
        "{body}"
    );
    let put = http()
        .put(service.url("/kv/anything"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 503);

    // Executions still stream; they are just not recorded.
    let mut ws = ws_connect(&service.ws_url()).await;
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": "execute",
        "params": {"command": "solo", "chunks": 1, "delay_ms": 0}});
    ws_send(&mut ws, &request.to_string()).await;
    let response = expect_execution(&mut ws, 1, "solo", 1).await;
    assert_eq!(response["result"]["recorded"], false);
    service.shutdown().await;
}

#[tokio::test]
async fn the_key_is_read_from_the_variable_api_key_env_names() {
    const SECRET: &str = "sk-openai-test-do-not-leak-789";
    let config = config_from_env(&[
        ("API_KEY_ENV", "OPENAI_API_KEY"),
        ("OPENAI_API_KEY", SECRET),
    ]);
    let service = Service::start(config).await;

    let body = get_text(&service.url("/health")).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["api_key_present"], true);
    assert!(!body.contains(SECRET), "{body}");
    service.shutdown().await;
}
