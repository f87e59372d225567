//! Beta flags each provider refused, remembered in the isolate: after an upstream answered 400
//! naming flags, the attempt is made once more without them, and later calls leave them out
//! from the start (the set an account takes changes rarely; a new isolate learns it again with
//! one refused attempt).

use std::cell::RefCell;
use std::collections::HashMap;

thread_local! {
    static REFUSED: RefCell<HashMap<String, Vec<String>>> = RefCell::new(HashMap::new());
}

/// The flags `provider` refused so far.
pub fn refused(provider: &str) -> Vec<String> {
    REFUSED.with(|refused| refused.borrow().get(provider).cloned().unwrap_or_default())
}

/// Remembers that `provider` refused `betas`.
pub fn remember(provider: &str, betas: &[String]) {
    REFUSED.with(|refused| {
        let mut refused = refused.borrow_mut();
        let known = refused.entry(provider.to_owned()).or_default();
        for beta in betas {
            if !known.contains(beta) {
                known.push(beta.clone());
            }
        }
    });
}
