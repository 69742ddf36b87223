use std::collections::HashMap;

use bollard::query_parameters::BuildImageOptions;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};

use super::{ImageError, Recipe};
use crate::engine::Docker;

/// Images carry the hash of what went into them, so an unchanged recipe is not rebuilt.
const CONTENT_LABEL: &str = "dev.harness.content";

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum BuildOutcome {
    UpToDate {
        tag: String,
        content: String,
    },
    Built {
        tag: String,
        content: String,
        bytes: usize,
    },
}

impl std::fmt::Display for BuildOutcome {
    /// `<tag>: up to date`, or `<tag>: built (<size> MB context)`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BuildOutcome::UpToDate { tag, .. } => write!(f, "{tag}: up to date"),
            BuildOutcome::Built { tag, bytes, .. } => {
                write!(f, "{tag}: built ({:.1} MB context)", *bytes as f64 / 1e6)
            }
        }
    }
}

pub async fn build(docker: &Docker, recipe: &Recipe) -> Result<BuildOutcome, ImageError> {
    let (context, content) = context_tar(recipe)?;
    let tag = recipe.tag.clone();
    let existing = docker.image_info(&tag).await?;
    if existing.as_ref().and_then(|i| i.labels.get(CONTENT_LABEL)) == Some(&content) {
        return Ok(BuildOutcome::UpToDate { tag, content });
    }
    let options = BuildImageOptions {
        dockerfile: "Dockerfile".into(),
        t: Some(tag.clone()),
        rm: true,
        forcerm: true,
        labels: Some(HashMap::from([(
            CONTENT_LABEL.to_string(),
            content.clone(),
        )])),
        ..Default::default()
    };
    let bytes = context.len();
    let mut stream =
        docker
            .client()
            .build_image(options, None, Some(bollard::body_full(context.into())));
    while let Some(item) = stream.next().await {
        let info = item.map_err(|e| ImageError::Build {
            tag: tag.clone(),
            message: e.to_string(),
        })?;
        if let Some(detail) = info.error_detail {
            return Err(ImageError::Build {
                tag,
                message: detail.message.unwrap_or_default(),
            });
        }
        if let Some(line) = info
            .stream
            .as_deref()
            .map(str::trim)
            .filter(|l| !l.is_empty())
        {
            tracing::debug!(%tag, "{line}");
        }
    }
    Ok(BuildOutcome::Built {
        tag,
        content,
        bytes,
    })
}

/// The build context (Dockerfile + rootfs/) as a deterministic tar, and its content hash.
fn context_tar(recipe: &Recipe) -> Result<(Vec<u8>, String), ImageError> {
    let mut hasher = Sha256::new();
    let mut tar = tar::Builder::new(Vec::new());
    let mut add = |path: &str, mode: u32, data: &[u8], dir: bool| -> Result<(), ImageError> {
        hasher.update(path.as_bytes());
        hasher.update(mode.to_le_bytes());
        hasher.update(data);
        let mut header = tar::Header::new_gnu();
        header.set_entry_type(if dir {
            tar::EntryType::Directory
        } else {
            tar::EntryType::Regular
        });
        header.set_mode(mode);
        header.set_size(data.len() as u64);
        header.set_mtime(0);
        tar.append_data(&mut header, path, data)
            .map_err(|e| ImageError::Build {
                tag: recipe.tag.clone(),
                message: e.to_string(),
            })
    };
    add("Dockerfile", 0o644, recipe.dockerfile.as_bytes(), false)?;
    for (dir, mode) in &recipe.dirs {
        add(&format!("rootfs{dir}"), *mode, &[], true)?;
    }
    let mut files = recipe.files.clone();
    files.sort();
    for (dest, host) in &files {
        let data = std::fs::read(host).map_err(|source| ImageError::Read {
            path: host.clone(),
            source,
        })?;
        add(&format!("rootfs{dest}"), 0o755, &data, false)?;
    }
    let bytes = tar.into_inner().map_err(|e| ImageError::Build {
        tag: recipe.tag.clone(),
        message: e.to_string(),
    })?;
    Ok((bytes, hex::encode(hasher.finalize())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_context_is_deterministic_and_sensitive_to_content() {
        let recipe = Recipe {
            tag: "t:1".into(),
            files: vec![("/bin/x".into(), "/bin/true".into())],
            dirs: vec![("/tmp".into(), 0o1777)],
            dockerfile: "FROM scratch".into(),
        };
        let (a, ha) = context_tar(&recipe).unwrap();
        let (b, hb) = context_tar(&recipe).unwrap();
        assert_eq!((a, &ha), (b, &hb));
        let other = Recipe {
            dockerfile: "FROM scratch\nENV A=1".into(),
            ..recipe
        };
        assert_ne!(context_tar(&other).unwrap().1, ha);
    }
}
