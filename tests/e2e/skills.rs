//! Skills end to end: installed skills are one line each in the prompt, their playbook
//! comes through `read_skill`, installing from chat waits for an admin, a workflow that
//! follows a skill runs with its playbook, and `fanops skills` / `fanops check` work on
//! the real binary.

use crate::helpers::{fanops, spawn_app_with, tool_messages, TestApp};
use crate::support::{config_text, Reply};
use fanops::store::Decision;
use serde_json::{json, Value};

const ADMIN: &str = "3";
const OPERATOR: &str = "1";
const CHAT: &str = "100";

/// A line of the earnings-recap playbook, never sent unless the skill is read.
const BODY_LINE: &str = "Settle the period first";

fn system_text(request: &Value) -> String {
    request["messages"][0]["content"]
        .as_str()
        .unwrap_or_default()
        .to_string()
}

async fn installed(t: &TestApp) -> Vec<String> {
    t.store().installed_skills().await.unwrap()
}

#[tokio::test]
async fn an_installed_skill_is_one_line_in_the_prompt_and_its_playbook_comes_from_read_skill() {
    let t = spawn_app_with("[skills]\ninstalled = [\"earnings-recap\", \"churn-rescue\"]\n").await;
    t.model.push_all([
        Reply::tool("read_skill", json!({"name": "earnings-recap"})),
        Reply::text("Net this week: $1,234.00."),
    ]);
    t.say_as(ADMIN, CHAT, "How much did we earn this week?")
        .await;

    let requests = t.model.requests();
    let first = system_text(&requests[0]);
    assert!(
        first.contains("- earnings-recap: Earnings for a period vs the one before"),
        "{first}"
    );
    assert!(first.contains("- churn-rescue: "), "{first}");
    assert!(!first.contains("whale-watch"), "not installed: {first}");
    assert!(
        !first.contains(BODY_LINE),
        "no playbook in the prompt: {first}"
    );
    let tools: Vec<&str> = requests[0]["tools"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["function"]["name"].as_str().unwrap())
        .collect();
    for name in ["list_skills", "read_skill", "install_skill", "remove_skill"] {
        assert!(tools.contains(&name), "{tools:?}");
    }
    let results = tool_messages(&requests[1]);
    assert!(results[0].contains(BODY_LINE), "{results:?}");
}

#[tokio::test]
async fn installing_a_bundle_from_chat_waits_for_an_admin_and_removing_it_says_what_goes() {
    let t = spawn_app_with("").await;
    assert!(installed(&t).await.is_empty());

    // An operator cannot even propose it.
    t.model.push_all([
        Reply::tool("install_skill", json!({"bundle": "analytics-starter"})),
        Reply::text("Only an admin can do that."),
    ]);
    let out = t
        .say_as(OPERATOR, CHAT, "Install the analytics starter bundle")
        .await;
    assert!(out.last().confirm.is_none());
    let refused = tool_messages(&t.model.last_request().unwrap());
    assert!(
        refused.last().unwrap().contains("only an admin"),
        "{refused:?}"
    );
    assert!(installed(&t).await.is_empty());

    // An admin proposes it; nothing changes until an admin confirms.
    t.model.push(Reply::tool(
        "install_skill",
        json!({"bundle": "analytics-starter"}),
    ));
    let out = t
        .say_as(ADMIN, CHAT, "Install the analytics starter bundle")
        .await;
    let confirm = out.last().confirm.expect("a confirmation prompt");
    assert!(
        confirm
            .summary
            .contains("earnings-recap, top-spenders, link-performance"),
        "{}",
        confirm.summary
    );
    assert!(
        installed(&t).await.is_empty(),
        "nothing before the decision"
    );
    let by_operator = t
        .press(OPERATOR, CHAT, &confirm.action_id, Decision::Confirm)
        .await;
    assert!(by_operator.last().text.contains("Only an admin"));
    assert!(installed(&t).await.is_empty());
    t.model
        .push(Reply::text("Installed the analytics starter."));
    t.press(ADMIN, CHAT, &confirm.action_id, Decision::Confirm)
        .await;
    assert_eq!(
        installed(&t).await,
        vec!["earnings-recap", "link-performance", "top-spenders"]
    );
    let result = tool_messages(&t.model.last_request().unwrap());
    assert!(
        result.last().unwrap().contains("Installed earnings-recap"),
        "{result:?}"
    );

    // Removing the bundle names every skill that goes, also those installed alone.
    t.model.push(Reply::tool(
        "remove_skill",
        json!({"bundle": "analytics-starter"}),
    ));
    let out = t
        .say_as(ADMIN, CHAT, "Remove the analytics starter bundle")
        .await;
    let confirm = out.last().confirm.expect("a confirmation prompt");
    assert!(
        confirm
            .summary
            .contains("including ones also installed on their own")
            && confirm.summary.contains("top-spenders"),
        "{}",
        confirm.summary
    );
    t.model.push(Reply::text("Removed."));
    t.press(ADMIN, CHAT, &confirm.action_id, Decision::Confirm)
        .await;
    assert!(installed(&t).await.is_empty());
}

