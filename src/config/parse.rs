//! Deserializing a TOML file so that one mistake does not hide the next: every unknown key
//! and every value of the wrong type is reported at its line.

use super::locate::{self, Locator, PathPart};
use super::Problem;
use serde::de::DeserializeOwned;
use toml::de::{DeTable, DeValue};
use toml::Spanned;

/// How many values of the wrong type one file may have before the rest go unreported.
/// Each costs one more pass over the parsed file, which is cheap.
const MAX_WRONG_VALUES: usize = 100;

/// Deserializes a TOML file, reporting every unknown key and every type error, each at
/// its line. Shared by the config and the workflow files.
///
/// A key whose value has the wrong type is reported, dropped from the parsed document and
/// the document deserialized again, so the value comes out as its default (or, for a
/// required key, its table is dropped too) and the checks after this one still run. The
/// result is `Some` whenever the file is valid TOML and its required keys survive; the
/// caller decides from `problems` whether it may be used.
pub fn parse_toml<T: DeserializeOwned>(
    origin: &str,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Option<T> {
    parse_toml_dropping(origin, text, problems).value
}

/// Deserializes the table at `keys` of the file `locator` holds (a platform's section),
/// without its `skip` keys (read by someone else), reporting its
/// unknown keys and wrong values at their lines, with their full key paths. `None` when
/// the file has no such table or a required key of it is missing or wrong.
pub(super) fn parse_toml_table<T: DeserializeOwned>(
    origin: &str,
    locator: &Locator,
    keys: &[&str],
    skip: &[&str],
    problems: &mut Vec<Problem>,
) -> Option<T> {
    let Ok(document) = DeTable::parse(locator.text()) else {
        return None; // the file as a whole is reported as not TOML
    };
    let prefix = locate::path(keys);
    let (mut span, mut root) = (document.span(), document.into_inner());
    let mut table = &mut root;
    for key in keys {
        let value = table.get_mut(*key)?;
        span = value.span();
        match value.get_mut() {
            DeValue::Table(inner) => table = inner,
            _ => return None,
        }
    }
    for key in skip {
        table.remove(*key);
    }
    let table = Spanned::new(span, std::mem::take(table));
    deserialize(origin, locator, table, &prefix, problems).value
}

/// What [`parse_toml`] made of a file.
pub(super) struct Parsed<T> {
    pub value: Option<T>,
    /// The keys left out because a value in them had the wrong type, so that later checks
    /// do not report them a second time as missing.
    pub dropped: Vec<Vec<PathPart>>,
}

/// [`parse_toml`], also saying which keys were dropped for a wrong value.
pub(super) fn parse_toml_dropping<T: DeserializeOwned>(
    origin: &str,
    text: &str,
    problems: &mut Vec<Problem>,
) -> Parsed<T> {
    let locator = Locator::new(text);
    match DeTable::parse(text) {
        Ok(document) => deserialize(origin, &locator, document, &[], problems),
        Err(e) => {
            let line = e.span().map_or(1, |s| locator.line_at(s.start));
            problems.push(Problem {
                origin: origin.to_string(),
                line,
                message: format!("not valid TOML: {}", e.message().trim()),
            });
            Parsed {
                value: None,
                dropped: Vec::new(),
            }
        }
    }
}

/// Deserializes `document` (the table at `prefix` of the file), dropping each value of the
/// wrong type and trying again, until it deserializes or nothing more can be dropped.
fn deserialize<T: DeserializeOwned>(
    origin: &str,
    locator: &Locator,
    mut document: Spanned<DeTable<'_>>,
    prefix: &[PathPart],
    problems: &mut Vec<Problem>,
) -> Parsed<T> {
    let at = |line: usize, message: String| Problem {
        origin: origin.to_string(),
        line,
        message,
    };
    let full = |path: &[PathPart]| [prefix, path].concat();
    let mut dropped: Vec<Vec<PathPart>> = Vec::new();
    loop {
        let (error, path) = match attempt::<T>(&document) {
            Ok((value, unknown)) => {
                for path in unknown.iter().map(|p| full(p)) {
                    let message = format!("unknown key `{}`", locate::display(&path));
                    problems.push(at(locator.line_of(&path), message));
                }
                let dropped = dropped.iter().map(|p| full(p)).collect();
                return Parsed {
                    value: Some(value),
                    dropped,
                };
            }
            Err(failed) => failed,
        };
        if dropped.len() == MAX_WRONG_VALUES {
            let message =
                format!("more than {MAX_WRONG_VALUES} values have the wrong type; fix these first");
            problems.push(at(locator.line_of(&full(&path)), message));
            break;
        }
        if !follows_a_drop(&error, &path, &dropped) {
            let line = error.span().map_or_else(
                || locator.line_of(&full(&path)),
                |s| locator.line_at(s.start),
            );
            let message = error.message().trim();
            let message = match path.is_empty() && prefix.is_empty() {
                true => message.to_string(),
                false => format!("`{}`: {message}", locate::display(&full(&path))),
            };
            problems.push(at(line, message));
        }
        match drop_key(document.get_mut(), &path) {
            Some(removed) => dropped.push(removed),
            None => break,
        }
    }
    Parsed {
        value: None,
        dropped: dropped.iter().map(|p| full(p)).collect(),
    }
}

type Attempt<T> = Result<(T, Vec<Vec<PathPart>>), (toml::de::Error, Vec<PathPart>)>;

/// One pass over the document: the value and its unknown keys, or the first error and the
/// path of the key it is about.
fn attempt<T: DeserializeOwned>(document: &Spanned<DeTable<'_>>) -> Attempt<T> {
    let mut unknown = Vec::new();
    let mut track = serde_path_to_error::Track::new();
    let deserializer = serde_path_to_error::Deserializer::new(
        toml::de::Deserializer::from(document.clone()),
        &mut track,
    );
    match serde_ignored::deserialize(deserializer, |p| unknown.push(locate::from_ignored(&p))) {
        Ok(value) => Ok((value, unknown)),
        Err(error) => Err((error, from_track(&track.path()))),
    }
}

/// Whether `error` only says that a key dropped earlier is now missing.
fn follows_a_drop(error: &toml::de::Error, path: &[PathPart], dropped: &[Vec<PathPart>]) -> bool {
    missing_field(error.message()).is_some_and(|field| {
        let mut full = path.to_vec();
        full.push(PathPart::Key(field.to_string()));
        dropped.contains(&full)
    })
}

/// The field of serde's "missing field `x`" message.
fn missing_field(message: &str) -> Option<&str> {
    message
        .strip_prefix("missing field `")
        .and_then(|rest| rest.split('`').next())
}

fn from_track(path: &serde_path_to_error::Path) -> Vec<PathPart> {
    use serde_path_to_error::Segment;
    path.iter()
        .filter_map(|segment| match segment {
            Segment::Seq { index } => Some(PathPart::Index(*index)),
            Segment::Map { key } => Some(PathPart::Key(key.clone())),
            Segment::Enum { .. } | Segment::Unknown => None,
        })
        .collect()
}

/// Removes the key at `path` (or, for an element of a plain array, the key holding the
/// array) and returns the path removed; `None` when nothing could be removed.
fn drop_key(root: &mut DeTable<'_>, path: &[PathPart]) -> Option<Vec<PathPart>> {
    let last_key = path.iter().rposition(|p| matches!(p, PathPart::Key(_)))?;
    let (parent, key) = (&path[..last_key], &path[last_key]);
    let PathPart::Key(key) = key else {
        return None;
    };
    let table = table_at(root, parent)?;
    table.remove(key.as_str())?;
    Some(path[..=last_key].to_vec())
}

fn table_at<'a, 'i>(table: &'a mut DeTable<'i>, path: &[PathPart]) -> Option<&'a mut DeTable<'i>> {
    let Some((first, mut rest)) = path.split_first() else {
        return Some(table);
    };
    let PathPart::Key(key) = first else {
        return None;
    };
    let mut value = table.get_mut(key.as_str())?.get_mut();
    while let Some((PathPart::Index(i), after)) = rest.split_first() {
        value = match value {
            DeValue::Array(items) => items.get_mut(*i)?.get_mut(),
            _ => return None,
        };
        rest = after;
    }
    match value {
        DeValue::Table(inner) => table_at(inner, rest),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use std::collections::BTreeMap;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Doc {
        size: u32,
        name: String,
        item: Vec<Item>,
    }

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Item {
        label: String,
        weight: f64,
    }

    fn parse<T: DeserializeOwned>(text: &str) -> (Option<T>, Vec<String>) {
        let mut problems = Vec::new();
        let value = parse_toml::<T>("f.toml", text, &mut problems);
        (value, problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn every_wrong_value_is_reported_and_left_at_its_default() {
        let text = "size = \"big\"\nname = 7\n\n[[item]]\nlabel = \"a\"\nweight = 1.5\n\n[[item]]\nlabel = \"b\"\nweight = \"heavy\"\ncolour = 1\n";
        let (doc, mut problems) = parse::<Doc>(text);
        problems.sort();
        assert_eq!(
            problems,
            [
                "f.toml:10: `item[1].weight`: invalid type: string \"heavy\", expected f64",
                "f.toml:11: unknown key `item[1].colour`",
                "f.toml:1: `size`: invalid type: string \"big\", expected u32",
                "f.toml:2: `name`: invalid type: integer `7`, expected a string",
            ]
        );
        let doc = doc.expect("the rest of the file is read");
        assert_eq!((doc.size, doc.name.as_str()), (0, ""));
        assert_eq!(doc.item.len(), 2);
        assert_eq!((doc.item[0].weight, doc.item[1].label.as_str()), (1.5, "b"));
        assert_eq!(doc.item[1].weight, 0.0);
    }

    #[test]
    fn a_bad_element_of_a_plain_array_drops_the_array() {
        #[derive(Debug, Deserialize)]
        struct Ids {
            #[serde(default)]
            ids: Vec<i64>,
        }
        let (ids, problems) = parse::<Ids>("ids = [\n  1,\n  \"two\",\n]\n");
        assert_eq!(
            problems,
            ["f.toml:3: `ids[1]`: invalid type: string \"two\", expected i64"]
        );
        assert!(ids.unwrap().ids.is_empty());
    }

    #[test]
    fn a_wrong_required_value_is_not_reported_again_as_missing() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct Named {
            name: String,
        }
        let (named, problems) = parse::<Named>("name = 1\n");
        assert_eq!(
            problems,
            ["f.toml:1: `name`: invalid type: integer `1`, expected a string"]
        );
        assert!(named.is_none());
    }

    #[test]
    fn stops_after_a_bounded_number_of_wrong_values() {
        let text: String = (0..MAX_WRONG_VALUES + 5)
            .map(|i| format!("k{i:03} = \"x\"\n"))
            .collect();
        let (map, problems) = parse::<BTreeMap<String, u32>>(&text);
        assert!(map.is_none());
        assert_eq!(problems.len(), MAX_WRONG_VALUES + 1);
        assert!(
            problems[MAX_WRONG_VALUES].ends_with("values have the wrong type; fix these first"),
            "{problems:?}"
        );
    }
}
