//! `fanops doctor` against the fakes: every part answers → every line `ok` and exit 0; a
//! refused token, a missing intent or scope, a refused key, an unreachable database →
//! that line `FAIL` with what to do, and exit 1. No secret is ever printed.

use crate::helpers::{fanops, MANAGERS_TOKEN, MANAGERS_TOKEN_VAR};
use crate::support::{
    FakeDiscord, FakeMcp, FakeModel, FakeOnlyFans, FakeSearch, FakeSlack, FakeTeams, FakeTelegram,
    FakeWhatsApp, SlackFailure, TEAMS_APP_ID, TEAMS_APP_PASSWORD, WA_PHONE_NUMBER_ID,
    WHATSAPP_TOKEN,
};

/// One fake of every service `fanops doctor` asks.
struct Fakes {
    api: FakeOnlyFans,
    model: FakeModel,
    telegram: FakeTelegram,
    slack: FakeSlack,
    discord: FakeDiscord,
    whatsapp: FakeWhatsApp,
    teams: FakeTeams,
    mcp: FakeMcp,
    search: FakeSearch,
    dir: tempfile::TempDir,
}

const SLACK_BOT: &str = "xoxb-doctor";
const SLACK_APP: &str = "xapp-doctor";
const DISCORD_TOKEN: &str = "discord-doctor-token";

impl Fakes {
    async fn start() -> Fakes {
        Fakes {
            api: FakeOnlyFans::start().await,
            model: FakeModel::start().await,
            telegram: FakeTelegram::start().await,
            slack: FakeSlack::start().await,
            discord: FakeDiscord::start().await,
            whatsapp: FakeWhatsApp::start().await,
            teams: FakeTeams::start().await,
            mcp: FakeMcp::start(0).await,
            search: FakeSearch::start().await,
            dir: tempfile::tempdir().unwrap(),
        }
    }

    /// A migrated SQLite file in the test's directory.
    async fn migrated_db(&self) -> String {
        let db = format!("sqlite://{}", self.dir.path().join("fanops.db").display());
        let store = fanops::store::connect(&db).await.unwrap();
        store.migrate().await.unwrap();
        db
    }

    /// Every part configured, pointed at the fakes, with the database at `db`.
    fn config(&self, db: &str) -> String {
        let base = crate::support::config_text(&self.model.url(), &self.api.url(), db, "");
        let base = &base[..base.find("[channels.telegram]").unwrap()];
        format!(
            r#"{base}
[[mcp]]
name = "sheets"
url = "{mcp}"
headers_env = {{ Authorization = "FAKE_MCP_AUTH" }}

[web_search]
provider = "brave"
api_url = "{search}"
api_key_env = "FAKE_SEARCH_KEY"
usd_per_search = 0.005

[channels.telegram]
api_url = "{telegram}"
permitted_users = [1]

[channels.telegram.accounts.managers]
token_env = "{MANAGERS_TOKEN_VAR}"
permitted_users = [1]

[channels.slack]
api_url = "{slack}"
mode = "socket"

[channels.discord]
api_url = "{discord}"

[channels.whatsapp]
api_url = "{whatsapp}"
phone_number_id = "{WA_PHONE_NUMBER_ID}"
permitted_numbers = ["447700900001"]

[channels.teams]
app_id = "{TEAMS_APP_ID}"
openid_url = "{openid}"
token_url = "{token}"
"#,
            mcp = self.mcp.url(),
            search = self.search.url(),
            telegram = self.telegram.url(),
            slack = self.slack.api_url(),
            discord = self.discord.url(),
            whatsapp = self.whatsapp.api_url(),
            openid = self.teams.openid_url(),
            token = self.teams.token_url(),
        )
    }

    /// `fanops doctor` on `config`: whether it passed, and what it printed.
    async fn doctor(&self, config: &str) -> (bool, String) {
        self.doctor_with(config, &[]).await
    }

    /// The same with these variables changed.
    async fn doctor_with(&self, config: &str, vars: &[(&str, &str)]) -> (bool, String) {
        let path = self.dir.path().join("fanops.toml");
        std::fs::write(&path, config).unwrap();
        let mut command = fanops(&["doctor"], &path, self.dir.path());
        command
            .env("FAKE_MCP_AUTH", "Bearer test-mcp-token")
            .env("FAKE_SEARCH_KEY", "test-search-key")
            .env("SLACK_BOT_TOKEN", SLACK_BOT)
            .env("SLACK_APP_TOKEN", SLACK_APP)
            .env("DISCORD_BOT_TOKEN", DISCORD_TOKEN)
            .env("WHATSAPP_TOKEN", WHATSAPP_TOKEN)
            .env("WHATSAPP_APP_SECRET", "wa-app-secret")
            .env("WHATSAPP_VERIFY_TOKEN", "wa-verify")
            .env("TEAMS_APP_PASSWORD", TEAMS_APP_PASSWORD)
            .env_remove("RUST_LOG");
        for (var, value) in vars {
            command.env(var, value);
        }
        let out = tokio::task::spawn_blocking(move || command.output().unwrap())
            .await
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + &String::from_utf8_lossy(&out.stderr);
        for secret in [
            SLACK_BOT,
            SLACK_APP,
            DISCORD_TOKEN,
            WHATSAPP_TOKEN,
            TEAMS_APP_PASSWORD,
            MANAGERS_TOKEN,
            "123:k",
            "test-mcp-token",
            "test-search-key",
        ] {
            assert!(!text.contains(secret), "a secret was printed: {text}");
        }
        (out.status.success(), text)
    }
}

