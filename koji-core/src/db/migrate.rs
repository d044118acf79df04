//! Schema migrations (sea-orm-migration). The first migration creates
//! upstream Koji 1.35's schema and its seed rows; later ones evolve it.

use crate::error::{Error, Result};
use sea_orm::DatabaseConnection;
use sea_orm_migration::prelude::*;

pub struct Migrator;

impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![Box::new(UpstreamSchema)]
    }
}

/// The name of the table in which sea-orm-migration records what ran; it is
/// the only table of ours that upstream's schema does not have.
pub const MIGRATIONS_TABLE: &str = "seaql_migrations";

struct UpstreamSchema;

impl MigrationName for UpstreamSchema {
    fn name(&self) -> &str {
        "m0001_upstream_koji_1_35_schema"
    }
}

#[async_trait::async_trait]
impl MigrationTrait for UpstreamSchema {
    /// All or nothing on SQLite too (PostgreSQL migrations are transactional).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        let statements = match manager.get_database_backend() {
            sea_orm::DbBackend::Postgres => super::schema::postgres_statements(),
            _ => super::schema::sqlite_statements(),
        };
        for stmt in statements {
            db.execute_unprepared(&stmt).await.map_err(|e| {
                DbErr::Migration(format!("{e} in statement: {}", first_line(&stmt)))
            })?;
        }
        Ok(())
    }
}

fn first_line(s: &str) -> &str {
    s.trim().lines().next().unwrap_or("")
}

pub async fn run(conn: &DatabaseConnection) -> Result<()> {
    Migrator::up(conn, None)
        .await
        .map_err(|e| Error::Db(format!("migration failed: {e}")))
}
