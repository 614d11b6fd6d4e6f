//! Connection problems end with one clear sentence and a non-zero exit,
//! never a panic or a debug dump. natscli contexts are honoured.

mod support;

use std::time::Duration;

use assert_cmd::Command;
use flowscope::demo::server::{ServerOptions, free_port};

const AUTH_CONFIG: &str = "authorization { user: alice, password: s3cret }\n";

/// Runs flowscope with `args` (and optional env) and returns (exit code, stderr).
fn run(args: &[&str], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = Command::cargo_bin("flowscope").unwrap();
    cmd.args(args)
        .env_remove("NATS_URL")
        .timeout(Duration::from_secs(30));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn assert_one_sentence(stderr: &str, needle: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "one line expected: {stderr}");
    assert!(lines[0].starts_with("flowscope: "), "{stderr}");
    assert!(
        lines[0].contains(needle),
        "expected '{needle}' in: {stderr}"
    );
    assert!(
        !stderr.contains("panicked") && !stderr.contains("Error {"),
        "{stderr}"
    );
}

#[test]
fn refused_connection() {
    let port = free_port().unwrap().to_string();
    let url = format!("nats://127.0.0.1:{port}");
    let (code, err) = run(&["watch", "-s", &url], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "connection refused; is nats-server running there?");
    assert!(err.contains(&url));
}

#[test]
fn malformed_url() {
    let (code, err) = run(&["watch", "-s", "nats://bad host:x"], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "is not a valid NATS server URL");
}

#[test]
fn missing_creds_file() {
    let (code, err) = run(&["watch", "--creds", "/no/such/user.creds"], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "cannot use credentials file /no/such/user.creds");
}

#[test]
fn bad_creds_file_content() {
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("bad.creds");
    std::fs::write(&creds, "this is not a creds file").unwrap();
    let (code, err) = run(&["watch", "--creds", creds.to_str().unwrap()], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "cannot use credentials file");
}

#[test]
fn wrong_password_and_missing_credentials() {
    let server = support::server_with(ServerOptions {
        config: Some(AUTH_CONFIG.into()),
        ..ServerOptions::default()
    });
    let url = server.url();
    let (code, err) = run(
        &[
            "watch",
            "-s",
            &url,
            "--user",
            "alice",
            "--password",
            "wrong",
        ],
        &[],
    );
    assert_eq!(code, 1);
    assert_one_sentence(
        &err,
        "refused the connection (authorization violation) with --user/--password",
    );

    let (code, err) = run(&["watch", "-s", &url], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "the server requires some");

    let (code, err) = run(&["watch", "-s", &url, "--token", "nope"], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "with the --token");

    // What the user gave is what the message names.
    let (code, err) = run(&["watch", "-s", &url, "--user", "alice"], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "--user needs a password: add --password");
    let in_url = url.replace("nats://", "nats://alice:wrong@");
    let (code, err) = run(&["watch", "-s", &in_url], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "with the user and password in the server URL");
    assert!(!err.contains("wrong"), "the password is never shown: {err}");
}

#[test]
fn tls_to_a_plain_server() {
    let server = support::server();
    let url = format!("tls://127.0.0.1:{}", server.port());
    let (code, err) = run(&["watch", "-s", &url], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "TLS");
}

