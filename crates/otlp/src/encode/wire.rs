//! proto3 fields on the wire: a key, then a varint, fixed-width or
//! length-delimited value. A scalar at its default (0, empty) is left out,
//! as proto3 does; a length-delimited field's writer is told its length.

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint, key_len};

/// A length-delimited field's key and length.
pub(super) fn message_header(tag: u32, len: usize, buf: &mut Vec<u8>) {
    encode_key(tag, WireType::LengthDelimited, buf);
    encode_varint(len as u64, buf);
}

/// The encoded length of a message (or bytes) field of `len` bytes.
pub(super) fn message_field_len(tag: u32, len: usize) -> usize {
    key_len(tag) + encoded_len_varint(len as u64) + len
}

/// Bytes of a proto3 scalar field: left out when empty.
pub(super) fn bytes_field_len(tag: u32, len: usize) -> usize {
    if len == 0 {
        0
    } else {
        message_field_len(tag, len)
    }
}

pub(super) fn bytes_field(tag: u32, bytes: &[u8], buf: &mut Vec<u8>) {
    if !bytes.is_empty() {
        message_header(tag, bytes.len(), buf);
        buf.extend_from_slice(bytes);
    }
}

pub(super) fn string_field_len(tag: u32, value: &str) -> usize {
    bytes_field_len(tag, value.len())
}

pub(super) fn string_field(tag: u32, value: &str, buf: &mut Vec<u8>) {
    bytes_field(tag, value.as_bytes(), buf);
}

/// A proto3 varint field (uint32, enum): left out at 0.
pub(super) fn varint_field_len(tag: u32, value: u64) -> usize {
    if value == 0 {
        0
    } else {
        key_len(tag) + encoded_len_varint(value)
    }
}

pub(super) fn varint_field(tag: u32, value: u64, buf: &mut Vec<u8>) {
    if value != 0 {
        encode_key(tag, WireType::Varint, buf);
        encode_varint(value, buf);
    }
}

/// A proto3 fixed64 field: left out at 0.
pub(super) fn fixed64_field_len(tag: u32, value: u64) -> usize {
    if value == 0 { 0 } else { key_len(tag) + 8 }
}

pub(super) fn fixed64_field(tag: u32, value: u64, buf: &mut Vec<u8>) {
    if value != 0 {
        encode_key(tag, WireType::SixtyFourBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}

/// A proto3 fixed32 field: left out at 0.
pub(super) fn fixed32_field_len(tag: u32, value: u32) -> usize {
    if value == 0 { 0 } else { key_len(tag) + 4 }
}

pub(super) fn fixed32_field(tag: u32, value: u32, buf: &mut Vec<u8>) {
    if value != 0 {
        encode_key(tag, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}
