//! Maven's `pom.xml`, without network resolution.

use std::collections::HashMap;

use keelhaul_analyze::{AnalyzeError, Analyzer, AnalyzerId, Fact, FileInfo, Interests, Output};
use keelhaul_core::{Evidence, Package};
use quick_xml::events::Event;

use super::{maven_package, valid_coordinate};

/// The `pom.xml` analyzer.
#[derive(Debug, Default)]
pub struct MavenPom;

/// A large real POM is a few hundred KB.
const MAX_POM: u64 = 16 << 20;

/// XML elements kept from one POM, and their nesting.
const MAX_NODES: usize = 500_000;
const MAX_DEPTH: usize = 64;

impl Analyzer for MavenPom {
    fn id(&self) -> AnalyzerId {
        AnalyzerId {
            name: "maven-pom",
            version: 1,
        }
    }

    fn interests(&self) -> Interests {
        Interests::paths(&[], MAX_POM).with_globs(&["**/pom.xml"])
    }

    fn analyze(
        &self,
        file: &FileInfo<'_>,
        content: &[u8],
        out: &mut Output<'_>,
    ) -> Result<(), AnalyzeError> {
        let (packages, problems) = parse_pom(content, file.path)?;
        for p in problems {
            out.warn(p);
        }
        out.emit(Fact::Packages {
            db: "pom.xml".into(),
            packages,
        });
        Ok(())
    }
}

/// An XML element: local name, text, children.
#[derive(Debug, Default)]
struct Node {
    name: String,
    text: String,
    children: Vec<Node>,
}

impl Node {
    fn child(&self, name: &str) -> Option<&Node> {
        self.children.iter().find(|c| c.name == name)
    }

    fn children<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a Node> + 'a {
        self.children.iter().filter(move |c| c.name == name)
    }

    fn text_of(&self, name: &str) -> Option<&str> {
        self.child(name)
            .map(|c| c.text.trim())
            .filter(|t| !t.is_empty())
    }
}

