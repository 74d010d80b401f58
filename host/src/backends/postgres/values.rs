//! Value conversion between the `sql` capability's five value kinds and PostgreSQL's types. Parameters are
//! converted to the type the server inferred for each `$n` (read from the prepared statement): integers to
//! INT2/INT4/INT8 (range-checked), FLOAT4/FLOAT8 or BOOL (0 or 1); reals to FLOAT4/FLOAT8; text to the text family,
//! JSON and JSONB; blobs to BYTEA; NULL to anything. Any other pairing except with BYTEA (text into NUMERIC, UUID,
//! TIMESTAMPTZ or INT8; an integer into TEXT) travels in PostgreSQL's text format and the server parses it, much
//! as SQLite's type affinity would convert it; text holding a NUL character, which PostgreSQL cannot store, is
//! `Invalid` (SQLite accepts it); blobs go to BYTEA only and BYTEA takes blobs only. Result columns
//! come back in binary, so only these types are read: the integer types, BOOL (as 0/1), OID, FLOAT4/FLOAT8, the
//! text family, JSON and JSONB (as text) and BYTEA; a column of any other type is an `Invalid` error, raised before
//! the statement runs, that names the column and asks the statement to cast it (`col::text`, `col::bigint`).

use std::error::Error;

use bytes::{BufMut, BytesMut};
use tokio_postgres::types::{Format, FromSql, IsNull, ToSql, Type};

use crate::backends::SqlError;
use crate::backends::SqlValue;

type BoxError = Box<dyn Error + Sync + Send>;

/// One parameter, already converted to the type the statement expects. Its `Debug` shows the kind only:
/// tokio-postgres logs parameters at debug level, and a parameter may be a secret.
pub enum Bound<'a> {
    Null,
    Bool(bool),
    I16(i16),
    I32(i32),
    I64(i64),
    F32(f32),
    F64(f64),
    /// Raw bytes of the text family, BYTEA and JSON (the binary forms of all three are the bytes themselves).
    Bytes(&'a [u8]),
    Jsonb(&'a str),
    /// Sent in text format; the server parses it as the parameter's type.
    AsText(String),
}

impl std::fmt::Debug for Bound<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Bound::Null => "null",
            Bound::Bool(_) | Bound::I16(_) | Bound::I32(_) | Bound::I64(_) => "integer",
            Bound::F32(_) | Bound::F64(_) => "real",
            Bound::Bytes(_) | Bound::Jsonb(_) | Bound::AsText(_) => "[redacted]",
        })
    }
}

impl ToSql for Bound<'_> {
    fn to_sql(&self, _: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Bound::Null => return Ok(IsNull::Yes),
            Bound::Bool(v) => out.put_u8(u8::from(*v)),
            Bound::I16(v) => out.put_i16(*v),
            Bound::I32(v) => out.put_i32(*v),
            Bound::I64(v) => out.put_i64(*v),
            Bound::F32(v) => out.put_f32(*v),
            Bound::F64(v) => out.put_f64(*v),
            Bound::Bytes(b) => out.put_slice(b),
            Bound::Jsonb(s) => {
                out.put_u8(1);
                out.put_slice(s.as_bytes());
            }
            Bound::AsText(s) => out.put_slice(s.as_bytes()),
        }
        Ok(IsNull::No)
    }

    fn accepts(_: &Type) -> bool {
        true
    }

    fn to_sql_checked(&self, ty: &Type, out: &mut BytesMut) -> Result<IsNull, BoxError> {
        self.to_sql(ty, out)
    }

    fn encode_format(&self, _: &Type) -> Format {
        if matches!(self, Bound::AsText(_)) {
            Format::Text
        } else {
            Format::Binary
        }
    }
}

fn is_text(ty: &Type) -> bool {
    matches!(*ty, Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::JSON)
}

fn kind(v: &SqlValue) -> &'static str {
    match v {
        SqlValue::Null => "null",
        SqlValue::Integer(_) => "integer",
        SqlValue::Real(_) => "real",
        SqlValue::Text(_) => "text",
        SqlValue::Blob(_) => "blob",
    }
}

fn out_of_range(n: usize, ty: &Type) -> SqlError {
    SqlError::Invalid(format!("parameter ${n}: the integer is out of range for {}", ty.name()))
}

