//! `/emails/` (development only, as Zulip's dev email log): every email in the outbox, newest
//! first, so password-reset links can be followed without a mail server.

use super::{Chrome, Web};
use askama::Template;
use axum::response::{IntoResponse, Response};
use tessera_app::OutboxMail;

#[derive(Template)]
#[template(path = "emails.html")]
struct EmailsPage {
    c: Chrome,
    mails: Vec<MailView>,
    outbox: String,
}

struct MailView {
    subject: String,
    to: String,
    date: String,
    parts: Vec<Part>,
}

/// A run of body text, or a link to make clickable.
struct Part {
    text: String,
    link: bool,
}

fn split_links(body: &str) -> Vec<Part> {
    let mut parts = Vec::new();
    let mut rest = body;
    let next_link = |s: &str| {
        [s.find("http://"), s.find("https://")]
            .into_iter()
            .flatten()
            .min()
    };
    while let Some(start) = next_link(rest) {
        let (before, from) = rest.split_at(start);
        let mut end = from
            .find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"')
            .unwrap_or(from.len());
        // A sentence's closing punctuation is not part of the link.
        while end > 0 && from[..end].ends_with(['.', ',', ';', ':', ')', '!', '?', '\'']) {
            end -= 1;
        }
        if !before.is_empty() {
            parts.push(Part {
                text: before.to_owned(),
                link: false,
            });
        }
        parts.push(Part {
            text: from[..end].to_owned(),
            link: true,
        });
        rest = &from[end..];
    }
    if !rest.is_empty() {
        parts.push(Part {
            text: rest.to_owned(),
            link: false,
        });
    }
    parts
}

fn view(m: OutboxMail) -> MailView {
    MailView {
        parts: split_links(&m.body),
        subject: m.subject,
        to: m.to,
        date: m.date,
    }
}

/// GET /emails/ — the outbox (404 unless the server runs with `--development`).
pub async fn get_emails(web: Web) -> Response {
    if !web.app.config().development {
        return crate::fallback::not_found().into_response();
    }
    let (mails, outbox) = match web.app.outbox_dir() {
        Some(dir) => (
            tessera_app::read_outbox(dir)
                .into_iter()
                .map(view)
                .collect(),
            dir.display().to_string(),
        ),
        None => (Vec::new(), String::new()),
    };
    let page = EmailsPage {
        c: web.chrome().await,
        mails,
        outbox,
    };
    web.page(&page)
}

#[cfg(test)]
mod tests {
    use super::split_links;

    #[test]
    fn links_are_found() {
        let parts = split_links("Click:\nhttp://a.example/x/y/ now\nhttps://b.example.");
        let shown: Vec<(String, bool)> = parts.into_iter().map(|p| (p.text, p.link)).collect();
        assert_eq!(
            shown,
            vec![
                ("Click:\n".to_owned(), false),
                ("http://a.example/x/y/".to_owned(), true),
                (" now\n".to_owned(), false),
                ("https://b.example".to_owned(), true),
                (".".to_owned(), false),
            ]
        );
    }
}
