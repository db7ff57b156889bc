//! `/budget`, `/usage` and `/tasks` in chat: budgets shown to anyone and changed by an
//! admin through the confirmation gate; usage as a table, a chart, the latest activity or
//! a CSV file; every scheduled task, or those the person made.

use super::{Core, Outbound, Role};
use crate::budget::{credits, Line, Scope};
use crate::chat::{Attachment, AttachmentKind, ConfirmPrompt, Inbound};
use crate::store::UsageDimension;
use crate::usage::{self, chart, Period, UsageRequest};
use serde_json::json;

const BUDGET_HELP: &str = "\
/budget — this month's budgets and what is left
/budget set 80000 — the team's monthly budget (admin)
/budget set 5000 for 123456789 — one user's (admin)
/budget set 5000 for everyone — each user's (admin)
/budget set off — no team budget (admin)";

/// Rows `/usage activity` shows.
const ACTIVITY_ROWS: usize = 20;

impl Core {
    /// `/budget …`; `words` follow the command's name.
    pub(super) async fn budget_command(
        &self,
        inbound: &Inbound,
        role: Role,
        words: &[&str],
    ) -> anyhow::Result<Outbound> {
        match words {
            [] | ["show"] => self.budget_standing(inbound).await,
            ["set", rest @ ..] => self.propose_budget(inbound, role, rest).await,
            _ => Ok(Outbound::text(format!(
                "I don't understand that. Budgets:\n{BUDGET_HELP}"
            ))),
        }
    }

    async fn budget_standing(&self, inbound: &Inbound) -> anyhow::Result<Outbound> {
        let budgets = self.agent.budgets();
        let standing = budgets.standing(Some(&inbound.user)).await?;
        let month = standing
            .month
            .start
            .with_timezone(&budgets.tz())
            .format("%B %Y");
        let mut text = format!(
            "Budgets for {month} (they renew on {}, {}):\n- Team: {}",
            budgets.renewal(&standing.month),
            budgets.tz().name(),
            describe_line(&standing.team)
        );
        // Scheduled runs and event rules spend the team's budget; they are no user.
        for (kind, used) in budgets.spend_of_runs(&standing.month).await? {
            text.push_str(&format!("\n  - of it, {kind}: {} credits", credits(used)));
        }
        if let Some((id, line)) = &standing.user {
            text.push_str(&format!("\n- You ({id}): {}", describe_line(line)));
        }
        text.push_str("\n\nAn admin can change them: /budget set 80000, /budget set 5000 for <user id>, /budget set 5000 for everyone.");
        Ok(Outbound::text(text))
    }

    async fn propose_budget(
        &self,
        inbound: &Inbound,
        role: Role,
        words: &[&str],
    ) -> anyhow::Result<Outbound> {
        if role < Role::Admin {
            return Ok(Outbound::text(format!(
                "Only an admin can change budgets; your role is {}.",
                role.as_str()
            )));
        }
        let Some((monthly, scope)) = parse_set(words) else {
            return Ok(Outbound::text(format!(
                "I don't understand that. Budgets:\n{BUDGET_HELP}"
            )));
        };
        let args = json!({"scope": scope.key(), "monthly_credits": monthly});
        self.propose(inbound, role, crate::agent::SET_BUDGET, &args)
            .await
    }

    /// A command's change (`tool` with `args`), waiting for a press like any write.
    pub(super) async fn propose(
        &self,
        inbound: &Inbound,
        role: Role,
        tool: &str,
        args: &serde_json::Value,
    ) -> anyhow::Result<Outbound> {
        let turn = self.turn(inbound, role);
        let proposed = self.agent.propose_command(&turn, tool, args).await?;
        Ok(match proposed {
            Err(why) => Outbound::text(format!("Not done: {why}")),
            Ok(action) => Outbound {
                text: format!("I'm about to: {}\n\nShould I go ahead?", action.summary),
                confirm: Some(ConfirmPrompt {
                    action_id: action.id,
                    summary: action.summary,
                    expires_at: action.expires_at,
                }),
                ..Outbound::default()
            },
        })
    }

    /// `/usage …`; `words` follow the command's name.
    /// `/tasks` (all of them) or `/tasks mine` (those this person made in chat, on this
    /// connection).
    pub(super) async fn tasks_command(
        &self,
        command: &str,
        inbound: &Inbound,
    ) -> anyhow::Result<Outbound> {
        let lines = crate::tasks::list(
            self.store.as_ref(),
            &self.tasks.workflows(),
            self.agent.clock().now(),
        )
        .await?;
        match command.split_whitespace().nth(1) {
            None | Some("all") => Ok(Outbound::text(crate::tasks::render(&lines))),
            Some("mine") => {
                let me = format!("{}:{}", inbound.connection, inbound.user);
                let mine = crate::tasks::made_by(lines, &me);
                Ok(Outbound::text(match mine.is_empty() {
                    true => "You have made no tasks in chat here yet. Ask me for one, e.g. \"send me an earnings digest every morning at 8\"; /tasks lists everyone's.".to_string(),
                    false => crate::tasks::render(&mine),
                }))
            }
            Some(other) => Ok(Outbound::text(format!(
                "I don't know `/tasks {}`: /tasks lists every task, /tasks mine those you made.",
                super::team::plain(other)
            ))),
        }
    }

