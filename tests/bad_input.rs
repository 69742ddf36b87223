//! Bad input gets a clear error — the file, the field, the fix — exit 2, and nothing on
//! disk changes.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use common::{Workspace, engine_available};

/// Every file under `dir` with its bytes.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.display().to_string(),
                    std::fs::read(&path).expect("read"),
                );
            }
        }
    }
    files
}

/// Runs `harness run` with `args`; asserts exit 2, an unchanged workspace, and that stderr
/// names every one of `needles`.
fn rejects(ws: &Workspace, args: &[&str], needles: &[&str]) {
    rejects_with_env(ws, &[], args, needles);
}

fn rejects_with_env(ws: &Workspace, env: &[(&str, &str)], args: &[&str], needles: &[&str]) {
    let mut run = ws.harness();
    run.envs(env.iter().copied())
        .arg("run")
        .arg("--task")
        .arg(ws.task());
    refuses(ws, run, args, needles);
}

/// Runs `cmd` with `args`; asserts exit 2, an unchanged workspace, and that stderr names
/// every one of `needles`.
fn refuses(ws: &Workspace, mut cmd: std::process::Command, args: &[&str], needles: &[&str]) {
    let before = snapshot(ws.dir.path());
    let out = cmd.args(args).output().expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{args:?}: `{needle}` not in: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        snapshot(ws.dir.path()),
        before,
        "{args:?} changed files on disk"
    );
}

fn write(ws: &Workspace, name: &str, text: &str) -> String {
    let path = ws.dir.path().join(name);
    std::fs::write(&path, text).expect("write");
    path.display().to_string()
}

#[test]
fn malformed_yaml_names_file_line_and_column() {
    let ws = Workspace::new("bad_yaml");
    let bad = write(&ws, "bad.yml", "services:\n  app:\n    image: [unclosed\n");
    rejects(
        &ws,
        &["--config", &bad],
        &["bad.yml:", "not valid YAML", "line"],
    );
}

#[test]
fn a_file_without_services_or_with_an_unknown_key_is_rejected() {
    let ws = Workspace::new("bad_shape");
    let empty = write(&ws, "empty.yml", "version: '3.8'\n");
    rejects(&ws, &["--config", &empty], &["empty.yml", "`services`"]);
    let typo = write(
        &ws,
        "typo.yml",
        "services:\n  a: {image: x}\nnetwork:\n  n: {}\n",
    );
    rejects(
        &ws,
        &["--config", &typo],
        &["typo.yml", "unknown top-level key `network`", "x-"],
    );
}

#[test]
fn a_config_that_does_not_exist_is_named() {
    let ws = Workspace::new("bad_path");
    rejects(
        &ws,
        &["--config", "/nonexistent/compose.yml"],
        &["/nonexistent/compose.yml", "--config"],
    );
}

/// A forced Compose CLI that does not run (or a value that names none) stops the run
/// before anything is written, naming the variable and the way out.
#[test]
fn a_forced_compose_cli_that_is_absent_is_named() {
    if !engine_available("a_forced_compose_cli_that_is_absent_is_named") {
        return;
    }
    let ws = Workspace::new("bad_compose");
    let absent = [("HARNESS_COMPOSE", "/nonexistent/docker-compose")];
    rejects_with_env(
        &ws,
        &absent,
        &[],
        &["HARNESS_COMPOSE=/nonexistent/docker-compose", "unset it"],
    );
    let unknown = [("HARNESS_COMPOSE", "v3")];
    rejects_with_env(&ws, &unknown, &[], &["HARNESS_COMPOSE=v3", "`v1`, `v2`"]);
}

#[test]
fn an_unknown_step_lists_the_real_ones() {
    let ws = Workspace::new("bad_step");
    rejects(
        &ws,
        &["--steps", "deploy,probe_everything"],
        &["probe_everything", "port_discovery"],
    );
}

