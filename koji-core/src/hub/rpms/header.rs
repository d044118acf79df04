//! Reading RPM files: the 96-byte lead, the signature header (padded to a
//! multiple of 8 bytes) and the main header. The `rpm` crate parses the
//! headers; the raw signature-header bytes (`rip_rpm_sighdr`), splicing a
//! signature header into a copy, and the OpenPGP key id of a signature are
//! done here.
//!
//! Values are shaped as upstream sees them through rpm's Python binding
//! (`koji.get_header_field`): a tag whose return type is an array gives a
//! list (empty when missing), any other tag its first value (or None);
//! legacy signature tags are merged into the main header as rpm does.

use super::tagtable::{NAMES, TAGS};
use crate::error::{Error, Result};
use rpm::IndexData;
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Size of the lead before the signature header.
pub const LEAD_SIZE: usize = 96;
const MAGIC: [u8; 3] = [0x8e, 0xad, 0xe8];
const ARRAY_RETURN: u32 = 0x20000;
const FILECLASS: u32 = 1141;
const CLASSDICT: u32 = 1142;

pub const SIGTAG_DSA: u32 = 267;
pub const SIGTAG_RSA: u32 = 268;
pub const SIGTAG_PGP: u32 = 1002;
pub const SIGTAG_MD5: u32 = 1004;
pub const SIGTAG_GPG: u32 = 1005;

/// What upstream's hub reports when rpm cannot read a package header
/// (rpm's Python binding raises `rpm.error`, a non-koji exception).
pub fn header_error() -> Error {
    Error::Fault {
        code: 1,
        message: "<class '_rpm.error'>: error reading package header".into(),
    }
}

/// The byte size of a header starting at `buf[0]`: 16-byte intro, index
/// and data (`pad`: rounded up to 8, as the signature header is).
fn header_size(intro: &[u8], pad: bool) -> Option<usize> {
    if intro.len() < 16 || intro[0..3] != MAGIC {
        return None;
    }
    let il = u32::from_be_bytes(intro[8..12].try_into().ok()?) as usize;
    let dl = u32::from_be_bytes(intro[12..16].try_into().ok()?) as usize;
    // rpm's own limits: at most 0xffff entries and 256 MiB of data
    if il > 0xffff || dl > 0x0fff_ffff {
        return None;
    }
    let mut size = 16 + 16 * il + dl;
    if pad {
        size += (8 - size % 8) % 8;
    }
    Some(size)
}

