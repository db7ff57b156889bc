//! A reporting period, counted back from now: `today`, `7d`, `6m`, `1y`, `all`.

use chrono::{DateTime, Duration, Utc};

/// The longest period that can be asked for; a longer one is refused (`all` covers the
/// whole ledger). Within it, a period longer than the ledger simply starts at its first row.
pub const MAX_YEARS: i64 = 100;

/// A reporting period, counted back from now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Period {
    Today,
    Days(i64),
    Months(i64),
    Years(i64),
    All,
}

fn unknown(text: &str) -> String {
    format!("unknown period `{text}`: use today, 7d, 30d, 6m, 1y or all")
}

impl Period {
    /// `today`, `7d`, `30d`, `6m`, `1y`, `all`; at most [`MAX_YEARS`] years back.
    pub fn parse(text: &str) -> Result<Period, String> {
        let text = text.trim().to_ascii_lowercase();
        if text == "today" {
            return Ok(Period::Today);
        }
        if text == "all" {
            return Ok(Period::All);
        }
        let (num, unit) = text.split_at(text.len().saturating_sub(1));
        let digits = !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit());
        if !digits || !matches!(unit, "d" | "m" | "y") {
            return Err(unknown(&text));
        }
        // Digits that do not fit a number are as far beyond the limit as any.
        let n: i64 = num.parse().unwrap_or(i64::MAX);
        let (period, longest) = match unit {
            "d" => (Period::Days(n), MAX_YEARS * 365),
            "m" => (Period::Months(n), MAX_YEARS * 12),
            _ => (Period::Years(n), MAX_YEARS),
        };
        if n == 0 {
            return Err(format!(
                "the period `{text}` is empty: use at least 1{unit}, or today"
            ));
        }
        if n > longest {
            return Err(format!(
                "the period `{text}` reaches back more than {MAX_YEARS} years: use at most {}d, {}m or {MAX_YEARS}y, or `all` for the whole ledger",
                MAX_YEARS * 365,
                MAX_YEARS * 12
            ));
        }
        Ok(period)
    }

    /// The start of the period in UTC (None = all time).
    pub fn since(self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match self {
            Period::Today => now.date_naive().and_hms_opt(0, 0, 0).map(|d| d.and_utc()),
            Period::Days(n) => Some(now - Duration::days(n)),
            Period::Months(n) => Some(now - Duration::days(30 * n)),
            Period::Years(n) => Some(now - Duration::days(365 * n)),
            Period::All => None,
        }
    }

    /// "last 7 days", "last month", "last year", "today", "all time".
    pub fn label(self) -> String {
        let last = |n: i64, unit: &str| {
            if n == 1 {
                format!("last {unit}")
            } else {
                format!("last {n} {unit}s")
            }
        };
        match self {
            Period::Today => "today".into(),
            Period::Days(n) => last(n, "day"),
            Period::Months(n) => last(n, "month"),
            Period::Years(n) => last(n, "year"),
            Period::All => "all time".into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_parse() {
        assert_eq!(Period::parse("7d"), Ok(Period::Days(7)));
        assert_eq!(Period::parse("6m"), Ok(Period::Months(6)));
        assert_eq!(Period::parse("1y"), Ok(Period::Years(1)));
        assert_eq!(Period::parse("36500d"), Ok(Period::Days(36_500)));
        assert_eq!(Period::parse("today"), Ok(Period::Today));
        assert_eq!(Period::parse("all"), Ok(Period::All));
        assert!(Period::parse("7w").unwrap_err().contains("7w"));
        assert!(Period::parse("-7d").unwrap_err().contains("unknown period"));
        assert!(Period::parse("0d").unwrap_err().contains("empty"));
        for absurd in ["36501d", "1201m", "101y", "99999999999999999999999d"] {
            let why = Period::parse(absurd).unwrap_err();
            assert!(why.contains("more than 100 years"), "{absurd}: {why}");
            assert!(why.contains("`all`"), "{why}");
        }
    }

    #[test]
    fn one_of_a_unit_reads_in_the_singular() {
        assert_eq!(Period::Years(1).label(), "last year");
        assert_eq!(Period::Months(1).label(), "last month");
        assert_eq!(Period::Days(1).label(), "last day");
        assert_eq!(Period::Days(7).label(), "last 7 days");
        assert_eq!(Period::Years(2).label(), "last 2 years");
    }
}
