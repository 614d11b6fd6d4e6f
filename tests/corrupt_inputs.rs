//! Bad inputs as a user meets them: truncated, garbled, mislabelled, future
//! and foreign files given to `flowscope analyze` (and `replay`). flowscope
//! must read everything it can, say what was skipped with the file and the
//! line, refuse what it cannot read with one clear sentence, and never panic.
//! No nats-server is needed.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use flowscope::envelope::Envelope;
use flowscope::recording::redact::Redactor;
use flowscope::recording::{Header, Reader, Record, Recorder, SourceInfo};
use serde_json::Value;

/// 2026-01-01T00:00:00Z in ns: the start of every generated recording.
const T0: i64 = 1_767_225_600_000_000_000;
/// Time between generated events.
const STEP: i64 = 1_000_000;
/// Longest a flowscope run may take before the test gives up on it.
const RUN_LIMIT: Duration = Duration::from_secs(60);

/// What a run of flowscope showed: exit status, stdout, stderr.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// The JSON report on stdout.
    fn report(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not a JSON report ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    /// The report's total event count.
    fn events(&self) -> u64 {
        let r = self.report();
        r["events"]
            .as_u64()
            .unwrap_or_else(|| panic!("no events count in the report: {r}"))
    }

    /// Lines of stderr that are warnings.
    fn warnings(&self) -> Vec<&str> {
        self.stderr
            .lines()
            .filter(|l| l.starts_with("flowscope: warning: "))
            .collect()
    }

    /// The one line an error run printed (and checks it is one line).
    fn error_line(&self) -> &str {
        let lines: Vec<&str> = self.stderr.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(
            lines.len(),
            1,
            "expected a one-line error, got:\n{}",
            self.stderr
        );
        assert!(
            lines[0].starts_with("flowscope: "),
            "the error line should start with `flowscope: `: {}",
            lines[0]
        );
        lines[0]
    }

    /// The one-line error of a run that failed with status 1, checked to
    /// name `file`.
    fn refusal(&self, file: &Path) -> &str {
        assert_eq!(self.code, 1, "{}", self.stderr);
        let line = self.error_line();
        assert!(line.contains(&s(file)), "{line}");
        line
    }

    /// Nothing a user sees may be a panic.
    fn assert_no_panic(&self) {
        for text in [&self.stderr, &self.stdout] {
            assert!(
                !text.contains("panicked") && !text.contains("RUST_BACKTRACE"),
                "flowscope panicked:\n{text}"
            );
        }
    }
}

/// Runs flowscope with `args` in `dir` (so no `flowscope.toml` of the
/// developer is picked up), without a terminal and without NATS settings.
fn flowscope(dir: &Path, args: &[&str]) -> Run {
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("flowscope"))
        .args(args)
        .current_dir(dir)
        .env_remove("NATS_URL")
        .env_remove("FLOWSCOPE_LOG")
        .env("XDG_CONFIG_HOME", dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out = std::thread::spawn(move || {
        let mut s = Vec::new();
        out.read_to_end(&mut s).unwrap();
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = Vec::new();
        err.read_to_end(&mut s).unwrap();
        s
    });
    let deadline = Instant::now() + RUN_LIMIT;
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("flowscope {args:?} did not finish within {RUN_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.join().unwrap()).into_owned(),
        stderr: String::from_utf8_lossy(&err.join().unwrap()).into_owned(),
    };
    run.assert_no_panic();
    run
}

