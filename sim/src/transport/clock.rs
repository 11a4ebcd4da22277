//! The real clock: one loop that runs a side of a line (the meter's session engine, or a reader
//! in the same process) against its port, sleeping until the side's next event or until the
//! port has bytes.
//!
//! A side is a state machine over time, like the session engine: [`Clocked::tick`] lets it act
//! at a time, [`Clocked::next_at`] says when it next must, [`Clocked::input`] hands it what
//! the port delivered. [`drive`] is the only real-time loop of meterlab: waits shorter than
//! [`POLL_MIN`] are slept precisely, longer ones wait on the port (whole milliseconds, the
//! port's timeouts), never longer than [`MAX_IDLE`]. A [`Clock`] in virtual time jumps instead
//! of sleeping and never reads the port (`meterlab sim --stdout`).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use super::Port;

/// The longest sleep of the loop: how quickly it notices a stop request or a new TCP client.
pub const MAX_IDLE: Duration = Duration::from_millis(50);

/// Waits shorter than this are slept (precisely) without watching the port; longer ones wait
/// on the port for bytes.
pub const POLL_MIN: Duration = Duration::from_millis(1);

/// Time since a start, in nanoseconds: the wall clock, or a virtual one that jumps.
#[derive(Clone, Debug)]
pub struct Clock {
    start: Instant,
    virtual_now: Option<u64>,
}

impl Clock {
    /// The wall clock from now on (time 0 is now).
    pub fn real() -> Self {
        Clock {
            start: Instant::now(),
            virtual_now: None,
        }
    }

    /// A virtual clock at 0 that moves only when told to.
    pub fn virtual_time() -> Self {
        Clock {
            start: Instant::now(),
            virtual_now: Some(0),
        }
    }

    /// Whether the clock is virtual.
    pub fn is_virtual(&self) -> bool {
        self.virtual_now.is_some()
    }

    /// Nanoseconds since the start.
    pub fn now(&self) -> u64 {
        match self.virtual_now {
            Some(t) => t,
            None => u64::try_from(self.start.elapsed().as_nanos()).unwrap_or(u64::MAX),
        }
    }

    /// The instant of time 0.
    pub fn start(&self) -> Instant {
        self.start
    }

    /// Waits until `deadline` (ns since the start): sleeps, or in virtual time moves the clock.
    pub fn sleep_until(&mut self, deadline: u64) {
        match &mut self.virtual_now {
            Some(t) => *t = (*t).max(deadline),
            None => {
                let target = self.start + Duration::from_nanos(deadline);
                let now = Instant::now();
                if target > now {
                    std::thread::sleep(target - now);
                }
            }
        }
    }
}

/// One side of a line in real time (see the module doc).
pub trait Clocked {
    /// Acts at `now` (ns since the clock's start); `Ok(false)` when the run is over.
    fn tick(&mut self, port: &mut dyn Port, now: u64) -> io::Result<bool>;
    /// When it next must act, if it knows (otherwise the loop waits on the port for at most
    /// [`MAX_IDLE`]).
    fn next_at(&self, now: u64) -> Option<u64>;
    /// Bytes the port delivered at `now`.
    fn input(&mut self, port: &mut dyn Port, now: u64, bytes: &[u8]) -> io::Result<()>;
}

/// Lets this thread's sleeps end within about a microsecond of their deadline (Linux timer
/// slack is 50 µs by default, more than half a character time at 115200 baud).
pub fn precise_timers() {
    #[cfg(target_os = "linux")]
    if let Err(e) = nix::sys::prctl::set_timerslack(1_000) {
        tracing::debug!("cannot lower the timer slack: {e}");
    }
}

/// The `SCHED_FIFO` priority of [`realtime_priority`]: low among real-time priorities (1–99), so
/// the kernel's own threads that run at 50 still come first.
pub const REALTIME_PRIORITY: u8 = 10;