/// Converts parameter `n` (1-based) to `ty`.
pub fn bind<'a>(n: usize, value: &'a SqlValue, ty: &Type) -> Result<Bound<'a>, SqlError> {
    if matches!(value, SqlValue::Text(s) if s.contains('\0')) {
        return Err(SqlError::Invalid(format!("parameter ${n}: PostgreSQL text cannot hold a NUL character")));
    }
    Ok(match (value, ty) {
        (SqlValue::Null, _) => Bound::Null,
        (SqlValue::Integer(i), &Type::INT8) => Bound::I64(*i),
        (SqlValue::Integer(i), &Type::INT4) => Bound::I32(i32::try_from(*i).map_err(|_| out_of_range(n, ty))?),
        (SqlValue::Integer(i), &Type::INT2) => Bound::I16(i16::try_from(*i).map_err(|_| out_of_range(n, ty))?),
        (SqlValue::Integer(i), &Type::FLOAT8) => Bound::F64(*i as f64),
        (SqlValue::Integer(i), &Type::FLOAT4) => Bound::F32(*i as f32),
        (SqlValue::Integer(i), &Type::BOOL) => match i {
            0 => Bound::Bool(false),
            1 => Bound::Bool(true),
            _ => return Err(SqlError::Invalid(format!("parameter ${n}: a boolean must be 0 or 1"))),
        },
        (SqlValue::Real(f), &Type::FLOAT8) => Bound::F64(*f),
        (SqlValue::Real(f), &Type::FLOAT4) => Bound::F32(*f as f32),
        (SqlValue::Text(s), t) if is_text(t) => Bound::Bytes(s.as_bytes()),
        (SqlValue::Text(s), &Type::JSONB) => Bound::Jsonb(s),
        (SqlValue::Blob(b), &Type::BYTEA) => Bound::Bytes(b),
        (SqlValue::Text(s), t) if *t != Type::BYTEA => Bound::AsText(s.clone()),
        (SqlValue::Integer(i), t) if *t != Type::BYTEA => Bound::AsText(i.to_string()),
        (SqlValue::Real(f), t) if *t != Type::BYTEA => Bound::AsText(f.to_string()),
        (v, t) => {
            return Err(SqlError::Invalid(format!(
                "parameter ${n}: a {} value cannot be bound to type {}; cast it in the statement (e.g. ${n}::text::{})",
                kind(v),
                t.name(),
                t.name()
            )))
        }
    })
}

/// Whether result columns of type `ty` can be read.
fn readable(ty: &Type) -> bool {
    is_text(ty)
        || matches!(
            *ty,
            Type::INT2
                | Type::INT4
                | Type::INT8
                | Type::OID
                | Type::FLOAT4
                | Type::FLOAT8
                | Type::BOOL
                | Type::BYTEA
                | Type::JSONB
        )
}

fn unreadable(column: &str, ty: &Type) -> SqlError {
    SqlError::Invalid(format!(
        "column `{column}` has type {}, which the sql capability does not carry; cast it in the statement \
         (e.g. {column}::text or {column}::bigint)",
        ty.name()
    ))
}

/// Fails when a result column has a type that [`decode`] cannot read (checked before running, so that the error
/// does not depend on whether rows come back).
pub fn check_columns(columns: &[tokio_postgres::Column]) -> Result<(), SqlError> {
    match columns.iter().find(|c| !readable(c.type_())) {
        Some(c) => Err(unreadable(c.name(), c.type_())),
        None => Ok(()),
    }
}

/// A result cell's raw binary bytes, whatever its type (decoded by [`decode`]).
pub struct RawCell<'a>(pub Option<&'a [u8]>);

