//! Running a decoder under test: any program that reads the received bytes on standard input and
//! prints the common JSON lines (`docs/reading-format.md`) on standard output.

use std::io::{Read, Write};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meterlab_decoder::{Keys, Message, Protocol};

/// The decoder under test failed as a program (not as a decoder).
#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    /// The command could not be started.
    #[error("cannot start decoder command `{command}`: {source}")]
    Spawn {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The command ran past the time limit and was killed.
    #[error("decoder command `{command}` did not finish within {seconds} s and was killed")]
    Timeout {
        /// The command line.
        command: String,
        /// The limit.
        seconds: u64,
    },
    /// Reading its output failed.
    #[error("decoder command `{command}`: {source}")]
    Io {
        /// The command line.
        command: String,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// What the external decoder produced.
#[derive(Clone, Debug, Default)]
pub struct ExternalOutput {
    /// The messages it printed, in order.
    pub messages: Vec<Message>,
    /// Output lines that are not messages of the common format (each a failure).
    pub bad_lines: Vec<String>,
    /// Its exit status (None if killed by a signal).
    pub status: Option<i32>,
    /// The end of its standard error, for the report.
    pub stderr_tail: String,
}

/// `sh -c command` with stdout and stderr piped and the environment a decoder or reader under
/// test gets: `METERLAB_PROTOCOL`, and the keys in `METERLAB_KEY` / `METERLAB_AUTH_KEY` (never on
/// the command line; unset when there are none).
pub fn command_under_test(command: &str, keys: &Keys, protocol: Protocol) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(command)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd.env_remove("METERLAB_KEY")
        .env_remove("METERLAB_AUTH_KEY");
    cmd.env("METERLAB_PROTOCOL", protocol.name());
    if let Some(k) = &keys.encryption {
        cmd.env("METERLAB_KEY", hex::encode_upper(k.expose()));
    }
    if let Some(k) = &keys.authentication {
        cmd.env("METERLAB_AUTH_KEY", hex::encode_upper(k.expose()));
    }
    cmd
}

/// Runs `command` through `sh -c`, with `input` on stdin, the keys and the protocol in the
/// environment (`METERLAB_KEY`, `METERLAB_AUTH_KEY`, `METERLAB_PROTOCOL`).
pub fn run(
    command: &str,
    input: &[u8],
    keys: &Keys,
    protocol: Protocol,
    timeout: Duration,
) -> Result<ExternalOutput, ExternalError> {
    let mut cmd = command_under_test(command, keys, protocol);
    cmd.stdin(Stdio::piped());
    let io = |source| ExternalError::Io {
        command: command.to_string(),
        source,
    };
    let mut child = cmd.spawn().map_err(|source| ExternalError::Spawn {
        command: command.to_string(),
        source,
    })?;
    let mut stdin = child.stdin.take();
    let input = input.to_vec();
    let writer = std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            // A decoder that exits without reading everything closes the pipe: not our error.
            let _ = stdin.write_all(&input);
        }
    });
    let mut stdout = child.stdout.take();
    let reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(out) = stdout.as_mut() {
            let _ = out.read_to_end(&mut buf);
        }
        buf
    });
    let mut stderr = child.stderr.take();
    let err_reader = std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(err) = stderr.as_mut() {
            let _ = err.read_to_end(&mut buf);
        }
        buf
    });
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(io)? {
            Some(status) => break status,
            None if started.elapsed() > timeout => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(ExternalError::Timeout {
                    command: command.to_string(),
                    seconds: timeout.as_secs(),
                });
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    let _ = writer.join();
    let out = reader.join().unwrap_or_default();
    let err = err_reader.join().unwrap_or_default();
    let mut result = ExternalOutput {
        status: status.code(),
        ..ExternalOutput::default()
    };
    for line in String::from_utf8_lossy(&out).lines() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Message>(line) {
            Ok(m) => result.messages.push(m),
            Err(e) => result.bad_lines.push(format!("{line} ({e})")),
        }
    }
    let err = String::from_utf8_lossy(&err);
    let tail: Vec<&str> = err.lines().rev().take(20).collect();
    result.stderr_tail = tail.into_iter().rev().collect::<Vec<_>>().join("\n");
    Ok(result)
}