/// `flowscope analyze FILES --format json`.
fn analyze(dir: &Path, files: &[&Path]) -> Run {
    let mut args = vec!["analyze".to_owned()];
    args.extend(files.iter().map(|f| f.display().to_string()));
    args.extend(["--format".to_owned(), "json".to_owned()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    flowscope(dir, &args)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// The payload of generated event `i` (1-based).
fn order_payload(i: u64) -> String {
    format!(
        r#"{{"type":"OrderPlaced","order_id":"o-{i}","seq":{i},"amount":{}}}"#,
        i * 7
    )
}

/// The header of a generated recording.
fn header(start: i64) -> Header {
    Header::new(
        start,
        SourceInfo {
            kind: "live".into(),
            server: Some("nats://127.0.0.1:4222".into()),
            subjects: vec!["orders.>".into()],
            ..SourceInfo::default()
        },
        Vec::new(),
    )
}

/// Writes a valid, cleanly finished recording of `n` events starting at
/// `start` (plain JSON Lines, or zstd when the name ends in `.zst`).
fn write_recording_from(path: &Path, n: u64, start: i64) {
    let mut rec = Recorder::create(path, header(start), Redactor::default())
        .unwrap_or_else(|e| panic!("{e}"));
    for i in 1..=n {
        let mut env = Envelope::new(
            start + i as i64 * STEP,
            "orders.created",
            order_payload(i).into_bytes(),
        )
        .with_header("Nats-Msg-Id", &format!("m-{i}"));
        env.index = i - 1;
        rec.event(&env).unwrap();
    }
    assert_eq!(rec.finish(start + (n as i64 + 1) * STEP).unwrap(), n);
}

fn write_recording(path: &Path, n: u64) {
    write_recording_from(path, n, T0);
}

/// The lines of a plain recording, without their newlines.
fn lines(path: &Path) -> Vec<Vec<u8>> {
    let bytes = std::fs::read(path).unwrap();
    let mut out: Vec<Vec<u8>> = bytes.split(|b| *b == b'\n').map(<[u8]>::to_vec).collect();
    if out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    out
}

/// Writes `lines`, each ending in a newline.
fn write_lines(path: &Path, lines: &[Vec<u8>]) {
    let mut bytes = Vec::new();
    for l in lines {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    std::fs::write(path, bytes).unwrap();
}

/// Every event of a file read with the library reader, and its warnings.
fn read_events(path: &Path) -> (Vec<Envelope>, Vec<String>) {
    let mut r = Reader::open(path).unwrap_or_else(|e| panic!("{e}"));
    let mut events = Vec::new();
    while let Some(rec) = r.next_record() {
        if let Record::Event(e) = rec {
            events.push(e);
        }
    }
    let (w, more) = r.warnings();
    assert_eq!(more, 0);
    (events, w.to_vec())
}

/// A recording whose header says `flowscope_recording: 99`.
fn write_future_recording(path: &Path) {
    let header = serde_json::json!({
        "flowscope_recording": 99,
        "flowscope": "9.0.0",
        "started": "2026-01-01T00:00:00.000Z",
        "started_ns": T0,
        "source": {"kind": "live"},
        "compression_dictionary": "abc",
    });
    let event = serde_json::json!({
        "event": 0,
        "t": T0 + STEP,
        "subject": "orders.created",
        "data": order_payload(1),
        "hologram": true,
    });
    write_lines(
        path,
        &[
            serde_json::to_vec(&header).unwrap(),
            serde_json::to_vec(&event).unwrap(),
        ],
    );
}

/// Deterministic bytes that look random (xorshift64*), as a binary file
/// flowscope was given by mistake would.
fn random_bytes(n: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        seed ^= seed >> 12;
        seed ^= seed << 25;
        seed ^= seed >> 27;
        out.extend_from_slice(&seed.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    out.truncate(n);
    out
}

// ---------------------------------------------------------------------------
// Sanity: the generated recordings are read whole, without warnings.

#[test]
fn a_valid_recording_is_read_whole_plain_and_compressed() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["good.jsonl", "good.jsonl.zst"] {
        let path = dir.path().join(name);
        write_recording(&path, 25);
        let run = analyze(dir.path(), &[&path]);
        assert_eq!(run.code, 0, "{name}: {}", run.stderr);
        assert_eq!(run.events(), 25, "{name}");
        assert!(run.warnings().is_empty(), "{name}: {}", run.stderr);
        let (events, warnings) = read_events(&path);
        assert_eq!(events.len(), 25);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(&events[0].payload[..], order_payload(1).as_bytes());
        assert_eq!(events[0].header("Nats-Msg-Id"), Some("m-1"));
    }
}

// ---------------------------------------------------------------------------
// 1. A last line cut off (as after `kill -9` while writing).

#[test]
fn a_truncated_last_line_is_skipped_with_a_warning_naming_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.jsonl");
    let n = 10;
    write_recording(&path, n);
    let mut ls = lines(&path);
    // Header, n events, end record.
    assert_eq!(ls.len() as u64, n + 2);
    ls.pop(); // no end record: the writer was killed
    let last = ls.pop().unwrap();
    let mut bytes = Vec::new();
    for l in &ls {
        bytes.extend_from_slice(l);
        bytes.push(b'\n');
    }
    bytes.extend_from_slice(&last[..last.len() / 2]); // no newline either
    std::fs::write(&path, bytes).unwrap();
    let cut_line = n + 1; // the header is line 1

    let run = analyze(dir.path(), &[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), n - 1);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains(&format!("{}:{cut_line}", s(&path))),
        "the warning should name FILE:LINE: {}",
        warnings[0]
    );
    assert!(warnings[0].contains("truncated"), "{}", warnings[0]);

    let (events, warnings) = read_events(&path);
    assert_eq!(events.len() as u64, n - 1);
    assert_eq!(
        &events.last().unwrap().payload[..],
        order_payload(n - 1).as_bytes()
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(warnings[0].contains(&format!("{}:{cut_line}", s(&path))));
}

#[test]
fn a_truncated_last_line_inside_a_compressed_recording_is_skipped_too() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("source.jsonl");
    let n = 10;
    write_recording(&plain, n);
    let mut ls = lines(&plain);
    ls.pop();
    let last = ls.pop().unwrap();
    let mut text = Vec::new();
    for l in &ls {
        text.extend_from_slice(l);
        text.push(b'\n');
    }
    text.extend_from_slice(&last[..last.len() / 2]);
    // A complete zstd frame around text that ends mid-record.
    let path = dir.path().join("cut.jsonl.zst");
    std::fs::write(&path, zstd::encode_all(&text[..], 3).unwrap()).unwrap();

    let run = analyze(dir.path(), &[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), n - 1);
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains(&format!("{}:{}", s(&path), n + 1)),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("truncated"), "{}", warnings[0]);
}

// ---------------------------------------------------------------------------
// 2. Garbage in the middle.

#[test]
fn garbage_lines_in_the_middle_are_skipped_each_with_its_own_warning() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("garbled.jsonl");
    let n = 10;
    write_recording(&path, n);
    let mut ls = lines(&path);
    // After the header and three events (lines 1-4), lines 5-8 are garbage.
    let garbage: Vec<Vec<u8>> = vec![
        b"this is not json".to_vec(),
        br#"{"event":5}"#.to_vec(),
        format!(r#"{{"event":6,"t":{}}}"#, T0 + 3 * STEP + 1).into_bytes(),
        vec![
            0xff, 0xfe, 0x00, 0x9c, 0x01, 0x80, 0xc3, 0x28, 0x7f, 0x00, 0xee,
        ],
    ];
    for (k, g) in garbage.iter().enumerate() {
        ls.insert(4 + k, g.clone());
    }
    write_lines(&path, &ls);
    let bad_lines = [5, 6, 7, 8];

    let run = analyze(dir.path(), &[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), n, "only the garbage is skipped");
    let warnings = run.warnings();
    assert_eq!(
        warnings.len(),
        bad_lines.len(),
        "one warning per bad line:\n{}",
        run.stderr
    );
    for (w, line) in warnings.iter().zip(bad_lines) {
        assert!(
            w.contains(&format!("{}:{line}:", s(&path))),
            "expected a warning naming {}:{line}, got: {w}",
            s(&path)
        );
        assert!(w.contains("skipped"), "{w}");
    }
    assert!(
        warnings[2].contains("without a subject"),
        "the warning should say what is wrong: {}",
        warnings[2]
    );

    let (events, warnings) = read_events(&path);
    assert_eq!(events.len() as u64, n);
    assert_eq!(warnings.len(), bad_lines.len(), "{warnings:?}");
    let payloads: Vec<&[u8]> = events.iter().map(|e| &e.payload[..]).collect();
    let expected: Vec<String> = (1..=n).map(order_payload).collect();
    let expected: Vec<&[u8]> = expected.iter().map(|p| p.as_bytes()).collect();
    assert_eq!(payloads, expected, "every good event, in order");
}

// ---------------------------------------------------------------------------
// 3. A format from the future.

#[test]
fn a_recording_from_a_newer_flowscope_is_refused_with_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.jsonl");
    write_future_recording(&path);

    let run = analyze(dir.path(), &[&path]);
    assert!(run.stdout.trim().is_empty(), "no report: {}", run.stdout);
    let line = run.refusal(&path);
    assert!(line.contains("written by a newer flowscope"), "{line}");
    assert!(line.contains("99"), "{line}");

    let err = Reader::open(&path).err().expect("format 99 must not open");
    assert!(err.contains("written by a newer flowscope"), "{err}");
}

