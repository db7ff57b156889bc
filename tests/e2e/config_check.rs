//! Bad configuration files produce `file:line: problem`, from the library and from
//! `fanops check`.

use fanops::config::{Config, ConfigSource};
use std::process::Command;

fn problems(text: &str) -> Vec<String> {
    let source = ConfigSource::Text {
        origin: "fanops.toml".into(),
        text: text.into(),
    };
    match Config::load_with_env(source, &|_| None, &fanops::channels::configs()) {
        Ok(_) => Vec::new(),
        Err(e) => e.problems.iter().map(|p| p.to_string()).collect(),
    }
}

#[test]
fn every_problem_is_located() {
    let text = r#"timezone = "Mars/Olympus"
colour = "blue"

[server]
listen = "not-an-address"

[onlyfans]
base_url = "ftp://example.com"

[llm]
default_model = "nope"

[llm.models."cheap"]
provider = "openai"
id = "gpt-x"
usd_per_mtok_input = 0.1

[agent]
confirm_ttl = "soon"
"#;
    let found = problems(text);
    let expect = [
        "fanops.toml:1: unknown time zone `Mars/Olympus`",
        "fanops.toml:2: unknown key `colour`",
        "fanops.toml:5: `not-an-address` is not an address",
        "fanops.toml:8: `ftp://example.com` must be an http:// or https:// URL",
        "fanops.toml:11: default_model `nope` is not a model alias (known: cheap)",
        "fanops.toml:13: model `cheap` has no price: set usd_per_mtok_output",
        "fanops.toml:19: `soon` is not a duration",
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
fn syntax_and_type_errors_are_located() {
    let found = problems("timezone = \"UTC\"\n[server\nlisten = 1\n");
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(
        found[0].starts_with("fanops.toml:2: not valid TOML"),
        "{found:?}"
    );
    let found = problems("[onlyfans]\nrequests_per_minute = \"fast\"\n");
    assert!(found[0].starts_with("fanops.toml:2:"), "{found:?}");
    let found = problems("[llm.models.\"m\"]\nprovider = \"openai\"\nid = \"x\"\nusd_per_mtok_input = 1\nusd_per_mtok_output = 1\nprice = 3\n");
    assert!(
        found
            .iter()
            .any(|p| p.starts_with("fanops.toml:6:") && p.contains("price")),
        "{found:?}"
    );
}

#[test]
fn environment_overrides_are_validated_and_named() {
    let source = ConfigSource::Text {
        origin: "fanops.toml".into(),
        text: String::new(),
    };
    let env = |name: &str| (name == "DATABASE_URL").then(|| "mysql://nope".to_string());
    let err = Config::load_with_env(source, &env, &fanops::channels::configs()).unwrap_err();
    assert_eq!(
        err.problems[0].to_string(),
        "environment variable DATABASE_URL: `mysql://nope` must start with sqlite: or postgres://"
    );
}

#[test]
fn defaults_alone_are_valid_and_secrets_never_print() {
    let env = |name: &str| (name == "ONLYFANSAPI_API_KEY").then(|| "sk-top-secret".to_string());
    let config = Config::load_with_env(
        ConfigSource::Text {
            origin: "x".into(),
            text: String::new(),
        },
        &env,
        &fanops::channels::configs(),
    )
    .unwrap();
    assert_eq!(config.llm.default_model, "gpt-4.1-mini");
    let debug = format!("{config:?}");
    assert!(!debug.contains("sk-top-secret"));
    assert!(debug.contains("Secret(***)"));
}

#[test]
fn the_shipped_example_config_is_valid() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/fanops.example.toml");
    let config = Config::load_with_env(
        ConfigSource::Explicit(path.into()),
        &|_| None,
        &fanops::channels::configs(),
    );
    assert!(config.is_ok(), "{}", config.unwrap_err());
}

#[test]
fn fanops_check_prints_problems_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(
        &path,
        "timezone = \"UTC\"\n\n[llm]\ndefault_model = \"ghost\"\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .args(["check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains(&format!("{}:4: default_model `ghost`", path.display())),
        "{stdout}"
    );

    let good = dir.path().join("good.toml");
    std::fs::write(&good, "timezone = \"Europe/Paris\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .args(["check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("catalog of 278 endpoints"));

    let missing = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .args(["check", "--config", "/nonexistent/fanops.toml"])
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stdout)
        .contains("/nonexistent/fanops.toml: cannot read the config file"));
}

