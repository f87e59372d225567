//! Randomness from the platform CSPRNG (`crypto.getRandomValues`).
//!
//! Small requests are served from a per-isolate pool the CSPRNG fills 4 KiB at a time: each
//! call across to JavaScript costs more than the bytes (a request id took about 80 µs of CPU
//! when each one made its own call). Every byte is handed out once.

use std::cell::RefCell;

use crate::error::{ApiError, ErrorKind};
use crate::keys;

/// Bytes the pool holds; requests above a quarter of it go to the CSPRNG directly.
const POOL_BYTES: usize = 4096;

struct Pool {
    bytes: [u8; POOL_BYTES],
    /// Bytes from here on are unused.
    next: usize,
}

thread_local! {
    static POOL: RefCell<Pool> = const {
        RefCell::new(Pool {
            bytes: [0; POOL_BYTES],
            next: POOL_BYTES,
        })
    };
}

fn platform_fill(buf: &mut [u8]) -> Result<(), ApiError> {
    getrandom::getrandom(buf)
        .map_err(|e| ApiError::new(ErrorKind::Internal, format!("no secure randomness: {e}")))
}

/// Fills `buf`; `Err` only if the platform refuses, which would make keys unsafe to issue.
pub fn fill(buf: &mut [u8]) -> Result<(), ApiError> {
    if buf.len() > POOL_BYTES / 4 {
        return platform_fill(buf);
    }
    POOL.with(|pool| {
        let mut pool = pool.borrow_mut();
        if pool.next.saturating_add(buf.len()) > POOL_BYTES {
            platform_fill(&mut pool.bytes)?;
            pool.next = 0;
        }
        let start = pool.next;
        let end = start + buf.len();
        let taken = pool
            .bytes
            .get_mut(start..end)
            .ok_or_else(|| ApiError::new(ErrorKind::Internal, "randomness pool out of range"))?;
        buf.copy_from_slice(taken);
        // Zeroed once handed out, so an issued key's bytes do not stay behind in the pool.
        taken.fill(0);
        pool.next = end;
        Ok(())
    })
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
