//! A 5-field cron read field by field before the engine sees it, so that a mistake is
//! told in one plain line naming the field and what it allows ("minute 60 is out of
//! range 0–59") rather than in the engine's own multi-line text about its 6-field form.

/// What one field of a Unix cron allows.
struct Field {
    name: &'static str,
    lo: u32,
    hi: u32,
    /// Names accepted beside numbers, each with its number (as the engine reads them).
    names: &'static [(&'static str, u32)],
    /// What the names look like, for messages: "jan–dec".
    names_shown: &'static str,
    /// Whether `?` may stand for "any" (the day fields).
    any: bool,
    /// The largest step the engine takes (`*/24` cannot repeat within an hour's range).
    max_step: Option<u32>,
    /// The day of week: Unix numbering, day names by prefix, and Sunday ending a range.
    weekday: bool,
}

const MONTHS: &[(&str, u32)] = &[
    ("jan", 1),
    ("january", 1),
    ("feb", 2),
    ("february", 2),
    ("mar", 3),
    ("march", 3),
    ("apr", 4),
    ("april", 4),
    ("may", 5),
    ("jun", 6),
    ("june", 6),
    ("jul", 7),
    ("july", 7),
    ("aug", 8),
    ("august", 8),
    ("sep", 9),
    ("september", 9),
    ("oct", 10),
    ("october", 10),
    ("nov", 11),
    ("november", 11),
    ("dec", 12),
    ("december", 12),
];

/// Unix numbering (Sunday 0); any prefix of three letters or more of a day's name.
const WEEKDAYS: [&str; 7] = [
    "sunday",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
];

const FIELDS: [Field; 5] = [
    Field {
        name: "minute",
        lo: 0,
        hi: 59,
        names: &[],
        names_shown: "",
        any: false,
        max_step: Some(59),
        weekday: false,
    },
    Field {
        name: "hour",
        lo: 0,
        hi: 23,
        names: &[],
        names_shown: "",
        any: false,
        max_step: Some(23),
        weekday: false,
    },
    Field {
        name: "day of month",
        lo: 1,
        hi: 31,
        names: &[],
        names_shown: "",
        any: true,
        max_step: Some(31),
        weekday: false,
    },
    Field {
        name: "month",
        lo: 1,
        hi: 12,
        names: MONTHS,
        names_shown: "jan–dec",
        any: false,
        max_step: Some(12),
        weekday: false,
    },
    Field {
        name: "day of week",
        lo: 0,
        hi: 7,
        names: &[],
        names_shown: "sun–sat",
        any: true,
        max_step: None,
        weekday: true,
    },
];

/// The first thing wrong with the five fields, in words; `Ok` when each is well formed.
pub(super) fn check(fields: &[&str; 5]) -> Result<(), String> {
    FIELDS
        .iter()
        .zip(fields)
        .try_for_each(|(field, text)| field.check(text))
}

impl Field {
    /// "0–59", or "1–12 or jan–dec".
    fn range(&self) -> String {
        match self.names_shown.is_empty() {
            true => format!("{}–{}", self.lo, self.hi),
            false => format!("{}–{} or {}", self.lo, self.hi, self.names_shown),
        }
    }

    fn check(&self, text: &str) -> Result<(), String> {
        for item in text.split(',') {
            if item.is_empty() {
                return Err(format!(
                    "{} `{text}` has an empty item between commas",
                    self.name
                ));
            }
            let (base, step) = match item.split_once('/') {
                Some((base, step)) => (base, Some(step)),
                None => (item, None),
            };
            if let Some(step) = step {
                self.step(item, base, step)?;
            }
            match base {
                "*" => {}
                "?" if self.any => {}
                "?" => {
                    return Err(format!(
                        "{} cannot be `?` (only the day of month and the day of week can)",
                        self.name
                    ))
                }
                _ => self.values(item, base)?,
            }
        }
        Ok(())
    }

    fn step(&self, item: &str, base: &str, step: &str) -> Result<(), String> {
        let most = self.max_step.unwrap_or(u32::MAX);
        let bad = || match self.max_step {
            Some(most) => format!(
                "{} step in `{item}` must be a whole number from 1 to {most}",
                self.name
            ),
            None => format!(
                "{} step in `{item}` must be a whole number of 1 or more",
                self.name
            ),
        };
        match digits(step).filter(|s| (1..=most).contains(s)) {
            None => Err(bad()),
            // The engine steps only from `*`, a number or a range, never from a name.
            Some(_) if self.is_name(base) && self.names_are_engine_names() => Err(format!(
                "{} `{item}`: a step follows `*`, a number or a range (e.g. `*/2` or `jan-dec/2`), not a single name",
                self.name
            )),
            Some(_) => Ok(()),
        }
    }

