//! The reference task's protocol block, verbatim: the only place in `src/` that names the
//! reference stack. It is the fallback for a task prompt without a block of its own (older
//! tasks were all written for the reference stack), and a test keeps it equal to the block
//! in the reference prompt.

pub(super) const REFERENCE: &str = r#"apps:
  - service: cc_execute
    http:
      - port: 8000
        path: /health
        status: 200
        json:
          - pointer: /status
            is: string
    websocket:
      - port: 8003
        path: /ws/mcp
        request:
          method: execute
          params: {command: harness-probe, chunks: 5, delay_ms: 5}
        complete:
          notification: output
          chunks: 5
dependencies:
  - service: redis
    check:
      exec:
        command: [redis-cli, ping]
        expect: PONG
    reported: {port: 8000, path: /health, pointer: /redis/connected}
keys:
  - env: ANTHROPIC_API_KEY
    required: false
    reported: {port: 8000, path: /health, pointer: /api_key_present}
    warns: true
persistence:
  - service: redis
    through: {service: cc_execute, port: 8000, path: /kv}
restart:
  recover: [cc_execute]
instances: 2
"#;
