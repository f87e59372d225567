//! Stored Responses turns, so `previous_response_id` and `GET /v1/responses/{id}` work on any
//! model, not only on OpenAI's own.
//!
//! One Durable Object per key holds that key's turns (SQLite). Each row is one turn: the input
//! items it added, the response object it produced, and the turn before it, so a conversation
//! is a chain and no row repeats history. Rows expire after `gateway.responses_ttl`.
//!
//! | call | path | body → answer |
//! |---|---|---|
//! | put | `POST /put` | [`Turn`] → `{}` |
//! | chain | `POST /chain` | `{"id"}` → `{"items": [...]}` (404 if unknown) |
//! | get | `POST /get` | `{"id"}` → the response object (404 if unknown) |
//! | delete | `POST /delete` | `{"id"}` → `{"deleted": bool}` |

use std::cell::Cell;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use wasm_bindgen::JsValue;
use worker::{
    DurableObject, Env, Method, Request, RequestInit, Response, Result, SqlStorage,
    SqlStorageValue, State, Stub, durable_object,
};

pub const DO_BINDING: &str = "RESPONSES";

/// How many turns back a chain is followed (a guard against cycles and runaway history).
const MAX_CHAIN: usize = 1_000;

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS turns (id TEXT PRIMARY KEY, previous_id TEXT, input TEXT NOT NULL, response TEXT NOT NULL, expires_ms INTEGER NOT NULL)";

/// One stored turn.
#[derive(Debug, Serialize, Deserialize)]
pub struct Turn {
    pub id: String,
    pub previous_id: Option<String>,
    /// The input items this turn added (JSON array).
    pub input: Value,
    /// The response object as the client received it.
    pub response: Value,
    pub expires_ms: u64,
}

#[derive(Serialize, Deserialize)]
struct IdBody {
    id: String,
}

#[durable_object(fetch)]
pub struct ResponseStore {
    sql: SqlStorage,
    /// Expired rows were purged at least once since this object started.
    purged: Cell<bool>,
}

impl DurableObject for ResponseStore {
    fn new(state: State, _env: Env) -> Self {
        let sql = state.storage().sql();
        if let Err(e) = sql.exec(SCHEMA, None) {
            worker::console_error!("response store schema: {e}");
        }
        ResponseStore {
            sql,
            purged: Cell::new(false),
        }
    }

    async fn fetch(&self, req: Request) -> Result<Response> {
        let path = req.path();
        let body = super::js_pump::read_request(&req).await?;
        let now_ms = worker::Date::now().as_millis();
        if !self.purged.get() || path == "/put" {
            self.sql.exec(
                "DELETE FROM turns WHERE expires_ms < ?",
                vec![SqlStorageValue::Float(now_ms as f64)],
            )?;
            self.purged.set(true);
        }
        match path.as_str() {
            "/put" => {
                let turn: Turn = parse(&body)?;
                self.sql.exec(
                    "INSERT OR REPLACE INTO turns (id, previous_id, input, response, expires_ms) VALUES (?, ?, ?, ?, ?)",
                    vec![
                        turn.id.as_str().into(),
                        turn.previous_id.as_deref().map_or(SqlStorageValue::Null, Into::into),
                        turn.input.to_string().into(),
                        turn.response.to_string().into(),
                        SqlStorageValue::Float(turn.expires_ms as f64),
                    ],
                )?;
                Response::from_json(&json!({}))
            }
            "/chain" => {
                let IdBody { id } = parse(&body)?;
                match self.chain(&id)? {
                    Some(items) => Response::from_json(&json!({ "items": items })),
                    None => Response::error("not found", 404),
                }
            }
            "/get" => {
                let IdBody { id } = parse(&body)?;
                match self.row(&id)? {
                    Some(row) => Response::from_json(&row.response),
                    None => Response::error("not found", 404),
                }
            }
            "/delete" => {
                let IdBody { id } = parse(&body)?;
                let cursor = self
                    .sql
                    .exec("DELETE FROM turns WHERE id = ?", vec![id.as_str().into()])?;
                Response::from_json(&json!({ "deleted": cursor.rows_written() > 0 }))
            }
            _ => Response::error("unknown response-store call", 404),
        }
    }
}

