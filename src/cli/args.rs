//! Argument parsers shared by the subcommands: sizes, durations, `--keep` rules, limits.

use std::time::Duration;

use spoolscan::{Rule, ScannerBuilder, Selector};

/// Parses a size: a whole number of bytes, or a number with a suffix `KiB`, `MiB`, `GiB`
/// (also `K`, `M`, `G`: binary) or `KB`, `MB`, `GB` (decimal), case-insensitive.
pub fn parse_size(s: &str) -> Result<usize, String> {
    let t = s.trim();
    let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
    let (num, suffix) = t.split_at(split);
    if num.is_empty() {
        return Err(format!(
            "invalid size {s:?}: expected a number of bytes, e.g. 4KiB, 16MiB, 1GiB"
        ));
    }
    let mult: u64 = match suffix.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kib" => 1 << 10,
        "m" | "mib" => 1 << 20,
        "g" | "gib" => 1 << 30,
        "kb" => 1_000,
        "mb" => 1_000_000,
        "gb" => 1_000_000_000,
        _ => {
            return Err(format!(
                "invalid size {s:?}: the suffix must be KiB, MiB, GiB, K, M, G, KB, MB or GB"
            ));
        }
    };
    num.parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(mult))
        .and_then(|n| usize::try_from(n).ok())
        .ok_or_else(|| format!("invalid size {s:?}: too large"))
}

/// Parses a duration: `500ms`, `30s`, `5m`, `1h`, or a plain number of seconds (fractions
/// allowed).
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let (num, unit) = match t.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num
        .parse()
        .map_err(|_| format!("invalid duration {s:?}: expected e.g. 500ms, 30s, 5m, 1h"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => {
            return Err(format!(
                "invalid duration {s:?}: the unit must be ms, s, m or h"
            ));
        }
    };
    Duration::try_from_secs_f64(secs).map_err(|_| format!("invalid duration {s:?}"))
}

/// Parses `PATH=V1,V2`.
pub fn parse_keep(s: &str) -> Result<(String, Vec<String>), String> {
    let (path, values) = s
        .split_once('=')
        .ok_or_else(|| format!("invalid rule {s:?}: expected PATH=VALUE[,VALUE...]"))?;
    Ok((
        path.to_string(),
        values.split(',').map(str::to_string).collect(),
    ))
}

/// The selection and limit options of `scan` (and of `run`).
#[derive(clap::Args, Debug, Clone)]
pub struct ScanOptions {
    /// Retain lines whose string at key path PATH equals one of the values
    /// (e.g. `type=turn.completed,error` or `item.type=agent_message`). Repeatable; all rules
    /// are OR-ed. Without any rule every non-blank line is retained.
    #[arg(long = "keep", value_name = "PATH=V1,V2", value_parser = parse_keep)]
    pub keep: Vec<(String, Vec<String>)>,
    /// Retain lines whose string at PATH contains one of the substrings. Repeatable.
    #[arg(long = "keep-contains", value_name = "PATH=S1,S2", value_parser = parse_keep)]
    pub keep_contains: Vec<(String, Vec<String>)>,
    /// Compare values exactly (default: ASCII case-insensitive). Applies to every rule.
    #[arg(long)]
    pub case_sensitive: bool,
    #[command(flatten)]
    pub limits: Limits,
    /// Parse every line up to the ceiling, counting invalid skipped lines as malformed.
    #[arg(long)]
    pub validate_all: bool,
}

/// The size limits (DESIGN §3).
#[derive(clap::Args, Debug, Clone)]
pub struct Limits {
    /// Bytes of an oversize line that classification may look at.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "4KiB")]
    pub probe: usize,
    /// Lines up to this size are classified exactly.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "16MiB")]
    pub max_line: usize,
    /// Retained lines larger than this are dropped (and reported), never decoded.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "64MiB")]
    pub ceiling: usize,
    /// Copy files into an unnamed spool instead of mapping them (immune to SIGBUS when
    /// another process truncates the file during the scan).
    #[arg(long)]
    pub no_mmap: bool,
}

/// The default of `--threads` and the threads of `summarize` and `run`: the available cores.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

impl Limits {
    /// Applies the limits to a builder.
    pub fn apply(&self, b: &mut ScannerBuilder) {
        b.probe(self.probe)
            .max_line(self.max_line)
            .ceiling(self.ceiling)
            .mmap(!self.no_mmap);
    }
}

impl ScanOptions {
    /// A scanner builder for these options, or a configuration error message.
    pub fn builder(&self) -> Result<ScannerBuilder, String> {
        let mut sel = Selector::new();
        for (path, values) in &self.keep {
            sel = sel.rule(Rule::equals(path, values.clone()).map_err(|e| e.to_string())?);
        }
        for (path, values) in &self.keep_contains {
            sel = sel.rule(Rule::contains(path, values.clone()).map_err(|e| e.to_string())?);
        }
        let mut b = ScannerBuilder::new();
        b.select(sel)
            .case_sensitive(self.case_sensitive)
            .validate_all(self.validate_all);
        self.limits.apply(&mut b);
        Ok(b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        for (s, n) in [
            ("0", 0),
            ("4096", 4096),
            ("4KiB", 4096),
            ("4kib", 4096),
            ("4K", 4096),
            ("16MiB", 16 << 20),
            ("16m", 16 << 20),
            ("1GiB", 1 << 30),
            ("1G", 1 << 30),
            ("2KB", 2000),
            ("3mb", 3_000_000),
            ("1GB", 1_000_000_000),
        ] {
            assert_eq!(parse_size(s), Ok(n), "{s}");
        }
        for s in [
            "",
            "KiB",
            "4 KiBs",
            "1.5MiB",
            "-1",
            "4TiB",
            "x",
            "99999999999999999999",
        ] {
            assert!(parse_size(s).is_err(), "{s}");
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_duration("2"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("0.5"), Ok(Duration::from_millis(500)));
        for s in ["", "s", "5d", "-1s", "abc"] {
            assert!(parse_duration(s).is_err(), "{s}");
        }
    }

    #[test]
    fn keep() {
        assert_eq!(
            parse_keep("item.type=a,b"),
            Ok(("item.type".into(), vec!["a".into(), "b".into()]))
        );
        assert!(parse_keep("type").is_err());
    }
}
