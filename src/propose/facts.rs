use std::collections::HashMap;

use crate::compose::ComposeFile;
use crate::engine::Docker;
use crate::mutate::ImageFacts;
use crate::run::record::RunRecord;

/// What the engine and the run's evidence say about the config's images: their own
/// healthchecks, and whether they have a shell at all.
pub async fn image_facts(
    docker: &Docker,
    file: &ComposeFile,
    run: Option<&RunRecord>,
) -> ImageFacts {
    let mut facts = ImageFacts {
        healthcheck: HashMap::new(),
        has_shell: HashMap::new(),
    };
    let evidence = run
        .map(|r| serde_json::to_string(&r.steps).unwrap_or_default())
        .unwrap_or_default();
    // The runtime's own words when a healthcheck needed a shell the image does not have.
    let shell_missing = evidence.contains("/bin/sh") && evidence.contains("no such file");
    for (_, image) in file.images() {
        let Ok(Some(info)) = docker.image_info(&image).await else {
            continue;
        };
        if let Some(test) = info.healthcheck {
            facts.healthcheck.insert(image.clone(), test);
        }
        // Images `harness images` built are FROM scratch: binaries, libraries, no shell.
        let scratch = info.labels.contains_key("dev.harness.content");
        facts.has_shell.insert(image, !(scratch || shell_missing));
    }
    facts
}
