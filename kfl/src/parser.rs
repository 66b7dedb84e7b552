//! KFL syntax to an expression tree. Precedence, loosest first: `or`/`||`; `and`/`&&`;
//! comparisons (`== != < <= > >= in`); `+ -`; unary `! -`; postfix `.field`, `[index]`,
//! `.*`, `.method(args)`; literals, names, parentheses and calls.

use regex::Regex;
use serde_json::Value;

use crate::lexer::{lex, Tok, Token};
use crate::KflError;

#[derive(Debug, Clone)]
pub enum Expr {
    Lit(Value),
    /// `r"..."`: matches the whole text of what it is compared with.
    Regex(Regex),
    /// A name at the root of the item (`http`, `request`, `status_code`).
    Name(String),
    Field(Box<Expr>, String),
    Index(Box<Expr>, Box<Expr>),
    /// `.*`: every element (or value) of the left side.
    Wildcard(Box<Expr>),
    /// `..name`: every value named `name` at any depth below the left side (KFL v1's
    /// recursive descent).
    Descend(Box<Expr>, String),
    /// The item itself: what a leading `..name` descends from.
    Root,
    /// `target.name(args)`, or `name(args)` without a target.
    Call(Option<Box<Expr>>, String, Vec<Expr>),
    Not(Box<Expr>),
    Neg(Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Box<Expr>),
    Arith(char, Box<Expr>, Box<Expr>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

struct Parser<'q> {
    query: &'q str,
    tokens: Vec<Token>,
    at: usize,
    /// How deep the parse is: bounded, so a hostile query cannot exhaust the stack.
    depth: usize,
}

/// Nesting (parentheses, `!`, arguments) a query may use.
const MAX_DEPTH: usize = 128;

pub fn parse(query: &str) -> Result<Expr, KflError> {
    let tokens = lex(query)?;
    let mut p = Parser { query, tokens, at: 0, depth: 0 };
    // KFL v1: an empty query matches every item (`kfl.match("", data)` is true).
    if p.peek() == &Tok::End {
        return Ok(Expr::Lit(Value::Bool(true)));
    }
    let expr = p.or()?;
    if p.peek() != &Tok::End {
        return Err(p.error_here(format!("unexpected {} after a complete condition", describe(p.peek()))));
    }
    Ok(expr)
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Ident(name) => format!("'{name}'"),
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Regex(r) => format!("regex r{r:?}"),
        Tok::Op(op) => format!("'{op}'"),
        Tok::End => "end of query".into(),
    }
}

