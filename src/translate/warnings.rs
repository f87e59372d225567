//! Lossy translation made visible: every parameter dropped, clamped or disabled on the way to
//! the upstream is recorded and reported in one response header.

/// The response header that lists deviations, e.g.
/// `x-toc-warnings: dropped=top_k,seed; clamped=temperature(1.3->1); disabled=thinking(no-valid-signature)`.
pub const WARNINGS_HEADER: &str = "x-toc-warnings";

/// Most entries kept per group: a request with thousands of unknown parts must not make
/// thousands of warnings (each one is compared with every other) or a header proxies reject.
const MAX_PER_GROUP: usize = 32;
/// Longest header value sent; longer values end with `...`.
const MAX_HEADER_BYTES: usize = 2048;
/// Longest single entry kept (a client-chosen name can be long).
const MAX_ENTRY_BYTES: usize = 96;

/// Deviations collected while translating one request.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Warnings {
    dropped: Vec<String>,
    clamped: Vec<String>,
    disabled: Vec<String>,
    converted: Vec<String>,
    /// Message, system or input content was left out: the client's body no longer says what
    /// the gateway will send, so it must not be forwarded verbatim.
    content_dropped: bool,
}

impl Warnings {
    pub fn new() -> Warnings {
        Warnings::default()
    }

    /// A field or item the upstream cannot carry was left out (`top_k`, `tools[2]`, ...).
    pub fn dropped(&mut self, what: impl Into<String>) {
        push_unique(&mut self.dropped, what.into());
    }

    /// Content inside the conversation (a part, block or item) was left out.
    pub fn dropped_content(&mut self, what: impl Into<String>) {
        self.content_dropped = true;
        self.dropped(what);
    }

    /// Whether [`Warnings::dropped_content`] was called.
    pub fn content_dropped(&self) -> bool {
        self.content_dropped
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
        self.content_dropped |= other.content_dropped;
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
        let mut value: String = groups
            .join("; ")
            .chars()
            .map(|c| {
                if c.is_ascii_graphic() || c == ' ' {
                    c
                } else {
                    '?'
                }
            })
            .collect();
        if value.len() > MAX_HEADER_BYTES {
            value.truncate(MAX_HEADER_BYTES.saturating_sub(3));
            value.push_str("...");
        }
        Some(value)
    }
}

/// Adds `item` unless it is already there or the group is full (then a final `...` says so).
fn push_unique(list: &mut Vec<String>, mut item: String) {
    if item.len() > MAX_ENTRY_BYTES {
        let mut end = MAX_ENTRY_BYTES;
        while !item.is_char_boundary(end) {
            end -= 1;
        }
        item.truncate(end);
        item.push_str("...");
    }
    if list.len() > MAX_PER_GROUP || list.contains(&item) {
        return;
    }
    if list.len() == MAX_PER_GROUP {
        list.push("...".to_owned());
    } else {
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

    #[test]
    fn thousands_of_drops_stay_a_short_header_in_linear_time() {
        let mut w = Warnings::new();
        for i in 0..100_000 {
            w.dropped_content(format!("content(kind{i})"));
        }
        w.dropped("x".repeat(10_000));
        let value = w.header_value().unwrap();
        assert!(value.len() <= MAX_HEADER_BYTES, "{}", value.len());
        assert!(value.ends_with("..."), "{value}");
        assert!(w.content_dropped());
    }
}
