//! Attributes on the wire: `KeyValue`s, and the `AnyValue` each holds, as
//! `opentelemetry-proto` converts an `opentelemetry::Value`.

use opentelemetry::{Array, KeyValue, Value};
use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

use super::wire::{message_field_len, message_header, string_field, string_field_len};

/// `KeyValue` fields.
mod key_value {
    pub(super) const KEY: u32 = 1;
    pub(super) const VALUE: u32 = 2;
}

/// `AnyValue` fields (a oneof: exactly one is written, even at its default).
mod any_value {
    pub(super) const STRING: u32 = 1;
    pub(super) const BOOL: u32 = 2;
    pub(super) const INT: u32 = 3;
    pub(super) const DOUBLE: u32 = 4;
    pub(super) const ARRAY: u32 = 5;
}

/// `ArrayValue.values`.
const ARRAY_VALUES: u32 = 1;

pub(super) fn key_values_len(tag: u32, attributes: &[KeyValue]) -> usize {
    attributes_len(tag, attributes.iter().map(|kv| (&kv.key, &kv.value)))
}

pub(super) fn attributes_len<'a>(
    tag: u32,
    attributes: impl Iterator<Item = (&'a opentelemetry::Key, &'a Value)>,
) -> usize {
    attributes
        .map(|(key, value)| message_field_len(tag, key_value_len(key.as_str(), value)))
        .sum()
}

pub(super) fn write_key_values<'a>(
    tag: u32,
    attributes: impl IntoIterator<Item = &'a KeyValue>,
    buf: &mut Vec<u8>,
) {
    for kv in attributes {
        write_attribute(tag, kv.key.as_str(), &kv.value, buf);
    }
}

fn key_value_len(key: &str, value: &Value) -> usize {
    string_field_len(key_value::KEY, key)
        + message_field_len(key_value::VALUE, any_value_len(value))
}

pub(super) fn write_attribute(tag: u32, key: &str, value: &Value, buf: &mut Vec<u8>) {
    let value_len = any_value_len(value);
    message_header(
        tag,
        string_field_len(key_value::KEY, key) + message_field_len(key_value::VALUE, value_len),
        buf,
    );
    string_field(key_value::KEY, key, buf);
    message_header(key_value::VALUE, value_len, buf);
    write_any_value(value, buf);
}

/// One value of an `AnyValue`: an attribute's, or an array element's.
#[derive(Clone, Copy)]
enum Scalar<'a> {
    Bool(bool),
    Int(i64),
    Double(f64),
    String(&'a str),
}

/// The length of an `AnyValue` holding `value`.
fn any_value_len(value: &Value) -> usize {
    match value {
        Value::Bool(v) => scalar_len(Scalar::Bool(*v)),
        Value::I64(v) => scalar_len(Scalar::Int(*v)),
        Value::F64(v) => scalar_len(Scalar::Double(*v)),
        Value::String(v) => scalar_len(Scalar::String(v.as_str())),
        Value::Array(array) => message_field_len(any_value::ARRAY, array_len(array)),
        // `Value` is non-exhaustive: a kind added upstream is sent as an
        // empty value until this encoder learns it (the oracle tests fail
        // on the upgrade that adds one).
        _ => 0,
    }
}

fn write_any_value(value: &Value, buf: &mut Vec<u8>) {
    match value {
        Value::Bool(v) => write_scalar(Scalar::Bool(*v), buf),
        Value::I64(v) => write_scalar(Scalar::Int(*v), buf),
        Value::F64(v) => write_scalar(Scalar::Double(*v), buf),
        Value::String(v) => write_scalar(Scalar::String(v.as_str()), buf),
        Value::Array(array) => {
            message_header(any_value::ARRAY, array_len(array), buf);
            for_each_element(array, |element| {
                message_header(ARRAY_VALUES, scalar_len(element), buf);
                write_scalar(element, buf);
            });
        }
        _ => {}
    }
}

/// The length of an `AnyValue` holding one scalar. The field is part of a
/// oneof, so it is written even at its default (`false`, `0`, `""`).
fn scalar_len(value: Scalar<'_>) -> usize {
    match value {
        Scalar::Bool(_) => key_len(any_value::BOOL) + 1,
        Scalar::Int(v) => key_len(any_value::INT) + encoded_len_varint(v as u64),
        Scalar::Double(_) => key_len(any_value::DOUBLE) + 8,
        Scalar::String(v) => message_field_len(any_value::STRING, v.len()),
    }
}

fn write_scalar(value: Scalar<'_>, buf: &mut Vec<u8>) {
    match value {
        Scalar::Bool(v) => {
            encode_key(any_value::BOOL, WireType::Varint, buf);
            encode_varint(u64::from(v), buf);
        }
        Scalar::Int(v) => {
            // int64: a negative value is its two's complement, ten bytes.
            encode_key(any_value::INT, WireType::Varint, buf);
            encode_varint(v as u64, buf);
        }
        Scalar::Double(v) => {
            encode_key(any_value::DOUBLE, WireType::SixtyFourBit, buf);
            buf.extend_from_slice(&v.to_le_bytes());
        }
        Scalar::String(v) => {
            message_header(any_value::STRING, v.len(), buf);
            buf.extend_from_slice(v.as_bytes());
        }
    }
}

/// The length of an `ArrayValue` holding `array`.
fn array_len(array: &Array) -> usize {
    let mut len = 0;
    for_each_element(array, |element| {
        len += message_field_len(ARRAY_VALUES, scalar_len(element));
    });
    len
}

/// Each element of `array`, in order.
fn for_each_element(array: &Array, mut visit: impl FnMut(Scalar<'_>)) {
    match array {
        Array::Bool(values) => values.iter().for_each(|v| visit(Scalar::Bool(*v))),
        Array::I64(values) => values.iter().for_each(|v| visit(Scalar::Int(*v))),
        Array::F64(values) => values.iter().for_each(|v| visit(Scalar::Double(*v))),
        Array::String(values) => values
            .iter()
            .for_each(|v| visit(Scalar::String(v.as_str()))),
        _ => {}
    }
}
