use clap::{Parser, Subcommand};
use fanops::channels::console::HeldLogs;
use fanops::cli::LogTo;
use fanops::config::{Config, ConfigSource};
use std::path::PathBuf;
use std::process::ExitCode;

/// fanops: your agency's chat-ops assistant.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// Config file (default ./fanops.toml; without one, defaults and environment alone).
    #[arg(long, global = true, env = "FANOPS_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Write a first fanops.toml from a few answers (or flags, with --non-interactive).
    Init {
        /// Take every answer from the flags below; ask nothing.
        #[arg(long)]
        non_interactive: bool,
        /// Replace the file when it exists.
        #[arg(long)]
        force: bool,
        /// The team's IANA time zone (default UTC).
        #[arg(long)]
        timezone: Option<String>,
        /// openai or openrouter (default openai).
        #[arg(long)]
        provider: Option<String>,
        /// The provider's model id.
        #[arg(long)]
        model: Option<String>,
        /// A chat platform to set up (repeatable).
        #[arg(long = "platform", value_name = "NAME")]
        platforms: Vec<String>,
        /// A platform's answer: <platform>.<key>=VALUE (repeatable), e.g. its admin's id.
        #[arg(long = "answer", value_name = "PLATFORM.KEY=VALUE")]
        answers: Vec<String>,
    },
    /// Start the HTTP server and every configured part.
    Run,
    /// Talk to the assistant in this terminal (as admin).
    Chat,
    /// Validate the configuration; print `file:line: problem`.
    Check,
    /// Ask every configured service whether fanops can work with it: one line per part.
    Doctor,
    /// Apply database migrations and exit.
    Migrate,
    /// Scheduled tasks: list | run NAME | pause NAME | resume NAME | delete NAME.
    Tasks {
        #[command(subcommand)]
        action: TasksAction,
    },
    /// Report usage and costs.
    Usage {
        /// today, 7d, 30d, 6m, 1y or all.
        #[arg(long, default_value = "30d")]
        period: String,
        /// model, platform, connection, kind, user or day.
        #[arg(long, default_value = "model")]
        by: String,
        /// table, csv or json.
        #[arg(long, default_value = "table")]
        format: String,
        /// Write a PNG chart of credits over time, stacked by `--by`, to this file instead.
        #[arg(long, value_name = "FILE.png")]
        chart: Option<PathBuf>,
        /// The ledger's rows themselves instead of sums (a table of the latest, or with
        /// `--format csv` every row of the period).
        #[arg(long)]
        rows: bool,
    },
    /// Monthly budgets: show | set --monthly N [--user ID].
    Budget {
        #[command(subcommand)]
        action: BudgetAction,
    },
    /// Recent real-time events and what each alert rule did with them.
    Events {
        /// How far back: 30m, 1h, 7d…
        #[arg(long, default_value = "1h")]
        since: String,
        /// Only this kind (tip, new_subscriber, …).
        #[arg(long)]
        kind: Option<String>,
        /// Rows shown at most (the total counts them all).
        #[arg(long, default_value_t = 50)]
        limit: usize,
        /// table or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// The team of each bot: list | allow ID ROLE | remove ID [--channel NAME].
    Team {
        #[command(subcommand)]
        action: TeamCommand,
        /// The connection (`<platform>` or `<platform>:<account>`); needed when several are configured.
        #[arg(long, global = true)]
        channel: Option<String>,
    },
    /// Skills: list | install NAME | remove NAME (or --bundle NAME).
    Skills {
        #[command(subcommand)]
        action: SkillsAction,
    },
}

#[derive(Subcommand)]
enum BudgetAction {
    /// This month's budgets and what is used and left.
    Show,
    /// Set the team's budget, one user's (`--user ID`) or each user's (`--user '*'`).
    Set {
        /// Credits a calendar month, or `off` for no budget.
        #[arg(long)]
        monthly: String,
        #[arg(long)]
        user: Option<String>,
    },
}

#[derive(Subcommand)]
enum TeamCommand {
    /// Everyone who may use each bot, with their role and where it comes from, and who waits.
    List,
    /// Let a person in with a role (viewer, operator or admin), on every replica at once.
    Allow { id: String, role: String },
    /// Take away a role granted from chat or the command line.
    Remove { id: String },
}

#[derive(Subcommand)]
enum SkillsAction {
    /// Every skill: name, category, installed or available, description; then bundles.
    List {
        /// table or json.
        #[arg(long, default_value = "table")]
        format: String,
    },
    /// Install a skill, or every skill of a bundle, for the whole team.
    Install {
        name: Option<String>,
        #[arg(long)]
        bundle: Option<String>,
    },
    /// Remove a skill, or every skill of a bundle (also those installed on their own).
    Remove {
        name: Option<String>,
        #[arg(long)]
        bundle: Option<String>,
    },
}

