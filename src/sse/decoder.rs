//! Incremental SSE decoding per the WHATWG event-stream rules: any split of the input into
//! chunks yields the same events.

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SseEvent {
    /// The `event:` field, if the frame had one.
    pub event: Option<String>,
    /// The `data:` lines of the frame joined with `\n`.
    pub data: String,
}

/// Turns byte chunks into [`SseEvent`]s.
///
/// Lines end at `\n`, `\r\n` or `\r`. Text is decoded as UTF-8 only once it is complete (an
/// event's `data` once the event is, in one pass), so a multi-byte character split across
/// chunks is reassembled (line terminators are ASCII and can never fall inside a multi-byte
/// character).
#[derive(Debug, Default)]
pub struct SseDecoder {
    /// Bytes of the current, not yet terminated line.
    line: Vec<u8>,
    /// The previous chunk ended in `\r`; a `\n` at the start of the next one belongs to it.
    skip_lf: bool,
    /// No line has been completed yet (a leading byte-order mark is dropped).
    at_start: bool,
    /// `event:` of the frame being read.
    event: Option<String>,
    /// `data:` lines of the frame being read, each followed by `\n`; checked as UTF-8 when
    /// the frame is dispatched, in one pass (a line break never falls inside a character, so
    /// that is the same as checking each line).
    data: Vec<u8>,
    /// At least one `data:` line was seen in the frame being read.
    has_data: bool,
    /// Raw capture (see [`SseDecoder::capturing_raw`]).
    raw: Option<RawCapture>,
    /// Buffers of events handed back by [`SseDecoder::recycle`], for the next events' `data`
    /// and `event` (an allocation and a free less per field of each event).
    spare: Vec<String>,
}

/// The most buffers [`SseDecoder::recycle`] keeps: a chunk's events at a time are typical.
const MAX_SPARE: usize = 16;

/// The raw bytes of frames, for callers that forward them as they came.
#[derive(Debug, Default)]
struct RawCapture {
    /// Bytes of the frame being read (and of anything before it since the last frame).
    current: Vec<u8>,
    /// Bytes of dispatched frames not yet taken, one per event, in order.
    frames: std::collections::VecDeque<Vec<u8>>,
}

impl SseDecoder {
    pub fn new() -> SseDecoder {
        SseDecoder {
            at_start: true,
            ..SseDecoder::default()
        }
    }

    /// A decoder that also keeps each event's raw bytes (its lines and the blank line that
    /// ends it, with any comment lines before it), for [`SseDecoder::take_raw`]: a forwarder
    /// can then pass on exactly the frames it accepts, byte for byte.
    pub fn capturing_raw() -> SseDecoder {
        SseDecoder {
            raw: Some(RawCapture::default()),
            ..SseDecoder::new()
        }
    }

    /// The raw bytes of the oldest event not yet taken (capturing decoders only).
    pub fn take_raw(&mut self) -> Option<Vec<u8>> {
        self.raw.as_mut().and_then(|raw| raw.frames.pop_front())
    }

    /// Bytes read since the last event that belong to none (comments, a partial frame at the
    /// end of the body).
    pub fn take_unclaimed(&mut self) -> Vec<u8> {
        self.raw
            .as_mut()
            .map(|raw| std::mem::take(&mut raw.current))
            .unwrap_or_default()
    }

    /// Feeds one chunk; complete events are appended to `out`.
    pub fn push(&mut self, whole: &[u8], out: &mut Vec<SseEvent>) {
        let mut chunk = whole;
        // Where the current frame's bytes start in `whole` (raw capture).
        let mut frame_start = 0;
        if self.skip_lf {
            self.skip_lf = false;
            if let Some((b'\n', rest)) = chunk.split_first() {
                chunk = rest;
            }
        }
        while let Some(end) = line_end(chunk) {
            let (line, rest) = chunk.split_at(end);
            let Some((&terminator, mut rest)) = rest.split_first() else {
                break;
            };
            if terminator == b'\r' {
                match rest.split_first() {
                    Some((b'\n', after)) => rest = after,
                    Some(_) => {}
                    None => self.skip_lf = true,
                }
            }
            let dispatched_before = out.len();
            if self.line.is_empty() {
                self.process_line(line, out);
            } else {
                self.line.extend_from_slice(line);
                let joined = std::mem::take(&mut self.line);
                self.process_line(&joined, out);
            }
            chunk = rest;
            if out.len() > dispatched_before
                && let Some(raw) = &mut self.raw
            {
                let line_end = whole.len() - chunk.len();
                let mut frame = std::mem::take(&mut raw.current);
                frame.extend_from_slice(whole.get(frame_start..line_end).unwrap_or_default());
                raw.frames.push_back(frame);
                frame_start = line_end;
            }
        }
        self.line.extend_from_slice(chunk);
        if let Some(raw) = &mut self.raw {
            raw.current
                .extend_from_slice(whole.get(frame_start..).unwrap_or_default());
        }
    }

