//! Properties of Discord's Markdown over any Markdown: messages under the limit that never
//! mention everyone.

use crate::channels::markdown::props::{config, markdown as any_markdown, some_shown, within};
use proptest::prelude::*;

proptest! {
    #![proptest_config(config())]

    #[test]
    fn discord_messages_fit_and_never_mass_mention(markdown in any_markdown()) {
        use crate::channels::discord::markdown::{render, LIMIT};
        let messages = render(&markdown);
        within(&messages, LIMIT).map_err(TestCaseError::fail)?;
        some_shown(&messages, |m| !m.trim().is_empty()).map_err(TestCaseError::fail)?;
        for message in &messages {
            prop_assert!(
                !message.contains("@everyone") && !message.contains("@here"),
                "{message:?}"
            );
        }
    }
}
