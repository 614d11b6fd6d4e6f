//! Captures made with natscli: `nats sub --dump DIR` (one `N.json` file per
//! message) and `--dump=-` (records separated by NUL, or one per line),
//! each record Go's JSON of a `nats.Msg`. They have no receive times: a
//! directory's files take their modification times, a stream's records
//! [`DUMP_STEP_NS`] apart.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use serde::Deserialize;

use crate::envelope::{Envelope, JsMeta};

/// Time between records of a capture that has no times (natscli dumps).
pub const DUMP_STEP_NS: i64 = 1_000_000;

/// Whether a record looks like a `nats sub --dump` record.
pub fn looks_like_dump(record: &[u8]) -> bool {
    serde_json::from_slice::<serde_json::Value>(record.trim_ascii())
        .is_ok_and(|v| v.get("Subject").is_some())
}

/// A `nats sub --dump` record (Go's JSON of a `nats.Msg`).
#[derive(Debug, Deserialize)]
pub struct DumpRecord {
    #[serde(rename = "Subject")]
    subject: String,
    #[serde(rename = "Reply", default)]
    reply: Option<String>,
    #[serde(rename = "Header", default)]
    header: Option<std::collections::BTreeMap<String, Vec<String>>>,
    #[serde(rename = "Data", default)]
    data: Option<String>,
}

impl DumpRecord {
    pub fn into_envelope(self, t: i64) -> Result<Envelope, String> {
        let payload = match self.data {
            Some(d) => B64
                .decode(d.as_bytes())
                .map_err(|e| format!("bad base64 in Data: {e}"))?,
            None => Vec::new(),
        };
        let mut env = Envelope::new(t, &self.subject, Bytes::from(payload));
        env.reply = self.reply.filter(|r| !r.is_empty()).map(Into::into);
        for (name, values) in self.header.unwrap_or_default() {
            for v in values {
                env.headers.push((name.as_str().into(), v.into()));
            }
        }
        env.js = env.reply.as_deref().and_then(JsMeta::from_ack_subject);
        Ok(env)
    }
}

pub fn mtime_ns(path: &Path) -> i64 {
    std::fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i64)
}

/// The `N.json` (and `N_reply.json`) files of a dump directory in order,
/// with their modification times.
pub fn dump_files(dir: &Path) -> Result<Vec<(PathBuf, i64)>, String> {
    let entries =
        std::fs::read_dir(dir).map_err(|e| format!("cannot read {}: {e}", dir.display()))?;
    let mut files: Vec<(u64, bool, PathBuf)> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| {
            let stem = p.file_stem()?.to_str()?.to_owned();
            let (num, reply) = match stem.strip_suffix("_reply") {
                Some(n) => (n.parse().ok()?, true),
                None => (stem.parse().ok()?, false),
            };
            Some((num, reply, p))
        })
        .collect();
    if files.is_empty() {
        return Err(format!(
            "{} has no N.json files: it is not a `nats sub --dump` directory",
            dir.display()
        ));
    }
    files.sort();
    Ok(files
        .into_iter()
        .map(|(_, _, p)| {
            let t = mtime_ns(&p);
            (p, t)
        })
        .collect())
}
