//! Go build information embedded in executables, read as Go's own `debug/buildinfo` reads
//! it (the format is defined by `cmd/link` and Go's reader; this is an independent
//! implementation of it), for ELF, PE and Mach-O, thin or universal.
//!
//! The linker leaves a 32-byte header, aligned to 16 bytes, near the start of the data:
//! in its own section (`.go.buildinfo` in ELF, `__go_buildinfo` in Mach-O) or else at the
//! start of the first writable data segment (PE, stripped ELF). It starts with
//! `\xff Go buildinf:` (14 bytes), the pointer size (4 or 8) and a flags byte:
//!
//! * flags bit 1 set (Go 1.18 and later): the header is followed by two varint-prefixed
//!   strings, the toolchain version and the module information;
//! * otherwise (Go 1.13 to 1.17): two pointers follow (byte order: bit 0 of the flags)
//!   to Go string headers (data pointer, length) for the same two strings, which are
//!   resolved through the file's segments by virtual address.
//!
//! The module information is framed by two 16-byte sentinels and holds tab-separated
//! lines: `path`, `mod` (the main module), `dep`, `=>` (the replacement of the module on
//! the line before) and `build` (settings such as `-ldflags`, `vcs.revision`).
//!
//! Everything is bounded by the file: every length is checked against the bytes that are
//! there, so a damaged header gives an error, never a panic or a large allocation.

use memchr::memmem;
use object::{BinaryFormat, Object, ObjectSection, ObjectSegment, SegmentFlags};

/// The start of the build-info header.
pub const MAGIC: &[u8; 14] = b"\xff Go buildinf:";
/// Header size.
const HEADER: usize = 32;
/// The header's alignment.
const ALIGN: u64 = 16;
/// How far into the data the header is looked for (Go's reader reads this much).
const SEARCH: usize = 64 * 1024;
/// Longest toolchain version accepted (`go1.22.1 X:boringcrypto,…` is far shorter).
const MAX_VERSION: usize = 1024;
/// The module information's framing: 16 bytes before and after.
const SENTINEL: usize = 16;

/// The two strings the linker embeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawBuildInfo {
    /// The toolchain version, e.g. `go1.22.1` or `go1.22.1 X:boringcrypto`.
    pub go_version: String,
    /// The module information without its sentinels; empty for binaries built outside
    /// module mode.
    pub modinfo: String,
    /// A problem that did not stop the read (module information without its framing).
    pub problem: Option<String>,
}

/// Read the build information of every Go program in `data`: none for a file that is not
/// a Go executable, one for a thin executable, one per architecture of a universal Mach-O.
/// An error means the file has Go's build-info header but it cannot be decoded.
pub fn read(data: &[u8]) -> Result<Vec<RawBuildInfo>, String> {
    if let Some(arches) = fat_arches(data) {
        let mut all = Vec::new();
        for (i, arch) in arches.into_iter().enumerate() {
            match read_thin(arch) {
                Ok(Some(info)) => all.push(info),
                Ok(None) => {}
                Err(e) => return Err(format!("universal binary, architecture {}: {e}", i + 1)),
            }
        }
        return Ok(all);
    }
    Ok(read_thin(data)?.into_iter().collect())
}

/// The slices of a universal (fat) Mach-O's architectures, or `None` if `data` is not one.
fn fat_arches(data: &[u8]) -> Option<Vec<&[u8]>> {
    use object::read::macho::{FatArch, MachOFatFile32, MachOFatFile64};
    match data.get(..4)? {
        [0xca, 0xfe, 0xba, 0xbe] => {
            let fat = MachOFatFile32::parse(data).ok()?;
            Some(
                fat.arches()
                    .iter()
                    .filter_map(|a| a.data(data).ok())
                    .collect(),
            )
        }
        [0xca, 0xfe, 0xba, 0xbf] => {
            let fat = MachOFatFile64::parse(data).ok()?;
            Some(
                fat.arches()
                    .iter()
                    .filter_map(|a| a.data(data).ok())
                    .collect(),
            )
        }
        _ => None,
    }
}

