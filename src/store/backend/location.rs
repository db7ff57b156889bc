//! Where the data lives, in words a person can act on: the SQLite file's full path, or
//! the PostgreSQL server and database (never the password).

use sqlx::postgres::PgConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use std::str::FromStr;

/// "the SQLite file /srv/fanops/fanops.db", "PostgreSQL database `fanops` on
/// db.internal:5432 as `fanops`", or why the URL names neither.
pub fn location(url: &str) -> String {
    if url.starts_with("sqlite:") {
        if super::is_in_memory(url) {
            return "an in-memory SQLite database (nothing is kept when fanops stops)".into();
        }
        return match SqliteConnectOptions::from_str(url) {
            Ok(options) => {
                let file = options.get_filename();
                // A relative file is opened from the working directory.
                let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
                format!("the SQLite file {}", file.display())
            }
            Err(_) => format!("the SQLite URL {}", super::redact(url)),
        };
    }
    match PgConnectOptions::from_str(url) {
        Ok(options) => {
            let server = match options.get_socket() {
                Some(socket) => socket.display().to_string(),
                None => format!("{}:{}", options.get_host(), options.get_port()),
            };
            let database = options.get_database().unwrap_or(options.get_username());
            format!(
                "PostgreSQL database `{database}` on {server} as `{}`",
                options.get_username()
            )
        }
        Err(_) => super::redact(url),
    }
}

#[cfg(test)]
mod tests {
    use super::location;

    #[test]
    fn names_the_file_or_the_server_and_never_the_password() {
        let here = std::env::current_dir().unwrap();
        assert_eq!(
            location("sqlite://fanops.db"),
            format!("the SQLite file {}", here.join("fanops.db").display())
        );
        assert_eq!(
            location("sqlite:///srv/data/fanops.db?mode=rwc"),
            "the SQLite file /srv/data/fanops.db"
        );
        assert!(location("sqlite::memory:").contains("in-memory"));
        let pg = location("postgres://ops:hunter2@db.internal:5433/fanops");
        assert_eq!(
            pg,
            "PostgreSQL database `fanops` on db.internal:5433 as `ops`"
        );
        assert!(!location("postgres://ops:hunter2@db/x").contains("hunter2"));
    }
}
