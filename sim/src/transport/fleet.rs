//! Many meters on one real clock: a scheduler, not a sleeping thread per meter.
//!
//! [`run`] drives every meter of a process (`meterlab sim --config` with hundreds of meters, a
//! gateway fleet behind TCP ports) on one or a few scheduler threads. Each meter is the same
//! meter side as [`super::run`] (the session engine with its port, a
//! [`Clocked`](super::clock::Clocked) side); a thread keeps the next time each of its meters
//! must act in a binary heap (a timer queue), acts on every meter that is due, and waits for
//! the earliest next one — sleeping precisely when it is less than [`POLL_MIN`] away, otherwise
//! in `poll(2)` on all its meters' ports ([`Port::poll_fd`]), so a reader's bytes (or a new TCP
//! client) are taken in as they arrive. While the meters keep it busy, the ports are polled
//! without waiting at least every [`POLL_MIN`]. A meter costs its state, its two channels and
//! its queue of characters to write: no thread, no stack.
//!
//! With [`Scheduling::realtime`] the scheduler threads run at real-time priority
//! ([`realtime_priority`], Linux `SCHED_FIFO`), so a build or a test suite on the same machine
//! delays a character by the kernel's wake-up latency, not by a time slice of several
//! milliseconds (figures in `docs/timing.md`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use super::clock::{precise_timers, realtime_priority, Clock, Clocked, MAX_IDLE, POLL_MIN};
use super::{Driver, Event, Port, Sent, SimOptions, Summary, TransportError};
use crate::meter::Meter;

/// Where a meter's readings go ([`super::Sent`]).
pub type Observer = Box<dyn FnMut(Sent<'_>) + Send>;

/// Where a meter's events go.
pub type Events = Box<dyn FnMut(Event) + Send>;

/// One meter of a fleet, with its port and how it runs.
pub struct Member {
    /// The meter.
    pub meter: Box<dyn Meter>,
    /// Its port; one that cannot be polled ([`Port::poll_fd`] is `None`) is read only when
    /// the meter acts anyway (at least every [`MAX_IDLE`]).
    pub port: Box<dyn Port>,
    /// How it runs (as for [`super::run`]; `virtual_time` is ignored: a fleet runs in real
    /// time).
    pub options: SimOptions,
    /// Gets every reading as its message starts to be written.
    pub observer: Observer,
    /// Gets every event.
    pub events: Events,
}

/// How the scheduler threads run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scheduling {
    /// Scheduler threads (at least one is used, at most one per member).
    pub threads: usize,
    /// Run them at real-time priority ([`realtime_priority`]) where the process may; where it
    /// may not, a warning is logged once per thread and they run at normal priority.
    pub realtime: bool,
}

