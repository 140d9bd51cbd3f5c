//! `POST /messages/render`: the compose box's preview, rendered as a sent message would be,
//! with nothing stored and no events.

use crate::{App, AppError, Principal, Result};

impl App {
    /// The HTML of `content` as a message of the caller's organization (`""` for `""`).
    pub async fn render_preview(&self, who: &Principal, content: &str) -> Result<String> {
        if content.is_empty() {
            return Ok(String::new());
        }
        if content.chars().count() > super::MAX_MESSAGE_LENGTH {
            return Err(AppError::bad(format!(
                "content is too long (limit: {} characters)",
                super::MAX_MESSAGE_LENGTH
            )));
        }
        let mut people = super::People::new(who.realm_id);
        Ok(self.render_in_realm(&mut people, content).await?.html)
    }
}
