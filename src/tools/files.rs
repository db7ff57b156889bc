//! Files a tool attaches to its turn's reply (a CSV export, a chart), and `make_csv`.

use super::{Access, Plan, Tool, ToolContext, ToolError};
use crate::chat::{Attachment, AttachmentKind};
use crate::llm::ToolSpec;
use async_trait::async_trait;
use serde_json::{json, Value};

/// The largest file every platform fanops serves accepts (the smallest bot limit).
pub const MAX_FILE_BYTES: usize = 50 * 1024 * 1024;

pub struct MakeCsv;

const NAME: &str = "make_csv";

/// A safe file name: letters, digits, `-`, `_`, `.`; always ending in `.csv`.
fn file_name(raw: Option<&str>) -> String {
    let stem: String = raw
        .unwrap_or("export")
        .trim_end_matches(".csv")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(60)
        .collect();
    let stem = if stem.trim_matches('_').is_empty() {
        "export".to_string()
    } else {
        stem
    };
    format!("{stem}.csv")
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn table(args: &Value) -> Result<(Vec<String>, Vec<Vec<String>>), ToolError> {
    let columns: Vec<String> = args
        .get("columns")
        .and_then(Value::as_array)
        .filter(|c| !c.is_empty())
        .ok_or_else(|| ToolError::bad(NAME, "`columns` must be a non-empty list of column names"))?
        .iter()
        .map(cell)
        .collect();
    let rows = args.get("rows").and_then(Value::as_array).ok_or_else(|| {
        ToolError::bad(NAME, "`rows` must be a list of rows, each a list of cells")
    })?;
    let rows = rows
        .iter()
        .enumerate()
        .map(|(i, row)| match row.as_array() {
            Some(cells) if cells.len() == columns.len() => Ok(cells.iter().map(cell).collect()),
            _ => Err(ToolError::bad(
                NAME,
                format!(
                    "row {} must be a list of {} cells, like `columns`",
                    i + 1,
                    columns.len()
                ),
            )),
        })
        .collect::<Result<Vec<Vec<String>>, _>>()?;
    Ok((columns, rows))
}

#[async_trait]
impl Tool for MakeCsv {
    fn name(&self) -> &'static str {
        NAME
    }

    fn spec(&self) -> ToolSpec {
        ToolSpec::new(
            NAME,
            "Attach a CSV of rows you already have.",
            json!({
                "type": "object",
                "properties": {
                    "filename": {"type": "string"},
                    "columns": {"type": "array", "items": {"type": "string"}},
                    "rows": {"type": "array", "items": {"type": "array"}}
                },
                "required": ["columns", "rows"]
            }),
        )
    }

    async fn plan(&self, args: &Value, _ctx: &ToolContext) -> Result<Plan, ToolError> {
        table(args)?;
        Ok(Plan::Read)
    }

    async fn run(
        &self,
        args: &Value,
        ctx: &ToolContext,
        _access: Access<'_>,
    ) -> Result<Value, ToolError> {
        let (columns, rows) = table(args)?;
        let mut writer = csv::Writer::from_writer(Vec::new());
        let write = |e: csv::Error| ToolError::bad(NAME, format!("could not write the CSV: {e}"));
        writer.write_record(&columns).map_err(write)?;
        for row in &rows {
            writer.write_record(row).map_err(write)?;
        }
        let bytes = writer
            .into_inner()
            .map_err(|e| ToolError::bad(NAME, e.to_string()))?;
        if bytes.len() > MAX_FILE_BYTES {
            return Err(ToolError::bad(
                NAME,
                format!("the CSV would be {} bytes; the limit is 50 MB", bytes.len()),
            ));
        }
        let name = file_name(args.get("filename").and_then(Value::as_str));
        let size = bytes.len();
        ctx.attach(Attachment {
            name: name.clone(),
            mime: "text/csv",
            kind: AttachmentKind::Document,
            bytes,
        });
        Ok(json!({"attached": name, "rows": rows.len(), "bytes": size}))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_are_safe() {
        assert_eq!(file_name(Some("top fans/june")), "top_fans_june.csv");
        assert_eq!(file_name(Some("../../etc.csv")), "______etc.csv");
        assert_eq!(file_name(None), "export.csv");
    }

    #[test]
    fn rows_must_match_columns() {
        let err = table(&json!({"columns": ["a", "b"], "rows": [[1, 2], [3]]})).unwrap_err();
        assert!(err.to_string().contains("row 2 must be a list of 2 cells"));
        let (c, r) =
            table(&json!({"columns": ["fan", "spent"], "rows": [["Jake", 12.5], [null, 1]]}))
                .unwrap();
        assert_eq!(c, ["fan", "spent"]);
        assert_eq!(r[0], ["Jake", "12.5"]);
        assert_eq!(r[1], ["", "1"]);
    }
}
