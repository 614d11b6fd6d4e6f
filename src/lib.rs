//! flowscope: watch event flows on NATS in the terminal.
//!
//! Data flows one way (see DESIGN.md): sources → bounded queue → synchronous
//! engine → snapshot → views. The library exposes every layer so tests and
//! benchmarks can drive them directly.

pub mod analysis;
pub mod analyze;
pub mod cli;
pub mod config;
pub mod demo;
pub mod envelope;
pub mod error;
pub mod format;
pub mod host;
pub mod lag_report;
pub mod output;
pub mod publish;
pub mod record;
pub mod recording;
pub mod replay;
pub mod report;
pub mod sanitize;
pub mod session;
pub mod sim;
pub mod source;
pub mod subject;
pub mod tui;
