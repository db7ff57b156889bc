//! A server's request to wait before trying again: the `Retry-After` header, in seconds or
//! as an HTTP date. Every HTTP client of fanops (OnlyFansAPI, the model providers) reads it
//! here.

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// How long `Retry-After` asks to wait; `None` when absent, unreadable, negative or too
/// large to be a wait. A date in the past is no wait at all.
pub fn from_headers(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).ok();
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some(
        (at.to_utc() - chrono::Utc::now())
            .to_std()
            .unwrap_or_default(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(value: &str) -> HeaderMap {
        let mut map = HeaderMap::new();
        map.insert(RETRY_AFTER, value.parse().unwrap());
        map
    }

    #[test]
    fn seconds_dates_and_nonsense() {
        assert_eq!(from_headers(&with("2")), Some(Duration::from_secs(2)));
        assert_eq!(from_headers(&with("0.5")), Some(Duration::from_millis(500)));
        let past = "Wed, 21 Oct 2015 07:28:00 GMT";
        assert_eq!(from_headers(&with(past)), Some(Duration::ZERO));
        assert_eq!(from_headers(&with("-1")), None);
        assert_eq!(from_headers(&with("1e300")), None);
        assert_eq!(from_headers(&with("soon")), None);
        assert_eq!(from_headers(&HeaderMap::new()), None);
    }
}
