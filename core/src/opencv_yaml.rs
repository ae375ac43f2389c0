//! Reader and writer for the YAML dialect of OpenCV's `cv::FileStorage`, as EasyMocap and
//! EasyVolcap use it for `intri.yml` / `extri.yml`.
//!
//! Supported: the `%YAML:1.0` header and `---` marker, comments, block mappings and sequences,
//! flow sequences and mappings (`[ ... ]`, `{ ... }`, possibly spanning lines), plain, single- and
//! double-quoted scalars, integers, reals in every form OpenCV writes (`1.`, `-0.`, `1.e-3`,
//! `.Inf`, `.Nan`) and `!!opencv-matrix` nodes. The writer emits the same layout as OpenCV 4 and
//! writes reals as their shortest round-trip representation, so values survive a write/read
//! cycle bit for bit.

use std::fmt::Write as _;
use std::io;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::fsutil::write_atomic;

/// Spaces per nesting level in written files (OpenCV's own choice).
const INDENT: usize = 3;

/// A dense single-channel matrix (`!!opencv-matrix`), row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// Number of rows.
    pub rows: usize,
    /// Number of columns.
    pub cols: usize,
    /// `rows * cols` elements, row after row.
    pub data: Vec<f64>,
}

impl Matrix {
    /// A matrix from row-major `data`; `None` when `data.len() != rows * cols`.
    pub fn new(rows: usize, cols: usize, data: Vec<f64>) -> Option<Matrix> {
        (rows.checked_mul(cols) == Some(data.len())).then_some(Matrix { rows, cols, data })
    }

    /// A column vector.
    pub fn column(data: &[f64]) -> Matrix {
        Matrix {
            rows: data.len(),
            cols: 1,
            data: data.to_vec(),
        }
    }

    /// A row vector.
    pub fn row(data: &[f64]) -> Matrix {
        Matrix {
            rows: 1,
            cols: data.len(),
            data: data.to_vec(),
        }
    }

    /// True for a `rows × 1` or `1 × cols` matrix (or an empty one).
    pub fn is_vector(&self) -> bool {
        self.rows <= 1 || self.cols <= 1
    }
}

/// One node of a FileStorage document.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// An integer scalar.
    Int(i64),
    /// A real scalar.
    Real(f64),
    /// A string scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Value>),
    /// A mapping, in file order.
    Map(Vec<(String, Value)>),
    /// An `!!opencv-matrix` node.
    Matrix(Matrix),
}

impl Value {
    /// The number held by an `Int` or `Real`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Value::Int(i) => Some(*i as f64),
            Value::Real(r) => Some(*r),
            _ => None,
        }
    }

    /// The integer held by an `Int`, or by a `Real` with an integral value.
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Value::Int(i) => Some(*i),
            Value::Real(r) if r.fract() == 0.0 && r.abs() < 9.0e15 => Some(*r as i64),
            _ => None,
        }
    }

    /// The text of a `Str`.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The items of a `Seq`.
    pub fn as_seq(&self) -> Option<&[Value]> {
        match self {
            Value::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The matrix of a `Matrix`.
    pub fn as_matrix(&self) -> Option<&Matrix> {
        match self {
            Value::Matrix(m) => Some(m),
            _ => None,
        }
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Int(_) => "an integer",
            Value::Real(_) => "a real number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a sequence",
            Value::Map(_) => "a mapping",
            Value::Matrix(_) => "a matrix",
        }
    }
}

/// A syntax error, with the 1-based line where it was found.
#[derive(Clone, Debug, PartialEq, Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong.
    pub message: String,
}

/// Failure to read a FileStorage file; names the file.
#[derive(Debug, Error)]
pub enum ReadError {
    /// The file could not be read.
    #[error("cannot read {}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: io::Error,
    },
    /// The file is not valid FileStorage YAML.
    #[error("{}:{}: {}", path.display(), error.line, error.message)]
    Parse {
        /// The file.
        path: PathBuf,
        /// Where and what.
        error: ParseError,
    },
}

/// A document that cannot be written as FileStorage YAML (bad key or string).
#[derive(Clone, Debug, PartialEq, Error)]
#[error("cannot write `{key}`: {message}")]
pub struct WriteError {
    /// The offending key.
    pub key: String,
    /// What is wrong.
    pub message: String,
}

/// A top-level entry with the line it started on (0 for entries not read from a file).
#[derive(Clone, Debug, PartialEq)]
struct Entry {
    key: String,
    value: Value,
    line: usize,
}

/// A FileStorage document: the top-level mapping, in file order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Document {
    entries: Vec<Entry>,
}

impl Document {
    /// An empty document.
    pub fn new() -> Document {
        Document::default()
    }

    /// Parses FileStorage YAML text.
    pub fn parse(text: &str) -> Result<Document, ParseError> {
        let lines = split_lines(text)?;
        let mut parser = Parser { lines, pos: 0 };
        parser.document()
    }

