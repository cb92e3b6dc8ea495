//! The `magpie` binary's machine-readable readiness announcement: one JSON object, printed as the
//! only line on stdout (and optionally written to a file) once every shard accepts connections,
//! so that tests, the load generator and supervisors read the addresses instead of parsing the
//! human log on stderr. See docs/OPERATIONS.md, "Readiness".

use crate::config::Config;
use crate::runtime::Io;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// What a ready engine announces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ready {
    /// Always `"ready"` (the field lets a reader tell this line from any other JSON it sees).
    pub event: String,
    /// The binary's version (`CARGO_PKG_VERSION`).
    pub version: String,
    /// Where QUIC is served (UDP), with the port actually bound (port 0 resolved).
    pub quic: SocketAddr,
    /// Where WebSocket and HTTP are served (TCP), with the port actually bound.
    pub tcp: SocketAddr,
    /// The plaintext WebSocket URL (`ws://<tcp>/ws`); `wss://` is served on the same port.
    pub ws: String,
    pub shards: usize,
    /// The TCP I/O driver in use: `epoll` or `io_uring`.
    pub io: String,
    /// `power-loss` or `process-crash`.
    pub durability: String,
    pub pid: u32,
    /// The data directory, absolute.
    pub data_dir: PathBuf,
    /// The self-signed certificate file (DER) QUIC and `wss://` clients must trust, absolute;
    /// absent when the operator's certificate is served (clients then trust its issuer).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cert_der: Option<PathBuf>,
}

impl Ready {
    /// The announcement of an engine running in this process with `config` (`Engine::ready`
    /// calls this; the engine's fields are passed apart so that this file needs nothing above it).
    pub fn new(config: &Config, quic: SocketAddr, tcp: SocketAddr, shards: usize, io: Io) -> Ready {
        // Absolute, so that a reader in another working directory finds the files.
        let data_dir = std::fs::canonicalize(&config.data_dir).unwrap_or_else(|_| config.data_dir.clone());
        Ready {
            event: "ready".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            quic,
            tcp,
            ws: format!("ws://{tcp}/ws"),
            shards,
            io: io.name().into(),
            durability: match config.durability {
                magpie_storage::Durability::PowerLoss => "power-loss",
                magpie_storage::Durability::ProcessCrash => "process-crash",
            }
            .into(),
            pid: std::process::id(),
            cert_der: config.tls_cert.is_none().then(|| data_dir.join("tls/cert.der")),
            data_dir,
        }
    }

    /// The announcement as one line of JSON (no newline).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("a Ready serialises")
    }

    /// Reads an announcement; anything but a JSON object with `"event":"ready"` is an error.
    pub fn parse(line: &str) -> Result<Ready, String> {
        let ready: Ready = serde_json::from_str(line.trim()).map_err(|e| format!("not a readiness line: {e}"))?;
        if ready.event != "ready" {
            return Err(format!("event is {:?}, not \"ready\"", ready.event));
        }
        Ok(ready)
    }

    /// Writes the announcement (one JSON line) to `path` atomically: into a temporary file beside
    /// it, then renamed over it, so that a reader polling for the file never sees half of it.
    pub fn write_file(&self, path: &Path) -> std::io::Result<()> {
        let name = path.file_name().ok_or_else(|| std::io::Error::other(format!("{} is not a file path", path.display())))?;
        let mut tmp_name = std::ffi::OsString::from(".");
        tmp_name.push(name);
        tmp_name.push(format!(".{}.tmp", std::process::id()));
        let tmp = path.with_file_name(tmp_name);
        std::fs::write(&tmp, format!("{}\n", self.to_json()))?;
        std::fs::rename(&tmp, path).inspect_err(|_| {
            let _ = std::fs::remove_file(&tmp);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Ready {
        Ready {
            event: "ready".into(),
            version: "0.1.0".into(),
            quic: "127.0.0.1:7600".parse().unwrap(),
            tcp: "127.0.0.1:7601".parse().unwrap(),
            ws: "ws://127.0.0.1:7601/ws".into(),
            shards: 2,
            io: "epoll".into(),
            durability: "power-loss".into(),
            pid: 42,
            data_dir: "/var/lib/magpie".into(),
            cert_der: Some("/var/lib/magpie/tls/cert.der".into()),
        }
    }

    #[test]
    fn round_trips_as_one_line_and_rejects_other_json() {
        let r = sample();
        let line = r.to_json();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with(r#"{"event":"ready","#), "{line}");
        assert_eq!(Ready::parse(&line), Ok(r));
        assert!(Ready::parse(&line.replace(r#""event":"ready""#, r#""event":"stopped""#)).is_err());
        assert!(Ready::parse("magpie 0.1.0 serving").is_err());
        assert!(Ready::parse(r#"{"event":"ready"}"#).is_err(), "fields are required");
    }

    #[test]
    fn the_file_is_replaced_whole_and_no_temporary_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ready.json");
        std::fs::write(&path, "stale").unwrap();
        let r = sample();
        r.write_file(&path).unwrap();
        assert_eq!(Ready::parse(&std::fs::read_to_string(&path).unwrap()), Ok(r.clone()));
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, [std::ffi::OsString::from("ready.json")]);
        assert!(r.write_file(Path::new("/")).is_err(), "a path without a file name");
    }
}
