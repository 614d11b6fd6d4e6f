//! Tests of reading flowscope.toml: the documented example, every section,
//! and errors that name the file, the line and the key.

use std::time::Duration;

use super::*;
use crate::analysis::classify::Kind;
use crate::analysis::fields::FieldSource;

#[test]
fn the_documented_example_parses() {
    let cfg = parse(
        r#"
[fields]
type        = ["header:ce-type", "/type", "/event_type", "/eventType"]
id          = ["header:Nats-Msg-Id", "header:ce-id", "/id", "/event_id", "/eventId", "/message_id"]
key         = ["/aggregate_id", "/aggregateId", "/entity_id", "/key"]
sequence    = ["/seq", "/sequence", "/version"]
correlation = ["header:Correlation-Id", "/correlation_id", "/correlationId", "/saga_id"]
time        = ["header:ce-time", "/occurred_at", "/timestamp", "/time"]

[[subjects]]
match = "payments.>"
key   = ["/payment_id"]

[dedup]
window  = "2m"
max_ids = 1_000_000
by      = "id"

[kinds]
ProcessPayment = "command"
"#,
        "flowscope.toml",
    )
    .unwrap();
    assert_eq!(cfg.fields, AnalysisConfig::default().fields);
    assert_eq!(cfg.subjects.len(), 1);
    assert_eq!(
        cfg.subjects[0].fields.key.0,
        vec![FieldSource::Pointer("/payment_id".into())]
    );
    assert_eq!(
        cfg.subjects[0].fields.id, cfg.fields.id,
        "other chains stay global"
    );
    assert_eq!(cfg.dedup.window, Duration::from_secs(120));
    assert_eq!(cfg.kinds["ProcessPayment"], Kind::Command);
}

#[test]
fn lag_thresholds_are_global_and_per_stream_or_consumer() {
    let cfg = parse(
        r#"
[lag]
window = 8
allowed_lag = 10

[[lag.consumers]]
stream = "ORDERS"
allowed_lag = 500

[[lag.consumers]]
stream = "ORDERS"
consumer = "billing"
window = 3
"#,
        "flowscope.toml",
    )
    .unwrap();
    let r = cfg.lag.rules_for("PAYMENTS", "x");
    assert_eq!((r.window, r.allowed_lag), (8, 10));
    let r = cfg.lag.rules_for("ORDERS", "shipping");
    assert_eq!((r.window, r.allowed_lag), (8, 500));
    let r = cfg.lag.rules_for("ORDERS", "billing");
    assert_eq!((r.window, r.allowed_lag), (3, 500));
    let err = parse(
        "[lag]
window = 1
",
        "f.toml",
    )
    .unwrap_err()
    .0;
    assert!(err.contains("at least 2 samples"), "{err}");
    let err = parse(
        "[[lag.consumers]]
consumer = \"x\"
",
        "f.toml",
    )
    .unwrap_err()
    .0;
    assert!(err.contains("stream"), "{err}");
}

