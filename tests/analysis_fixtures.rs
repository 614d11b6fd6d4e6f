//! Scenario tests of the engine: each `tests/fixtures/analysis/NAME.jsonl`
//! holds input events, `NAME.expected.json` the parts of the report they must
//! produce, and an optional `NAME.toml` the config. Every fixture runs.
//!
//! Event lines: `{"t": seconds, "subject": "...", "headers": [["k","v"]],
//! "json": {...} | "text": "..." | "hex": "00ff", "reply": "...",
//! "js": {"stream","consumer","stream_seq","consumer_seq","delivered"}}`.

use std::path::Path;

use flowscope::analysis::{Engine, EngineConfig};
use flowscope::envelope::{Envelope, JsMeta};
use flowscope::report::{Report, Source};
use serde_json::Value;

const T0: i64 = 1_795_424_400_000_000_000;

fn envelope(line: &Value) -> Envelope {
    let t = (line["t"].as_f64().unwrap_or(0.0) * 1e9) as i64;
    let payload: Vec<u8> = if let Some(j) = line.get("json") {
        serde_json::to_vec(j).unwrap()
    } else if let Some(s) = line.get("text") {
        s.as_str().unwrap().as_bytes().to_vec()
    } else if let Some(h) = line.get("hex") {
        let h = h.as_str().unwrap();
        (0..h.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&h[i..i + 2], 16).unwrap())
            .collect()
    } else {
        Vec::new()
    };
    let mut env = Envelope::new(T0 + t, line["subject"].as_str().unwrap(), payload);
    for h in line["headers"].as_array().into_iter().flatten() {
        env = env.with_header(h[0].as_str().unwrap(), h[1].as_str().unwrap());
    }
    env.reply = line["reply"].as_str().map(Into::into);
    if let Some(js) = line.get("js") {
        env.js = Some(JsMeta {
            stream: js["stream"].as_str().unwrap().into(),
            consumer: js["consumer"].as_str().unwrap().into(),
            stream_seq: js["stream_seq"].as_u64().unwrap(),
            consumer_seq: js["consumer_seq"].as_u64().unwrap(),
            delivered: js["delivered"].as_u64().unwrap_or(1),
            published_ns: T0,
            pending: 0,
        });
    }
    env
}

/// Every key of `want` must equal the same key of `got` (objects
/// recursively; arrays and scalars exactly).
fn assert_subset(want: &Value, got: &Value, path: &str, fixture: &str) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, v) in w {
                let sub = format!("{path}/{k}");
                let Some(gv) = g.get(k) else {
                    panic!("{fixture}: report has no {sub}\nreport: {got:#}");
                };
                assert_subset(v, gv, &sub, fixture);
            }
        }
        _ => assert_eq!(want, got, "{fixture}: {path} differs"),
    }
}

/// `"kinds": {"Type": "kind"}` and `"passive_aggressive": ["Type"]` check
/// the report's `types` by name (their other fields are free text).
fn check_kinds(want: &mut Value, got: &Value, fixture: &str) {
    let types = got["types"].as_array().unwrap();
    let find = |name: &str| {
        types
            .iter()
            .find(|t| t["type"] == name)
            .unwrap_or_else(|| panic!("{fixture}: no type {name} in {types:#?}"))
    };
    if let Some(kinds) = want.as_object_mut().unwrap().remove("kinds") {
        for (name, kind) in kinds.as_object().unwrap() {
            assert_eq!(
                &find(name)["kind"],
                kind,
                "{fixture}: kind of {name}: {:#}",
                find(name)
            );
        }
    }
    if let Some(pa) = want.as_object_mut().unwrap().remove("passive_aggressive") {
        let want: Vec<&str> = pa
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap())
            .collect();
        let mut flagged: Vec<&str> = types
            .iter()
            .filter(|t| t.get("passive_aggressive").is_some())
            .map(|t| t["type"].as_str().unwrap())
            .collect();
        flagged.sort();
        assert_eq!(flagged, want, "{fixture}: passive-aggressive commands");
    }
}

fn run(dir: &Path, name: &str) -> Value {
    let config = match std::fs::read_to_string(dir.join(format!("{name}.toml"))) {
        Ok(text) => flowscope::config::parse(&text, name).unwrap(),
        Err(_) => Default::default(),
    };
    let mut engine = Engine::new(EngineConfig {
        analysis: config,
        ..EngineConfig::default()
    });
    let input = std::fs::read_to_string(dir.join(format!("{name}.jsonl"))).unwrap();
    for (i, line) in input
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let v: Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{name}.jsonl:{}: {e}", i + 1));
        engine.ingest(envelope(&v));
    }
    let report = Report::build(
        &engine,
        Source {
            kind: "fixture".into(),
            server: None,
            subjects: vec![">".into()],
            streams: None,
            files: vec![],
        },
    );
    serde_json::to_value(report).unwrap()
}

#[test]
fn every_fixture_produces_its_expected_report() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/analysis");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| {
            let p = e.unwrap().path();
            (p.extension()? == "jsonl")
                .then(|| p.file_stem().unwrap().to_string_lossy().into_owned())
        })
        .collect();
    names.sort();
    assert!(names.len() >= 12, "fixtures: {names:?}");
    for name in &names {
        let got = run(&dir, name);
        let mut want: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join(format!("{name}.expected.json")))
                .unwrap_or_else(|e| panic!("{name}.expected.json: {e}")),
        )
        .unwrap();
        check_kinds(&mut want, &got, name);
        assert_subset(&want, &got, "", name);
    }
}

#[test]
fn huge_and_deeply_nested_payloads_are_analysed_without_crashing() {
    let mut engine = Engine::new(EngineConfig::default());
    let big_items: Vec<String> = (0..20_000)
        .map(|i| format!(r#"{{"sku":"S{i}","qty":{i}}}"#))
        .collect();
    let huge = format!(
        r#"{{"id":"h1","type":"Big","aggregate_id":"b","seq":1,"items":[{}]}}"#,
        big_items.join(",")
    );
    assert!(huge.len() > 400_000);
    let deep_ok = format!("{}1{}", r#"{"a":"#.repeat(120), "}".repeat(120));
    let deep_bad = format!("{}{}", "[".repeat(200_000), "]".repeat(200_000));
    for (i, payload) in [huge.clone(), deep_ok, deep_bad, huge]
        .into_iter()
        .enumerate()
    {
        engine.ingest(Envelope::new(T0 + i as i64, "big.things", payload));
    }
    let report = Report::build(
        &engine,
        Source {
            kind: "test".into(),
            server: None,
            subjects: vec![],
            streams: None,
            files: vec![],
        },
    );
    assert_eq!(report.events, 4);
    assert_eq!(
        report.duplicates.identical, 1,
        "the second huge copy is a duplicate"
    );
    let ev = engine.snapshot();
    assert!(
        ev.events[1].is_json,
        "120 levels is within serde_json's limit"
    );
    assert!(
        !ev.events[2].is_json,
        "200,000 levels is rejected, not a stack overflow"
    );
}
