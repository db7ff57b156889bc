use super::*;

fn utc(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

fn spec(toml_text: &str) -> ScheduleSpec {
    toml::from_str(toml_text).unwrap()
}

fn london() -> Tz {
    "Europe/London".parse().unwrap()
}

#[test]
fn daily_fires_once_per_local_day_across_spring_forward() {
    // Europe/London skips 01:00–02:00 on 2026-03-29.
    let s = spec("daily = \"01:30\"").build(london()).unwrap();
    let fires = s.fires_between(utc("2026-03-27T12:00:00Z"), utc("2026-03-31T12:00:00Z"), 10);
    let want = [
        "2026-03-28T01:30:00Z", // GMT
        "2026-03-29T01:00:00Z", // 01:30 does not exist: the first valid minute, 02:00 BST
        "2026-03-30T00:30:00Z", // 01:30 BST
        "2026-03-31T00:30:00Z",
    ];
    assert_eq!(fires, want.map(utc));
}

#[test]
fn daily_fires_once_on_the_repeated_hour_of_fall_back() {
    // Europe/London repeats 01:00–02:00 on 2026-10-25.
    let s = spec("daily = \"01:30\"").build(london()).unwrap();
    let fires = s.fires_between(utc("2026-10-24T12:00:00Z"), utc("2026-10-26T12:00:00Z"), 10);
    assert_eq!(
        fires,
        ["2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"].map(utc),
        "first occurrence only"
    );
}

#[test]
fn cron_is_five_fields_in_the_task_zone_with_unix_weekdays() {
    let ny: Tz = "America/New_York".parse().unwrap();
    // 08:00 on weekdays (1-5 = Mon-Fri, Unix numbering).
    let s = spec("cron = \"0 8 * * 1-5\"").build(ny).unwrap();
    // Friday 2026-11-20 09:00 New York → next is Monday 2026-11-23 08:00 EST = 13:00 UTC.
    let next = s.next_after(utc("2026-11-20T14:00:00Z")).unwrap();
    assert_eq!(next, utc("2026-11-23T13:00:00Z"));
    // Sunday may be 0 or 7.
    let sun0 = spec("cron = \"0 9 * * 0\"").build(ny).unwrap();
    let sun7 = spec("cron = \"0 9 * * 7\"").build(ny).unwrap();
    let after = utc("2026-11-20T00:00:00Z");
    assert_eq!(sun0.next_after(after), sun7.next_after(after));
    assert_eq!(sun0.next_after(after).unwrap(), utc("2026-11-22T14:00:00Z"));
}

#[test]
fn half_hourly_cron_never_steps_backwards_over_fall_back() {
    let s = spec("cron = \"*/30 * * * *\"").build(london()).unwrap();
    let fires = s.fires_between(utc("2026-10-24T23:00:00Z"), utc("2026-10-25T03:00:00Z"), 20);
    assert!(fires.windows(2).all(|w| w[0] < w[1]), "{fires:?}");
}

#[test]
fn weekly_monthly_and_every() {
    let s = spec("weekly = { days = [\"mon\", \"Thursday\"], at = \"09:15\" }")
        .build(chrono_tz::UTC)
        .unwrap();
    let fires = s.fires_between(utc("2026-11-22T00:00:00Z"), utc("2026-11-30T00:00:00Z"), 10);
    assert_eq!(
        fires,
        ["2026-11-23T09:15:00Z", "2026-11-26T09:15:00Z"].map(utc)
    );
    let m = spec("monthly = { day = 1, at = \"07:00\" }")
        .build(chrono_tz::UTC)
        .unwrap();
    assert_eq!(
        m.next_after(utc("2026-11-22T00:00:00Z")).unwrap(),
        utc("2026-12-01T07:00:00Z")
    );
    let e = spec("every = \"30m\"").build(chrono_tz::UTC).unwrap();
    assert_eq!(
        e.next_after(utc("2026-11-22T00:00:00Z")).unwrap(),
        utc("2026-11-22T00:30:00Z")
    );
}

#[test]
fn the_host_zone_is_never_used() {
    // Without a timezone the team default applies, whatever TZ the process has.
    let s = spec("daily = \"08:00\"")
        .build("Asia/Tokyo".parse().unwrap())
        .unwrap();
    assert_eq!(
        s.next_after(utc("2026-11-22T00:00:00Z")).unwrap(),
        utc("2026-11-22T23:00:00Z")
    );
}

#[test]
fn bad_specs_name_their_key() {
    let cases = [
        ("cron = \"0 8 * *\"", "cron", "has 4 fields"),
        (
            "cron = \"0 25 * * *\"",
            "cron",
            "cron `0 25 * * *`: hour 25 is out of range 0–23",
        ),
        (
            "cron = \"0 8 * * 9\"",
            "cron",
            "day of week 9 is out of range 0–7",
        ),
        ("every = \"10s\"", "every", "at least a minute"),
        ("daily = \"8am\"", "daily", "time of day"),
        (
            "weekly = { days = [\"funday\"], at = \"09:00\" }",
            "weekly",
            "not a day",
        ),
        (
            "monthly = { day = 31, at = \"09:00\" }",
            "monthly",
            "1 to 28",
        ),
        (
            "daily = \"08:00\"\ntimezone = \"Mars/Base\"",
            "timezone",
            "unknown time zone",
        ),
        ("daily = \"08:00\"\nevery = \"1h\"", "cron", "exactly one"),
        ("", "cron", "exactly one"),
    ];
    for (text, key, needle) in cases {
        let e = spec(text).build(chrono_tz::UTC).unwrap_err();
        assert_eq!(e.key, key, "{text}");
        assert!(e.message.contains(needle), "{text}: {}", e.message);
    }
}
