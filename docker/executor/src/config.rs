//! Settings read from the environment once at startup.

use std::net::IpAddr;
use std::time::Duration;

use tracing::level_filters::LevelFilter;

use crate::routes::{self, Paths};

pub const DEFAULT_API_PORT: u16 = 8000;
pub const DEFAULT_WEBSOCKET_PORT: u16 = 8003;
/// The variable read for the API key unless `API_KEY_ENV` names another.
pub const DEFAULT_API_KEY_ENV: &str = "ANTHROPIC_API_KEY";

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("{name}={value:?} is not a valid port number")]
    Port { name: &'static str, value: String },
    #[error("BIND_ADDR={0:?} is not an IP address")]
    BindAddr(String),
    #[error("LOG_LEVEL={0:?} is not one of off, error, warn, info, debug, trace")]
    LogLevel(String),
    #[error("{name}={value:?} {reason}")]
    Path {
        name: &'static str,
        value: String,
        reason: &'static str,
    },
    #[error(
        "API_KEY_ENV={0:?} is not a variable name (letters, digits and `_`, not starting with a digit)"
    )]
    KeyEnv(String),
}

/// The API key itself is deliberately not a field: only its presence is
/// kept, so no code path can log or serve the secret.
#[derive(Debug, Clone)]
pub struct Config {
    pub api_port: u16,
    pub websocket_port: u16,
    pub bind_addr: IpAddr,
    /// `None` when `REDIS_URL` is unset: the service runs without a store.
    pub redis_url: Option<String>,
    pub paths: Paths,
    /// The name of the variable holding the API key (its value is never kept).
    pub api_key_env: String,
    pub api_key_present: bool,
    pub log_level: LevelFilter,
    pub execution_uuid: Option<String>,
    /// How long in-flight work may run after a shutdown signal.
    pub shutdown_grace: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            api_port: DEFAULT_API_PORT,
            websocket_port: DEFAULT_WEBSOCKET_PORT,
            bind_addr: IpAddr::from([0, 0, 0, 0]),
            redis_url: None,
            paths: Paths::default(),
            api_key_env: DEFAULT_API_KEY_ENV.to_owned(),
            api_key_present: false,
            log_level: LevelFilter::INFO,
            execution_uuid: None,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads settings through `lookup` so tests need not mutate the
    /// process environment. Empty values count as unset.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
        let defaults = Self::default();
        let api_key_env = key_env(get("API_KEY_ENV"), defaults.api_key_env)?;
        Ok(Self {
            api_port: port(get("API_PORT"), "API_PORT", defaults.api_port)?,
            websocket_port: port(
                get("WEBSOCKET_PORT"),
                "WEBSOCKET_PORT",
                defaults.websocket_port,
            )?,
            bind_addr: bind_addr(get("BIND_ADDR"), defaults.bind_addr)?,
            redis_url: get("REDIS_URL"),
            paths: Paths::from_values(get("HEALTH_PATH"), get("WS_PATH"), get("KV_PATH"))?,
            api_key_present: get(&api_key_env).is_some(),
            api_key_env,
            log_level: log_level(get("LOG_LEVEL"), defaults.log_level)?,
            execution_uuid: get("EXECUTION_UUID"),
            shutdown_grace: defaults.shutdown_grace,
        })
    }
}

/// What the healthcheck subcommand probes: the API port and the health path, read on
/// their own because it must not fail on unrelated settings.
pub fn health_target(
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<(u16, String), ConfigError> {
    let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());
    let port = port(get("API_PORT"), "API_PORT", DEFAULT_API_PORT)?;
    let path = routes::path("HEALTH_PATH", get("HEALTH_PATH"))?;
    Ok((
        port,
        path.unwrap_or_else(|| routes::DEFAULT_HEALTH_PATH.to_owned()),
    ))
}

fn port(value: Option<String>, name: &'static str, default: u16) -> Result<u16, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse()
            .map_err(|_| ConfigError::Port { name, value: v }),
    }
}

fn key_env(value: Option<String>, default: String) -> Result<String, ConfigError> {
    let Some(v) = value else {
        return Ok(default);
    };
    let name = v.trim();
    let mut chars = name.chars();
    let valid = chars
        .next()
        .is_some_and(|c| c == '_' || c.is_ascii_alphabetic())
        && chars.all(|c| c == '_' || c.is_ascii_alphanumeric());
    if valid {
        Ok(name.to_owned())
    } else {
        Err(ConfigError::KeyEnv(v))
    }
}

fn bind_addr(value: Option<String>, default: IpAddr) -> Result<IpAddr, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::BindAddr(v)),
    }
}

