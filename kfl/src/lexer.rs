//! Tokens of a KFL query, each with its byte position for error messages.

use crate::KflError;

#[derive(Debug, Clone, PartialEq)]
pub enum Tok {
    Ident(String),
    Num(f64),
    Str(String),
    /// `r"..."`
    Regex(String),
    /// Operators and punctuation: `== != < <= > >= && || ! - + . , ( ) [ ] *`
    Op(&'static str),
    End,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Token {
    pub tok: Tok,
    pub pos: usize,
}

const OPERATORS: [&str; 19] = ["==", "!=", "<=", ">=", "&&", "||", "<", ">", "!", "-", "+", ".", ",", "(", ")", "[", "]", "*", "="];

pub fn lex(query: &str) -> Result<Vec<Token>, KflError> {
    let bytes = query.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if (c == b'r' || c == b'R') && bytes.get(i + 1) == Some(&b'"') {
            let (text, end) = string_at(query, i + 1)?;
            tokens.push(Token { tok: Tok::Regex(text), pos: start });
            i = end;
        } else if c == b'"' || c == b'\'' {
            let (text, end) = string_at(query, i)?;
            tokens.push(Token { tok: Tok::Str(text), pos: start });
            i = end;
        } else if c.is_ascii_digit() {
            while i < bytes.len() && (bytes[i].is_ascii_digit() || bytes[i] == b'.' || bytes[i] == b'e' || bytes[i] == b'E') {
                // `1.5` is a number; `a.0` never reaches here; a trailing `.x` is a field.
                if bytes[i] == b'.' && !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
            let text = &query[start..i];
            let n = text.parse::<f64>().map_err(|_| KflError::new(query, start, format!("{text:?} is not a number")))?;
            tokens.push(Token { tok: Tok::Num(n), pos: start });
        } else if c.is_ascii_alphabetic() || c == b'_' || c == b'$' {
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_' || bytes[i] == b'$') {
                i += 1;
            }
            tokens.push(Token { tok: Tok::Ident(query[start..i].to_string()), pos: start });
        } else {
            let Some(op) = OPERATORS.iter().find(|op| query[i..].starts_with(**op)) else {
                return Err(KflError::new(query, start, format!("unexpected character {:?}", &query[i..].chars().next().unwrap_or(' '))));
            };
            if *op == "=" {
                return Err(KflError::new(query, start, "'=' is not an operator; compare with '=='"));
            }
            tokens.push(Token { tok: Tok::Op(op), pos: start });
            i += op.len();
        }
    }
    tokens.push(Token { tok: Tok::End, pos: query.len() });
    Ok(tokens)
}

/// A quoted string starting at `at` (its quote): the text and the position after it.
fn string_at(query: &str, at: usize) -> Result<(String, usize), KflError> {
    let quote = query.as_bytes()[at];
    let mut text = String::new();
    let mut chars = query[at + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, 'n')) => text.push('\n'),
                Some((_, 't')) => text.push('\t'),
                Some((_, other)) => {
                    // Keep regex escapes (`\d`) as written; unescape quotes and backslashes.
                    if other != quote as char && other != '\\' {
                        text.push('\\');
                    }
                    text.push(other);
                }
                None => break,
            },
            c if c as u32 == u32::from(quote) => return Ok((text, at + 1 + offset + 1)),
            c => text.push(c),
        }
    }
    Err(KflError::new(query, at, "a string that is never closed"))
}
