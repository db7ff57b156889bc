use super::*;

#[test]
fn reads_text_flow_lists_and_block_lists() {
    let text = "---\nname: whale-watch\ndescription: \"Big spenders: who moved\"\ntags: [fans, 'vip']\nrequires:\n  - web_search\n---\n\n# Body\nsteps\n";
    let fm = parse(text).unwrap();
    let fields = &fm.fields;
    assert_eq!(
        fields.description.as_deref(),
        Some("Big spenders: who moved")
    );
    assert_eq!(fields.tags, Some(vec!["fans".into(), "vip".into()]));
    assert_eq!(fields.requires, Some(vec!["web_search".into()]));
    assert_eq!(fm.line("tags"), 4);
    assert_eq!(fm.line("requires"), 5);
    assert_eq!(
        fm.line("tools"),
        1,
        "a key left out points at the opening line"
    );
    assert_eq!(fm.body, "# Body\nsteps");
    assert_eq!(fm.body_line, 8);
}

#[test]
fn block_scalars_comments_and_quotes_read_as_yaml_does() {
    let text = "---\n# written for any Agent Skills tool\nname: pdf-notes\ndescription: >\n  Reads PDF files\n  and takes notes.\nlicense: 'Apache-2.0'\ncompatibility: |\n  Needs network access.\nmetadata:\n  author: example-org\n  version: 1.0\nallowed-tools: Read Grep\ncategory: no  # stays text\n---\nbody\n";
    let fm = parse(text).unwrap();
    let fields = &fm.fields;
    assert_eq!(fields.name.as_deref(), Some("pdf-notes"));
    assert_eq!(
        fields.description.as_deref(),
        Some("Reads PDF files and takes notes.\n")
    );
    assert_eq!(fields.license.as_deref(), Some("Apache-2.0"));
    assert_eq!(
        fields.compatibility.as_deref(),
        Some("Needs network access.\n")
    );
    let metadata = fields.metadata.as_ref().unwrap();
    assert_eq!(metadata["version"], "1.0");
    assert_eq!(fields.allowed_tools.as_deref(), Some("Read Grep"));
    assert_eq!(fields.category.as_deref(), Some("no"));
    assert_eq!(fm.line("name"), 3);
    assert_eq!(fm.line("description"), 4);
    assert_eq!(fm.line("metadata"), 10);
}

#[test]
fn invalid_yaml_is_refused_at_its_line_with_the_value_quoted() {
    let text = "---\nname: a\ndescription: Big spenders: who moved\n---\nbody";
    let (line, message) = parse(text).unwrap_err();
    assert_eq!(line, 3, "{message}");
    assert!(
        message.starts_with("the front matter is not valid YAML ("),
        "{message}"
    );
    assert!(
        message.contains("put it in double quotes: `description: \"Big spenders: who moved\"`"),
        "{message}"
    );
    let unclosed = "---\nname: a\ntags: [a, b\n---\nbody";
    let (line, message) = parse(unclosed).unwrap_err();
    assert!(line >= 3, "{line}: {message}");
    assert!(message.contains("not valid YAML"), "{message}");
}

#[test]
fn quoting_keeps_the_indent_and_escapes_quotes() {
    assert_eq!(
        quoted("  author: \"x\" y: z").as_deref(),
        None,
        "already quoted at the start"
    );
    assert_eq!(
        quoted("  author: a: \\b \"c\"").as_deref(),
        Some("  author: \"a: \\\\b \\\"c\\\"\"")
    );
    assert_eq!(quoted("- item: x"), None);
}

#[test]
fn a_key_given_twice_is_refused_at_its_second_line() {
    let (line, message) = parse("---\nname: a\ndescription: d\nname: b\n---\nbody").unwrap_err();
    assert_eq!((line, message.as_str()), (4, "`name` is given twice"));
}

#[test]
fn a_value_of_the_wrong_kind_names_its_key() {
    let (line, message) = parse("---\nname: a\ntags: fans\n---\nbody").unwrap_err();
    assert_eq!(line, 3);
    assert_eq!(
        message,
        "`tags` must be a list of text, e.g. `tags: [a, b]`"
    );
    let (line, message) =
        parse("---\nname: a\ndescription:\n  - one\n  - two\n---\nbody").unwrap_err();
    assert_eq!(line, 3);
    assert_eq!(message, "`description` must be text, not a list or a map");
    let (line, message) = parse("---\nmetadata:\n  nested: {a: b}\n---\nbody").unwrap_err();
    assert_eq!(line, 2);
    assert!(
        message.starts_with("`metadata` must map names to text"),
        "{message}"
    );
}

#[test]
fn empty_values_and_an_empty_front_matter_are_absent_keys() {
    let fm = parse("---\nname:\ntags:\n---\nbody").unwrap();
    assert_eq!(fm.fields.name, None);
    assert_eq!(fm.fields.tags, None);
    assert_eq!(fm.line("tags"), 3);
    let fm = parse("---\n---\nbody").unwrap();
    assert!(fm.lines.is_empty());
    assert_eq!(fm.body, "body");
}

#[test]
fn missing_fences_are_problems() {
    assert_eq!(parse("name: x\n").unwrap_err().0, 1);
    assert!(parse("---\nname: x\n")
        .unwrap_err()
        .1
        .contains("not closed"));
}

/// Every key of [`KEYS`] is a field of [`Fields`], with the shape it claims.
#[test]
fn every_key_is_read() {
    for (key, shape) in KEYS {
        let value = match shape {
            Shape::Text => "x",
            Shape::List => "[x]",
            Shape::Map => "{k: x}",
        };
        let yaml = format!("{key}: {value}\n");
        let mut ignored = Vec::new();
        let read: Result<Fields, _> = serde_saphyr::with_deserializer_from_str(&yaml, |de| {
            serde_ignored::deserialize(de, |path| ignored.push(path.to_string()))
        });
        assert!(read.is_ok(), "{key}: {read:?}");
        assert!(ignored.is_empty(), "{key} is not a field: {ignored:?}");
    }
}
