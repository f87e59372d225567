//! Responses conversations kept by the gateway: `previous_response_id` resolved before the
//! request is decoded, turns saved after the answer (when `store` is not `false`), and
//! `GET`/`DELETE /v1/responses/{id}`.
//!
//! Turns are kept for every upstream, so a conversation can move between models. Turns live in
//! a Durable Object per key, so a key only ever reaches its own. A `previous_response_id` the
//! gateway does not know is refused with 400 (`previous_response_not_found`) and never passed
//! on: upstream turns are not stored (`store: false`), and an id another key learned must not
//! reach the conversation behind it.

use serde_json::{Value, json};
use worker::{Env, Request, Response, Result};

use super::auth;
use super::http;
use super::response_store::{StoreClient, Turn};
use super::usage;
use crate::error::{ApiError, ErrorKind};
use crate::format::WireFormat;

/// What a Responses request says about its conversation.
#[derive(Debug, Default)]
pub struct Conversation {
    /// The turn this request continues, when the gateway resolved it.
    pub previous_id: Option<String>,
    /// This request's own input items (what the turn adds to the conversation).
    pub own_input: Value,
    /// Whether to keep this turn (`store` is not `false`).
    pub store: bool,
    /// The body was rewritten with the conversation's history: it must be re-encoded even for
    /// an OpenAI Responses upstream (stored items may carry another vendor's state).
    pub expanded: bool,
}

/// Input as an item list (`"text"` → one user message).
fn input_items(input: Option<&Value>) -> Value {
    match input {
        Some(Value::String(text)) => json!([{
            "type": "message",
            "role": "user",
            "content": [{"type": "input_text", "text": text}],
        }]),
        Some(Value::Array(items)) => Value::Array(items.clone()),
        _ => Value::Array(Vec::new()),
    }
}

/// Resolves `previous_response_id` into `json` (in place), returning what to remember.
pub async fn resolve(
    env: &Env,
    key_id: &str,
    json: &mut Value,
) -> std::result::Result<Conversation, ApiError> {
    let Some(object) = json.as_object_mut() else {
        return Ok(Conversation::default());
    };
    let own_input = input_items(object.get("input"));
    let store = object.get("store").and_then(Value::as_bool) != Some(false);
    let previous = object
        .get("previous_response_id")
        .and_then(Value::as_str)
        .map(str::to_owned);
    let mut conversation = Conversation {
        previous_id: None,
        own_input: own_input.clone(),
        store,
        expanded: false,
    };
    let Some(previous) = previous else {
        return Ok(conversation);
    };
    let store_client = StoreClient::for_key(env, key_id).map_err(auth::internal)?;
    match store_client.chain(&previous).await.map_err(auth::internal)? {
        Some(mut history) => {
            if let Value::Array(own) = own_input {
                history.extend(own);
            }
            object.insert("input".into(), Value::Array(history));
            object.remove("previous_response_id");
            conversation.previous_id = Some(previous);
            conversation.expanded = true;
            Ok(conversation)
        }
        None => Err(ApiError::invalid(format!(
            "Previous response with id '{previous}' not found (it may have expired, or was created with store: false)."
        ))
        .with_param("previous_response_id")
        .with_code("previous_response_not_found")),
    }
}

/// Saves the turn now.
pub async fn store_turn(
    env: &Env,
    key_id: &str,
    conversation: &Conversation,
    response: Value,
    ttl_ms: u64,
) -> Result<()> {
    let Some(id) = response
        .get("id")
        .and_then(Value::as_str)
        .map(str::to_owned)
    else {
        return Ok(());
    };
    let turn = Turn {
        id,
        previous_id: conversation.previous_id.clone(),
        input: conversation.own_input.clone(),
        response,
        expires_ms: worker::Date::now().as_millis().saturating_add(ttl_ms),
    };
    StoreClient::for_key(env, key_id)?.put(&turn).await
}

/// `GET /v1/responses/{id}` and `DELETE /v1/responses/{id}`.
pub async fn handle_stored(
    req: Request,
    env: &Env,
    format: WireFormat,
    id: &str,
    delete: bool,
    request_id: &str,
) -> Result<Response> {
    let (record, _, snapshot) = match auth::verified_caller(&req, env, format).await {
        Ok(caller) => caller,
        Err(error) => return http::error(format, &error, request_id),
    };
    let store = match StoreClient::for_key(env, &record.id) {
        Ok(store) => store,
        Err(e) => return http::error(format, &auth::internal(e), request_id),
    };
    let not_found = ApiError::new(
        ErrorKind::NotFound,
        format!("No response with id '{id}' is stored for this key."),
    );
    let response = if delete {
        match store.delete(id).await {
            Ok(true) => http::json(
                200,
                &json!({"id": id, "object": "response", "deleted": true}),
            ),
            Ok(false) => http::error(format, &not_found, request_id),
            Err(e) => http::error(format, &auth::internal(e), request_id),
        }
    } else {
        match store.get(id).await {
            Ok(Some(response)) => http::json(200, &response),
            Ok(None) => http::error(format, &not_found, request_id),
            Err(e) => http::error(format, &auth::internal(e), request_id),
        }
    }?;
    usage::with_limit_headers(response, snapshot.as_ref())
}