    /// `n` or `a-b`.
    fn values(&self, item: &str, base: &str) -> Result<(), String> {
        let Some((a, b)) = base.split_once('-') else {
            return self.value(base).map(|_| ());
        };
        if a.is_empty() || b.is_empty() {
            return Err(format!(
                "{} `{item}` has a `-` without a value on each side",
                self.name
            ));
        }
        let (first, last) = (self.value(a)?, self.value(b)?);
        if self.names_are_engine_names() && self.is_name(a) != self.is_name(b) {
            return Err(format!(
                "{} range `{base}` mixes a number and a name: write both as numbers or both as names",
                self.name
            ));
        }
        // Sunday may end a range of the week as 0: `fri-sun`.
        let last = match self.weekday && last == 0 && first > 0 {
            true => 7,
            false => last,
        };
        if first > last {
            return Err(format!(
                "{} range `{base}` runs backwards: write the earlier value first",
                self.name
            ));
        }
        Ok(())
    }

    fn value(&self, token: &str) -> Result<u32, String> {
        if token.bytes().all(|b| b.is_ascii_digit()) {
            return match digits(token).filter(|n| (self.lo..=self.hi).contains(n)) {
                Some(n) => Ok(n),
                None => Err(format!(
                    "{} {token} is out of range {}",
                    self.name,
                    self.range()
                )),
            };
        }
        match self.name_value(token) {
            Some(n) => Ok(n),
            None if self.names_shown.is_empty() => Err(format!(
                "{} `{token}` is not a number: use {}",
                self.name,
                self.range()
            )),
            None => Err(format!(
                "{} `{token}` is neither a number nor a name: use {}",
                self.name,
                self.range()
            )),
        }
    }

    fn name_value(&self, token: &str) -> Option<u32> {
        let token = token.to_ascii_lowercase();
        if self.weekday {
            let found = WEEKDAYS.iter().position(|day| day.starts_with(&token));
            return found.filter(|_| token.len() >= 3).map(|d| d as u32);
        }
        self.names
            .iter()
            .find(|(name, _)| *name == token)
            .map(|(_, n)| *n)
    }

    /// Letters only: `jan`, not `*`, `3` or `jan-mar`.
    fn is_name(&self, token: &str) -> bool {
        !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphabetic())
    }

    /// Month names go to the engine as written; day names are rewritten beforehand.
    fn names_are_engine_names(&self) -> bool {
        !self.names.is_empty()
    }
}

/// A whole number written in digits only (no sign, no spaces).
fn digits(text: &str) -> Option<u32> {
    match !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) {
        true => text.parse().ok(),
        false => None,
    }
}

#[cfg(test)]
mod tests {
    use super::check;

    fn problem(expr: &str) -> String {
        let fields: Vec<&str> = expr.split_whitespace().collect();
        check(&fields.try_into().unwrap()).unwrap_err()
    }

    #[test]
    fn each_field_names_itself_and_its_range() {
        for (expr, said) in [
            ("60 8 * * *", "minute 60 is out of range 0–59"),
            ("0 24 * * *", "hour 24 is out of range 0–23"),
            ("0 8 0 * *", "day of month 0 is out of range 1–31"),
            ("0 8 32 * *", "day of month 32 is out of range 1–31"),
            ("0 8 * 13 *", "month 13 is out of range 1–12 or jan–dec"),
            ("0 8 * * 8", "day of week 8 is out of range 0–7 or sun–sat"),
            (
                "0 8 * smarch *",
                "month `smarch` is neither a number nor a name",
            ),
            ("0 8 * * funday", "day of week `funday` is neither"),
            ("x 8 * * *", "minute `x` is not a number: use 0–59"),
            (
                "*/0 8 * * *",
                "minute step in `*/0` must be a whole number from 1 to 59",
            ),
            (
                "0 */24 * * *",
                "hour step in `*/24` must be a whole number from 1 to 23",
            ),
            (
                "0 8 * * */x",
                "day of week step in `*/x` must be a whole number of 1 or more",
            ),
            ("30-10 8 * * *", "minute range `30-10` runs backwards"),
            (
                "0 8 * * sat-mon",
                "day of week range `sat-mon` runs backwards",
            ),
            (
                "1,,2 8 * * *",
                "minute `1,,2` has an empty item between commas",
            ),
            (
                "-5 8 * * *",
                "minute `-5` has a `-` without a value on each side",
            ),
            ("? 8 * * *", "minute cannot be `?`"),
            (
                "0 8 * 1-mar *",
                "month range `1-mar` mixes a number and a name",
            ),
            ("0 8 * jan/2 *", "a step follows `*`, a number or a range"),
            ("0 8 L * *", "day of month `L` is not a number: use 1–31"),
            (
                "99999999999 8 * * *",
                "minute 99999999999 is out of range 0–59",
            ),
        ] {
            let found = problem(expr);
            assert!(found.contains(said), "{expr}: {found}");
            assert!(!found.contains('\n'), "{expr}: {found}");
        }
    }

    #[test]
    fn what_the_engine_reads_passes() {
        for expr in [
            "0 8 * * 1-5",
            "*/15 0-23/2 1,15 jan-mar,DEC 0",
            "59 23 31 12 7",
            "0 9 ? * fri-sun",
            "0 9 * * 5-0",
            "5/10 * * 1/2 mon/2",
            "* * * */1 *",
            "0 8 * jan-mar/2 *",
            "0 8 * * thurs",
        ] {
            let fields: Vec<&str> = expr.split_whitespace().collect();
            assert_eq!(check(&fields.try_into().unwrap()), Ok(()), "{expr}");
        }
    }
}
