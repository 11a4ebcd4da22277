//! DLMS/COSEM emission (IEC 62056-5-3, the DLMS UA Green Book): the parts the simulator needs.

pub mod ciphering;
