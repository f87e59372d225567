//! Model patterns in plans: `*` matches any run of characters, everything else itself.

pub fn glob_match(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let Some(first) = parts.next() else {
        return pattern == text;
    };
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let tail: Vec<&str> = parts.collect();
    let Some((last, middle)) = tail.split_last() else {
        return rest.is_empty();
    };
    for piece in middle {
        match rest.find(piece) {
            Some(at) => rest = rest.get(at + piece.len()..).unwrap_or_default(),
            None => return false,
        }
    }
    rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::glob_match;

    #[test]
    fn patterns() {
        assert!(glob_match("*", "gpt-5.3"));
        assert!(glob_match("gpt-5.3", "gpt-5.3"));
        assert!(!glob_match("gpt-5.3", "gpt-5.3-codex"));
        assert!(glob_match("gpt-*", "gpt-5.3-codex"));
        assert!(glob_match("claude-*-4-6", "claude-sonnet-4-6"));
        assert!(!glob_match("claude-*-4-6", "claude-sonnet-4-5"));
        assert!(glob_match("*codex*", "gpt-5.3-codex-mini"));
        assert!(!glob_match("a*b*c", "acb"));
    }
}
