use super::*;

fn known() -> Known {
    Known {
        models: vec!["gpt-4.1-mini".into(), "claude-sonnet".into()],
        skills: crate::skills::Library::load(None).0.names(),
        default_tz: "Europe/London".parse().unwrap(),
        channels: vec!["team-chat".into()],
    }
}

fn problems(text: &str) -> Vec<String> {
    match parse("w.toml", "w", text, &known()) {
        Ok(_) => Vec::new(),
        Err(p) => p.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn every_built_in_workflow_is_valid_and_a_template() {
    let (workflows, problems) = load_all(None, &known());
    assert!(problems.is_empty(), "{problems:?}");
    assert_eq!(workflows.len(), 12);
    assert!(workflows.iter().all(Workflow::is_template));
    let categories: std::collections::BTreeSet<_> =
        workflows.iter().map(|w| w.category.as_str()).collect();
    assert_eq!(
        categories.into_iter().collect::<Vec<_>>(),
        ["Alerts", "Analytics", "Coaching", "Engagement", "Reports"]
    );
    let rules: Vec<&str> = workflows
        .iter()
        .filter(|w| w.is_rule())
        .map(|w| w.id.as_str())
        .collect();
    assert_eq!(
        rules,
        [
            "alert-big-tip",
            "alert-new-subscriber-digest",
            "alert-account-needs-attention",
            "alert-ppv-unlocked"
        ]
    );
}

#[test]
fn a_rule_has_a_trigger_instead_of_a_schedule_and_never_fires_on_the_clock() {
    let text = "name = \"Big tips\"\n[trigger]\nevent = \"tip\"\nmin_amount = 50\ntemplate = \"{fan_name} tipped {amount}\"\n[deliver]\nchannel = \"team-chat\"\nto = \"-100\"\n";
    let w = parse("w.toml", "big-tips", text, &known()).unwrap();
    assert!(w.is_rule() && !w.is_template());
    assert_eq!(w.category, "Alerts");
    assert_eq!(w.schedule.next_after(chrono::Utc::now()), None);
}

#[test]
fn rule_problems_point_at_their_lines() {
    let text = "name = \"Bad\"\n[trigger]\nevent = \"tipz\"\ncooldown = \"soon\"\ntemplate = \"{fan} tipped\"\n[deliver]\nchannel = \"team-chat\"\nto = \"-100\"\n";
    let found = problems(text);
    assert_eq!(found.len(), 3, "{found:#?}");
    assert!(
        found[0].starts_with("w.toml:3: unknown event kind `tipz`"),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("w.toml:4: `soon` is not a duration")),
        "{found:#?}"
    );
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("w.toml:5: unknown template field `{fan}`")),
        "{found:#?}"
    );
    let both = "name = \"Both\"\nprompt = \"x\"\ncategory = \"Reports\"\n[schedule]\ndaily = \"08:00\"\n[trigger]\nevent = \"tip\"\ntemplate = \"t\"\n";
    assert!(problems(both)
        .iter()
        .any(|p| p.contains("either a [schedule] or a [trigger]")));
}

#[test]
fn an_active_task_has_deliver() {
    let text = "name = \"Digest\"\ncategory = \"Reports\"\nmodel = \"claude-sonnet\"\nskill = \"earnings-recap\"\nprompt = \"Sum it up\"\n[schedule]\ncron = \"0 8 * * *\"\ntimezone = \"America/New_York\"\n[deliver]\nchannel = \"team-chat\"\nto = \"-1001234567890\"\n[permissions]\nallow_writes = [\"chat-messages/send-message\"]\n";
    let w = parse("w.toml", "digest", text, &known()).unwrap();
    assert!(!w.is_template());
    assert_eq!(w.deliver.unwrap().to, "-1001234567890");
    assert_eq!(w.schedule.tz.name(), "America/New_York");
    assert_eq!(w.allow_writes, ["chat-messages/send-message"]);
}

#[test]
fn every_problem_is_located() {
    let text = r#"name = "Bad"
category = "Reports"
model = "gpt-9"
skill = "nope"
prompt = "x"
colour = "red"

[schedule]
cron = "0 8 * *"

[deliver]
channel = "pigeon"
to = "1"

[permissions]
allow_writes = ["fans/list-top-fans", "no/such-endpoint"]
"#;
    let found = problems(text);
    let expect = [
        "w.toml:6: unknown key `colour`",
        "w.toml:3: unknown model alias `gpt-9`",
        "w.toml:4: unknown skill `nope`",
        "w.toml:12: unknown channel `pigeon`",
        "w.toml:16: allow_writes names `fans/list-top-fans`, which is a read",
        "w.toml:16: allow_writes names `no/such-endpoint`, which is not an OnlyFansAPI endpoint",
        "w.toml:9: cron `0 8 * *` has 4 fields",
    ];
    for e in expect {
        assert!(
            found.iter().any(|p| p.starts_with(e)),
            "missing {e:?} in {found:#?}"
        );
    }
    assert_eq!(found.len(), expect.len(), "{found:#?}");
}

#[test]
fn schedule_problems_point_at_their_key() {
    let found = problems("name = \"x\"\ncategory = \"Reports\"\nprompt = \"p\"\n[schedule]\ndaily = \"08:00\"\ntimezone = \"Mars/Base\"\n");
    assert_eq!(
        found,
        ["w.toml:6: unknown time zone `Mars/Base` (use an IANA name such as \"Europe/London\")"]
    );
    let found = problems("name = \"x\"\ncategory = \"Reports\"\nprompt = \"p\"\n");
    assert_eq!(
        found,
        ["w.toml:1: a workflow needs a [schedule] table (or a [trigger] table for an event rule)"]
    );
    let found = problems("name = \"x\"\ncategory = \"Reports\"\nprompt = \"p\"\n[schedule]\ncron = \"0 8 * * *\"\nweekly = { days = [\"mon\"], at = \"09:00\" }\n");
    assert!(
        found[0].starts_with("w.toml:5: give exactly one of"),
        "{found:?}"
    );
}

#[test]
fn a_directory_adds_and_overrides_workflows() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("weekly-recap.toml"),
        "name = \"Our recap\"\ncategory = \"Reports\"\nprompt = \"p\"\n[schedule]\nweekly = { days = [\"fri\"], at = \"17:00\" }\n[deliver]\nchannel = \"team-chat\"\nto = \"42\"\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("broken.toml"), "name = \n").unwrap();
    std::fs::write(dir.path().join("notes.txt"), "ignored").unwrap();
    let (workflows, problems) = load_all(Some(dir.path()), &known());
    assert_eq!(
        workflows.len(),
        BUILT_IN.len(),
        "the override replaces the built-in; the broken file is reported"
    );
    let recap = workflows.iter().find(|w| w.id == "weekly-recap").unwrap();
    assert_eq!(recap.name, "Our recap");
    assert!(!recap.is_template());
    assert_eq!(problems.len(), 1);
    assert!(
        problems[0]
            .to_string()
            .contains("broken.toml:1: not valid TOML"),
        "{}",
        problems[0]
    );
}

#[test]
fn a_category_is_optional() {
    let w = parse(
        "w.toml",
        "w",
        "name = \"x\"\nprompt = \"p\"\n[schedule]\ndaily = \"08:00\"\n",
        &known(),
    )
    .unwrap();
    assert_eq!(w.category, DEFAULT_CATEGORY);
}
