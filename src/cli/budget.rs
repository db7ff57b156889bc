//! `fanops budget show|set`: this month's budgets and what is used, and setting them
//! (as `/budget set` does in chat, without the confirmation: whoever runs the command line
//! holds the database).

use crate::app;
use crate::budget::{credits, Budgets, Line, Scope};
use crate::chat::Deliveries;
use crate::clock::Clock;
use crate::config::Config;
use comfy_table::{presets::UTF8_FULL_CONDENSED, Cell, CellAlignment, Table};

/// Who the audit log says set a budget from the command line.
const ACTOR: &str = "command line";

async fn open(config: &Config) -> anyhow::Result<Budgets> {
    app::install_tls_provider();
    let store = app::open_store(config).await?;
    Ok(Budgets::new(
        config,
        store,
        Clock::system(),
        Deliveries::default(),
    ))
}

/// `fanops budget show`: the team's line and what its scheduled runs and event rules
/// spent (by kind), then every person with a budget or spend.
pub async fn show(config: Config) -> anyhow::Result<()> {
    let budgets = open(&config).await?;
    let standing = budgets.standing(None).await?;
    let settings = budgets.settings().await?;
    let every_user = settings.get(&Scope::EveryUser).copied().flatten();
    let users = budgets.user_lines(&standing.month).await?;
    let mut table = Table::new();
    table.load_style(UTF8_FULL_CONDENSED);
    table.set_header(["budget", "credits a month", "used", "left"]);
    let mut row = |name: String, limit: String, used: f64, left: String| {
        table.add_row(vec![
            Cell::new(name),
            Cell::new(limit).set_alignment(CellAlignment::Right),
            Cell::new(credits(used)).set_alignment(CellAlignment::Right),
            Cell::new(left).set_alignment(CellAlignment::Right),
        ]);
    };
    let budget = |line: &Line| match (line.limit, line.left()) {
        (Some(limit), Some(left)) => (credits(limit), credits(left)),
        _ => ("none".to_string(), "—".to_string()),
    };
    let (limit, left) = budget(&standing.team);
    row("team".into(), limit, standing.team.used, left);
    // The team's own spending: counted in the team's budget, never a user's.
    for (kind, used) in budgets.spend_of_runs(&standing.month).await? {
        row(
            format!("team: {kind}"),
            "the team's".into(),
            used,
            "—".into(),
        );
    }
    for (id, line) in users {
        let (limit, left) = budget(&line);
        row(format!("user {id}"), limit, line.used, left);
    }
    println!(
        "Budgets for {} ({}); they renew on {}. Each user without a budget of their own: {}.",
        standing.month.key,
        budgets.tz().name(),
        budgets.renewal(&standing.month),
        every_user.map_or("none".to_string(), |c| format!("{} credits", credits(c)))
    );
    println!("{table}");
    Ok(())
}

/// `fanops budget set --monthly N|off [--user ID|*]`.
pub async fn set(config: Config, monthly: &str, user: Option<&str>) -> anyhow::Result<()> {
    let credits_a_month = match monthly.trim().to_ascii_lowercase().as_str() {
        "off" | "none" => None,
        text => Some(
            text.replace([',', '_'], "")
                .parse::<f64>()
                .ok()
                .filter(|n| n.is_finite() && *n >= 0.0)
                .ok_or_else(|| {
                    anyhow::anyhow!("--monthly `{monthly}` must be 0 or more credits, or `off`")
                })?,
        ),
    };
    let scope = Scope::for_user(user);
    let budgets = open(&config).await?;
    budgets.set(&scope, credits_a_month, ACTOR).await?;
    println!(
        "Set {} to {}.",
        scope.describe(),
        credits_a_month.map_or("no budget".to_string(), |c| format!(
            "{} credits a month",
            credits(c)
        ))
    );
    Ok(())
}
