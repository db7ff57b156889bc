//! The token estimate measured against exact o200k counts (tiktoken-rs, a
//! dev-dependency) over the kinds of text fanops sends: English prose, JSON tool results
//! (pretty and compact), catalog entries like the tool schemas, the system prompt,
//! workflow prompts, text in other scripts with emoji, and machine strings.
//!
//! The bounds it keeps, per text: never more than 5% under the exact count, and at
//! most twice it (plus 2, for texts of a word or two). Over the whole corpus: between
//! 1.0 and 1.5 times the exact total. `cargo test calibration -- --nocapture` prints
//! every ratio.

use super::count_tokens;
use crate::agent::prompt::{system_prompt, PromptFacts};
use crate::onlyfans::accounts::Account;
use chrono::TimeZone;
use std::path::Path;

/// Fans and creators write in every language, with emoji.
const OTHER_SCRIPTS: &[&str] = &[
    "Привет! Спасибо за подписку 😘 Сегодня вечером будет новый пост, не пропусти. Сколько мы заработали на этой неделе?",
    "¡Hola, cariño! ¿Cómo estás? Gracias por la propina de 50 $, me alegraste el día. Mañana subo fotos nuevas.",
    "Wie viel haben wir diese Woche verdient? Bitte schick mir eine Übersicht über die größten Trinkgelder.",
    "你好！这周我们赚了多少钱？请按账户列出收入，并告诉我哪个粉丝打赏最多。",
    "今週の売上を教えてください。チップが一番多かったファンは誰ですか？",
    "مرحبا! كم ربحنا هذا الأسبوع؟ من هم أكثر المعجبين إنفاقا؟",
    "이번 주 수익이 얼마인가요? 가장 많이 팁을 준 팬을 알려주세요.",
    "omg babe 😍😍🔥🔥 you look amazing 💋💋 tip incoming 💸💸💸 👩‍❤️‍👨 🏳️‍🌈 ❤️❤️",
    "इस हफ्ते हमने कितना कमाया? सबसे ज़्यादा टिप देने वाले फैन कौन हैं?",
    "สัปดาห์นี้เราได้เงินเท่าไหร่ แฟนคนไหนให้ทิปมากที่สุด",
    "Γεια σου! Πόσα κερδίσαμε αυτή την εβδομάδα;",
    "Merhaba! Bu hafta ne kadar kazandık? En çok bahşiş veren hayranlar kimler?",
    "Cześć! Ile zarobiliśmy w tym tygodniu? Którzy fani dali najwięcej napiwków?",
];

/// Ids, hashes, tokens and URLs as they appear inside API results.
const MACHINE: &[&str] = &[
    "acct_8f3k2j1h0g9f8e7d",
    "550e8400-e29b-41d4-a716-446655440000",
    "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
    "https://public.onlyfans.com/files/thumbs/c144/l/lq/lqy/lqyhm4oyp8dxsqdr0ihipchk5xwr4e1d1605799853/avatar.jpg",
    "https://app.onlyfansapi.com/api/acct_8f3k2j1h0g9f8e7d/statistics/statements/earnings?start_date=2025-06-01&end_date=2025-06-07",
    r#"{"start_date":"2025-06-01","end_date":"2025-06-07"}"#,
];

/// Short texts a conversation is full of.
const SHORT: &[&str] = &[
    "How much did we earn this week?",
    "hi",
    "/usage",
    "You earned $1,912.40 across 2 accounts.",
    "Cancelled by user1; nothing was changed.",
    "NOTE: PPV MESSAGE SENT TO ALL ACTIVE SUBSCRIBERS",
    "| account | net | gross |\n|---|---:|---:|\n| Luna Star | $1,912.40 | $2,390.50 |\n| Mia Rose | $845.10 | $1,056.38 |",
];

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn files(dir: &Path, extension: &str) -> Vec<std::path::PathBuf> {
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|entry| entry.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == extension))
        .collect();
    paths.sort();
    paths
}

fn corpus() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut texts = vec![
        ("README.md".to_string(), read(&root.join("README.md"))),
        (
            "data/README.md".to_string(),
            read(&root.join("data/README.md")),
        ),
    ];
    for path in files(&root.join("tests/e2e/support/fixtures"), "json") {
        let pretty = read(&path);
        let json: serde_json::Value = serde_json::from_str(&pretty).expect("fixture is JSON");
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        texts.push((format!("{name} (compact)"), json.to_string()));
        texts.push((format!("{name} (pretty)"), pretty));
    }
    let catalog: serde_json::Value =
        serde_json::from_str(&read(&root.join("data/onlyfansapi-catalog.json"))).unwrap();
    for endpoint in catalog["endpoints"].as_array().unwrap().iter().step_by(40) {
        texts.push((format!("catalog {}", endpoint["id"]), endpoint.to_string()));
    }
    texts.push(("the whole catalog".into(), catalog.to_string()));
    for path in files(&root.join("workflows"), "toml") {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        texts.push((name, read(&path)));
    }
    texts.push(("system prompt".into(), system_prompt_text()));
    let samples = OTHER_SCRIPTS.iter().chain(MACHINE).chain(SHORT);
    texts.extend(samples.map(|t| (t.chars().take(24).collect(), t.to_string())));
    texts
}

fn system_prompt_text() -> String {
    let accounts = [
        Account {
            id: "acct_8f3k2j1h0g9f8e7d".into(),
            username: "lunastar".into(),
            display_name: "Luna Star".into(),
            is_authenticated: true,
        },
        Account {
            id: "acct_2b7c9d1e4f6a8b0c".into(),
            username: "miarose".into(),
            display_name: "Mia Rose 🌹".into(),
            is_authenticated: false,
        },
    ];
    system_prompt(&PromptFacts {
        now: chrono::Utc.with_ymd_and_hms(2026, 3, 4, 9, 30, 0).unwrap(),
        tz: chrono_tz::Europe::London,
        platform: "chat",
        accounts: Ok(&accounts),
        unattended: false,
        notes: "",
    })
}

#[test]
fn the_estimate_errs_high_but_not_wildly() {
    let bpe = tiktoken_rs::o200k_base().expect("o200k tables");
    let (mut exact_total, mut estimate_total) = (0u64, 0u64);
    let mut failures = Vec::new();
    for (name, text) in corpus() {
        let exact = bpe.encode_ordinary(&text).len() as u64;
        let estimate = u64::from(count_tokens(&text));
        println!(
            "{:5.2}  exact {exact:6}  estimate {estimate:6}  {name}",
            estimate as f64 / exact.max(1) as f64
        );
        if (estimate as f64) < exact as f64 * 0.95 {
            failures.push(format!("{name}: {estimate} is more than 5% under {exact}"));
        }
        if estimate > exact * 2 + 2 {
            failures.push(format!("{name}: {estimate} is over twice {exact}"));
        }
        exact_total += exact;
        estimate_total += estimate;
    }
    let ratio = estimate_total as f64 / exact_total as f64;
    println!("whole corpus: {ratio:.2} ({estimate_total} for {exact_total})");
    assert!(failures.is_empty(), "{failures:#?}");
    assert!(
        (1.0..=1.5).contains(&ratio),
        "whole corpus ratio {ratio:.2}"
    );
}
