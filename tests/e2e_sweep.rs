//! A sweep on the real engine: it removes all it can even when one object cannot go yet,
//! and what another run held goes in the sweep once every run of the task is over (the
//! runs of one version at once that shared a fixed network name).

mod common;

use common::{Workspace, docker, engine_available, engine_ids, ensure_images};
use harness::engine::{Docker, LABEL_RUN, LABEL_SESSION};
use harness::owner::Session;

fn of_run(run: &str) -> Vec<String> {
    engine_ids(&format!("label={LABEL_RUN}={run}"))
}

#[test]
fn a_network_another_run_holds_stays_alone_and_goes_once_every_run_is_over() {
    if !engine_available("a_network_another_run_holds") {
        return;
    }
    ensure_images();
    let ws = Workspace::new("sweep_held");
    let (run, other) = (uuid::Uuid::new_v4(), uuid::Uuid::new_v4());
    let labels = |run: &uuid::Uuid| {
        vec![
            "--label".to_string(),
            format!("{LABEL_RUN}={run}"),
            "--label".to_string(),
            format!("dev.harness.task={}", ws.task_name),
            "--label".to_string(),
            format!("{LABEL_SESSION}={}", Session::current().id),
        ]
    };
    let net = format!("h-{}-fixed", ws.task_name);
    let mut create = vec!["network", "create"];
    let run_labels = labels(&run);
    create.extend(run_labels.iter().map(String::as_str));
    create.push(&net);
    docker(&create);
    let mut volume = vec!["volume", "create"];
    volume.extend(run_labels.iter().map(String::as_str));
    let volume = docker(&volume);
    // Another run's container on this run's network: the engine refuses to remove it.
    let other_labels = labels(&other);
    let mut holder = vec!["run", "-d", "--network", &net];
    holder.extend(other_labels.iter().map(String::as_str));
    holder.push("harness/redis:local");
    docker(&holder);

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let engine = rt.block_on(Docker::connect()).expect("engine");
    let swept = rt.block_on(engine.remove_labelled(LABEL_RUN, &run.to_string()));
    assert!(swept.is_err(), "the held network cannot go: {swept:?}");
    assert_eq!(
        of_run(&run.to_string()),
        vec![docker(&["network", "inspect", "-f", "{{.ID}}", &net])[..12].to_string()],
        "everything but the held network is gone, the volume {volume} too"
    );

    rt.block_on(engine.remove_labelled(LABEL_RUN, &other.to_string()))
        .expect("the other run's container goes");
    rt.block_on(harness::protocol::sweep_finished(&engine, &ws.task_name));
    assert!(of_run(&run.to_string()).is_empty());
    assert!(ws.leftovers().is_empty(), "{:?}", ws.leftovers());
}
