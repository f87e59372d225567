//! The order in which a request tries the routes serving its model, and the keys of each
//! route's pool.
//!
//! Routes without a `weight` are tried in config order. Routes with a weight are spread: each
//! request draws an order in which a route comes first with probability weight / total (a
//! weighted shuffle), and the unweighted routes (and those of weight 0) follow as fallbacks,
//! in config order. Keys of a pool are tried starting at a position drawn per request, then
//! in order, so load spreads over the pool and every key is a fallback for the others.

/// A small deterministic generator (SplitMix64): the edge seeds it from the platform's
/// randomness per request; tests seed it with constants.
#[derive(Debug, Clone)]
pub struct Draw(u64);

impl Draw {
    pub fn new(seed: u64) -> Draw {
        Draw(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    pub fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Uniform in 0..n (0 when n is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }
}

/// Route positions in the order a request tries them; `weights[i]` is route `i`'s weight.
pub fn route_order(weights: &[Option<u32>], draw: &mut Draw) -> Vec<usize> {
    let mut weighted: Vec<(f64, usize)> = weights
        .iter()
        .enumerate()
        .filter_map(|(i, w)| w.filter(|w| *w > 0).map(|w| (i, w)))
        // Efraimidis–Spirakis: sorting by -ln(u) / w draws without replacement with
        // probabilities proportional to the weights.
        .map(|(i, w)| (-draw.unit().ln() / f64::from(w), i))
        .collect();
    weighted.sort_by(|a, b| a.0.total_cmp(&b.0));
    let fallbacks = weights
        .iter()
        .enumerate()
        .filter(|(_, w)| w.is_none_or(|w| w == 0))
        .map(|(i, _)| i);
    weighted
        .into_iter()
        .map(|(_, i)| i)
        .chain(fallbacks)
        .collect()
}

/// Key positions of a pool of `len` keys, starting at a drawn one.
pub fn key_order(len: usize, draw: &mut Draw) -> impl Iterator<Item = usize> {
    let start = draw.below(len);
    (0..len).map(move |i| (start + i) % len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unweighted_routes_keep_config_order() {
        let mut draw = Draw::new(7);
        for _ in 0..10 {
            assert_eq!(route_order(&[None, None, None], &mut draw), [0, 1, 2]);
        }
    }

    #[test]
    fn weights_spread_first_choices_in_proportion() {
        let mut draw = Draw::new(42);
        let mut first = [0u32; 4];
        let runs = 20_000;
        for _ in 0..runs {
            let order = route_order(&[Some(1), Some(3), None, Some(0)], &mut draw);
            assert_eq!(order.len(), 4);
            assert_eq!(&order[2..], [2, 3], "fallbacks last, in config order");
            first[order[0]] += 1;
        }
        let share = f64::from(first[1]) / f64::from(runs);
        assert!((0.73..0.77).contains(&share), "route 1 first in {share}");
        assert_eq!(first[2] + first[3], 0);
    }

    #[test]
    fn key_orders_cover_the_pool_from_a_drawn_start() {
        let mut draw = Draw::new(1);
        let mut starts = [0u32; 3];
        for _ in 0..3_000 {
            let order: Vec<usize> = key_order(3, &mut draw).collect();
            let mut sorted = order.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, [0, 1, 2]);
            starts[order[0]] += 1;
        }
        assert!(
            starts.iter().all(|n| (900..1_100).contains(n)),
            "{starts:?}"
        );
        assert_eq!(key_order(0, &mut draw).count(), 0);
    }
}
