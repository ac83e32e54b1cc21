//! Hand-assembled images: exact control over every tar header, for edge cases and hostile
//! input that real tools refuse to produce.

use std::io::Write;
use std::path::Path;

use keelhaul_core::Digest;
use serde_json::{Value, json};

/// Layer compression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

/// One tar entry.
#[derive(Debug, Clone)]
enum Entry {
    File {
        name: Vec<u8>,
        data: Vec<u8>,
        mode: u32,
    },
    Dir {
        name: Vec<u8>,
    },
    Symlink {
        name: Vec<u8>,
        target: Vec<u8>,
    },
    Hardlink {
        name: Vec<u8>,
        target: Vec<u8>,
    },
}

/// A layer being assembled.
#[derive(Debug, Clone)]
pub struct Layer {
    entries: Vec<Entry>,
    pub compression: Compression,
    pub created_by: String,
}

impl Default for Layer {
    fn default() -> Self {
        Layer {
            entries: Vec::new(),
            compression: Compression::Gzip,
            created_by: "test layer".into(),
        }
    }
}

impl Layer {
    pub fn new() -> Layer {
        Layer::default()
    }

    pub fn compression(mut self, c: Compression) -> Layer {
        self.compression = c;
        self
    }

    pub fn created_by(mut self, s: &str) -> Layer {
        self.created_by = s.into();
        self
    }

    /// A regular file; the name is written as given (no validation: `../x` and `/x` stay).
    pub fn file(mut self, name: &str, data: impl AsRef<[u8]>) -> Layer {
        self.entries.push(Entry::File {
            name: name.as_bytes().to_vec(),
            data: data.as_ref().to_vec(),
            mode: 0o644,
        });
        self
    }

    pub fn file_mode(mut self, name: &str, data: impl AsRef<[u8]>, mode: u32) -> Layer {
        self.entries.push(Entry::File {
            name: name.as_bytes().to_vec(),
            data: data.as_ref().to_vec(),
            mode,
        });
        self
    }

    pub fn dir(mut self, name: &str) -> Layer {
        self.entries.push(Entry::Dir {
            name: name.as_bytes().to_vec(),
        });
        self
    }

    pub fn symlink(mut self, name: &str, target: &str) -> Layer {
        self.entries.push(Entry::Symlink {
            name: name.as_bytes().to_vec(),
            target: target.as_bytes().to_vec(),
        });
        self
    }

    pub fn hardlink(mut self, name: &str, target: &str) -> Layer {
        self.entries.push(Entry::Hardlink {
            name: name.as_bytes().to_vec(),
            target: target.as_bytes().to_vec(),
        });
        self
    }

    /// Every file, directory and symlink under `dir` (sorted, parents first), named
    /// `prefix/relative-path`; file modes are kept.
    pub fn tree(mut self, dir: &Path, prefix: &str) -> Layer {
        fn walk(layer: &mut Layer, dir: &Path, name: &str) {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .map(|e| e.unwrap())
                .collect();
            entries.sort_by_key(|e| e.file_name());
            for e in entries {
                let path = e.path();
                let file_name = e.file_name().to_str().unwrap().to_owned();
                let child = if name.is_empty() {
                    file_name
                } else {
                    format!("{name}/{file_name}")
                };
                let ft = e.file_type().unwrap();
                if ft.is_symlink() {
                    let target = std::fs::read_link(&path).unwrap();
                    layer.entries.push(Entry::Symlink {
                        name: child.into_bytes(),
                        target: target.to_str().unwrap().as_bytes().to_vec(),
                    });
                } else if ft.is_dir() {
                    layer.entries.push(Entry::Dir {
                        name: child.clone().into_bytes(),
                    });
                    walk(layer, &path, &child);
                } else if ft.is_file() {
                    use std::os::unix::fs::PermissionsExt;
                    let mode = e.metadata().unwrap().permissions().mode() & 0o7777;
                    layer.entries.push(Entry::File {
                        name: child.into_bytes(),
                        data: std::fs::read(&path).unwrap(),
                        mode,
                    });
                }
            }
        }
        let prefix = prefix.trim_matches('/');
        let mut parent = String::new();
        for part in prefix.split('/').filter(|p| !p.is_empty()) {
            if !parent.is_empty() {
                parent.push('/');
            }
            parent.push_str(part);
            self.entries.push(Entry::Dir {
                name: parent.clone().into_bytes(),
            });
        }
        walk(&mut self, dir, prefix);
        self
    }

    /// `.wh.NAME` deleting `path` from lower layers.
    pub fn whiteout(self, path: &str) -> Layer {
        let (dir, name) = path.rsplit_once('/').map_or(("", path), |(d, n)| (d, n));
        let wh = if dir.is_empty() {
            format!(".wh.{name}")
        } else {
            format!("{dir}/.wh.{name}")
        };
        self.file(&wh, b"")
    }

    /// `.wh..wh..opq` hiding the lower layers' content of `dir`.
    pub fn opaque(self, dir: &str) -> Layer {
        self.file(&format!("{dir}/.wh..wh..opq"), b"")
    }

