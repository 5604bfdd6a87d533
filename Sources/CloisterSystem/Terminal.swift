#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif
import CCloisterShim

/// What the terminal on a descriptor is, for the table renderer's width and colour.
public enum Terminal {
    /// `isatty(3)`: the descriptor is a terminal.
    public static func isTerminal(_ fd: Int32) -> Bool { isatty(fd) == 1 }

    /// The terminal's width (TIOCGWINSZ), nil when `fd` is no terminal or it reports 0.
    public static func columns(_ fd: Int32) -> Int? {
        let columns = cl_terminal_columns(fd)
        return columns > 0 ? Int(columns) : nil
    }
}
