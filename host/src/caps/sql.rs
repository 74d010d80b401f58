//! `sql`: statements and transactions on the component's logical database.

use wasmtime::component::Resource;

use crate::backends::{RowSet as BackendRows, SqlError as BackendError, SqlTransaction, SqlValue};
use crate::bindings::endpoint::esignet::platform::sql::{Host, HostTransaction, RowSet, SqlError, Value};
use crate::state::HostState;

/// A transaction held in the store's resource table.
pub struct TransactionHandle(Box<dyn SqlTransaction>);

const MAX_OPEN_TRANSACTIONS: usize = 4;

fn to_backend(v: Value) -> SqlValue {
    match v {
        Value::Null => SqlValue::Null,
        Value::Integer(i) => SqlValue::Integer(i),
        Value::Real(f) => SqlValue::Real(f),
        Value::Text(s) => SqlValue::Text(s),
        Value::Blob(b) => SqlValue::Blob(b),
    }
}

fn from_backend(v: SqlValue) -> Value {
    match v {
        SqlValue::Null => Value::Null,
        SqlValue::Integer(i) => Value::Integer(i),
        SqlValue::Real(f) => Value::Real(f),
        SqlValue::Text(s) => Value::Text(s),
        SqlValue::Blob(b) => Value::Blob(b),
    }
}

fn rows(r: BackendRows) -> RowSet {
    RowSet { columns: r.columns, rows: r.rows.into_iter().map(|row| row.into_iter().map(from_backend).collect()).collect() }
}

fn map(component: &str, e: BackendError) -> SqlError {
    match e {
        BackendError::Constraint(m) => SqlError::ConstraintViolation(m),
        BackendError::Invalid(m) => SqlError::InvalidStatement(m),
        BackendError::Closed => SqlError::TransactionClosed,
        BackendError::Unavailable(m) => {
            tracing::warn!(component, error = %m, "database unavailable");
            SqlError::Unavailable
        }
    }
}

impl HostState {
    fn database(&self) -> &str {
        self.env.spec.sql_database()
    }
}

impl Host for HostState {
    async fn query(&mut self, statement: String, params: Vec<Value>) -> wasmtime::Result<Result<RowSet, SqlError>> {
        let params = params.into_iter().map(to_backend).collect();
        let sql = self.env.platform.sql.clone();
        Ok(sql.query(self.database(), &statement, params).await.map(rows).map_err(|e| map(&self.env.spec.id, e)))
    }

    async fn execute(&mut self, statement: String, params: Vec<Value>) -> wasmtime::Result<Result<u64, SqlError>> {
        let params = params.into_iter().map(to_backend).collect();
        let sql = self.env.platform.sql.clone();
        Ok(sql.execute(self.database(), &statement, params).await.map_err(|e| map(&self.env.spec.id, e)))
    }
}

impl HostTransaction for HostState {
    async fn new(&mut self) -> wasmtime::Result<Resource<TransactionHandle>> {
        if self.open_transactions >= MAX_OPEN_TRANSACTIONS {
            return Err(wasmtime::Error::msg("too many open transactions in one request"));
        }
        let sql = self.env.platform.sql.clone();
        match sql.begin(self.database()).await {
            Ok(tx) => {
                self.open_transactions += 1;
                Ok(self.table.push(TransactionHandle(tx))?)
            }
            Err(e) => {
                tracing::warn!(component = %self.env.spec.id, error = %e, "cannot begin a transaction");
                Err(wasmtime::Error::msg("database unavailable: cannot begin a transaction"))
            }
        }
    }

    async fn query(
        &mut self,
        tx: Resource<TransactionHandle>,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<RowSet, SqlError>> {
        let params = params.into_iter().map(to_backend).collect();
        let id = self.env.spec.id.clone();
        let handle = self.table.get_mut(&tx)?;
        Ok(handle.0.query(&statement, params).await.map(rows).map_err(|e| map(&id, e)))
    }

    async fn execute(
        &mut self,
        tx: Resource<TransactionHandle>,
        statement: String,
        params: Vec<Value>,
    ) -> wasmtime::Result<Result<u64, SqlError>> {
        let params = params.into_iter().map(to_backend).collect();
        let id = self.env.spec.id.clone();
        let handle = self.table.get_mut(&tx)?;
        Ok(handle.0.execute(&statement, params).await.map_err(|e| map(&id, e)))
    }

    async fn commit(&mut self, tx: Resource<TransactionHandle>) -> wasmtime::Result<Result<(), SqlError>> {
        let id = self.env.spec.id.clone();
        let handle = self.table.get_mut(&tx)?;
        Ok(handle.0.commit().await.map_err(|e| map(&id, e)))
    }

    async fn rollback(&mut self, tx: Resource<TransactionHandle>) -> wasmtime::Result<Result<(), SqlError>> {
        let id = self.env.spec.id.clone();
        let handle = self.table.get_mut(&tx)?;
        Ok(handle.0.rollback().await.map_err(|e| map(&id, e)))
    }

    async fn drop(&mut self, tx: Resource<TransactionHandle>) -> wasmtime::Result<()> {
        // Dropping the backend transaction rolls it back when it was neither committed nor rolled back.
        self.table.delete(tx)?;
        self.open_transactions = self.open_transactions.saturating_sub(1);
        Ok(())
    }
}
