//! `POST /messages/render`: the compose box's preview, rendered as a sent message would be,
//! with nothing stored and no events.

use crate::{App, Principal, Result};

impl App {
    /// The HTML of `content` as a message of the caller's organization (`""` for `""`).
    pub async fn render_preview(&self, who: &Principal, content: &str) -> Result<String> {
        if content.is_empty() {
            return Ok(String::new());
        }
        let mut people = super::People::new(who.realm_id);
        Ok(self.render_in_realm(&mut people, content).await?.html)
    }
}