    /// The uncompressed tar.
    pub fn tar(&self) -> Vec<u8> {
        let mut b = tar::Builder::new(Vec::new());
        for e in &self.entries {
            let mut h = tar::Header::new_gnu();
            h.set_mtime(1_700_000_000);
            h.set_uid(0);
            h.set_gid(0);
            let (name, data): (&[u8], &[u8]) = match e {
                Entry::File { name, data, mode } => {
                    h.set_entry_type(tar::EntryType::Regular);
                    h.set_mode(*mode);
                    h.set_size(data.len() as u64);
                    (name, data)
                }
                Entry::Dir { name } => {
                    h.set_entry_type(tar::EntryType::Directory);
                    h.set_mode(0o755);
                    h.set_size(0);
                    (name, &[])
                }
                Entry::Symlink { name, target } | Entry::Hardlink { name, target } => {
                    h.set_entry_type(if matches!(e, Entry::Symlink { .. }) {
                        tar::EntryType::Symlink
                    } else {
                        tar::EntryType::Link
                    });
                    h.set_mode(0o777);
                    h.set_size(0);
                    set_raw(&mut h.as_old_mut().linkname, target);
                    (name, &[])
                }
            };
            // Names are written raw, bypassing the tar crate's checks, so tests can make
            // the hostile archives real images sometimes contain. Names that do not fit
            // the header get a GNU long-name entry first (real trees have them).
            if name.len() >= 100 {
                let mut long = tar::Header::new_gnu();
                set_raw(&mut long.as_old_mut().name, b"././@LongLink");
                long.set_entry_type(tar::EntryType::GNULongName);
                long.set_mode(0o644);
                long.set_mtime(1_700_000_000);
                let mut data = name.to_vec();
                data.push(0);
                long.set_size(data.len() as u64);
                long.set_cksum();
                b.append(&long, data.as_slice()).unwrap();
                set_raw(&mut h.as_old_mut().name, &name[..99]);
            } else {
                set_raw(&mut h.as_old_mut().name, name);
            }
            h.set_cksum();
            b.append(&h, data).unwrap();
        }
        b.into_inner().unwrap()
    }

    /// (stored blob, diff id, blob digest).
    pub fn blob(&self) -> (Vec<u8>, Digest, Digest) {
        let tar = self.tar();
        let diff_id = Digest::sha256_of(&tar);
        let blob = compress(&tar, self.compression);
        let digest = Digest::sha256_of(&blob);
        (blob, diff_id, digest)
    }
}

fn set_raw(field: &mut [u8], value: &[u8]) {
    assert!(
        value.len() < field.len(),
        "name too long for a plain tar header: {}",
        String::from_utf8_lossy(value)
    );
    field.fill(0);
    field[..value.len()].copy_from_slice(value);
}

/// Compress bytes.
pub fn compress(data: &[u8], c: Compression) -> Vec<u8> {
    match c {
        Compression::None => data.to_vec(),
        Compression::Gzip => {
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(data).unwrap();
            e.finish().unwrap()
        }
        Compression::Zstd => zstd::encode_all(data, 3).unwrap(),
    }
}

/// The media type of a layer blob.
pub fn layer_media_type(c: Compression) -> &'static str {
    match c {
        Compression::None => "application/vnd.oci.image.layer.v1.tar",
        Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
        Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
    }
}

/// An image: layers plus config settings.
#[derive(Debug, Clone)]
pub struct Image {
    pub layers: Vec<Layer>,
    pub os: String,
    pub architecture: String,
    pub variant: Option<String>,
    pub config: Value,
    pub created: String,
}

impl Default for Image {
    fn default() -> Self {
        Image {
            layers: Vec::new(),
            os: "linux".into(),
            architecture: "amd64".into(),
            variant: None,
            config: json!({"Env": ["PATH=/usr/bin:/bin"], "Cmd": ["/bin/sh"]}),
            created: "2025-01-01T00:00:00Z".into(),
        }
    }
}

/// Blobs of one image, ready to write.
pub struct Built {
    pub layers: Vec<(Vec<u8>, Digest, Digest, Compression)>,
    pub config: Vec<u8>,
    pub config_digest: Digest,
    pub manifest: Vec<u8>,
    pub manifest_digest: Digest,
}

impl Image {
    pub fn new() -> Image {
        Image::default()
    }

    pub fn layer(mut self, l: Layer) -> Image {
        self.layers.push(l);
        self
    }

    pub fn platform(mut self, os: &str, arch: &str, variant: Option<&str>) -> Image {
        self.os = os.into();
        self.architecture = arch.into();
        self.variant = variant.map(Into::into);
        self
    }

