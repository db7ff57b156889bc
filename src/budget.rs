//! Monthly budgets (DESIGN §8): the team's and each user's credits a calendar month in
//! the team's zone. [`Budgets::check`] runs before every model call and every web search;
//! it reads the ledger in the store, so every replica sees the same spend. A turn can
//! therefore overshoot by at most the one call that crossed the line.
//!
//! The budget of a scope is what an admin last set (`/budget`, `fanops budget set`,
//! kept in the store) or else the config's `[budgets]`.

use crate::chat::{CallTags, Deliveries, RunKind};
use crate::clock::Clock;
use crate::config::{BudgetsConfig, Config};
use crate::store::{AuditEntry, BudgetSetting, SharedStore, StoreError};
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;
use std::collections::BTreeMap;

pub use crate::usage::credits;

/// Whose budget.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    Team,
    /// One user, by the id the ledger records (`fanops usage --by user`).
    User(String),
    /// Every user without a budget of their own.
    EveryUser,
}

impl Scope {
    /// How the scope is stored: `team`, `user:<id>`, `user:*`.
    pub fn key(&self) -> String {
        match self {
            Scope::Team => "team".into(),
            Scope::User(id) => format!("user:{id}"),
            Scope::EveryUser => "user:*".into(),
        }
    }

    pub fn parse_key(key: &str) -> Option<Scope> {
        match key {
            "team" => Some(Scope::Team),
            "user:*" => Some(Scope::EveryUser),
            _ => key
                .strip_prefix("user:")
                .filter(|id| !id.is_empty())
                .map(|id| Scope::User(id.to_string())),
        }
    }

    /// `--user` of the command line: an id, or `*` for every user.
    pub fn for_user(user: Option<&str>) -> Scope {
        match user.map(str::trim) {
            None | Some("") => Scope::Team,
            Some("*") => Scope::EveryUser,
            Some(id) => Scope::User(id.to_string()),
        }
    }

    /// In words: "the team's budget", "user 123's budget", "each user's budget".
    pub fn describe(&self) -> String {
        match self {
            Scope::Team => "the team's monthly budget".into(),
            Scope::User(id) => format!("the monthly budget of user {id}"),
            Scope::EveryUser => "each user's monthly budget".into(),
        }
    }
}

/// A budget that is spent: the plain answer a person gets instead of a model call.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{}", self.sentence())]
pub struct Spent {
    /// True for the team's budget, false for the user's own.
    pub team: bool,
    pub limit: f64,
    pub used: f64,
}

