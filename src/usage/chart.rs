//! Credits over time, stacked by model, platform, kind or user: the PNG of `/usage chart`,
//! `fanops usage --chart` and the operations page.

use super::{dimension_name, Period};
use crate::plot::{encode_png, ensure_font, FAMILY};
use crate::store::{Bucket, OperationsView, SeriesPoint, StoreError, UsageDimension};
use chrono::{DateTime, Datelike, Duration, NaiveDate, Timelike, Utc};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use std::collections::BTreeMap;

pub const WIDTH: u32 = 1000;
pub const HEIGHT: u32 = 500;

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

fn step_of(period: Period) -> Step {
    match period {
        Period::Today => Step::Hour,
        Period::Days(n) if n <= 62 => Step::Day,
        _ => Step::Month,
    }
}

/// Reads the ledger and cuts it into bars for `period` ending at `now`.
pub async fn series(
    view: &dyn OperationsView,
    period: Period,
    by: UsageDimension,
    now: DateTime<Utc>,
) -> Result<Series, StoreError> {
    let step = step_of(period);
    let bucket = if step == Step::Hour {
        Bucket::Hour
    } else {
        Bucket::Day
    };
    let since = period.since(now);
    let points = view.usage_series(since, by, bucket).await?;
    let title = format!("Credits by {}, {}", dimension_name(by), period.label());
    Ok(build(title, step, since, now, &points))
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
            while (year, month) <= (now.year(), now.month()) && keys.len() < 1200 {
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

fn draw(series: &Series, pixels: &mut [u8]) -> DrawResult {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let n = series.labels.len().max(1);
    let tallest = (0..series.labels.len())
        .map(|i| series.groups.iter().map(|(_, v)| v[i]).sum::<f64>())
        .fold(0.0f64, f64::max);
    let top = if tallest > 0.0 { tallest * 1.15 } else { 1.0 };
    let mut chart = ChartBuilder::on(&root)
        .caption(&series.title, (FAMILY, 24))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(80)
        .build_cartesian_2d(0f64..n as f64, 0f64..top)?;
    chart
        .configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|_| String::new())
        .y_label_formatter(&|v| super::credits(*v))
        .light_line_style(WHITE)
        .y_desc("credits")
        .label_style((FAMILY, 14))
        .axis_desc_style((FAMILY, 15))
        .draw()?;
    // One label under each bar (at most 16, evenly spread).
    let every = series.labels.len().div_ceil(16).max(1);
    let style = TextStyle::from((FAMILY, 13).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, label) in series.labels.iter().enumerate().step_by(every) {
        let (x, y) = chart.backend_coord(&(i as f64 + 0.5, 0.0));
        root.draw(&Text::new(label.clone(), (x, y + 8), style.clone()))?;
    }
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
    root.present()?;
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
