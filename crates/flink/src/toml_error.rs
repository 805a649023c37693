//! TOML errors that a user can act on: `file:line: key `k`: message`, found from the
//! parser's span, for study files and catalogues alike.

/// Formats a TOML error as `file:line: key `k`: message`, finding the key from the span.
pub fn toml_error(origin: &str, text: &str, err: &toml::de::Error) -> anyhow::Error {
    let message = err.message().trim();
    let Some(span) = err.span() else {
        return anyhow::anyhow!("{origin}: {message}");
    };
    let line = text[..span.start.min(text.len())].matches('\n').count() + 1;
    // A missing key's span is the whole table that lacks it: name the table, not the key
    // that happens to open it.
    if message.starts_with("missing field") {
        let here = text[span.start.min(text.len())..]
            .lines()
            .next()
            .unwrap_or("");
        return match here.trim() {
            h if h.starts_with('[') => anyhow::anyhow!("{origin}:{line}: section {h}: {message}"),
            _ => anyhow::anyhow!("{origin}: {message} (a top-level key)"),
        };
    }
    // A syntax error is found where the parser stumbles, often the line after the
    // mistake: name no key then, quote the line instead.
    let syntax = text.parse::<toml::Table>().is_err();
    match key_at_line(text, line) {
        Some(key) if !syntax => anyhow::anyhow!("{origin}:{line}: key `{key}`: {message}"),
        _ => {
            let quoted = text.lines().nth(line - 1).unwrap_or("").trim();
            anyhow::anyhow!("{origin}:{line}: {message} (at `{quoted}`)")
        }
    }
}

/// The dotted key defined on a line (`section.key`), if the line defines one.
pub fn key_at_line(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line - 1)?.trim();
    let key = here.split_once('=')?.0.trim().trim_matches('"');
    if key.is_empty() || key.starts_with('[') {
        return None;
    }
    let section = lines[..line - 1]
        .iter()
        .rev()
        .map(|l| l.trim())
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match section {
        Some(s) if !s.is_empty() => format!("{s}.{key}"),
        _ => key.to_string(),
    })
}

/// The 1-based line defining a dotted key (`search.rate`), if any.
pub fn line_of_key(text: &str, dotted: &str) -> Option<usize> {
    (1..=text.lines().count()).find(|&n| key_at_line(text, n).as_deref() == Some(dotted))
}
