//! A minimal, strict reader of the protobuf wire format over untrusted bytes, for the ONNX and
//! TensorFlow SavedModel analysers: varints, fixed32/fixed64 and length-delimited fields, read
//! one field at a time from a `&[u8]` without copying or allocating.
//!
//! Strictness: a varint longer than 10 bytes or overflowing 64 bits, a field number of 0 or above
//! 2^29-1, a length past the end of the message, a truncated fixed field and the deprecated group
//! wire types (3 and 4, never written by ONNX or TensorFlow) are all errors. After an error the
//! iterator stops. Offsets in fields and errors are absolute: relative to the start of the buffer
//! the outermost message was read from (see [`Message::new`]).

use std::fmt;

/// Largest field number protobuf allows (2^29 - 1).
pub const MAX_FIELD_NUMBER: u64 = (1 << 29) - 1;

/// What went wrong reading the wire format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The buffer ends inside a varint, a fixed field or a length-delimited payload.
    Truncated,
    /// A varint of more than 10 bytes, or one whose value does not fit 64 bits.
    VarintOverflow,
    /// Field number 0 or above 2^29-1.
    BadFieldNumber,
    /// Wire types 3 and 4 (groups, deprecated) and 6 and 7 (undefined).
    BadWireType(u8),
    /// A known field with another wire type than its declaration's.
    UnexpectedWireType { field: u32 },
}

/// A wire-format error at an absolute byte offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Error {
    pub offset: u64,
    pub kind: ErrorKind,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            ErrorKind::Truncated => "the data ends inside a field".to_string(),
            ErrorKind::VarintOverflow => "a varint overflows 64 bits".to_string(),
            ErrorKind::BadFieldNumber => "a field number out of range".to_string(),
            ErrorKind::BadWireType(w) => format!("wire type {w} (groups or undefined)"),
            ErrorKind::UnexpectedWireType { field } => {
                format!("field {field} has an unexpected wire type")
            }
        };
        write!(f, "malformed protobuf at byte {}: {what}", self.offset)
    }
}

impl std::error::Error for Error {}

/// The value of one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Value<'a> {
    /// Wire type 0.
    Varint(u64),
    /// Wire type 1.
    Fixed64(u64),
    /// Wire type 2: a string, bytes, an embedded message or a packed repeated field.
    Len(Message<'a>),
    /// Wire type 5.
    Fixed32(u32),
}

/// One field of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    pub number: u32,
    /// Absolute offset of the field's tag.
    pub offset: u64,
    pub value: Value<'a>,
}

impl<'a> Field<'a> {
    /// The payload of a length-delimited field; an error for any other wire type.
    pub fn bytes(&self) -> Result<Message<'a>, Error> {
        match self.value {
            Value::Len(m) => Ok(m),
            _ => Err(self.unexpected()),
        }
    }

    /// The value of a varint field; an error for any other wire type.
    pub fn varint(&self) -> Result<u64, Error> {
        match self.value {
            Value::Varint(v) => Ok(v),
            _ => Err(self.unexpected()),
        }
    }

    fn unexpected(&self) -> Error {
        Error {
            offset: self.offset,
            kind: ErrorKind::UnexpectedWireType { field: self.number },
        }
    }
}

/// Bytes holding a message (or a string), with their absolute offset.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Message<'a> {
    pub data: &'a [u8],
    /// Absolute offset of `data[0]`.
    pub base: u64,
}

impl fmt::Debug for Message<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Message({} bytes at {})", self.data.len(), self.base)
    }
}

impl<'a> Message<'a> {
    /// The outermost message: offsets count from `data[0]`.
    pub fn new(data: &'a [u8]) -> Self {
        Message { data, base: 0 }
    }

    /// Iterate over the fields.
    pub fn fields(&self) -> Fields<'a> {
        Fields {
            msg: *self,
            pos: 0,
            done: false,
        }
    }

    /// The bytes as one line of text for reports: see [`printable`].
    pub fn lossy(&self) -> String {
        printable(self.data)
    }

    /// Check the whole message is well formed at its top level (nested messages are not
    /// descended into: their payloads are only bounds-checked).
    pub fn validate(&self) -> Result<(), Error> {
        for f in self.fields() {
            f?;
        }
        Ok(())
    }
}

/// Longest name shown in a report, in characters; longer ones are cut with `...`.
pub const MAX_SHOWN_CHARS: usize = 200;

/// Untrusted bytes as one line of text for a report: invalid UTF-8 replaced, control characters
/// escaped (`\n`, `\u{1b}`...), cut at [`MAX_SHOWN_CHARS`].
pub fn printable(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(4 * MAX_SHOWN_CHARS)]);
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_SHOWN_CHARS {
            out.push_str("...");
            return out;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    if bytes.len() > 4 * MAX_SHOWN_CHARS {
        out.push_str("...");
    }
    out
}

/// Iterator over the fields of a message; yields at most one error, then stops.
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    msg: Message<'a>,
    pos: usize,
    done: bool,
}

/// Read a varint at `*pos`, advancing it. Errors carry the offset relative to `data`.
pub fn read_varint(data: &[u8], pos: &mut usize) -> Result<u64, (usize, ErrorKind)> {
    let start = *pos;
    let mut value: u64 = 0;
    for i in 0..10usize {
        let at = start.checked_add(i).ok_or((start, ErrorKind::Truncated))?;
        let b = *data.get(at).ok_or((start, ErrorKind::Truncated))?;
        if i == 9 && b > 1 {
            return Err((start, ErrorKind::VarintOverflow));
        }
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *pos = at + 1;
            return Ok(value);
        }
    }
    Err((start, ErrorKind::VarintOverflow))
}