    pub(super) async fn usage_command(&self, words: &str) -> anyhow::Result<Outbound> {
        let request = match usage::parse_request(words) {
            Ok(request) => request,
            Err(why) => return Ok(Outbound::text(why)),
        };
        let now = self.agent.clock().now();
        Ok(match request {
            UsageRequest::Table(period, by) => {
                let rows = usage::report(self.store.as_ref(), period, by).await?;
                Outbound::text(usage::render_markdown(&rows, by, period))
            }
            UsageRequest::Chart(period, by) => self.usage_chart(period, by, now).await?,
            UsageRequest::Activity(period) => {
                let rows = self
                    .store
                    .recent_usage(period.since(now), ACTIVITY_ROWS, true)
                    .await?;
                Outbound::text(usage::render_activity(&rows, period, self.agent.tz()))
            }
            UsageRequest::Csv(period) => {
                let rows = self
                    .store
                    .recent_usage(period.since(now), usage::MAX_EXPORT_ROWS, false)
                    .await?;
                let csv = usage::render_ledger_csv(&rows)?;
                Outbound {
                    text: format!(
                        "The usage ledger, {}: {} rows (CSV attached).",
                        period.label(),
                        rows.len()
                    ),
                    attachments: vec![Attachment {
                        name: "usage.csv".into(),
                        mime: "text/csv",
                        kind: AttachmentKind::Document,
                        bytes: csv.into_bytes(),
                    }],
                    ..Outbound::default()
                }
            }
        })
    }

    async fn usage_chart(
        &self,
        period: Period,
        by: UsageDimension,
        now: chrono::DateTime<chrono::Utc>,
    ) -> anyhow::Result<Outbound> {
        let series = chart::series(self.store.as_ref(), period, by, now).await?;
        let total = series.total();
        let title = series.title.clone();
        let png = tokio::task::spawn_blocking(move || chart::render(&series))
            .await?
            .map_err(anyhow::Error::msg)?;
        Ok(Outbound {
            text: format!("{title}: {} credits in all.", credits(total)),
            attachments: vec![Attachment {
                name: "usage.png".into(),
                mime: "image/png",
                kind: AttachmentKind::Image,
                bytes: png,
            }],
            ..Outbound::default()
        })
    }
}

/// "12,345 of 50,000 credits used; 37,655 left" or "no budget; 12,345 credits used".
fn describe_line(line: &Line) -> String {
    match (line.limit, line.left()) {
        (Some(limit), Some(left)) => format!(
            "{} of {} credits used; {} left{}",
            credits(line.used),
            credits(limit),
            credits(left),
            if line.is_spent() { " (spent)" } else { "" }
        ),
        _ => format!("no budget; {} credits used", credits(line.used)),
    }
}

/// `80000`, `80,000`, `80k`, `off` / `none` → the credits; then nothing (the team), `for
/// <id>` / `user <id>` (one user), or `for everyone` / `for *` (each user).
fn parse_set(words: &[&str]) -> Option<(Option<f64>, Scope)> {
    let (amount, rest) = words.split_first()?;
    let amount = amount.to_ascii_lowercase().replace([',', '_'], "");
    let monthly = match amount.as_str() {
        "off" | "none" => None,
        a => {
            let (digits, factor) = match a.strip_suffix('k') {
                Some(d) => (d, 1_000.0),
                None => (a, 1.0),
            };
            let n: f64 = digits
                .parse()
                .ok()
                .filter(|n: &f64| n.is_finite() && *n >= 0.0)?;
            Some(n * factor)
        }
    };
    let scope = match rest {
        [] => Scope::Team,
        ["for" | "user", "everyone" | "everybody" | "all" | "*"] => Scope::EveryUser,
        ["for" | "user", id] => Scope::User(id.trim_start_matches('@').to_string()),
        _ => return None,
    };
    Some((monthly, scope))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_amounts_and_scopes_parse() {
        assert_eq!(parse_set(&["80000"]), Some((Some(80_000.0), Scope::Team)));
        assert_eq!(parse_set(&["80,000"]), Some((Some(80_000.0), Scope::Team)));
        assert_eq!(parse_set(&["80k"]), Some((Some(80_000.0), Scope::Team)));
        assert_eq!(parse_set(&["off"]), Some((None, Scope::Team)));
        assert_eq!(
            parse_set(&["5000", "for", "123"]),
            Some((Some(5_000.0), Scope::User("123".into())))
        );
        assert_eq!(
            parse_set(&["5000", "for", "everyone"]),
            Some((Some(5_000.0), Scope::EveryUser))
        );
        assert_eq!(parse_set(&["-5"]), None);
        assert_eq!(parse_set(&["lots"]), None);
        assert_eq!(parse_set(&[]), None);
    }
}
