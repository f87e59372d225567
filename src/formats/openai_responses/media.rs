//! Image and file sources: data URLs ⇄ [`MediaSource`].

use crate::canonical::MediaSource;

/// `data:<media type>;base64,<data>` → `(media type, data)`. Other data URLs (not base64) and
/// ordinary URLs give `None`.
pub fn parse_data_url(url: &str) -> Option<(&str, &str)> {
    let rest = url.strip_prefix("data:")?;
    let (header, data) = rest.split_once(',')?;
    let media_type = header.strip_suffix(";base64")?;
    Some((media_type, data))
}

pub fn data_url(media_type: &str, data: &str) -> String {
    format!("data:{media_type};base64,{data}")
}

/// An `image_url` / `file_url` as a source: data URLs become base64, anything else a URL.
pub fn source_from_url(url: &str) -> MediaSource {
    match parse_data_url(url) {
        Some((media_type, data)) => MediaSource::Base64 {
            media_type: media_type.to_owned(),
            data: data.to_owned(),
        },
        None => MediaSource::Url(url.to_owned()),
    }
}

/// A file name for base64 documents that came without one (OpenAI requires `filename` with
/// `file_data`).
pub fn default_filename(media_type: &str) -> &'static str {
    match media_type {
        "application/pdf" => "document.pdf",
        "text/plain" => "document.txt",
        "text/markdown" => "document.md",
        "text/html" => "document.html",
        "text/csv" => "document.csv",
        "application/json" => "document.json",
        _ => "document",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_urls() {
        assert_eq!(
            parse_data_url("data:image/png;base64,iVBOR"),
            Some(("image/png", "iVBOR"))
        );
        assert_eq!(parse_data_url("data:text/plain,hello"), None);
        assert_eq!(parse_data_url("https://x/y.png"), None);
        assert_eq!(
            data_url("image/png", "iVBOR"),
            "data:image/png;base64,iVBOR"
        );
        assert_eq!(
            source_from_url("https://x/y.png"),
            MediaSource::Url("https://x/y.png".into())
        );
        assert_eq!(
            source_from_url("data:application/pdf;base64,JVBER"),
            MediaSource::Base64 {
                media_type: "application/pdf".into(),
                data: "JVBER".into()
            }
        );
    }
}
