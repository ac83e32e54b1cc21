//! The image as its layers stack up: which facts survive whiteouts and overrides, and
//! where symlinks lead in the final filesystem.

use crate::facts::{Artifact, Fact, LayerFacts};
use crate::path::is_at_or_below;

/// Most symlink hops followed before calling it a loop (Linux's own limit is 40).
const MAX_HOPS: usize = 40;

/// Why a path could not be resolved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LinkError {
    /// Too many hops: a loop.
    #[error("`{0}`: symlink loop (more than 40 hops)")]
    Loop(String),
}

/// A read-only view over the ordered facts of an image's layers (bottom first).
#[derive(Debug, Clone, Copy)]
pub struct ImageView<'a> {
    layers: &'a [LayerFacts],
}

impl<'a> ImageView<'a> {
    /// A view over layers, bottom first.
    pub fn new(layers: &'a [LayerFacts]) -> ImageView<'a> {
        ImageView { layers }
    }

    /// The layers.
    pub fn layers(&self) -> &'a [LayerFacts] {
        self.layers
    }

    /// Whether layer `layer`'s entry at `path` is deleted by a layer in `(layer, upto]`.
    pub fn deleted_between(&self, path: &str, layer: usize, upto: usize) -> bool {
        self.layers
            .iter()
            .enumerate()
            .take(upto + 1)
            .skip(layer + 1)
            .any(|(_, l)| {
                l.whiteouts.iter().any(|w| is_at_or_below(path, w))
                    || l.opaque_dirs
                        .iter()
                        .any(|d| path != d && is_at_or_below(path, d))
            })
    }

    /// Whether layer `layer`'s entry at `path` is in the final filesystem: not deleted by
    /// a whiteout or opaque directory above it, and not replaced by a higher layer.
    pub fn visible(&self, layer: usize, path: &str) -> bool {
        let top = self.layers.len().saturating_sub(1);
        if self.deleted_between(path, layer, top) {
            return false;
        }
        !self
            .layers
            .iter()
            .skip(layer + 1)
            .any(|l| l.matched.binary_search_by(|m| m.as_str().cmp(path)).is_ok())
    }

    /// Every artifact whose file is in the final filesystem, with its layer index.
    pub fn visible_artifacts(&self) -> Vec<(usize, &'a Artifact)> {
        self.layers
            .iter()
            .enumerate()
            .flat_map(|(i, l)| l.artifacts.iter().map(move |a| (i, a)))
            .filter(|(i, a)| self.visible(*i, &a.path))
            .collect()
    }

    /// The versions of a slot that lead, without a deletion in between, to the visible
    /// one at layer `top`: bottom first, ending at `top`.
    pub fn lineage(&self, analyzer: &str, slot: &str, top: usize) -> Vec<(usize, &'a Artifact)> {
        let mut chain: Vec<(usize, &'a Artifact)> = Vec::new();
        for i in (0..=top.min(self.layers.len().saturating_sub(1))).rev() {
            let here = self.layers[i]
                .artifacts
                .iter()
                .find(|a| a.analyzer == analyzer && a.slot() == slot);
            let Some(a) = here else { continue };
            if let Some(&(above, _)) = chain.last()
                && self.deleted_between(&a.path, i, above)
            {
                break;
            }
            chain.push((i, a));
        }
        chain.reverse();
        chain
    }

    /// Where `path` leads in the final filesystem, following symlinks (only those the
    /// analyzers asked about are known) and never leaving the image root: `..` at the
    /// root stays at the root, absolute targets start at the image root.
    pub fn resolve(&self, path: &str) -> Result<String, LinkError> {
        let mut current = path.to_owned();
        for _ in 0..MAX_HOPS {
            let Some(target) = self.visible_symlink(&current) else {
                return Ok(current);
            };
            let base = if target.starts_with('/') {
                String::new()
            } else {
                current
                    .rsplit_once('/')
                    .map_or(String::new(), |(d, _)| d.to_owned())
            };
            current = clamp_join(&base, target);
        }
        Err(LinkError::Loop(path.to_owned()))
    }

    fn visible_symlink(&self, path: &str) -> Option<&'a str> {
        self.layers.iter().enumerate().rev().find_map(|(i, l)| {
            l.symlinks
                .get(path)
                .filter(|_| self.visible(i, path))
                .map(String::as_str)
        })
    }

