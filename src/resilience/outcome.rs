//! What an upstream's failure says about the upstream, as opposed to the request.
//!
//! | the upstream answered | [`Failure`] | whose breaker |
//! |---|---|---|
//! | no connection, a timeout, 408, 5xx, 529, an error event before the answer, an empty stream | `Unavailable` | the provider's |
//! | 429 | `RateLimited` | the key's (vendors limit per account) |
//! | 401, 403 | `KeyRefused` | the key's |
//! | 402, or a body saying the account's credit or quota is gone | `CreditExhausted` | the key's |
//! | any other 4xx | none: the request is at fault, and would fail anywhere | none |
//!
//! An error event inside a stream, before the answer started, is read by its kind
//! ([`of_error_kind`]): overloaded, timeouts and upstream failures mean `Unavailable`.

use crate::error::ErrorKind;

/// Why an upstream failed, in the terms its breaker needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Failure {
    /// The provider could not serve anyone: unreachable, too slow, overloaded, or broken.
    Unavailable,
    /// The vendor is limiting this key's account.
    RateLimited,
    /// The vendor refuses this key (revoked, wrong, or not allowed the model).
    KeyRefused,
    /// This key's account has no credit or quota left.
    CreditExhausted,
}

impl Failure {
    /// Whether the failure concerns one key of the provider rather than the provider.
    pub fn is_key_scoped(self) -> bool {
        !matches!(self, Failure::Unavailable)
    }

    /// Whether the breaker is benched (a long cooldown that only the operator's action
    /// shortens) rather than cooled down.
    pub fn benches(self) -> bool {
        matches!(self, Failure::KeyRefused | Failure::CreditExhausted)
    }

    /// The word used in reports and logs.
    pub fn as_str(self) -> &'static str {
        match self {
            Failure::Unavailable => "unavailable",
            Failure::RateLimited => "rate_limited",
            Failure::KeyRefused => "key_refused",
            Failure::CreditExhausted => "credit_exhausted",
        }
    }
}

/// The failure an upstream's error status means, given whether its body says the account is
/// out of credit (each format recognises its vendor's wording). `None`: the request itself is
/// at fault.
pub fn classify(status: u16, credit_exhausted: bool) -> Option<Failure> {
    if credit_exhausted || status == 402 {
        return Some(Failure::CreditExhausted);
    }
    match status {
        401 | 403 => Some(Failure::KeyRefused),
        429 => Some(Failure::RateLimited),
        408 | 500..=599 => Some(Failure::Unavailable),
        _ => None,
    }
}

/// The failure an error event means when an upstream sends it inside a stream, before the
/// answer started. `None`: the request itself is at fault.
pub fn of_error_kind(kind: ErrorKind) -> Option<Failure> {
    match kind {
        ErrorKind::Overloaded
        | ErrorKind::UpstreamFailed
        | ErrorKind::Timeout
        | ErrorKind::Internal => Some(Failure::Unavailable),
        ErrorKind::RateLimited => Some(Failure::RateLimited),
        ErrorKind::Authentication | ErrorKind::PermissionDenied => Some(Failure::KeyRefused),
        ErrorKind::QuotaExhausted => Some(Failure::CreditExhausted),
        ErrorKind::InvalidRequest
        | ErrorKind::ContextLengthExceeded
        | ErrorKind::RequestTooLarge
        | ErrorKind::NotFound
        | ErrorKind::ModelNotFound
        | ErrorKind::MethodNotAllowed
        | ErrorKind::UpgradeRequired => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        for (status, credit, expected) in [
            (500, false, Some(Failure::Unavailable)),
            (502, false, Some(Failure::Unavailable)),
            (529, false, Some(Failure::Unavailable)),
            (408, false, Some(Failure::Unavailable)),
            (429, false, Some(Failure::RateLimited)),
            (429, true, Some(Failure::CreditExhausted)),
            (400, true, Some(Failure::CreditExhausted)),
            (402, false, Some(Failure::CreditExhausted)),
            (401, false, Some(Failure::KeyRefused)),
            (403, false, Some(Failure::KeyRefused)),
            (400, false, None),
            (404, false, None),
            (413, false, None),
            (422, false, None),
        ] {
            assert_eq!(classify(status, credit), expected, "{status} {credit}");
        }
    }
}