fn check(text: &str, dir: &std::path::Path) -> (Option<i32>, String, std::path::PathBuf) {
    let path = dir.join("fanops.toml");
    std::fs::write(&path, text).unwrap();
    let out = crate::helpers::fanops(&["check"], &path, dir)
        .env_remove("DATABASE_URL")
        .env_remove("FANOPS_LOG_FORMAT")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out.status.code(), stdout, path)
}

#[test]
fn fanops_check_reports_every_type_error_and_every_other_problem() {
    let dir = tempfile::tempdir().unwrap();
    let workflows = dir.path().join("workflows");
    std::fs::create_dir(&workflows).unwrap();
    std::fs::write(
        workflows.join("broken.toml"),
        "name = \"Broken\"\ncategory = \"Reports\"\nprompt = \"p\"\n[schedule]\ncron = \"61 * * * *\"\n",
    )
    .unwrap();
    let text = r#"timezone = "Mars/Olympus"

[server]
listen = 8080

[agent]
max_steps = "eight"
confirm_ttl = "10s"

[channels.telegram]
poll_timeout = "soon"
permitted_users = [1, "two"]

[scheduler]
workflows_dir = "workflows"
grace = 5
"#;
    let (code, stdout, path) = check(text, dir.path());
    assert_eq!(code, Some(1), "{stdout}");
    let file = path.display().to_string();
    let expect = [
        format!("{file}:1: unknown time zone `Mars/Olympus`"),
        format!("{file}:4: `server.listen`: invalid type: integer `8080`, expected a string"),
        format!("{file}:7: `agent.max_steps`: invalid type: string \"eight\", expected u32"),
        format!("{file}:8: confirm_ttl must be at least 30s: people need time to press Confirm"),
        format!("{file}:11: `channels.telegram.poll_timeout`: invalid type: string \"soon\""),
        format!("{file}:12: `channels.telegram.permitted_users[1]`: invalid type: string \"two\""),
        format!("{file}:16: `scheduler.grace`: invalid type: integer `5`, expected a string"),
        // The workflow files are still checked, against what could be read.
        "workflows/broken.toml:5: cron `61 * * * *`: minute 61 is out of range 0–59".to_string(),
    ];
    for e in &expect {
        assert!(
            stdout.lines().any(|p| p.starts_with(e.as_str())),
            "missing {e:?} in\n{stdout}"
        );
    }
    assert!(stdout.ends_with("8 problem(s) found.\n"), "{stdout}");
}

#[test]
fn sections_this_build_lacks_are_warnings_not_problems() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"timezone = "UTC"

[channels.slack]
mode = "socket"

[channels.discord]
allow_everyone = false

[budgets]
monthly_credits = 50000
"#;
    let (code, stdout, path) = check(text, dir.path());
    assert_eq!(code, Some(0), "warnings alone pass: {stdout}");
    let file = path.display().to_string();
    // Every section is built by default; a build without a platform's feature warns.
    for (line, section, built) in [
        (3, "[channels.slack]", cfg!(feature = "slack")),
        (6, "[channels.discord]", cfg!(feature = "discord")),
    ] {
        let warning = format!("{file}:{line}: warning: {section} is ignored: this build has no ");
        assert_eq!(
            stdout.contains(&warning),
            !built,
            "{warning:?} in\n{stdout}"
        );
    }
    assert!(!stdout.contains("[budgets] is ignored"), "{stdout}");
    assert!(!stdout.contains("unknown key"), "{stdout}");
    assert!(stdout.contains("\nOK: "), "{stdout}");
}