    /// Reads and parses a file.
    pub fn read(path: &Path) -> Result<Document, ReadError> {
        let text = std::fs::read_to_string(path).map_err(|error| ReadError::Io {
            path: path.to_path_buf(),
            error,
        })?;
        Document::parse(&text).map_err(|error| ReadError::Parse {
            path: path.to_path_buf(),
            error,
        })
    }

    /// The value stored under a top-level key.
    pub fn get(&self, key: &str) -> Option<&Value> {
        self.entries.iter().find(|e| e.key == key).map(|e| &e.value)
    }

    /// The line a top-level key was read from, when it came from parsed text.
    pub fn line_of(&self, key: &str) -> Option<usize> {
        self.entries
            .iter()
            .find(|e| e.key == key && e.line > 0)
            .map(|e| e.line)
    }

    /// Top-level keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().map(|e| e.key.as_str())
    }

    /// Sets a top-level key, replacing an existing value in place or appending a new entry.
    pub fn insert(&mut self, key: impl Into<String>, value: Value) {
        let key = key.into();
        match self.entries.iter_mut().find(|e| e.key == key) {
            Some(e) => {
                e.value = value;
                e.line = 0;
            }
            None => self.entries.push(Entry {
                key,
                value,
                line: 0,
            }),
        }
    }

    /// Formats the document as OpenCV writes it.
    pub fn to_yaml(&self) -> Result<String, WriteError> {
        let mut out = String::from("%YAML:1.0\n---\n");
        for e in &self.entries {
            write_entry(&mut out, 0, &e.key, &e.value)?;
        }
        Ok(out)
    }

    /// Writes the document to `path` atomically.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        let text = self.to_yaml().map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{}: {e}", path.display()),
            )
        })?;
        write_atomic(path, text.as_bytes())
    }
}

// ---------------------------------------------------------------------------------------------
// Writing

fn write_entry(
    out: &mut String,
    indent: usize,
    key: &str,
    value: &Value,
) -> Result<(), WriteError> {
    check_key(key)?;
    let pad = " ".repeat(indent);
    match value {
        Value::Seq(items) if items.is_empty() => writeln!(out, "{pad}{key}: []").unwrap(),
        Value::Map(items) if items.is_empty() => writeln!(out, "{pad}{key}: {{}}").unwrap(),
        Value::Seq(items) => {
            writeln!(out, "{pad}{key}:").unwrap();
            for item in items {
                write_item(out, indent + INDENT, key, item)?;
            }
        }
        Value::Map(items) => {
            writeln!(out, "{pad}{key}:").unwrap();
            for (k, v) in items {
                write_entry(out, indent + INDENT, k, v)?;
            }
        }
        Value::Matrix(m) => {
            let inner = " ".repeat(indent + INDENT);
            writeln!(out, "{pad}{key}: !!opencv-matrix").unwrap();
            writeln!(
                out,
                "{inner}rows: {}\n{inner}cols: {}\n{inner}dt: d",
                m.rows, m.cols
            )
            .unwrap();
            write_matrix_data(out, &inner, m);
        }
        scalar => writeln!(out, "{pad}{key}: {}", format_scalar(key, scalar)?).unwrap(),
    }
    Ok(())
}

fn write_item(out: &mut String, indent: usize, key: &str, value: &Value) -> Result<(), WriteError> {
    let pad = " ".repeat(indent);
    match value {
        Value::Seq(items) if items.is_empty() => writeln!(out, "{pad}- []").unwrap(),
        Value::Map(items) if items.is_empty() => writeln!(out, "{pad}- {{}}").unwrap(),
        Value::Seq(items) => {
            writeln!(out, "{pad}-").unwrap();
            for item in items {
                write_item(out, indent + INDENT, key, item)?;
            }
        }
        Value::Map(items) => {
            writeln!(out, "{pad}-").unwrap();
            for (k, v) in items {
                write_entry(out, indent + INDENT, k, v)?;
            }
        }
        Value::Matrix(_) => {
            let mut entry = String::new();
            write_entry(&mut entry, indent + INDENT, "m", value)?;
            // A matrix item is written as OpenCV does: `- !!opencv-matrix` then its fields.
            let body = entry.split_once('\n').map(|(_, b)| b).unwrap_or("");
            writeln!(out, "{pad}- !!opencv-matrix").unwrap();
            out.push_str(body);
        }
        scalar => writeln!(out, "{pad}- {}", format_scalar(key, scalar)?).unwrap(),
    }
    Ok(())
}

/// `data: [ ... ]` with one matrix row per line.
fn write_matrix_data(out: &mut String, inner: &str, m: &Matrix) {
    out.push_str(inner);
    out.push_str("data: [");
    if m.data.is_empty() {
        out.push_str("]\n");
        return;
    }
    let per_line = m.cols.max(1);
    for (i, v) in m.data.iter().enumerate() {
        if i > 0 {
            out.push(',');
            if i % per_line == 0 {
                write!(out, "\n{inner}    ").unwrap();
            }
        }
        out.push(' ');
        out.push_str(&format_real(*v));
    }
    out.push_str(" ]\n");
}

