//! Core NATS services of the simulated order system: plain and queue-group
//! subscribers on their own connections, so the subjects view can show who
//! consumes what (fan-out, queue groups, pending bytes).

use futures::StreamExt;
use tokio_util::sync::CancellationToken;

use crate::source::connect::{self, Resolved, Tuning};

/// (connection name, subject, queue group)
const SERVICES: [(&str, &str, Option<&str>); 4] = [
    ("audit-log", "orders.>", None),
    ("inventory-svc", "inventory.commands", None),
    ("notifier-1", "notifications.>", Some("notifiers")),
    ("notifier-2", "notifications.>", Some("notifiers")),
];

/// Connects the services; they take messages until `cancel`.
pub async fn start(resolved: &Resolved, cancel: CancellationToken) -> color_eyre::Result<()> {
    for (name, subject, queue) in SERVICES {
        let c = connect::connect(
            resolved,
            &Tuning {
                name: name.into(),
                ..Tuning::default()
            },
        )
        .await?;
        let mut sub = match queue {
            Some(q) => c.client.queue_subscribe(subject, q.into()).await?,
            None => c.client.subscribe(subject).await?,
        };
        let token = cancel.clone();
        let client = c.client;
        tokio::spawn(async move {
            let _keep = client;
            loop {
                tokio::select! {
                    _ = token.cancelled() => break,
                    m = sub.next() => if m.is_none() { break },
                }
            }
        });
    }
    Ok(())
}
