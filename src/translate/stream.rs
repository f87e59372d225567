//! Runs one upstream SSE body through the codecs, chunk by chunk.
//!
//! ```text
//! upstream bytes ─▶ SseDecoder ─▶ StreamDecode ─▶ Restore ─▶ StreamEncode ─▶ client bytes
//!                                      └──────────▶ Meter (usage, partial output)
//! ```
//!
//! In passthrough mode (client and upstream speak the same format) the upstream bytes are
//! forwarded untouched but for the model id (the client's, see `model_rewrite`); they are still
//! decoded, to meter the answer and to notice an upstream that ends without its terminal event,
//! which gets the client format's error frame appended.

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
    /// SSE events received from the upstream (the next Responses `sequence_number` in
    /// passthrough mode).
    frames_seen: u64,
    /// `Start` was decoded: the answer is under way and errors can only be in-band.
    started: bool,
    /// An error decoded before `Start`: the gateway can still answer with an HTTP status.
    early_error: Option<ApiError>,
    /// A terminal event (`Finish` or `Error`) was decoded.
    ended: bool,
    /// The upstream body has ended; events decoded now were made up by the decoder.
    at_eof: bool,
    /// Folds the (restored) answer when it has to be kept, e.g. a stored Responses turn.
    collector: Option<Accumulator>,
    /// The answer's id as the upstream's `Start` gave it.
    upstream_id: String,
    /// Passthrough only: names the client's model instead of the upstream's in forwarded bytes.
    rewrite: Option<ModelRewrite>,
    /// Passthrough only: upstream bytes received before `Start`.
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
            sse: SseDecoder::new(),
            decoder: upstream.stream_decoder(),
            restore,
            meter: Meter::default(),
            frames: Vec::new(),
            decoded: Vec::new(),
            restored: Vec::new(),
            frames_seen: 0,
            started: false,
            early_error: None,
            ended: false,
            at_eof: false,
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

    /// Translates one upstream chunk, appending client bytes to `out`.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        self.sse.push(chunk, &mut self.frames);
        self.drain_frames();
        // Decoded first, so a forwarded chunk's `Start` can set up the model rewrite for it.
        self.emit(out);
        if self.encoder.is_none() {
            self.forward(chunk, out);
        }
    }

    /// Passthrough: forwards a chunk. Bytes before `Start` are held (the answer is not yet
    /// committed, so this delays nothing) until the upstream's model id is known.
    fn forward(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        if !self.started && !self.ended {
            self.held.extend_from_slice(chunk);
            return;
        }
        let held = std::mem::take(&mut self.held);
        for piece in [held.as_slice(), chunk] {
            match &mut self.rewrite {
                Some(rewrite) => rewrite.push(piece, out),
                None => out.extend_from_slice(piece),
            }
        }
    }

    /// The upstream body ended; appends whatever completes the client's stream.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        self.sse.finish(&mut self.frames);
        self.drain_frames();
        self.emit(out);
        if self.encoder.is_none() {
            let held = std::mem::take(&mut self.held);
            out.extend_from_slice(&held);
        }
        if let Some(rewrite) = &mut self.rewrite {
            rewrite.finish(out);
        }
        self.at_eof = true;
        if !self.ended {
            self.decoder.finish(&mut self.decoded);
        }
        self.emit(out);
    }

    /// The upstream failed before the answer started (for example Anthropic's 200 followed by
    /// an `overloaded_error` event): nothing meaningful was produced, so the gateway may still
    /// answer with a proper HTTP error instead of the stream.
    pub fn early_error(&self) -> Option<&ApiError> {
        if self.started {
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

    fn drain_frames(&mut self) {
        for frame in self.frames.drain(..) {
            self.frames_seen += 1;
            if !self.ended {
                self.decoder.push(&frame, &mut self.decoded);
            }
        }
    }

    fn emit(&mut self, out: &mut Vec<u8>) {
        for event in self.decoded.drain(..) {
            if self.ended {
                break;
            }
            self.meter.observe(&event);
            match &event {
                StreamEvent::Start { id, model, .. } => {
                    self.started = true;
                    self.upstream_id.clone_from(id);
                    if self.encoder.is_none() {
                        self.rewrite = ModelRewrite::new(model, &self.context.model);
                    }
                }
                StreamEvent::Finish { .. } => self.ended = true,
                StreamEvent::Error(error) => {
                    self.ended = true;
                    if !self.started {
                        self.early_error = Some(error.clone());
                    }
                }
                _ => {}
            }
            let passthrough_error = match (&event, self.encoder.is_none()) {
                (StreamEvent::Error(error), true) if self.at_eof => Some(error.clone()),
                _ => None,
            };
            self.restore.event(event, &mut self.restored);
            for restored in self.restored.drain(..) {
                if let Some(collector) = &mut self.collector {
                    collector.push(&restored);
                }
                if let Some(encoder) = &mut self.encoder {
                    encoder.push(&restored, out);
                }
            }
            // In passthrough the upstream's own error event was forwarded verbatim; only an
            // error the decoder made up at EOF needs a frame of ours.
            if let Some(error) = passthrough_error {
                out.extend(self.client.stream_error_frame(
                    &error,
                    &self.context,
                    self.frames_seen,
                    &self.upstream_id,
                ));
            }
        }
    }
}
