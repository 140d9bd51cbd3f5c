//! The `zuliprc` file, byte for byte as Zulip's web app writes it (`generate_zuliprc_content`).

/// Render a `zuliprc`: `[api]`, `email`, `key`, `site`, and `token` for outgoing-webhook bots;
/// `\n` line ends, no spaces around `=`, exactly one trailing newline.
pub fn render(email: &str, key: &str, site: &str, token: Option<&str>) -> String {
    let mut out = format!("[api]\nemail={email}\nkey={key}\nsite={site}\n");
    if let Some(token) = token {
        out.push_str("token=");
        out.push_str(token);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_format() {
        assert_eq!(
            render("a@b.co", "K", "https://z.example", None),
            "[api]\nemail=a@b.co\nkey=K\nsite=https://z.example\n"
        );
        assert_eq!(
            render("o-bot@b.co", "K", "http://h", Some("T")),
            "[api]\nemail=o-bot@b.co\nkey=K\nsite=http://h\ntoken=T\n"
        );
    }
}
