//! Installed skills (`installed_skills`, `skills_seeded`), in SQL both backends run.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::rows::millis;
use super::{PgStore, SqliteStore};
use crate::store::{SkillStore, StoreResult};

const INSTALL: &str = "INSERT INTO installed_skills (name, installed_by, installed_at) \
     VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING";

const REMOVE: &str = "DELETE FROM installed_skills WHERE name = $1";

const INSTALLED: &str = "SELECT name FROM installed_skills ORDER BY name";

const SEEDED: &str = "SELECT COUNT(*) FROM skills_seeded";

const MARK_SEEDED: &str =
    "INSERT INTO skills_seeded (id, seeded_at) VALUES (1, $1) ON CONFLICT (id) DO NOTHING";

macro_rules! skills {
    ($store:ty) => {
        #[async_trait]
        impl SkillStore for $store {
            async fn install_skills(
                &self,
                names: &[String],
                by: &str,
                now: DateTime<Utc>,
            ) -> StoreResult<Vec<String>> {
                let mut added = Vec::new();
                for name in names {
                    let done = sqlx::query(INSTALL)
                        .bind(name)
                        .bind(by)
                        .bind(millis(now))
                        .execute(&self.pool)
                        .await?;
                    if done.rows_affected() == 1 {
                        added.push(name.clone());
                    }
                }
                Ok(added)
            }

            async fn remove_skills(&self, names: &[String]) -> StoreResult<Vec<String>> {
                let mut removed = Vec::new();
                for name in names {
                    let done = sqlx::query(REMOVE).bind(name).execute(&self.pool).await?;
                    if done.rows_affected() == 1 {
                        removed.push(name.clone());
                    }
                }
                Ok(removed)
            }

            async fn installed_skills(&self) -> StoreResult<Vec<String>> {
                let rows: Vec<(String,)> = sqlx::query_as(INSTALLED).fetch_all(&self.pool).await?;
                Ok(rows.into_iter().map(|(name,)| name).collect())
            }

            async fn seed_skills(&self, names: &[String], now: DateTime<Utc>) -> StoreResult<bool> {
                let (seeded,): (i64,) = sqlx::query_as(SEEDED).fetch_one(&self.pool).await?;
                if seeded > 0 {
                    return Ok(false);
                }
                // Installing first and marking after: a start that stops in between
                // seeds again next time, which installs nothing twice.
                self.install_skills(names, "config", now).await?;
                let done = sqlx::query(MARK_SEEDED)
                    .bind(millis(now))
                    .execute(&self.pool)
                    .await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

skills!(SqliteStore);
skills!(PgStore);
