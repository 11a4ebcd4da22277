//! A pseudo-terminal with a stable name: what a reader opens as if it were a serial port.
//!
//! [`PtyPort::create`] opens a pty pair, puts it in raw mode (a fresh pty is "cooked": it would
//! echo, turn `\r` into `\n`, act on XON/XOFF and signal characters, and so corrupt telegrams),
//! and makes a symlink `LINK → /dev/pts/N`. The meter side is the master; the reader opens the
//! link. The port keeps the slave open itself, so a reader can close the port and open it again
//! without the pty going away; bytes written meanwhile wait in the kernel's buffer and are
//! dropped once it is full. Dropping the port removes the symlink.
//!
//! A link is never taken from a live meter: the port holds an exclusive `flock` on
//! `LINK.lock` (the file also says the process id) for as long as it lives. Another port asking
//! for the same link fails while that lock is held; a link whose lock is free was left by a
//! process that died (SIGKILL, a crash) and is taken over, with a warning. The lock is on a file
//! of its own, not on the pty, so a reader that locks the port it opens (pyserial's
//! `exclusive=True`) is not disturbed.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsFd;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, Flock, FlockArg, OFlag};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::pty::openpty;
use nix::sys::termios::{
    cfmakeraw, tcgetattr, tcsetattr, BaudRate, SetArg, SpecialCharacterIndices,
};

use super::Port;
use crate::line::UartConfig;

/// The number of a standard termios baud rate.
fn baud_number(rate: BaudRate) -> Option<u32> {
    use BaudRate::*;
    Some(match rate {
        B50 => 50,
        B75 => 75,
        B110 => 110,
        B134 => 134,
        B150 => 150,
        B200 => 200,
        B300 => 300,
        B600 => 600,
        B1200 => 1200,
        B1800 => 1800,
        B2400 => 2400,
        B4800 => 4800,
        B9600 => 9600,
        B19200 => 19200,
        B38400 => 38400,
        B57600 => 57600,
        B115200 => 115_200,
        B230400 => 230_400,
        B460800 => 460_800,
        B500000 => 500_000,
        B576000 => 576_000,
        B921600 => 921_600,
        B1000000 => 1_000_000,
        B1152000 => 1_152_000,
        B1500000 => 1_500_000,
        B2000000 => 2_000_000,
        B2500000 => 2_500_000,
        B3000000 => 3_000_000,
        B3500000 => 3_500_000,
        B4000000 => 4_000_000,
        _ => return None,
    })
}

/// The termios constant of a standard baud rate (`None` for other rates).
fn baud_rate(baud: u32) -> Option<BaudRate> {
    use BaudRate::*;
    [
        B50, B75, B110, B134, B150, B200, B300, B600, B1200, B1800, B2400, B4800, B9600, B19200,
        B38400, B57600, B115200, B230400, B460800, B500000, B576000, B921600, B1000000, B1152000,
        B1500000, B2000000, B2500000, B3000000, B3500000, B4000000,
    ]
    .into_iter()
    .find(|&r| baud_number(r) == Some(baud))
}

/// Sets a terminal (a serial port or a pty, as a reader opens it) to `config` the POSIX way,
/// as pyserial does for standard rates: raw, the baud rate with `cfsetspeed`, data bits,
/// parity and stop bits, no flow control, the receiver on. A rate that is not one of the
/// standard ones is [`io::ErrorKind::Unsupported`] (open it with the `serialport` crate).
pub fn set_terminal(fd: &impl AsFd, config: &UartConfig) -> io::Result<()> {
    use nix::sys::termios::{cfsetspeed, ControlFlags, InputFlags};
    let rate = baud_rate(config.baud).ok_or_else(|| {
        io::Error::new(
            io::ErrorKind::Unsupported,
            format!("{} is not a standard baud rate", config.baud),
        )
    })?;
    let mut termios = tcgetattr(fd).map_err(to_io)?;
    cfmakeraw(&mut termios);
    cfsetspeed(&mut termios, rate).map_err(to_io)?;
    let mut c = termios.control_flags;
    c.remove(
        ControlFlags::CSIZE
            | ControlFlags::PARENB
            | ControlFlags::PARODD
            | ControlFlags::CSTOPB
            | ControlFlags::CRTSCTS,
    );
    c.insert(ControlFlags::CREAD | ControlFlags::CLOCAL);
    c.insert(match config.data_bits {
        5 => ControlFlags::CS5,
        6 => ControlFlags::CS6,
        7 => ControlFlags::CS7,
        _ => ControlFlags::CS8,
    });
    match config.parity {
        crate::line::Parity::None => {}
        crate::line::Parity::Even => c.insert(ControlFlags::PARENB),
        crate::line::Parity::Odd => c.insert(ControlFlags::PARENB | ControlFlags::PARODD),
        crate::line::Parity::Mark | crate::line::Parity::Space => {
            return Err(io::Error::new(
                io::ErrorKind::Unsupported,
                "mark/space parity is not available on a serial port",
            ))
        }
    }
    if config.stop_bits != crate::line::StopBits::One {
        c.insert(ControlFlags::CSTOPB);
    }
    termios.control_flags = c;
    termios
        .input_flags
        .remove(InputFlags::IXON | InputFlags::IXOFF | InputFlags::IXANY);
    termios.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
    termios.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
    tcsetattr(fd, SetArg::TCSANOW, &termios).map_err(to_io)
}

