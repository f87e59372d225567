//! What a client asks for, independent of the wire format it spoke.
//!
//! Normalisation rules every decoder follows, so encoders can rely on them:
//! - The leading system prompt lives in [`ChatRequest::system`]; a system or developer message
//!   that appears after the first user or assistant turn stays in place as a [`Role::System`]
//!   message (Claude Code and Codex both send these).
//! - Tool results are [`Part::ToolResult`] parts inside a [`Role::User`] message (Anthropic's
//!   shape). The Chat decoder turns consecutive `tool` messages into one such user message; the
//!   Responses decoder does the same for `function_call_output` items.
//! - Tool calls are [`Part::ToolCall`] parts inside an [`Role::Assistant`] message, after the
//!   assistant's text and reasoning for that turn.
//! - Tool names and call ids are the client's own. Rewriting them for an upstream's limits is the
//!   job of `translate::adapt`, not of the codecs.

use serde_json::{Map, Value};

use super::reasoning::{Opaque, Thinking, Vendor};
use super::server_tools::{ServerTool, ServerToolRecord};

/// A conversation request in canonical form.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ChatRequest {
    /// The model id as the client sent it (a public id from the config).
    pub model: String,
    /// System prompt blocks in order (Anthropic `system`, leading OpenAI system/developer
    /// messages, Responses `instructions`).
    pub system: Vec<String>,
    pub messages: Vec<Message>,
    /// Upper bound on generated tokens, reasoning included. `None` when the client left it out.
    pub max_output_tokens: Option<u64>,
    pub temperature: Option<f64>,
    pub top_p: Option<f64>,
    /// Anthropic only; other formats drop it with a warning.
    pub top_k: Option<u64>,
    pub stop_sequences: Vec<String>,
    pub stream: bool,
    pub tools: Vec<Tool>,
    pub tool_choice: Option<ToolChoice>,
    /// `Some(false)` means "at most one tool call per turn".
    pub parallel_tool_calls: Option<bool>,
    pub thinking: Option<Thinking>,
    /// Whether the client wants reasoning text back (Responses `reasoning.summary`, Anthropic
    /// thinking `display` other than `omitted`, Chat clients reading `reasoning_content`).
    pub reasoning_summary: bool,
    pub response_format: Option<ResponseFormat>,
    /// An opaque end-user id (OpenAI `user`/`safety_identifier`, Anthropic `metadata.user_id`).
    pub user: Option<String>,
    /// The key an upstream's prompt cache routes this conversation by (OpenAI
    /// `prompt_cache_key`): the client's own, or one the gateway derives for the conversation
    /// (see `translate::session`). Formats without such a field ignore it.
    pub prompt_cache_key: Option<String>,
    /// A client's attribution block, sent as the first system block and meaningful only to
    /// that client's own vendor (Claude Code's `x-anthropic-billing-header: cc_version=…`).
    /// Decoders keep it out of [`ChatRequest::system`]: elsewhere it would only change the
    /// prompt's prefix (and with it the cache) from one request to the next. Only the encoder
    /// of the format it came in puts it back.
    pub attribution: Option<String>,
    /// Options that only the client-side encoder needs.
    pub client: ClientOptions,
}

/// Request options that shape the answer to the client but never reach the upstream.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ClientOptions {
    /// Chat: `stream_options.include_usage`; the usage chunk is sent only when asked for.
    pub include_usage: bool,
    /// Responses: request fields echoed back in the response object (`instructions`, `tools`,
    /// `tool_choice`, `temperature`, `top_p`, `max_output_tokens`, `reasoning`, `text`,
    /// `metadata`, `parallel_tool_calls`, `store`, `previous_response_id`, ...).
    pub echo: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// A system or developer message in the middle of the conversation.
    System,
    User,
    Assistant,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Message {
    pub role: Role,
    pub parts: Vec<Part>,
}

