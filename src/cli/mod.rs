//! The command-line commands, each a thin call into the library.

pub mod budget;
mod doctor;
pub mod init;
mod skills;
pub mod team;

pub use doctor::doctor;
pub use skills::{skills, SkillsCommand};

use crate::app::{self, App};
use crate::channels::console::{self, ConsoleReplier, HeldLogs};
use crate::config::{Config, ConfigSource, LogFormat};
use crate::onlyfans::catalog::{Catalog, Effect};
use crate::tasks::workflow;
use crate::usage::{self, Period};
use std::process::ExitCode;

mod events;
pub use events::events;
use tokio_util::sync::CancellationToken;

/// Text logs on stderr; `RUST_LOG`, or else `default`, picks what is logged. Tests call
/// this; a second call does nothing.
pub fn init_logging(default: &str) {
    init_logging_as(default, LogFormat::Text, LogTo::Stderr);
}

/// Where log lines go.
pub enum LogTo {
    Stderr,
    /// Held back and printed between turns (`fanops chat`).
    Held(HeldLogs),
}

/// Logging as the config asks: `RUST_LOG`, or else `default`, picks what is logged;
/// `format` how each line looks. Colour only when stderr is a terminal and `NO_COLOR` is
/// not set, so files and log collectors get plain text.
pub fn init_logging_as(default: &str, format: LogFormat, to: LogTo) {
    use std::io::IsTerminal;
    use tracing_subscriber::fmt::writer::BoxMakeWriter;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let colour = std::io::stderr().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let writer = match to {
        LogTo::Stderr => BoxMakeWriter::new(std::io::stderr),
        LogTo::Held(logs) => BoxMakeWriter::new(move || logs.clone()),
    };
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    let _ = match format {
        LogFormat::Text => builder.with_ansi(colour).try_init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_ansi(false)
            .try_init(),
    };
}

/// Logs what limits the bot without stopping it, once at start.
fn log_warnings(config: &Config) {
    for warning in config.warnings() {
        tracing::warn!("{warning}");
    }
}

/// `fanops check`: every problem as `file:line: problem`, then every warning as
/// `file:line: warning: …`; exit 1 on any problem (warnings alone pass).
pub fn check(source: ConfigSource) -> ExitCode {
    let (config, mut problems) = match Config::inspect(
        source,
        &|name| std::env::var(name).ok(),
        &crate::channels::configs(),
    ) {
        Ok(found) => found,
        Err(e) => {
            for problem in &e.problems {
                println!("{problem}");
            }
            println!("{} problem(s) found.", e.problems.len());
            return ExitCode::FAILURE;
        }
    };
    // The workflow files are checked against the config as far as it could be read.
    let (workflows, workflow_problems) = workflow::load_for_config(&config);
    problems.extend(workflow_problems);
    let (library, skill_problems) = crate::skills::Library::for_config(&config);
    problems.extend(skill_problems);
    problems.extend(unknown_installed_skills(&config, &library));
    for problem in &problems {
        println!("{problem}");
    }
    for warning in config.warnings() {
        println!("{warning}");
    }
    if !problems.is_empty() {
        println!("{} problem(s) found.", problems.len());
        return ExitCode::FAILURE;
    }
    let origin = config
        .source
        .as_ref()
        .map_or("defaults and environment".to_string(), |p| {
            p.display().to_string()
        });
    let catalog = Catalog::embedded();
    let writes = catalog
        .endpoints()
        .iter()
        .filter(|e| e.effect == Effect::Write)
        .count();
    let active = workflows.iter().filter(|w| !w.is_template()).count();
    println!(
        "OK: {origin}; {} model alias(es), default `{}`; {} workflows ({} active, {} templates); {} skills in {} bundles; OnlyFansAPI catalog of {} endpoints ({} write).",
        config.llm.models.len(),
        config.llm.default_model,
        workflows.len(),
        active,
        workflows.len() - active,
        library.skills().count(),
        library.bundles().count(),
        catalog.endpoints().len(),
        writes
    );
    ExitCode::SUCCESS
}

