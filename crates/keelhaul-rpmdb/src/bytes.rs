//! Bounds-checked integer reads. Every read of untrusted data goes through these, so an
//! offset past the end becomes `None` instead of a panic.

/// Byte order of the integers in a file. Header blobs are always big-endian; NDB is
/// always little-endian; Berkeley DB uses the byte order of the machine that wrote it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Order {
    Little,
    Big,
}

/// `len` bytes at `offset`, if they are all inside `buf`.
pub(crate) fn slice_at(buf: &[u8], offset: usize, len: usize) -> Option<&[u8]> {
    buf.get(offset..offset.checked_add(len)?)
}

fn array_at<const N: usize>(buf: &[u8], offset: usize) -> Option<[u8; N]> {
    slice_at(buf, offset, N)?.try_into().ok()
}

/// The `u16` at `offset`.
pub(crate) fn u16_at(buf: &[u8], offset: usize, order: Order) -> Option<u16> {
    let raw = array_at(buf, offset)?;
    Some(match order {
        Order::Little => u16::from_le_bytes(raw),
        Order::Big => u16::from_be_bytes(raw),
    })
}

/// The `u32` at `offset`.
pub(crate) fn u32_at(buf: &[u8], offset: usize, order: Order) -> Option<u32> {
    let raw = array_at(buf, offset)?;
    Some(match order {
        Order::Little => u32::from_le_bytes(raw),
        Order::Big => u32::from_be_bytes(raw),
    })
}

/// The `u64` at `offset`.
pub(crate) fn u64_at(buf: &[u8], offset: usize, order: Order) -> Option<u64> {
    let raw = array_at(buf, offset)?;
    Some(match order {
        Order::Little => u64::from_le_bytes(raw),
        Order::Big => u64::from_be_bytes(raw),
    })
}

/// Converts a count or offset read from the file to `usize`. Only fails on targets whose
/// `usize` is narrower than 32 bits; callers treat that like any other out-of-range value.
pub(crate) fn to_usize(value: u32) -> Option<usize> {
    usize::try_from(value).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_inside_the_buffer() {
        let buf = [0x12, 0x34, 0x56, 0x78, 0x9a];
        assert_eq!(u16_at(&buf, 0, Order::Big), Some(0x1234));
        assert_eq!(u16_at(&buf, 0, Order::Little), Some(0x3412));
        assert_eq!(u32_at(&buf, 1, Order::Big), Some(0x3456_789a));
        assert_eq!(u32_at(&buf, 1, Order::Little), Some(0x9a78_5634));
    }

    #[test]
    fn reads_past_the_end_are_none() {
        let buf = [0u8; 4];
        assert_eq!(u32_at(&buf, 1, Order::Big), None);
        assert_eq!(u64_at(&buf, 0, Order::Big), None);
        assert_eq!(u16_at(&buf, usize::MAX, Order::Big), None);
        assert_eq!(slice_at(&buf, usize::MAX, 2), None);
        assert_eq!(slice_at(&buf, 4, 0), Some(&[][..]));
    }
}
