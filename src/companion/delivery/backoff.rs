//! When to try a failed delivery again: Mastodon's schedule
//! (`ActivityPub::DeliveryWorker`: a first try and 16 retries, retry n
//! (from 0) after n⁴ + 15 + rand(0.5·n⁴) seconds, about 2–3 days in all).

use std::time::Duration;

/// Tries before giving up: the first and 16 retries, as Sidekiq's `retry: 16`.
pub const MAX_ATTEMPTS: i64 = 17;

/// Delay before the next try, after `attempts` failed ones (1-based);
/// `jitter` is a number in [0, 1). `scale` shortens the schedule (tests).
pub fn delay(attempts: i64, jitter: f64, scale: f64) -> Duration {
    let n = (attempts.max(1) - 1) as f64;
    let base = n.powi(4) + 15.0 + jitter.clamp(0.0, 1.0) * 0.5 * n.powi(4);
    Duration::from_secs_f64(base * scale.max(0.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn about_two_to_three_days_in_all() {
        let total = |jitter: f64| -> f64 {
            (1..MAX_ATTEMPTS)
                .map(|a| delay(a, jitter, 1.0).as_secs_f64())
                .sum::<f64>()
                / 86_400.0
        };
        assert!((2.0..2.2).contains(&total(0.0)), "{}", total(0.0));
        assert!((3.0..3.2).contains(&total(0.999)), "{}", total(0.999));
        assert_eq!(delay(1, 0.0, 1.0), Duration::from_secs(15));
        assert_eq!(delay(3, 0.0, 0.01), Duration::from_secs_f64(0.31));
    }
}
