//! Schedules. Any text in any key is refused or accepted without a panic; a valid 5-field
//! cron fires exactly when a minute-by-minute reading of its fields on the zone's wall
//! clock says it should; and the friendly forms fire once on each of their local days for
//! a year, across every daylight-saving change on the way.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use fanops::tasks::schedule::{Schedule, ScheduleSpec};
use proptest::prelude::*;
use proptest::sample::select;

use super::config;
use super::specs::{
    any_spec, at_minute, calendar, calendar_spec, cron, earliest, instant, start_of, time_of_day,
    wall, zone,
};

/// How far past the asked-about instant the reference reading of a cron looks.
const HORIZON_MINUTES: i64 = 3 * 24 * 60;

fn build(spec: &ScheduleSpec) -> Schedule {
    spec.build(chrono_tz::UTC)
        .unwrap_or_else(|e| panic!("{spec:?} is valid but was refused: {e:?}"))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_spec_is_refused_with_a_reason_or_fires_after_the_instant(
        spec in any_spec(),
        seconds in -2_208_988_800_i64..7_258_118_400,
    ) {
        let after = Utc.timestamp_opt(seconds, 0).unwrap();
        match spec.build(chrono_tz::UTC) {
            Err(e) => {
                prop_assert!(!e.message.is_empty());
                // Shown as one line in `fanops check`, the reload log and chat.
                prop_assert!(!e.message.contains(['\n', '\r']), "{:?}", e.message);
            }
            Ok(schedule) => {
                if let Some(next) = schedule.next_after(after) {
                    prop_assert!(next > after, "{next} is not after {after}");
                }
            }
        }
    }

    /// Five fields of anything are read, or refused in one line that names the field at
    /// fault and what it allows: never the engine's own text, never "cannot read".
    #[test]
    fn a_refused_cron_names_its_field_in_one_line(fields in prop::collection::vec(cron_ish_field(), 5)) {
        let text = fields.join(" ");
        let spec = ScheduleSpec { cron: Some(text.clone()), ..ScheduleSpec::default() };
        if let Err(e) = spec.build(chrono_tz::UTC) {
            prop_assert!(!e.message.contains(['\n', '\r']), "{:?}", e.message);
            let prefix = format!("cron `{text}`: ");
            prop_assert!(e.message.starts_with(&prefix), "{}", e.message);
            let about = &e.message[prefix.len()..];
            let named = ["minute ", "hour ", "day of month ", "month ", "day of week "]
                .iter()
                .any(|field| about.starts_with(field));
            prop_assert!(named, "{}", e.message);
        }
    }

    #[test]
    fn a_cron_fires_at_the_first_minute_its_fields_name(
        (tz, after) in zone().prop_flat_map(|tz| (Just(tz), instant(tz))),
        cron in cron(),
    ) {
        let spec = ScheduleSpec { cron: Some(cron.text.clone()), timezone: Some(tz.name().into()), ..ScheduleSpec::default() };
        let next = build(&spec).next_after(after);
        let horizon = after + Duration::minutes(HORIZON_MINUTES);
        let mut t = at_minute(after) + Duration::minutes(1);
        let expected = loop {
            if t > horizon {
                break None;
            }
            if cron.fires_at(tz, t) {
                break Some(t);
            }
            t += Duration::minutes(1);
        };
        match expected {
            Some(expected) => prop_assert_eq!(next, Some(expected)),
            None => prop_assert!(next.is_none_or(|n| n > horizon), "{next:?} was not expected"),
        }
    }

    #[test]
    fn every_fires_one_interval_after_the_instant(
        minutes in 1_i64..=100_000,
        after in instant(chrono_tz::UTC),
    ) {
        let spec = ScheduleSpec { every: Some(format!("{minutes}m")), ..ScheduleSpec::default() };
        prop_assert_eq!(build(&spec).next_after(after), Some(after + Duration::minutes(minutes)));
    }

    /// Daily, weekly and monthly fire exactly once on each day they name, for a year, at
    /// the time given, or at the first minute after it on a day when it does not exist.
    #[test]
    fn the_friendly_forms_fire_once_on_each_of_their_local_days_for_a_year(
        (calendar, days) in calendar(),
        (hour, minute, at) in time_of_day(),
        tz in select(vec!["Europe/London", "America/New_York", "Australia/Lord_Howe", "America/Santiago"]),
        first_day in 0_u32..365 * 60,
    ) {
        let tz: Tz = tz.parse().unwrap();
        let first = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap() + Duration::days(first_day.into());
        let dates: Vec<NaiveDate> = (0..366).map(|d| first + Duration::days(d)).collect();
        let schedule = build(&calendar_spec(&calendar, days, at, tz));
        let (from, until) = (start_of(tz, first), start_of(tz, first + Duration::days(366)));
        let fires = schedule.fires_between(from - Duration::seconds(1), until - Duration::seconds(1), 1000);

        let fired_on: Vec<NaiveDate> = fires.iter().map(|t| wall(tz, *t).date()).collect();
        let named: Vec<NaiveDate> = dates.into_iter().filter(|d| calendar.names(*d)).collect();
        prop_assert_eq!(&fired_on, &named);
        let time = NaiveTime::from_hms_opt(hour, minute, 0).unwrap();
        for (fire, date) in fires.iter().zip(&named) {
            let asked = date.and_time(time);
            match earliest(tz, asked) {
                Some(exact) => prop_assert_eq!(*fire, exact, "on {}", date),
                None => {
                    // Skipped by the clock change: the first minute after it.
                    prop_assert!(wall(tz, *fire) > asked, "{} fired at {}", date, fire);
                    prop_assert!(wall(tz, *fire - Duration::minutes(1)) < asked, "{} fired late at {}", date, fire);
                }
            }
        }
    }
}

