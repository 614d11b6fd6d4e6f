//! Polls the servers' CONNZ (connections with their subscriptions) through
//! `$SYS.REQ.ACCOUNT.PING.CONNZ`: every server of the cluster answers for
//! the account flowscope is connected as.

use std::time::Duration;

use async_nats::Client;
use crossbeam_channel::Sender;
use futures::StreamExt;
use serde::Deserialize;

use super::live::now_ns;
use crate::analysis::flow::{Connection, FlowPoll, Subscription};
use crate::host::SourceEvent;

const SUBJECT: &str = "$SYS.REQ.ACCOUNT.PING.CONNZ";
/// Connections asked for per server.
const LIMIT: usize = 4096;
/// How long to wait for the first answer, and for more after one.
const FIRST: Duration = Duration::from_secs(2);
const MORE: Duration = Duration::from_millis(250);

#[derive(Debug, Deserialize)]
struct Reply {
    #[serde(default)]
    server: Option<ServerRef>,
    #[serde(default)]
    data: Option<Connz>,
    #[serde(default)]
    error: Option<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ServerRef {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(default)]
    description: String,
}

#[derive(Debug, Deserialize)]
struct Connz {
    #[serde(default)]
    server_id: String,
    #[serde(default)]
    total: usize,
    #[serde(default)]
    connections: Vec<Conn>,
}

#[derive(Debug, Deserialize)]
struct Conn {
    cid: u64,
    #[serde(default)]
    name: String,
    #[serde(default)]
    ip: String,
    #[serde(default)]
    port: u16,
    #[serde(default)]
    pending_bytes: u64,
    #[serde(default)]
    out_msgs: u64,
    #[serde(default)]
    subscriptions_list_detail: Vec<Sub>,
    /// Why a closed connection was closed.
    #[serde(default)]
    reason: String,
}

#[derive(Debug, Deserialize)]
struct Sub {
    subject: String,
    #[serde(default)]
    qgroup: Option<String>,
    #[serde(default)]
    msgs: u64,
}

/// One poll of every server that answers within the waits.
pub async fn poll(client: &Client) -> FlowPoll {
    let mut out = FlowPoll::default();
    let inbox = client.new_inbox();
    let mut replies = match client.subscribe(inbox.clone()).await {
        Ok(s) => s,
        Err(e) => {
            out.error = Some(format!("cannot ask for connections: {e}"));
            return out;
        }
    };
    let body = format!(r#"{{"subscriptions":true,"subscriptions_detail":true,"limit":{LIMIT}}}"#);
    if let Err(e) = client.publish_with_reply(SUBJECT, inbox, body.into()).await {
        out.error = Some(format!("cannot ask for connections: {e}"));
        return out;
    }
    let mut wait = FIRST;
    while let Ok(Some(msg)) = tokio::time::timeout(wait, replies.next()).await {
        wait = MORE;
        let reply: Reply = match serde_json::from_slice(&msg.payload) {
            Ok(r) => r,
            Err(e) => {
                out.error = Some(format!("an unreadable CONNZ answer ({e})"));
                continue;
            }
        };
        if let Some(e) = reply.error {
            out.error = Some(format!("the server refused CONNZ: {}", e.description));
            continue;
        }
        let Some(data) = reply.data else { continue };
        let server = reply.server.map(|s| s.name).unwrap_or_default();
        add(&mut out, server, data);
    }
    if out.servers == 0 && out.error.is_none() {
        out.error = Some(
            "no server answered $SYS.REQ.ACCOUNT.PING.CONNZ (it needs nats-server 2.2 or newer with the system account)"
                .into(),
        );
    }
    out
}

/// Adds one server's connections to the poll.
fn add(out: &mut FlowPoll, server: String, data: Connz) {
    out.servers += 1;
    out.truncated |= data.total > data.connections.len();
    for c in data.connections {
        for s in c.subscriptions_list_detail {
            out.subscriptions.push(Subscription {
                server: server.clone(),
                cid: c.cid,
                subject: s.subject,
                queue: s.qgroup.filter(|q| !q.is_empty()),
                msgs: s.msgs,
            });
        }
        out.connections.push(Connection {
            server: server.clone(),
            cid: c.cid,
            name: if c.name.is_empty() {
                format!("cid {} ({}:{})", c.cid, c.ip, c.port)
            } else {
                c.name
            },
            pending_bytes: c.pending_bytes,
            out_msgs: c.out_msgs,
            pending_growing: false,
            slow_closed: 0,
        });
    }
}

/// One poll of the server's HTTP monitoring endpoint (`--monitor`).
pub fn poll_monitor(base: &str) -> FlowPoll {
    let mut out = FlowPoll::default();
    let url = format!(
        "{}/connz?subs=detail&limit={LIMIT}",
        base.trim_end_matches('/')
    );
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(FIRST))
        .build()
        .into();
    let body = agent
        .get(&url)
        .call()
        .map_err(|e| e.to_string())
        .and_then(|mut r| r.body_mut().read_to_string().map_err(|e| e.to_string()));
    match body.and_then(|b| serde_json::from_str::<Connz>(&b).map_err(|e| e.to_string())) {
        Ok(data) => {
            let server = data.server_id.clone();
            add(&mut out, server, data);
        }
        Err(e) => {
            out.error = Some(format!("cannot read {url}: {e}"));
            return out;
        }
    }
    // Slow consumers are closed by the server: count them by client name
    // among the connections it remembers as closed.
    let closed = format!(
        "{}/connz?state=closed&limit={LIMIT}",
        base.trim_end_matches('/')
    );
    let body = agent
        .get(&closed)
        .call()
        .map_err(|e| e.to_string())
        .and_then(|mut r| r.body_mut().read_to_string().map_err(|e| e.to_string()));
    if let Ok(data) =
        body.and_then(|b| serde_json::from_str::<Connz>(&b).map_err(|e| e.to_string()))
    {
        for c in data.connections {
            if c.reason.starts_with("Slow Consumer") && !c.name.is_empty() {
                *out.slow_closed.entry(c.name).or_default() += 1;
            }
        }
    }
    out
}

/// Polls every `interval` until the engine stops: the monitoring endpoint
/// when one is given, else over NATS.
pub async fn run(
    client: Client,
    monitor: Option<String>,
    interval: Duration,
    control: Sender<SourceEvent>,
) {
    let mut tick = tokio::time::interval(interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let p = match &monitor {
            Some(url) => {
                let url = url.clone();
                tokio::task::spawn_blocking(move || poll_monitor(&url))
                    .await
                    .unwrap_or_default()
            }
            None => poll(&client).await,
        };
        if control
            .send(SourceEvent::Flow(now_ns(), Box::new(p)))
            .is_err()
        {
            return;
        }
    }
}