/// The loaded ranges of an executable: virtual address → the bytes the file holds there.
struct AddressMap<'a> {
    ranges: Vec<(u64, &'a [u8])>,
}

impl<'a> AddressMap<'a> {
    fn new(file: &object::File<'a>) -> AddressMap<'a> {
        let mut ranges = Vec::new();
        if file.format() == BinaryFormat::Pe {
            // PE "segments" are its sections; use them directly, as Go does.
            for s in file.sections() {
                if let Ok(bytes) = s.data()
                    && !bytes.is_empty()
                {
                    ranges.push((s.address(), bytes));
                }
            }
        } else {
            for s in file.segments() {
                if matches!(s.name(), Ok(Some("__PAGEZERO"))) {
                    continue;
                }
                if let Ok(bytes) = s.data()
                    && !bytes.is_empty()
                {
                    ranges.push((s.address(), bytes));
                }
            }
        }
        AddressMap { ranges }
    }

    /// The bytes from `addr` to the end of the range that holds it, at most `len`.
    fn read(&self, addr: u64, len: u64) -> Option<&'a [u8]> {
        self.ranges.iter().find_map(|&(start, bytes)| {
            let offset = usize::try_from(addr.checked_sub(start)?).ok()?;
            let rest = bytes.get(offset..).filter(|r| !r.is_empty())?;
            let n = usize::try_from(len).map_or(rest.len(), |l| l.min(rest.len()));
            Some(&rest[..n])
        })
    }
}

/// Where the header is looked for, as Go's reader looks: the build-info section, else
/// the first writable, non-executable data.
fn data_start(file: &object::File<'_>) -> Option<u64> {
    match file.format() {
        BinaryFormat::Elf => {
            if let Some(s) = file.section_by_name(".go.buildinfo") {
                return Some(s.address());
            }
            file.segments().find_map(|s| match s.flags() {
                SegmentFlags::Elf { p_flags, .. }
                    if p_flags & (object::elf::PF_X | object::elf::PF_W) == object::elf::PF_W =>
                {
                    Some(s.address())
                }
                _ => None,
            })
        }
        BinaryFormat::MachO => {
            if let Some(s) = file
                .sections()
                .find(|s| s.name_bytes().is_ok_and(|n| n == b"__go_buildinfo"))
            {
                return Some(s.address());
            }
            const RW: u32 = 3;
            file.segments().find_map(|s| match s.flags() {
                SegmentFlags::MachO {
                    maxprot, initprot, ..
                } if s.address() != 0
                    && s.file_range().1 != 0
                    && initprot.0 == RW
                    && maxprot.0 == RW =>
                {
                    Some(s.address())
                }
                _ => None,
            })
        }
        BinaryFormat::Pe => {
            use object::pe::{
                IMAGE_SCN_ALIGN_32BYTES, IMAGE_SCN_CNT_INITIALIZED_DATA, IMAGE_SCN_MEM_READ,
                IMAGE_SCN_MEM_WRITE,
            };
            let want =
                IMAGE_SCN_CNT_INITIALIZED_DATA.0 | IMAGE_SCN_MEM_READ.0 | IMAGE_SCN_MEM_WRITE.0;
            let base = file.relative_address_base();
            file.sections().find_map(|s| match s.flags() {
                object::SectionFlags::Coff { characteristics }
                    if s.address() > base
                        && s.size() != 0
                        && characteristics.0 & !IMAGE_SCN_ALIGN_32BYTES.0 == want =>
                {
                    Some(s.address())
                }
                _ => None,
            })
        }
        _ => None,
    }
}

/// The offset in `window` of the first header aligned to 16 bytes, where `window` starts
/// at address (or file offset) `base`.
fn find_header(window: &[u8], base: u64) -> Option<usize> {
    memmem::find_iter(window, MAGIC).find(|&i| {
        (base.wrapping_add(i as u64)).is_multiple_of(ALIGN) && window.len() - i >= HEADER
    })
}