struct Row {
    previous_id: Option<String>,
    input: Value,
    response: Value,
}

fn parse<T: for<'de> Deserialize<'de>>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| worker::Error::RustError(e.to_string()))
}

impl ResponseStore {
    fn row(&self, id: &str) -> Result<Option<Row>> {
        #[derive(Deserialize)]
        struct Raw {
            previous_id: Option<String>,
            input: String,
            response: String,
        }
        let rows: Vec<Raw> = self
            .sql
            .exec(
                "SELECT previous_id, input, response FROM turns WHERE id = ?",
                vec![id.into()],
            )?
            .to_array()?;
        Ok(rows.into_iter().next().map(|raw| Row {
            previous_id: raw.previous_id,
            input: serde_json::from_str(&raw.input).unwrap_or(Value::Array(Vec::new())),
            response: serde_json::from_str(&raw.response).unwrap_or(Value::Null),
        }))
    }

    /// Every item of the conversation up to and including turn `id`, oldest first: each
    /// turn's input items followed by its output items. `None` if `id` is unknown.
    fn chain(&self, id: &str) -> Result<Option<Vec<Value>>> {
        let mut turns = Vec::new();
        let mut next = Some(id.to_owned());
        while let Some(current) = next.take() {
            if turns.len() >= MAX_CHAIN {
                break;
            }
            match self.row(&current)? {
                Some(row) => {
                    next = row.previous_id.clone();
                    turns.push(row);
                }
                None if turns.is_empty() => return Ok(None),
                None => break,
            }
        }
        let mut items = Vec::new();
        for turn in turns.into_iter().rev() {
            if let Value::Array(input) = turn.input {
                items.extend(input);
            }
            if let Some(Value::Array(output)) = turn.response.get("output") {
                items.extend(output.iter().map(output_as_input));
            }
        }
        Ok(Some(items))
    }
}

/// An output item as it is sent back as input (the Responses API accepts output items as
/// input; the `status` field of messages is dropped as some upstreams reject it on input).
fn output_as_input(item: &Value) -> Value {
    let mut item = item.clone();
    if let Some(object) = item.as_object_mut()
        && object.get("type").and_then(Value::as_str) == Some("message")
    {
        object.remove("status");
    }
    item
}

/// The Worker's handle on one key's store.
pub struct StoreClient {
    stub: Stub,
}

impl StoreClient {
    pub fn for_key(env: &Env, key_id: &str) -> Result<StoreClient> {
        Ok(StoreClient {
            stub: env.durable_object(DO_BINDING)?.get_by_name(key_id)?,
        })
    }

    async fn call(&self, path: &str, body: &impl Serialize) -> Result<Option<Value>> {
        let json =
            serde_json::to_string(body).map_err(|e| worker::Error::RustError(e.to_string()))?;
        let mut init = RequestInit::new();
        init.with_method(Method::Post)
            .with_body(Some(JsValue::from_str(&json)));
        let request = Request::new_with_init(&format!("https://responses/{path}"), &init)?;
        let mut response = self.stub.fetch_with_request(request).await?;
        match response.status_code() {
            200 => Ok(Some(response.json().await?)),
            404 => Ok(None),
            status => Err(worker::Error::RustError(format!(
                "response store {path} answered {status}"
            ))),
        }
    }

    pub async fn put(&self, turn: &Turn) -> Result<()> {
        self.call("put", turn).await.map(|_| ())
    }

    /// The conversation items up to turn `id`, or `None` if it is unknown or expired.
    pub async fn chain(&self, id: &str) -> Result<Option<Vec<Value>>> {
        let answer = self.call("chain", &IdBody { id: id.to_owned() }).await?;
        Ok(
            answer.and_then(|mut v| match v.get_mut("items").map(Value::take) {
                Some(Value::Array(items)) => Some(items),
                _ => None,
            }),
        )
    }

    pub async fn get(&self, id: &str) -> Result<Option<Value>> {
        self.call("get", &IdBody { id: id.to_owned() }).await
    }

    pub async fn delete(&self, id: &str) -> Result<bool> {
        let answer = self.call("delete", &IdBody { id: id.to_owned() }).await?;
        Ok(answer
            .and_then(|v| v.get("deleted").and_then(Value::as_bool))
            .unwrap_or(false))
    }
}