/// OpenCV's rule for keys: a letter or `_` first, then letters, digits, `_` or `-`.
fn check_key(key: &str) -> Result<(), WriteError> {
    let mut chars = key.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if first_ok && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') {
        Ok(())
    } else {
        Err(WriteError {
            key: key.to_string(),
            message: "keys must start with a letter or `_` and contain only ASCII letters, \
                      digits, `_` and `-`"
                .into(),
        })
    }
}

fn format_scalar(key: &str, v: &Value) -> Result<String, WriteError> {
    Ok(match v {
        Value::Int(i) => i.to_string(),
        Value::Real(r) => format_real(*r),
        Value::Str(s) => quote(s).ok_or_else(|| WriteError {
            key: key.to_string(),
            message: format!("string {s:?} contains a control character"),
        })?,
        _ => unreachable!("format_scalar is only called with scalars"),
    })
}

/// Shortest representation that parses back to the same bits; always marked as a real.
pub fn format_real(v: f64) -> String {
    if v.is_nan() {
        ".Nan".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            ".Inf".into()
        } else {
            "-.Inf".into()
        }
    } else {
        // `{:?}` is the shortest round-trip form and always contains `.` or `e`.
        format!("{v:?}")
    }
}

/// Double-quoted string with escapes; `None` for control characters OpenCV cannot read back.
fn quote(s: &str) -> Option<String> {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() => return None,
            c => out.push(c),
        }
    }
    out.push('"');
    Some(out)
}

// ---------------------------------------------------------------------------------------------
// Reading: lines

/// A non-blank source line without its comment and indentation.
#[derive(Clone, Debug)]
struct Line {
    no: usize,
    indent: usize,
    text: String,
}

fn err<T>(line: usize, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError {
        line,
        message: message.into(),
    })
}

fn split_lines(text: &str) -> Result<Vec<Line>, ParseError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines = Vec::new();
    let mut started = false;
    for (i, raw) in text.lines().enumerate() {
        let no = i + 1;
        let content = strip_comment(raw).trim_end();
        let body = content.trim_start_matches(' ');
        if body.is_empty() {
            continue;
        }
        let indent = content.len() - body.len();
        if body.starts_with('\t') {
            return err(no, "tabs cannot be used for indentation");
        }
        if indent == 0 && body.starts_with('%') {
            if started || !lines.is_empty() {
                return err(no, "directive after the start of the document");
            }
            if !body.starts_with("%YAML") {
                return err(no, format!("unknown directive `{body}`"));
            }
            continue;
        }
        if indent == 0 && (body == "---" || body.starts_with("--- ")) {
            if started || !lines.is_empty() {
                return err(no, "several documents in one file are not supported");
            }
            started = true;
            if body.len() > 3 {
                return err(no, "content after `---` is not supported");
            }
            continue;
        }
        if indent == 0 && body == "..." {
            break;
        }
        lines.push(Line {
            no,
            indent,
            text: body.to_string(),
        });
    }
    Ok(lines)
}

/// True when a quote at byte `i` of `s` opens a quoted scalar (it starts a token).
fn opens_quote(s: &[u8], i: usize) -> bool {
    i == 0 || matches!(s[i - 1], b' ' | b'\t' | b'[' | b'{' | b',' | b':' | b'-')
}

/// Cuts a `#` comment (at line start or after whitespace, outside quotes).
fn strip_comment(line: &str) -> &str {
    let b = line.as_bytes();
    let mut quote: Option<u8> = None;
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'"') if c == b'\\' => i += 1,
            Some(b'\'') if c == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == b'"' || c == b'\'') && opens_quote(b, i) => quote = Some(c),
            None if c == b'#' && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') => {
                return &line[..i];
            }
            None => {}
        }
        i += 1;
    }
    line
}

// ---------------------------------------------------------------------------------------------
// Reading: block structure

struct Parser {
    lines: Vec<Line>,
    pos: usize,
}

fn is_item(text: &str) -> bool {
    text == "-" || text.starts_with("- ")
}

impl Parser {
    fn document(&mut self) -> Result<Document, ParseError> {
        let Some(first) = self.lines.first() else {
            return Ok(Document::new());
        };
        let (indent, no) = (first.indent, first.no);
        if is_item(&first.text) {
            return err(
                no,
                "the top level of a FileStorage file must be a mapping, not a list",
            );
        }
        let mut entries = Vec::new();
        for (key, value, line) in self.map_entries(indent)? {
            entries.push(Entry { key, value, line });
        }
        if let Some(extra) = self.lines.get(self.pos) {
            return err(extra.no, "unexpected indentation");
        }
        Ok(Document { entries })
    }

    /// A block node starting at the current line with indentation `indent`.
    fn block(&mut self, indent: usize) -> Result<Value, ParseError> {
        if is_item(&self.lines[self.pos].text) {
            self.seq(indent)
        } else {
            let entries = self.map_entries(indent)?;
            Ok(Value::Map(
                entries.into_iter().map(|(k, v, _)| (k, v)).collect(),
            ))
        }
    }

