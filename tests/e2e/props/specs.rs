//! Generators of schedule specs, each with what it means: a 5-field cron with the set of
//! values each field stands for, the friendly forms with the days they name, any spec at
//! all, and instants near the clock changes of a zone.

use std::collections::BTreeSet;

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Utc,
};
use chrono_tz::Tz;
use fanops::tasks::schedule::{Monthly, ScheduleSpec, Weekly};
use proptest::prelude::*;
use proptest::sample::{select, Index};

/// A zone without changes, one-hour changes at 01:00 (London) and 02:00 (New York), a
/// half-hour change (Lord Howe), changes at midnight (Santiago) and a half-hour offset.
const ZONES: [&str; 6] = [
    "UTC",
    "Europe/London",
    "America/New_York",
    "Australia/Lord_Howe",
    "America/Santiago",
    "Asia/Kolkata",
];

pub(super) fn zone() -> impl Strategy<Value = Tz> {
    select(ZONES.to_vec()).prop_map(|name| name.parse::<Tz>().expect("a zone"))
}

/// The instants of `year` (to the hour after) at which `tz` changes its offset.
fn offset_changes(tz: Tz, year: i32) -> Vec<DateTime<Utc>> {
    let offset = |t: DateTime<Utc>| t.with_timezone(&tz).offset().fix();
    let start = Utc.with_ymd_and_hms(year, 1, 1, 0, 0, 0).unwrap();
    let mut last = offset(start);
    let mut changes = Vec::new();
    for hour in 1..=366 * 24 {
        let t = start + Duration::hours(hour);
        if offset(t) != last {
            last = offset(t);
            changes.push(t);
        }
    }
    changes
}

/// An instant in 2000–2079, half the time in the four hours before one of `tz`'s changes
/// or the hour after it.
pub(super) fn instant(tz: Tz) -> impl Strategy<Value = DateTime<Utc>> {
    let anywhere = (946_684_800_i64..3_471_292_800).prop_map(|s| Utc.timestamp_opt(s, 0).unwrap());
    let near_a_change = (2000_i32..2080, any::<Index>(), -4 * 3600_i64..3600).prop_map(
        move |(year, pick, seconds)| {
            let changes = offset_changes(tz, year);
            let base = match changes.is_empty() {
                true => Utc.with_ymd_and_hms(year, 6, 1, 0, 0, 0).unwrap(),
                false => changes[pick.index(changes.len())],
            };
            base + Duration::seconds(seconds)
        },
    );
    prop_oneof![anywhere, near_a_change]
}

pub(super) fn wall(tz: Tz, t: DateTime<Utc>) -> NaiveDateTime {
    t.with_timezone(&tz).naive_local()
}

/// The earliest instant showing `wall` on the zone's clock, if the clock ever shows it.
pub(super) fn earliest(tz: Tz, wall: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&wall)
        .earliest()
        .map(|t| t.with_timezone(&Utc))
}

// ----- 5-field cron, generated with the set of values each field means ------------

/// One cron field as text, with the values it stands for.
#[derive(Debug, Clone)]
pub(super) struct Field {
    text: String,
    values: BTreeSet<u32>,
}

impl Field {
    /// Unix cron: a day field starting with `*` does not restrict the day.
    fn restricts(&self) -> bool {
        !self.text.starts_with('*')
    }
}

fn stepped(from: u32, to: u32, step: u32) -> BTreeSet<u32> {
    (from..=to).step_by(step as usize).collect()
}

/// A list element other than `*`: `n`, `a-b` or `a-b/s` (a step of at most the field's
/// largest value: the engine refuses `*/24` for hours, as a step that could never repeat).
fn element(lo: u32, hi: u32) -> impl Strategy<Value = Field> {
    let point = (lo..=hi).prop_map(|n| Field {
        text: n.to_string(),
        values: BTreeSet::from([n]),
    });
    let range = (lo..=hi, lo..=hi).prop_map(|(a, b)| {
        let (a, b) = (a.min(b), a.max(b));
        Field {
            text: format!("{a}-{b}"),
            values: stepped(a, b, 1),
        }
    });
    let range_step = (lo..=hi, lo..=hi, 1..=hi).prop_map(|(a, b, s)| {
        let (a, b) = (a.min(b), a.max(b));
        Field {
            text: format!("{a}-{b}/{s}"),
            values: stepped(a, b, s),
        }
    });
    prop_oneof![2 => point, 2 => range, 1 => range_step]
}

/// A field of values `lo..=hi`: `*`, `*/s`, or a list of one to three elements.
fn field(lo: u32, hi: u32) -> impl Strategy<Value = Field> {
    let star = Just(Field {
        text: "*".into(),
        values: stepped(lo, hi, 1),
    });
    let star_step = (1..=hi).prop_map(move |s| Field {
        text: format!("*/{s}"),
        values: stepped(lo, hi, s),
    });
    let list = prop::collection::vec(element(lo, hi), 1..=3).prop_map(|parts| Field {
        text: parts
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join(","),
        values: parts.into_iter().flat_map(|p| p.values).collect(),
    });
    prop_oneof![2 => star, 1 => star_step, 4 => list]
}

