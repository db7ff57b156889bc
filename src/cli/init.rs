//! `fanops init`: writes a first `fanops.toml` from a few answers — the team's time zone,
//! the model provider and model, each chat platform the team uses and its first admin —
//! asked one at a time with defaults (inquire), or taken from flags with
//! `--non-interactive`. The file never holds a secret: the `export` lines to set are
//! printed instead. What it writes is loaded as `fanops check` would before it is saved.

use crate::config::{Config, ConfigSource, PlatformConfig, Setup};
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::Path;

/// What `fanops init` was given on its command line.
#[derive(Debug, Default)]
pub struct InitArgs {
    pub non_interactive: bool,
    pub force: bool,
    pub timezone: Option<String>,
    pub provider: Option<String>,
    pub model: Option<String>,
    /// Platforms by name.
    pub platforms: Vec<String>,
    /// `<platform>.<key>=VALUE`.
    pub answers: Vec<String>,
}

/// A model provider `init` knows how to write.
struct Provider {
    name: &'static str,
    title: &'static str,
    base_url: &'static str,
    key_var: &'static str,
    model: &'static str,
    /// US dollars per million tokens: input, output, cached input.
    prices: (f64, f64, f64),
}

const PROVIDERS: &[Provider] = &[
    Provider {
        name: "openai",
        title: "OpenAI",
        base_url: "https://api.openai.com/v1",
        key_var: "OPENAI_API_KEY",
        model: "gpt-4.1-mini",
        prices: (0.40, 1.60, 0.10),
    },
    Provider {
        name: "openrouter",
        title: "OpenRouter (any model, one key)",
        base_url: "https://openrouter.ai/api/v1",
        key_var: "OPENROUTER_API_KEY",
        model: "openai/gpt-4.1-mini",
        prices: (0.40, 1.60, 0.10),
    },
];

