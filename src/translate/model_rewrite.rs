//! Forwarded (same-format) answers name the model the client asked for, not the upstream's id,
//! without re-encoding: the `"model": "<upstream id>"` fields are rewritten in the bytes as they
//! pass, so vendor fields, keep-alive comments and the upstream's own framing are untouched.

/// Rewrites `"model":"<from>"` (with or without a space after the colon) to name `to`, across
/// chunk boundaries.
#[derive(Debug)]
pub struct ModelRewrite {
    /// Byte patterns and their replacements.
    rules: Vec<(Vec<u8>, Vec<u8>)>,
    /// The end of the previous chunk, held back because it could be the start of a pattern.
    held: Vec<u8>,
}

impl ModelRewrite {
    /// `None` when there is nothing to rewrite (the ids are equal).
    pub fn new(from: &str, to: &str) -> Option<ModelRewrite> {
        if from == to || from.is_empty() {
            return None;
        }
        let quoted = |id: &str| serde_json::to_string(id).unwrap_or_default();
        let (from, to) = (quoted(from), quoted(to));
        let rules = ["\"model\":", "\"model\": "]
            .iter()
            .map(|key| {
                (
                    format!("{key}{from}").into_bytes(),
                    format!("{key}{to}").into_bytes(),
                )
            })
            .collect();
        Some(ModelRewrite {
            rules,
            held: Vec::new(),
        })
    }

    /// Rewrites one chunk into `out`, holding back a tail that could start a pattern.
    pub fn push(&mut self, chunk: &[u8], out: &mut Vec<u8>) {
        let mut buffer = std::mem::take(&mut self.held);
        buffer.extend_from_slice(chunk);
        let mut start = 0;
        let mut at = 0;
        while at < buffer.len() {
            let matched = self.rules.iter().find(|(pattern, _)| {
                buffer
                    .get(at..)
                    .is_some_and(|rest| rest.starts_with(pattern))
            });
            match matched {
                Some((pattern, replacement)) => {
                    out.extend_from_slice(buffer.get(start..at).unwrap_or_default());
                    out.extend_from_slice(replacement);
                    at += pattern.len();
                    start = at;
                }
                None => at += 1,
            }
        }
        let keep = self.partial_tail(buffer.get(start..).unwrap_or_default());
        let emit_to = buffer.len() - keep;
        out.extend_from_slice(buffer.get(start..emit_to).unwrap_or_default());
        self.held = buffer.get(emit_to..).unwrap_or_default().to_vec();
    }

    /// Emits what was held back.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        out.append(&mut self.held);
    }

    /// Length of the longest suffix of `tail` that is a proper prefix of a pattern.
    fn partial_tail(&self, tail: &[u8]) -> usize {
        let longest = self.rules.iter().map(|(p, _)| p.len()).max().unwrap_or(0);
        (1..longest.min(tail.len() + 1))
            .rev()
            .find(|&n| {
                let suffix = tail.get(tail.len() - n..).unwrap_or_default();
                self.rules.iter().any(|(p, _)| p.starts_with(suffix))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(from: &str, to: &str, input: &[u8], chunk: usize) -> Vec<u8> {
        let mut rewrite = ModelRewrite::new(from, to).unwrap();
        let mut out = Vec::new();
        for piece in input.chunks(chunk) {
            rewrite.push(piece, &mut out);
        }
        rewrite.finish(&mut out);
        out
    }

    #[test]
    fn rewrites_every_occurrence_across_any_split() {
        let input = b"data: {\"id\":\"x\",\"model\":\"gpt-up\",\"choices\":[]}\n\n: ping\n\ndata: {\"model\": \"gpt-up\"}\n\ndata: {\"model\":\"gpt-upper\"}\n\n";
        let expected = b"data: {\"id\":\"x\",\"model\":\"m-pub\",\"choices\":[]}\n\n: ping\n\ndata: {\"model\": \"m-pub\"}\n\ndata: {\"model\":\"gpt-upper\"}\n\n";
        for chunk in 1..=input.len() {
            assert_eq!(
                run("gpt-up", "m-pub", input, chunk),
                expected,
                "chunk {chunk}"
            );
        }
    }

    #[test]
    fn nothing_is_held_when_a_chunk_ends_between_events() {
        let mut rewrite = ModelRewrite::new("a", "b").unwrap();
        let mut out = Vec::new();
        rewrite.push(b"data: {\"model\":\"a\"}\n\n", &mut out);
        assert_eq!(out, b"data: {\"model\":\"b\"}\n\n");
        assert!(ModelRewrite::new("same", "same").is_none());
    }
}
