//! Mapping of sqlx / Postgres errors onto [`StoreError`] kinds, and how `u64` values of the
//! API become BIGINT parameters.

use std::time::Duration;

use quota_core::StoreError;
use quota_core::domain::MAX_UNITS;

/// Why [`crate::PostgresStore::migrate`] refuses a database; carried as the source of a
/// [`StoreError::Backend`] (downcast it to tell the cases apart).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SchemaError {
    /// The schema's migration history (`_sqlx_migrations`) lists migrations of a pre-release
    /// quota-postgres, whose schema no released version migrates.
    #[error(
        "this database holds a pre-release schema of quota-postgres in schema \"{schema}\" \
         (applied migrations {versions:?}); drop schema \"{schema}\" or use a fresh database"
    )]
    PreRelease {
        /// The schema holding the migration history (the connection's current schema).
        schema: String,
        /// The pre-release migration versions it lists.
        versions: Vec<i64>,
    },
}

/// The largest value a Postgres `BIGINT` holds, as `u64`.
pub const BIGINT_MAX: u64 = i64::MAX.unsigned_abs();

/// Converts a value for a BIGINT column, refusing (with a typed error, never wrapping) values
/// above [`BIGINT_MAX`].
pub(crate) fn to_bigint(value: u64, what: &str) -> Result<i64, StoreError> {
    i64::try_from(value).map_err(|_| {
        StoreError::OutOfRange(format!(
            "{what} {value} is above {BIGINT_MAX}, the largest value a Postgres BIGINT holds"
        ))
    })
}

/// Clamps a bound (ceiling) into BIGINT: nothing stored can exceed [`BIGINT_MAX`] anyway.
pub(crate) fn clamp_to_bigint(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A bound (ceiling, free units) as a parameter: any `u64`, clamped to the domain's bound
/// ([`MAX_UNITS`]), past which no total can go anyway.
pub(crate) fn bound_param(value: u64) -> i64 {
    clamp_to_bigint(value.min(MAX_UNITS))
}

/// A consume's quantity as a parameter: any `u64`, clamped to one unit past the domain's
/// bound, which never fits (so the SQL sums stay far from the BIGINT range).
pub(crate) fn quantity_param(value: u64) -> i64 {
    clamp_to_bigint(value.min(MAX_UNITS.saturating_add(1)))
}

/// Refuses a total (usage point, gauge level, top-up units) above the domain's bound with
/// [`StoreError::OutOfRange`].
pub(crate) fn within_domain(value: u64, what: &str) -> Result<i64, StoreError> {
    if value > MAX_UNITS {
        return Err(StoreError::OutOfRange(format!(
            "{what} {value} is above {MAX_UNITS}, the most units a total may hold"
        )));
    }
    Ok(clamp_to_bigint(value))
}

/// Reads a BIGINT that must not be negative.
pub(crate) fn from_bigint(value: i64, what: &str) -> Result<u64, StoreError> {
    u64::try_from(value)
        .map_err(|_| StoreError::Corrupt(format!("{what} is negative ({value}) in Postgres")))
}

/// Maps a sqlx error of the operation `op` onto a [`StoreError`] kind:
///
/// - connection refused/reset, pool timeout or closed, server shutting down or restarting,
///   too many connections -> `Unavailable` (the pool replaces broken connections by itself);
/// - statement cancelled by `statement_timeout` -> `Timeout`;
/// - unique, foreign-key, check and exclusion violations -> `Conflict` (with the constraint);
/// - data that does not decode -> `Corrupt`;
/// - anything else (including serialization failures and deadlocks) -> `Backend`.
pub(crate) fn map_sqlx(
    op: &str,
    statement_timeout: Option<Duration>,
    err: sqlx::Error,
) -> StoreError {
    match err {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => {
            StoreError::unavailable(format!("Postgres unreachable during {op}"), err)
        }
        sqlx::Error::Database(ref db) => {
            let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
            let constraint = db.constraint().map(str::to_owned);
            let message = db.message().to_owned();
            match code.as_str() {
                // query_canceled: statement_timeout (or a cancel request).
                "57014" => StoreError::Timeout(statement_timeout.unwrap_or(Duration::ZERO)),
                // unique, foreign key, check, exclusion, not null violations.
                "23505" | "23503" | "23514" | "23P01" | "23502" => {
                    StoreError::Conflict(match constraint {
                        Some(c) => format!("{op}: {message} (constraint {c})"),
                        None => format!("{op}: {message}"),
                    })
                }
                // data_corrupted (raised by our functions), invalid text representation.
                "XX001" | "22P02" => StoreError::Corrupt(format!("{op}: {message}")),
                // connection exceptions, admin/crash shutdown, cannot connect now, too many
                // connections, database dropped.
                c if c.starts_with("08")
                    || matches!(c, "57P01" | "57P02" | "57P03" | "53300" | "3D000") =>
                {
                    StoreError::unavailable(
                        format!("Postgres unavailable during {op}: {message}"),
                        err,
                    )
                }
                _ => StoreError::backend(
                    format!("Postgres error during {op} (SQLSTATE {code})"),
                    err,
                ),
            }
        }
        sqlx::Error::ColumnDecode { .. }
        | sqlx::Error::Decode(_)
        | sqlx::Error::ColumnNotFound(_)
        | sqlx::Error::ColumnIndexOutOfBounds { .. }
        | sqlx::Error::TypeNotFound { .. } => {
            StoreError::Corrupt(format!("{op}: unexpected data from Postgres: {err}"))
        }
        other => StoreError::backend(format!("Postgres error during {op}"), other),
    }
}
