//! The layer cache: a second scan of an unchanged image reads no layer.

use keelhaul_test::builder::{Compression, Image, Layer};
use keelhaul_test::keelhaul;

const STATUS: &str = "Package: zlib1g\nStatus: install ok installed\nArchitecture: amd64\nSource: zlib\nVersion: 1:1.2.13.dfsg-1\n";

#[test]
fn a_cached_rescan_reads_no_layer() {
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let layout = s.join("layout");
    let cache = s.join("layer-cache");
    let built = Image::new()
        .layer(Layer::new().file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"))
        .layer(
            Layer::new()
                .compression(Compression::Zstd)
                .file("var/lib/dpkg/status", STATUS),
        )
        .write_oci_layout(&layout, "v1");
    let target = format!("oci:{}:v1", layout.display());
    let args = [
        "scan",
        target.as_str(),
        "--format",
        "json",
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    let first = keelhaul(s, &args).success().json();
    assert_eq!(first["packages"][0]["name"], "zlib1g");

    // Destroy every layer blob: a scan that read any layer would now fail.
    for (_, _, digest, _) in &built.layers {
        std::fs::write(layout.join("blobs/sha256").join(digest.hex()), b"gone").unwrap();
    }
    let second = keelhaul(s, &args).success().json();
    assert_eq!(
        second["packages"], first["packages"],
        "the cached facts give the same inventory"
    );

    // Without the cache the damage is seen in both layers.
    let uncached = keelhaul(s, &["scan", &target, "--format", "json", "--no-cache"]);
    assert_eq!(uncached.status.code(), Some(1));
    assert!(
        uncached.stderr.contains("Layer 0") && uncached.stderr.contains("Layer 1"),
        "{}",
        uncached.stderr
    );
}

#[test]
fn a_failed_layer_is_not_cached() {
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let layout = s.join("layout");
    let cache = s.join("layer-cache");
    let built = Image::new()
        .layer(Layer::new().file("var/lib/dpkg/status", STATUS))
        .write_oci_layout(&layout, "v1");
    let blob = layout.join("blobs/sha256").join(built.layers[0].2.hex());
    let good = std::fs::read(&blob).unwrap();
    let mut bad = good.clone();
    let last = bad.len() - 20;
    bad[last] ^= 0xff;
    std::fs::write(&blob, &bad).unwrap();
    let target = format!("oci:{}:v1", layout.display());
    let args = [
        "scan",
        target.as_str(),
        "--format",
        "json",
        "--cache-dir",
        cache.to_str().unwrap(),
    ];
    assert_eq!(keelhaul(s, &args).status.code(), Some(1));
    // Repaired, the layer is read again (nothing wrong was cached) and scans cleanly.
    std::fs::write(&blob, &good).unwrap();
    let report = keelhaul(s, &args).success().json();
    assert_eq!(report["complete"], true);
    assert_eq!(report["packages"][0]["version"], "1:1.2.13.dfsg-1");
}
