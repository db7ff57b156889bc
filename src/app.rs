//! Wiring: one [`App`] built from a config. `main.rs` only parses the command line.

use crate::agent::{Agent, AgentParts, AgentSettings};
use crate::budget::Budgets;
use crate::channels::{self, Channel, ChannelParts};
use crate::chat::Deliveries;
use crate::clock::Clock;
use crate::config::Config;
use crate::core::Core;
use crate::events::EventSources;
use crate::health::Health;
use crate::llm::Llm;
use crate::onlyfans::accounts::AccountsCache;
use crate::onlyfans::client::OnlyFansClient;
use crate::scheduler::engine::Scheduler;
use crate::server::{self, ServerState};
use crate::store::{self, SharedStore};
use crate::tasks::workflow;
use crate::tools::{Integrations, Registry};
use anyhow::Context;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

pub struct App {
    pub config: Config,
    pub store: SharedStore,
    pub agent: Arc<Agent>,
    pub core: Arc<Core>,
    pub health: Health,
    pub scheduler: Arc<Scheduler>,
    /// Every chat platform this process serves.
    pub channels: Vec<Arc<dyn Channel>>,
    /// Webhooks, relays and the event rules.
    pub events: EventSources,
    /// The skills, web search and MCP servers the tools reach.
    pub integrations: Integrations,
}

/// Installs the process-wide TLS provider once; several crates bring rustls and it
/// cannot choose on its own.
pub fn install_tls_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Connects to the database named in the config and applies migrations.
pub async fn open_store(config: &Config) -> anyhow::Result<SharedStore> {
    let store = store::connect(&config.database.url)
        .await
        .with_context(|| {
            format!(
                "while opening the database {}",
                redact_url(&config.database.url)
            )
        })?;
    store
        .migrate()
        .await
        .context("while applying database migrations")?;
    Ok(store)
}

impl App {
    pub async fn build(config: Config) -> anyhow::Result<App> {
        App::build_with_clock(config, Clock::system()).await
    }

    /// [`App::build`] with the clock every part judges time by (tests move it forward).
    pub async fn build_with_clock(config: Config, clock: Clock) -> anyhow::Result<App> {
        install_tls_provider();
        let store = open_store(&config).await?;
        // Channels register here once built; the scheduler posts through it.
        let deliveries = Deliveries::default();
        let health = Health::with_clock(clock.clone());
        let integrations = integrations(&config, &store, &health, &clock).await?;
        let (agent, scheduler) =
            agent_and_scheduler(&config, &store, &clock, deliveries.clone(), &integrations)?;
        scheduler
            .refresh_chat_tasks()
            .await
            .context("while loading the tasks created from chat")?;
        let core = Arc::new(Core::new(
            agent.clone(),
            store.clone(),
            channels::access(&config),
            scheduler.clone(),
            crate::core::TeamParts {
                deliveries: deliveries.clone(),
                requests_to: config.team.requests_to.clone(),
                titles: config
                    .platforms
                    .iter()
                    .map(|p| (p.name().to_string(), p.title().to_string()))
                    .collect(),
            },
        ));
        let events = EventSources::build(
            &config,
            store.clone(),
            scheduler.clone(),
            health.clone(),
            clock.clone(),
        );
        let parts = ChannelParts {
            core: core.clone(),
            store: store.clone(),
            health: health.clone(),
            clock,
            grace: config.shutdown_grace(),
        };
        let channels = channels::build(&config, &parts)?;
        for channel in &channels {
            deliveries.register(channel.name(), channel.clone().delivery());
        }
        Ok(App {
            config,
            store,
            agent,
            core,
            health,
            scheduler,
            channels,
            events,
            integrations,
        })
    }

