//! Connecting to NATS: server URLs, authentication, TLS, natscli contexts, and
//! connection errors explained in one sentence.
//!
//! Precedence: flags and `NATS_URL` first, then the named `--context`, then
//! the context selected with `nats context select` (only when no server is
//! given), then `nats://127.0.0.1:4222`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use async_nats::{Client, ConnectErrorKind, ConnectOptions, Event};
use color_eyre::Result;
use serde::Deserialize;
use tokio::sync::mpsc;

use crate::error::{UserError, user_error};

pub const DEFAULT_SERVER: &str = "nats://127.0.0.1:4222";

/// How to reach and authenticate to NATS, as the user gave it (flags and
/// `NATS_*` variables); [`resolve`] merges it with natscli contexts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnSettings {
    pub servers: Vec<String>,
    pub creds: Option<PathBuf>,
    pub nkey: Option<PathBuf>,
    pub token: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    pub context: Option<String>,
}

/// A natscli context file (`~/.config/nats/context/NAME.json`); only the
/// fields flowscope uses.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct ContextFile {
    url: String,
    token: String,
    user: String,
    password: String,
    creds: String,
    nkey: String,
    cert: String,
    key: String,
    ca: String,
}

/// Connection settings after flags, environment and context are merged.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resolved {
    pub servers: Vec<String>,
    pub creds: Option<PathBuf>,
    pub nkey: Option<PathBuf>,
    pub token: Option<String>,
    pub user: Option<String>,
    pub password: Option<String>,
    pub tls_ca: Option<PathBuf>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// The natscli context that was applied, if any.
    pub context: Option<String>,
    /// Where the user and password (or the token) came from, so that a
    /// message names what the user actually gave.
    pub secret_from: SecretFrom,
}

/// Where credentials came from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SecretFrom {
    /// `--user`/`--password`/`--token` or their `NATS_*` variables.
    #[default]
    Flags,
    /// The natscli context.
    Context,
    /// `nats://user:password@host` or `nats://token@host`.
    Url,
}

impl Resolved {
    /// How the messages name the user and password.
    fn user_password(&self) -> String {
        match self.secret_from {
            SecretFrom::Flags => "--user/--password".into(),
            SecretFrom::Context => format!(
                "the user and password of context {}",
                self.context.as_deref().unwrap_or("?")
            ),
            SecretFrom::Url => "the user and password in the server URL".into(),
        }
    }

    /// How the messages name the token.
    fn token_source(&self) -> String {
        match self.secret_from {
            SecretFrom::Flags => "the --token".into(),
            SecretFrom::Context => format!(
                "the token of context {}",
                self.context.as_deref().unwrap_or("?")
            ),
            SecretFrom::Url => "the token in the server URL".into(),
        }
    }
}

fn nats_config_dir() -> Option<PathBuf> {
    std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| dirs::home_dir().map(|h| h.join(".config")))
        .map(|d| d.join("nats"))
}

fn expand_home(p: &str) -> PathBuf {
    match (p.strip_prefix("~/"), dirs::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest),
        _ => PathBuf::from(p),
    }
}

fn non_empty(s: String) -> Option<String> {
    (!s.is_empty()).then_some(s)
}

fn load_context(dir: &Path, name: &str) -> Result<ContextFile> {
    let path = dir.join("context").join(format!("{name}.json"));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            return user_error(format!(
                "cannot read natscli context '{name}' at {}: {e}; list contexts with `nats context ls`",
                path.display()
            ));
        }
    };
    serde_json::from_str(&text).map_err(|e| {
        UserError(format!(
            "natscli context file {} is not valid JSON ({e}); fix it or pick another with --context",
            path.display()
        ))
        .into()
    })
}