#[test]
fn event_sources_are_checked_and_a_missing_secret_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"[events.onlyfansapi]
enabled = true

[[events.relay]]
name = "luna-live"
kind = "onlyfans"
url = "https://relay.example/ws?api_key=oops"
api_key_env = "LUNA_KEY"
"#;
    let (code, stdout, path) = check(text, dir.path());
    let file = path.display().to_string();
    assert_eq!(code, Some(1), "{stdout}");
    for expected in [
        format!("{file}:6: relay kind `onlyfans` must be one of: onlyfans-api-ai, betterfans"),
        format!("{file}:7: `https://relay.example/ws?api_key=oops` must be a ws:// or wss:// URL (got scheme `https`)"),
    ] {
        assert!(stdout.contains(&expected), "missing {expected:?} in\n{stdout}");
    }
    assert!(
        stdout.contains("ONLYFANSAPI_WEBHOOK_SECRET is not set"),
        "{stdout}"
    );
    assert!(
        stdout.contains("LUNA_KEY (key of relay `luna-live`) is not set"),
        "{stdout}"
    );
}

#[cfg(not(feature = "telegram"))]
#[test]
fn telegram_without_its_cargo_feature_is_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let (code, stdout, path) = check("[channels.telegram]\nmode = \"polling\"\n", dir.path());
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains(&format!(
        "{}:1: warning: [channels.telegram] is ignored: this build has no Telegram support (build with the cargo feature `telegram`)",
        path.display()
    )), "{stdout}");
}

#[test]
fn a_confirm_ttl_under_30_seconds_is_an_error() {
    let found = problems("[agent]\nconfirm_ttl = \"29s\"\n");
    assert_eq!(
        found,
        ["fanops.toml:2: confirm_ttl must be at least 30s: people need time to press Confirm"]
    );
    assert!(problems("[agent]\nconfirm_ttl = \"30s\"\n").is_empty());
}

#[test]
fn an_unknown_log_format_names_the_allowed_ones() {
    assert_eq!(
        problems("[log]\nformat = \"xml\"\n"),
        ["fanops.toml:2: log format `xml` must be one of: text, json"]
    );
    assert!(problems("[log]\nformat = \"json\"\n").is_empty());
}

#[test]
fn a_required_key_of_the_wrong_type_is_reported_once() {
    let found = problems(
        "[llm]\ndefault_model = \"m\"\n\n[llm.models.m]\nprovider = \"openai\"\nid = 4\nusd_per_mtok_input = 1\nusd_per_mtok_output = 1\n",
    );
    // Neither "missing field `id`" nor "default_model `m` is not a model alias".
    assert_eq!(found.len(), 1, "{found:#?}");
    assert!(
        found[0].starts_with("fanops.toml:6: `llm.models.m.id`: invalid type: integer `4`"),
        "{found:#?}"
    );
}

