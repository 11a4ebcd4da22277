//! A raw TCP server (like ser2net's raw mode): the connected client is the reader.
//!
//! One client at a time gets the meter's bytes, paced as on the line, and whatever it writes
//! goes to the meter. A client that disconnects is "reader gone": the meter goes on and the next
//! client to connect is accepted. Bytes sent while no client is connected are lost.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::time::Duration;

use super::Port;

/// How long a write to a client that does not read may block before it is dropped.
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

/// A TCP server with at most one reader.
#[derive(Debug)]
pub struct TcpPort {
    listener: TcpListener,
    client: Option<(TcpStream, SocketAddr)>,
    local: SocketAddr,
    /// Clients accepted so far.
    accepted: u64,
}

impl TcpPort {
    /// Listens on `addr` (`127.0.0.1:5001`; port 0 picks a free one, see [`TcpPort::local_addr`]).
    pub fn bind(addr: impl ToSocketAddrs) -> io::Result<Self> {
        let listener = TcpListener::bind(addr)?;
        listener.set_nonblocking(true)?;
        let local = listener.local_addr()?;
        tracing::info!(%local, "tcp port listening");
        Ok(TcpPort {
            listener,
            client: None,
            local,
            accepted: 0,
        })
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Accepts a waiting client if there is none.
    fn accept(&mut self) -> io::Result<()> {
        if self.client.is_some() {
            return Ok(());
        }
        match self.listener.accept() {
            Ok((stream, peer)) => {
                stream.set_nonblocking(false)?;
                stream.set_nodelay(true)?;
                stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
                tracing::info!(%peer, "reader connected");
                self.client = Some((stream, peer));
                self.accepted += 1;
                Ok(())
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(()),
            Err(e) if e.kind() == io::ErrorKind::ConnectionAborted => Ok(()),
            Err(e) => Err(e),
        }
    }

    fn gone(&mut self, why: &str) {
        if let Some((_, peer)) = self.client.take() {
            tracing::info!(%peer, "reader gone ({why})");
        }
    }
}

impl Port for TcpPort {
    fn readers_seen(&self) -> Option<u64> {
        Some(self.accepted)
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.accept()?;
        if let Some((stream, _)) = &mut self.client {
            if let Err(e) = stream.write_all(bytes) {
                self.gone(&e.to_string());
            }
        }
        Ok(())
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.accept()?;
        let Some((stream, _)) = &mut self.client else {
            std::thread::sleep(timeout);
            return Ok(0);
        };
        stream.set_read_timeout(Some(timeout.max(Duration::from_micros(100))))?;
        match stream.read(buf) {
            Ok(0) => {
                self.gone("closed");
                Ok(0)
            }
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                        | io::ErrorKind::Interrupted
                ) =>
            {
                Ok(0)
            }
            Err(e) => {
                self.gone(&e.to_string());
                Ok(0)
            }
        }
    }

    #[cfg(unix)]
    fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        use std::os::fd::AsFd;
        Some(match &self.client {
            Some((stream, _)) => stream.as_fd(),
            None => self.listener.as_fd(),
        })
    }

    fn describe(&self) -> String {
        format!("tcp://{}", self.local)
    }
}
