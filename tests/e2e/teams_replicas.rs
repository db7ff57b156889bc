//! Microsoft Teams across processes: replicas sharing a database answer an activity once,
//! SIGTERM lets the turn in flight finish while new activities are refused for the Bot
//! Framework to deliver again, and after kill -9 the claimed activity is answered once by
//! the next start.

use crate::support::{
    last_user_text, send_activity, FakeModel, FakeOnlyFans, FakeTeams, Reply, Signer,
    TEAMS_APP_PASSWORD,
};
use crate::teams::{config, OPERATOR, OPERATOR_CHAT, WAIT};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn replicas_sharing_a_database_answer_an_activity_once() {
    let (teams, model, api) = (
        FakeTeams::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let text = config(&teams, &model, &api, &db, "");
    let shutdown = CancellationToken::new();
    let (mut urls, mut servers) = (Vec::new(), Vec::new());
    for n in 0..2 {
        let (app, _) =
            crate::helpers::build_app(&format!("replica{n}.toml"), text.clone(), false).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        urls.push(format!(
            "http://{}/teams/messages",
            listener.local_addr().unwrap()
        ));
        servers.push(tokio::spawn(app.serve(listener, shutdown.clone())));
    }
    assert!(
        teams
            .wait_for(|t| t.token_requests().len() == 2, WAIT)
            .await
    );
    model.push(Reply::Text("answered by one".into()));
    let activity = teams.personal(OPERATOR, OPERATOR_CHAT, "r-1", "which replica?");
    let token = Signer::good(&teams.service_url());
    for url in &urls {
        // A replica still starting says 503, and the Bot Framework tries again.
        let until = tokio::time::Instant::now() + WAIT;
        loop {
            let status = send_activity(url, &activity, Some(&token)).await.status();
            if status == 200 {
                break;
            }
            assert_eq!(status, 503);
            assert!(tokio::time::Instant::now() < until);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    assert!(
        teams
            .wait_text(OPERATOR_CHAT, "answered by one", WAIT)
            .await
    );
    // Another message after it, answered too: the duplicate had its chance by then.
    model.push(Reply::Text("second".into()));
    let next = teams.personal(OPERATOR, OPERATOR_CHAT, "r-2", "next");
    assert_eq!(
        send_activity(&urls[1], &next, Some(&token)).await.status(),
        200
    );
    assert!(teams.wait_text(OPERATOR_CHAT, "second", WAIT).await);
    assert_eq!(model.request_count(), 2);
    assert_eq!(teams.texts(OPERATOR_CHAT), ["answered by one", "second"]);
    shutdown.cancel();
    for server in servers {
        server.await.unwrap().unwrap();
    }
}

/// One `fanops run` child process, killed however the test ends.
struct Process {
    child: Child,
    log: PathBuf,
}

impl Process {
    fn start(config: &Path, dir: &Path, name: &str) -> Process {
        let log = dir.join(format!("{name}.log"));
        let child = crate::helpers::fanops(&["run"], config, dir)
            .env("TEAMS_APP_PASSWORD", TEAMS_APP_PASSWORD)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Process { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Setup {
    teams: FakeTeams,
    model: FakeModel,
    _api: FakeOnlyFans,
    path: PathBuf,
    url: String,
    dir: tempfile::TempDir,
}

async fn setup() -> Setup {
    fanops::app::install_tls_provider();
    let (teams, model, api) = (
        FakeTeams::start().await,
        FakeModel::start().await,
        FakeOnlyFans::start().await,
    );
    model.respond_with(|request| Reply::Text(format!("Answer: {}", last_user_text(request))));
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let server = format!("[server]\nlisten = \"127.0.0.1:{port}\"\nshutdown_grace = \"30s\"\n");
    let text = config(&teams, &model, &api, &db, &server);
    let path = dir.path().join("fanops.toml");
    std::fs::write(&path, text).unwrap();
    Setup {
        teams,
        model,
        _api: api,
        path,
        url: format!("http://127.0.0.1:{port}/teams/messages"),
        dir,
    }
}

impl Setup {
    /// Sends `activity` until the process takes it (200), up to [`WAIT`].
    async fn deliver(&self, activity: &serde_json::Value, process: &Process) {
        let token = Signer::good(&self.teams.service_url());
        let until = tokio::time::Instant::now() + WAIT * 3;
        loop {
            let client = reqwest::Client::new().post(&self.url).json(activity);
            if let Ok(answer) = client.bearer_auth(&token).send().await {
                if answer.status() == 200 {
                    return;
                }
            }
            assert!(
                tokio::time::Instant::now() < until,
                "never taken; log:\n{}",
                process.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    fn answers(&self, question: &str) -> usize {
        let answer = format!("Answer: {question}");
        self.teams
            .texts(OPERATOR_CHAT)
            .iter()
            .filter(|t| t.contains(&answer))
            .count()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_kill_9_the_claimed_activity_is_answered_once_at_the_next_start() {
    let s = setup().await;
    let first = Process::start(&s.path, s.dir.path(), "first");
    s.model.set_delay(Duration::from_secs(60));
    let activity = s
        .teams
        .personal(OPERATOR, OPERATOR_CHAT, "k-1", "question one");
    s.deliver(&activity, &first).await;
    let asked = s
        .teams
        .wait_for(|_| s.model.request_count() >= 1, WAIT * 2)
        .await;
    assert!(asked, "the turn is in flight; log:\n{}", first.log());
    let mut first = first;
    first.child.kill().unwrap();
    first.child.wait().unwrap();
    assert_eq!(s.answers("question one"), 0);

    s.model.set_delay(Duration::ZERO);
    let second = Process::start(&s.path, s.dir.path(), "second");
    let answered = s
        .teams
        .wait_for(|_| s.answers("question one") == 1, Duration::from_secs(60))
        .await;
    assert!(
        answered,
        "answered after the restart; log:\n{}",
        second.log()
    );
    // The activity delivered again after the restart is not answered again.
    s.deliver(&activity, &second).await;
    let next = s
        .teams
        .personal(OPERATOR, OPERATOR_CHAT, "k-2", "question two");
    s.deliver(&next, &second).await;
    let later = s
        .teams
        .wait_for(|_| s.answers("question two") == 1, WAIT)
        .await;
    assert!(later, "log:\n{}", second.log());
    assert_eq!(s.answers("question one"), 1, "log:\n{}", second.log());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_finishes_the_turn_in_flight_and_refuses_new_activities_for_later() {
    let s = setup().await;
    let mut first = Process::start(&s.path, s.dir.path(), "first");
    s.model.set_delay(Duration::from_secs(3));
    let activity = s
        .teams
        .personal(OPERATOR, OPERATOR_CHAT, "t-1", "question one");
    s.deliver(&activity, &first).await;
    let asked = s
        .teams
        .wait_for(|_| s.model.request_count() >= 1, WAIT * 2)
        .await;
    assert!(asked, "log:\n{}", first.log());
    let status = std::process::Command::new("kill")
        .args(["-TERM", &first.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // While it stops, a new activity is not taken (503, or no longer listening): the Bot
    // Framework delivers it again.
    let late = s
        .teams
        .personal(OPERATOR, OPERATOR_CHAT, "t-2", "question two");
    let token = Signer::good(&s.teams.service_url());
    let tried = reqwest::Client::new()
        .post(&s.url)
        .bearer_auth(&token)
        .json(&late)
        .send()
        .await;
    if let Ok(answer) = tried {
        assert_eq!(answer.status(), 503, "log:\n{}", first.log());
    }
    let until = tokio::time::Instant::now() + Duration::from_secs(40);
    while first.child.try_wait().unwrap().is_none() {
        assert!(
            tokio::time::Instant::now() < until,
            "stopped within the grace period; log:\n{}",
            first.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(s.answers("question one"), 1, "log:\n{}", first.log());

    s.model.set_delay(Duration::ZERO);
    let second = Process::start(&s.path, s.dir.path(), "second");
    s.deliver(&late, &second).await;
    let answered = s
        .teams
        .wait_for(|_| s.answers("question two") == 1, WAIT)
        .await;
    assert!(answered, "log:\n{}", second.log());
    assert_eq!(s.answers("question one"), 1);
}
