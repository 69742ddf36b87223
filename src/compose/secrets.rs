//! What counts as a secret in a compose file, judged the same way by lint (which reports
//! a literal one) and by the redactor (which keeps it out of every record).

use super::url::{plain_authority_len, spans};
use crate::redact::is_secret_name;

/// An environment key whose value is a secret: a secret-looking name, except the
/// `*_FILE`/`*_PATH` settings that point at a secret and public keys.
pub fn secret_setting(key: &str) -> bool {
    let k = key.to_ascii_uppercase();
    if k.ends_with("_FILE") || k.ends_with("_PATH") || k.contains("PUBLIC") {
        return false;
    }
    is_secret_name(&k)
}

/// Values under a secret-looking key that are settings or references, not secrets:
/// switches like `MYSQL_ALLOW_EMPTY_PASSWORD=yes` and paths to a key or secret file.
pub fn not_a_secret(value: &str) -> bool {
    let v = value.trim();
    let switch = ["true", "false", "yes", "no", "on", "off", "0", "1"]
        .iter()
        .any(|s| v.eq_ignore_ascii_case(s));
    v.is_empty() || switch || v.starts_with('/') || v.starts_with("./") || v.starts_with("~/")
}

/// The authority (`user:pass@host:port`) of every `scheme://` URL in a value.
pub fn urls(value: &str) -> Vec<Url<'_>> {
    spans(value, plain_authority_len)
        .into_iter()
        .map(|span| Url {
            scheme: &value[span.scheme],
            authority: &value[span.authority],
        })
        .collect()
}

pub struct Url<'a> {
    pub scheme: &'a str,
    pub authority: &'a str,
}

impl Url<'_> {
    fn userinfo(&self) -> Option<&str> {
        self.authority.rsplit_once('@').map(|(u, _)| u)
    }

    pub fn host(&self) -> &str {
        let hostport = self
            .authority
            .rsplit_once('@')
            .map(|(_, h)| h)
            .unwrap_or(self.authority);
        if let Some(v6) = hostport.strip_prefix('[') {
            return v6.split(']').next().unwrap_or(v6);
        }
        hostport.split(':').next().unwrap_or(hostport)
    }

    /// The password written into the URL, when it is a literal (not a `${VAR}`).
    pub fn literal_password(&self) -> Option<&str> {
        let (_, password) = self.userinfo()?.split_once(':')?;
        (!password.is_empty() && !password.contains('$')).then_some(password)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_settings_by_name() {
        for key in [
            "DB_PASSWORD",
            "API_KEY",
            "STRIPE_APIKEY",
            "apikey",
            "SMTP_PASS",
            "GCP_CREDENTIALS",
            "SSH_PRIVATE_KEY",
            "GITHUB_TOKEN",
            "JWT_SECRET",
            "DB_PASSWD",
        ] {
            assert!(secret_setting(key), "{key}");
        }
        for key in [
            "DB_PASSWORD_FILE",
            "SSH_PUBLIC_KEY",
            "KEY_PATH",
            "PASSENGER",
            "LOG_LEVEL",
            "KEYBOARD",
        ] {
            assert!(!secret_setting(key), "{key}");
        }
    }

    #[test]
    fn url_passwords() {
        let u = urls("postgres://app:s3cret@db:5432/app");
        assert_eq!(u[0].literal_password(), Some("s3cret"));
        assert_eq!(u[0].host(), "db");
        assert_eq!(urls("redis://:${PW}@r")[0].literal_password(), None);
        assert_eq!(urls("redis://r:6379")[0].literal_password(), None);
    }
}