/// The answers `init` writes a file from.
struct Plan {
    timezone: String,
    provider: &'static Provider,
    model: String,
    platforms: Vec<(&'static dyn PlatformConfig, BTreeMap<String, String>)>,
}

/// Asks (or reads the flags), writes `path`, and prints what to export and run next.
pub fn run(
    path: &Path,
    args: InitArgs,
    registry: &[&'static dyn PlatformConfig],
) -> anyhow::Result<()> {
    if path.exists() && !args.force {
        bail!(
            "{} already exists; nothing was written. Pass --force to replace it, or --config to write another file",
            path.display()
        );
    }
    let plan = match args.non_interactive {
        true => from_flags(&args, registry)?,
        false => ask(&args, registry)?,
    };
    let text = render(&plan);
    accepted(path, &text, registry)?;
    std::fs::write(path, &text).with_context(|| format!("while writing {}", path.display()))?;
    println!("Wrote {}.", path.display());
    println!("{}", next_steps(&plan, path));
    Ok(())
}

/// The plan from `--timezone`, `--provider`, `--model`, `--platform` and `--answer`.
fn from_flags(args: &InitArgs, registry: &[&'static dyn PlatformConfig]) -> anyhow::Result<Plan> {
    let timezone = args.timezone.clone().unwrap_or_else(|| "UTC".into());
    check_zone(&timezone).map_err(anyhow::Error::msg)?;
    let provider = provider(args.provider.as_deref().unwrap_or("openai"))?;
    let model = args.model.clone().unwrap_or_else(|| provider.model.into());
    let given = answers(&args.answers)?;
    let mut platforms = Vec::new();
    for name in &args.platforms {
        let platform = platform(name, registry)?;
        let setup = setup_of(platform)?;
        let mut answers = BTreeMap::new();
        for q in setup.questions {
            let answer = given
                .get(&(name.clone(), q.key.to_string()))
                .cloned()
                .unwrap_or_else(|| q.default.to_string());
            if q.required && answer.is_empty() {
                bail!(
                    "{} needs --answer {name}.{}=…: {}",
                    platform.title(),
                    q.key,
                    q.ask
                );
            }
            (q.check)(&answer).map_err(|e| anyhow::anyhow!("--answer {name}.{}: {e}", q.key))?;
            answers.insert(q.key.to_string(), answer);
        }
        platforms.push((platform, answers));
    }
    if let Some(((name, key), _)) = given
        .iter()
        .find(|((name, _), _)| !args.platforms.contains(name))
    {
        bail!("--answer {name}.{key} names a platform not given with --platform {name}");
    }
    Ok(Plan {
        timezone,
        provider,
        model,
        platforms,
    })
}

/// The plan from questions on the terminal, one at a time, each with its default.
fn ask(args: &InitArgs, registry: &[&'static dyn PlatformConfig]) -> anyhow::Result<Plan> {
    use inquire::{validator::Validation, MultiSelect, Select, Text};
    let validator = |check: fn(&str) -> Result<(), String>| {
        move |text: &str| {
            Ok(match check(text.trim()) {
                Ok(()) => Validation::Valid,
                Err(e) => Validation::Invalid(e.into()),
            })
        }
    };
    let timezone = Text::new("The team's time zone (an IANA name):")
        .with_default(args.timezone.as_deref().unwrap_or("UTC"))
        .with_validator(validator(check_zone))
        .prompt()?;
    let titles: Vec<&str> = PROVIDERS.iter().map(|p| p.title).collect();
    let chosen = Select::new("The model provider:", titles).prompt()?;
    let provider = PROVIDERS
        .iter()
        .find(|p| p.title == chosen)
        .expect("one of the list");
    let model = Text::new("The model id:")
        .with_default(provider.model)
        .prompt()?;
    let offered: Vec<&'static dyn PlatformConfig> = registry
        .iter()
        .copied()
        .filter(|p| p.setup().is_some() && p.unbuilt().is_none())
        .collect();
    let names: Vec<&str> = offered.iter().map(|p| p.title()).collect();
    let picked =
        MultiSelect::new("The chat platforms your team uses (space to pick):", names).prompt()?;
    let mut platforms = Vec::new();
    for platform in offered.into_iter().filter(|p| picked.contains(&p.title())) {
        let setup = setup_of(platform)?;
        let mut answers = BTreeMap::new();
        for q in setup.questions {
            let asked = format!("{}: {}", platform.title(), q.ask);
            let mut prompt = Text::new(&asked).with_validator(validator(q.check));
            if !q.default.is_empty() {
                prompt = prompt.with_default(q.default);
            }
            let required = q.required;
            prompt = prompt.with_validator(move |text: &str| {
                Ok(match required && text.trim().is_empty() {
                    true => Validation::Invalid("an answer is needed".into()),
                    false => Validation::Valid,
                })
            });
            answers.insert(q.key.to_string(), prompt.prompt()?.trim().to_string());
        }
        platforms.push((platform, answers));
    }
    Ok(Plan {
        timezone: timezone.trim().to_string(),
        provider,
        model: model.trim().to_string(),
        platforms,
    })
}

fn check_zone(text: &str) -> Result<(), String> {
    text.parse::<chrono_tz::Tz>()
        .map(|_| ())
        .map_err(|_| format!("`{text}` is not a time zone: use an IANA name such as Europe/London"))
}

fn provider(name: &str) -> anyhow::Result<&'static Provider> {
    PROVIDERS.iter().find(|p| p.name == name).ok_or_else(|| {
        let known: Vec<&str> = PROVIDERS.iter().map(|p| p.name).collect();
        anyhow::anyhow!(
            "--provider {name} is not one init writes: use {}",
            known.join(" or ")
        )
    })
}

fn platform(
    name: &str,
    registry: &[&'static dyn PlatformConfig],
) -> anyhow::Result<&'static dyn PlatformConfig> {
    registry
        .iter()
        .copied()
        .find(|p| p.name() == name && p.unbuilt().is_none())
        .ok_or_else(|| {
            let known: Vec<&str> = registry
                .iter()
                .filter(|p| p.unbuilt().is_none())
                .map(|p| p.name())
                .collect();
            anyhow::anyhow!(
                "--platform {name} is not a platform this build runs: use {}",
                known.join(", ")
            )
        })
}

fn setup_of(platform: &dyn PlatformConfig) -> anyhow::Result<&'static Setup> {
    platform
        .setup()
        .with_context(|| format!("{} cannot be set up by init yet", platform.title()))
}

/// `<platform>.admin=123` → ((<platform>, admin), 123).
fn answers(given: &[String]) -> anyhow::Result<BTreeMap<(String, String), String>> {
    let mut out = BTreeMap::new();
    for answer in given {
        let parsed = answer.split_once('=').and_then(|(name, value)| {
            let (platform, key) = name.split_once('.')?;
            Some((
                (platform.to_string(), key.to_string()),
                value.trim().to_string(),
            ))
        });
        let Some((key, value)) = parsed else {
            bail!(
                "--answer {answer} must be <platform>.<key>=<value>, e.g. <platform>.admin=<their id>"
            );
        };
        out.insert(key, value);
    }
    Ok(out)
}

/// The commented file.
fn render(plan: &Plan) -> String {
    let p = plan.provider;
    let quoted = crate::config::setup::quoted;
    let mut text = format!(
        "# fanops.toml, written by `fanops init`. Secrets are never kept here: they are read
# from the environment. `fanops check` checks this file; fanops.example.toml and the
# README explain every key.

timezone = {}   # the team's zone: \"today\", \"this week\" and schedules use it

[database]
url = \"sqlite://fanops.db\"   # or postgres://… to share one database between replicas

[llm]
default_model = {model}

[llm.providers.{name}]
base_url = {}
api_key_env = \"{key}\"

[llm.models.{model}]
provider = \"{name}\"
id = {model}
usd_per_mtok_input = {:.2}   # prices in US dollars per million tokens: check the provider's
usd_per_mtok_output = {:.2}
usd_per_mtok_cached_input = {:.2}
# vision = true   # when the model reads images: screenshots people send then go to it
# Voice notes need a transcription model: see [llm.transcription] in the README.
",
        quoted(&plan.timezone),
        quoted(p.base_url),
        p.prices.0,
        p.prices.1,
        p.prices.2,
        model = quoted(&plan.model),
        name = p.name,
        key = p.key_var,
    );
    for (platform, answers) in &plan.platforms {
        let setup = platform
            .setup()
            .expect("only platforms with a set-up are planned");
        let answer = |key: &str| answers.get(key).cloned().unwrap_or_default();
        text.push('\n');
        text.push_str(&(setup.section)(&answer));
    }
    if plan.platforms.is_empty() {
        text.push_str("\n# No chat platform yet: run `fanops chat` to talk to it in this terminal,\n# or add a [channels.<platform>] section (README, \"Set up\").\n");
    }
    text
}

/// The file loads as `fanops check` would load it (secrets aside).
fn accepted(
    path: &Path,
    text: &str,
    registry: &[&'static dyn PlatformConfig],
) -> anyhow::Result<()> {
    let source = ConfigSource::Text {
        origin: path.display().to_string(),
        text: text.to_string(),
    };
    Config::load_with_env(source, &|_| None, registry)
        .map(|_| ())
        .map_err(|e| {
            anyhow::anyhow!("the file init would write does not check; nothing was written:\n{e}")
        })
}

/// The `export` lines and the next commands.
fn next_steps(plan: &Plan, path: &Path) -> String {
    let mut lines = vec![
        String::new(),
        "Set the secrets in the environment (never in the file):".to_string(),
        "  export ONLYFANSAPI_API_KEY=…   # app.onlyfansapi.com → API keys".to_string(),
        format!(
            "  export {}=…   # your {} key",
            plan.provider.key_var, plan.provider.title
        ),
    ];
    for (platform, answers) in &plan.platforms {
        let setup = platform
            .setup()
            .expect("only platforms with a set-up are planned");
        let answer = |key: &str| answers.get(key).cloned().unwrap_or_default();
        for (var, what) in (setup.secrets)(&answer) {
            lines.push(format!("  export {var}=…   # {}: {what}", platform.title()));
        }
    }
    lines.push(String::new());
    let config = match path == Path::new("fanops.toml") {
        true => String::new(),
        false => format!(" --config {}", path.display()),
    };
    lines.push(format!(
        "Then: fanops check{config} && fanops doctor{config} && fanops run{config}"
    ));
    lines.push(
        "(`fanops doctor` asks each service whether the keys and tokens work, one line each.)"
            .to_string(),
    );
    for (platform, _) in &plan.platforms {
        if let Some(setup) = platform.setup() {
            lines.push(format!("{}: {}", platform.title(), setup.next));
        }
    }
    lines.join("\n")
}