/// EIO: on a pty master, "no slave side open" (the reader is gone).
const EIO: i32 = 5;

/// The lock file of a link: `LINK.lock`.
pub fn lock_path(link: &Path) -> PathBuf {
    let mut name = link.as_os_str().to_owned();
    name.push(".lock");
    PathBuf::from(name)
}

/// An exclusive `flock` on a link's lock file, held while a port serves the link; the file is
/// removed when it is dropped (and the lock released just after).
#[derive(Debug)]
struct LinkLock {
    /// Unlocked when dropped.
    _file: Flock<File>,
    path: PathBuf,
}

impl LinkLock {
    /// Takes the lock of `link`, or fails with [`io::ErrorKind::AddrInUse`] if a live process
    /// holds it.
    fn acquire(link: &Path) -> io::Result<Self> {
        let path = lock_path(link);
        // The holder removes the file before it unlocks: a lock taken on a file that is no
        // longer at `path` is worthless, so try again on the new one.
        for _ in 0..5 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)?;
            let locked = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(locked) => locked,
                Err((mut file, Errno::EWOULDBLOCK)) => {
                    let mut pid = String::new();
                    let _ = file.read_to_string(&mut pid);
                    let pid = pid.trim();
                    return Err(io::Error::new(
                        io::ErrorKind::AddrInUse,
                        format!(
                            "{} is served by a running meterlab (process {}, lock {}): stop it or \
                             choose another link",
                            link.display(),
                            if pid.is_empty() { "?" } else { pid },
                            path.display()
                        ),
                    ));
                }
                Err((_, e)) => return Err(to_io(e)),
            };
            let held = locked.metadata()?;
            let now = std::fs::metadata(&path).ok();
            if now.is_some_and(|m| m.dev() == held.dev() && m.ino() == held.ino()) {
                let mut f: &File = &locked;
                f.set_len(0)?;
                writeln!(f, "{}", std::process::id())?;
                return Ok(LinkLock {
                    _file: locked,
                    path,
                });
            }
        }
        Err(io::Error::other(format!(
            "cannot lock {}: it keeps being replaced",
            path.display()
        )))
    }
}

impl Drop for LinkLock {
    fn drop(&mut self) {
        // Still locked here: the file is unlocked when `_file` is dropped, after this.
        if let Err(e) = std::fs::remove_file(&self.path) {
            tracing::debug!(lock = %self.path.display(), "cannot remove the lock file: {e}");
        }
    }
}

/// A pty whose slave side is reachable through a symlink.
#[derive(Debug)]
pub struct PtyPort {
    master: File,
    /// Held open so the pty survives readers that come and go.
    _slave: File,
    slave_path: PathBuf,
    link: PathBuf,
    /// Follow the baud rate the reader sets on the pty; the rest of its settings are these.
    follow: Option<UartConfig>,
    /// The link is ours while this is held (dropped after the link is removed).
    _lock: LinkLock,
}

fn to_io(e: nix::Error) -> io::Error {
    io::Error::from_raw_os_error(e as i32)
}