/// Several bots per platform and `[team] requests_to`: each account is checked like the
/// top-level table, at its own lines, and whatever names a connection must name one.
#[cfg(feature = "telegram")]
#[test]
fn connections_and_where_requests_go_are_checked_at_their_lines() {
    let text = r#"[channels.telegram]
permitted_users = [1]

[channels.telegram.accounts.managers]
token_env = "TELEGRAM_MANAGERS_BOT_TOKEN"
permitted_users = [3003]
roles = { "3003" = "boss", "4" = "admin" }
pol_timeout = 3

[channels.telegram.accounts."bad name"]

[team]
requests_to = { channel = "telegram:nope", to = "" }

[budgets]
notify = { channel = "telegram:managers", to = "5" }
"#;
    let found = problems(text);
    let expect = [
        "fanops.toml:7: user 4 has a role but is not in permitted_users",
        "fanops.toml:7: role `boss` of user 3003 must be viewer, operator or admin",
        "fanops.toml:8: unknown key `channels.telegram.accounts.managers.pol_timeout`",
        "fanops.toml:10: account name `bad name` may use only a-z, 0-9, _ and -",
        "fanops.toml:10: [channels.telegram.accounts.bad name] needs token_env",
        "fanops.toml:10: `telegram:bad name` reads its token from TELEGRAM_BOT_TOKEN like `telegram`",
        "fanops.toml:13: requests_to channel `telegram:nope` must be a configured connection (configured: telegram, telegram:bad name, telegram:managers)",
        "fanops.toml:13: requests_to needs `to`",
    ];
    for e in expect {
        assert!(
            found.iter().any(|p| p.starts_with(e)),
            "missing {e:?} in {found:#?}"
        );
    }
    assert_eq!(
        found.len(),
        expect.len(),
        "budgets.notify may name an account: {found:#?}"
    );
}

#[test]
fn fallbacks_must_name_models_and_never_go_round_in_a_circle() {
    let model = |alias: &str, fallbacks: &str| {
        format!(
            "[llm.models.\"{alias}\"]\nprovider = \"openai\"\nid = \"{alias}\"\nusd_per_mtok_input = 1.0\nusd_per_mtok_output = 2.0\nfallbacks = {fallbacks}\n\n"
        )
    };
    let text = format!(
        "[llm]\ndefault_model = \"a\"\n\n{}{}{}{}",
        model("a", "[\"b\"]"),
        model("b", "[\"a\"]"),
        model("c", "[\"nope\", \"c\"]"),
        model("d", "[\"b\", \"b\"]"),
    );
    let found = problems(&text);
    let expect = [
        "fanops.toml:9: fallbacks of model `a` go round in a circle: a → b → a",
        "fanops.toml:16: fallbacks of model `b` go round in a circle: b → a → b",
        "fanops.toml:23: fallback `nope` of model `c` is not a model alias (known: a, b, c, d)",
        "fanops.toml:23: fallbacks of model `c` go round in a circle: c → c",
        "fanops.toml:30: fallback `b` of model `d` is listed twice",
    ];
    for e in expect {
        assert!(
            found.iter().any(|p| p.starts_with(e)),
            "missing {e:?} in {found:#?}"
        );
    }
}

#[test]
fn transcription_needs_a_model_alias_a_price_and_a_positive_limit() {
    let chat = "[llm.models.\"gpt-4.1-mini\"]\nprovider = \"openai\"\nid = \"gpt-4.1-mini\"\nusd_per_mtok_input = 0.4\nusd_per_mtok_output = 1.6\n\n";
    let ok = "[llm.models.whisper]\nprovider = \"openai\"\nid = \"whisper-1\"\n\n[llm.transcription]\nmodel = \"whisper\"\nusd_per_minute = 0.006\n";
    assert_eq!(
        problems(&format!("{chat}{ok}")),
        Vec::<String>::new(),
        "a transcription alias needs no per-token prices"
    );
    let bad = "[llm.transcription]\nmodel = \"ears\"\nmax_minutes = 0\n";
    let found = problems(bad);
    let expect = [
        "fanops.toml:2: transcription model `ears` is not a model alias (known: gpt-4.1-mini)",
        "fanops.toml:1: [llm.transcription] needs usd_per_minute",
        "fanops.toml:3: max_minutes must be greater than 0",
    ];
    for e in expect {
        assert!(
            found.iter().any(|p| p.starts_with(e)),
            "missing {e:?} in {found:#?}"
        );
    }
    let only_transcribes = format!("[llm]\ndefault_model = \"whisper\"\n\n{ok}");
    let found = problems(&only_transcribes);
    assert!(
        found.iter().any(
            |p| p.starts_with("fanops.toml:2: default_model `whisper` has no per-token prices")
        ),
        "{found:#?}"
    );
}