// ---------------------------------------------------------------------------
// 4. Compression that does not match the name.

#[test]
fn a_plain_file_named_zst_is_refused_as_not_zstd_compressed() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.jsonl");
    write_recording(&plain, 5);
    let path = dir.path().join("plain.jsonl.zst");
    std::fs::rename(&plain, &path).unwrap();

    let run = analyze(dir.path(), &[&path]);
    let line = run.refusal(&path);
    assert!(line.contains("not zstd-compressed"), "{line}");
}

#[test]
fn a_zstd_file_named_jsonl_is_recognised_by_its_magic_and_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let zst = dir.path().join("packed.jsonl.zst");
    write_recording(&zst, 12);
    let path = dir.path().join("packed.jsonl");
    std::fs::rename(&zst, &path).unwrap();

    let run = analyze(dir.path(), &[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), 12);
    assert!(run.warnings().is_empty(), "{}", run.stderr);

    let (events, warnings) = read_events(&path);
    assert_eq!(events.len(), 12);
    assert!(warnings.is_empty(), "{warnings:?}");
}

// ---------------------------------------------------------------------------
// 5. Compressed data that stops early.

#[test]
fn a_compressed_recording_cut_off_keeps_what_came_before_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("cut.jsonl.zst");
    // Enough events for several zstd blocks, so a cut keeps whole blocks.
    let n = 4000;
    write_recording(&path, n);
    let size = std::fs::metadata(&path).unwrap().len();
    let f = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    f.set_len(size * 6 / 10).unwrap();
    drop(f);

    let run = analyze(dir.path(), &[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let events = run.events();
    assert!(
        events > 0 && events < n,
        "expected some but not all of {n} events, got {events}"
    );
    let warnings = run.warnings();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(warnings[0].contains(&s(&path)), "{}", warnings[0]);
    assert!(
        warnings[0].contains("ends early") && warnings[0].contains("cut off"),
        "the warning should say the data ends early: {}",
        warnings[0]
    );

    let (read, warnings) = read_events(&path);
    assert_eq!(read.len() as u64, events, "the reader and analyze agree");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    for (i, e) in read.iter().enumerate() {
        assert_eq!(
            &e.payload[..],
            order_payload(i as u64 + 1).as_bytes(),
            "event {i} is intact"
        );
    }
}

// ---------------------------------------------------------------------------
// 6. Files that are no recording at all.

#[test]
fn an_empty_file_is_refused_as_empty() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.jsonl");
    std::fs::write(&path, b"").unwrap();

    let run = analyze(dir.path(), &[&path]);
    let line = run.refusal(&path);
    assert!(line.contains("is empty"), "{line}");
}

