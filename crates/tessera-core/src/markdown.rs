//! Message rendering: CommonMark (pulldown-cmark) to Zulip-like HTML, with Zulip's mention
//! syntax. Raw HTML in a message is shown as text, never passed through.
//!
//! Mentions: `@**Full Name**`, `@**Full Name|id**`, silent `@_**Full Name**` (no notification),
//! and the wildcards `@**all**`, `@**everyone**`, `@**channel**`, `@**stream**`, `@**topic**`.
//! Mentions inside code are left as written.

use pulldown_cmark::{CowStr, Event, Options, Parser, Tag, TagEnd, html};

/// What rendering found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Rendered {
    pub html: String,
    /// People mentioned (not silently), in order of first mention.
    pub mentioned_user_ids: Vec<i64>,
    /// A wildcard mention (`@**all**` and friends).
    pub wildcard: bool,
}

const OPEN: char = '\u{E000}';
const CLOSE: char = '\u{E001}';
const WILDCARDS: [&str; 5] = ["all", "everyone", "channel", "stream", "topic"];

struct Mention {
    source: String,
    silent: bool,
    name: String,
    id: Option<i64>,
}

/// Replace each `@**…**` / `@_**…**` with a private-use placeholder and remember it.
fn extract_mentions(content: &str) -> (String, Vec<Mention>) {
    let mut out = String::with_capacity(content.len());
    let mut mentions = Vec::new();
    let mut rest = content;
    while let Some(at) = rest.find('@') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let (silent, body) = if let Some(b) = tail.strip_prefix("@_**") {
            (true, b)
        } else if let Some(b) = tail.strip_prefix("@**") {
            (false, b)
        } else {
            out.push('@');
            rest = &tail[1..];
            continue;
        };
        match body.find("**") {
            Some(end) if end > 0 && !body[..end].contains('\n') => {
                let inner = &body[..end];
                let (name, id) = match inner.rsplit_once('|') {
                    Some((n, i)) => match i.trim().parse::<i64>() {
                        Ok(id) => (n.to_owned(), Some(id)),
                        Err(_) => (inner.to_owned(), None),
                    },
                    None => (inner.to_owned(), None),
                };
                let source_len = if silent { 4 } else { 3 } + end + 2;
                out.push(OPEN);
                out.push_str(&mentions.len().to_string());
                out.push(CLOSE);
                mentions.push(Mention {
                    source: tail[..source_len].to_owned(),
                    silent,
                    name,
                    id,
                });
                rest = &tail[source_len..];
            }
            _ => {
                out.push('@');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    (out, mentions)
}

fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

/// Put the original text back in place of placeholders (inside code).
fn restore(text: &str, mentions: &[Mention]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find(OPEN) {
        out.push_str(&rest[..start]);
        let after = &rest[start + OPEN.len_utf8()..];
        match after.find(CLOSE) {
            Some(end) => {
                match after[..end]
                    .parse::<usize>()
                    .ok()
                    .and_then(|i| mentions.get(i))
                {
                    Some(m) => out.push_str(&m.source),
                    None => out.push_str(&after[..end]),
                }
                rest = &after[end + CLOSE.len_utf8()..];
            }
            None => {
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// The people a message's mentions name, `(name, id)`, wildcards left out: what a renderer's
/// resolver will be asked about.
pub fn mention_targets(content: &str) -> Vec<(String, Option<i64>)> {
    extract_mentions(content)
        .1
        .into_iter()
        .filter(|m| !WILDCARDS.contains(&m.name.as_str()))
        .map(|m| (m.name, m.id))
        .collect()
}

/// Finds an active user by full name (and id, when the mention gives one):
/// `(user_id, full_name)`.
pub type MentionResolver<'a> = dyn Fn(&str, Option<i64>) -> Option<(i64, String)> + 'a;

/// Render `content`. `resolve(name, id)` finds an active user of the realm by full name
/// (and id, when given): `(user_id, full_name)`.
pub fn render(content: &str, resolve: &MentionResolver<'_>) -> Rendered {
    let (prepared, mentions) = extract_mentions(content);
    let mut found = Rendered::default();
    let mut events: Vec<Event<'_>> = Vec::new();
    let mut in_code_block = false;
    let options = Options::ENABLE_STRIKETHROUGH | Options::ENABLE_TABLES;
    for event in Parser::new_ext(&prepared, options) {
        match event {
            Event::Start(Tag::CodeBlock(kind)) => {
                in_code_block = true;
                events.push(Event::Start(Tag::CodeBlock(kind)));
            }
            Event::End(TagEnd::CodeBlock) => {
                in_code_block = false;
                events.push(Event::End(TagEnd::CodeBlock));
            }
            Event::Code(text) => events.push(Event::Code(CowStr::from(restore(&text, &mentions)))),
            Event::Text(text) if in_code_block => {
                events.push(Event::Text(CowStr::from(restore(&text, &mentions))))
            }
            Event::Text(text) => {
                let mut rest: &str = &text;
                while let Some(start) = rest.find(OPEN) {
                    if start > 0 {
                        events.push(Event::Text(CowStr::from(rest[..start].to_owned())));
                    }
                    let after = &rest[start + OPEN.len_utf8()..];
                    let Some(end) = after.find(CLOSE) else {
                        rest = after;
                        continue;
                    };
                    let idx = after[..end].parse::<usize>().ok();
                    rest = &after[end + CLOSE.len_utf8()..];
                    let Some(m) = idx.and_then(|i| mentions.get(i)) else {
                        continue;
                    };
                    let html =
                        if m.id.is_none() && WILDCARDS.contains(&m.name.as_str()) && !m.silent {
                            found.wildcard = true;
                            format!(
                                "<span class=\"user-mention\" data-user-id=\"*\">@{}</span>",
                                escape(&m.name)
                            )
                        } else if let Some((id, full_name)) = resolve(&m.name, m.id) {
                            if !m.silent && !found.mentioned_user_ids.contains(&id) {
                                found.mentioned_user_ids.push(id);
                            }
                            let (class, at) = if m.silent {
                                ("user-mention silent", "")
                            } else {
                                ("user-mention", "@")
                            };
                            format!(
                                "<span class=\"{class}\" data-user-id=\"{id}\">{at}{}</span>",
                                escape(&full_name)
                            )
                        } else {
                            // Not a user: shown as typed.
                            escape(&m.source)
                        };
                    events.push(Event::InlineHtml(CowStr::from(html)));
                }
                if !rest.is_empty() {
                    events.push(Event::Text(CowStr::from(rest.to_owned())));
                }
            }
            // Raw HTML from the author is text.
            Event::Html(raw) | Event::InlineHtml(raw) => {
                events.push(Event::Text(CowStr::from(restore(&raw, &mentions))))
            }
            other => events.push(other),
        }
    }
    let mut out = String::with_capacity(content.len() + 16);
    html::push_html(&mut out, events.into_iter());
    found.html = out.trim_end_matches('\n').to_owned();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn people(name: &str, id: Option<i64>) -> Option<(i64, String)> {
        match (name.to_lowercase().as_str(), id) {
            ("helloworld", None) | ("helloworld", Some(7)) => Some((7, "helloworld".into())),
            ("olive owner", _) => Some((1, "Olive Owner".into())),
            _ => None,
        }
    }

    #[test]
    fn paragraphs_and_escaping() {
        let r = render("hello *world* <script>x</script>", &people);
        assert_eq!(
            r.html,
            "<p>hello <em>world</em> &lt;script&gt;x&lt;/script&gt;</p>"
        );
        assert!(r.mentioned_user_ids.is_empty());
    }

    #[test]
    fn mentions() {
        let r = render(
            "@**helloworld** hi @_**Olive Owner** and @**nobody**",
            &people,
        );
        assert_eq!(
            r.html,
            "<p><span class=\"user-mention\" data-user-id=\"7\">@helloworld</span> hi \
             <span class=\"user-mention silent\" data-user-id=\"1\">Olive Owner</span> and @**nobody**</p>"
        );
        assert_eq!(r.mentioned_user_ids, vec![7]);
        assert!(!r.wildcard);
        let r = render("@**helloworld|7** and @**all**", &people);
        assert_eq!(r.mentioned_user_ids, vec![7]);
        assert!(r.wildcard);
    }

    #[test]
    fn no_mentions_in_code() {
        let r = render("`@**helloworld**`\n\n```\n@**helloworld**\n```", &people);
        assert!(r.mentioned_user_ids.is_empty(), "{}", r.html);
        assert!(
            r.html.contains("<code>@**helloworld**</code>"),
            "{}",
            r.html
        );
        assert!(
            r.html.contains("@**helloworld**\n</code></pre>"),
            "{}",
            r.html
        );
    }
}
