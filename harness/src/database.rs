//! The PostgreSQL test database of a data dir. With [`TEST_DATABASE_ENV`] set
//! to a PostgreSQL server (the second run of `cargo xtask test`), each test
//! station gets a fresh database there, so tests run in parallel in isolation;
//! the data dir remembers it in [`DATABASE_URL_FILE`], so every process over
//! the dir (a restart, an admin command, a test's own queries) finds it again.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::{HarnessError, io};

/// The variable naming the PostgreSQL server of a PostgreSQL test run.
pub const TEST_DATABASE_ENV: &str = "POSTCSO_TEST_DATABASE_URL";

/// The file in a test data dir naming its PostgreSQL database, if it has one.
pub const DATABASE_URL_FILE: &str = "test-database-url";

/// The PostgreSQL server of this test run, or `None` on the SQLite run.
pub fn test_postgres_server() -> Option<String> {
    std::env::var(TEST_DATABASE_ENV)
        .ok()
        .filter(|url| !url.trim().is_empty())
}

/// The database a test data dir belongs to: the one it remembers, else on the
/// PostgreSQL run a fresh one (then remembered), else `None`: its SQLite file.
pub async fn test_database_url(data_dir: &Path) -> Result<Option<String>, HarnessError> {
    let file = data_dir.join(DATABASE_URL_FILE);
    if let Ok(url) = std::fs::read_to_string(&file) {
        return Ok(Some(url.trim().to_owned()));
    }
    let Some(server) = test_postgres_server() else {
        return Ok(None);
    };
    let url = fresh_postgres_database(&server).await?;
    std::fs::create_dir_all(data_dir)
        .and_then(|()| std::fs::write(&file, &url))
        .map_err(io(format!(
            "remembering the test database in {}",
            file.display()
        )))?;
    Ok(Some(url))
}

/// Creates a database with a name of its own on the PostgreSQL `server` and
/// returns its URL.
pub async fn fresh_postgres_database(server: &str) -> Result<String, HarnessError> {
    static MADE: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let name = format!(
        "t_{}_{nanos}_{}",
        std::process::id(),
        MADE.fetch_add(1, Ordering::Relaxed)
    );
    let refused = |source| HarnessError::Database {
        server: server.to_owned(),
        source,
    };
    let (client, connection) = tokio_postgres::connect(server, tokio_postgres::NoTls)
        .await
        .map_err(refused)?;
    let driver = tokio::spawn(connection);
    let created = client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await;
    drop(client);
    let _ = driver.await;
    created.map_err(refused)?;
    tracing::debug!(%name, "made a test database");
    Ok(with_database(server, &name))
}

/// `url` with its database name replaced by `name`.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let authority_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}/{name}{query}", &base[..authority_end])
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_and_the_query_kept() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:55432/postgres", "t_1"),
            "postgres://u@127.0.0.1:55432/t_1"
        );
        assert_eq!(
            with_database("postgres://u@h/postgres?sslmode=disable", "t_2"),
            "postgres://u@h/t_2?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h:1", "t_3"), "postgres://h:1/t_3");
    }
}
