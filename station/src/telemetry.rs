//! Structured logging setup. Logs go to stderr so command output on stdout
//! stays machine-readable; JSON is for log shippers.

use tracing_subscriber::EnvFilter;

/// Installs the global subscriber; `RUST_LOG` overrides `default_level`.
pub fn init(json: bool, default_level: &str) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    // Ignoring the result: a subscriber may already be set (tests), which is fine.
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
}