/// Reads exactly `n` bytes, or fewer at end of file.
fn read_up_to(f: &mut impl Read, n: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(n.min(1 << 20));
    f.take(n as u64).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Upstream's `koji.rip_rpm_sighdr` error for a bad signature header magic.
fn bad_magic(found: &[u8]) -> Error {
    Error::Generic(format!(
        "Invalid rpm: bad magic: {}",
        py_bytes_repr(&found[..found.len().min(3)])
    ))
}

/// Python's `repr()` of a bytes value.
pub fn py_bytes_repr(b: &[u8]) -> String {
    let quote = if b.contains(&b'\'') && !b.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = format!("b{quote}");
    for &c in b {
        match c {
            b'\\' => out.push_str("\\\\"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            c if c as char == quote => {
                out.push('\\');
                out.push(c as char)
            }
            0x20..=0x7e => out.push(c as char),
            c => out.push_str(&format!("\\x{c:02x}")),
        }
    }
    out.push(quote);
    out
}

/// Upstream's `koji.rip_rpm_sighdr`: the raw signature header (with its
/// padding) of the RPM at `path`, and its offset.
pub fn rip_sighdr(path: &Path) -> Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let lead = read_up_to(&mut f, LEAD_SIZE)?;
    let intro = read_up_to(&mut f, 16)?;
    if lead.len() < LEAD_SIZE || intro.len() < 3 || intro[0..3] != MAGIC {
        return Err(bad_magic(&intro));
    }
    let size = header_size(&intro, true).ok_or_else(header_error)?;
    let mut sighdr = intro;
    sighdr.extend(read_up_to(&mut f, size - 16)?);
    Ok(sighdr)
}

/// An RPM's headers, read from its file.
pub struct RpmHeaders {
    /// The raw signature header, padding included.
    pub sighdr: Vec<u8>,
    /// The main header's entries, with the legacy signature tags merged in
    /// (as rpm's `headerMergeLegacySigs` does), by tag number.
    entries: BTreeMap<u32, IndexData>,
}

/// An rpm-python-like value.
#[derive(Debug, Clone, PartialEq)]
pub enum HVal {
    None,
    Int(u64),
    Str(String),
    Bytes(Vec<u8>),
    List(Vec<HVal>),
}

impl HVal {
    fn is_empty(&self) -> bool {
        match self {
            HVal::None => true,
            HVal::List(l) => l.is_empty(),
            _ => false,
        }
    }

    pub fn as_int(&self) -> Option<i64> {
        match self {
            HVal::Int(i) => Some(*i as i64),
            _ => None,
        }
    }

    pub fn as_str(&self) -> Option<&str> {
        match self {
            HVal::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_bytes(&self) -> Option<&[u8]> {
        match self {
            HVal::Bytes(b) => Some(b),
            _ => None,
        }
    }

    pub fn list(&self) -> Vec<HVal> {
        match self {
            HVal::List(l) => l.clone(),
            HVal::None => vec![],
            other => vec![other.clone()],
        }
    }

    /// As returned over XML-RPC after `koji.fixEncodingRecurse(...,
    /// remove_nonprintable=True)`. Bytes are sent as `<base64>`.
    pub fn to_json(&self) -> Json {
        match self {
            HVal::None => Json::Null,
            HVal::Int(i) => Json::from(*i),
            HVal::Str(s) => Json::String(remove_nonprintable(s)),
            HVal::Bytes(b) => crate::xmlrpc::bytes_json(b),
            HVal::List(l) => Json::Array(l.iter().map(HVal::to_json).collect()),
        }
    }
}

/// Upstream's `koji.removeNonprintable`: control characters other than
/// tab, newline and carriage return are dropped.
pub fn remove_nonprintable(s: &str) -> String {
    s.chars()
        .filter(|c| (*c as u32) >= 0x20 || matches!(c, '\t' | '\n' | '\r'))
        .collect()
}

/// The number of a header name (case-insensitive), as `rpm.RPMTAG_<NAME>`.
pub fn tag_number(name: &str) -> Option<u32> {
    let upper = name.to_uppercase();
    NAMES
        .binary_search_by(|(n, _)| (*n).cmp(upper.as_str()))
        .ok()
        .map(|i| NAMES[i].1)
}

fn tag_info(tag: u32) -> Option<(&'static str, u32)> {
    TAGS.binary_search_by_key(&tag, |(n, _, _)| *n)
        .ok()
        .map(|i| (TAGS[i].1, TAGS[i].2))
}

fn is_array(tag: u32) -> bool {
    tag_info(tag).is_some_and(|(_, t)| t & ARRAY_RETURN != 0)
}

fn items(data: &IndexData) -> Vec<HVal> {
    match data {
        IndexData::Null => vec![],
        IndexData::Char(v) | IndexData::Int8(v) => v.iter().map(|i| HVal::Int(*i as u64)).collect(),
        IndexData::Int16(v) => v.iter().map(|i| HVal::Int(*i as u64)).collect(),
        IndexData::Int32(v) => v.iter().map(|i| HVal::Int(*i as u64)).collect(),
        IndexData::Int64(v) => v.iter().map(|i| HVal::Int(*i)).collect(),
        IndexData::StringTag(s) => vec![HVal::Str(s.clone())],
        IndexData::StringArray(v) | IndexData::I18NString(v) => {
            v.iter().map(|s| HVal::Str(s.clone())).collect()
        }
        IndexData::Bin(b) => vec![HVal::Bytes(b.clone())],
    }
}

/// Where rpm files a legacy signature tag in the main header.
fn merged_sig_tag(sigtag: u32) -> Option<u32> {
    Some(match sigtag {
        1000 => 257,  // SIZE -> SIGSIZE
        1002 => 259,  // PGP -> SIGPGP
        1004 => 261,  // MD5 -> SIGMD5
        1005 => 262,  // GPG -> SIGGPG
        1006 => 263,  // PGP5 -> SIGPGP5
        1007 => 1046, // PAYLOADSIZE -> ARCHIVESIZE
        274 => 5090,  // FILESIGNATURES
        275 => 5091,  // FILESIGNATURELENGTH
        276 => 5092,  // VERITYSIGNATURES
        277 => 5093,  // VERITYSIGNATUREALGO
        t if (256..1000).contains(&t) => t,
        _ => return None,
    })
}

impl RpmHeaders {
    /// Reads the headers of the RPM at `path`. A file that is not a
    /// readable RPM gives upstream's `rpm.error` fault.
    pub fn read(path: &Path) -> Result<RpmHeaders> {
        let mut f = std::fs::File::open(path)?;
        let mut buf = read_up_to(&mut f, LEAD_SIZE + 16)?;
        if buf.len() < LEAD_SIZE + 16 {
            return Err(header_error());
        }
        let sigsize = header_size(&buf[LEAD_SIZE..], true).ok_or_else(header_error)?;
        buf.extend(read_up_to(&mut f, sigsize - 16 + 16)?);
        let hdr_start = LEAD_SIZE + sigsize;
        if buf.len() < hdr_start + 16 {
            return Err(header_error());
        }
        let hdrsize = header_size(&buf[hdr_start..], false).ok_or_else(header_error)?;
        buf.extend(read_up_to(&mut f, hdrsize - 16)?);
        if buf.len() < hdr_start + hdrsize {
            return Err(header_error());
        }
        Self::parse(&buf, sigsize)
    }

    fn parse(buf: &[u8], sigsize: usize) -> Result<RpmHeaders> {
        let meta = rpm::PackageMetadata::parse(&mut std::io::Cursor::new(buf))
            .map_err(|_| header_error())?;
        let mut entries = BTreeMap::new();
        for (tag, data) in meta.header.get_all_entries().map_err(|_| header_error())? {
            entries.insert(tag, data);
        }
        for (tag, data) in meta
            .signature
            .get_all_entries()
            .map_err(|_| header_error())?
        {
            if let Some(t) = merged_sig_tag(tag) {
                entries.entry(t).or_insert(data);
            }
        }
        Ok(RpmHeaders {
            sighdr: buf[LEAD_SIZE..LEAD_SIZE + sigsize].to_vec(),
            entries,
        })
    }

    fn raw(&self, tag: u32) -> Option<Vec<HVal>> {
        self.entries.get(&tag).map(items)
    }

    fn raw_str(&self, tag: u32) -> Option<String> {
        self.raw(tag)?
            .into_iter()
            .next()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    fn raw_list(&self, tag: u32) -> Vec<HVal> {
        self.raw(tag).unwrap_or_default()
    }

    /// rpm's computed ("extension") tags we know, when not in the header.
    fn extension(&self, tag: u32) -> Option<Vec<HVal>> {
        let s = |t| self.raw_str(t).unwrap_or_default();
        let epoch = self
            .raw(1003)
            .and_then(|v| v.first().and_then(HVal::as_int));
        let evr = || match epoch {
            Some(e) => format!("{e}:{}-{}", s(1001), s(1002)),
            None => format!("{}-{}", s(1001), s(1002)),
        };
        let one = |v: String| Some(vec![HVal::Str(v)]);
        match tag {
            5000 => Some(self.filenames(1117, 1118, 1116, 1027)),
            5007 => Some(self.filenames(1120, 1121, 1119, 0)),
            5013 => one(evr()),
            5014 => one(format!("{}-{}-{}", s(1000), s(1001), s(1002))),
            5015 => one(format!("{}-{}", s(1000), evr())),
            5016 => one(format!("{}-{}.{}", s(1000), evr(), s(1022))),
            1196 => one(format!("{}-{}-{}.{}", s(1000), s(1001), s(1002), s(1022))),
            5019 => Some(vec![HVal::Int(epoch.unwrap_or(0) as u64)]),
            5008 => self.raw(1028),
            5009 => self.raw(1009),
            271 => self.raw(1046),
            270 => self.raw(257),
            5017 => {
                let color = self
                    .raw_list(1140)
                    .iter()
                    .filter_map(HVal::as_int)
                    .fold(0, |a, c| a | c)
                    & 0x0f;
                Some(vec![HVal::Int(color as u64)])
            }
            _ => {
                // REQUIRENEVRS and friends: "name op version"
                let (n, f, v) = match tag {
                    5041 => (1049, 1048, 1050), // REQUIRE
                    5042 => (1047, 1112, 1113), // PROVIDE
                    5043 => (1090, 1114, 1115), // OBSOLETE
                    5044 => (1054, 1053, 1055), // CONFLICT
                    5058 => (5046, 5048, 5047), // RECOMMEND
                    5059 => (5049, 5051, 5050), // SUGGEST
                    5060 => (5052, 5054, 5053), // SUPPLEMENT
                    5061 => (5055, 5057, 5056), // ENHANCE
                    _ => return None,
                };
                let names = self.raw_list(n);
                let flags = self.raw_list(f);
                let versions = self.raw_list(v);
                Some(
                    names
                        .iter()
                        .enumerate()
                        .map(|(i, name)| {
                            let name = name.as_str().unwrap_or_default();
                            let ver = versions.get(i).and_then(HVal::as_str).unwrap_or("");
                            let fl = flags.get(i).and_then(HVal::as_int).unwrap_or(0);
                            if ver.is_empty() {
                                return HVal::Str(name.to_string());
                            }
                            let mut op = String::new();
                            if fl & 2 != 0 {
                                op.push('<');
                            }
                            if fl & 4 != 0 {
                                op.push('>');
                            }
                            if fl & 8 != 0 {
                                op.push('=');
                            }
                            HVal::Str(format!("{name} {op} {ver}"))
                        })
                        .collect(),
                )
            }
        }
    }

    fn filenames(&self, base: u32, dirs: u32, idx: u32, old: u32) -> Vec<HVal> {
        let bases = self.raw_list(base);
        if bases.is_empty() {
            return if old != 0 { self.raw_list(old) } else { vec![] };
        }
        let dirs = self.raw_list(dirs);
        let idx = self.raw_list(idx);
        bases
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let d = idx
                    .get(i)
                    .and_then(HVal::as_int)
                    .and_then(|j| dirs.get(j as usize))
                    .and_then(HVal::as_str)
                    .unwrap_or("");
                HVal::Str(format!("{d}{}", b.as_str().unwrap_or("")))
            })
            .collect()
    }

    /// rpm-python's `hdr[tag]`.
    pub fn get(&self, tag: u32) -> HVal {
        let values = if tag == FILECLASS {
            // rpm answers the class texts, not the stored CLASSDICT indexes
            self.raw(tag).map(|idx| {
                let dict = self.raw_list(CLASSDICT);
                idx.iter()
                    .map(|i| {
                        i.as_int()
                            .and_then(|i| dict.get(i as usize).cloned())
                            .unwrap_or(HVal::Str(String::new()))
                    })
                    .collect()
            })
        } else {
            self.raw(tag).or_else(|| self.extension(tag))
        };
        if is_array(tag) {
            HVal::List(values.unwrap_or_default())
        } else {
            values
                .and_then(|v| v.into_iter().next())
                .unwrap_or(HVal::None)
        }
    }

    /// Upstream's `koji.get_header_field(hdr, name)`.
    pub fn field(&self, name: &str) -> Result<HVal> {
        let upper = name.to_uppercase();
        let tag = tag_number(&upper)
            .ok_or_else(|| Error::Generic(format!("No such rpm header field: {upper}")))?;
        let mut value = self.get(tag);
        if matches!(
            upper.as_str(),
            "SIZE" | "ARCHIVESIZE" | "FILESIZES" | "SIGSIZE"
        ) && value.is_empty()
        {
            if let Some(t) = tag_number(&format!("LONG{upper}")) {
                value = self.get(t);
            }
        }
        if upper.starts_with("SIG") || upper.ends_with("HEADER") {
            return Ok(value);
        }
        Ok(decode(value))
    }

    /// Upstream's `koji.get_header_fields(path, names)`: with no names,
    /// every tag of the header under rpm's name for it.
    pub fn fields(&self, names: Option<&[String]>) -> Result<Map<String, Json>> {
        let mut out = Map::new();
        match names {
            Some(names) => {
                for n in names {
                    out.insert(n.clone(), self.field(n)?.to_json());
                }
            }
            None => {
                for tag in self.entries.keys() {
                    if (61..=64).contains(tag) {
                        continue;
                    }
                    if let Some((name, _)) = tag_info(*tag) {
                        out.insert(name.to_string(), self.field(name)?.to_json());
                    }
                }
            }
        }
        Ok(out)
    }

    /// `koji.hex_string` of the SIGMD5 tag (upstream's `payloadhash`).
    pub fn sigmd5_hex(&self) -> String {
        self.get(261).as_bytes().map(hex).unwrap_or_default()
    }
}

/// rpm-python returns undecodable strings as bytes; koji decodes bytes
/// that are valid UTF-8.
fn decode(v: HVal) -> HVal {
    match v {
        HVal::Bytes(b) => match String::from_utf8(b) {
            Ok(s) => HVal::Str(s),
            Err(e) => HVal::Bytes(e.into_bytes()),
        },
        HVal::List(l) => HVal::List(l.into_iter().map(decode).collect()),
        other => other,
    }
}

/// `koji.hex_string`.
pub fn hex(b: &[u8]) -> String {
    b.iter().map(|c| format!("{c:02x}")).collect()
}

/// A standalone header (a signature header given to `addRPMSig`), read
/// as upstream's `koji.RawHeader` does.
pub struct RawHeader<'a> {
    data: &'a [u8],
    index: BTreeMap<u32, (u32, usize, usize)>,
    store: usize,
}

impl<'a> RawHeader<'a> {
    pub fn new(data: &'a [u8]) -> Result<RawHeader<'a>> {
        if data.len() < 3 || data[0..3] != MAGIC {
            return Err(Error::Generic(format!(
                "Invalid rpm header: bad magic: {}",
                py_bytes_repr(&data[..data.len().min(3)])
            )));
        }
        let bad = || Error::generic("Invalid rpm header: truncated");
        let word = |at: usize| -> Result<usize> {
            data.get(at..at + 4)
                .map(|w| u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize)
                .ok_or_else(bad)
        };
        let il = word(8)?;
        let mut index = BTreeMap::new();
        for i in 0..il {
            let ofs = 16 + i * 16;
            let tag = word(ofs)? as u32;
            index.insert(
                tag,
                (word(ofs + 4)? as u32, word(ofs + 8)?, word(ofs + 12)?),
            );
        }
        Ok(RawHeader {
            data,
            index,
            store: 16 + il * 16,
        })
    }

    /// The raw value of a binary (or any) tag: for BIN entries the bytes,
    /// for others the bytes of the first item.
    pub fn get_bin(&self, tag: u32) -> Option<&'a [u8]> {
        let (dtype, offset, count) = *self.index.get(&tag)?;
        let pos = self.store.checked_add(offset)?;
        let len = match dtype {
            7 => count,
            2..=5 => count * (1 << (dtype - 2)),
            6 | 8 | 9 => self.data.get(pos..)?.iter().position(|b| *b == 0)?,
            _ => 0,
        };
        self.data.get(pos..pos.checked_add(len)?)
    }

    /// The signature packet of the first signature tag present (GPG, PGP,
    /// DSA, RSA, in upstream's order of preference).
    pub fn sig_packet(&self) -> Option<&'a [u8]> {
        [SIGTAG_GPG, SIGTAG_PGP, SIGTAG_DSA, SIGTAG_RSA]
            .into_iter()
            .filter_map(|t| self.get_bin(t))
            .find(|b| !b.is_empty())
    }
}

