//! What the benches and soaks share to read their samples: medians and
//! quantiles, computed one way everywhere.

use std::time::Duration;

/// The middle sample (the upper of two middles).
pub(crate) fn median<T: PartialOrd + Copy>(mut values: Vec<T>) -> T {
    values.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
    values[values.len() / 2]
}

/// The `q` quantile (nearest rank) of `sorted` values; NaN when empty.
pub(crate) fn quantile(sorted: &[f64], q: f64) -> f64 {
    sorted
        .get(((sorted.len().saturating_sub(1)) as f64 * q).round() as usize)
        .copied()
        .unwrap_or(f64::NAN)
}

/// p50 and p99 of `samples`, in milliseconds.
pub(crate) fn percentiles(samples: &[Duration]) -> (f64, f64) {
    let mut ms: Vec<f64> = samples.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    (quantile(&ms, 0.5), quantile(&ms, 0.99))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_take_the_nearest_rank() {
        let values: Vec<f64> = (1..=101).map(f64::from).collect();
        assert_eq!(quantile(&values, 0.5), 51.0);
        assert_eq!(quantile(&values, 0.99), 100.0);
        assert!(quantile(&[], 0.5).is_nan());
        assert_eq!(median(vec![3, 1, 2]), 2);
        let ms = |n: u64| Duration::from_millis(n);
        assert_eq!(percentiles(&[ms(2), ms(1), ms(3)]), (2.0, 3.0));
    }
}
