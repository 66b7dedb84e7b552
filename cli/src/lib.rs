//! The `remora` command line's library: each subcommand in its own module.

pub mod replay;
mod summary;
mod table;
