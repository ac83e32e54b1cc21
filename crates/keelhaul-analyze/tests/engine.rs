//! The layer engine on hand-built layers: dispatch by interests, hard links, whiteouts,
//! every compression, and stacking.
#![allow(clippy::unwrap_used)]

use keelhaul_analyze::{
    AnalyzeError, Analyzer, AnalyzerId, AnalyzerSet, Fact, FileInfo, ImageView, Interests,
    LayerEngine, NoProgress, Output,
};
use keelhaul_image::{OpenOptions, Target};
use keelhaul_test::builder::{Compression, Image, Layer};

/// Keeps the text of `etc/*.conf` files and `etc/exact`.
struct Keep;

impl Analyzer for Keep {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "keep",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&["etc/exact"], 1024).with_globs(&["etc/*.conf"])
    }

    fn analyze(
        &self,
        _file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        out.emit(Fact::Text {
            text: String::from_utf8_lossy(content).into_owned(),
        });
        Ok(())
    }
}

fn engine() -> LayerEngine {
    LayerEngine::new(AnalyzerSet::new(vec![Box::new(Keep)]).unwrap())
}

fn analyze(image: &Image) -> Vec<keelhaul_analyze::LayerFacts> {
    let dir = tempfile::tempdir().unwrap();
    image.write_oci_layout(dir.path(), "t");
    let target = Target::OciLayout {
        dir: dir.path().to_owned(),
        tag: Some("t".into()),
    };
    let opened = keelhaul_image::open(&target, &OpenOptions::default())
        .unwrap()
        .remove(0);
    engine()
        .analyze(&opened, &NoProgress)
        .into_iter()
        .map(|r| {
            assert!(r.error.is_none(), "{:?}", r.error);
            r.facts
        })
        .collect()
}

#[test]
fn only_wanted_files_are_read_in_every_compression() {
    for c in [Compression::None, Compression::Gzip, Compression::Zstd] {
        let image = Image::new().layer(
            Layer::new()
                .compression(c)
                .file("etc/a.conf", "A")
                .file("etc/sub/b.conf", "not wanted: * does not cross /")
                .file("etc/exact", "E")
                .file("usr/bin/big", vec![7u8; 1 << 20])
                .file("etc/huge.conf", vec![b'x'; 2048]),
        );
        let layers = analyze(&image);
        let paths: Vec<&str> = layers[0]
            .artifacts
            .iter()
            .map(|a| a.path.as_str())
            .collect();
        assert_eq!(paths, ["etc/a.conf", "etc/exact"], "{c:?}");
        assert_eq!(layers[0].stats.analyzed_files, 2);
        assert!(
            layers[0]
                .warnings
                .iter()
                .any(|w| w.contains("etc/huge.conf") && w.contains("limit")),
            "{:?}",
            layers[0].warnings
        );
    }
}

#[test]
fn hard_links_share_their_targets_facts() {
    let image = Image::new().layer(
        Layer::new()
            .file("etc/a.conf", "shared")
            .hardlink("etc/b.conf", "etc/a.conf")
            .file("opt/x", "y")
            .hardlink("etc/c.conf", "opt/x"),
    );
    let layers = analyze(&image);
    let b = layers[0]
        .artifacts
        .iter()
        .find(|a| a.path == "etc/b.conf")
        .expect("linked file analysed");
    assert_eq!(
        b.fact,
        Fact::Text {
            text: "shared".into()
        }
    );
    // The target of c.conf was not wanted, so its content was never read: say so.
    assert!(
        layers[0]
            .warnings
            .iter()
            .any(|w| w.contains("etc/c.conf") && w.contains("opt/x")),
        "{:?}",
        layers[0].warnings
    );
}

#[test]
fn whiteouts_and_opaque_dirs_hide_lower_layers() {
    let image = Image::new()
        .layer(
            Layer::new()
                .file("etc/a.conf", "0")
                .file("etc/exact", "0")
                .dir("etc/d")
                .file("etc/d/x.conf", "0"),
        )
        .layer(
            Layer::new()
                .whiteout("etc/a.conf")
                .opaque("etc/d")
                .file("etc/exact", "1"),
        );
    let layers = analyze(&image);
    let view = ImageView::new(&layers);
    let visible: Vec<(usize, &str)> = view
        .visible_artifacts()
        .iter()
        .map(|(l, a)| (*l, a.path.as_str()))
        .collect();
    assert_eq!(visible, [(1, "etc/exact")]);
    assert_eq!(view.text("etc/exact"), Some("1"));
}

