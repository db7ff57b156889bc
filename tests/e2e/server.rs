//! `fanops run`'s HTTP surface and the usage report, through the real binary.

use crate::helpers::spawn_app;
use crate::support::Reply;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[tokio::test]
async fn health_readiness_and_metrics_are_served() {
    let t = spawn_app().await;
    t.model.push(Reply::Text("hi".into()));
    t.say("hello").await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(t.app.serve(listener, shutdown.clone()));
    let http = reqwest::Client::new();
    assert_eq!(
        http.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    // Ready once the scheduler has ticked (a moment after serving starts).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let ready = loop {
        let ready = http.get(format!("{base}/readyz")).send().await.unwrap();
        if ready.status() == 200 || std::time::Instant::now() > deadline {
            break ready;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    };
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["store"]["backend"], "sqlite");
    let metrics = http
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(metrics.contains("fanops_ready"), "{metrics}");
    assert!(metrics.contains("fanops_messages_total"), "{metrics}");
    shutdown.cancel();
    server.await.unwrap().unwrap();
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test]
async fn fanops_run_starts_on_sqlite_from_environment_alone_and_usage_reads_the_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let db = format!("sqlite://{}", dir.path().join("run.db").display());
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .arg("run")
        .current_dir(dir.path())
        .env("DATABASE_URL", &db)
        .env("FANOPS_LISTEN", format!("127.0.0.1:{port}"))
        .env_remove("FANOPS_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    fanops::app::install_tls_provider();
    let started = Instant::now();
    let url = format!("http://127.0.0.1:{port}/readyz");
    let mut ready = false;
    // Until the first 200: a part that has not reported yet (the scheduler before its
    // first tick, on a loaded machine) answers 503 for a moment.
    while started.elapsed() < Duration::from_secs(20) {
        if let Ok(r) = reqwest::get(&url).await {
            if r.status() == 200 {
                ready = true;
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(ready, "fanops run became ready");
    assert!(
        dir.path().join("run.db").exists(),
        "the SQLite file was created on first start"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .args([
            "usage", "--period", "7d", "--by", "kind", "--format", "json",
        ])
        .current_dir(dir.path())
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["by"], "kind");
    assert_eq!(report["rows"], serde_json::json!([]));

    let bad = Command::new(env!("CARGO_BIN_EXE_fanops"))
        .args(["usage", "--period", "fortnight"])
        .current_dir(dir.path())
        .env("DATABASE_URL", &db)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("unknown period `fortnight`"));
}