/// `[skills] installed` naming a skill that does not exist, at its line.
fn unknown_installed_skills(
    config: &Config,
    library: &crate::skills::Library,
) -> Vec<crate::config::Problem> {
    let origin = config
        .source
        .as_ref()
        .map_or("fanops.toml".into(), |p| p.display().to_string());
    let text = config
        .source
        .as_ref()
        .and_then(|p| std::fs::read_to_string(p).ok())
        .unwrap_or_default();
    let line =
        crate::config::Locator::new(&text).line_of(&crate::config::path(&["skills", "installed"]));
    config
        .skills
        .installed
        .iter()
        .filter(|name| library.get(name).is_none())
        .map(|name| crate::config::Problem {
            origin: origin.clone(),
            line,
            message: format!(
                "[skills] installed names `{name}`, which is not a skill (see `fanops skills list`)"
            ),
        })
        .collect()
}

pub async fn run(config: Config) -> anyhow::Result<()> {
    log_warnings(&config);
    let app = App::build(config).await?;
    #[cfg(unix)]
    tokio::spawn(reload_on_hangup(app.config.clone(), app.scheduler.clone()));
    let shutdown = CancellationToken::new();
    let signal = shutdown.clone();
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("stopping: no new messages are taken; the ones in flight may finish (a second signal stops at once)");
        signal.cancel();
        wait_for_signal().await;
        tracing::warn!("stopped at once by a second signal; unanswered messages are answered at the next start");
        std::process::exit(130);
    });
    app.run(shutdown).await
}

/// SIGHUP re-reads the workflow files; a file with problems keeps the previous set running.
#[cfg(unix)]
async fn reload_on_hangup(
    config: Config,
    scheduler: std::sync::Arc<crate::scheduler::engine::Scheduler>,
) {
    let Ok(mut hangup) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
    else {
        return;
    };
    while hangup.recv().await.is_some() {
        let (workflows, problems) = workflow::load_for_config(&config);
        if problems.is_empty() {
            tracing::info!(workflows = workflows.len(), "workflow files reloaded");
            scheduler.reload(workflows);
        } else {
            for problem in &problems {
                tracing::error!("{problem}");
            }
            tracing::error!("workflow files not reloaded: the previous ones keep running");
        }
    }
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("SIGTERM handler");
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
}

/// `fanops chat`; `logs` holds the log lines until the next prompt (see [`LogTo::Held`]).
pub async fn chat(config: Config, logs: HeldLogs) -> anyhow::Result<()> {
    log_warnings(&config);
    let chatted = async {
        let app = App::build(config).await?;
        let replier = ConsoleReplier::new(std::io::stdout()).holding_logs(logs.clone());
        // A person at a terminal gets a line editor; a pipe is read a line at a time.
        if std::io::IsTerminal::is_terminal(&std::io::stdin()) {
            return console::run_terminal(&app.core, &replier).await;
        }
        let input = tokio::io::BufReader::new(tokio::io::stdin());
        console::run(&app.core, input, &replier).await
    }
    .await;
    // Whatever was logged on the way out, a failed start included.
    logs.release();
    chatted
}

pub async fn migrate(config: Config) -> anyhow::Result<()> {
    app::install_tls_provider();
    let store = app::open_store(&config).await?;
    println!(
        "Migrations applied ({}: {}).",
        store.backend(),
        app::redact_url(&config.database.url)
    );
    Ok(())
}

/// What `fanops usage` prints.
pub enum UsageOutput {
    /// Sums by the dimension (the default).
    Sums,
    /// The ledger's rows (`--rows`).
    Rows,
    /// A PNG chart written to this file (`--chart`).
    Chart(std::path::PathBuf),
}

/// Rows `fanops usage --rows` shows as a table.
const LATEST_ROWS: usize = 50;