impl SkillsAction {
    /// The command as the library takes it, its format and target checked.
    fn command(self) -> anyhow::Result<fanops::cli::SkillsCommand> {
        use fanops::cli::SkillsCommand;
        Ok(match self {
            SkillsAction::List { format } => match format.as_str() {
                "table" => SkillsCommand::List { json: false },
                "json" => SkillsCommand::List { json: true },
                other => anyhow::bail!("unknown format `{other}`: use table or json"),
            },
            SkillsAction::Install { name, bundle } => {
                SkillsCommand::Install(SkillsCommand::target(name, bundle)?)
            }
            SkillsAction::Remove { name, bundle } => {
                SkillsCommand::Remove(SkillsCommand::target(name, bundle)?)
            }
        })
    }
}

#[derive(Subcommand)]
enum TasksAction {
    /// Every workflow and task with its schedule, state, last and next run.
    List,
    /// Run a task or template now and print its output (an active task also delivers).
    Run {
        name: String,
    },
    /// Stop scheduling a task until it is resumed.
    Pause {
        name: String,
    },
    Resume {
        name: String,
    },
    /// Delete a task.
    Delete {
        name: String,
    },
}

impl TasksAction {
    /// The verb `fanops::cli::tasks` takes, and the task it names.
    fn verb(self) -> (&'static str, Option<String>) {
        match self {
            TasksAction::List => ("list", None),
            TasksAction::Run { name } => ("run", Some(name)),
            TasksAction::Pause { name } => ("pause", Some(name)),
            TasksAction::Resume { name } => ("resume", Some(name)),
            TasksAction::Delete { name } => ("delete", Some(name)),
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let quiet = !matches!(cli.command, Command::Run | Command::Migrate);
    let filter = if quiet { "warn" } else { "info" };
    let init_path = cli
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from("fanops.toml"));
    let source = match cli.config {
        Some(path) => ConfigSource::Explicit(path),
        None => ConfigSource::Default,
    };
    let result = match cli.command {
        Command::Init {
            non_interactive,
            force,
            timezone,
            provider,
            model,
            platforms,
            answers,
        } => {
            let args = fanops::cli::init::InitArgs {
                non_interactive,
                force,
                timezone,
                provider,
                model,
                platforms,
                answers,
            };
            fanops::cli::init::run(&init_path, args, &fanops::channels::configs())
        }
        Command::Check => {
            fanops::cli::init_logging(filter);
            return fanops::cli::check(source);
        }
        Command::Doctor => match Config::load(source, &fanops::channels::configs()) {
            Err(e) => {
                eprintln!("{e}");
                eprintln!("fanops: the configuration has problems (see `fanops check`); nothing was asked.");
                return ExitCode::FAILURE;
            }
            Ok(config) => {
                // Its lines say what failed; the log would say it twice.
                fanops::cli::init_logging("off");
                return fanops::cli::doctor(config).await;
            }
        },
        command => match Config::load(source, &fanops::channels::configs()) {
            Err(e) => {
                eprintln!("{e}");
                eprintln!("fanops: the configuration has problems; nothing was started.");
                return ExitCode::FAILURE;
            }
            Ok(config) => {
                // Logging waits for the config, which says how lines look; in `chat` they
                // are held back and printed between turns.
                let held = HeldLogs::default();
                let to = match command {
                    Command::Chat => LogTo::Held(held.clone()),
                    _ => LogTo::Stderr,
                };
                fanops::cli::init_logging_as(filter, config.log_format(), to);
                dispatch(command, config, held).await
            }
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fanops: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command with its loaded config (`check` is run before, on the config source).
async fn dispatch(command: Command, config: Config, held: HeldLogs) -> anyhow::Result<()> {
    match command {
        Command::Init { .. } => unreachable!("init runs before any config is loaded"),
        Command::Run => fanops::cli::run(config).await,
        Command::Chat => fanops::cli::chat(config, held).await,
        Command::Migrate => fanops::cli::migrate(config).await,
        Command::Tasks { action } => {
            let (verb, name) = action.verb();
            fanops::cli::tasks(config, verb, name.as_deref()).await
        }
        Command::Usage {
            period,
            by,
            format,
            chart,
            rows,
        } => {
            let output = match (chart, rows) {
                (Some(path), _) => fanops::cli::UsageOutput::Chart(path),
                (None, true) => fanops::cli::UsageOutput::Rows,
                (None, false) => fanops::cli::UsageOutput::Sums,
            };
            fanops::cli::usage(config, &period, &by, &format, output).await
        }
        Command::Events {
            since,
            kind,
            limit,
            format,
        } => fanops::cli::events(config, &since, kind.as_deref(), limit, &format).await,
        Command::Skills { action } => fanops::cli::skills(config, action.command()?).await,
        Command::Budget { action } => match action {
            BudgetAction::Show => fanops::cli::budget::show(config).await,
            BudgetAction::Set { monthly, user } => {
                fanops::cli::budget::set(config, &monthly, user.as_deref()).await
            }
        },
        Command::Team { action, channel } => {
            use fanops::cli::team::TeamAction;
            let action = match action {
                TeamCommand::List => TeamAction::List,
                TeamCommand::Allow { id, role } => TeamAction::Allow { user: id, role },
                TeamCommand::Remove { id } => TeamAction::Remove { user: id },
            };
            fanops::cli::team::run(config, action, channel.as_deref()).await
        }
        Command::Check | Command::Doctor => unreachable!("handled above"),
    }
}
