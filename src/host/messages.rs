//! The messages that reach the engine host besides events, split by who
//! sends them: [`SourceEvent`]s come from the sources (the connection, the
//! pollers, the stream readers), [`Request`]s from the user (the TUI, a
//! headless command). Each receiver matches every variant it can receive.

use std::path::PathBuf;

use crate::analysis::LinkEvent;
use crate::analysis::filter::Filter;
use crate::analysis::flow::FlowPoll;
use crate::analysis::lag::LagPoll;
use crate::analysis::playback::Transport;
use crate::analysis::snapshot::ReaderStatus;

/// What a source tells the engine besides events.
#[derive(Debug)]
pub enum SourceEvent {
    /// The connection changed, at this time (ns).
    Link(LinkEvent, i64),
    /// The NATS client dropped messages: `total` so far; flowscope is
    /// blind from `since_ns`, the last time it knew it had missed nothing.
    ClientDrops { total: u64, since_ns: i64 },
    /// The NATS client has dropped nothing more, as of this time (ns).
    ClientCaughtUp(i64),
    /// A notice for the user (`None` clears it).
    Notice(Option<String>),
    /// A poll of the consumers' lag, taken at this time (ns).
    Lag(i64, Box<LagPoll>),
    /// A poll of the servers' connections and subscriptions.
    Flow(i64, Box<FlowPoll>),
    /// A stream reader's state changed.
    Reader(ReaderStatus),
    /// A hidden message arrived on this subject (an inbox reply).
    Answered(Box<str>),
}

/// What the user asks of the engine host.
#[derive(Debug)]
pub enum Request {
    /// Filter the event table (`None` clears the filter).
    Filter(Option<Filter>),
    /// Start recording to this file (a running recording stops first).
    Record(PathBuf),
    /// `r`: stop the recording, or start one in the recordings folder.
    ToggleRecording,
    /// A replay control.
    Transport(Transport),
    /// Take in what is queued, publish, and stop.
    Shutdown,
}