/// The line about `part`.
fn line<'a>(text: &'a str, part: &str) -> &'a str {
    text.lines()
        .find(|l| {
            l.get(6..)
                .is_some_and(|rest| rest.starts_with(&format!("{part}: ")))
        })
        .unwrap_or_else(|| panic!("no line for {part}:\n{text}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn every_part_answering_is_every_line_ok_and_exit_0() {
    let fakes = Fakes::start().await;
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(ok, "{text}");
    for line in text.lines().filter(|l| !l.starts_with("Everything")) {
        assert!(line.starts_with("ok    "), "{line}\n{text}");
    }
    let expected = [
        ("OnlyFansAPI", "key accepted, 2 connected account(s)"),
        (
            "Model test-model (fake-1 on fake)",
            "key accepted, model available",
        ),
        ("Database", "sqlite answers, all"),
        ("MCP sheets", "connected (streamable-http)"),
        ("Web search", "brave answered a search"),
        ("Telegram", "bot @fanops_test_bot"),
        ("Telegram (managers)", "bot @fanops_test_bot"),
        ("Slack", "every scope fanops needs"),
        ("Slack Socket Mode", "app token accepted"),
        ("Discord", "Message Content intent on"),
        ("WhatsApp", "access token accepted"),
        ("Teams", "a token was granted"),
    ];
    for (part, said) in expected {
        assert!(line(&text, part).contains(said), "{part}: {text}");
    }
    assert!(
        line(&text, "Discord invite").ends_with(
            "https://discord.com/oauth2/authorize?client_id=900000000000000002&scope=bot&permissions=309237746688"
        ),
        "{text}"
    );
    // The order is fixed: the core's parts, then the platforms in the registry's order.
    let at = |part: &str| text.find(line(&text, part)).unwrap();
    assert!(at("OnlyFansAPI") < at("Database") && at("Database") < at("Telegram"));
    assert!(at("Telegram") < at("Telegram (managers)") && at("Slack") < at("Teams"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_telegram_token_fails_its_line_only() {
    let fakes = Fakes::start().await;
    fakes.telegram.refuse_token(MANAGERS_TOKEN);
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(!ok, "{text}");
    assert_eq!(
        line(&text, "Telegram (managers)"),
        format!("FAIL  Telegram (managers): token refused (401) — set {MANAGERS_TOKEN_VAR} to the token @BotFather gave")
    );
    assert!(line(&text, "Telegram").starts_with("ok    "), "{text}");
    assert!(text.contains("1 part(s) need fixing."), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_webhook_set_while_polling_is_a_warning() {
    let fakes = Fakes::start().await;
    fakes
        .telegram
        .set_webhook("https://elsewhere.example/telegram/webhook");
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(ok, "a warning does not fail: {text}");
    let telegram = line(&text, "Telegram");
    assert!(telegram.starts_with("warn  "), "{text}");
    assert!(
        telegram.contains("https://elsewhere.example/telegram/webhook")
            && telegram.contains("polling"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_discord_app_without_the_message_content_intent_names_the_portal_switch() {
    let fakes = Fakes::start().await;
    fakes.discord.set_app_flags(0);
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(!ok, "{text}");
    let discord = line(&text, "Discord");
    assert!(discord.starts_with("FAIL  "), "{text}");
    assert!(
        discord.contains("Message Content intent is off")
            && discord.contains("Bot → Privileged Gateway Intents → Message Content Intent"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_onlyfansapi_key_fails() {
    let fakes = Fakes::start().await;
    fakes.api.fail_always("/api/accounts", 401);
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(!ok, "{text}");
    assert_eq!(
        line(&text, "OnlyFansAPI"),
        "FAIL  OnlyFansAPI: key refused (401) — set ONLYFANSAPI_API_KEY to a valid key from the OnlyFansAPI.com dashboard"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_model_key_or_an_unknown_model_fails() {
    let fakes = Fakes::start().await;
    fakes.model.accept_only("another-key");
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(!ok, "{text}");
    assert_eq!(
        line(&text, "Model test-model (fake-1 on fake)"),
        "FAIL  Model test-model (fake-1 on fake): key refused (401) — set FAKE_MODEL_KEY to a valid fake API key"
    );

    // A provider that lists its models to anyone: one token tells whether the key works.
    let fakes = Fakes::start().await;
    fakes.model.list_to_anyone();
    fakes.model.accept_only("another-key");
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(!ok, "{text}");
    assert!(
        line(&text, "Model test-model (fake-1 on fake)").contains("key refused (401)"),
        "{text}"
    );
    let asked = fakes.model.last_request().unwrap();
    assert_eq!(asked["max_tokens"], 1, "{asked}");

    let fakes = Fakes::start().await;
    fakes.model.offer(&["fake-2"]);
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(!ok, "{text}");
    assert!(
        line(&text, "Model test-model (fake-1 on fake)").contains("does not offer `fake-1`"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_slack_scope_fails_and_a_missing_optional_one_warns() {
    let fakes = Fakes::start().await;
    fakes.slack.grant(&[
        "app_mentions:read",
        "channels:history",
        "im:history",
        "chat:write",
        "users:read",
    ]);
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(!ok, "{text}");
    let slack = line(&text, "Slack");
    assert!(slack.starts_with("FAIL  "), "{text}");
    assert!(
        slack.contains("missing scopes groups:history, files:write, im:write"),
        "{text}"
    );
    assert!(slack.contains("OAuth & Permissions"), "{text}");

    let fakes = Fakes::start().await;
    let mut all: Vec<&str> = crate::support::SLACK_SCOPES.to_vec();
    all.retain(|s| *s != "users:read");
    fakes.slack.grant(&all);
    let db = fakes.migrated_db().await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(ok, "{text}");
    assert!(line(&text, "Slack").starts_with("warn  "), "{text}");
    assert!(line(&text, "Slack").contains("users:read"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unreachable_database_fails_and_pending_migrations_warn() {
    let fakes = Fakes::start().await;
    // Nothing listens on a port just freed.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let (ok, text) = fakes
        .doctor(&fakes.config(&format!("postgres://fanops:pw@127.0.0.1:{port}/fanops")))
        .await;
    assert!(!ok, "{text}");
    let database = line(&text, "Database");
    assert!(database.starts_with("FAIL  "), "{text}");
    assert!(
        database.contains("cannot reach the database") && database.contains("[database] url"),
        "{text}"
    );
    assert!(
        !database.contains(":pw@"),
        "the password is not printed: {text}"
    );

    // A database a previous version migrated: the missing migrations are named.
    let fakes = Fakes::start().await;
    let db = fakes.migrated_db().await;
    forget_newest_migration(&db).await;
    let (ok, text) = fakes.doctor(&fakes.config(&db)).await;
    assert!(ok, "pending migrations are applied at start: {text}");
    let database = line(&text, "Database");
    assert!(
        database.starts_with("warn  ") && database.contains("1 migration(s) pending"),
        "{text}"
    );
    assert!(database.contains("fanops migrate"), "{text}");

    // No file yet: doctor says so and does not create it.
    let fakes = Fakes::start().await;
    let file = fakes.dir.path().join("not-yet.db");
    let (ok, text) = fakes
        .doctor(&fakes.config(&format!("sqlite://{}", file.display())))
        .await;
    assert!(ok, "{text}");
    assert!(
        line(&text, "Database").contains("does not exist yet"),
        "{text}"
    );
    assert!(!file.exists(), "doctor created the database");
}

/// As if the newest migration had not been applied yet.
async fn forget_newest_migration(db: &str) {
    use sqlx::Connection;
    let mut raw = sqlx::SqliteConnection::connect(db).await.unwrap();
    sqlx::query(
        "DELETE FROM _sqlx_migrations WHERE version = (SELECT max(version) FROM _sqlx_migrations)",
    )
    .execute(&mut raw)
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn refused_whatsapp_slack_and_teams_credentials_each_fail_their_line() {
    let fakes = Fakes::start().await;
    let db = fakes.migrated_db().await;
    fakes
        .slack
        .fail_next("auth.test", vec![SlackFailure::Error("token_revoked")]);
    let wrong = [
        ("WHATSAPP_TOKEN", "not-the-token"),
        ("TEAMS_APP_PASSWORD", "not-the-password"),
    ];
    let (ok, text) = fakes.doctor_with(&fakes.config(&db), &wrong).await;
    assert!(!ok, "{text}");
    let whatsapp = line(&text, "WhatsApp");
    assert!(
        whatsapp.starts_with("FAIL  WhatsApp: access token refused")
            && whatsapp.contains("set WHATSAPP_TOKEN to a system user's token"),
        "{text}"
    );
    let teams = line(&text, "Teams");
    assert!(
        teams.starts_with("FAIL  Teams: app id or password refused")
            && teams.contains("TEAMS_APP_PASSWORD"),
        "{text}"
    );
    let slack = line(&text, "Slack");
    assert!(
        slack.starts_with("FAIL  Slack: bot token refused (token_revoked) — set SLACK_BOT_TOKEN"),
        "{text}"
    );
    assert!(
        !text.contains("not-the-token") && !text.contains("not-the-password"),
        "{text}"
    );
    assert!(text.contains("3 part(s) need fixing."), "{text}");
}