    /// `fanops run`: serves HTTP on `listener` until `shutdown`.
    pub async fn serve(
        mut self,
        listener: TcpListener,
        shutdown: CancellationToken,
    ) -> anyhow::Result<()> {
        let address = listener.local_addr()?;
        let router = self.router()?;
        let grace = self.config.shutdown_grace();
        let unreachable = self
            .channels
            .is_empty()
            .then(|| no_chat_platform(&self.config));
        let backend = self.store.backend();
        let database = crate::store::location(&self.config.database.url);
        let parts = self.start(&shutdown);
        if let Some(warning) = unreachable {
            tracing::warn!("{warning}");
        }
        tracing::info!(%address, backend, %database, "fanops is ready");
        let served = server::run(listener, router, shutdown.clone()).await;
        shutdown.cancel();
        stop(parts, grace).await;
        served
    }

    /// The routes of the shared listener: health and metrics, the dashboard when enabled,
    /// each platform's webhooks and the event sources' webhooks.
    fn router(&mut self) -> anyhow::Result<axum::Router> {
        let mut router = server::router(ServerState {
            store: self.store.clone(),
            health: self.health.clone(),
        });
        let dashboard = crate::dashboard::routes(
            &self.config,
            self.store.clone(),
            self.scheduler.clone(),
            self.agent.budgets().clone(),
            self.agent.clock().clone(),
        )?;
        if let Some(routes) = dashboard {
            router = router.merge(routes);
        }
        for channel in &self.channels {
            if let Some(routes) = channel.clone().routes() {
                router = router.merge(routes);
            }
        }
        if let Some(routes) = self.events.routes() {
            router = router.merge(routes);
        }
        Ok(router)
    }

    /// Starts every long-running part under `shutdown`: each channel, the event sources,
    /// the scheduler and the MCP servers.
    fn start(self, shutdown: &CancellationToken) -> Parts {
        let mut parts = Parts::new();
        for channel in &self.channels {
            let (channel, stop) = (channel.clone(), shutdown.clone());
            parts.spawn(async move { (channel.name().to_string(), channel.run(stop).await) });
        }
        for (name, part) in self.events.parts(shutdown.clone()) {
            parts.spawn(async move { (name, part.await) });
        }
        // Always running: a task may be created from chat at any time, on any replica.
        let (scheduler, stop) = (self.scheduler.clone(), shutdown.clone());
        let (health, grace) = (self.health.clone(), self.config.shutdown_grace());
        parts.spawn(async move {
            (
                "scheduler".to_string(),
                scheduler.run(stop, health, grace).await,
            )
        });
        if let Some(mcp) = self.integrations.mcp.clone() {
            let stop = shutdown.clone();
            parts.spawn(async move { ("mcp".to_string(), mcp.run(stop).await) });
        }
        parts
    }

    /// Binds `[server].listen` and serves.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let listen = self.config.server.listen.clone();
        let listener = TcpListener::bind(&listen)
            .await
            .with_context(|| format!("while binding the HTTP listener to {listen}"))?;
        self.serve(listener, shutdown).await
    }
}

/// The long-running parts of a serving process, each ending with its name and result.
type Parts = tokio::task::JoinSet<(String, anyhow::Result<()>)>;

/// Waits for the parts to stop after shutdown, logging how each ended; a part still
/// running after `grace` and a margin is left behind.
async fn stop(mut parts: Parts, grace: std::time::Duration) {
    // Each part lets its work in flight finish within the grace period; this bound
    // only guards against a part that ignores it.
    let deadline = grace + std::time::Duration::from_secs(5);
    let stopped = tokio::time::timeout(deadline, async {
        while let Some(done) = parts.join_next().await {
            match done {
                Ok((name, Err(e))) => {
                    tracing::error!(part = %name, error = %format!("{e:#}"), "stopped with an error")
                }
                Ok((name, Ok(()))) => tracing::info!(part = %name, "stopped"),
                Err(e) => tracing::error!(error = %e, "a part panicked"),
            }
        }
    })
    .await;
    if stopped.is_err() {
        tracing::warn!("some parts did not stop within the grace period; leaving them");
        parts.abort_all();
    }
}