fn read_thin(data: &[u8]) -> Result<Option<RawBuildInfo>, String> {
    if let Ok(file) = object::File::parse(data) {
        let map = AddressMap::new(&file);
        // Look in the first 64 KiB, decode from there to the end of the range (the
        // inline strings may run past the window Go's reader looks in).
        if let Some(start) = data_start(&file)
            && let Some(region) = map.read(start, u64::MAX)
        {
            let window = &region[..region.len().min(SEARCH)];
            return match find_header(window, start) {
                Some(at) => decode(&region[at..], Some(&map)).map(Some),
                None => Ok(None),
            };
        }
    }
    // Headers that do not parse, or data that is not in the file (a truncated or damaged
    // executable): the blob can still be found at an aligned file offset (file offsets
    // and addresses agree modulo the page size), and the inline format needs nothing
    // else. Executables whose data Go's reader can look at never come here.
    match find_header(data, 0) {
        Some(at) => decode(&data[at..], None).map(Some),
        None => Ok(None),
    }
}

/// Decode the blob starting at a header.
fn decode(blob: &[u8], map: Option<&AddressMap<'_>>) -> Result<RawBuildInfo, String> {
    let ptr_size = blob[14];
    let flags = blob[15];
    let (go_version, modinfo) = if flags & 2 != 0 {
        let (version, rest) =
            varint_string(&blob[HEADER..]).map_err(|e| format!("toolchain version: {e}"))?;
        let (modinfo, _) = varint_string(rest).map_err(|e| format!("module information: {e}"))?;
        (version, modinfo)
    } else {
        let map = map.ok_or(
            "the build info points into the executable's segments, but its headers cannot be read",
        )?;
        let big_endian = flags != 0;
        let width = match ptr_size {
            4 | 8 => usize::from(ptr_size),
            n => return Err(format!("pointer size {n} (expected 4 or 8)")),
        };
        let ptr = |b: &[u8]| read_ptr(b, width, big_endian);
        let version_at = ptr(&blob[16..]).ok_or("truncated header")?;
        let modinfo_at = ptr(&blob[16 + width..]).ok_or("truncated header")?;
        let version = go_string(map, version_at, width, big_endian)
            .map_err(|e| format!("toolchain version: {e}"))?;
        let modinfo = go_string(map, modinfo_at, width, big_endian)
            .map_err(|e| format!("module information: {e}"))?;
        (version, modinfo)
    };
    if go_version.is_empty() {
        return Err("the toolchain version is empty".into());
    }
    if go_version.len() > MAX_VERSION || go_version.iter().any(|&b| b < b' ' || b == 0x7f) {
        return Err("the toolchain version is not a version string".into());
    }
    let go_version = String::from_utf8_lossy(go_version).into_owned();
    // Framed: 16 bytes, the text (ending in a newline), 16 bytes.
    let (modinfo, problem) = if modinfo.len() > 2 * SENTINEL
        && modinfo[modinfo.len() - SENTINEL - 1] == b'\n'
    {
        (&modinfo[SENTINEL..modinfo.len() - SENTINEL], None)
    } else if modinfo.is_empty() {
        (&[][..], None)
    } else {
        (
            &[][..],
            Some("the module information is not framed as Go frames it; only the toolchain is reported".to_owned()),
        )
    };
    Ok(RawBuildInfo {
        go_version,
        modinfo: String::from_utf8_lossy(modinfo).into_owned(),
        problem,
    })
}

fn read_ptr(b: &[u8], width: usize, big_endian: bool) -> Option<u64> {
    let b = b.get(..width)?;
    let mut v: u64 = 0;
    if big_endian {
        for &x in b {
            v = (v << 8) | u64::from(x);
        }
    } else {
        for &x in b.iter().rev() {
            v = (v << 8) | u64::from(x);
        }
    }
    Some(v)
}

