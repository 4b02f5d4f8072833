//! Latency samples and the figures made from them: rate, p50, p99.

use std::time::Duration;

use serde::Serialize;

/// Latencies of one measurement, in microseconds, plus what went wrong.
#[derive(Debug, Default, Clone)]
pub(crate) struct Samples {
    micros: Vec<u64>,
    /// Requests that failed (connection error, status >= 400, short body).
    pub(crate) errors: u64,
}

impl Samples {
    /// Records one successful request's latency.
    pub(crate) fn record(&mut self, latency: Duration) {
        self.micros
            .push(u64::try_from(latency.as_micros()).unwrap_or(u64::MAX));
    }

    /// Adds another worker's samples to these.
    pub(crate) fn merge(&mut self, other: Samples) {
        self.micros.extend(other.micros);
        self.errors += other.errors;
    }

    /// Successful requests recorded.
    pub(crate) fn len(&self) -> usize {
        self.micros.len()
    }

    /// The figures, for a measurement that lasted `elapsed`.
    pub(crate) fn summary(mut self, elapsed: Duration) -> Summary {
        self.micros.sort_unstable();
        let seconds = elapsed.as_secs_f64();
        Summary {
            requests: self.micros.len() as u64,
            errors: self.errors,
            seconds,
            per_second: if seconds > 0.0 {
                self.micros.len() as f64 / seconds
            } else {
                0.0
            },
            p50_us: percentile(&self.micros, 50.0),
            p99_us: percentile(&self.micros, 99.0),
            max_us: self.micros.last().copied().unwrap_or(0),
        }
    }
}

/// What one measurement produced.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, serde::Deserialize)]
pub(crate) struct Summary {
    /// Successful requests (or messages) in the measured window.
    pub(crate) requests: u64,
    /// Failed ones.
    pub(crate) errors: u64,
    /// Length of the measured window.
    pub(crate) seconds: f64,
    /// Successful requests per second.
    pub(crate) per_second: f64,
    /// Median latency, microseconds.
    pub(crate) p50_us: u64,
    /// 99th percentile latency, microseconds.
    pub(crate) p99_us: u64,
    /// Largest latency, microseconds.
    pub(crate) max_us: u64,
}

/// The nearest-rank percentile (`0 < p <= 100`) of sorted values; 0 when empty.
///
/// Nearest rank: the smallest value such that at least `p`% of the values
/// are at or below it, so p50 of `[1, 2, 3, 4]` is 2 and p100 is the max.
pub(crate) fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median of a few durations (session starts), in milliseconds.
pub(crate) fn median_ms(values: &[Duration]) -> f64 {
    let mut ms: Vec<f64> = values.iter().map(|d| d.as_secs_f64() * 1000.0).collect();
    ms.sort_by(f64::total_cmp);
    match ms.len() {
        0 => 0.0,
        n if n % 2 == 1 => ms[n / 2],
        n => (ms[n / 2 - 1] + ms[n / 2]) / 2.0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        assert_eq!(percentile(&[], 50.0), 0);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[1, 2, 3, 4], 50.0), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 100.0), 4);
        let hundred: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&hundred, 50.0), 50);
        assert_eq!(percentile(&hundred, 99.0), 99);
        let thousand: Vec<u64> = (1..=1000).collect();
        assert_eq!(percentile(&thousand, 99.0), 990);
        assert_eq!(percentile(&thousand, 0.01), 1);
    }

    #[test]
    fn summary_counts_rate_and_sorts_before_ranking() {
        let mut samples = Samples::default();
        for us in [900, 100, 500, 300, 700] {
            samples.record(Duration::from_micros(us));
        }
        samples.errors = 2;
        let summary = samples.summary(Duration::from_millis(500));
        assert_eq!(summary.requests, 5);
        assert_eq!(summary.errors, 2);
        assert!((summary.per_second - 10.0).abs() < 1e-9);
        assert_eq!(
            (summary.p50_us, summary.p99_us, summary.max_us),
            (500, 900, 900)
        );
    }

    #[test]
    fn merge_adds_samples_and_errors() {
        let mut a = Samples::default();
        a.record(Duration::from_micros(1));
        a.errors = 1;
        let mut b = Samples::default();
        b.record(Duration::from_micros(2));
        b.errors = 3;
        a.merge(b);
        assert_eq!((a.len(), a.errors), (2, 4));
    }

    #[test]
    fn median_of_odd_and_even_counts() {
        let d = |ms| Duration::from_millis(ms);
        assert_eq!(median_ms(&[]), 0.0);
        assert_eq!(median_ms(&[d(30), d(10), d(20)]), 20.0);
        assert_eq!(median_ms(&[d(40), d(10), d(20), d(30)]), 25.0);
    }
}