#[tokio::test]
async fn a_workflow_that_follows_a_skill_runs_with_its_playbook() {
    let t = spawn_app_with("").await;
    let workflows = t.app.scheduler.workflows();
    let weekly = workflows.iter().find(|w| w.id == "weekly-recap").unwrap();
    assert_eq!(weekly.skill.as_deref(), Some("earnings-recap"));
    t.model.push(Reply::text("Recap: $10.00 net."));
    let run = t.app.scheduler.run_now(weekly, false).await.unwrap();
    assert_eq!(run.output.as_deref(), Some("Recap: $10.00 net."));
    let request = t.model.last_request().unwrap();
    let asked = crate::support::last_user_text(&request);
    assert!(asked.contains("Write the weekly recap"), "{asked}");
    assert!(
        asked.contains("Follow the skill `earnings-recap`"),
        "{asked}"
    );
    assert!(asked.contains(BODY_LINE), "{asked}");
}

#[test]
fn the_command_line_installs_lists_and_removes_skills() {
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let config = dir.path().join("fanops.toml");
    let text = config_text("http://127.0.0.1:9", "http://127.0.0.1:9", &db, "");
    std::fs::write(&config, text).unwrap();
    let run = |args: &[&str]| {
        let out = fanops(args, &config, dir.path()).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "{args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    };
    let out = run(&["skills", "install", "--bundle", "fan-retention"]);
    assert!(out.contains("Installed"), "{out}");
    let out = run(&["skills", "list"]);
    let line = out.lines().find(|l| l.starts_with("whale-watch")).unwrap();
    assert!(
        line.contains("Fans") && line.contains("installed"),
        "{line}"
    );
    let line = out.lines().find(|l| l.starts_with("top-spenders")).unwrap();
    assert!(line.contains("available"), "{line}");
    let json: Value = serde_json::from_str(&run(&["skills", "list", "--format", "json"])).unwrap();
    let churn = json["skills"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["name"] == "churn-rescue")
        .unwrap();
    assert_eq!(churn["installed"], true);
    assert_eq!(churn["category"], "Coaching");
    assert!(json["bundles"].as_array().unwrap().len() >= 3);
    let out = run(&["skills", "remove", "whale-watch"]);
    assert!(out.contains("Removed whale-watch"), "{out}");
    let out = run(&["skills", "remove", "whale-watch"]);
    assert!(out.contains("Nothing was removed"), "{out}");
}

#[test]
fn check_reports_every_broken_skill_file_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let skills = dir.path().join("my-skills");
    std::fs::create_dir_all(skills.join("broken")).unwrap();
    std::fs::write(
        skills.join("broken/SKILL.md"),
        "---\nname: broken\ndescription: x\ncategory: Nope\ntools: [teleport]\n---\nUse `fans/not-real`.\n",
    )
    .unwrap();
    std::fs::create_dir_all(skills.join("empty")).unwrap();
    std::fs::write(skills.join("empty/SKILL.md"), "just text\n").unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let config = dir.path().join("fanops.toml");
    let text = config_text(
        "http://127.0.0.1:9",
        "http://127.0.0.1:9",
        &db,
        "[skills]\ndir = \"my-skills\"\ninstalled = [\"earnings-recap\", \"ghost\"]\n",
    );
    std::fs::write(&config, text).unwrap();
    let out = fanops(&["check"], &config, dir.path()).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{stdout}");
    let file = "my-skills/broken/SKILL.md";
    for expected in [
        format!("{file}:4: unknown category `Nope`"),
        format!("{file}:5: `teleport` is not a fanops tool"),
        format!("{file}:7: `fans/not-real` is not an OnlyFansAPI catalog endpoint"),
        "my-skills/empty/SKILL.md:1: a skill file starts with `---`".to_string(),
        format!(
            "{}:{}: [skills] installed names `ghost`, which is not a skill",
            config.display(),
            config_line(&std::fs::read_to_string(&config).unwrap(), "installed = ")
        ),
    ] {
        assert!(
            stdout.contains(&expected),
            "missing {expected:?} in:\n{stdout}"
        );
    }
    assert!(stdout.contains("5 problem(s) found."), "{stdout}");
}

