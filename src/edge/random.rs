//! Randomness from the platform CSPRNG (`crypto.getRandomValues`).

use crate::error::{ApiError, ErrorKind};
use crate::keys;

/// Fills `buf`; `Err` only if the platform refuses, which would make keys unsafe to issue.
pub fn fill(buf: &mut [u8]) -> Result<(), ApiError> {
    getrandom::getrandom(buf)
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("no secure randomness: {e}")))
}

/// Runs `make` with a byte source, failing if the CSPRNG failed at any point.
pub fn with_rng<T>(make: impl FnOnce(&mut dyn FnMut(&mut [u8])) -> T) -> Result<T, ApiError> {
    let mut failure = None;
    let mut source = |buf: &mut [u8]| {
        if let Err(e) = fill(buf) {
            failure = Some(e);
        }
    };
    let value = make(&mut source);
    match failure {
        Some(e) => Err(e),
        None => Ok(value),
    }
}

/// A request id for logs and the `x-request-id` header.
pub fn request_id() -> String {
    with_rng(|rng| format!("req_{}", keys::random_base62(24, rng)))
        .unwrap_or_else(|_| format!("req_{}", js_sys::Date::now() as u64))
}

/// A random base62 token of `len` characters (ids that must not collide, not secrets).
pub fn token(len: usize) -> String {
    with_rng(|rng| keys::random_base62(len, rng))
        .unwrap_or_else(|_| format!("{}", js_sys::Date::now() as u64))
}
