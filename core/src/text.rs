//! Untrusted text made safe to print. Keys, ids, reasons and paths can come from a manifest or a
//! source that an attacker wrote; printed raw, a control character (an ANSI escape sequence, a
//! carriage return) or a bidirectional override could rewrite what a terminal shows. Every host
//! prints such text through [`escaped`].

use std::fmt;

/// `text` for display: control characters and bidirectional formatting characters are written
/// as Rust escapes (`\u{1b}`, `\n`), a backslash as `\\`; everything else as it is.
pub fn escaped(text: &str) -> Escaped<'_> {
    Escaped(text)
}

/// See [`escaped`].
#[derive(Debug, Clone, Copy)]
pub struct Escaped<'a>(&'a str);

/// Characters that reorder text on screen (Unicode bidirectional formatting characters).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}'
    )
}

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = self.0;
        if !text
            .chars()
            .any(|c| c == '\\' || c.is_control() || is_bidi_control(c))
        {
            return f.write_str(text);
        }
        for c in text.chars() {
            if c == '\\' {
                f.write_str("\\\\")?;
            } else if c.is_control() || is_bidi_control(c) {
                write!(f, "{}", c.escape_default())?;
            } else {
                write!(f, "{c}")?;
            }
        }
        Ok(())
    }
}

/// A byte count for people (`4.2 MB`).
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 5] = ["B", "kB", "MB", "GB", "TB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{n} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_for_people() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(4_208_862), "4.2 MB");
    }

    #[test]
    fn terminal_controls_are_shown_not_obeyed() {
        assert_eq!(escaped("plain é/ü.txt").to_string(), "plain é/ü.txt");
        assert_eq!(
            escaped("a\u{1b}[2Jb\rc\nd").to_string(),
            "a\\u{1b}[2Jb\\rc\\nd"
        );
        assert_eq!(escaped("x\u{202e}fdp.exe").to_string(), "x\\u{202e}fdp.exe");
        assert_eq!(escaped("a\\b").to_string(), "a\\\\b");
        assert_eq!(escaped("\u{9b}31m").to_string(), "\\u{9b}31m");
    }
}
