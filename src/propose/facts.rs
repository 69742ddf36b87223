use crate::compose::ComposeFile;
use crate::engine::Docker;
use crate::mutate::Facts;
use crate::run::record::RunRecord;
use crate::spec::SpecFile;

/// What the engine and the run's evidence say about the config's images (their own
/// healthchecks and data directories, whether they have a shell at all), and which
/// services the task's protocol says keep its data.
pub async fn facts(
    docker: &Docker,
    file: &ComposeFile,
    run: Option<&RunRecord>,
    spec: &SpecFile,
) -> Facts {
    let mut facts = Facts {
        stores: spec.persistence.iter().map(|p| p.service.clone()).collect(),
        ..Facts::default()
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
        facts.volumes.insert(image.clone(), info.volumes);
        if let Some(test) = info.healthcheck {
            facts.healthcheck.insert(image.clone(), test);
        }
        // Images `harness images` built are FROM scratch: binaries, libraries, no shell.
        let scratch = info.labels.contains_key("dev.harness.content");
        facts.has_shell.insert(image, !(scratch || shell_missing));
    }
    facts
}
