//! From one CRC-free wireless M-Bus frame to a [`Reading`]: the link header (EN 13757-4), then
//! the CI chain — extended link layer ([`super::ell`], decrypted when encrypted), authentication
//! and fragmentation layer ([`super::afl`]), transport layer ([`super::tpl`], security modes 0,
//! 5 and 7, [`super::security`]) — and finally EN 13757-3's data records, decoded by the wired
//! M-Bus decoder ([`crate::mbus::convert::variable_reading`]).
//!
//! The reading (docs/reading-format.md, "Wireless M-Bus"): `meter_id` is the long TPL header's
//! identification number where there is one, else the link layer's; the values start with the
//! link header (`link.manufacturer`, `link.id`, `link.version`, `link.device_type`), the ELL's
//! and AFL's counters where present (`ell.access_number`, `afl.message_counter`), then what the
//! wired decoder gives for the TPL header and the records.
//!
//! How a key is judged: mode 5 and 7 plaintext must start with `2F 2F`; mode 7's AFL MAC
//! must verify (when it does not but the plaintext is right, the telegram was altered:
//! `mac_mismatch`); the encrypted ELL's payload CRC must match. Failing that, the telegram is
//! `wrong_key`, never a reading of garbage. `2F 2F` does not catch an IV built from another
//! address (only IV bytes 2–7 differ, which spoils plaintext bytes 2–7 alone), so the records
//! must also parse to their end; when they do not, the record error is reported (`premature_end`
//! …) and no reading — not `wrong_key`, since the key is right and meters with
//! manufacturer-specific content after `2F 2F` (Apator) fail the same way. Plaintext bytes
//! after the encrypted blocks that are no records are kept as hex (`unencrypted_tail`) with a
//! warning. A telegram whose
//! header announces encryption but whose data already starts with `2F 2F` (logged after
//! decryption, as wmbusmeters does) is read as plaintext with a warning.

use super::afl::{AflRepr, CI_AFL, FCL_MORE_FRAGMENTS};
use super::ell::{is_ell, Ell};
use super::link::{Frame, LinkRepr, CI_OFFSET};
use super::security::{self, CHECK_BYTES};
use super::tpl::{tpl_kind, ConfigWord};
use super::{Error, ErrorKind};
use crate::crc::crc16_en13757;
use crate::decimal::Decimal;
use crate::keys::Key;
use crate::mbus::convert;
use crate::mbus::header::{HeaderKind, LONG_HEADER_LEN, SHORT_HEADER_LEN};
use crate::mbus::record::hex;
use crate::reading::{Reading, Value};

/// Decodes one CRC-free link-layer frame (`L C M A CI …`, L = bytes after L) with the meter's
/// key, if any.
pub fn decode(frame: &[u8], key: Option<&Key>) -> Result<Reading, Error> {
    let f = Frame::new_checked(frame)?;
    let link = LinkRepr::parse(&f);
    let who = format!("meter {} {}", link.manufacturer_code(), link.id);
    let mut ctx = Context {
        key,
        m_and_a: to8(f.m_and_a()),
        dll_id: [frame[4], frame[5], frame[6], frame[7]],
        link,
        warnings: Vec::new(),
        layers: Vec::new(),
    };
    ctx.layers(f.payload(), CI_OFFSET)
        .map_err(|e| Error::new(e.kind, format!("{who}: {}", e.message)))
}

fn to8(b: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out.copy_from_slice(&b[..8]);
    out
}

fn num(v: u64) -> Decimal {
    Decimal::from_int(i128::from(v))
}

struct Context<'k> {
    key: Option<&'k Key>,
    /// M and A of the link layer, as sent.
    m_and_a: [u8; 8],
    /// The link layer's identification number, as sent.
    dll_id: [u8; 4],
    link: LinkRepr,
    warnings: Vec<String>,
    /// Values of the ELL and AFL.
    layers: Vec<Value>,
}