impl Parser<'_> {
    fn peek(&self) -> &Tok {
        &self.tokens[self.at].tok
    }

    fn pos(&self) -> usize {
        self.tokens[self.at].pos
    }

    fn bump(&mut self) -> Tok {
        let tok = self.tokens[self.at].tok.clone();
        if self.at + 1 < self.tokens.len() {
            self.at += 1;
        }
        tok
    }

    fn error_here(&self, msg: impl Into<String>) -> KflError {
        KflError::new(self.query, self.pos(), msg)
    }

    fn eat_op(&mut self, op: &'static str) -> bool {
        if self.peek() == &Tok::Op(op) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn eat_word(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Tok::Ident(w) if w == word) {
            self.bump();
            true
        } else {
            false
        }
    }

    fn or(&mut self) -> Result<Expr, KflError> {
        let mut left = self.and()?;
        loop {
            let op = self.pos();
            if self.eat_word("or") || self.eat_op("||") {
                let right = self.operand(op, "or", Self::and)?;
                left = Expr::Or(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    fn and(&mut self) -> Result<Expr, KflError> {
        let mut left = self.comparison()?;
        loop {
            let op = self.pos();
            if self.eat_word("and") || self.eat_op("&&") {
                let right = self.operand(op, "and", Self::comparison)?;
                left = Expr::And(Box::new(left), Box::new(right));
            } else {
                return Ok(left);
            }
        }
    }

    /// The right side of a binary operator, with an error naming the operator.
    fn operand(&mut self, _op_pos: usize, op: &str, next: fn(&mut Self) -> Result<Expr, KflError>) -> Result<Expr, KflError> {
        if self.peek() == &Tok::End || matches!(self.peek(), Tok::Op(")") | Tok::Op(",") | Tok::Op("]")) {
            return Err(self.error_here(format!("expected a value after '{op}'")));
        }
        next(self)
    }

    fn comparison(&mut self) -> Result<Expr, KflError> {
        let left = self.additive()?;
        let op = match self.peek() {
            Tok::Op("==") => CmpOp::Eq,
            Tok::Op("!=") => CmpOp::Ne,
            Tok::Op("<") => CmpOp::Lt,
            Tok::Op("<=") => CmpOp::Le,
            Tok::Op(">") => CmpOp::Gt,
            Tok::Op(">=") => CmpOp::Ge,
            Tok::Ident(w) if w == "in" => {
                self.bump();
                let right = self.operand(0, "in", Self::additive)?;
                return Ok(Expr::In(Box::new(left), Box::new(right)));
            }
            _ => return Ok(left),
        };
        let text = match self.bump() {
            Tok::Op(op) => op,
            _ => "?",
        };
        let right = self.operand(0, text, Self::additive)?;
        if matches!(self.peek(), Tok::Op("==" | "!=" | "<" | "<=" | ">" | ">=")) {
            return Err(self.error_here("comparisons do not chain; join them with 'and'"));
        }
        Ok(Expr::Cmp(op, Box::new(left), Box::new(right)))
    }

    fn additive(&mut self) -> Result<Expr, KflError> {
        let mut left = self.unary()?;
        loop {
            let op = match self.peek() {
                Tok::Op("+") => '+',
                Tok::Op("-") => '-',
                _ => return Ok(left),
            };
            self.bump();
            let right = self.operand(0, &op.to_string(), Self::unary)?;
            left = Expr::Arith(op, Box::new(left), Box::new(right));
        }
    }

    fn unary(&mut self) -> Result<Expr, KflError> {
        if self.depth >= MAX_DEPTH {
            return Err(self.error_here(format!("the query nests deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        let result = self.unary_inner();
        self.depth -= 1;
        result
    }

    fn unary_inner(&mut self) -> Result<Expr, KflError> {
        if self.eat_op("!") {
            return Ok(Expr::Not(Box::new(self.operand(0, "!", Self::unary)?)));
        }
        if self.eat_word("not") {
            return Ok(Expr::Not(Box::new(self.operand(0, "not", Self::unary)?)));
        }
        if self.eat_op("-") {
            return Ok(Expr::Neg(Box::new(self.operand(0, "-", Self::unary)?)));
        }
        self.postfix()
    }

    /// The name after `..`.
    fn descent_name(&mut self) -> Result<String, KflError> {
        match self.bump() {
            Tok::Ident(name) => Ok(name),
            other => Err(KflError::new(self.query, self.tokens[self.at.saturating_sub(1)].pos, format!("expected a field name after '..', found {}", describe(&other)))),
        }
    }

    fn postfix(&mut self) -> Result<Expr, KflError> {
        // A leading `..name` descends from the item itself.
        let mut expr = if matches!(self.peek(), Tok::Op(".")) && matches!(self.tokens.get(self.at + 1).map(|t| &t.tok), Some(Tok::Op("."))) {
            self.bump();
            self.bump();
            Expr::Descend(Box::new(Expr::Root), self.descent_name()?)
        } else {
            self.primary()?
        };
        loop {
            if self.eat_op(".") {
                if self.eat_op("*") {
                    expr = Expr::Wildcard(Box::new(expr));
                    continue;
                }
                if self.eat_op(".") {
                    expr = Expr::Descend(Box::new(expr), self.descent_name()?);
                    continue;
                }
                let name = match self.bump() {
                    Tok::Ident(name) => name,
                    Tok::Num(n) if n.fract() == 0.0 => {
                        expr = Expr::Index(Box::new(expr), Box::new(Expr::Lit(Value::from(n as i64))));
                        continue;
                    }
                    other => return Err(KflError::new(self.query, self.tokens[self.at.saturating_sub(1)].pos, format!("expected a field name after '.', found {}", describe(&other)))),
                };
                if self.eat_op("(") {
                    let args = self.arguments()?;
                    expr = Expr::Call(Some(Box::new(expr)), name, args);
                } else {
                    expr = Expr::Field(Box::new(expr), name);
                }
            } else if self.eat_op("[") {
                if self.eat_op("*") {
                    self.expect("]")?;
                    expr = Expr::Wildcard(Box::new(expr));
                    continue;
                }
                let index = self.or()?;
                self.expect("]")?;
                expr = Expr::Index(Box::new(expr), Box::new(index));
            } else {
                return Ok(expr);
            }
        }
    }

    fn expect(&mut self, op: &'static str) -> Result<(), KflError> {
        if self.eat_op(op) {
            Ok(())
        } else {
            Err(self.error_here(format!("expected '{op}', found {}", describe(self.peek()))))
        }
    }

    fn arguments(&mut self) -> Result<Vec<Expr>, KflError> {
        let mut args = Vec::new();
        if self.eat_op(")") {
            return Ok(args);
        }
        loop {
            args.push(self.or()?);
            if self.eat_op(")") {
                return Ok(args);
            }
            if !self.eat_op(",") {
                return Err(self.error_here(format!("expected ',' or ')' in the arguments, found {}", describe(self.peek()))));
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, KflError> {
        let pos = self.pos();
        match self.bump() {
            Tok::Num(n) => Ok(Expr::Lit(number(n))),
            Tok::Str(s) => Ok(Expr::Lit(Value::String(s))),
            Tok::Regex(r) => {
                // Checked alone first, so that the message shows the user's pattern.
                if let Err(e) = Regex::new(&r) {
                    let reason = e.to_string().lines().last().unwrap_or("").trim_start_matches("error: ").to_string();
                    return Err(KflError::new(self.query, pos, format!("bad regex r{r:?}: {reason}")));
                }
                Regex::new(&format!("^(?:{r})$")).map(Expr::Regex).map_err(|e| KflError::new(self.query, pos, format!("bad regex r{r:?}: {e}")))
            }
            Tok::Ident(name) => match name.as_str() {
                "nil" | "null" => Ok(Expr::Lit(Value::Null)),
                "true" => Ok(Expr::Lit(Value::Bool(true))),
                "false" => Ok(Expr::Lit(Value::Bool(false))),
                "and" | "or" | "in" => Err(KflError::new(self.query, pos, format!("expected a value, found '{name}'"))),
                _ if self.eat_op("(") => {
                    let args = self.arguments()?;
                    Ok(Expr::Call(None, name, args))
                }
                _ => Ok(Expr::Name(name)),
            },
            Tok::Op("(") => {
                let inner = self.or()?;
                self.expect(")")?;
                Ok(inner)
            }
            Tok::Op("[") => {
                // A list literal (CEL): `method in ["GET", "POST"]`.
                let mut items = Vec::new();
                if !self.eat_op("]") {
                    loop {
                        match self.primary()? {
                            Expr::Lit(v) => items.push(v),
                            _ => return Err(KflError::new(self.query, pos, "a list holds literals only")),
                        }
                        if self.eat_op("]") {
                            break;
                        }
                        if !self.eat_op(",") {
                            return Err(self.error_here("expected ',' or ']' in the list"));
                        }
                    }
                }
                Ok(Expr::Lit(Value::Array(items)))
            }
            Tok::End => Err(KflError::new(self.query, pos, "expected a value, found the end of the query")),
            other => Err(KflError::new(self.query, pos, format!("expected a value, found {}", describe(&other)))),
        }
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)
    }
}
