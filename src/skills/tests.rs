use super::*;

#[test]
fn the_shipped_skills_and_bundles_load_without_problems() {
    let (library, problems) = Library::load(None);
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(library.skills().count() >= 12);
    for category in CATEGORIES {
        assert!(
            library.skills().any(|s| s.category == *category),
            "no shipped skill in {category}"
        );
    }
    assert!(library.bundles().count() >= 3);
    for skill in library.skills() {
        assert!(!skill.tools.is_empty(), "{} names no tool", skill.name);
        assert!(!skill.body.is_empty());
    }
}

#[test]
fn every_tool_and_endpoint_a_shipped_skill_names_exists() {
    let (library, _) = Library::load(None);
    let catalog = crate::onlyfans::catalog::Catalog::embedded();
    for skill in library.skills() {
        for endpoint in &skill.endpoints {
            assert!(
                catalog.get(endpoint).is_some(),
                "{}: {endpoint}",
                skill.name
            );
            assert!(
                skill.body.contains(&format!("`{endpoint}`")),
                "{} lists `{endpoint}` but its playbook never says when to call it",
                skill.name
            );
        }
        for tool in &skill.tools {
            assert!(
                KNOWN_TOOLS.contains(&tool.as_str()),
                "{}: {tool}",
                skill.name
            );
        }
    }
}

#[test]
fn churn_rescue_never_sends() {
    let (library, _) = Library::load(None);
    let skill = library.get("churn-rescue").unwrap();
    assert!(skill.body.contains("Never send"));
    assert!(!skill.endpoints.iter().any(|e| e.contains("send")));
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::create_dir_all(dir.join(name)).unwrap();
    std::fs::write(dir.join(name).join("SKILL.md"), text).unwrap();
}

#[test]
fn every_broken_skill_file_is_reported_at_its_line() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "bad-one",
        "---\nname: other-name\ndescription: x\ncategory: Cooking\ntools: [make_cake]\nendpoints: [fans/no-such]\ncolour: red\n---\nCall `fans/also-missing`.\n",
    );
    write(dir.path(), "bad-two", "no front matter\n");
    write(
        dir.path(),
        "good-one",
        "---\nname: good-one\ndescription: fine\ncategory: Fans\ntools: [call_endpoint]\nendpoints: [fans/list-top-fans]\n---\nUse `fans/list-top-fans`.\n",
    );
    std::fs::write(
        dir.path().join("bundles.toml"),
        "[bundles.mine]\ntitle = \"t\"\ndescription = \"d\"\nskills = [\"good-one\", \"ghost\"]\n",
    )
    .unwrap();
    let (library, problems) = Library::load(Some(dir.path()));
    let shown: Vec<String> = problems
        .iter()
        .map(|p| {
            let file = Path::new(&p.origin);
            let short = file
                .strip_prefix(dir.path())
                .map(|f| f.display().to_string())
                .unwrap_or(p.origin.clone());
            format!("{short}:{}: {}", p.line, p.message)
        })
        .collect();
    let expect = [
        "bad-one/SKILL.md:2: name `other-name` differs from its folder `bad-one`",
        "bad-one/SKILL.md:4: unknown category `Cooking`",
        "bad-one/SKILL.md:5: `make_cake` is not a fanops tool",
        "bad-one/SKILL.md:6: `fans/no-such` is not an OnlyFansAPI catalog endpoint",
        "bad-one/SKILL.md:7: unknown key `colour`",
        "bad-one/SKILL.md:9: `fans/also-missing` is not an OnlyFansAPI catalog endpoint",
        "bad-two/SKILL.md:1: a skill file starts with `---`",
        "bundles.toml:4: bundle `mine` names `ghost`, which is not a skill",
    ];
    for line in expect {
        assert!(
            shown.iter().any(|s| s.starts_with(line)),
            "missing {line:?} in {shown:#?}"
        );
    }
    assert_eq!(shown.len(), expect.len(), "{shown:#?}");
    assert!(library.get("good-one").is_some());
    assert!(library.get("bad-one").is_none());
    assert_eq!(library.bundle("mine").unwrap().skills.len(), 2);
}

/// A skill written for another Agent Skills tool: only `name` and `description`, a
/// folded block, a quoted licence, comments and the format's optional keys.
const PORTABLE: &str = "---
# Written for any Agent Skills tool.
name: caption-ideas
description: >
  Caption ideas for a new post,
  in the creator's voice.
