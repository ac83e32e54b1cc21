//! `Packages`: a Berkeley DB hash database, read without Berkeley DB.
//!
//! Layout (from Berkeley DB's `db_page.h`, as read by rpm's `bdb_ro.c` and go-rpmdb):
//!
//! - Every page starts with a 26-byte header: LSN (0–7), page number (8), previous and
//!   next page (12, 16), item count (20, u16), high free offset (22, u16), level (24),
//!   page type (25).
//! - Page 0 is the hash metadata page: magic (12), version (16), page size (20),
//!   encryption algorithm (24), type 8 (25), last page number (32).
//! - Hash pages (type 13, or 2 for the unsorted pages of old databases) have an array of
//!   u16 item offsets after the header. Items come in key/data pairs; each item starts
//!   with its type byte. `H_KEYDATA` (1) is followed by the bytes themselves, whose length
//!   is the gap to the previous item; `H_OFFPAGE` (3) is 12 bytes: type, 3 unused,
//!   first overflow page (4), total length (8).
//! - Overflow pages (type 7) hold the bytes of one big item: the high free offset says
//!   how many bytes after the header are used, the next-page field links the chain.
//!
//! Integers are in the byte order of the machine that wrote the file; the metadata magic
//! tells which.

use std::borrow::Cow;
use std::collections::HashSet;

use crate::Records;
use crate::bytes::{Order, slice_at, to_usize, u16_at, u32_at};
use crate::error::Error;

const HASH_MAGIC: u32 = 0x0006_1561;
const MAGIC_OFFSET: usize = 12;
const PAGE_HEADER_SIZE: usize = 26;
/// The metadata fields read here end with the last page number at 32..36.
const META_FIELDS_LEN: usize = 36;

const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;

const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
const H_OFFPAGE_SIZE: usize = 12;

/// Does `bytes` carry the Berkeley DB hash magic at offset 12, in either byte order?
pub(crate) fn has_hash_magic(bytes: &[u8]) -> bool {
    hash_byte_order(bytes).is_some()
}

fn hash_byte_order(bytes: &[u8]) -> Option<Order> {
    [Order::Little, Order::Big]
        .into_iter()
        .find(|&order| u32_at(bytes, MAGIC_OFFSET, order) == Some(HASH_MAGIC))
}

/// What the metadata page says about the file.
#[derive(Debug, Clone, Copy)]
struct Meta {
    order: Order,
    page_size: usize,
    /// Pages both announced by the metadata and present in the file.
    pages: u32,
}

/// Reads every header blob stored in the hash pages.
pub(crate) fn read(bytes: &[u8], records: &mut Records) -> Result<(), Error> {
    let meta = read_meta(bytes, records)?;
    let db = Db { bytes, meta };
    for pgno in 1..meta.pages {
        db.read_hash_page(pgno, records);
    }
    Ok(())
}

fn meta_error(reason: impl Into<String>) -> Error {
    Error::BdbMetadata {
        reason: reason.into(),
    }
}

fn read_meta(bytes: &[u8], records: &mut Records) -> Result<Meta, Error> {
    let order = hash_byte_order(bytes).ok_or_else(|| meta_error("no hash magic at offset 12"))?;
    let field = |offset| {
        u32_at(bytes, offset, order).ok_or_else(|| meta_error("file ends inside the metadata"))
    };
    let version = field(16)?;
    // rpm's bdb_ro accepts hash versions 8 to 10 (Berkeley DB 4.x to 6.x).
    if !(8..=10).contains(&version) {
        return Err(meta_error(format!("unsupported hash version {version}")));
    }
    let page_size = field(20)?;
    if !page_size.is_power_of_two() || !(512..=65536).contains(&page_size) {
        return Err(meta_error(format!("invalid page size {page_size}")));
    }
    let page_size = to_usize(page_size).ok_or_else(|| meta_error("page size too large"))?;
    let header = slice_at(bytes, 0, META_FIELDS_LEN)
        .ok_or_else(|| meta_error("file ends inside the metadata"))?;
    if header[24] != 0 {
        return Err(meta_error("encrypted databases are not supported"));
    }
    if header[25] != P_HASHMETA {
        return Err(meta_error(format!(
            "page type {} is not hash metadata",
            header[25]
        )));
    }
    let last_pgno = field(32)?;
    let announced = u64::from(last_pgno) + 1;
    let present = u64::try_from(bytes.len() / page_size).unwrap_or(u64::MAX);
    if present == 0 {
        return Err(meta_error("file is shorter than one page"));
    }
    if present < announced {
        records.error(meta_error(format!(
            "file truncated: metadata announces {announced} pages, file holds {present}"
        )));
    }
    // `min` of a u32-derived value, so it fits.
    let pages = u32::try_from(announced.min(present)).unwrap_or(u32::MAX);
    Ok(Meta {
        order,
        page_size,
        pages,
    })
}

