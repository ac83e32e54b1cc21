//! Local image sources: several images in one docker-archive, gzip layers in a
//! docker-archive, tags in OCI layouts and the errors that name what exists.

use keelhaul_test::builder::{self, Compression, Image, Layer};
use keelhaul_test::keelhaul;
use serde_json::Value;

fn image_with(package: &str, compression: Compression) -> Image {
    let status = format!(
        "Package: {package}\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0-1\n"
    );
    Image::new()
        .layer(
            Layer::new()
                .compression(compression)
                .file("etc/os-release", "ID=debian\nVERSION_ID=\"12\"\n"),
        )
        .layer(
            Layer::new()
                .compression(compression)
                .file("var/lib/dpkg/status", status),
        )
}

fn names(report: &Value) -> Vec<String> {
    report["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["name"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn docker_archive_with_several_images_is_selected_by_tag_or_position() {
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let archive = s.join("two.tar");
    let (a, b) = (
        image_with("alpha", Compression::None),
        image_with("beta", Compression::Gzip),
    );
    builder::write_docker_archive(
        &archive,
        &[(&a, "team/alpha:1"), (&b, "docker.io/team/beta:2")],
    );
    let scan = |sel: &str| {
        keelhaul(
            s,
            &[
                "scan",
                &format!("docker-archive:{}{sel}", archive.display()),
                "-f",
                "json",
                "--no-cache",
            ],
        )
    };

    assert_eq!(names(&scan(":team/alpha:1").success().json()), ["alpha"]);
    assert_eq!(
        names(&scan(":team/beta:2").success().json()),
        ["beta"],
        "docker.io/ is implied, gzip layers are read"
    );
    assert_eq!(names(&scan(":@1").success().json()), ["beta"]);

    let ambiguous = scan("");
    assert_eq!(ambiguous.status.code(), Some(1));
    assert!(
        ambiguous.stderr.contains("holds 2 images") && ambiguous.stderr.contains("team/alpha:1"),
        "{}",
        ambiguous.stderr
    );
    assert!(ambiguous.stderr.contains("hint:"), "{}", ambiguous.stderr);

    let missing = scan(":team/gamma:3");
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        missing.stderr.contains("No image tagged `team/gamma:3`")
            && missing.stderr.contains("docker.io/team/beta:2"),
        "{}",
        missing.stderr
    );
}

#[test]
fn oci_layout_tags_and_bare_path_detection() {
    let sandbox = tempfile::tempdir().unwrap();
    let s = sandbox.path();
    let layout = s.join("layout");
    image_with("alpha", Compression::Gzip).write_oci_layout(&layout, "v1");
    // A second tag in the same layout.
    let index: Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let mut first = index["manifests"][0].clone();
    let b = image_with("beta", Compression::Zstd).build();
    for blob in [&b.config, &b.manifest] {
        builder::write_blob(&layout, blob);
    }
    for (blob, ..) in &b.layers {
        builder::write_blob(&layout, blob);
    }
    let mut second = first.clone();
    second["digest"] = b.manifest_digest.to_string().into();
    second["size"] = b.manifest.len().into();
    second["annotations"]["org.opencontainers.image.ref.name"] = "v2".into();
    first["annotations"]["org.opencontainers.image.ref.name"] = "v1".into();
    builder::write_index(&layout, vec![first, second]);

    let scan = |t: &str| keelhaul(s, &["scan", t, "-f", "json", "--no-cache"]);
    assert_eq!(
        names(
            &scan(&format!("oci:{}:v2", layout.display()))
                .success()
                .json()
        ),
        ["beta"]
    );
    assert_eq!(
        names(
            &scan(&format!("oci:{}:v1", layout.display()))
                .success()
                .json()
        ),
        ["alpha"]
    );
    let untagged = scan(&format!("oci:{}", layout.display()));
    assert_eq!(untagged.status.code(), Some(1));
    assert!(untagged.stderr.contains("v1, v2"), "{}", untagged.stderr);
    let wrong = scan(&format!("oci:{}:v9", layout.display()));
    assert!(
        wrong.stderr.contains("No image tagged `v9`") && wrong.stderr.contains("v1, v2"),
        "{}",
        wrong.stderr
    );

    // Bare paths: a layout directory, an oci-archive and a docker-archive are told apart.
    let oci_archive = s.join("image.oci.tar");
    let single = s.join("single");
    image_with("gamma", Compression::Gzip).write_oci_layout(&single, "latest");
    builder::tar_directory(&single, &oci_archive);
    let docker = s.join("image.docker.tar");
    image_with("delta", Compression::None).write_docker_archive(&docker, "x/delta:1");
    for (path, want) in [
        (&single, "gamma"),
        (&oci_archive, "gamma"),
        (&docker, "delta"),
    ] {
        assert_eq!(
            names(&scan(path.to_str().unwrap()).success().json()),
            [want],
            "{}",
            path.display()
        );
    }
}
