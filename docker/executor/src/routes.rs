//! Where the endpoints live. Each path is a setting so that stacks built from this one
//! image can differ (a `/healthz` here, a `/socket` there), as different teams' stacks do.

use crate::config::ConfigError;

pub const DEFAULT_HEALTH_PATH: &str = "/health";
pub const DEFAULT_WS_PATH: &str = "/ws/mcp";
pub const DEFAULT_KV_PATH: &str = "/kv";
/// Fixed: execution records are read here, and the key-value path must not shadow it.
pub const EXECUTIONS_PATH: &str = "/executions";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `GET` answers the health report.
    pub health: String,
    /// The WebSocket upgrade, on the WebSocket listener.
    pub websocket: String,
    /// `GET`/`PUT {kv}/<key>`, without a trailing slash.
    pub kv: String,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            health: DEFAULT_HEALTH_PATH.to_owned(),
            websocket: DEFAULT_WS_PATH.to_owned(),
            kv: DEFAULT_KV_PATH.to_owned(),
        }
    }
}

impl Paths {
    /// Reads `HEALTH_PATH`, `WS_PATH` and `KV_PATH` (values already trimmed of emptiness).
    pub fn from_values(
        health: Option<String>,
        websocket: Option<String>,
        kv: Option<String>,
    ) -> Result<Self, ConfigError> {
        let defaults = Self::default();
        let health = path("HEALTH_PATH", health)?.unwrap_or(defaults.health);
        let websocket = path("WS_PATH", websocket)?.unwrap_or(defaults.websocket);
        let kv = match path("KV_PATH", kv)? {
            None => defaults.kv,
            Some(kv) => kv_prefix(kv)?,
        };
        Ok(Self {
            health,
            websocket,
            kv,
        })
    }

    /// The route of one key under the key-value path.
    pub fn kv_route(&self) -> String {
        format!("{}/{{key}}", self.kv)
    }
}

/// A literal URL path: the router would read `{…}`, `:` and `*` as parameters (or panic),
/// so they are refused here with the setting's name instead.
pub fn path(name: &'static str, value: Option<String>) -> Result<Option<String>, ConfigError> {
    let Some(value) = value else {
        return Ok(None);
    };
    let trimmed = value.trim();
    let reason = if !trimmed.starts_with('/') {
        Some("must start with `/`")
    } else if trimmed
        .chars()
        .any(|c| c.is_whitespace() || "{}:*?#".contains(c))
    {
        Some("must be a literal path without whitespace, `{`, `}`, `:`, `*`, `?` or `#`")
    } else if trimmed.contains("//") {
        Some("must not contain an empty segment (`//`)")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::Path {
            name,
            value,
            reason,
        }),
        None => Ok(Some(trimmed.to_owned())),
    }
}

fn kv_prefix(kv: String) -> Result<String, ConfigError> {
    let prefix = kv.trim_end_matches('/').to_owned();
    let reason = if prefix.is_empty() {
        Some("must name a path below `/`, e.g. `/kv`")
    } else if prefix == EXECUTIONS_PATH {
        Some("must not be `/executions`, where execution records are read")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(ConfigError::Path {
            name: "KV_PATH",
            value: kv,
            reason,
        }),
        None => Ok(prefix),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn some(s: &str) -> Option<String> {
        Some(s.to_owned())
    }

    #[test]
    fn defaults_are_the_reference_paths() {
        let paths = Paths::from_values(None, None, None).unwrap();
        assert_eq!(paths, Paths::default());
        assert_eq!(paths.kv_route(), "/kv/{key}");
    }

    #[test]
    fn every_path_can_be_set() {
        let paths = Paths::from_values(some("/healthz"), some("/socket"), some("/store/")).unwrap();
        assert_eq!(paths.health, "/healthz");
        assert_eq!(paths.websocket, "/socket");
        assert_eq!(paths.kv, "/store", "a trailing slash is dropped");
        assert_eq!(paths.kv_route(), "/store/{key}");
    }

    #[test]
    fn refuses_what_the_router_would_misread() {
        for (name, bad) in [
            ("HEALTH_PATH", "healthz"),
            ("HEALTH_PATH", "/a/{id}"),
            ("WS_PATH", "/:ws"),
            ("WS_PATH", "/a b"),
            ("HEALTH_PATH", "/a//b"),
            ("KV_PATH", "/"),
            ("KV_PATH", "/executions"),
        ] {
            let (h, w, k) = match name {
                "HEALTH_PATH" => (some(bad), None, None),
                "WS_PATH" => (None, some(bad), None),
                _ => (None, None, some(bad)),
            };
            match Paths::from_values(h, w, k) {
                Err(ConfigError::Path { name: got, .. }) => assert_eq!(got, name, "{bad}"),
                other => panic!("{bad}: {other:?}"),
            }
        }
    }
}