/// A Go string (data pointer, length) at `addr`.
fn go_string<'a>(
    map: &AddressMap<'a>,
    addr: u64,
    width: usize,
    big_endian: bool,
) -> Result<&'a [u8], String> {
    let header = map
        .read(addr, 2 * width as u64)
        .filter(|h| h.len() == 2 * width)
        .ok_or_else(|| format!("string header at {addr:#x} is outside the file"))?;
    let data = read_ptr(header, width, big_endian).ok_or("truncated string header")?;
    let len = read_ptr(&header[width..], width, big_endian).ok_or("truncated string header")?;
    if len == 0 {
        return Ok(&[]);
    }
    map.read(data, len)
        .filter(|d| d.len() as u64 == len)
        .ok_or_else(|| format!("{len} bytes at {data:#x} are not in the file"))
}

/// An unsigned varint as Go's `encoding/binary` writes it: the value and its length.
pub fn uvarint(b: &[u8]) -> Option<(u64, usize)> {
    let mut x: u64 = 0;
    for (i, &byte) in b.iter().enumerate().take(10) {
        if byte < 0x80 {
            if i == 9 && byte > 1 {
                return None; // overflows 64 bits
            }
            return Some((x | u64::from(byte) << (7 * i), i + 1));
        }
        x |= u64::from(byte & 0x7f) << (7 * i);
    }
    None
}

/// A varint-prefixed string and what follows it.
fn varint_string(b: &[u8]) -> Result<(&[u8], &[u8]), String> {
    let (len, n) = uvarint(b).ok_or("unreadable length")?;
    let rest = &b[n..];
    match usize::try_from(len) {
        Ok(len) if len <= rest.len() => Ok(rest.split_at(len)),
        _ => Err(format!(
            "length {len} runs past the end of the data ({} bytes left)",
            rest.len()
        )),
    }
}

/// One module as the build info records it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Module {
    /// Module path.
    pub path: String,
    /// Version (`v1.2.3`, a pseudo-version, `(devel)`, or empty for a directory).
    pub version: String,
    /// `h1:` checksum, if recorded.
    pub sum: String,
    /// What replaced it (`=>` line).
    pub replace: Option<Box<Module>>,
}

/// The parsed module information.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BuildInfo {
    /// The toolchain version.
    pub go_version: String,
    /// The main package's import path.
    pub path: String,
    /// The main module.
    pub main: Option<Module>,
    /// Dependencies, in the order recorded.
    pub deps: Vec<Module>,
    /// Build settings (`-ldflags`, `vcs.revision`, …), values unquoted.
    pub settings: Vec<(String, String)>,
}

