//! SSE encoding straight into an output buffer (one buffer per upstream chunk, so a chunk's
//! events cross into JavaScript as one copy).

use serde::Serialize;

/// Writes one frame. Data containing line breaks is split over several `data:` lines.
pub fn write_event(out: &mut Vec<u8>, event: Option<&str>, data: &str) {
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.push(b'\n');
    }
    for line in data.split('\n') {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(line.strip_suffix('\r').unwrap_or(line).as_bytes());
        out.push(b'\n');
    }
    out.push(b'\n');
}

/// Writes one frame whose data is `value` as JSON (serde_json never emits raw line breaks).
pub fn write_json_event<T: Serialize + ?Sized>(out: &mut Vec<u8>, event: Option<&str>, value: &T) {
    if let Some(event) = event {
        out.extend_from_slice(b"event: ");
        out.extend_from_slice(event.as_bytes());
        out.push(b'\n');
    }
    out.extend_from_slice(b"data: ");
    if serde_json::to_writer(&mut *out, value).is_err() {
        out.extend_from_slice(b"null");
    }
    out.extend_from_slice(b"\n\n");
}

/// Writes a comment line (a keep-alive that every SSE client ignores).
pub fn write_comment(out: &mut Vec<u8>, text: &str) {
    out.extend_from_slice(b": ");
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(b"\n\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sse::SseDecoder;

    #[test]
    fn encoded_frames_decode_back() {
        let mut out = Vec::new();
        write_event(
            &mut out,
            Some("message_stop"),
            "{\"type\":\"message_stop\"}",
        );
        write_event(&mut out, None, "a\nb");
        write_json_event(&mut out, None, &serde_json::json!({"t": "x\ny"}));
        write_comment(&mut out, "keep-alive");
        let mut decoder = SseDecoder::new();
        let mut events = Vec::new();
        decoder.push(&out, &mut events);
        assert_eq!(events.len(), 3);
        assert_eq!(events[1].data, "a\nb");
        assert_eq!(events[2].data, "{\"t\":\"x\\ny\"}");
    }
}
