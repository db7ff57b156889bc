//! `/team` and `/role` in chat (DESIGN §12.2): anyone on the team sees who is on it; an
//! admin changes one person's role through the confirmation gate; the config file's
//! people are the seed and cannot be changed from chat.

use crate::helpers::{spawn_app, TestApp};
use crate::support::Reply;
use fanops::store::Decision;

const ADMIN: &str = "3";
const VIEWER: &str = "2";
const NEWCOMER: &str = "4242";

async fn text(app: &TestApp, user: &str, said: &str) -> String {
    let chat = if user == NEWCOMER { NEWCOMER } else { "100" };
    let replies = app.say_as(user, chat, said).await;
    let all = replies.replies.lock().unwrap().clone();
    all.iter()
        .map(|r| r.text.clone())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `/role …` by the admin, confirmed by the admin's press; the press's reply text.
async fn change(app: &TestApp, words: &str) -> String {
    let proposed = app
        .say_as(ADMIN, "100", &format!("/role {words}"))
        .await
        .last();
    let prompt = proposed
        .confirm
        .unwrap_or_else(|| panic!("/role {words} waits for a press: {}", proposed.text));
    assert!(
        proposed.text.contains("Should I go ahead?"),
        "{}",
        proposed.text
    );
    app.press(ADMIN, "100", &prompt.action_id, Decision::Confirm)
        .await
        .last()
        .text
}

#[tokio::test]
async fn an_admin_changes_the_team_from_chat_through_the_gate() {
    let app = spawn_app().await;
    let refused = text(&app, VIEWER, "/role 4242 viewer").await;
    assert!(refused.contains("Only an admin"), "{refused}");
    let seed = text(&app, ADMIN, "/role 1 remove").await;
    assert!(seed.contains("fanops.toml"), "{seed}");
    let wrong = text(&app, ADMIN, "/role 4242 boss").await;
    assert!(wrong.contains("`boss` is not a role"), "{wrong}");
    let unclear = text(&app, ADMIN, "/role 4242").await;
    assert!(unclear.contains("/role <user id>"), "{unclear}");

    // Proposed, not done: the newcomer is still a stranger until the press.
    let proposed = app.say_as(ADMIN, "100", "/role 4242 operator").await.last();
    assert!(proposed.confirm.is_some(), "{}", proposed.text);
    assert!(text(&app, NEWCOMER, "hi").await.contains("not allowed"));
    // A viewer's press on the admin's prompt changes nothing.
    let action = proposed.confirm.unwrap().action_id;
    let pressed = app
        .press(VIEWER, "100", &action, Decision::Confirm)
        .await
        .last();
    assert!(!pressed.text.contains("Done"), "{}", pressed.text);
    let done = app
        .press(ADMIN, "100", &action, Decision::Confirm)
        .await
        .last()
        .text;
    assert!(done.contains("operator"), "{done}");
    app.model.push(Reply::Text("Hello, operator.".into()));
    assert_eq!(text(&app, NEWCOMER, "hi").await, "Hello, operator.");

    let team = text(&app, VIEWER, "/team").await;
    assert!(team.contains("`1`: operator (from fanops.toml)"), "{team}");
    assert!(team.contains("`3`: admin (from fanops.toml)"), "{team}");
    assert!(team.contains("(id `4242`): operator"), "{team}");

    let changed = change(&app, "4242 viewer").await;
    assert!(changed.contains("viewer"), "{changed}");
    let removed = change(&app, "4242 remove").await;
    assert!(removed.contains("4242"), "{removed}");
    assert!(!text(&app, VIEWER, "/team").await.contains("4242"));

    let audit = app.store().recent_audit(50).await.unwrap();
    let team_actions: Vec<&str> = audit
        .iter()
        .filter(|e| e.action.starts_with("team."))
        .map(|e| e.action.as_str())
        .collect();
    assert_eq!(team_actions, ["team.remove", "team.grant", "team.grant"]);
    let summaries: Vec<&str> = audit
        .iter()
        .filter_map(|e| e.detail["summary"].as_str())
        .collect();
    assert!(
        summaries
            .iter()
            .any(|s| s.contains("from operator to viewer")),
        "{summaries:?}"
    );
}