/// Wants ELF executables wherever they are.
struct Elf;

impl Analyzer for Elf {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "elf",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], 1 << 20).with_executables(&[*b"\x7fELF"])
    }

    fn analyze(
        &self,
        _file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        out.emit(Fact::Text {
            text: content.len().to_string(),
        });
        Ok(())
    }
}

#[test]
fn executables_are_chosen_by_mode_and_magic() {
    let elf = [b"\x7fELF".as_slice(), &[2u8; 100]].concat();
    let image = Image::new().layer(
        Layer::new()
            .compression(Compression::Gzip)
            .file_mode("usr/bin/tool", &elf, 0o755)
            .file_mode("usr/lib/not-executable.so", &elf, 0o644)
            .file_mode("usr/bin/script", "#!/bin/sh\necho hi\n", 0o755)
            .file_mode("usr/bin/tiny", "ab", 0o755),
    );
    let dir = tempfile::tempdir().unwrap();
    image.write_oci_layout(dir.path(), "t");
    let target = Target::OciLayout {
        dir: dir.path().to_owned(),
        tag: Some("t".into()),
    };
    let opened = keelhaul_image::open(&target, &OpenOptions::default())
        .unwrap()
        .remove(0);
    let engine = LayerEngine::new(AnalyzerSet::new(vec![Box::new(Elf)]).unwrap());
    let facts = engine.analyze(&opened, &NoProgress).remove(0).facts;
    let found: Vec<(&str, &Fact)> = facts
        .artifacts
        .iter()
        .map(|a| (a.path.as_str(), &a.fact))
        .collect();
    // The whole file is handed over, magic included; the script and the non-executable
    // ELF are not.
    assert_eq!(
        found,
        [("usr/bin/tool", &Fact::Text { text: "104".into() })]
    );
}

/// Sees every shell script (by its `#!` head), whatever its path; asks for special modes.
struct Scripts;

impl Analyzer for Scripts {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "scripts",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests {
            special_modes: true,
            ..Interests::content(64)
        }
    }

    fn wants_file(&self, _file: &FileInfo<'_>, head: &[u8]) -> bool {
        head.starts_with(b"#!")
    }

    fn analyze(
        &self,
        _file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        out.emit(Fact::Text {
            text: String::from_utf8_lossy(content).into_owned(),
        });
        Ok(())
    }
}

#[test]
fn content_scanners_choose_by_head_and_special_modes_are_recorded() {
    for c in [Compression::None, Compression::Gzip] {
        let image = Image::new().layer(
            Layer::new()
                .compression(c)
                .file("opt/run", "#!/bin/sh\necho hi\n")
                .file("opt/data", "no shebang here")
                .file("opt/big", format!("#!/bin/sh\n{}", "x".repeat(100)))
                .file_mode("usr/bin/su", "ELF-ish", 0o4755)
                .file_mode("srv/open", "anyone may write", 0o666)
                .file_mode("usr/bin/ls", "ELF-ish", 0o755),
        );
        let dir = tempfile::tempdir().unwrap();
        image.write_oci_layout(dir.path(), "t");
        let target = Target::OciLayout {
            dir: dir.path().to_owned(),
            tag: Some("t".into()),
        };
        let opened = keelhaul_image::open(&target, &OpenOptions::default())
            .unwrap()
            .remove(0);
        let engine = LayerEngine::new(AnalyzerSet::new(vec![Box::new(Scripts)]).unwrap());
        let facts = engine.analyze(&opened, &NoProgress).remove(0).facts;
        let mut got: Vec<(String, String)> = facts
            .artifacts
            .iter()
            .map(|a| {
                let what = match &a.fact {
                    Fact::Text { text } => format!("text:{}", text.len()),
                    Fact::Mode { mode, dir, .. } => format!("mode:{mode:o}:{dir}"),
                    other => format!("{other:?}"),
                };
                (a.path.clone(), what)
            })
            .collect();
        got.sort();
        assert_eq!(
            got,
            vec![
                ("opt/run".to_owned(), "text:18".to_owned()),
                ("srv/open".to_owned(), "mode:666:false".to_owned()),
                ("usr/bin/su".to_owned(), "mode:4755:false".to_owned()),
            ],
            "{c:?}: the big script is over the scanner's cap, the plain file has no shebang"
        );
    }
}
