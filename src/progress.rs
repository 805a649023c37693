//! Progress bars for long stages (hidden automatically when stderr is not a terminal).

use indicatif::{ProgressBar, ProgressStyle};

/// A bar counting `len` steps, with elapsed time and ETA.
pub fn bar(len: u64, label: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template(
        "{prefix:>9} [{elapsed_precise}] {wide_bar} {pos}/{len} ({eta} left) {msg}",
    )
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_prefix(label.to_string());
    bar
}

/// Writes `text` to stdout. A reader that went away (`flinktune status | head`) ends the
/// command quietly, with exit status 0, as a shell pipeline expects; any other failure
/// (a full disk behind `> file`) is an error naming stdout.
pub fn print(text: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_fmt(text).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        r => r.map_err(|e| anyhow::anyhow!("cannot write to stdout: {e}")),
    }
}

/// [`print`] where no error can be returned: a failure ends the command with it.
pub fn print_or_exit(text: std::fmt::Arguments<'_>) {
    if let Err(e) = print(text) {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