#[test]
fn invalid_subject() {
    let server = support::server();
    let (code, err) = run(&["watch", "-s", &server.url(), "orders..created"], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(
        &err,
        "cannot subscribe: 'orders..created' has an empty token",
    );
}

/// Writes a natscli context directory under a temporary XDG_CONFIG_HOME.
fn contexts(url: &str, select: Option<&str>) -> tempfile::TempDir {
    let home = tempfile::tempdir().unwrap();
    let dir = home.path().join("nats/context");
    std::fs::create_dir_all(&dir).unwrap();
    let ctx =
        format!(r#"{{"description":"test","url":"{url}","user":"alice","password":"s3cret"}}"#);
    std::fs::write(dir.join("prod.json"), ctx).unwrap();
    if let Some(name) = select {
        std::fs::write(home.path().join("nats/context.txt"), name).unwrap();
    }
    home
}

#[test]
fn named_and_selected_natscli_contexts_supply_url_and_credentials() {
    let server = support::server_with(ServerOptions {
        config: Some(AUTH_CONFIG.into()),
        ..ServerOptions::default()
    });
    let home = contexts(&server.url(), Some("prod"));
    let xdg = home.path().to_str().unwrap();
    let headless = ["demo", "--no-tui", "--duration", "300ms", "--rate", "50"];

    let mut named = headless.to_vec();
    named.extend(["--context", "prod"]);
    let (code, err) = run(&named, &[("XDG_CONFIG_HOME", xdg)]);
    assert_eq!(code, 0, "named context: {err}");

    // No server and no --context: the selected context is used.
    let (code, err) = run(&headless, &[("XDG_CONFIG_HOME", xdg)]);
    assert_eq!(code, 0, "selected context: {err}");

    // A server given on the command line wins over the selected context,
    // and then the context's credentials are not used either.
    let plain = support::server();
    let plain_url = plain.url();
    let mut explicit = headless.to_vec();
    explicit.extend(["-s", plain_url.as_str()]);
    let (code, err) = run(&explicit, &[("XDG_CONFIG_HOME", xdg)]);
    assert_eq!(code, 0, "explicit server: {err}");

    let (code, err) = run(
        &["watch", "--context", "missing"],
        &[("XDG_CONFIG_HOME", xdg)],
    );
    assert_eq!(code, 1);
    assert_one_sentence(&err, "cannot read natscli context 'missing'");
}

/// A CA and a server certificate for 127.0.0.1, written as PEM files.
fn tls_files(dir: &std::path::Path, name: &str) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, format!("{name} test CA"));
    let ca_key = KeyPair::generate().unwrap();
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_params =
        CertificateParams::new(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let leaf_key = KeyPair::generate().unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    let path = |f: &str| dir.join(format!("{name}-{f}")).to_str().unwrap().to_owned();
    let (ca, cert, key) = (path("ca.pem"), path("cert.pem"), path("key.pem"));
    std::fs::write(&ca, ca_cert.pem()).unwrap();
    std::fs::write(&cert, leaf.pem()).unwrap();
    std::fs::write(&key, leaf_key.serialize_pem()).unwrap();
    (ca, cert, key)
}

#[test]
fn tls_with_the_right_and_a_wrong_ca() {
    let dir = tempfile::tempdir().unwrap();
    let (ca, cert, key) = tls_files(dir.path(), "server");
    let (other_ca, _, _) = tls_files(dir.path(), "other");
    let server = support::server_with(ServerOptions {
        config: Some(format!(
            "tls {{\n  cert_file: \"{cert}\"\n  key_file: \"{key}\"\n}}\n"
        )),
        ..ServerOptions::default()
    });
    let url = format!("tls://127.0.0.1:{}", server.port());
    let headless = [
        "demo",
        "--no-tui",
        "--duration",
        "300ms",
        "--rate",
        "50",
        "-s",
        &url,
    ];

    let mut good = headless.to_vec();
    good.extend(["--tls-ca", &ca]);
    let (code, err) = run(&good, &[]);
    assert_eq!(code, 0, "the right CA connects: {err}");

    let mut bad = headless.to_vec();
    bad.extend(["--tls-ca", &other_ca]);
    let (code, err) = run(&bad, &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "TLS with");
    assert!(err.contains("--tls-ca"), "{err}");

    let (code, err) = run(&["watch", "-s", &url, "--tls-cert", &cert], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "--tls-cert and --tls-key go together");
}

#[test]
fn the_views_need_a_terminal() {
    // assert_cmd gives the child pipes, not a terminal.
    let (code, err) = run(&["demo", "--in-process"], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "the views need an interactive terminal");
    assert!(err.contains("flowscope demo --no-tui"), "{err}");
    // A replay is pointed at the report, not at the demo.
    let (code, err) = run(&["replay", "recordings/healthy.jsonl"], &[]);
    assert_eq!(code, 1);
    assert_one_sentence(&err, "the views need an interactive terminal");
    assert!(err.contains("flowscope analyze FILE"), "{err}");
    assert!(!err.contains("demo"), "{err}");
}