impl<'a> Fields<'a> {
    fn err(&mut self, rel: usize, kind: ErrorKind) -> Option<Result<Field<'a>, Error>> {
        self.done = true;
        let offset = self.msg.base.saturating_add(rel as u64);
        Some(Err(Error { offset, kind }))
    }

    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let data = self.msg.data;
        let end = self.pos.checked_add(n)?;
        let s = data.get(self.pos..end)?;
        self.pos = end;
        Some(s)
    }
}

impl<'a> Iterator for Fields<'a> {
    type Item = Result<Field<'a>, Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done || self.pos >= self.msg.data.len() {
            self.done = true;
            return None;
        }
        let data = self.msg.data;
        let tag_at = self.pos;
        let tag = match read_varint(data, &mut self.pos) {
            Ok(t) => t,
            Err((at, k)) => return self.err(at, k),
        };
        let number = tag >> 3;
        if number == 0 || number > MAX_FIELD_NUMBER {
            return self.err(tag_at, ErrorKind::BadFieldNumber);
        }
        let number = number as u32;
        let offset = self.msg.base.saturating_add(tag_at as u64);
        let value = match (tag & 7) as u8 {
            0 => match read_varint(data, &mut self.pos) {
                Ok(v) => Value::Varint(v),
                Err((at, k)) => return self.err(at, k),
            },
            1 => match self.take(8) {
                Some(b) => {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    Value::Fixed64(u64::from_le_bytes(a))
                }
                None => return self.err(self.pos, ErrorKind::Truncated),
            },
            2 => {
                let len_at = self.pos;
                let len = match read_varint(data, &mut self.pos) {
                    Ok(v) => v,
                    Err((at, k)) => return self.err(at, k),
                };
                let remaining = data.len() - self.pos;
                if len > remaining as u64 {
                    return self.err(len_at, ErrorKind::Truncated);
                }
                let start = self.pos;
                match self.take(len as usize) {
                    Some(b) => Value::Len(Message {
                        data: b,
                        base: self.msg.base.saturating_add(start as u64),
                    }),
                    None => return self.err(len_at, ErrorKind::Truncated),
                }
            }
            5 => match self.take(4) {
                Some(b) => {
                    let mut a = [0u8; 4];
                    a.copy_from_slice(b);
                    Value::Fixed32(u32::from_le_bytes(a))
                }
                None => return self.err(self.pos, ErrorKind::Truncated),
            },
            w => return self.err(tag_at, ErrorKind::BadWireType(w)),
        };
        Some(Ok(Field {
            number,
            offset,
            value,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(data: &[u8]) -> Result<Vec<Field<'_>>, Error> {
        Message::new(data).fields().collect()
    }

    #[test]
    fn varints() {
        let mut p = 0;
        assert_eq!(read_varint(&[0x96, 0x01], &mut p), Ok(150));
        assert_eq!(p, 2);
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        let mut p = 0;
        assert_eq!(read_varint(&max, &mut p), Ok(u64::MAX));
        let over = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert!(read_varint(&over, &mut 0).is_err());
        let long = [0x80; 11];
        assert!(read_varint(&long, &mut 0).is_err());
        assert!(read_varint(&[0x80], &mut 0).is_err());
        assert!(read_varint(&[], &mut 0).is_err());
    }

    #[test]
    fn fields_of_each_wire_type() {
        // 1: varint 8; 2: "hi"; 3: fixed32; 4: fixed64
        let data = [
            0x08, 0x08, 0x12, 0x02, b'h', b'i', 0x1d, 1, 0, 0, 0, 0x21, 2, 0, 0, 0, 0, 0, 0, 0,
        ];
        let f = all(&data).unwrap();
        assert_eq!(f.len(), 4);
        assert_eq!(f[0].varint(), Ok(8));
        assert_eq!(f[1].bytes().unwrap().data, b"hi");
        assert_eq!(f[1].bytes().unwrap().base, 4);
        assert_eq!(f[2].value, Value::Fixed32(1));
        assert_eq!(f[3].value, Value::Fixed64(2));
        assert!(f[0].bytes().is_err());
    }

    #[test]
    fn printable_names() {
        assert_eq!(printable(b"a\nb\x1b"), "a\\nb\\u{1b}");
        assert_eq!(printable(b"\xff"), "\u{fffd}");
        let long = printable(&[b'x'; 1000]);
        assert!(long.ends_with("...") && long.len() == MAX_SHOWN_CHARS + 3);
    }

    #[test]
    fn malformed() {
        assert!(all(&[0x12, 0x05, b'a']).is_err()); // length past the end
        assert!(all(&[0x00, 0x00]).is_err()); // field 0
        assert!(all(&[0x0b]).is_err()); // group start
        assert!(all(&[0x0e]).is_err()); // wire type 6
        assert!(all(&[0x1d, 1, 2]).is_err()); // truncated fixed32
        assert!(all(&[0x08]).is_err()); // missing varint
        assert!(all(&[0x12, 0xff, 0xff, 0xff, 0xff, 0x0f]).is_err());
        // the iterator stops after the first error
        let mut it = Message::new(&[0x00, 0x08, 0x01]).fields();
        assert!(it.next().unwrap().is_err());
        assert!(it.next().is_none());
        assert!(all(&[]).unwrap().is_empty());
    }
}
