//! Runs one upstream SSE body through the codecs, chunk by chunk.
//!
//! ```text
//! upstream bytes ─▶ SseDecoder ─▶ StreamDecode ─▶ Restore ─▶ StreamEncode ─▶ client bytes
//!                                      └──────────▶ Meter (usage, partial output)
//! ```
//!
//! In passthrough mode (client and upstream speak the same format) each upstream frame is
//! decoded, to meter the answer, and then forwarded byte for byte but for the model id (the
//! client's, see `model_rewrite`). Only frames the decoder accepted go out: an upstream error
//! event is replaced by the gateway's own (the vendor's words concern the operator), nothing
//! after the answer's terminal event is forwarded, and an upstream that ends without its
//! terminal event gets the client format's error event appended. So the client never receives
//! a byte the meter did not see.
//!
//! Once a forwarded answer is committed and its bytes need no model rewrite, the edge may hand
//! the rest of the upstream body to the client natively ([`StreamTranslator::forward_natively`])
//! and keep feeding the translator a copy, to meter it: from then on the translator writes only
//! what the gateway itself adds (the error event of an answer cut short), since the upstream's
//! bytes already reach the client. An upstream error event after that point reaches the client
//! as the upstream wrote it (in the client's own format).
//!
//! Nothing reaches the client before the answer is **committed**: its first content (a block,
//! or the end of an empty answer). Until then the client's bytes are held, so an upstream that
//! fails first (an Anthropic `overloaded_error` after `message_start`, a Responses
//! `response.failed` before any output, a stream that closes empty) has shown the client
//! nothing, and the gateway can still try another upstream or answer with an HTTP status.

use super::adapt::Restore;
use super::meter::Meter;
use super::model_rewrite::ModelRewrite;
use crate::canonical::{Accumulator, ChatResponse, StreamEvent};
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::{ResponseContext, StreamDecode, StreamEncode};
use crate::sse::{SseDecoder, SseEvent};

/// Client bytes held before the answer's first content; past this the answer is committed
/// anyway (an upstream sending endless preamble must not grow the gateway's memory).
const MAX_PENDING_BYTES: usize = 64 * 1024;

pub struct StreamTranslator {
    client: WireFormat,
    context: ResponseContext,
    sse: SseDecoder,
    decoder: Box<dyn StreamDecode>,
    /// `None` in passthrough mode.
    encoder: Option<Box<dyn StreamEncode>>,
    restore: Restore,
    meter: Meter,
    /// Scratch buffers reused across chunks.
    frames: Vec<SseEvent>,
    decoded: Vec<StreamEvent>,
    restored: Vec<StreamEvent>,
    /// SSE events received from the upstream.
    frames_seen: u64,
    /// SSE events forwarded to the client in passthrough mode (the next Responses
    /// `sequence_number` for an error event of ours).
    frames_forwarded: u64,
    /// `Start` was decoded.
    started: bool,
    /// The answer's first content was decoded: the client's bytes flow, and errors can only
    /// be in-band.
    committed: bool,
    /// Client bytes held until the answer is committed (at most [`MAX_PENDING_BYTES`]).
    pending: Vec<u8>,
    /// An error decoded before the answer was committed: the gateway can still try another
    /// upstream, or answer with an HTTP status.
    early_error: Option<ApiError>,
    /// A terminal event (`Finish` or `Error`) was decoded.
    ended: bool,
    /// Passthrough: the upstream's last frame was an error, replaced by the gateway's own, so
    /// the rest of its line break (split into the next chunk) is not the client's to get.
    replaced_last_frame: bool,
    /// The gateway ended the answer itself ([`StreamTranslator::abort`]).
    aborted: bool,
    /// Folds the (restored) answer when it has to be kept, e.g. a stored Responses turn.
    collector: Option<Accumulator>,
    /// The answer's id as the upstream's `Start` gave it.
    upstream_id: String,
    /// Passthrough only: names the client's model instead of the upstream's in forwarded bytes.
    rewrite: Option<ModelRewrite>,
    /// Passthrough only: frames received before `Start` (the model id is not known yet).
    held: Vec<u8>,
    /// The upstream's bytes reach the client without passing through here; only the gateway's
    /// own frames are written.
    native: bool,
    /// Forwarded natively, the upstream's body ended inside a frame.
    cut_mid_frame: bool,
}

