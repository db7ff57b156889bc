//! Workflow files. Any text is read without a panic and every problem found points at a
//! line of the file; a valid workflow written out as TOML reads back as the same workflow.

use fanops::config::Problem;
use fanops::onlyfans::catalog::{Catalog, Effect};
use fanops::tasks::stored;
use fanops::tasks::workflow::{self, Deliver, Known, Permissions, WorkflowDocument};
use proptest::prelude::*;
use proptest::sample::{select, subsequence, Index};

use super::config;
use super::specs::valid_spec;

const MODELS: [&str; 2] = ["gpt-4.1-mini", "claude-sonnet"];
const SKILLS: [&str; 1] = ["earnings-recap"];

fn known() -> Known {
    Known {
        models: MODELS.map(String::from).to_vec(),
        skills: SKILLS.map(String::from).to_vec(),
        default_tz: "Europe/London".parse().unwrap(),
        channels: channels(),
    }
}

/// The platforms this build delivers to, from the registry.
fn channels() -> Vec<String> {
    fanops::channels::PLATFORMS
        .iter()
        .filter(|p| p.unbuilt().is_none())
        .map(|p| p.name().to_string())
        .collect()
}

/// The write endpoints of the catalog: what `allow_writes` may name.
fn writes() -> Vec<String> {
    Catalog::embedded()
        .endpoints()
        .iter()
        .filter(|e| e.effect == Effect::Write)
        .map(|e| e.id.clone())
        .collect()
}

// ----- Text that looks like a workflow file -----------------------------------------

fn key() -> impl Strategy<Value = String> {
    let known = select(vec![
        "name",
        "description",
        "category",
        "skill",
        "model",
        "prompt",
        "schedule",
        "cron",
        "every",
        "daily",
        "weekly",
        "monthly",
        "timezone",
        "deliver",
        "channel",
        "to",
        "permissions",
        "allow_writes",
        "days",
        "at",
        "day",
        "colour",
        "\"quoted key\"",
        "schedule.daily",
        "deliver.to",
        "permissions.allow_writes",
    ])
    .prop_map(String::from);
    prop_oneof![4 => known, 1 => "[a-z_\\-.\"]{0,8}"]
}

fn value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        "\"[^\"\\\\\n]{0,12}\"",
        "\"[a-z\\\\\"u0-9]{0,8}\"",
        "'[^'\n]{0,10}'",
        "\"\"\"[a-z\n\"\\\\]{0,20}\"\"\"",
        "'''[a-z\n']{0,20}'''",
        "-?[0-9_]{1,12}",
        "[0-9]{1,3}\\.[0-9]{0,3}(e[0-9]{1,3})?",
        "true|false|nan|inf|-inf",
        "[0-9]{4}-[0-9]{2}-[0-9]{2}([T ][0-9]{2}:[0-9]{2}(:[0-9]{2})?Z?)?",
        "\"(mon|Thursday|funday)\"",
        "\"[0-9]{1,2}:[0-9]{1,2}\"",
        "\"[0-9*/, a-z-]{1,15}\"",
        "\"[0-9]{1,4} ?(s|m|h|d)\"",
        "\"(telegram|slack|discord|whatsapp|)\"",
        "\"(Europe/London|Mars/Base|America/New_York)\"",
        "\"(gpt-4.1-mini|gpt-9|earnings-recap|nope)\"",
        "\"(chat-messages/send-message|fans/list-top-fans|no/such)\"",
        "[^\n]{0,10}",
    ];
    leaf.prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4)
                .prop_map(|items| format!("[{}]", items.join(", "))),
            prop::collection::vec((key(), inner), 0..3).prop_map(|pairs| {
                let pairs: Vec<String> = pairs.iter().map(|(k, v)| format!("{k} = {v}")).collect();
                format!("{{ {} }}", pairs.join(", "))
            }),
        ]
    })
}

fn line() -> impl Strategy<Value = String> {
    let header = select(vec![
        "[schedule]",
        "[deliver]",
        "[permissions]",
        "[schedule.weekly]",
        "[schedule.monthly]",
        "[[deliver]]",
        "[[schedule.weekly.days]]",
        "[name]",
        "[schedule",
        "]]",
        "[]",
        "[a.b.c]",
    ])
    .prop_map(String::from);
    prop_oneof![
        8 => (key(), " ?= ?", value()).prop_map(|(k, eq, v)| format!("{k}{eq}{v}")),
        3 => header,
        1 => "#[^\n]{0,10}",
        1 => Just(String::new()),
        1 => "[a-z=\"'\\[\\]{}#, ]{0,20}",
        1 => any::<String>(),
    ]
}

/// Lines of TOML-ish text, with either line ending and with or without a last newline.
fn toml_ish() -> impl Strategy<Value = String> {
    let lines = prop::collection::vec(line(), 0..30);
    (lines, select(vec!["\n", "\r\n"]), any::<bool>()).prop_map(|(lines, end, last)| {
        let mut text = lines.join(end);
        if last {
            text.push_str(end);
        }
        text
    })
}

/// A valid workflow's text with one line dropped, doubled, replaced or cut short.
fn damaged_workflow() -> impl Strategy<Value = String> {
    let damage = prop_oneof![
        Just(Damage::Drop),
        Just(Damage::Double),
        line().prop_map(Damage::Replace),
        any::<Index>().prop_map(Damage::Cut),
    ];
    (document(), any::<Index>(), damage).prop_map(|(document, at, damage)| {
        let text = toml::to_string(&document).expect("a document serializes");
        let mut lines: Vec<String> = text.lines().map(String::from).collect();
        let i = at.index(lines.len());
        match damage {
            Damage::Drop => {
                lines.remove(i);
            }
            Damage::Double => lines.insert(i, lines[i].clone()),
            Damage::Replace(line) => lines[i] = line,
            Damage::Cut(at) => {
                let chars: Vec<char> = lines[i].chars().collect();
                lines[i] = chars[..at.index(chars.len() + 1)].iter().collect();
            }
        }
        lines.join("\n")
    })
}