/// Upstream's `koji.get_sigpacket_key_id`: the last 4 bytes of the issuer
/// key id of an OpenPGP signature packet, as hex.
pub fn sigpacket_key_id(packet: &[u8]) -> Result<String> {
    let value_error = |m: &str| Error::Fault {
        code: 1,
        message: format!("<class 'ValueError'>: {m}"),
    };
    let short = || value_error("Invalid OpenPGP packet length");
    let b0 = *packet.first().ok_or_else(short)?;
    if b0 & 0x80 == 0 {
        return Err(value_error("Not an OpenPGP packet"));
    }
    let (tag, offset, length) = if b0 & 0x40 == 0 {
        let tag = (b0 & 0x3c) >> 2;
        match b0 & 3 {
            3 => (tag, 1, packet.len() - 1),
            lt => {
                let n = [1usize, 2, 4][lt as usize];
                let bytes = packet.get(1..1 + n).ok_or_else(short)?;
                let len = bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize);
                (tag, 1 + n, len)
            }
        }
    } else {
        let tag = b0 & 0x3f;
        let b1 = *packet.get(1).ok_or_else(short)? as usize;
        if b1 < 192 {
            (tag, 2, b1)
        } else if b1 < 224 {
            let b2 = *packet.get(2).ok_or_else(short)? as usize;
            (tag, 3, ((b1 - 192) << 8) + b2 + 192)
        } else if b1 == 255 {
            let bytes = packet.get(2..6).ok_or_else(short)?;
            (
                tag,
                6,
                bytes.iter().fold(0usize, |a, b| (a << 8) | *b as usize),
            )
        } else {
            return Err(Error::Fault {
                code: 1,
                message: "<class 'NotImplementedError'>: OpenPGP packet with partial body lengths"
                    .into(),
            });
        }
    };
    if packet.len() != offset + length {
        return Err(short());
    }
    if tag != 2 {
        return Err(value_error("Not a signature packet"));
    }
    let body = &packet[offset..];
    let not_impl = |m: String| Error::Fault {
        code: 1,
        message: format!("<class 'NotImplementedError'>: {m}"),
    };
    let key_id: Vec<u8> = match body.first() {
        Some(3) => body.get(11..15).ok_or_else(short)?.to_vec(),
        Some(4) => {
            let u16_at = |at: usize| -> Result<usize> {
                body.get(at..at + 2)
                    .map(|w| ((w[0] as usize) << 8) | w[1] as usize)
                    .ok_or_else(short)
            };
            let hashed_len = u16_at(4)?;
            let off = 6 + hashed_len;
            let mut ids = issuer_ids(body.get(6..off).ok_or_else(short)?);
            let unhashed_len = u16_at(off)?;
            ids.extend(issuer_ids(
                body.get(off + 2..off + 2 + unhashed_len)
                    .ok_or_else(short)?,
            ));
            if ids.len() != 1 {
                return Err(not_impl(format!(
                    "Unexpected number of key IDs: {}",
                    ids.len()
                )));
            }
            let id = &ids[0];
            id[id.len().saturating_sub(4)..].to_vec()
        }
        other => {
            return Err(not_impl(format!(
                "Unknown PGP signature packet version {}",
                other.copied().unwrap_or(0)
            )))
        }
    };
    Ok(hex(&key_id))
}

