//! When a task fires: 5-field cron, `every`, or the friendly daily/weekly/monthly forms,
//! always in the task's IANA time zone (never the host's).
//!
//! Daylight saving: fire times are found on the wall clock of the task's zone and only
//! then turned into instants. A wall time that does not exist (spring forward) fires at
//! the first valid minute after it; a wall time that happens twice (fall back) fires once,
//! at its first occurrence. So a daily task fires exactly once per local day.

mod cron_fields;

use crate::config::one_line;
use chrono::{DateTime, Duration, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use std::str::FromStr;

#[derive(Debug, Clone)]
pub struct Schedule {
    kind: Kind,
    pub tz: Tz,
}

#[derive(Debug, Clone)]
enum Kind {
    /// Matched on the zone's wall clock (seconds field prepended); fires at the earliest
    /// match of any of them (a cron restricting both day fields is two schedules).
    Cron(Vec<cron::Schedule>),
    /// A fixed interval from the previous fire.
    Every(Duration),
    /// Never fires on the clock: an event rule, fired by events instead.
    Never,
}

/// What a `[schedule]` table may say.
#[derive(Debug, Clone, Default, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct ScheduleSpec {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// "08:00": every day at that time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub daily: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weekly: Option<Weekly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub monthly: Option<Monthly>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Weekly {
    /// "mon", "tuesday", …
    pub days: Vec<String>,
    pub at: String,
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize, serde::Serialize)]
pub struct Monthly {
    /// 1–28, so that every month has it.
    pub day: u32,
    pub at: String,
}

/// Which key of the spec a problem is about, with the message.
#[derive(Debug, Clone, PartialEq)]
pub struct SpecError {
    pub key: &'static str,
    pub message: String,
}

fn err(key: &'static str, message: impl Into<String>) -> SpecError {
    SpecError {
        key,
        message: message.into(),
    }
}

const DAYS: [(&str, &str); 7] = [
    ("mon", "Mon"),
    ("tue", "Tue"),
    ("wed", "Wed"),
    ("thu", "Thu"),
    ("fri", "Fri"),
    ("sat", "Sat"),
    ("sun", "Sun"),
];

impl ScheduleSpec {
    /// Builds the schedule; `default_tz` is the config's team zone.
    pub fn build(&self, default_tz: Tz) -> Result<Schedule, SpecError> {
        let tz = self.zone(default_tz)?;
        let forms = [
            self.cron.is_some(),
            self.every.is_some(),
            self.daily.is_some(),
            self.weekly.is_some(),
            self.monthly.is_some(),
        ];
        if forms.iter().filter(|f| **f).count() != 1 {
            return Err(err(
                "cron",
                "give exactly one of cron, every, daily, weekly or monthly",
            ));
        }
        let kind = if let Some(expr) = &self.cron {
            Kind::Cron(parse_cron(expr)?)
        } else if let Some(every) = &self.every {
            every_kind(every)?
        } else if let Some(at) = &self.daily {
            let (h, m) = parse_time("daily", at)?;
            Kind::Cron(vec![cron_of(&format!("0 {m} {h} * * *"))?])
        } else if let Some(weekly) = &self.weekly {
            weekly_kind(weekly)?
        } else if let Some(monthly) = &self.monthly {
            monthly_kind(monthly)?
        } else {
            unreachable!("exactly one form is set")
        };
        Ok(Schedule { kind, tz })
    }

    /// The task's own zone when it names one, else the team's.
    fn zone(&self, default_tz: Tz) -> Result<Tz, SpecError> {
        let Some(name) = &self.timezone else {
            return Ok(default_tz);
        };
        Tz::from_str(name).map_err(|_| {
            err(
                "timezone",
                format!(
                    "unknown time zone `{}` (use an IANA name such as \"Europe/London\")",
                    one_line(name)
                ),
            )
        })
    }
}

/// `every = "30m"`: an interval of at least a minute.
fn every_kind(every: &str) -> Result<Kind, SpecError> {
    let d = crate::config::parse_duration(every)
        .filter(|d| d.as_secs() >= 60)
        .ok_or_else(|| {
            err(
                "every",
                format!(
                    "`{}` is not an interval of at least a minute (e.g. \"30m\", \"2h\")",
                    one_line(every)
                ),
            )
        })?;
    Ok(Kind::Every(
        Duration::from_std(d).map_err(|_| err("every", "interval too long"))?,
    ))
}

