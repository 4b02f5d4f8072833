//! Value types that validate themselves while being parsed, so a bad value
//! is reported at its own line.

use std::fmt;
use std::net::SocketAddr;

use serde::{Deserialize, Deserializer};

/// A socket address to listen on, e.g. `127.0.0.1:8787` or `[::]:443`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ListenAddr(pub SocketAddr);

impl<'de> Deserialize<'de> for ListenAddr {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map(ListenAddr).map_err(|_| {
            serde::de::Error::custom(format!(
                "{text:?} is not an address to listen on; write IP:PORT, e.g. \"127.0.0.1:8787\""
            ))
        })
    }
}

impl fmt::Display for ListenAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// An amount of memory, written `512M`, `2G`, `1.5G` or a plain byte count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// Parses `N`, `NK`, `NM`, `NG` or `NT` (binary multiples, optional `B`/`iB`).
    pub fn parse(text: &str) -> Option<ByteSize> {
        let trimmed = text.trim();
        let upper = trimmed.to_ascii_uppercase();
        let number_end = upper
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(upper.len());
        let (number, unit) = upper.split_at(number_end);
        let shift = match unit.trim_end_matches("IB").trim_end_matches('B') {
            "" => 0,
            "K" => 10,
            "M" => 20,
            "G" => 30,
            "T" => 40,
            _ => return None,
        };
        let value: f64 = number.parse().ok()?;
        let bytes = value * (1u64 << shift) as f64;
        (value > 0.0 && bytes.is_finite() && bytes < u64::MAX as f64)
            .then_some(ByteSize(bytes as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        ByteSize::parse(&text).ok_or_else(|| {
            serde::de::Error::custom(format!(
                "{text:?} is not an amount of memory; write e.g. \"512M\" or \"2G\""
            ))
        })
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [(&str, u32); 4] = [("T", 40), ("G", 30), ("M", 20), ("K", 10)];
        for (unit, shift) in UNITS {
            let size = 1u64 << shift;
            if self.0 >= size && self.0.is_multiple_of(size) {
                return write!(f, "{}{unit}", self.0 / size);
            }
        }
        write!(f, "{}", self.0)
    }
}
