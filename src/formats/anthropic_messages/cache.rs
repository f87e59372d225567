//! Prompt cache breakpoints the gateway places in a request it encoded for an Anthropic
//! upstream (an OpenAI-style client sends none, and Anthropic caches only what is marked).
//!
//! A breakpoint caches the prompt up to and including its block, in the order tools → system
//! → messages; a later request reads the longest cached prefix it shares, found by walking
//! back at most 20 blocks from each of its breakpoints. So the gateway marks, within
//! Anthropic's limit of four:
//!
//! 1. the last tool (tool definitions rarely change within a session);
//! 2. the last system block;
//! 3. the end of the previous request's prompt: the last user turn before the last assistant
//!    turn, which the previous request marked as its end (a hit even when this turn added
//!    more than 20 blocks);
//! 4. the end of this request's prompt, which the next turn will read.
//!
//! Blocks under the vendor's minimum cacheable length are processed uncached, without error,
//! so nothing here depends on the model.

use std::borrow::Cow;

use serde_json::{Value, json};

use super::wire::write::{CacheControl, MessageParam, Role, TextBlockParam, ToolUnion};

/// Anthropic's limit on `cache_control` blocks in one request.
pub const MAX_BREAKPOINTS: usize = 4;

/// Marks the breakpoints listed in the module documentation.
pub fn place(
    tools: &mut [ToolUnion<'_>],
    system: &mut [TextBlockParam<'_>],
    turns: &mut [MessageParam<'_>],
) {
    if let Some(tool) = tools.last_mut() {
        mark_tool(tool);
    }
    if let Some(block) = system.last_mut() {
        block.cache_control = Some(CacheControl);
    }
    let last_assistant = turns.iter().rposition(|turn| turn.role == Role::Assistant);
    let previous_end = last_assistant.and_then(|assistant| {
        turns
            .get(..assistant)?
            .iter()
            .rposition(|turn| turn.role == Role::User)
    });
    for index in previous_end.into_iter().chain(turns.len().checked_sub(1)) {
        if let Some(turn) = turns.get_mut(index) {
            turn.cache_breakpoint = true;
        }
    }
}

/// How many breakpoints `place` would leave in a request: never more than
/// [`MAX_BREAKPOINTS`].
pub fn count(
    tools: &[ToolUnion<'_>],
    system: &[TextBlockParam<'_>],
    turns: &[MessageParam<'_>],
) -> usize {
    let tools = tools.iter().filter(|tool| tool_marked(tool)).count();
    let system = system.iter().filter(|b| b.cache_control.is_some()).count();
    let turns = turns
        .iter()
        .filter(|turn| turn.cache_breakpoint && turn.breakpoint_block().is_some())
        .count();
    tools + system + turns
}

fn tool_marked(tool: &ToolUnion<'_>) -> bool {
    match tool {
        ToolUnion::Custom(tool) => tool.cache_control.is_some(),
        ToolUnion::Server(raw) => raw.get("cache_control").is_some(),
    }
}

fn mark_tool(tool: &mut ToolUnion<'_>) {
    match tool {
        ToolUnion::Custom(tool) => tool.cache_control = Some(CacheControl),
        ToolUnion::Server(raw) => {
            if raw.get("cache_control").is_some() || !raw.is_object() {
                return;
            }
            let mut owned = raw.as_ref().clone();
            if let Value::Object(fields) = &mut owned {
                fields.insert("cache_control".into(), json!({"type": "ephemeral"}));
            }
            *raw = Cow::Owned(owned);
        }
    }
}