fn log_level(value: Option<String>, default: LevelFilter) -> Result<LevelFilter, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => v.trim().parse().map_err(|_| ConfigError::LogLevel(v)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn from(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults_apply_when_unset() {
        let config = from(&[]).unwrap();
        assert_eq!(config.api_port, 8000);
        assert_eq!(config.websocket_port, 8003);
        assert_eq!(config.bind_addr.to_string(), "0.0.0.0");
        assert_eq!(
            config.redis_url, None,
            "no store unless REDIS_URL says where"
        );
        assert_eq!(config.paths, Paths::default());
        assert_eq!(config.api_key_env, "ANTHROPIC_API_KEY");
        assert!(!config.api_key_present);
        assert_eq!(config.log_level, LevelFilter::INFO);
        assert_eq!(config.execution_uuid, None);
    }

    #[test]
    fn empty_values_count_as_unset() {
        let config = from(&[("ANTHROPIC_API_KEY", ""), ("EXECUTION_UUID", " ")]).unwrap();
        assert!(!config.api_key_present);
        assert_eq!(config.execution_uuid, None);
    }

    #[test]
    fn reads_every_setting() {
        let config = from(&[
            ("API_PORT", "9000"),
            ("WEBSOCKET_PORT", "9003"),
            ("BIND_ADDR", "127.0.0.1"),
            ("REDIS_URL", "redis://localhost:1"),
            ("ANTHROPIC_API_KEY", "sk-secret"),
            ("LOG_LEVEL", "DEBUG"),
            ("EXECUTION_UUID", "run-1"),
        ])
        .unwrap();
        assert_eq!((config.api_port, config.websocket_port), (9000, 9003));
        assert_eq!(config.bind_addr.to_string(), "127.0.0.1");
        assert_eq!(config.redis_url.as_deref(), Some("redis://localhost:1"));
        assert!(config.api_key_present);
        assert_eq!(config.log_level, LevelFilter::DEBUG);
        assert_eq!(config.execution_uuid.as_deref(), Some("run-1"));
    }

    #[test]
    fn the_key_is_read_from_the_variable_api_key_env_names() {
        let config = from(&[
            ("API_KEY_ENV", "OPENAI_API_KEY"),
            ("OPENAI_API_KEY", "sk-other"),
        ])
        .unwrap();
        assert_eq!(config.api_key_env, "OPENAI_API_KEY");
        assert!(config.api_key_present);
        // The default variable no longer counts once another is named.
        let config = from(&[
            ("API_KEY_ENV", "OPENAI_API_KEY"),
            ("ANTHROPIC_API_KEY", "sk-ant"),
        ])
        .unwrap();
        assert!(!config.api_key_present);
        assert!(matches!(
            from(&[("API_KEY_ENV", "1BAD=NAME")]),
            Err(ConfigError::KeyEnv(_))
        ));
    }

    #[test]
    fn paths_are_read_from_the_environment() {
        let config = from(&[
            ("HEALTH_PATH", "/healthz"),
            ("WS_PATH", "/socket"),
            ("KV_PATH", "/store"),
        ])
        .unwrap();
        assert_eq!(config.paths.health, "/healthz");
        assert_eq!(config.paths.websocket, "/socket");
        assert_eq!(config.paths.kv, "/store");
        assert!(matches!(
            from(&[("WS_PATH", "socket")]),
            Err(ConfigError::Path {
                name: "WS_PATH",
                ..
            })
        ));
    }

    #[test]
    fn the_health_target_reads_only_port_and_path() {
        let env = HashMap::from([
            ("API_PORT", "9000"),
            ("HEALTH_PATH", "/healthz"),
            ("LOG_LEVEL", "not-a-level"),
        ]);
        let target = health_target(|n| env.get(n).map(|v| (*v).to_owned())).unwrap();
        assert_eq!(target, (9000, "/healthz".to_owned()));
        let target = health_target(|_| None).unwrap();
        assert_eq!(target, (8000, "/health".to_owned()));
        assert!(health_target(|n| (n == "HEALTH_PATH").then(|| "healthz".to_owned())).is_err());
    }

    #[test]
    fn log_level_is_case_insensitive() {
        for (raw, level) in [("INFO", LevelFilter::INFO), ("Warn", LevelFilter::WARN)] {
            assert_eq!(from(&[("LOG_LEVEL", raw)]).unwrap().log_level, level);
        }
    }

    #[test]
    fn rejects_bad_values() {
        assert!(matches!(
            from(&[("API_PORT", "http")]),
            Err(ConfigError::Port {
                name: "API_PORT",
                ..
            })
        ));
        assert!(matches!(
            from(&[("WEBSOCKET_PORT", "70000")]),
            Err(ConfigError::Port {
                name: "WEBSOCKET_PORT",
                ..
            })
        ));
        assert!(matches!(
            from(&[("BIND_ADDR", "localhost")]),
            Err(ConfigError::BindAddr(_))
        ));
        assert!(matches!(
            from(&[("LOG_LEVEL", "verbose")]),
            Err(ConfigError::LogLevel(_))
        ));
    }
}
