//! `make_chart`: a PNG bar or line chart attached to the reply. Drawn with plotters into
//! memory with the embedded font of [`crate::plot`], so no system fonts are needed.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::chat::{Attachment, AttachmentKind};
use crate::llm::ToolSpec;
use async_trait::async_trait;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use serde_json::{json, Value};

const NAME: &str = "make_chart";
const WIDTH: u32 = 960;
const HEIGHT: u32 = 540;
const COLOURS: [RGBColor; 4] = [
    RGBColor(41, 98, 255),
    RGBColor(255, 112, 67),
    RGBColor(67, 160, 71),
    RGBColor(142, 36, 170),
];

pub struct MakeChart;

/// What to draw, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ChartSpec {
    pub title: String,
    pub line: bool,
    pub labels: Vec<String>,
    pub series: Vec<(String, Vec<f64>)>,
}

fn spec(args: &Value) -> Result<ChartSpec, ToolError> {
    let bad = |m: &str| ToolError::bad(NAME, m.to_string());
    let labels: Vec<String> = args
        .get("labels")
        .and_then(Value::as_array)
        .filter(|l| !l.is_empty() && l.len() <= 100)
        .ok_or_else(|| bad("`labels` must be a list of 1 to 100 x-axis labels"))?
        .iter()
        .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
        .collect();
    let series = args
        .get("series")
        .and_then(Value::as_array)
        .filter(|s| !s.is_empty() && s.len() <= COLOURS.len())
        .ok_or_else(|| bad("`series` must be a list of 1 to 4 {name, values}"))?
        .iter()
        .map(|s| {
            let name = s
                .get("name")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let values: Option<Vec<f64>> = s
                .get("values")
                .and_then(Value::as_array)
                .map(|v| v.iter().filter_map(Value::as_f64).collect());
            match values {
                Some(v) if v.len() == labels.len() && v.iter().all(|x| x.is_finite()) => {
                    Ok((name, v))
                }
                _ => Err(bad("every series needs `values`: one number per label")),
            }
        })
        .collect::<Result<Vec<_>, _>>()?;
    let line = match args.get("kind").and_then(Value::as_str).unwrap_or("bar") {
        "bar" => false,
        "line" => true,
        other => return Err(bad(&format!("`kind` must be bar or line, not {other}"))),
    };
    let title = args
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(80)
        .collect();
    Ok(ChartSpec {
        title,
        line,
        labels,
        series,
    })
}

