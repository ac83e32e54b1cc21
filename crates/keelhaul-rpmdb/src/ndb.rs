//! `Packages.db`: SUSE's NDB format (rpm's `lib/backend/ndb/rpmpkg.c`).
//!
//! Little-endian throughout. The file is a sequence of 16-byte blocks:
//!
//! - Bytes 0–31: header. Magic `RpmP` (0), version 0 (4), generation (8), number of
//!   4096-byte slot pages (12), next package index (16).
//! - Slot pages: 16-byte slots right after the header (slot 2 onwards), each magic
//!   `Slot`, package index, block offset, block count. A block offset of 0 marks a free
//!   slot.
//! - Blobs, at `block offset × 16`, filling `block count` blocks: head (magic `BlbS`,
//!   package index, timestamp, blob length), the header blob, padding, and a 12-byte tail
//!   (Adler-32, blob length, magic `BlbE`) in the last bytes of the last block.

use crate::Records;
use crate::bytes::{Order, slice_at, to_usize, u32_at};
use crate::error::Error;

/// The file magic, `'R' | 'p' << 8 | 'm' << 16 | 'P' << 24` written little-endian.
pub(crate) const MAGIC: &[u8] = b"RpmP";
const SLOT_MAGIC: &[u8] = b"Slot";
const BLOB_HEAD_MAGIC: &[u8] = b"BlbS";
const BLOB_TAIL_MAGIC: &[u8] = b"BlbE";

const HEADER_SIZE: usize = 32;
const SLOT_SIZE: usize = 16;
const BLOCK_SIZE: u64 = 16;
const SLOT_PAGE_SIZE: usize = 4096;
const BLOB_HEAD_SIZE: u64 = 16;
const BLOB_TAIL_SIZE: u64 = 12;
const SUPPORTED_VERSION: u32 = 0;

/// Reads every blob the slot pages point at.
pub(crate) fn read(bytes: &[u8], records: &mut Records) -> Result<(), Error> {
    let slot_area = slot_area(bytes)?;
    // The first two slots' worth of bytes are the file header.
    let slots = slot_area
        .chunks_exact(SLOT_SIZE)
        .enumerate()
        .skip(HEADER_SIZE / SLOT_SIZE);
    for (slot, raw) in slots {
        let slot = u32::try_from(slot).unwrap_or(u32::MAX);
        read_slot(bytes, slot_area.len(), slot, raw, records);
    }
    Ok(())
}

fn header_error(reason: impl Into<String>) -> Error {
    Error::NdbHeader {
        reason: reason.into(),
    }
}

/// The header and slot pages, checked to be complete.
fn slot_area(bytes: &[u8]) -> Result<&[u8], Error> {
    let field = |offset| {
        u32_at(bytes, offset, Order::Little)
            .ok_or_else(|| header_error("file ends inside the header"))
    };
    let version = field(4)?;
    if version != SUPPORTED_VERSION {
        return Err(header_error(format!("unsupported version {version}")));
    }
    let pages = field(12)?;
    if pages == 0 {
        return Err(header_error("no slot pages"));
    }
    to_usize(pages)
        .and_then(|pages| pages.checked_mul(SLOT_PAGE_SIZE))
        .and_then(|len| slice_at(bytes, 0, len))
        .ok_or_else(|| {
            header_error(format!(
                "file truncated: {pages} slot pages announced, {} bytes present",
                bytes.len()
            ))
        })
}

/// One slot: where its blob is, if the slot is in use.
struct Slot {
    pkgidx: u32,
    offset: u64,
    blocks: u64,
}

fn read_slot(bytes: &[u8], slot_area_len: usize, number: u32, raw: &[u8], records: &mut Records) {
    let field = |offset| u32_at(raw, offset, Order::Little).unwrap_or(0);
    let pkgidx = field(4);
    let slot_error = |reason: String| Error::NdbSlot {
        slot: number,
        pkgidx,
        reason,
    };
    if raw.get(..4) != Some(SLOT_MAGIC) {
        records.error(slot_error("bad slot magic".into()));
        return;
    }
    let block_offset = field(8);
    if block_offset == 0 {
        return; // free slot
    }
    let slot = Slot {
        pkgidx,
        offset: u64::from(block_offset) * BLOCK_SIZE,
        blocks: u64::from(field(12)),
    };
    match blob(bytes, slot_area_len, &slot) {
        Ok(blob) => records.blob(
            || format!("NDB slot {number} (package index {pkgidx})"),
            blob,
        ),
        Err(reason) => records.error(slot_error(reason)),
    }
}

