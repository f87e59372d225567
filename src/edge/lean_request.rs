//! The Worker's incoming request, converted without its `cf` object.
//!
//! workers-rs reads `request.cf` whenever it wraps a request, and workerd builds that object
//! afresh on each read: about 4% of a non-streamed call's CPU in workerd's profiler, for
//! properties the gateway never reads. The property is shadowed on the instance before the
//! conversion, so the read finds `undefined`.

use wasm_bindgen::prelude::*;
use worker::{FromRequest, Request};

#[wasm_bindgen(inline_js = r#"
export function toc_hide_cf(request) {
  try {
    Object.defineProperty(request, "cf", { value: undefined });
  } catch {
    // A request that cannot take the property (none does today) is wrapped as before.
  }
}
"#)]
extern "C" {
    fn toc_hide_cf(request: &web_sys::Request);
}

/// The incoming request, as the fetch handler receives it.
pub struct LeanRequest(pub Request);

impl FromRequest for LeanRequest {
    fn from_raw(
        request: web_sys::Request,
    ) -> std::result::Result<Self, impl Into<Box<dyn std::error::Error>>> {
        toc_hide_cf(&request);
        Ok::<Self, worker::Error>(Self(Request::from(request)))
    }
}
