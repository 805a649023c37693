//! What a command says while it works, and how it writes its result.
//!
//! Results go to stdout ([`print`]); progress bars and informational lines go to stderr,
//! so `flinktune … > file` or `| jq` gets only the result. `-q` ([`set_quiet`]) silences
//! the bars and the informational lines (warnings and errors are still printed);
//! `-v` ([`set_verbose`]) makes summaries list every failure reason whole. Bars are drawn
//! only when stderr is a terminal, and never in colour.

use indicatif::{ProgressBar, ProgressStyle};
use std::sync::atomic::{AtomicBool, Ordering};

static QUIET: AtomicBool = AtomicBool::new(false);
static VERBOSE: AtomicBool = AtomicBool::new(false);

/// `-q`: no progress bars, no informational lines on stderr.
pub fn set_quiet(quiet: bool) {
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `-q` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// `-v`: summaries show every failure reason whole.
pub fn set_verbose(verbose: bool) {
    VERBOSE.store(verbose, Ordering::Relaxed);
}

/// Whether `-v` was given.
pub fn verbose() -> bool {
    VERBOSE.load(Ordering::Relaxed)
}

/// An informational line on stderr (what a command did besides its result), unless `-q`.
pub fn info(text: std::fmt::Arguments<'_>) {
    if !quiet() {
        eprintln!("{text}");
    }
}

/// A bar counting `len` steps, with elapsed time and ETA; hidden under `-q` (indicatif
/// hides it by itself when stderr is not a terminal).
pub fn bar(len: u64, label: &str) -> ProgressBar {
    if quiet() {
        return ProgressBar::hidden();
    }
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