license: \"MIT\"
compatibility: Any agent that can read Markdown.
metadata:
  author: example-agency   # who keeps it
  version: \"1.2\"
allowed-tools: Read
---

# Caption ideas

Ask for the post's theme, then offer five captions of at most 120 characters.
";

#[tokio::test]
async fn a_skill_written_for_other_agent_skills_tools_installs_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "caption-ideas", PORTABLE);
    let minimal = "---\nname: minimal\ndescription: 'Just a name and a description.'\n---\nDo the one thing.\n";
    write(dir.path(), "minimal", minimal);
    let (library, problems) = Library::load(Some(dir.path()));
    assert!(problems.is_empty(), "{problems:#?}");
    let skill = library.get("caption-ideas").unwrap();
    assert_eq!(
        skill.description,
        "Caption ideas for a new post, in the creator's voice."
    );
    assert_eq!(skill.category, DEFAULT_CATEGORY);
    assert!(skill.body.starts_with("# Caption ideas"));
    assert_eq!(library.get("minimal").unwrap().category, DEFAULT_CATEGORY);

    let _ = rustls::crypto::ring::default_provider().install_default();
    let store = crate::store::connect_with("sqlite::memory:", 1)
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let target = install::Target::Skill("caption-ideas".into());
    let said = install::install(store.as_ref(), &library, &target, "3", chrono::Utc::now())
        .await
        .unwrap();
    assert_eq!(said, "Installed caption-ideas.");
    let lines = install::prompt_lines(store.as_ref(), &library)
        .await
        .unwrap()
        .unwrap();
    assert!(
        lines.contains("- caption-ideas: Caption ideas for a new post, in the creator's voice.\n"),
        "{lines}"
    );
}

#[test]
fn every_shipped_skill_file_is_valid_yaml_front_matter() {
    let mut parsed = 0;
    for folder in BUILT_IN.dirs() {
        let Some(file) = folder.get_file(folder.path().join("SKILL.md")) else {
            continue;
        };
        let text = file.contents_utf8().unwrap();
        let fm = front_matter::parse(text)
            .unwrap_or_else(|e| panic!("{}: {e:?}", folder.path().display()));
        assert!(fm.fields.name.is_some() && fm.fields.description.is_some());
        parsed += 1;
    }
    assert_eq!(parsed, 13, "the shipped skills");
}

#[test]
fn front_matter_that_is_not_yaml_is_refused_at_its_line_saying_to_quote() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "colon",
        "---\nname: colon\ndescription: Big spenders: who moved\ncategory: Fans\n---\nbody\n",
    );
    write(
        dir.path(),
        "shapes",
        "---\nname: shapes\ndescription: fine\ntools: call_endpoint\n---\nbody\n",
    );
    let (library, problems) = Library::load(Some(dir.path()));
    let shown: Vec<String> = problems
        .iter()
        .map(|p| {
            let file = Path::new(&p.origin).strip_prefix(dir.path()).unwrap();
            format!("{}:{}: {}", file.display(), p.line, p.message)
        })
        .collect();
    assert_eq!(shown.len(), 2, "{shown:#?}");
    assert!(
        shown[0].starts_with("colon/SKILL.md:3: the front matter is not valid YAML ("),
        "{shown:#?}"
    );
    assert!(
        shown[0].ends_with("put it in double quotes: `description: \"Big spenders: who moved\"`"),
        "{shown:#?}"
    );
    assert_eq!(
        shown[1],
        "shapes/SKILL.md:4: `tools` must be a list of text, e.g. `tools: [a, b]`"
    );
    assert!(library.get("colon").is_none() && library.get("shapes").is_none());
}

#[test]
fn the_agent_skills_limits_and_an_empty_name_are_problems() {
    let dir = tempfile::tempdir().unwrap();
    let long = "x".repeat(501);
    write(
        dir.path(),
        "limits",
        &format!("---\nname:\ndescription: d\ncompatibility: {long}\ncategory: Other\n---\nbody\n"),
    );
    let (_, problems) = Library::load(Some(dir.path()));
    let shown: Vec<String> = problems
        .iter()
        .map(|p| format!("{}: {}", p.line, p.message))
        .collect();
    assert_eq!(
        shown,
        [
            "2: `name` is empty",
            "4: compatibility is longer than 500 characters"
        ],
        "an explicit `Other` is a category"
    );
}
