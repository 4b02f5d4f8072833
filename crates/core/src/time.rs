//! Wall-clock instants as the store and the API carry them.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

/// A point in time with millisecond precision, in UTC. Stored as Unix
/// milliseconds; shown in the API as RFC 3339.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, utoipa::ToSchema)]
#[schema(value_type = String, format = DateTime, example = "2026-12-03T18:50:55.123Z")]
pub struct Timestamp(i64);

impl Timestamp {
    /// The current time. The domain has no IO; reading the clock is the one
    /// exception, kept here so every caller agrees on precision.
    pub fn now() -> Self {
        let nanos = OffsetDateTime::now_utc().unix_timestamp_nanos();
        Self((nanos / 1_000_000) as i64)
    }

    /// From Unix milliseconds.
    pub fn from_millis(millis: i64) -> Self {
        Self(millis)
    }

    /// As Unix milliseconds.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// This instant plus `seconds` (negative goes back).
    pub fn plus_seconds(self, seconds: i64) -> Self {
        Self(self.0 + seconds * 1000)
    }

    /// RFC 3339 text, e.g. `2026-12-03T18:50:55.123Z`.
    pub fn to_rfc3339(self) -> String {
        let nanos = i128::from(self.0) * 1_000_000;
        let at =
            OffsetDateTime::from_unix_timestamp_nanos(nanos).unwrap_or(OffsetDateTime::UNIX_EPOCH);
        at.format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_else(|_| self.0.to_string())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        let at = OffsetDateTime::parse(&text, &time::format_description::well_known::Rfc3339)
            .map_err(serde::de::Error::custom)?;
        Ok(Self((at.unix_timestamp_nanos() / 1_000_000) as i64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_milliseconds() {
        let at = Timestamp::from_millis(1_796_324_255_123);
        let json = serde_json::to_string(&at).unwrap();
        assert_eq!(json, "\"2026-12-03T18:57:35.123Z\"");
        assert_eq!(serde_json::from_str::<Timestamp>(&json).unwrap(), at);
    }
}
