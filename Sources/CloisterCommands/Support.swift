import ArgumentParser
import CloisterSystem
#if canImport(Glibc)
import Glibc
#endif

/// Errors a user sees: a sentence naming what is wrong and what to do; exit code 2.
enum CLIError: Error, CustomStringConvertible {
    case input(String)

    var description: String {
        switch self {
        case .input(let message): message
        }
    }
}

/// Writes to stdout, or atomically to a file so an interrupted run leaves the old one intact.
func emit(_ text: String, to path: String?) throws {
    var text = text
    if !text.hasSuffix("\n") { text += "\n" }
    if let path {
        do {
            try Files.writeAtomically(Array(text.utf8), to: path)
        } catch {
            throw CLIError.input("cannot write \(path): \(error)")
        }
    } else {
        print(text, terminator: "")
    }
}
