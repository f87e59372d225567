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

use super::adapt::Restore;
use super::meter::Meter;
use super::model_rewrite::ModelRewrite;
use crate::canonical::{Accumulator, ChatResponse, StreamEvent};
use crate::error::ApiError;
use crate::format::WireFormat;
use crate::formats::{ResponseContext, StreamDecode, StreamEncode};
use crate::sse::{SseDecoder, SseEvent};

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
    /// SSE events forwarded to the client in passthrough mode (the next Responses
    /// `sequence_number` for an error event of ours).
    frames_forwarded: u64,
    /// `Start` was decoded: the answer is under way and errors can only be in-band.
    started: bool,
    /// An error decoded before `Start`: the gateway can still answer with an HTTP status.
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
            frames_forwarded: 0,
            started: false,
            early_error: None,
            ended: false,
            replaced_last_frame: false,
            aborted: false,
            collector: None,
            upstream_id: String::new(),
            rewrite: None,
            held: Vec::new(),
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

    /// Translates one upstream chunk, appending client bytes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.sse.push(chunk, &mut self.frames);
        self.handle_frames(out);
        if self.ended && self.passthrough() {
            // The `\n` of a `\r\n` that ended the last frame may come in the next chunk.
            let unclaimed = self.sse.take_unclaimed();
            if !self.replaced_last_frame && unclaimed.iter().all(|b| matches!(b, b'\r' | b'\n')) {
                out.extend_from_slice(&unclaimed);
            }
        }
    }

    /// The upstream body ended; appends whatever completes the client's stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.sse.finish(&mut self.frames);
        self.handle_frames(out);
        if self.passthrough() && !self.ended {
            // Comment lines or a partial frame after the last event: not an event, harmless.
            let unclaimed = self.sse.take_unclaimed();
            self.forward(&unclaimed, out);
        }
        if !self.ended {
            self.decoder.finish(&mut self.decoded);
            self.emit(out);
        }
        if self.passthrough() {
            let held = std::mem::take(&mut self.held);
            out.extend_from_slice(&held);
        }
    }

    /// Ends the answer with `error` (the gateway gave up on the upstream: it went silent, or
    /// the call was aborted), appending the client format's error event unless the answer
    /// already ended.
    pub fn abort(&mut self, error: ApiError, out: &mut Vec<u8>) {
        self.aborted = true;
        if !self.ended {
            self.decoded.push(StreamEvent::Error(error));
            self.emit(out);
        }
        if self.passthrough() {
            let held = std::mem::take(&mut self.held);
            out.extend_from_slice(&held);
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

    /// The upstream failed before the answer started (for example Anthropic's 200 followed by
    /// an `overloaded_error` event): nothing meaningful was produced, so the gateway may still
    /// answer with a proper HTTP error instead of the stream.
    pub fn early_error(&self) -> Option<&ApiError> {
        if self.started || self.aborted {
            None
        } else {
            self.early_error.as_ref()
        }
    }

    pub fn started(&self) -> bool {
        self.started
    }

    /// A terminal event was seen.
    pub fn ended(&self) -> bool {
        self.ended
    }

    pub fn meter(&self) -> &Meter {
        &self.meter
    }

    /// Decodes the frames read so far, one at a time (in passthrough, each frame's bytes are
    /// forwarded once its events have been seen).
    fn handle_frames(&mut self, out: &mut Vec<u8>) {
        let frames = std::mem::take(&mut self.frames);
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
            let failed = self.emit(out);
            if let Some(rest) = raw.as_ref().and_then(|raw| raw.get(leading..))
                && !failed
            {
                self.frames_forwarded = self.frames_forwarded.saturating_add(1);
                self.forward(rest, out);
            }
        }
        self.frames = frames;
        self.frames.clear();
    }

    /// Passthrough: forwards one frame's bytes. Frames before `Start` are held (the answer is
    /// not yet committed, so this delays nothing) until the upstream's model id is known.
    fn forward(&mut self, raw: &[u8], out: &mut Vec<u8>) {
        if raw.is_empty() {
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
    fn emit(&mut self, out: &mut Vec<u8>) -> bool {
        let passthrough = self.encoder.is_none();
        let mut failed = false;
        for event in self.decoded.drain(..) {
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
                StreamEvent::Finish { .. } => self.ended = true,
                StreamEvent::Error(error) => {
                    self.ended = true;
                    if !self.started {
                        self.early_error = Some(error.clone());
                    }
                    if passthrough {
                        failed = true;
                        self.replaced_last_frame = true;
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
                | StreamEvent::BlockStop { .. }
                | StreamEvent::KeepAlive => {}
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
