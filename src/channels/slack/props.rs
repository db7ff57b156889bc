//! Properties of Slack's mrkdwn over any Markdown: sections under the limit, and data
//! that writes no markup of its own.

use crate::channels::markdown::props::{config, markdown as any_markdown, some_shown, within};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn slack_sections_fit_and_data_writes_no_markup(markdown in any_markdown()) {
        use crate::channels::slack::mrkdwn::{render, SECTION_LIMIT};
        let sections = render(&markdown);
        within(&sections, SECTION_LIMIT).map_err(TestCaseError::fail)?;
        some_shown(&sections, |s| !s.replace("```", "").trim().is_empty())
            .map_err(TestCaseError::fail)?;
        for section in &sections {
            // The only `<` is the one opening a link this module writes.
            for (at, _) in section.match_indices('<') {
                let rest = &section[at + 1..];
                prop_assert!(
                    rest.starts_with("http://") || rest.starts_with("https://"),
                    "{section:?}"
                );
            }
        }
    }
}
