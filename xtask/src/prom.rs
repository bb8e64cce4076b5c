//! Histograms read from Prometheus's text format: a bench scrapes a
//! server's `/metrics` before and after its load and reads the quantiles
//! of what was recorded in between, as `histogram_quantile` would.

/// A histogram's cumulative bucket counts by upper bound (`+Inf` last),
/// summed over every series of that name (every label set).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Buckets(Vec<(f64, f64)>);

impl Buckets {
    /// `name`'s buckets in each of `scrapes`, added together.
    pub fn read(scrapes: &[String], name: &str) -> Buckets {
        let prefix = format!("{name}_bucket{{");
        let mut sums: Vec<(f64, f64)> = Vec::new();
        for line in scrapes.iter().flat_map(|text| text.lines()) {
            let Some(rest) = line.strip_prefix(&prefix) else {
                continue;
            };
            let Some((labels, count)) = rest.rsplit_once("} ") else {
                continue;
            };
            let Some(le) = labels
                .split(',')
                .find_map(|label| label.strip_prefix("le=\""))
                .map(|le| le.trim_end_matches('"'))
            else {
                continue;
            };
            let le = if le == "+Inf" {
                f64::INFINITY
            } else {
                match le.parse() {
                    Ok(le) => le,
                    Err(_) => continue,
                }
            };
            let Ok(count) = count.trim().parse::<f64>() else {
                continue;
            };
            match sums.iter_mut().find(|(bound, _)| *bound == le) {
                Some((_, sum)) => *sum += count,
                None => sums.push((le, count)),
            }
        }
        sums.sort_by(|a, b| a.0.total_cmp(&b.0));
        Buckets(sums)
    }

    /// What was recorded after `before`.
    pub fn since(&self, before: &Buckets) -> Buckets {
        Buckets(
            self.0
                .iter()
                .map(|&(le, count)| {
                    let earlier = before
                        .0
                        .iter()
                        .find(|(bound, _)| *bound == le)
                        .map_or(0.0, |&(_, c)| c);
                    (le, count - earlier)
                })
                .collect(),
        )
    }

    pub fn count(&self) -> f64 {
        self.0.last().map_or(0.0, |&(_, count)| count)
    }

    /// The `q` quantile, interpolated linearly inside its bucket;
    /// `None` without observations or when it lies in the `+Inf` bucket.
    pub fn quantile(&self, q: f64) -> Option<f64> {
        let total = self.count();
        if total <= 0.0 {
            return None;
        }
        let rank = q * total;
        let mut lower = (0.0, 0.0);
        for &(le, count) in &self.0 {
            if count >= rank {
                if le.is_infinite() {
                    return None;
                }
                let (bound, below) = lower;
                let inside = count - below;
                let fraction = if inside > 0.0 {
                    (rank - below) / inside
                } else {
                    1.0
                };
                return Some(bound + (le - bound) * fraction);
            }
            lower = (le, count);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRAPE: &str = "# TYPE lag histogram\n\
        lag_bucket{le=\"0.001\"} 10\n\
        lag_bucket{le=\"0.01\"} 90\n\
        lag_bucket{le=\"+Inf\"} 100\n\
        lag_sum 0.5\n\
        lag_count 100\n\
        other_bucket{le=\"0.001\"} 7\n";

    #[test]
    fn buckets_add_up_across_scrapes_and_subtract_an_earlier_one() {
        let one = Buckets::read(&[SCRAPE.to_owned()], "lag");
        assert_eq!(
            one.0,
            vec![(0.001, 10.0), (0.01, 90.0), (f64::INFINITY, 100.0)]
        );
        let two = Buckets::read(&[SCRAPE.to_owned(), SCRAPE.to_owned()], "lag");
        assert_eq!(two.count(), 200.0);
        assert_eq!(two.since(&one), one);
        assert_eq!(Buckets::read(&[SCRAPE.to_owned()], "missing").count(), 0.0);
    }

    #[test]
    fn quantiles_interpolate_inside_their_bucket() {
        let lag = Buckets::read(&[SCRAPE.to_owned()], "lag");
        // The 50th of 100 lies 40 of the 80 into (0.001, 0.01].
        let median = lag.quantile(0.5).unwrap();
        assert!((median - 0.0055).abs() < 1e-9, "{median}");
        assert!((lag.quantile(0.05).unwrap() - 0.0005).abs() < 1e-9);
        // The 95th lies in +Inf: unknown.
        assert_eq!(lag.quantile(0.95), None);
        assert_eq!(Buckets::default().quantile(0.5), None);
    }
}