/// Merges flags, environment and natscli context into connection settings.
pub fn resolve(args: &ConnSettings) -> Result<Resolved> {
    let dir = nats_config_dir();
    let context_name = match (&args.context, args.servers.is_empty(), &dir) {
        (Some(name), _, _) => Some(name.clone()),
        (None, true, Some(dir)) => std::fs::read_to_string(dir.join("context.txt"))
            .ok()
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty()),
        _ => None,
    };
    let ctx = match (&context_name, &dir) {
        (Some(name), Some(dir)) => load_context(dir, name)?,
        (Some(name), None) => {
            return user_error(format!(
                "cannot find natscli context '{name}': no home or config directory is set"
            ));
        }
        _ => ContextFile::default(),
    };
    let servers = if !args.servers.is_empty() {
        args.servers.clone()
    } else if !ctx.url.is_empty() {
        ctx.url.split(',').map(|s| s.trim().to_owned()).collect()
    } else {
        vec![DEFAULT_SERVER.to_owned()]
    };
    let path = |flag: &Option<PathBuf>, ctx: String| {
        flag.clone()
            .or_else(|| non_empty(ctx).map(|p| expand_home(&p)))
    };
    let servers: Vec<String> = servers.into_iter().filter(|s| !s.is_empty()).collect();
    // Like natscli: nats://user:password@host or nats://token@host, when
    // no flag or context says otherwise.
    let (url_user, url_password, url_token) = url_credentials(&servers);
    let given = |v: &Option<String>| v.is_some();
    let secret_from = if given(&args.user) || given(&args.password) || given(&args.token) {
        SecretFrom::Flags
    } else if !(ctx.user.is_empty() && ctx.password.is_empty() && ctx.token.is_empty()) {
        SecretFrom::Context
    } else if url_user.is_some() || url_token.is_some() {
        SecretFrom::Url
    } else {
        SecretFrom::Flags
    };
    Ok(Resolved {
        secret_from,
        creds: path(&args.creds, ctx.creds),
        nkey: path(&args.nkey, ctx.nkey),
        token: args
            .token
            .clone()
            .or_else(|| non_empty(ctx.token))
            .or(url_token),
        user: args
            .user
            .clone()
            .or_else(|| non_empty(ctx.user))
            .or(url_user),
        password: args
            .password
            .clone()
            .or_else(|| non_empty(ctx.password))
            .or(url_password),
        servers,
        tls_ca: path(&args.tls_ca, ctx.ca),
        tls_cert: path(&args.tls_cert, ctx.cert),
        tls_key: path(&args.tls_key, ctx.key),
        context: context_name,
    })
}

/// Credentials in the first server URL that has some: (user, password)
/// from `user:password@`, or a token from `token@`. Percent-escapes are
/// decoded.
fn url_credentials(servers: &[String]) -> (Option<String>, Option<String>, Option<String>) {
    for s in servers {
        let with_scheme = if s.contains("://") {
            s.clone()
        } else {
            format!("nats://{s}")
        };
        let Ok(url) = url::Url::parse(&with_scheme) else {
            continue;
        };
        let decode = |v: &str| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        };
        match (url.username(), url.password()) {
            ("", _) => continue,
            (user, Some(pw)) => return (Some(decode(user)), Some(decode(pw)), None),
            (token, None) => return (None, None, Some(decode(token))),
        }
    }
    (None, None, None)
}

