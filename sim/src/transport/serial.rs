//! A real UART (a USB serial adapter, a null-modem cable to the reader) as the meter's port.
//!
//! The hardware frames the characters, so the line model applies only the faults here
//! ([`Port::frames_itself`]); the port runs at the reader's settings (the meter's own, or the
//! `--baud`/`--format` overrides) and follows the meter's baud switches. Inverted polarity (a
//! DSMR P1 port) needs an inverter in hardware; mark and space parity and 1.5 stop bits are not
//! available through the serial driver and are refused. Not tested without hardware beyond the
//! mapping of settings ([`serial_settings`]).

use std::io::{self, Read, Write};
use std::time::Duration;

use serialport::{DataBits, FlowControl, Parity as SpParity, StopBits as SpStopBits};

use super::Port;
use crate::line::{Parity, Polarity, StopBits, UartConfig};

/// The serialport settings for a character format: baud, data bits, parity, stop bits.
pub fn serial_settings(
    config: &UartConfig,
) -> Result<(u32, DataBits, SpParity, SpStopBits), String> {
    let data = match config.data_bits {
        5 => DataBits::Five,
        6 => DataBits::Six,
        7 => DataBits::Seven,
        8 => DataBits::Eight,
        n => return Err(format!("{n} data bits")),
    };
    let parity = match config.parity {
        Parity::None => SpParity::None,
        Parity::Even => SpParity::Even,
        Parity::Odd => SpParity::Odd,
        Parity::Mark | Parity::Space => {
            return Err("mark/space parity is not available on a real serial port".into())
        }
    };
    let stop = match config.stop_bits {
        StopBits::One => SpStopBits::One,
        StopBits::Two => SpStopBits::Two,
        StopBits::OneAndHalf => {
            return Err("1.5 stop bits are not available on a real serial port".into())
        }
    };
    Ok((config.baud, data, parity, stop))
}

/// A real serial port.
pub struct SerialPort {
    port: Box<dyn serialport::SerialPort>,
    path: String,
}

impl std::fmt::Debug for SerialPort {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SerialPort")
            .field("path", &self.path)
            .finish()
    }
}

fn to_io(e: serialport::Error) -> io::Error {
    io::Error::other(e.to_string())
}

impl SerialPort {
    /// Opens `path` (`/dev/ttyUSB0`, `COM3`) with these settings, no flow control.
    pub fn open(path: &str, config: &UartConfig) -> io::Result<Self> {
        let (baud, data, parity, stop) =
            serial_settings(config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        if config.polarity == Polarity::Inverted {
            tracing::warn!("{path}: inverted polarity needs an inverter in hardware");
        }
        let port = serialport::new(path, baud)
            .data_bits(data)
            .parity(parity)
            .stop_bits(stop)
            .flow_control(FlowControl::None)
            .timeout(Duration::from_millis(10))
            .open()
            .map_err(to_io)?;
        Ok(SerialPort {
            port,
            path: path.to_owned(),
        })
    }
}

impl Port for SerialPort {
    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.port.write_all(bytes)?;
        self.port.flush()
    }

    fn read(&mut self, buf: &mut [u8], timeout: Duration) -> io::Result<usize> {
        self.port
            .set_timeout(timeout.max(Duration::from_millis(1)))
            .map_err(to_io)?;
        match self.port.read(buf) {
            Ok(n) => Ok(n),
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock
                ) =>
            {
                Ok(0)
            }
            Err(e) => Err(e),
        }
    }

    fn frames_itself(&self) -> bool {
        true
    }

    fn set_uart(&mut self, config: &UartConfig) -> io::Result<()> {
        let (baud, data, parity, stop) =
            serial_settings(config).map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        self.port.set_baud_rate(baud).map_err(to_io)?;
        self.port.set_data_bits(data).map_err(to_io)?;
        self.port.set_parity(parity).map_err(to_io)?;
        self.port.set_stop_bits(stop).map_err(to_io)
    }

    fn describe(&self) -> String {
        self.path.clone()
    }
}

#[cfg(test)]
mod test {
    use super::*;

    #[test]
    fn settings_map_to_serialport() {
        let c: UartConfig = "300 7E1".parse().expect("settings");
        assert_eq!(
            serial_settings(&c),
            Ok((300, DataBits::Seven, SpParity::Even, SpStopBits::One))
        );
        let c: UartConfig = "115200 8N1 inverted".parse().expect("settings");
        assert_eq!(
            serial_settings(&c),
            Ok((115_200, DataBits::Eight, SpParity::None, SpStopBits::One))
        );
        let c: UartConfig = "2400 8O2".parse().expect("settings");
        assert_eq!(
            serial_settings(&c),
            Ok((2400, DataBits::Eight, SpParity::Odd, SpStopBits::Two))
        );
        let c: UartConfig = "9600 8M1".parse().expect("settings");
        assert!(serial_settings(&c).is_err());
    }
}