/// The 1-based line of the first line of `text` that starts with `prefix`.
fn config_line(text: &str, prefix: &str) -> usize {
    text.lines().position(|l| l.starts_with(prefix)).unwrap() + 1
}

/// The contract's prompt budget, as a guard beside the `prompt` benchmark: with 12
/// skills installed, one MCP server of 20 tools and web search on, the first request
/// for a plain question stays within 2,000 tokens (o200k_base), for an operator and for
/// an admin, who is also offered the admin-only tools.
#[tokio::test]
async fn the_first_request_with_every_integration_stays_within_the_prompt_budget() {
    let mcp = crate::support::FakeMcp::start(18).await;
    let search = crate::support::FakeSearch::start().await;
    let (library, _) = fanops::skills::Library::load(None);
    let twelve: Vec<String> = library
        .skills()
        .filter(|s| s.requires.is_empty())
        .take(12)
        .map(|s| format!("\"{}\"", s.name))
        .collect();
    assert_eq!(twelve.len(), 12);
    let extra = format!(
        "[skills]\ninstalled = [{}]\n\n[[mcp]]\nname = \"sheets\"\nurl = \"{}\"\n\n[web_search]\nprovider = \"brave\"\napi_url = \"{}\"\napi_key_env = \"FAKE_SEARCH_KEY\"\nusd_per_search = 0.005\n",
        twelve.join(", "),
        mcp.url(),
        search.url()
    );
    let t = spawn_app_with(&extra).await;
    let bpe = tiktoken_rs::o200k_base().unwrap();
    let first_request = |user: &'static str| {
        let t = &t;
        let bpe = &bpe;
        async move {
            t.model.clear_requests();
            t.model
                .push(Reply::text("You earned $1,912.40 net this week."));
            t.say_as(user, user, "How much did we earn this week?")
                .await;
            let request = t.model.requests()[0].clone();
            assert!(system_text(&request).contains("sheets (20 tools)"));
            assert!(system_text(&request).contains("- whale-watch: "));
            bpe.encode_ordinary(&request["messages"].to_string()).len()
                + bpe.encode_ordinary(&request["tools"].to_string()).len()
        }
    };
    let operator = first_request(OPERATOR).await;
    let admin = first_request(ADMIN).await;
    println!(
        "first request with every integration: operator {operator} tokens, admin {admin} tokens"
    );
    assert!(operator <= 2000, "operator: {operator} tokens");
    assert!(admin <= 2000, "admin: {admin} tokens");
    assert!(admin > operator, "the admin is offered more tools");
}
