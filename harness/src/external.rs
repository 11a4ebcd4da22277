//! Running a decoder under test: any program that reads the received bytes on standard input and
//! prints the common JSON lines (`docs/reading-format.md`) on standard output, then exits with
//! status 0. Anything else it does as a program (not starting, a non-zero exit, a signal, running
//! out of time) is a [`DecoderError`]; a line that is not the reading format is a failure that
//! names the line.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use meterlab_decoder::{Keys, Message, Protocol};

use crate::outcome::Failure;
use crate::verdict::DecoderError;

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
        /// The end of its standard error until then.
        stderr_tail: String,
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

impl ExternalError {
    /// The verdict's account of it.
    pub fn decoder_error(&self) -> DecoderError {
        DecoderError {
            what: self.to_string(),
            exit_status: None,
            signal: None,
            stderr_tail: match self {
                ExternalError::Timeout { stderr_tail, .. } => stderr_tail.clone(),
                _ => String::new(),
            },
        }
    }
}

/// A line of output that is not a message of the reading format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadLine {
    /// Its number in the output, from 1.
    pub number: usize,
    /// The line (at most [`BAD_LINE_CHARS`] characters of it).
    pub text: String,
    /// Why it is not a message.
    pub error: String,
}

/// How much of a bad line a report quotes.
pub const BAD_LINE_CHARS: usize = 200;

/// How many lines of a decoder's standard error a report keeps.
pub const STDERR_TAIL_LINES: usize = 20;

/// What the external decoder produced.
#[derive(Clone, Debug, Default)]
pub struct ExternalOutput {
    /// The messages it printed, in order.
    pub messages: Vec<Message>,
    /// Output lines that are not messages of the common format (each a failure).
    pub bad_lines: Vec<BadLine>,
    /// Its exit status (None if killed by a signal).
    pub status: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
    /// The end of its standard error, for the report.
    pub stderr_tail: String,
}

impl ExternalOutput {
    /// A decoder error if the program did not exit with status 0: `who` is `decoder` or
    /// `reader`, `command` its command line.
    pub fn decoder_error(&self, who: &str, command: &str) -> Option<DecoderError> {
        let what = match (self.status, self.signal) {
            (Some(0), _) => return None,
            (Some(127), _) => {
                format!("the {who} command `{command}` exited with status 127: command not found")
            }
            (Some(126), _) => {
                format!("the {who} command `{command}` exited with status 126: not executable")
            }
            (Some(code), _) => format!("the {who} command `{command}` exited with status {code}"),
            (None, Some(sig)) => format!(
                "the {who} command `{command}` was killed by signal {sig}{} (crashed?)",
                signal_name(sig)
                    .map(|n| format!(" ({n})"))
                    .unwrap_or_default()
            ),
            (None, None) => format!("the {who} command `{command}` ended without an exit status"),
        };
        Some(DecoderError {
            what,
            exit_status: self.status,
            signal: self.signal,
            stderr_tail: self.stderr_tail.clone(),
        })
    }
}

/// The usual name of a Unix signal.
fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// The signal that ended a process, if one did.
pub fn exit_signal(status: &std::process::ExitStatus) -> Option<i32> {
    #[cfg(unix)]
    {
        std::os::unix::process::ExitStatusExt::signal(status)
    }
    #[cfg(not(unix))]
    {
        let _ = status;
        None
    }
}

/// Splits a program's standard output into messages of the reading format and lines that are
/// not (blank lines are neither).
pub fn parse_output(out: &[u8]) -> (Vec<Message>, Vec<BadLine>) {
    let mut messages = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in String::from_utf8_lossy(out).lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match serde_json::from_str::<Message>(line) {
            Ok(m) => messages.push(m),
            Err(e) => bad.push(BadLine {
                number: i + 1,
                text: line.chars().take(BAD_LINE_CHARS).collect(),
                error: e.to_string(),
            }),
        }
    }
    (messages, bad)
}

/// The failure for lines that are not the reading format, naming the first ones; `who` is
/// `decoder` or `reader`.
pub fn bad_lines_failure(who: &str, bad: &[BadLine]) -> Option<Failure> {
    let first = bad.first()?;
    let what = if bad.len() == 1 {
        format!(
            "the {who} printed 1 line that is not a message of the reading format (docs/reading-format.md): output line {}: `{}`",
            first.number, first.text
        )
    } else {
        format!(
            "the {who} printed {} lines that are not messages of the reading format (docs/reading-format.md), the first at output line {}: `{}`",
            bad.len(),
            first.number,
            first.text
        )
    };
    let detail = bad
        .iter()
        .take(5)
        .map(|b| format!("line {}: {} ({})", b.number, b.text, b.error))
        .collect::<Vec<_>>()
        .join("\n");
    Some(Failure {
        what,
        detail: Some(detail),
    })
}

