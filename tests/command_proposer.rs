//! The command proposer alone: what a command's exit, silence and slowness mean, and that a
//! timeout kills everything the command started. No engine.

use std::time::{Duration, Instant};

use harness::propose::{Answer, CommandProposer, Proposer, ProposerContext};

fn run(command: &str, timeout: Duration) -> Answer {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let ctx = ProposerContext {
        current_yaml: "services:\n  a:\n    image: x\n".into(),
        ..ProposerContext::default()
    };
    rt.block_on(
        CommandProposer {
            command: command.into(),
            timeout,
        }
        .propose(&ctx),
    )
}

#[test]
fn stdout_is_the_candidate_and_stdin_the_context() {
    // The command echoes the context's config back with a change: it did read stdin.
    let answer = run(
        "python3 -c 'import json,sys; print(json.load(sys.stdin)[\"current_yaml\"].replace(\"x\", \"y\"))'",
        Duration::from_secs(30),
    );
    let Answer::Candidate(c) = answer else {
        panic!("{answer:?}");
    };
    assert_eq!(c.yaml, "services:\n  a:\n    image: y\n");
    assert!(c.provenance.request_sha256.is_some() && c.provenance.response_sha256.is_some());
    assert!(c.transcript.is_some_and(|t| t.contains("current_yaml")));
}

#[test]
fn a_failing_or_silent_command_is_no_proposal() {
    let Answer::Nothing(why) = run("echo oops >&2; exit 3", Duration::from_secs(30)) else {
        panic!("exit 3 is no proposal");
    };
    assert!(why.contains("oops") && why.contains('3'), "{why}");
    let Answer::Nothing(why) = run("cat > /dev/null", Duration::from_secs(30)) else {
        panic!("silence is no proposal");
    };
    assert!(why.contains("answered nothing"), "{why}");
}

#[test]
fn a_timeout_kills_the_whole_process_group() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pidfile = dir.path().join("pid");
    // A grandchild that would outlive its shell, and holds stdout open.
    let command = format!("sleep 60 & echo $! > {}; wait", pidfile.display());
    let started = Instant::now();
    let Answer::Nothing(why) = run(&command, Duration::from_secs(1)) else {
        panic!("a timeout is no proposal");
    };
    assert!(why.contains("killed"), "{why}");
    assert!(started.elapsed() < Duration::from_secs(10), "bounded");
    let pid: i32 = std::fs::read_to_string(&pidfile)
        .expect("pid")
        .trim()
        .parse()
        .expect("number");
    let gone = (0..50).any(|_| {
        let alive = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None).is_ok()
            && !std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|s| s.contains(") Z "));
        if alive {
            std::thread::sleep(Duration::from_millis(100));
        }
        !alive
    });
    assert!(gone, "the grandchild {pid} outlived the timeout");
}