impl Context<'_> {
    /// Decodes the layers from the CI at `b[0]` (at byte `offset` of the frame) on.
    fn layers(&mut self, b: &[u8], offset: usize) -> Result<Reading, Error> {
        let mut afl: Option<AflRepr> = None;
        let mut cur: Vec<u8> = b.to_vec();
        let mut offset = offset;
        if cur.first().copied().is_some_and(is_ell) {
            let ell = Ell::new_checked(&cur[..])?;
            self.layers.push(Value::number(
                "ell.access_number",
                num(ell.access_number().into()),
                None,
            ));
            let rest = match (ell.session_number(), ell.encryption()) {
                (None, _) => ell.rest().to_vec(),
                (Some(sn), 1) => self.decrypt_ell(&ell, sn)?,
                // Not encrypted: a payload CRC is taken off where one is (it checks nothing
                // the link layer's CRCs do not).
                (Some(_), 0) => {
                    check_payload_crc(ell.rest(), "plain").unwrap_or_else(|_| ell.rest().to_vec())
                }
                (Some(_), enc) => {
                    return Err(Error::new(
                        ErrorKind::Unsupported,
                        format!("extended link layer encryption {enc} (only 1, AES-CTR, is known)"),
                    ))
                }
            };
            offset += cur.len() - rest.len();
            cur = rest;
        }
        if cur.first() == Some(&CI_AFL) {
            let (a, n) = AflRepr::parse(&cur)?;
            if a.fcl & FCL_MORE_FRAGMENTS != 0 {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!(
                        "fragment {} of a fragmented message (FCL 0x{:04X}): fragments are not \
                         reassembled",
                        a.fcl & 0xFF,
                        a.fcl
                    ),
                ));
            }
            if let Some(mc) = a.message_counter() {
                self.layers
                    .push(Value::number("afl.message_counter", num(mc.into()), None));
            }
            afl = Some(a);
            cur.drain(..n);
            offset += n;
        }
        let Some(&ci) = cur.first() else {
            return Err(Error::new(
                ErrorKind::PrematureEnd,
                "the telegram ends before its transport layer",
            ));
        };
        if tpl_kind(ci).is_some() {
            return self.transport(&cur, offset, afl.as_ref());
        }
        if (0xA0..=0xB7).contains(&ci) {
            let mut r = self.reading();
            r.values.push(Value::text(
                format!("manufacturer_data@{}", offset + 1),
                hex(&cur[1..]),
            ));
            r.warnings.push(format!(
                "CI 0x{ci:02X} is manufacturer specific: its data is given as hex, not decoded"
            ));
            return Ok(r);
        }
        let e = convert::unsupported(ci, "");
        Err(Error::new(ErrorKind::Record(e.kind), e.message))
    }

    fn decrypt_ell<T: AsRef<[u8]>>(&self, ell: &Ell<T>, sn: u32) -> Result<Vec<u8>, Error> {
        let key = self.key.ok_or_else(|| {
            Error::new(
                ErrorKind::MissingKey,
                "the extended link layer is encrypted (AES-CTR) and no key was given",
            )
        })?;
        let plain =
            security::decrypt_ell(key, &self.m_and_a, ell.cc(), &sn.to_le_bytes(), ell.rest());
        check_payload_crc(&plain, "decrypted").map_err(|e| {
            if e.kind == ErrorKind::CrcMismatch {
                Error::new(
                    ErrorKind::WrongKey,
                    format!(
                        "{}: the key is wrong (or the telegram corrupted)",
                        e.message
                    ),
                )
            } else {
                e
            }
        })
    }

    /// The reading with the link header and the layer values, no TPL yet.
    fn reading(&mut self) -> Reading {
        let mut r = Reading::new(crate::reading::Protocol::Mbus);
        r.meter_id = Some(self.link.id.clone());
        r.values.extend([
            Value::text("link.manufacturer", self.link.manufacturer_code()),
            Value::text("link.id", self.link.id.clone()),
            Value::number("link.version", num(self.link.version.into()), None),
            Value::number("link.device_type", num(self.link.device_type.into()), None),
        ]);
        r.values.append(&mut self.layers);
        r.warnings.append(&mut self.warnings);
        r
    }

    /// The transport layer at `b[0]` (a TPL CI) and its data.
    fn transport(
        &mut self,
        b: &[u8],
        offset: usize,
        afl: Option<&AflRepr>,
    ) -> Result<Reading, Error> {
        let ci = b[0];
        let Some(kind) = tpl_kind(ci) else {
            let e = convert::unsupported(ci, "");
            return Err(Error::new(ErrorKind::Record(e.kind), e.message));
        };
        let header_len = match kind.header {
            HeaderKind::Long => LONG_HEADER_LEN,
            HeaderKind::Short => SHORT_HEADER_LEN,
            HeaderKind::None => 0,
        };
        let header = b.get(1..1 + header_len).ok_or_else(|| {
            Error::new(
                ErrorKind::PrematureEnd,
                format!(
                    "the transport layer header of CI 0x{ci:02X} needs {header_len} bytes, {} \
                     are left",
                    b.len() - 1
                ),
            )
        })?;
        let (cw, acc) = match kind.header {
            HeaderKind::None => (ConfigWord(0), 0),
            _ => (
                ConfigWord(u16::from_le_bytes([
                    header[header_len - 2],
                    header[header_len - 1],
                ])),
                header[header_len - 4],
            ),
        };
        let mut data = &b[1 + header_len..];
        let mode = cw.security_mode();
        let mut decrypted = false;
        let mut encrypted_len = data.len();
        let body: Vec<u8> = match mode {
            0 => data.to_vec(),
            5 | 7 => {
                if cw.has_extension() {
                    data = data.get(1..).ok_or_else(|| {
                        Error::new(
                            ErrorKind::PrematureEnd,
                            "the configuration-extension byte of security mode 7 is missing",
                        )
                    })?;
                }
                let n = cw.encrypted_blocks() * security::BLOCK;
                encrypted_len = n;
                if data.len() < n {
                    return Err(Error::new(
                        ErrorKind::PrematureEnd,
                        format!(
                            "the configuration word announces {} encrypted blocks ({n} bytes), \
                             {} bytes follow",
                            cw.encrypted_blocks(),
                            data.len()
                        ),
                    ));
                }
                match self.key {
                    Some(key) => {
                        let plain = if mode == 5 {
                            let m_and_a = match kind.header {
                                // IV from the long header's M, ID, version and type.
                                HeaderKind::Long => {
                                    let mut m = [0u8; 8];
                                    m[..2].copy_from_slice(&header[4..6]);
                                    m[2..6].copy_from_slice(&header[..4]);
                                    m[6..8].copy_from_slice(&header[6..8]);
                                    m
                                }
                                _ => self.m_and_a,
                            };
                            let iv = security::mode5_iv(&m_and_a, acc);
                            security::decrypt_cbc(key.expose(), &iv, &data[..n])
                        } else {
                            self.mode7(key, b, header, kind.header, afl, &data[..n])?
                        };
                        if plain.starts_with(&CHECK_BYTES) || n == 0 {
                            decrypted = n > 0;
                            let mut v = plain;
                            v.extend_from_slice(&data[n..]);
                            v
                        } else if data.starts_with(&CHECK_BYTES) {
                            self.warnings.push(format!(
                                "the configuration word announces security mode {mode} but the \
                                 data is plaintext (2F2F): read as sent"
                            ));
                            data.to_vec()
                        } else {
                            return Err(Error::new(
                                ErrorKind::WrongKey,
                                format!(
                                    "security mode {mode}: the decrypted data does not start \
                                     with 2F2F: the key is wrong (or the telegram corrupted)"
                                ),
                            ));
                        }
                    }
                    None if data.starts_with(&CHECK_BYTES) || n == 0 => {
                        if n > 0 {
                            self.warnings.push(format!(
                                "the configuration word announces security mode {mode} but the \
                                 data is plaintext (2F2F): read as sent"
                            ));
                        }
                        data.to_vec()
                    }
                    None => {
                        return Err(Error::new(
                            ErrorKind::MissingKey,
                            format!("encrypted with security mode {mode} and no key was given"),
                        ))
                    }
                }
            }
            other => {
                return Err(Error::new(
                    ErrorKind::Unsupported,
                    format!("security mode {other} (only 0, 5 and 7 are decoded)"),
                ))
            }
        };
        let mut tpl_data = header.to_vec();
        let mut r = self.reading();
        if kind.compact {
            let v = convert::variable_reading(kind.variable_ci, &tpl_data, offset + 1)
                .map_err(|e| Error::new(ErrorKind::Record(e.kind), e.message))?;
            adopt(&mut r, v);
            let compact = body.strip_prefix(&CHECK_BYTES[..]).unwrap_or(&body);
            let signature = match compact {
                [a, b, ..] => format!(" (format signature 0x{:04X})", u16::from_le_bytes([*a, *b])),
                _ => String::new(),
            };
            r.values.push(Value::text("compact_frame", hex(compact)));
            r.warnings.push(format!(
                "CI 0x{ci:02X} carries a compact frame{signature}: its records need the format \
                 frame and are given as hex"
            ));
            return Ok(r);
        }
        tpl_data.extend_from_slice(&body);
        match convert::variable_reading(kind.variable_ci, &tpl_data, offset + 1) {
            Ok(v) => {
                adopt(&mut r, v);
                Ok(r)
            }
            Err(e) => {
                // Bytes after the encrypted blocks are plaintext the key does not cover; when
                // only they keep the records from parsing, they are kept as hex.
                let n = header_len + encrypted_len;
                let tail = tpl_data.split_off(n.min(tpl_data.len()));
                match convert::variable_reading(kind.variable_ci, &tpl_data, offset + 1) {
                    Ok(v) if mode != 0 && !tail.is_empty() => {
                        adopt(&mut r, v);
                        r.values.push(Value::text("unencrypted_tail", hex(&tail)));
                        r.warnings.push(format!(
                            "the {} plaintext bytes after the encrypted blocks are no records \
                             ({}): given as hex",
                            tail.len(),
                            e.message
                        ));
                        Ok(r)
                    }
                    _ if decrypted => Err(Error::new(
                        ErrorKind::Record(e.kind),
                        format!(
                            "security mode {mode}: the data decrypts to 2F2F but its records do \
                             not parse ({}): manufacturer-specific content, or an IV built from \
                             another address",
                            e.message
                        ),
                    )),
                    _ => Err(Error::new(ErrorKind::Record(e.kind), e.message)),
                }
            }
        }
    }

    /// Mode 7: checks the AFL MAC, then decrypts. A MAC that does not verify is `wrong_key`
    /// when the plaintext is garbage too, `mac_mismatch` when it is not (the telegram was
    /// altered after it was authenticated).
    fn mode7(
        &self,
        key: &Key,
        tpl: &[u8],
        header: &[u8],
        kind: HeaderKind,
        afl: Option<&AflRepr>,
        encrypted: &[u8],
    ) -> Result<Vec<u8>, Error> {
        let Some((afl, mcr)) = afl.and_then(|a| a.mcr.map(|m| (a, m))) else {
            return Err(Error::new(
                ErrorKind::Malformed,
                "security mode 7 without an AFL message counter: no key can be derived",
            ));
        };
        let id = match kind {
            HeaderKind::Long => [header[0], header[1], header[2], header[3]],
            _ => self.dll_id,
        };
        let (kenc, kmac) = security::mode7_keys(key, &mcr, &id);
        let plain = security::decrypt_cbc(&kenc, &[0; 16], encrypted);
        if let Some(mac) = &afl.mac {
            let computed = security::afl_mac(&kmac, afl.mcl, &mcr, tpl);
            if mac.len() > computed.len() || computed[..mac.len()] != mac[..] {
                return Err(if plain.starts_with(&CHECK_BYTES) {
                    Error::new(
                        ErrorKind::MacMismatch,
                        "security mode 7: the AFL MAC does not verify although the data \
                         decrypts: the telegram was altered",
                    )
                } else {
                    Error::new(
                        ErrorKind::WrongKey,
                        "security mode 7: the AFL MAC does not verify and the data does not \
                         decrypt to 2F2F: the key is wrong (or the telegram corrupted)",
                    )
                });
            }
        }
        Ok(plain)
    }
}

/// Appends the wired decoder's reading of the TPL (header values, records, warnings), taking
/// the long header's id as the meter id.
fn adopt(r: &mut Reading, v: Reading) {
    if v.meter_id.is_some() {
        r.meter_id = v.meter_id;
    }
    r.values.extend(v.values);
    r.warnings.extend(v.warnings);
}

/// Checks and removes the payload CRC (2 bytes, LSB first) of an encrypted ELL's payload.
fn check_payload_crc(b: &[u8], what: &str) -> Result<Vec<u8>, Error> {
    let Some((crc, payload)) = b.split_first_chunk::<2>() else {
        return Err(Error::new(
            ErrorKind::PrematureEnd,
            "the extended link layer's payload CRC is missing",
        ));
    };
    let stated = u16::from_le_bytes(*crc);
    let computed = crc16_en13757(payload);
    if stated != computed {
        return Err(Error::new(
            ErrorKind::CrcMismatch,
            format!("{what} payload CRC 0x{stated:04X}, computed 0x{computed:04X}"),
        ));
    }
    Ok(payload.to_vec())
}
