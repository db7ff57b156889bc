//! Several `fanops run` processes on one PostgreSQL: every fire is delivered exactly once.

use crate::scheduler::fakes;
use crate::support::Reply;
use chrono::{DurationRound, Utc};
use std::process::{Child, Stdio};
use std::time::Duration;

const TASKS: i64 = 6;
const REPLICAS: usize = 3;

/// Kills the processes however the test ends.
struct Replicas(Vec<Child>);

impl Drop for Replicas {
    fn drop(&mut self) {
        for child in &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_processes_on_one_postgres_deliver_each_fire_once() {
    crate::store::in_fresh_postgres("replicas", replicas_deliver_once).await;
}

async fn replicas_deliver_once(db: String) {
    let (tg, model, api, dir) = fakes().await;
    model.respond_with(|_| Reply::Text("Nightly numbers.".into()));

    // Every task fell due two minutes ago, in the same minute. Seeding each task's anchor
    // just before it makes that fire owed (within the 1 h grace) the moment a replica
    // starts, so all of them race for it at once.
    let fire = Utc::now()
        .duration_trunc(chrono::Duration::minutes(1))
        .unwrap()
        - chrono::Duration::minutes(2);
    let workflows = dir.path().join("workflows");
    std::fs::create_dir_all(&workflows).unwrap();
    for i in 1..=TASKS {
        std::fs::write(
            workflows.join(format!("report-{i}.toml")),
            format!(
                "name = \"Report {i}\"\ncategory = \"Reports\"\nprompt = \"Report {i}.\"\n\n[schedule]\ndaily = \"{}\"\ntimezone = \"UTC\"\n\n[deliver]\nchannel = \"telegram\"\nto = \"{}\"\n",
                fire.format("%H:%M"),
                700 + i
            ),
        )
        .unwrap();
    }
    let store = fanops::store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    for i in 1..=TASKS {
        let anchor = fire - chrono::Duration::minutes(1);
        store
            .set_state(
                &fanops::tasks::anchor_key(&format!("report-{i}")),
                &anchor.timestamp_millis().to_string(),
            )
            .await
            .unwrap();
    }

    let config = format!(
        "{}\n[server]\nlisten = \"127.0.0.1:0\"\n\n[scheduler]\nworkflows_dir = \"{}\"\n",
        crate::tasks_from_chat::config(&tg, &model, &api, &db),
        workflows.display()
    );
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, config).unwrap();
    let mut replicas = Replicas(Vec::new());
    for n in 0..REPLICAS {
        let log = std::fs::File::create(dir.path().join(format!("replica-{n}.log"))).unwrap();
        let child = crate::helpers::fanops(&["run"], &path, dir.path())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        replicas.0.push(child);
    }

    let chats: Vec<i64> = (1..=TASKS).map(|i| 700 + i).collect();
    let all_sent = tg
        .wait_for(
            |_| chats.iter().all(|c| !tg.sent_texts(*c).is_empty()),
            Duration::from_secs(60),
        )
        .await;
    // Time for a duplicate to show up, were there one.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let logs = || {
        (0..REPLICAS)
            .map(|n| {
                std::fs::read_to_string(dir.path().join(format!("replica-{n}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n----\n")
    };
    assert!(all_sent, "every task was delivered; logs:\n{}", logs());
    for chat in &chats {
        let sent = tg.sent_texts(*chat);
        assert_eq!(sent.len(), 1, "chat {chat}: {sent:?}");
        assert!(sent[0].contains("Nightly numbers."));
    }
    for child in &mut replicas.0 {
        assert!(
            child.try_wait().unwrap().is_none(),
            "every replica is still running; logs:\n{}",
            logs()
        );
    }
    let claimed: Vec<usize> = logs()
        .split("\n----\n")
        .map(|log| log.matches("fire claimed; running it").count())
        .collect();
    println!("fires run by each replica: {claimed:?}");
    assert_eq!(claimed.iter().sum::<usize>(), TASKS as usize, "{claimed:?}");
    for i in 1..=TASKS {
        let runs = store.recent_runs(&format!("report-{i}"), 10).await.unwrap();
        assert_eq!(runs.len(), 1, "report-{i}");
        assert_eq!(runs[0].scheduled_for, fire);
        assert_eq!(runs[0].status, fanops::store::RunStatus::Succeeded);
        assert!(runs[0].delivered_at.is_some());
    }
}