impl BuildInfo {
    /// The value of a build setting.
    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// Which module a `=>` line replaces.
#[derive(Clone, Copy)]
enum Last {
    None,
    Main,
    Dep(usize),
}

/// Parse module information as Go's `runtime/debug.ParseBuildInfo` does. Go rejects the
/// whole text at the first bad line; here a bad line is skipped and reported, so that a
/// damaged entry does not hide the others. Returns the info and the problems.
pub fn parse_modinfo(go_version: &str, text: &str) -> (BuildInfo, Vec<String>) {
    let mut bi = BuildInfo {
        go_version: go_version.to_owned(),
        ..BuildInfo::default()
    };
    let mut problems = Vec::new();
    let mut last = Last::None;
    // Like Go, a final line without its newline is not read.
    let complete = match text.rfind('\n') {
        Some(i) => &text[..i],
        None => "",
    };
    if complete.is_empty() {
        return (bi, problems);
    }
    for (n, line) in complete.split('\n').enumerate() {
        let mut bad = |what: String| problems.push(format!("line {}: {what}", n + 1));
        if let Some(rest) = line.strip_prefix("path\t") {
            bi.path = rest.to_owned();
        } else if let Some(rest) = line.strip_prefix("mod\t") {
            match module_line(rest) {
                Ok(m) => {
                    bi.main = Some(m);
                    last = Last::Main;
                }
                Err(e) => bad(e),
            }
        } else if let Some(rest) = line.strip_prefix("dep\t") {
            match module_line(rest) {
                Ok(m) => {
                    bi.deps.push(m);
                    last = Last::Dep(bi.deps.len() - 1);
                }
                Err(e) => {
                    last = Last::None;
                    bad(e);
                }
            }
        } else if let Some(rest) = line.strip_prefix("=>\t") {
            let cols: Vec<&str> = rest.split('\t').collect();
            if cols.len() != 3 {
                bad(format!(
                    "expected 3 columns for a replacement, got {}",
                    cols.len()
                ));
                continue;
            }
            let replacement = Box::new(Module {
                path: cols[0].to_owned(),
                version: cols[1].to_owned(),
                sum: cols[2].to_owned(),
                replace: None,
            });
            match last {
                Last::Main => {
                    if let Some(m) = bi.main.as_mut() {
                        m.replace = Some(replacement);
                    }
                }
                Last::Dep(i) => bi.deps[i].replace = Some(replacement),
                Last::None => bad("replacement with no module on the line before".into()),
            }
            last = Last::None;
        } else if let Some(rest) = line.strip_prefix("build\t") {
            match build_setting(rest) {
                Ok(kv) => bi.settings.push(kv),
                Err(e) => bad(e),
            }
        }
    }
    (bi, problems)
}

fn module_line(rest: &str) -> Result<Module, String> {
    let cols: Vec<&str> = rest.split('\t').collect();
    if cols.len() != 2 && cols.len() != 3 {
        return Err(format!("expected 2 or 3 columns, got {}", cols.len()));
    }
    Ok(Module {
        path: cols[0].to_owned(),
        version: cols[1].to_owned(),
        sum: cols.get(2).map_or_else(String::new, |s| (*s).to_owned()),
        replace: None,
    })
}

/// `key=value`, either side possibly Go-quoted.
fn build_setting(kv: &str) -> Result<(String, String), String> {
    let (key, raw_value) = match kv.as_bytes().first() {
        None => return Err("build line missing '='".into()),
        Some(b'=') => return Err("build line with missing key".into()),
        Some(b'"' | b'`') => {
            let (key, used) = unquote_prefix(kv).ok_or("invalid quoted key in build line")?;
            let rest = kv[used..]
                .strip_prefix('=')
                .ok_or("build line missing '=' after quoted key")?;
            (key, rest)
        }
        Some(_) => {
            let (k, v) = kv
                .split_once('=')
                .ok_or("build line missing '=' after key")?;
            (k.to_owned(), v)
        }
    };
    let value = match raw_value.as_bytes().first() {
        Some(b'"' | b'`') => match unquote_prefix(raw_value) {
            Some((v, used)) if used == raw_value.len() => v,
            _ => return Err("invalid quoted value in build line".into()),
        },
        _ => raw_value.to_owned(),
    };
    Ok((key, value))
}

/// A Go-quoted string at the start of `s` (`"…"` with Go escapes, or `` `…` ``): its
/// value and how many bytes of `s` it spans.
pub fn unquote_prefix(s: &str) -> Option<(String, usize)> {
    let mut chars = s.char_indices();
    let (_, quote) = chars.next()?;
    if quote == '`' {
        let end = s[1..].find('`')? + 1;
        return Some((s[1..end].replace('\r', ""), end + 1));
    }
    if quote != '"' {
        return None;
    }
    let mut out = String::new();
    let b = s.as_bytes();
    let mut i = 1;
    while i < b.len() {
        match b[i] {
            b'"' => return Some((out, i + 1)),
            b'\n' => return None,
            b'\\' => {
                let esc = *b.get(i + 1)?;
                i += 2;
                let simple = match esc {
                    b'a' => Some('\x07'),
                    b'b' => Some('\x08'),
                    b'f' => Some('\x0c'),
                    b'n' => Some('\n'),
                    b'r' => Some('\r'),
                    b't' => Some('\t'),
                    b'v' => Some('\x0b'),
                    b'\\' => Some('\\'),
                    b'\'' => Some('\''),
                    b'"' => Some('"'),
                    _ => None,
                };
                if let Some(c) = simple {
                    out.push(c);
                    continue;
                }
                let (digits, radix) = match esc {
                    b'x' => (2, 16),
                    b'u' => (4, 16),
                    b'U' => (8, 16),
                    b'0'..=b'7' => {
                        i -= 1; // the digit is part of the value
                        (3, 8)
                    }
                    _ => return None,
                };
                let text = s.get(i..i + digits)?;
                let v = u32::from_str_radix(text, radix).ok()?;
                i += digits;
                if esc == b'x' || radix == 8 {
                    // A byte: Go strings are bytes; keep it as a char when it is ASCII.
                    out.push(char::from(u8::try_from(v).ok()?));
                } else {
                    out.push(char::from_u32(v)?);
                }
            }
            _ => {
                let c = s[i..].chars().next()?;
                out.push(c);
                i += c.len_utf8();
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 32-byte inline header followed by the two strings.
    pub(crate) fn inline_blob(version: &[u8], modinfo: &[u8]) -> Vec<u8> {
        let mut b = MAGIC.to_vec();
        b.extend_from_slice(&[8, 2]);
        b.resize(HEADER, 0);
        for s in [version, modinfo] {
            let mut n = s.len() as u64;
            loop {
                let byte = (n & 0x7f) as u8;
                n >>= 7;
                if n == 0 {
                    b.push(byte);
                    break;
                }
                b.push(byte | 0x80);
            }
            b.extend_from_slice(s);
        }
        b
    }

    fn framed(text: &str) -> Vec<u8> {
        let mut m = vec![0x30; SENTINEL];
        m.extend_from_slice(text.as_bytes());
        m.extend_from_slice(&[0x31; SENTINEL]);
        m
    }

    #[test]
    fn varints_follow_go_encoding() {
        assert_eq!(uvarint(&[0x05]), Some((5, 1)));
        assert_eq!(uvarint(&[0xac, 0x02]), Some((300, 2)));
        // 2^64 - 1 takes ten bytes, the last being 1.
        let max = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01];
        assert_eq!(uvarint(&max), Some((u64::MAX, 10)));
        let overflow = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02];
        assert_eq!(uvarint(&overflow), None);
        assert_eq!(uvarint(&[0x80; 11]), None, "never ends");
        assert_eq!(uvarint(&[0x80, 0x80]), None, "truncated");
    }

    #[test]
    fn decodes_an_inline_blob_without_headers() {
        // Garbage that is not an executable, with an aligned blob: the fallback finds it.
        let mut data = vec![0x7f, b'E', b'L', b'F', 0xde, 0xad];
        data.resize(64, 0xee);
        data.extend(inline_blob(
            b"go1.22.1",
            &framed("path\texample.com/x\nmod\texample.com/x\tv1.0.0\t\n"),
        ));
        let infos = read(&data).expect("decodes");
        assert_eq!(infos.len(), 1);
        assert_eq!(infos[0].go_version, "go1.22.1");
        assert_eq!(
            infos[0].modinfo,
            "path\texample.com/x\nmod\texample.com/x\tv1.0.0\t\n"
        );
        // Misaligned: not a header.
        let mut data = vec![0u8; 65];
        data.extend(inline_blob(b"go1.22.1", b""));
        assert_eq!(read(&data).expect("no error"), vec![]);
    }

    #[test]
    fn a_huge_varint_is_an_error_not_an_allocation() {
        let mut blob = MAGIC.to_vec();
        blob.extend_from_slice(&[8, 2]);
        blob.resize(HEADER, 0);
        blob.extend_from_slice(&[0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]);
        blob.extend_from_slice(b"go1.22");
        let err = read(&blob).expect_err("corrupt");
        assert!(
            err.contains("toolchain version") && err.contains("runs past"),
            "{err}"
        );
        // A length just one past the end.
        let mut blob = inline_blob(b"go1.22.1", b"");
        blob.truncate(HEADER + 1 + 7);
        let err = read(&blob).expect_err("truncated");
        assert!(err.contains("length 8 runs past"), "{err}");
    }

    #[test]
    fn unframed_module_information_is_reported() {
        let data = inline_blob(b"go1.22.1", b"path\tx\n");
        let infos = read(&data).expect("decodes");
        assert_eq!(infos[0].modinfo, "");
        assert!(infos[0].problem.is_some());
        // An empty one is normal (GOPATH builds).
        let infos = read(&inline_blob(b"go1.16", b"")).expect("decodes");
        assert_eq!(infos[0].problem, None);
        // An empty or binary version is not Go's.
        assert!(read(&inline_blob(b"", b"")).is_err());
        assert!(read(&inline_blob(b"go\x001", b"")).is_err());
    }

    #[test]
    fn pointer_format_without_readable_headers_is_an_error() {
        let mut blob = MAGIC.to_vec();
        blob.extend_from_slice(&[8, 0]);
        blob.extend_from_slice(&0x1000u64.to_le_bytes());
        blob.extend_from_slice(&0x2000u64.to_le_bytes());
        blob.resize(HEADER, 0);
        let err = read(&blob).expect_err("cannot resolve");
        assert!(err.contains("headers cannot be read"), "{err}");
    }

    #[test]
    fn parses_module_lines_like_go() {
        let text = "path\texample.com/app/cmd/app\n\
            mod\texample.com/app\t(devel)\t\n\
            dep\tgithub.com/a/b\tv1.2.3\th1:abc=\n\
            dep\tgithub.com/c/d\tv0.1.0\n\
            =>\tgithub.com/fork/d\tv0.1.1\th1:def=\n\
            dep\tgithub.com/e/f\tv1.0.0\n\
            =>\t../f\t\t\n\
            dep\tbroken\n\
            =>\tx\ty\tz\n\
            build\t-ldflags=\"-s -X main.version=1.2.3\"\n\
            build\tvcs.time=2023-12-22T01:36:29Z\n\
            build\t\"we\\\"ird\"=`raw`\n\
            build\tnovalue\n\
            dep\tlast/line\tv1.0.0";
        let (bi, problems) = parse_modinfo("go1.22.1", text);
        assert_eq!(bi.path, "example.com/app/cmd/app");
        let main = bi.main.clone().expect("main");
        assert_eq!(
            (main.path.as_str(), main.version.as_str()),
            ("example.com/app", "(devel)")
        );
        assert_eq!(bi.deps.len(), 3, "{:?}", bi.deps);
        assert_eq!(bi.deps[0].sum, "h1:abc=");
        let d = bi.deps[1].replace.as_ref().expect("replaced");
        assert_eq!(
            (d.path.as_str(), d.version.as_str()),
            ("github.com/fork/d", "v0.1.1")
        );
        let f = bi.deps[2]
            .replace
            .as_ref()
            .expect("replaced by a directory");
        assert_eq!((f.path.as_str(), f.version.as_str()), ("../f", ""));
        assert_eq!(bi.setting("-ldflags"), Some("-s -X main.version=1.2.3"));
        assert_eq!(bi.setting("vcs.time"), Some("2023-12-22T01:36:29Z"));
        assert_eq!(bi.setting("we\"ird"), Some("raw"));
        // `dep broken` (one column), the `=>` after it (nothing to replace) and the
        // setting without `=`; the last line has no newline and is not read, as in Go.
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("line 8:"), "{problems:?}");
    }

    #[test]
    fn unquotes_go_strings() {
        assert_eq!(
            unquote_prefix(r#""a\"b\\c\x41\u00e9\101" rest"#),
            Some(("a\"b\\cAéA".to_owned(), 23))
        );
        assert_eq!(unquote_prefix("`a\\nb`x"), Some(("a\\nb".to_owned(), 6)));
        assert_eq!(unquote_prefix(r#""unterminated"#), None);
        assert_eq!(unquote_prefix(r#""bad \q""#), None);
    }
}
