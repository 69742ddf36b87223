//! `loopback-service-url`: a URL that connects one service to another but points at
//! localhost, which inside a container is the container itself.
//!
//! Many URLs in an environment are not connections: `APP_URL=http://localhost:8080` is
//! where a browser reaches the app. So a loopback URL is reported only when it is a
//! connection to a backing service — a store's scheme (`redis://`, `postgres://`), a
//! variable that names one (`DATABASE_URL`, `REDIS_HOST`), or a port another service of
//! the project listens on — and never under a public or base URL's name. Hosts and ports
//! written as variables are read as Compose reads them: the sibling `.env`, then defaults.

use super::catalog::LOOPBACK_SERVICE_URL;
use super::finding::Sink;
use super::run::Ctx;
use super::yaml::{self, EnvEntry, Service};
use crate::compose::conventions::{backing_service_key, loopback, not_service_to_service};
use crate::compose::interp;
use crate::compose::listener::{Url, listeners, store_scheme, urls};

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    for svc in &ctx.services {
        if svc.shares_network_namespace() {
            continue;
        }
        for entry in yaml::environment(svc) {
            if let Some(message) = judge(ctx, svc, &entry) {
                sink.add(&LOOPBACK_SERVICE_URL, &entry.path, message);
            }
        }
    }
}

/// The finding's message when the entry is a loopback connection to a backing service.
fn judge(ctx: &Ctx<'_>, svc: &Service<'_>, entry: &EnvEntry) -> Option<String> {
    let raw = entry.value.as_deref()?;
    let key = &entry.key;
    if not_service_to_service(key) {
        return None;
    }
    let lookup = |name: &str| ctx.dotenv_values.get(name).map(str::to_string);
    let value = interp::resolve(raw, &lookup);
    let backing_key = backing_service_key(key);
    urls(&value).iter().find_map(|url| {
        if !loopback(url.host) {
            return None;
        }
        let targets = listeners(&ctx.services, svc, url);
        let connection = backing_key || store_scheme(url.scheme) || !targets.is_empty();
        connection.then(|| message(key, url, &targets))
    })
}

fn message(key: &str, url: &Url<'_>, targets: &[&str]) -> String {
    let fix = match targets {
        [one] => format!("use `{one}` as the host"),
        _ => "use the other service's name as the host".to_string(),
    };
    format!(
        "`{key}` points at {}, which inside a container is the container itself, so the \
         connection is refused — {fix}",
        url.host
    )
}

#[cfg(test)]
mod tests {
    use crate::lint::finding::Level;
    use crate::lint::tests::{at, lint_yaml, rule_paths};

    const LOOP: &str = "loopback-service-url";

    fn svc(body: &str) -> String {
        format!("services:\n  app:\n    image: x\n{body}")
    }

    #[test]
    fn store_schemes_and_store_names_fire() {
        let f = lint_yaml(&svc(
            "    environment:\n      - REDIS_URL=redis://localhost:6379\n      - DATABASE_URL=postgres://user@127.0.0.1/db\n      - FALLBACK=${U:-amqp://guest@localhost}\n      - CELERY_BROKER_URL=http://[::1]:9999\n      - GOOD=redis://redis:6379\n      - ASPNETCORE_URLS=http://localhost:5000\n",
        ));
        assert_eq!(
            rule_paths(&f, LOOP),
            vec![
                "services.app.environment[0]",
                "services.app.environment[1]",
                "services.app.environment[2]",
                "services.app.environment[3]",
            ]
        );
        let hit = at(&f, "services.app.environment[0]", LOOP);
        assert_eq!(hit.level, Level::Error);
        assert_eq!(hit.mutation, Some("service-host"));
    }

    #[test]
    fn public_and_base_urls_are_quiet_whatever_their_port() {
        let f = lint_yaml(
            "services:\n  web:\n    image: nginx\n    ports: [\"8080:80\"]\n  app:\n    image: x\n    environment:\n      APP_URL: http://localhost:80\n      API_BASE_URL: http://localhost:80\n      PUBLIC_URL: http://localhost:3000\n      SITE_URL: http://127.0.0.1:80\n      GITLAB_EXTERNAL_URL: http://localhost\n      PAPERLESS_URL: http://127.0.0.1:8910\n      API: http://[::1]:7000/x\n",
        );
        assert_eq!(rule_paths(&f, LOOP), Vec::<String>::new());
    }

    #[test]
    fn a_port_another_service_listens_on_fires_and_names_it() {
        let f = lint_yaml(
            "services:\n  api:\n    image: example/api:1\n    expose: [\"7000\"]\n  cache:\n    image: redis:7\n  app:\n    image: x\n    ports: [\"3000:3000\"]\n    environment:\n      API: http://localhost:7000/v1\n      STATS: http://localhost:6379\n      SELF: http://localhost:3000\n",
        );
        assert_eq!(
            rule_paths(&f, LOOP),
            vec![
                "services.app.environment.API",
                "services.app.environment.STATS"
            ]
        );
        let hit = at(&f, "services.app.environment.API", LOOP);
        assert!(
            hit.message.contains("use `api` as the host"),
            "{}",
            hit.message
        );
    }

    #[test]
    fn hosts_and_ports_from_dotenv_and_defaults() {
        use crate::lint::Dotenv;
        use crate::lint::run::{Options, lint_value_with};
        let text = "services:\n  api:\n    image: example/api:1\n    expose: [\"7000\"]\n  app:\n    image: x\n    environment:\n      API: http://${API_HOST:-localhost}:${API_PORT}/v1\n";
        let doc = serde_yaml_ng::from_str(text).unwrap();
        let quiet = lint_value_with(&doc, &Options::default());
        assert_eq!(rule_paths(&quiet, LOOP), Vec::<String>::new());
        let opts = Options {
            dotenv_values: Dotenv::parse("API_PORT=7000\n"),
            ..Options::default()
        };
        let f = lint_value_with(&doc, &opts);
        assert_eq!(rule_paths(&f, LOOP), vec!["services.app.environment.API"]);
        let opts = Options {
            dotenv_values: Dotenv::parse("API_PORT=7000\nAPI_HOST=api\n"),
            ..Options::default()
        };
        assert_eq!(
            rule_paths(&lint_value_with(&doc, &opts), LOOP),
            Vec::<String>::new()
        );
    }

    #[test]
    fn loopback_is_fine_in_a_shared_network_namespace() {
        let f = lint_yaml(&svc(
            "    network_mode: \"service:vpn\"\n    environment:\n      REDIS_URL: redis://localhost:6379\n",
        ));
        assert_eq!(rule_paths(&f, LOOP), Vec::<String>::new());
    }
}
