//! Spare strings for a stream decoder: the buffers of delta events the translator hands back
//! once it has written them ([`crate::formats::StreamDecode::recycle`]), reused for the text
//! of the next deltas.
//!
//! A stream is mostly small text deltas, each a `String` of its own in the canonical event;
//! reusing the last one's buffer saves an allocation and a free per delta.

use std::borrow::Cow;

use crate::canonical::{Delta, StreamEvent};

/// The most buffers kept: a decoder emits a delta or two per upstream event, and gets them
/// back before the next one.
const MAX_SPARE: usize = 4;

#[derive(Debug, Default)]
pub struct SpareStrings {
    spare: Vec<String>,
}

impl SpareStrings {
    /// Takes the string of a text, refusal, reasoning or arguments delta for reuse (leaving
    /// it empty); leaves anything else.
    pub fn keep(&mut self, event: &mut StreamEvent) {
        if let StreamEvent::BlockDelta {
            delta:
                Delta::Text(buffer)
                | Delta::Refusal(buffer)
                | Delta::Reasoning(buffer)
                | Delta::ToolArguments(buffer),
            ..
        } = event
            && self.spare.len() < MAX_SPARE
        {
            self.spare.push(std::mem::take(buffer));
        }
    }

    /// `text` as a `String`: itself when it is owned, else copied into a kept buffer (a new
    /// one if none is kept).
    pub fn own(&mut self, text: Cow<'_, str>) -> String {
        match text {
            Cow::Owned(text) => text,
            Cow::Borrowed(text) => {
                let mut buffer = self.spare.pop().unwrap_or_default();
                buffer.clear();
                buffer.push_str(text);
                buffer
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(text: &str) -> StreamEvent {
        StreamEvent::BlockDelta {
            index: 0,
            delta: Delta::Text(text.to_owned()),
        }
    }

    #[test]
    fn a_kept_buffer_is_reused_and_holds_only_the_new_text() {
        let mut spare = SpareStrings::default();
        let mut event = text("a longer fragment than the next");
        let StreamEvent::BlockDelta {
            delta: Delta::Text(original),
            ..
        } = &event
        else {
            unreachable!()
        };
        let address = original.as_ptr();
        spare.keep(&mut event);
        let reused = spare.own(Cow::Borrowed("next"));
        assert_eq!(reused, "next");
        assert_eq!(reused.as_ptr(), address, "the kept buffer");
        assert_eq!(spare.own(Cow::Borrowed("fresh")), "fresh");
        assert_eq!(spare.own(Cow::Owned("owned".to_owned())), "owned");
    }

    #[test]
    fn keeps_no_more_than_its_limit_and_nothing_but_delta_strings() {
        let mut spare = SpareStrings::default();
        for _ in 0..10 {
            spare.keep(&mut text("x"));
        }
        spare.keep(&mut StreamEvent::BlockStop { index: 0 });
        assert_eq!(spare.spare.len(), MAX_SPARE);
    }
}
