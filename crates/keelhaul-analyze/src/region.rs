//! Reading a region of a local file: seekable with a buffer that survives short seeks, and
//! hashed on a second thread while the first parses.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;
use std::thread::JoinHandle;

use keelhaul_core::Digest;
use keelhaul_image::FileRegion;

const BUFFER: usize = 64 << 10;

/// `Read + Seek` over a file region.
///
/// `BufReader` throws its buffer away on every seek; the tar walker seeks past each body it
/// does not want, and most bodies are small, so that would turn a header scan into one read
/// syscall per file. This reader keeps the buffer when the seek target is inside it.
pub(crate) struct SeekableRegion {
    file: File,
    start: u64,
    len: u64,
    /// Position of `buf[0]` relative to `start`.
    buf_pos: u64,
    buf: Vec<u8>,
    /// Cursor inside `buf`.
    cursor: usize,
}

impl SeekableRegion {
    pub(crate) fn open(region: &FileRegion) -> io::Result<SeekableRegion> {
        Ok(SeekableRegion {
            file: File::open(&region.path)?,
            start: region.offset,
            len: region.len,
            buf_pos: 0,
            buf: Vec::with_capacity(BUFFER),
            cursor: 0,
        })
    }

    fn pos(&self) -> u64 {
        self.buf_pos + self.cursor as u64
    }
}

impl Read for SeekableRegion {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.cursor >= self.buf.len() {
            let pos = self.pos();
            let remaining = self.len.saturating_sub(pos);
            if remaining == 0 {
                return Ok(0);
            }
            // Large reads bypass the buffer.
            if out.len() >= BUFFER {
                let want = (out.len() as u64).min(remaining) as usize;
                let n = self.file.read_at(&mut out[..want], self.start + pos)?;
                self.buf_pos = pos + n as u64;
                self.buf.clear();
                self.cursor = 0;
                return Ok(n);
            }
            let want = (BUFFER as u64).min(remaining) as usize;
            self.buf.resize(want, 0);
            let n = self.file.read_at(&mut self.buf, self.start + pos)?;
            self.buf.truncate(n);
            self.buf_pos = pos;
            self.cursor = 0;
            if n == 0 {
                return Ok(0);
            }
        }
        let n = out.len().min(self.buf.len() - self.cursor);
        out[..n].copy_from_slice(&self.buf[self.cursor..self.cursor + n]);
        self.cursor += n;
        Ok(n)
    }
}

impl Seek for SeekableRegion {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let target = match to {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::Current(d) => self.pos().checked_add_signed(d),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
        }
        .ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before the start of the region",
            )
        })?;
        if target >= self.buf_pos && target <= self.buf_pos + self.buf.len() as u64 {
            self.cursor = (target - self.buf_pos) as usize;
        } else {
            self.buf.clear();
            self.buf_pos = target;
            self.cursor = 0;
        }
        Ok(target)
    }
}

/// Hash a file region on its own thread.
pub(crate) fn hash_in_background(
    region: FileRegion,
    algorithm_of: Digest,
) -> JoinHandle<io::Result<Digest>> {
    std::thread::spawn(move || {
        let mut reader = region.open()?;
        let mut hasher = algorithm_of.hasher();
        let mut buf = vec![0u8; 1 << 20];
        let mut total = 0u64;
        loop {
            let n = reader.read(&mut buf)?;
            if n == 0 {
                break;
            }
            total += n as u64;
            hasher.update(&buf[..n]);
        }
        if total < region.len {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "file is shorter than the region",
            ));
        }
        Ok(hasher.finish())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeks_and_reads_within_region() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).expect("write");
        let region = FileRegion {
            path,
            offset: 1000,
            len: 150_000,
        };
        let mut r = SeekableRegion::open(&region).expect("open");
        let mut b = [0u8; 10];
        r.read_exact(&mut b).expect("read");
        assert_eq!(&b, &data[1000..1010]);
        r.seek(SeekFrom::Current(5)).expect("short seek");
        r.read_exact(&mut b).expect("read");
        assert_eq!(&b, &data[1015..1025]);
        r.seek(SeekFrom::Current(100_000)).expect("long seek");
        r.read_exact(&mut b).expect("read");
        assert_eq!(&b, &data[101_025..101_035]);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).expect("read");
        assert_eq!(rest.len(), 150_000 - 100_035);
        assert!(r.seek(SeekFrom::Current(-1_000_000)).is_err());
        let d = hash_in_background(region, Digest::sha256_of(b""))
            .join()
            .expect("thread")
            .expect("hash");
        assert_eq!(d, Digest::sha256_of(&data[1000..151_000]));
    }
}
