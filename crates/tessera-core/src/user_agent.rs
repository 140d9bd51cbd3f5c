//! A readable name for the browser or program behind a User-Agent ("Chrome on Linux"), for
//! the Devices section and new-login emails.

/// A readable name for a browser: "Chrome on Linux".
pub fn describe(ua: &str) -> String {
    let browser = if ua.contains("Edg/") {
        "Edge"
    } else if ua.contains("Firefox/") {
        "Firefox"
    } else if ua.contains("Chrome/") || ua.contains("Chromium/") || ua.contains("HeadlessChrome") {
        "Chrome"
    } else if ua.contains("Safari/") {
        "Safari"
    } else if ua.is_empty() {
        "Unknown browser"
    } else {
        ua.split(['/', ' ']).next().unwrap_or("Browser")
    };
    let os = if ua.contains("Android") {
        " on Android"
    } else if ua.contains("iPhone") || ua.contains("iPad") {
        " on iOS"
    } else if ua.contains("Windows") {
        " on Windows"
    } else if ua.contains("Mac OS") {
        " on macOS"
    } else if ua.contains("Linux") {
        " on Linux"
    } else {
        ""
    };
    format!("{browser}{os}")
}

#[cfg(test)]
mod tests {
    use super::describe as describe_user_agent;

    #[test]
    fn user_agents() {
        assert_eq!(
            describe_user_agent(
                "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/156.0 Safari/537.36"
            ),
            "Chrome on Linux"
        );
        assert_eq!(
            describe_user_agent("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0) Safari/604.1"),
            "Safari on iOS"
        );
        assert_eq!(describe_user_agent(""), "Unknown browser");
    }
}
