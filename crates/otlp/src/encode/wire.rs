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
/// it, filled in after. One byte is kept for the length, enough below 128.
pub(super) fn nested(tag: u32, buf: &mut Vec<u8>, write: impl FnOnce(&mut Vec<u8>)) {
    key(tag, WireType::LengthDelimited, buf);
    let at = buf.len();
    buf.push(0);
    write(buf);
    let len = buf.len() - at - 1;
    if len < 0x80 {
        buf[at] = len as u8;
    } else {
        fill_length(buf, at, 1, len);
    }
}

/// [`nested`], keeping `kept` bytes for the length: as many as its varint
/// usually takes (two for a span, of 128 bytes to 16 KiB; three for a
/// batch, up to 2 MiB). A length of another size moves the contents to fit
/// it, which costs a copy of them and saves measuring every message twice.
pub(super) fn nested_sized(
    tag: u32,
    kept: usize,
    buf: &mut Vec<u8>,
    write: impl FnOnce(&mut Vec<u8>),
) {
    key(tag, WireType::LengthDelimited, buf);
    let at = buf.len();
    buf.extend_from_slice(&[0; 10][..kept]);
    write(buf);
    let len = buf.len() - at - kept;
    fill_length(buf, at, kept, len);
}

/// Writes the varint `len` at `at`, where `kept` bytes were kept for it
/// before `len` bytes of contents, moving the contents if it takes more or
/// fewer bytes than that.
fn fill_length(buf: &mut Vec<u8>, at: usize, kept: usize, len: usize) {
    let size = encoded_len_varint(len as u64);
    if size != kept {
        let end = buf.len();
        if size > kept {
            buf.resize(end + size - kept, 0);
        }
        buf.copy_within(at + kept..end, at + size);
        buf.truncate(at + size + len);
    }
    fill_varint(len as u64, &mut buf[at..at + size]);
}

/// Writes `value` as a varint that fills `out` exactly (`out` is as long
/// as `encoded_len_varint(value)`): seven bits a byte, low bits first, the
/// top bit set on every byte but the last.
fn fill_varint(mut value: u64, out: &mut [u8]) {
    for byte in out.iter_mut() {
        *byte = value as u8 | 0x80;
        value >>= 7;
    }
    if let Some(last) = out.last_mut() {
        *last &= 0x7f;
    }
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