    fn map_entries(&mut self, indent: usize) -> Result<Vec<(String, Value, usize)>, ParseError> {
        let mut entries: Vec<(String, Value, usize)> = Vec::new();
        while let Some(line) = self.lines.get(self.pos) {
            if line.indent < indent {
                break;
            }
            let no = line.no;
            if line.indent > indent {
                return err(no, "unexpected indentation");
            }
            if is_item(&line.text) {
                return err(no, "expected `key: value`, found a list item");
            }
            let (key, rest) = split_key(&line.text, no)?;
            if entries.iter().any(|(k, _, _)| *k == key) {
                return err(no, format!("duplicate key `{key}`"));
            }
            self.pos += 1;
            let value = self.value(&rest, no, indent, true)?;
            entries.push((key, value, no));
        }
        Ok(entries)
    }

    fn seq(&mut self, indent: usize) -> Result<Value, ParseError> {
        let mut items = Vec::new();
        while let Some(line) = self.lines.get(self.pos) {
            if line.indent < indent || (line.indent == indent && !is_item(&line.text)) {
                break;
            }
            let no = line.no;
            if line.indent > indent {
                return err(no, "unexpected indentation");
            }
            let rest = line.text[1..].trim_start();
            let offset = line.text.len() - rest.len();
            let starts_flow_or_quote = rest.starts_with(['[', '{', '"', '\'', '!']);
            if !rest.is_empty() && !starts_flow_or_quote && find_key_colon(rest).is_some() {
                // Compact mapping inside a list item (`- key: value`): re-read the rest of this
                // line as the first line of a mapping indented to where the key starts.
                let map_indent = indent + offset;
                self.lines[self.pos] = Line {
                    no,
                    indent: map_indent,
                    text: rest.to_string(),
                };
                let entries = self.map_entries(map_indent)?;
                items.push(Value::Map(
                    entries.into_iter().map(|(k, v, _)| (k, v)).collect(),
                ));
                continue;
            }
            let rest = rest.to_string();
            self.pos += 1;
            items.push(self.value(&rest, no, indent, false)?);
        }
        Ok(Value::Seq(items))
    }

    /// The value written after `key:` or `-` on line `no`; the parser stands on the next line.
    fn value(
        &mut self,
        rest: &str,
        no: usize,
        indent: usize,
        in_map: bool,
    ) -> Result<Value, ParseError> {
        if let Some(tagged) = rest.strip_prefix("!!") {
            let (tag, after) = tagged.split_once(' ').unwrap_or((tagged, ""));
            let inner = self.value(after.trim_start(), no, indent, in_map)?;
            return match tag {
                "opencv-matrix" => to_matrix(inner, no),
                "str" => match inner {
                    Value::Int(_) | Value::Real(_) => {
                        err(no, "`!!str` on a number is not supported")
                    }
                    other => Ok(other),
                },
                _ => err(no, format!("unsupported type tag `!!{tag}`")),
            };
        }
        if rest.is_empty() {
            return match self.lines.get(self.pos) {
                Some(next) if next.indent > indent => self.block(next.indent),
                // YAML allows a mapping's list to sit at the key's own indentation.
                Some(next) if in_map && next.indent == indent && is_item(&next.text) => {
                    self.seq(indent)
                }
                _ => err(no, "missing value"),
            };
        }
        if rest.starts_with(['[', '{']) {
            let mut text = rest.to_string();
            let mut segments = vec![(0usize, no)];
            while !flow_closed(&text) {
                let Some(next) = self.lines.get(self.pos) else {
                    return err(no, format!("unterminated `{}`", &rest[..1]));
                };
                text.push('\n');
                segments.push((text.len(), next.no));
                text.push_str(&next.text);
                self.pos += 1;
            }
            let mut flow = Flow {
                s: &text,
                i: 0,
                segments: &segments,
            };
            let value = flow.value()?;
            flow.skip_ws();
            if flow.i < text.len() {
                return err(flow.line(), "unexpected text after the closing bracket");
            }
            return Ok(value);
        }
        block_scalar(rest, no)
    }
}

/// Splits `key: rest` (key plain or quoted).
fn split_key(text: &str, no: usize) -> Result<(String, String), ParseError> {
    if text.starts_with(['"', '\'']) {
        let (key, used) = quoted(text, no)?;
        let after = text[used..].trim_start();
        return match after.strip_prefix(':') {
            Some(rest) if rest.is_empty() || rest.starts_with(' ') => {
                Ok((key, rest.trim().to_string()))
            }
            _ => err(no, "expected `:` after the quoted key"),
        };
    }
    match find_key_colon(text) {
        Some(i) => Ok((
            text[..i].trim_end().to_string(),
            text[i + 1..].trim().to_string(),
        )),
        None => err(no, format!("expected `key: value`, found `{text}`")),
    }
}

