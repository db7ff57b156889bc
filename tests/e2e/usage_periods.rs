//! Usage for any period: one longer than the ledger starts at its first row (chart and
//! table agree), one beyond 100 years is refused with a sentence, on the command line and
//! the operations page alike; periods of one read in the singular, and the credits axis
//! has one number format.

use crate::budgets::charge;
use crate::helpers::{build_app, fanops, DASHBOARD_TOKEN};
use crate::support::{config_text, FakeModel, FakeOnlyFans};
use fanops::store::UsageDimension;
use fanops::usage::{chart, Period};
use tokio_util::sync::CancellationToken;

struct Ledger {
    model: FakeModel,
    api: FakeOnlyFans,
    dir: tempfile::TempDir,
    config: std::path::PathBuf,
    db: String,
}

/// A database with 3.36 credits spent today, and a config file pointing at it.
async fn ledger() -> Ledger {
    let (model, api) = (FakeModel::start().await, FakeOnlyFans::start().await);
    let dir = tempfile::tempdir().unwrap();
    let db = format!("sqlite://{}", dir.path().join("fanops.db").display());
    let config = dir.path().join("fanops.toml");
    let text = config_text(
        &model.url(),
        &api.url(),
        &db,
        "[server]\ndashboard = true\n",
    );
    std::fs::write(&config, text).unwrap();
    let store = fanops::store::connect(&db).await.unwrap();
    store.migrate().await.unwrap();
    charge(&store, "1", 1.12).await;
    charge(&store, "2", 2.24).await;
    Ledger {
        model,
        api,
        dir,
        config,
        db,
    }
}

impl Ledger {
    /// `fanops <args>`: (succeeded, stdout, stderr).
    fn run(&self, args: &[&str]) -> (bool, String, String) {
        let out = fanops(args, &self.config, self.dir.path())
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

#[tokio::test]
async fn a_century_long_period_charts_what_the_table_sums() {
    let ledger = ledger().await;
    let png = ledger.dir.path().join("usage.png");
    let (ok, said, err) = ledger.run(&[
        "usage",
        "--period",
        "36500d",
        "--chart",
        png.to_str().unwrap(),
    ]);
    assert!(ok, "{said}{err}");
    assert!(said.contains("3.36 credits in all"), "{said}");
    assert!(said.contains("(the ledger starts "), "{said}");
    let (ok, table, err) = ledger.run(&["usage", "--period", "36500d"]);
    assert!(ok, "{err}");
    assert!(table.contains("3.36"), "{table}");

    // The chart's bars run from the ledger's first day, not from 1926.
    let store = fanops::store::connect(&ledger.db).await.unwrap();
    let now = chrono::Utc::now();
    let series = chart::series(
        store.as_ref(),
        Period::Days(36_500),
        UsageDimension::User,
        now,
    )
    .await
    .unwrap();
    assert_eq!(series.labels, [now.format("%-d %b").to_string()]);
    assert!((series.total() - 3.36).abs() < 1e-9);
    let labels = chart::y_axis(&series).labels();
    assert_eq!(
        labels,
        ["0.00", "1.00", "2.00", "3.00", "4.00"],
        "one format on every label of the credits axis"
    );

    let (ok, _, err) = ledger.run(&["usage", "--period", "99999d", "--chart", "x.png"]);
    assert!(!ok);
    assert!(
        err.contains("the period `99999d` reaches back more than 100 years: use at most 36500d, 1200m or 100y, or `all` for the whole ledger"),
        "{err}"
    );
    let (ok, table, err) = ledger.run(&["usage", "--period", "1y"]);
    assert!(ok, "{err}");
    assert!(table.starts_with("Usage, last year:"), "{table}");
}

#[tokio::test]
async fn the_page_refuses_a_period_beyond_a_century_and_charts_a_long_one() {
    let ledger = ledger().await;
    let text = std::fs::read_to_string(&ledger.config).unwrap();
    let (app, _) = build_app("periods.toml", text, false).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let shutdown = CancellationToken::new();
    let server = tokio::spawn(app.serve(listener, shutdown.clone()));
    fanops::app::install_tls_provider();
    let http = reqwest::Client::new();
    let get = |path: &str| {
        http.get(format!("{base}{path}"))
            .bearer_auth(DASHBOARD_TOKEN)
            .send()
    };

    let absurd = get("/usage.png?period=99999d").await.unwrap();
    assert_eq!(absurd.status(), 400);
    assert!(absurd
        .text()
        .await
        .unwrap()
        .contains("reaches back more than 100 years"));
    assert_eq!(get("/?period=99999d").await.unwrap().status(), 400);
    let long = get("/usage.png?period=36500d&by=user").await.unwrap();
    assert_eq!(long.status(), 200);
    assert_eq!(&long.bytes().await.unwrap()[1..4], b"PNG");
    let page = get("/?period=1y").await.unwrap().text().await.unwrap();
    assert!(
        page.contains("Usage — last year"),
        "the heading is singular"
    );

    shutdown.cancel();
    server.await.unwrap().unwrap();
    drop((ledger.model, ledger.api));
}
