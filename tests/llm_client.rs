//! The LLM proposer against a scripted server on 127.0.0.1: the answer's YAML, retries on
//! overload, clear refusals, the OpenAI-compatible mode. No engine, no network.

#[path = "support/fake_llm.rs"]
#[allow(dead_code)]
mod fake_llm;

use std::time::Duration;

use fake_llm::{FakeLlm, Reply};
use harness::propose::{Answer, LlmConfig, LlmProposer, Proposer, ProposerContext};

const KEY: &str = "sk-test-client-key-31337";
const FIX: &str = "Change the host:\n```yaml\nservices:\n  app:\n    image: x\n```\n";

fn proposer(fake: &FakeLlm, openai: bool) -> LlmProposer {
    let url = fake.url.clone();
    let config = LlmConfig::from_vars(move |name| match (name, openai) {
        ("ANTHROPIC_API_KEY", false) => Some(KEY.into()),
        ("ANTHROPIC_BASE_URL", false) => Some(url.clone()),
        ("HARNESS_LLM_API", true) => Some("openai".into()),
        ("HARNESS_LLM_URL", true) => Some(format!("{url}/v1")),
        ("HARNESS_LLM_MODEL", _) => Some("test-model".into()),
        _ => None,
    })
    .expect("configured");
    LlmProposer {
        config,
        timeout: Duration::from_secs(20),
    }
}

fn context() -> ProposerContext {
    ProposerContext {
        task: "t".into(),
        current_yaml: "services:\n  app:\n    image: y\n".into(),
        ..ProposerContext::default()
    }
}

#[tokio::test]
async fn an_overloaded_server_is_retried_and_the_fix_taken_from_the_fence() {
    let fake = FakeLlm::start(vec![Reply::Status(529), Reply::Text(FIX.into())]).await;
    let answer = proposer(&fake, false).propose(&context()).await;
    let Answer::Candidate(c) = answer else {
        panic!("no candidate: {answer:?}");
    };
    assert_eq!(c.yaml, "services:\n  app:\n    image: x\n");
    assert_eq!(c.provenance.model.as_deref(), Some("test-model"));
    assert_eq!(c.provenance.input_tokens, Some(11));
    assert_eq!(c.provenance.output_tokens, Some(22));
    assert!(c.provenance.request_sha256.is_some());
    let received = fake.received();
    assert_eq!(received.len(), 2, "one retry");
    for r in &received {
        assert_eq!(r.path, "/v1/messages");
        assert_eq!(
            r.api_key.as_deref(),
            Some(KEY),
            "the key goes in the header"
        );
        assert!(!r.body.contains(KEY), "never in the body");
        let body: serde_json::Value = serde_json::from_str(&r.body).expect("json body");
        assert_eq!(body["model"], "test-model");
        assert!(body["max_tokens"].as_u64().is_some_and(|n| n <= 16_384));
        assert!(
            body["messages"][0]["content"]
                .as_str()
                .is_some_and(|c| c.contains("image: y")),
            "the context is the user message: {body}"
        );
    }
}

#[tokio::test]
async fn a_refused_key_or_model_says_what_to_fix() {
    let fake = FakeLlm::start(vec![Reply::Status(401), Reply::Status(404)]).await;
    let p = proposer(&fake, false);
    let Answer::Nothing(why) = p.propose(&context()).await else {
        panic!("401 is no proposal");
    };
    assert!(
        why.contains("401") && why.contains("ANTHROPIC_API_KEY"),
        "{why}"
    );
    let Answer::Nothing(why) = p.propose(&context()).await else {
        panic!("404 is no proposal");
    };
    assert!(
        why.contains("404") && why.contains("HARNESS_LLM_MODEL"),
        "{why}"
    );
    assert_eq!(fake.received().len(), 2, "refusals are not retried");
}

#[tokio::test]
async fn retries_are_bounded() {
    let fake = FakeLlm::start(vec![Reply::Status(503); 10]).await;
    let Answer::Nothing(why) = proposer(&fake, false).propose(&context()).await else {
        panic!("an always-busy server is no proposal");
    };
    assert!(why.contains("overloaded"), "{why}");
    assert_eq!(fake.received().len(), 5, "the first try and four retries");
}

#[tokio::test]
async fn the_openai_mode_speaks_chat_completions() {
    let fake = FakeLlm::start(vec![Reply::Text(FIX.into())]).await;
    let Answer::Candidate(c) = proposer(&fake, true).propose(&context()).await else {
        panic!("no candidate");
    };
    assert!(c.yaml.contains("image: x"));
    let received = fake.received();
    assert_eq!(received[0].path, "/v1/chat/completions");
    let body: serde_json::Value = serde_json::from_str(&received[0].body).expect("json");
    assert_eq!(body["messages"][0]["role"], "system");
    assert_eq!(body["stream"], false);
}

#[tokio::test]
async fn an_answer_without_yaml_is_no_proposal() {
    let fake = FakeLlm::start(vec![Reply::Text("   ".into())]).await;
    let answer = proposer(&fake, false).propose(&context()).await;
    assert!(matches!(answer, Answer::Nothing(_)), "{answer:?}");
}