/// The header blob a slot points at, after checking its head and tail.
fn blob<'a>(bytes: &'a [u8], slot_area_len: usize, slot: &Slot) -> Result<&'a [u8], String> {
    if slot.pkgidx == 0 {
        return Err("slot in use but package index is 0".into());
    }
    if slot.offset < slot_area_len as u64 {
        return Err(format!(
            "blob offset {} lies inside the slot pages",
            slot.offset
        ));
    }
    let len = blob_len(bytes, slot)?;
    let area = block_area(bytes, slot)?;
    check_tail(area, len)?;
    usize::try_from(len)
        .ok()
        .and_then(|len| slice_at(area, BLOB_HEAD_SIZE as usize, len))
        .ok_or_else(|| "blob runs past its blocks".to_owned())
}

/// Checks the blob head against the slot and returns the blob length.
fn blob_len(bytes: &[u8], slot: &Slot) -> Result<u64, String> {
    let head = usize::try_from(slot.offset)
        .ok()
        .and_then(|offset| slice_at(bytes, offset, BLOB_HEAD_SIZE as usize))
        .ok_or_else(|| format!("blob offset {} is past the end of the file", slot.offset))?;
    let field = |offset| u32_at(head, offset, Order::Little).unwrap_or(0);
    if head.get(..4) != Some(BLOB_HEAD_MAGIC) {
        return Err(format!("no blob magic at offset {}", slot.offset));
    }
    if field(4) != slot.pkgidx {
        return Err(format!(
            "blob at offset {} belongs to package index {}",
            slot.offset,
            field(4)
        ));
    }
    let len = u64::from(field(12));
    // The blob's blocks are exactly head + blob + tail, rounded up to whole blocks.
    let expected_blocks = (BLOB_HEAD_SIZE + len + BLOB_TAIL_SIZE).div_ceil(BLOCK_SIZE);
    if expected_blocks != slot.blocks {
        return Err(format!(
            "blob length {len} needs {expected_blocks} blocks but the slot has {}",
            slot.blocks
        ));
    }
    Ok(len)
}

/// The bytes of the slot's blocks, checked to be inside the file.
fn block_area<'a>(bytes: &'a [u8], slot: &Slot) -> Result<&'a [u8], String> {
    let len = slot.blocks * BLOCK_SIZE;
    usize::try_from(slot.offset)
        .ok()
        .zip(usize::try_from(len).ok())
        .and_then(|(offset, len)| slice_at(bytes, offset, len))
        .ok_or_else(|| {
            format!(
                "blob at offset {} with {} blocks runs past the end of the file ({} bytes)",
                slot.offset,
                slot.blocks,
                bytes.len()
            )
        })
}