impl PtyPort {
    /// Creates a raw-mode pty and the symlink `link` to its slave device. A link served by a
    /// live process (its lock `LINK.lock` held) is an error ([`io::ErrorKind::AddrInUse`]); an
    /// existing symlink left over from a killed run is replaced, with a warning; any other file
    /// there is an error.
    pub fn create(link: &Path) -> io::Result<Self> {
        let lock = LinkLock::acquire(link)?;
        let pty = openpty(None, None).map_err(to_io)?;
        let mut termios = tcgetattr(&pty.slave).map_err(to_io)?;
        // Raw: no echo, no CR/LF translation, no XON/XOFF, no signal characters, 8 bits.
        cfmakeraw(&mut termios);
        termios.control_chars[SpecialCharacterIndices::VMIN as usize] = 1;
        termios.control_chars[SpecialCharacterIndices::VTIME as usize] = 0;
        tcsetattr(&pty.slave, SetArg::TCSANOW, &termios).map_err(to_io)?;
        let slave_path = nix::unistd::ttyname(pty.slave.as_fd()).map_err(to_io)?;
        // Not inherited by programs this process starts (a reader under test must not hold the
        // meter's end, nor look as if it had opened its own).
        for fd in [&pty.master, &pty.slave] {
            fcntl(
                std::os::fd::AsRawFd::as_raw_fd(fd),
                FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
            )
            .map_err(to_io)?;
        }
        let flags = fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&pty.master),
            FcntlArg::F_GETFL,
        )
        .map_err(to_io)?;
        fcntl(
            std::os::fd::AsRawFd::as_raw_fd(&pty.master),
            FcntlArg::F_SETFL(OFlag::from_bits_truncate(flags) | OFlag::O_NONBLOCK),
        )
        .map_err(to_io)?;
        match std::fs::symlink_metadata(link) {
            Ok(m) if m.file_type().is_symlink() => {
                tracing::warn!(
                    "{} was left behind by a meterlab that is no longer running (its lock is \
                     free): taking it over",
                    link.display()
                );
                std::fs::remove_file(link)?
            }
            Ok(_) => {
                return Err(io::Error::new(
                    io::ErrorKind::AlreadyExists,
                    format!("{} exists and is not a symlink", link.display()),
                ))
            }
            Err(_) => {}
        }
        std::os::unix::fs::symlink(&slave_path, link)?;
        tracing::info!(link = %link.display(), slave = %slave_path.display(), "pty ready");
        Ok(PtyPort {
            master: File::from(pty.master),
            _slave: File::from(pty.slave),
            slave_path,
            link: link.to_path_buf(),
            follow: None,
            _lock: lock,
        })
    }

    /// From now on the reader's baud rate is the one it sets on its side of the pty (with
    /// `tcsetattr`, as pyserial does), as on a real port: a reader at the wrong baud, or one
    /// that misses an IEC 62056-21 baud switch, gets garbage. A Linux pty keeps only the baud
    /// rate (it forces 8 data bits and no parity), so the rest of the reader's settings are
    /// `rest`'s.
    pub fn follow_reader_baud(&mut self, rest: UartConfig) {
        self.follow = Some(rest);
    }

    /// The baud rate set on the pty now (the reader's side; a pty master reads the slave's
    /// settings), if it is one of the standard rates set the POSIX way (`cfsetospeed`, as
    /// pyserial does for standard rates). A rate set with `BOTHER` (any rate through Linux's
    /// `termios2`, as the `serialport` crate sets every rate) is not visible here: `None`.
    pub fn baud(&self) -> Option<u32> {
        let termios = tcgetattr(&self.master).ok()?;
        let bits = termios.control_flags.bits() & nix::libc::CBAUD;
        let rate = BaudRate::try_from(nix::libc::speed_t::from(bits)).ok()?;
        baud_number(rate)
    }

    /// The slave device (`/dev/pts/N`).
    pub fn slave_path(&self) -> &Path {
        &self.slave_path
    }

    /// The symlink.
    pub fn link(&self) -> &Path {
        &self.link
    }
}

impl Drop for PtyPort {
    fn drop(&mut self) {
        // Only our own link: another run may have replaced it since.
        if std::fs::read_link(&self.link).is_ok_and(|target| target == self.slave_path) {
            if let Err(e) = std::fs::remove_file(&self.link) {
                tracing::warn!(link = %self.link.display(), "cannot remove the pty link: {e}");
            }
        }
    }
}

impl Port for PtyPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        let mut rest = bytes;
        while !rest.is_empty() {
            match self.master.write(rest) {
                Ok(0) => break,
                Ok(n) => rest = rest.get(n..).unwrap_or_default(),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                // Buffer full (nobody reads) or no reader: the bytes are lost, as on a real line.
                Err(e)
                    if e.kind() == io::ErrorKind::WouldBlock || e.raw_os_error() == Some(EIO) =>
                {
                    tracing::debug!(dropped = rest.len(), "pty: nobody reads; bytes dropped");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        let ms = u16::try_from(timeout.as_micros().div_ceil(1000)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(self.master.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(ms)) {
            Ok(0) => return Ok(0),
            Ok(_) => {}
            Err(nix::Error::EINTR) => return Ok(0),
            Err(e) => return Err(to_io(e)),
        }
        let ready = fds[0].revents().unwrap_or(PollFlags::empty());
        if !ready.contains(PollFlags::POLLIN) {
            // POLLHUP without data: no reader; do not spin.
            std::thread::sleep(timeout);
            return Ok(0);
        }
        match self.master.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if e.kind() == io::ErrorKind::WouldBlock
                    || e.kind() == io::ErrorKind::Interrupted =>
            {
                Ok(0)
            }
            Err(e) if e.raw_os_error() == Some(EIO) => {
                std::thread::sleep(timeout);
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        Some(self.master.as_fd())
    }

    fn settings_with_bytes(&self) -> bool {
        // A reader program sets its port (tcsetattr) before it writes.
        self.follow.is_some()
    }

    fn reader_uart(&mut self) -> Option<UartConfig> {
        let rest = self.follow?;
        let baud = self.baud()?;
        Some(UartConfig { baud, ..rest })
    }

    fn describe(&self) -> String {
        format!("{} -> {}", self.link.display(), self.slave_path.display())
    }
}
