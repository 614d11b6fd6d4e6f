//! The demo's JetStream side: a stream over the order subjects and three
//! durable consumers with recognisable health: one keeps up, one falls
//! behind, one stops acknowledging.

use std::time::Duration;

use async_nats::Client;
use async_nats::jetstream::{self, consumer::pull, stream};
use color_eyre::Result;
use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// The demo stream.
pub const STREAM: &str = "ORDERS";
/// Subjects the demo stream captures.
pub const SUBJECTS: [&str; 4] = ["orders.>", "inventory.>", "payments.>", "shipping.>"];

/// How a demo consumer behaves.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Behaviour {
    /// Acknowledges everything as fast as it arrives.
    KeepsUp,
    /// Acknowledges at a fraction of the publish rate: lag grows.
    FallsBehind { per_sec: f64 },
    /// Takes deliveries and never acknowledges: the ack floor stalls.
    StopsAcking,
}

/// Creates the stream and its consumers (idempotent) and starts the consumer
/// tasks. Returns `None` when the server has no JetStream.
pub async fn start(
    client: &Client,
    publish_rate: f64,
    cancel: CancellationToken,
) -> Result<Option<Vec<JoinHandle<()>>>> {
    if !client.server_info().jetstream {
        return Ok(None);
    }
    let js = jetstream::new(client.clone());
    let stream = js
        .get_or_create_stream(stream::Config {
            name: STREAM.to_owned(),
            subjects: SUBJECTS.iter().map(|s| s.to_string()).collect(),
            max_age: Duration::from_secs(3600),
            storage: stream::StorageType::File,
            ..Default::default()
        })
        .await?;
    let consumers = [
        ("shipping", "ships orders; keeps up", Behaviour::KeepsUp),
        (
            "analytics",
            "reporting; processes slower than orders arrive",
            Behaviour::FallsBehind {
                per_sec: (publish_rate * 0.4).max(1.0),
            },
        ),
        (
            "billing",
            "invoices; takes messages but never acknowledges",
            Behaviour::StopsAcking,
        ),
    ];
    let mut tasks = Vec::new();
    for (name, description, behaviour) in consumers {
        let consumer = stream
            .get_or_create_consumer(
                name,
                pull::Config {
                    durable_name: Some(name.to_owned()),
                    description: Some(format!("flowscope demo: {description}")),
                    ack_policy: jetstream::consumer::AckPolicy::Explicit,
                    ack_wait: Duration::from_secs(30),
                    max_ack_pending: if behaviour == Behaviour::StopsAcking {
                        50
                    } else {
                        10_000
                    },
                    ..Default::default()
                },
            )
            .await?;
        let cancel = cancel.clone();
        tasks.push(tokio::spawn(async move {
            tokio::select! {
                _ = cancel.cancelled() => {}
                _ = consume(consumer, behaviour) => {}
            }
        }));
    }
    Ok(Some(tasks))
}

async fn consume(consumer: jetstream::consumer::Consumer<pull::Config>, behaviour: Behaviour) {
    loop {
        let (max, pause) = match behaviour {
            Behaviour::KeepsUp | Behaviour::StopsAcking => (200, Duration::ZERO),
            Behaviour::FallsBehind { per_sec } => {
                ((per_sec / 4.0).ceil() as usize, Duration::from_millis(250))
            }
        };
        let batch = consumer
            .fetch()
            .max_messages(max)
            .expires(Duration::from_secs(1))
            .messages()
            .await;
        match batch {
            Ok(mut msgs) => {
                while let Some(m) = msgs.next().await {
                    if let (Ok(m), false) = (m, behaviour == Behaviour::StopsAcking) {
                        let _ = m.ack().await;
                    }
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "demo consumer fetch failed");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
        if behaviour == Behaviour::StopsAcking {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        tokio::time::sleep(pause).await;
    }
}
