//! Where envelopes come from: live core NATS subscriptions and JetStream
//! stream readers, plus the connection's event feed.

pub mod connect;
pub mod flow;
pub mod lag;
pub mod live;
pub mod start;
pub mod stream;

use async_nats::{Client, Event};
use crossbeam_channel::Sender;
use tokio::sync::mpsc::UnboundedReceiver;

use crate::analysis::LinkEvent;
use crate::host::SourceEvent;

/// Forwards the client's connection events to the engine until the client
/// is gone.
pub async fn forward_events(
    mut events: UnboundedReceiver<Event>,
    client: Client,
    control: Sender<SourceEvent>,
) {
    while let Some(ev) = events.recv().await {
        tracing::info!(event = %ev, "connection event");
        let msg = match ev {
            Event::Connected => SourceEvent::Link(
                LinkEvent::Connected {
                    version: Some(client.server_info().version),
                },
                live::now_ns(),
            ),
            Event::Disconnected => SourceEvent::Link(LinkEvent::Disconnected, live::now_ns()),
            Event::Closed => SourceEvent::Link(LinkEvent::Closed, live::now_ns()),
            Event::LameDuckMode => SourceEvent::Notice(Some(
                "the server is in lame duck mode and will shut down soon".into(),
            )),
            Event::ServerError(e) => SourceEvent::Notice(Some(format!("server error: {e}"))),
            _ => continue,
        };
        if control.send(msg).is_err() {
            break;
        }
    }
}