impl StreamTranslator {
    pub fn new(
        client: WireFormat,
        upstream: WireFormat,
        passthrough: bool,
        restore: Restore,
        context: ResponseContext,
    ) -> StreamTranslator {
        StreamTranslator {
            client,
            encoder: (!passthrough).then(|| client.stream_encoder(context.clone())),
            context,
            sse: if passthrough {
                SseDecoder::capturing_raw()
            } else {
                SseDecoder::new()
            },
            decoder: upstream.stream_decoder(),
            restore,
            meter: Meter::default(),
            frames: Vec::new(),
            decoded: Vec::new(),
            restored: Vec::new(),
            frames_seen: 0,
            frames_forwarded: 0,
            started: false,
            committed: false,
            pending: Vec::new(),
            early_error: None,
            ended: false,
            replaced_last_frame: false,
            aborted: false,
            collector: None,
            upstream_id: String::new(),
            rewrite: None,
            held: Vec::new(),
            native: false,
            cut_mid_frame: false,
        }
    }

    /// Also folds the answer, for [`StreamTranslator::collected`].
    pub fn collect(mut self) -> StreamTranslator {
        self.collector = Some(Accumulator::new());
        self
    }

    /// The whole answer, if collecting was asked for and the stream finished cleanly.
    pub fn collected(&mut self) -> Option<ChatResponse> {
        if !self.meter.finished {
            return None;
        }
        self.collector.take().and_then(|acc| acc.finish().ok())
    }

    fn passthrough(&self) -> bool {
        self.encoder.is_none()
    }

    /// Whether the rest of the upstream body could go to the client byte for byte: a forwarded
    /// answer, committed, nothing held back, no model id left to rewrite (none differs, or the
    /// format names it only in the event that started the answer), in a format whose clients
    /// take a stream without its terminal event as failed (cut natively, it gets no error
    /// event of the gateway's, so it must not pass for complete).
    pub fn can_forward_natively(&self) -> bool {
        let spec = self.client.spec();
        self.passthrough()
            && spec.stream_needs_terminal_event()
            && self.committed
            && !self.ended
            && !self.aborted
            && (self.rewrite.is_none() || !spec.names_model_after_start())
            && self.pending.is_empty()
            && self.held.is_empty()
    }

    /// The rest of the upstream body goes to the client natively (see the module doc): from
    /// now on `push` and `finish` write only the gateway's own frames.
    pub fn forward_natively(&mut self) {
        self.native = true;
    }

