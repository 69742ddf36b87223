mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test]
async fn health_is_ok_with_redis_and_without_api_key() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;

    let (status, body) = get_json(&service.url("/health")).await;

    assert_eq!(status, 200);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["service"], "executor");
    assert_eq!(
        body["redis"],
        serde_json::json!({"connected": true, "target": fixture.redis.url()})
    );
    assert_eq!(body["api_key_present"], false);
    assert_eq!(body["execution_uuid"], EXECUTION_UUID);
    assert_eq!(body["version"], env!("CARGO_PKG_VERSION"));
    assert!(body["uptime_ms"].is_u64(), "{body}");
    service.shutdown().await;
}

#[tokio::test]
async fn health_reports_api_key_presence_but_never_its_value() {
    const SECRET: &str = "sk-ant-test-do-not-leak-123";
    let fixture = RedisFixture::start();
    let url = fixture.redis.url();
    let config = config_from_env(&[("ANTHROPIC_API_KEY", SECRET), ("REDIS_URL", &url)]);
    let service = Service::start(config).await;

    let body = get_text(&service.url("/health")).await;

    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["api_key_present"], true);
    assert_eq!(json["execution_uuid"], serde_json::Value::Null);
    assert!(!body.contains(SECRET), "{body}");
    assert!(!body.contains("sk-ant"), "{body}");
    service.shutdown().await;
}

#[tokio::test]
async fn health_is_degraded_quickly_when_redis_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(test_config(&dead_redis_url(&dir))).await;

    let started = Instant::now();
    let (status, body) = get_json(&service.url("/health")).await;

    assert!(
        started.elapsed() < Duration::from_secs(3),
        "health took too long"
    );
    assert_eq!(status, 200);
    assert_eq!(body["status"], "degraded");
    assert_eq!(body["redis"]["connected"], false);
    let error = body["redis"]["error"].as_str().unwrap();
    assert!(!error.is_empty(), "{body}");
    service.shutdown().await;
}

#[tokio::test]
async fn health_recovers_when_redis_starts_after_the_service() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("late.sock");
    let service = Service::start(test_config(&redis_url(&socket))).await;
    wait_for_health(&service, |b| b["status"] == "degraded").await;

    let _redis = RedisServer::start(&socket);

    let body = wait_for_health(&service, |b| b["status"] == "ok").await;
    assert_eq!(body["redis"]["connected"], true);
    service.shutdown().await;
}

#[tokio::test]
async fn health_recovers_after_redis_restart() {
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("r.sock");
    let redis = RedisServer::start(&socket);
    let service = Service::start(test_config(&redis_url(&socket))).await;
    wait_for_health(&service, |b| b["status"] == "ok").await;

    drop(redis);
    wait_for_health(&service, |b| b["status"] == "degraded").await;
    let _redis = RedisServer::start(&socket);

    wait_for_health(&service, |b| b["status"] == "ok").await;
    service.shutdown().await;
}

#[tokio::test]
async fn kv_roundtrip_goes_through_redis() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let client = http();

    let put = client
        .put(service.url("/kv/greeting"))
        .body("hello persistence")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 204);

    let get = client
        .get(service.url("/kv/greeting"))
        .send()
        .await
        .unwrap();
    assert_eq!(get.status().as_u16(), 200);
    assert_eq!(get.text().await.unwrap(), "hello persistence");

    let stored: String = redis::cmd("GET")
        .arg("executor:kv:greeting")
        .query(&mut fixture.redis.connection())
        .unwrap();
    assert_eq!(stored, "hello persistence");
    service.shutdown().await;
}

#[tokio::test]
async fn kv_missing_key_is_404_json() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;

    let (status, body) = get_json(&service.url("/kv/never-set")).await;

    assert_eq!(status, 404);
    assert!(
        body["error"].as_str().unwrap().contains("never-set"),
        "{body}"
    );
    service.shutdown().await;
}

#[tokio::test]
async fn kv_is_503_json_when_redis_is_down() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(test_config(&dead_redis_url(&dir))).await;

    let (status, body) = get_json(&service.url("/kv/anything")).await;
    assert_eq!(status, 503);
    assert!(body["error"].is_string(), "{body}");

    let put = http()
        .put(service.url("/kv/anything"))
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(put.status().as_u16(), 503);
    service.shutdown().await;
}

#[tokio::test]
async fn unknown_execution_is_404_json() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;

    let (status, body) = get_json(&service.url("/executions/no-such-id")).await;

    assert_eq!(status, 404);
    assert!(body["error"].is_string(), "{body}");
    service.shutdown().await;
}