/// Waits a clock cannot hold (they panicked in the clock arithmetic), bounds that run
/// nothing and a time that is not one (it filtered silently) are bad input, named.
#[test]
fn waits_counts_and_times_out_of_range_are_refused() {
    let ws = Workspace::new("bad_numbers");
    for (args, needles) in [
        (
            &["--timeout", "18446744073709551615"][..],
            &["--timeout", "1..=86400"][..],
        ),
        (&["--timeout", "0"], &["--timeout", "1..=86400"]),
        (
            &["--stop-timeout", "18446744073709551615"],
            &["--stop-timeout", "0..=86400"],
        ),
        (
            &["--reaper-grace", "86401"],
            &["--reaper-grace", "0..=86400"],
        ),
    ] {
        rejects(&ws, args, needles);
    }
    let mut iterate = ws.harness();
    iterate.args(["iterate", "--task"]).arg(ws.task());
    refuses(
        &ws,
        iterate,
        &["--runs-per-version", "0"],
        &["--runs-per-version", "0"],
    );
}

/// A path that is not a user's file at all — an endless device — is refused once it
/// passes the bound, named, instead of being read into memory.
#[test]
fn an_endless_file_given_as_task_config_or_lint_target_is_refused() {
    let ws = Workspace::new("endless");
    rejects(&ws, &["--config", "/dev/zero"], &["/dev/zero", "16 MiB"]);
    let mut task = ws.harness();
    task.args(["run", "--task", "/dev/zero"]);
    refuses(&ws, task, &[], &["/dev/zero", "16 MiB"]);
    // lint reports a file it cannot read among its findings, on stdout, and exits 2.
    let lint = ws
        .harness()
        .args(["lint", "/dev/zero"])
        .output()
        .expect("lint");
    let said = String::from_utf8_lossy(&lint.stdout);
    assert_eq!(lint.status.code(), Some(2), "{said}");
    assert!(
        said.contains("/dev/zero") && said.contains("16 MiB"),
        "{said}"
    );
}

#[test]
fn broken_prompts_are_rejected_with_the_fix() {
    let ws = Workspace::new("bad_prompt");
    let shipped = std::fs::read_to_string(ws.task()).expect("read");
    let no_yaml = shipped.replacen("```yaml", "```text", 1);
    std::fs::write(ws.task(), &no_yaml).expect("write");
    rejects(&ws, &[], &[&ws.task_name, "```yaml"]);

    let two = format!("{shipped}\n```yaml\nservices: {{}}\n```\n");
    std::fs::write(ws.task(), &two).expect("write");
    rejects(&ws, &[], &[&ws.task_name, "second"]);

    let broken_table = shipped.replacen(
        "| v1      | Initial implementation with dynamic ports | TBD | TBD |",
        "| v1 | only two cells |",
        1,
    );
    std::fs::write(ws.task(), &broken_table).expect("write");
    rejects(&ws, &[], &[&ws.task_name, ":13"]);
}

#[test]
fn a_protocol_naming_a_service_the_config_lacks_is_rejected_at_its_line() {
    let ws = Workspace::new("bad_protocol");
    let shipped = std::fs::read_to_string(ws.task()).expect("read");
    let wrong = shipped.replacen("  recover: [cc_execute]", "  recover: [worker]", 1);
    assert_ne!(
        wrong, shipped,
        "the shipped prompt declares restart.recover"
    );
    let line = wrong
        .lines()
        .position(|l| l.contains("recover: [worker]"))
        .expect("line")
        + 1;
    std::fs::write(ws.task(), &wrong).expect("write");
    let at = format!("{}.md:{line}:", ws.task_name);
    rejects(
        &ws,
        &[],
        &[
            &at,
            "`worker`",
            "name one of its services: redis, cc_execute",
        ],
    );
    // Nothing was recorded: no scoreboard, no runs directory.
    assert!(!ws.db().exists() && !ws.runs().exists());
}

#[test]
fn a_corrupt_scoreboard_or_an_unwritable_runs_dir_stops_before_any_deploy() {
    if !engine_available("a_corrupt_scoreboard") {
        return;
    }
    let ws = Workspace::new("bad_store");
    std::fs::write(
        ws.db(),
        b"this is not a database, just bytes that look like none",
    )
    .expect("write");
    rejects(
        &ws,
        &["--config", "docker/docker-compose.yml"],
        &["scoreboard", "scoreboard.db"],
    );
    std::fs::remove_file(ws.db()).expect("rm");

    // A device or a directory as the scoreboard: named as what it is (SQLite said
    // "database is locked" of /dev/null), and the iterate lock is not made beside it.
    let dir = ws.dir.path().join("a-directory").display().to_string();
    std::fs::create_dir(&dir).expect("mkdir");
    for db in ["/dev/null", dir.as_str()] {
        let needles = [format!("`{db}` is not a file"), "--db".to_string()];
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        rejects_with_env(
            &ws,
            &[("HARNESS_DB", db)],
            &["--config", "docker/docker-compose.yml"],
            &needles,
        );
        let mut iterate = ws.harness();
        iterate
            .env("HARNESS_DB", db)
            .arg("iterate")
            .arg("--task")
            .arg(ws.task());
        refuses(&ws, iterate, &[], &needles);
    }
    std::fs::remove_dir(&dir).expect("rmdir");

    // A file where the runs directory should be.
    std::fs::write(ws.runs(), b"").expect("write a file named runs");
    rejects(
        &ws,
        &["--config", "docker/docker-compose.yml"],
        &["runs directory", "--runs-dir"],
    );
    assert!(ws.leftovers().is_empty());
}