    /// Translates one upstream chunk, appending client bytes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mark = out.len();
        self.push_frames(chunk, out);
        self.hold_until_committed(out, mark);
    }

    fn push_frames(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.sse.push(chunk, &mut self.frames);
        self.handle_frames(out, true);
        if self.ended && self.passthrough() {
            // The `\n` of a `\r\n` that ended the last frame may come in the next chunk.
            let unclaimed = self.sse.take_unclaimed();
            if !self.replaced_last_frame
                && !self.native
                && unclaimed.iter().all(|b| matches!(b, b'\r' | b'\n'))
            {
                out.extend_from_slice(&unclaimed);
            }
        }
    }

    /// The upstream body ended; appends whatever completes the client's stream (held, like
    /// the rest, if the answer never started: see [`StreamTranslator::release`]).
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        let mark = out.len();
        self.finish_frames(out);
        self.hold_until_committed(out, mark);
    }

    fn finish_frames(&mut self, out: &mut Vec<u8>) {
        self.sse.finish(&mut self.frames);
        // Natively forwarded, the client already has these last, unterminated bytes.
        self.cut_mid_frame = self.native && !self.frames.is_empty();
        self.handle_frames(out, false);
        if self.passthrough() && !self.ended {
            // Comment lines or a partial frame after the last event: not an event, harmless.
            let unclaimed = self.sse.take_unclaimed();
            self.cut_mid_frame |=
                self.native && unclaimed.iter().any(|b| !matches!(b, b'\r' | b'\n'));
            self.forward(&unclaimed, out);
        }
        if !self.ended {
            self.decoder.finish(&mut self.decoded);
            self.emit(out, false);
        }
        if self.passthrough() && !self.native {
            let held = std::mem::take(&mut self.held);
            out.extend_from_slice(&held);
        }
    }

    /// Ends the answer with `error` (the gateway gave up on the upstream: it went silent, or
    /// the call was aborted), appending the client format's error event unless the answer
    /// already ended.
    pub fn abort(&mut self, error: ApiError, out: &mut Vec<u8>) {
        self.aborted = true;
        let mark = out.len();
        if !self.ended {
            self.decoded.push(StreamEvent::Error(error));
            self.emit(out, false);
        }
        if self.passthrough() && !self.native {
            let held = std::mem::take(&mut self.held);
            out.extend_from_slice(&held);
        }
        self.committed = true;
        self.hold_until_committed(out, mark);
    }

    /// Gives the client what was held for an answer that never started (its error event):
    /// the gateway has no other upstream to try.
    pub fn release(&mut self, out: &mut Vec<u8>) {
        self.committed = true;
        out.append(&mut self.pending);
    }

    /// Keeps what this call appended to `out` (from `mark`) back until the answer is
    /// committed; once it is, puts what was kept back in front of it.
    fn hold_until_committed(&mut self, out: &mut Vec<u8>, mark: usize) {
        if !self.committed {
            self.pending.extend(out.drain(mark..));
            if self.pending.len() > MAX_PENDING_BYTES {
                self.committed = true;
            } else {
                return;
            }
        }
        if !self.pending.is_empty() {
            let tail = out.split_off(mark);
            out.append(&mut self.pending);
            out.extend_from_slice(&tail);
        }
    }

    /// The client format's keep-alive (an SSE comment, or Anthropic's `ping` event), for a
    /// silence in the upstream's stream: it changes nothing in the answer and tells a client
    /// (and every proxy between) that the stream is alive.
    pub fn keep_alive(&mut self, out: &mut Vec<u8>) {
        match &mut self.encoder {
            Some(encoder) => encoder.push(&StreamEvent::KeepAlive, out),
            None => self.client.keep_alive_frame(out),
        }
    }

    /// The upstream failed before the answer was committed (for example Anthropic's 200
    /// followed by an `overloaded_error` event): the client has seen nothing, so the gateway
    /// may still try another upstream or answer with a proper HTTP error.
    pub fn early_error(&self) -> Option<&ApiError> {
        if self.committed || self.aborted {
            None
        } else {
            self.early_error.as_ref()
        }
    }

    /// The upstream's answer began (its start event): it took the call on.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The answer's first content arrived: the client's bytes flow.
    pub fn committed(&self) -> bool {
        self.committed
    }

    /// The upstream sent its first event (any event, even a keep-alive of its own).
    pub fn heard_from(&self) -> bool {
        self.started || self.ended || self.frames_seen > 0
    }

    /// A terminal event was seen.
    pub fn ended(&self) -> bool {
        self.ended
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Decodes the frames read so far, one at a time (in passthrough, each frame's bytes are
    /// forwarded once its events have been seen). `complete`: the frames were ended by the
    /// upstream (not cut by the end of its body).
    fn handle_frames(&mut self, out: &mut Vec<u8>, complete: bool) {
        let frames = std::mem::take(&mut self.frames);
        self.frames_seen = self.frames_seen.saturating_add(frames.len() as u64);
        for frame in &frames {
            let raw = self.sse.take_raw();
            if self.ended {
                continue;
            }
            // A frame's bytes may start with the `\n` of the `\r\n` that ended the previous
            // frame (split between chunks): it is the previous frame's, forwarded whatever
            // becomes of this one.
            let leading = raw.as_ref().map_or(0, |raw| {
                raw.iter()
                    .take_while(|b| matches!(b, b'\r' | b'\n'))
                    .count()
            });
            if let Some(line_break) = raw.as_ref().and_then(|raw| raw.get(..leading)) {
                self.forward(line_break, out);
            }
            self.decoder.push(frame, &mut self.decoded);
            let failed = self.emit(out, complete);
            if let Some(rest) = raw.as_ref().and_then(|raw| raw.get(leading..))
                && !failed
            {
                self.frames_forwarded = self.frames_forwarded.saturating_add(1);
                self.forward(rest, out);
            }
        }
        self.frames = frames;
        self.sse.recycle(&mut self.frames);
    }

    /// Passthrough: forwards one frame's bytes. Frames before `Start` are held (the answer is
    /// not yet committed, so this delays nothing) until the upstream's model id is known.
    fn forward(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        if raw.is_empty() || self.native {
            return;
        }
        if !self.started && !self.ended {
            self.held.extend_from_slice(raw);
            return;
        }
        let held = std::mem::take(&mut self.held);
        for piece in [held.as_slice(), raw] {
            match &self.rewrite {
                Some(rewrite) => rewrite.apply(piece, out),
                None => out.extend_from_slice(piece),
            }
        }
    }

    /// Meters, restores and encodes the decoded events. In passthrough, an error event
    /// (the upstream's, or one the decoder made up at the end) is written as the gateway's own
    /// error event; returns whether there was one, so the upstream's frame is not forwarded.
    /// `from_upstream`: the events are an upstream frame's (which, forwarded natively, has
    /// already reached the client).
    fn emit(&mut self, out: &mut Vec<u8>, from_upstream: bool) -> bool {
        let passthrough = self.encoder.is_none();
        let mut failed = false;
        for mut event in self.decoded.drain(..) {
            if self.ended {
                break;
            }
            self.meter.observe(&event);
            match &event {
                StreamEvent::Start { id, model, .. } => {
                    self.started = true;
                    self.upstream_id.clone_from(id);
                    if passthrough {
                        self.rewrite = ModelRewrite::new(
                            self.client.spec().answer_model_field(),
                            model,
                            &self.context.model,
                        );
                    }
                }
                StreamEvent::Finish { .. } => {
                    self.ended = true;
                    self.committed = true;
                }
                StreamEvent::Error(error) => {
                    self.ended = true;
                    if !self.committed {
                        self.early_error = Some(error.clone());
                    }
                    if passthrough && !(self.native && from_upstream) {
                        failed = true;
                        self.replaced_last_frame = true;
                        if self.cut_mid_frame {
                            // Ends the partial frame the client has, so ours stands alone.
                            out.extend_from_slice(b"\n\n");
                        }
                        out.append(&mut self.held);
                        out.extend(self.client.stream_error_frame(
                            error,
                            &self.context,
                            self.frames_forwarded,
                            &self.upstream_id,
                        ));
                    }
                }
                StreamEvent::BlockStart { .. }
                | StreamEvent::BlockDelta { .. }
                | StreamEvent::BlockStop { .. } => self.committed = true,
                StreamEvent::KeepAlive => {}
            }
            // Most events (text and reasoning deltas) come back as they are: they go straight
            // to the encoder rather than through `restored`.
            if Restore::passes_unchanged(&event) {
                if let Some(collector) = &mut self.collector {
                    collector.push(&event);
                }
                if let Some(encoder) = &mut self.encoder {
                    encoder.push(&event, out);
                }
                // Written: its buffers can serve the decoder's next events.
                self.decoder.recycle(&mut event);
                continue;
            }
            self.restore.event(event, &mut self.restored);
            for restored in self.restored.drain(..) {
                if let Some(collector) = &mut self.collector {
                    collector.push(&restored);
                }
                if let Some(encoder) = &mut self.encoder {
                    encoder.push(&restored, out);
                }
            }
        }
        failed
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::testing::context;

    const OVERLOADED_AFTER_START: &str = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
        "event: ping\ndata: {\"type\":\"ping\"}\n\n",
        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
    );

    const TEXT_AFTER_START: &str = concat!(
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"stop_reason\":null,\"usage\":{\"input_tokens\":12,\"output_tokens\":1}}}\n\n",
        "event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n",
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"Hello there\"}}\n\n",
    );

    fn translators() -> Vec<(WireFormat, StreamTranslator)> {
        WireFormat::ALL
            .into_iter()
            .map(|client| {
                let passthrough = client == WireFormat::AnthropicMessages;
                let translator = StreamTranslator::new(
                    client,
                    WireFormat::AnthropicMessages,
                    passthrough,
                    Restore::default(),
                    context("public"),
                );
                (client, translator)
            })
            .collect()
    }

    #[test]
    fn an_error_before_the_first_content_shows_the_client_nothing() {
        for (client, mut translator) in translators() {
            let mut out = Vec::new();
            translator.push(OVERLOADED_AFTER_START.as_bytes(), &mut out);
            translator.finish(&mut out);
            assert!(
                out.is_empty(),
                "{client:?}: {}",
                String::from_utf8_lossy(&out)
            );
            assert_eq!(
                translator.early_error().map(|e| e.kind),
                Some(ErrorKind::Overloaded),
                "{client:?}"
            );
            assert!(!translator.committed());
            assert!(translator.heard_from());
            // With no other upstream, the client gets the error in its format.
            translator.release(&mut out);
            let decoded = crate::testing::decode_chunks(client, &[&out]);
            let error = crate::testing::accumulate(&decoded).unwrap_err();
            assert_eq!(error.kind, ErrorKind::Overloaded, "{client:?}");
        }
    }

    #[test]
    fn the_first_content_commits_with_everything_held_before_it() {
        for (client, mut translator) in translators() {
            let mut out = Vec::new();
            let (start, block) =
                TEXT_AFTER_START.split_at(TEXT_AFTER_START.find("event: content").unwrap());
            translator.push(start.as_bytes(), &mut out);
            assert!(out.is_empty(), "{client:?}");
            translator.push(block.as_bytes(), &mut out);
            assert!(translator.committed(), "{client:?}");
            let text = String::from_utf8_lossy(&out);
            if client == WireFormat::AnthropicMessages {
                assert_eq!(text, TEXT_AFTER_START.replace("claude-x", "public"));
            } else {
                assert!(!text.is_empty(), "{client:?}");
            }
            // A later error is in-band, not early.
            translator.push(b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n", &mut out);
            assert!(translator.early_error().is_none());
        }
    }

    #[test]
    fn an_endless_preamble_commits_rather_than_growing() {
        let mut translator = StreamTranslator::new(
            WireFormat::AnthropicMessages,
            WireFormat::AnthropicMessages,
            true,
            Restore::default(),
            context("public"),
        );
        let mut out = Vec::new();
        let start = TEXT_AFTER_START.split("event: content").next().unwrap();
        translator.push(start.as_bytes(), &mut out);
        let ping = "event: ping\ndata: {\"type\":\"ping\"}\n\n".repeat(100);
        let mut sent = 0;
        while !translator.committed() {
            translator.push(ping.as_bytes(), &mut out);
            sent += ping.len();
            assert!(sent < 2 * MAX_PENDING_BYTES);
        }
        assert!(out.len() > MAX_PENDING_BYTES);
    }

    /// An Anthropic answer forwarded natively after its first content, as the edge does.
    fn forwarded(model: &str) -> (StreamTranslator, Vec<u8>) {
        let mut translator = StreamTranslator::new(
            WireFormat::AnthropicMessages,
            WireFormat::AnthropicMessages,
            true,
            Restore::default(),
            context(model),
        );
        let mut out = Vec::new();
        translator.push(TEXT_AFTER_START.as_bytes(), &mut out);
        (translator, out)
    }

    const REST: &str = concat!(
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":7}}\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    #[test]
    fn only_an_answer_with_no_model_id_left_to_rewrite_is_forwarded_natively() {
        let (same, _) = forwarded("claude-x");
        assert!(same.can_forward_natively());
        let (renamed, _) = forwarded("public");
        assert!(
            renamed.can_forward_natively(),
            "only message_start names the model"
        );
        let chat_chunk = "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"gpt-x\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\"},\"finish_reason\":null}]}\n\n";
        for asked in ["gpt-x", "public"] {
            let mut chat = StreamTranslator::new(
                WireFormat::OpenAiChat,
                WireFormat::OpenAiChat,
                true,
                Restore::default(),
                context(asked),
            );
            chat.push(chat_chunk.as_bytes(), &mut Vec::new());
            assert!(chat.committed());
            // Every chunk names the model, and a Chat stream cut short reads as complete.
            assert!(!chat.can_forward_natively(), "{asked}");
        }
        let mut uncommitted = StreamTranslator::new(
            WireFormat::AnthropicMessages,
            WireFormat::AnthropicMessages,
            true,
            Restore::default(),
            context("claude-x"),
        );
        uncommitted.push(OVERLOADED_AFTER_START.as_bytes(), &mut Vec::new());
        assert!(!uncommitted.can_forward_natively(), "nothing committed yet");
        let (_, client) = translators().remove(0);
        assert!(!client.can_forward_natively(), "translated");
    }

    #[test]
    fn forwarded_natively_the_upstreams_bytes_are_metered_not_written() {
        let (mut translator, committed) = forwarded("claude-x");
        assert_eq!(committed, TEXT_AFTER_START.as_bytes());
        translator.forward_natively();
        let mut out = Vec::new();
        for piece in REST.as_bytes().chunks(17) {
            translator.push(piece, &mut out);
        }
        translator.finish(&mut out);
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        assert!(translator.meter().finished);
        assert_eq!(translator.meter().usage.input_tokens, Some(12));
        assert_eq!(translator.meter().usage.output_tokens, Some(7));
    }

    #[test]
    fn forwarded_natively_a_cut_answer_still_gets_the_gateways_error_event() {
        let (mut translator, _) = forwarded("claude-x");
        translator.forward_natively();
        let mut out = Vec::new();
        translator.push(
            b"event: content_block_delta\ndata: {\"type\":\"conte",
            &mut out,
        );
        assert!(out.is_empty());
        translator.finish(&mut out);
        let text = String::from_utf8_lossy(&out);
        assert!(text.starts_with("\n\nevent: error\n"), "{text}");
        assert!(
            !text.contains("conte"),
            "the partial frame went out natively: {text}"
        );
        assert!(!translator.meter().finished);
    }

    #[test]
    fn forwarded_natively_an_upstream_error_event_is_not_written_twice() {
        let (mut translator, _) = forwarded("claude-x");
        translator.forward_natively();
        let mut out = Vec::new();
        let error = "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n";
        translator.push(error.as_bytes(), &mut out);
        translator.finish(&mut out);
        assert!(out.is_empty(), "{}", String::from_utf8_lossy(&out));
        assert!(translator.ended());
    }
}