/// Parse XML into a tree of elements (namespaces dropped), bounded in nodes and depth.
fn parse_xml(text: &str) -> Result<Node, String> {
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().trim_text(true);
    let mut stack: Vec<Node> = vec![Node::default()];
    let mut nodes = 0usize;
    loop {
        let event = reader
            .read_event()
            .map_err(|e| format!("not valid XML: {e}"))?;
        match event {
            Event::Start(_) | Event::Empty(_) if stack.len() > MAX_DEPTH => {
                return Err(format!("XML nested deeper than {MAX_DEPTH} levels"));
            }
            Event::Start(e) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(format!("more than {MAX_NODES} XML elements"));
                }
                let name = e.local_name().as_ref().to_owned();
                stack.push(Node {
                    name,
                    ..Node::default()
                });
            }
            Event::Empty(e) => {
                nodes += 1;
                if nodes > MAX_NODES {
                    return Err(format!("more than {MAX_NODES} XML elements"));
                }
                let name = e.local_name().as_ref().to_owned();
                if let Some(parent) = stack.last_mut() {
                    parent.children.push(Node {
                        name,
                        ..Node::default()
                    });
                }
            }
            Event::End(_) => {
                if stack.len() < 2 {
                    return Err("not valid XML: unbalanced end tag".into());
                }
                if let Some(done) = stack.pop()
                    && let Some(parent) = stack.last_mut()
                {
                    parent.children.push(done);
                }
            }
            Event::Text(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.xml10_content());
                }
            }
            Event::CData(t) => {
                if let Some(n) = stack.last_mut() {
                    n.text.push_str(&t.into_inner());
                }
            }
            Event::GeneralRef(r) => {
                if let Some(n) = stack.last_mut() {
                    let name = r.into_inner();
                    let c = match name.as_ref() {
                        "amp" => Some('&'),
                        "lt" => Some('<'),
                        "gt" => Some('>'),
                        "quot" => Some('"'),
                        "apos" => Some('\''),
                        other => other
                            .strip_prefix("#x")
                            .and_then(|h| u32::from_str_radix(h, 16).ok())
                            .or_else(|| other.strip_prefix('#').and_then(|d| d.parse().ok()))
                            .and_then(char::from_u32),
                    };
                    n.text.extend(c);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if stack.len() != 1 {
        return Err("not valid XML: the document ends inside an element".into());
    }
    let root = stack.pop().unwrap_or_default();
    root.children
        .into_iter()
        .find(|r| r.name == "project")
        .ok_or_else(|| "not a POM: the root element is not <project>".to_owned())
}

/// The project a `pom.xml` describes and the dependencies it declares with a version, as
/// `declared` packages. Inheritance from `<parent>` and `${…}` properties are resolved
/// within the file only; dependencies whose version stays unknown are skipped, as are
/// version ranges.
pub(crate) fn parse_pom(
    content: &[u8],
    path: &str,
) -> Result<(Vec<Package>, Vec<String>), AnalyzeError> {
    let text = String::from_utf8_lossy(content);
    let project = parse_xml(text.trim_start_matches('\u{feff}')).map_err(AnalyzeError::new)?;
    let parent = project.child("parent");
    let parent_field = |f: &str| parent.and_then(|p| p.text_of(f));
    let group = project
        .text_of("groupId")
        .or_else(|| parent_field("groupId"));
    let artifact = project.text_of("artifactId");
    let version = project
        .text_of("version")
        .or_else(|| parent_field("version"));

    let mut props: HashMap<String, String> = HashMap::new();
    if let Some(p) = project.child("properties") {
        for c in &p.children {
            props.insert(c.name.clone(), c.text.trim().to_owned());
        }
    }
    let mut builtin = |k: &str, v: Option<&str>| {
        if let Some(v) = v {
            for prefix in ["project.", "pom.", ""] {
                props
                    .entry(format!("{prefix}{k}"))
                    .or_insert_with(|| v.to_owned());
            }
        }
    };
    builtin("groupId", group);
    builtin("artifactId", artifact);
    builtin("version", version);
    if let Some(p) = parent {
        for f in ["groupId", "artifactId", "version"] {
            if let Some(v) = p.text_of(f) {
                props.insert(format!("project.parent.{f}"), v.to_owned());
                props.insert(format!("parent.{f}"), v.to_owned());
            }
        }
    }
    let resolve = |s: &str| resolve_properties(s, &props);

    let mut problems = Vec::new();
    let mut packages = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut add = |g: &str, a: &str, v: &str, packages: &mut Vec<Package>| {
        if valid_coordinate(g)
            && valid_coordinate(a)
            && concrete_version(v)
            && seen.insert((g.to_owned(), a.to_owned(), v.to_owned()))
        {
            packages.push(maven_package(Some(g), a, v, path, Evidence::Declared));
        }
    };
    match (
        group.map(&resolve),
        artifact.map(&resolve),
        version.map(&resolve),
    ) {
        (Some(g), Some(a), Some(v)) => add(&g, &a, &v, &mut packages),
        _ => problems.push("the project's own coordinates are incomplete".to_owned()),
    }

    // Versions managed in this file, for dependencies that leave theirs out.
    let mut managed: HashMap<(String, String), String> = HashMap::new();
    if let Some(deps) = project
        .child("dependencyManagement")
        .and_then(|m| m.child("dependencies"))
    {
        for d in deps.children("dependency") {
            if let (Some(g), Some(a), Some(v)) = (
                d.text_of("groupId"),
                d.text_of("artifactId"),
                d.text_of("version"),
            ) {
                managed.insert((resolve(g), resolve(a)), resolve(v));
            }
        }
    }
    let mut dependency_lists: Vec<&Node> = project.children("dependencies").collect();
    dependency_lists.extend(
        project
            .child("dependencyManagement")
            .and_then(|m| m.child("dependencies")),
    );
    for list in dependency_lists {
        for d in list.children("dependency") {
            let (Some(g), Some(a)) = (d.text_of("groupId"), d.text_of("artifactId")) else {
                continue;
            };
            let (g, a) = (resolve(g), resolve(a));
            let v = match d.text_of("version") {
                Some(v) => resolve(v),
                None => match managed.get(&(g.clone(), a.clone())) {
                    Some(v) => v.clone(),
                    None => continue,
                },
            };
            add(&g, &a, &v, &mut packages);
        }
    }
    Ok((packages, problems))
}

/// Replace `${name}` with its value, repeatedly (properties may refer to others), at most
/// a few rounds; unknown names stay as written.
fn resolve_properties(s: &str, props: &HashMap<String, String>) -> String {
    let mut out = s.trim().to_owned();
    for _ in 0..8 {
        if !out.contains("${") {
            break;
        }
        let mut next = String::with_capacity(out.len());
        let mut rest = out.as_str();
        let mut changed = false;
        while let Some(start) = rest.find("${") {
            next.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            match after.find('}') {
                Some(end) => {
                    let key = &after[..end];
                    match props.get(key) {
                        Some(v) if v.len() < 1024 => {
                            next.push_str(v);
                            changed = true;
                        }
                        _ => {
                            next.push_str("${");
                            next.push_str(key);
                            next.push('}');
                        }
                    }
                    rest = &after[end + 1..];
                }
                None => {
                    next.push_str(&rest[start..]);
                    rest = "";
                }
            }
        }
        next.push_str(rest);
        out = next;
        if !changed {
            break;
        }
    }
    out
}

/// A single version, not a range (`[1.0,2.0)`) and not an unresolved property.
fn concrete_version(v: &str) -> bool {
    !v.is_empty()
        && !v.starts_with(['[', '('])
        && !v.contains(['$', '{', '}', ',', ' '])
        && v.len() <= 128
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn coords(xml: &str) -> Vec<String> {
        let (p, _) = parse_pom(xml.as_bytes(), "app/pom.xml").unwrap();
        p.iter()
            .map(|p| {
                assert_eq!(p.locations[0].evidence, Evidence::Declared);
                format!("{}@{}", p.name, p.version)
            })
            .collect()
    }

    #[test]
    fn project_parent_properties_and_dependencies() {
        let xml = r#"<?xml version="1.0" encoding="UTF-8"?>
<project xmlns="http://maven.apache.org/POM/4.0.0"
         xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
  <modelVersion>4.0.0</modelVersion>
  <parent>
    <groupId>org.springframework.boot</groupId>
    <artifactId>spring-boot-starter-parent</artifactId>
    <version>2.7.18</version>
  </parent>
  <artifactId>demo</artifactId>
  <properties>
    <log4j2.version>2.14.1</log4j2.version>
    <jackson.version>${jackson.major}.0</jackson.version>
    <jackson.major>2.13</jackson.major>
  </properties>
  <dependencyManagement>
    <dependencies>
      <dependency>
        <groupId>com.google.guava</groupId>
        <artifactId>guava</artifactId>
        <version>31.1-jre</version>
      </dependency>
    </dependencies>
  </dependencyManagement>
  <dependencies>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-core</artifactId>
      <version>${log4j2.version}</version>
    </dependency>
    <dependency>
      <groupId>com.fasterxml.jackson.core</groupId>
      <artifactId>jackson-databind</artifactId>
      <version>${jackson.version}</version>
    </dependency>
    <dependency>
      <groupId>${project.groupId}</groupId>
      <artifactId>demo-common</artifactId>
      <version>${project.version}</version>
    </dependency>
    <dependency>
      <groupId>com.google.guava</groupId>
      <artifactId>guava</artifactId>
    </dependency>
    <dependency>
      <groupId>org.springframework.boot</groupId>
      <artifactId>spring-boot-starter-web</artifactId>
    </dependency>
    <dependency>
      <groupId>org.x</groupId>
      <artifactId>ranged</artifactId>
      <version>[1.0,2.0)</version>
    </dependency>
    <dependency>
      <groupId>org.x</groupId>
      <artifactId>unknown</artifactId>
      <version>${not.defined}</version>
    </dependency>
  </dependencies>
</project>"#;
        assert_eq!(
            coords(xml),
            [
                "org.springframework.boot:demo@2.7.18",
                "org.apache.logging.log4j:log4j-core@2.14.1",
                "com.fasterxml.jackson.core:jackson-databind@2.13.0",
                "org.springframework.boot:demo-common@2.7.18",
                "com.google.guava:guava@31.1-jre",
            ]
        );
    }

    #[test]
    fn malformed_poms_are_errors() {
        assert!(parse_pom(b"<project><dependencies>", "p").is_err());
        assert!(parse_pom(b"<html></html>", "p").is_err());
        assert!(parse_pom(b"not xml at all <", "p").is_err());
        let deep = format!(
            "<project>{}{}</project>",
            "<a>".repeat(100),
            "</a>".repeat(100)
        );
        assert!(parse_pom(deep.as_bytes(), "p").is_err());
    }

    #[test]
    fn entities_and_cdata() {
        let xml = "<project><groupId>org.a&amp;b</groupId><artifactId><![CDATA[x]]></artifactId><version>1&#46;0</version></project>";
        let project = parse_xml(xml).unwrap();
        assert_eq!(project.text_of("groupId"), Some("org.a&b"));
        assert_eq!(project.text_of("artifactId"), Some("x"));
        assert_eq!(project.text_of("version"), Some("1.0"));
    }
}