impl Message {
    /// The message's text parts joined with `separator` (empty when it has none).
    pub fn text(&self, separator: &str) -> String {
        let texts: Vec<&str> = self
            .parts
            .iter()
            .filter_map(|part| match part {
                Part::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect();
        texts.join(separator)
    }
}

/// One piece of message content.
#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Image(Media),
    /// A PDF (or other document) input.
    Document(Document),
    /// Only in assistant messages.
    ToolCall(ToolCall),
    /// Only in user messages, before any other part of that message.
    ToolResult(ToolResult),
    /// Only in assistant messages, before the text and tool calls of that turn.
    Reasoning(ReasoningPart),
    /// An assistant refusal (OpenAI `refusal`).
    Refusal(String),
    /// Only in assistant messages: a past server tool call or result (web search), which only
    /// the vendor that ran it takes back (see `canonical::server_tools`).
    ServerTool(ServerToolRecord),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Media {
    pub source: MediaSource,
    /// OpenAI image `detail` (`auto`, `low`, `high`, `original`).
    pub detail: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MediaSource {
    /// `media_type` such as `image/png` or `application/pdf`; `data` is standard base64.
    Base64 {
        media_type: String,
        data: String,
    },
    Url(String),
    /// A provider-side file id. It cannot cross vendors: encoders for another vendor answer 400.
    FileId(FileRef),
}

/// A file uploaded to one vendor, referenced by id.
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub id: String,
    /// Whose file store the id belongs to.
    pub vendor: Vendor,
    /// Where the client sent it (e.g. `input[0].content[1]`), for the error that refuses it on
    /// another vendor's model.
    pub path: String,
}

impl FileRef {
    pub fn new(id: impl Into<String>, vendor: Vendor, path: impl Into<String>) -> FileRef {
        FileRef {
            id: id.into(),
            vendor,
            path: path.into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    pub source: MediaSource,
    pub filename: Option<String>,
    pub title: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ToolKind {
    /// JSON arguments against a JSON schema.
    #[default]
    Function,
    /// Freeform text input (Responses `custom` tools, Codex `apply_patch`).
    Custom,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolCall {
    pub id: String,
    pub name: String,
    /// JSON text for [`ToolKind::Function`]; the raw input for [`ToolKind::Custom`].
    pub arguments: String,
    pub kind: ToolKind,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ToolResult {
    pub call_id: String,
    /// Text, image and document parts.
    pub content: Vec<Part>,
    pub is_error: bool,
    pub kind: ToolKind,
}

/// Model reasoning carried in history or output.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReasoningPart {
    /// Visible thinking or summary text; may be empty (signature-only blocks).
    pub text: String,
    /// The vendor's opaque state (Anthropic signature or redacted data, OpenAI
    /// `encrypted_content`), needed to replay the reasoning to the same vendor.
    pub opaque: Option<Opaque>,
    /// Anthropic `redacted_thinking`: `opaque` holds the data and `text` is empty.
    pub redacted: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tool {
    Function {
        name: String,
        description: Option<String>,
        /// JSON schema of the arguments; always an object schema after decoding.
        parameters: Value,
        strict: Option<bool>,
    },
    Custom {
        name: String,
        description: Option<String>,
        /// Responses custom tool `format` (text or grammar), kept for same-vendor upstreams.
        format: Option<Value>,
    },
    /// A tool the vendor runs inside the call (web search, web fetch), which every format
    /// with a server-side equivalent carries in its own shape.
    Server(ServerTool),
    /// Any other vendor built-in tool (code execution, file search, shell, ...). Encoders for
    /// another format drop it with a warning.
    Builtin {
        /// The tool's `type` as the client sent it.
        kind: String,
        /// The client's full tool object.
        raw: Value,
    },
}

impl Tool {
    pub fn name(&self) -> &str {
        match self {
            Tool::Function { name, .. } | Tool::Custom { name, .. } => name,
            Tool::Server(tool) => tool.kind.name(),
            Tool::Builtin { kind, .. } => kind,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChoice {
    None,
    Auto,
    /// At least one tool call (OpenAI `required`, Anthropic `any`).
    Required,
    /// Exactly this tool.
    Named(String),
}

#[derive(Debug, Clone, PartialEq)]
pub enum ResponseFormat {
    Text,
    JsonObject,
    JsonSchema {
        name: String,
        schema: Value,
        strict: Option<bool>,
        description: Option<String>,
    },
}

impl ChatRequest {
    /// The first file referenced by a vendor file id (tool results included), if any.
    pub fn first_file_ref(&self) -> Option<&FileRef> {
        fn in_parts(parts: &[Part]) -> Option<&FileRef> {
            parts.iter().find_map(|part| match part {
                Part::Image(Media {
                    source: MediaSource::FileId(file),
                    ..
                })
                | Part::Document(Document {
                    source: MediaSource::FileId(file),
                    ..
                }) => Some(file),
                Part::ToolResult(result) => in_parts(&result.content),
                Part::Text(_)
                | Part::Image(_)
                | Part::Document(_)
                | Part::ToolCall(_)
                | Part::Reasoning(_)
                | Part::Refusal(_)
                | Part::ServerTool(_) => None,
            })
        }
        self.messages.iter().find_map(|m| in_parts(&m.parts))
    }

    /// Characters of prompt content, for token estimates before the upstream has counted.
    pub fn prompt_chars(&self) -> usize {
        let system: usize = self.system.iter().map(String::len).sum();
        let messages: usize = self
            .messages
            .iter()
            .flat_map(|m| m.parts.iter())
            .map(Part::text_len)
            .sum();
        let tools: usize = self
            .tools
            .iter()
            .map(|t| match t {
                Tool::Function {
                    name,
                    description,
                    parameters,
                    ..
                } => {
                    name.len()
                        + description.as_deref().map_or(0, str::len)
                        + parameters.to_string().len()
                }
                Tool::Custom {
                    name, description, ..
                } => name.len() + description.as_deref().map_or(0, str::len),
                Tool::Server(tool) => tool.client_type.len(),
                Tool::Builtin { kind, .. } => kind.len(),
            })
            .sum();
        system + messages + tools
    }
}

impl Part {
    fn text_len(&self) -> usize {
        match self {
            Part::Text(t) | Part::Refusal(t) => t.len(),
            // An image costs roughly 1,600 tokens; count it as that many 4-byte tokens.
            Part::Image(_) => 6_400,
            Part::Document(d) => match &d.source {
                MediaSource::Base64 { data, .. } => data.len() / 2,
                _ => 6_400,
            },
            Part::ToolCall(c) => c.name.len() + c.arguments.len(),
            Part::ToolResult(r) => r.content.iter().map(Part::text_len).sum(),
            Part::Reasoning(r) => r.text.len(),
            // Replayed search results count as input; their size bounds them.
            Part::ServerTool(record) => record.raw.to_string().len(),
        }
    }
}
