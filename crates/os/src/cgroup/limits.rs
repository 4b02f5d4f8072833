//! The resources a session may use, and how they read for people
//! (`1 CPU, 200M memory`).

use crate::OsError;

/// The smallest memory limit accepted: below this nothing starts.
const MIN_MEMORY: u64 = 1 << 20;
/// The smallest CPU share accepted (the kernel's minimum quota is 1 ms per 100 ms).
const MIN_CPUS: f64 = 0.01;

/// Resources a session may use. `None` leaves a resource unlimited.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Limits {
    /// CPUs (fractions allowed, e.g. `0.5`).
    pub cpus: Option<f64>,
    /// Memory in bytes.
    pub memory: Option<u64>,
}

impl Limits {
    /// True when nothing is limited.
    pub fn is_empty(&self) -> bool {
        self.cpus.is_none() && self.memory.is_none()
    }

    /// For people: `1 CPU, 200M memory`, `0.5 CPU`, `2G memory`, or `no limits`.
    pub fn describe(&self) -> String {
        let parts: Vec<String> = self
            .cpus
            .map(format_cpus)
            .into_iter()
            .chain(self.memory.map(|m| format!("{} memory", format_bytes(m))))
            .collect();
        if parts.is_empty() {
            "no limits".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// Refuses CPU counts that are not finite or below 0.01, and memory below 1M.
    pub(crate) fn check(&self) -> Result<(), OsError> {
        if let Some(cpus) = self.cpus {
            if !cpus.is_finite() || cpus < MIN_CPUS {
                let reason = "cpus must be a number of at least 0.01";
                return Err(OsError::InvalidLimits { reason });
            }
        }
        if self.memory.is_some_and(|m| m < MIN_MEMORY) {
            let reason = "memory must be at least 1M";
            return Err(OsError::InvalidLimits { reason });
        }
        Ok(())
    }

    /// The CFS quota, in microseconds per 100 ms period, for `cpus`.
    pub(crate) fn cpu_quota_us(cpus: f64) -> u64 {
        ((cpus * 100_000.0).round() as u64).max(1_000)
    }
}

/// `1 CPU`, `0.5 CPU`, `2 CPUs`, `1.5 CPUs`.
pub fn format_cpus(cpus: f64) -> String {
    let number = format!("{:.2}", cpus);
    let number = number.trim_end_matches('0').trim_end_matches('.');
    let unit = if cpus > 1.0 { "CPUs" } else { "CPU" };
    format!("{number} {unit}")
}

/// Bytes in binary units: `200M`, `1G`, `1.5G`, `512K`, `100B`.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [(u64, &str); 4] = [
        (1 << 40, "T"),
        (1 << 30, "G"),
        (1 << 20, "M"),
        (1 << 10, "K"),
    ];
    let Some((size, unit)) = UNITS.iter().find(|(size, _)| bytes >= *size) else {
        return format!("{bytes}B");
    };
    if bytes.is_multiple_of(*size) {
        return format!("{}{unit}", bytes / size);
    }
    let value = format!("{:.1}", bytes as f64 / *size as f64);
    format!("{}{unit}", value.trim_end_matches(".0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_read_like_a_profile() {
        let both = Limits {
            cpus: Some(1.0),
            memory: Some(200 << 20),
        };
        assert_eq!(both.describe(), "1 CPU, 200M memory");
        let half = Limits {
            cpus: Some(0.5),
            memory: None,
        };
        assert_eq!(half.describe(), "0.5 CPU");
        assert_eq!(format_cpus(2.0), "2 CPUs");
        assert_eq!(format_cpus(1.25), "1.25 CPUs");
        assert_eq!(Limits::default().describe(), "no limits");
        assert!(Limits::default().is_empty());
    }

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(format_bytes(200 * 1024 * 1024), "200M");
        assert_eq!(format_bytes(1 << 30), "1G");
        assert_eq!(format_bytes(3 << 29), "1.5G");
        assert_eq!(format_bytes(512 * 1024), "512K");
        assert_eq!(format_bytes(100), "100B");
        assert_eq!(format_bytes((1 << 30) + 1), "1G", "rounded to one decimal");
    }

    #[test]
    fn nonsense_limits_are_refused() {
        for cpus in [0.0, -1.0, f64::NAN, f64::INFINITY, 0.001] {
            let limits = Limits {
                cpus: Some(cpus),
                memory: None,
            };
            assert!(limits.check().is_err(), "{cpus}");
        }
        let tiny = Limits {
            cpus: None,
            memory: Some(4096),
        };
        assert!(tiny.check().is_err());
        assert_eq!(Limits::cpu_quota_us(0.2), 20_000);
        assert_eq!(Limits::cpu_quota_us(0.01), 1_000);
        assert_eq!(Limits::cpu_quota_us(1.5), 150_000);
    }
}