impl Spent {
    fn sentence(&self) -> String {
        if self.team {
            format!(
                "This month's budget of {} credits is spent; an admin can raise it with /budget.",
                credits(self.limit)
            )
        } else {
            format!(
                "Your budget for this month ({} credits) is spent; an admin can raise it with /budget.",
                credits(self.limit)
            )
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum BudgetError {
    #[error(transparent)]
    Spent(#[from] Spent),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A calendar month in the team's zone.
#[derive(Debug, Clone, PartialEq)]
pub struct Month {
    pub start: DateTime<Utc>,
    /// The start of the next month: when budgets renew.
    pub end: DateTime<Utc>,
    /// `2026-12`.
    pub key: String,
}

/// One budget and what is used of it this month.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Line {
    pub limit: Option<f64>,
    pub used: f64,
}

impl Line {
    pub fn left(&self) -> Option<f64> {
        self.limit.map(|l| (l - self.used).max(0.0))
    }

    pub fn is_spent(&self) -> bool {
        self.limit.is_some_and(|l| self.used >= l)
    }
}

/// Every budget's state this month.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub month: Month,
    pub team: Line,
    /// The asking user's own budget (None for unattended runs).
    pub user: Option<(String, Line)>,
}

/// The budgets that bind one caller: (the team's, the person's); None where unset.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits((Option<f64>, Option<f64>));

/// The budgets of one team, read from the config and the store.
pub struct Budgets {
    store: SharedStore,
    config: BudgetsConfig,
    tz: Tz,
    clock: Clock,
    /// Where the team's warning is posted (`[budgets] notify`).
    deliveries: Deliveries,
}

impl Budgets {
    pub fn new(config: &Config, store: SharedStore, clock: Clock, deliveries: Deliveries) -> Self {
        Budgets {
            store,
            config: config.budgets.clone().unwrap_or_default(),
            tz: config.tz(),
            clock,
            deliveries,
        }
    }

    pub fn tz(&self) -> Tz {
        self.tz
    }

    /// The calendar month `now` falls in, in the team's zone.
    pub fn month(&self, now: DateTime<Utc>) -> Month {
        month_of(now, self.tz)
    }

    /// Every scope's budget: what an admin set, else the config's.
    pub async fn settings(&self) -> Result<BTreeMap<Scope, Option<f64>>, StoreError> {
        let mut all = BTreeMap::new();
        all.insert(Scope::Team, self.config.monthly_credits);
        all.insert(Scope::EveryUser, self.config.user_monthly_credits);
        for setting in self.store.budget_settings().await? {
            if let Some(scope) = Scope::parse_key(&setting.scope) {
                all.insert(scope, setting.monthly_credits);
            }
        }
        Ok(all)
    }

    /// (team budget, `user`'s budget).
    async fn limits(&self, user: Option<&str>) -> Result<(Option<f64>, Option<f64>), StoreError> {
        let all = self.settings().await?;
        let team = all.get(&Scope::Team).copied().flatten();
        let user = user.and_then(|id| {
            all.get(&Scope::User(id.to_string()))
                .or_else(|| all.get(&Scope::EveryUser))
                .copied()
                .flatten()
        });
        Ok((team, user))
    }

    /// Credits each user spent in `month`, largest first.
    pub async fn spend_by_user(&self, month: &Month) -> Result<Vec<(String, f64)>, StoreError> {
        self.store.spend_by_user_since(month.start).await
    }

    /// What scheduled runs and event rules spent in `month`: the team's own spending,
    /// bound by the team's budget only. By kind in words, largest first.
    pub async fn spend_of_runs(&self, month: &Month) -> Result<Vec<(String, f64)>, StoreError> {
        let spend = self.store.spend_of_runs_since(month.start).await?;
        Ok(spend
            .into_iter()
            .map(|(kind, used)| (kind_in_words(&kind), used))
            .collect())
    }

    /// Each person with a budget of their own or spend in `month`, with their budget
    /// (scheduled runs and event rules are not a user: see [`Budgets::spend_of_runs`]).
    pub async fn user_lines(&self, month: &Month) -> Result<Vec<(String, Line)>, StoreError> {
        let settings = self.settings().await?;
        let every_user = settings.get(&Scope::EveryUser).copied().flatten();
        let mut users: BTreeMap<String, f64> =
            self.spend_by_user(month).await?.into_iter().collect();
        for scope in settings.keys() {
            if let Scope::User(id) = scope {
                users.entry(id.clone()).or_insert(0.0);
            }
        }
        Ok(users
            .into_iter()
            .map(|(id, used)| {
                let limit = settings
                    .get(&Scope::User(id.clone()))
                    .copied()
                    .unwrap_or(every_user);
                (id, Line { limit, used })
            })
            .collect())
    }

    /// The budgets that apply to `user` (None: only the team's) and their use this month.
    pub async fn standing(&self, user: Option<&str>) -> Result<Standing, StoreError> {
        let limits = self.limits(user).await?;
        self.standing_with(user, limits).await
    }

    /// [`Budgets::standing`] with the limits already read.
    async fn standing_with(
        &self,
        user: Option<&str>,
        (team_limit, user_limit): (Option<f64>, Option<f64>),
    ) -> Result<Standing, StoreError> {
        let month = self.month(self.clock.now());
        let spend = self
            .store
            .spend_since(month.start, user.unwrap_or(""))
            .await?;
        let team = Line {
            limit: team_limit,
            used: spend.team,
        };
        let user = user.map(|id| {
            let line = Line {
                limit: user_limit,
                used: spend.user,
            };
            (id.to_string(), line)
        });
        publish(&team, user.as_ref());
        Ok(Standing { month, team, user })
    }

    /// The check before a model call or a web search for `tags`: refused when the team's
    /// budget, or (for a person) their own, is spent. A user's budget binds people only;
    /// scheduled runs and event rules spend the team's.
    pub async fn check(&self, tags: &CallTags) -> Result<(), BudgetError> {
        let limits = self.limits_for(tags).await?;
        self.check_within(tags, limits).await
    }

    /// The budgets that bind `tags`, read once: a turn reads them when it starts and
    /// checks each of its model calls against them (a change applies from the next turn).
    pub async fn limits_for(&self, tags: &CallTags) -> Result<Limits, StoreError> {
        Ok(Limits(self.limits(person(tags)).await?))
    }

    /// [`Budgets::check`] against budgets already read: the spend is read afresh, so each
    /// model call of a turn sees what the calls before it cost.
    pub async fn check_within(&self, tags: &CallTags, limits: Limits) -> Result<(), BudgetError> {
        let (user, Limits(limits)) = (person(tags), limits);
        if limits == (None, None) {
            return Ok(());
        }
        let standing = self.standing_with(user, limits).await?;
        if let Some(limit) = standing.team.limit.filter(|_| standing.team.is_spent()) {
            count_refusal("team");
            self.notify_spent(&standing.month, limit).await;
            return Err(Spent {
                team: true,
                limit,
                used: standing.team.used,
            }
            .into());
        }
        if let Some((_, line)) = standing.user.filter(|(_, line)| line.is_spent()) {
            count_refusal("user");
            return Err(Spent {
                team: false,
                limit: line.limit.unwrap_or_default(),
                used: line.used,
            }
            .into());
        }
        Ok(())
    }

    /// After a turn: the warnings due now, each said once a month per budget (across
    /// replicas: claimed in the store). The team's warning is also posted to `notify`.
    pub async fn warnings(&self, tags: &CallTags) -> Result<Vec<String>, StoreError> {
        let limits = self.limits_for(tags).await?;
        self.warnings_within(tags, limits).await
    }

    /// [`Budgets::warnings`] against budgets already read.
    pub async fn warnings_within(
        &self,
        tags: &CallTags,
        limits: Limits,
    ) -> Result<Vec<String>, StoreError> {
        let (user, Limits(limits)) = (person(tags), limits);
        if limits == (None, None) {
            return Ok(Vec::new());
        }
        let standing = self.standing_with(user, limits).await?;
        let mut out = Vec::new();
        if self.crossed(&standing.team) {
            let limit = standing.team.limit.unwrap_or_default();
            let name = format!("{}:team:{limit}", standing.month.key);
            if self.store.claim("budget.warned", &name).await? {
                let text = self.warning(&standing.team, &standing.month, true);
                self.notify(&text);
                out.push(text);
            }
        }
        if let Some((id, line)) = standing.user.as_ref().filter(|(_, l)| self.crossed(l)) {
            let limit = line.limit.unwrap_or_default();
            let name = format!("{}:user:{id}:{limit}", standing.month.key);
            if self.store.claim("budget.warned", &name).await? {
                out.push(self.warning(line, &standing.month, false));
            }
        }
        Ok(out)
    }

    fn crossed(&self, line: &Line) -> bool {
        line.limit
            .is_some_and(|l| line.used >= l * self.config.warn_at)
    }

    fn warning(&self, line: &Line, month: &Month, team: bool) -> String {
        let limit = line.limit.unwrap_or_default();
        let whose = if team {
            "this month's team budget".to_string()
        } else {
            "your budget for this month".to_string()
        };
        let share = if limit > 0.0 {
            (line.used / limit * 100.0).floor()
        } else {
            100.0
        };
        let renews = self.renewal(month);
        if line.is_spent() {
            format!(
                "Budget: {whose} ({} credits) is now spent. No more answers until an admin raises it with /budget or it renews on {renews}.",
                credits(limit)
            )
        } else {
            format!(
                "Budget warning: {share}% of {whose} is used ({} of {} credits). It renews on {renews}; an admin can raise it with /budget.",
                credits(line.used),
                credits(limit)
            )
        }
    }

    /// "1 January 2027".
    pub fn renewal(&self, month: &Month) -> String {
        month
            .end
            .with_timezone(&self.tz)
            .format("%-d %B %Y")
            .to_string()
    }

    /// Sets the budget of `scope` (None: no budget) and records it in the audit log.
    pub async fn set(
        &self,
        scope: &Scope,
        credits: Option<f64>,
        by: &str,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        self.store
            .set_budget(&BudgetSetting {
                scope: scope.key(),
                monthly_credits: credits,
                set_by: by.to_string(),
                set_at: now,
            })
            .await?;
        self.store
            .audit(&AuditEntry {
                at: now,
                actor: by.to_string(),
                action: "budget.set".into(),
                subject: Some(scope.key()),
                detail: serde_json::json!({ "monthly_credits": credits }),
            })
            .await
    }

    /// Says once a month (per budget amount) in `notify` that the team's budget is spent.
    async fn notify_spent(&self, month: &Month, limit: f64) {
        if self.config.notify.is_none() {
            return;
        }
        let name = format!("{}:team:{limit}", month.key);
        match self.store.claim("budget.spent", &name).await {
            Ok(true) => self.notify(&format!(
                "This month's budget of {} credits is spent: no model calls or web searches until an admin raises it with /budget or it renews on {}.",
                credits(limit),
                self.renewal(month)
            )),
            Ok(false) => {}
            Err(e) => tracing::warn!(error = %e, "could not record the budget notice"),
        }
    }

    /// Posts to `[budgets] notify` in the background (a post never holds up a turn).
    fn notify(&self, text: &str) {
        let Some(notify) = self.config.notify.clone() else {
            return;
        };
        let Some(delivery) = self.deliveries.get(&notify.channel) else {
            tracing::warn!(channel = %notify.channel, "budget notice not posted: that channel is not running here");
            return;
        };
        let text = text.to_string();
        tokio::spawn(async move {
            if let Err(e) = delivery.deliver(&notify.to, &text, &[], 0).await {
                tracing::warn!(channel = %notify.channel, error = %e.message, "budget notice not posted");
            }
        });
    }
}

/// "scheduled runs", "event rules", or what else a run spent on ("web searches of
/// scheduled runs and event rules").
pub fn kind_in_words(kind: &str) -> String {
    match kind {
        "scheduled" => "scheduled runs".into(),
        "event" => "event rules".into(),
        "web_search" => "web searches of scheduled runs and event rules".into(),
        other => format!(
            "{} of scheduled runs and event rules",
            other.replace('_', " ")
        ),
    }
}

/// The person a call is made for; unattended runs have none.
fn person(tags: &CallTags) -> Option<&str> {
    (tags.kind == RunKind::Chat).then_some(tags.user.as_str())
}

/// The calendar month `now` falls in, in `tz`, as UTC instants.
pub fn month_of(now: DateTime<Utc>, tz: Tz) -> Month {
    let local = now.with_timezone(&tz);
    let (year, month) = (local.year(), local.month());
    let (next_year, next_month) = if month == 12 {
        (year + 1, 1)
    } else {
        (year, month + 1)
    };
    Month {
        start: local_midnight(tz, year, month),
        end: local_midnight(tz, next_year, next_month),
        key: format!("{year:04}-{month:02}"),
    }
}

/// The first instant of day 1 of the month in `tz` (a midnight skipped by a clock change
/// starts the day at the first minute that exists).
fn local_midnight(tz: Tz, year: i32, month: u32) -> DateTime<Utc> {
    let day = NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default();
    (0..=180)
        .step_by(15)
        .find_map(|minutes| {
            let at = day.and_hms_opt(0, 0, 0)? + chrono::Duration::minutes(minutes);
            tz.from_local_datetime(&at).earliest()
        })
        .map_or_else(
            || day.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc(),
            |at| at.with_timezone(&Utc),
        )
}

fn count_refusal(scope: &str) {
    crate::metrics::get()
        .budget_refusals
        .get_or_create(&crate::metrics::ScopeLabel {
            scope: scope.into(),
        })
        .inc();
}

/// Sets the budget gauges to what this process last read from the ledger.
fn publish(team: &Line, user: Option<&(String, Line)>) {
    let lines = std::iter::once(("team".to_string(), team))
        .chain(user.map(|(id, line)| (format!("user:{id}"), line)));
    for (scope, line) in lines {
        let Some(limit) = line.limit else { continue };
        let label = crate::metrics::ScopeLabel { scope };
        let metrics = crate::metrics::get();
        metrics.budget_used.get_or_create(&label).set(line.used);
        metrics
            .budget_left
            .get_or_create(&label)
            .set((limit - line.used).max(0.0));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_follow_the_team_zone() {
        let tz: Tz = "America/New_York".parse().unwrap();
        // 03:00 UTC on 1 Dec is still 30 Nov in New York.
        let now = Utc.with_ymd_and_hms(2026, 12, 1, 3, 0, 0).unwrap();
        let month = month_of(now, tz);
        assert_eq!(month.key, "2026-11");
        assert_eq!(
            month.start,
            Utc.with_ymd_and_hms(2026, 11, 1, 4, 0, 0).unwrap()
        );
        assert_eq!(
            month.end,
            Utc.with_ymd_and_hms(2026, 12, 1, 5, 0, 0).unwrap()
        );
        let december = month_of(
            Utc.with_ymd_and_hms(2026, 12, 31, 23, 0, 0).unwrap(),
            chrono_tz::UTC,
        );
        assert_eq!(december.key, "2026-12");
        assert_eq!(
            december.end,
            Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap()
        );
    }

    #[test]
    fn refusals_name_the_budget() {
        let team = Spent {
            team: true,
            limit: 50_000.0,
            used: 50_010.0,
        };
        assert_eq!(
            team.to_string(),
            "This month's budget of 50,000 credits is spent; an admin can raise it with /budget."
        );
        let user = Spent {
            team: false,
            limit: 5_000.0,
            used: 5_000.0,
        };
        assert!(user.to_string().contains("Your budget"));
    }

    #[test]
    fn scopes_round_trip() {
        for scope in [Scope::Team, Scope::EveryUser, Scope::User("123".into())] {
            assert_eq!(Scope::parse_key(&scope.key()), Some(scope));
        }
        assert_eq!(Scope::parse_key("user:"), None);
        assert_eq!(Scope::for_user(Some("*")), Scope::EveryUser);
        assert_eq!(Scope::for_user(None), Scope::Team);
    }
}