#[test]
fn a_random_binary_file_is_refused_as_neither_recording_nor_dump() {
    let dir = tempfile::tempdir().unwrap();
    // What a user may pass by mistake: random bytes, a gzip file
    // (`orders.jsonl.gz`) and a PNG. The first two hold NUL bytes before any
    // newline; the PNG has a newline first.
    let gzip_like = [
        &[0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03][..],
        &random_bytes(2000, 7),
    ]
    .concat();
    let png_like = [
        &b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"[..],
        &random_bytes(2000, 11),
    ]
    .concat();
    let mut failures = Vec::new();
    for (name, bytes) in [
        ("noise.bin", random_bytes(4096, 0x9e37_79b9_7f4a_7c15)),
        ("orders.jsonl.gz", gzip_like),
        ("chart.png", png_like),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, &bytes).unwrap();

        let run = analyze(dir.path(), &[&path]);
        let lines: Vec<&str> = run.stderr.lines().collect();
        let refused = run.code == 1
            && lines.len() == 1
            && lines[0].starts_with("flowscope: ")
            && lines[0].contains(&s(&path))
            && lines[0].contains("neither a flowscope recording")
            && lines[0].contains("nats sub --dump");
        if !refused {
            failures.push(format!(
                "{name}: status {}, {} stderr lines, the first: {:?}",
                run.code,
                lines.len(),
                lines.first().copied().unwrap_or("")
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "binary files must be refused with one line naming the file:\n{}",
        failures.join("\n")
    );
}

#[test]
fn a_missing_file_is_refused_as_cannot_open() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nowhere.jsonl");

    let run = analyze(dir.path(), &[&path]);
    let line = run.refusal(&path);
    assert!(line.contains("cannot open"), "{line}");
}

// ---------------------------------------------------------------------------
// 7. `nats sub --dump` captures.

/// What the dump tests capture: subject, `Ce-Type`, payload.
fn dump_messages() -> Vec<(&'static str, &'static str, String)> {
    vec![
        (
            "orders.created",
            "OrderCreated",
            r#"{"type":"OrderCreated","order_id":"o-1","seq":1}"#.to_owned(),
        ),
        (
            "orders.paid",
            "OrderPaid",
            r#"{"type":"OrderPaid","order_id":"o-1","seq":2}"#.to_owned(),
        ),
        (
            "orders.shipped",
            "OrderShipped",
            r#"{"type":"OrderShipped","order_id":"o-1","seq":3}"#.to_owned(),
        ),
    ]
}

/// A record as `nats sub --dump` writes it (Go's JSON of a `nats.Msg`).
fn dump_record(subject: &str, reply: &str, ce_type: &str, payload: &[u8]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "Subject": subject,
        "Reply": reply,
        "Header": {"Ce-Type": [ce_type]},
        "Data": B64.encode(payload),
        "Sub": null,
    }))
    .unwrap()
}