    pub fn build(&self) -> Built {
        let layers: Vec<_> = self
            .layers
            .iter()
            .map(|l| {
                let (blob, diff, digest) = l.blob();
                (blob, diff, digest, l.compression)
            })
            .collect();
        let mut config = json!({
            "created": self.created,
            "architecture": self.architecture,
            "os": self.os,
            "config": self.config,
            "rootfs": {"type": "layers", "diff_ids": layers.iter().map(|l| l.1.to_string()).collect::<Vec<_>>()},
            "history": self.layers.iter().map(|l| json!({"created": self.created, "created_by": l.created_by})).collect::<Vec<_>>(),
        });
        if let Some(v) = &self.variant {
            config["variant"] = json!(v);
        }
        let config = serde_json::to_vec(&config).unwrap();
        let config_digest = Digest::sha256_of(&config);
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": config_digest.to_string(), "size": config.len()},
            "layers": layers.iter().map(|(blob, _, digest, c)| json!({
                "mediaType": layer_media_type(*c), "digest": digest.to_string(), "size": blob.len()
            })).collect::<Vec<_>>(),
        }))
        .unwrap();
        let manifest_digest = Digest::sha256_of(&manifest);
        Built {
            layers,
            config,
            config_digest,
            manifest,
            manifest_digest,
        }
    }

    /// Write as an OCI image layout directory with one tagged manifest.
    pub fn write_oci_layout(&self, dir: &Path, tag: &str) -> Built {
        let built = self.build();
        write_blob(dir, &built.config);
        write_blob(dir, &built.manifest);
        for (blob, ..) in &built.layers {
            write_blob(dir, blob);
        }
        let descriptor = json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": built.manifest_digest.to_string(),
            "size": built.manifest.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        });
        write_index(dir, vec![descriptor]);
        built
    }

    /// Write as a docker-archive (`docker save` format), layers stored as built.
    pub fn write_docker_archive(&self, file: &Path, repo_tag: &str) -> Built {
        write_docker_archive(file, &[(self, repo_tag)]).remove(0)
    }
}

/// Write several images into one docker-archive, each with one tag. Uncompressed layers
/// are named `<diff-id>.tar` (skopeo's layout), compressed ones `blobs/sha256/<digest>`
/// (Docker 25+).
pub fn write_docker_archive(file: &Path, images: &[(&Image, &str)]) -> Vec<Built> {
    let mut b = tar::Builder::new(std::fs::File::create(file).unwrap());
    let mut written = std::collections::HashSet::new();
    let mut add = |b: &mut tar::Builder<std::fs::File>, name: &str, data: &[u8]| {
        if written.insert(name.to_owned()) {
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, name, data).unwrap();
        }
    };
    let mut entries = Vec::new();
    let mut all = Vec::new();
    for (image, repo_tag) in images {
        let built = image.build();
        let config_name = format!("{}.json", built.config_digest.hex());
        add(&mut b, &config_name, &built.config);
        let mut layer_names = Vec::new();
        for (blob, diff_id, digest, c) in &built.layers {
            let name = if *c == Compression::None {
                format!("{}.tar", diff_id.hex())
            } else {
                format!("blobs/sha256/{}", digest.hex())
            };
            add(&mut b, &name, blob);
            layer_names.push(name);
        }
        entries.push(json!({"Config": config_name, "RepoTags": [repo_tag], "Layers": layer_names}));
        all.push(built);
    }
    add(
        &mut b,
        "manifest.json",
        &serde_json::to_vec(&entries).unwrap(),
    );
    b.into_inner().unwrap().flush().unwrap();
    all
}

/// Write a blob into a layout's `blobs/sha256/`.
pub fn write_blob(dir: &Path, data: &[u8]) -> Digest {
    let d = Digest::sha256_of(data);
    let path = dir.join("blobs/sha256");
    std::fs::create_dir_all(&path).unwrap();
    std::fs::write(path.join(d.hex()), data).unwrap();
    d
}

/// Write `index.json` and `oci-layout`.
pub fn write_index(dir: &Path, manifests: Vec<Value>) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::write(dir.join("oci-layout"), br#"{"imageLayoutVersion":"1.0.0"}"#).unwrap();
    let index = json!({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json", "manifests": manifests});
    std::fs::write(dir.join("index.json"), serde_json::to_vec(&index).unwrap()).unwrap();
}

/// Write a multi-platform layout: one index blob listing each image, tagged in index.json.
pub fn write_multi_platform_layout(dir: &Path, images: &[Image], tag: &str) -> Digest {
    let mut children = Vec::new();
    for img in images {
        let built = img.build();
        write_blob(dir, &built.config);
        write_blob(dir, &built.manifest);
        for (blob, ..) in &built.layers {
            write_blob(dir, blob);
        }
        let mut platform = json!({"os": img.os, "architecture": img.architecture});
        if let Some(v) = &img.variant {
            platform["variant"] = json!(v);
        }
        children.push(json!({
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": built.manifest_digest.to_string(),
            "size": built.manifest.len(),
            "platform": platform,
        }));
    }
    let index = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": children,
    }))
    .unwrap();
    let index_digest = write_blob(dir, &index);
    write_index(
        dir,
        vec![json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "digest": index_digest.to_string(),
            "size": index.len(),
            "annotations": {"org.opencontainers.image.ref.name": tag},
        })],
    );
    index_digest
}

/// Write an oci-archive: a tar of a layout directory.
pub fn tar_directory(dir: &Path, file: &Path) {
    let mut b = tar::Builder::new(std::fs::File::create(file).unwrap());
    b.append_dir_all(".", dir).unwrap();
    b.into_inner().unwrap().flush().unwrap();
}