    /// The visible text of a release-style file, after resolving symlinks.
    pub fn text(&self, path: &str) -> Option<&'a str> {
        let resolved = self.resolve(path).ok()?;
        self.layers.iter().enumerate().rev().find_map(|(i, l)| {
            l.artifacts
                .iter()
                .find(|a| a.path == resolved && matches!(a.fact, Fact::Text { .. }))
                .filter(|a| self.visible(i, &a.path))
                .and_then(|a| match &a.fact {
                    Fact::Text { text } => Some(text.as_str()),
                    _ => None,
                })
        })
    }
}

/// Join `target` onto `base` lexically, with `..` stopping at the root.
fn clamp_join(base: &str, target: &str) -> String {
    let mut parts: Vec<&str> = base.split('/').filter(|p| !p.is_empty()).collect();
    for part in target.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text_artifact(path: &str, text: &str) -> Artifact {
        Artifact {
            analyzer: "release".into(),
            path: path.into(),
            slot: None,
            fact: Fact::Text { text: text.into() },
        }
    }

    #[test]
    fn whiteouts_opaque_dirs_and_overrides() {
        let mut l0 = LayerFacts::default();
        l0.artifacts.push(text_artifact("a/x", "0"));
        l0.artifacts.push(text_artifact("b/y", "0"));
        l0.artifacts.push(text_artifact("c/z", "0"));
        l0.matched = vec!["a/x".into(), "b/y".into(), "c/z".into()];
        let mut l1 = LayerFacts::default();
        l1.whiteouts.push("a".into());
        l1.opaque_dirs.push("b".into());
        l1.artifacts.push(text_artifact("c/z", "1"));
        l1.matched = vec!["c/z".into()];
        let layers = vec![l0, l1];
        let v = ImageView::new(&layers);
        assert!(!v.visible(0, "a/x"));
        assert!(!v.visible(0, "b/y"));
        assert!(!v.visible(0, "c/z"));
        assert!(v.visible(1, "c/z"));
        assert_eq!(v.text("c/z"), Some("1"));
        assert_eq!(v.text("a/x"), None);
        assert_eq!(v.visible_artifacts().len(), 1);
        assert_eq!(v.lineage("release", "c/z", 1).len(), 2);
    }

    #[test]
    fn symlinks_stay_inside_the_root() {
        let mut l0 = LayerFacts::default();
        l0.symlinks
            .insert("etc/os-release".into(), "../usr/lib/os-release".into());
        l0.symlinks
            .insert("etc/escape".into(), "../../../../usr/lib/os-release".into());
        l0.symlinks
            .insert("etc/abs".into(), "/usr/lib/os-release".into());
        l0.symlinks.insert("loop/a".into(), "b".into());
        l0.symlinks.insert("loop/b".into(), "a".into());
        l0.artifacts
            .push(text_artifact("usr/lib/os-release", "ID=debian"));
        l0.matched = vec![
            "etc/abs".into(),
            "etc/escape".into(),
            "etc/os-release".into(),
            "loop/a".into(),
            "loop/b".into(),
            "usr/lib/os-release".into(),
        ];
        let layers = vec![l0];
        let v = ImageView::new(&layers);
        assert_eq!(v.text("etc/os-release"), Some("ID=debian"));
        assert_eq!(v.resolve("etc/escape").as_deref(), Ok("usr/lib/os-release"));
        assert_eq!(v.resolve("etc/abs").as_deref(), Ok("usr/lib/os-release"));
        assert!(matches!(v.resolve("loop/a"), Err(LinkError::Loop(_))));
    }
}