/// Checks the events read from a dump against [`dump_messages`].
fn check_dump_events(events: &[Envelope]) {
    let expected = dump_messages();
    assert_eq!(events.len(), expected.len());
    for (e, (subject, ce_type, payload)) in events.iter().zip(&expected) {
        assert_eq!(&*e.subject, *subject);
        assert_eq!(e.reply, None, "an empty Reply is no reply");
        assert_eq!(
            e.headers,
            vec![("Ce-Type".into(), (*ce_type).into())],
            "{subject}"
        );
        assert_eq!(&e.payload[..], payload.as_bytes(), "{subject}");
    }
    assert!(
        events
            .windows(2)
            .all(|w| w[0].received_ns < w[1].received_ns),
        "dump events get increasing times"
    );
}

#[test]
fn a_nats_dump_with_one_record_per_line_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.jsonl");
    let recs: Vec<Vec<u8>> = dump_messages()
        .iter()
        .map(|(s, t, p)| dump_record(s, "", t, p.as_bytes()))
        .collect();
    write_lines(&path, &recs);

    let run = analyze(dir.path(), &[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), 3);
    assert!(run.warnings().is_empty(), "{}", run.stderr);

    let (events, warnings) = read_events(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    check_dump_events(&events);
}

#[test]
fn a_nats_dump_of_nul_terminated_records_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("dump.bin");
    // `nats sub --dump=-` writes each record followed by a NUL.
    let mut bytes = Vec::new();
    for (s, t, p) in dump_messages() {
        bytes.extend(dump_record(s, "", t, p.as_bytes()));
        bytes.push(0);
    }
    std::fs::write(&path, bytes).unwrap();

    let run = analyze(dir.path(), &[&path]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), 3);
    assert!(run.warnings().is_empty(), "{}", run.stderr);

    let (events, warnings) = read_events(&path);
    assert!(warnings.is_empty(), "{warnings:?}");
    check_dump_events(&events);
}

