//! Lossy translation made visible: every parameter dropped, clamped or disabled on the way to
//! the upstream is recorded and reported in one response header.

/// The response header that lists deviations, e.g.
/// `x-toc-warnings: dropped=top_k,seed; clamped=temperature(1.3->1); disabled=thinking(no-valid-signature)`.
pub const WARNINGS_HEADER: &str = "x-toc-warnings";

/// Deviations collected while translating one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    dropped: Vec<String>,
    clamped: Vec<String>,
    disabled: Vec<String>,
    converted: Vec<String>,
}

impl Warnings {
    pub fn new() -> Warnings {
        Warnings::default()
    }

    /// A field or item the upstream cannot carry was left out (`top_k`, `tools[2]`, ...).
    pub fn dropped(&mut self, what: impl Into<String>) {
        push_unique(&mut self.dropped, what.into());
    }

    /// A value was brought into the upstream's range, e.g. `temperature(1.3->1)`.
    pub fn clamped(&mut self, what: impl Into<String>) {
        push_unique(&mut self.clamped, what.into());
    }

    /// A feature was switched off for this request, e.g. `thinking(no-valid-signature)`.
    pub fn disabled(&mut self, what: impl Into<String>) {
        push_unique(&mut self.disabled, what.into());
    }

    /// Something was carried in another form, e.g. `json_object(instruction)`.
    pub fn converted(&mut self, what: impl Into<String>) {
        push_unique(&mut self.converted, what.into());
    }

    /// Adds every deviation `other` recorded.
    pub fn merge(&mut self, other: &Warnings) {
        for (mine, theirs) in [
            (&mut self.dropped, &other.dropped),
            (&mut self.clamped, &other.clamped),
            (&mut self.disabled, &other.disabled),
            (&mut self.converted, &other.converted),
        ] {
            for item in theirs {
                push_unique(mine, item.clone());
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.dropped.is_empty()
            && self.clamped.is_empty()
            && self.disabled.is_empty()
            && self.converted.is_empty()
    }

    /// The header value, or `None` when nothing deviated.
    pub fn header_value(&self) -> Option<String> {
        let groups: Vec<String> = [
            ("dropped", &self.dropped),
            ("clamped", &self.clamped),
            ("disabled", &self.disabled),
            ("converted", &self.converted),
        ]
        .into_iter()
        .filter(|(_, items)| !items.is_empty())
        .map(|(label, items)| format!("{label}={}", items.join(",")))
        .collect();
        if groups.is_empty() {
            return None;
        }
        // Header values must be visible ASCII; anything else in a field name becomes '?'.
        Some(
            groups
                .join("; ")
                .chars()
                .map(|c| {
                    if c.is_ascii_graphic() || c == ' ' {
                        c
                    } else {
                        '?'
                    }
                })
                .collect(),
        )
    }
}

fn push_unique(list: &mut Vec<String>, item: String) {
    if !list.contains(&item) {
        list.push(item);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_groups_in_fixed_order() {
        let mut w = Warnings::new();
        assert_eq!(w.header_value(), None);
        w.clamped("temperature(1.3->1)");
        w.dropped("top_k");
        w.dropped("seed");
        w.dropped("top_k");
        w.disabled("thinking(no-valid-signature)");
        assert_eq!(
            w.header_value().as_deref(),
            Some(
                "dropped=top_k,seed; clamped=temperature(1.3->1); disabled=thinking(no-valid-signature)"
            )
        );
    }
}