/// Puts this thread under the real-time scheduling policy `SCHED_FIFO` at
/// [`REALTIME_PRIORITY`] (Linux; elsewhere an `Unsupported` error): it then runs as soon as it
/// wakes, before every normal process, instead of waiting for the kernel to preempt a compiler
/// or a test suite that shares the core. It needs root, `CAP_SYS_NICE` or a real-time limit
/// (`ulimit -r`, `RLIMIT_RTPRIO`) of at least the priority; without one the error is
/// `PermissionDenied` and the thread keeps its normal priority. The loops of this module never
/// spin: a real-time thread sleeps between its characters, and the kernel keeps 5% of every
/// second for other threads anyway (`kernel.sched_rt_runtime_us`).
pub fn realtime_priority() -> io::Result<()> {
    #[cfg(target_os = "linux")]
    {
        use thread_priority::{
            set_thread_priority_and_policy, thread_native_id, Error, RealtimeThreadSchedulePolicy,
            ThreadPriority, ThreadPriorityValue, ThreadSchedulePolicy,
        };
        let value = ThreadPriorityValue::try_from(REALTIME_PRIORITY)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        set_thread_priority_and_policy(
            thread_native_id(),
            ThreadPriority::Crossplatform(value),
            ThreadSchedulePolicy::Realtime(RealtimeThreadSchedulePolicy::Fifo),
        )
        .map_err(|e| match e {
            Error::OS(code) => io::Error::from_raw_os_error(code),
            other => io::Error::other(other.to_string()),
        })
    }
    #[cfg(not(target_os = "linux"))]
    {
        Err(io::Error::new(
            io::ErrorKind::Unsupported,
            "real-time priority is implemented for Linux only",
        ))
    }
}

/// Runs `side` against `port` on `clock` until it says it is over or `stop` is set.
pub fn drive(
    side: &mut dyn Clocked,
    port: &mut dyn Port,
    clock: &mut Clock,
    stop: &AtomicBool,
) -> io::Result<()> {
    let mut buf = [0u8; 4096];
    while !stop.load(Ordering::Relaxed) {
        let now = clock.now();
        if !side.tick(port, now)? {
            break;
        }
        let idle = now.saturating_add(MAX_IDLE.as_nanos() as u64);
        let wake = side.next_at(now).map_or(idle, |t| t.clamp(now, idle));
        let wait = Duration::from_nanos(wake.saturating_sub(clock.now()));
        if wait < POLL_MIN || clock.is_virtual() {
            clock.sleep_until(wake);
            continue;
        }
        // Whole milliseconds on the port (its timeouts are in ms), the rest slept precisely.
        let n = port.read(&mut buf, Duration::from_millis(wait.as_millis() as u64))?;
        let bytes = buf.get(..n).unwrap_or_default();
        if !bytes.is_empty() {
            side.input(port, clock.now(), bytes)?;
        }
    }
    Ok(())
}

#[cfg(all(test, target_os = "linux"))]
mod test {
    use super::*;
    use thread_priority::{
        thread_schedule_policy, RealtimeThreadSchedulePolicy, ThreadSchedulePolicy,
    };

    /// Granted (root, `CAP_SYS_NICE`, `ulimit -r`): the thread is under `SCHED_FIFO` afterwards;
    /// refused: a permission error, and the thread keeps its policy.
    #[test]
    fn realtime_priority_is_granted_or_refused_for_want_of_permission() {
        let (result, policy) = std::thread::spawn(|| {
            let before = thread_schedule_policy().ok();
            let result = realtime_priority();
            (result, (before, thread_schedule_policy().ok()))
        })
        .join()
        .expect("the thread ends");
        let (before, after) = policy;
        match result {
            Ok(()) => assert_eq!(
                after,
                Some(ThreadSchedulePolicy::Realtime(
                    RealtimeThreadSchedulePolicy::Fifo
                ))
            ),
            Err(e) => {
                assert_eq!(e.kind(), io::ErrorKind::PermissionDenied, "{e}");
                assert_eq!(after, before);
            }
        }
    }
}
