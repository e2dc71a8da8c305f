// Imported before anything that loads the libSQL driver: its native part installs a Rust logger
// when it loads, which writes coloured, non-JSON lines (a failed sync with an unreachable primary,
// several a second) into the site's JSON log on stdout. RUST_LOG=off stops it; what matters of
// those failures the site logs itself, as JSON (`replica.sync-failed`). An operator who sets
// RUST_LOG keeps their own.
process.env.RUST_LOG ??= 'off';
