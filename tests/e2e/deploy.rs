//! The files in `deploy/`, checked by what runs here: the compose file parses and its
//! services are the ones README describes, with the environment README names; the
//! Dockerfile builds in two stages and runs unprivileged with a health check; the systemd
//! unit passes `systemd-analyze verify` (where systemd is installed) and is hardened.

use std::collections::BTreeSet;
use std::path::Path;

fn read(path: &str) -> String {
    let full = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{}: {e}", full.display()))
}

/// `VAR` names in `text` written as environment variables (upper case with `_`).
fn variables(text: &str) -> BTreeSet<String> {
    text.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_'))
        .filter(|w| {
            w.len() > 3 && w.contains('_') && w.starts_with(|c: char| c.is_ascii_uppercase())
        })
        .map(str::to_string)
        .collect()
}

#[test]
fn the_compose_file_runs_two_replicas_on_postgres_with_readmes_variables() {
    let compose: serde_json::Value =
        serde_saphyr::from_str(&read("deploy/docker-compose.yml")).expect("compose is YAML");
    let services = compose["services"].as_object().expect("services");
    let names: Vec<&str> = services.keys().map(String::as_str).collect();
    assert_eq!(names, ["db", "fanops-1", "fanops-2"]);
    for replica in ["fanops-1", "fanops-2"] {
        let service = &services[replica];
        let url = service["environment"]["DATABASE_URL"]
            .as_str()
            .unwrap_or_default();
        assert!(url.starts_with("postgres://"), "{replica}: {service}");
        assert_eq!(
            service["depends_on"]["db"]["condition"], "service_healthy",
            "{replica}"
        );
        assert_eq!(
            service["stop_grace_period"], "40s",
            "{replica}: longer than the 30 s grace"
        );
        assert_eq!(service["env_file"], "../fanops.env", "{replica}");
    }
    // Every variable the env file offers is one README documents, and every secret
    // README lists is offered.
    let readme = variables(&read("README.md"));
    let offered = variables(&read("deploy/fanops.env.example"));
    let unknown: Vec<&String> = offered
        .iter()
        .filter(|v| !readme.contains(*v) && *v != "POSTGRES_PASSWORD")
        .collect();
    assert!(unknown.is_empty(), "not in README: {unknown:?}");
    for secret in [
        "ONLYFANSAPI_API_KEY",
        "OPENAI_API_KEY",
        "TELEGRAM_BOT_TOKEN",
        "SLACK_BOT_TOKEN",
        "SLACK_APP_TOKEN",
        "SLACK_SIGNING_SECRET",
        "DISCORD_BOT_TOKEN",
        "FANOPS_DASHBOARD_TOKEN",
    ] {
        assert!(
            offered.contains(secret),
            "{secret} in deploy/fanops.env.example"
        );
        assert!(readme.contains(secret), "{secret} in README");
    }
}

#[test]
fn the_dockerfile_builds_in_two_stages_and_runs_unprivileged_with_a_health_check() {
    let text = read("deploy/Dockerfile");
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect();
    let starting = |word: &str| lines.iter().filter(|l| l.starts_with(word)).count();
    assert_eq!(starting("FROM "), 2, "a build stage and a slim runtime");
    assert!(
        lines.iter().any(|l| l.starts_with("FROM rust:1.95")),
        "the pinned toolchain"
    );
    let user = lines
        .iter()
        .find(|l| l.starts_with("USER "))
        .expect("a USER");
    assert!(!user.contains("root"), "{user}");
    let health = text.find("HEALTHCHECK").expect("a HEALTHCHECK");
    assert!(text[health..].contains("/healthz"));
    assert!(text.contains("EXPOSE 8080") && text.contains("FANOPS_LISTEN=0.0.0.0:8080"));
    assert!(text.contains("cargo build --release --locked"));
    assert!(text.contains("STOPSIGNAL SIGTERM"));
}

#[test]
fn the_systemd_unit_is_hardened_and_verifies() {
    let unit = read("deploy/systemd/fanops.service");
    for setting in [
        "DynamicUser=yes",
        "ProtectSystem=strict",
        "StateDirectory=fanops",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "TimeoutStopSec=40",
        "ExecStart=/usr/local/bin/fanops run",
    ] {
        assert!(unit.lines().any(|l| l == setting), "{setting}");
    }
    let Ok(analyze) = which("systemd-analyze") else {
        println!("skipped: systemd-analyze is not installed here");
        return;
    };
    // Verified with the binary this test runs, where the unit expects the installed one.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("fanops.service");
    std::fs::write(
        &path,
        unit.replace("/usr/local/bin/fanops", env!("CARGO_BIN_EXE_fanops")),
    )
    .unwrap();
    let out = std::process::Command::new(analyze)
        .arg("verify")
        .arg(&path)
        .output()
        .unwrap();
    let said =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{said}");
    assert!(
        !said.contains("fanops.service"),
        "no warning about the unit: {said}"
    );
}

fn which(name: &str) -> Result<std::path::PathBuf, ()> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
        .ok_or(())
}