/// The last [`STDERR_TAIL_LINES`] lines of a program's standard error.
pub fn stderr_tail(err: &[u8]) -> String {
    let err = String::from_utf8_lossy(err);
    let tail: Vec<&str> = err.lines().rev().take(STDERR_TAIL_LINES).collect();
    tail.into_iter().rev().collect::<Vec<_>>().join("\n")
}

/// Reads a pipe to its end on a thread; the bytes arrive on the channel.
pub(crate) fn collect(pipe: Option<impl Read + Send + 'static>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut p) = pipe {
            let _ = p.read_to_end(&mut buf);
        }
        let _ = tx.send(buf);
    });
    rx
}

/// Puts the command in a process group of its own, so that [`terminate`] reaches what `sh`
/// started.
pub(crate) fn own_process_group(cmd: &mut Command) {
    #[cfg(unix)]
    std::os::unix::process::CommandExt::process_group(cmd, 0);
    #[cfg(not(unix))]
    let _ = cmd;
}

/// SIGTERM to the child's process group, SIGKILL if it is still there after a moment (on other
/// systems: the child is killed).
pub(crate) fn terminate(child: &mut Child) {
    #[cfg(unix)]
    {
        use nix::sys::signal::{killpg, Signal};
        use nix::unistd::Pid;
        let Ok(raw) = i32::try_from(child.id()) else {
            let _ = child.kill();
            let _ = child.wait();
            return;
        };
        let group = Pid::from_raw(raw);
        let _ = killpg(group, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_millis(500);
        while Instant::now() < deadline {
            if child.try_wait().ok().flatten().is_some() {
                // The group's other members (if any) get the same chance.
                std::thread::sleep(Duration::from_millis(20));
                let _ = killpg(group, Signal::SIGKILL);
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = killpg(group, Signal::SIGKILL);
        let _ = child.wait();
    }
    #[cfg(not(unix))]
    {
        let _ = child.kill();
        let _ = child.wait();
    }
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
/// environment (`METERLAB_KEY`, `METERLAB_AUTH_KEY`, `METERLAB_PROTOCOL`). Past `timeout` its
/// whole process group is terminated.
pub fn run(
    command: &str,
    input: &[u8],
    keys: &Keys,
    protocol: Protocol,
    timeout: Duration,
) -> Result<ExternalOutput, ExternalError> {
    let mut cmd = command_under_test(command, keys, protocol);
    cmd.stdin(Stdio::piped());
    own_process_group(&mut cmd);
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
    std::thread::spawn(move || {
        if let Some(stdin) = stdin.as_mut() {
            // A decoder that exits without reading everything closes the pipe: not our error.
            let _ = stdin.write_all(&input);
        }
    });
    let stdout = collect(child.stdout.take());
    let stderr = collect(child.stderr.take());
    let started = Instant::now();
    let status = loop {
        match child.try_wait().map_err(io)? {
            Some(status) => break status,
            None if started.elapsed() > timeout => {
                terminate(&mut child);
                let err = stderr
                    .recv_timeout(Duration::from_secs(1))
                    .unwrap_or_default();
                return Err(ExternalError::Timeout {
                    command: command.to_string(),
                    seconds: timeout.as_secs(),
                    stderr_tail: stderr_tail(&err),
                });
            }
            None => std::thread::sleep(Duration::from_millis(5)),
        }
    };
    // What it left running may hold the pipes open: its output is what came until then.
    let out = stdout
        .recv_timeout(Duration::from_secs(2))
        .unwrap_or_default();
    let err = stderr
        .recv_timeout(Duration::from_secs(1))
        .unwrap_or_default();
    let (messages, bad_lines) = parse_output(&out);
    Ok(ExternalOutput {
        messages,
        bad_lines,
        status: status.code(),
        signal: exit_signal(&status),
        stderr_tail: stderr_tail(&err),
    })
}

#[cfg(test)]
mod link_lines {
    use super::*;

    /// A decoder under test may print the link messages of an M-Bus dialogue (`{"link":…}`,
    /// docs/reading-format.md): they parse, and a malformed one is a bad line.
    #[test]
    fn link_lines_are_messages() {
        let out = br#"{"link":{"kind":"snd_nke","direction":"to_meter","address":253,"offset":0}}
{"link":{"kind":"ack","direction":"from_meter"}}
{"error":{"kind":"checksum","message":"x"}}
{"link":{"kind":"ack","direction":"sideways"}}
"#;
        let (messages, bad) = parse_output(out);
        assert_eq!(messages.len(), 3);
        assert_eq!(
            messages[0]
                .link_report()
                .map(|l| (l.kind.as_str(), l.address)),
            Some(("snd_nke", Some(253)))
        );
        assert!(messages[1].link_report().is_some());
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].number, 4);
    }
}