/// `cmd` as a user the file modes apply to: as root (who writes through any mode), the same
/// command under `setpriv` as nobody, keeping access to the Docker socket.
fn unprivileged(cmd: &std::process::Command) -> std::process::Command {
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false);
    let mut out = if root {
        use std::os::unix::fs::MetadataExt;
        let mut c = std::process::Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534"]);
        match std::fs::metadata("/var/run/docker.sock") {
            Ok(m) => c.arg(format!("--groups={}", m.gid())),
            Err(_) => c.arg("--clear-groups"),
        };
        c.arg("--").arg(cmd.get_program());
        c
    } else {
        std::process::Command::new(cmd.get_program())
    };
    out.args(cmd.get_args()).env("HOME", "/tmp");
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => out.env(k, v),
            None => out.env_remove(k),
        };
    }
    if root {
        // Another user does not see this user's Compose CLI plugin (it lives in root's 0700
        // home), so a forced v2 would stop the command before what these tests check. The
        // refusals come before any Compose call, so the system-wide v1 serves, where it is.
        if which("docker-compose") {
            out.env("HARNESS_COMPOSE", "v1");
        } else {
            out.env_remove("HARNESS_COMPOSE");
        }
    }
    if let Some(dir) = cmd.get_current_dir() {
        out.current_dir(dir);
    }
    out
}