/// The day-of-week field: numbers 0–7 (Sunday is 0 and 7) or a single day's name;
/// its values are 0–6 from Sunday.
fn weekday_field() -> impl Strategy<Value = Field> {
    const NAMES: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];
    let name = (0..7_u32, any::<bool>()).prop_map(|(d, upper)| {
        let text = NAMES[d as usize];
        Field {
            text: if upper {
                text.to_uppercase()
            } else {
                text.into()
            },
            values: BTreeSet::from([d]),
        }
    });
    let numbers = field(0, 7).prop_map(|f| Field {
        values: f.values.iter().map(|d| d % 7).collect(),
        text: f.text,
    });
    prop_oneof![4 => numbers, 1 => name]
}

/// A valid 5-field cron expression and what each of its fields means.
#[derive(Debug, Clone)]
pub(super) struct Cron {
    pub(super) text: String,
    minute: Field,
    hour: Field,
    day: Field,
    month: Field,
    weekday: Field,
}

impl Cron {
    /// Whether the wall time is one the expression names. As in Unix cron, when both day
    /// fields restrict the day, either one matching is enough.
    fn names(&self, wall: NaiveDateTime) -> bool {
        use chrono::Timelike;
        let day = self.day.values.contains(&wall.day());
        let weekday = self
            .weekday
            .values
            .contains(&wall.weekday().num_days_from_sunday());
        let on_the_day = match self.day.restricts() && self.weekday.restricts() {
            true => day || weekday,
            false => day && weekday,
        };
        on_the_day
            && self.minute.values.contains(&wall.minute())
            && self.hour.values.contains(&wall.hour())
            && self.month.values.contains(&wall.month())
    }

    /// Whether the instant `t` (on a whole minute) is a fire: it shows a named wall time
    /// for the first time, or it ends a daylight-saving gap that swallowed a named time.
    pub(super) fn fires_at(&self, tz: Tz, t: DateTime<Utc>) -> bool {
        let now = wall(tz, t);
        if self.names(now) && earliest(tz, now) == Some(t) {
            return true;
        }
        let mut skipped = wall(tz, t - Duration::minutes(1)) + Duration::minutes(1);
        while skipped < now {
            if self.names(skipped) {
                return true;
            }
            skipped += Duration::minutes(1);
        }
        false
    }
}

/// `*` two times in three, as the day fields of most crons are.
fn often_every(
    field: impl Strategy<Value = Field>,
    lo: u32,
    hi: u32,
) -> impl Strategy<Value = Field> {
    let every = Just(Field {
        text: "*".into(),
        values: stepped(lo, hi, 1),
    });
    prop_oneof![2 => every, 1 => field]
}

pub(super) fn cron() -> impl Strategy<Value = Cron> {
    // Often one of the small hours, where clocks change.
    let small_hour = (0..=3_u32).prop_map(|h| Field {
        text: h.to_string(),
        values: BTreeSet::from([h]),
    });
    let fields = (
        field(0, 59),
        prop_oneof![field(0, 23), small_hour],
        often_every(field(1, 31), 1, 31),
        often_every(field(1, 12), 1, 12),
        often_every(weekday_field(), 0, 6),
    );
    let gaps = prop::collection::vec(select(vec![" ", "  ", "\t"]), 6);
    (fields, gaps).prop_map(|((minute, hour, day, month, weekday), gaps)| {
        let text = format!(
            "{}{}{}{}{}{}{}{}{}{}",
            gaps[0].trim(),
            minute.text,
            gaps[1],
            hour.text,
            gaps[2],
            day.text,
            gaps[3],
            month.text,
            gaps[4],
            weekday.text,
        );
        Cron {
            text: format!("{text}{}", gaps[5].trim()),
            minute,
            hour,
            day,
            month,
            weekday,
        }
    })
}

pub(super) fn at_minute(t: DateTime<Utc>) -> DateTime<Utc> {
    Utc.timestamp_opt(t.timestamp().div_euclid(60) * 60, 0)
        .unwrap()
}

// ----- The friendly forms -----------------------------------------------------------

/// A time of day, written as a person might ("8:05" or "08:05"), mostly in the small
/// hours where clocks change.
pub(super) fn time_of_day() -> impl Strategy<Value = (u32, u32, String)> {
    let hour = prop_oneof![0..=3_u32, 0..=23_u32];
    (hour, 0..=59_u32, any::<bool>()).prop_map(|(h, m, padded)| {
        let text = match padded {
            true => format!("{h:02}:{m:02}"),
            false => format!("{h}:{m:02}"),
        };
        (h, m, text)
    })
}

/// Daily, weekly or monthly, with the days (0–6 from Sunday, or a day of the month) it
/// names.
#[derive(Debug, Clone)]
pub(super) enum Calendar {
    Daily,
    Weekly(BTreeSet<u32>),
    Monthly(u32),
}

impl Calendar {
    pub(super) fn names(&self, date: NaiveDate) -> bool {
        match self {
            Calendar::Daily => true,
            Calendar::Weekly(days) => days.contains(&date.weekday().num_days_from_sunday()),
            Calendar::Monthly(day) => date.day() == *day,
        }
    }
}

