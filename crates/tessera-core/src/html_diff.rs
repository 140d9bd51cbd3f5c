//! The `content_html_diff` of message edit history: the new rendering with the words an edit
//! added in `<span class="highlight_text_inserted">` and those it removed in
//! `<span class="highlight_text_deleted">` (the class names of Zulip's
//! `highlight_html_differences`, which its clients style). Tags are never split: the diff
//! runs over words and whitespace of the text between them.

use similar::{Algorithm, DiffOp, capture_diff_slices};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Token<'a> {
    Tag(&'a str),
    Text(&'a str),
}

fn tokens(html: &str) -> Vec<Token<'_>> {
    let mut out = Vec::new();
    let mut rest = html;
    while !rest.is_empty() {
        if rest.starts_with('<') {
            let end = rest.find('>').map_or(rest.len(), |i| i + 1);
            out.push(Token::Tag(&rest[..end]));
            rest = &rest[end..];
            continue;
        }
        let end = rest.find('<').unwrap_or(rest.len());
        let mut text = &rest[..end];
        while !text.is_empty() {
            let space = text.starts_with(char::is_whitespace);
            let len = text
                .find(|c: char| c.is_whitespace() != space)
                .unwrap_or(text.len());
            out.push(Token::Text(&text[..len]));
            text = &text[len..];
        }
        rest = &rest[end..];
    }
    out
}

fn wrap(out: &mut String, class: &str, run: &[Token<'_>], keep_tags: bool) {
    let mut open = false;
    for t in run {
        match t {
            Token::Text(s) => {
                if !open {
                    out.push_str(&format!("<span class=\"{class}\">"));
                    open = true;
                }
                out.push_str(s);
            }
            Token::Tag(s) => {
                if open {
                    out.push_str("</span>");
                    open = false;
                }
                if keep_tags {
                    out.push_str(s);
                }
            }
        }
    }
    if open {
        out.push_str("</span>");
    }
}

/// The new rendering with the differences from the old one marked.
pub fn highlight_differences(old: &str, new: &str) -> String {
    let a = tokens(old);
    let b = tokens(new);
    let mut out = String::with_capacity(new.len() + 64);
    for op in capture_diff_slices(Algorithm::Myers, &a, &b) {
        match op {
            DiffOp::Equal { new_index, len, .. } => {
                for t in &b[new_index..new_index + len] {
                    let (Token::Tag(s) | Token::Text(s)) = t;
                    out.push_str(s);
                }
            }
            DiffOp::Delete {
                old_index, old_len, ..
            } => wrap(
                &mut out,
                "highlight_text_deleted",
                &a[old_index..old_index + old_len],
                false,
            ),
            DiffOp::Insert {
                new_index, new_len, ..
            } => wrap(
                &mut out,
                "highlight_text_inserted",
                &b[new_index..new_index + new_len],
                true,
            ),
            DiffOp::Replace {
                old_index,
                old_len,
                new_index,
                new_len,
            } => {
                wrap(
                    &mut out,
                    "highlight_text_deleted",
                    &a[old_index..old_index + old_len],
                    false,
                );
                wrap(
                    &mut out,
                    "highlight_text_inserted",
                    &b[new_index..new_index + new_len],
                    true,
                );
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_word_is_marked_deleted_and_inserted() {
        assert_eq!(
            highlight_differences("<p>Hello world</p>", "<p>Hello there</p>"),
            "<p>Hello <span class=\"highlight_text_deleted\">world</span>\
             <span class=\"highlight_text_inserted\">there</span></p>"
        );
    }

    #[test]
    fn unchanged_html_is_returned_as_is() {
        let html = "<p>Same <strong>text</strong></p>";
        assert_eq!(highlight_differences(html, html), html);
    }

    #[test]
    fn added_markup_keeps_its_tags_outside_the_highlight() {
        assert_eq!(
            highlight_differences("<p>a</p>", "<p>a <em>b</em></p>"),
            "<p>a<span class=\"highlight_text_inserted\"> </span><em>\
             <span class=\"highlight_text_inserted\">b</span></em></p>"
        );
    }
}