fn which(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// Makes `path` read-only for [`unprivileged`] commands; the workspace itself stays theirs.
fn read_only(ws: &Workspace, path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(ws.dir.path(), std::fs::Permissions::from_mode(0o777))
        .expect("chmod workspace");
    let mode = if path.is_dir() { 0o555 } else { 0o444 };
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// Runs `cmd`; asserts exit 2, an unchanged workspace, and stderr naming every needle.
fn refused(ws: &Workspace, what: &str, mut cmd: std::process::Command, needles: &[&str]) {
    let before = snapshot(ws.dir.path());
    let out = cmd.output().expect("spawn");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{what}: {stderr}");
    for needle in needles {
        assert!(
            stderr.contains(needle),
            "{what}: `{needle}` not in: {stderr}"
        );
    }
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    assert_eq!(
        snapshot(ws.dir.path()),
        before,
        "{what} changed files on disk"
    );
}

/// A valid, empty export stream: these tests are about where it would land, not what.
fn empty_stream(ws: &Workspace) -> std::path::PathBuf {
    let path = ws.dir.path().join("empty.jsonl");
    std::fs::write(&path, b"\n").expect("write");
    path
}

#[test]
fn a_read_only_or_corrupt_scoreboard_refuses_an_import_and_nothing_changes() {
    let ws = Workspace::new("bad_store_import");
    let stream = empty_stream(&ws);
    let created = ws.harness().arg("scoreboard").output().expect("spawn");
    assert!(created.status.success(), "{created:?}");
    read_only(&ws, &ws.db());
    let mut import = ws.harness();
    import.arg("import").arg(&stream);
    refused(
        &ws,
        "read-only scoreboard",
        unprivileged(&import),
        &["scoreboard.db", "read-only", "--db"],
    );
    assert!(!ws.dir.path().join("scoreboard.db-wal").exists());

    std::fs::remove_file(ws.db()).expect("rm");
    std::fs::write(ws.db(), b"not a database, just bytes").expect("write");
    refused(
        &ws,
        "corrupt scoreboard",
        import,
        &["scoreboard.db", "not a database", "move it aside", "--db"],
    );

    let mut missing = ws.harness();
    missing.args(["import", "/nonexistent/runs.jsonl"]);
    refused(
        &ws,
        "missing stream",
        missing,
        &["/nonexistent/runs.jsonl", "harness export --jsonl"],
    );
}

#[test]
fn a_read_only_scoreboard_stops_a_run_before_any_deploy() {
    if !engine_available("a_read_only_scoreboard_stops_a_run_before_any_deploy") {
        return;
    }
    let ws = Workspace::new("ro_store");
    let created = ws.harness().arg("scoreboard").output().expect("spawn");
    assert!(created.status.success(), "{created:?}");
    read_only(&ws, &ws.db());
    let mut run = ws.harness();
    run.args(["run", "--config", "docker/docker-compose.yml", "--task"])
        .arg(ws.task());
    refused(
        &ws,
        "read-only scoreboard",
        unprivileged(&run),
        &["scoreboard.db", "read-only", "--db"],
    );
    assert!(ws.leftovers().is_empty());
}

#[test]
fn an_unwritable_runs_dir_stops_a_run_and_an_import() {
    let ws = Workspace::new("ro_runs");
    std::fs::create_dir(ws.runs()).expect("mkdir runs");
    read_only(&ws, &ws.runs());
    let stream = empty_stream(&ws);
    let mut import = ws.harness();
    import.arg("import").arg(&stream);
    refused(
        &ws,
        "import into an unwritable runs dir",
        unprivileged(&import),
        &["runs directory", "/runs", "--runs-dir"],
    );
    assert!(!ws.db().exists(), "the scoreboard was created");
    if !engine_available("an_unwritable_runs_dir_stops_a_run") {
        return;
    }
    let mut run = ws.harness();
    run.args(["run", "--config", "docker/docker-compose.yml", "--task"])
        .arg(ws.task());
    refused(
        &ws,
        "run into an unwritable runs dir",
        unprivileged(&run),
        &["runs directory", "/runs", "--runs-dir"],
    );
    assert!(ws.leftovers().is_empty());
}

#[test]
fn a_task_that_does_not_exist_is_named() {
    let ws = Workspace::new("bad_task_path");
    let mut run = ws.harness();
    run.args(["run", "--task", "/nonexistent/task.md"]);
    refused(
        &ws,
        "missing task",
        run,
        &["/nonexistent/task.md", "--task"],
    );
}

#[test]
fn an_exhausted_port_range_is_refused_before_anything_is_written() {
    let ws = Workspace::new("bad_range");
    // The range's only port is taken (here by this test), as by another program.
    let held = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = held.local_addr().expect("addr").port();
    let range = format!("{port}-{port}");
    rejects(
        &ws,
        &[
            "--config",
            "docker/docker-compose.yml",
            "--port-range",
            &range,
        ],
        &[
            "--port-range",
            &range,
            "0 of its ports are free",
            "publishes 2",
            "widen the range",
        ],
    );
    rejects(
        &ws,
        &["--port-range", "30000"],
        &["--port-range", "FIRST-LAST"],
    );
    drop(held);
}

/// A prompt without a protocol block runs only where the project names one for it: from a
/// directory without harness.toml it is refused with the ways to get one; a `protocol` file
/// that is missing, or written for another stack, is named at its own line.
#[test]
fn a_prompt_without_a_block_needs_the_project_s_protocol_and_one_that_fits() {
    let ws = Workspace::new("no_block");
    let shipped = std::fs::read_to_string(ws.task()).expect("read");
    std::fs::write(ws.task(), common::without_protocol_block(&shipped)).expect("write");
    let task = ws.task().display().to_string();
    let from_ws = |toml: Option<&str>, needles: &[&str]| {
        if let Some(toml) = toml {
            write(&ws, "harness.toml", toml);
        }
        let mut run = ws.harness();
        run.current_dir(ws.dir.path())
            .args(["run", "--task", &task]);
        refuses(&ws, run, &[], needles);
    };
    from_ws(
        None,
        &[
            &task,
            "no ```harness-protocol block",
            "harness init",
            "protocol = ",
        ],
    );
    from_ws(
        Some("protocol = \"nowhere.yml\"\n"),
        &["nowhere.yml:1:", "default protocol block", "harness.toml"],
    );
    write(
        &ws,
        "other.yml",
        "# another stack's\napps:\n  - service: web\n    http: [{port: 80, path: /}]\n",
    );
    from_ws(
        Some("protocol = \"other.yml\"\n"),
        &["other.yml:3:", "`web`", "candidate config does not define"],
    );
}

#[test]
fn without_a_task_or_with_a_broken_harness_toml_nothing_runs() {
    let ws = Workspace::new("no_task");
    let before = snapshot(ws.dir.path());
    let here = |cmd: &str| {
        let out = ws
            .harness()
            .current_dir(ws.dir.path())
            .env_remove("HARNESS_TASK")
            .arg(cmd)
            .output()
            .expect("spawn");
        assert_eq!(out.status.code(), Some(2), "{cmd}: {out:?}");
        String::from_utf8_lossy(&out.stderr).into_owned()
    };
    for cmd in ["run", "iterate", "propose", "lint"] {
        let stderr = here(cmd);
        for needle in [
            "no task given",
            "--task FILE",
            "HARNESS_TASK",
            "harness.toml",
        ] {
            assert!(
                stderr.contains(needle),
                "{cmd}: `{needle}` not in: {stderr}"
            );
        }
    }
    let after = snapshot(ws.dir.path());
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        before.keys().collect::<Vec<_>>()
    );
    assert!(after == before, "a refused command changed files");
    std::fs::write(ws.dir.path().join("harness.toml"), "tasks = \"a.md\"\n").unwrap();
    let stderr = here("run");
    for needle in [
        "harness.toml",
        "tasks",
        "`task`, `graduate_to`, `images` and `protocol`",
    ] {
        assert!(stderr.contains(needle), "`{needle}` not in: {stderr}");
    }
}

#[test]
fn a_config_that_does_not_fit_the_task_s_protocol_block_is_refused() {
    let ws = Workspace::new("bad_fit");
    let config = write(
        &ws,
        "other.yml",
        "services:\n  web:\n    image: harness/executor:local\n",
    );
    rejects(
        &ws,
        &["--config", &config],
        &[
            "names service `cc_execute`",
            "--config",
            "other.yml",
            "harness init --config",
        ],
    );
}

#[test]
fn a_malformed_recipes_file_or_an_unknown_binary_stops_images_before_any_build() {
    let ws = Workspace::new("bad_images");
    let good = std::fs::read_to_string(Path::new(common::REPO).join("docker/images.toml"))
        .expect("the project's recipes");
    let typo = write(
        &ws,
        "typo.toml",
        &good.replacen("instructions = [", "instuctions = [", 1),
    );
    let mode = write(
        &ws,
        "mode.toml",
        &good.replacen("\"1777\"", "\"rwxrwxrwt\"", 1),
    );
    let project = write(&ws, "images.toml", &good);
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["--recipes", &typo],
            &["typo.toml:", "instuctions", "instructions"],
        ),
        (
            &["--recipes", &mode],
            &["mode.toml", "dirs[0].mode", "rwxrwxrwt", "octal"],
        ),
        (
            &["--recipes", &project, "--binary", "nosuch=/bin/true"],
            &["nosuch", "redis-server"],
        ),
        (
            &["--recipes", &project, "--binary", "no-equals"],
            &["NAME=PATH"],
        ),
    ];
    for (args, needles) in cases {
        let mut images = ws.harness();
        // No engine is needed to refuse: the file is read before the engine is asked.
        images
            .env("DOCKER_HOST", "unix:///nonexistent/docker.sock")
            .arg("images");
        refuses(&ws, images, args, needles);
    }
}

#[test]
fn a_second_iterate_on_a_task_is_refused_before_anything_is_deployed() {
    let ws = Workspace::new("bi_lock");
    let name = harness::task::Prompt::load(&ws.task())
        .expect("task")
        .name()
        .to_string();
    // This test process plays the first loop.
    let held = harness::cycle::IterateLock::take(&ws.db(), &name).expect("lock");
    let mut iterate = ws.harness();
    iterate
        .arg("iterate")
        .arg("--apply")
        .arg("--task")
        .arg(ws.task());
    let pid = format!("pid {}", std::process::id());
    let needles = [format!("task `{name}` is being iterated"), pid];
    let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
    refuses(&ws, iterate, &[], &needles);
    drop(held);
    assert!(!ws.db().exists(), "no scoreboard was opened");
}
