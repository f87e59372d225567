//! Anthropic Messages wire types, named as the vendor names them (anthropic-sdk-typescript
//! `resources/messages/messages.ts`).
//!
//! - [`read`]: what the gateway parses: client requests, upstream answers and upstream stream
//!   events. Owned, lenient where the vendor adds fields over time; content blocks of requests
//!   are parsed one by one (see `request_decode`) so an unknown block type can be dropped by name
//!   and a bad field named with its full path.
//! - [`write`]: what the gateway writes: upstream requests, client answers and client stream
//!   events. Borrowed from the canonical values, so each string is copied once, into the output.

pub mod read {
    use std::borrow::Cow;

    use serde::Deserialize;
    use serde_json::Value;

    /// `MessageCreateParams`. Fields whose shape varies (`system`, `tools[]`, message content)
    /// stay [`Value`] and are parsed by hand with their path.
    #[derive(Debug, Deserialize)]
    pub struct MessageCreateParams {
        pub model: String,
        pub max_tokens: u64,
        pub messages: Vec<MessageParam>,
        #[serde(default)]
        pub system: Option<Value>,
        #[serde(default)]
        pub temperature: Option<f64>,
        #[serde(default)]
        pub top_p: Option<f64>,
        #[serde(default)]
        pub top_k: Option<u64>,
        #[serde(default)]
        pub stop_sequences: Option<Vec<String>>,
        #[serde(default)]
        pub stream: Option<bool>,
        #[serde(default)]
        pub metadata: Option<Metadata>,
        #[serde(default)]
        pub tools: Option<Vec<Value>>,
        #[serde(default)]
        pub tool_choice: Option<ToolChoice>,
        #[serde(default)]
        pub thinking: Option<ThinkingConfigParam>,
        #[serde(default)]
        pub output_config: Option<OutputConfig>,
    }

    #[derive(Debug, Deserialize)]
    pub struct Metadata {
        #[serde(default)]
        pub user_id: Option<String>,
    }

