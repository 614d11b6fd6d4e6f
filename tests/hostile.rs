//! Terminal safety end to end: a hostile producer publishes subjects,
//! headers and payloads full of escape sequences, bidi overrides and C1
//! controls to a real nats-server, and names a durable consumer with one.
//! Every command that prints text (`analyze` of a recording and live,
//! `lag`, `publish --dry-run` and `publish`) must show them escaped and
//! never write an ESC, BEL, C1 or bidi control to stdout or stderr.

mod support;

use std::io::Read;
use std::process::{Command, Stdio};

use async_nats::HeaderMap;
use async_nats::jetstream::{self, consumer::pull, stream};

const TITLE: &str = "shop.\x1b]0;pwned\x07";
const RED: &str = "shop.\x1b[31mRED\x1b[0m";
const BIDI: &str = "shop.\u{202e}gnp.exe";
const CONSUMER: &str = "ev\x1b[31mil";
/// Messages the producer publishes.
const MESSAGES: u64 = 5;

/// Characters that must never reach a terminal from flowscope's output.
fn forbidden(c: char) -> bool {
    matches!(c,
        '\x00'..='\x09' | '\x0b'..='\x1f' | '\x7f' | '\u{80}'..='\u{9f}'
        | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Panics when `out` holds a forbidden character, naming where.
fn assert_clean(what: &str, out: &[u8]) {
    let text = String::from_utf8_lossy(out);
    if let Some((i, c)) = text.char_indices().find(|(_, c)| forbidden(*c)) {
        let from = text[..i].char_indices().rev().nth(40).map_or(0, |(j, _)| j);
        panic!(
            "{what} wrote {c:?} at byte {i}: …{:?}…\nwhole output:\n{text}",
            &text[from..(i + 8).min(text.len())]
        );
    }
}

fn flowscope(args: &[&str]) -> std::process::Output {
    Command::new(assert_cmd::cargo::cargo_bin("flowscope"))
        .args(args)
        .env_remove("NATS_URL")
        .env_remove("NO_COLOR")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs a command, checks both streams, and returns stdout and stderr.
fn clean_run(what: &str, args: &[&str]) -> (String, String) {
    let out = flowscope(args);
    assert_clean(&format!("{what} (stdout)"), &out.stdout);
    assert_clean(&format!("{what} (stderr)"), &out.stderr);
    assert!(
        out.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn publish_hostile(client: &async_nats::Client) {
    let mut evil = HeaderMap::new();
    evil.insert("X-Evil", "\x1b]0;pwned\x07");
    evil.insert("Nats-Msg-Id", "id-\x1b[2J");
    let payload = |ty: &str, seq: u32| {
        serde_json::json!({
            "type": ty,
            "aggregate_id": "key\u{9b}1",
            "seq": seq,
            "correlation_id": "saga\x1b[5m",
        })
        .to_string()
    };
    client
        .publish_with_headers(TITLE, evil.clone(), payload("T\x1b[2J", 2).into())
        .await
        .unwrap();
    // The same id again: a duplicate whose id and subject the report lists.
    client
        .publish_with_headers(RED, evil, payload("T\x1b[2J", 1).into())
        .await
        .unwrap();
    client
        .publish(BIDI, payload("\u{202e}Evil", 3).into())
        .await
        .unwrap();
    client
        .publish(TITLE, "plain text with a bell\x07 and\x1b[2J clear".into())
        .await
        .unwrap();
    client
        .publish(RED, payload("Type\u{85}C1", 5).into())
        .await
        .unwrap();
    support::settle(client).await;
}

#[tokio::test]
async fn no_command_prints_what_a_hostile_producer_sent() {
    let server = support::server();
    let url = server.url();
    let client = support::client(&url).await;
    let js = jetstream::new(client.clone());
    let stream = js
        .create_stream(stream::Config {
            name: "SHOP".into(),
            subjects: vec!["shop.>".into()],
            ..Default::default()
        })
        .await
        .unwrap();
    stream
        .create_consumer(pull::Config {
            durable_name: Some(CONSUMER.into()),
            ack_policy: jetstream::consumer::AckPolicy::Explicit,
            ..Default::default()
        })
        .await
        .expect("the server takes a consumer name with an escape in it");

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hostile.jsonl");
    let file = file.to_str().unwrap();
    let count = MESSAGES.to_string();
    let mut record = support::spawn_flowscope(
        &[
            "record", "-s", &url, "-o", file, "--count", &count, "shop.>",
        ],
        "flowscope: recording",
    );
    let mut live = support::spawn_flowscope(
        &["analyze", "--live", "-s", &url, "--count", &count, "shop.>"],
        "flowscope: analysing",
    );
    publish_hostile(&client).await;

    // analyze --live, text.
    let mut out = Vec::new();
    live.child
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    assert!(live.child.wait().unwrap().success());
    assert_clean("analyze --live (stdout)", &out);
    assert_clean("analyze --live (stderr)", live.stderr().as_bytes());
    assert_clean("analyze --live (first line)", live.first_line.as_bytes());
    let text = String::from_utf8(out).unwrap();
    assert!(text.contains("shop.\\x1b]0;pwned\\x07"), "{text}");
    assert!(text.contains("shop.\\x1b[31mRED\\x1b[0m"), "{text}");
    assert!(text.contains("shop.\\u202egnp.exe"), "{text}");
    assert!(text.contains("T\\x1b[2J"), "the type, escaped: {text}");
    assert!(text.contains("id-\\x1b[2J"), "the duplicate's id: {text}");
    assert!(text.contains("key\\u009b1"), "the key: {text}");

    assert!(record.child.wait().unwrap().success());
    assert_clean("record (stderr)", record.stderr().as_bytes());

    // analyze FILE, text and JSON; JSON keeps every value exactly.
    let (text, _) = clean_run("analyze FILE", &["analyze", file]);
    assert!(text.contains("shop.\\x1b]0;pwned\\x07"), "{text}");
    let (json, _) = clean_run(
        "analyze FILE --format json",
        &["analyze", file, "--format", "json"],
    );
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    let subjects: Vec<&str> = report["subjects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["subject"].as_str().unwrap())
        .collect();
    assert!(
        subjects.contains(&TITLE) && subjects.contains(&BIDI),
        "{subjects:?}"
    );

    // The lag table: the consumer's name escaped, the columns in line.
    let cfg = dir.path().join("flowscope.toml");
    std::fs::write(&cfg, "[lag]\nwindow = 2\n").unwrap();
    let cfg = cfg.to_str().unwrap();
    let (lag, _) = clean_run(
        "lag --once",
        &["lag", "-s", &url, "-c", cfg, "--lag-interval", "200ms"],
    );
    let header = lag.lines().find(|l| l.contains("CONSUMER")).unwrap();
    let row = lag
        .lines()
        .find(|l| l.contains("ev\\x1b[31mil"))
        .unwrap_or_else(|| panic!("the consumer is listed: {lag}"));
    let column = |line: &str, at: &str| {
        unicode_width::UnicodeWidthStr::width(&line[..line.find(at).unwrap()])
    };
    assert_eq!(
        column(header, "KIND"),
        column(row, "durable"),
        "the KIND column lines up:\n{lag}"
    );

    // publish, dry and real.
    let (dry, _) = clean_run(
        "publish --dry-run",
        &["publish", file, "--dry-run", "--max"],
    );
    assert!(dry.contains("shop.\\x1b[31mRED\\x1b[0m"), "{dry}");
    assert!(dry.contains("would publish 5 events"), "{dry}");
    let (published, said) = clean_run(
        "publish",
        &["publish", file, "-s", &url, "--max", "--prefix", "again"],
    );
    assert!(published.contains("published 5 events"), "{published}");
    assert!(said.contains("publishing"), "{said}");
}