#[derive(Debug, Clone)]
enum Damage {
    Drop,
    Double,
    Replace(String),
    Cut(Index),
}

// ----- Valid workflows --------------------------------------------------------------

/// Text a person might type into a one-line key: anything with a visible character.
fn words() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<String>(),
        "[a-zA-Z0-9 \"'\\\\#=\\[\\]{}<&é💋\t]{1,40}",
    ]
    .prop_filter("not blank", |s| !s.trim().is_empty())
}

/// Several lines, with the quotes and backslashes that TOML must escape.
fn prose() -> impl Strategy<Value = String> {
    prop_oneof![
        words(),
        prop::collection::vec(words(), 1..6).prop_map(|lines| lines.join("\n")),
        "[a-z\"'\\\\\n ]{0,30}\"\"\"[a-z\n]{1,10}".prop_map(String::from),
    ]
    .prop_filter("not blank", |s| !s.trim().is_empty())
}

pub(super) fn document() -> impl Strategy<Value = WorkflowDocument> {
    let deliver = (select(channels()), words()).prop_map(|(channel, to)| Deliver { channel, to });
    let writes = writes();
    // A category is optional: left empty, the workflow is filed under "Other".
    let category = prop_oneof![3 => words(), 1 => Just(String::new())];
    let texts = (words(), any::<String>(), category, prose());
    let choices = (
        prop::option::of(select(SKILLS.to_vec())),
        prop::option::of(select(MODELS.to_vec())),
        prop::option::weighted(0.9, valid_spec()),
        prop::option::of(deliver),
        subsequence(writes.clone(), 0..=writes.len().min(3)),
    );
    (texts, choices).prop_map(
        |((name, description, category, prompt), (skill, model, schedule, deliver, allow))| {
            WorkflowDocument {
                name,
                description,
                category,
                skill: skill.map(String::from),
                model: model.map(String::from),
                prompt,
                schedule,
                trigger: None,
                deliver,
                permissions: Permissions {
                    allow_writes: allow,
                },
            }
        },
    )
}

fn within_the_file(problem: &Problem, text: &str) -> Result<(), TestCaseError> {
    let lines = text.lines().count().max(1);
    prop_assert_eq!(problem.origin.as_str(), "w.toml");
    prop_assert!(
        (1..=lines).contains(&problem.line),
        "line {} of a {}-line file: {}",
        problem.line,
        lines,
        problem
    );
    prop_assert!(!problem.message.trim().is_empty(), "{}", problem);
    // `fanops check` prints each problem on one line, whatever the file held.
    prop_assert!(
        !problem.to_string().contains(['\n', '\r']),
        "{:?}",
        problem.to_string()
    );
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn any_text_is_read_without_a_panic_and_each_problem_is_on_a_line_of_it(
        text in prop_oneof![3 => toml_ish(), 2 => damaged_workflow(), 1 => any::<String>()],
    ) {
        if let Err(problems) = workflow::parse("w.toml", "w", &text, &known()) {
            prop_assert!(!problems.is_empty());
            for problem in &problems {
                within_the_file(problem, &text)?;
            }
        }
    }

    #[test]
    fn a_valid_workflow_reads_back_as_written(document in document()) {
        let schedule = document.schedule.clone();
        let (text, task) = match stored::render("t", &document, &known()) {
            Ok(read) => read,
            Err(problems) if schedule.is_none() => {
                prop_assert_eq!(problems, "a workflow needs a [schedule] table (or a [trigger] table for an event rule)");
                return Ok(());
            }
            Err(problems) => return Err(TestCaseError::fail(format!("refused: {problems}"))),
        };
        prop_assert_eq!(&task.name, &document.name);
        prop_assert_eq!(&task.description, &document.description);
        let category = match document.category.trim().is_empty() {
            true => workflow::DEFAULT_CATEGORY,
            false => document.category.as_str(),
        };
        prop_assert_eq!(task.category.as_str(), category);
        prop_assert_eq!(&task.skill, &document.skill);
        prop_assert_eq!(&task.model, &document.model);
        prop_assert_eq!(&task.prompt, &document.prompt);
        prop_assert_eq!(Some(&task.schedule_spec), schedule.as_ref());
        prop_assert_eq!(&task.deliver, &document.deliver);
        prop_assert_eq!(task.is_template(), document.deliver.is_none());
        prop_assert_eq!(&task.allow_writes, &document.permissions.allow_writes);
        let zone = schedule.and_then(|s| s.timezone).unwrap_or_else(|| "Europe/London".into());
        prop_assert_eq!(task.schedule.tz.name(), zone.as_str());
        // And the stored text reads back into a document that writes the same text.
        let again = stored::document(&text).expect("the stored text reads back");
        prop_assert_eq!(toml::to_string(&again).unwrap(), text);
    }
}

#[test]
fn a_problem_at_the_end_of_the_file_is_on_its_last_line() {
    for text in ["name = [\"x\"\n", "name = [\"x\"\r\n", "name = [\"x\""] {
        let problems = workflow::parse("w.toml", "w", text, &known()).unwrap_err();
        let shown: Vec<String> = problems.iter().map(Problem::to_string).collect();
        assert_eq!(shown.len(), 1, "{text:?}: {shown:?}");
        assert!(
            shown[0].starts_with("w.toml:1: not valid TOML"),
            "{text:?}: {shown:?}"
        );
    }
}
