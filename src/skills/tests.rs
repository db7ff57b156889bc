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