/// The tail fills the last 12 bytes of the last block: Adler-32 (not checked, as rpm
/// does not check it when reading), blob length, magic.
fn check_tail(area: &[u8], len: u64) -> Result<(), String> {
    let at = area.len().saturating_sub(BLOB_TAIL_SIZE as usize);
    let tail_len = u32_at(area, at + 4, Order::Little).map(u64::from);
    if tail_len != Some(len) || slice_at(area, at + 8, 4) != Some(BLOB_TAIL_MAGIC) {
        return Err("blob tail is missing or does not match its head".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::tests::sample;
    use crate::{Format, read as read_db};

    /// Builds an NDB file with one slot page and the given (package index, blob)s.
    fn database(blobs: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut file = vec![0u8; SLOT_PAGE_SIZE];
        file[..4].copy_from_slice(MAGIC);
        file[8..12].copy_from_slice(&7u32.to_le_bytes());
        file[12..16].copy_from_slice(&1u32.to_le_bytes());
        for slot in HEADER_SIZE / SLOT_SIZE..SLOT_PAGE_SIZE / SLOT_SIZE {
            file[slot * SLOT_SIZE..slot * SLOT_SIZE + 4].copy_from_slice(SLOT_MAGIC);
        }
        for (i, (pkgidx, blob)) in blobs.iter().enumerate() {
            let offset = file.len();
            let len = blob.len() as u64;
            let blocks = (BLOB_HEAD_SIZE + len + BLOB_TAIL_SIZE).div_ceil(BLOCK_SIZE);
            let mut area = Vec::new();
            area.extend_from_slice(BLOB_HEAD_MAGIC);
            area.extend_from_slice(&pkgidx.to_le_bytes());
            area.extend_from_slice(&1_700_000_000u32.to_le_bytes());
            area.extend_from_slice(&(len as u32).to_le_bytes());
            area.extend_from_slice(blob);
            area.resize((blocks * BLOCK_SIZE) as usize - BLOB_TAIL_SIZE as usize, 0);
            area.extend_from_slice(&0u32.to_le_bytes()); // Adler-32, unchecked
            area.extend_from_slice(&(len as u32).to_le_bytes());
            area.extend_from_slice(BLOB_TAIL_MAGIC);
            file.extend_from_slice(&area);

            let at = (2 + i) * SLOT_SIZE;
            file[at + 4..at + 8].copy_from_slice(&pkgidx.to_le_bytes());
            file[at + 8..at + 12].copy_from_slice(&((offset / 16) as u32).to_le_bytes());
            file[at + 12..at + 16].copy_from_slice(&(blocks as u32).to_le_bytes());
        }
        file
    }

    fn names(db: &crate::Database) -> Vec<&str> {
        db.packages.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn reads_blobs_in_slot_order() {
        let bytes = database(&[
            (5, sample("bash")),
            (2, sample("gpg-pubkey")),
            (9, sample("zlib")),
        ]);
        assert_eq!(crate::detect(&bytes), Some(Format::Ndb));
        let db = read_db(&bytes).unwrap();
        assert_eq!(names(&db), ["bash", "zlib"]);
        assert!(db.errors.is_empty(), "{:?}", db.errors);
    }

    #[test]
    fn truncated_slot_pages_are_fatal() {
        let bytes = database(&[(1, sample("bash"))]);
        let err = read_db(&bytes[..SLOT_PAGE_SIZE - 1]).unwrap_err();
        assert!(err.to_string().contains("file truncated"), "{err}");
        let err = read_db(&bytes[..10]).unwrap_err();
        assert!(err.to_string().contains("ends inside the header"), "{err}");
    }

    #[test]
    fn truncated_blob_area_keeps_earlier_blobs() {
        let bytes = database(&[(1, sample("bash")), (2, sample("zlib"))]);
        let db = read_db(&bytes[..bytes.len() - 1]).unwrap();
        assert_eq!(names(&db), ["bash"]);
        assert_eq!(db.errors.len(), 1);
        let message = db.errors[0].to_string();
        assert!(
            message.starts_with("NDB slot 3 (package index 2)"),
            "{message}"
        );
        assert!(message.contains("past the end of the file"), "{message}");
    }

    #[test]
    fn slot_and_blob_mismatches_are_reported() {
        let good = database(&[(1, sample("bash"))]);
        let blob_at = SLOT_PAGE_SIZE;
        let cases: [(usize, u8, &str); 5] = [
            (2 * SLOT_SIZE, b'X', "bad slot magic"),
            (2 * SLOT_SIZE + 4, 3, "belongs to package index 1"),
            (2 * SLOT_SIZE + 12, 200, "needs"),
            (blob_at, b'X', "no blob magic"),
            (good.len() - 1, b'X', "tail"),
        ];
        for (at, value, expected) in cases {
            let mut bytes = good.clone();
            bytes[at] = value;
            let db = read_db(&bytes).unwrap();
            assert!(db.packages.is_empty(), "{expected}");
            let message = db.errors[0].to_string();
            assert!(message.contains(expected), "{expected}: {message}");
        }
    }

    #[test]
    fn blob_offset_inside_slot_pages_is_refused() {
        let mut bytes = database(&[(1, sample("bash"))]);
        let at = 2 * SLOT_SIZE + 8;
        bytes[at..at + 4].copy_from_slice(&1u32.to_le_bytes());
        let db = read_db(&bytes).unwrap();
        assert!(db.errors[0].to_string().contains("inside the slot pages"));
    }

    #[test]
    fn every_single_byte_corruption_is_handled() {
        let bytes = database(&[(1, sample("bash")), (2, sample("zlib"))]);
        // The slot page is mostly empty slots; corrupt the header, the used slots and
        // every blob byte.
        let interesting = (0..4 * SLOT_SIZE).chain(SLOT_PAGE_SIZE..bytes.len());
        for at in interesting {
            for value in [0x00, 0x01, 0x80, 0xff] {
                let mut bad = bytes.clone();
                bad[at] = value;
                let _ = read_db(&bad);
            }
        }
    }
}