pub async fn usage(
    config: Config,
    period: &str,
    by: &str,
    format: &str,
    output: UsageOutput,
) -> anyhow::Result<()> {
    let period = Period::parse(period).map_err(anyhow::Error::msg)?;
    let by = usage::parse_dimension(by).map_err(anyhow::Error::msg)?;
    if !matches!(format, "table" | "csv" | "json") {
        anyhow::bail!("unknown format `{format}`: use table, csv or json");
    }
    app::install_tls_provider();
    let store = app::open_store(&config).await?;
    if let UsageOutput::Rows = output {
        let since = period.since(chrono::Utc::now());
        if format == "table" {
            let rows = store.recent_usage(since, LATEST_ROWS, true).await?;
            let text = usage::render_activity(&rows, period, config.tz());
            println!("{}", crate::channels::render::terminal(&text));
            return Ok(());
        }
        let rows = store
            .recent_usage(since, usage::MAX_EXPORT_ROWS, false)
            .await?;
        match format {
            "csv" => print!("{}", usage::render_ledger_csv(&rows)?),
            _ => anyhow::bail!("--rows prints a table or CSV (--format table|csv)"),
        }
        return Ok(());
    }
    if let UsageOutput::Chart(path) = &output {
        usage::chart::check_dimension(by).map_err(anyhow::Error::msg)?;
        let series = usage::chart::series(store.as_ref(), period, by, chrono::Utc::now()).await?;
        let png = usage::chart::render(&series).map_err(anyhow::Error::msg)?;
        std::fs::write(path, png)
            .map_err(|e| anyhow::anyhow!("cannot write the chart to {}: {e}", path.display()))?;
        println!(
            "{}: {} credits in all; chart written to {} ({}×{} PNG).",
            series.title,
            crate::budget::credits(series.total()),
            path.display(),
            usage::chart::WIDTH,
            usage::chart::HEIGHT
        );
        return Ok(());
    }
    let rows = usage::report(store.as_ref(), period, by).await?;
    match format {
        "csv" => print!("{}", usage::render_csv(&rows, by)?),
        "json" => println!("{}", usage::render_json(&rows, by, period)),
        _ => {
            println!("Usage, {}:", period.label());
            println!("{}", usage::render_table(&rows, by));
        }
    }
    Ok(())
}

/// `fanops tasks list|run|pause|resume|delete`.
pub async fn tasks(config: Config, verb: &str, name: Option<&str>) -> anyhow::Result<()> {
    let app = App::build(config).await?;
    if verb == "list" {
        return print_tasks(&app).await;
    }
    let name = name.unwrap_or_default();
    let task =
        crate::tasks::find_or_list(&app.scheduler.workflows(), name).map_err(anyhow::Error::msg)?;
    match verb {
        "run" => run_task(&app, &task).await,
        "pause" | "resume" => pause_task(&app, &task, verb == "pause").await,
        "delete" if task.from_chat => {
            crate::tasks::stored::delete(app.store.as_ref(), &task.id).await?;
            println!(
                "Deleted `{}` ({}). Its run history is kept.",
                task.id, task.name
            );
            Ok(())
        }
        _ => anyhow::bail!(
            "`{}` is defined by {}: edit or remove that file to change or delete it",
            task.id,
            task.origin
        ),
    }
}

/// `fanops tasks list`: every task and rule with its schedule and last run.
async fn print_tasks(app: &App) -> anyhow::Result<()> {
    let lines = crate::tasks::list(
        app.store.as_ref(),
        &app.scheduler.workflows(),
        chrono::Utc::now(),
    )
    .await?;
    println!(
        "{}",
        crate::channels::render::terminal(&crate::tasks::render(&lines))
    );
    Ok(())
}

/// `fanops tasks run`: one run now, its outcome and output printed (an event rule
/// runs only on its events).
async fn run_task(app: &App, task: &workflow::Workflow) -> anyhow::Result<()> {
    if task.is_rule() {
        anyhow::bail!(
            "`{}` is an event rule: it runs when a matching event arrives (see `fanops events`)",
            task.id
        )
    }
    let run = app.scheduler.run_now(task, true).await?;
    println!("{} — {}", task.name, run.outcome());
    println!(
        "{}",
        crate::channels::render::terminal(run.output.as_deref().unwrap_or(""))
    );
    Ok(())
}

/// `fanops tasks pause|resume` of an active task (a template is never scheduled).
async fn pause_task(app: &App, task: &workflow::Workflow, pause: bool) -> anyhow::Result<()> {
    if task.is_template() {
        anyhow::bail!(
            "`{}` is a template (no [deliver]); only active tasks are scheduled",
            task.id
        )
    }
    crate::tasks::set_paused(app.store.as_ref(), &task.id, pause, chrono::Utc::now()).await?;
    println!(
        "{} `{}`.",
        if pause { "Paused" } else { "Resumed" },
        task.id
    );
    Ok(())
}
