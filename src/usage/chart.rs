//! Credits over time, stacked by model, platform, kind or user: the PNG of `/usage chart`,
//! `fanops usage --chart` and the operations page.

use super::{dimension_name, Period, MAX_YEARS};
use crate::plot::{encode_png, ensure_font, FAMILY};
use crate::store::{Bucket, OperationsView, SeriesPoint, StoreError, UsageDimension};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 500;

/// Bars a chart by month has at most: every month of the longest period there is.
const MAX_MONTHS: usize = (MAX_YEARS as usize) * 12 + 1;

/// Groups drawn each in their own colour; the rest are summed as `other`.
const MAX_GROUPS: usize = 7;

const COLOURS: [RGBColor; MAX_GROUPS + 1] = [
    RGBColor(41, 98, 255),
    RGBColor(255, 112, 67),
    RGBColor(67, 160, 71),
    RGBColor(142, 36, 170),
    RGBColor(0, 172, 193),
    RGBColor(253, 216, 53),
    RGBColor(216, 27, 96),
    RGBColor(120, 144, 156),
];

/// What the chart shows: one bar per time bucket, one stacked part per group.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub title: String,
    pub labels: Vec<String>,
    /// Each group with one value per label, largest total first.
    pub groups: Vec<(String, Vec<f64>)>,
}

impl Series {
    pub fn total(&self) -> f64 {
        self.groups.iter().flat_map(|(_, v)| v).sum()
    }

    /// The tallest stacked bar.
    fn tallest(&self) -> f64 {
        (0..self.labels.len())
            .map(|i| self.groups.iter().map(|(_, v)| v[i]).sum::<f64>())
            .fold(0.0f64, f64::max)
    }
}

/// The credits axis: from 0 to `top` in even steps, every label with the same decimals.
#[derive(Debug, Clone, PartialEq)]
pub struct YAxis {
    pub top: f64,
    pub ticks: Vec<f64>,
    pub decimals: usize,
}

impl YAxis {
    /// The labels as drawn: `0.00, 0.50, 1.00…` or `0, 2,000, 4,000…`.
    pub fn labels(&self) -> Vec<String> {
        self.ticks
            .iter()
            .map(|t| tick_label(*t, self.decimals))
            .collect()
    }
}

/// Labels on the credits axis, about this many.
const Y_TICKS: f64 = 5.0;

/// A round step (1, 2, 2.5 or 5 times a power of ten) that cuts the tallest bar, with
/// room above it, into about [`Y_TICKS`] steps. Below 100 credits every label has two
/// decimals at least (as credits are written everywhere), more when the step needs them.
pub fn y_axis(series: &Series) -> YAxis {
    let tallest = series.tallest();
    if !(tallest > 0.0 && tallest.is_finite()) {
        return YAxis {
            top: 1.0,
            ticks: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            decimals: 2,
        };
    }
    let rough = tallest * 1.1 / Y_TICKS;
    let power = 10f64.powf(rough.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|s| *s >= rough)
        .unwrap_or(10.0 * power);
    let steps = (tallest * 1.1 / step).ceil().max(1.0) as usize;
    let ticks: Vec<f64> = (0..=steps).map(|i| i as f64 * step).collect();
    let top = steps as f64 * step;
    // Decimals the step needs (0.25 needs two, 0.005 three), at most six.
    let needed = (0..=6)
        .find(|d| {
            let scaled = step * 10f64.powi(*d as i32);
            (scaled - scaled.round()).abs() < 1e-6
        })
        .unwrap_or(6);
    let decimals = if top < 100.0 { needed.max(2) } else { needed };
    YAxis {
        top,
        ticks,
        decimals,
    }
}

/// `1,500` or `0.50`: thousands separated, a fixed number of decimals.
fn tick_label(value: f64, decimals: usize) -> String {
    let text = format!("{:.*}", decimals, value.max(0.0));
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut out = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if !fraction.is_empty() {
        out.push('.');
        out.push_str(fraction);
    }
    out
}

/// The dimensions a chart can stack by.
pub fn check_dimension(by: UsageDimension) -> Result<(), String> {
    match by {
        UsageDimension::Day => {
            Err("a chart is already by time: stack it by model, platform, kind or user".into())
        }
        _ => Ok(()),
    }
}

/// How a period is cut into bars.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Step {
    Hour,
    Day,
    Month,
}

/// Hours for today; days for a span of up to [`DAILY_UP_TO`] days; months beyond.
fn step_of(period: Period, start: DateTime<Utc>, now: DateTime<Utc>) -> Step {
    match period {
        Period::Today => Step::Hour,
        _ if now - start <= Duration::days(DAILY_UP_TO) => Step::Day,
        _ => Step::Month,
    }
}

