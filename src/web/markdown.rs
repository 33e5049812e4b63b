//! Markdown written by users, rendered to HTML with everything unsafe removed:
//! no script, no event handlers, no `javascript:` links.

use pulldown_cmark::{Options, Parser, html};

/// The sanitized HTML of `source`, safe to insert into a page as is.
pub fn to_safe_html(source: &str) -> String {
    let mut unsafe_html = String::new();
    html::push_html(
        &mut unsafe_html,
        Parser::new_ext(
            source,
            Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH,
        ),
    );
    ammonia::Builder::default()
        .url_schemes(["http", "https", "mailto"].into())
        .link_rel(Some("noopener noreferrer nofollow"))
        .clean(&unsafe_html)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_renders_and_scripts_do_not() {
        let html = to_safe_html(
            "## Context\n\n**Bold** and [a link](https://example.org)\n\n<script>alert(1)</script>\n\n[bad](javascript:alert(1)) <img src=x onerror=alert(1)>",
        );
        assert!(html.contains("<h2>Context</h2>"));
        assert!(html.contains("<strong>Bold</strong>"));
        assert!(html.contains(r#"href="https://example.org""#));
        assert!(!html.contains("<script"));
        assert!(!html.contains("javascript:"));
        assert!(!html.contains("onerror"));
    }
}