#[test]
fn a_nats_dump_directory_is_read_in_message_order_with_replies() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    let msgs = dump_messages();
    // Written out of order, as a directory listing may return them.
    for (i, (s, t, p)) in msgs.iter().enumerate().rev() {
        std::fs::write(
            dump.join(format!("{}.json", i + 1)),
            dump_record(s, "", t, p.as_bytes()),
        )
        .unwrap();
    }
    // `--match-replies` adds the reply to request 2 as 2_reply.json.
    let reply_payload = br#"{"type":"PaymentConfirmed","order_id":"o-1"}"#;
    std::fs::write(
        dump.join("2_reply.json"),
        dump_record("_INBOX.abc.1", "", "PaymentConfirmed", reply_payload),
    )
    .unwrap();
    // Not messages: ignored.
    std::fs::write(dump.join("notes.txt"), b"captured on staging").unwrap();

    let run = analyze(dir.path(), &[&dump]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), 4, "three messages and one reply");
    assert!(run.warnings().is_empty(), "{}", run.stderr);

    let (events, warnings) = read_events(&dump);
    assert!(warnings.is_empty(), "{warnings:?}");
    let subjects: Vec<&str> = events.iter().map(|e| &*e.subject).collect();
    assert_eq!(
        subjects,
        [
            "orders.created",
            "orders.paid",
            "_INBOX.abc.1",
            "orders.shipped"
        ],
        "1, 2, 2_reply, 3"
    );
    assert_eq!(&events[2].payload[..], &reply_payload[..]);
    assert_eq!(events[2].header("ce-type"), Some("PaymentConfirmed"));
    let without_reply: Vec<Envelope> = events
        .iter()
        .filter(|e| !e.subject.starts_with("_INBOX."))
        .cloned()
        .collect();
    check_dump_events(&without_reply);
}

// ---------------------------------------------------------------------------
// 8. Several files at once.

#[test]
fn several_recordings_are_analysed_as_one_session() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b.jsonl.zst");
    write_recording_from(&a, 7, T0);
    // b starts a minute after a ends.
    let b_start = T0 + 60_000_000_000;
    write_recording_from(&b, 5, b_start);

    let run = analyze(dir.path(), &[&a, &b]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(run.events(), 12);
    assert!(run.warnings().is_empty(), "{}", run.stderr);
    let r = run.report();
    assert_eq!(
        r["source"]["files"],
        serde_json::json!([s(&a), s(&b)]),
        "{r}"
    );
    assert_eq!(r["first_time"], "2026-01-01T00:00:00.001Z");
    assert_eq!(r["last_time"], "2026-01-01T00:01:00.005Z");
}

#[test]
fn several_recordings_fail_naming_the_one_that_cannot_be_read() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.jsonl");
    let b = dir.path().join("b-future.jsonl");
    write_recording(&a, 7);
    write_future_recording(&b);

    let run = analyze(dir.path(), &[&a, &b]);
    assert!(run.stdout.trim().is_empty(), "no report: {}", run.stdout);
    let line = run.refusal(&b);
    assert!(!line.contains(&s(&a)), "a.jsonl is fine: {line}");
    assert!(line.contains("written by a newer flowscope"), "{line}");
}

// ---------------------------------------------------------------------------
// 9. Replay checks the file before it takes the terminal.

#[test]
fn replay_of_a_recording_from_a_newer_flowscope_fails_with_the_same_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("future.jsonl");
    write_future_recording(&path);

    let run = flowscope(dir.path(), &["replay", &s(&path)]);
    let line = run.refusal(&path);
    assert!(line.contains("written by a newer flowscope"), "{line}");
}