/// Position of the `:` ending a plain key: the first `:` followed by a space or the line end.
fn find_key_colon(text: &str) -> Option<usize> {
    let b = text.as_bytes();
    (0..b.len()).find(|&i| b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' '))
}

/// True when every `[`/`{` outside quotes has been closed.
fn flow_closed(text: &str) -> bool {
    let b = text.as_bytes();
    let (mut depth, mut quote, mut i) = (0i64, None::<u8>, 0);
    while i < b.len() {
        let c = b[i];
        match quote {
            Some(b'"') if c == b'\\' => i += 1,
            Some(b'\'') if c == b'\'' && b.get(i + 1) == Some(&b'\'') => i += 1,
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None if (c == b'"' || c == b'\'') && opens_quote(b, i) => quote = Some(c),
            None if c == b'[' || c == b'{' => depth += 1,
            None if c == b']' || c == b'}' => depth -= 1,
            None => {}
        }
        i += 1;
    }
    depth <= 0
}

fn block_scalar(text: &str, no: usize) -> Result<Value, ParseError> {
    if text.starts_with(['"', '\'']) {
        let (s, used) = quoted(text, no)?;
        if !text[used..].trim().is_empty() {
            return err(no, "unexpected text after the closing quote");
        }
        return Ok(Value::Str(s));
    }
    Ok(plain_scalar(text.trim()))
}

/// Parses a quoted string at the start of `text`; returns it and the bytes consumed.
fn quoted(text: &str, no: usize) -> Result<(String, usize), ParseError> {
    let mut chars = text.char_indices();
    let Some((_, q)) = chars.next() else {
        return err(no, "expected a quoted string");
    };
    let mut out = String::new();
    while let Some((i, c)) = chars.next() {
        if c == q {
            if q == '\'' && text[i + 1..].starts_with('\'') {
                chars.next();
                out.push('\'');
                continue;
            }
            return Ok((out, i + 1));
        }
        if c == '\\' && q == '"' {
            let Some((_, e)) = chars.next() else { break };
            out.push(match e {
                'n' => '\n',
                't' => '\t',
                'r' => '\r',
                '0' => '\0',
                '"' | '\\' | '\'' | '/' => e,
                other => return err(no, format!("unknown escape `\\{other}` in string")),
            });
            continue;
        }
        out.push(c);
    }
    err(no, "unterminated quoted string")
}

/// Types a plain scalar: integer, real, or string.
fn plain_scalar(s: &str) -> Value {
    let unsigned = s.strip_prefix(['+', '-']).unwrap_or(s);
    if !unsigned.is_empty()
        && unsigned.bytes().all(|c| c.is_ascii_digit())
        && let Ok(i) = s.parse::<i64>()
    {
        return Value::Int(i);
    }
    let special = match unsigned.to_ascii_lowercase().as_str() {
        ".inf" => Some(f64::INFINITY),
        ".nan" => Some(f64::NAN),
        _ => None,
    };
    if let Some(v) = special {
        return Value::Real(if s.starts_with('-') { -v } else { v });
    }
    let numeric_chars = unsigned
        .bytes()
        .all(|c| c.is_ascii_digit() || b".eE+-".contains(&c));
    if numeric_chars
        && unsigned.bytes().any(|c| c.is_ascii_digit())
        && let Ok(r) = s.parse::<f64>()
    {
        return Value::Real(r);
    }
    Value::Str(s.to_string())
}

/// Converts the mapping under an `!!opencv-matrix` tag.
fn to_matrix(v: Value, no: usize) -> Result<Value, ParseError> {
    let Value::Map(fields) = v else {
        return err(
            no,
            format!("`!!opencv-matrix` must tag a mapping, found {}", v.kind()),
        );
    };
    let field = |name: &str| {
        fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
            .ok_or_else(|| ParseError {
                line: no,
                message: format!("matrix has no `{name}`"),
            })
    };
    let size = |name: &str| -> Result<usize, ParseError> {
        match field(name)? {
            Value::Int(i) if *i >= 0 => Ok(*i as usize),
            other => err(
                no,
                format!(
                    "matrix `{name}` must be a non-negative integer, found {}",
                    other.kind()
                ),
            ),
        }
    };
    let (rows, cols) = (size("rows")?, size("cols")?);
    let dt = field("dt")?.as_str().unwrap_or_default();
    if !matches!(dt, "d" | "f" | "i" | "u" | "c" | "w" | "s") {
        return err(
            no,
            format!(
                "unsupported matrix element type `dt: {dt}` (single-channel d, f or integer types only)"
            ),
        );
    }
    let Value::Seq(items) = field("data")? else {
        return err(no, "matrix `data` must be a list");
    };
    let data = items
        .iter()
        .map(|x| x.as_f64())
        .collect::<Option<Vec<f64>>>()
        .ok_or_else(|| ParseError {
            line: no,
            message: "matrix `data` holds a non-number".into(),
        })?;
    Matrix::new(rows, cols, data)
        .map(Value::Matrix)
        .ok_or_else(|| ParseError {
            line: no,
            message: format!(
                "matrix is {rows}×{cols} but `data` holds {} numbers",
                items.len()
            ),
        })
}

