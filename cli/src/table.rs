//! The readable one-line-per-item view of `remora replay`.

use std::io::Write;

use remora_model::summary::describe;
use remora_model::Item;

#[derive(Default)]
pub struct TableWriter {
    header_written: bool,
}

const WIDTHS: [usize; 6] = [15, 5, 22, 22, 6, 8];

impl TableWriter {
    pub fn write(&mut self, w: &mut impl Write, item: &Item) -> std::io::Result<()> {
        if !self.header_written {
            self.header_written = true;
            writeln!(w, "{:15} {:5} {:22} {:22} {:>6} {:>8}  REQUEST", "TIME", "PROTO", "SOURCE", "DESTINATION", "STATUS", "ELAPSED")?;
        }
        let time = item.start_time.get(11..23).unwrap_or(&item.start_time);
        let src = format!("{}:{}", item.src.ip, item.src.port);
        let dst = format!("{}:{}", item.dst.ip, item.dst.port);
        let (status, request) = describe(item);
        let elapsed = format!("{}ms", item.elapsed_time);
        let cells = [time, &item.protocol.abbr, &src, &dst, &status, &elapsed];
        write!(w, "{:w0$} {:w1$} {:w2$} {:w3$} {:>w4$} {:>w5$}  {request}", cells[0], cells[1], cells[2], cells[3], cells[4], cells[5],
            w0 = WIDTHS[0], w1 = WIDTHS[1], w2 = WIDTHS[2], w3 = WIDTHS[3], w4 = WIDTHS[4], w5 = WIDTHS[5])?;
        if let Some(error) = &item.error {
            write!(w, "  ({})", error.msg)?;
        }
        writeln!(w)
    }
}
