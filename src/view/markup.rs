//! The pieces every section of the page is made of: text escaped for HTML, a section, a
//! headline figure with a stable id, numbers as the page shows them, an SVG figure embedded
//! as an image.

use base64::Engine;

/// Rows of a table shown at most, newest first; the rest are in the stage's files.
pub const MAX_ROWS: usize = 300;

/// Text made safe for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A section of the page with its id and heading; `body` is HTML.
pub fn section(id: &str, title: &str, body: &str) -> String {
    format!("<section id=\"{id}\">\n<h2>{title}</h2>\n{body}\n</section>\n")
}

/// A list item; `html` is HTML.
pub fn li(html: &str) -> String {
    format!("<li>{html}</li>")
}

/// A number as the page shows it: four decimals below 1000, none above.
pub fn num(v: f64) -> String {
    if !v.is_finite() {
        "n/a".into()
    } else if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.4}")
    }
}

/// [`num`], or nothing.
pub fn opt_num(v: Option<f64>) -> String {
    v.map(num).unwrap_or_default()
}

/// A headline figure with a stable id; `value` goes into `data-value` unrounded.
pub fn tile(id: &str, label: &str, shown: &str, value: &str) -> String {
    format!(
        "<div class=\"tile\"><div class=\"label\">{label}</div>\
         <div class=\"value\" id=\"{id}\" data-value=\"{}\">{}</div></div>",
        escape(value),
        escape(shown)
    )
}

/// Under a table cut at [`MAX_ROWS`]: where the rest are.
pub fn more(n: usize, file: &str) -> String {
    match n > MAX_ROWS {
        true => format!(
            "<p class=\"meta\">The {MAX_ROWS} newest of {n} rows; all of them in <code>{file}</code>.</p>"
        ),
        false => String::new(),
    }
}

/// An SVG document as an image: embedded as data, so it can neither run script nor load
/// anything.
pub fn figure(title: &str, svg: &str) -> String {
    let data = base64::engine::general_purpose::STANDARD.encode(svg.as_bytes());
    format!(
        "<figure><img alt=\"{t}\" src=\"data:image/svg+xml;base64,{data}\"></figure>\n",
        t = escape(title)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_markup_character_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x&y's")</script>"#),
            "&lt;script&gt;alert(&quot;x&amp;y&#39;s&quot;)&lt;/script&gt;"
        );
        assert_eq!(
            escape("taskmanager.memory.process.size"),
            "taskmanager.memory.process.size"
        );
        assert_eq!(escape("Ünïcode 1 → 2"), "Ünïcode 1 → 2");
    }

    #[test]
    fn a_figure_is_an_image_of_data_and_its_title_escaped() {
        let f = figure("a <b>", "<svg><script>x()</script></svg>");
        assert!(f.contains("alt=\"a &lt;b&gt;\""), "{f}");
        assert!(f.contains("src=\"data:image/svg+xml;base64,"), "{f}");
        assert!(!f.contains("<script>") && !f.contains("<svg"), "{f}");
    }
}
