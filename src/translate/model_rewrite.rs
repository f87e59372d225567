//! Forwarded (same-format) answers name the model the client asked for, not the upstream's id,
//! without re-encoding: the fields naming the model (`"model": "<upstream id>"`, or the field
//! the format names it in, see `FormatSpec::answer_model_field`) are rewritten in the bytes of
//! each frame (or of a whole answer) as they pass, so vendor fields and the upstream's own
//! framing are untouched. One linear pass per buffer.

/// Rewrites `"<field>":"<from>"` (with or without a space after the colon) to name `to`.
#[derive(Debug)]
pub struct ModelRewrite {
    /// `"<field>":`, the key before the model id.
    key: Vec<u8>,
    /// The upstream's id as a JSON string (quotes included).
    from: Vec<u8>,
    /// The client's id as a JSON string.
    to: Vec<u8>,
}

/// Upstream ids longer than this are not looked for (a real one is a few dozen bytes; an
/// absurd one would only cost time).
const MAX_ID_BYTES: usize = 256;

impl ModelRewrite {
    /// `None` when there is nothing to rewrite (the ids are equal, or the upstream's is empty or
    /// absurdly long).
    pub fn new(field: &str, from: &str, to: &str) -> Option<ModelRewrite> {
        if from == to || from.is_empty() || from.len() > MAX_ID_BYTES {
            return None;
        }
        let quoted = |id: &str| serde_json::to_vec(id).unwrap_or_default();
        let mut key = quoted(field);
        key.push(b':');
        Some(ModelRewrite {
            key,
            from: quoted(from),
            to: quoted(to),
        })
    }

    /// Appends `input` to `out` with every `"model":"<from>"` naming `to` instead.
    pub fn apply(&self, input: &[u8], out: &mut Vec<u8>) {
        out.reserve(input.len());
        let mut rest = input;
        let key = self.key.as_slice();
        while let Some(at) = find(rest, key) {
            let (before, from_key) = rest.split_at(at);
            out.extend_from_slice(before);
            out.extend_from_slice(key);
            let mut value = from_key.get(key.len()..).unwrap_or_default();
            if let Some(after_space) = value.strip_prefix(b" ") {
                out.push(b' ');
                value = after_space;
            }
            match value.strip_prefix(self.from.as_slice()) {
                Some(after) => {
                    out.extend_from_slice(&self.to);
                    rest = after;
                }
                None => rest = value,
            }
        }
        out.extend_from_slice(rest);
    }
}

/// The first position of `needle` in `haystack`. Candidates start at a `"`, so the scan costs
/// one comparison per byte plus one per quote.
fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    let first = *needle.first()?;
    let mut from = 0;
    while let Some(offset) = haystack.get(from..)?.iter().position(|&b| b == first) {
        let at = from + offset;
        if haystack.get(at..)?.starts_with(needle) {
            return Some(at);
        }
        from = at + 1;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(from: &str, to: &str, input: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        ModelRewrite::new("model", from, to)
            .unwrap()
            .apply(input, &mut out);
        out
    }

    #[test]
    fn rewrites_every_occurrence_and_nothing_else() {
        let input = b"data: {\"id\":\"x\",\"model\":\"gpt-up\",\"choices\":[]}\n\n: ping\n\ndata: {\"model\": \"gpt-up\"}\n\ndata: {\"model\":\"gpt-upper\"}\n\ndata: {\"model\":5}";
        let expected = b"data: {\"id\":\"x\",\"model\":\"m-pub\",\"choices\":[]}\n\n: ping\n\ndata: {\"model\": \"m-pub\"}\n\ndata: {\"model\":\"m-publ\"}\n\ndata: {\"model\":5}";
        // "gpt-upper" starts with `"gpt-up` but not with the quoted id `"gpt-up"`.
        let expected = std::str::from_utf8(expected)
            .unwrap()
            .replace("m-publ", "gpt-upper");
        assert_eq!(run("gpt-up", "m-pub", input), expected.as_bytes());
        assert!(ModelRewrite::new("model", "same", "same").is_none());
        assert!(ModelRewrite::new("model", &"x".repeat(300), "m").is_none());
    }

    #[test]
    fn the_field_is_the_formats() {
        let input = br#"{"model":"g-up","modelVersion":"g-up","responseId":"r"}"#;
        let mut out = Vec::new();
        ModelRewrite::new("modelVersion", "g-up", "pub")
            .unwrap()
            .apply(input, &mut out);
        assert_eq!(
            out,
            br#"{"model":"g-up","modelVersion":"pub","responseId":"r"}"#
        );
    }

    #[test]
    fn linear_in_the_input() {
        // A frame full of near-misses: every quote starts a candidate.
        let input = "\"model\":\"gpt-u".repeat(200_000);
        let started = std::time::Instant::now();
        let out = run("gpt-up", "m-pub", input.as_bytes());
        assert_eq!(out, input.as_bytes());
        assert!(started.elapsed().as_secs() < 2, "{:?}", started.elapsed());
    }
}