/// The issuer key ids (subpacket type 16) among v4 signature subpackets.
fn issuer_ids(mut subs: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![];
    while let Some(&b0) = subs.first() {
        let (len, off) = if b0 < 192 {
            (b0 as usize, 1)
        } else if b0 < 255 {
            let Some(&b1) = subs.get(1) else { break };
            ((((b0 as usize) - 192) << 8) + b1 as usize + 192, 2)
        } else {
            let Some(w) = subs.get(1..5) else { break };
            (u32::from_be_bytes([w[0], w[1], w[2], w[3]]) as usize, 5)
        };
        let Some(body) = subs.get(off..off + len) else {
            break;
        };
        if body.first() == Some(&16) {
            out.push(body[1..].to_vec());
        }
        subs = &subs[off + len..];
    }
    out
}

/// Writes `dst` as a copy of the RPM at `src` with its signature header
/// replaced by `sighdr` (upstream's `koji.splice_rpm_sighdr`), through a
/// temporary file renamed into place; `each` sees every chunk written.
pub fn splice_sighdr(sighdr: &[u8], src: &Path, dst: &Path, each: impl FnMut(&[u8])) -> Result<()> {
    let tmp = splice_sighdr_temp(sighdr, src, dst, each)?;
    tmp.persist(dst).map_err(|e| Error::Io(e.error))?;
    Ok(())
}

