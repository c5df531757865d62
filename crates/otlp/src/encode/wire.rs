//! proto3 fields on the wire: a key (the field's number and wire type),
//! then a varint, a fixed-width value or a length-delimited one. A scalar at
//! its default (0, empty) is left out, as proto3 does.

use prost::encoding::{WireType, encode_key, encode_varint, encoded_len_varint};

/// A field's key. Fields numbered below 16 take one byte.
fn key(tag: u32, wire_type: WireType, buf: &mut Vec<u8>) {
    if tag < 16 {
        buf.push((tag << 3 | wire_type as u32) as u8);
    } else {
        encode_key(tag, wire_type, buf);
    }
}

/// A varint. Values below 128, most lengths and enums here, take one byte.
fn varint(value: u64, buf: &mut Vec<u8>) {
    if value < 0x80 {
        buf.push(value as u8);
    } else {
        encode_varint(value, buf);
    }
}

/// A length-delimited field (a message, a string, bytes) whose contents
/// `write` appends: it is written first, and its length, which goes before
/// it, filled in after. A byte is kept for the length, enough below 128;
/// a longer one moves the contents up to make room, which costs a copy of
/// them and saves measuring every message twice.
pub(super) fn nested(tag: u32, buf: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    key(tag, WireType::LengthDelimited, buf);
    let at = buf.len();
    buf.push(0);
    write(buf);
    let len = buf.len() - at - 1;
    if len < 0x80 {
        buf[at] = len as u8;
        return;
    }
    let extra = encoded_len_varint(len as u64) - 1;
    let end = buf.len();
    buf.resize(end + extra, 0);
    buf.copy_within(at + 1..end, at + 1 + extra);
    let mut length = Vec::with_capacity(extra + 1);
    encode_varint(len as u64, &mut length);
    buf[at..at + length.len()].copy_from_slice(&length);
}

/// A string or bytes, whose length is known before: written in one go.
pub(super) fn bytes(tag: u32, value: &[u8], buf: &mut Vec<u8>) {
    key(tag, WireType::LengthDelimited, buf);
    varint(value.len() as u64, buf);
    buf.extend_from_slice(value);
}

/// A proto3 bytes field: left out when empty.
pub(super) fn bytes_field(tag: u32, value: &[u8], buf: &mut Vec<u8>) {
    if !value.is_empty() {
        bytes(tag, value, buf);
    }
}

/// A proto3 string field: left out when empty.
pub(super) fn string_field(tag: u32, value: &str, buf: &mut Vec<u8>) {
    bytes_field(tag, value.as_bytes(), buf);
}

/// A varint field (uint32, int64, enum, bool), written whatever its value:
/// for a oneof member.
pub(super) fn varint_member(tag: u32, value: u64, buf: &mut Vec<u8>) {
    key(tag, WireType::Varint, buf);
    varint(value, buf);
}

/// A proto3 varint field: left out at 0.
pub(super) fn varint_field(tag: u32, value: u64, buf: &mut Vec<u8>) {
    if value != 0 {
        varint_member(tag, value, buf);
    }
}

/// A fixed64 or double, written whatever its value: for a oneof member.
pub(super) fn fixed64_member(tag: u32, value: [u8; 8], buf: &mut Vec<u8>) {
    key(tag, WireType::SixtyFourBit, buf);
    buf.extend_from_slice(&value);
}

/// A proto3 fixed64 field: left out at 0.
pub(super) fn fixed64_field(tag: u32, value: u64, buf: &mut Vec<u8>) {
    if value != 0 {
        fixed64_member(tag, value.to_le_bytes(), buf);
    }
}

/// A proto3 fixed32 field: left out at 0.
pub(super) fn fixed32_field(tag: u32, value: u32, buf: &mut Vec<u8>) {
    if value != 0 {
        key(tag, WireType::ThirtyTwoBit, buf);
        buf.extend_from_slice(&value.to_le_bytes());
    }
}