/// The longest span drawn with a bar a day.
const DAILY_UP_TO: i64 = 62;

/// Where the chart starts: the period's start, or the ledger's first row when the period
/// reaches back before it (so a very long period draws what there is, not decades of
/// nothing). Today always starts at midnight.
fn start_of(
    period: Period,
    since: Option<DateTime<Utc>>,
    first_row: Option<DateTime<Utc>>,
) -> Option<DateTime<Utc>> {
    match (period, since, first_row) {
        (Period::Today, since, _) => since,
        (_, Some(since), Some(first)) => Some(since.max(first)),
        (_, since, first) => since.or(first),
    }
}

/// Reads the ledger and cuts it into bars for `period` ending at `now`.
pub async fn series(
    view: &dyn OperationsView,
    period: Period,
    by: UsageDimension,
    now: DateTime<Utc>,
) -> Result<Series, StoreError> {
    let since = period.since(now);
    let first_row = view.first_usage().await?;
    let Some(start) = start_of(period, since, first_row) else {
        return Ok(build(title(period, by, None), Step::Day, None, now, &[]));
    };
    let step = step_of(period, start, now);
    let bucket = if step == Step::Hour {
        Bucket::Hour
    } else {
        Bucket::Day
    };
    // The same rows the table sums: everything since the period's start.
    let points = view.usage_series(since, by, bucket).await?;
    let clamped = since.is_some_and(|since| start > since);
    let title = title(period, by, clamped.then_some(start));
    Ok(build(title, step, Some(start), now, &points))
}

/// "Credits by model, last 7 days", with the day the ledger starts when the period
/// reaches back before it.
fn title(period: Period, by: UsageDimension, ledger_starts: Option<DateTime<Utc>>) -> String {
    let mut title = format!("Credits by {}, {}", dimension_name(by), period.label());
    if let Some(first) = ledger_starts {
        title.push_str(&format!(
            " (the ledger starts {})",
            first.format("%-d %b %Y")
        ));
    }
    title
}

/// The bars between `since` (or the first point) and `now`, zeros included.
fn build(
    title: String,
    step: Step,
    since: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
    points: &[SeriesPoint],
) -> Series {
    let first = since.or_else(|| {
        points
            .iter()
            .filter_map(|p| NaiveDate::parse_from_str(&p.bucket, "%Y-%m-%d").ok())
            .min()
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
    });
    let Some(first) = first else {
        return Series {
            title,
            labels: Vec::new(),
            groups: Vec::new(),
        };
    };
    let (keys, labels) = slots(step, first, now);
    let index: BTreeMap<&str, usize> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| (k.as_str(), i))
        .collect();
    let mut by_group: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for point in points {
        let slot = slot_key(step, &point.bucket);
        let Some(&i) = index.get(slot.as_str()) else {
            continue;
        };
        by_group
            .entry(point.key.clone())
            .or_insert_with(|| vec![0.0; keys.len()])[i] += point.credits;
    }
    let mut groups: Vec<(String, Vec<f64>)> = by_group.into_iter().collect();
    groups.sort_by(|a, b| {
        let (ta, tb) = (a.1.iter().sum::<f64>(), b.1.iter().sum::<f64>());
        tb.total_cmp(&ta).then_with(|| a.0.cmp(&b.0))
    });
    if groups.len() > MAX_GROUPS {
        let rest = groups.split_off(MAX_GROUPS - 1);
        let mut other = vec![0.0; keys.len()];
        for (_, values) in rest {
            for (o, v) in other.iter_mut().zip(values) {
                *o += v;
            }
        }
        groups.push(("other".into(), other));
    }
    Series {
        title,
        labels,
        groups,
    }
}

/// (slot keys as the store's buckets map to them, axis labels) from `first` to `now`.
fn slots(step: Step, first: DateTime<Utc>, now: DateTime<Utc>) -> (Vec<String>, Vec<String>) {
    let mut keys = Vec::new();
    let mut labels = Vec::new();
    match step {
        Step::Hour => {
            let mut at = first
                .with_minute(0)
                .and_then(|t| t.with_second(0))
                .unwrap_or(first);
            while at <= now && keys.len() < 24 * 62 {
                keys.push(at.format("%Y-%m-%d %H").to_string());
                labels.push(at.format("%H:00").to_string());
                at += Duration::hours(1);
            }
        }
        Step::Day => {
            let mut day = first.date_naive();
            while day <= now.date_naive() && keys.len() < 400 {
                keys.push(day.format("%Y-%m-%d").to_string());
                labels.push(day.format("%-d %b").to_string());
                day += Duration::days(1);
            }
        }
        Step::Month => {
            let (mut year, mut month) = (first.year(), first.month());
            while (year, month) <= (now.year(), now.month()) && keys.len() <= MAX_MONTHS {
                keys.push(format!("{year:04}-{month:02}"));
                let name = NaiveDate::from_ymd_opt(year, month, 1)
                    .map(|d| d.format("%b %Y").to_string())
                    .unwrap_or_default();
                labels.push(name);
                (year, month) = if month == 12 {
                    (year + 1, 1)
                } else {
                    (year, month + 1)
                };
            }
        }
    }
    (keys, labels)
}