    #[derive(Debug, Clone, Copy, Deserialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Role {
        User,
        Assistant,
        /// Mid-conversation system messages (a Claude Code beta).
        System,
    }

    #[derive(Debug, Deserialize)]
    pub struct MessageParam {
        pub role: Role,
        /// A string or an array of content blocks.
        pub content: Value,
    }

    #[derive(Debug, Deserialize)]
    pub struct TextBlockParam {
        pub text: String,
    }

    #[derive(Debug, Deserialize)]
    pub struct ImageBlockParam {
        pub source: ImageSource,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ImageSource {
        Base64 {
            media_type: String,
            data: String,
        },
        Url {
            url: String,
        },
        File {
            file_id: String,
        },
        #[serde(other)]
        Unknown,
    }

    #[derive(Debug, Deserialize)]
    pub struct DocumentBlockParam {
        pub source: DocumentSource,
        #[serde(default)]
        pub title: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum DocumentSource {
        /// `Base64PDFSource`.
        Base64 {
            media_type: String,
            data: String,
        },
        /// `URLPDFSource`.
        Url {
            url: String,
        },
        /// `PlainTextSource`.
        Text {
            data: String,
        },
        /// `ContentBlockSource`: a string or text/image blocks.
        Content {
            content: Value,
        },
        File {
            file_id: String,
        },
        #[serde(other)]
        Unknown,
    }

    #[derive(Debug, Deserialize)]
    pub struct ToolUseBlockParam {
        pub id: String,
        pub name: String,
        #[serde(default)]
        pub input: Value,
    }

    #[derive(Debug, Deserialize)]
    pub struct ToolResultBlockParam {
        pub tool_use_id: String,
        /// A string or an array of text/image/document blocks.
        #[serde(default)]
        pub content: Option<Value>,
        #[serde(default)]
        pub is_error: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    pub struct ThinkingBlockParam {
        pub thinking: String,
        #[serde(default)]
        pub signature: String,
    }

    #[derive(Debug, Deserialize)]
    pub struct RedactedThinkingBlockParam {
        pub data: String,
    }

    /// A custom (client-run) tool: `type` absent or `"custom"`.
    #[derive(Debug, Deserialize)]
    pub struct Tool {
        pub name: String,
        #[serde(default)]
        pub description: Option<String>,
        #[serde(default)]
        pub input_schema: Option<Value>,
        #[serde(default)]
        pub strict: Option<bool>,
    }

    /// The settings of a `web_search_*` or `web_fetch_*` tool the gateway reads (the others
    /// reach Anthropic in the client's object).
    #[derive(Debug, Deserialize)]
    pub struct ServerToolParams {
        #[serde(default)]
        pub max_uses: Option<u64>,
        #[serde(default)]
        pub allowed_domains: Option<Vec<String>>,
        #[serde(default)]
        pub blocked_domains: Option<Vec<String>>,
        #[serde(default)]
        pub user_location: Option<UserLocation>,
    }

    /// `{"type": "approximate", "city", "region", "country", "timezone"}`.
    #[derive(Debug, Deserialize)]
    pub struct UserLocation {
        #[serde(default)]
        pub city: Option<String>,
        #[serde(default)]
        pub region: Option<String>,
        #[serde(default)]
        pub country: Option<String>,
        #[serde(default)]
        pub timezone: Option<String>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ToolChoice {
        Auto {
            #[serde(default)]
            disable_parallel_tool_use: Option<bool>,
        },
        Any {
            #[serde(default)]
            disable_parallel_tool_use: Option<bool>,
        },
        Tool {
            name: String,
            #[serde(default)]
            disable_parallel_tool_use: Option<bool>,
        },
        None {},
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ThinkingConfigParam {
        Enabled {
            budget_tokens: u64,
            #[serde(default)]
            display: Option<String>,
        },
        Disabled {},
        Adaptive {
            #[serde(default)]
            display: Option<String>,
        },
    }

    #[derive(Debug, Deserialize)]
    pub struct OutputConfig {
        #[serde(default)]
        pub effort: Option<String>,
        #[serde(default)]
        pub format: Option<JsonOutputFormat>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum JsonOutputFormat {
        JsonSchema { schema: Value },
    }

    /// `Message`, the non-stream answer (and the `message` of `message_start`).
    #[derive(Debug, Deserialize)]
    pub struct Message {
        #[serde(default)]
        pub id: String,
        #[serde(default)]
        pub model: String,
        #[serde(default)]
        pub content: Vec<ContentBlock>,
        #[serde(default)]
        pub stop_reason: Option<String>,
        #[serde(default)]
        pub stop_sequence: Option<String>,
        #[serde(default)]
        pub usage: Usage,
    }

    /// Output content blocks. Web search and fetch blocks are read (see `server_tools`);
    /// other server tools' blocks (code execution, ...) and future types land in `Other` and
    /// are dropped.
    #[derive(Debug, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ContentBlock {
        Text {
            #[serde(default)]
            text: String,
            #[serde(default)]
            citations: Option<Vec<TextCitation>>,
        },
        Thinking {
            #[serde(default)]
            thinking: String,
            #[serde(default)]
            signature: String,
        },
        RedactedThinking {
            #[serde(default)]
            data: String,
        },
        ToolUse {
            id: String,
            name: String,
            #[serde(default)]
            input: Value,
        },
        /// A call of a tool Anthropic runs (`web_search`, `web_fetch`, `code_execution`, ...).
        ServerToolUse {
            id: String,
            name: String,
            #[serde(default)]
            input: Value,
        },
        /// `content`: an array of `web_search_result`s, or a `web_search_tool_result_error`.
        WebSearchToolResult {
            tool_use_id: String,
            #[serde(default)]
            content: Value,
        },
        /// `content`: a `web_fetch_result`, or a `web_fetch_tool_result_error`.
        WebFetchToolResult {
            tool_use_id: String,
            #[serde(default)]
            content: Value,
        },
        #[serde(other)]
        Other,
    }

    /// A text block's citation. Only web search locations point at a URL; document and
    /// fetched-page locations (`char_location`, ...) land in `Other`.
    #[derive(Debug, Clone, Deserialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum TextCitation {
        WebSearchResultLocation {
            url: String,
            #[serde(default)]
            title: Option<String>,
            #[serde(default)]
            cited_text: Option<String>,
            #[serde(default)]
            encrypted_index: Option<String>,
        },
        #[serde(other)]
        Other,
    }

    /// `Usage` and `MessageDeltaUsage`: every figure optional, since `message_delta` may or may
    /// not repeat the input figures.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
    pub struct Usage {
        #[serde(default)]
        pub input_tokens: Option<u64>,
        #[serde(default)]
        pub cache_creation_input_tokens: Option<u64>,
        #[serde(default)]
        pub cache_read_input_tokens: Option<u64>,
        #[serde(default)]
        pub output_tokens: Option<u64>,
        #[serde(default)]
        pub output_tokens_details: Option<OutputTokensDetails>,
        /// `cache_creation_input_tokens` split by how long the entries live.
        #[serde(default)]
        pub cache_creation: Option<CacheCreation>,
        /// Server tools the vendor ran (billed per call).
        #[serde(default)]
        pub server_tool_use: Option<ServerToolUse>,
    }

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
    pub struct OutputTokensDetails {
        #[serde(default)]
        pub thinking_tokens: Option<u64>,
    }

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
    pub struct CacheCreation {
        #[serde(default)]
        pub ephemeral_5m_input_tokens: Option<u64>,
        #[serde(default)]
        pub ephemeral_1h_input_tokens: Option<u64>,
    }

    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
    pub struct ServerToolUse {
        #[serde(default)]
        pub web_search_requests: Option<u64>,
        #[serde(default)]
        pub web_fetch_requests: Option<u64>,
    }

    /// `RawMessageStreamEvent`, dispatched on `type` (the SSE event name is not trusted).
    /// Built by [`MessageStreamEvent::parse`]; an event lacking what its type needs is
    /// `Unknown`.
    #[derive(Debug)]
    pub enum MessageStreamEvent {
        MessageStart {
            message: Message,
        },
        MessageDelta {
            delta: MessageDelta,
            usage: Usage,
        },
        MessageStop,
        ContentBlockStart {
            index: u64,
            content_block: ContentBlock,
        },
        ContentBlockDelta {
            index: u64,
            delta: ContentBlockDelta,
        },
        ContentBlockStop {
            index: u64,
        },
        Ping,
        /// The body is handed whole to `error::from_upstream`.
        Error,
        Unknown,
    }

    /// Every stream event's fields at once. Read in one pass: an internally tagged enum would
    /// buffer each event (and copy its text) before reading it, and this runs per event.
    #[derive(Debug, Default, Deserialize)]
    pub struct RawEvent<'a> {
        #[serde(rename = "type", borrow, default)]
        pub kind: Cow<'a, str>,
        #[serde(default)]
        pub index: Option<u64>,
        #[serde(default)]
        pub message: Option<Message>,
        #[serde(default)]
        pub content_block: Option<ContentBlock>,
        #[serde(borrow, default)]
        pub delta: Option<RawDelta<'a>>,
        #[serde(default)]
        pub usage: Option<Usage>,
    }

    /// `content_block_delta.delta` and `message_delta.delta`, flat.
    #[derive(Debug, Default, Deserialize)]
    pub struct RawDelta<'a> {
        #[serde(rename = "type", borrow, default)]
        pub kind: Cow<'a, str>,
        #[serde(default)]
        pub text: Option<String>,
        #[serde(default)]
        pub partial_json: Option<String>,
        #[serde(default)]
        pub thinking: Option<String>,
        #[serde(default)]
        pub signature: Option<String>,
        #[serde(default)]
        pub stop_reason: Option<String>,
        #[serde(default)]
        pub stop_sequence: Option<String>,
        #[serde(default)]
        pub citation: Option<TextCitation>,
    }

    impl MessageStreamEvent {
        /// Parses one event's `data`. Only malformed JSON is an error.
        pub fn parse(data: &str) -> Result<MessageStreamEvent, serde_json::Error> {
            let raw: RawEvent<'_> = serde_json::from_str(data)?;
            Ok(MessageStreamEvent::from_raw(raw))
        }

        /// The event `raw` holds (however it was read).
        pub fn from_raw(raw: RawEvent<'_>) -> MessageStreamEvent {
            match (raw.kind.as_ref(), raw.index) {
                ("message_start", _) => match raw.message {
                    Some(message) => MessageStreamEvent::MessageStart { message },
                    None => MessageStreamEvent::Unknown,
                },
                ("message_delta", _) => {
                    let delta =
                        raw.delta
                            .map_or_else(MessageDelta::default, |delta| MessageDelta {
                                stop_reason: delta.stop_reason,
                                stop_sequence: delta.stop_sequence,
                            });
                    MessageStreamEvent::MessageDelta {
                        delta,
                        usage: raw.usage.unwrap_or_default(),
                    }
                }
                ("message_stop", _) => MessageStreamEvent::MessageStop,
                ("content_block_start", Some(index)) => match raw.content_block {
                    Some(content_block) => MessageStreamEvent::ContentBlockStart {
                        index,
                        content_block,
                    },
                    None => MessageStreamEvent::Unknown,
                },
                ("content_block_delta", Some(index)) => match raw.delta {
                    Some(delta) => MessageStreamEvent::ContentBlockDelta {
                        index,
                        delta: delta.into_content_block_delta(),
                    },
                    None => MessageStreamEvent::Unknown,
                },
                ("content_block_stop", Some(index)) => {
                    MessageStreamEvent::ContentBlockStop { index }
                }
                ("ping", _) => MessageStreamEvent::Ping,
                ("error", _) => MessageStreamEvent::Error,
                _ => MessageStreamEvent::Unknown,
            }
        }
    }

    impl RawDelta<'_> {
        fn into_content_block_delta(self) -> ContentBlockDelta {
            let RawDelta {
                kind,
                text,
                partial_json,
                thinking,
                signature,
                citation,
                ..
            } = self;
            if let ("citations_delta", Some(citation)) = (kind.as_ref(), citation) {
                return ContentBlockDelta::CitationsDelta { citation };
            }
            match (kind.as_ref(), text, partial_json, thinking, signature) {
                ("text_delta", Some(text), ..) => ContentBlockDelta::TextDelta { text },
                ("input_json_delta", _, Some(partial_json), ..) => {
                    ContentBlockDelta::InputJsonDelta { partial_json }
                }
                ("thinking_delta", _, _, Some(thinking), _) => {
                    ContentBlockDelta::ThinkingDelta { thinking }
                }
                ("signature_delta", _, _, _, Some(signature)) => {
                    ContentBlockDelta::SignatureDelta { signature }
                }
                _ => ContentBlockDelta::Other,
            }
        }
    }

    #[derive(Debug, Default, Deserialize)]
    pub struct MessageDelta {
        #[serde(default)]
        pub stop_reason: Option<String>,
        #[serde(default)]
        pub stop_sequence: Option<String>,
    }

    /// `RawContentBlockDelta`; future types land in `Other`.
    #[derive(Debug)]
    pub enum ContentBlockDelta {
        TextDelta { text: String },
        InputJsonDelta { partial_json: String },
        ThinkingDelta { thinking: String },
        SignatureDelta { signature: String },
        CitationsDelta { citation: TextCitation },
        Other,
    }
}

