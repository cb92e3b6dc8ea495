//! Running the `magpiectl` binary from tests, isolated from the caller's environment.
#![allow(dead_code)] // each test file uses a different subset

use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What one run of magpiectl did.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, Some(0), "magpiectl failed\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stdout
    }

    /// Asserts success and parses stdout as one JSON document.
    #[track_caller]
    pub fn json(&self) -> Value {
        let out = self.ok();
        serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
    }

    /// Asserts success and parses stdout as JSON lines.
    #[track_caller]
    pub fn json_lines(&self) -> Vec<Value> {
        self.ok()
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not a JSON line ({e}): {l}")))
            .collect()
    }

    /// Asserts failure with exit code 1 and returns stderr.
    #[track_caller]
    pub fn err(&self) -> &str {
        assert_eq!(self.code, Some(1), "expected failure\nstdout: {}\nstderr: {}", self.stdout, self.stderr);
        &self.stderr
    }

    /// Asserts failure and parses the JSON error object from stderr (with --json).
    #[track_caller]
    pub fn json_err(&self) -> Value {
        let err = self.err();
        let v: Value = serde_json::from_str(err.trim()).unwrap_or_else(|e| panic!("stderr is not JSON ({e}): {err}"));
        v["error"].clone()
    }
}

/// A magpiectl environment: a private MAGPIE_HOME and fixed global options.
pub struct Ctl {
    pub home: PathBuf,
    pub global: Vec<String>,
}

impl Ctl {
    pub fn new(home: &Path) -> Ctl {
        Ctl { home: home.to_owned(), global: Vec::new() }
    }

    pub fn with_global(mut self, args: &[&str]) -> Ctl {
        self.global.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.run_with_stdin(args, None)
    }

    /// Starts magpiectl without waiting, stdout piped (for `tail`).
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut cmd = self.command(args);
        cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        cmd.spawn().expect("magpiectl starts")
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_magpiectl"));
        for var in [
            "MAGPIE_SERVER",
            "MAGPIE_QUIC_ADDR",
            "MAGPIE_WS_ADDR",
            "MAGPIE_CERT",
            "MAGPIE_SERVER_NAME",
            "MAGPIE_TRANSPORT",
            "MAGPIE_PROFILE",
            "MAGPIE_DATA",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("MAGPIE_HOME", &self.home).args(&self.global).args(args);
        cmd
    }

    pub fn run_with_stdin(&self, args: &[&str], stdin: Option<&str>) -> Run {
        let mut cmd = self.command(args);
        cmd.stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("magpiectl starts");
        if let Some(input) = stdin {
            child.stdin.take().unwrap().write_all(input.as_bytes()).unwrap();
        }
        let out = child.wait_with_output().expect("magpiectl runs");
        Run {
            code: out.status.code(),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}
