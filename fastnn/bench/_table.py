"""A markdown table printed one row at a time.

The benchmark prints each row as soon as it is measured, in the format of
the final table, so that the output is read while it runs and can be pasted
into a README as it is: the header first, then every row once. Column
widths are fixed when the header is printed (from the header and the cells
known in advance, such as kernel names); a longer cell widens its own row
only, which markdown renders the same.
"""
__all__ = ["StreamingTable"]


class StreamingTable:
    """Print a markdown table row by row.

    Parameters
    ----------
    header : list of str
        Column names.
    out : file-like
        Where to print.
    widths : dict, optional
        Minimum width of some columns, by column name (e.g. the longest
        kernel name). Every column is at least as wide as its name.

    Attributes
    ----------
    n_rows : int
        Rows printed so far.
    """

    def __init__(self, header, out, widths=None):
        self.header = list(header)
        self.out = out
        widths = widths or {}
        self.widths = [max(len(h), widths.get(h, 0)) for h in self.header]
        self.n_rows = 0
        self._header_printed = False

    def _line(self, cells):
        cells = [str(c) for c in cells] + [""] * (len(self.header) - len(cells))
        return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, self.widths)) + " |"

    def print_header(self):
        """Print the header and the separator line (once; later calls do nothing)."""
        if self._header_printed:
            return
        self._header_printed = True
        print(self._line(self.header), file=self.out)
        print("|" + "|".join("-" * (w + 2) for w in self.widths) + "|", file=self.out,
              flush=True)

    def add_row(self, cells):
        """Print one row (after the header, printed first if it was not yet).

        Parameters
        ----------
        cells : list
            One value per column, converted with ``str``; missing trailing
            cells are left empty.
        """
        if len(cells) > len(self.header):
            raise ValueError(f"a row of {len(cells)} cells in a table of "
                             f"{len(self.header)} columns")
        self.print_header()
        print(self._line(cells), file=self.out, flush=True)
        self.n_rows += 1
