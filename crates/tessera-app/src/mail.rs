//! Outgoing email through lettre: SMTP from configuration, or (development, tests and any
//! server without SMTP) an outbox folder of `.eml` files that the development `/emails/` page
//! lists. Bodies are plain text, base64-encoded so that long links survive unwrapped; the
//! outbox also keeps a plain `.txt` copy of each message, and logs where it went.

use crate::{AppError, Result};
use base64::Engine as _;
use lettre::message::header::{ContentTransferEncoding, ContentType};
use lettre::message::{Mailbox, SinglePart};
use lettre::{AsyncFileTransport, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use std::path::{Path, PathBuf};

/// Where mail goes.
#[derive(Debug, Clone)]
pub enum MailTransport {
    /// `.eml` files in a folder (created on first use).
    Outbox(PathBuf),
    /// An SMTP server, as a lettre URL: `smtp://user:pass@host:587?tls=required`,
    /// `smtps://host:465`, `smtp://localhost:25`.
    Smtp(String),
}

/// Mail settings.
#[derive(Debug, Clone)]
pub struct MailConfig {
    pub from: String,
    pub transport: MailTransport,
}

/// One message to send.
#[derive(Debug, Clone)]
pub struct OutgoingMail {
    pub to: String,
    pub subject: String,
    pub body: String,
}

/// One message found in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxMail {
    pub file_name: String,
    pub to: String,
    pub subject: String,
    pub date: String,
    pub body: String,
    /// Modification time, for ordering (nanoseconds since the epoch).
    pub modified: u64,
}

pub(crate) enum Mailer {
    Outbox(PathBuf, AsyncFileTransport<Tokio1Executor>),
    Smtp(Box<AsyncSmtpTransport<Tokio1Executor>>),
}

impl Mailer {
    pub fn new(config: &MailConfig) -> Result<Mailer> {
        Ok(match &config.transport {
            MailTransport::Outbox(dir) => {
                Mailer::Outbox(dir.clone(), AsyncFileTransport::new(dir.clone()))
            }
            MailTransport::Smtp(url) => Mailer::Smtp(Box::new(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
                    .map_err(|e| AppError::Config(format!("SMTP URL: {e}")))?
                    .build(),
            )),
        })
    }

    pub async fn send(&self, from: &str, mail: OutgoingMail) -> Result<()> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| AppError::Config(format!("sender address {from:?}: {e}")))?;
        let to: Mailbox = mail
            .to
            .parse()
            .map_err(AppError::failed("parsing the recipient address"))?;
        let (mail_to, mail_subject, mail_body) =
            (mail.to.clone(), mail.subject.clone(), mail.body.clone());
        let message = Message::builder()
            .from(from)
            .to(to)
            .subject(mail.subject)
            .singlepart(
                SinglePart::builder()
                    .header(ContentType::TEXT_PLAIN)
                    .header(ContentTransferEncoding::Base64)
                    .body(mail.body),
            )
            .map_err(AppError::failed("building a mail"))?;
        match self {
            Mailer::Outbox(dir, transport) => {
                tokio::fs::create_dir_all(dir)
                    .await
                    .map_err(AppError::failed("creating the outbox folder"))?;
                let id = transport
                    .send(message)
                    .await
                    .map_err(AppError::failed("writing to the outbox"))?;
                // A plain-text copy beside the `.eml`, for a person without a mail reader.
                let text_path = dir.join(format!("{id}.txt"));
                let text = format!(
                    "To: {}\nSubject: {}\n\n{}",
                    mail_to, mail_subject, mail_body
                );
                tokio::fs::write(&text_path, text)
                    .await
                    .map_err(AppError::failed("writing to the outbox"))?;
                tracing::info!(path = %text_path.display(), "no SMTP server: mail written to the outbox");
            }
            Mailer::Smtp(transport) => {
                transport
                    .send(message)
                    .await
                    .map_err(AppError::failed("sending by SMTP"))?;
            }
        }
        Ok(())
    }

    pub fn outbox_dir(&self) -> Option<&Path> {
        match self {
            Mailer::Outbox(dir, _) => Some(dir),
            Mailer::Smtp(_) => None,
        }
    }
}

/// Read the messages of an outbox folder, newest first. Files that are not mail written by
/// [`Mailer`] are skipped.
pub fn read_outbox(dir: &Path) -> Vec<OutboxMail> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut mails: Vec<OutboxMail> = entries
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "eml"))
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let modified = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map(|d| d.as_nanos() as u64)
                .unwrap_or(0);
            parse_eml(&e.file_name().to_string_lossy(), &text, modified)
        })
        .collect();
    mails.sort_by(|a, b| {
        b.modified
            .cmp(&a.modified)
            .then_with(|| b.file_name.cmp(&a.file_name))
    });
    mails
}

fn parse_eml(file_name: &str, text: &str, modified: u64) -> Option<OutboxMail> {
    let text = text.replace("\r\n", "\n");
    let (head, body) = text.split_once("\n\n")?;
    // Unfold continuation lines, then pick the headers we show.
    let unfolded = head.replace("\n ", " ").replace("\n\t", " ");
    let header = |name: &str| {
        unfolded
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
            .unwrap_or_default()
    };
    let body = if header("Content-Transfer-Encoding").eq_ignore_ascii_case("base64") {
        let compact: String = body.split_whitespace().collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(compact)
            .ok()?;
        String::from_utf8(bytes).ok()?
    } else {
        body.to_owned()
    };
    Some(OutboxMail {
        file_name: file_name.to_owned(),
        to: header("To"),
        subject: header("Subject"),
        date: header("Date"),
        body,
        modified,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn outbox_round_trip() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let outbox = dir.path().join("outbox");
        let mailer = Mailer::new(&MailConfig {
            from: "Tessera <noreply@example.com>".into(),
            transport: MailTransport::Outbox(outbox.clone()),
        })
        .unwrap_or_else(|e| panic!("{e}"));
        let long_link = format!(
            "http://example.com/accounts/password/reset/{}/",
            "x".repeat(120)
        );
        mailer
            .send(
                "Tessera <noreply@example.com>",
                OutgoingMail {
                    to: "someone@example.com".into(),
                    subject: "Password reset request for Tessera".into(),
                    body: format!("Click the link below.\n{long_link}\n"),
                },
            )
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        let mails = read_outbox(&outbox);
        assert_eq!(mails.len(), 1);
        assert_eq!(mails[0].to, "someone@example.com");
        assert_eq!(mails[0].subject, "Password reset request for Tessera");
        assert!(mails[0].body.contains(&long_link), "{}", mails[0].body);
        // And readable as text, the link whole.
        let texts: Vec<_> = std::fs::read_dir(&outbox)
            .unwrap_or_else(|e| panic!("{e}"))
            .filter_map(|e| e.ok())
            .filter(|e| e.path().extension().is_some_and(|x| x == "txt"))
            .collect();
        assert_eq!(texts.len(), 1);
        let text = std::fs::read_to_string(texts[0].path()).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.starts_with("To: someone@example.com\nSubject: Password reset request"));
        assert!(text.contains(&long_link), "{text}");
    }
}