// ---------------------------------------------------------------------------------------------
// Reading: flow collections

struct Flow<'a> {
    s: &'a str,
    i: usize,
    /// `(byte offset, line number)` of each joined source line.
    segments: &'a [(usize, usize)],
}

impl Flow<'_> {
    fn line(&self) -> usize {
        self.segments
            .iter()
            .rev()
            .find(|(off, _)| *off <= self.i)
            .map_or(0, |(_, no)| *no)
    }

    fn fail<T>(&self, message: impl Into<String>) -> Result<T, ParseError> {
        err(self.line(), message)
    }

    fn peek(&self) -> Option<u8> {
        self.s.as_bytes().get(self.i).copied()
    }

    fn skip_ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n')) {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Value, ParseError> {
        self.skip_ws();
        match self.peek() {
            Some(b'[') => self.collection(b']'),
            Some(b'{') => self.collection(b'}'),
            Some(b'"' | b'\'') => {
                let (s, used) = quoted(&self.s[self.i..], self.line())?;
                self.i += used;
                Ok(Value::Str(s))
            }
            _ => {
                let text = self.plain(false);
                if text.is_empty() {
                    return self.fail("expected a value");
                }
                Ok(plain_scalar(text))
            }
        }
    }

    /// A plain scalar up to `,`, a closing bracket, a newline or (for keys) `: `.
    fn plain(&mut self, key: bool) -> &str {
        let start = self.i;
        let b = self.s.as_bytes();
        while let Some(c) = self.peek() {
            let ends_key =
                key && c == b':' && matches!(b.get(self.i + 1), None | Some(b' ' | b'\n'));
            if matches!(c, b',' | b']' | b'}' | b'\n') || ends_key {
                break;
            }
            self.i += 1;
        }
        self.s[start..self.i].trim()
    }

    /// `[ a, b ]` or `{ k: v, ... }`; the parser stands on the opening bracket.
    fn collection(&mut self, close: u8) -> Result<Value, ParseError> {
        self.i += 1;
        let mut seq = Vec::new();
        let mut map: Vec<(String, Value)> = Vec::new();
        loop {
            self.skip_ws();
            match self.peek() {
                None => return self.fail(format!("missing `{}`", close as char)),
                Some(c) if c == close => {
                    self.i += 1;
                    break;
                }
                _ => {}
            }
            if close == b']' {
                seq.push(self.value()?);
            } else {
                let key = match self.peek() {
                    Some(b'"' | b'\'') => {
                        let (k, used) = quoted(&self.s[self.i..], self.line())?;
                        self.i += used;
                        k
                    }
                    _ => self.plain(true).to_string(),
                };
                self.skip_ws();
                if self.peek() != Some(b':') {
                    return self.fail(format!("expected `:` after key `{key}`"));
                }
                self.i += 1;
                if map.iter().any(|(k, _)| *k == key) {
                    return self.fail(format!("duplicate key `{key}`"));
                }
                let value = self.value()?;
                map.push((key, value));
            }
            self.skip_ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(c) if c == close => {}
                Some(c) => {
                    return self.fail(format!(
                        "expected `,` or `{}`, found `{}`",
                        close as char, c as char
                    ));
                }
                None => return self.fail(format!("missing `{}`", close as char)),
            }
        }
        Ok(if close == b']' {
            Value::Seq(seq)
        } else {
            Value::Map(map)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Exactly what OpenCV 4.6 `cv::FileStorage` wrote for a small calibration (via Python).
    const OPENCV_OUTPUT: &str = r#"%YAML:1.0
---
names:
   - "00"
   - "01"
   - cam_2
K_00: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ 1.2345678901234567e+03, 0., 6.4012345678899999e+02, 0.,
       1.2350999999999999e+03, 3.6050000000000000e+02, 0., 0., 1. ]
dist_00: !!opencv-matrix
   rows: 1
   cols: 5
   dt: d
   data: [ -1.0000000000000001e-01, 1.0000000000000000e-02,
       1.0000000000000000e-03, -2.0000000000000001e-04,
       1.0000000000000001e-30 ]
H_00: 720
fps: 2.9969999999999999e+01
s: hello world
f32: !!opencv-matrix
   rows: 1
   cols: 3
   dt: f
   data: [ 1.50000000e+00, 2.25000000e+00, 1.00000001e-07 ]
neg: !!opencv-matrix
   rows: 1
   cols: 3
   dt: d
   data: [ 0., 1.0000000000000001e+300, 4.9406564584124654e-324 ]
"#;

    #[test]
    fn parses_opencv_output() {
        let doc = Document::parse(OPENCV_OUTPUT).unwrap();
        let names: Vec<&str> = doc
            .get("names")
            .unwrap()
            .as_seq()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert_eq!(names, ["00", "01", "cam_2"]);
        let k = doc.get("K_00").unwrap().as_matrix().unwrap();
        assert_eq!((k.rows, k.cols), (3, 3));
        assert_eq!(k.data[0], 1234.5678901234567);
        assert_eq!(k.data[2], 640.123456789);
        assert_eq!(k.data[4], 1235.1);
        assert_eq!(k.data[8], 1.0);
        let d = doc.get("dist_00").unwrap().as_matrix().unwrap();
        assert_eq!(d.data, [-0.1, 0.01, 1e-3, -2e-4, 1e-30]);
        assert_eq!(doc.get("H_00"), Some(&Value::Int(720)));
        assert_eq!(doc.get("fps"), Some(&Value::Real(29.97)));
        assert_eq!(doc.get("s"), Some(&Value::Str("hello world".into())));
        let f = doc.get("f32").unwrap().as_matrix().unwrap();
        assert_eq!(f.data[2], 1.00000001e-07);
        let n = doc.get("neg").unwrap().as_matrix().unwrap();
        assert_eq!(n.data, [0.0, 1e300, 5e-324]);
        assert_eq!(doc.line_of("K_00"), Some(7));
        assert_eq!(doc.keys().count(), 8);
    }

    #[test]
    fn reads_number_forms_and_comments() {
        let text = "# leading comment\n%YAML:1.0\n---\na: 1.e-3 # trailing\nb: -0.\nc: .5\n\
                    d: -.Inf\ne: .Nan\nf: +7\ng: 1e5\nh: 'it''s # not a comment'\ni: \"x\\\"y\"\n\
                    j: 0x10\nk: 1.2.3\nl: -\n";
        let doc = Document::parse(text).unwrap();
        assert_eq!(doc.get("a"), Some(&Value::Real(1e-3)));
        let b = doc.get("b").unwrap().as_f64().unwrap();
        assert!(b == 0.0 && b.is_sign_negative());
        assert_eq!(doc.get("c"), Some(&Value::Real(0.5)));
        assert_eq!(doc.get("d"), Some(&Value::Real(f64::NEG_INFINITY)));
        assert!(doc.get("e").unwrap().as_f64().unwrap().is_nan());
        assert_eq!(doc.get("f"), Some(&Value::Int(7)));
        assert_eq!(doc.get("g"), Some(&Value::Real(1e5)));
        assert_eq!(
            doc.get("h"),
            Some(&Value::Str("it's # not a comment".into()))
        );
        assert_eq!(doc.get("i"), Some(&Value::Str("x\"y".into())));
        assert_eq!(doc.get("j"), Some(&Value::Str("0x10".into())));
        assert_eq!(doc.get("k"), Some(&Value::Str("1.2.3".into())));
        assert_eq!(doc.get("l"), Some(&Value::Str("-".into())));
    }

    #[test]
    fn reads_nested_and_flow_structures() {
        let text = "names: [ \"a\", b,\n   c ]\nnames2:\n- x\n- y\nm:\n  k: 1\n  inner: { p: 2, q: [3, 4] }\n\
                    items:\n   - key: 1\n     other: two\n   -\n      k2: 3\n   - [ 5, 6 ]\n\
                    empty: []\nmat: !!opencv-matrix { rows: 1, cols: 2, dt: d, data: [ 1, 2.5 ] }\n";
        let doc = Document::parse(text).unwrap();
        let strs = |key: &str| -> Vec<String> {
            doc.get(key)
                .unwrap()
                .as_seq()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect()
        };
        assert_eq!(strs("names"), ["a", "b", "c"]);
        assert_eq!(strs("names2"), ["x", "y"]);
        let m = Value::Map(vec![
            ("k".into(), Value::Int(1)),
            (
                "inner".into(),
                Value::Map(vec![
                    ("p".into(), Value::Int(2)),
                    ("q".into(), Value::Seq(vec![Value::Int(3), Value::Int(4)])),
                ]),
            ),
        ]);
        assert_eq!(doc.get("m"), Some(&m));
        let items = Value::Seq(vec![
            Value::Map(vec![
                ("key".into(), Value::Int(1)),
                ("other".into(), Value::Str("two".into())),
            ]),
            Value::Map(vec![("k2".into(), Value::Int(3))]),
            Value::Seq(vec![Value::Int(5), Value::Int(6)]),
        ]);
        assert_eq!(doc.get("items"), Some(&items));
        assert_eq!(doc.get("empty"), Some(&Value::Seq(vec![])));
        assert_eq!(
            doc.get("mat"),
            Some(&Value::Matrix(Matrix::row(&[1.0, 2.5])))
        );
    }

    #[test]
    fn write_then_read_is_bit_exact() {
        let awkward = [
            0.1,
            -0.0,
            1.0 / 3.0,
            1e-30,
            5e-324,
            f64::MAX,
            -1234.5678901234567,
            2.0f64.sqrt() * 1e17,
            f64::INFINITY,
            f64::NEG_INFINITY,
        ];
        let mut doc = Document::new();
        doc.insert(
            "names",
            Value::Seq(vec![
                Value::Str("00".into()),
                Value::Str("a \"q\" \\ b".into()),
            ]),
        );
        doc.insert(
            "m",
            Value::Matrix(Matrix::new(2, 5, awkward.to_vec()).unwrap()),
        );
        doc.insert("n", Value::Int(-42));
        doc.insert("r", Value::Real(3.0));
        doc.insert("nan", Value::Real(f64::NAN));
        doc.insert(
            "nested",
            Value::Map(vec![("x".into(), Value::Seq(vec![Value::Real(0.25)]))]),
        );
        doc.insert(
            "list_of_lists",
            Value::Seq(vec![Value::Seq(vec![Value::Int(1)]), Value::Map(vec![])]),
        );
        doc.insert(
            "mats",
            Value::Seq(vec![Value::Matrix(Matrix::column(&[1.5, -2.0]))]),
        );
        let text = doc.to_yaml().unwrap();
        assert!(
            text.starts_with("%YAML:1.0\n---\nnames:\n   - \"00\"\n"),
            "{text}"
        );
        let back = Document::parse(&text).unwrap();
        let m = back.get("m").unwrap().as_matrix().unwrap();
        for (a, b) in m.data.iter().zip(awkward) {
            assert_eq!(a.to_bits(), b.to_bits(), "{text}");
        }
        assert_eq!(back.get("r"), Some(&Value::Real(3.0)));
        assert!(back.get("nan").unwrap().as_f64().unwrap().is_nan());
        for key in ["names", "n", "nested", "list_of_lists", "mats"] {
            assert_eq!(back.get(key), doc.get(key), "{key} in\n{text}");
        }
    }

    #[test]
    fn insert_replaces_in_place() {
        let mut doc = Document::parse("a: 1\nb: 2\n").unwrap();
        doc.insert("a", Value::Int(3));
        doc.insert("c", Value::Int(4));
        assert_eq!(doc.keys().collect::<Vec<_>>(), ["a", "b", "c"]);
        assert_eq!(doc.get("a"), Some(&Value::Int(3)));
        assert_eq!(doc.line_of("a"), None);
        assert_eq!(doc.line_of("b"), Some(2));
    }

    #[test]
    fn errors_name_the_line() {
        let cases: &[(&str, usize, &str)] = &[
            ("a: 1\nb: [1, 2\n", 2, "unterminated `[`"),
            ("a: 1\n  b: 2\n", 2, "unexpected indentation"),
            ("a: 1\na: 2\n", 2, "duplicate key `a`"),
            ("- 1\n", 1, "must be a mapping"),
            ("a: 1\njunk\n", 2, "expected `key: value`"),
            ("a:\nb: 1\n", 1, "missing value"),
            (
                "m: !!opencv-matrix\n   rows: 2\n   cols: 2\n   dt: d\n   data: [ 1, 2, 3 ]\n",
                1,
                "2×2 but `data` holds 3",
            ),
            (
                "m: !!opencv-matrix\n   rows: 1\n   cols: 1\n   dt: 3d\n   data: [ 1 ]\n",
                1,
                "dt: 3d",
            ),
            (
                "m: !!opencv-matrix\n   rows: 1\n   dt: d\n   data: [ 1 ]\n",
                1,
                "no `cols`",
            ),
            ("m: !!binary x\n", 1, "unsupported type tag"),
            ("s: \"abc\n", 1, "unterminated quoted string"),
            ("s: [ 1,\n  2 } ]\n", 2, "expected `,` or `]`, found `}`"),
            ("a: 1\n---\nb: 2\n", 2, "several documents"),
            ("\ta: 1\n", 1, "tabs"),
        ];
        for (text, line, needle) in cases {
            let e = Document::parse(text).expect_err(text);
            assert_eq!(e.line, *line, "{text:?}: {e}");
            assert!(e.message.contains(needle), "{text:?}: {e}");
        }
    }

    #[test]
    fn read_error_names_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.yml");
        std::fs::write(&path, "%YAML:1.0\n---\nx: [\n").unwrap();
        let msg = Document::read(&path).unwrap_err().to_string();
        assert!(msg.contains("bad.yml:3: unterminated"), "{msg}");
        let msg = Document::read(&dir.path().join("none.yml"))
            .unwrap_err()
            .to_string();
        assert!(
            msg.starts_with("cannot read ") && msg.contains("none.yml"),
            "{msg}"
        );
    }

    #[test]
    fn writer_rejects_keys_opencv_cannot_read() {
        for key in ["0abc", "a b", "", "ключ"] {
            let mut doc = Document::new();
            doc.insert(key, Value::Int(1));
            let e = doc.to_yaml().unwrap_err();
            assert_eq!(e.key, key);
        }
        let mut doc = Document::new();
        doc.insert("s", Value::Str("bell\u{7}".into()));
        assert!(
            doc.to_yaml()
                .unwrap_err()
                .message
                .contains("control character")
        );
    }
}
