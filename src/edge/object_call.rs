//! One request to a Durable Object, sent and read in a single call into JavaScript.
//!
//! Through workers-rs the same request builds a `RequestInit` and a `Request`, wraps the
//! object's answer in a `worker::Response` (five reads across the boundary, `cf` among them)
//! and reads its body through a second stream. In workerd's profiler that was about 5% of a
//! non-streamed call's CPU (one or two requests to the key's object per call), and about half
//! of it this way.

use js_sys::{Array, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use worker::Env;

#[wasm_bindgen(inline_js = r#"
export async function toc_object_call(namespace, name, url, method, body) {
  const response = await namespace.getByName(name).fetch(url, { method, body });
  return [response.status, new Uint8Array(await response.arrayBuffer())];
}
"#)]
extern "C" {
    fn toc_object_call(
        namespace: &JsValue,
        name: &str,
        url: &str,
        method: &str,
        body: &JsValue,
    ) -> Promise;
}

/// An object's answer.
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
}

/// The objects of one Durable Object binding.
pub struct Namespace(JsValue);

impl Namespace {
    /// The binding `name` (an error if the Worker has none by that name).
    pub fn of(env: &Env, name: &str) -> worker::Result<Namespace> {
        let binding = js_sys::Reflect::get(env, &JsValue::from_str(name))?;
        if binding.is_undefined() {
            return Err(worker::Error::RustError(format!(
                "no Durable Object binding {name}"
            )));
        }
        Ok(Namespace(binding))
    }

    /// Sends `method url` (with `body`, if any) to the object named `object` and reads the
    /// whole answer.
    pub async fn call(
        &self,
        object: &str,
        method: &str,
        url: &str,
        body: Option<&str>,
    ) -> worker::Result<Answer> {
        let body = body.map_or(JsValue::UNDEFINED, JsValue::from_str);
        let answer = JsFuture::from(toc_object_call(&self.0, object, url, method, &body)).await?;
        let answer = Array::from(&answer);
        let status = answer.get(0).as_f64().unwrap_or(0.0) as u16;
        let body = Uint8Array::new(&answer.get(1)).to_vec();
        Ok(Answer { status, body })
    }
}
