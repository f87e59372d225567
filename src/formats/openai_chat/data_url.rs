//! `data:` URLs, the way Chat carries inline images and files.

/// Splits `data:<media type>;base64,<data>` into its media type and base64 data. Returns `None`
/// for anything else (another scheme, or a data URL that is not base64).
pub fn parse(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (header, data) = rest.split_once(',')?;
    let media_type = header.strip_suffix(";base64")?;
    Some((media_type, data))
}

/// `data:<media type>;base64,<data>`.
pub fn format(media_type: &str, data: &str) -> String {
    let mut url = String::with_capacity(media_type.len() + data.len() + 13);
    url.push_str("data:");
    url.push_str(media_type);
    url.push_str(";base64,");
    url.push_str(data);
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_format() {
        assert_eq!(
            parse("data:image/png;base64,iVBORw0K"),
            Some(("image/png", "iVBORw0K"))
        );
        assert_eq!(
            parse("data:application/pdf;base64,"),
            Some(("application/pdf", ""))
        );
        assert_eq!(parse("data:text/plain,hello"), None);
        assert_eq!(parse("https://example.com/a.png"), None);
        assert_eq!(
            format("image/png", "iVBORw0K"),
            "data:image/png;base64,iVBORw0K"
        );
    }
}