    /// Takes the events out of `events` for their buffers, which the next events reuse.
    pub fn recycle(&mut self, events: &mut Vec<SseEvent>) {
        for event in events.drain(..) {
            for mut buffer in [Some(event.data), event.event].into_iter().flatten() {
                if self.spare.len() < MAX_SPARE {
                    buffer.clear();
                    self.spare.push(buffer);
                }
            }
        }
    }

    /// An empty string, with room from a recycled event if there is one.
    fn buffer(&mut self) -> String {
        self.spare.pop().unwrap_or_default()
    }

    /// Ends the input. A final frame without its blank line is still dispatched: several
    /// upstreams close the connection right after `data: [DONE]`.
    pub fn finish(&mut self, out: &mut Vec<SseEvent>) {
        let dispatched_before = out.len();
        if !self.line.is_empty() {
            let last = std::mem::take(&mut self.line);
            self.process_line(&last, out);
        }
        self.dispatch(out);
        if out.len() > dispatched_before
            && let Some(raw) = &mut self.raw
        {
            let frame = std::mem::take(&mut raw.current);
            raw.frames.push_back(frame);
        }
    }

    fn process_line(&mut self, mut line: &[u8], out: &mut Vec<SseEvent>) {
        if self.at_start {
            self.at_start = false;
            line = line.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(line);
        }
        if line.is_empty() {
            self.dispatch(out);
            return;
        }
        if line.first() == Some(&b':') {
            return;
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(colon) => {
                let (field, value) = line.split_at(colon);
                let value = value.get(1..).unwrap_or_default();
                (field, value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"data" => {
                // One allocation of the right size for the usual single `data:` line, or
                // none with a recycled buffer.
                if self.data.capacity() == 0 {
                    self.data = self.buffer().into_bytes();
                }
                self.data.reserve(value.len() + 1);
                self.data.extend_from_slice(value);
                self.data.push(b'\n');
                self.has_data = true;
            }
            b"event" => {
                let mut name = self.event.take().unwrap_or_else(|| self.buffer());
                name.clear();
                match std::str::from_utf8(value) {
                    Ok(text) => name.push_str(text),
                    Err(_) => name.push_str(&String::from_utf8_lossy(value)),
                }
                self.event = Some(name);
            }
            _ => {}
        }
    }

    fn dispatch(&mut self, out: &mut Vec<SseEvent>) {
        if !self.has_data {
            self.event = None;
            return;
        }
        let mut data = std::mem::take(&mut self.data);
        data.pop();
        self.has_data = false;
        // Valid UTF-8 (nearly always) is checked by the fast validator only.
        let data = String::from_utf8(data)
            .unwrap_or_else(|invalid| String::from_utf8_lossy(invalid.as_bytes()).into_owned());
        out.push(SseEvent {
            event: self.event.take(),
            data,
        });
    }
}

/// Where the first line of `bytes` ends (its `\n` or `\r`), if it does.
#[inline]
fn line_end(bytes: &[u8]) -> Option<usize> {
    // The blank line that ends each event is found without a search.
    if matches!(bytes.first(), Some(b'\n' | b'\r')) {
        return Some(0);
    }
    memchr::memchr2(b'\n', b'\r', bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_capture_gives_each_event_its_own_bytes_at_any_split() {
        let input: &[u8] =
            b": hi\r\nevent: a\r\ndata: 1\r\n\r\ndata: 2\n\n: trailing\n\ndata: 3\rdata: 4\r\r";
        for split in 1..=input.len() {
            let mut decoder = SseDecoder::capturing_raw();
            let mut events = Vec::new();
            for piece in input.chunks(split) {
                decoder.push(piece, &mut events);
            }
            decoder.finish(&mut events);
            let frames: Vec<Vec<u8>> = std::iter::from_fn(|| decoder.take_raw()).collect();
            assert_eq!(frames.len(), events.len(), "split {split}");
            assert_eq!(
                frames.concat(),
                input,
                "split {split}: every byte, in order"
            );
            assert_eq!(events.len(), 3, "split {split}");
        }
    }

    /// Events handed back for their buffers change none of the next ones.
    #[test]
    fn recycled_buffers_give_the_same_events() {
        let input: &[u8] = "event: first\ndata: {\"a\": 1}\n\nevent: second-longer-name\ndata: x\ndata: \u{e9}\n\ndata: 3\n\nevent: dropped\n\nevent: e\ndata:\n\n"
            .as_bytes();
        let whole = decode_whole(input);
        for split in 1..=input.len() {
            let mut decoder = SseDecoder::new();
            let (mut events, mut all) = (Vec::new(), Vec::new());
            for piece in input.chunks(split) {
                decoder.push(piece, &mut events);
                all.extend(events.iter().cloned());
                decoder.recycle(&mut events);
            }
            decoder.finish(&mut events);
            all.append(&mut events);
            assert_eq!(all, whole, "split {split}");
        }
    }

    fn decode_whole(input: &[u8]) -> Vec<SseEvent> {
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        decoder.push(input, &mut out);
        decoder.finish(&mut out);
        out
    }

    /// Every way of cutting the input in two, and byte by byte, gives the same events.
    fn assert_split_invariant(input: &[u8]) -> Vec<SseEvent> {
        let whole = decode_whole(input);
        for cut in 0..=input.len() {
            let (a, b) = input.split_at(cut);
            let mut decoder = SseDecoder::new();
            let mut out = Vec::new();
            decoder.push(a, &mut out);
            decoder.push(b, &mut out);
            decoder.finish(&mut out);
            assert_eq!(out, whole, "cut at {cut}");
        }
        let mut decoder = SseDecoder::new();
        let mut out = Vec::new();
        for byte in input {
            decoder.push(std::slice::from_ref(byte), &mut out);
        }
        decoder.finish(&mut out);
        assert_eq!(out, whole, "byte by byte");
        whole
    }

    fn ev(event: Option<&str>, data: &str) -> SseEvent {
        SseEvent {
            event: event.map(str::to_owned),
            data: data.to_owned(),
        }
    }

    #[test]
    fn line_endings_multiline_data_and_comments() {
        let input = "\u{feff}: hello\r\nevent: a\r\ndata: one\r\ndata:two\r\n\r\ndata: x\n\nid: 5\rdata: y\r\r: ping\n\n";
        assert_eq!(
            assert_split_invariant(input.as_bytes()),
            vec![ev(Some("a"), "one\ntwo"), ev(None, "x"), ev(None, "y")]
        );
    }

    #[test]
    fn multibyte_utf8_split_anywhere() {
        let input = "data: {\"t\":\"h\u{e9}llo \u{1f600} \u{4e16}\u{754c}\"}\n\n";
        assert_eq!(
            assert_split_invariant(input.as_bytes()),
            vec![ev(
                None,
                "{\"t\":\"h\u{e9}llo \u{1f600} \u{4e16}\u{754c}\"}"
            )]
        );
    }

    #[test]
    fn several_events_in_one_chunk_and_unterminated_tail() {
        let input = b"data: 1\n\ndata: 2\n\nevent: e\ndata: [DONE]";
        assert_eq!(
            assert_split_invariant(input),
            vec![ev(None, "1"), ev(None, "2"), ev(Some("e"), "[DONE]")]
        );
    }

    /// Invalid UTF-8 becomes U+FFFD line by line: a character cut by a line break is two
    /// invalid pieces, not one character.
    #[test]
    fn invalid_utf8_is_replaced_in_each_line() {
        let input = b"event: e\xff\ndata: a\xE2\x82\ndata: \xAC b\ndata: \xE2\x82\xAC\n\n";
        assert_eq!(
            assert_split_invariant(input),
            vec![ev(Some("e\u{fffd}"), "a\u{fffd}\n\u{fffd} b\n\u{20ac}")]
        );
    }

    #[test]
    fn frames_without_data_are_not_dispatched() {
        assert_eq!(
            assert_split_invariant(b"event: ping\n\ndata\n\n"),
            vec![ev(None, "")]
        );
    }
}
