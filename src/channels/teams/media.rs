//! Images, audio and files attached to a Teams message, as [`Media`] the core downloads
//! once it knows who sent them. An inline image or audio clip (`contentType` `image/…` or
//! `audio/…`) is at its `contentUrl`, which wants the bot's token when it is on the
//! conversation's connector (and gets no token anywhere else); a file in a personal chat
//! (`application/vnd.microsoft.teams.file.download.info`) is at a pre-authenticated
//! `downloadUrl`, fetched without one. The `text/html` copy of the message Teams adds,
//! and cards, are not media.

use super::connector::Connector;
use crate::chat::{extension_for, Media, MediaError, MediaKind, MediaSource};
use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::sync::Arc;

/// A file a person shared in a personal chat.
const FILE_DOWNLOAD_INFO: &str = "application/vnd.microsoft.teams.file.download.info";

/// One attachment of a message, as Teams announced it; kept with the message's claim.
/// Its URL may carry a credential: it is never logged nor put in a sentence.
#[derive(Clone, PartialEq, Serialize, Deserialize)]
pub(super) struct Attached {
    pub name: String,
    pub mime: Option<String>,
    pub url: String,
    /// Whether the URL is fetched with the bot's token.
    pub with_token: bool,
}

impl std::fmt::Debug for Attached {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Attached")
            .field("name", &self.name)
            .field("mime", &self.mime)
            .field("with_token", &self.with_token)
            .finish_non_exhaustive()
    }
}

/// The images, audio and files among an activity's `attachments`, in order; the
/// activity came from `service_url`.
pub(super) fn attached_of(attachments: &[Value], service_url: &str) -> Vec<Attached> {
    attachments
        .iter()
        .filter_map(|attachment| one(attachment, service_url))
        .collect()
}

fn one(attachment: &Value, service_url: &str) -> Option<Attached> {
    let content_type = attachment["contentType"].as_str()?.to_ascii_lowercase();
    let name = attachment["name"]
        .as_str()
        .map(str::trim)
        .filter(|n| !n.is_empty());
    if content_type == FILE_DOWNLOAD_INFO {
        let content = &attachment["content"];
        let url = content["downloadUrl"].as_str()?.to_string();
        let name = match (name, content["fileType"].as_str()) {
            (Some(name), _) => name.to_string(),
            (None, Some(kind)) => format!("file.{kind}"),
            (None, None) => "file".to_string(),
        };
        return Some(Attached {
            name,
            mime: None,
            url,
            with_token: false,
        });
    }
    let (family, _) = content_type.split_once('/')?;
    if !matches!(family, "image" | "audio") {
        return None;
    }
    let url = attachment["contentUrl"].as_str()?.to_string();
    let extension = extension_for(&content_type);
    let name = name.map(str::to_string).unwrap_or_else(|| match family {
        "image" => format!("image.{}", extension.unwrap_or("png")),
        _ => format!("audio.{}", extension.unwrap_or("ogg")),
    });
    Some(Attached {
        name,
        with_token: same_origin(&url, service_url),
        mime: Some(content_type),
        url,
    })
}

/// Whether `url` is on the same scheme, host and port as the connector at `service_url`:
/// only there does the bot's token go.
fn same_origin(url: &str, service_url: &str) -> bool {
    match (url::Url::parse(url), url::Url::parse(service_url)) {
        (Ok(url), Ok(service)) => url.origin().is_tuple() && url.origin() == service.origin(),
        _ => false,
    }
}

/// What the core is given of `attached`, downloaded through `connector`.
pub(super) fn media_of(connector: &Connector, attached: &Attached) -> Media {
    Media {
        kind: MediaKind::of(attached.mime.as_deref(), &attached.name),
        name: attached.name.clone(),
        mime: attached.mime.clone(),
        size: None,
        seconds: None,
        platform_limit: None,
        source: Arc::new(TeamsFile {
            connector: connector.clone(),
            url: attached.url.clone(),
            with_token: attached.with_token,
        }),
    }
}

struct TeamsFile {
    connector: Connector,
    url: String,
    with_token: bool,
}

#[async_trait]
impl MediaSource for TeamsFile {
    async fn fetch(&self, limit: u64) -> Result<Vec<u8>, MediaError> {
        self.connector
            .download(&self.url, self.with_token, limit)
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const SERVICE: &str = "https://smba.trafficmanager.net/amer/";

    #[test]
    fn inline_items_and_shared_files_are_read_and_the_rest_skipped() {
        let attachments = json!([
            {"contentType": "image/*", "contentUrl": "https://smba.trafficmanager.net/amer/v3/attachments/1/views/original"},
            {"contentType": "text/html", "content": "<div><img src=\"x\"></div>"},
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": {}},
            {"contentType": "application/vnd.microsoft.teams.file.download.info", "name": "sales.csv",
             "contentUrl": "https://contoso.sharepoint.com/sales.csv",
             "content": {"downloadUrl": "https://contoso.sharepoint.com/download?tempauth=x", "fileType": "csv", "uniqueId": "u1"}},
            {"contentType": "audio/mpeg", "contentUrl": "https://elsewhere.example/memo.mp3", "name": "memo.mp3"},
        ]);
        let found = attached_of(attachments.as_array().unwrap(), SERVICE);
        assert_eq!(found.len(), 3, "{found:?}");
        assert_eq!(found[0].name, "image.png");
        assert!(found[0].with_token, "on the connector's host");
        assert_eq!(found[1].name, "sales.csv");
        assert_eq!(
            found[1].url,
            "https://contoso.sharepoint.com/download?tempauth=x"
        );
        assert!(!found[1].with_token, "pre-authenticated");
        assert!(!found[2].with_token, "another host never gets the token");
        assert!(!format!("{found:?}").contains("tempauth"), "no URL shown");
    }

    #[test]
    fn the_token_goes_only_to_the_connector_s_own_origin() {
        assert!(same_origin(
            "https://smba.trafficmanager.net/emea/v3/x",
            SERVICE
        ));
        assert!(!same_origin(
            "http://smba.trafficmanager.net/amer/v3/x",
            SERVICE
        ));
        assert!(!same_origin(
            "https://smba.trafficmanager.net:8443/x",
            SERVICE
        ));
        assert!(!same_origin(
            "https://smba.trafficmanager.net.evil/x",
            SERVICE
        ));
        assert!(!same_origin("not a url", SERVICE));
    }
}
