//! Compose durations (`30s`, `1m30s`, `500ms`, `1.5h`, `1d`) as Compose v2 reads them: a
//! sequence of numbers, each with a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`, `d`, `w`).

use std::time::Duration;

/// The units Compose v2 accepts, longest spelling first so `ms` is not read as `m`.
const UNITS: [(&str, f64); 10] = [
    ("ns", 1e-9),
    ("us", 1e-6),
    ("µs", 1e-6),
    ("μs", 1e-6),
    ("ms", 1e-3),
    ("s", 1.0),
    ("m", 60.0),
    ("h", 3600.0),
    ("d", 86_400.0),
    ("w", 604_800.0),
];

/// The duration `text` means, or `None` where Compose rejects it (`30`, `5 s`, `1S`, or
/// more than Go's duration holds: 2^63 - 1 ns, about 292 years). A negative duration,
/// which Compose passes on and the engine refuses, is `None` too.
pub fn parse(text: &str) -> Option<Duration> {
    let body = text.strip_prefix('+').unwrap_or(text);
    // Go's ParseDuration, which Compose uses, takes a bare zero.
    if body == "0" {
        return Some(Duration::ZERO);
    }
    if body.is_empty() || body.starts_with('-') {
        return None;
    }
    let mut rest = body;
    let mut secs = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = match &rest[..digits] {
            "" | "." => return None,
            n => n.parse().ok()?,
        };
        rest = &rest[digits..];
        let (unit, scale) = UNITS.iter().find(|(u, _)| rest.starts_with(u))?;
        secs += number * scale;
        rest = &rest[unit.len()..];
    }
    Duration::try_from_secs_f64(secs)
        .ok()
        .filter(|d| d.as_nanos() <= i64::MAX as u128)
}

/// What the engine accepts for a healthcheck's interval, timeout or start period: zero
/// (take the image's or the default) or at least a millisecond.
pub fn engine_accepts(d: Duration) -> bool {
    d.is_zero() || d >= Duration::from_millis(1)
}

/// `30s`, `1.5s`, `0.5s`: seconds as a person reads them.
pub fn seconds(d: Duration) -> String {
    let s = d.as_secs_f64();
    if (s - s.round()).abs() < 1e-9 {
        format!("{}s", s.round())
    } else {
        format!("{}s", (s * 10.0).round() / 10.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_compose_accepts() {
        let secs = |t: &str| parse(t).map(|d| d.as_secs_f64());
        assert_eq!(secs("30s"), Some(30.0));
        assert_eq!(secs("1m30s"), Some(90.0));
        assert_eq!(secs("500ms"), Some(0.5));
        assert_eq!(secs("1.5h"), Some(5400.0));
        assert_eq!(secs(".5s"), Some(0.5));
        assert_eq!(secs("1s500ms"), Some(1.5));
        assert_eq!(secs("+5s"), Some(5.0));
        assert_eq!(secs("1d"), Some(86_400.0));
        assert_eq!(secs("0"), Some(0.0));
        // Go's time.Duration is an int64 of nanoseconds.
        assert_eq!(secs("2562047h"), Some(2562047.0 * 3600.0));
        assert_eq!(secs("2562048h"), None);
        assert_eq!(secs("99999999999999999999999h"), None);
        assert_eq!(secs("0s"), Some(0.0));
        assert_eq!(parse("10us"), Some(Duration::from_micros(10)));
    }

    #[test]
    fn what_compose_or_the_engine_rejects() {
        for bad in [
            "30", "5 s", "1S", "abc", "", "s", ".s", "-5s", "1.2.3s", "${X:-5s}",
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(!engine_accepts(Duration::from_micros(10)));
        assert!(engine_accepts(Duration::ZERO));
        assert!(engine_accepts(Duration::from_millis(1)));
    }

    #[test]
    fn seconds_read_like_seconds() {
        assert_eq!(seconds(Duration::from_secs(30)), "30s");
        assert_eq!(seconds(Duration::from_millis(1500)), "1.5s");
        assert_eq!(seconds(Duration::from_millis(250)), "0.3s");
    }
}