/// One cron field as people mistype it: numbers around the ranges, names, steps, ranges
/// and lists, and stray characters.
fn cron_ish_field() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        (0_u32..100).prop_map(|n| n.to_string()),
        select(vec![
            "*", "?", "jan", "DEC", "smarch", "mon", "thurs", "sunday", "L", "W", "x", ""
        ])
        .prop_map(String::from),
        "[0-9a-zA-Z*?#]{1,3}",
    ];
    let element = (
        atom.clone(),
        prop::option::of(atom.clone()),
        prop::option::of(atom),
    )
        .prop_map(|(a, b, step)| {
            let mut text = a;
            if let Some(b) = b {
                text = format!("{text}-{b}");
            }
            if let Some(step) = step {
                text = format!("{text}/{step}");
            }
            text
        });
    prop::collection::vec(element, 1..3)
        .prop_map(|items| items.join(","))
        .prop_filter("a field", |f| !f.is_empty())
}

#[test]
fn every_at_its_largest_does_not_overflow() {
    let spec = ScheduleSpec {
        every: Some("1000000years".into()),
        ..ScheduleSpec::default()
    };
    let schedule = spec.build(chrono_tz::UTC).expect("a valid interval");
    let after = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    assert_eq!(schedule.next_after(after), None, "past the end of time");
}

// ----- What the properties found, kept as examples -------------------------------------

fn utc(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .unwrap()
        .with_timezone(&Utc)
}

fn cron_fires(expr: &str, after: &str, count: usize) -> Vec<DateTime<Utc>> {
    let spec = ScheduleSpec {
        cron: Some(expr.into()),
        ..ScheduleSpec::default()
    };
    let after = utc(after);
    build(&spec).fires_between(after, after + Duration::days(400), count)
}

#[test]
fn a_weekday_range_may_end_on_sunday_as_seven() {
    // Friday 2026-11-20 to Sunday 2026-11-22, then Friday again.
    let want = [
        "2026-11-20T08:00:00Z",
        "2026-11-21T08:00:00Z",
        "2026-11-22T08:00:00Z",
        "2026-11-27T08:00:00Z",
    ];
    assert_eq!(
        cron_fires("0 8 * * 5-7", "2026-11-19T12:00:00Z", 4),
        want.map(utc)
    );
    assert_eq!(
        cron_fires("0 8 * * 1-7", "2026-11-19T12:00:00Z", 4).len(),
        4,
        "every day"
    );
    assert_eq!(
        cron_fires("0 8 * * fri-sun", "2026-11-19T12:00:00Z", 4),
        want.map(utc)
    );
    let sundays = ["2026-11-22T08:00:00Z", "2026-11-29T08:00:00Z"];
    assert_eq!(
        cron_fires("0 8 * * 0-0", "2026-11-19T12:00:00Z", 2),
        sundays.map(utc)
    );
    assert_eq!(
        cron_fires("0 8 * * 7", "2026-11-19T12:00:00Z", 2),
        sundays.map(utc)
    );
}

#[test]
fn both_day_fields_given_fire_on_either_as_in_unix_cron() {
    // The 1st of the month and every Monday: Mon 30 Nov, Tue 1 Dec, Mon 7 Dec.
    let want = [
        "2026-11-30T09:00:00Z",
        "2026-12-01T09:00:00Z",
        "2026-12-07T09:00:00Z",
    ];
    assert_eq!(
        cron_fires("0 9 1 * 1", "2026-11-27T00:00:00Z", 3),
        want.map(utc)
    );
    // A day field starting with `*` restricts nothing: Mondays only.
    let mondays = ["2026-11-30T09:00:00Z", "2026-12-07T09:00:00Z"];
    assert_eq!(
        cron_fires("0 9 * * 1", "2026-11-27T00:00:00Z", 2),
        mondays.map(utc)
    );
    assert_eq!(
        cron_fires("0 9 */1 * 1", "2026-11-27T00:00:00Z", 2),
        mondays.map(utc)
    );
}
