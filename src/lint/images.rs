//! Which image a service runs: a tag that moves, no digest, and a build whose result may
//! lose to a pulled image.

use super::catalog::{BUILD_AND_IMAGE, FLOATING_TAG, IMAGE_NOT_PINNED};
use super::finding::Sink;
use super::run::Ctx;
use super::yaml::{self, Service};
use crate::compose::interp;

/// Tags that name a channel, not a release.
const FLOATING: [&str; 18] = [
    "latest", "stable", "edge", "dev", "develop", "devel", "nightly", "main", "master", "mainline",
    "current", "rolling", "beta", "alpha", "canary", "unstable", "testing", "next",
];

/// `registry:5000/ns/name:tag@sha256:…` split into its tag and digest.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct ImageRef {
    pub tag: Option<String>,
    pub digest: Option<String>,
}

pub(crate) fn parse_image(image: &str) -> ImageRef {
    let (name, digest) = match image.split_once('@') {
        Some((n, d)) => (n, Some(d.to_string())),
        None => (image, None),
    };
    // A colon after the last slash starts the tag; one before it is a registry port.
    let last = name.rsplit('/').next().unwrap_or(name);
    let tag = last.split_once(':').map(|(_, t)| t.to_string());
    ImageRef { tag, digest }
}

pub(crate) fn check(ctx: &Ctx<'_>, sink: &mut Sink) {
    for svc in &ctx.services {
        build_and_image(svc, sink);
        // With `build:`, `image:` names what the build produces, not something pulled.
        if yaml::get(svc.body, "build").is_some() {
            continue;
        }
        let Some(raw) = yaml::get_str(svc.body, "image") else {
            continue;
        };
        let image = interp::unset(&raw);
        let image = image.trim();
        // A reference whose every part is a variable names no image until it is set.
        if image.is_empty() || image.starts_with(':') || image.starts_with('@') {
            continue;
        }
        let r = parse_image(image);
        if r.digest.is_some() {
            continue;
        }
        let path = svc.path.key("image");
        let name = &svc.name;
        match r.tag.as_deref().map(str::trim) {
            None | Some("") => sink.add(
                &FLOATING_TAG,
                &path,
                format!(
                    "`{name}` runs `{image}` without a tag, which means `latest`: two deploys \
                     of this file can run different code — pin a version tag"
                ),
            ),
            Some(tag) if FLOATING.contains(&tag.to_ascii_lowercase().as_str()) => sink.add(
                &FLOATING_TAG,
                &path,
                format!(
                    "`{name}` runs `{image}`: `{tag}` moves with every release, so two \
                     deploys of this file can run different code — pin a version tag"
                ),
            ),
            Some(_) => {}
        }
        sink.add(
            &IMAGE_NOT_PINNED,
            &path,
            format!(
                "`{name}` pulls `{image}` by tag: pin it by digest (`{image}@sha256:…`) for a \
                 reproducible deploy"
            ),
        );
    }
}

fn build_and_image(svc: &Service<'_>, sink: &mut Sink) {
    if yaml::get(svc.body, "build").is_none()
        || yaml::get(svc.body, "image").is_none()
        || yaml::get(svc.body, "pull_policy").is_some()
    {
        return;
    }
    sink.add(
        &BUILD_AND_IMAGE,
        &svc.path,
        format!(
            "`{}` has both `build:` and `image:` but no `pull_policy`: whether it runs the \
             local build or a pulled image depends on what happens to be cached — set \
             `pull_policy: build` (or `never`/`always`)",
            svc.name
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lint::tests::{lint_yaml, rule_paths};

    fn images(list: &[&str]) -> String {
        let mut s = "services:\n".to_string();
        for (i, image) in list.iter().enumerate() {
            s.push_str(&format!("  s{i}:\n    image: \"{image}\"\n"));
        }
        s
    }

    #[test]
    fn references_split_at_the_right_colon() {
        assert_eq!(
            parse_image("reg:5000/a/b:1.2@sha256:ab"),
            ImageRef {
                tag: Some("1.2".into()),
                digest: Some("sha256:ab".into())
            }
        );
        assert_eq!(parse_image("reg:5000/a/b").tag, None);
    }

    #[test]
    fn floating_and_missing_tags() {
        let f = lint_yaml(&images(&[
            "nginx",
            "nginx:latest",
            "redis:STABLE",
            "postgres:16.2",
            "reg:5000/app",
            "app@sha256:0123",
            "${IMAGE}",
            "app:${TAG:-1.0}",
            "app:${TAG:-latest}",
        ]));
        assert_eq!(
            rule_paths(&f, "image-floating-tag"),
            vec![
                "services.s0.image",
                "services.s1.image",
                "services.s2.image",
                "services.s4.image",
                "services.s8.image",
            ]
        );
        assert_eq!(rule_paths(&f, "image-not-pinned").len(), 7);
        assert!(!rule_paths(&f, "image-not-pinned").contains(&"services.s5.image".to_string()));
    }

    #[test]
    fn build_and_image_need_a_pull_policy() {
        let f = lint_yaml(
            "services:\n  a:\n    build: .\n    image: me/a\n  b:\n    build: .\n    image: me/b:1\n    pull_policy: build\n  c:\n    build: .\n",
        );
        assert_eq!(
            rule_paths(&f, "build-and-image-without-pull-policy"),
            vec!["services.a"]
        );
        assert!(rule_paths(&f, "image-floating-tag").is_empty());
        assert!(rule_paths(&f, "image-not-pinned").is_empty());
    }
}