/// [`splice_sighdr`] into a temporary file in `dst`'s directory (created
/// if missing), left for the caller to put in place (or drop, which
/// removes it).
pub fn splice_sighdr_temp(
    sighdr: &[u8],
    src: &Path,
    dst: &Path,
    mut each: impl FnMut(&[u8]),
) -> Result<tempfile::NamedTempFile> {
    use std::io::Write;
    let old = rip_sighdr(src)?;
    let dir = dst
        .parent()
        .ok_or_else(|| Error::generic("bad destination"))?;
    std::fs::create_dir_all(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)?;
    let mut input = std::fs::File::open(src)?;
    let lead = read_up_to(&mut input, LEAD_SIZE)?;
    tmp.write_all(&lead)?;
    each(&lead);
    tmp.write_all(sighdr)?;
    each(sighdr);
    std::io::copy(
        &mut (&mut input).take(old.len() as u64),
        &mut std::io::sink(),
    )?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        tmp.write_all(&buf[..n])?;
        each(&buf[..n]);
    }
    tmp.as_file().sync_all()?;
    let perms = std::fs::metadata(src)?.permissions();
    std::fs::set_permissions(tmp.path(), perms)?;
    Ok(tmp)
}

/// The bytes of the RPM at `src` with `sighdr` spliced in, streamed to
/// `each` (upstream's `koji.spliced_sig_reader`).
pub fn read_spliced(sighdr: &[u8], src: &Path, mut each: impl FnMut(&[u8])) -> Result<()> {
    let old = rip_sighdr(src)?;
    let mut input = std::fs::File::open(src)?;
    each(&read_up_to(&mut input, LEAD_SIZE)?);
    each(sighdr);
    std::io::copy(
        &mut (&mut input).take(old.len() as u64),
        &mut std::io::sink(),
    )?;
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = input.read(&mut buf)?;
        if n == 0 {
            break;
        }
        each(&buf[..n]);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_case_insensitively() {
        assert_eq!(tag_number("name"), Some(1000));
        assert_eq!(tag_number("RequireName"), Some(1049));
        assert_eq!(tag_number("requires"), Some(1049));
        assert_eq!(tag_number("filenames"), Some(5000));
        assert_eq!(tag_number("bogus"), None);
        assert!(is_array(1028));
        assert!(!is_array(1000));
    }

    #[test]
    fn bytes_repr_like_python() {
        assert_eq!(py_bytes_repr(b""), "b''");
        assert_eq!(py_bytes_repr(b"no\x00"), "b'no\\x00'");
    }

    #[test]
    fn v4_key_ids() {
        // a v4 signature packet, old-format length, with one issuer subpacket
        let mut body = vec![4u8, 0, 1, 8];
        let hashed = [5u8, 2, 1, 2, 3, 4]; // creation time subpacket
        body.extend([0, hashed.len() as u8]);
        body.extend(hashed);
        let issuer = [9u8, 16, 1, 2, 3, 4, 0xab, 0xcd, 0xef, 0x01];
        body.extend([0, issuer.len() as u8]);
        body.extend(issuer);
        body.extend([0, 0]);
        let mut pkt = vec![0x88, body.len() as u8];
        pkt.extend(&body);
        assert_eq!(sigpacket_key_id(&pkt).unwrap(), "abcdef01");
        assert_eq!(
            sigpacket_key_id(&[0x01]).unwrap_err().to_string(),
            "<class 'ValueError'>: Not an OpenPGP packet"
        );
    }
}