/// Draws the chart as PNG bytes.
pub fn render(chart: &ChartSpec) -> Result<Vec<u8>, String> {
    crate::plot::ensure_font();
    let mut pixels = vec![0u8; (WIDTH * HEIGHT * 3) as usize];
    draw(chart, &mut pixels).map_err(|e| e.to_string())?;
    crate::plot::encode_png(&pixels, WIDTH, HEIGHT)
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

type Area<'a> = DrawingArea<BitMapBackend<'a>, plotters::coord::Shift>;

type Canvas<'a, 'b> =
    ChartContext<'a, BitMapBackend<'b>, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

/// The whole chart into `pixels`: title, axes from the lowest value (or 0) to a tenth
/// above the highest, a label under each group, then the series and their legend.
fn draw(chart: &ChartSpec, pixels: &mut [u8]) -> DrawResult {
    let root = BitMapBackend::with_buffer(pixels, (WIDTH, HEIGHT)).into_drawing_area();
    root.fill(&WHITE)?;
    let values = || chart.series.iter().flat_map(|(_, v)| v.iter().copied());
    let max = values().fold(0.0f64, f64::max);
    let bottom = values().fold(0.0f64, f64::min).min(0.0);
    let top = if max > 0.0 { max * 1.1 } else { 1.0 };
    let n = chart.labels.len();
    let mut ctx = ChartBuilder::on(&root)
        .caption(&chart.title, ("sans-serif", 26))
        .margin(16)
        .x_label_area_size(48)
        .y_label_area_size(72)
        .build_cartesian_2d(0f64..n as f64, bottom..top)?;
    ctx.configure_mesh()
        .disable_x_mesh()
        .x_label_formatter(&|_| String::new())
        .label_style(("sans-serif", 14))
        .draw()?;
    draw_labels(&root, &ctx, &chart.labels, bottom)?;
    draw_series(&mut ctx, chart)?;
    root.present()?;
    Ok(())
}

/// One label under the middle of each group (at most 24 shown, evenly spread).
fn draw_labels(
    root: &Area<'_>,
    ctx: &Canvas<'_, '_>,
    labels: &[String],
    bottom: f64,
) -> DrawResult {
    let step = labels.len().div_ceil(24).max(1);
    let style =
        TextStyle::from(("sans-serif", 14).into_font()).pos(Pos::new(HPos::Center, VPos::Top));
    for (i, label) in labels.iter().enumerate().step_by(step) {
        let (x, y) = ctx.backend_coord(&(i as f64 + 0.5, bottom));
        let text: String = label.chars().take(16).collect();
        root.draw(&Text::new(text, (x, y + 8), style.clone()))?;
    }
    Ok(())
}

/// Each series as a line, or as bars side by side within each group, in its own
/// colour; a legend when any series has a name.
fn draw_series<'a>(ctx: &mut Canvas<'a, 'a>, chart: &ChartSpec) -> DrawResult {
    let width = 0.8 / chart.series.len() as f64;
    for (i, (name, values)) in chart.series.iter().enumerate() {
        let colour = COLOURS[i];
        let drawn = if chart.line {
            ctx.draw_series(LineSeries::new(
                values.iter().enumerate().map(|(x, y)| (x as f64 + 0.5, *y)),
                colour.stroke_width(3),
            ))
        } else {
            ctx.draw_series(values.iter().enumerate().map(|(x, y)| {
                let left = x as f64 + 0.1 + width * i as f64;
                Rectangle::new([(left, 0.0), (left + width, *y)], colour.filled())
            }))
        }?;
        if !name.is_empty() {
            drawn.label(name.clone()).legend(move |(x, y)| {
                Rectangle::new([(x, y - 5), (x + 12, y + 5)], colour.filled())
            });
        }
    }
    if chart.series.iter().any(|(n, _)| !n.is_empty()) {
        ctx.configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .label_font(("sans-serif", 14))
            .draw()?;
    }
    Ok(())
}

#[async_trait]
impl Tool for MakeChart {
    fn name(&self) -> &'static str {
        NAME
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            NAME,
            "Attach a PNG bar or line chart of numbers you have.",
            json!({
                "type": "object",
                "properties": {
                    "title": {"type": "string"},
                    "kind": {"type": "string", "enum": ["bar", "line"]},
                    "labels": {"type": "array", "items": {"type": "string"}},
                    "series": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}, "values": {"type": "array", "items": {"type": "number"}}}}}
                },
                "required": ["labels", "series"]
            }),
        )
    }

    async fn plan(&self, args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        spec(args)?;
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let chart = spec(args)?;
        let bytes = tokio::task::spawn_blocking(move || render(&chart))
            .await
            .map_err(|e| ToolError::bad(NAME, e.to_string()))?
            .map_err(|e| ToolError::bad(NAME, format!("could not draw the chart: {e}")))?;
        let size = bytes.len();
        ctx.attach(Attachment {
            name: "chart.png".into(),
            mime: "image/png",
            kind: AttachmentKind::Image,
            bytes,
        });
        Ok(json!({"attached": "chart.png", "bytes": size}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_a_png_with_text() {
        let chart = spec(&json!({
            "title": "Net earnings by creator",
            "labels": ["Luna", "Mia", "Creator 2"],
            "series": [{"name": "net", "values": [1912.4, 0, 120.5]}]
        }))
        .unwrap();
        let png = render(&chart).unwrap();
        assert_eq!(&png[1..4], b"PNG");
        assert!(png.len() > 5_000, "{} bytes", png.len());
        let line = ChartSpec {
            line: true,
            ..chart
        };
        assert!(render(&line).is_ok());
    }

    #[test]
    fn bad_charts_are_explained() {
        let e = spec(&json!({"labels": ["a", "b"], "series": [{"values": [1]}]})).unwrap_err();
        assert!(e.to_string().contains("one number per label"));
        let e = spec(&json!({"labels": ["a"], "series": [{"values": [1]}], "kind": "pie"}))
            .unwrap_err();
        assert!(e.to_string().contains("bar or line"));
    }
}