/// `[schedule.weekly]`: at one time on each of at least one named day.
fn weekly_kind(w: &Weekly) -> Result<Kind, SpecError> {
    let (h, m) = parse_time("weekly", &w.at)?;
    let days = w
        .days
        .iter()
        .map(|d| {
            day_name(d).ok_or_else(|| {
                err(
                    "weekly",
                    format!("`{}` is not a day of the week", one_line(d)),
                )
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    if days.is_empty() {
        return Err(err("weekly", "weekly needs at least one day"));
    }
    Ok(Kind::Cron(vec![cron_of(&format!(
        "0 {m} {h} * * {}",
        days.join(",")
    ))?]))
}

/// `[schedule.monthly]`: at one time on a day every month has (1 to 28).
fn monthly_kind(mo: &Monthly) -> Result<Kind, SpecError> {
    let (h, m) = parse_time("monthly", &mo.at)?;
    if !(1..=28).contains(&mo.day) {
        return Err(err(
            "monthly",
            "monthly day must be 1 to 28 so that every month has it",
        ));
    }
    Ok(Kind::Cron(vec![cron_of(&format!(
        "0 {m} {h} {} * *",
        mo.day
    ))?]))
}

fn day_name(text: &str) -> Option<&'static str> {
    let t = text.trim().to_ascii_lowercase();
    DAYS.iter()
        .find(|(short, _)| t.starts_with(short))
        .map(|(_, name)| *name)
}

fn parse_time(key: &'static str, text: &str) -> Result<(u32, u32), SpecError> {
    let bad = || {
        err(
            key,
            format!("`{}` is not a time of day like \"08:00\"", one_line(text)),
        )
    };
    let (h, m) = text.trim().split_once(':').ok_or_else(bad)?;
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if h > 23 || m > 59 {
        return Err(bad());
    }
    Ok((h, m))
}

fn cron_of(six_fields: &str) -> Result<cron::Schedule, SpecError> {
    // Built from checked parts: the engine refusing it would be a fault of this code.
    cron::Schedule::from_str(six_fields).map_err(|_| {
        err(
            "cron",
            format!("`{six_fields}` could not be made into a schedule"),
        )
    })
}

/// A user's 5-field cron (minute hour day month weekday, weekday 0–7 with Sunday 0 or 7).
/// As in Unix cron, when both day fields restrict the day (neither starts with `*`), a
/// day matching either one fires: `0 9 1 * 1` is the 1st of the month and every Monday.
/// Every refusal is one line naming the field and what it allows.
fn parse_cron(expr: &str) -> Result<Vec<cron::Schedule>, SpecError> {
    let fields: Vec<&str> = expr.split_whitespace().collect();
    // As written, on one line: the fields with single spaces between them.
    let shown = one_line(&fields.join(" ")).into_owned();
    let Ok(five) = <[&str; 5]>::try_from(fields.as_slice()) else {
        return Err(err("cron", wrong_field_count(&shown, fields.len())));
    };
    cron_fields::check(&five).map_err(|e| err("cron", format!("cron `{shown}`: {e}")))?;
    let refused = || {
        err(
            "cron",
            format!("cron `{shown}` is not a schedule fanops can read (write 5 fields: minute hour day-of-month month day-of-week, e.g. \"0 8 * * 1-5\")"),
        )
    };
    let weekday = unix_weekdays(five[4]).ok_or_else(refused)?;
    let (minute, hour, day, month) = (five[0], five[1], five[2], five[3]);
    let either_day = !any_day(day) && !any_day(five[4]);
    let days = match either_day {
        true => vec![(day, "*"), ("*", weekday.as_str())],
        false => vec![(day, weekday.as_str())],
    };
    days.into_iter()
        .map(|(day, weekday)| {
            cron::Schedule::from_str(&format!("0 {minute} {hour} {day} {month} {weekday}"))
                .map_err(|_| refused())
        })
        .collect()
}

fn wrong_field_count(shown: &str, count: usize) -> String {
    let fields = "minute hour day-of-month month day-of-week, e.g. \"0 8 * * 1-5\"";
    match count {
        0 => format!("cron is empty: write 5 fields: {fields}"),
        6 | 7 => format!("cron `{shown}` has {count} fields; write 5 ({fields}): there is no seconds or year field"),
        _ => format!("cron `{shown}` has {count} fields; write 5: {fields}"),
    }
}

/// Whether a day field starts by allowing every day (`*`, `*/2`; `?` as some crons write it).
fn any_day(field: &str) -> bool {
    field.starts_with('*') || field.starts_with('?')
}

/// A Unix day-of-week field (numbers 0–7 with Sunday 0 or 7, or day names; `*`, lists,
/// ranges and steps) as the list of day names the engine reads. Ranges are expanded here
/// because the engine counts from Sunday = 1 to Saturday = 7, where Unix's `5-7` (Friday
/// to Sunday) would run backwards.
fn unix_weekdays(field: &str) -> Option<String> {
    const NAMES: [&str; 7] = [
        "sunday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
    ];
    let day = |token: &str| -> Option<usize> {
        let token = token.to_ascii_lowercase();
        match token.parse::<usize>() {
            Ok(n) => (n < 8).then_some(n),
            Err(_) if token.len() >= 3 => NAMES.iter().position(|n| n.starts_with(&token)),
            Err(_) => None,
        }
    };
    let mut days = [false; 7];
    for part in field.split(',') {
        let (range, step) = match part.split_once('/') {
            Some((range, step)) => (range, Some(step.parse::<usize>().ok().filter(|s| *s > 0)?)),
            None => (part, None),
        };
        let (first, last) = if range == "*" || range == "?" {
            (0, 7)
        } else if let Some((a, b)) = range.split_once('-') {
            let (first, last) = (day(a)?, day(b)?);
            // Sunday ends a range as the last day of the week: `fri-sun`.
            (first, if last == 0 && first > 0 { 7 } else { last })
        } else {
            // `n/s` runs from n to the end of the week.
            (day(range)?, if step.is_some() { 7 } else { day(range)? })
        };
        if first > last {
            return None;
        }
        for d in (first..=last).step_by(step.unwrap_or(1)) {
            days[d % 7] = true;
        }
    }
    let names: Vec<&str> = (0..7)
        .filter(|d| days[*d])
        .map(|d| &NAMES[d][..3])
        .collect();
    Some(names.join(","))
}

impl Schedule {
    /// The schedule of an event rule: it never fires on the clock.
    pub fn never(tz: Tz) -> Schedule {
        Schedule {
            kind: Kind::Never,
            tz,
        }
    }

    /// The first fire strictly after `after`.
    pub fn next_after(&self, after: DateTime<Utc>) -> Option<DateTime<Utc>> {
        match &self.kind {
            Kind::Never => None,
            // None past the end of time (an interval of many millennia).
            Kind::Every(interval) => after.checked_add_signed(*interval),
            Kind::Cron(crons) => {
                // Match on the wall clock: treat local wall time as if it were UTC.
                let wall = after.with_timezone(&self.tz).naive_local().and_utc();
                let next_wall = crons
                    .iter()
                    .filter_map(|cron| cron.after(&wall).next())
                    .min()?
                    .naive_utc();
                let instant = self.resolve(next_wall)?;
                // A wall time resolved into a gap can land before `after` only if the
                // gap swallowed it; then ask again from the resolved instant.
                if instant <= after {
                    return self.next_after(after + Duration::minutes(1));
                }
                Some(instant)
            }
        }
    }

    /// A wall time in the zone as an instant: earliest of a repeated time, first valid
    /// minute after a skipped one.
    fn resolve(&self, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
        for shift in 0..=180 {
            let candidate = wall + Duration::minutes(shift);
            match self.tz.from_local_datetime(&candidate) {
                chrono::LocalResult::Single(t) => return Some(t.with_timezone(&Utc)),
                chrono::LocalResult::Ambiguous(first, _) => return Some(first.with_timezone(&Utc)),
                chrono::LocalResult::None => continue,
            }
        }
        None
    }

    /// Every fire in (after, until], at most `limit`.
    pub fn fires_between(
        &self,
        after: DateTime<Utc>,
        until: DateTime<Utc>,
        limit: usize,
    ) -> Vec<DateTime<Utc>> {
        let mut out = Vec::new();
        let mut cursor = after;
        while out.len() < limit {
            match self.next_after(cursor) {
                Some(next) if next <= until => {
                    out.push(next);
                    cursor = next;
                }
                _ => break,
            }
        }
        out
    }
}

#[cfg(test)]
mod tests;
