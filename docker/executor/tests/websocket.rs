mod common;

use std::collections::HashMap;

use common::*;
use serde_json::{Value, json};

fn execute(id: u64, params: Value) -> String {
    json!({"jsonrpc": "2.0", "id": id, "method": "execute", "params": params}).to_string()
}

#[tokio::test]
async fn execute_streams_chunks_in_order_and_records_the_execution() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let mut ws = ws_connect(&service.ws_url()).await;

    ws_send(
        &mut ws,
        &execute(1, json!({"command": "ls -la", "chunks": 5, "delay_ms": 5})),
    )
    .await;
    let response = expect_execution(&mut ws, 1, "ls -la", 5).await;

    assert_eq!(response["result"]["recorded"], true);
    let id = response["result"]["execution_id"]
        .as_str()
        .unwrap()
        .to_owned();
    let mut conn = fixture.redis.connection();
    let hash: HashMap<String, String> = redis::cmd("HGETALL")
        .arg(format!("executor:execution:{id}"))
        .query(&mut conn)
        .unwrap();
    assert_eq!(hash["command"], "ls -la");
    assert_eq!(hash["chunks"], "5");
    assert_eq!(hash["status"], "completed");
    assert_eq!(hash["execution_uuid"], EXECUTION_UUID);
    let started: u64 = hash["started_at"].parse().unwrap();
    let finished: u64 = hash["finished_at"].parse().unwrap();
    assert!(started <= finished);
    let listed: Vec<String> = redis::cmd("LRANGE")
        .arg("executor:executions")
        .arg(0)
        .arg(-1)
        .query(&mut conn)
        .unwrap();
    assert_eq!(listed, vec![id.clone()]);

    let (status, record) = get_json(&service.url(&format!("/executions/{id}"))).await;
    assert_eq!(status, 200);
    assert_eq!(
        record,
        json!({
            "execution_id": id,
            "command": "ls -la",
            "chunks": 5,
            "status": "completed",
            "started_at": started,
            "finished_at": finished,
            "execution_uuid": EXECUTION_UUID,
        })
    );
    service.shutdown().await;
}

#[tokio::test]
async fn execute_uses_defaults_and_serves_requests_in_sequence() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let mut ws = ws_connect(&service.ws_url()).await;

    let no_params = json!({"jsonrpc": "2.0", "id": 1, "method": "execute"});
    ws_send(&mut ws, &no_params.to_string()).await;
    let first = expect_execution(&mut ws, 1, "echo", 3).await;
    ws_send(&mut ws, &execute(2, json!({"chunks": 0}))).await;
    let second = expect_execution(&mut ws, 2, "echo", 0).await;

    assert_ne!(
        first["result"]["execution_id"],
        second["result"]["execution_id"]
    );
    service.shutdown().await;
}

#[tokio::test]
async fn ping_answers_pong() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let mut ws = ws_connect(&service.ws_url()).await;

    ws_send(&mut ws, r#"{"jsonrpc":"2.0","id":"p1","method":"ping"}"#).await;

    assert_eq!(
        ws_expect(&mut ws).await,
        json!({"jsonrpc": "2.0", "id": "p1", "result": "pong"})
    );
    service.shutdown().await;
}

async fn expect_error(ws: &mut Ws, request: &str, code: i64, id: Value) {
    ws_send(ws, request).await;
    let reply = ws_expect(ws).await;
    assert_eq!(reply["jsonrpc"], "2.0", "{reply}");
    assert_eq!(reply["id"], id, "{reply}");
    assert_eq!(reply["error"]["code"], code, "{reply}");
    assert!(reply["error"]["message"].is_string(), "{reply}");
    assert!(reply.get("result").is_none(), "{reply}");
}

#[tokio::test]
async fn errors_leave_the_connection_usable() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let mut ws = ws_connect(&service.ws_url()).await;

    let unknown = r#"{"jsonrpc":"2.0","id":1,"method":"launch_missiles"}"#;
    expect_error(&mut ws, unknown, -32601, json!(1)).await;
    expect_error(&mut ws, "{this is not json", -32700, Value::Null).await;
    let wrong_version = r#"{"jsonrpc":"1.0","id":2,"method":"ping"}"#;
    expect_error(&mut ws, wrong_version, -32600, json!(2)).await;
    expect_error(
        &mut ws,
        &execute(3, json!({"chunks": 5000})),
        -32602,
        json!(3),
    )
    .await;
    expect_error(
        &mut ws,
        &execute(4, json!({"chunks": "3"})),
        -32602,
        json!(4),
    )
    .await;

    ws_send(&mut ws, r#"{"jsonrpc":"2.0","id":5,"method":"ping"}"#).await;
    assert_eq!(ws_expect(&mut ws).await["result"], "pong");
    ws_send(&mut ws, &execute(6, json!({"chunks": 2, "delay_ms": 0}))).await;
    expect_execution(&mut ws, 6, "echo", 2).await;
    service.shutdown().await;
}

#[tokio::test]
async fn execute_still_streams_when_redis_is_down_but_reports_unrecorded() {
    let dir = tempfile::tempdir().unwrap();
    let service = Service::start(test_config(&dead_redis_url(&dir))).await;
    let mut ws = ws_connect(&service.ws_url()).await;

    ws_send(
        &mut ws,
        &execute(9, json!({"command": "true", "chunks": 2})),
    )
    .await;
    let response = expect_execution(&mut ws, 9, "true", 2).await;

    assert_eq!(response["result"]["recorded"], false);
    service.shutdown().await;
}

#[tokio::test]
async fn shutdown_lets_an_inflight_stream_finish() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let mut ws = ws_connect(&service.ws_url()).await;

    ws_send(&mut ws, &execute(1, json!({"chunks": 10, "delay_ms": 50}))).await;
    let first = ws_expect(&mut ws).await;
    assert_eq!(first["params"]["seq"], 0);
    let Service { running, stop, .. } = service;
    stop.send(()).unwrap();

    for seq in 1..10 {
        assert_eq!(ws_expect(&mut ws).await["params"]["seq"], seq);
    }
    let response = ws_expect(&mut ws).await;
    assert_eq!(response["result"]["status"], "completed");
    assert_eq!(
        ws_next(&mut ws).await,
        None,
        "expected a close after draining"
    );
    within(WAIT, running.wait()).await.unwrap();
}

#[tokio::test]
async fn shutdown_closes_idle_sessions_promptly() {
    let fixture = RedisFixture::start();
    let service = Service::start(test_config(&fixture.redis.url())).await;
    let mut ws = ws_connect(&service.ws_url()).await;
    ws_send(&mut ws, r#"{"jsonrpc":"2.0","id":1,"method":"ping"}"#).await;
    ws_expect(&mut ws).await;

    let Service { running, stop, .. } = service;
    stop.send(()).unwrap();

    assert_eq!(ws_next(&mut ws).await, None);
    // Well under the 3 s grace period: idle sessions must not hold shutdown up.
    within(std::time::Duration::from_secs(2), running.wait())
        .await
        .unwrap();
}