pub(super) fn calendar() -> impl Strategy<Value = (Calendar, Vec<String>)> {
    const NAMES: [&str; 7] = ["Sunday", "mon", "Tuesday", "wed", "THU", "friday", "sat"];
    let weekly = prop::collection::btree_set(0..7_u32, 1..=7).prop_map(|days| {
        let names = days
            .iter()
            .map(|d| NAMES[*d as usize].to_string())
            .collect();
        (Calendar::Weekly(days), names)
    });
    prop_oneof![
        Just((Calendar::Daily, Vec::new())),
        weekly,
        (1..=28_u32).prop_map(|d| (Calendar::Monthly(d), Vec::new())),
    ]
}

pub(super) fn calendar_spec(
    calendar: &Calendar,
    days: Vec<String>,
    at: String,
    tz: Tz,
) -> ScheduleSpec {
    let mut spec = ScheduleSpec {
        timezone: Some(tz.name().to_string()),
        ..ScheduleSpec::default()
    };
    match calendar {
        Calendar::Daily => spec.daily = Some(at),
        Calendar::Weekly(_) => spec.weekly = Some(Weekly { days, at }),
        Calendar::Monthly(day) => spec.monthly = Some(Monthly { day: *day, at }),
    }
    spec
}

/// The first instant of `date` on the zone's clock (midnight may not exist).
pub(super) fn start_of(tz: Tz, date: NaiveDate) -> DateTime<Utc> {
    let midnight = date.and_time(NaiveTime::MIN);
    (0..=180)
        .find_map(|m| earliest(tz, midnight + Duration::minutes(m)))
        .expect("a day starts within three hours of midnight")
}

/// A valid spec of any form, for other properties to build on.
pub(super) fn valid_spec() -> impl Strategy<Value = ScheduleSpec> {
    let tz = prop::option::of(select(ZONES.to_vec()).prop_map(String::from));
    let cron = cron().prop_map(|c| ScheduleSpec {
        cron: Some(c.text),
        ..ScheduleSpec::default()
    });
    let every =
        (1..=5000_u32, select(vec!["m", "min", "h", "hours", "d"])).prop_map(|(n, unit)| {
            ScheduleSpec {
                every: Some(format!("{n}{unit}")),
                ..ScheduleSpec::default()
            }
        });
    // The zone is chosen below, for every form alike.
    let friendly = (calendar(), time_of_day())
        .prop_map(|((c, days), (_, _, at))| calendar_spec(&c, days, at, chrono_tz::UTC));
    (prop_oneof![cron, every, friendly], tz).prop_map(|(mut spec, tz)| {
        spec.timezone = tz;
        spec
    })
}

// ----- Anything at all --------------------------------------------------------------

/// Text for any key: anything, or something that looks nearly right.
fn junk() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[0-9*/,?LW#a-zA-Z-]{0,6}( [0-9*/,?LW#a-zA-Z-]{0,6}){0,6}",
        "[1-9][0-9]{0,15} ?(ns|s|m|min|h|d|w|M|y|years)?",
        "-?[0-9]{1,3}:-?[0-9]{1,3}",
        "[A-Z][a-z]{2,8}/[A-Z][a-z_]{2,12}",
    ]
}

/// Mostly one form with any text in it (so the text reaches that form's parser), else
/// any mix of forms.
pub(super) fn any_spec() -> impl Strategy<Value = ScheduleSpec> {
    let weekly =
        || (prop::collection::vec(junk(), 0..4), junk()).prop_map(|(days, at)| Weekly { days, at });
    let monthly = || (any::<u32>(), junk()).prop_map(|(day, at)| Monthly { day, at });
    let one = prop_oneof![
        junk().prop_map(|t| ScheduleSpec {
            cron: Some(t),
            ..ScheduleSpec::default()
        }),
        junk().prop_map(|t| ScheduleSpec {
            every: Some(t),
            ..ScheduleSpec::default()
        }),
        junk().prop_map(|t| ScheduleSpec {
            daily: Some(t),
            ..ScheduleSpec::default()
        }),
        weekly().prop_map(|w| ScheduleSpec {
            weekly: Some(w),
            ..ScheduleSpec::default()
        }),
        monthly().prop_map(|m| ScheduleSpec {
            monthly: Some(m),
            ..ScheduleSpec::default()
        }),
    ];
    let mix = (
        prop::option::of(junk()),
        prop::option::of(junk()),
        prop::option::of(junk()),
        prop::option::of(weekly()),
        prop::option::of(monthly()),
    )
        .prop_map(|(cron, every, daily, weekly, monthly)| ScheduleSpec {
            cron,
            every,
            daily,
            weekly,
            monthly,
            timezone: None,
        });
    let timezone = prop::option::of(prop_oneof![
        junk(),
        select(ZONES.to_vec()).prop_map(String::from)
    ]);
    (prop_oneof![4 => one, 1 => mix], timezone)
        .prop_map(|(spec, timezone)| ScheduleSpec { timezone, ..spec })
}
