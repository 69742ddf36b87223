//! JSON-RPC 2.0 framing: parsing requests and shaping replies. Knows
//! nothing about sockets so it can be tested on plain strings.

use serde_json::{Map, Value, json};

use crate::execution::ExecuteParams;

pub const PARSE_ERROR: i64 = -32700;
pub const INVALID_REQUEST: i64 = -32600;
pub const METHOD_NOT_FOUND: i64 = -32601;
pub const INVALID_PARAMS: i64 = -32602;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpcError {
    pub code: i64,
    pub message: String,
}

impl RpcError {
    pub fn new(code: i64, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// A request that could not be parsed far enough to dispatch. `id` is what
/// could be recovered of the caller's id; JSON-RPC says to answer with null
/// when none could.
#[derive(Debug, Clone, PartialEq)]
pub struct Rejected {
    pub id: Value,
    pub error: RpcError,
}

impl Rejected {
    pub fn to_response(&self) -> Value {
        error_response(&self.id, &self.error)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Request {
    /// `None` marks a notification, which gets no response.
    pub id: Option<Value>,
    pub method: String,
    pub params: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Call {
    Ping,
    Execute(ExecuteParams),
}

pub fn parse(text: &str) -> Result<Request, Rejected> {
    let value: Value = serde_json::from_str(text).map_err(|e| Rejected {
        id: Value::Null,
        error: RpcError::new(PARSE_ERROR, format!("parse error: {e}")),
    })?;
    match value {
        Value::Object(object) => parse_object(object),
        Value::Array(_) => Err(invalid(Value::Null, "batch requests are not supported")),
        _ => Err(invalid(Value::Null, "request must be a JSON object")),
    }
}

fn parse_object(mut object: Map<String, Value>) -> Result<Request, Rejected> {
    let id = object.remove("id");
    if let Some(bad) = id.as_ref().filter(|id| !valid_id(id)) {
        return Err(invalid(
            Value::Null,
            format!("id must be a string, number or null, got {bad}"),
        ));
    }
    let reply_id = id.clone().unwrap_or(Value::Null);
    if object.get("jsonrpc") != Some(&Value::from("2.0")) {
        return Err(invalid(reply_id, r#"jsonrpc must be "2.0""#));
    }
    let Some(Value::String(method)) = object.remove("method") else {
        return Err(invalid(reply_id, "method must be a string"));
    };
    let params = object.remove("params");
    if params
        .as_ref()
        .is_some_and(|p| !(p.is_object() || p.is_array()))
    {
        return Err(invalid(reply_id, "params must be an object or an array"));
    }
    Ok(Request { id, method, params })
}

fn valid_id(id: &Value) -> bool {
    matches!(id, Value::String(_) | Value::Number(_) | Value::Null)
}

fn invalid(id: Value, message: impl Into<String>) -> Rejected {
    Rejected {
        id,
        error: RpcError::new(INVALID_REQUEST, message),
    }
}

impl Request {
    pub fn call(&self) -> Result<Call, RpcError> {
        match self.method.as_str() {
            "ping" => Ok(Call::Ping),
            "execute" => execute_params(self.params.clone()).map(Call::Execute),
            other => Err(RpcError::new(
                METHOD_NOT_FOUND,
                format!("method not found: {other}"),
            )),
        }
    }

    pub fn reply_id(&self) -> Value {
        self.id.clone().unwrap_or(Value::Null)
    }
}

fn execute_params(params: Option<Value>) -> Result<ExecuteParams, RpcError> {
    let params = match params {
        None => return Ok(ExecuteParams::default()),
        Some(Value::Object(object)) => object,
        Some(_) => return Err(RpcError::new(INVALID_PARAMS, "params must be an object")),
    };
    let parsed: ExecuteParams = serde_json::from_value(Value::Object(params))
        .map_err(|e| RpcError::new(INVALID_PARAMS, format!("invalid params: {e}")))?;
    parsed
        .validate()
        .map_err(|message| RpcError::new(INVALID_PARAMS, message))
}

pub fn response(id: &Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

pub fn error_response(id: &Value, error: &RpcError) -> Value {
    json!({
        "jsonrpc": "2.0",
        "id": id,
        "error": {"code": error.code, "message": error.message},
    })
}

pub fn notification(method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "method": method, "params": params})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(text: &str) -> Rejected {
        parse(text).unwrap_err()
    }

    #[test]
    fn parses_request_and_notification() {
        let request = parse(r#"{"jsonrpc":"2.0","id":7,"method":"ping"}"#).unwrap();
        assert_eq!(request.id, Some(json!(7)));
        assert_eq!(request.call(), Ok(Call::Ping));
        let note = parse(r#"{"jsonrpc":"2.0","method":"ping"}"#).unwrap();
        assert_eq!(note.id, None);
    }

    #[test]
    fn bad_json_is_parse_error_with_null_id() {
        let rejection = rejected("{not json");
        assert_eq!(rejection.error.code, PARSE_ERROR);
        assert_eq!(rejection.to_response()["id"], Value::Null);
    }

    #[test]
    fn malformed_requests_are_invalid_requests() {
        for text in [
            "[]",
            "42",
            r#"{"jsonrpc":"1.0","id":1,"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
            r#"{"jsonrpc":"2.0","id":{},"method":"ping"}"#,
            r#"{"jsonrpc":"2.0","id":1,"method":"ping","params":3}"#,
        ] {
            assert_eq!(rejected(text).error.code, INVALID_REQUEST, "{text}");
        }
        assert_eq!(
            rejected(r#"{"jsonrpc":"1.0","id":"a","method":"ping"}"#).id,
            json!("a")
        );
    }

    #[test]
    fn unknown_method_and_bad_params() {
        let unknown = parse(r#"{"jsonrpc":"2.0","id":1,"method":"nope"}"#).unwrap();
        assert_eq!(unknown.call().unwrap_err().code, METHOD_NOT_FOUND);
        for params in [r#"{"chunks":"3"}"#, r#"{"chunks":1001}"#, "[1]"] {
            let text =
                format!(r#"{{"jsonrpc":"2.0","id":1,"method":"execute","params":{params}}}"#);
            let request = parse(&text).unwrap();
            assert_eq!(request.call().unwrap_err().code, INVALID_PARAMS, "{params}");
        }
    }

    #[test]
    fn execute_params_have_defaults() {
        let request = parse(r#"{"jsonrpc":"2.0","id":1,"method":"execute"}"#).unwrap();
        assert_eq!(request.call(), Ok(Call::Execute(ExecuteParams::default())));
    }
}