#[test]
fn saga_definitions_parse_and_bad_ones_are_refused() {
    let cfg = parse(
        r#"
[[sagas]]
name         = "order"
correlation  = ["/order_id"]
steps        = ["OrderCreated", "InventoryReserved", "PaymentProcessed", "OrderShipped"]
failure      = ["PaymentFailed", "InventoryUnavailable"]
compensation = ["InventoryReleased", "OrderCancelled"]
timeout      = "30s"
step_timeouts = { PaymentProcessed = "2m" }
subjects     = ["orders.>", "payments.*"]
"#,
        "flowscope.toml",
    )
    .unwrap();
    let d = &cfg.sagas[0];
    assert_eq!(d.name, "order");
    assert_eq!(d.steps.len(), 4);
    assert_eq!(d.timeout, Duration::from_secs(30));
    assert_eq!(
        d.step_timeouts,
        [None, None, Some(Duration::from_secs(120)), None]
    );
    assert!(d.covers("payments.failed") && d.covers("orders.eu.created"));
    assert!(!d.covers("shipping.shipped"));
    assert_eq!(
        d.correlation.as_ref().unwrap().0,
        vec![FieldSource::Pointer("/order_id".into())]
    );
    let err = parse("[[sagas]]\nname = \"x\"\nsteps = []\n", "f.toml")
        .unwrap_err()
        .0;
    assert!(err.contains("list its steps"), "{err}");
    let err = parse(
        "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\nfailure = [\"A\"]\n",
        "f.toml",
    )
    .unwrap_err()
    .0;
    assert!(err.contains("A is listed twice"), "{err}");
    let err = parse(
        "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\ntimeout = \"soon\"\n",
        "f.toml",
    )
    .unwrap_err()
    .0;
    assert!(err.contains("f.toml:4"), "{err}");
    let err = parse(
        "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\nstep_timeouts = { B = \"1m\" }\n",
        "f.toml",
    )
    .unwrap_err()
    .0;
    assert!(
        err.contains("[[sagas]] x: step_timeouts names B, which is not one of its steps"),
        "{err}"
    );
    let err = parse(
        "[[sagas]]\nname = \"x\"\nsteps = [\"A\"]\nsubjects = [\"orders.>.x\"]\n",
        "f.toml",
    )
    .unwrap_err()
    .0;
    assert!(err.contains("'>' may only be the last token"), "{err}");
}

#[test]
fn errors_name_file_line_and_key() {
    let err = parse("[dedup]\nwindow = \"2m\"\nwindw = \"3m\"\n", "my.toml")
        .unwrap_err()
        .0;
    assert!(
        err.starts_with("my.toml:3 (`windw`): unknown field `windw`"),
        "{err}"
    );

    let err = parse("[dedup]\nwindow = \"2 fortnights\"\n", "my.toml")
        .unwrap_err()
        .0;
    assert!(
        err.starts_with("my.toml:2 (`window`): '2 fortnights' is not a duration"),
        "{err}"
    );

    let err = parse("[fields]\nkey = [\"aggregate_id\"]\n", "f.toml")
        .unwrap_err()
        .0;
    assert!(
        err.starts_with("f.toml:2 (`key`): 'aggregate_id' is neither a JSON Pointer"),
        "{err}"
    );

    let err = parse("[[subjects]]\nmatch = \"a..b\"\n", "f.toml")
        .unwrap_err()
        .0;
    assert!(err.starts_with("f.toml:2 (`match`)"), "{err}");

    let err = parse("[kinds]\nX = \"event\"\n", "f.toml").unwrap_err().0;
    assert!(
        err.starts_with("f.toml:2 (`X`): unknown variant `event`"),
        "{err}"
    );

    let err = parse("[dedup]\nby = \"hash\"\n", "f.toml").unwrap_err().0;
    assert!(err.contains("(`by`)") && err.contains("payload"), "{err}");

    let err = parse("[bogus]\n", "f.toml").unwrap_err().0;
    assert!(
        err.starts_with("f.toml:1 (`bogus`): unknown field `bogus`"),
        "{err}"
    );

    assert!(
        parse("not toml = = 1", "f.toml")
            .unwrap_err()
            .0
            .starts_with("f.toml:1")
    );
}

#[test]
fn too_many_pointers_are_refused() {
    let many: Vec<String> = (0..130).map(|i| format!("\"/f{i}\"")).collect();
    let err = parse(&format!("[fields]\nkey = [{}]\n", many.join(",")), "f.toml")
        .unwrap_err()
        .0;
    assert!(err.contains("at most 128"), "{err}");
}

#[test]
fn an_empty_file_gives_the_defaults() {
    let cfg = parse("", "f.toml").unwrap();
    assert_eq!(cfg.fields, AnalysisConfig::default().fields);
    assert!(cfg.subjects.is_empty());
}

#[test]
fn a_missing_explicit_file_is_an_error() {
    let err = load(Some(Path::new("/no/such/flowscope.toml")))
        .unwrap_err()
        .0;
    assert!(
        err.starts_with("cannot read config file /no/such/flowscope.toml"),
        "{err}"
    );
}