/// The slot a store bucket (`YYYY-MM-DD HH` or `YYYY-MM-DD`) falls in.
fn slot_key(step: Step, bucket: &str) -> String {
    match step {
        Step::Hour | Step::Day => bucket.to_string(),
        Step::Month => bucket.chars().take(7).collect(),
    }
}

/// Draws the series as a PNG of [`WIDTH`] × [`HEIGHT`].
pub fn render(series: &Series) -> Result<Vec<u8>, String> {
    ensure_font();
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(series, &mut pixels).map_err(|e| e.to_string())?;
    encode_png(&pixels, WIDTH, HEIGHT)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

type Chart<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// A light line across the chart and a label left of the axis at each tick.
fn draw_y_ticks(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    chart: &Chart<'_, '_>,
    axis: &YAxis,
    width: f64,
) -> DrawResult {
    let grid = RGBColor(228, 231, 236);
    let style = TextStyle::from((FAMILY, 14).into_font()).pos(Pos::new(HPos::Right, VPos::Center));
    for (tick, label) in axis.ticks.iter().zip(axis.labels()) {
        let (left, y) = chart.backend_coord(&(0.0, *tick));
        let (right, _) = chart.backend_coord(&(width, *tick));
        if *tick > 0.0 {
            root.draw(&PathElement::new(vec![(left, y), (right, y)], grid))?;
        }
        root.draw(&Text::new(label, (left - 8, y), style.clone()))?;
    }
    Ok(())
}

/// The whole chart: title, axes, a label under each bar, then the stacked bars and
/// their legend, or a note that there is nothing to show.
fn draw(series: &Series, pixels: &mut [u8]) -> DrawResult {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = series.labels.len().max(1);
    let tallest = series.tallest();
    let axis = y_axis(series);
    let top = axis.top;
    let mut chart = ChartBuilder::on(&root)
        .caption(&series.title, (FAMILY, 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    // The credits axis's lines and labels are drawn below at `axis.ticks`, so that
    // every label has the same decimals; the mesh draws only the axes and their titles.
    chart
        .configure_mesh()
        .disable_x_mesh()
        .disable_y_mesh()
        .x_label_formatter(&|_| String::new())
        .y_labels(0)
        .y_desc("credits")
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .draw()?;
    draw_y_ticks(&root, &chart, &axis, n as f64)?;
    draw_x_labels(&root, &chart, series)?;
    if series.groups.is_empty() || tallest <= 0.0 {
        let (x, y) = chart.backend_coord(&(n as f64 / 2.0, top / 2.0));
        let centre =
            TextStyle::from((FAMILY, 20).into_font()).pos(Pos::new(HPos::Center, VPos::Center));
        root.draw(&Text::new(
            "No usage recorded in this period",
            (x, y),
            centre,
        ))?;
        root.present()?;
        return Ok(());
    }
    draw_bars(&mut chart, series)?;
    root.present()?;
    Ok(())
}

/// One label under each bar (at most 16, evenly spread).
fn draw_x_labels(
    root: &DrawingArea<BitMapBackend<'_>, plotters::coord::Shift>,
    chart: &Chart<'_, '_>,
    series: &Series,
) -> DrawResult {
    let every = series.labels.len().div_ceil(16).max(1);
    let style = TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, label) in series.labels.iter().enumerate().step_by(every) {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        root.draw(&Text::new(label.clone(), (x, y + 8), style.clone()))?;
    }
    Ok(())
}

/// Each group's bars stacked on the groups before it, in its own colour, and the
/// legend naming the groups.
fn draw_bars<'a>(chart: &mut Chart<'a, 'a>, series: &Series) -> DrawResult {
    let mut bottoms = vec![0.0; series.labels.len()];
    for (g, (name, values)) in series.groups.iter().enumerate() {
        let colour = COLOURS[g % COLOURS.len()];
        let bars: Vec<Rectangle<(f64, f64)>> = values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let bottom = bottoms[i];
                bottoms[i] += v;
                Rectangle::new(
                    [(i as f64 + 0.12, bottom), (i as f64 + 0.88, bottom + v)],
                    colour.filled(),
                )
            })
            .collect();
        chart
            .draw_series(bars)?
            .label(name.chars().take(28).collect::<String>())
            .legend(move |(x, y)| Rectangle::new([(x, y - 6), (x + 14, y + 6)], colour.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, 14))
        .draw()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn point(bucket: &str, key: &str, credits: f64) -> SeriesPoint {
        SeriesPoint {
            bucket: bucket.into(),
            key: key.into(),
            credits,
        }
    }

    #[test]
    fn days_are_filled_and_groups_ordered() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let since = Some(now - Duration::days(2));
        let points = [
            point("2026-12-01", "cheap", 1.0),
            point("2026-12-03", "dear", 5.0),
            point("2026-12-03", "cheap", 1.0),
        ];
        let series = build("t".into(), Step::Day, since, now, &points);
        assert_eq!(series.labels, ["1 Dec", "2 Dec", "3 Dec"]);
        assert_eq!(series.groups[0], ("dear".to_string(), vec![0.0, 0.0, 5.0]));
        assert_eq!(series.groups[1], ("cheap".to_string(), vec![1.0, 0.0, 1.0]));
        assert_eq!(series.total(), 7.0);
    }

    #[test]
    fn months_sum_their_days_and_small_groups_become_other() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let mut points = vec![point("2026-11-02", "a", 1.0), point("2026-11-20", "a", 2.0)];
        for i in 0..9 {
            points.push(point("2026-12-01", &format!("g{i}"), 10.0 + i as f64));
        }
        let series = build("t".into(), Step::Month, None, now, &points);
        assert_eq!(series.labels, ["Nov 2026", "Dec 2026"]);
        assert_eq!(series.groups.len(), MAX_GROUPS);
        let other = series.groups.iter().find(|(k, _)| k == "other").unwrap();
        assert!(other.1[0] > 0.0 && other.1[1] > 0.0);
        assert_eq!(series.total(), 3.0 + (10..19).sum::<i32>() as f64);
    }

    fn one_bar(credits: f64) -> Series {
        Series {
            title: "t".into(),
            labels: vec!["1 Dec".into()],
            groups: vec![("gpt".into(), vec![credits])],
        }
    }

    #[test]
    fn every_label_of_the_credits_axis_has_the_same_decimals() {
        assert_eq!(
            y_axis(&one_bar(2.2)).labels(),
            ["0.00", "0.50", "1.00", "1.50", "2.00", "2.50"]
        );
        assert_eq!(
            y_axis(&one_bar(0.011)).labels(),
            ["0.0000", "0.0025", "0.0050", "0.0075", "0.0100", "0.0125"]
        );
        assert_eq!(
            y_axis(&one_bar(9_000.0)).labels(),
            ["0", "2,000", "4,000", "6,000", "8,000", "10,000"]
        );
        assert_eq!(y_axis(&one_bar(40.0)).labels()[1], "10.00");
        let empty = y_axis(&Series {
            groups: Vec::new(),
            ..one_bar(0.0)
        });
        assert_eq!(empty.labels(), ["0.00", "0.25", "0.50", "0.75", "1.00"]);
    }

    #[test]
    fn a_period_longer_than_the_ledger_starts_at_its_first_row() {
        let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
        let first = Some(now - Duration::days(3));
        let long = Period::Days(36_500);
        let start = start_of(long, long.since(now), first).unwrap();
        assert_eq!(Some(start), first);
        assert_eq!(step_of(long, start, now), Step::Day);
        let week = Period::Days(7);
        assert_eq!(start_of(week, week.since(now), None), week.since(now));
        assert_eq!(start_of(Period::All, None, first), first);
        assert_eq!(start_of(Period::All, None, None), None);
        let today = Period::Today.since(now);
        assert_eq!(start_of(Period::Today, today, Some(now)), today);
    }

    #[test]
    fn draws_a_png_of_the_stated_size_even_when_empty() {
        let series = Series {
            title: "Credits by model, last 7 days".into(),
            labels: vec!["1 Dec".into(), "2 Dec".into()],
            groups: vec![
                ("gpt".into(), vec![1.0, 2.5]),
                ("mini".into(), vec![0.5, 0.0]),
            ],
        };
        for series in [
            series.clone(),
            Series {
                groups: Vec::new(),
                ..series
            },
        ] {
            let png = render(&series).unwrap();
            assert_eq!(&png[1..4], b"PNG");
            assert_eq!(u32::from_be_bytes(png[16..20].try_into().unwrap()), WIDTH);
            assert_eq!(u32::from_be_bytes(png[20..24].try_into().unwrap()), HEIGHT);
        }
    }
}