impl<'a> FromSql<'a> for RawCell<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, BoxError> {
        Ok(RawCell(Some(raw)))
    }

    fn from_sql_null(_: &Type) -> Result<Self, BoxError> {
        Ok(RawCell(None))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Decodes the cell of `column` (of type `ty`).
pub fn decode(column: &str, ty: &Type, raw: Option<&[u8]>) -> Result<SqlValue, SqlError> {
    let Some(raw) = raw else {
        return Ok(SqlValue::Null);
    };
    let broken = |e: BoxError| SqlError::Invalid(format!("column `{column}`: cannot read {}: {e}", ty.name()));
    Ok(match *ty {
        Type::BOOL => SqlValue::Integer(i64::from(bool::from_sql(ty, raw).map_err(broken)?)),
        Type::INT2 => SqlValue::Integer(i64::from(i16::from_sql(ty, raw).map_err(broken)?)),
        Type::INT4 => SqlValue::Integer(i64::from(i32::from_sql(ty, raw).map_err(broken)?)),
        Type::INT8 => SqlValue::Integer(i64::from_sql(ty, raw).map_err(broken)?),
        Type::OID => SqlValue::Integer(i64::from(u32::from_sql(ty, raw).map_err(broken)?)),
        Type::FLOAT4 => SqlValue::Real(f64::from(f32::from_sql(ty, raw).map_err(broken)?)),
        Type::FLOAT8 => SqlValue::Real(f64::from_sql(ty, raw).map_err(broken)?),
        Type::BYTEA => SqlValue::Blob(raw.to_vec()),
        Type::JSONB => match raw.split_first() {
            Some((1, rest)) => SqlValue::Text(text(column, rest)?),
            _ => return Err(SqlError::Invalid(format!("column `{column}`: unknown jsonb format"))),
        },
        ref t if is_text(t) => SqlValue::Text(text(column, raw)?),
        ref t => return Err(unreadable(column, t)),
    })
}

fn text(column: &str, raw: &[u8]) -> Result<String, SqlError> {
    String::from_utf8(raw.to_vec()).map_err(|_| SqlError::Invalid(format!("column `{column}`: text is not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(b: &Bound<'_>, ty: &Type) -> Vec<u8> {
        let mut out = BytesMut::new();
        let _ = b.to_sql(ty, &mut out);
        out.to_vec()
    }

    #[test]
    fn integers_fit_the_inferred_type() {
        assert!(matches!(bind(1, &SqlValue::Integer(7), &Type::INT4), Ok(Bound::I32(7))));
        assert!(matches!(bind(1, &SqlValue::Integer(1 << 40), &Type::INT4), Err(SqlError::Invalid(_))));
        assert!(matches!(bind(1, &SqlValue::Integer(1), &Type::BOOL), Ok(Bound::Bool(true))));
        assert!(matches!(bind(1, &SqlValue::Integer(2), &Type::BOOL), Err(SqlError::Invalid(_))));
        assert!(matches!(bind(1, &SqlValue::Integer(2), &Type::FLOAT8), Ok(Bound::F64(_))));
        assert_eq!(encoded(&Bound::I64(-2), &Type::INT8), (-2i64).to_be_bytes());
        assert_eq!(format!("{:?}", Bound::Bytes(b"pin")), "[redacted]");
    }

    #[test]
    fn mismatches_name_the_parameter_but_not_its_value() {
        let Err(SqlError::Invalid(m)) = bind(3, &SqlValue::Blob(vec![9]), &Type::TEXT) else { panic!("bound") };
        assert!(m.contains("$3") && m.contains("blob") && m.contains("text"), "{m}");
        let Err(SqlError::Invalid(m)) = bind(2, &SqlValue::Text("secret".into()), &Type::BYTEA) else {
            panic!("bound")
        };
        assert!(!m.contains("secret"), "{m}");
        assert!(matches!(bind(1, &SqlValue::Text("a\0b".into()), &Type::TEXT), Err(SqlError::Invalid(_))));
    }

    #[test]
    fn other_types_travel_as_text() {
        let b =
            bind(1, &SqlValue::Text("2024-01-01".into()), &Type::TIMESTAMP).map(|b| b.encode_format(&Type::TIMESTAMP));
        assert!(matches!(b, Ok(Format::Text)));
        assert!(matches!(bind(1, &SqlValue::Integer(7), &Type::TEXT), Ok(Bound::AsText(t)) if t == "7"));
        assert_eq!(encoded(&Bound::Jsonb("{}"), &Type::JSONB), b"\x01{}");
    }

    #[test]
    fn cells_decode_by_type() {
        assert_eq!(decode("n", &Type::INT4, Some(&5i32.to_be_bytes())).ok(), Some(SqlValue::Integer(5)));
        assert_eq!(decode("b", &Type::BOOL, Some(&[1])).ok(), Some(SqlValue::Integer(1)));
        assert_eq!(decode("j", &Type::JSONB, Some(b"\x01[]")).ok(), Some(SqlValue::Text("[]".into())));
        assert_eq!(decode("x", &Type::NUMERIC, None).ok(), Some(SqlValue::Null));
        let Err(SqlError::Invalid(m)) = decode("total", &Type::NUMERIC, Some(&[0; 8])) else { panic!("decoded") };
        assert!(m.contains("total::text"), "{m}");
    }
}
