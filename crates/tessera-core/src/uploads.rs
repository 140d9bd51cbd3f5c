//! Uploaded files, the pure parts: Zulip's file-name sanitizing, the path a file is stored
//! under, which types a browser may show inline, the `Content-Disposition` header, and the
//! upload links a message names.

use rand::{Rng, RngCore};
use unicode_normalization::UnicodeNormalization;

/// Zulip's `sanitize_name`: NFKC, only word characters, spaces, dots and dashes, runs of
/// dashes and spaces as one dash; `uploaded-file` when nothing is left.
pub fn sanitize_name(raw: &str) -> String {
    let kept: String = raw
        .nfkc()
        .filter(|c| c.is_alphanumeric() || *c == '_' || c.is_whitespace() || *c == '.' || *c == '-')
        .collect();
    let mut out = String::with_capacity(kept.len());
    let mut in_run = false;
    for c in kept.trim().chars() {
        if c == '-' || c.is_whitespace() {
            if !in_run {
                out.push('-');
            }
            in_run = true;
        } else {
            out.push(c);
            in_run = false;
        }
    }
    if matches!(out.as_str(), "" | "." | "..") {
        "uploaded-file".into()
    } else {
        out
    }
}

/// Python's `urllib.parse.unquote`: `%XX` escapes decoded (as UTF-8, lossily), `+` kept.
pub fn unquote(raw: &str) -> String {
    let b = raw.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    let hex = |c: u8| (c as char).to_digit(16);
    while i < b.len() {
        if b[i] == b'%'
            && i + 2 < b.len()
            && let (Some(hi), Some(lo)) = (hex(b[i + 1]), hex(b[i + 2]))
        {
            out.push((hi * 16 + lo) as u8);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A new path for a file: `<realm id>/<two hex digits>/<24 random URL-safe characters>/<name>`
/// (the shape of Zulip's local upload backend).
pub fn new_path_id(realm_id: i64, file_name: &str) -> String {
    use base64::Engine;
    let mut rng = rand::thread_rng();
    let mut token = [0u8; 18];
    rng.fill_bytes(&mut token);
    let token = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(token);
    format!(
        "{realm_id}/{:x}/{token}/{}",
        rng.gen_range(0..=255u8),
        sanitize_name(file_name)
    )
}

/// The type to store: the one the client sent, else a guess from the name, else
/// `application/octet-stream`.
pub fn content_type(sent: &str, file_name: &str) -> String {
    let sent = sent.trim();
    if !sent.is_empty() {
        return sent.to_owned();
    }
    mime_guess::from_path(file_name)
        .first_raw()
        .unwrap_or("application/octet-stream")
        .to_owned()
}

/// Types Zulip lets a browser show in the page (`INLINE_MIME_TYPES`); never HTML, SVG or
/// XML, which could run script in the server's origin.
pub const INLINE_MIME_TYPES: &[&str] = &[
    "audio/aac",
    "audio/flac",
    "audio/mp4",
    "audio/mpeg",
    "audio/wav",
    "audio/webm",
    "application/pdf",
    "image/apng",
    "image/avif",
    "image/gif",
    "image/jpeg",
    "image/png",
    "image/webp",
    "text/plain",
    "video/mp4",
    "video/webm",
];

/// The `Content-Disposition` of a served file: `inline` for the types above, `attachment`
/// otherwise; a non-ASCII name as RFC 5987 `filename*`.
pub fn content_disposition(content_type: &str, file_name: &str) -> String {
    let base = content_type.split(';').next().unwrap_or("").trim();
    let kind = if INLINE_MIME_TYPES.contains(&base) {
        "inline"
    } else {
        "attachment"
    };
    if file_name.is_ascii() && !file_name.chars().any(|c| c.is_ascii_control()) {
        let escaped = file_name.replace('\\', "\\\\").replace('"', "\\\"");
        format!("{kind}; filename=\"{escaped}\"")
    } else {
        let encoded: String = file_name
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    (b as char).to_string()
                } else {
                    format!("%{b:02X}")
                }
            })
            .collect();
        format!("{kind}; filename*=utf-8''{encoded}")
    }
}

/// The upload paths (`<realm id>/…`) a message's Markdown links to, relative
/// (`/user_uploads/…`) or on a host.
pub fn linked_path_ids(content: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for (i, _) in content.match_indices("/user_uploads/") {
        let rest = &content[i + "/user_uploads/".len()..];
        let end = rest
            .find(|c: char| c.is_whitespace() || matches!(c, ')' | ']' | '"' | '\'' | '<' | '>'))
            .unwrap_or(rest.len());
        let path = rest[..end].trim_end_matches(['.', ',', ';', ':', '!', '?']);
        let numbered = path
            .split('/')
            .next()
            .is_some_and(|r| !r.is_empty() && r.chars().all(|c| c.is_ascii_digit()));
        if numbered && path.matches('/').count() >= 2 && !out.iter().any(|p| p == path) {
            out.push(path.to_owned());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_sanitized_as_zulip_does() {
        assert_eq!(sanitize_name("my file (1).txt"), "my-file-1.txt");
        assert_eq!(sanitize_name("a - b.png"), "a-b.png");
        assert_eq!(sanitize_name("Straße.pdf"), "Straße.pdf");
        assert_eq!(sanitize_name("../.."), "....");
        assert_eq!(sanitize_name("///"), "uploaded-file");
        assert_eq!(sanitize_name("ﬁle.txt"), "file.txt");
    }

    #[test]
    fn names_are_unquoted_as_python_does() {
        assert_eq!(unquote("a%20b+c.txt"), "a b+c.txt");
        assert_eq!(unquote("%C3%A9.pdf"), "é.pdf");
        assert_eq!(unquote("100%"), "100%");
        assert_eq!(unquote("%zz"), "%zz");
        assert_eq!(unquote("%é1"), "%é1");
    }

    #[test]
    fn paths_have_the_local_backend_shape() {
        let p = new_path_id(7, "a b.txt");
        let parts: Vec<&str> = p.split('/').collect();
        assert_eq!(parts.len(), 4);
        assert_eq!(parts[0], "7");
        assert!(u8::from_str_radix(parts[1], 16).is_ok());
        assert_eq!(parts[2].len(), 24);
        assert_eq!(parts[3], "a-b.txt");
    }

    #[test]
    fn only_safe_types_are_inline() {
        assert_eq!(
            content_disposition("image/png", "a.png"),
            "inline; filename=\"a.png\""
        );
        assert_eq!(
            content_disposition("text/html", "x\".html"),
            "attachment; filename=\"x\\\".html\""
        );
        assert_eq!(
            content_disposition("application/pdf", "é.pdf"),
            "inline; filename*=utf-8''%C3%A9.pdf"
        );
        assert_eq!(content_type("", "a.png"), "image/png");
        assert_eq!(content_type("", "noext"), "application/octet-stream");
    }

    #[test]
    fn links_in_a_message_are_found() {
        let c = "see [a.txt](/user_uploads/2/ab/XYZ/a.txt) and \
                 https://chat.example.com/user_uploads/2/c/Q/b.png, not /user_uploads/x";
        assert_eq!(linked_path_ids(c), vec!["2/ab/XYZ/a.txt", "2/c/Q/b.png"]);
    }
}