/// A view of the file as pages.
struct Db<'a> {
    bytes: &'a [u8],
    meta: Meta,
}

impl<'a> Db<'a> {
    fn page(&self, pgno: u32) -> Option<&'a [u8]> {
        if pgno >= self.meta.pages {
            return None;
        }
        let start = to_usize(pgno)?.checked_mul(self.meta.page_size)?;
        slice_at(self.bytes, start, self.meta.page_size)
    }

    fn u16(&self, page: &[u8], offset: usize) -> Option<u16> {
        u16_at(page, offset, self.meta.order)
    }

    fn u32(&self, page: &[u8], offset: usize) -> Option<u32> {
        u32_at(page, offset, self.meta.order)
    }

    fn read_hash_page(&self, pgno: u32, records: &mut Records) {
        let Some(page) = self.page(pgno) else {
            return;
        };
        if !matches!(page[25], P_HASH | P_HASH_UNSORTED) {
            return; // overflow, free or never-used pages
        }
        match self.item_offsets(pgno, page) {
            Ok(offsets) => {
                // An odd item out (a key without data) is ignored, as rpm does.
                for pair in 0..offsets.len() / 2 {
                    self.read_pair(pgno, page, &offsets, pair, records);
                }
            }
            Err(err) => records.error(err),
        }
    }

    /// The page's item offsets, each checked to point past the offset array and inside
    /// the page, so item lengths computed from neighbours cannot underflow.
    fn item_offsets(&self, pgno: u32, page: &[u8]) -> Result<Vec<usize>, Error> {
        let page_error = |reason: String| Error::BdbPage { page: pgno, reason };
        if self.u32(page, 8) != Some(pgno) {
            return Err(page_error("page header names another page".into()));
        }
        let count = usize::from(self.u16(page, 20).unwrap_or(0));
        let first_item = PAGE_HEADER_SIZE + 2 * count;
        if first_item > page.len() {
            return Err(page_error(format!("{count} items do not fit on the page")));
        }
        let mut offsets = Vec::with_capacity(count);
        let mut previous = page.len();
        for i in 0..count {
            let offset = self
                .u16(page, PAGE_HEADER_SIZE + 2 * i)
                .map_or(0, usize::from);
            // Items are packed downwards from the end of the page in index order.
            if offset < first_item || offset >= previous {
                return Err(page_error(format!("item {i} has bad offset {offset}")));
            }
            offsets.push(offset);
            previous = offset;
        }
        Ok(offsets)
    }

    /// Reads the data item of key/data pair `pair`.
    fn read_pair(
        &self,
        pgno: u32,
        page: &'a [u8],
        offsets: &[usize],
        pair: usize,
        records: &mut Records,
    ) {
        let (key_at, data_at) = (offsets[2 * pair], offsets[2 * pair + 1]);
        // An item ends where the item above it starts (the page end for the first one);
        // `item_offsets` checked that the offsets strictly decrease.
        let key_end = match pair {
            0 => page.len(),
            _ => offsets[2 * pair - 1],
        };
        if self.is_counter_key(&page[key_at..key_end]) {
            return;
        }
        let record = || format!("Berkeley DB page {pgno} item {}", 2 * pair + 1);
        match self.data_item(pgno, &page[data_at..key_at]) {
            Ok(blob) => records.blob(record, &blob),
            Err(err) => records.error(Error::record(record(), err)),
        }
    }

    /// rpm keeps a record with package number 0 that holds the next free number, not a
    /// header; rpmdb's iterator skips it and so does this reader.
    fn is_counter_key(&self, key: &[u8]) -> bool {
        key.len() == 5 && key[0] == H_KEYDATA && self.u32(key, 1) == Some(0)
    }

    /// The bytes of a data item: inline, or gathered from its overflow pages.
    fn data_item(&self, pgno: u32, item: &'a [u8]) -> Result<Cow<'a, [u8]>, Error> {
        let page_error = |reason| Error::BdbPage { page: pgno, reason };
        let Some((&kind, rest)) = item.split_first() else {
            return Err(page_error("empty data item".into()));
        };
        match kind {
            H_KEYDATA => Ok(Cow::Borrowed(rest)),
            H_OFFPAGE => match (self.u32(item, 4), self.u32(item, 8)) {
                (Some(start), Some(total)) => self.overflow(start, total).map(Cow::Owned),
                _ => Err(page_error(format!(
                    "overflow reference is {} bytes, needs {H_OFFPAGE_SIZE}",
                    item.len()
                ))),
            },
            other => Err(page_error(format!("unsupported data item type {other}"))),
        }
    }

    /// Concatenates the chain of overflow pages starting at `start`, `total` bytes long.
    fn overflow(&self, start: u32, total: u32) -> Result<Vec<u8>, Error> {
        let chain_error = |page, reason: &str| Error::BdbOverflow {
            start,
            page,
            reason: reason.to_owned(),
        };
        // The total cannot exceed the file; checking it first keeps a forged length from
        // reserving memory.
        let total = to_usize(total)
            .filter(|&total| total > 0 && total <= self.bytes.len())
            .ok_or_else(|| chain_error(start, "implausible total length"))?;
        let mut blob = Vec::with_capacity(total);
        let mut visited = HashSet::new();
        let mut pgno = start;
        while blob.len() < total {
            if pgno == 0 {
                return Err(chain_error(pgno, "chain ends before the item's length"));
            }
            if !visited.insert(pgno) {
                return Err(chain_error(pgno, "chain loops back on itself"));
            }
            let page = self
                .page(pgno)
                .ok_or_else(|| chain_error(pgno, "page is past the end of the file"))?;
            let (chunk, next) = self.overflow_page(pgno, page, total - blob.len(), chain_error)?;
            blob.extend_from_slice(chunk);
            pgno = next;
        }
        Ok(blob)
    }

    /// One overflow page's share of the item, and the next page number.
    fn overflow_page(
        &self,
        pgno: u32,
        page: &'a [u8],
        wanted: usize,
        chain_error: impl Fn(u32, &str) -> Error,
    ) -> Result<(&'a [u8], u32), Error> {
        if page[25] != P_OVERFLOW {
            return Err(chain_error(pgno, "page is not an overflow page"));
        }
        if self.u32(page, 8) != Some(pgno) {
            return Err(chain_error(pgno, "page header names another page"));
        }
        let used = self.u16(page, 22).map_or(0, usize::from);
        if used == 0 || used > wanted {
            return Err(chain_error(
                pgno,
                "page holds more bytes than the item has left",
            ));
        }
        let chunk = slice_at(page, PAGE_HEADER_SIZE, used)
            .ok_or_else(|| chain_error(pgno, "byte count runs past the page"))?;
        let next = self.u32(page, 16).unwrap_or(0);
        Ok((chunk, next))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header::tests::{minimal, sample};
    use crate::{Format, read as read_db};

    const PAGE: usize = 512;

    /// Builds Berkeley DB hash files by hand, in either byte order.
    struct Builder {
        order: Order,
        pages: Vec<Vec<u8>>,
    }

    impl Builder {
        fn new(order: Order) -> Self {
            let mut builder = Self {
                order,
                pages: Vec::new(),
            };
            let meta = builder.new_page(P_HASHMETA);
            builder.put32(meta, MAGIC_OFFSET, HASH_MAGIC);
            builder.put32(meta, 16, 9);
            builder.put32(meta, 20, PAGE as u32);
            builder
        }

        fn put16(&mut self, page: usize, at: usize, v: u16) {
            let raw = match self.order {
                Order::Little => v.to_le_bytes(),
                Order::Big => v.to_be_bytes(),
            };
            self.pages[page][at..at + 2].copy_from_slice(&raw);
        }

        fn put32(&mut self, page: usize, at: usize, v: u32) {
            let raw = match self.order {
                Order::Little => v.to_le_bytes(),
                Order::Big => v.to_be_bytes(),
            };
            self.pages[page][at..at + 4].copy_from_slice(&raw);
        }

        fn new_page(&mut self, kind: u8) -> usize {
            let pgno = self.pages.len();
            self.pages.push(vec![0; PAGE]);
            self.put32(pgno, 8, pgno as u32);
            self.pages[pgno][25] = kind;
            pgno
        }

        /// Stores `blob` on a chain of overflow pages; returns the first page number.
        fn overflow_chain(&mut self, blob: &[u8]) -> u32 {
            let chunks: Vec<&[u8]> = blob.chunks(PAGE - PAGE_HEADER_SIZE).collect();
            let first = self.pages.len();
            for (i, chunk) in chunks.iter().enumerate() {
                let pgno = self.new_page(P_OVERFLOW);
                self.put16(pgno, 22, chunk.len() as u16);
                self.pages[pgno][PAGE_HEADER_SIZE..PAGE_HEADER_SIZE + chunk.len()]
                    .copy_from_slice(chunk);
                let next = if i + 1 < chunks.len() { pgno + 1 } else { 0 };
                self.put32(pgno, 16, next as u32);
            }
            first as u32
        }

        /// A hash page holding `items` (key bytes, data bytes), packed from the end.
        fn hash_page(&mut self, items: &[(Vec<u8>, Vec<u8>)]) -> usize {
            let pgno = self.new_page(P_HASH);
            let mut top = PAGE;
            let mut index = 0;
            for (key, data) in items {
                for item in [key, data] {
                    top -= item.len();
                    self.pages[pgno][top..top + item.len()].copy_from_slice(item);
                    self.put16(pgno, PAGE_HEADER_SIZE + 2 * index, top as u16);
                    index += 1;
                }
            }
            self.put16(pgno, 20, index as u16);
            pgno
        }

        fn key(&self, hnum: u32) -> Vec<u8> {
            let mut key = vec![H_KEYDATA];
            key.extend(match self.order {
                Order::Little => hnum.to_le_bytes(),
                Order::Big => hnum.to_be_bytes(),
            });
            key
        }

        fn offpage(&self, pgno: u32, len: usize) -> Vec<u8> {
            let mut item = vec![H_OFFPAGE, 0, 0, 0];
            for v in [pgno, len as u32] {
                item.extend(match self.order {
                    Order::Little => v.to_le_bytes(),
                    Order::Big => v.to_be_bytes(),
                });
            }
            item
        }

        fn finish(mut self) -> Vec<u8> {
            let last = self.pages.len() as u32 - 1;
            self.put32(0, 32, last);
            self.pages.concat()
        }
    }

    /// Two packages on overflow chains, one inline, plus rpm's counter record.
    fn sample_db(order: Order) -> Vec<u8> {
        let mut b = Builder::new(order);
        let bash = sample("bash");
        let zlib = sample("zlib");
        let bash_start = b.overflow_chain(&bash);
        let zlib_start = b.overflow_chain(&zlib);
        let mut counter = vec![H_KEYDATA];
        counter.extend(4u32.to_le_bytes());
        let items = vec![
            (b.key(0), counter),
            (b.key(1), b.offpage(bash_start, bash.len())),
            (b.key(2), b.offpage(zlib_start, zlib.len())),
        ];
        b.hash_page(&items);
        // Small blobs are stored inline; a minimal header fits on a 512-byte page.
        let mut inline = vec![H_KEYDATA];
        inline.extend(minimal("tiny"));
        let key = b.key(3);
        b.hash_page(&[(key, inline)]);
        b.finish()
    }

    fn names(db: &crate::Database) -> Vec<&str> {
        db.packages.iter().map(|p| p.name.as_str()).collect()
    }

    #[test]
    fn reads_overflow_and_inline_items_in_both_byte_orders() {
        for order in [Order::Little, Order::Big] {
            let bytes = sample_db(order);
            assert_eq!(crate::detect(&bytes), Some(Format::BerkeleyDb));
            let db = read_db(&bytes).unwrap();
            assert_eq!(names(&db), ["bash", "zlib", "tiny"], "{order:?}");
            assert!(db.errors.is_empty(), "{order:?}: {:?}", db.errors);
            assert_eq!(db.packages[0].files.len(), 3);
        }
    }

    #[test]
    fn overflow_chain_that_loops_is_an_error() {
        let mut b = Builder::new(Order::Little);
        let blob = sample("bash");
        let start = b.overflow_chain(&blob);
        // Point the chain's last page back at its first.
        let last = b.pages.len() - 1;
        b.put32(last, 16, start);
        let item = b.offpage(start, blob.len() + 200);
        let key = b.key(1);
        b.hash_page(&[(key, item)]);
        let db = read_db(&b.finish()).unwrap();
        assert!(db.packages.is_empty());
        assert_eq!(db.errors.len(), 1);
        let message = db.errors[0].to_string();
        assert!(message.contains("loops back"), "{message}");
        assert!(
            message.starts_with("Package record Berkeley DB page"),
            "{message}"
        );
    }

    #[test]
    fn self_loop_with_zero_length_page_terminates() {
        let mut b = Builder::new(Order::Little);
        let pgno = b.new_page(P_OVERFLOW);
        b.put32(pgno, 16, pgno as u32); // next page is itself
        b.put16(pgno, 22, 0);
        let item = b.offpage(pgno as u32, 100);
        let key = b.key(1);
        b.hash_page(&[(key, item)]);
        let db = read_db(&b.finish()).unwrap();
        assert_eq!(db.errors.len(), 1, "{:?}", db.errors);
    }

    #[test]
    fn chain_pointing_past_the_file() {
        let mut b = Builder::new(Order::Little);
        let item = b.offpage(9999, 100);
        let key = b.key(1);
        b.hash_page(&[(key, item)]);
        let db = read_db(&b.finish()).unwrap();
        let message = db.errors[0].to_string();
        assert!(message.contains("past the end of the file"), "{message}");
    }

    #[test]
    fn truncated_file_keeps_what_it_can_read() {
        let bytes = sample_db(Order::Little);
        // Drop the last page (the inline package): the others are still there.
        let db = read_db(&bytes[..bytes.len() - PAGE]).unwrap();
        assert_eq!(names(&db), ["bash", "zlib"]);
        assert_eq!(db.errors.len(), 1);
        assert!(
            db.errors[0].to_string().contains("file truncated"),
            "{}",
            db.errors[0]
        );
    }

    #[test]
    fn damaged_metadata_is_fatal() {
        let good = sample_db(Order::Little);
        let cases: [(usize, u8, &str); 4] = [
            (16, 99, "unsupported hash version"),
            (21, 0x03, "invalid page size"),
            (24, 1, "encrypted"),
            (25, P_HASH, "not hash metadata"),
        ];
        for (at, value, expected) in cases {
            let mut bytes = good.clone();
            bytes[at] = value;
            let err = read_db(&bytes).unwrap_err();
            assert!(err.to_string().contains(expected), "{err}");
        }
        let err = read_db(&good[..100]).unwrap_err();
        assert!(err.to_string().contains("shorter than one page"), "{err}");
    }

    #[test]
    fn bad_item_offsets_are_a_page_error() {
        let mut bytes = sample_db(Order::Little);
        // Item 0 of the first hash page: offset inside the page header.
        let first_hash_page = bytes.len() / PAGE - 2;
        let at = first_hash_page * PAGE + PAGE_HEADER_SIZE;
        bytes[at..at + 2].copy_from_slice(&3u16.to_le_bytes());
        let db = read_db(&bytes).unwrap();
        assert_eq!(names(&db), ["tiny"]);
        assert!(
            db.errors[0].to_string().contains("bad offset 3"),
            "{}",
            db.errors[0]
        );
    }

    #[test]
    fn every_single_byte_corruption_is_handled() {
        let bytes = sample_db(Order::Big);
        for at in 0..bytes.len() {
            for value in [0x00, 0x01, 0x07, 0xff] {
                let mut bad = bytes.clone();
                bad[at] = value;
                let _ = read_db(&bad);
            }
        }
    }
}
