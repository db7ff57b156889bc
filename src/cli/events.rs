//! `fanops events [--since 1h] [--kind tip] [--limit 50] [--format table|json]`: recent
//! real-time events and what each rule did with them.

use crate::app;
use crate::config::Config;
use crate::store::EventFilter;
use crate::tasks::trigger::EventKind;

pub async fn events(
    config: Config,
    since: &str,
    kind: Option<&str>,
    limit: usize,
    format: &str,
) -> anyhow::Result<()> {
    let Some(period) = crate::config::parse_duration(since) else {
        anyhow::bail!("`--since {since}` is not a duration (write e.g. 30m, 1h, 7d)");
    };
    if let Some(kind) = kind {
        if EventKind::parse(kind).is_none() {
            anyhow::bail!(
                "unknown event kind `{kind}` (use {})",
                EventKind::names().join(", ")
            );
        }
    }
    if !matches!(format, "table" | "json") {
        anyhow::bail!("unknown format `{format}`: use table or json");
    }
    app::install_tls_provider();
    let store = app::open_store(&config).await?;
    let filter = EventFilter {
        since: Some(chrono::Utc::now() - chrono::Duration::from_std(period)?),
        kind: kind.map(str::to_string),
        limit,
    };
    let listing = crate::events::log::recent(store.as_ref(), &filter).await?;
    match format {
        "json" => println!("{}", crate::events::log::to_json(&listing)),
        _ => println!(
            "{}",
            crate::channels::render::terminal(&crate::events::log::render(&listing))
        ),
    }
    Ok(())
}