impl Scheduling {
    /// At normal priority a thread per core; at real-time priority one core fewer (at least
    /// one thread). Real-time threads come before everything else on their cores, so a core is
    /// left to the readers and to the kernel's own work for each character (a pty hands its
    /// bytes to the reader's side in a kernel worker thread at normal priority): on this
    /// project's 2-core machine one real-time scheduler writes the characters of 28–36 meters
    /// at 115200 baud within a character time, two threads those of one (`docs/timing.md`).
    pub fn new(realtime: bool) -> Self {
        let threads = if realtime {
            cores().saturating_sub(1).max(1)
        } else {
            cores()
        };
        Scheduling { threads, realtime }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// Runs every member in real time on the scheduler threads of `scheduling` (members are dealt
/// out in turn) until `stop` is set or each has reached its limits; the summaries in the
/// members' order. A meter whose port fails ends with its error and sets `stop`: the others
/// end too, as with a thread per meter whose first error stops the rest.
pub fn run(
    members: Vec<Member>,
    scheduling: Scheduling,
    stop: &AtomicBool,
) -> Vec<Result<Summary, TransportError>> {
    let threads = scheduling.threads.clamp(1, members.len().max(1));
    let mut groups: Vec<Vec<(usize, Member)>> = (0..threads).map(|_| Vec::new()).collect();
    for (i, m) in members.into_iter().enumerate() {
        if let Some(g) = groups.get_mut(i % threads) {
            g.push((i, m));
        }
    }
    let mut results: Vec<(usize, Result<Summary, TransportError>)> = std::thread::scope(|s| {
        let handles: Vec<_> = groups
            .into_iter()
            .map(|group| {
                let ids: Vec<usize> = group.iter().map(|(i, _)| *i).collect();
                let realtime = scheduling.realtime;
                (ids, s.spawn(move || schedule(group, realtime, stop)))
            })
            .collect();
        let mut all = Vec::new();
        for (ids, h) in handles {
            match h.join() {
                Ok(r) => all.extend(r),
                // Not lost silently: each of its meters reports the failure.
                Err(_) => all.extend(ids.into_iter().map(|i| {
                    let e = std::io::Error::other("the scheduler thread panicked");
                    (i, Err(TransportError::Io(e)))
                })),
            }
        }
        all
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// One scheduler thread: its members until each is done or `stop` is set.
fn schedule(
    mut group: Vec<(usize, Member)>,
    realtime: bool,
    stop: &AtomicBool,
) -> Vec<(usize, Result<Summary, TransportError>)> {
    precise_timers();
    if realtime {
        if let Err(e) = realtime_priority() {
            tracing::warn!("the scheduler runs at normal priority: no real-time priority: {e}");
        }
    }
    let mut clock = Clock::real();
    let mut results = Vec::with_capacity(group.len());
    let mut drivers: Vec<Option<Driver<'_, '_>>> = Vec::with_capacity(group.len());
    let mut ports: Vec<&mut Box<dyn Port>> = Vec::with_capacity(group.len());
    let mut ids = Vec::with_capacity(group.len());
    for (id, m) in group.iter_mut() {
        let Member {
            meter,
            port,
            options,
            observer,
            events,
        } = m;
        match Driver::new(
            &mut **meter,
            &mut **port,
            options,
            &mut **observer,
            &mut **events,
        ) {
            Ok(d) => {
                drivers.push(Some(d));
                ports.push(port);
                ids.push(*id);
            }
            Err(e) => {
                results.push((*id, Err(e)));
                stop.store(true, Ordering::Relaxed);
            }
        }
    }
    let n = drivers.len();
    // The time each meter is due next; a heap entry that does not match is stale.
    let mut due_at = vec![0u64; n];
    let mut heap: BinaryHeap<Reverse<(u64, usize)>> = (0..n).map(|i| Reverse((0, i))).collect();
    let mut remaining = n;
    let mut last_poll = 0u64;
    let mut buf = [0u8; 4096];
    let idle = MAX_IDLE.as_nanos() as u64;
    let poll_min = POLL_MIN.as_nanos() as u64;

    while remaining > 0 && !stop.load(Ordering::Relaxed) {
        // 1. Every meter that is due.
        let now = clock.now();
        while let Some(&Reverse((t, i))) = heap.peek() {
            if t > now {
                break;
            }
            heap.pop();
            if due_at.get(i) != Some(&t) {
                continue;
            }
            let (Some(slot), Some(port)) = (drivers.get_mut(i), ports.get_mut(i)) else {
                continue;
            };
            let Some(d) = slot.as_mut() else {
                continue;
            };
            let now = clock.now();
            let mut result = d.tick(&mut ***port, now);
            if matches!(result, Ok(true)) && port.poll_fd().is_none() {
                // A port that cannot be polled is read when its meter acts.
                result = match port.read(&mut buf, Duration::ZERO) {
                    Ok(0) => Ok(true),
                    Ok(k) => d
                        .input(&mut ***port, now, buf.get(..k).unwrap_or_default())
                        .map(|()| true),
                    Err(e) => Err(e),
                };
            }
            match result {
                Ok(true) => {
                    let next = d
                        .next_at(now)
                        .map_or(now + idle, |t| t.clamp(now + 1, now + idle));
                    due_at[i] = next;
                    heap.push(Reverse((next, i)));
                }
                Ok(false) => {
                    if let Some(d) = slot.take() {
                        results.push((ids[i], d.finish(&mut ***port, now)));
                    }
                    remaining -= 1;
                }
                Err(e) => {
                    slot.take();
                    results.push((ids[i], Err(e.into())));
                    stop.store(true, Ordering::Relaxed);
                    remaining -= 1;
                }
            }
        }
        if remaining == 0 {
            break;
        }
        // 2. Wait for the earliest next one, on the ports when there is time.
        let earliest = heap.peek().map_or(now + idle, |Reverse((t, _))| *t);
        let now = clock.now();
        let wait = earliest.saturating_sub(now);
        let timeout = if wait >= poll_min {
            Some(Duration::from_nanos(wait))
        } else if now.saturating_sub(last_poll) >= poll_min {
            Some(Duration::ZERO)
        } else {
            None
        };
        let Some(timeout) = timeout else {
            clock.sleep_until(earliest);
            continue;
        };
        last_poll = now;
        let ready = match poll_ports(&ports, &drivers, timeout) {
            Ok(r) => r,
            Err(e) => {
                tracing::warn!("poll failed: {e}");
                clock.sleep_until(earliest);
                continue;
            }
        };
        for i in ready {
            let (Some(Some(d)), Some(port)) = (drivers.get_mut(i), ports.get_mut(i)) else {
                continue;
            };
            let got = port.read(&mut buf, Duration::ZERO);
            let now = clock.now();
            let result = match got {
                Ok(0) => Ok(()),
                Ok(k) => d.input(&mut ***port, now, buf.get(..k).unwrap_or_default()),
                Err(e) => Err(e),
            };
            match result {
                Ok(()) => {
                    // Acts on what came at once.
                    due_at[i] = now;
                    heap.push(Reverse((now, i)));
                }
                Err(e) => {
                    if let Some(slot) = drivers.get_mut(i) {
                        slot.take();
                    }
                    results.push((ids[i], Err(e.into())));
                    stop.store(true, Ordering::Relaxed);
                    remaining -= 1;
                }
            }
        }
    }
    // Stopped: the rest end where they are.
    let now = clock.now();
    for (i, (slot, port)) in drivers.iter_mut().zip(ports.iter_mut()).enumerate() {
        if let Some(d) = slot.take() {
            results.push((ids[i], d.finish(&mut ***port, now)));
        }
    }
    results
}

/// Waits at most `timeout` for any live member's port to become readable; their indexes.
fn poll_ports(
    ports: &[&mut Box<dyn Port>],
    drivers: &[Option<Driver<'_, '_>>],
    timeout: Duration,
) -> nix::Result<Vec<usize>> {
    let mut fds = Vec::with_capacity(ports.len());
    let mut which = Vec::with_capacity(ports.len());
    for (i, (port, d)) in ports.iter().zip(drivers).enumerate() {
        if d.is_none() {
            continue;
        }
        if let Some(fd) = port.poll_fd() {
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
            which.push(i);
        }
    }
    let ms = u16::try_from(timeout.as_millis()).unwrap_or(u16::MAX);
    match poll(&mut fds, PollTimeout::from(ms)) {
        Ok(0) | Err(nix::Error::EINTR) => return Ok(Vec::new()),
        Ok(_) => {}
        Err(e) => return Err(e),
    }
    Ok(fds
        .iter()
        .zip(which)
        .filter(|(f, _)| f.revents().is_some_and(|r| r.contains(PollFlags::POLLIN)))
        .map(|(_, i)| i)
        .collect())
}