/// Said at start when no chat platform runs: what that means, and where to read how to
/// connect one.
fn no_chat_platform(config: &Config) -> String {
    let why = match config.channels.is_empty() {
        false => "no chat platform is running (the warnings above say why)",
        true => "no chat platform is configured",
    };
    let file = config
        .source
        .as_ref()
        .map_or(crate::config::DEFAULT_PATH.to_string(), |p| {
            p.display().to_string()
        });
    format!(
        "{why}: nobody can message fanops and scheduled tasks cannot post. To connect {}, run `fanops init` (it asks a few questions and writes {file}) or follow that platform's section of README.md (a [channels.…] section in {file} and the bot's token in the environment); meanwhile `fanops chat` talks to it in a terminal",
        config.platforms.titles()
    )
}

/// A database URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

/// The agent and the scheduler, built together: the agent's task tools reach the scheduler
/// through `TaskBook`, and the scheduler runs tasks through the agent, holding a weak link
/// to it so that neither keeps the other alive.
/// The skills (with `[skills] installed` applied on the first start), web search, and
/// the MCP servers, connected once here and kept connected by `App::serve`.
async fn integrations(
    config: &Config,
    store: &SharedStore,
    health: &Health,
    clock: &Clock,
) -> anyhow::Result<Integrations> {
    let (library, problems) = crate::skills::Library::for_config(config);
    if !problems.is_empty() {
        let listed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        anyhow::bail!("the skill files have problems:\n{}", listed.join("\n"));
    }
    crate::skills::install::seed(
        store.as_ref(),
        &library,
        &config.skills.installed,
        clock.now(),
    )
    .await
    .context("while installing the skills of `[skills] installed`")?;
    let mcp = match config.mcp.is_empty() {
        true => None,
        false => {
            let mcp = crate::mcp::Mcp::new(&config.mcp, &config.secrets, health.clone());
            mcp.connect_all().await;
            Some(Arc::new(mcp))
        }
    };
    Ok(Integrations {
        skills: Some(Arc::new(library)),
        web_search: crate::web_search::WebSearch::from_config(config, store.clone()).map(Arc::new),
        mcp,
    })
}

fn agent_and_scheduler(
    config: &Config,
    store: &SharedStore,
    clock: &Clock,
    deliveries: Deliveries,
    integrations: &Integrations,
) -> anyhow::Result<(Arc<Agent>, Arc<Scheduler>)> {
    let llm = Arc::new(Llm::new(config, store.clone()).context("while setting up the models")?);
    let client =
        Arc::new(OnlyFansClient::new(config).context("while setting up the OnlyFansAPI client")?);
    let budgets = Arc::new(Budgets::new(
        config,
        store.clone(),
        clock.clone(),
        deliveries.clone(),
    ));
    let settings = AgentSettings {
        max_steps: config.agent.max_steps,
        history_tokens: config.agent.history_tokens,
        tool_result_chars: config.agent.tool_result_chars,
        confirm_ttl: config.confirm_ttl(),
        tz: config.tz(),
        clock: clock.clone(),
    };
    let (workflows, problems) = workflow::load_for_config(config);
    if !problems.is_empty() {
        let listed: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
        anyhow::bail!("the workflow files have problems:\n{}", listed.join("\n"));
    }
    let grace = crate::config::parse_duration(&config.scheduler.grace)
        .unwrap_or(std::time::Duration::from_secs(3600));
    let delivery_retry = crate::config::parse_duration(&config.scheduler.delivery_retry)
        .unwrap_or(std::time::Duration::from_secs(30));
    let mut built = None;
    let agent = Arc::new_cyclic(|agent| {
        let scheduler = Arc::new(Scheduler::new(
            workflows,
            workflow::Known::for_config(config),
            store.clone(),
            agent.clone(),
            deliveries,
            grace,
            delivery_retry,
        ));
        built = Some(scheduler.clone());
        Agent::new(AgentParts {
            llm,
            registry: Arc::new(Registry::with_integrations(integrations)),
            store: store.clone(),
            client,
            accounts: Arc::new(AccountsCache::new(config.accounts_cache())),
            settings,
            tasks: Some(scheduler),
            budgets,
        })
    });
    let scheduler = built.expect("the scheduler is built with the agent");
    Ok((agent, scheduler))
}
