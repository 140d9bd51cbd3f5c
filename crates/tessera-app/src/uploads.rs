//! Uploaded files (Zulip's `zerver/views/upload.py` and `zerver/lib/attachments.py`): a
//! person or bot uploads a file; it is kept in the database (so every node sharing one
//! PostgreSQL serves it); a message that links to it lets the message's readers download it.

use crate::{App, AppError, Notice, Principal, Result};
use serde_json::json;
use tessera_core::secrets::Purpose;
use tessera_core::uploads;
use tessera_store::{AttachmentRow, NewAttachment, RECIPIENT_STREAM};

/// How long a temporary download URL works (Zulip's `SIGNED_ACCESS_TOKEN_VALIDITY_IN_SECONDS`).
pub const TEMPORARY_URL_SECS: i64 = 60;

/// A stored upload: where it is served.
#[derive(Debug, Clone)]
pub struct Uploaded {
    pub url: String,
    pub file_name: String,
}

/// A file to serve.
pub struct Download {
    pub attachment: AttachmentRow,
    pub bytes: Vec<u8>,
}

/// Why a file is not served (Zulip answers these with small HTML pages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownloadRefused {
    NotFound,
    Forbidden,
}

impl App {
    /// `POST /user_uploads`: exactly one file, at most [`crate::MAX_FILE_UPLOAD_SIZE_MIB`].
    pub async fn upload_file(
        &self,
        who: &Principal,
        files: Vec<(String, String, Vec<u8>)>,
    ) -> Result<Uploaded> {
        let mut files = files.into_iter();
        let Some((raw_name, sent_type, bytes)) = files.next() else {
            return Err(AppError::bad("You must specify a file to upload"));
        };
        if files.next().is_some() {
            return Err(AppError::bad("You may only upload one file at a time"));
        }
        let max = crate::MAX_FILE_UPLOAD_SIZE_MIB;
        if bytes.len() as i64 > max * 1024 * 1024 {
            return Err(AppError::bad(format!(
                "File is larger than this server's configured maximum upload size ({max} MiB)."
            )));
        }
        // NUL cannot be stored (PostgreSQL text) and means nothing in a name.
        let file_name: String = uploads::unquote(&raw_name).replace('\0', "");
        let path_id = uploads::new_path_id(who.realm_id, &file_name);
        let content_type = uploads::content_type(&sent_type, &file_name);
        let now = self.now();
        let id = self
            .store()
            .insert_attachment(&NewAttachment {
                realm_id: who.realm_id,
                owner_id: who.user_id.0,
                path_id: &path_id,
                file_name: &file_name,
                content_type: &content_type,
                content: &bytes,
                now,
            })
            .await?;
        self.events().publish(Notice::plain(
            vec![who.user_id.0],
            json!({"type": "attachment", "op": "add",
                   "attachment": {"id": id, "name": file_name, "path_id": path_id,
                                  "size": bytes.len(), "create_time": now.div_euclid(1000),
                                  "messages": []},
                   "upload_space_used": bytes.len()}),
        ));
        Ok(Uploaded {
            url: format!("/user_uploads/{path_id}"),
            file_name,
        })
    }

    /// Link the files a new or edited message names to it (Zulip's `claim_attachment`):
    /// only files its sender uploaded.
    pub(crate) async fn claim_uploads(&self, sender_id: i64, message_id: i64, content: &str) {
        let paths = uploads::linked_path_ids(content);
        if paths.is_empty() {
            return;
        }
        if let Err(e) = self
            .store()
            .claim_attachments(sender_id, message_id, &paths)
            .await
        {
            tracing::warn!(error = %e, message_id, "could not link uploads to a message");
        }
    }

    /// Zulip's `validate_attachment_request`: the owner, anyone who may read a message that
    /// links to the file (received it, or sees its channel's shared history).
    async fn may_read_upload(&self, who: &Principal, a: &AttachmentRow) -> Result<bool> {
        if a.owner_id == who.user_id.0 {
            return Ok(true);
        }
        if a.realm_id != who.realm_id {
            return Ok(false);
        }
        for message_id in self.store().attachment_message_ids(a.id).await? {
            let Some(m) = self.store().message_for(who.user_id.0, message_id).await? else {
                continue;
            };
            if m.has_user_message {
                return Ok(true);
            }
            if m.recipient_type == RECIPIENT_STREAM
                && let Some(s) = self.store().stream_by_id(m.recipient_id).await?
                && s.history_public_to_subscribers
                && self.can_access_stream(who, &s).await?
            {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// `GET /user_uploads/{path}`: the file, for someone who may read it.
    pub async fn download(
        &self,
        who: Option<&Principal>,
        path_id: &str,
    ) -> Result<std::result::Result<Download, DownloadRefused>> {
        let Some(a) = self.store().attachment_by_path(path_id).await? else {
            return Ok(Err(DownloadRefused::NotFound));
        };
        match who {
            Some(who) if self.may_read_upload(who, &a).await? => {}
            _ => return Ok(Err(DownloadRefused::Forbidden)),
        }
        let bytes = self.store().attachment_content(a.id).await?;
        Ok(Ok(Download {
            attachment: a,
            bytes,
        }))
    }

    /// `GET /json/user_uploads/{path}`: a URL that serves the file without credentials for
    /// [`TEMPORARY_URL_SECS`] (for clients that hand it to another program).
    pub async fn temporary_upload_url(
        &self,
        who: &Principal,
        path_id: &str,
    ) -> Result<std::result::Result<String, DownloadRefused>> {
        let Some(a) = self.store().attachment_by_path(path_id).await? else {
            return Ok(Err(DownloadRefused::NotFound));
        };
        if !self.may_read_upload(who, &a).await? {
            return Ok(Err(DownloadRefused::Forbidden));
        }
        let expires = self.now().div_euclid(1_000_000) + TEMPORARY_URL_SECS;
        let signed = format!("{expires}:{path_id}");
        let mac = hex::encode(self.secret().digest(Purpose::UploadUrl, &signed).0);
        let token = hex::encode_upper(format!("{signed}:{mac}"));
        let last = path_id.rsplit('/').next().unwrap_or_default();
        Ok(Ok(format!("/user_uploads/temporary/{token}/{last}")))
    }

    /// `GET /user_uploads/temporary/{token}/{filename}`: Zulip's `Invalid token` and
    /// `Invalid filename` errors.
    pub async fn temporary_download(&self, token: &str, file_name: &str) -> Result<Download> {
        let invalid = || AppError::bad("Invalid token");
        let text = hex::decode(token)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or_else(invalid)?;
        let (signed, mac) = text.rsplit_once(':').ok_or_else(invalid)?;
        let expected = hex::encode(self.secret().digest(Purpose::UploadUrl, signed).0);
        if !tessera_core::token::secrets_equal(expected.as_bytes(), mac.as_bytes()) {
            return Err(invalid());
        }
        let (expires, path_id) = signed.split_once(':').ok_or_else(invalid)?;
        let expires: i64 = expires.parse().map_err(|_| invalid())?;
        if expires < self.now().div_euclid(1_000_000) {
            return Err(invalid());
        }
        if path_id.rsplit('/').next() != Some(file_name) {
            return Err(AppError::bad("Invalid filename"));
        }
        let a = self
            .store()
            .attachment_by_path(path_id)
            .await?
            .ok_or_else(invalid)?;
        let bytes = self.store().attachment_content(a.id).await?;
        Ok(Download {
            attachment: a,
            bytes,
        })
    }
}