/// The server list as shown to the user, without credentials in URLs.
pub fn display_servers(servers: &[String]) -> String {
    servers
        .iter()
        .map(|s| match (s.find("://"), s.rfind('@')) {
            (Some(scheme), Some(at)) if at > scheme => {
                format!("{}{}", &s[..scheme + 3], &s[at + 1..])
            }
            (None, Some(at)) => s[at + 1..].to_owned(),
            _ => s.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Tuning for one connection.
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Messages buffered per subscription inside the client.
    pub subscription_capacity: Option<usize>,
    /// Client name the server shows for this connection.
    pub name: String,
}

/// A live connection with its event feed.
pub struct Connection {
    pub client: Client,
    /// Connect/disconnect and other client events, in order.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// The servers, for display.
    pub display: String,
}

async fn options(r: &Resolved, tuning: &Tuning) -> Result<ConnectOptions> {
    let mut opts = match &r.creds {
        Some(path) => ConnectOptions::with_credentials_file(path).await.map_err(|e| {
            UserError(format!(
                "cannot use credentials file {}: {e}; check the --creds path and that the file was made by nsc",
                path.display()
            ))
        })?,
        None => ConnectOptions::new(),
    };
    if let Some(path) = &r.nkey {
        let seed = std::fs::read_to_string(path).map_err(|e| {
            UserError(format!(
                "cannot read NKey seed file {}: {e}",
                path.display()
            ))
        })?;
        opts = opts.nkey(seed.trim().to_owned());
    }
    if let Some(token) = &r.token {
        opts = opts.token(token.clone());
    }
    match (&r.user, &r.password) {
        (Some(u), Some(p)) => opts = opts.user_and_password(u.clone(), p.clone()),
        (Some(_), None) if r.secret_from == SecretFrom::Flags => {
            return user_error("--user needs a password: add --password (or set NATS_PASSWORD)");
        }
        (Some(u), None) => opts = opts.user_and_password(u.clone(), String::new()),
        (None, Some(_)) if r.secret_from == SecretFrom::Flags => {
            return user_error("--password needs a user: add --user (or set NATS_USER)");
        }
        (None, Some(_)) => {
            return user_error(format!("{} has a password but no user", r.user_password()));
        }
        (None, None) => {}
    }
    if let Some(ca) = &r.tls_ca {
        opts = opts.add_root_certificates(ca.clone()).require_tls(true);
    }
    match (&r.tls_cert, &r.tls_key) {
        (Some(c), Some(k)) => {
            opts = opts
                .add_client_certificate(c.clone(), k.clone())
                .require_tls(true)
        }
        (None, None) => {}
        _ => return user_error("--tls-cert and --tls-key go together: give both"),
    }
    if let Some(cap) = tuning.subscription_capacity {
        opts = opts.subscription_capacity(cap.max(1));
    }
    Ok(opts
        .name(if tuning.name.is_empty() {
            "flowscope"
        } else {
            &tuning.name
        })
        .connection_timeout(Duration::from_secs(5)))
}

/// Connects, or fails with one sentence saying what failed and what to try.
pub async fn connect(r: &Resolved, tuning: &Tuning) -> Result<Connection> {
    let display = display_servers(&r.servers);
    let (tx, rx) = mpsc::unbounded_channel();
    let opts = options(r, tuning).await?.event_callback(move |ev| {
        let tx = tx.clone();
        async move {
            let _ = tx.send(ev);
        }
    });
    let addrs: Vec<async_nats::ServerAddr> = r
        .servers
        .iter()
        .map(|s| {
            s.parse().map_err(|_| {
                UserError(format!(
                    "'{}' is not a valid NATS server URL; use nats://host:port (or tls://, ws://)",
                    display_servers(std::slice::from_ref(s))
                ))
            })
        })
        .collect::<Result<_, _>>()?;
    if addrs.is_empty() {
        return user_error("no NATS server given; use -s nats://host:port");
    }
    let servers = display.clone();
    tracing::info!(%servers, context = ?r.context, "connecting");
    match opts.connect(addrs).await {
        Ok(client) => Ok(Connection {
            client,
            events: rx,
            display,
        }),
        Err(e) => {
            tracing::warn!(error = %e, "connect failed");
            Err(UserError(explain(&e, &display, r)).into())
        }
    }
}

/// Waits until the server has processed everything this client published.
///
/// `flush` only hands the bytes to the socket: a process that exits right
/// after it can still lose its last messages (closing a socket with unread
/// input resets it). The server handles a connection's messages in order, so
/// once a message to our own inbox comes back, every earlier one was routed.
pub async fn settle(client: &Client, within: Duration) -> Result<()> {
    round_trip(client, within).await.map(drop)
}

/// Sends an empty message to a fresh inbox of this client and waits for it
/// to come back; returns the inbox, so that a subscriber to `>` can skip it.
/// Once it is back the server has processed everything this client sent
/// before it, subscriptions included.
pub async fn round_trip(client: &Client, within: Duration) -> Result<String> {
    use futures::StreamExt;
    let inbox = client.new_inbox();
    let mut echo = client.subscribe(inbox.clone()).await?;
    client.publish(inbox.clone(), bytes::Bytes::new()).await?;
    client.flush().await?;
    match tokio::time::timeout(within, echo.next()).await {
        Ok(Some(_)) => Ok(inbox),
        _ => user_error(format!(
            "the server did not confirm the published messages within {}; some may be lost",
            humantime::format_duration(within)
        )),
    }
}

/// One sentence for a failed connect: what failed, and what to try.
pub fn explain(err: &async_nats::ConnectError, display: &str, r: &Resolved) -> String {
    let detail = std::error::Error::source(err)
        .map(|s| s.to_string())
        .unwrap_or_else(|| err.to_string());
    let lower = detail.to_ascii_lowercase();
    match err.kind() {
        ConnectErrorKind::AuthorizationViolation => {
            let how = if r.creds.is_some() {
                "the --creds file"
            } else if r.nkey.is_some() {
                "the --nkey seed"
            } else if r.token.is_some() {
                &r.token_source()
            } else if r.user.is_some() {
                &r.user_password()
            } else {
                "no credentials (the server requires some: use --user/--password, --token, --creds, --nkey or --context)"
            };
            format!(
                "the server at {display} refused the connection (authorization violation) with {how}; check them and try again"
            )
        }
        ConnectErrorKind::Authentication => format!(
            "could not authenticate to {display}: {detail}; check the --creds or --nkey file"
        ),
        ConnectErrorKind::Tls => format!(
            "TLS with {display} failed: {detail}; check --tls-ca/--tls-cert/--tls-key, or use tls:// if the server requires TLS"
        ),
        ConnectErrorKind::TimedOut => format!(
            "timed out connecting to {display}; check the address and that no firewall is in the way"
        ),
        ConnectErrorKind::Dns => {
            format!("cannot resolve the host in {display}: {detail}; check the server URL")
        }
        ConnectErrorKind::ServerParse => {
            format!("'{display}' is not a valid NATS server URL; use nats://host:port")
        }
        _ if lower.contains("refused") => format!(
            "could not connect to {display}: connection refused; is nats-server running there? Point flowscope at your server with -s URL or NATS_URL"
        ),
        _ if lower.contains("corrupt message") || lower.contains("invalidcontenttype") => format!(
            "the server at {display} did not answer TLS (is TLS enabled there?); use nats:// or the server's TLS port"
        ),
        _ if lower.contains("tls") || lower.contains("certificate") => {
            format!("TLS with {display} failed: {detail}; check --tls-ca/--tls-cert/--tls-key")
        }
        _ => format!("could not connect to {display}: {detail}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_hidden_from_display() {
        let s = vec![
            "nats://alice:secret@host:4222".to_owned(),
            "bob:pw@other:4222".to_owned(),
            "tls://plain:4443".to_owned(),
        ];
        assert_eq!(
            display_servers(&s),
            "nats://host:4222,other:4222,tls://plain:4443"
        );
    }

    #[test]
    fn credentials_in_urls_are_used() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(
            url_credentials(&s(&["nats://alice:p%40ss@host:4222"])),
            (Some("alice".into()), Some("p@ss".into()), None)
        );
        assert_eq!(
            url_credentials(&s(&["plain:4222", "tok3n@other:4222"])),
            (None, None, Some("tok3n".into()))
        );
        assert_eq!(
            url_credentials(&s(&["nats://host:4222"])),
            (None, None, None)
        );
    }

    #[test]
    fn context_fills_what_flags_leave_out() {
        let dir = tempfile::tempdir().unwrap();
        let ctxdir = dir.path().join("context");
        std::fs::create_dir_all(&ctxdir).unwrap();
        std::fs::write(
            ctxdir.join("prod.json"),
            r#"{"url":"nats://a:4222,nats://b:4222","user":"u","password":"p","description":"x"}"#,
        )
        .unwrap();
        let ctx = load_context(dir.path(), "prod").unwrap();
        assert_eq!(ctx.url, "nats://a:4222,nats://b:4222");
        assert_eq!(ctx.user, "u");
        assert!(load_context(dir.path(), "missing").is_err());
        std::fs::write(ctxdir.join("bad.json"), "{").unwrap();
        let err = load_context(dir.path(), "bad").unwrap_err().to_string();
        assert!(err.contains("not valid JSON"), "{err}");
    }
}