pub mod write {
    use std::borrow::Cow;

    use serde::Serialize;
    use serde_json::Value;

    /// `MessageCreateParams` as sent to an Anthropic upstream.
    #[derive(Debug, Serialize)]
    pub struct MessageCreateParams<'a> {
        pub model: &'a str,
        pub max_tokens: u64,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub system: Vec<TextBlockParam<'a>>,
        pub messages: Vec<MessageParam<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub temperature: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub top_p: Option<f64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub top_k: Option<u64>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub stop_sequences: Vec<&'a str>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        pub tools: Vec<ToolUnion<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub tool_choice: Option<ToolChoice<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub thinking: Option<ThinkingConfigParam>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub output_config: Option<OutputConfig<'a>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub metadata: Option<Metadata<'a>>,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        pub stream: bool,
    }

    #[derive(Debug, Clone, Serialize)]
    #[serde(tag = "type", rename = "text")]
    pub struct TextBlockParam<'a> {
        pub text: Cow<'a, str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cache_control: Option<CacheControl>,
    }

    /// A prompt cache breakpoint: the prefix up to and including the block is cached (for
    /// Anthropic's default five minutes).
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub struct CacheControl;

    impl Serialize for CacheControl {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut control = serializer.serialize_struct("CacheControl", 1)?;
            control.serialize_field("type", "ephemeral")?;
            control.end()
        }
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(rename_all = "lowercase")]
    pub enum Role {
        User,
        Assistant,
    }

    #[derive(Debug)]
    pub struct MessageParam<'a> {
        pub role: Role,
        pub content: Vec<ContentBlockParam<'a>>,
        /// A cache breakpoint on the turn's last block that can carry one (not thinking).
        pub cache_breakpoint: bool,
    }

    impl MessageParam<'_> {
        /// The block a breakpoint on this turn goes on: the last one that is not thinking
        /// (Anthropic refuses `cache_control` on thinking blocks).
        pub fn breakpoint_block(&self) -> Option<usize> {
            self.content.iter().rposition(|block| {
                !matches!(
                    block,
                    ContentBlockParam::Thinking { .. } | ContentBlockParam::RedactedThinking { .. }
                )
            })
        }
    }

    impl Serialize for MessageParam<'_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeStruct;
            let mut message = serializer.serialize_struct("MessageParam", 2)?;
            message.serialize_field("role", &self.role)?;
            let marked = if self.cache_breakpoint {
                self.breakpoint_block()
            } else {
                None
            };
            message.serialize_field(
                "content",
                &MarkedContent {
                    blocks: &self.content,
                    marked,
                },
            )?;
            message.end()
        }
    }

    /// A turn's blocks, one of them with a cache breakpoint.
    struct MarkedContent<'b, 'a> {
        blocks: &'b [ContentBlockParam<'a>],
        marked: Option<usize>,
    }

    impl Serialize for MarkedContent<'_, '_> {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq;
            let mut seq = serializer.serialize_seq(Some(self.blocks.len()))?;
            for (i, block) in self.blocks.iter().enumerate() {
                if Some(i) == self.marked {
                    seq.serialize_element(&Marked {
                        block,
                        cache_control: CacheControl,
                    })?;
                } else {
                    seq.serialize_element(block)?;
                }
            }
            seq.end()
        }
    }

    /// A block with `cache_control` beside its own fields.
    #[derive(Serialize)]
    struct Marked<'b, 'a> {
        #[serde(flatten)]
        block: &'b ContentBlockParam<'a>,
        cache_control: CacheControl,
    }

    #[derive(Debug, Clone, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ContentBlockParam<'a> {
        Text {
            text: Cow<'a, str>,
        },
        Image {
            source: ImageSource<'a>,
        },
        Document {
            source: DocumentSource<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            title: Option<&'a str>,
        },
        ToolUse {
            id: &'a str,
            name: &'a str,
            input: Value,
        },
        ToolResult {
            tool_use_id: &'a str,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            content: Vec<ContentBlockParam<'a>>,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            is_error: bool,
        },
        Thinking {
            thinking: &'a str,
            signature: &'a str,
        },
        RedactedThinking {
            data: &'a str,
        },
        /// A past server tool block (`server_tool_use`, `web_search_tool_result`, ...) replayed
        /// to Anthropic as the client sent it.
        #[serde(untagged)]
        Replayed(&'a Value),
    }

    #[derive(Debug, Clone, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ImageSource<'a> {
        Base64 { media_type: &'a str, data: &'a str },
        Url { url: &'a str },
        File { file_id: &'a str },
    }

    #[derive(Debug, Clone, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum DocumentSource<'a> {
        Base64 {
            media_type: &'a str,
            data: &'a str,
        },
        Url {
            url: &'a str,
        },
        Text {
            media_type: &'static str,
            data: String,
        },
        File {
            file_id: &'a str,
        },
    }

    /// A custom tool, or a server tool sent as the client wrote it.
    #[derive(Debug, Serialize)]
    #[serde(untagged)]
    pub enum ToolUnion<'a> {
        Custom(Tool<'a>),
        Server(Cow<'a, Value>),
    }

    #[derive(Debug, Serialize)]
    pub struct Tool<'a> {
        pub name: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub description: Option<&'a str>,
        pub input_schema: Cow<'a, Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub strict: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub cache_control: Option<CacheControl>,
    }

    #[derive(Debug, PartialEq, Eq, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ToolChoice<'a> {
        Auto {
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            disable_parallel_tool_use: bool,
        },
        Any {
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            disable_parallel_tool_use: bool,
        },
        Tool {
            name: &'a str,
            #[serde(skip_serializing_if = "std::ops::Not::not")]
            disable_parallel_tool_use: bool,
        },
        None,
    }

    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ThinkingConfigParam {
        Enabled { budget_tokens: u64 },
        Adaptive,
    }

    #[derive(Debug, Serialize)]
    pub struct OutputConfig<'a> {
        #[serde(skip_serializing_if = "Option::is_none")]
        pub effort: Option<&'static str>,
        #[serde(skip_serializing_if = "Option::is_none")]
        pub format: Option<JsonOutputFormat<'a>>,
    }

    #[derive(Debug, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum JsonOutputFormat<'a> {
        JsonSchema { schema: &'a Value },
    }

    #[derive(Debug, Serialize)]
    pub struct Metadata<'a> {
        pub user_id: &'a str,
    }

    /// `Message`, the non-stream answer and the `message` of `message_start` (whose
    /// `stop_reason` is null).
    #[derive(Debug, Serialize)]
    #[serde(tag = "type", rename = "message")]
    pub struct Message<'a> {
        pub id: &'a str,
        pub role: &'static str,
        pub model: &'a str,
        pub content: Vec<ContentBlock<'a>>,
        pub stop_reason: Option<&'static str>,
        pub stop_sequence: Option<&'a str>,
        pub usage: Usage,
    }

    #[derive(Debug, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ContentBlock<'a> {
        Text {
            text: &'a str,
            #[serde(skip_serializing_if = "Vec::is_empty")]
            citations: Vec<TextCitation<'a>>,
        },
        Thinking {
            thinking: &'a str,
            signature: Cow<'a, str>,
        },
        RedactedThinking {
            data: &'a str,
        },
        ToolUse {
            id: Cow<'a, str>,
            name: &'a str,
            input: Value,
        },
        ServerToolUse {
            id: String,
            name: &'static str,
            input: Value,
        },
        WebSearchToolResult {
            tool_use_id: String,
            content: WebSearchContent<'a>,
        },
        WebFetchToolResult {
            tool_use_id: String,
            content: Value,
        },
    }

    /// A web search's results, or its error.
    #[derive(Debug, Serialize)]
    #[serde(untagged)]
    pub enum WebSearchContent<'a> {
        Results(Vec<WebSearchResult<'a>>),
        Error(ToolResultError<'a>),
    }

    #[derive(Debug, Serialize)]
    #[serde(tag = "type", rename = "web_search_result")]
    pub struct WebSearchResult<'a> {
        pub url: &'a str,
        pub title: &'a str,
        pub encrypted_content: String,
        pub page_age: Option<&'a str>,
    }

    /// `{"type": "web_search_tool_result_error", "error_code": …}` (and the fetch one).
    #[derive(Debug, Serialize)]
    pub struct ToolResultError<'a> {
        #[serde(rename = "type")]
        pub kind: &'static str,
        pub error_code: &'a str,
    }

    /// A text block's citation as clients read it.
    #[derive(Debug, Serialize)]
    #[serde(tag = "type", rename = "web_search_result_location")]
    pub struct TextCitation<'a> {
        pub url: &'a str,
        pub title: Option<&'a str>,
        pub encrypted_index: String,
        pub cited_text: &'a str,
    }

    /// `Usage` as Anthropic reports it: `input_tokens` excludes cache reads and writes.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub struct Usage {
        pub input_tokens: u64,
        pub cache_creation_input_tokens: u64,
        pub cache_read_input_tokens: u64,
        pub output_tokens: u64,
        /// Present when the answer ran server tools.
        #[serde(skip_serializing_if = "Option::is_none")]
        pub server_tool_use: Option<ServerToolUse>,
    }

    /// `usage.server_tool_use`.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
    pub struct ServerToolUse {
        pub web_search_requests: u64,
        pub web_fetch_requests: u64,
    }

    /// `RawMessageStreamEvent`; the SSE event name is the `type`.
    #[derive(Debug, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum MessageStreamEvent<'a> {
        MessageStart {
            message: Message<'a>,
        },
        ContentBlockStart {
            index: usize,
            content_block: ContentBlock<'a>,
        },
        ContentBlockDelta {
            index: usize,
            delta: ContentBlockDelta<'a>,
        },
        ContentBlockStop {
            index: usize,
        },
        MessageDelta {
            delta: MessageDelta<'a>,
            usage: Usage,
        },
        MessageStop,
        Ping,
        Error {
            error: ErrorObject<'a>,
        },
    }

    impl MessageStreamEvent<'_> {
        /// The SSE `event:` name, equal to `type`.
        pub fn name(&self) -> &'static str {
            match self {
                MessageStreamEvent::MessageStart { .. } => "message_start",
                MessageStreamEvent::ContentBlockStart { .. } => "content_block_start",
                MessageStreamEvent::ContentBlockDelta { .. } => "content_block_delta",
                MessageStreamEvent::ContentBlockStop { .. } => "content_block_stop",
                MessageStreamEvent::MessageDelta { .. } => "message_delta",
                MessageStreamEvent::MessageStop => "message_stop",
                MessageStreamEvent::Ping => "ping",
                MessageStreamEvent::Error { .. } => "error",
            }
        }
    }

    #[derive(Debug, Serialize)]
    #[serde(tag = "type", rename_all = "snake_case")]
    pub enum ContentBlockDelta<'a> {
        TextDelta { text: &'a str },
        InputJsonDelta { partial_json: &'a str },
        ThinkingDelta { thinking: &'a str },
        SignatureDelta { signature: &'a str },
        CitationsDelta { citation: TextCitation<'a> },
    }

    #[derive(Debug, Serialize)]
    pub struct MessageDelta<'a> {
        pub stop_reason: &'static str,
        pub stop_sequence: Option<&'a str>,
    }

    #[derive(Debug, Serialize)]
    pub struct ErrorObject<'a> {
        #[serde(rename = "type")]
        pub kind: &'static str,
        pub message: &'a str,
    }
}
